//! `skiff dev`'s EventBridge door, over the in-memory twins of the store and
//! the queue sharing one journal: who may post (loopback, or signed), what
//! is queued (CodeCommit's three detail-types, byte for byte), and the
//! webhook's dedupe by event id.

use std::net::IpAddr;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Sha256;
use skiff_core::event::{Event, codecommit};
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::ports::PortError;
use skiff_testkit::{Journal, ManualClock, MemoryQueue, MemoryStore};
use skiff_webhook::eventbridge::{
    Admission, CODECOMMIT_DETAIL_TYPES, EventBridgeConfig, EventBridgeDeps, EventBridgeRequest,
    EventBridgeResponse, SIGNATURE_HEADER, handle,
};

const SECRET: &[u8] = b"dev-secret";
const NOW: i64 = 1_800_000_000;

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A CodeCommit push as EventBridge delivers it, with event id `id`.
fn push(id: &str) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit", "account": "123456789012", "time": "2026-12-04T16:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:codecommit:us-east-1:123456789012:widgets"],
        "detail": {"event": "referenceUpdated", "repositoryName": "widgets",
                   "referenceType": "branch", "referenceName": "main",
                   "referenceFullName": "refs/heads/main",
                   "commitId": "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9",
                   "oldCommitId": "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"}
    })
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// An unsigned request from `peer`.
fn from(peer: &str, body: Vec<u8>) -> EventBridgeRequest {
    EventBridgeRequest {
        peer: ip(peer),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body,
    }
}

/// `req` with its body signed by `secret`.
fn signed(mut req: EventBridgeRequest, secret: &[u8]) -> EventBridgeRequest {
    let signature = sign(secret, &req.body);
    req.headers.push((SIGNATURE_HEADER.into(), signature));
    req
}

fn with_header(mut req: EventBridgeRequest, value: &str) -> EventBridgeRequest {
    req.headers.push((SIGNATURE_HEADER.into(), value.into()));
    req
}

fn loopback_only() -> EventBridgeConfig {
    EventBridgeConfig::new(Admission::Loopback)
}

fn signing() -> EventBridgeConfig {
    EventBridgeConfig::new(Admission::Signed(vec![SECRET.to_vec()]))
}

struct World {
    store: MemoryStore,
    events: MemoryQueue,
    clock: Arc<ManualClock>,
    config: EventBridgeConfig,
}

impl World {
    fn new(config: EventBridgeConfig) -> Self {
        let clock = Arc::new(ManualClock::new(Timestamp::from_second(NOW).unwrap()));
        let journal = Journal::default();
        World {
            store: MemoryStore::new(clock.clone()).with_journal(journal.clone()),
            events: MemoryQueue::new(clock.clone()).with_journal(journal),
            clock,
            config,
        }
    }

    async fn post(&self, req: &EventBridgeRequest) -> EventBridgeResponse {
        let deps = EventBridgeDeps {
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

    /// The raw bodies queued, in order.
    fn sent(&self) -> Vec<String> {
        self.events.sent()
    }
}

struct Case {
    name: &'static str,
    config: EventBridgeConfig,
    request: EventBridgeRequest,
    status: u16,
    /// The response body contains this.
    says: &'static str,
    queued: usize,
}

fn cases() -> Vec<Case> {
    let one = || body(&push("ev-1"));
    let small = EventBridgeConfig {
        max_body_bytes: 16,
        ..loopback_only()
    };
    let rotated = EventBridgeConfig::new(Admission::Signed(vec![b"old".to_vec(), SECRET.to_vec()]));
    let event_without = |field: &str| {
        let mut e = push("ev-x");
        e.as_object_mut().unwrap().remove(field);
        body(&e)
    };
    let event_with = |field: &str, value: Value| {
        let mut e = push("ev-x");
        e[field] = value;
        body(&e)
    };
    vec![
        Case {
            name: "unsigned from loopback is queued when no secret is configured",
            config: loopback_only(),
            request: from("127.0.0.1", one()),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "IPv6 loopback is loopback",
            config: loopback_only(),
            request: from("::1", one()),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "an IPv4-mapped loopback peer (dual-stack listener) is loopback",
            config: loopback_only(),
            request: from("::ffff:127.0.0.1", one()),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "unsigned from another machine is refused with the reason",
            config: loopback_only(),
            request: from("192.0.2.7", one()),
            status: 403,
            says: "192.0.2.7 is not a loopback address",
            queued: 0,
        },
        Case {
            name: "a signature does not open the loopback-only door to another machine",
            config: loopback_only(),
            request: signed(from("192.0.2.7", one()), SECRET),
            status: 403,
            says: "not a loopback address",
            queued: 0,
        },
        Case {
            name: "with a secret, a signed event from another machine is queued",
            config: signing(),
            request: signed(from("192.0.2.7", one()), SECRET),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "with a secret, any configured secret signs (rotation)",
            config: rotated,
            request: signed(from("127.0.0.1", one()), SECRET),
            status: 200,
            says: "queued",
            queued: 1,
        },
        Case {
            name: "with a secret, unsigned is 401 even from loopback",
            config: signing(),
            request: from("127.0.0.1", one()),
            status: 401,
            says: "missing header X-Skiff-Signature-256",
            queued: 0,
        },
        Case {
            name: "with a secret, a wrong signature is 403",
            config: signing(),
            request: signed(from("127.0.0.1", one()), b"another secret"),
            status: 403,
            says: "does not match",
            queued: 0,
        },
        Case {
            name: "with a secret, a malformed signature is 403",
            config: signing(),
            request: with_header(from("127.0.0.1", one()), "sha256=abcd"),
            status: 403,
            says: "malformed X-Skiff-Signature-256",
            queued: 0,
        },
        Case {
            name: "GitHub's signature header does not sign an EventBridge event",
            config: signing(),
            request: {
                let mut r = from("127.0.0.1", one());
                let s = sign(SECRET, &r.body);
                r.headers.push(("X-Hub-Signature-256".into(), s));
                r
            },
            status: 401,
            says: "missing header X-Skiff-Signature-256",
            queued: 0,
        },
        Case {
            name: "a body over the limit is 413 before anything else",
            config: small,
            request: from("192.0.2.7", one()),
            status: 413,
            says: "the limit is 16 bytes",
            queued: 0,
        },
        Case {
            name: "a body that is not JSON is 400 naming where",
            config: loopback_only(),
            request: from("127.0.0.1", b"{\"id\": ".to_vec()),
            status: 400,
            says: "body is not valid JSON: EOF while parsing a value at line 1 column 7",
            queued: 0,
        },
        Case {
            name: "a body that is not UTF-8 is 400",
            config: loopback_only(),
            request: from("127.0.0.1", vec![b'{', 0xff, b'}']),
            status: 400,
            says: "body is not valid JSON",
            queued: 0,
        },
        Case {
            name: "a JSON value that is neither an event nor an array is 400",
            config: loopback_only(),
            request: from("127.0.0.1", b"42".to_vec()),
            status: 400,
            says: "body is a number: expected an EventBridge event",
            queued: 0,
        },
        Case {
            name: "an empty array is 400",
            config: loopback_only(),
            request: from("127.0.0.1", b"[]".to_vec()),
            status: 400,
            says: "the array holds no event",
            queued: 0,
        },
        Case {
            name: "an event without its id is 400 naming the field",
            config: loopback_only(),
            request: from("127.0.0.1", event_without("id")),
            status: 400,
            says: "not an EventBridge event: missing `id`",
            queued: 0,
        },
        Case {
            name: "an event whose detail-type is not a string is 400 naming the field",
            config: loopback_only(),
            request: from("127.0.0.1", event_with("detail-type", json!(7))),
            status: 400,
            says: "`detail-type` is a number, not a string",
            queued: 0,
        },
        Case {
            name: "an event of another source is answered and ignored",
            config: loopback_only(),
            request: from("127.0.0.1", event_with("source", json!("aws.ec2"))),
            status: 200,
            says: "ignored: the event comes from `aws.ec2`, not from CodeCommit",
            queued: 0,
        },
        Case {
            name: "a CodeCommit detail-type the rule does not match is answered and ignored",
            config: loopback_only(),
            request: from(
                "127.0.0.1",
                event_with("detail-type", json!("CodeCommit Comment on Commit")),
            ),
            status: 200,
            says: "ignored: Skiff does not act on `CodeCommit Comment on Commit` events",
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
        assert!(got.body.contains(case.says), "{}: {got:?}", case.name);
        assert_eq!(
            got.content_type, "text/plain; charset=utf-8",
            "{}",
            case.name
        );
        assert_eq!(world.sent().len(), case.queued, "{}", case.name);
        if case.queued == 0 {
            assert!(
                world.store.keys().is_empty(),
                "{}: a refused or ignored event is not remembered",
                case.name
            );
        }
    }
}

/// On AWS the rule puts the event on the queue as EventBridge has it; the
/// trigger reads exactly that (`EventMessage::from_queue_body`).
#[tokio::test]
async fn the_queued_message_is_the_raw_event_with_its_id_as_the_delivery() {
    let world = World::new(loopback_only());
    let raw = serde_json::to_string_pretty(&push("ev-raw")).unwrap() + "\n";
    let got = world
        .post(&from("127.0.0.1", raw.clone().into_bytes()))
        .await;
    assert_eq!((got.status, got.body.as_str()), (200, "queued"));
    assert_eq!(world.sent(), std::slice::from_ref(&raw), "byte for byte");
    let message = EventMessage::from_queue_body(&world.sent()[0]).unwrap();
    assert_eq!(message.source, EventSource::Codecommit);
    assert_eq!(message.delivery, "ev-raw");
    assert_eq!(message.event, "CodeCommit Repository State Change");
    assert_eq!(message.body, raw);
}

#[tokio::test]
async fn the_same_event_posted_twice_is_queued_once_and_both_answers_are_2xx() {
    let world = World::new(loopback_only());
    let req = from("127.0.0.1", body(&push("ev-1")));
    let first = world.post(&req).await;
    assert_eq!((first.status, first.body.as_str()), (200, "queued"));
    let again = world.post(&req).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (200, "duplicate delivery")
    );
    assert_eq!(world.sent().len(), 1);
    // The webhook's rule and cost: a claim, the send, the mark; a repeat
    // costs one claim that finds the mark.
    assert_eq!(world.port_calls(), ["claim", "send", "keep", "claim"]);
}

/// A refused request writes nothing: had it remembered the event's id, the
/// same event correctly signed would be dropped as a duplicate.
#[tokio::test]
async fn a_refused_event_is_not_remembered_so_the_same_event_signed_is_queued() {
    let world = World::new(signing());
    let unsigned = from("127.0.0.1", body(&push("ev-1")));
    assert_eq!(world.post(&unsigned).await.status, 401);
    let badly = signed(unsigned.clone(), b"a guess");
    assert_eq!(world.post(&badly).await.status, 403);
    assert!(world.port_calls().is_empty(), "{:?}", world.port_calls());

    let good = signed(unsigned, SECRET);
    let got = world.post(&good).await;
    assert_eq!((got.status, got.body.as_str()), (200, "queued"));
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn an_array_answers_per_event_and_queues_each_as_it_was_written() {
    let world = World::new(loopback_only());
    assert_eq!(
        world
            .post(&from("127.0.0.1", body(&push("ev-seen"))))
            .await
            .status,
        200
    );
    let first = serde_json::to_string_pretty(&push("ev-a")).unwrap();
    let ec2 = r#"{"id": "ev-ec2", "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}"#;
    let seen = body(&push("ev-seen"));
    let seen = String::from_utf8(seen).unwrap();
    let no_id =
        r#"{"source": "aws.codecommit", "detail-type": "CodeCommit Repository State Change"}"#;
    let array = format!("[\n  {first},\n  {ec2} ,{seen},\n{no_id}, 7 ]");

    let got = world.post(&from("127.0.0.1", array.into_bytes())).await;
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.status, 400, "an event was refused: {got:?}");
    let answers: Value = serde_json::from_str(&got.body).unwrap();
    let summary: Vec<(Value, Value, String)> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].clone(),
                a["status"].clone(),
                a["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        (json!("ev-a"), json!(200), "queued"),
        (
            json!("ev-ec2"),
            json!(200),
            "ignored: the event comes from `aws.ec2`",
        ),
        (json!("ev-seen"), json!(200), "duplicate delivery"),
        (
            Value::Null,
            json!(400),
            "not an EventBridge event: missing `id`",
        ),
        (
            Value::Null,
            json!(400),
            "not an EventBridge event: a number, not a JSON object",
        ),
    ];
    assert_eq!(summary.len(), expected.len(), "{summary:?}");
    for (i, ((id, status, result), (want_id, want_status, says))) in
        summary.iter().zip(&expected).enumerate()
    {
        assert_eq!(answers[i]["index"], json!(i));
        assert_eq!((id, status), (want_id, want_status), "event {i}");
        assert!(result.starts_with(says), "event {i}: {result}");
    }
    // The first post, then the new event of the array, as written.
    assert_eq!(world.sent(), [seen, first]);
}

#[tokio::test]
async fn an_array_whose_events_are_all_taken_answers_200() {
    let world = World::new(loopback_only());
    let array = json!([push("ev-1"), push("ev-2"), push("ev-1")]);
    let got = world.post(&from("127.0.0.1", body(&array))).await;
    assert_eq!(got.status, 200, "{got:?}");
    let results: Vec<String> = serde_json::from_str::<Vec<Value>>(&got.body)
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(results, ["queued", "queued", "duplicate delivery"]);
    assert_eq!(world.sent().len(), 2);
}

/// Our storage failing is the one answer worth retrying: the array is
/// answered 503, and posting it again queues what was not queued.
#[tokio::test]
async fn a_store_failure_makes_the_array_503_and_a_repost_completes_it() {
    let world = World::new(loopback_only());
    world
        .store
        .faults()
        .next("claim", PortError::Unavailable("table throttled".into()));
    let array = body(&json!([push("ev-1"), push("ev-2")]));
    let got = world.post(&from("127.0.0.1", array.clone())).await;
    assert_eq!(got.status, 503, "{got:?}");
    let answers: Vec<Value> = serde_json::from_str(&got.body).unwrap();
    assert_eq!(answers[0]["status"], 503);
    assert_eq!(answers[1]["status"], 200);
    assert_eq!(world.sent().len(), 1);

    let again = world.post(&from("127.0.0.1", array)).await;
    assert_eq!(again.status, 200, "{again:?}");
    let results: Vec<String> = serde_json::from_str::<Vec<Value>>(&again.body)
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(results, ["queued", "duplicate delivery"]);
    assert_eq!(world.sent().len(), 2);
}

/// What `skiff dev` queues is what the stack's rule matches on AWS, and
/// each is a detail-type the trigger's parser acts on (an unknown one would
/// parse as `Ignored`; a handled one with an empty detail is malformed).
#[test]
fn the_queued_detail_types_are_the_rules_and_the_parsers() {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
    )
    .unwrap();
    let rule = template
        .split("  CodeCommitEventsRule:")
        .nth(1)
        .and_then(|r| r.split("detail-type:").nth(1))
        .unwrap();
    let in_rule: Vec<&str> = rule
        .lines()
        .skip(1)
        .map(str::trim)
        .take_while(|l| l.starts_with("- "))
        .map(|l| l.trim_start_matches("- "))
        .collect();
    assert_eq!(in_rule, CODECOMMIT_DETAIL_TYPES);

    for detail_type in CODECOMMIT_DETAIL_TYPES {
        let event = json!({"id": "x", "source": "aws.codecommit", "detail-type": detail_type,
                           "region": "us-east-1", "detail": {}});
        let parsed = codecommit::parse(&body(&event));
        assert!(
            !matches!(parsed, Ok(Event::Ignored { .. })),
            "{detail_type}: {parsed:?}"
        );
    }
    let other = json!({"id": "x", "source": "aws.codecommit",
                       "detail-type": "CodeCommit Comment on Commit", "detail": {}});
    assert!(matches!(
        codecommit::parse(&body(&other)),
        Ok(Event::Ignored { .. })
    ));
}
