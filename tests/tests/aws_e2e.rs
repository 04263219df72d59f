//! End to end on moto: the real function binaries, run as Lambda runs them
//! (each against a Runtime API stand-in, fed the events Lambda's event source
//! mappings, schedules and Function URL would send), on the stack
//! `template.yaml` declares (deployed into moto by `infra/moto_stack.py`).
//! GitHub's API and the Kubernetes API server are HTTP-level fakes, because
//! neither can run here; the webhook payload is GitHub's own example
//! (`@octokit/webhooks-examples`).

use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example, lock};
use skiff_tests::moto::Counts;

/// Jobs for the repository of GitHub's example payloads. The fake kubelet
/// fails a pod whose command says `exit N`.
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
postsubmits:
  Codertocat/Hello-World:
  - name: serial
    max_concurrency: 1
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["sleep 1"]}]}
periodics:
- name: nightly
  interval: 24h
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

const REPO: &str = "Codertocat/Hello-World";

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

fn opened() -> (String, String) {
    let body = example("pull_request", Some("opened"));
    let sha = body["pull_request"]["head"]["sha"]
        .as_str()
        .expect("the example's head SHA")
        .to_string();
    (body.to_string(), sha)
}

fn total(counts: &Counts, prefix: &str) -> usize {
    counts
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, n)| n)
        .sum()
}

fn dynamodb_writes(counts: &Counts) -> usize {
    [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    ]
    .iter()
    .map(|op| counts.get(&format!("DynamoDB.{op}")).copied().unwrap_or(0))
    .sum()
}

fn state_of(jobs: &[ProwJob], name: &str) -> Option<ProwJobState> {
    jobs.iter()
        .find(|j| j.spec.job == name)
        .and_then(|j| j.status.state)
}

/// Syncs and feeds the functions until every job record is complete.
async fn run_to_completion(d: &Deployment) -> Vec<ProwJob> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        d.settle().await;
        let jobs = d.jobs().await;
        if !jobs.is_empty() && jobs.iter().all(|j| j.status.completion_time.is_some()) {
            d.settle().await;
            return jobs;
        }
        assert!(
            Instant::now() < until,
            "jobs did not complete: {:?}\n--- syncer log ---\n{}\n--- dispatcher log ---\n{}",
            jobs.iter()
                .map(|j| (&j.spec.job, j.status.state, &j.status.description))
                .collect::<Vec<_>>(),
            d.logs("syncer"),
            d.logs("dispatcher"),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        d.sync().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_pull_request_runs_through_every_function_to_github() {
    let d = Deployment::new("pr", JOBS, github()).await;
    let (body, sha) = opened();

    // The delivery: verified, claimed, queued, marked — a conditional write,
    // a send and a write (and the webhook secret, fetched once per
    // container).
    d.proxy.take();
    assert_eq!(
        d.deliver("pull_request", "delivery-1", &body).await,
        (200, "queued".to_string())
    );
    let first = d.proxy.take();
    assert_eq!(total(&first, "SecretsManager."), 1, "{first:?}");
    assert_eq!(first.get("DynamoDB.PutItem"), Some(&2), "{first:?}");
    assert_eq!(first.get("SQS.SendMessageBatch"), Some(&1), "{first:?}");

    let jobs = run_to_completion(&d).await;
    let mut names: Vec<&str> = jobs.iter().map(|j| j.spec.job.as_str()).collect();
    names.sort();
    assert_eq!(names, ["lint", "unit"], "docs does not run: README.md only");
    assert_eq!(state_of(&jobs, "unit"), Some(ProwJobState::Success));
    assert_eq!(state_of(&jobs, "lint"), Some(ProwJobState::Failure));
    let lifecycle = d.proxy.take();

    // Pods exactly where the config put them: the fake cluster.
    let pods = d.kube.pods();
    assert_eq!(pods.len(), 2, "one pod per job");
    for job in &jobs {
        assert!(
            pods.iter()
                .any(|p| p.metadata.name.as_deref() == Some(job.metadata.name.as_str())),
            "no pod named {}",
            job.metadata.name
        );
    }

    // GitHub saw pending, then the result, per context, on the head SHA, and
    // one failure comment that names the failed job's rerun command.
    {
        let gh = lock(&d.github);
        let statuses: Vec<(String, String)> = gh
            .statuses()
            .into_iter()
            .filter(|(s, _, _)| *s == sha)
            .map(|(_, c, st)| (c, st))
            .collect();
        for (context, last) in [("unit", "success"), ("lint", "failure")] {
            let states: Vec<&str> = statuses
                .iter()
                .filter(|(c, _)| c == context)
                .map(|(_, s)| s.as_str())
                .collect();
            assert_eq!(states.first(), Some(&"pending"), "{context}: {states:?}");
            assert_eq!(states.last(), Some(&last), "{context}: {states:?}");
        }
        let comments: Vec<&String> = gh.comments.iter().map(|c| &c.3).collect();
        assert_eq!(comments.len(), 1, "{comments:?}");
        assert!(
            comments[0].contains("lint") && comments[0].contains("/test lint"),
            "{}",
            comments[0]
        );
    }

    // Logs in S3, in Prow's layout.
    let s3 = skiff_aws::client::s3(&d.sdk);
    let bucket = d.stack.resource("ArtifactsBucket");
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("pr-logs/pull/Codertocat_Hello-World/2/")
        .send()
        .await
        .expect("ListObjectsV2");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    for job in ["unit", "lint"] {
        for file in [
            "build-log.txt",
            "started.json",
            "finished.json",
            "prowjob.json",
        ] {
            assert!(
                keys.iter()
                    .any(|k| k.contains(&format!("/{job}/")) && k.ends_with(file)),
                "no {file} for {job} in {keys:?}"
            );
        }
    }

    let per_job = dynamodb_writes(&lifecycle) as f64 / jobs.len() as f64;
    println!(
        "AWS calls — first delivery: {first:?}; job lifecycle ({} jobs): {lifecycle:?}; DynamoDB writes per job: {per_job:.1}",
        jobs.len()
    );
    // 4 a job (create, pending, complete, the final report recorded); the
    // failed job's comment update goes through the FIFO comments queue,
    // which keeps a pull's updates apart without a lock item.
    assert!(
        per_job <= 4.0,
        "{per_job} DynamoDB writes per job: {lifecycle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_webhook_is_acknowledged_and_starts_nothing_new() {
    let d = Deployment::new("redeliver", JOBS, github()).await;
    let (body, _) = opened();
    assert_eq!(d.deliver("pull_request", "d-7", &body).await.0, 200);
    d.proxy.take();
    assert_eq!(
        d.deliver("pull_request", "d-7", &body).await,
        (200, "duplicate delivery".to_string())
    );
    let again = d.proxy.take();
    assert_eq!(total(&again, "SQS."), 0, "nothing queued: {again:?}");
    assert_eq!(
        total(&again, "DynamoDB."),
        1,
        "one failed conditional write: {again:?}"
    );

    // SQS may deliver the queued event twice as well: the trigger's second
    // run of it creates nothing.
    let sqs = aws_sdk_sqs::Client::new(&d.sdk);
    let queued = sqs
        .receive_message()
        .queue_url(d.stack.queue_url("EventsQueue"))
        .visibility_timeout(0)
        .send()
        .await
        .expect("ReceiveMessage");
    let message = queued.messages().first().expect("the one queued event");
    sqs.send_message()
        .queue_url(d.stack.queue_url("EventsQueue"))
        .message_body(message.body().unwrap_or_default())
        .send()
        .await
        .expect("SendMessage of a duplicate");
    d.settle().await;
    let jobs = d.jobs().await;
    assert_eq!(jobs.len(), 2, "one record per job, not two: {jobs:?}");
    assert_eq!(d.kube.pods().len(), 2, "one pod per job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_reaches_the_dead_letter_queue_after_max_receive_count() {
    let mut gh = github();
    gh.failing_pulls.push(format!("{REPO}#2"));
    let d = Deployment::new("poison", JOBS, gh).await;
    let max = d.stack.max_receive_count("EventsQueue");
    assert_eq!(max, 5, "template.yaml's maxReceiveCount");
    // The template's 180 s visibility timeout, cut to 1 s so the test does
    // not wait 15 minutes; the redrive policy is the template's own.
    let sqs = aws_sdk_sqs::Client::new(&d.sdk);
    sqs.set_queue_attributes()
        .queue_url(d.stack.queue_url("EventsQueue"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .send()
        .await
        .expect("SetQueueAttributes");

    let (body, _) = opened();
    assert_eq!(d.deliver("pull_request", "d-poison", &body).await.0, 200);
    let mut deliveries = 0;
    let until = Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let polled = d.poll_events().await;
        assert_eq!(
            polled.failed, polled.delivered,
            "GitHub fails: every delivery fails"
        );
        deliveries += polled.delivered;
        let dlq = sqs
            .receive_message()
            .queue_url(d.stack.queue_url("EventsDeadLetterQueue"))
            .send()
            .await
            .expect("ReceiveMessage from the DLQ");
        if let Some(m) = dlq.messages().first() {
            break m.body().unwrap_or_default().to_string();
        }
        assert!(
            Instant::now() < until,
            "nothing reached the DLQ after {deliveries} deliveries"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
    };
    assert_eq!(
        deliveries, max as usize,
        "delivered maxReceiveCount times, then dead-lettered"
    );
    let message: Value = serde_json::from_str(&dead).expect("the dead letter is the event message");
    assert_eq!(message["delivery"], "d-poison");
    assert!(d.jobs().await.is_empty(), "nothing was planned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_record_write_and_enqueue_is_recovered_by_the_syncer() {
    let d = Deployment::new("crash", JOBS, github()).await;
    let (body, _) = opened();
    assert_eq!(d.deliver("pull_request", "d-crash", &body).await.0, 200);

    // A trigger whose dispatch queue is gone: the records are written, the
    // send fails after them.
    let missing = format!("{}/123456789012/no-such-queue", d.endpoint);
    let broken = d
        .start_function("trigger", &[("SKIFF_DISPATCH_QUEUE_URL", missing.as_str())])
        .await;
    let polled = d.events.poll_once(&broken).await;
    assert_eq!(polled.delivered, 1);
    let jobs = d.jobs().await;
    assert_eq!(jobs.len(), 2, "records written before the failed send");
    assert!(
        jobs.iter()
            .all(|j| j.status.state == Some(ProwJobState::Triggered))
    );
    assert_eq!(
        d.poll_dispatch().await.delivered,
        0,
        "nothing reached the dispatch queue"
    );

    // The syncer re-sends records left triggered (after 0 s here, 60 s as
    // deployed), and the jobs run.
    let syncer = d
        .start_function("syncer", &[("SKIFF_REDISPATCH_AFTER_SECONDS", "0")])
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = syncer
        .invoke(&skiff_tests::lambda::scheduled_event(
            &jiff::Timestamp::now().to_string(),
            "arn:aws:events:us-east-1:123456789012:rule/syncer",
        ))
        .await
        .ok();
    assert_eq!(report["redispatched"], 2, "{report}");
    let jobs = run_to_completion(&d).await;
    assert_eq!(state_of(&jobs, "unit"), Some(ProwJobState::Success));
    assert_eq!(state_of(&jobs, "lint"), Some(ProwJobState::Failure));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scheduler_ticks_racing_for_one_slot_create_one_run() {
    let d = Deployment::new("race", JOBS, GitHub::default()).await;
    let a = d.start_function("scheduler", &[]).await;
    let b = d.start_function("scheduler", &[]).await;
    let at = "2026-12-04T06:00:00Z";
    let (ra, rb) = tokio::join!(d.tick(&a, at), d.tick(&b, at));
    let (ra, rb) = (ra.ok(), rb.ok());
    let created: Vec<Value> = [&ra, &rb]
        .iter()
        .flat_map(|r| r["created"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(created.len(), 1, "one tick created the run: {ra} {rb}");

    let runs: Vec<ProwJob> = d
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.spec.job == "nightly")
        .collect();
    assert_eq!(runs.len(), 1, "one record for the slot");
    assert_eq!(Value::String(runs[0].metadata.name.clone()), created[0]);

    // One message for the dispatcher, from the tick that created the run.
    let polled = d.poll_dispatch().await;
    assert_eq!(polled.delivered, 1);
    assert_eq!(d.poll_dispatch().await.delivered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_its_concurrency_slot_comes_back_as_a_delayed_copy() {
    let d = Deployment::new("slot", JOBS, GitHub::default()).await;
    // Two pushes: two runs of `serial`, which runs one at a time.
    let push = example("push", None);
    for (i, after) in [
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    ]
    .iter()
    .enumerate()
    {
        let mut body = push.clone();
        body["ref"] = "refs/heads/master".into();
        body["after"] = (*after).into();
        body["before"] = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e".into();
        body["created"] = false.into();
        body["deleted"] = false.into();
        let delivery = format!("push-{i}");
        assert_eq!(d.deliver("push", &delivery, &body.to_string()).await.0, 200);
    }
    for _ in 0..3 {
        d.poll_events().await;
    }
    let runs: Vec<ProwJob> = d
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.spec.job == "serial")
        .collect();
    assert_eq!(runs.len(), 2, "one run per push");

    // The dispatcher starts the older run and defers the newer one — not as a
    // failure (each receive would count towards the DLQ) but as a delayed
    // copy, with the original acknowledged.
    let polled = d.poll_dispatch().await;
    assert_eq!(
        polled,
        skiff_tests::lambda::Polled {
            delivered: 2,
            failed: 0
        }
    );
    let sqs = aws_sdk_sqs::Client::new(&d.sdk);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(d.stack.queue_url("DispatchQueue"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("GetQueueAttributes");
    let delayed = attrs
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        })
        .cloned();
    assert_eq!(
        delayed.as_deref(),
        Some("1"),
        "the waiting run's copy, delayed"
    );
    let states: Vec<Option<ProwJobState>> = d
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.spec.job == "serial")
        .map(|j| j.status.state)
        .collect();
    assert!(
        states.contains(&Some(ProwJobState::Pending))
            && states.contains(&Some(ProwJobState::Triggered)),
        "{states:?}"
    );
}
