//! `skiff dev`'s metrics and health: the functions record through the
//! `metrics` facade into a Prometheus recorder (installed once per
//! process by [`install`]), and `GET /metrics` renders it as Prometheus
//! text, with what is counted when scraped rather than recorded: Prow's
//! `prowjobs` gauge over the job store, and the age of each SQLite queue's
//! oldest message. The deck's `/health` gets the queues and the config's
//! version from here ([`deck_options`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::Digest;
use skiff_core::config::SourceFile;
use skiff_core::metrics::{Kind, PROWJOBS, QUEUE_AGE, RECORDED, seconds_between};
use skiff_core::ports::JobQuery;
use skiff_core::prowjob::ProwJob;
use skiff_core::prowjob::labels::RETEST;

use super::*;

/// The most records `/metrics` counts for `prowjobs` (the deck's bound):
/// the newest, so a store past it under-counts old finished jobs.
pub const MAX_COUNTED: usize = 10_000;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// change nothing), with Prow's histogram buckets and every metric's help.
pub fn install() {
    HANDLE.get_or_init(|| {
        let bucketed = RECORDED
            .iter()
            .filter(|m| !m.buckets.is_empty())
            .try_fold(PrometheusBuilder::new(), |b, m| {
                b.set_buckets_for_metric(Matcher::Full(m.name.to_string()), m.buckets)
            });
        // Only empty buckets are refused, and none is empty.
        let builder = bucketed.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "histograms become summaries");
            PrometheusBuilder::new()
        });
        match builder.install_recorder() {
            Ok(handle) => {
                for m in RECORDED {
                    let help = m.help;
                    match m.kind {
                        Kind::Counter => ::metrics::describe_counter!(m.name, help),
                        Kind::Gauge => ::metrics::describe_gauge!(m.name, help),
                        Kind::Histogram => ::metrics::describe_histogram!(m.name, help),
                    }
                }
                Some(handle)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics are not recorded; /metrics shows the job store only");
                None
            }
        }
    });
}

/// What `/health` and `/metrics` need that the engine does not hold.
pub struct DevHealth {
    /// The config files' digest and when they were loaded.
    pub config: skiff_deck::ConfigVersion,
    /// When the reporter last wrote GitHub's rate limits.
    pub rate_limits: skiff_reporter::RateLimitNotes,
}

impl DevHealth {
    /// For the config read from `files` now.
    pub fn new(files: &[SourceFile], now: jiff::Timestamp) -> DevHealth {
        let mut digest = sha2::Sha256::new();
        for f in files {
            digest.update(f.path.as_bytes());
            digest.update([0]);
            digest.update(f.text.as_bytes());
            digest.update([0]);
        }
        let hex: String = digest.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        DevHealth {
            config: skiff_deck::ConfigVersion {
                version: hex,
                loaded_at: now,
                source: paths.join(", "),
            },
            rate_limits: skiff_reporter::RateLimitNotes::default(),
        }
    }
}

/// The deck's options in `skiff dev`: its SQLite queues and config version
/// for `/health`.
pub fn deck_options(dev: &Dev) -> skiff_deck::DeckOptions {
    let e = &dev.engine;
    let watch = |name: &str, queue: &Arc<dyn Queue>| skiff_deck::WatchedQueue {
        name: name.to_string(),
        queue: queue.clone(),
    };
    skiff_deck::DeckOptions {
        health: skiff_deck::Health {
            queues: vec![
                watch("events", &e.events),
                watch("dispatch", &e.dispatch),
                watch("reports", &e.reports),
                watch("comments", &e.comments),
            ],
            config: Some(dev.health.config.clone()),
        },
        ..skiff_deck::DeckOptions::default()
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(dev): State<Arc<Dev>>) -> Response {
    let mut text = match HANDLE.get() {
        Some(Some(handle)) => {
            handle.run_upkeep();
            handle.render()
        }
        _ => String::new(),
    };
    let e = &dev.engine;
    match e.store.list(&JobQuery::All, Some(MAX_COUNTED)).await {
        Ok(jobs) => prowjobs(&mut text, &jobs, &e.config.prow.prowjob_namespace),
        Err(err) => {
            tracing::warn!(error = %err, "/metrics: cannot read the job store");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the job store: {err}\n"),
            )
                .into_response();
        }
    }
    let now = e.clock.now();
    let mut ages = Vec::new();
    for (name, queue) in [
        ("events", &e.events),
        ("dispatch", &e.dispatch),
        ("reports", &e.reports),
        ("comments", &e.comments),
    ] {
        if let Ok(Some(depth)) = queue.depth().await {
            let age = depth.oldest_sent.map_or(0.0, |t| seconds_between(t, now));
            ages.push((name, age));
        }
    }
    if !ages.is_empty() {
        let _ = writeln!(text, "# HELP {} {}", QUEUE_AGE.name, QUEUE_AGE.help);
        let _ = writeln!(text, "# TYPE {} gauge", QUEUE_AGE.name);
        for (name, age) in ages {
            let _ = writeln!(text, "{}{{queue=\"{name}\"}} {age}", QUEUE_AGE.name);
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Appends Prow's `prowjobs` gauge: the records counted by Prow's labels.
/// A record names no namespace (it is no Kubernetes object): it counts in
/// `namespace`, the config's `prowjob_namespace`.
fn prowjobs(text: &mut String, jobs: &[ProwJob], namespace: &str) {
    let mut counts: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for j in jobs {
        *counts.entry(labels(j, namespace)).or_default() += 1;
    }
    let _ = writeln!(text, "# HELP {} {}", PROWJOBS.name, PROWJOBS.help);
    let _ = writeln!(text, "# TYPE {} gauge", PROWJOBS.name);
    for (values, n) in counts {
        let pairs: Vec<String> = PROWJOBS
            .labels
            .iter()
            .zip(&values)
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(text, "{}{{{}}} {n}", PROWJOBS.name, pairs.join(","));
    }
}

/// A record's values of [`PROWJOBS`]' labels, in order (Prow's
/// `getJobLabel`: the main refs, else the first extra refs).
fn labels(j: &ProwJob, namespace: &str) -> Vec<String> {
    let refs = j.spec.refs.as_ref().or(j.spec.extra_refs.first());
    let (org, repo, base_ref) = refs.map_or(("", "", ""), |r| {
        (r.org.as_str(), r.repo.as_str(), r.base_ref.as_str())
    });
    let retest = j.metadata.labels.get(RETEST).is_some_and(|v| v == "true");
    let ns = if j.metadata.namespace.is_empty() {
        namespace
    } else {
        &j.metadata.namespace
    };
    vec![
        ns.to_string(),
        j.spec.job.clone(),
        j.spec.r#type.map_or("", |t| t.as_str()).to_string(),
        j.status.state.map_or("", |s| s.as_str()).to_string(),
        org.to_string(),
        repo.to_string(),
        base_ref.to_string(),
        j.spec.cluster.clone(),
        retest.to_string(),
    ]
}

/// A label value as the text format wants it: `\`, `"` and newlines
/// escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{ProwJobState, ProwJobType, Refs};

    #[test]
    fn prowjobs_counts_records_by_prows_labels_and_escapes_values() {
        let job = |state, org: &str| {
            let mut j = ProwJob::default();
            j.spec.job = "unit".into();
            j.spec.r#type = Some(ProwJobType::Presubmit);
            j.spec.cluster = "default".into();
            j.status.state = Some(state);
            j.spec.refs = Some(Refs {
                org: org.into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                ..Refs::default()
            });
            j
        };
        let mut retest = job(ProwJobState::Success, "acme");
        retest.metadata.labels.insert(RETEST.into(), "true".into());
        let jobs = [
            job(ProwJobState::Success, "acme"),
            job(ProwJobState::Success, "acme"),
            retest,
            job(ProwJobState::Pending, "a\"b"),
        ];
        let mut text = String::new();
        prowjobs(&mut text, &jobs, "default");
        assert!(text.contains(
            "prowjobs{job_namespace=\"default\",job_name=\"unit\",type=\"presubmit\",state=\"success\",org=\"acme\",repo=\"widgets\",base_ref=\"main\",cluster=\"default\",retest=\"false\"} 2\n"
        ), "{text}");
        assert!(text.contains("retest=\"true\"} 1\n"), "{text}");
        assert!(text.contains("org=\"a\\\"b\""), "{text}");
        assert!(text.starts_with("# HELP prowjobs "), "{text}");
    }
}
