//! The Jenkins port: what Prow's jenkins-operator asks of a Jenkins master.

use async_trait::async_trait;
use jiff::Timestamp;

use super::*;

/// Where a build of a Prow job stands in Jenkins (Prow's `Build`:
/// `IsEnqueued`, `IsRunning`, then the result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JenkinsStatus {
    /// Waiting in Jenkins' queue: the queue item's id and Jenkins' reason
    /// (`Waiting for next available executor`).
    Queued { item: u64, why: String },
    /// Building (a matrix build may carry a result while its cells run).
    Running,
    /// Done, with Jenkins' result: `SUCCESS`, `UNSTABLE`, `FAILURE`,
    /// `ABORTED`, `NOT_BUILT`.
    Finished { result: String },
}

/// A queue item or build that carries a `PROW_JOB_ID` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JenkinsBuild {
    /// The `PROW_JOB_ID` parameter: the job record it runs.
    pub prow_job_id: String,
    /// The `BUILD_ID` parameter: where its artifacts are filed.
    pub build_id: String,
    /// Jenkins' build number; `None` while queued.
    pub number: Option<u64>,
    pub status: JenkinsStatus,
    /// When the build started (Jenkins' `timestamp`); `None` while queued.
    pub started: Option<Timestamp>,
}

/// A Jenkins master, as Prow's jenkins-operator drives it. `job` is the
/// job's URL path below the Jenkins root, already escaped
/// (`job/folder/job/name`; see [`crate::run::jenkins::job_path`]). A CSRF
/// crumb, when Jenkins asks for one, is the adapter's business.
#[async_trait]
pub trait Jenkins: Send + Sync {
    /// The Jenkins root URL, for messages.
    fn url(&self) -> &str;
    /// `POST {job}/buildWithParameters`: queues a build. The queue item's id
    /// when Jenkins says it (`Location`). Never retried by the adapter: an
    /// answer lost after Jenkins queued the build is found again by
    /// [`Jenkins::queued`] / [`Jenkins::builds`].
    async fn build(&self, job: &str, parameters: &[(String, String)]) -> PortResult<Option<u64>>;
    /// Queue items with a `PROW_JOB_ID` parameter (one `GET queue/api/json`).
    async fn queued(&self) -> PortResult<Vec<JenkinsBuild>>;
    /// The job's builds with a `PROW_JOB_ID` parameter (one `GET
    /// {job}/api/json`); a job Jenkins does not have has none, as in Prow.
    async fn builds(&self, job: &str) -> PortResult<Vec<JenkinsBuild>>;
    /// The build's console log (`consoleText`).
    async fn console_text(&self, job: &str, number: u64) -> PortResult<String>;
    /// Stops a running build (`POST {job}/{number}/stop`); a build that is
    /// gone is [`PortError::NotFound`].
    async fn stop(&self, job: &str, number: u64) -> PortResult<()>;
    /// Takes a queue item out of the queue (`POST queue/cancelItem`).
    async fn cancel_queued(&self, item: u64) -> PortResult<()>;
}
