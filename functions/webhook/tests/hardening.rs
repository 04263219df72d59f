//! The webhook under a bug and under hostile bodies, over the twins: a panic
//! is answered 500 and the next delivery is served; JSON nested deeper than
//! serde_json can read into a tree (127 levels) is refused with a 400 naming
//! the depth, however deep it goes.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use skiff_testkit::{ManualClock, MemoryQueue, MemoryStore};
use skiff_webhook::{WebhookConfig, WebhookDeps, WebhookRequest, WebhookResponse, handle};

const SECRET: &[u8] = b"hardening-secret";

fn request(event: &str, delivery: &str, body: &[u8]) -> WebhookRequest {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("a key");
    mac.update(body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    WebhookRequest {
        headers: vec![
            ("X-GitHub-Event".into(), event.into()),
            ("X-GitHub-Delivery".into(), delivery.into()),
            ("X-Hub-Signature-256".into(), signature),
        ],
        body: body.to_vec(),
    }
}

struct World {
    store: MemoryStore,
    events: MemoryQueue,
    clock: Arc<ManualClock>,
    config: WebhookConfig,
}

impl World {
    fn new() -> World {
        let clock = Arc::new(ManualClock::new(
            "2026-12-05T12:00:00Z".parse().expect("a time"),
        ));
        World {
            store: MemoryStore::new(clock.clone()),
            events: MemoryQueue::new(clock.clone()),
            clock,
            config: WebhookConfig::new(vec![SECRET.to_vec()]),
        }
    }

    async fn deliver(&self, req: &WebhookRequest) -> WebhookResponse {
        let deps = WebhookDeps {
            store: &self.store,
            events: &self.events,
            clock: self.clock.as_ref(),
            config: &self.config,
        };
        handle(req, &deps).await
    }
}

#[tokio::test]
async fn a_panic_is_answered_500_and_the_redelivery_is_queued() {
    let w = World::new();
    let body = br#"{"ref":"refs/heads/main"}"#;
    // The send panics after the claim was taken: the claim holds the
    // delivery until its lease ends, as after a crash at that point.
    w.events.faults().panic_next("send", 1);
    let first = w.deliver(&request("push", "d-1", body)).await;
    assert_eq!(first.status, 500, "{}", first.body);
    assert!(first.body.contains("redeliver"), "{}", first.body);
    assert!(w.events.is_empty());

    let held = w.deliver(&request("push", "d-1", body)).await;
    assert_eq!(held.status, 503, "the claim still holds: {}", held.body);
    w.clock
        .advance(w.config.claim_lease + std::time::Duration::from_secs(1));
    let again = w.deliver(&request("push", "d-1", body)).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (200, "queued"),
        "the same handler serves the redelivery"
    );
    assert_eq!(w.events.len(), 1);
}

/// An object around `depth - 1` arrays inside one another, `depth` levels
/// in all: `{"a":0}`, `{"a":[0]}`, `{"a":[[0]]}` …
fn nested(depth: usize) -> Vec<u8> {
    let inner = depth - 1;
    format!("{{\"a\":{}0{}}}", "[".repeat(inner), "]".repeat(inner)).into_bytes()
}

#[tokio::test]
async fn json_nested_up_to_127_levels_is_queued_and_deeper_is_refused_400() {
    let w = World::new();
    let limit = skiff_webhook::MAX_JSON_DEPTH;
    assert_eq!(limit, 127);
    for (depth, status) in [
        (1, 200),
        (64, 200),
        (limit, 200),
        (limit + 1, 400),
        (10_000, 400),
        // 5 MB of brackets: refused without recursing (no stack overflow).
        (2_500_000, 400),
    ] {
        let delivery = format!("depth-{depth}");
        let resp = w.deliver(&request("push", &delivery, &nested(depth))).await;
        assert_eq!(resp.status, status, "{depth} levels: {}", resp.body);
        if status == 400 {
            assert_eq!(
                resp.body,
                format!(
                    "body is JSON nested {depth} levels deep; the limit is 127 (GitHub's own nest at most 7)"
                ),
            );
        }
    }
    assert_eq!(w.events.len(), 3, "only the bodies within the limit");
}
