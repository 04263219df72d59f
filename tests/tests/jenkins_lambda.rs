//! Jobs of agent `jenkins` on AWS, end to end: the real dispatcher and
//! syncer binaries, run as Lambda runs them on the stack `template.yaml`
//! declares (in moto), read the Jenkins API token from Secrets Manager
//! (`skiff.jenkins[].token_secret_arn`), queue the build on Jenkins, follow
//! it, and copy its console log to S3 in Prow's layout; the reporter sets
//! GitHub's status. Jenkins and GitHub's API are HTTP-level fakes
//! (`skiff_tests::jenkins`, `skiff_tests::github`): neither can run here.
//! The webhook payload is GitHub's own example.

use std::time::{Duration, Instant};

use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example, lock};
use skiff_tests::jenkins::{FakeJenkins, JenkinsShared, fake_jenkins, lock as jenkins};

const REPO: &str = "Codertocat/Hello-World";
const TOKEN: &str = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7";

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: jenkins-unit
    agent: jenkins
    always_run: true
"#;

fn github() -> GitHub {
    let pr = example("pull_request", Some("opened"))["pull_request"].clone();
    let mut gh = GitHub {
        members: vec!["Codertocat".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    gh.pulls.insert(format!("{REPO}#{}", pr["number"]), pr);
    gh
}

/// A deployment whose one jenkins operator's Jenkins is the fake, signed in
/// to as `prow` with `secret` (kept in Secrets Manager, newline-ended as
/// `aws secretsmanager create-secret --secret-string "$(cat file)"` keeps
/// it when the file has one).
async fn deployment(hint: &str, secret: &str) -> (Deployment, JenkinsShared) {
    let mut setup = FakeJenkins::with_jobs(&["job/jenkins-unit"], "prow", TOKEN);
    setup.csrf = true;
    let (fake, url) = fake_jenkins(setup);
    // The stack's own config has no Jenkins; ours replaces it before any
    // function loads one.
    let d = Deployment::new(hint, "periodics: []\n", github()).await;
    let arn = aws_sdk_secretsmanager::Client::new(&d.sdk)
        .create_secret()
        .name(format!("{hint}-{}-jenkins-token", std::process::id()))
        .secret_string(format!("{secret}\n"))
        .send()
        .await
        .expect("CreateSecret jenkins token")
        .arn()
        .unwrap_or_default()
        .to_string();
    let config = format!(
        "jenkins_operators:\n- max_concurrency: 10\nskiff:\n  deck_url: https://deck.example.com\n  jenkins:\n  - url: {url}\n    user: prow\n    token_secret_arn: {arn}\n"
    );
    d.push_config(&config, JOBS).await;
    (d, fake)
}

async fn the_job(d: &Deployment) -> ProwJob {
    let jobs = d.jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.into_iter().next().unwrap_or_default()
}

/// Runs the syncer until the job is complete (the fake Jenkins has moved).
async fn sync_until_complete(d: &Deployment) -> ProwJob {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        d.sync().await;
        d.settle().await;
        let job = the_job(d).await;
        if job.is_complete() {
            return job;
        }
        assert!(
            Instant::now() < until,
            "the job did not complete: {:?}\n--- syncer log ---\n{}",
            job.status,
            d.logs("syncer")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambdas_run_a_jenkins_job_with_the_token_from_secrets_manager() {
    let (d, fake) = deployment("jenkins", TOKEN).await;
    let body = example("pull_request", Some("opened"));
    let sha = body["pull_request"]["head"]["sha"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        d.deliver("pull_request", "j-1", &body.to_string()).await.0,
        200
    );
    d.settle().await;

    let job = the_job(&d).await;
    assert_eq!(
        (job.status.state, job.status.description.as_str()),
        (Some(ProwJobState::Pending), "Jenkins job enqueued."),
        "{}",
        d.logs("dispatcher")
    );
    let id = job.metadata.name.clone();
    {
        let j = jenkins(&fake);
        assert_eq!(j.runs_of(&id), 1);
        let params = j.params_of(&id);
        assert_eq!(params["BUILD_ID"], job.status.build_id);
        assert_eq!(params["PULL_PULL_SHA"], sha);
        assert_eq!(params["REPO_OWNER"], "Codertocat");
    }

    jenkins(&fake).start(&id);
    let running = d.sync().await;
    assert!(running["jenkins_calls"].as_u64() >= Some(2), "{running}");
    assert_eq!(the_job(&d).await.status.jenkins_build_id, "1");
    jenkins(&fake).finish(&id, "SUCCESS", "hello from jenkins\n");
    let done = sync_until_complete(&d).await;
    assert_eq!(
        (done.status.state, done.status.description.as_str()),
        (Some(ProwJobState::Success), "Jenkins job succeeded.")
    );

    // The console log in S3, in Prow's layout.
    let s3 = skiff_aws::client::s3(&d.sdk);
    let path = skiff_core::prowjob::artifacts::artifact_path(&done).expect("artifact path");
    let object = s3
        .get_object()
        .bucket(d.stack.resource("ArtifactsBucket"))
        .key(format!("{path}/build-log.txt"))
        .send()
        .await
        .expect("build-log.txt in S3");
    let log = object.body.collect().await.expect("the log").into_bytes();
    let log = String::from_utf8_lossy(&log);
    assert!(
        log.contains("hello from jenkins") && log.contains("Finished: SUCCESS"),
        "{log}"
    );

    // GitHub: pending, then success, on the head SHA.
    let gh = lock(&d.github);
    let states: Vec<String> = gh
        .statuses()
        .into_iter()
        .filter(|(s, c, _)| *s == sha && c == "jenkins-unit")
        .map(|(_, _, st)| st)
        .collect();
    assert_eq!(
        states.last().map(String::as_str),
        Some("success"),
        "{states:?}"
    );

    let j = jenkins(&fake);
    assert_eq!(j.accepted_builds().len(), 1, "{:?}", j.lines());
    println!("Jenkins calls, Lambda lifecycle: {:?}", j.lines());
}

/// A token Jenkins refuses ends the job as `error` on the dispatcher's first
/// run, with a description that says 401 and credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_in_secrets_manager_ends_the_job_as_error_at_once() {
    let (d, fake) = deployment("jenkins-401", "wrong-token").await;
    let body = example("pull_request", Some("opened")).to_string();
    assert_eq!(d.deliver("pull_request", "j-2", &body).await.0, 200);
    d.settle().await;
    let job = the_job(&d).await;
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    let description = &job.status.description;
    assert!(
        description.contains("401") && description.contains("credentials"),
        "{description}"
    );
    assert!(!description.contains("wrong-token"), "{description}");
    assert_eq!(jenkins(&fake).runs_of(&job.metadata.name), 0);
}
