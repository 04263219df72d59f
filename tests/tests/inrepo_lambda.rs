//! In-repo job config on the Lambda binaries: the real function binaries
//! run as Lambda runs them, on the stack `template.yaml` declares, deployed
//! into moto (so the files read are kept in the DynamoDB jobs table, with
//! its TTL). GitHub's API and the Kubernetes API server are HTTP-level
//! fakes, because neither can run here; the webhook payload is GitHub's own
//! example (`@octokit/webhooks-examples`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use skiff_core::config::inrepo::SOURCE_ANNOTATION;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example, lock};

const REPO: &str = "Codertocat/Hello-World";

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo unit ok"]}]}
"#;

const PROW_YAML: &str = r#"presubmits:
- name: in-repo-lint
  always_run: true
  spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo lint ok"]}]}
"#;

/// GitHub reads of the in-repo config (trees and contents).
fn config_reads(gh: &GitHub) -> usize {
    gh.seen
        .iter()
        .filter(|s| {
            s.method == "GET" && (s.path.contains("/git/trees/") || s.path.contains("/contents/"))
        })
        .count()
}

async fn run_to_completion(d: &Deployment) -> Vec<ProwJob> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        d.settle().await;
        let jobs = d.jobs().await;
        if !jobs.is_empty() && jobs.iter().all(|j| j.status.completion_time.is_some()) {
            return jobs;
        }
        assert!(
            Instant::now() < until,
            "jobs did not complete: {:?}\n--- trigger log ---\n{}",
            jobs.iter()
                .map(|j| (&j.spec.job, j.status.state))
                .collect::<Vec<_>>(),
            d.logs("trigger"),
        );
        // The fake kubelet ends pods on its own clock; the syncer is
        // polled as its schedule would.
        d.sync().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_adding_a_job_in_prow_yaml_runs_it_on_the_lambda_binaries() {
    let body = example("pull_request", Some("opened"));
    let pr = body["pull_request"].clone();
    let head = pr["head"]["sha"].as_str().expect("head SHA").to_string();
    let mut gh = GitHub {
        members: vec!["Codertocat".into()],
        files: vec![".prow.yaml".into()],
        ..GitHub::default()
    };
    gh.pulls.insert(format!("{REPO}#{}", pr["number"]), pr);
    gh.repo_files.insert(
        format!("{REPO}@{head}"),
        BTreeMap::from([(".prow.yaml".to_string(), PROW_YAML.to_string())]),
    );
    let d = Deployment::new("inrepo", JOBS, gh).await;
    // The harness's config, with in-repo config on for the repository.
    let config = format!(
        "skiff:\n  clusters:\n    default: {{kubeconfig: {{path: {path}, context: build}}}}\n  deck_url: https://deck.example.com\nin_repo_config:\n  enabled:\n    {REPO}: true\n",
        path = d.dir.path().join("kubeconfig").display()
    );
    d.push_config(&config, JOBS).await;

    assert_eq!(
        d.deliver("pull_request", "inrepo-1", &body.to_string())
            .await,
        (200, "queued".to_string())
    );
    let jobs = run_to_completion(&d).await;
    let mut names: Vec<&str> = jobs.iter().map(|j| j.spec.job.as_str()).collect();
    names.sort();
    assert_eq!(names, ["in-repo-lint", "unit"], "{}", d.logs("trigger"));
    let lint = jobs
        .iter()
        .find(|j| j.spec.job == "in-repo-lint")
        .expect("in-repo-lint");
    assert_eq!(lint.status.state, Some(ProwJobState::Success));
    assert_eq!(
        lint.metadata.annotations.get(SOURCE_ANNOTATION),
        Some(&format!(".prow.yaml@{head}"))
    );
    let first = config_reads(&lock(&d.github));
    lock(&d.github).seen.clear();

    // Another event of the same head: the files come from DynamoDB.
    let comment = {
        let mut c = example("issue_comment", Some("created"));
        c["issue"]["number"] = body["number"].clone();
        c["issue"]["state"] = "open".into();
        c["issue"]["pull_request"] = serde_json::json!({"url": "x"});
        c["comment"]["body"] = "/test in-repo-lint".into();
        c["comment"]["user"]["login"] = "Codertocat".into();
        c["sender"]["login"] = "Codertocat".into();
        c["repository"] = body["repository"].clone();
        c
    };
    assert_eq!(
        d.deliver("issue_comment", "inrepo-2", &comment.to_string())
            .await
            .0,
        200
    );
    let jobs = run_to_completion(&d).await;
    let second = config_reads(&lock(&d.github));
    println!(
        "Lambda binaries: GitHub reads of the in-repo config, first event of a head {first}, second {second}"
    );
    assert_eq!(first, 2, "one tree listing and one contents read");
    assert_eq!(second, 0, "the second event reads the job store");
    assert_eq!(
        jobs.iter().filter(|j| j.spec.job == "in-repo-lint").count(),
        2,
        "/test reran the in-repo job: {}",
        d.logs("trigger")
    );
}
