//! Why a cluster cannot be reached or configured. Calls through the port turn
//! these into [`PortError::Unavailable`]: a connection that failed is tried
//! again on the next call (the kubeconfig may be fixed, credentials renewed,
//! the cluster finish creating).

use std::fmt::Write as _;
use std::path::PathBuf;

use skiff_core::ports::PortError;

/// Boxed because the AWS SDK's error types are generic per operation.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong setting up or connecting to a build cluster. Every variant
/// names the cluster (its name in `skiff.clusters`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `skiff.clusters` entry cannot be used as written.
    #[error("cluster {cluster:?}: {detail}")]
    Config { cluster: String, detail: String },
    #[error("cluster {cluster:?}: cannot load kubeconfig {}", path.display())]
    Kubeconfig {
        cluster: String,
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cluster {cluster:?}: cannot load the in-cluster configuration")]
    InCluster {
        cluster: String,
        #[source]
        source: kube::config::InClusterError,
    },
    #[error("cluster {cluster:?}: eks:DescribeCluster of {name:?} in {region}")]
    Describe {
        cluster: String,
        name: String,
        region: String,
        #[source]
        source: BoxError,
    },
    /// DescribeCluster answered, but not with something to connect to.
    #[error("cluster {cluster:?}: EKS cluster {name:?} in {region}: {detail}")]
    Described {
        cluster: String,
        name: String,
        region: String,
        detail: String,
    },
    #[error("cluster {cluster:?}: no AWS credentials to sign the EKS token with")]
    Credentials {
        cluster: String,
        #[source]
        source: BoxError,
    },
    #[error("cluster {cluster:?}: cannot sign the EKS token: {detail}")]
    Token { cluster: String, detail: String },
    #[error("cluster {cluster:?}: cannot build a Kubernetes client")]
    Client {
        cluster: String,
        #[source]
        source: kube::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for PortError {
    fn from(e: Error) -> Self {
        PortError::Unavailable(report(&e).into())
    }
}

/// The error and its sources on one line, outermost first: the port's errors
/// are strings, and the detail is in the sources.
pub(crate) fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // Some errors repeat their source in their own message.
        if !out.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_carries_every_source_once() {
        let inner = std::io::Error::other("connection refused");
        let e = Error::Credentials {
            cluster: "default".into(),
            source: Box::new(inner),
        };
        assert_eq!(
            report(&e),
            "cluster \"default\": no AWS credentials to sign the EKS token with: connection refused"
        );
        assert_eq!(
            PortError::from(e),
            PortError::Unavailable(
                "cluster \"default\": no AWS credentials to sign the EKS token with: connection refused"
                    .into()
            )
        );
    }
}
