//! A pull's in-repo jobs as tide counts them (Prow's `GetPresubmits` at the
//! pool's base and the pull's head): the `.prow.yaml` (or `.prow/`) of the
//! pull's head when it changes the file, else of the pool's current base,
//! read once per (base, head) and kept in the job store under the same keys
//! the trigger uses ([`inrepo_read`]). A config that cannot be loaded keeps
//! the pull out of the pool, as Prow drops a pull whose presubmits it
//! cannot get.

use skiff_core::config::Presubmit;
use skiff_core::config::inrepo_read::{self, Loaded};
use skiff_core::event::PullRequest;
use skiff_core::messages::EventSource;
use skiff_core::ports::PortResult;
use tracing::{info, warn};

use crate::TideDeps;

/// A pull's own jobs beside the repo's central ones.
#[derive(Debug, Default)]
pub(crate) struct PullJobs {
    pub presubmits: Vec<Presubmit>,
    /// Why its in-repo config cannot be used, if it cannot.
    pub problem: Option<String>,
}

/// The pull's in-repo presubmits against `base_sha`. `files` are the pull's
/// changed files when already read; they are read here only when the files
/// are not kept yet (and then handed back for the pull's other needs).
pub(crate) async fn pull_jobs(
    deps: &TideDeps<'_>,
    base_sha: &str,
    pr: &PullRequest,
    files: &mut Option<Vec<String>>,
) -> PortResult<PullJobs> {
    let repo_name = pr.repo.full_name();
    if !deps.config.prow.in_repo_config.enabled_for(&repo_name) {
        return Ok(PullJobs::default());
    }
    let key = inrepo_read::pull_key(&repo_name, base_sha, &pr.head_sha);
    let read = match inrepo_read::cached(deps.store, &key).await {
        Some(read) => read,
        None => {
            if files.is_none() {
                *files = Some(
                    deps.scm
                        .changed_files(&pr.repo.org, &pr.repo.repo, pr.number)
                        .await?,
                );
            }
            let changed = files.as_deref().unwrap_or_default();
            let sha = inrepo_read::pull_sha(base_sha, &pr.head_sha, changed);
            let read = inrepo_read::read(EventSource::Github, deps.scm, &pr.repo, sha)
                .await
                .map_err(|e| e.source)?;
            inrepo_read::keep(deps.store, &key, &read, deps.clock.now()).await;
            read
        }
    };
    Ok(match inrepo_read::load(deps.config, &repo_name, &read) {
        Loaded::Nothing => PullJobs::default(),
        Loaded::Jobs(jobs) => {
            info!(
                pull = pr.number,
                sha = read.sha,
                presubmits = jobs.presubmits.len(),
                "in-repo jobs count for the pull"
            );
            PullJobs {
                presubmits: jobs.presubmits,
                problem: None,
            }
        }
        Loaded::Broken(problems) => {
            warn!(
                pull = pr.number,
                sha = read.sha,
                "the in-repo config cannot be loaded"
            );
            PullJobs {
                presubmits: Vec::new(),
                problem: Some(problems.join("; ")),
            }
        }
    })
}
