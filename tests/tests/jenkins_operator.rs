//! Jobs of agent `jenkins` end to end: the real dispatcher
//! (`handle_batch_with_jenkins`) queues the build and the real syncer
//! (`sync_with_jenkins`) follows it, through the real Jenkins client
//! (`skiff_jenkins`, its token read from a `token_file`) over HTTP, against
//! the HTTP-level fake Jenkins in `skiff_tests::jenkins`. No Jenkins can run
//! on this machine (it needs a JVM and its plugins), so the fake speaks the
//! part of Jenkins' REST API Prow's jenkins-operator uses, with Jenkins'
//! paths, JSON shapes, crumbs and status codes. Records, queue and logs are
//! the in-memory twins; time is a hand-moved clock.
//!
//! Each test asserts the exact Jenkins requests a case costs; the first one
//! prints them per job lifecycle (the issue's figure).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skiff_core::config::Config;
use skiff_core::config::prow::{JenkinsMaster, JenkinsOperator};
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{BatchOutcome, Clock, Cluster, Message};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{JENKINS_AGENT, ProwJob, ProwJobState};
use skiff_core::run::jenkins::JenkinsMasters;
use skiff_syncer::SyncReport;
use skiff_testkit::*;
use skiff_tests::jenkins::{
    FakeJenkins, JenkinsCanned, JenkinsShared, fake_jenkins, lock as jenkins,
};

const USER: &str = "prow";
const TOKEN: &str = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7";
const JOB: &str = "pull-widgets-unit";
const JOB_PATH: &str = "job/pull-widgets-unit";

struct World {
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    logs: Arc<MemoryLogs>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
    masters: JenkinsMasters,
    ids: Mutex<BuildIdGenerator>,
    fake: JenkinsShared,
    _dir: tempfile::TempDir,
}

/// A Jenkins with [`JOB_PATH`] and `job/job-0` … `job/job-4`, basic auth
/// as [`USER`]/[`TOKEN`].
fn jenkins_setup() -> FakeJenkins {
    let jobs = [
        JOB_PATH,
        "job/job-0",
        "job/job-1",
        "job/job-2",
        "job/job-3",
        "job/job-4",
    ];
    let mut fake = FakeJenkins::with_jobs(&jobs, USER, TOKEN);
    fake.now_ms = ts(T0).as_millisecond();
    fake
}

impl World {
    /// One operator (`max_concurrency` as given) whose Jenkins is the fake;
    /// Skiff signs in with `token` (read from a file ending in a newline).
    fn new(fake: FakeJenkins, token: &str, max_concurrency: i64) -> World {
        let (fake, url) = fake_jenkins(fake);
        let dir = tempfile::tempdir().expect("a temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{token}\n")).expect("write the token file");
        let mut config = config();
        config.prow.jenkins_operators = vec![JenkinsOperator {
            max_concurrency,
            ..JenkinsOperator::default()
        }];
        config.prow.skiff.jenkins = vec![JenkinsMaster {
            url,
            user: USER.into(),
            token_file: token_file.display().to_string(),
            ..JenkinsMaster::default()
        }];
        let masters = skiff_jenkins::masters_from_files(&config).expect("the Jenkins client");
        let clock = clock_at(T0);
        World {
            store: Arc::new(MemoryStore::new(clock.clone())),
            queue: Arc::new(MemoryQueue::new(clock.clone())),
            logs: Arc::new(MemoryLogs::default()),
            clusters: BTreeMap::new(),
            config,
            masters,
            ids: Mutex::new(BuildIdGenerator::new()),
            clock,
            fake,
            _dir: dir,
        }
    }

    fn standard() -> World {
        World::new(jenkins_setup(), TOKEN, 0)
    }

    /// The dispatcher's delivery of `id` (SQS may deliver it again).
    async fn deliver(&self, id: &str) -> BatchOutcome {
        let deps = skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        let message = Message {
            receipt: format!("r-{id}"),
            body: DispatchMessage { id: id.into() }.to_body(),
            receive_count: 1,
        };
        skiff_dispatcher::handle_batch_with_jenkins(&[message], &deps, &self.masters).await
    }

    async fn sync(&self) -> SyncReport {
        let deps = skiff_syncer::Deps {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            clusters: &self.clusters,
            logs: self.logs.as_ref(),
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
            redispatch_after: mins(2),
        };
        skiff_syncer::sync_with_jenkins(&deps, &self.masters)
            .await
            .expect("a sync pass")
    }

    /// Creates the triggered record and lets the dispatcher queue its build.
    async fn start(&self, job: ProwJob) -> String {
        let id = job.metadata.name.clone();
        self.store.put(job);
        let outcome = self.deliver(&id).await;
        assert_eq!(outcome, BatchOutcome::default(), "{id}: delivered once");
        id
    }

    fn job(&self, id: &str) -> ProwJob {
        self.store.job(id)
    }

    /// `METHOD path` of the requests since the last call.
    fn take(&self) -> Vec<String> {
        let mut j = jenkins(&self.fake);
        let lines = j.lines();
        j.seen.clear();
        lines
    }

    fn log(&self, id: &str, name: &str) -> Option<String> {
        let path =
            skiff_core::prowjob::artifacts::artifact_path(&self.job(id)).expect("an artifact path");
        self.logs.file(&path, name)
    }
}

/// A triggered presubmit of `job` on Jenkins, for PR 42.
fn jenkins_job(id: &str, job: &str) -> ProwJob {
    let mut j = presubmit(id, job, 42, ts(T0));
    j.spec.agent = JENKINS_AGENT.into();
    j.spec.pod_spec = None;
    j
}

fn state(job: &ProwJob) -> (Option<ProwJobState>, &str) {
    (job.status.state, job.status.description.as_str())
}

fn lines(want: &[&str]) -> Vec<String> {
    want.iter().map(|s| s.to_string()).collect()
}

// --- the lifecycle ----------------------------------------------------------

#[tokio::test]
async fn a_build_that_succeeds_gets_prows_parameters_its_url_and_its_console_log() {
    let mut setup = jenkins_setup();
    setup.csrf = true;
    let w = World::new(setup, TOKEN, 0);
    let id = w.start(jenkins_job("j1", JOB)).await;

    // Queued with a crumb, Prow's parameters in the form body.
    let start = w.take();
    assert_eq!(
        start,
        lines(&[
            "GET /crumbIssuer/api/json",
            "POST /job/pull-widgets-unit/buildWithParameters",
        ])
    );
    let job = w.job(&id);
    assert_eq!(
        state(&job),
        (Some(ProwJobState::Pending), "Jenkins job enqueued.")
    );
    let params = jenkins(&w.fake).params_of(&id);
    assert_eq!(params["PROW_JOB_ID"], "j1");
    assert_eq!(params["BUILD_ID"], job.status.build_id);
    assert!(!job.status.build_id.is_empty());
    for (k, v) in [
        ("JOB_NAME", JOB),
        ("JOB_TYPE", "presubmit"),
        ("REPO_OWNER", "acme"),
        ("REPO_NAME", "widgets"),
        ("PULL_BASE_REF", "main"),
        ("PULL_BASE_SHA", "0a1b2c"),
        ("PULL_NUMBER", "42"),
        ("PULL_PULL_SHA", "sha-j1"),
        ("PULL_REFS", "main:0a1b2c,42:sha-j1"),
    ] {
        assert_eq!(
            params.get(k).map(String::as_str),
            Some(v),
            "{k}: {params:?}"
        );
    }
    let spec: serde_json::Value =
        serde_json::from_str(&params["JOB_SPEC"]).expect("JOB_SPEC is JSON");
    assert_eq!(spec["type"], "presubmit");
    assert_eq!(spec["job"], JOB);
    assert_eq!(spec["buildid"], job.status.build_id.as_str());
    assert_eq!(spec["prowjobid"], "j1");
    assert_eq!(spec["refs"]["pulls"][0]["number"], 42);

    // Queued: one look at the queue, nothing written.
    let report = w.sync().await;
    assert_eq!((report.writes, report.jenkins_calls), (0, 1));
    let queued = w.take();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].starts_with("GET /queue/api/json"), "{queued:?}");

    // Running: the build number is recorded; the link is the job's page.
    jenkins(&w.fake).start(&id);
    w.clock.advance(mins(1));
    w.sync().await;
    let running = w.job(&id);
    assert_eq!(
        state(&running),
        (Some(ProwJobState::Pending), "Jenkins job running.")
    );
    assert_eq!(running.status.jenkins_build_id, "1");
    assert!(
        running.status.url.starts_with("https://ci.example.com/")
            && running.status.url.contains(&running.status.build_id),
        "{}",
        running.status.url
    );
    let ran = w.take();
    assert_eq!(
        ran,
        lines(&["GET /queue/api/json", "GET /job/pull-widgets-unit/api/json"])
    );
    // Still running: no write.
    assert_eq!(w.sync().await.writes, 0);
    w.take();

    jenkins(&w.fake).finish(&id, "SUCCESS", "ok  \tacme/widgets\t0.4s\n");
    w.clock.advance(mins(4));
    w.sync().await;
    let done = w.job(&id);
    assert_eq!(
        state(&done),
        (Some(ProwJobState::Success), "Jenkins job succeeded.")
    );
    assert!(done.is_complete());
    let finished = w.take();
    assert_eq!(
        finished,
        lines(&[
            "GET /queue/api/json",
            "GET /job/pull-widgets-unit/api/json",
            "GET /job/pull-widgets-unit/1/consoleText",
        ])
    );
    let log = w.log(&id, "build-log.txt").expect("build-log.txt");
    assert!(
        log.starts_with("Started by remote host\nBuilding #1\n")
            && log.ends_with("ok  \tacme/widgets\t0.4s\nFinished: SUCCESS\n"),
        "{log}"
    );
    let finished_json = w.log(&id, "finished.json").expect("finished.json");
    assert!(
        finished_json.contains(r#""result":"success""#),
        "{finished_json}"
    );
    assert!(w.log(&id, "started.json").is_some());
    assert!(w.log(&id, "prowjob.json").is_some());

    // Complete: Jenkins is not asked again.
    w.sync().await;
    assert!(w.take().is_empty());

    // The issue's figure: Jenkins API calls per job lifecycle.
    println!(
        "Jenkins calls per job lifecycle (CSRF on, 1 pass queued, 2 running, 1 finishing): start {}: {start:?}; queued pass {}; running pass {}: {ran:?}; finishing pass {}: {finished:?}",
        start.len(),
        queued.len(),
        ran.len(),
        finished.len()
    );
}

/// Prow's mapping of Jenkins results: UNSTABLE and FAILURE fail the job,
/// ABORTED (someone stopped it in Jenkins) aborts it; NOT_BUILT (which Prow
/// leaves pending forever) is an error.
#[tokio::test]
async fn jenkins_results_end_the_job_as_prow_maps_them() {
    let w = World::standard();
    let cases = [
        ("SUCCESS", ProwJobState::Success, "Jenkins job succeeded."),
        ("FAILURE", ProwJobState::Failure, "Jenkins job failed."),
        ("UNSTABLE", ProwJobState::Failure, "Jenkins job failed."),
        ("ABORTED", ProwJobState::Aborted, "Jenkins job aborted."),
        (
            "NOT_BUILT",
            ProwJobState::Error,
            "Jenkins job ended as NOT_BUILT.",
        ),
    ];
    for (i, (result, ..)) in cases.iter().enumerate() {
        let id = w
            .start(jenkins_job(&format!("r{i}"), &format!("job-{i}")))
            .await;
        let mut j = jenkins(&w.fake);
        j.start(&id);
        j.finish(&id, result, "");
    }
    w.take();
    w.sync().await;
    for (i, (result, want, description)) in cases.iter().enumerate() {
        let job = w.job(&format!("r{i}"));
        assert_eq!(state(&job), (Some(*want), *description), "{result}");
        assert!(job.is_complete(), "{result}");
        let log = w
            .log(&job.metadata.name, "build-log.txt")
            .unwrap_or_default();
        assert!(
            log.ends_with(&format!("Finished: {result}\n")),
            "{result}: {log}"
        );
    }
    // One queue listing, one listing per Jenkins job, one console per build.
    let calls = w.take();
    assert_eq!(calls.len(), 1 + 5 + 5, "{calls:?}");
}

// --- abort ------------------------------------------------------------------

/// A new push supersedes the running build: the syncer aborts the old job,
/// stops its build in Jenkins (`POST …/stop`), keeps its console log, and
/// the new push's build is queued.
#[tokio::test]
async fn a_new_push_aborts_the_old_build_and_stops_it_in_jenkins() {
    let w = World::standard();
    let old = w.start(jenkins_job("old", JOB)).await;
    jenkins(&w.fake).start(&old);
    w.sync().await;
    assert_eq!(w.job(&old).status.jenkins_build_id, "1");

    w.clock.advance(mins(2));
    let mut newer = jenkins_job("new", JOB);
    newer.status.start_time = Some(w.clock.now());
    let new = w.start(newer).await;
    w.take();
    w.sync().await;

    let aborted = w.job(&old);
    assert_eq!(aborted.status.state, Some(ProwJobState::Aborted));
    assert!(aborted.is_complete());
    assert_eq!(
        jenkins(&w.fake).build_state(&old),
        (false, Some("ABORTED".to_string())),
        "the build was stopped"
    );
    let calls = w.take();
    assert!(
        calls.contains(&"POST /job/pull-widgets-unit/1/stop".to_string()),
        "{calls:?}"
    );
    let log = w
        .log(&old, "build-log.txt")
        .expect("the aborted build's log");
    assert!(log.contains("Aborted by prow"), "{log}");
    assert_eq!(
        state(&w.job(&new)),
        (Some(ProwJobState::Pending), "Jenkins job enqueued.")
    );
    assert!(jenkins(&w.fake).is_queued(&new));
}

/// A superseded job whose build still waits in the queue is taken out of
/// the queue (`POST queue/cancelItem`), never started.
#[tokio::test]
async fn a_superseded_build_still_in_the_queue_is_cancelled() {
    let w = World::standard();
    let old = w.start(jenkins_job("old", JOB)).await;
    w.clock.advance(mins(1));
    let mut newer = jenkins_job("new", JOB);
    newer.status.start_time = Some(w.clock.now());
    w.start(newer).await;
    w.take();
    w.sync().await;
    assert_eq!(w.job(&old).status.state, Some(ProwJobState::Aborted));
    assert!(w.job(&old).is_complete());
    assert!(!jenkins(&w.fake).is_queued(&old));
    assert_eq!(jenkins(&w.fake).runs_of(&old), 0);
    let calls = w.take();
    assert!(
        calls.contains(&"POST /queue/cancelItem".to_string()),
        "{calls:?}"
    );
}

// --- timeouts ---------------------------------------------------------------

/// A build that never leaves the queue ends the job as `error` after plank's
/// `pod_pending_timeout` (10m), saying why Jenkins held it, and leaves the
/// queue.
#[tokio::test]
async fn a_build_that_never_starts_ends_as_error_after_the_pending_timeout() {
    let w = World::standard();
    let id = w.start(jenkins_job("stuck", JOB)).await;
    w.clock.advance(mins(9));
    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
    w.clock.advance(mins(1));
    w.take();
    w.sync().await;
    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(
        job.status.description,
        "Jenkins build never left the queue within 10m0s: Waiting for next available executor"
    );
    assert!(!jenkins(&w.fake).is_queued(&id), "taken out of the queue");
    assert_eq!(
        w.take(),
        lines(&["GET /queue/api/json", "POST /queue/cancelItem"])
    );
}

/// A build running longer than `pod_running_timeout` (48h) is stopped and
/// the job aborted, as plank does with a pod.
#[tokio::test]
async fn a_build_running_past_the_running_timeout_is_stopped() {
    let w = World::standard();
    let id = w.start(jenkins_job("long", JOB)).await;
    jenkins(&w.fake).start(&id);
    w.clock.advance(mins(48 * 60));
    w.sync().await;
    let job = w.job(&id);
    assert_eq!(
        state(&job),
        (Some(ProwJobState::Aborted), "Jenkins job running timeout.")
    );
    assert!(job.is_complete());
    assert_eq!(
        jenkins(&w.fake).build_state(&id),
        (false, Some("ABORTED".to_string()))
    );
}

// --- idempotence and faults ----------------------------------------------------

/// Jenkins queued the build but its answer was lost (a 502 after acting):
/// the redelivered start finds the build by its `PROW_JOB_ID` and adopts
/// it, under the build id it carries; no second build is queued.
#[tokio::test]
async fn a_redelivered_start_adopts_the_build_instead_of_queueing_another() {
    let w = World::standard();
    jenkins(&w.fake).canned.push_back(JenkinsCanned {
        method: "POST".into(),
        path: "/buildWithParameters".into(),
        status: 502,
        act_first: true,
    });
    let id = "lost".to_string();
    w.store.put(jenkins_job(&id, JOB));
    let first = w.deliver(&id).await;
    assert_eq!(first.retry, vec![format!("r-{id}")], "a 502 is retried");
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Triggered));
    assert_eq!(jenkins(&w.fake).runs_of(&id), 1, "Jenkins did queue it");
    w.take();

    let again = w.deliver(&id).await;
    assert_eq!(again, BatchOutcome::default());
    assert_eq!(
        w.take(),
        lines(&["GET /queue/api/json", "GET /job/pull-widgets-unit/api/json"]),
        "looked, found, adopted: no POST"
    );
    let job = w.job(&id);
    assert_eq!(
        state(&job),
        (Some(ProwJobState::Pending), "Jenkins job enqueued.")
    );
    assert_eq!(jenkins(&w.fake).runs_of(&id), 1);
    assert_eq!(
        jenkins(&w.fake).params_of(&id)["BUILD_ID"],
        job.status.build_id,
        "filed under the build id the build carries"
    );

    // A third delivery (SQS at least once) of a pending job does nothing.
    assert_eq!(w.deliver(&id).await, BatchOutcome::default());
    assert!(w.take().is_empty());
}

/// Jenkins answers 503 (restarting): the start is retried, the pending job
/// waits; once Jenkins is back both carry on, with one build.
#[tokio::test]
async fn jenkins_503_is_retried_and_the_job_recovers() {
    let w = World::standard();
    jenkins(&w.fake).down = true;
    let id = "j503".to_string();
    w.store.put(jenkins_job(&id, JOB));
    assert_eq!(w.deliver(&id).await.retry, vec![format!("r-{id}")]);
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Triggered));

    jenkins(&w.fake).down = false;
    w.clock.advance(mins(1));
    assert_eq!(w.deliver(&id).await, BatchOutcome::default());
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
    assert_eq!(jenkins(&w.fake).runs_of(&id), 1);

    // Down again while it runs: the job waits on its record.
    jenkins(&w.fake).start(&id);
    jenkins(&w.fake).down = true;
    w.clock.advance(mins(5));
    let report = w.sync().await;
    assert!(report.failures >= 1);
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Pending), "Jenkins job enqueued.")
    );
    jenkins(&w.fake).down = false;
    jenkins(&w.fake).finish(&id, "SUCCESS", "");
    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Success));
}

/// A Jenkins that stays down past `pod_pending_timeout` ends the start with
/// a description that says so, not a job stuck in `triggered`.
#[tokio::test]
async fn a_jenkins_that_stays_down_ends_the_start_as_error() {
    let w = World::standard();
    jenkins(&w.fake).down = true;
    let id = "down".to_string();
    w.store.put(jenkins_job(&id, JOB));
    assert_eq!(w.deliver(&id).await.retry.len(), 1);
    w.clock.advance(mins(10));
    assert_eq!(w.deliver(&id).await, BatchOutcome::default());
    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert!(
        job.status
            .description
            .starts_with("Error starting Jenkins job: ")
            && job.status.description.contains("HTTP 503")
            && job.status.description.contains("still failing after 10m"),
        "{}",
        job.status.description
    );
}

/// A Jenkins nobody answers at (connection refused) is retried like a 503,
/// and ends the start as `error` after `pod_pending_timeout`, saying so.
#[tokio::test]
async fn a_jenkins_that_refuses_connections_is_retried_then_ends_the_job() {
    let mut w = World::standard();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    w.config.prow.skiff.jenkins[0].url = format!("http://{closed}");
    w.masters = skiff_jenkins::masters_from_files(&w.config).expect("the client");
    let id = "refused".to_string();
    w.store.put(jenkins_job(&id, JOB));
    assert_eq!(w.deliver(&id).await.retry.len(), 1);
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Triggered));
    w.clock.advance(mins(10));
    w.deliver(&id).await;
    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert!(
        job.status.description.contains("cannot connect"),
        "{}",
        job.status.description
    );
}

/// Wrong credentials: Jenkins answers 401, and the job ends as `error` at
/// once (no retry can help) with a description naming 401 and the
/// credentials. A token that goes bad while a build runs ends the job at
/// the next sync the same way.
#[tokio::test]
async fn wrong_credentials_end_the_job_as_error_naming_401() {
    let w = World::new(jenkins_setup(), "not-the-token", 0);
    let id = "creds".to_string();
    w.store.put(jenkins_job(&id, JOB));
    assert_eq!(w.deliver(&id).await, BatchOutcome::default(), "not retried");
    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    let d = &job.status.description;
    assert!(d.contains("401") && d.contains("credentials"), "{d}");
    assert!(
        !d.contains("not-the-token"),
        "the token is never shown: {d}"
    );
    assert_eq!(jenkins(&w.fake).runs_of(&id), 0);

    let ok = World::standard();
    let id = ok.start(jenkins_job("revoked", JOB)).await;
    jenkins(&ok.fake).auth = skiff_tests::jenkins::FakeAuth::Basic {
        user: USER.into(),
        token: "rotated".into(),
    };
    ok.sync().await;
    let job = ok.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    let d = &job.status.description;
    assert!(d.contains("401") && d.contains("credentials"), "{d}");
}

/// A job Jenkins does not have (404) ends the start as `error` naming it;
/// a build that vanishes from Jenkins is Prow's "Error finding Jenkins job."
#[tokio::test]
async fn a_missing_jenkins_job_or_a_vanished_build_is_an_error() {
    let w = World::standard();
    let id = "nojob".to_string();
    w.store.put(jenkins_job(&id, "not-on-jenkins"));
    assert_eq!(w.deliver(&id).await, BatchOutcome::default());
    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert!(
        job.status.description.contains("HTTP 404")
            && job
                .status
                .description
                .contains("job/not-on-jenkins/buildWithParameters"),
        "{}",
        job.status.description
    );

    let id = w.start(jenkins_job("gone", JOB)).await;
    jenkins(&w.fake).start(&id);
    w.sync().await;
    jenkins(&w.fake).jobs.retain(|j| j != JOB_PATH);
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Error), "Error finding Jenkins job.")
    );
}

/// Jenkins refuses an expired crumb (403 "No valid crumb"): the client asks
/// for a new one and sends the POST once more; the build is queued once.
#[tokio::test]
async fn an_expired_crumb_is_renewed_and_the_post_sent_once_more() {
    let mut setup = jenkins_setup();
    setup.csrf = true;
    let w = World::new(setup, TOKEN, 0);
    w.start(jenkins_job("a", "job-0")).await;
    jenkins(&w.fake).expire_crumb();
    w.take();
    let b = w.start(jenkins_job("b", "job-1")).await;
    assert_eq!(
        w.take(),
        lines(&[
            "POST /job/job-1/buildWithParameters",
            "GET /crumbIssuer/api/json",
            "POST /job/job-1/buildWithParameters",
        ])
    );
    assert_eq!(jenkins(&w.fake).crumbs_issued(), 2);
    assert_eq!(jenkins(&w.fake).runs_of(&b), 1);
    assert_eq!(w.job(&b).status.state, Some(ProwJobState::Pending));
}

/// The operator's `max_concurrency` counts its pending jobs: a second job
/// waits (no request to Jenkins) until the first finishes.
#[tokio::test]
async fn max_concurrency_holds_jobs_back_until_a_build_finishes() {
    let w = World::new(jenkins_setup(), TOKEN, 1);
    let a = w.start(jenkins_job("a", "job-0")).await;
    w.take();
    w.store.put(jenkins_job("b", "job-1"));
    let held = w.deliver("b").await;
    assert_eq!(held.retry_after.len(), 1, "waits for a slot: {held:?}");
    assert_eq!(w.job("b").status.state, Some(ProwJobState::Triggered));
    assert!(w.take().is_empty(), "Jenkins was not asked");

    jenkins(&w.fake).start(&a);
    jenkins(&w.fake).finish(&a, "SUCCESS", "");
    w.sync().await;
    assert_eq!(w.deliver("b").await, BatchOutcome::default());
    assert_eq!(w.job("b").status.state, Some(ProwJobState::Pending));
}

/// Job queues (`job_queue_name`, `plank.job_queue_capacities`) hold jenkins
/// jobs back as they hold pods.
#[tokio::test]
async fn job_queues_hold_jenkins_jobs_back_as_they_hold_pods() {
    let mut w = World::standard();
    w.config
        .prow
        .plank
        .job_queue_capacities
        .insert("jenkins-queue".into(), 1);
    let queued = |id: &str, job: &str| {
        let mut j = jenkins_job(id, job);
        j.spec.job_queue_name = "jenkins-queue".into();
        j
    };
    let a = w.start(queued("a", "job-0")).await;
    w.take();
    w.store.put(queued("b", "job-1"));
    assert_eq!(w.deliver("b").await.retry_after.len(), 1, "queue full");
    assert!(w.take().is_empty(), "Jenkins was not asked");
    jenkins(&w.fake).start(&a);
    jenkins(&w.fake).finish(&a, "FAILURE", "");
    w.sync().await;
    assert_eq!(w.deliver("b").await, BatchOutcome::default());
    assert_eq!(w.job("b").status.state, Some(ProwJobState::Pending));
}

/// A job name with `/` is a Jenkins folder (Prow's `getJobName`).
#[tokio::test]
async fn a_job_in_a_folder_is_built_at_its_folder_path() {
    let mut setup = jenkins_setup();
    setup.jobs.push("job/team/job/unit".into());
    let w = World::new(setup, TOKEN, 0);
    w.start(jenkins_job("f", "team/unit")).await;
    assert_eq!(
        w.take(),
        lines(&[
            "GET /crumbIssuer/api/json",
            "POST /job/team/job/unit/buildWithParameters",
        ]),
        "asked once whether Jenkins wants a crumb (404: no), then the build"
    );
}

/// The operator's `job_url_template` sets the link once the build has a
/// number (Prow's operator); until then the job links to its deck page.
#[tokio::test]
async fn job_url_template_links_the_job_to_its_build() {
    let mut w = World::standard();
    w.config.prow.jenkins_operators[0].job_url_template =
        "https://jenkins.example.com/job/{{.Spec.Job}}/{{.Status.JenkinsBuildID}}/".into();
    let id = w.start(jenkins_job("u", JOB)).await;
    let queued = w.job(&id).status.url;
    assert!(queued.starts_with("https://ci.example.com/"), "{queued}");
    jenkins(&w.fake).start(&id);
    w.sync().await;
    let want = "https://jenkins.example.com/job/pull-widgets-unit/1/";
    assert_eq!(w.job(&id).status.url, want);
    assert_eq!(
        w.sync().await.writes,
        0,
        "the same link is not written again"
    );
    jenkins(&w.fake).finish(&id, "SUCCESS", "");
    w.sync().await;
    let done = w.job(&id);
    assert_eq!(done.status.state, Some(ProwJobState::Success));
    assert_eq!(done.status.url, want);
}
