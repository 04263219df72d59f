//! What travels on the queues between functions. Small and stable: a message
//! written by one version of Skiff must be read by the next.

use serde::{Deserialize, Serialize};

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSource {
    /// A GitHub webhook: `event` is the `X-GitHub-Event` header.
    Github,
    /// A CodeCommit EventBridge event: `event` is its `detail-type`.
    Codecommit,
}

/// One event on the `events` queue: the webhook's raw body, exactly as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    pub source: EventSource,
    pub event: String,
    /// `X-GitHub-Delivery`, or the EventBridge event id.
    pub delivery: String,
    pub body: String,
    /// `X-Hub-Signature-256` as GitHub sent it: external plugins get it
    /// unchanged with the body (Prow's hook forwards, never re-signs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// One job on the `dispatch` queue: start its pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMessage {
    /// The job record's id.
    pub id: String,
}

/// The envelope of an EventBridge event, as an EventBridge rule puts it on
/// the `events` queue unchanged (no input transformer: the rule stays a
/// plain pattern, and the trigger sees exactly what CodeCommit sent).
#[derive(Deserialize)]
struct EventBridgeEnvelope {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
}

/// EventBridge's `source` for CodeCommit's events.
pub const CODECOMMIT_EVENT_SOURCE: &str = "aws.codecommit";

impl EventMessage {
    pub fn to_body(&self) -> String {
        // Serializing plain strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one `events` queue message: an [`EventMessage`] the webhook
    /// wrote, or a CodeCommit event an EventBridge rule delivered as it is
    /// (its `id` is the delivery, its `detail-type` the event).
    pub fn from_queue_body(body: &str) -> Result<EventMessage, serde_json::Error> {
        let first = match serde_json::from_str::<EventMessage>(body) {
            Ok(m) => return Ok(m),
            Err(e) => e,
        };
        match serde_json::from_str::<EventBridgeEnvelope>(body) {
            Ok(env) if env.source == CODECOMMIT_EVENT_SOURCE => Ok(EventMessage {
                source: EventSource::Codecommit,
                event: env.detail_type,
                delivery: env.id,
                body: body.to_owned(),
                signature: String::new(),
            }),
            // Neither shape: the webhook's is the one to explain.
            _ => Err(first),
        }
    }
}

impl DispatchMessage {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// On the `tide` queue: something happened that can make a pull request
/// mergeable (a job finished, a pull request's labels or reviews changed),
/// so tide syncs now rather than at its next scheduled tick. Nudges are
/// disposable: a lost one costs at most the wait for that tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TideNudge {
    /// What happened, for the log.
    pub why: String,
}

impl TideNudge {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The GitHub events that can change a pull request's standing in a
    /// pool: its labels, head or base, and its reviews.
    pub fn follows_event(event: &str) -> bool {
        matches!(event, "pull_request" | "pull_request_review")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_stable_field_names() {
        let m = EventMessage {
            source: EventSource::Github,
            event: "push".into(),
            delivery: "d-1".into(),
            body: "{}".into(),
            signature: String::new(),
        };
        assert_eq!(
            m.to_body(),
            r#"{"source":"github","event":"push","delivery":"d-1","body":"{}"}"#
        );
        assert_eq!(
            serde_json::from_str::<EventMessage>(&m.to_body()).unwrap(),
            m
        );
        assert_eq!(EventMessage::from_queue_body(&m.to_body()).unwrap(), m);
        let d = DispatchMessage { id: "j".into() };
        assert_eq!(d.to_body(), r#"{"id":"j"}"#);
    }

    #[test]
    fn a_raw_codecommit_eventbridge_event_is_an_event_message() {
        let raw = r#"{"version":"0","id":"ev-1","detail-type":"Commented on Pull Request","source":"aws.codecommit","detail":{}}"#;
        let m = EventMessage::from_queue_body(raw).unwrap();
        assert_eq!(m.source, EventSource::Codecommit);
        assert_eq!(m.event, "Commented on Pull Request");
        assert_eq!(m.delivery, "ev-1");
        assert_eq!(m.body, raw);
    }

    #[test]
    fn other_eventbridge_sources_and_junk_are_refused() {
        let ec2 = r#"{"id":"x","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2"}"#;
        assert!(EventMessage::from_queue_body(ec2).is_err());
        let err = EventMessage::from_queue_body("{}").unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
    }
}
