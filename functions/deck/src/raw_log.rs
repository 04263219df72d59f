//! Prow's `/log?job=&id=`: a run's build log as plain text, its tail when
//! it is long; and the pod's log while the job runs, which the job page
//! shows too.

use skiff_core::prowjob::ProwJob;
use skiff_core::prowjob::artifacts::{self, BUILD_LOG};

use crate::{DeckRequest, Deps, Reply, TEXT, filter, find_build, log};

pub async fn live_log(job: &ProwJob, deps: &Deps<'_>) -> Option<String> {
    if job.status.pod_name.is_empty() {
        return None;
    }
    let cluster = deps.clusters?.get(filter::cluster(job))?;
    cluster.pod_log(&job.status.pod_name).await.ok()
}

/// Prow's `/log?job=&id=`: the stored build log, else (in `skiff dev`) the
/// pod's log so far.
pub async fn raw_log(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (Some(name), Some(id)) = (get("job"), get("id")) else {
        return Reply::new(400, TEXT, "usage: /log?job=NAME&id=BUILD_ID\n");
    };
    let run = match find_build(deps, name, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Reply::new(404, TEXT, format!("no run of {name} with build id {id}\n")),
        Err(e) => return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n")),
    };
    if let Ok(path) = artifacts::artifact_path(&run) {
        match deps.logs.get(&path, BUILD_LOG).await {
            Ok(Some(bytes)) => {
                let (text, skipped) = log::tail(&bytes, deps.options.log_raw_bytes);
                let body = if skipped > 0 {
                    format!("[the first {skipped} bytes of this log are not shown]\n{text}")
                } else {
                    text
                };
                return Reply::new(200, TEXT, body);
            }
            Ok(None) => {}
            Err(e) => return Reply::new(503, TEXT, format!("the log cannot be read: {e}\n")),
        }
    }
    if let Some(text) = live_log(&run, deps).await {
        return Reply::new(
            200,
            TEXT,
            log::tail(text.as_bytes(), deps.options.log_raw_bytes).0,
        );
    }
    Reply::new(404, TEXT, "no log yet\n")
}
