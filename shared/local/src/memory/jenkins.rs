//! The [`Jenkins`] twin: a Jenkins master held in memory. A build request
//! becomes a queue item; tests move it to a running build and finish it, as
//! Jenkins' executors would. Every call is logged (`build <job>`, `queued`,
//! `builds <job>`, `console <job>#<n>`, `stop <job>#<n>`, `cancel <item>`),
//! so a test can pin the Jenkins calls a handler spends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::ports::{Jenkins, JenkinsBuild, JenkinsStatus, PortError, PortResult};

use super::{Faults, lock};

/// One queue item or build, with the job path it belongs to.
#[derive(Clone, Debug)]
struct Entry {
    job: String,
    parameters: BTreeMap<String, String>,
    item: u64,
    number: Option<u64>,
    status: JenkinsStatus,
    started: Option<Timestamp>,
    console: String,
}

impl Entry {
    fn view(&self) -> JenkinsBuild {
        let param = |k: &str| self.parameters.get(k).cloned().unwrap_or_default();
        JenkinsBuild {
            prow_job_id: param("PROW_JOB_ID"),
            build_id: param("BUILD_ID"),
            number: self.number,
            status: self.status.clone(),
            started: self.started,
        }
    }
}

/// A Jenkins held in memory; see the module doc.
#[derive(Default)]
pub struct MemoryJenkins {
    url: String,
    entries: Mutex<Vec<Entry>>,
    next_item: Mutex<u64>,
    /// The next build number per job.
    numbers: Mutex<BTreeMap<String, u64>>,
    calls: Mutex<Vec<String>>,
    /// A build request is queued, and then answered with this error (an
    /// answer lost after Jenkins acted).
    lose_next_answer: Mutex<Option<PortError>>,
    faults: Faults,
}

impl MemoryJenkins {
    pub fn new(url: &str) -> Arc<Self> {
        Arc::new(MemoryJenkins {
            url: url.to_string(),
            ..MemoryJenkins::default()
        })
    }

    /// What the next calls of a method (`build`, `queued`, `builds`, …) do
    /// wrong; [`Faults::down`] makes the whole master unreachable.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The next build request is queued, then answered with `error`.
    pub fn lose_next_answer(&self, error: PortError) {
        *lock(&self.lose_next_answer) = Some(error);
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    pub fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    /// Calls whose verb is `verb`.
    pub fn count(&self, verb: &str) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| c.split(' ').next() == Some(verb))
            .count()
    }

    /// Queue items and builds ever made for `prow_job_id`.
    pub fn runs_of(&self, prow_job_id: &str) -> usize {
        lock(&self.entries)
            .iter()
            .filter(|e| e.view().prow_job_id == prow_job_id)
            .count()
    }

    /// The parameters the build of `prow_job_id` was asked with.
    pub fn parameters(&self, prow_job_id: &str) -> BTreeMap<String, String> {
        self.with(prow_job_id, |e| e.parameters.clone())
    }

    /// An executor took the queue item of `prow_job_id`: it is build number
    /// N of its job now, running since `at`.
    pub fn start(&self, prow_job_id: &str, at: Timestamp) -> u64 {
        let job = self.with(prow_job_id, |e| e.job.clone());
        let number = {
            let mut numbers = lock(&self.numbers);
            let n = numbers.entry(job).or_insert(0);
            *n += 1;
            *n
        };
        self.with(prow_job_id, |e| {
            e.number = Some(number);
            e.status = JenkinsStatus::Running;
            e.started = Some(at);
        });
        number
    }

    /// The build of `prow_job_id` ended with Jenkins' `result`, having
    /// written `console`.
    pub fn finish(&self, prow_job_id: &str, result: &str, console: &str) {
        self.with(prow_job_id, |e| {
            e.status = JenkinsStatus::Finished {
                result: result.to_string(),
            };
            e.console = console.to_string();
        });
    }

    /// The build or queue item of `prow_job_id` is gone (a person deleted
    /// it, or Jenkins lost it).
    pub fn vanish(&self, prow_job_id: &str) {
        lock(&self.entries).retain(|e| e.view().prow_job_id != prow_job_id);
    }

    /// Where the build of `prow_job_id` stands.
    pub fn status(&self, prow_job_id: &str) -> JenkinsStatus {
        self.with(prow_job_id, |e| e.status.clone())
    }

    fn with<T>(&self, prow_job_id: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut entries = lock(&self.entries);
        let entry = entries
            .iter_mut()
            .rev()
            .find(|e| e.view().prow_job_id == prow_job_id)
            .unwrap_or_else(|| panic!("no Jenkins build of {prow_job_id}"));
        f(entry)
    }

    fn call(&self, method: &str, line: String) -> PortResult<()> {
        lock(&self.calls).push(line);
        self.faults.check(method)
    }
}

#[async_trait]
impl Jenkins for MemoryJenkins {
    fn url(&self) -> &str {
        &self.url
    }

    async fn build(&self, job: &str, parameters: &[(String, String)]) -> PortResult<Option<u64>> {
        self.call("build", format!("build {job}"))?;
        let item = {
            let mut next = lock(&self.next_item);
            *next += 1;
            *next
        };
        lock(&self.entries).push(Entry {
            job: job.to_string(),
            parameters: parameters.iter().cloned().collect(),
            item,
            number: None,
            status: JenkinsStatus::Queued {
                item,
                why: "Waiting for next available executor".into(),
            },
            started: None,
            console: String::new(),
        });
        match lock(&self.lose_next_answer).take() {
            Some(e) => Err(e),
            None => Ok(Some(item)),
        }
    }

    async fn queued(&self) -> PortResult<Vec<JenkinsBuild>> {
        self.call("queued", "queued".into())?;
        Ok(lock(&self.entries)
            .iter()
            .filter(|e| matches!(e.status, JenkinsStatus::Queued { .. }))
            .map(Entry::view)
            .collect())
    }

    async fn builds(&self, job: &str) -> PortResult<Vec<JenkinsBuild>> {
        self.call("builds", format!("builds {job}"))?;
        Ok(lock(&self.entries)
            .iter()
            .filter(|e| e.job == job && e.number.is_some())
            .map(Entry::view)
            .collect())
    }

    async fn console_text(&self, job: &str, number: u64) -> PortResult<String> {
        self.call("console_text", format!("console {job}#{number}"))?;
        lock(&self.entries)
            .iter()
            .find(|e| e.job == job && e.number == Some(number))
            .map(|e| e.console.clone())
            .ok_or_else(|| PortError::NotFound(format!("{job} #{number}").into()))
    }

    async fn stop(&self, job: &str, number: u64) -> PortResult<()> {
        self.call("stop", format!("stop {job}#{number}"))?;
        let mut entries = lock(&self.entries);
        let entry = entries
            .iter_mut()
            .find(|e| e.job == job && e.number == Some(number))
            .ok_or_else(|| PortError::NotFound(format!("{job} #{number}").into()))?;
        if entry.status == JenkinsStatus::Running {
            entry.status = JenkinsStatus::Finished {
                result: "ABORTED".into(),
            };
        }
        Ok(())
    }

    async fn cancel_queued(&self, item: u64) -> PortResult<()> {
        self.call("cancel_queued", format!("cancel {item}"))?;
        lock(&self.entries).retain(|e| e.item != item || e.number.is_some());
        Ok(())
    }
}
