//! The webhook's answers, one table row per rule, over the in-memory twins
//! of the store and the queue sharing one journal: what a delivery costs in
//! port calls is part of the contract (each is a billed AWS request on the
//! hot path).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::ports::{Clock, JobStore, PortError};
use skiff_testkit::{Journal, ManualClock, MemoryQueue, MemoryStore};
use skiff_webhook::{WebhookConfig, WebhookDeps, WebhookRequest, WebhookResponse, handle};

const SECRET: &[u8] = b"current-secret";
const OLD_SECRET: &[u8] = b"old-secret";
const NOW: i64 = 1_800_000_000;

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

const PR_BODY: &str = r#"{"action":"opened","number":1}"#;

/// A well-formed, correctly signed delivery.
fn delivery(event: &str, id: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        headers: vec![
            ("X-GitHub-Event".into(), event.into()),
            ("X-GitHub-Delivery".into(), id.into()),
            ("X-Hub-Signature-256".into(), sign(SECRET, body.as_bytes())),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn without(mut req: WebhookRequest, header: &str) -> WebhookRequest {
    req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(header));
    req
}

fn with(mut req: WebhookRequest, header: &str, value: &str) -> WebhookRequest {
    req = without(req, header);
    req.headers.push((header.into(), value.into()));
    req
}

fn config() -> WebhookConfig {
    WebhookConfig::new(vec![SECRET.to_vec()])
}

struct World {
    store: MemoryStore,
    events: MemoryQueue,
    clock: Arc<ManualClock>,
    config: WebhookConfig,
}

impl World {
    fn new(config: WebhookConfig) -> Self {
        let clock = Arc::new(ManualClock::new(Timestamp::from_second(NOW).unwrap()));
        // Every port call, store and queue alike, in the order made.
        let journal = Journal::default();
        World {
            store: MemoryStore::new(clock.clone()).with_journal(journal.clone()),
            events: MemoryQueue::new(clock.clone()).with_journal(journal),
            clock,
            config,
        }
    }

    async fn post(&self, req: &WebhookRequest) -> WebhookResponse {
        let deps = WebhookDeps {
            store: &self.store,
            events: &self.events,
            clock: self.clock.as_ref(),
            config: &self.config,
        };
        handle(req, &deps).await
    }

    fn port_calls(&self) -> Vec<String> {
        self.store.journal()
    }

    /// The events queued, in order.
    fn sent(&self) -> Vec<EventMessage> {
        self.events
            .sent()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }
}

struct Case {
    name: &'static str,
    config: WebhookConfig,
    request: WebhookRequest,
    status: u16,
    /// The response body contains this.
    says: &'static str,
    queued: usize,
}

fn cases() -> Vec<Case> {
    let small = WebhookConfig {
        max_body_bytes: 16,
        ..config()
    };
    let rotated = WebhookConfig::new(vec![OLD_SECRET.to_vec(), SECRET.to_vec()]);
    let vector = WebhookConfig::new(vec![b"It's a Secret to Everybody".to_vec()]);
    let not_json = "{\"action\": ";
    vec![
        Case {
            name: "a signed pull_request is queued",
            config: config(),
            request: delivery("pull_request", "d-1", PR_BODY),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "header names are case-insensitive",
            config: config(),
            request: WebhookRequest {
                headers: vec![
                    ("x-github-event".into(), "push".into()),
                    ("x-github-delivery".into(), "d-2".into()),
                    ("x-hub-signature-256".into(), sign(SECRET, b"{}")),
                ],
                body: b"{}".to_vec(),
            },
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "any configured secret is accepted (rotation)",
            config: rotated,
            request: delivery("issue_comment", "d-3", PR_BODY),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "github's documented test vector passes the signature check",
            config: vector,
            request: with(
                delivery("push", "d-4", "Hello, World!"),
                "X-Hub-Signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            ),
            // Signed correctly, so the next check speaks: it is not JSON.
            status: 400,
            says: "not valid JSON",
            queued: 0,
        },
        Case {
            name: "a wrong signature is refused",
            config: config(),
            request: with(
                delivery("pull_request", "d-5", PR_BODY),
                "X-Hub-Signature-256",
                &sign(b"someone else's secret", PR_BODY.as_bytes()),
            ),
            status: 401,
            says: "does not match",
            queued: 0,
        },
        Case {
            name: "a signature of another body is refused",
            config: config(),
            request: with(
                delivery("pull_request", "d-6", PR_BODY),
                "X-Hub-Signature-256",
                &sign(SECRET, b"{}"),
            ),
            status: 401,
            says: "does not match",
            queued: 0,
        },
        Case {
            name: "a missing signature is refused",
            config: config(),
            request: without(
                delivery("pull_request", "d-7", PR_BODY),
                "X-Hub-Signature-256",
            ),
            status: 401,
            says: "missing header X-Hub-Signature-256",
            queued: 0,
        },
        Case {
            name: "the sha1 header alone is refused",
            config: config(),
            request: with(
                without(
                    delivery("pull_request", "d-8", PR_BODY),
                    "X-Hub-Signature-256",
                ),
                "X-Hub-Signature",
                "sha1=0123456789abcdef0123456789abcdef01234567",
            ),
            status: 401,
            says: "missing header X-Hub-Signature-256",
            queued: 0,
        },
        Case {
            name: "a signature without the sha256= prefix is malformed",
            config: config(),
            request: with(
                delivery("pull_request", "d-9", PR_BODY),
                "X-Hub-Signature-256",
                sign(SECRET, PR_BODY.as_bytes())
                    .trim_start_matches("sha256=")
                    .to_string()
                    .as_str(),
            ),
            status: 401,
            says: "malformed",
            queued: 0,
        },
        Case {
            name: "a signature of the wrong length is malformed",
            config: config(),
            request: with(
                delivery("pull_request", "d-10", PR_BODY),
                "X-Hub-Signature-256",
                "sha256=abcd",
            ),
            status: 401,
            says: "malformed",
            queued: 0,
        },
        Case {
            name: "a signature that is not hex is malformed",
            config: config(),
            request: with(
                delivery("pull_request", "d-11", PR_BODY),
                "X-Hub-Signature-256",
                &format!("sha256={}", "zz".repeat(32)),
            ),
            status: 401,
            says: "malformed",
            queued: 0,
        },
        Case {
            name: "with no secrets configured nothing is accepted",
            config: WebhookConfig::new(vec![]),
            request: delivery("pull_request", "d-12", PR_BODY),
            status: 401,
            says: "does not match",
            queued: 0,
        },
        Case {
            name: "an empty secret never matches",
            config: WebhookConfig::new(vec![Vec::new()]),
            request: with(
                delivery("pull_request", "d-13", PR_BODY),
                "X-Hub-Signature-256",
                &sign(b"", PR_BODY.as_bytes()),
            ),
            status: 401,
            says: "does not match",
            queued: 0,
        },
        Case {
            name: "a missing event header is named",
            config: config(),
            request: without(delivery("pull_request", "d-14", PR_BODY), "X-GitHub-Event"),
            status: 400,
            says: "missing header X-GitHub-Event",
            queued: 0,
        },
        Case {
            name: "a missing delivery header is named",
            config: config(),
            request: without(
                delivery("pull_request", "d-15", PR_BODY),
                "X-GitHub-Delivery",
            ),
            status: 400,
            says: "missing header X-GitHub-Delivery",
            queued: 0,
        },
        Case {
            name: "an empty delivery header counts as missing",
            config: config(),
            request: with(
                delivery("pull_request", "", PR_BODY),
                "X-GitHub-Delivery",
                " ",
            ),
            status: 400,
            says: "missing header X-GitHub-Delivery",
            queued: 0,
        },
        Case {
            name: "malformed JSON is a 400 with the parse error",
            config: config(),
            request: delivery("pull_request", "d-16", not_json),
            status: 400,
            says: "body is not valid JSON: EOF while parsing",
            queued: 0,
        },
        Case {
            name: "trailing garbage after the JSON is malformed",
            config: config(),
            request: delivery("pull_request", "d-17", "{} {}"),
            status: 400,
            says: "trailing characters",
            queued: 0,
        },
        Case {
            name: "a body that is not UTF-8 is malformed",
            config: config(),
            request: {
                let body = b"{\"a\":\"\xff\"}".to_vec();
                let mut r = delivery("pull_request", "d-18", "");
                r = with(r, "X-Hub-Signature-256", &sign(SECRET, &body));
                r.body = body;
                r
            },
            status: 400,
            says: "not valid JSON",
            queued: 0,
        },
        Case {
            name: "an oversized body is refused before anything else",
            config: small,
            request: without(
                delivery(
                    "pull_request",
                    "d-19",
                    r#"{"action":"opened","padding":"xxxxxx"}"#,
                ),
                "X-Hub-Signature-256",
            ),
            status: 413,
            says: "the limit is 16 bytes",
            queued: 0,
        },
        Case {
            name: "a body of exactly the limit is accepted",
            config: WebhookConfig {
                max_body_bytes: PR_BODY.len(),
                ..config()
            },
            request: delivery("pull_request", "d-20", PR_BODY),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "ping is answered and not queued",
            config: config(),
            request: delivery("ping", "d-21", r#"{"zen":"Keep it logically awesome."}"#),
            status: 200,
            says: "pong",
            queued: 0,
        },
        Case {
            name: "events Skiff never acts on are acknowledged and dropped",
            config: config(),
            request: delivery("star", "d-22", r#"{"action":"created"}"#),
            status: 200,
            says: "ignored star",
            queued: 0,
        },
    ]
}

#[tokio::test]
async fn each_rule_answers_with_its_status() {
    for case in cases() {
        let world = World::new(case.config);
        let got = world.post(&case.request).await;
        assert_eq!(got.status, case.status, "{}: {got:?}", case.name);
        assert!(
            got.body.contains(case.says),
            "{}: body {:?} lacks {:?}",
            case.name,
            got.body,
            case.says
        );
        assert_eq!(world.sent().len(), case.queued, "{}", case.name);
        if case.queued == 0 {
            assert!(
                world.store.keys().is_empty(),
                "{}: nothing may be stored for a delivery that is not queued",
                case.name
            );
            assert!(
                world.port_calls().is_empty(),
                "{}: refused or ignored input must not touch the store or queue: {:?}",
                case.name,
                world.port_calls()
            );
        }
    }
}

#[tokio::test]
async fn a_queued_delivery_costs_a_claim_a_send_and_a_mark() {
    let world = World::new(config());
    let got = world.post(&delivery("pull_request", "d-1", PR_BODY)).await;
    assert_eq!(got.status, 200);
    assert_eq!(world.port_calls(), ["claim", "send", "keep"]);
}

/// The lost-delivery defect: an attempt that died between recording the
/// delivery and queueing it left a key behind, and every redelivery was
/// answered "duplicate" and dropped. A claim that was never marked must
/// turn a redelivery away only until it expires — with a 503, never a 200.
#[tokio::test]
async fn a_delivery_whose_attempt_died_before_queueing_is_taken_once_its_claim_expires() {
    let world = World::new(config());
    let now = world.clock.now();
    // What the dead attempt left: its claim, and no message.
    let claimed = world
        .store
        .claim(
            "delivery/d-1",
            now.checked_add(Duration::from_secs(60)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(claimed, skiff_core::ports::Claim::Taken);
    let req = delivery("pull_request", "d-1", PR_BODY);

    let during = world.post(&req).await;
    assert_eq!(during.status, 503, "{during:?}");
    assert!(during.body.contains("try again"), "{during:?}");
    assert!(world.sent().is_empty());

    world.clock.advance(Duration::from_secs(60));
    let after = world.post(&req).await;
    assert_eq!((after.status, after.body.as_str()), (200, "queued"));
    assert_eq!(world.sent().len(), 1);
    let again = world.post(&req).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (200, "duplicate delivery")
    );
    assert_eq!(world.sent().len(), 1);
}

/// A send that succeeded with a mark that failed: the delivery is queued
/// (200), its claim keeps redeliveries out for the lease, and after it a
/// redelivery is queued again — a second message the trigger absorbs,
/// never a lost one.
#[tokio::test]
async fn a_queued_delivery_whose_mark_failed_is_answered_queued_and_taken_again_later() {
    let world = World::new(config());
    world
        .store
        .faults()
        .next("keep", PortError::Unavailable("table throttled".into()));
    let req = delivery("pull_request", "d-1", PR_BODY);
    let first = world.post(&req).await;
    assert_eq!((first.status, first.body.as_str()), (200, "queued"));
    assert_eq!(world.post(&req).await.status, 503);
    world.clock.advance(Duration::from_secs(61));
    assert_eq!(world.post(&req).await.body, "queued");
    assert_eq!(world.sent().len(), 2);
}

#[tokio::test]
async fn the_queued_message_is_the_raw_event_with_its_delivery() {
    let world = World::new(config());
    world.post(&delivery("pull_request", "d-1", PR_BODY)).await;
    assert_eq!(
        world.sent(),
        [EventMessage {
            source: EventSource::Github,
            event: "pull_request".into(),
            delivery: "d-1".into(),
            body: PR_BODY.into(),
            // Kept for the external plugins, which check it themselves.
            signature: sign(SECRET, PR_BODY.as_bytes()),
        }]
    );
    // The twin shows no expiry, only whether a key is live: the key must
    // be live up to the last instant before NOW + 7 days and gone at it.
    let expires = Timestamp::from_second(NOW + 7 * 24 * 3600).unwrap();
    world
        .clock
        .set(expires.checked_sub(Duration::from_nanos(1)).unwrap());
    assert!(
        world.store.knows_key("delivery/d-1"),
        "default TTL is 7 days"
    );
    world.clock.set(expires);
    assert!(
        !world.store.knows_key("delivery/d-1"),
        "default TTL is 7 days"
    );
}

#[tokio::test]
async fn a_redelivery_is_queued_once() {
    let world = World::new(config());
    let req = delivery("pull_request", "d-1", PR_BODY);
    let first = world.post(&req).await;
    let second = world.post(&req).await;
    assert_eq!((first.status, first.body.as_str()), (200, "queued"));
    assert_eq!(
        (second.status, second.body.as_str()),
        (200, "duplicate delivery")
    );
    assert_eq!(world.sent().len(), 1);
    // A different delivery of the same body is a different event.
    let other = world.post(&delivery("pull_request", "d-2", PR_BODY)).await;
    assert_eq!(other.body, "queued");
    assert_eq!(world.sent().len(), 2);
}

#[tokio::test]
async fn a_queue_failure_is_503_and_forgets_the_delivery_so_a_retry_succeeds() {
    let world = World::new(config());
    world
        .events
        .faults()
        .next("send", PortError::Unavailable("SQS 500".into()));
    let req = delivery("pull_request", "d-1", PR_BODY);
    let failed = world.post(&req).await;
    assert_eq!(failed.status, 503, "{failed:?}");
    assert!(
        world.store.keys().is_empty(),
        "the delivery must be forgotten"
    );
    assert_eq!(world.port_calls(), ["claim", "send", "forget"]);
    let retried = world.post(&req).await;
    assert_eq!((retried.status, retried.body.as_str()), (200, "queued"));
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn a_store_failure_is_503_and_queues_nothing() {
    let world = World::new(config());
    world
        .store
        .faults()
        .next("claim", PortError::Unavailable("table throttled".into()));
    let got = world.post(&delivery("pull_request", "d-1", PR_BODY)).await;
    assert_eq!(got.status, 503, "{got:?}");
    assert!(world.sent().is_empty());
    assert_eq!(world.port_calls(), ["claim"]);
}

#[tokio::test]
async fn a_bad_signature_stores_nothing_so_the_real_delivery_still_counts() {
    let world = World::new(config());
    let forged = with(
        delivery("pull_request", "d-1", PR_BODY),
        "X-Hub-Signature-256",
        &sign(b"guess", PR_BODY.as_bytes()),
    );
    assert_eq!(world.post(&forged).await.status, 401);
    assert!(world.store.keys().is_empty());
    let real = world.post(&delivery("pull_request", "d-1", PR_BODY)).await;
    assert_eq!(real.body, "queued");
}

#[test]
fn the_config_never_prints_its_secrets() {
    let printed = format!("{:?}", WebhookConfig::new(vec![b"hunter2".to_vec()]));
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("1 redacted"), "{printed}");
}
