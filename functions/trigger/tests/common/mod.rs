//! In-memory ports for the trigger's tests: a job store with real
//! compare-and-set, a queue that records what it is sent, and a code host
//! that records every write. Each can be told to fail its next calls.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::event::{PullRequest, Repo};
use skiff_core::ports::{
    Clock, Comment, CommitStatus, JobQuery, JobStore, Message, PortError, PortResult, Queue, Scm,
};
use skiff_core::prowjob::{ProwJob, ProwJobType};

/// Scripted failures, by method name, used up in order.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<&'static str, VecDeque<PortError>>>);

impl Failures {
    pub fn next(&self, method: &'static str, err: PortError) {
        self.0
            .lock()
            .unwrap()
            .entry(method)
            .or_default()
            .push_back(err);
    }

    fn take(&self, method: &'static str) -> PortResult<()> {
        match self
            .0
            .lock()
            .unwrap()
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub fn unavailable() -> PortError {
    PortError::Unavailable("503 from upstream".into())
}

type Interference = Box<dyn FnOnce(&mut ProwJob) + Send>;

#[derive(Default)]
pub struct MemStore {
    pub jobs: Mutex<BTreeMap<String, ProwJob>>,
    pub keys: Mutex<BTreeMap<String, Timestamp>>,
    pub calls: Mutex<Vec<&'static str>>,
    pub fail: Failures,
    version: Mutex<u64>,
    /// Another writer that changes the record just before the next update,
    /// so that update's compare-and-set genuinely loses.
    interfere: Mutex<Option<Interference>>,
}

impl MemStore {
    fn call(&self, name: &'static str) -> PortResult<()> {
        self.calls.lock().unwrap().push(name);
        self.fail.take(name)
    }

    fn next_version(&self) -> String {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        v.to_string()
    }

    /// Writes a record as another component would (the syncer, say).
    pub fn put(&self, mut job: ProwJob) {
        job.metadata.resource_version = self.next_version();
        self.jobs
            .lock()
            .unwrap()
            .insert(job.metadata.name.clone(), job);
    }

    pub fn modify(&self, id: &str, f: impl FnOnce(&mut ProwJob)) {
        let mut job = self.jobs.lock().unwrap().get(id).cloned().unwrap();
        f(&mut job);
        self.put(job);
    }

    pub fn interfere_before_next_update(&self, f: impl FnOnce(&mut ProwJob) + Send + 'static) {
        *self.interfere.lock().unwrap() = Some(Box::new(f));
    }

    pub fn all(&self) -> Vec<ProwJob> {
        self.jobs.lock().unwrap().values().cloned().collect()
    }

    pub fn count(&self, method: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| **c == method)
            .count()
    }
}

#[async_trait::async_trait]
impl JobStore for MemStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        self.call("create")?;
        if self.jobs.lock().unwrap().contains_key(&job.metadata.name) {
            return Ok(false);
        }
        self.put(job.clone());
        Ok(true)
    }

    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        self.call("get")?;
        Ok(self.jobs.lock().unwrap().get(id).cloned())
    }

    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        self.call("update")?;
        let interference = self.interfere.lock().unwrap().take();
        if let Some(f) = interference {
            self.modify(&job.metadata.name, f);
        }
        let stored = self.jobs.lock().unwrap().get(&job.metadata.name).cloned();
        let Some(stored) = stored else {
            return Err(PortError::NotFound(job.metadata.name.clone()));
        };
        if stored.metadata.resource_version != job.metadata.resource_version {
            return Err(PortError::Conflict(job.metadata.name.clone()));
        }
        self.put(job.clone());
        Ok(self.jobs.lock().unwrap()[&job.metadata.name].clone())
    }

    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        self.call("list")?;
        let mut out: Vec<ProwJob> = self
            .all()
            .into_iter()
            .filter(|j| match query {
                JobQuery::All => true,
                JobQuery::Pull { org, repo, number } => {
                    matches!(
                        j.spec.r#type,
                        Some(ProwJobType::Presubmit | ProwJobType::Batch)
                    ) && j.spec.refs.as_ref().is_some_and(|r| {
                        &r.org == org
                            && &r.repo == repo
                            && r.pulls.iter().any(|p| p.number == *number)
                    })
                }
                JobQuery::Job { name } => &j.spec.job == name,
                JobQuery::Incomplete => !j.is_complete(),
                JobQuery::CompletedBefore(t) => {
                    j.is_complete() && j.status.start_time.is_some_and(|s| s < *t)
                }
            })
            .collect();
        out.sort_by_key(|j| std::cmp::Reverse(j.status.start_time));
        if let Some(limit) = limit {
            out.truncate(limit);
        }
        Ok(out)
    }

    async fn delete(&self, id: &str) -> PortResult<()> {
        self.call("delete")?;
        self.jobs.lock().unwrap().remove(id);
        Ok(())
    }

    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        self.call("remember")?;
        let mut keys = self.keys.lock().unwrap();
        if keys.contains_key(key) {
            return Ok(false);
        }
        keys.insert(key.to_string(), expires);
        Ok(true)
    }

    async fn forget(&self, key: &str) -> PortResult<()> {
        self.call("forget")?;
        self.keys.lock().unwrap().remove(key);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemQueue {
    /// One entry per successful `send` call.
    pub sends: Mutex<Vec<Vec<String>>>,
    pub fail: Failures,
}

impl MemQueue {
    /// Every dispatched job id, in order, over all sends.
    pub fn ids(&self) -> Vec<String> {
        self.sends
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .map(|b| {
                let m: skiff_core::messages::DispatchMessage = serde_json::from_str(b).unwrap();
                m.id
            })
            .collect()
    }

    pub fn send_calls(&self) -> usize {
        self.sends.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl Queue for MemQueue {
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        self.fail.take("send")?;
        self.sends.lock().unwrap().push(bodies.to_vec());
        Ok(())
    }
    async fn receive(&self, _: usize) -> PortResult<Vec<Message>> {
        Ok(vec![])
    }
    async fn ack(&self, _: &[String]) -> PortResult<()> {
        Ok(())
    }
    async fn retry_later(&self, _: &str, _: Duration) -> PortResult<()> {
        Ok(())
    }
}

pub const BOT: &str = "skiff-bot";

/// One repository's worth of GitHub.
pub struct FakeScm {
    pub members: Vec<String>,
    pub prs: Mutex<HashMap<i64, PullRequest>>,
    pub changed_files: Vec<String>,
    pub branch_sha: String,
    pub compared: Vec<String>,
    /// Comments on the pull request, oldest first.
    pub comments: Mutex<Vec<Comment>>,
    pub labels: Mutex<BTreeSet<String>>,
    /// Every call, with its arguments: `add_label needs-ok-to-test`.
    pub calls: Mutex<Vec<String>>,
    pub fail: Failures,
    next_comment_id: Mutex<i64>,
}

impl Default for FakeScm {
    fn default() -> Self {
        FakeScm {
            members: vec!["alice".into()],
            prs: Mutex::default(),
            changed_files: vec!["src/main.go".into()],
            branch_sha: "base-now".into(),
            compared: vec![],
            comments: Mutex::default(),
            labels: Mutex::default(),
            calls: Mutex::default(),
            fail: Failures::default(),
            next_comment_id: Mutex::new(100),
        }
    }
}

impl FakeScm {
    fn call(&self, name: &'static str, detail: impl std::fmt::Display) -> PortResult<()> {
        let detail = detail.to_string();
        let line = if detail.is_empty() {
            name.to_string()
        } else {
            format!("{name} {detail}")
        };
        self.calls.lock().unwrap().push(line);
        self.fail.take(name)
    }

    pub fn called(&self, name: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == name || c.starts_with(&format!("{name} ")))
            .cloned()
            .collect()
    }

    /// Comments the bot has posted.
    pub fn bot_comments(&self) -> Vec<String> {
        self.comments
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.author == BOT)
            .map(|c| c.body.clone())
            .collect()
    }

    pub fn seed_comment(&self, id: i64, author: &str, body: &str) {
        self.comments.lock().unwrap().push(Comment {
            id,
            author: author.into(),
            body: body.into(),
        });
    }
}

#[async_trait::async_trait]
impl Scm for FakeScm {
    fn bot_login(&self) -> &str {
        BOT
    }
    async fn pull_request(&self, _: &str, _: &str, number: i64) -> PortResult<PullRequest> {
        self.call("pull_request", number)?;
        self.prs
            .lock()
            .unwrap()
            .get(&number)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("pull request {number}")))
    }
    async fn changed_files(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<String>> {
        self.call("changed_files", number)?;
        Ok(self.changed_files.clone())
    }
    async fn is_member(&self, _: &str, login: &str) -> PortResult<bool> {
        self.call("is_member", login)?;
        Ok(self.members.iter().any(|m| m == login))
    }
    async fn is_collaborator(&self, _: &str, _: &str, login: &str) -> PortResult<bool> {
        self.call("is_collaborator", login)?;
        Ok(false)
    }
    async fn branch_sha(&self, _: &str, _: &str, branch: &str) -> PortResult<String> {
        self.call("branch_sha", branch)?;
        Ok(self.branch_sha.clone())
    }
    async fn comment_body(&self, _: &str, _: &str, id: &str) -> PortResult<String> {
        self.call("comment_body", id)?;
        Err(PortError::NotFound(id.to_string()))
    }
    async fn compare_files(
        &self,
        _: &str,
        _: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        self.call("compare_files", format!("{base}...{head}"))?;
        Ok(self.compared.clone())
    }
    async fn create_status(&self, _: &str, _: &str, sha: &str, s: &CommitStatus) -> PortResult<()> {
        self.call("create_status", format!("{sha} {}", s.context))
    }
    async fn list_comments(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.call("list_comments", number)?;
        Ok(self.comments.lock().unwrap().clone())
    }
    async fn create_comment(&self, _: &str, _: &str, number: i64, body: &str) -> PortResult<()> {
        self.call("create_comment", number)?;
        let mut id = self.next_comment_id.lock().unwrap();
        *id += 1;
        self.comments.lock().unwrap().push(Comment {
            id: *id,
            author: BOT.into(),
            body: body.into(),
        });
        Ok(())
    }
    async fn edit_comment(&self, _: &str, _: &str, id: i64, _: &str) -> PortResult<()> {
        self.call("edit_comment", id)
    }
    async fn delete_comment(&self, _: &str, _: &str, id: i64) -> PortResult<()> {
        self.call("delete_comment", id)?;
        let mut comments = self.comments.lock().unwrap();
        let before = comments.len();
        comments.retain(|c| c.id != id);
        if comments.len() == before {
            return Err(PortError::NotFound(format!("comment {id}")));
        }
        Ok(())
    }
    async fn add_label(&self, _: &str, _: &str, _: i64, label: &str) -> PortResult<()> {
        self.call("add_label", label)?;
        self.labels.lock().unwrap().insert(label.into());
        Ok(())
    }
    async fn remove_label(&self, _: &str, _: &str, _: i64, label: &str) -> PortResult<()> {
        self.call("remove_label", label)?;
        if !self.labels.lock().unwrap().remove(label) {
            return Err(PortError::NotFound(format!("label {label}")));
        }
        Ok(())
    }
}

pub struct ManualClock(pub Mutex<Timestamp>);

impl ManualClock {
    pub fn at(second: i64) -> Self {
        ManualClock(Mutex::new(Timestamp::from_second(second).unwrap()))
    }
    pub fn advance(&self, secs: i64) {
        let mut t = self.0.lock().unwrap();
        *t = t
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

pub fn repo() -> Repo {
    Repo {
        org: "acme".into(),
        repo: "widgets".into(),
        html_url: "https://github.com/acme/widgets".into(),
    }
}
