//! `skiff cost` prices the AWS calls a job makes; this test counts those
//! calls on moto (the real function binaries on the stack template.yaml
//! declares, through a counting proxy, as tests/tests/aws_e2e.rs runs them)
//! and fails when they differ from the table `skiff cost --json` prices, so
//! the model cannot drift from the code. GitHub's API and the Kubernetes API
//! server are HTTP-level fakes (neither can run here); the webhook payload
//! is GitHub's own example.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example};
use skiff_tests::moto::Counts;

/// Two jobs run on the example PR (README.md changed): `docs` does not.
const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo unit ok"]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo lint broke; exit 1"]}]}
  - name: docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

fn github() -> GitHub {
    let pr = example("pull_request", Some("opened"))["pull_request"].clone();
    let mut gh = GitHub {
        members: vec!["Codertocat".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    gh.pulls
        .insert(format!("Codertocat/Hello-World#{}", pr["number"]), pr);
    gh
}

/// The counts `skiff cost` prices, by table name.
fn model() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["cost", "--jobs-per-day", "10000", "--json"])
        .output()
        .expect("run skiff cost");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("skiff cost --json prints JSON")
}

fn table(model: &Value, name: &str) -> Counts {
    model[name]
        .as_object()
        .unwrap_or_else(|| panic!("no {name} in {model}"))
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), usize::try_from(v.as_u64()?).ok()?)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// `counts` less `times` × `less`, dropping what reaches zero.
fn minus(mut counts: Counts, less: &Counts, times: usize) -> Counts {
    for (k, n) in less {
        if let Some(c) = counts.get_mut(k) {
            *c = c.saturating_sub(n * times);
        }
    }
    counts.retain(|_, n| *n > 0);
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_model_prices_the_aws_calls_a_job_makes_on_moto() {
    let model = model();
    let d = Deployment::new("cost", JOBS, github()).await;
    let body = example("pull_request", Some("opened")).to_string();

    d.proxy.take();
    assert_eq!(d.deliver("pull_request", "cost-1", &body).await.0, 200);
    // The webhook secret is read once per container, not per delivery.
    let mut delivery = d.proxy.take();
    delivery.retain(|k, _| !k.starts_with("SecretsManager."));

    // The job lifecycle: trigger, dispatcher, syncer passes, reporter.
    let mut passes = 0;
    let until = Instant::now() + Duration::from_secs(60);
    let jobs = loop {
        d.settle().await;
        let jobs = d.jobs().await;
        if !jobs.is_empty() && jobs.iter().all(|j| j.status.completion_time.is_some()) {
            d.settle().await;
            break jobs;
        }
        assert!(Instant::now() < until, "jobs did not complete: {jobs:?}");
        // Lets the fake kubelet finish the pods between passes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        d.sync().await;
        passes += 1;
    };
    // Secrets are read once per new container, not per job.
    let mut lifecycle = d.proxy.take();
    lifecycle.retain(|k, _| !k.starts_with("SecretsManager."));
    // A pass with nothing to sync: what every minute costs, jobs or not.
    d.sync().await;
    let idle = d.proxy.take();
    // A scheduler tick with no periodic due (the warm container's second:
    // the first reads the config bundle once), also every minute.
    let scheduler = d.function("scheduler").await;
    let _ = d.tick(&scheduler, &Timestamp::now().to_string()).await;
    let _ = d.proxy.take();
    let _ = d.tick(&scheduler, &Timestamp::now().to_string()).await;
    let idle_tick = d.proxy.take();

    let measured_jobs = model["measured_jobs"].as_u64().unwrap_or(0) as usize;
    println!(
        "AWS calls — delivery: {delivery:?}; lifecycle of {} jobs with {passes} syncer passes: {lifecycle:?}; idle syncer pass: {idle:?}; idle scheduler tick: {idle_tick:?}",
        jobs.len()
    );
    assert_eq!(jobs.len(), measured_jobs, "{jobs:?}");
    assert_eq!(
        delivery,
        table(&model, "calls_per_delivery"),
        "per delivery"
    );
    assert_eq!(
        idle,
        table(&model, "calls_per_idle_sync"),
        "per idle syncer pass"
    );
    assert_eq!(
        idle_tick,
        table(&model, "calls_per_idle_tick"),
        "per idle scheduler tick"
    );
    let per_event: BTreeMap<_, _> = minus(lifecycle, &idle, passes);
    assert_eq!(
        per_event,
        table(&model, "calls_per_measured_event"),
        "per event of {measured_jobs} jobs, the syncer's empty passes aside"
    );
}
