//! CodeCommit's events over HTTP, for `skiff dev`: `POST /eventbridge` takes
//! one EventBridge event, or a JSON array of them, as EventBridge delivers
//! them, and puts each on the `events` queue unchanged — the message the
//! stack's `CodeCommitEventsRule` (template.yaml) puts there on AWS, which
//! `EventMessage::from_queue_body` reads with the event's `id` as the
//! delivery.
//!
//! On AWS nothing like it runs: EventBridge writes to SQS itself. Here the
//! door is HTTP, so who may post must be decided, as GitHub's signature
//! decides it for `/hook`:
//!
//! - with no signing secret ([`Admission::Loopback`]) only this machine: a
//!   peer whose address is not a loopback address gets 403;
//! - with secrets ([`Admission::Signed`]) every request must carry
//!   `X-Skiff-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` made
//!   with one of them, loopback included: unsigned is 401, badly signed 403.
//!
//! A refused request is refused before anything is written, so its events'
//! ids are not remembered and the same events correctly signed are taken.
//!
//! Only what the rule's pattern matches is queued: source `aws.codecommit`
//! with one of CodeCommit's three detail-types ([`CODECOMMIT_DETAIL_TYPES`]).
//! Any other event is answered 200 and ignored, with the reason. A queued
//! event is deduplicated by its `id` with the webhook's claim → send → mark
//! (`queue_once` in lib.rs, whose crash table holds here too): the same event
//! posted twice is queued once, and both answers are 200.
//!
//! # Answers
//!
//! One event: its status and a line of text, as `/hook` answers. An array:
//! a JSON array with one `{index, id, status, result}` per event, each
//! handled on its own (an event that is not one is refused with 400 while
//! the others are queued); the request's status is 503 if any event's is
//! (posting the whole array again is safe: what was queued is then a
//! duplicate), else 400 if any event's is, else 200.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde_json::{Value, json};
use skiff_core::keys;
use skiff_core::messages::CODECOMMIT_EVENT_SOURCE;
use skiff_core::ports::{Clock, JobStore, Queue};
use tracing::{Instrument, info, info_span};

use crate::{
    BadSignature, DEFAULT_DEDUPE_TTL, DEFAULT_MAX_BODY_BYTES, Dedupe, WebhookResponse,
    check_signature, header, queue_once,
};

/// The signature of a request's raw body: `sha256=<64 hex digits>`.
pub const SIGNATURE_HEADER: &str = "X-Skiff-Signature-256";

/// The detail-types the stack's EventBridge rule sends to the `events`
/// queue, and the ones the trigger's CodeCommit parser acts on.
pub const CODECOMMIT_DETAIL_TYPES: [&str; 3] = [
    "CodeCommit Pull Request State Change",
    "CodeCommit Comment on Pull Request",
    "CodeCommit Repository State Change",
];

/// Who may post events.
#[derive(Clone)]
pub enum Admission {
    /// Peers on a loopback address, unsigned: nobody else can reach them.
    Loopback,
    /// Anyone whose request is signed with one of these secrets (several
    /// while one is rotated).
    Signed(Vec<Vec<u8>>),
}

// Hand-written so a `{:?}` in a log line can never print a secret.
impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Admission::Loopback => f.write_str("Loopback"),
            Admission::Signed(secrets) => write!(f, "Signed([{} redacted])", secrets.len()),
        }
    }
}

/// The EventBridge door's settings.
#[derive(Clone, Debug)]
pub struct EventBridgeConfig {
    pub admission: Admission,
    /// Larger bodies are refused before they are hashed or parsed.
    pub max_body_bytes: usize,
    /// How long an event id is remembered to drop a repeat.
    pub dedupe_ttl: Duration,
    /// How long a claim on an event id lives while it is queued.
    pub claim_lease: Duration,
}

impl EventBridgeConfig {
    pub fn new(admission: Admission) -> Self {
        EventBridgeConfig {
            admission,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dedupe_ttl: DEFAULT_DEDUPE_TTL,
            claim_lease: keys::DELIVERY_CLAIM_LEASE,
        }
    }
}

/// One HTTP request and the address it came from.
#[derive(Clone, Debug)]
pub struct EventBridgeRequest {
    pub peer: IpAddr,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the handler talks to.
#[derive(Clone, Copy)]
pub struct EventBridgeDeps<'a> {
    /// Holds the event ids already seen (the webhook's delivery keys).
    pub store: &'a dyn JobStore,
    /// The `events` queue the trigger reads.
    pub events: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub config: &'a EventBridgeConfig,
}

/// The answer: text for one event, JSON for an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBridgeResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

fn text(status: u16, body: impl Into<String>) -> EventBridgeResponse {
    EventBridgeResponse {
        status,
        content_type: "text/plain; charset=utf-8",
        body: body.into(),
    }
}

/// Handles one request.
#[tracing::instrument(name = "eventbridge", skip_all, fields(peer = %req.peer))]
pub async fn handle(req: &EventBridgeRequest, deps: &EventBridgeDeps<'_>) -> EventBridgeResponse {
    let config = deps.config;
    if req.body.len() > config.max_body_bytes {
        info!(bytes = req.body.len(), "refused: body too large");
        return text(
            413,
            format!(
                "body is {} bytes; the limit is {} bytes",
                req.body.len(),
                config.max_body_bytes
            ),
        );
    }
    if let Err((status, why)) = admit(req, &config.admission) {
        info!(reason = %why, "refused");
        return text(status, why);
    }
    let body = match std::str::from_utf8(&req.body) {
        Ok(body) => body,
        Err(e) => return bad_request(format!("body is not valid JSON: {e}")),
    };
    let parsed: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("body is not valid JSON: {e}")),
    };
    let ports = Dedupe {
        store: deps.store,
        events: deps.events,
        clock: deps.clock,
        dedupe_ttl: config.dedupe_ttl,
        claim_lease: config.claim_lease,
    };
    match &parsed {
        Value::Object(_) => match Envelope::read(&parsed, body) {
            Ok(event) => {
                let answer = event.take(&ports).await;
                text(answer.status, answer.body)
            }
            Err(why) => bad_request(format!("not an EventBridge event: {why}")),
        },
        Value::Array(items) if items.is_empty() => bad_request("the array holds no event".into()),
        Value::Array(items) => each(items, body, &ports).await,
        other => bad_request(format!(
            "body is {}: expected an EventBridge event (a JSON object) or a JSON array of them",
            kind(other)
        )),
    }
}

fn bad_request(message: String) -> EventBridgeResponse {
    info!(reason = %message, "refused: bad request");
    text(400, message)
}

/// Whether the request may post at all, else its status and why not.
fn admit(req: &EventBridgeRequest, admission: &Admission) -> Result<(), (u16, String)> {
    match admission {
        // An IPv4 peer of a dual-stack listener arrives as `::ffff:a.b.c.d`.
        Admission::Loopback if req.peer.to_canonical().is_loopback() => Ok(()),
        Admission::Loopback => Err((
            403,
            format!(
                "{} is not a loopback address: without a signing secret only this machine may \
                 post events; configure one (skiff dev: --hmac-secret-file) and sign each request \
                 with {SIGNATURE_HEADER}",
                req.peer
            ),
        )),
        Admission::Signed(secrets) => {
            match check_signature(header(&req.headers, SIGNATURE_HEADER), &req.body, secrets) {
                Ok(()) => Ok(()),
                Err(BadSignature::Missing) => {
                    Err((401, BadSignature::Missing.reason(SIGNATURE_HEADER)))
                }
                Err(bad) => Err((403, bad.reason(SIGNATURE_HEADER))),
            }
        }
    }
}

/// Every event of an array, each on its own.
async fn each(items: &[Value], body: &str, ports: &Dedupe<'_>) -> EventBridgeResponse {
    // The exact text of each element is what gets queued; should the split
    // ever disagree with the parse, the parsed value (field order kept) is.
    let raws: Vec<Cow<'_, str>> = match elements(body) {
        Some(raws) if raws.len() == items.len() => raws.into_iter().map(Cow::Borrowed).collect(),
        _ => items.iter().map(|v| Cow::Owned(v.to_string())).collect(),
    };
    let mut answers = Vec::with_capacity(items.len());
    let mut status = 200;
    for (index, (item, raw)) in items.iter().zip(&raws).enumerate() {
        let answer = match Envelope::read(item, raw) {
            Ok(event) => event.take(ports).await,
            Err(why) => {
                info!(index, reason = %why, "refused: not an event");
                WebhookResponse::new(400, format!("not an EventBridge event: {why}"))
            }
        };
        status = match (status, answer.status) {
            (503, _) | (_, 503) => 503,
            (400, _) | (_, 400) => 400,
            _ => 200,
        };
        answers.push(json!({
            "index": index,
            "id": item.get("id").and_then(Value::as_str),
            "status": answer.status,
            "result": answer.body,
        }));
    }
    EventBridgeResponse {
        status,
        content_type: "application/json",
        body: Value::Array(answers).to_string(),
    }
}

/// What deciding on one event needs; `raw` is what is queued.
struct Envelope<'b> {
    id: String,
    source: String,
    detail_type: String,
    raw: &'b str,
}

impl<'b> Envelope<'b> {
    /// The fields every EventBridge event carries; without them it is none.
    fn read(event: &Value, raw: &'b str) -> Result<Self, String> {
        let Value::Object(fields) = event else {
            return Err(format!("{}, not a JSON object", kind(event)));
        };
        let field = |name: &str| match fields.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(format!("`{name}` is empty")),
            Some(other) => Err(format!("`{name}` is {}, not a string", kind(other))),
            None => Err(format!("missing `{name}`")),
        };
        Ok(Envelope {
            id: field("id")?,
            source: field("source")?,
            detail_type: field("detail-type")?,
            raw,
        })
    }

    /// Queues the event once if the rule would have, else says why not.
    async fn take(&self, ports: &Dedupe<'_>) -> WebhookResponse {
        let span = info_span!("event", delivery = %self.id, event = %self.detail_type);
        async {
            if self.source != CODECOMMIT_EVENT_SOURCE {
                info!(source = %self.source, "ignored: not CodeCommit");
                return WebhookResponse::new(
                    200,
                    format!(
                        "ignored: the event comes from `{}`, not from CodeCommit (`{CODECOMMIT_EVENT_SOURCE}`)",
                        self.source
                    ),
                );
            }
            if !CODECOMMIT_DETAIL_TYPES.contains(&self.detail_type.as_str()) {
                info!("ignored: a detail-type Skiff does not act on");
                return WebhookResponse::new(
                    200,
                    format!(
                        "ignored: Skiff does not act on `{}` events (only on {})",
                        self.detail_type,
                        CODECOMMIT_DETAIL_TYPES.map(|t| format!("`{t}`")).join(", ")
                    ),
                );
            }
            queue_once(ports, &self.id, self.raw.to_owned()).await
        }
        .instrument(span)
        .await
    }
}

/// A JSON value's kind, for an error message.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The exact text of each element of `body`, a JSON array that parsed, so
/// each event is queued byte for byte as it was posted; `None` if `body` is
/// not such an array.
fn elements(body: &str) -> Option<Vec<&str>> {
    // Outside strings JSON's only whitespace is ASCII, which `trim` covers.
    let mut rest = body.trim_start().strip_prefix('[')?.trim_start();
    let mut out = Vec::new();
    if let Some(after) = rest.strip_prefix(']') {
        return after.trim().is_empty().then_some(out);
    }
    loop {
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<IgnoredAny>();
        values.next()?.ok()?;
        let end = values.byte_offset();
        out.push(rest.get(..end)?);
        rest = rest.get(end..)?.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else {
            let after = rest.strip_prefix(']')?;
            return after.trim().is_empty().then_some(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_the_exact_texts_of_an_arrays_values() {
        let cases: [(&str, Option<Vec<&str>>); 7] = [
            ("[]", Some(vec![])),
            (" [ {\"a\": 1} ] \n", Some(vec!["{\"a\": 1}"])),
            (
                "[{\"a\":\"],[\"},\n  {\"b\" : [1, 2]} ,3]",
                Some(vec!["{\"a\":\"],[\"}", "{\"b\" : [1, 2]}", "3"]),
            ),
            ("[1 2]", None),
            ("[1,]", None),
            ("{\"a\": 1}", None),
            ("[1] x", None),
        ];
        for (body, want) in cases {
            assert_eq!(elements(body), want, "{body:?}");
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let config = EventBridgeConfig::new(Admission::Signed(vec![b"hunter2".to_vec()]));
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("1 redacted"), "{shown}");
    }
}
