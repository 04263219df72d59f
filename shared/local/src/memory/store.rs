//! The [`JobStore`] twin: records and dedupe keys in memory, with the
//! semantics of the SQLite and DynamoDB stores (the conformance suite runs
//! against it): create-if-absent, compare-and-set on the resource version,
//! records kept as their JSON (so times are whole seconds), listings newest
//! first, keys that expire on the store's clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::ports::{Claim, Clock, JobQuery, JobStore, PortError, PortResult, SystemClock};
use skiff_core::prowjob::{ProwJob, ProwJobType};

use super::{Faults, Journal, lock};

/// How many calls of each kind the store has answered (failed ones too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreCalls {
    pub creates: usize,
    pub gets: usize,
    pub updates: usize,
    pub lists: usize,
    pub deletes: usize,
    /// `claim` and `claim_as` calls (each a conditional write on the real
    /// stores; `remember` is one).
    pub remembers: usize,
    pub keeps: usize,
    /// `forget` and `release` calls.
    pub forgets: usize,
}

type Interference = Box<dyn FnOnce(&mut ProwJob) + Send>;

/// [`JobStore`] in memory. Share it with `Arc`.
pub struct MemoryStore {
    jobs: Mutex<BTreeMap<String, ProwJob>>,
    keys: Mutex<BTreeMap<String, Timestamp>>,
    /// Who holds each key taken by `claim_as` (locked after `keys`).
    owners: Mutex<BTreeMap<String, String>>,
    /// Cached values (`put_value`), with their expiry.
    values: Mutex<BTreeMap<String, (String, Timestamp)>>,
    clock: Arc<dyn Clock>,
    calls: Mutex<StoreCalls>,
    journal: Journal,
    /// Writers that change a record just before the next update of it (by
    /// id; `None` = whichever record is updated next), so that update loses.
    interference: Mutex<Vec<(Option<String>, Interference)>>,
    faults: Faults,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(Arc::new(SystemClock))
    }
}

impl MemoryStore {
    /// A store whose dedupe keys expire on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            jobs: Mutex::default(),
            keys: Mutex::default(),
            owners: Mutex::default(),
            values: Mutex::default(),
            clock,
            calls: Mutex::default(),
            journal: Journal::default(),
            interference: Mutex::default(),
            faults: Faults::default(),
        }
    }

    /// What the next calls of a method do wrong.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Logs this twin's calls into `journal` (shared with other twins, so a
    /// test sees the order of calls across ports) instead of its own.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = journal;
        self
    }

    /// The calls answered so far, by kind.
    pub fn calls(&self) -> StoreCalls {
        *lock(&self.calls)
    }

    /// Every call so far, by method name, in order.
    pub fn journal(&self) -> Vec<String> {
        lock(&self.journal).clone()
    }

    /// How often `method` was called.
    pub fn count(&self, method: &str) -> usize {
        lock(&self.journal).iter().filter(|m| *m == method).count()
    }

    /// Writes a record as another component would (the syncer, say):
    /// unconditionally, with the next resource version. Returns it as stored.
    pub fn put(&self, job: ProwJob) -> ProwJob {
        let mut jobs = lock(&self.jobs);
        let version = jobs.get(&job.metadata.name).map_or(0, version_of);
        let stored = stored_form(&job, version + 1);
        jobs.insert(stored.metadata.name.clone(), stored.clone());
        stored
    }

    /// Changes a stored record as another writer would.
    pub fn modify(&self, id: &str, change: impl FnOnce(&mut ProwJob)) -> ProwJob {
        let mut job = self.job(id);
        change(&mut job);
        self.put(job)
    }

    /// The stored record; panics when there is none (a test's mistake).
    pub fn job(&self, id: &str) -> ProwJob {
        lock(&self.jobs)
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no record {id}"))
    }

    pub fn has(&self, id: &str) -> bool {
        lock(&self.jobs).contains_key(id)
    }

    pub fn ids(&self) -> Vec<String> {
        lock(&self.jobs).keys().cloned().collect()
    }

    /// Every record, by id.
    pub fn all(&self) -> Vec<ProwJob> {
        lock(&self.jobs).values().cloned().collect()
    }

    /// The next update of `id` loses to a writer that applies `change` first.
    pub fn interfere(&self, id: &str, change: impl FnOnce(&mut ProwJob) + Send + 'static) {
        lock(&self.interference).push((Some(id.to_string()), Box::new(change)));
    }

    /// The next update of `id` loses to a writer that changed nothing visible.
    pub fn conflict_on_next_update(&self, id: &str) {
        self.interfere(id, |_| {});
    }

    /// The next update, of whichever record, loses to a writer that applies
    /// `change` to that record first.
    pub fn interfere_with_next_update(&self, change: impl FnOnce(&mut ProwJob) + Send + 'static) {
        lock(&self.interference).push((None, Box::new(change)));
    }

    /// Whether `key` is remembered and not expired.
    pub fn knows_key(&self, key: &str) -> bool {
        let now = self.clock.now();
        lock(&self.keys).get(key).is_some_and(|&exp| exp > now)
    }

    /// When `key` expires, if it is remembered (expired or not).
    pub fn expiry(&self, key: &str) -> Option<Timestamp> {
        lock(&self.keys).get(key).copied()
    }

    /// The live dedupe keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let now = self.clock.now();
        lock(&self.keys)
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn call(&self, method: &str, count: impl FnOnce(&mut StoreCalls)) -> PortResult<()> {
        count(&mut lock(&self.calls));
        lock(&self.journal).push(method.to_string());
        self.faults.check(method)
    }
}

fn version_of(job: &ProwJob) -> u64 {
    job.metadata.resource_version.parse().unwrap_or(0)
}

/// The record as the real stores keep it: its JSON read back (times in whole
/// seconds), with `version`.
fn stored_form(job: &ProwJob, version: u64) -> ProwJob {
    let mut stored = serde_json::to_string(job)
        .ok()
        .and_then(|json| serde_json::from_str::<ProwJob>(&json).ok())
        .unwrap_or_else(|| job.clone());
    stored.metadata.resource_version = version.to_string();
    stored
}

fn matches(job: &ProwJob, query: &JobQuery) -> bool {
    match query {
        JobQuery::All => true,
        JobQuery::Pull { org, repo, number } => {
            matches!(
                job.spec.r#type,
                Some(ProwJobType::Presubmit | ProwJobType::Batch)
            ) && job.spec.refs.as_ref().is_some_and(|r| {
                &r.org == org && &r.repo == repo && r.pulls.iter().any(|p| p.number == *number)
            })
        }
        JobQuery::Job { name } => &job.spec.job == name,
        JobQuery::Incomplete => !job.is_complete(),
        JobQuery::CompletedBefore(t) => {
            job.is_complete() && job.status.start_time.is_some_and(|s| s < *t)
        }
        JobQuery::StartedSince(t) => job.status.start_time.is_some_and(|s| s >= *t),
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        self.call("create", |c| c.creates += 1)?;
        if job.metadata.name.is_empty() {
            return Err(PortError::Rejected(
                "job record has no id (metadata.name)".into(),
            ));
        }
        let mut jobs = lock(&self.jobs);
        if jobs.contains_key(&job.metadata.name) {
            return Ok(false);
        }
        jobs.insert(job.metadata.name.clone(), stored_form(job, 1));
        Ok(true)
    }

    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        self.call("get", |c| c.gets += 1)?;
        Ok(lock(&self.jobs).get(id).cloned())
    }

    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        self.call("update", |c| c.updates += 1)?;
        let id = &job.metadata.name;
        let interference = {
            let mut pending = lock(&self.interference);
            pending
                .iter()
                .position(|(target, _)| target.as_ref().is_none_or(|t| t == id))
                .map(|i| pending.remove(i).1)
        };
        let mut jobs = lock(&self.jobs);
        let Some(stored) = jobs.get_mut(id) else {
            return Err(PortError::NotFound(format!("job {id}").into()));
        };
        if let Some(change) = interference {
            change(stored);
            let version = version_of(stored) + 1;
            *stored = stored_form(stored, version);
        }
        if stored.metadata.resource_version != job.metadata.resource_version {
            return Err(PortError::Conflict(
                format!(
                    "job {id}: resource version {} is stale (now {})",
                    job.metadata.resource_version, stored.metadata.resource_version
                )
                .into(),
            ));
        }
        *stored = stored_form(job, version_of(stored) + 1);
        let stored = stored.clone();
        drop(jobs);
        self.faults.check_answer("update")?;
        Ok(stored)
    }

    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        self.call("list", |c| c.lists += 1)?;
        let mut out: Vec<ProwJob> = lock(&self.jobs)
            .values()
            .filter(|j| matches(j, query))
            .cloned()
            .collect();
        // SQLite's `ORDER BY start_time DESC, id DESC`: no start time last.
        out.sort_by(|a, b| {
            (b.status.start_time, &b.metadata.name).cmp(&(a.status.start_time, &a.metadata.name))
        });
        if let Some(n) = limit {
            out.truncate(n);
        }
        Ok(out)
    }

    async fn delete(&self, id: &str) -> PortResult<()> {
        self.call("delete", |c| c.deletes += 1)?;
        lock(&self.jobs).remove(id);
        Ok(())
    }

    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim> {
        self.call("claim", |c| c.remembers += 1)?;
        if key.is_empty() {
            return Err(PortError::Rejected("dedupe key is empty".into()));
        }
        let now = self.clock.now();
        {
            let mut keys = lock(&self.keys);
            if let Some(&until) = keys.get(key).filter(|&&exp| exp > now) {
                return Ok(Claim::Held { until });
            }
            keys.insert(key.to_string(), expires);
            lock(&self.owners).remove(key);
        }
        self.faults.check_answer("claim")?;
        Ok(Claim::Taken)
    }

    async fn claim_as(&self, key: &str, owner: &str, expires: Timestamp) -> PortResult<Claim> {
        self.call("claim_as", |c| c.remembers += 1)?;
        if key.is_empty() || owner.is_empty() {
            return Err(PortError::Rejected(
                format!("claim of {key:?} as {owner:?}: key and owner must not be empty").into(),
            ));
        }
        let now = self.clock.now();
        let claim = {
            let mut keys = lock(&self.keys);
            let mut owners = lock(&self.owners);
            match keys.get(key).filter(|&&exp| exp > now) {
                Some(&until) if owners.get(key).map(String::as_str) != Some(owner) => {
                    Claim::Held { until }
                }
                _ => {
                    keys.insert(key.to_string(), expires);
                    owners.insert(key.to_string(), owner.to_string());
                    Claim::Taken
                }
            }
        };
        self.faults.check_answer("claim_as")?;
        Ok(claim)
    }

    async fn release(&self, key: &str, owner: &str) -> PortResult<()> {
        self.call("release", |c| c.forgets += 1)?;
        let mut keys = lock(&self.keys);
        let mut owners = lock(&self.owners);
        if owners.get(key).map(String::as_str) == Some(owner) {
            keys.remove(key);
            owners.remove(key);
        }
        Ok(())
    }

    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()> {
        self.call("keep", |c| c.keeps += 1)?;
        if key.is_empty() {
            return Err(PortError::Rejected("dedupe key is empty".into()));
        }
        // A mark has no owner, as the item DynamoDB's put replaces has none.
        lock(&self.keys).insert(key.to_string(), expires);
        lock(&self.owners).remove(key);
        Ok(())
    }

    async fn forget(&self, key: &str) -> PortResult<()> {
        self.call("forget", |c| c.forgets += 1)?;
        lock(&self.keys).remove(key);
        lock(&self.owners).remove(key);
        Ok(())
    }

    async fn put_value(&self, key: &str, value: &str, expires: Timestamp) -> PortResult<()> {
        self.call("put_value", |_| {})?;
        lock(&self.values).insert(key.to_string(), (value.to_string(), expires));
        Ok(())
    }

    async fn get_value(&self, key: &str) -> PortResult<Option<String>> {
        self.call("get_value", |_| {})?;
        let now = self.clock.now();
        Ok(lock(&self.values)
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone()))
    }
}
