//! The `Cluster` port on a real Kubernetes API (kube + k8s-openapi): where
//! test pods run when Skiff is deployed, on EKS or any cluster a kubeconfig
//! reaches.
//!
//! - [`KubeCluster`] creates, lists, reads and deletes the job pods, and the
//!   Tekton PipelineRuns of `tekton-pipeline` jobs.
//! - [`clusters_from_config`] builds one per `skiff.clusters` entry.
//! - [`pod_info`] is how a pod's status becomes what the syncer decides on;
//!   [`pipeline_run_info`] the same for a PipelineRun.
//! - `fake` (cargo feature `fake`) is an HTTP-level fake API server for tests:
//!   no real API server can run where the tests run.
//!
//! Connecting needs no AWS CLI: an EKS cluster is found with
//! `eks:DescribeCluster` and its bearer token is a presigned STS URL, signed
//! here exactly as `aws eks get-token` signs it.

mod cluster;
mod eks;
mod error;
mod pipeline_run_info;
mod pod_info;
mod selector;

#[cfg(feature = "fake")]
pub mod fake;

use std::collections::BTreeMap;
use std::sync::Arc;

use skiff_core::config::prow::BuildCluster;
use skiff_core::ports::Cluster;

pub use cluster::{KubeCluster, TOKEN_RENEWAL};
pub use error::{Error, Result};
pub use pipeline_run_info::pipeline_run_info;
pub use pod_info::pod_info;

/// One [`KubeCluster`] per `eks`, `kubeconfig` or `in_cluster` entry of `skiff.clusters`,
/// by the name jobs use in `cluster:`; pods go to `namespace` (Prow's
/// `pod_namespace`). Entries with `local: true` are left out: the caller
/// (`skiff dev`) supplies its local-process cluster for them.
///
/// No I/O happens here; each cluster connects on its first call. EKS clusters
/// need `sdk` (its credentials sign the tokens); each uses an EKS client for
/// its own region, shared by the clusters of that region.
pub fn clusters_from_config(
    clusters: &BTreeMap<String, BuildCluster>,
    sdk: Option<&aws_config::SdkConfig>,
    namespace: &str,
) -> Result<BTreeMap<String, Arc<dyn Cluster>>> {
    let mut out: BTreeMap<String, Arc<dyn Cluster>> = BTreeMap::new();
    let mut eks_clients: BTreeMap<String, aws_sdk_eks::Client> = BTreeMap::new();
    for (name, entry) in clusters {
        let kinds = usize::from(entry.eks.is_some())
            + usize::from(entry.kubeconfig.is_some())
            + usize::from(entry.in_cluster)
            + usize::from(entry.local);
        if kinds != 1 {
            return Err(Error::Config {
                cluster: name.clone(),
                detail: format!(
                    "must set exactly one of eks, kubeconfig, in_cluster or local (found {kinds})"
                ),
            });
        }
        let cluster = match (&entry.eks, &entry.kubeconfig) {
            (Some(eks), _) => {
                let Some(sdk) = sdk else {
                    return Err(Error::Config {
                        cluster: name.clone(),
                        detail: "an EKS cluster needs an AWS configuration, and none was given"
                            .into(),
                    });
                };
                if eks.region.is_empty() || eks.name.is_empty() {
                    return Err(Error::Config {
                        cluster: name.clone(),
                        detail: "eks needs both `region` and `name`".into(),
                    });
                }
                let client = eks_clients
                    .entry(eks.region.clone())
                    .or_insert_with(|| eks::client_for_region(sdk, &eks.region))
                    .clone();
                KubeCluster::eks_with_client(
                    name,
                    client,
                    sdk.credentials_provider(),
                    &eks.region,
                    &eks.name,
                    namespace,
                )
            }
            (None, Some(kc)) => {
                if kc.path.is_empty() {
                    return Err(Error::Config {
                        cluster: name.clone(),
                        detail: "kubeconfig needs a `path`".into(),
                    });
                }
                let context = (!kc.context.is_empty()).then_some(kc.context.as_str());
                KubeCluster::kubeconfig(name, &kc.path, context, namespace)
            }
            (None, None) if entry.in_cluster => KubeCluster::in_cluster(name, namespace),
            (None, None) => continue,
        };
        out.insert(name.clone(), Arc::new(cluster));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::config::prow::{EksCluster, KubeconfigCluster};

    fn sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::v2026_01_12())
            .build()
    }

    fn eks(region: &str, name: &str) -> BuildCluster {
        BuildCluster {
            eks: Some(EksCluster {
                region: region.into(),
                name: name.into(),
            }),
            ..BuildCluster::default()
        }
    }

    #[test]
    fn one_cluster_per_eks_kubeconfig_or_in_cluster_entry_and_local_ones_left_out() {
        let clusters = BTreeMap::from([
            ("default".to_string(), eks("eu-west-1", "prow-build")),
            ("us".to_string(), eks("us-east-2", "prow-us")),
            (
                "lab".to_string(),
                BuildCluster {
                    kubeconfig: Some(KubeconfigCluster {
                        path: "/etc/lab.kubeconfig".into(),
                        context: "lab".into(),
                    }),
                    ..BuildCluster::default()
                },
            ),
            (
                "laptop".to_string(),
                BuildCluster {
                    local: true,
                    ..BuildCluster::default()
                },
            ),
            (
                "home".to_string(),
                BuildCluster {
                    in_cluster: true,
                    ..BuildCluster::default()
                },
            ),
        ]);
        let built = clusters_from_config(&clusters, Some(&sdk()), "test-pods").unwrap();
        assert_eq!(
            built.keys().collect::<Vec<_>>(),
            ["default", "home", "lab", "us"],
            "local entries are the caller's"
        );
    }

    #[test]
    fn an_eks_cluster_without_aws_configuration_is_an_error_naming_it() {
        let clusters = BTreeMap::from([("default".to_string(), eks("eu-west-1", "prow"))]);
        let err = clusters_from_config(&clusters, None, "test-pods")
            .err()
            .unwrap();
        assert!(err.to_string().contains("\"default\""), "{err}");
        assert!(err.to_string().contains("AWS configuration"), "{err}");
    }

    #[test]
    fn an_entry_must_be_exactly_one_kind() {
        let both = BuildCluster {
            local: true,
            ..eks("eu-west-1", "prow")
        };
        for (entry, found) in [(both, "found 2"), (BuildCluster::default(), "found 0")] {
            let clusters = BTreeMap::from([("x".to_string(), entry)]);
            let err = clusters_from_config(&clusters, Some(&sdk()), "p")
                .err()
                .unwrap();
            assert!(err.to_string().contains(found), "{err}");
        }
    }

    #[test]
    fn incomplete_entries_are_errors() {
        let no_path = BuildCluster {
            kubeconfig: Some(KubeconfigCluster::default()),
            ..BuildCluster::default()
        };
        for (entry, says) in [
            (eks("", "prow"), "region"),
            (eks("eu-west-1", ""), "name"),
            (no_path, "path"),
        ] {
            let clusters = BTreeMap::from([("x".to_string(), entry)]);
            let err = clusters_from_config(&clusters, Some(&sdk()), "p")
                .err()
                .unwrap();
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
