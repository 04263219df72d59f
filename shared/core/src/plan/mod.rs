//! Planning: which jobs an event or a scheduler tick starts, decided exactly as
//! Prow's hook, trigger plugin and horologium decide it. Pure: the facts a rule
//! needs (changed files, trust, the PR, earlier jobs) come in through [`Facts`],
//! each asked at most once per event and only when a rule needs it; the clock
//! comes in as an argument.
//!
//! The result is a [`Plan`] — data, not effects: the `trigger` function carries
//! it out, `skiff plan` prints it.

mod facts;
mod filter;
mod help;
mod merge_group;
mod reasons;
pub use help::is_help_reply;
pub mod matchers;
pub mod periodic;
mod trigger;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

pub use facts::{FactError, Facts};
pub(crate) use trigger::pr_refs;
pub use trigger::{Context, plan_event};

use crate::config::{Postsubmit, Presubmit};
use crate::prowjob::new::{job_id, new_merge_group_run, new_postsubmit, new_presubmit};
use crate::prowjob::{ProwJob, Refs};

/// A job of the repo that this event does not start, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub job: String,
    pub reason: String,
}

/// A running job this event makes obsolete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Abort {
    /// The job record's id.
    pub id: String,
    pub job: String,
    pub description: String,
}

/// The issue or pull request that labels and comments go to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub org: String,
    pub repo: String,
    pub number: i64,
}

/// A job the event starts. The full record is built by [`PlannedJob::record`]
/// only when it is written: deciding is cheap, building a record is not.
#[derive(Clone, Debug)]
pub struct PlannedJob<'c> {
    /// `{delivery}/{org}/{repo}/{type}/{pr or sha}/`: the job name completes
    /// the idempotency key.
    key_prefix: Arc<str>,
    kind: Planned<'c>,
    delivery: &'c str,
    now: jiff::Timestamp,
}

#[derive(Clone, Debug)]
enum Planned<'c> {
    Presubmit {
        job: &'c Presubmit,
        refs: Arc<Refs>,
        labels: Arc<BTreeMap<String, String>>,
    },
    Postsubmit {
        job: &'c Postsubmit,
        refs: Arc<Refs>,
    },
    /// A presubmit for GitHub's merge queue (see `merge_group`).
    MergeGroup { job: &'c Presubmit, refs: Arc<Refs> },
}

impl<'c> PlannedJob<'c> {
    /// The job's name in the config.
    pub fn name(&self) -> &'c str {
        match &self.kind {
            Planned::Presubmit { job, .. } => &job.base.name,
            Planned::Postsubmit { job, .. } => &job.base.name,
            Planned::MergeGroup { job, .. } => &job.base.name,
        }
    }

    /// The idempotency key: the same event and job always give the same key.
    pub fn key(&self) -> String {
        format!("{}{}", self.key_prefix, self.name())
    }

    /// The record's id: stable for the same event and job.
    pub fn id(&self) -> String {
        job_id(&self.key())
    }

    /// The complete job record, as Prow's `NewPresubmit` / `NewProwJob` build it.
    pub fn record(&self) -> ProwJob {
        match &self.kind {
            Planned::Presubmit { job, refs, labels } => new_presubmit(
                job,
                Refs::clone(refs),
                self.delivery,
                labels,
                self.id(),
                self.now,
            ),
            Planned::Postsubmit { job, refs } => {
                new_postsubmit(job, Refs::clone(refs), self.delivery, self.id(), self.now)
            }
            Planned::MergeGroup { job, refs } => {
                new_merge_group_run(job, Refs::clone(refs), self.delivery, self.id(), self.now)
            }
        }
    }
}

/// Everything one event should cause.
#[derive(Clone, Debug, Default)]
pub struct Plan<'c> {
    /// Jobs to create (ids are deterministic: creating twice is a no-op).
    pub jobs: Vec<PlannedJob<'c>>,
    pub abort: Vec<Abort>,
    pub labels_add: Vec<String>,
    pub labels_remove: Vec<String>,
    /// Comment bodies to post on `target`.
    pub comments: Vec<String>,
    /// Earlier help replies on `target` should be deleted (Prow prunes them on
    /// the next `/test` or `/retest`).
    pub prune_help_comments: bool,
    pub target: Option<Target>,
    /// Jobs of the repo that do not run, with the reason.
    pub skipped: Vec<Skipped>,
    /// Why the event as a whole starts nothing, when it does not.
    pub note: Option<String>,
    /// Record `skipped` (for `--explain`); off, skipping costs nothing.
    explain: bool,
    started: HashSet<&'c str>,
    skipped_names: HashSet<String>,
}

impl<'c> Plan<'c> {
    fn noted(note: impl Into<String>) -> Self {
        Plan {
            note: Some(note.into()),
            ..Plan::default()
        }
    }

    fn new(explain: bool) -> Self {
        Plan {
            explain,
            ..Plan::default()
        }
    }

    /// Whether `job` is among the jobs to create.
    pub fn starts(&self, job: &str) -> bool {
        self.started.contains(job)
    }

    fn add_job(&mut self, job: PlannedJob<'c>) {
        if self.started.insert(job.name()) {
            if self.explain && self.skipped_names.remove(job.name()) {
                self.skipped.retain(|s| s.job != job.name());
            }
            self.jobs.push(job);
        }
    }

    /// Records why `job` does not run; the reason is only built when asked for.
    fn skip(&mut self, job: &str, reason: impl FnOnce() -> String) {
        if self.explain && !self.started.contains(job) && self.skipped_names.insert(job.to_string())
        {
            self.skipped.push(Skipped {
                job: job.to_string(),
                reason: reason(),
            });
        }
    }

    fn add_label(&mut self, label: &str) {
        if !self.labels_add.iter().any(|l| l == label) {
            self.labels_add.push(label.to_string());
        }
    }

    fn remove_label(&mut self, label: &str) {
        if !self.labels_remove.iter().any(|l| l == label) {
            self.labels_remove.push(label.to_string());
        }
    }

    /// Folds another plan for the same event into this one (a PR opened with
    /// `/test x` in its description is both a PR event and a comment).
    fn merge(&mut self, other: Plan<'c>) {
        for j in other.jobs {
            self.add_job(j);
        }
        for a in other.abort {
            if !self.abort.iter().any(|x| x.id == a.id) {
                self.abort.push(a);
            }
        }
        for l in &other.labels_add {
            self.add_label(l);
        }
        for l in &other.labels_remove {
            self.remove_label(l);
        }
        self.comments.extend(other.comments);
        self.prune_help_comments |= other.prune_help_comments;
        if self.target.is_none() {
            self.target = other.target;
        }
        for s in other.skipped {
            self.skip(&s.job, || s.reason);
        }
        if self.note.is_none() {
            self.note = other.note;
        }
    }
}
