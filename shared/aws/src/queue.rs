//! [`Queue`] on Amazon SQS: standard queues, and FIFO queues for
//! [`Queue::send_in_group`] (the comments queue).
//!
//! A receipt is the SQS receipt handle. Dead-lettering is not code here: the
//! queue's `RedrivePolicy` (template.yaml, `maxReceiveCount` 5) moves a
//! message to its DLQ when it is received once more than allowed.
//!
//! In production the Lambda event source mapping receives and deletes; this
//! adapter is what `send` uses everywhere, and what the CLI and tests use to
//! receive.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, DeleteMessageBatchRequestEntry, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use skiff_core::ports::{Message, PortError, PortResult, Queue, QueueDepth};

use crate::error::port_error;

/// SQS takes at most ten entries per batch call and per receive.
const BATCH: usize = 10;

/// A batch request may not exceed the maximum message size. SQS's limit is
/// 1 MiB (since 2025) for both; staying at the older 256 KiB keeps batches
/// valid on queues still configured with the old `MaximumMessageSize`.
const BATCH_BYTES: usize = 256 * 1024;

/// SQS's ceiling for a message's `DelaySeconds`.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// SQS's ceiling for a visibility timeout.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// Long polling for this long per receive. Zero would be short polling, which
/// samples a subset of SQS's servers and can come back empty while messages
/// wait; one second asks every server yet keeps `skiff dev` loops and tests
/// responsive (an empty receive costs one second, not twenty).
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// One SQS queue, by URL.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    wait: Duration,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsQueue {
            client,
            queue_url,
            wait: DEFAULT_WAIT,
        }
    }

    /// How long a receive waits for a message when none is visible (SQS
    /// `WaitTimeSeconds`, whole seconds, at most 20). A poller with nothing
    /// else to do wants 20: fewer empty, billed receives.
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait.min(Duration::from_secs(20));
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends `bodies` to be delivered after `delay` (SQS `DelaySeconds`:
    /// whole seconds, rounded up, at most 15 minutes). A consumer that wants a
    /// message back later without counting another receive against the
    /// queue's `maxReceiveCount` sends a delayed copy and acknowledges the
    /// original.
    pub async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        let secs = visibility_seconds(delay.min(MAX_DELAY));
        self.send_with(bodies, Placement::Delay(secs)).await
    }

    async fn send_with(&self, bodies: &[String], placement: Placement<'_>) -> PortResult<()> {
        for chunk in chunks(bodies) {
            let failed = self.send_batch(bodies, &chunk, placement).await?;
            if failed.is_empty() {
                continue;
            }
            // The sender's fault (a body SQS refuses) fails again: say so now.
            if failed.iter().any(|f| f.sender_fault()) {
                return Err(batch_error("SendMessageBatch", &failed));
            }
            let again: Vec<usize> = failed
                .iter()
                .filter_map(|f| f.id().parse::<usize>().ok())
                .collect();
            tracing::debug!(failed = %describe(&failed), "resending failed batch entries");
            let still = self.send_batch(bodies, &again, placement).await?;
            if !still.is_empty() {
                return Err(batch_error("SendMessageBatch", &still));
            }
        }
        Ok(())
    }

    /// Sends one batch; the ids are the bodies' indexes into `bodies`.
    /// Returns the entries SQS did not take.
    async fn send_batch(
        &self,
        bodies: &[String],
        ids: &[usize],
        placement: Placement<'_>,
    ) -> PortResult<Vec<BatchResultErrorEntry>> {
        let (delay, group) = match placement {
            Placement::Now => (None, None),
            Placement::Delay(secs) => (Some(secs), None),
            Placement::Group(group) => (None, Some(group.to_owned())),
        };
        let entries = ids
            .iter()
            .filter_map(|&i| Some((i, bodies.get(i)?)))
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .set_delay_seconds(delay)
                    // The queue deduplicates by content (template.yaml's
                    // `ContentBasedDeduplication`): a body sent twice within
                    // five minutes is delivered once.
                    .set_message_group_id(group.clone())
                    .build()
                    .map_err(|e| PortError::Rejected(format!("SendMessageBatch entry: {e}").into()))
            })
            .collect::<PortResult<Vec<_>>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| port_error("SQS SendMessageBatch", e))?;
        Ok(out.failed().to_vec())
    }

    /// Deletes one batch of receipts; returns the entries that failed for a
    /// reason other than a stale receipt.
    async fn delete_batch(&self, receipts: &[&str]) -> PortResult<Vec<BatchResultErrorEntry>> {
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(*r)
                    .build()
                    .map_err(|e| {
                        PortError::Rejected(format!("DeleteMessageBatch entry: {e}").into())
                    })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| port_error("SQS DeleteMessageBatch", e))?;
        let mut failed = Vec::new();
        for f in out.failed() {
            if is_stale_receipt(f.code(), f.message()) {
                // The visibility timeout ran out and SQS handed the message
                // to someone else (or it is already deleted): it will come
                // back or is gone, and either way this consumer is done.
                tracing::debug!(
                    queue = %self.queue_url,
                    code = f.code(),
                    message = f.message(),
                    "ack of a stale receipt ignored"
                );
            } else {
                failed.push(f.clone());
            }
        }
        Ok(failed)
    }
}

/// Where a sent message goes in its queue.
#[derive(Clone, Copy, Debug)]
enum Placement<'a> {
    Now,
    /// `DelaySeconds` (standard queues only).
    Delay(i32),
    /// `MessageGroupId` (FIFO queues only).
    Group(&'a str),
}

/// Splits `bodies` into SendMessageBatch calls: at most ten entries and
/// [`BATCH_BYTES`] per call (a larger body goes alone; SQS judges it).
fn chunks(bodies: &[String]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, body) in bodies.iter().enumerate() {
        match out.last_mut() {
            Some(chunk) if chunk.len() < BATCH && bytes + body.len() <= BATCH_BYTES => {
                chunk.push(i);
                bytes += body.len();
            }
            _ => {
                out.push(vec![i]);
                bytes = body.len();
            }
        }
    }
    out
}

/// Whole seconds, rounded up so a delay is never shorter than asked, and
/// within SQS's range.
fn visibility_seconds(d: Duration) -> i32 {
    let d = d.min(MAX_VISIBILITY);
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// SQS's answers for a receipt handle that no longer names a delivery:
/// `ReceiptHandleIsInvalid`, or `InvalidParameterValue` "… receipt handle has
/// expired", or `MessageNotInflight` for a visibility change of a message that
/// became visible again.
fn is_stale_receipt(code: &str, message: Option<&str>) -> bool {
    code == "ReceiptHandleIsInvalid"
        || code.ends_with("MessageNotInflight")
        || (code == "InvalidParameterValue"
            && message.is_some_and(|m| m.to_ascii_lowercase().contains("receipt handle")))
}

/// ChangeMessageVisibility's refusal of a timeout that would end more than
/// 12 h after the message was received.
fn is_beyond_total_limit(message: &str) -> bool {
    message.contains("Total VisibilityTimeout for the message is beyond the limit")
}

fn describe(failed: &[BatchResultErrorEntry]) -> String {
    failed
        .iter()
        .map(|f| format!("{}: {} {}", f.id(), f.code(), f.message().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A batch call's leftovers after one retry: the caller's fault is
/// `Rejected`, anything else `Unavailable`.
fn batch_error(op: &str, failed: &[BatchResultErrorEntry]) -> PortError {
    let what = format!(
        "{op}: {} entries failed: {}",
        failed.len(),
        describe(failed)
    );
    if failed.iter().any(|f| f.sender_fault()) {
        PortError::Rejected(what.into())
    } else {
        PortError::Unavailable(what.into())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    /// SendMessageBatch per [`chunks`]. Entries a batch failed are sent once
    /// more; what still fails is reported. Chunks sent before a failure stay
    /// sent, so a caller's retry may duplicate them (at-least-once).
    #[tracing::instrument(skip(self, bodies), fields(queue = %self.queue_url, n = bodies.len()))]
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        self.send_with(bodies, Placement::Now).await
    }

    /// SendMessageBatch with `MessageGroupId`: the queue must be FIFO with
    /// content-based deduplication.
    #[tracing::instrument(skip(self, bodies), fields(queue = %self.queue_url, n = bodies.len()))]
    async fn send_in_group(&self, group: &str, bodies: &[String]) -> PortResult<()> {
        self.send_with(bodies, Placement::Group(group)).await
    }

    /// SQS `DelaySeconds`, at most 15 minutes (see the inherent method).
    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        SqsQueue::send_delayed(self, bodies, delay).await
    }

    /// One GetQueueAttributes: SQS's approximate counts of visible, in
    /// flight and delayed messages. SQS tells no message's age without
    /// receiving it (its `ApproximateAgeOfOldestMessage` is a CloudWatch
    /// metric only), and a DLQ is a queue of its own: both stay `None`.
    #[tracing::instrument(skip(self), fields(queue = %self.queue_url))]
    async fn depth(&self) -> PortResult<Option<QueueDepth>> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| port_error("SQS GetQueueAttributes", e))?;
        let count = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Some(QueueDepth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            hidden: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                + count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            dead_letters: None,
            oldest_sent: None,
        }))
    }

    /// One ReceiveMessage of at most ten messages (fewer than `max` may come
    /// even when more are visible), with `ApproximateReceiveCount`.
    #[tracing::instrument(skip(self), fields(queue = %self.queue_url))]
    async fn receive(&self, max: usize) -> PortResult<Vec<Message>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let n = i32::try_from(max.min(BATCH)).unwrap_or(10);
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(n)
            .wait_time_seconds(visibility_seconds(self.wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| port_error("SQS ReceiveMessage", e))?;
        let mut messages = Vec::new();
        for m in out.messages() {
            let Some(receipt) = m.receipt_handle() else {
                // Cannot be acknowledged or delayed: leave it to come back
                // (and to the redrive policy) rather than fail the batch.
                tracing::warn!(
                    message_id = m.message_id(),
                    "message without receipt handle"
                );
                continue;
            };
            let receive_count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse::<u32>().ok())
                // Asked for; if SQS still omits it, this delivery is at least
                // the first.
                .unwrap_or(1);
            messages.push(Message {
                receipt: receipt.to_string(),
                body: m.body().unwrap_or_default().to_string(),
                receive_count,
            });
        }
        Ok(messages)
    }

    /// DeleteMessageBatch in tens. A stale receipt is not an error: see
    /// [`is_stale_receipt`]. Other failed entries are tried once more.
    #[tracing::instrument(skip(self, receipts), fields(queue = %self.queue_url, n = receipts.len()))]
    async fn ack(&self, receipts: &[String]) -> PortResult<()> {
        // A receipt listed twice would fail its second delete within the
        // batch (already deleted), which is noise, not news.
        let mut seen = BTreeSet::new();
        let unique: Vec<&str> = receipts
            .iter()
            .map(String::as_str)
            .filter(|r| seen.insert(*r))
            .collect();
        for chunk in unique.chunks(BATCH) {
            let failed = self.delete_batch(chunk).await?;
            if failed.is_empty() {
                continue;
            }
            if failed.iter().any(|f| f.sender_fault()) {
                return Err(batch_error("DeleteMessageBatch", &failed));
            }
            let again: Vec<&str> = failed
                .iter()
                .filter_map(|f| chunk.get(f.id().parse::<usize>().ok()?).copied())
                .collect();
            let still = self.delete_batch(&again).await?;
            if !still.is_empty() {
                return Err(batch_error("DeleteMessageBatch", &still));
            }
        }
        Ok(())
    }

    /// ChangeMessageVisibility to `delay` (whole seconds, rounded up, at most
    /// 12 h; SQS also caps the total since the first receive at 12 h).
    #[tracing::instrument(skip(self, receipt), fields(queue = %self.queue_url))]
    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(visibility_seconds(delay))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if e.err()
                    .code()
                    .is_some_and(|c| is_stale_receipt(c, e.err().message())) =>
            {
                // As with `ack`: the delivery is over, the message is someone
                // else's or gone, and its own timeout governs it.
                tracing::debug!(
                    code = e.err().code(),
                    message = e.err().message(),
                    "retry_later of a stale receipt ignored"
                );
                Ok(())
            }
            Err(SdkError::ServiceError(e))
                if e.err().message().is_some_and(is_beyond_total_limit) =>
            {
                // SQS counts 12 h from the receive, not from now, and does
                // not clamp. The message keeps its current timeout and comes
                // back sooner than asked, which an at-least-once consumer
                // handles; failing would make the handler treat a long wait
                // as a broken message.
                tracing::warn!(
                    delay_secs = delay.as_secs(),
                    "delay beyond SQS's 12 h limit; the message keeps its visibility timeout"
                );
                Ok(())
            }
            Err(e) => Err(port_error("SQS ChangeMessageVisibility", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_ten_messages() {
        let bodies: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        let sizes: Vec<usize> = chunks(&bodies).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn batches_stay_under_the_request_size_limit() {
        let big = "x".repeat(100 * 1024);
        let bodies = vec![big.clone(), big.clone(), big.clone(), "small".into()];
        assert_eq!(chunks(&bodies), vec![vec![0, 1], vec![2, 3]]);
        let huge = vec!["y".repeat(BATCH_BYTES + 1), "z".into()];
        assert_eq!(
            chunks(&huge),
            vec![vec![0], vec![1]],
            "an oversized body goes alone"
        );
    }

    #[test]
    fn delays_round_up_to_whole_seconds_within_twelve_hours() {
        let cases = [
            (Duration::ZERO, 0),
            (Duration::from_millis(1), 1),
            (Duration::from_millis(1000), 1),
            (Duration::from_millis(1001), 2),
            (Duration::from_secs(43_200), 43_200),
            (Duration::from_secs(100_000), 43_200),
            (Duration::MAX, 43_200),
        ];
        for (d, want) in cases {
            assert_eq!(visibility_seconds(d), want, "{d:?}");
        }
    }

    #[test]
    fn stale_receipts_are_recognised_by_code_and_message() {
        assert!(is_stale_receipt("ReceiptHandleIsInvalid", None));
        assert!(is_stale_receipt(
            "AWS.SimpleQueueService.MessageNotInflight",
            None
        ));
        assert!(is_stale_receipt(
            "InvalidParameterValue",
            Some(
                "Value x for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
            )
        ));
        assert!(!is_stale_receipt(
            "InvalidParameterValue",
            Some("Value 99999 for parameter VisibilityTimeout is invalid.")
        ));
        assert!(!is_stale_receipt("AccessDenied", None));
    }
}
