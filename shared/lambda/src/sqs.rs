//! SQS batches in, partial batch failures out (`ReportBatchItemFailures` on
//! the event source mapping): the handlers see [`Message`]s and answer with a
//! [`BatchOutcome`]; Lambda deletes every message not reported as failed.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use skiff_aws::queue::SqsQueue;
use skiff_core::ports::{BatchOutcome, Message};

/// The batch as the handlers take it. A message's receipt is its
/// `messageId`, the identifier Lambda's batch response names.
pub fn messages(event: &SqsEvent) -> Vec<Message> {
    event
        .records
        .iter()
        .map(|r| Message {
            receipt: r.message_id.clone().unwrap_or_default(),
            body: r.body.clone().unwrap_or_default(),
            receive_count: r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        })
        .collect()
}

/// Every message back to the queue: the handler could not start (its config
/// or code host is unreachable).
pub fn retry_all(messages: &[Message]) -> BatchOutcome {
    BatchOutcome {
        retry: messages.iter().map(|m| m.receipt.clone()).collect(),
        retry_after: Vec::new(),
    }
}

/// Lambda's answer for `outcome`.
///
/// Messages to retry come back after the queue's visibility timeout. Messages
/// to retry after a delay (a job waiting for a concurrency slot) are sent
/// again as delayed copies on `resend` and the originals count as done: each
/// receive counts towards the queue's `maxReceiveCount`, and a job that waits
/// its turn for minutes is not a poison message to move to the dead-letter
/// queue. Should the copy fail to send, the original is retried instead.
/// Without `resend`, delayed messages are plain retries.
pub async fn response(
    event: &SqsEvent,
    outcome: &BatchOutcome,
    resend: Option<&SqsQueue>,
) -> SqsBatchResponse {
    let mut failed: Vec<String> = outcome.retry.clone();
    let mut by_delay: BTreeMap<Duration, Vec<(String, String)>> = BTreeMap::new();
    for (receipt, delay) in &outcome.retry_after {
        let body = event
            .records
            .iter()
            .find(|r| r.message_id.as_deref() == Some(receipt.as_str()))
            .and_then(|r| r.body.clone());
        match (resend, body) {
            (Some(_), Some(body)) => by_delay
                .entry(*delay)
                .or_default()
                .push((receipt.clone(), body)),
            _ => failed.push(receipt.clone()),
        }
    }
    if let Some(queue) = resend {
        for (delay, entries) in by_delay {
            let bodies: Vec<String> = entries.iter().map(|(_, b)| b.clone()).collect();
            if let Err(e) = queue.send_delayed(&bodies, delay).await {
                tracing::warn!(error = %e, n = bodies.len(), "cannot re-send delayed messages; retrying the originals");
                failed.extend(entries.into_iter().map(|(r, _)| r));
            }
        }
    }
    failed.sort();
    failed.dedup();
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// Whether the batch comes from a FIFO queue (its ARN ends in `.fifo`, as
/// every FIFO queue's name must): the reporter's comments queue.
pub fn is_fifo(event: &SqsEvent) -> bool {
    event
        .records
        .first()
        .and_then(|r| r.event_source_arn.as_deref())
        .is_some_and(|arn| arn.ends_with(".fifo"))
}

/// Lambda's answer for `outcome` on a FIFO queue. A FIFO queue takes no
/// per-message delay, and a copy would go behind its group's later
/// messages: a message to retry after a delay is given back in place — its
/// visibility timeout set to the delay (best effort: else it comes back
/// after the queue's) — and, like every message to retry, reported failed.
pub async fn response_in_place(
    event: &SqsEvent,
    outcome: &BatchOutcome,
    queue: &SqsQueue,
) -> SqsBatchResponse {
    for (id, delay) in &outcome.retry_after {
        let handle = event
            .records
            .iter()
            .find(|r| r.message_id.as_deref() == Some(id.as_str()))
            .and_then(|r| r.receipt_handle.as_deref());
        if let Some(handle) = handle
            && let Err(e) = skiff_core::ports::Queue::retry_later(queue, handle, *delay).await
        {
            tracing::warn!(error = %e, message = %id, "cannot shorten the wait; the message comes back after the visibility timeout");
        }
    }
    let mut all = outcome.clone();
    all.retry
        .extend(outcome.retry_after.iter().map(|(id, _)| id.clone()));
    all.retry_after.clear();
    response(event, &all, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> SqsEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_receipt_is_the_message_id_and_the_count_comes_from_the_attributes() {
        let e = event(serde_json::json!({"Records": [
            {"messageId": "m1", "receiptHandle": "h1", "body": "{\"id\":\"a\"}",
             "attributes": {"ApproximateReceiveCount": "3"}, "messageAttributes": {},
             "eventSource": "aws:sqs"},
            {"messageId": "m2", "receiptHandle": "h2", "body": "x", "attributes": {},
             "messageAttributes": {}}
        ]}));
        let m = messages(&e);
        assert_eq!(m[0].receipt, "m1");
        assert_eq!(m[0].body, "{\"id\":\"a\"}");
        assert_eq!(m[0].receive_count, 3);
        assert_eq!(
            m[1].receive_count, 1,
            "absent count: this is the first receive"
        );
    }

    #[test]
    fn a_batch_is_from_a_fifo_queue_when_its_arn_ends_in_fifo() {
        let from = |arn: &str| {
            event(serde_json::json!({"Records": [
                {"messageId": "m1", "receiptHandle": "h1", "body": "{}", "attributes": {},
                 "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn}
            ]}))
        };
        assert!(is_fifo(&from(
            "arn:aws:sqs:us-east-1:1:skiff-comments.fifo"
        )));
        assert!(!is_fifo(&from(
            "arn:aws:sqs:us-east-1:1:skiff-ReportsQueue-X"
        )));
        assert!(!is_fifo(&event(serde_json::json!({"Records": []}))));
    }

    #[tokio::test]
    async fn retries_become_batch_item_failures_once_each() {
        let e = event(serde_json::json!({"Records": []}));
        let outcome = BatchOutcome {
            retry: vec!["m2".into(), "m1".into(), "m2".into()],
            retry_after: vec![("m3".into(), Duration::from_secs(10))],
        };
        let r = response(&e, &outcome, None).await;
        let ids: Vec<&str> = r
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            ids,
            ["m1", "m2", "m3"],
            "no resend queue: a delay is a plain retry"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "m1");
    }
}
