//! The dispatcher's own test world, built on the in-memory twins of
//! `skiff-testkit`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skiff_core::config::Config;
use skiff_core::ports::{Cluster, Message};
use skiff_core::prowjob::ProwJobState;
use skiff_testkit::{ManualClock, MemoryCluster, MemoryStore, T0, clock_at, clusters, config};

/// A dispatcher over in-memory ports: one `default` cluster, a hand-driven
/// clock.
pub struct World {
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    pub cluster: Arc<MemoryCluster>,
    pub clusters: BTreeMap<String, Arc<dyn Cluster>>,
    pub config: Config,
    pub ids: Mutex<skiff_core::prowjob::build_id::BuildIdGenerator>,
}

impl World {
    pub fn new() -> Self {
        let clock = clock_at(T0);
        let cluster = MemoryCluster::new();
        World {
            store: Arc::new(MemoryStore::new(clock.clone())),
            clusters: clusters(&[("default", &cluster)]),
            cluster,
            clock,
            config: config(),
            ids: Mutex::new(skiff_core::prowjob::build_id::BuildIdGenerator::new()),
        }
    }

    /// Hands these job ids to the dispatcher as one batch.
    pub async fn deliver(&self, ids: &[&str]) -> skiff_core::ports::BatchOutcome {
        let messages: Vec<Message> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Message {
                receipt: format!("r{i}-{id}"),
                body: skiff_core::messages::DispatchMessage { id: id.to_string() }.to_body(),
                receive_count: 1,
            })
            .collect();
        let deps = skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        skiff_dispatcher::handle_batch(&messages, &deps).await
    }

    pub fn state(&self, id: &str) -> Option<ProwJobState> {
        self.store.job(id).status.state
    }
}
