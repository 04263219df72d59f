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
}

/// One job on the `dispatch` queue: start its pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMessage {
    /// The job record's id.
    pub id: String,
}

impl EventMessage {
    pub fn to_body(&self) -> String {
        // Serializing plain strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl DispatchMessage {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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
        };
        assert_eq!(
            m.to_body(),
            r#"{"source":"github","event":"push","delivery":"d-1","body":"{}"}"#
        );
        assert_eq!(
            serde_json::from_str::<EventMessage>(&m.to_body()).unwrap(),
            m
        );
        let d = DispatchMessage { id: "j".into() };
        assert_eq!(d.to_body(), r#"{"id":"j"}"#);
    }
}
