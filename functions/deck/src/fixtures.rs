//! Sample job records and logs with the shapes Skiff's trigger, scheduler
//! and syncer write, for the deck's tests, its benchmark and the browser
//! test: deterministic, so a test can compute what a page must show.
//!
//! Job `i` (0 is the newest) started `i` minutes before `now`. Seven in ten
//! are presubmits of one of four repos (pull requests with two commits
//! each), two in ten postsubmits, one in ten periodics. States: the three
//! newest are `pending`; after that every fifth is `failure`, every 17th
//! `error`, every 23rd `aborted`, the rest `success`.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1 as core;
use skiff_core::prowjob::artifacts;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Pull, Refs};

pub const REPOS: [(&str, &str); 4] = [
    ("acme", "widgets"),
    ("acme", "gadgets"),
    ("acme", "infra"),
    ("globex", "api"),
];
const AUTHORS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const SUITES: [&str; 3] = ["unit", "lint", "e2e"];

pub fn state_of(i: usize) -> ProwJobState {
    if i < 3 {
        ProwJobState::Pending
    } else if i.is_multiple_of(5) {
        ProwJobState::Failure
    } else if i.is_multiple_of(17) {
        ProwJobState::Error
    } else if i.is_multiple_of(23) {
        ProwJobState::Aborted
    } else {
        ProwJobState::Success
    }
}

pub fn type_of(i: usize) -> ProwJobType {
    match i % 10 {
        0..=6 => ProwJobType::Presubmit,
        7 | 8 => ProwJobType::Postsubmit,
        _ => ProwJobType::Periodic,
    }
}

/// `(org, repo)` of job `i`, `None` for periodics.
pub fn repo_of(i: usize) -> Option<(&'static str, &'static str)> {
    (type_of(i) != ProwJobType::Periodic).then(|| REPOS[i % REPOS.len()])
}

/// The pull request of presubmit `i`.
pub fn pull_of(i: usize) -> i64 {
    100 + ((i / 40) % 25) as i64
}

/// The head commit of presubmit `i`: each pull has two, the newer for the
/// newer half of its runs.
pub fn sha_of(i: usize) -> String {
    let pull = pull_of(i) as u64;
    let push = ((i / 20) % 2) as u64;
    fake_sha(pull * 2 + push)
}

/// 40 hex digits that look like a commit id, the same for the same seed.
fn fake_sha(seed: u64) -> String {
    // splitmix64
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(seed);
    let b = mix(a);
    let c = mix(b);
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

pub fn id_of(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

pub fn name_of(i: usize) -> String {
    match (type_of(i), repo_of(i)) {
        (ProwJobType::Presubmit, Some((_, repo))) => format!("pull-{repo}-{}", SUITES[i % 3]),
        (ProwJobType::Postsubmit, Some((_, repo))) => format!("post-{repo}-publish"),
        _ => format!("ci-nightly-{}", i % 3),
    }
}

/// `n` job records, newest first.
pub fn jobs(n: usize, now: Timestamp) -> Vec<ProwJob> {
    (0..n).map(|i| job(i, n, now)).collect()
}

pub fn job(i: usize, n: usize, now: Timestamp) -> ProwJob {
    let t = type_of(i);
    let state = state_of(i);
    let start = now - SignedDuration::from_secs(60 * i as i64 + 5);
    let mut j = ProwJob::default();
    j.metadata.name = id_of(i);
    j.metadata.namespace = "default".into();
    j.spec.r#type = Some(t);
    j.spec.agent = "kubernetes".into();
    j.spec.cluster = if i.is_multiple_of(7) {
        "gpu".into()
    } else {
        String::new()
    };
    j.spec.namespace = "test-pods".into();
    j.spec.job = name_of(i);
    j.spec.report = true;
    j.spec.pod_spec = Some(core::PodSpec {
        containers: vec![core::Container {
            name: "test".into(),
            image: Some("golang:1.25".into()),
            command: Some(vec!["make".into()]),
            args: Some(vec![SUITES[i % 3].into()]),
            ..core::Container::default()
        }],
        ..core::PodSpec::default()
    });
    if let Some((org, repo)) = repo_of(i) {
        let link = format!("https://github.com/{org}/{repo}");
        let base_sha = fake_sha(1_000_000 + (i / 100) as u64);
        let mut refs = Refs {
            org: org.into(),
            repo: repo.into(),
            repo_link: link.clone(),
            base_ref: "main".into(),
            base_sha: base_sha.clone(),
            base_link: format!("{link}/commit/{base_sha}"),
            ..Refs::default()
        };
        if t == ProwJobType::Presubmit {
            let number = pull_of(i);
            let sha = sha_of(i);
            let author = AUTHORS[(number as usize) % AUTHORS.len()];
            refs.pulls.push(Pull {
                number,
                author: author.into(),
                sha: sha.clone(),
                title: format!("Improve the {repo} (change {number})"),
                head_ref: format!("change-{number}"),
                link: format!("{link}/pull/{number}"),
                commit_link: format!("{link}/pull/{number}/commits/{sha}"),
                author_link: format!("https://github.com/{author}"),
                ..Pull::default()
            });
            j.spec.context = j.spec.job.clone();
            j.spec.rerun_command = format!("/test {}", j.spec.job);
        }
        j.spec.refs = Some(refs);
    }
    j.status.start_time = Some(start);
    j.status.pending_time = Some(start + SignedDuration::from_secs(2));
    j.status.state = Some(state);
    j.status.build_id = (1_800_000_000_000_000_000u64 + (n - i) as u64).to_string();
    j.status.pod_name = j.metadata.name.clone();
    if state != ProwJobState::Pending {
        j.status.completion_time = Some(start + SignedDuration::from_secs(30 + (i % 300) as i64));
    }
    j.status.description = match state {
        ProwJobState::Pending => "Job triggered.",
        ProwJobState::Success => "Job succeeded.",
        ProwJobState::Failure => "Job failed.",
        ProwJobState::Error => "Pod pending timeout.",
        ProwJobState::Aborted => "Aborted by trigger plugin.",
        _ => "",
    }
    .into();
    j
}

/// The build log of job `i`: a failed run says why, on an `ERROR:` line and
/// Go's `--- FAIL:` line among ordinary ones.
pub fn log_of(i: usize) -> String {
    let mut log = String::new();
    for n in 1..=40 {
        log.push_str(&format!("step {n}: building package {n} of job {i}\n"));
    }
    if state_of(i) == ProwJobState::Failure {
        log.push_str("--- FAIL: TestWidgets (0.12s)\n");
        log.push_str(&format!(
            "ERROR: widgets_test.go:42: want 3 widgets, got {i}\n"
        ));
    }
    log.push_str("done\n");
    log
}

/// `(artifact path, file name, bytes)` of everything the syncer stores for
/// complete job `j` of index `i`: build log, `started.json`, `finished.json`.
pub fn artifacts_of(i: usize, j: &ProwJob) -> Vec<(String, &'static str, Vec<u8>)> {
    let Ok(path) = artifacts::artifact_path(j) else {
        return Vec::new();
    };
    let mut out = vec![(
        path.clone(),
        artifacts::STARTED_JSON,
        artifacts::started(j).to_json(),
    )];
    if let Some(f) = artifacts::finished(j) {
        out.push((path.clone(), artifacts::FINISHED_JSON, f.to_json()));
        out.push((path, artifacts::BUILD_LOG, log_of(i).into_bytes()));
    }
    out
}

/// A JUnit file in go-junit-report's shape: `cases` test cases of one
/// package, of which the first `failed` fail (with a message, the
/// assertion's text and captured output) and the last one is skipped.
pub fn junit_report(cases: usize, failed: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n\t<testsuite name=\"github.com/acme/widgets\">\n",
    );
    for n in 0..cases {
        let name = format!("TestWidget{n:05}");
        if n < failed {
            xml.push_str(&format!(
                "\t\t<testcase name=\"{name}\" classname=\"github.com/acme/widgets\" time=\"0.120\">\n\
                 \t\t\t<failure message=\"Failed\"><![CDATA[    widgets_test.go:42: want 3 widgets, got {n}]]></failure>\n\
                 \t\t\t<system-out><![CDATA[=== RUN   {name}\ncounting widgets\n--- FAIL: {name} (0.12s)]]></system-out>\n\
                 \t\t</testcase>\n"
            ));
        } else if n + 1 == cases {
            xml.push_str(&format!(
                "\t\t<testcase name=\"{name}\" classname=\"github.com/acme/widgets\" time=\"0.000\">\n\
                 \t\t\t<skipped message=\"needs a GPU\"></skipped>\n\t\t</testcase>\n"
            ));
        } else {
            xml.push_str(&format!(
                "\t\t<testcase name=\"{name}\" classname=\"github.com/acme/widgets\" time=\"0.001\"></testcase>\n"
            ));
        }
    }
    xml.push_str("\t</testsuite>\n</testsuites>\n");
    xml
}

/// What a decorated job's pod utilities upload besides the log and
/// metadata (`clone-log.txt`, `clone-records.json`, `prowjob.json`,
/// `artifacts/**`), for failed job `i`: a JUnit file whose failed case says
/// the same as the log, and a few other artifacts. Nothing for other jobs.
pub fn decorated_artifacts_of(i: usize, j: &ProwJob) -> Vec<(String, String, Vec<u8>)> {
    let Ok(path) = artifacts::artifact_path(j) else {
        return Vec::new();
    };
    if state_of(i) != ProwJobState::Failure {
        return Vec::new();
    }
    let mut junit = junit_report(4, 0);
    junit = junit.replace(
        "<testcase name=\"TestWidget00001\" classname=\"github.com/acme/widgets\" time=\"0.001\"></testcase>",
        &format!(
            "<testcase name=\"TestWidgets\" classname=\"github.com/acme/widgets\" time=\"0.120\">\
             <failure message=\"widgets_test.go:42: want 3 widgets, got {i}\"><![CDATA[    widgets_test.go:42: want 3 widgets, got {i}\n    widgets_test.go:43: the widget count is off]]></failure>\
             <system-out><![CDATA[=== RUN   TestWidgets\ncounting widgets\n]]></system-out></testcase>"
        ),
    );
    let sha = j
        .spec
        .refs
        .as_ref()
        .and_then(|r| r.pulls.first())
        .map(|p| p.sha.clone())
        .unwrap_or_default();
    let clone_log = format!(
        "# Cloning acme/widgets at main\n$ mkdir -p /home/prow/go/src/github.com/acme/widgets\n$ git fetch https://github.com/acme/widgets.git main\n$ git checkout {sha}\n"
    );
    let records = serde_json::json!([{
        "refs": j.spec.refs,
        "commands": [{"command": "git fetch https://github.com/acme/widgets.git main", "output": ""}],
        "final_sha": sha,
    }]);
    vec![
        (path.clone(), "clone-log.txt".into(), clone_log.into_bytes()),
        (
            path.clone(),
            "clone-records.json".into(),
            records.to_string().into_bytes(),
        ),
        (
            path.clone(),
            "prowjob.json".into(),
            serde_json::to_vec(j).unwrap_or_default(),
        ),
        (
            path.clone(),
            "artifacts/junit.xml".into(),
            junit.into_bytes(),
        ),
        (
            path.clone(),
            "artifacts/e2e/junit_e2e.xml".into(),
            junit_report(3, 0).into_bytes(),
        ),
        (
            path,
            "artifacts/widgets.log".into(),
            format!("widget count for job {i}: {i}\n").into_bytes(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_newest_first_with_unique_ids_and_builds() {
        let now: Timestamp = "2026-12-04T12:00:00Z".parse().unwrap();
        let js = jobs(500, now);
        assert!(
            js.windows(2)
                .all(|w| w[0].status.start_time > w[1].status.start_time)
        );
        let ids: std::collections::BTreeSet<_> = js.iter().map(|j| &j.metadata.name).collect();
        let builds: std::collections::BTreeSet<_> = js.iter().map(|j| &j.status.build_id).collect();
        assert_eq!((ids.len(), builds.len()), (500, 500));
        assert_eq!(js[0].status.state, Some(ProwJobState::Pending));
        assert!(
            artifacts_of(5, &js[5])
                .iter()
                .any(|(_, n, b)| *n == artifacts::BUILD_LOG
                    && String::from_utf8_lossy(b).contains("ERROR:"))
        );
    }
}
