//! Fakes and builders shared by the reporter's test binaries.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::event::PullRequest;
use skiff_core::ports::{
    Clock, Comment, CommitStatus, JobQuery, JobStore, PortError, PortResult, Scm,
};
use skiff_core::prowjob::labels::IS_OPTIONAL;
use skiff_core::prowjob::{ProwJob, ProwJobSpec, ProwJobState, ProwJobType, Pull, Refs};
use skiff_reporter::COMMENT_TAG;

pub const BASE_SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
pub const HEAD_SHA: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
pub const CONTEXT: &str = "pull-widgets-unit";
pub const URL: &str = "https://deck.example/view/s3/logs/pull-widgets-unit/7";
pub const PAD: char = '\u{2001}';

// ---------------------------------------------------------------------------
// Fakes

#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Status { sha: String, status: CommitStatus },
    List { number: i64 },
    Create { number: i64, body: String },
    Edit { id: i64, body: String },
    Delete { id: i64 },
}

pub struct FakeScm {
    calls: Mutex<Vec<Call>>,
    comments: Mutex<Vec<Comment>>,
    next_id: Mutex<i64>,
    pub status_error: Mutex<Option<PortError>>,
}

impl FakeScm {
    pub fn new() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            comments: Mutex::new(Vec::new()),
            next_id: Mutex::new(100),
            status_error: Mutex::new(None),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    pub fn comments(&self) -> Vec<Comment> {
        self.comments.lock().unwrap().clone()
    }

    pub fn seed_comment(&self, author: &str, body: &str) -> i64 {
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        self.comments.lock().unwrap().push(Comment {
            id: *next,
            author: author.into(),
            body: body.into(),
        });
        *next
    }

    pub fn statuses(&self) -> Vec<CommitStatus> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Status { status, .. } => Some(status),
                _ => None,
            })
            .collect()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait]
impl Scm for FakeScm {
    fn bot_login(&self) -> &str {
        "skiff-bot"
    }
    async fn pull_request(&self, _: &str, _: &str, _: i64) -> PortResult<PullRequest> {
        unreachable!("the reporter asks no facts")
    }
    async fn changed_files(&self, _: &str, _: &str, _: i64) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_member(&self, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_collaborator(&self, _: &str, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn branch_sha(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn comment_body(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn compare_files(&self, _: &str, _: &str, _: &str, _: &str) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        assert_eq!((org, repo), ("acme", "widgets"));
        self.record(Call::Status {
            sha: sha.into(),
            status: status.clone(),
        });
        match self.status_error.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    async fn list_comments(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.record(Call::List { number });
        Ok(self.comments())
    }
    async fn create_comment(&self, _: &str, _: &str, number: i64, body: &str) -> PortResult<()> {
        self.record(Call::Create {
            number,
            body: body.into(),
        });
        self.seed_comment("skiff-bot", body);
        Ok(())
    }
    async fn edit_comment(&self, _: &str, _: &str, id: i64, body: &str) -> PortResult<()> {
        self.record(Call::Edit {
            id,
            body: body.into(),
        });
        for c in self.comments.lock().unwrap().iter_mut() {
            if c.id == id {
                c.body = body.into();
            }
        }
        Ok(())
    }
    async fn delete_comment(&self, _: &str, _: &str, id: i64) -> PortResult<()> {
        self.record(Call::Delete { id });
        self.comments.lock().unwrap().retain(|c| c.id != id);
        Ok(())
    }
    async fn add_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
    async fn remove_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
}

/// A job store with compare-and-set on `resource_version`.
#[derive(Default)]
pub struct MemStore {
    pub jobs: Mutex<HashMap<String, ProwJob>>,
    pub keys: Mutex<HashMap<String, Timestamp>>,
    version: Mutex<u64>,
    /// Written (as another writer would) just before the next update, which
    /// then loses with a conflict.
    pub interference: Mutex<Option<ProwJob>>,
    /// `remember` calls (each a write on the real stores).
    pub remembers: Mutex<usize>,
}

impl MemStore {
    pub fn put(&self, mut job: ProwJob) -> ProwJob {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        job.metadata.resource_version = v.to_string();
        self.jobs
            .lock()
            .unwrap()
            .insert(job.metadata.name.clone(), job.clone());
        job
    }

    pub fn stored(&self, id: &str) -> ProwJob {
        self.jobs.lock().unwrap().get(id).cloned().unwrap()
    }
}

#[async_trait]
impl JobStore for MemStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        if self.jobs.lock().unwrap().contains_key(&job.metadata.name) {
            return Ok(false);
        }
        self.put(job.clone());
        Ok(true)
    }
    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        Ok(self.jobs.lock().unwrap().get(id).cloned())
    }
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        if let Some(other) = self.interference.lock().unwrap().take() {
            self.put(other);
        }
        let current = self.jobs.lock().unwrap().get(&job.metadata.name).cloned();
        match current {
            None => Err(PortError::NotFound(job.metadata.name.clone())),
            Some(c) if c.metadata.resource_version != job.metadata.resource_version => {
                Err(PortError::Conflict(job.metadata.name.clone()))
            }
            Some(_) => Ok(self.put(job.clone())),
        }
    }
    async fn list(&self, query: &JobQuery, _limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        let JobQuery::Pull { org, repo, number } = query else {
            unreachable!("the reporter lists only a pull's jobs")
        };
        Ok(self
            .jobs
            .lock()
            .unwrap()
            .values()
            .filter(|j| {
                j.spec.refs.as_ref().is_some_and(|r| {
                    &r.org == org
                        && &r.repo == repo
                        && r.pulls.first().is_some_and(|p| p.number == *number)
                })
            })
            .cloned()
            .collect())
    }
    async fn delete(&self, id: &str) -> PortResult<()> {
        self.jobs.lock().unwrap().remove(id);
        Ok(())
    }
    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        *self.remembers.lock().unwrap() += 1;
        let mut keys = self.keys.lock().unwrap();
        if keys.get(key).is_some_and(|e| *e > now()) {
            return Ok(false);
        }
        keys.insert(key.into(), expires);
        Ok(true)
    }
    async fn forget(&self, key: &str) -> PortResult<()> {
        self.keys.lock().unwrap().remove(key);
        Ok(())
    }
}

pub fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        now()
    }
}

// ---------------------------------------------------------------------------
// Builders

pub fn presubmit(id: &str, context: &str) -> ProwJob {
    let mut j = ProwJob {
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            job: context.into(),
            context: context.into(),
            rerun_command: format!("/test {context}"),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                pulls: vec![Pull {
                    number: 42,
                    author: "alice".into(),
                    sha: HEAD_SHA.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    j.metadata.name = id.into();
    j.metadata.creation_timestamp = Some(now());
    j.metadata.labels.insert(IS_OPTIONAL.into(), "false".into());
    j.status.state = Some(ProwJobState::Triggered);
    j.status.description = "Job triggered.".into();
    j
}

pub fn padded(description: &str) -> String {
    let pads = 140 - description.chars().count() - " BaseSHA:".len() - BASE_SHA.len();
    format!(
        "{description}{} BaseSHA:{BASE_SHA}",
        PAD.to_string().repeat(pads)
    )
}

pub fn row(context: &str, url: &str) -> String {
    format!("{context} | {HEAD_SHA} | [link]({url}) | true | `/test {context}`")
}

/// The failure comment, pinned word for word.
pub fn failure_comment(rows: &[String]) -> String {
    let noun = if rows.len() == 1 {
        "1 test".to_owned()
    } else {
        format!("{} tests", rows.len())
    };
    format!(
        "@alice: {noun} **failed**. Comment `/retest` to rerun every failed test, or `/retest-required` to rerun only the failed required ones:\n\
         \n\
         Test name | Commit | Details | Required | Rerun command\n\
         --- | --- | --- | --- | ---\n\
         {}\n\
         \n\
         <details>\n\
         \n\
         This comment is kept up to date by Skiff's reporter: each row is the latest failed run of a test on this pull request, and a row goes away once that test passes. Comment `/test <name>` to run a single test again.\n\
         </details>\n\
         {COMMENT_TAG}",
        rows.join("\n")
    )
}
