//! Fault injection on the AWS path: a pull request's whole lifecycle —
//! webhook → trigger → dispatcher → syncer → reporter, the real function
//! binaries on moto — with the k-th AWS call of the run failed (every attempt
//! of it) by a 500, a throttling error or a lost answer
//! ([`skiff_tests::fault`]). After recovery — the event sources' retries,
//! GitHub's redelivery of a delivery the webhook failed, the syncer's
//! passes — every run must end with the same jobs, pods and commit statuses as
//! the fault-free run: no job lost, none duplicated, no status skipped or out
//! of order. One thing may differ, and is counted and printed: a fault between
//! the reporter's status write and its record of it (README "Hardening")
//! writes the same status again, unchanged.
//!
//! Every position of every fault takes a few minutes, so CI runs a sample
//! drawn by a fixed seed, the same positions every run (a red CI run must
//! mean a change broke something; `SKIFF_FAULT_SEED` draws another sample,
//! `SKIFF_FAULT_SEED=now` a fresh one each run) and
//! `SKIFF_FAULT_POSITIONS=all` runs them all (`=FIRST-LAST` the calls in a
//! range, e.g. after a change to one function). `SKIFF_FAULT_SAMPLE` sets the
//! sample's size.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use skiff_core::keys;
use skiff_core::prowjob::ProwJob;
use skiff_tests::deployment::Deployment;
use skiff_tests::fault::{Fault, FaultProxy};
use skiff_tests::github::{GitHub, example, lock};
use skiff_tests::lambda::scheduled_event;
use skiff_tests::runtime_api::Invoked;

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo unit ok"]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo lint broke; exit 1"]}]}
"#;

const REPO: &str = "Codertocat/Hello-World";
const DELIVERY: &str = "fault-delivery-1";
/// CI's sample of (position, fault) pairs.
const DEFAULT_SAMPLE: usize = 3;
/// The seed of CI's sample.
const CI_SEED: u64 = 20_261_206;

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

/// What a run leaves, compared across runs.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Job id → (job, final state).
    jobs: BTreeMap<String, (String, String)>,
    pods: Vec<String>,
    /// Context → every state written, in order.
    statuses: BTreeMap<String, Vec<String>>,
    comments: usize,
}

/// Both jobs finished, their final statuses written, and the reporter
/// done with them: a report records its state only after everything it
/// sends (status and failure comment), so a report still waiting for a
/// retry shows here.
fn done(jobs: &[ProwJob], statuses: &BTreeMap<String, Vec<String>>) -> bool {
    let finals = ["success", "failure", "error"];
    jobs.len() == 2
        && jobs.iter().all(|j| {
            j.status.completion_time.is_some()
                && j.status.state.is_some()
                && j.status.prev_report_states.get(keys::GITHUB_REPORTER) == j.status.state.as_ref()
        })
        && ["unit", "lint"].iter().all(|c| {
            statuses
                .get(*c)
                .and_then(|s| s.last())
                .is_some_and(|s| finals.contains(&s.as_str()))
        })
}

fn statuses(d: &Deployment, sha: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (s, context, state) in lock(&d.github).statuses() {
        if s == sha {
            out.entry(context).or_default().push(state);
        }
    }
    out
}

/// Cuts the template's visibility timeouts (minutes) to a second, so a
/// failed message comes back within the test; the redrive policies stay.
async fn short_visibility(d: &Deployment) {
    let sqs = aws_sdk_sqs::Client::new(&d.sdk);
    for queue in ["EventsQueue", "DispatchQueue", "ReportsQueue"] {
        sqs.set_queue_attributes()
            .queue_url(d.stack.queue_url(queue))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "1",
            )
            .send()
            .await
            .expect("SetQueueAttributes");
    }
}

impl Outcome {
    /// The outcome with a status written again unchanged right after itself
    /// counted once, and how many such repeats there were. A repeat changes
    /// nothing GitHub shows (the combined status and the PR's checks keep
    /// one entry per context), but it is a second write, so it is counted.
    fn without_repeats(&self) -> (Outcome, usize) {
        let mut repeats = 0;
        let statuses = self
            .statuses
            .iter()
            .map(|(context, states)| {
                let mut kept: Vec<String> = Vec::new();
                for s in states {
                    if kept.last() == Some(s) {
                        repeats += 1;
                    } else {
                        kept.push(s.clone());
                    }
                }
                (context.clone(), kept)
            })
            .collect();
        let outcome = Outcome {
            jobs: self.jobs.clone(),
            pods: self.pods.clone(),
            statuses,
            comments: self.comments,
        };
        (outcome, repeats)
    }
}

/// One lifecycle of the example pull request on a fresh deployment, with
/// `fault` armed; what it left, the calls the functions made, and the call
/// the fault struck (its operation and attempts), if the run got that far.
async fn run(
    proxy: &FaultProxy,
    fault: Option<(usize, Fault)>,
) -> (Outcome, Vec<String>, Option<(String, usize)>) {
    let d = Deployment::through("fault", JOBS, github(), Some(&proxy.url())).await;
    // A claim left by a lost answer expires in a second, not a minute.
    d.replace_function("webhook", &[("SKIFF_WEBHOOK_CLAIM_LEASE_SECONDS", "1")])
        .await;
    d.replace_function("syncer", &[("SKIFF_REDISPATCH_AFTER_SECONDS", "2")])
        .await;
    short_visibility(&d).await;
    let body = example("pull_request", Some("opened"));
    let sha = body["pull_request"]["head"]["sha"]
        .as_str()
        .expect("the example's head SHA")
        .to_string();
    let body = body.to_string();
    let what = fault.map_or("fault-free".to_string(), |(k, f)| {
        format!("{} at call {k}", f.name())
    });

    proxy.arm(fault);
    let until = Instant::now() + Duration::from_secs(90);
    // GitHub's delivery, redelivered (by hand or by the redelivery
    // function) while it gets no 2xx.
    loop {
        let (status, answer) = d.deliver("pull_request", DELIVERY, &body).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < until,
            "{what}: the delivery was never taken: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let syncer = d.function("syncer").await;
    loop {
        d.settle().await;
        // A failed pass is retried by the next one, as the schedule does.
        if let Invoked::Error(e) = syncer
            .invoke(&scheduled_event(
                &jiff::Timestamp::now().to_string(),
                "arn:aws:events:us-east-1:123456789012:rule/syncer",
            ))
            .await
        {
            eprintln!("{what}: a syncer pass failed: {e}");
        }
        d.settle().await;
        let jobs = d.jobs().await;
        if done(&jobs, &statuses(&d, &sha)) {
            break;
        }
        assert!(
            Instant::now() < until,
            "{what}: not done: {:?} {:?}\n--- trigger ---\n{}\n--- dispatcher ---\n{}\n--- syncer ---\n{}\n--- reporter ---\n{}",
            jobs.iter()
                .map(|j| (&j.spec.job, j.status.state))
                .collect::<Vec<_>>(),
            statuses(&d, &sha),
            d.logs("trigger"),
            d.logs("dispatcher"),
            d.logs("syncer"),
            d.logs("reporter"),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let calls = proxy.calls();
    let struck = proxy.struck();
    proxy.arm(None);
    let jobs = d
        .jobs()
        .await
        .into_iter()
        .map(|j| {
            let state = j.status.state.map(|s| s.as_str()).unwrap_or("none");
            (
                j.metadata.name.clone(),
                (j.spec.job.clone(), state.to_string()),
            )
        })
        .collect();
    let mut pods: Vec<String> = d
        .kube
        .pods()
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    pods.sort();
    let outcome = Outcome {
        jobs,
        pods,
        statuses: statuses(&d, &sha),
        comments: lock(&d.github).comments.len(),
    };
    (outcome, calls, struck)
}

/// A small deterministic generator (SplitMix64) for the sample.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % below.max(1) as u64) as usize
    }
}

fn positions(calls: usize) -> Vec<(usize, Fault)> {
    let all: Vec<(usize, Fault)> = (1..=calls)
        .flat_map(|k| Fault::ALL.map(|f| (k, f)))
        .collect();
    match std::env::var("SKIFF_FAULT_POSITIONS").as_deref() {
        Ok("all") => {
            println!("fault positions: all {}", all.len());
            return all;
        }
        // `FIRST-LAST`: every fault at the calls in that range.
        Ok(range) if range.contains('-') => {
            let (first, last) = range.split_once('-').unwrap_or_default();
            let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) else {
                panic!("SKIFF_FAULT_POSITIONS={range}: expected `all` or FIRST-LAST");
            };
            let picked: Vec<_> = (first..=last)
                .flat_map(|k| Fault::ALL.map(|f| (k, f)))
                .collect();
            println!(
                "fault positions: calls {first}-{last}, {} in all",
                picked.len()
            );
            return picked;
        }
        _ => {}
    }
    let seed = match std::env::var("SKIFF_FAULT_SEED").as_deref() {
        Ok("now") => jiff::Timestamp::now().as_nanosecond() as u64,
        Ok(s) => s.parse().unwrap_or(CI_SEED),
        Err(_) => CI_SEED,
    };
    let size = std::env::var("SKIFF_FAULT_SAMPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SAMPLE);
    let mut draw = Draw(seed);
    let mut pool = all;
    let mut picked = Vec::new();
    while picked.len() < size && !pool.is_empty() {
        picked.push(pool.swap_remove(draw.next(pool.len())));
    }
    picked.sort_by_key(|(k, f)| (*k, f.name()));
    println!(
        "fault positions: a sample of {} drawn with SKIFF_FAULT_SEED={seed}",
        picked.len()
    );
    picked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_at_any_aws_call_of_a_pull_requests_lifecycle_changes_nothing_in_the_end() {
    let proxy = FaultProxy::start(&skiff_tests::moto::endpoint()).await;
    let started = Instant::now();
    let (baseline, calls, _) = run(&proxy, None).await;
    let (baseline, baseline_repeats) = baseline.without_repeats();
    assert_eq!(baseline_repeats, 0, "the fault-free run repeats no status");
    println!(
        "fault-free run: {} AWS calls by the functions: {calls:?}",
        calls.len()
    );
    assert_eq!(baseline.jobs.len(), 2, "{baseline:?}");
    assert_eq!(baseline.pods.len(), 2, "{baseline:?}");
    for (context, last) in [("unit", "success"), ("lint", "failure")] {
        let states = &baseline.statuses[context];
        assert_eq!(
            states.last().map(String::as_str),
            Some(last),
            "{baseline:?}"
        );
    }

    let mut struck = 0;
    let mut missed = Vec::new();
    let mut repeated = Vec::new();
    let picked = positions(calls.len());
    for (k, fault) in &picked {
        let (outcome, _, hit) = run(&proxy, Some((*k, *fault))).await;
        let (outcome, repeats) = outcome.without_repeats();
        match &hit {
            Some((op, attempts)) => {
                struck += 1;
                println!(
                    "{} at call {k} ({op}, {attempts} attempt(s)): recovered, {repeats} status(es) written again unchanged",
                    fault.name()
                );
                if repeats > 0 {
                    repeated.push(format!("{} at call {k} ({op})", fault.name()));
                }
            }
            // Runs differ a little in length (a retry adds calls, timing
            // decides some reads): a position past this run's end.
            None => missed.push(*k),
        }
        assert_eq!(
            outcome,
            baseline,
            "{} at call {k} ({hit:?}) ended differently from the fault-free run",
            fault.name()
        );
    }
    println!(
        "fault injection: 1 scenario (a pull request's lifecycle, {} calls) × {} positions: {struck} struck and recovered with the same jobs, pods and statuses, {} past the run's end {missed:?}; a status written again unchanged after {repeated:?}; {:.0?}",
        calls.len(),
        picked.len(),
        missed.len(),
        started.elapsed(),
    );
    assert!(struck > 0 || picked.is_empty(), "no fault struck");
}
