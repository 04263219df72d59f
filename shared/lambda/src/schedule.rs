//! EventBridge schedules: the scheduler, syncer and sweeper run on `rate(…)`
//! rules whose events carry the instant they were scheduled for.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::Timestamp;

/// The instant the event was scheduled for; `now` when the event carries
/// none (an invocation by hand).
pub fn scheduled_time(event: &EventBridgeEvent, now: Timestamp) -> Timestamp {
    event
        .time
        .and_then(|t| Timestamp::from_millisecond(t.timestamp_millis()).ok())
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_ends_at_the_scheduled_instant_not_at_delivery() {
        let e: EventBridgeEvent = serde_json::from_value(serde_json::json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-23T10:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {}
        }))
        .unwrap();
        let late: Timestamp = "2026-11-23T10:00:07Z".parse().unwrap();
        assert_eq!(scheduled_time(&e, late).to_string(), "2026-11-23T10:00:00Z");
        let by_hand: EventBridgeEvent = serde_json::from_value(serde_json::json!({
            "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}
        }))
        .unwrap();
        assert_eq!(scheduled_time(&by_hand, late), late);
    }
}
