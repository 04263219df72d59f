//! Prow's hook, front half: receive a GitHub delivery, prove it came from
//! GitHub, drop redeliveries, put the raw event on the `events` queue, answer.
//!
//! It does as little as it can, because GitHub gives up after 10 seconds and
//! counts slow answers as failures: no config, no GitHub API calls, no job
//! records. A normal delivery costs three calls: a conditional write (the
//! claim), a queue send, and a write (the mark).
//!
//! Bad input always gets a 4xx that says what is wrong; 503 is reserved for
//! our own storage or queue failing (or another attempt holding the
//! delivery), so GitHub's "Redeliver" is worth pressing.
//!
//! # Never lost between "seen" and "queued"
//!
//! The store and the queue cannot share a transaction, so the delivery's key
//! ([`keys::delivery`]) is written twice: a short **claim** before the send
//! ([`keys::DELIVERY_CLAIM_LEASE`]), a long **mark** after it (the dedupe
//! TTL). A redelivery that finds a mark is a duplicate (200, dropped); one
//! that finds a claim is answered 503 — never 200, because a 200 would make
//! GitHub (and the redelivery function) count a delivery as done that may
//! never have been queued. What a crash at each point leaves:
//!
//! | crash … | the store holds | a redelivery … |
//! |---|---|---|
//! | before the claim | nothing | is queued |
//! | after the claim, before the send | a claim | gets 503 until the claim expires (≤ 60 s), then is queued; the redelivery function waits the same |
//! | after the send, before the mark | a claim | is queued again once the claim expires: a second message for the same delivery, which the trigger makes nothing twice of (job ids derive from the delivery) |
//! | after the mark | a mark | is dropped as a duplicate |
//!
//! A failed send forgets the claim at once, so GitHub's redelivery is taken.
//!
//! The same rule, written once (`queue_once`), admits CodeCommit's
//! EventBridge events that `skiff dev` takes over HTTP ([`eventbridge`]).

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use skiff_core::keys;
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::metrics as metric;
use skiff_core::ports::{Claim, Clock, JobStore, Queue};
use tracing::{Span, field, info, warn};

pub mod eventbridge;

/// GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
pub const DEFAULT_MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// GitHub lets a delivery be redelivered for a few days; a week outlives that.
pub const DEFAULT_DEDUPE_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

const EVENT_HEADER: &str = "X-GitHub-Event";
const DELIVERY_HEADER: &str = "X-GitHub-Delivery";
const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// One HTTP request, as the Function URL or `skiff dev` hands it over.
#[derive(Clone, Debug, Default)]
pub struct WebhookRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The first header of that name; HTTP header names are case-insensitive
    /// and API Gateway lower-cases them, GitHub does not.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first header of that name, case-insensitively, trimmed.
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The answer GitHub gets (it shows the body in the delivery's log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: String,
}

impl WebhookResponse {
    fn new(status: u16, body: impl Into<String>) -> Self {
        WebhookResponse {
            status,
            body: body.into(),
        }
    }
}

/// The webhook's settings.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Every secret a delivery may be signed with. More than one while a
    /// secret is rotated: the new one is added here, then set on GitHub, then
    /// the old one removed.
    pub secrets: Vec<Vec<u8>>,
    /// Larger bodies are refused before they are hashed.
    pub max_body_bytes: usize,
    /// How long a delivery id is remembered to drop redeliveries.
    pub dedupe_ttl: Duration,
    /// How long a claim on a delivery lives while it is queued.
    pub claim_lease: Duration,
}

impl WebhookConfig {
    pub fn new(secrets: Vec<Vec<u8>>) -> Self {
        WebhookConfig {
            secrets,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dedupe_ttl: DEFAULT_DEDUPE_TTL,
            claim_lease: keys::DELIVERY_CLAIM_LEASE,
        }
    }
}

// Hand-written so a `{:?}` in a log line can never print a secret.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("dedupe_ttl", &self.dedupe_ttl)
            .field("claim_lease", &self.claim_lease)
            .finish()
    }
}

/// What the handler talks to.
#[derive(Clone, Copy)]
pub struct WebhookDeps<'a> {
    /// Holds the delivery ids already seen.
    pub store: &'a dyn JobStore,
    /// The `events` queue the trigger function reads.
    pub events: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub config: &'a WebhookConfig,
}

/// Handles one delivery.
///
/// A panic is answered 500 with its cause logged, and the process (or Lambda
/// container) goes on serving. Where it struck decides what a redelivery
/// finds, as for a crash (the module doc's table): at worst a claim, which
/// expires.
#[tracing::instrument(name = "webhook", skip_all, fields(delivery = field::Empty, event = field::Empty))]
pub async fn handle(req: &WebhookRequest, deps: &WebhookDeps<'_>) -> WebhookResponse {
    let resp = match skiff_core::panic::catch(respond(req, deps)).await {
        Ok(resp) => resp,
        Err(panicked) => {
            tracing::error!(panic = %panicked.0, "the webhook panicked");
            WebhookResponse::new(
                500,
                "internal error (logged); the delivery may not be queued: redeliver it",
            )
        }
    };
    metrics::counter!(metric::WEBHOOK_DELIVERIES.name, "outcome" => outcome(&resp)).increment(1);
    resp
}

/// What came of a delivery, for [`metric::WEBHOOK_DELIVERIES`].
fn outcome(resp: &WebhookResponse) -> &'static str {
    match (resp.status, resp.body.as_str()) {
        (200, QUEUED) => metric::outcome::QUEUED,
        (200, DUPLICATE) => metric::outcome::DUPLICATE,
        (200..=299, _) => metric::outcome::IGNORED,
        (400..=499, _) => metric::outcome::REFUSED,
        _ => metric::outcome::RETRY,
    }
}

/// The answers [`queue_once`] gives a delivery it queued, or dropped as one
/// seen before.
const QUEUED: &str = "queued";
const DUPLICATE: &str = "duplicate delivery";

async fn respond(req: &WebhookRequest, deps: &WebhookDeps<'_>) -> WebhookResponse {
    let config = deps.config;
    if req.body.len() > config.max_body_bytes {
        info!(bytes = req.body.len(), "refused: body too large");
        return WebhookResponse::new(
            413,
            format!(
                "body is {} bytes; the limit is {} bytes",
                req.body.len(),
                config.max_body_bytes
            ),
        );
    }
    let Some(event) = non_empty(req.header(EVENT_HEADER)) else {
        return bad_request(format!("missing header {EVENT_HEADER}"));
    };
    let Some(delivery) = non_empty(req.header(DELIVERY_HEADER)) else {
        return bad_request(format!("missing header {DELIVERY_HEADER}"));
    };
    let span = Span::current();
    span.record("delivery", delivery);
    span.record("event", event);

    if let Err(why) = verify_signature(req.header(SIGNATURE_HEADER), &req.body, &config.secrets) {
        info!(reason = %why, "refused: signature");
        return WebhookResponse::new(401, why);
    }
    metrics::counter!(metric::WEBHOOK_COUNTER.name, "event_type" => metric::event_type(event))
        .increment(1);
    // The queue carries text; JSON is UTF-8 by definition, so a body that is
    // not is as malformed as one that does not parse.
    let body = match std::str::from_utf8(&req.body) {
        Ok(body) => body,
        Err(e) => return bad_request(format!("body is not valid JSON: {e}")),
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
        return bad_request(format!("body is not valid JSON: {e}"));
    }
    // serde_json skips a value it ignores without recursing, so the check
    // above takes any depth; what reads the event later may recurse.
    let depth = nesting_depth(body);
    if depth > MAX_JSON_DEPTH {
        return bad_request(format!(
            "body is JSON nested {depth} levels deep; the limit is {MAX_JSON_DEPTH} (GitHub's own nest at most 7)"
        ));
    }
    if event == "ping" {
        info!("ping");
        return WebhookResponse::new(200, "pong");
    }
    if !keys::ACTED_ON.contains(&event) {
        tracing::debug!("ignored: not an event Skiff acts on");
        return WebhookResponse::new(200, format!("ignored {event}"));
    }

    let message = EventMessage {
        source: EventSource::Github,
        event: event.to_owned(),
        delivery: delivery.to_owned(),
        body: body.to_owned(),
        signature: req.header(SIGNATURE_HEADER).unwrap_or_default().to_owned(),
    };
    let ports = Dedupe {
        store: deps.store,
        events: deps.events,
        clock: deps.clock,
        dedupe_ttl: config.dedupe_ttl,
        claim_lease: config.claim_lease,
    };
    queue_once(&ports, delivery, message.to_body()).await
}

/// What [`queue_once`] talks to, and how long it keeps what it writes.
#[derive(Clone, Copy)]
pub(crate) struct Dedupe<'a> {
    pub store: &'a dyn JobStore,
    pub events: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub dedupe_ttl: Duration,
    pub claim_lease: Duration,
}

/// Queues `message` for `delivery` unless it already was: claim, send, mark
/// (the module doc's table says what a crash at each step leaves). 200
/// "queued" or "duplicate delivery"; 503 when the delivery is held by
/// another attempt or our store or queue failed, so a retry is worthwhile.
pub(crate) async fn queue_once(
    ports: &Dedupe<'_>,
    delivery: &str,
    message: String,
) -> WebhookResponse {
    let key = keys::delivery(delivery);
    let now = ports.clock.now();
    let claim_until = expiry(now, ports.claim_lease);
    match ports.store.claim(&key, claim_until).await {
        Ok(Claim::Taken) => {}
        Ok(Claim::Held { until }) if keys::is_delivery_mark(until, now, ports.claim_lease) => {
            info!("duplicate delivery dropped");
            return WebhookResponse::new(200, DUPLICATE);
        }
        Ok(Claim::Held { until }) => {
            info!(%until, "another attempt holds the delivery");
            return WebhookResponse::new(
                503,
                format!("another attempt is queuing this delivery; try again after {until}"),
            );
        }
        Err(e) => {
            warn!(error = %e, "cannot record the delivery");
            return WebhookResponse::new(503, "cannot record the delivery; try again");
        }
    }
    if let Err(e) = ports.events.send(&[message]).await {
        warn!(error = %e, "cannot queue the event");
        // Unclaimed, GitHub's redelivery of this id is taken at once; else
        // it waits out the claim.
        if let Err(e) = ports.store.forget(&key).await {
            warn!(error = %e, "cannot give the claim back: a redelivery is taken once it expires");
        }
        return WebhookResponse::new(503, "cannot queue the event; try again");
    }
    if let Err(e) = ports.store.keep(&key, expiry(now, ports.dedupe_ttl)).await {
        // Queued all the same: the claim expires, and a redelivery after
        // that is queued again, which the trigger absorbs.
        warn!(error = %e, "queued, but the delivery is not marked");
    }
    info!("queued");
    WebhookResponse::new(200, QUEUED)
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// How deep the objects and arrays of a body may nest: serde_json's own
/// recursion limit, so whatever later reads the event into a tree (a plugin,
/// `serde_json::Value`) can read all of it.
pub const MAX_JSON_DEPTH: usize = 127;

/// The deepest nesting of objects and arrays in `json` (valid JSON: the
/// brackets inside strings are skipped), counted without recursion.
fn nesting_depth(json: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn bad_request(message: String) -> WebhookResponse {
    info!(reason = %message, "refused: bad request");
    WebhookResponse::new(400, message)
}

/// `now + ttl`, saturating: a huge TTL means "forever", not a failure.
fn expiry(now: Timestamp, ttl: Duration) -> Timestamp {
    now.checked_add(ttl).unwrap_or(Timestamp::MAX)
}

/// Checks `X-Hub-Signature-256` against every configured secret.
fn verify_signature(header: Option<&str>, body: &[u8], secrets: &[Vec<u8>]) -> Result<(), String> {
    check_signature(header, body, secrets).map_err(|bad| bad.reason(SIGNATURE_HEADER))
}

/// Why a `sha256=<hex>` signature header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadSignature {
    Missing,
    Malformed,
    Mismatch,
}

impl BadSignature {
    /// The refusal's words, naming the header.
    pub(crate) fn reason(self, header: &str) -> String {
        match self {
            BadSignature::Missing => format!("missing header {header}"),
            BadSignature::Malformed => {
                format!("malformed {header}: expected sha256=<64 hex digits>")
            }
            BadSignature::Mismatch => {
                format!("{header} does not match the body signed with any configured secret")
            }
        }
    }
}

/// Checks a `sha256=<hex HMAC-SHA256 of the body>` header against every
/// configured secret.
pub(crate) fn check_signature(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Vec<u8>],
) -> Result<(), BadSignature> {
    let Some(header) = header else {
        return Err(BadSignature::Missing);
    };
    let signature = header
        .strip_prefix("sha256=")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(BadSignature::Malformed)?;
    // An empty secret would let anyone sign; a misconfiguration must not
    // open the door.
    let matches = secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(BadSignature::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example ("Validating webhook deliveries").
    const VECTOR_SECRET: &[u8] = b"It's a Secret to Everybody";
    const VECTOR_BODY: &[u8] = b"Hello, World!";
    const VECTOR_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn nesting_depth_counts_objects_and_arrays_not_brackets_in_strings() {
        for (json, depth) in [
            ("0", 0),
            ("{}", 1),
            (r#"{"a":[1,{"b":[]}]}"#, 4),
            (r#"{"a":"[[[{{{"}"#, 1),
            (r#"{"a":"\"[[","b":["\\"]}"#, 2),
            (r#"[[],[[]],[]]"#, 3),
        ] {
            assert_eq!(nesting_depth(json), depth, "{json}");
        }
    }

    #[test]
    fn the_depth_limit_is_what_serde_json_reads_into_a_tree() {
        let nested = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d));
        let at_limit = nested(MAX_JSON_DEPTH);
        assert_eq!(nesting_depth(&at_limit), MAX_JSON_DEPTH);
        assert!(serde_json::from_str::<serde_json::Value>(&at_limit).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_JSON_DEPTH + 1)).is_err());
    }

    #[test]
    fn githubs_test_vector_verifies() {
        let secrets = [VECTOR_SECRET.to_vec()];
        assert_eq!(
            verify_signature(Some(VECTOR_SIGNATURE), VECTOR_BODY, &secrets),
            Ok(())
        );
        let upper = VECTOR_SIGNATURE.replace("757107ea", "757107EA");
        assert_eq!(
            verify_signature(Some(&upper), VECTOR_BODY, &secrets),
            Ok(()),
            "hex digits are case-insensitive"
        );
        assert!(verify_signature(Some(VECTOR_SIGNATURE), b"Hello, World?", &secrets).is_err());
    }

    #[test]
    fn the_second_secret_matches_during_rotation() {
        let secrets = [b"new".to_vec(), VECTOR_SECRET.to_vec()];
        assert_eq!(
            verify_signature(Some(VECTOR_SIGNATURE), VECTOR_BODY, &secrets),
            Ok(())
        );
    }

    #[test]
    fn expiry_saturates_instead_of_failing() {
        let now = Timestamp::from_second(0).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(expiry(now, Duration::MAX), Timestamp::MAX);
        assert_eq!(expiry(now, Duration::from_secs(60)).as_second(), 60);
    }
}
