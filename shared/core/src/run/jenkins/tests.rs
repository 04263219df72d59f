use super::*;

use crate::config::prow::Plank;
use crate::duration::GoDuration;
use crate::prowjob::{JenkinsSpec, ProwJobType, Pull, Refs};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_795_428_000 + secs).unwrap()
}

fn job() -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = "pj-1".into();
    j.spec.job = "unit".into();
    j.spec.agent = JENKINS_AGENT.into();
    j.spec.r#type = Some(ProwJobType::Periodic);
    j.status.state = Some(ProwJobState::Pending);
    j.status.start_time = Some(at(0));
    j.status.pending_time = Some(at(0));
    j.status.build_id = "100".into();
    j.status.description = ENQUEUED.into();
    j
}

fn build(status: JenkinsStatus) -> JenkinsBuild {
    let number = match status {
        JenkinsStatus::Queued { .. } => None,
        _ => Some(7),
    };
    JenkinsBuild {
        prow_job_id: "pj-1".into(),
        build_id: "100".into(),
        number,
        status,
        started: number.map(|_| at(0)),
    }
}

fn queued() -> JenkinsStatus {
    JenkinsStatus::Queued {
        item: 12,
        why: "Waiting for next available executor".into(),
    }
}

fn finished(result: &str) -> JenkinsStatus {
    JenkinsStatus::Finished {
        result: result.into(),
    }
}

fn finish(state: ProwJobState, description: &str, stop: Stop) -> Action {
    Action::Finish {
        state,
        description: description.into(),
        stop,
    }
}

/// Prow's result mapping (`IsSuccess`, `IsFailure`, `IsAborted`), the
/// missing build (`Error finding Jenkins job.`) and plank's timeouts.
#[test]
fn jenkins_results_map_to_job_states_as_prow_maps_them() {
    use ProwJobState::*;
    let plank = Plank::default();
    enum Obs {
        Found(JenkinsBuild),
        Missing,
        Unknown,
    }
    let cases: Vec<(&str, Obs, i64, Action)> = vec![
        (
            "queued, young",
            Obs::Found(build(queued())),
            599,
            Action::Wait,
        ),
        (
            "queued for 10m",
            Obs::Found(build(queued())),
            600,
            finish(
                Error,
                "Jenkins build never left the queue within 10m0s: Waiting for next available executor",
                Stop::QueueItem(12),
            ),
        ),
        (
            "success",
            Obs::Found(build(finished("SUCCESS"))),
            60,
            finish(Success, SUCCEEDED, Stop::Nothing),
        ),
        (
            "failure",
            Obs::Found(build(finished("FAILURE"))),
            60,
            finish(Failure, FAILED, Stop::Nothing),
        ),
        (
            "unstable is a failure",
            Obs::Found(build(finished("UNSTABLE"))),
            60,
            finish(Failure, FAILED, Stop::Nothing),
        ),
        (
            "aborted",
            Obs::Found(build(finished("ABORTED"))),
            60,
            finish(Aborted, ABORTED, Stop::Nothing),
        ),
        (
            "not built is an error",
            Obs::Found(build(finished("NOT_BUILT"))),
            60,
            finish(Error, "Jenkins job ended as NOT_BUILT.", Stop::Nothing),
        ),
        (
            "running for 48h",
            Obs::Found(build(JenkinsStatus::Running)),
            48 * 3600,
            finish(Aborted, RUNNING_TIMEOUT, Stop::Build(7)),
        ),
        (
            "vanished",
            Obs::Missing,
            60,
            finish(Error, MISSING, Stop::Nothing),
        ),
        ("unreachable, young", Obs::Unknown, 599, Action::Wait),
        (
            "unreachable while queued for 10m",
            Obs::Unknown,
            600,
            finish(
                Error,
                "Jenkins build never seen leaving the queue within 10m0s (Jenkins unreachable)",
                Stop::Nothing,
            ),
        ),
    ];
    for (name, obs, secs, want) in cases {
        let observed = match &obs {
            Obs::Found(b) => Observed::Found(b),
            Obs::Missing => Observed::Missing,
            Obs::Unknown => Observed::Unknown,
        };
        assert_eq!(
            decide(&job(), observed, &plank, "", at(secs)),
            want,
            "{name}"
        );
    }
}

#[test]
fn a_running_build_is_recorded_once_with_its_number() {
    let plank = Plank::default();
    let running = build(JenkinsStatus::Running);
    let Action::Update(next) = decide(&job(), Observed::Found(&running), &plank, "", at(5)) else {
        panic!("a running build updates the record");
    };
    assert_eq!(next.status.description, RUNNING);
    assert_eq!(next.status.jenkins_build_id, "7");
    assert_eq!(next.status.state, Some(ProwJobState::Pending));
    // Once written, the same observation changes nothing.
    assert_eq!(
        decide(&next, Observed::Found(&running), &plank, "", at(6)),
        Action::Wait
    );
    // Unreachable after it was seen running: the running limit counts.
    assert_eq!(
        decide(&next, Observed::Unknown, &plank, "", at(48 * 3600)),
        finish(ProwJobState::Aborted, RUNNING_TIMEOUT, Stop::Nothing)
    );
    let short = Plank {
        pod_running_timeout: Some(GoDuration::from_mins(30)),
        ..Plank::default()
    };
    assert_eq!(
        decide(&next, Observed::Found(&running), &short, "", at(1800)),
        finish(ProwJobState::Aborted, RUNNING_TIMEOUT, Stop::Build(7))
    );
}

#[test]
fn an_adopted_build_files_the_job_under_its_own_build_id() {
    let mut running = build(JenkinsStatus::Running);
    running.build_id = "200".into();
    let next = following(&job(), &running, "https://deck.example", RUNNING);
    assert_eq!(next.status.build_id, "200");
    assert_eq!(
        next.status.url, "https://deck.example/view/logs/unit/200",
        "the link names the build the logs are filed under"
    );
}

/// Prow's `getJobName` (`TestGetJobName`), as escaped URL paths.
#[test]
fn job_paths_follow_prows_get_job_name() {
    let spec = |job: &str, branch_source: bool, pulls: Vec<i64>, base: &str| ProwJobSpec {
        job: job.into(),
        jenkins_spec: branch_source.then_some(JenkinsSpec {
            github_branch_source_job: true,
        }),
        refs: Some(Refs {
            base_ref: base.into(),
            pulls: pulls
                .into_iter()
                .map(|number| Pull {
                    number,
                    ..Pull::default()
                })
                .collect(),
            ..Refs::default()
        }),
        ..ProwJobSpec::default()
    };
    let cases = [
        ("plain", spec("unit", false, vec![], "main"), "job/unit"),
        (
            "folders",
            spec("team/unit", false, vec![], ""),
            "job/team/job/unit",
        ),
        (
            "outer slashes",
            spec("/a/b/", false, vec![], ""),
            "job/a/job/b",
        ),
        (
            "branch source, presubmit",
            spec("mb", true, vec![42], "main"),
            "job/mb/view/change-requests/job/PR-42",
        ),
        (
            "branch source, postsubmit",
            spec("mb", true, vec![], "main"),
            "job/mb/job/main",
        ),
        (
            "branch source, a branch with a slash is one segment",
            spec("mb", true, vec![], "release/1.0"),
            "job/mb/job/release%2F1.0",
        ),
        (
            "a space is escaped",
            spec("my job", false, vec![], ""),
            "job/my%20job",
        ),
    ];
    for (name, spec, want) in cases {
        assert_eq!(job_path(&spec), want, "{name}");
    }
}

#[test]
fn parameters_are_prows_environment_with_the_job_and_build_ids() {
    let mut j = job();
    j.spec.r#type = Some(ProwJobType::Presubmit);
    j.spec.refs = Some(Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        base_ref: "main".into(),
        base_sha: "abc".into(),
        pulls: vec![Pull {
            number: 3,
            sha: "def".into(),
            ..Pull::default()
        }],
        ..Refs::default()
    });
    let params: BTreeMap<String, String> =
        build_parameters(&j, "555").unwrap().into_iter().collect();
    assert_eq!(params["PROW_JOB_ID"], "pj-1");
    assert_eq!(params["BUILD_ID"], "555");
    assert_eq!(params["PULL_NUMBER"], "3");
    assert_eq!(params["REPO_OWNER"], "acme");
    assert!(params["JOB_SPEC"].contains(r#""prowjobid":"pj-1""#));
    assert!(
        !params.contains_key("BUILD_NUMBER"),
        "kubernetes agent only"
    );
}

#[test]
fn the_only_operator_runs_every_jenkins_job_and_several_select_by_label() {
    let op = |sel: &str| JenkinsOperator {
        label_selector: sel.into(),
        ..JenkinsOperator::default()
    };
    let labels = BTreeMap::from([("master".to_string(), "b".to_string())]);
    let one = [op("")];
    assert_eq!(operator_for(&one, &labels), Some(&one[0]));
    let two = [op("master=a"), op("master=b")];
    assert_eq!(operator_for(&two, &labels), Some(&two[1]));
    assert_eq!(operator_for(&two, &BTreeMap::new()), None);
    assert_eq!(operator_for(&[], &labels), None);
}

#[test]
fn a_start_ends_the_job_when_retrying_cannot_help_or_jenkins_stays_down() {
    let plank = Plank::default();
    let mut j = job();
    j.status.state = Some(ProwJobState::Triggered);
    let refused = PortError::Rejected("HTTP 401 Unauthorized: check the credentials".into());
    assert_eq!(
        start_failure(&j, &refused, &plank, at(1)).as_deref(),
        Some("Error starting Jenkins job: rejected: HTTP 401 Unauthorized: check the credentials")
    );
    let down = PortError::Unavailable("connection refused".into());
    assert_eq!(start_failure(&j, &down, &plank, at(599)), None);
    assert_eq!(
        start_failure(&j, &down, &plank, at(600)).as_deref(),
        Some(
            "Error starting Jenkins job: unavailable: connection refused (still failing after 10m0s)"
        )
    );
}

#[test]
fn a_build_outranks_its_queue_item() {
    let q = build(queued());
    let b = build(JenkinsStatus::Running);
    let (qs, bs) = (std::slice::from_ref(&q), std::slice::from_ref(&b));
    assert_eq!(find("pj-1", qs, bs), Some(&b));
    assert_eq!(find("pj-1", qs, &[]), Some(&q));
    assert_eq!(find("other", &[q], &[b]), None);
}
