//! The monthly bill of Skiff's control plane for a job volume, from the AWS
//! calls each job and each delivery makes (measured on moto, see
//! [`CALLS_PER_MEASURED_EVENT`]) and the functions' schedules in
//! template.yaml; and the same month of an always-on Prow on EKS.

use std::collections::BTreeMap;

use super::prices::Prices;

/// Days in the billing month the model prices.
pub const DAYS: f64 = 30.0;

/// Jobs the measured event started (cli/tests/cost_calls.rs: a pull request
/// of the example repo, two jobs, one failing).
pub const MEASURED_JOBS: u32 = 2;

/// AWS calls of the measured event after its delivery, until both jobs are
/// complete and reported — trigger, dispatcher, syncer and reporter — less
/// the syncer's passes that found nothing to do (priced with the schedule)
/// and the secrets each new container reads once. Named as the counting
/// proxy names them (S3 by method and resource).
/// cli/tests/cost_calls.rs counts them on moto through a proxy and fails
/// when they differ, so the model cannot drift from the code.
pub const CALLS_PER_MEASURED_EVENT: &[(&str, u32)] = &[
    // The record's life: created (trigger), pending with the pod (dispatcher),
    // complete (syncer), its final report recorded (reporter) — 4 a job (the
    // store's docs, "Writes per job", say why each is there). The failed
    // job's comment update waits on the comments queue, which keeps a pull's
    // updates apart without a lock item.
    ("DynamoDB.PutItem", 8),
    // The comments queue's handler reads the failed job's record fresh.
    ("DynamoDB.GetItem", 9),
    // The config bundle (once per container), build logs, finished.json.
    ("S3.GET Object", 4),
    ("S3.PUT Object", 8),
    ("S3.GET Bucket", 1),
    // The jobs to the dispatch queue; the failed job's comment update to
    // the comments queue.
    ("SQS.SendMessageBatch", 2),
];

/// Messages the measured event put on the comments queue (the failed job's
/// comment update): each is one reporter invocation and one receive and
/// delete by its poller.
pub const COMMENT_MESSAGES_PER_MEASURED_EVENT: u32 = 1;

/// AWS calls of one webhook delivery (the webhook function): the claim of
/// the delivery id, the send, the mark. Counted by the same test.
pub const CALLS_PER_DELIVERY: &[(&str, u32)] =
    &[("DynamoDB.PutItem", 2), ("SQS.SendMessageBatch", 1)];

/// AWS calls of one syncer pass with nothing to sync (every minute, jobs or
/// not). Counted by the same test.
pub const CALLS_PER_IDLE_SYNC: &[(&str, u32)] = &[("DynamoDB.Query", 1)];

/// AWS calls of one scheduler tick with no periodic due (every minute):
/// the tick kept for the deck's `/health`. Counted by the same test.
pub const CALLS_PER_IDLE_TICK: &[(&str, u32)] = &[("DynamoDB.PutItem", 1)];

/// What the user asked to price.
#[derive(Clone, Debug)]
pub struct Volume {
    pub jobs_per_day: f64,
    /// Share of jobs that are presubmits (the rest: postsubmits, periodics).
    pub presubmit_share: f64,
    /// Jobs one pull request event (or push) starts.
    pub jobs_per_pr: f64,
    /// Log and artifacts kept per job, KB.
    pub log_kb: f64,
}

/// A Lambda function as template.yaml deploys it, and how long one
/// invocation runs (an assumption, printed with the bill).
pub struct Function {
    pub name: &'static str,
    pub memory_mb: f64,
    pub ms: f64,
}

/// template.yaml's memory sizes; durations assumed from `skiff dev` traces
/// (the handlers wait on the network; DynamoDB and SQS answer in ms).
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "webhook",
        memory_mb: 256.0,
        ms: 20.0,
    },
    Function {
        name: "trigger",
        memory_mb: 256.0,
        ms: 120.0,
    },
    Function {
        name: "dispatcher",
        memory_mb: 256.0,
        ms: 150.0,
    },
    Function {
        name: "syncer",
        memory_mb: 512.0,
        ms: 300.0,
    },
    Function {
        name: "reporter",
        memory_mb: 256.0,
        ms: 100.0,
    },
    Function {
        name: "scheduler",
        memory_mb: 256.0,
        ms: 50.0,
    },
    Function {
        name: "sweeper",
        memory_mb: 256.0,
        ms: 300.0,
    },
    Function {
        name: "redelivery",
        memory_mb: 256.0,
        ms: 300.0,
    },
    Function {
        name: "tide",
        memory_mb: 256.0,
        ms: 300.0,
    },
];

/// Scheduled invocations per day, from template.yaml: scheduler, syncer and
/// tide every minute, redelivery every 5 minutes, sweeper hourly. (Tide's
/// nudges are not priced: at most one sync per finished-jobs pass or
/// pull-request batch, within the same order as its schedule.)
pub const SCHEDULED_PER_DAY: &[(&str, f64)] = &[
    ("scheduler", 1440.0),
    ("syncer", 1440.0),
    ("tide", 1440.0),
    ("redelivery", 288.0),
    ("sweeper", 24.0),
];

/// Lambda's SQS pollers: a mapping long-polls each queue with 5 pollers
/// whether messages come or not (20 s polls: 3 requests a minute each);
/// five queues have a mapping (events, dispatch, reports, comments, tide).
const IDLE_SQS_REQUESTS_PER_DAY: f64 = 5.0 * 5.0 * 3.0 * 60.0 * 24.0;

/// A job record's size in DynamoDB, KB (a ProwJob's JSON plus the index
/// attributes): each write of it is this many write units.
const RECORD_KB: f64 = 3.0;
/// Job records are kept this long (sinker's `max_prowjob_age`, 7 days).
const RECORD_DAYS: f64 = 7.0;
/// Logs and artifacts are kept this long in S3 before a lifecycle rule
/// deletes them.
const LOG_DAYS: f64 = 90.0;
/// Function log lines per job across functions, KB; CloudWatch keeps them
/// for template.yaml's `FunctionLogRetentionDays` (30).
const FUNCTION_LOG_KB_PER_JOB: f64 = 4.0;
const FUNCTION_LOG_DAYS: f64 = 30.0;

/// One line of the bill.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Line {
    pub service: &'static str,
    pub item: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

/// The month, line by line.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Bill {
    pub lines: Vec<Line>,
    pub total: f64,
}

fn calls(table: &[(&str, u32)]) -> BTreeMap<String, f64> {
    table
        .iter()
        .map(|(k, n)| (k.to_string(), f64::from(*n)))
        .collect()
}

/// Calls per job of each operation, and per month.
pub fn per_job_calls() -> BTreeMap<String, f64> {
    calls(CALLS_PER_MEASURED_EVENT)
        .into_iter()
        .map(|(k, n)| (k, n / f64::from(MEASURED_JOBS)))
        .collect()
}

fn sum_prefix(calls: &BTreeMap<String, f64>, prefix: &str, ops: &[&str]) -> f64 {
    calls
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(prefix)
                .is_some_and(|op| ops.is_empty() || ops.contains(&op))
        })
        .map(|(_, n)| n)
        .sum()
}

const DYNAMO_WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];
const DYNAMO_READS: &[&str] = &["GetItem", "Query", "Scan", "BatchGetItem"];
/// S3 prices a list (GET Bucket) as a PUT.
const S3_PUTS: &[&str] = &["PUT Object", "GET Bucket", "POST Object"];
const S3_GETS: &[&str] = &["GET Object", "HEAD Object"];

/// Deliveries a day: one per pull request event or push that starts
/// `jobs_per_pr` jobs; periodics come from the scheduler, not a webhook.
pub fn deliveries_per_day(v: &Volume) -> f64 {
    let triggered = v.jobs_per_day * v.presubmit_share.clamp(0.0, 1.0)
        + v.jobs_per_day * (1.0 - v.presubmit_share.clamp(0.0, 1.0)) * 0.5;
    triggered / v.jobs_per_pr.max(1.0)
}

/// Skiff's month for `v` at `p`.
pub fn skiff(v: &Volume, p: &Prices) -> Bill {
    let month_jobs = v.jobs_per_day * DAYS;
    let month_deliveries = deliveries_per_day(v) * DAYS;
    let job = per_job_calls();
    let delivery = calls(CALLS_PER_DELIVERY);
    let idle_sync = calls(CALLS_PER_IDLE_SYNC);
    let idle_tick = calls(CALLS_PER_IDLE_TICK);
    let syncs = 1440.0 * DAYS;
    let mut lines = Vec::new();
    let mut line = |service, item: String, quantity: f64, unit, usd: f64| {
        lines.push(Line {
            service,
            item,
            quantity,
            unit,
            usd,
        })
    };

    // Lambda: one webhook and one trigger invocation per delivery, one
    // dispatcher per job (batches of 10 rarely fill at these rates), one
    // reporter per record change (each write streams one) and per comment
    // update (the comments queue), the schedules.
    let writes_per_job = sum_prefix(&job, "DynamoDB.", DYNAMO_WRITES);
    let mut invocations: BTreeMap<&str, f64> = BTreeMap::new();
    invocations.insert("webhook", month_deliveries);
    invocations.insert("trigger", month_deliveries);
    invocations.insert("dispatcher", month_jobs);
    let comment_messages =
        month_jobs * f64::from(COMMENT_MESSAGES_PER_MEASURED_EVENT) / f64::from(MEASURED_JOBS);
    invocations.insert("reporter", month_jobs * writes_per_job + comment_messages);
    for (f, per_day) in SCHEDULED_PER_DAY {
        *invocations.entry(f).or_default() += per_day * DAYS;
    }
    let mut requests = 0.0;
    let mut gb_s = 0.0;
    for f in FUNCTIONS {
        let n = invocations.get(f.name).copied().unwrap_or(0.0);
        requests += n;
        gb_s += n * f.ms / 1000.0 * f.memory_mb / 1024.0;
    }
    line(
        "Lambda",
        "requests".into(),
        requests,
        "requests",
        requests / 1e6 * p.lambda_million_requests,
    );
    line(
        "Lambda",
        "compute (arm64)".into(),
        gb_s,
        "GB-s",
        gb_s * p.lambda_gb_second,
    );

    // SQS: what the functions send, and Lambda's pollers (a receive and a
    // delete per message; the idle long polls).
    let sent = sum_prefix(&job, "SQS.", &[]) * month_jobs
        + sum_prefix(&delivery, "SQS.", &[]) * month_deliveries;
    let messages = month_deliveries + month_jobs + comment_messages;
    let sqs = sent + 2.0 * messages + IDLE_SQS_REQUESTS_PER_DAY * DAYS;
    line(
        "SQS",
        "requests (sends, Lambda's polls and deletes)".into(),
        sqs,
        "requests",
        sqs / 1e6 * p.sqs_million_requests,
    );

    // DynamoDB: job record writes are RECORD_KB units each; delivery keys
    // and reads are one unit.
    let wru = writes_per_job * RECORD_KB * month_jobs
        + sum_prefix(&delivery, "DynamoDB.", DYNAMO_WRITES) * month_deliveries
        + sum_prefix(&idle_tick, "DynamoDB.", DYNAMO_WRITES) * syncs;
    let rru = sum_prefix(&job, "DynamoDB.", DYNAMO_READS) * month_jobs
        + sum_prefix(&idle_sync, "DynamoDB.", DYNAMO_READS) * syncs
        + sum_prefix(&idle_tick, "DynamoDB.", DYNAMO_READS) * syncs;
    line(
        "DynamoDB",
        "write request units".into(),
        wru,
        "WRU",
        wru / 1e6 * p.dynamodb_million_writes,
    );
    line(
        "DynamoDB",
        "read request units".into(),
        rru,
        "RRU",
        rru / 1e6 * p.dynamodb_million_reads,
    );
    let table_gb = v.jobs_per_day * RECORD_DAYS * RECORD_KB / 1e6;
    line(
        "DynamoDB",
        format!("storage ({RECORD_DAYS} days of records)"),
        table_gb,
        "GB-month",
        table_gb * p.dynamodb_gb_month,
    );

    // S3: the logs the control plane writes, the config bundle reads, and
    // the logs kept.
    let puts = sum_prefix(&job, "S3.", S3_PUTS) * month_jobs;
    let gets = sum_prefix(&job, "S3.", S3_GETS) * month_jobs;
    line(
        "S3",
        "PUT and LIST requests".into(),
        puts,
        "requests",
        puts / 1000.0 * p.s3_thousand_puts,
    );
    line(
        "S3",
        "GET requests".into(),
        gets,
        "requests",
        gets / 1000.0 * p.s3_thousand_gets,
    );
    let logs_gb = v.jobs_per_day * LOG_DAYS * v.log_kb / 1e6;
    line(
        "S3",
        format!("storage ({LOG_DAYS} days of logs)"),
        logs_gb,
        "GB-month",
        logs_gb * p.s3_gb_month,
    );

    // CloudWatch Logs: the functions' own lines.
    let ingest_gb = month_jobs * FUNCTION_LOG_KB_PER_JOB / 1e6;
    line(
        "CloudWatch Logs",
        "ingestion".into(),
        ingest_gb,
        "GB",
        ingest_gb * p.logs_ingest_gb,
    );
    let kept_gb = v.jobs_per_day * FUNCTION_LOG_DAYS * FUNCTION_LOG_KB_PER_JOB / 1e6;
    line(
        "CloudWatch Logs",
        "storage".into(),
        kept_gb,
        "GB-month",
        kept_gb * p.logs_gb_month,
    );

    let scheduled: f64 = SCHEDULED_PER_DAY.iter().map(|(_, n)| n * DAYS).sum();
    line(
        "EventBridge",
        "scheduled events".into(),
        scheduled,
        "events",
        scheduled / 1e6 * p.eventbridge_million_scheduled,
    );

    let total = lines.iter().map(|l| l.usd).sum();
    Bill { lines, total }
}

/// An always-on Prow control plane on EKS, as printed with the bill.
pub const PROW_ASSUMPTIONS: &[&str] = &[
    "one EKS cluster for the control plane (jobs run elsewhere, as with Skiff)",
    "2 × m6i.large nodes: hook, deck, tide, horologium, sinker, crier, \
     prow-controller-manager, status-reconciler, ghproxy (~3 vCPU, 6 GiB requested, \
     two nodes for a rolling update)",
    "1 ALB in front of hook and deck, 1 LCU average",
    "100 GB gp3 for ghproxy's cache",
    "the same S3 log storage as Skiff (Prow keeps logs in a bucket too)",
];

/// Prow's month for `v` at `p`: flat but for the logs.
pub fn prow(v: &Volume, p: &Prices) -> Bill {
    let hours = 24.0 * DAYS;
    let logs_gb = v.jobs_per_day * LOG_DAYS * v.log_kb / 1e6;
    let lines = vec![
        Line {
            service: "EKS",
            item: "control plane".into(),
            quantity: hours,
            unit: "cluster-hours",
            usd: hours * p.eks_cluster_hour,
        },
        Line {
            service: "EC2",
            item: "2 × m6i.large".into(),
            quantity: 2.0 * hours,
            unit: "instance-hours",
            usd: 2.0 * hours * p.ec2_m6i_large_hour,
        },
        Line {
            service: "ELB",
            item: "ALB + 1 LCU".into(),
            quantity: hours,
            unit: "hours",
            usd: hours * (p.alb_hour + p.alb_lcu_hour),
        },
        Line {
            service: "EBS",
            item: "ghproxy cache 100 GB gp3".into(),
            quantity: 100.0,
            unit: "GB-month",
            usd: 100.0 * p.ebs_gp3_gb_month,
        },
        Line {
            service: "S3",
            item: format!("storage ({LOG_DAYS} days of logs)"),
            quantity: logs_gb,
            unit: "GB-month",
            usd: logs_gb * p.s3_gb_month,
        },
    ];
    let total = lines.iter().map(|l| l.usd).sum();
    Bill { lines, total }
}

/// GitHub API calls, from cli/tests' and skiff-tests' counts against the
/// fake GitHub API (tests/tests/github_api_calls.rs: a pull request of 10
/// jobs, 2 failing).
pub struct GitHubCalls {
    /// Reads per pull request event (the PR, its changed files, trust).
    pub reads_per_event: f64,
    /// Writes per job: a pending and a final status (or check run).
    pub writes_per_job: f64,
    /// Comment writes per event with a failure: Prow's failure comment
    /// (delete + create at each new failure), or one summary comment edit.
    pub comment_writes_per_event: f64,
    /// Calls an hour with no jobs: the redelivery sweep's list of recent
    /// deliveries every 5 minutes.
    pub idle_per_hour: f64,
}

/// Counted by tests/tests/github_api_calls.rs (10 jobs, 2 failing): 5
/// reads and 23 writes with Prow's failure comment, 3 reads and 21 writes
/// with a summary comment; conditional reads answered 304 (9 and 1) are
/// not counted, as GitHub does not count them against the limit.
pub const GITHUB_PROW_COMMENT: GitHubCalls = GitHubCalls {
    reads_per_event: 5.0,
    writes_per_job: 2.0,
    comment_writes_per_event: 3.0,
    idle_per_hour: 12.0,
};

pub const GITHUB_SUMMARY_COMMENT: GitHubCalls = GitHubCalls {
    reads_per_event: 3.0,
    writes_per_job: 2.0,
    comment_writes_per_event: 1.0,
    idle_per_hour: 12.0,
};

/// GitHub App installation's limit (non-Enterprise org, few repos).
pub const GITHUB_LIMIT_PER_HOUR: f64 = 5000.0;

/// GitHub calls an hour at `v`, spread evenly over the day.
pub fn github_per_hour(v: &Volume, g: &GitHubCalls) -> f64 {
    let events = deliveries_per_day(v) / 24.0;
    events * (g.reads_per_event + g.comment_writes_per_event)
        + v.jobs_per_day / 24.0 * g.writes_per_job
        + g.idle_per_hour
}

/// Jobs a day at which `g` reaches the limit (linear in jobs/day).
pub fn github_limit_jobs_per_day(v: &Volume, g: &GitHubCalls) -> f64 {
    let at = |jobs: f64| {
        github_per_hour(
            &Volume {
                jobs_per_day: jobs,
                ..v.clone()
            },
            g,
        )
    };
    let per_job = at(1.0) - at(0.0);
    (GITHUB_LIMIT_PER_HOUR - at(0.0)) / per_job
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the bill prices `op` (a name from the counted tables).
    fn priced(op: &str) -> bool {
        let within =
            |prefix: &str, ops: &[&str]| op.strip_prefix(prefix).is_some_and(|o| ops.contains(&o));
        within("DynamoDB.", DYNAMO_WRITES)
            || within("DynamoDB.", DYNAMO_READS)
            || within("S3.", S3_PUTS)
            || within("S3.", S3_GETS)
            || op.starts_with("SQS.")
    }

    #[test]
    fn every_counted_call_is_priced() {
        for table in [
            CALLS_PER_MEASURED_EVENT,
            CALLS_PER_DELIVERY,
            CALLS_PER_IDLE_SYNC,
            CALLS_PER_IDLE_TICK,
        ] {
            for (op, _) in table {
                assert!(priced(op), "{op} is counted but not priced");
            }
        }
    }

    #[test]
    fn a_job_more_costs_more_in_each_counted_service() {
        let p = super::super::prices::of("us-east-1").unwrap();
        let v = |jobs| Volume {
            jobs_per_day: jobs,
            presubmit_share: 0.8,
            jobs_per_pr: 3.0,
            log_kb: 100.0,
        };
        let (few, many) = (skiff(&v(100.0), p), skiff(&v(100_000.0), p));
        for service in ["Lambda", "SQS", "DynamoDB", "S3", "CloudWatch Logs"] {
            let cost = |b: &Bill, item: &str| -> f64 {
                b.lines
                    .iter()
                    .filter(|l| l.service == service && l.item.contains(item))
                    .map(|l| l.usd)
                    .sum()
            };
            assert!(cost(&many, "") > cost(&few, ""), "{service}");
        }
        let puts = |b: &Bill| {
            b.lines
                .iter()
                .find(|l| l.item.starts_with("PUT"))
                .map_or(0.0, |l| l.quantity)
        };
        assert!(puts(&many) > 0.0, "S3 PUTs are priced");
    }

    #[test]
    fn the_github_limit_is_where_the_calls_per_hour_reach_it() {
        let v = Volume {
            jobs_per_day: 0.0,
            presubmit_share: 0.8,
            jobs_per_pr: 3.0,
            log_kb: 100.0,
        };
        for g in [&GITHUB_PROW_COMMENT, &GITHUB_SUMMARY_COMMENT] {
            let at = github_limit_jobs_per_day(&v, g);
            let calls = github_per_hour(
                &Volume {
                    jobs_per_day: at,
                    ..v.clone()
                },
                g,
            );
            assert!((calls - GITHUB_LIMIT_PER_HOUR).abs() < 1e-6, "{calls}");
        }
    }
}
