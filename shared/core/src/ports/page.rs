//! One page of the job list (deck's `/`), asked of the store as such, so a
//! store with indexes reads the page it shows and counts the rest from its
//! index instead of decoding every record (issue: 10,000 records read to
//! show 200).

use std::collections::BTreeMap;

use super::{JobQuery, JobStore, PortResult};
use crate::prowjob::{ProwJob, ProwJobState, ProwJobType};

/// Which page: the newest `window` records that `query` selects (the deck's
/// "only the newest N records are searched"), narrowed to `job_type` and
/// `state`, `limit` of them from `offset`. Records with `spec.hidden` are
/// never listed or counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    /// [`JobQuery::All`] or [`JobQuery::Job`]; any other is read through
    /// [`JobStore::list`].
    pub query: JobQuery,
    pub job_type: Option<ProwJobType>,
    pub state: Option<ProwJobState>,
    pub offset: usize,
    pub limit: usize,
    pub window: usize,
}

/// The page, with what the page's header shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobPage {
    /// Newest first.
    pub jobs: Vec<ProwJob>,
    /// Records in the window matching `job_type` and `state`.
    pub matching: usize,
    /// Records in the window matching `job_type`, per state (the state
    /// links above the list).
    pub counts: BTreeMap<ProwJobState, usize>,
    /// Records in the window (at most `window`): the deck says when the
    /// window was full.
    pub scanned: usize,
}

impl PageQuery {
    /// Whether `job` is listed when it is in the window, state aside.
    pub fn selects_type(&self, job: &ProwJob) -> bool {
        !job.spec.hidden && self.job_type.is_none_or(|t| job.spec.r#type == Some(t))
    }
}

/// [`JobStore::page`] for a store without an index to count from: reads the
/// whole window and pages in memory (the in-memory twin; what every store
/// did before).
pub async fn page_from_list<S: JobStore + ?Sized>(store: &S, q: &PageQuery) -> PortResult<JobPage> {
    let window = store.list(&q.query, Some(q.window)).await?;
    Ok(page_of(window, q))
}

/// Pages `window` (the newest records `q.query` selects, newest first).
pub fn page_of(window: Vec<ProwJob>, q: &PageQuery) -> JobPage {
    let scanned = window.len();
    let mut counts: BTreeMap<ProwJobState, usize> = BTreeMap::new();
    let mut matching = 0;
    let mut jobs = Vec::new();
    for j in window {
        if !q.selects_type(&j) {
            continue;
        }
        if let Some(s) = j.status.state {
            *counts.entry(s).or_default() += 1;
        }
        if q.state.is_some_and(|s| j.status.state != Some(s)) {
            continue;
        }
        if matching >= q.offset && jobs.len() < q.limit {
            jobs.push(j);
        }
        matching += 1;
    }
    JobPage {
        jobs,
        matching,
        counts,
        scanned,
    }
}
