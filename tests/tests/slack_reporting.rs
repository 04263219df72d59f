//! Reporting to Slack end to end: webhook, trigger, dispatcher, syncer and
//! reporter in process (tests/tests/support), with `SlackWebhooks` posting
//! over HTTP to a fake incoming webhook in this test. A job's
//! `reporter_config.slack` names the states Slack hears about; the webhook
//! URL is a credential and must never show in a log line or an error.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::post;
use serde_json::{Value, json};
use skiff_core::keys::SLACK_REPORTER;
use skiff_core::ports::{Chat, Queue};
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::ReporterDeps;
use skiff_scm::SlackWebhooks;
use support::*;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// The part of the webhook URL that is the credential.
const SECRET: &str = "xS3cr3tW3bh00kT0k3n";
const CHANNEL: &str = "#widgets-ci";

const CONFIG: &str =
    "skiff:\n  deck_url: https://deck.example.com\n  reporting:\n    triggered_report_delay: 0s\n";

/// `unit` and `lint` tell Slack about failures; `ops-e2e` reports through
/// the `ops` webhook, which cannot be reached.
const JOBS: &str = r##"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    reporter_config: {slack: {channel: "#widgets-ci", job_states_to_report: [failure]}}
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: lint
    always_run: true
    reporter_config: {slack: {channel: "#widgets-ci", job_states_to_report: [failure]}}
    spec: {containers: [{image: golang, command: [make, lint]}]}
  - name: ops-e2e
    always_run: true
    reporter_config: {slack: {host: ops, channel: "#ops", job_states_to_report: [failure]}}
    spec: {containers: [{image: golang, command: [make, e2e]}]}
"##;

/// A Slack incoming webhook: what it received, and how many of the next
/// requests it fails.
#[derive(Default)]
struct Hook {
    /// `(path, body, answered with)` of every request.
    received: Vec<(String, Value, u16)>,
    fail_next: usize,
}

async fn incoming(
    State(hook): State<Arc<Mutex<Hook>>>,
    uri: Uri,
    body: Bytes,
) -> (StatusCode, String) {
    let mut h = hook.lock().unwrap_or_else(|p| p.into_inner());
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if h.fail_next > 0 {
        h.fail_next -= 1;
        h.received.push((uri.path().to_owned(), body, 500));
        // Slack's answer when it cannot take the message now.
        return (StatusCode::INTERNAL_SERVER_ERROR, "rollup_error".into());
    }
    h.received.push((uri.path().to_owned(), body, 200));
    (StatusCode::OK, "ok".into())
}

/// Starts the webhook on this test's runtime; returns its URL.
async fn slack_webhook(hook: Arc<Mutex<Hook>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/services/{team}/{bot}/{token}", post(incoming))
        .with_state(hook);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/services/T0SKIFF/B0SKIFF/{SECRET}")
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    l.local_addr().expect("addr").port()
}

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

struct World {
    ci: Ci,
    slack: SlackWebhooks,
    cursor: Mutex<i64>,
}

impl World {
    fn deps(&self) -> ReporterDeps<'_> {
        ReporterDeps {
            config: &self.ci.config,
            store: &self.ci.store,
            scm: self.ci.scm.as_ref(),
            clock: self.ci.clock.as_ref(),
            logs: None,
            codecommit: None,
            chat: Some(&self.slack),
            reports: Some(&self.ci.reports),
            comments: Some(&self.ci.comments),
        }
    }

    /// Reports the stream's changes after `after`.
    async fn report_from(&self, after: i64) -> usize {
        self.ci
            .report_stream(&self.cursor, Some(after), &self.deps())
            .await
    }

    async fn report(&self) -> usize {
        let after = *self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        self.report_from(after).await
    }

    /// Hands what the `reports` queue shows now to the reporter, as SQS
    /// would.
    async fn report_retries(&self) -> usize {
        let messages = self.ci.reports.receive(10).await.expect("receive");
        let outcome = Box::pin(skiff_reporter::handle_reports(&messages, &self.deps())).await;
        let mut done = Vec::new();
        for m in &messages {
            if let Some((_, delay)) = outcome.retry_after.iter().find(|(r, _)| *r == m.receipt) {
                self.ci
                    .reports
                    .retry_later(&m.receipt, *delay)
                    .await
                    .expect("retry later");
            } else if !outcome.retry.contains(&m.receipt) {
                done.push(m.receipt.clone());
            }
        }
        self.ci.reports.ack(&done).await.expect("ack");
        messages.len()
    }

    async fn settle(&self) {
        for _ in 0..20 {
            if self.ci.trigger().await + self.ci.dispatch().await + self.report().await == 0 {
                return;
            }
        }
        panic!("did not settle");
    }

    async fn finish(&self, job: &str, ok: bool) {
        self.ci.advance(30);
        self.ci.cluster.finish_job(job, ok, self.ci.now());
        self.ci.sync().await;
        self.settle().await;
    }

    async fn slack_state(&self, job: &str) -> Option<ProwJobState> {
        self.ci
            .runs(job)
            .await
            .first()
            .and_then(|j| j.status.prev_report_states.get(SLACK_REPORTER).copied())
    }
}

#[tokio::test]
async fn only_listed_states_reach_slack_once_and_the_webhook_url_is_never_logged() {
    let logs = Logs::default();
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish()
        .set_default();

    let hook = Arc::new(Mutex::new(Hook::default()));
    let url = slack_webhook(hook.clone()).await;
    let ops = format!(
        "http://127.0.0.1:{}/services/T0OPS/B0OPS/{SECRET}",
        closed_port().await
    );
    let slack = SlackWebhooks::parse(&format!("{url}\nops={ops}\n")).expect("webhooks");
    assert!(!format!("{slack:?}").contains(SECRET));
    let w = World {
        ci: Ci::new(CONFIG, JOBS, github_with_pr(), Auth::Token).await,
        slack,
        cursor: Mutex::new(0),
    };
    let (status, _) =
        w.ci.deliver(
            "pull_request",
            "d-open",
            &pr_event("opened", &pull(1, "alice", HEAD)),
        )
        .await;
    assert_eq!(status, 200);
    w.settle().await;
    assert_eq!(w.ci.jobs().await.len(), 3);
    let received = || {
        hook.lock()
            .unwrap_or_else(|p| p.into_inner())
            .received
            .clone()
    };
    assert!(
        received().is_empty(),
        "triggered and pending are not listed"
    );

    // A success is not listed: no message.
    w.finish("unit", true).await;
    assert!(received().is_empty(), "{:?}", received());
    assert_eq!(w.slack_state("unit").await, None);

    // A failure is. Slack cannot take it now: the report waits on the
    // queue and gets through on a retry — one message in the channel.
    hook.lock().unwrap_or_else(|p| p.into_inner()).fail_next = usize::MAX;
    w.finish("lint", false).await;
    let tries = received();
    assert!(
        !tries.is_empty() && tries.iter().all(|t| t.2 == 500),
        "{tries:?}"
    );
    assert_eq!(w.slack_state("lint").await, None, "not sent yet");
    hook.lock().unwrap_or_else(|p| p.into_inner()).fail_next = 0;
    w.ci.advance(60);
    while w.report_retries().await > 0 {}
    let got = received();
    assert_eq!(got.len(), tries.len() + 1, "{got:?}");
    assert_eq!(got.last().map(|t| t.2), Some(200), "{got:?}");
    let lint = w.ci.runs("lint").await;
    let expected = json!({
        "text": format!(
            "Job lint of type presubmit ended with state failure. <{}|View logs>",
            lint[0].status.url
        ),
        "channel": CHANNEL,
    });
    assert!(
        lint[0]
            .status
            .url
            .starts_with("https://deck.example.com/view/"),
        "{}",
        lint[0].status.url
    );
    for (path, body, _) in &got {
        assert_eq!(path, &format!("/services/T0SKIFF/B0SKIFF/{SECRET}"));
        assert_eq!(body, &expected);
    }
    assert_eq!(w.slack_state("lint").await, Some(ProwJobState::Failure));

    // Reported once: the stream's changes again send nothing.
    assert!(w.report_from(0).await >= 3);
    while w.report_retries().await > 0 {}
    assert_eq!(received().len(), got.len());

    // The `ops` webhook cannot be reached: the report waits to be retried,
    // and says why without the URL.
    w.finish("ops-e2e", false).await;
    assert_eq!(w.slack_state("ops-e2e").await, None);
    let err = w
        .slack
        .post("ops", "#ops", "hello")
        .await
        .expect_err("nothing listens");
    let err = err.to_string();
    assert!(err.contains("Slack webhook of host \"ops\""), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        !err.contains(SECRET) && !err.contains("/services/"),
        "{err}"
    );
    let err = w
        .slack
        .post("nightly", "#x", "hello")
        .await
        .expect_err("no such host")
        .to_string();
    assert!(!err.contains(SECRET), "{err}");
    w.ci.advance(60);
    w.report_retries().await;
    assert_eq!(
        received().len(),
        got.len(),
        "the default webhook heard nothing more"
    );

    let text = logs.text();
    assert!(
        text.contains("report failed; retrying later") && text.contains("HTTP 500: rollup_error"),
        "the failures are logged:\n{text}"
    );
    assert!(
        text.contains("cannot connect"),
        "the unreachable webhook is logged:\n{text}"
    );
    assert!(!text.contains(SECRET), "the webhook URL leaked:\n{text}");
    assert!(
        !text.contains("/services/"),
        "the webhook path leaked:\n{text}"
    );
    // Long enough for the spawned server's last answers to be logged too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!logs.text().contains(SECRET));
}
