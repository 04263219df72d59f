//! Prow's hook, front half: receive a GitHub delivery, prove it came from
//! GitHub, drop redeliveries, put the raw event on the `events` queue, answer.
//!
//! It does as little as it can, because GitHub gives up after 10 seconds and
//! counts slow answers as failures: no config, no GitHub API calls, no job
//! records. A normal delivery costs one conditional write and one queue send.
//!
//! Bad input always gets a 4xx that says what is wrong; 503 is reserved for
//! our own storage or queue failing, so GitHub's "Redeliver" is worth pressing.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use skiff_core::keys;
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::ports::{Clock, JobStore, Queue};
use tracing::{Span, field, info, warn};

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
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
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
}

impl WebhookConfig {
    pub fn new(secrets: Vec<Vec<u8>>) -> Self {
        WebhookConfig {
            secrets,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dedupe_ttl: DEFAULT_DEDUPE_TTL,
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
#[tracing::instrument(name = "webhook", skip_all, fields(delivery = field::Empty, event = field::Empty))]
pub async fn handle(req: &WebhookRequest, deps: &WebhookDeps<'_>) -> WebhookResponse {
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
        info!(reason = why, "refused: signature");
        return WebhookResponse::new(401, why);
    }
    // The queue carries text; JSON is UTF-8 by definition, so a body that is
    // not is as malformed as one that does not parse.
    let body = match std::str::from_utf8(&req.body) {
        Ok(body) => body,
        Err(e) => return bad_request(format!("body is not valid JSON: {e}")),
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
        return bad_request(format!("body is not valid JSON: {e}"));
    }
    if event == "ping" {
        info!("ping");
        return WebhookResponse::new(200, "pong");
    }
    if !keys::ACTED_ON.contains(&event) {
        tracing::debug!("ignored: not an event Skiff acts on");
        return WebhookResponse::new(200, format!("ignored {event}"));
    }

    let key = keys::delivery(delivery);
    let expires = expiry(deps.clock.now(), config.dedupe_ttl);
    match deps.store.remember(&key, expires).await {
        Ok(true) => {}
        Ok(false) => {
            info!("duplicate delivery dropped");
            return WebhookResponse::new(200, "duplicate delivery");
        }
        Err(e) => {
            warn!(error = %e, "cannot record the delivery");
            return WebhookResponse::new(503, "cannot record the delivery; try again");
        }
    }
    let message = EventMessage {
        source: EventSource::Github,
        event: event.to_owned(),
        delivery: delivery.to_owned(),
        body: body.to_owned(),
    };
    if let Err(e) = deps.events.send(&[message.to_body()]).await {
        warn!(error = %e, "cannot queue the event");
        // Unremembered, GitHub's redelivery of this id is taken as new;
        // remembered, it would be dropped as a duplicate of an event that
        // never reached the queue.
        if let Err(e) = deps.store.forget(&key).await {
            warn!(error = %e, "cannot forget the delivery: a redelivery will be dropped as a duplicate until it expires");
        }
        return WebhookResponse::new(503, "cannot queue the event; try again");
    }
    info!("queued");
    WebhookResponse::new(200, "queued")
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
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
fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Vec<u8>],
) -> Result<(), &'static str> {
    let Some(header) = header else {
        return Err("missing header X-Hub-Signature-256");
    };
    let signature = header
        .strip_prefix("sha256=")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or("malformed X-Hub-Signature-256: expected sha256=<64 hex digits>")?;
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
        Err("X-Hub-Signature-256 does not match the body signed with any configured secret")
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
