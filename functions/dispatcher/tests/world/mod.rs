//! The dispatcher's own test world (the other functions' tests include
//! `support` without depending on the dispatcher).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skiff_core::config::Config;
use skiff_core::ports::{Cluster, Message};
use skiff_core::prowjob::ProwJobState;

use crate::support::*;

/// A dispatcher over in-memory ports: one `default` cluster, a hand-driven
/// clock.
pub struct World {
    pub clock: Arc<TestClock>,
    pub store: Arc<MemStore>,
    pub cluster: Arc<FakeCluster>,
    pub clusters: BTreeMap<String, Arc<dyn Cluster>>,
    pub config: Config,
    pub ids: Mutex<skiff_core::prowjob::build_id::BuildIdGenerator>,
}

impl World {
    pub fn new() -> Self {
        let clock = TestClock::new(T0);
        let cluster = FakeCluster::new();
        World {
            store: MemStore::new(clock.clone()),
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
