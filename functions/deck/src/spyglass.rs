//! What the job page reads from a job's artifact directory besides its log:
//! Prow's Spyglass (`pkg/spyglass`) for the lenses people use most. The
//! directory's listing (the artifacts browser), the JUnit files the junit
//! lens reads (`^artifacts(/.*/|/)junit.*\.xml$`), `started.json` and
//! `finished.json` (the metadata lens), and the clone records, to put a
//! failed clone's log first.
//!
//! Everything here comes from the job, so everything is bounded: the
//! listing by the port, JUnit by file count, bytes and the parser's own
//! caps, the clone log by its tail. A read that fails leaves its part of the
//! page saying why; the rest of the page is still shown.

use skiff_core::junit::{self, Incomplete, Report};
use skiff_core::ports::{Listing, LogStore};
use skiff_core::prowjob::artifacts::{CLONE_LOG_TXT, CLONE_RECORDS_JSON};
use skiff_core::prowjob::decorate::options::CloneRecord;

use crate::log;

/// JUnit files read for one page; more are listed as not read.
const MAX_JUNIT_FILES: usize = 50;
/// JUnit bytes read for one page, all files together (each file is also
/// capped by the parser's [`junit::MAX_BYTES`]).
const MAX_JUNIT_BYTES: u64 = 2 * junit::MAX_BYTES;
/// The clone log is shown from its tail.
const CLONE_LOG_BYTES: usize = 256 * 1024;

/// The directory's listing, or why it could not be read.
pub type Artifacts = Result<Listing, String>;

/// One JUnit file the lens found.
pub struct JunitFile {
    /// Relative to the job's directory.
    pub name: String,
    /// What was read; [`Report::incomplete`] says why not all of it.
    pub report: Report,
    /// The file was not read at all: the store failed, or the page's budget
    /// was spent.
    pub unread: Option<String>,
}

impl JunitFile {
    /// Why the file is not shown whole, if it is not.
    pub fn problem(&self) -> Option<String> {
        self.unread
            .clone()
            .or_else(|| self.report.incomplete.as_ref().map(Incomplete::to_string))
    }
}

/// A clone that failed: the refs that did not clone and the log.
pub struct CloneFailure {
    /// `org/repo` and the command that failed (with its error), per failed
    /// ref. Empty when only `finished.json` tells.
    pub failed: Vec<(String, Option<String>)>,
    /// The tail of `clone-log.txt`, if stored, and the bytes left out.
    pub log: Option<(String, usize)>,
}

/// Every JUnit file of the listing, read and parsed within the page's
/// budget.
pub async fn junit_files(logs: &dyn LogStore, dir: &str, listing: &Listing) -> Vec<JunitFile> {
    let mut out = Vec::new();
    let mut budget = MAX_JUNIT_BYTES;
    for object in listing
        .objects
        .iter()
        .filter(|o| junit::is_junit_artifact(&o.name))
    {
        let mut file = JunitFile {
            name: object.name.clone(),
            report: Report::default(),
            unread: None,
        };
        if out.len() >= MAX_JUNIT_FILES {
            file.unread = Some(format!(
                "not read: the page reads at most {MAX_JUNIT_FILES} JUnit files"
            ));
        } else if object.size > junit::MAX_BYTES {
            // Refused from its listed size, without fetching it.
            file.report.incomplete = Some(Incomplete::TooLarge {
                size: object.size,
                max: junit::MAX_BYTES,
            });
        } else if object.size > budget {
            file.unread = Some(format!(
                "not read: the page reads at most {MAX_JUNIT_BYTES} bytes of JUnit in all"
            ));
        } else {
            budget -= object.size;
            match logs.get(dir, &object.name).await {
                Ok(Some(bytes)) => file.report = junit::parse(&bytes),
                Ok(None) => file.unread = Some("listed, but gone when read".into()),
                Err(e) => {
                    tracing::warn!(error = %e, name = %object.name, "cannot read a JUnit file");
                    file.unread = Some(format!("cannot be read right now ({e})"));
                }
            }
        }
        out.push(file);
    }
    out
}

/// The clone failure, if the clone failed: a failed record in
/// `clone-records.json`, or — where the records are missing — initupload's
/// own sign, a `FAILURE` whose build log is the clone log (it uploads the
/// clone log as `build-log.txt` when a clone fails, so no test ran).
pub async fn clone_failure(
    logs: &dyn LogStore,
    dir: &str,
    listing: &Listing,
    build_log: Option<&[u8]>,
    finished: Option<&serde_json::Value>,
) -> Option<CloneFailure> {
    let has = |name: &str| listing.objects.iter().any(|o| o.name == name);
    if !has(CLONE_RECORDS_JSON) && !has(CLONE_LOG_TXT) {
        return None;
    }
    let records: Vec<CloneRecord> = match logs.get(dir, CLONE_RECORDS_JSON).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
        _ => Vec::new(),
    };
    let failed: Vec<(String, Option<String>)> = records
        .iter()
        .filter(|r| r.failed)
        .map(|r| {
            let command = r
                .commands
                .iter()
                .rev()
                .find(|c| !c.error.is_empty())
                .map(|c| format!("{}: {}", c.command, c.error));
            (r.refs.org_repo(), command)
        })
        .collect();
    let clone_log = match logs.get(dir, CLONE_LOG_TXT).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the clone log");
            None
        }
    };
    let failed_result = finished
        .and_then(|f| f.get("result"))
        .and_then(|r| r.as_str())
        .is_some_and(|r| r.eq_ignore_ascii_case("failure"));
    let no_test_ran = failed_result
        && clone_log.is_some()
        && build_log.is_some_and(|b| Some(b) == clone_log.as_deref());
    if failed.is_empty() && !no_test_ran {
        return None;
    }
    Some(CloneFailure {
        failed,
        log: clone_log.map(|b| log::tail(&b, CLONE_LOG_BYTES)),
    })
}
