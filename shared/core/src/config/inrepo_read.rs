//! The in-repo config files at one commit, read through the [`Scm`] port and
//! kept in the job store by commit, so the trigger (planning an event) and
//! tide (the jobs a pull must pass) read a head's files once between them.
//!
//! Which commit (Prow's merged view, without a clone): a pull request's
//! file at its head when the PR changes `.prow.yaml` or anything under
//! `.prow/`, else at its base; a push's (or a merge group's) at its SHA.
//!
//! Cost of a read: on GitHub one recursive tree listing and one contents
//! read for `.prow.yaml` (one per file for `.prow/`); on CodeCommit one
//! `GetFile` of `.prow.yaml` and one `GetFolder` of `.prow/` (one `GetFile`
//! per file there). Every later read of the same key, none.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::Config;
use super::inrepo::{self, InRepoJobs, RepoFile};
use crate::event::Repo;
use crate::messages::EventSource;
use crate::ports::{JobStore, PortError, Scm};

/// Files read at a commit never change; a week covers a PR's busy life.
pub const CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Larger sets are not kept (a DynamoDB item holds 400 KB); they are read
/// again next time.
const CACHE_MAX_BYTES: usize = 300 * 1024;

/// The store key of a pull request's files, for its base and head.
pub fn pull_key(repo: &str, base_sha: &str, head_sha: &str) -> String {
    format!("inrepo/{repo}/pull/{base_sha}/{head_sha}")
}

/// The store key of one commit's files (a push, a merge group).
pub fn commit_key(repo: &str, sha: &str) -> String {
    format!("inrepo/{repo}/commit/{sha}")
}

/// The commit a pull request's files are read at: its head when it changes
/// the in-repo config, else its base.
pub fn pull_sha<'a>(base_sha: &'a str, head_sha: &'a str, changed: &[String]) -> &'a str {
    if inrepo::touches_in_repo_config(changed) {
        head_sha
    } else {
        base_sha
    }
}

/// What was read at one commit: the files, or why they could not be.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InRepoFiles {
    pub sha: String,
    pub files: Vec<RepoFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A read that failed in a way worth trying again (the event or sync is
/// retried); permanent failures become the files' `problem` instead.
#[derive(Debug, thiserror::Error)]
#[error("cannot {doing}")]
pub struct ReadError {
    pub doing: String,
    #[source]
    pub source: PortError,
}

/// What the files come to for a repo.
#[derive(Debug)]
pub enum Loaded {
    /// The repo has no in-repo config at that commit.
    Nothing,
    /// Its jobs, each marked with where it came from.
    Jobs(InRepoJobs),
    /// It cannot be used: every problem, `file:line` first.
    Broken(Vec<String>),
}

/// The files kept under `key`, if any (a store that cannot be read costs
/// only a read of the files).
pub async fn cached(store: &dyn JobStore, key: &str) -> Option<InRepoFiles> {
    match store.get_value(key).await {
        Ok(Some(text)) => serde_json::from_str::<InRepoFiles>(&text).ok(),
        Ok(None) => None,
        Err(e) => {
            warn!(error = %e, "cannot read the in-repo config cache: reading the files");
            None
        }
    }
}

/// Keeps what was read; failing to keep it costs only a later read.
pub async fn keep(store: &dyn JobStore, key: &str, files: &InRepoFiles, now: Timestamp) {
    let Ok(text) = serde_json::to_string(files) else {
        return;
    };
    if text.len() > CACHE_MAX_BYTES {
        return;
    }
    let Ok(expires) = now.checked_add(CACHE_TTL) else {
        return;
    };
    if let Err(e) = store.put_value(key, &text, expires).await {
        warn!(error = %e, "cannot keep the in-repo config in the cache");
    }
}

/// Loads `files` as `repo`'s in-repo config against the central `config`.
pub fn load(config: &Config, repo: &str, files: &InRepoFiles) -> Loaded {
    if let Some(p) = &files.problem {
        return Loaded::Broken(vec![p.clone()]);
    }
    if files.files.is_empty() {
        return Loaded::Nothing;
    }
    let mut loaded = inrepo::load(config, repo, &files.files);
    if loaded.has_errors() {
        return Loaded::Broken(loaded.errors().map(ToString::to_string).collect());
    }
    loaded.jobs.mark_source(&files.files, &files.sha);
    Loaded::Jobs(loaded.jobs)
}

/// Reads the in-repo config files at `sha`: on GitHub the tree says which
/// exist and the contents API gives each; CodeCommit has no recursive tree,
/// so there `.prow.yaml` is read (`GetFile`) and `.prow/` listed
/// (`GetFolder`).
pub async fn read(
    source: EventSource,
    scm: &dyn Scm,
    repo: &Repo,
    sha: &str,
) -> Result<InRepoFiles, ReadError> {
    let mut kept = InRepoFiles {
        sha: sha.to_string(),
        ..InRepoFiles::default()
    };
    if source == EventSource::Codecommit {
        return read_codecommit(scm, repo, kept).await;
    }
    let (org, name) = (repo.org.as_str(), repo.repo.as_str());
    let paths = match scm.tree(org, name, sha).await {
        // GitHub cuts listings over 100,000 entries: look for the file alone.
        Ok(tree) if tree.truncated => vec![inrepo::PROW_YAML.to_string()],
        Ok(tree) => {
            let blobs = tree
                .entries
                .iter()
                .filter(|e| e.kind == "blob")
                .map(|e| e.path.as_str());
            match inrepo::select_paths(blobs) {
                Ok(paths) => paths,
                Err(reason) => {
                    kept.problem = Some(reason);
                    return Ok(kept);
                }
            }
        }
        Err(e) => return permanent(e, "list the repository's tree", kept),
    };
    for path in paths {
        match scm.file_content(org, name, &path, sha).await {
            Ok(Some(text)) => kept.files.push(RepoFile { path, text }),
            Ok(None) => {}
            Err(e) => return permanent(e, &format!("read {path}"), kept),
        }
    }
    Ok(kept)
}

/// CodeCommit's reads: `.prow.yaml` at once (one call when the repo has
/// it), `.prow/`'s listing, then each of its files.
async fn read_codecommit(
    scm: &dyn Scm,
    repo: &Repo,
    mut kept: InRepoFiles,
) -> Result<InRepoFiles, ReadError> {
    let (org, name, sha) = (repo.org.as_str(), repo.repo.as_str(), kept.sha.clone());
    let file = match scm.file_content(org, name, inrepo::PROW_YAML, &sha).await {
        Ok(file) => file,
        Err(e) => return permanent(e, &format!("read {}", inrepo::PROW_YAML), kept),
    };
    let dir = match scm.folder_files(org, name, inrepo::PROW_DIR, &sha).await {
        Ok(dir) => dir.unwrap_or_default(),
        Err(e) => return permanent(e, &format!("list {}/", inrepo::PROW_DIR), kept),
    };
    let listed = file
        .as_ref()
        .map(|_| inrepo::PROW_YAML)
        .into_iter()
        .chain(dir.iter().map(String::as_str));
    let paths = match inrepo::select_paths(listed) {
        Ok(paths) => paths,
        Err(reason) => {
            kept.problem = Some(reason);
            return Ok(kept);
        }
    };
    if let Some(text) = file {
        kept.files.push(RepoFile {
            path: inrepo::PROW_YAML.to_string(),
            text,
        });
        return Ok(kept);
    }
    for path in paths {
        match scm.file_content(org, name, &path, &sha).await {
            Ok(Some(text)) => kept.files.push(RepoFile { path, text }),
            Ok(None) => {}
            Err(e) => return permanent(e, &format!("read {path}"), kept),
        }
    }
    Ok(kept)
}

/// A retryable failure is an error (try again); any other is a problem of
/// the files at that commit.
fn permanent(e: PortError, doing: &str, mut kept: InRepoFiles) -> Result<InRepoFiles, ReadError> {
    if e.is_retryable() {
        return Err(ReadError {
            doing: doing.to_string(),
            source: e,
        });
    }
    kept.problem = Some(format!("cannot {doing} at {}: {e}", kept.sha));
    Ok(kept)
}
