//! A panic in one handler of `skiff dev` fails that message or that request;
//! the loops and the server go on serving. The panics are injected through the
//! twins (`Faults::panic_next`) put in place of the SQLite store and queue.

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::Request;
use clap::Parser;
use hmac::{Hmac, Mac};
use serde_json::json;
use skiff_core::ports::JobQuery;
use skiff_local::memory::{ManualClock, MemoryQueue, MemoryStore};
use tower::ServiceExt;

use super::*;

const SECRET: &str = "panic-secret";

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    dev: Args,
}

/// `skiff dev` on a temporary dir, with its store and events queue replaced
/// by twins on `clock`; a postsubmit on `acme/widgets`'s `main`.
async fn dev(
    dir: &Path,
    clock: Arc<ManualClock>,
) -> (Arc<Dev>, Arc<MemoryStore>, Arc<MemoryQueue>) {
    let jobs = "postsubmits:\n  acme/widgets:\n  - name: build\n    branches: [main]\n    spec: {containers: [{image: alpine, command: [/bin/true]}]}\n";
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").expect("config");
    std::fs::write(dir.join("jobs.yaml"), jobs).expect("jobs");
    std::fs::write(dir.join("secret"), format!("{SECRET}\n")).expect("secret");
    let arg = |p: &str| dir.join(p).display().to_string();
    let cli = Cli::parse_from([
        "skiff".to_string(),
        "--config-path".into(),
        arg("config.yaml"),
        "--job-config-path".into(),
        arg("jobs.yaml"),
        "--hmac-secret-file".into(),
        arg("secret"),
        "--state-dir".into(),
        arg("state"),
        "--github-api-url".into(),
        "http://127.0.0.1:9".into(),
    ]);
    let built = build(&cli.dev).await.expect("skiff dev builds");
    let Ok(mut dev) = Arc::try_unwrap(built) else {
        panic!("the engine is shared already");
    };
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let events = Arc::new(MemoryQueue::new(clock.clone()));
    dev.engine.store = store.clone();
    dev.engine.events = events.clone();
    dev.engine.clock = clock;
    (Arc::new(dev), store, events)
}

fn push(after: &str) -> serde_json::Value {
    json!({
        "ref": "refs/heads/main", "before": "0000000000000000000000000000000000000001",
        "after": after, "deleted": false, "created": false,
        "repository": {"name": "widgets", "full_name": "acme/widgets",
                       "owner": {"login": "acme", "name": "acme"}},
        "pusher": {"name": "alice"}, "commits": [],
    })
}

async fn post(dev: &Arc<Dev>, req: Request<Body>) -> (u16, String) {
    let app = router(dev.clone()).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
    let resp = app.oneshot(req).await.expect("an answer");
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn hook(delivery: &str, body: &serde_json::Value) -> Request<Body> {
    let bytes = body.to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
    mac.update(bytes.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Request::post("/hook")
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", format!("sha256={hex}"))
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .expect("a request")
}

async fn builds(store: &MemoryStore) -> Vec<String> {
    let mut shas: Vec<String> = store
        .list(&JobQuery::All, None)
        .await
        .expect("the records")
        .into_iter()
        .filter_map(|j| j.spec.refs.map(|r| r.base_sha))
        .collect();
    shas.sort();
    shas
}

#[tokio::test]
async fn a_request_whose_handler_panics_is_answered_500_and_the_next_one_is_served() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let clock = Arc::new(ManualClock::new(
        "2026-12-05T12:00:00Z".parse().expect("a time"),
    ));
    let (dev, store, events) = dev(dir.path(), clock).await;

    // The deck: the store's list panics once.
    store.faults().panic_next("list", 1);
    let page = || Request::get("/").body(Body::empty()).expect("a request");
    let (status, body) = post(&dev, page()).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        post(&dev, page()).await.0,
        200,
        "the next request is served"
    );

    // The webhook: the claim panics once; GitHub's redelivery is queued.
    store.faults().panic_next("claim", 1);
    let (status, body) = post(
        &dev,
        hook("d-1", &push("1111111111111111111111111111111111111111")),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert!(events.is_empty(), "nothing queued by the panicked attempt");
    let again = post(
        &dev,
        hook("d-1", &push("1111111111111111111111111111111111111111")),
    )
    .await;
    assert_eq!(again, (200, "queued".to_string()));
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn a_message_whose_handling_panics_fails_alone_and_the_loops_serve_the_next() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let clock = Arc::new(ManualClock::new(
        "2026-12-05T12:00:00Z".parse().expect("a time"),
    ));
    let (dev, store, events) = dev(dir.path(), clock.clone()).await;
    let a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    for (delivery, sha) in [("d-a", a), ("d-b", b)] {
        assert_eq!(post(&dev, hook(delivery, &push(sha))).await.0, 200);
    }

    // The first record the trigger creates panics: in the batch, and again
    // when `d-a` is tried alone — a poison message. `d-b` is handled.
    store.faults().panic_next("create", 2);
    let (stop_tx, stop) = watch::channel(false);
    let timing = Timing {
        queues: Duration::from_millis(20),
        tick: Duration::from_secs(3600),
        sync: Duration::from_secs(3600),
        report: Duration::from_secs(3600),
        sweep: Duration::from_secs(3600),
        tide: Duration::from_secs(3600),
    };
    let loops = spawn_loops(&dev, timing, stop);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while builds(&store).await != [b] {
        assert!(
            std::time::Instant::now() < until,
            "{:?}",
            builds(&store).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(events.dead_letters(), Vec::<String>::new());

    // `d-a` was not acknowledged: past the visibility timeout the same loop
    // takes it again, and now it goes through.
    clock.advance(Duration::from_secs(31));
    while builds(&store).await != [a, b] {
        assert!(
            std::time::Instant::now() < until,
            "{:?}",
            builds(&store).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    for l in loops {
        l.await
            .expect("every loop ends cleanly, none died of the panic");
    }
}
