//! The build clusters of the dispatcher, syncer and sweeper: one Kubernetes
//! client per `skiff.clusters` entry, kept while the config stays the same
//! (each connects on first use and keeps its connection, EKS endpoint and
//! token across invocations of a warm container).
//!
//! `local: true` clusters run pods as processes of `skiff dev`; a Lambda has
//! none, so jobs on them end with "unknown cluster" (and `skiff
//! check-config`'s note says so before deployment).

use std::collections::BTreeMap;
use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::ports::Cluster;

use crate::per_config::PerConfig;

/// Clusters by the name jobs use in `cluster:`.
pub type ClusterMap = BTreeMap<String, Arc<dyn Cluster>>;

pub struct Clusters {
    sdk: aws_config::SdkConfig,
    per_config: PerConfig<ClusterMap>,
}

impl Clusters {
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Clusters {
            sdk,
            per_config: PerConfig::default(),
        }
    }

    /// The clusters of `config`. An entry that cannot be built is logged
    /// and left out, so its jobs fail clearly while the others run.
    pub fn get(&self, config: &Arc<Config>) -> Arc<ClusterMap> {
        self.per_config.get(config, |config| {
            let namespace = config.prow.pod_namespace();
            let mut out = ClusterMap::new();
            for (name, entry) in &config.prow.skiff.clusters {
                let one = BTreeMap::from([(name.clone(), entry.clone())]);
                match skiff_kube::clusters_from_config(&one, Some(&self.sdk), namespace) {
                    Ok(built) => out.extend(built),
                    Err(e) => {
                        tracing::error!(cluster = %name, error = %e, "cannot use this cluster")
                    }
                }
            }
            out
        })
    }
}
