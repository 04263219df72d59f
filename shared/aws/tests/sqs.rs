//! The SQS queue adapter against moto_server, on queues made from
//! template.yaml. ./scripts/test starts moto and exports SKIFF_MOTO_ENDPOINT.

// support/ also serves the DynamoDB tests; this binary uses only its SQS part.
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use skiff_aws::queue::SqsQueue;
use skiff_core::ports::{Message, PortError, Queue};
use skiff_local::conformance::QueueHarness as _;
use support::sqs::{self, Made, SqsHarness};

/// Short enough that redelivery tests take seconds, long enough that a
/// receive right after another cannot see the message come back.
const VT: Duration = Duration::from_secs(4);

async fn dispatch_queue(name: &str) -> (aws_sdk_sqs::Client, Made, SqsQueue) {
    let client = sqs::client().await;
    let spec = sqs::template_queues()
        .remove("DispatchQueue")
        .unwrap_or_else(|| panic!("template.yaml has no DispatchQueue"));
    let made = sqs::create(&client, &spec, name, Some(VT)).await;
    let q = SqsQueue::new(client.clone(), made.url.clone());
    (client, made, q)
}

async fn receive_all(q: &SqsQueue, n: usize) -> Vec<Message> {
    let mut got = Vec::new();
    for _ in 0..n + 10 {
        let batch = q
            .receive(10)
            .await
            .unwrap_or_else(|e| panic!("receive: {e}"));
        assert!(
            batch.len() <= 10,
            "SQS hands out at most ten: {}",
            batch.len()
        );
        got.extend(batch);
        if got.len() >= n {
            break;
        }
    }
    got
}

async fn receive_one(q: &SqsQueue, what: &str) -> Message {
    let mut got = receive_all(q, 1).await;
    assert_eq!(got.len(), 1, "{what}: {got:?}");
    got.remove(0)
}

async fn assert_empty(q: &SqsQueue, what: &str) {
    let got = q
        .receive(10)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(got.is_empty(), "{what}: {got:?}");
}

#[test]
fn template_queues_redrive_to_their_dead_letter_queues() {
    let queues = sqs::template_queues();
    for (id, dlq) in [
        ("EventsQueue", "EventsDeadLetterQueue"),
        ("DispatchQueue", "DispatchDeadLetterQueue"),
    ] {
        let spec = queues
            .get(id)
            .unwrap_or_else(|| panic!("template.yaml has no {id}"));
        let redrive = spec
            .redrive
            .as_ref()
            .unwrap_or_else(|| panic!("{id} has no RedrivePolicy"));
        assert_eq!(redrive.dlq, dlq);
        assert!(
            redrive.max_receive_count >= 4,
            "{id}: the queue suite needs maxReceiveCount >= 4"
        );
        assert!(queues.contains_key(dlq), "{dlq} is declared");
    }
}

/// The shared queue suite (`skiff_local::conformance`), on DispatchQueue's
/// redrive policy (maxReceiveCount from the template) with a 4 s visibility
/// timeout. SQS does not fence stale receipts (an ack with an earlier
/// delivery's receipt deletes the message), which the harness declares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_conformance_on_sqs() {
    let h = SqsHarness::new("DispatchQueue").await;
    assert_eq!(h.max_receives(), 5, "template's maxReceiveCount");
    assert!(!h.fences_stale_receipts());
    let started = Instant::now();
    skiff_local::conformance::queue_conformance(&h).await;
    eprintln!("queue conformance ran {:?}", started.elapsed());
}

#[tokio::test]
async fn twenty_five_messages_go_in_batches_and_all_arrive() {
    let (_, _, q) = dispatch_queue("batch25").await;
    let sent: Vec<String> = (0..25).map(|i| format!("msg-{i:02}")).collect();
    q.send(&sent).await.unwrap_or_else(|e| panic!("send: {e}"));
    let got = receive_all(&q, 25).await;
    let bodies: BTreeSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(got.len(), 25, "each message once: {got:?}");
    assert_eq!(bodies, sent.iter().map(String::as_str).collect());
    assert!(got.iter().all(|m| m.receive_count == 1));
    let receipts: Vec<String> = got.iter().map(|m| m.receipt.clone()).collect();
    q.ack(&receipts)
        .await
        .unwrap_or_else(|e| panic!("ack 25: {e}"));
    tokio::time::sleep(VT + Duration::from_secs(1)).await;
    assert_empty(&q, "25 acknowledged messages stay gone").await;
}

#[tokio::test]
async fn a_poison_message_reaches_the_dlq_after_max_receive_count() {
    let (client, made, q) = dispatch_queue("poison").await;
    let max = sqs::template_queues()
        .get("DispatchQueue")
        .and_then(|s| s.redrive.as_ref())
        .map(|r| r.max_receive_count)
        .unwrap_or_else(|| panic!("DispatchQueue has no redrive"));
    let dlq = made.dlq_url.unwrap_or_else(|| panic!("no DLQ made"));
    q.send(&["poison".to_string()])
        .await
        .unwrap_or_else(|e| panic!("send: {e}"));
    for n in 1..=max {
        let m = receive_one(&q, &format!("delivery {n}")).await;
        assert_eq!((m.body.as_str(), m.receive_count), ("poison", n));
        // Visible again at once: the handler failed, no need to wait 4 s.
        q.retry_later(&m.receipt, Duration::ZERO)
            .await
            .unwrap_or_else(|e| panic!("retry_later: {e}"));
    }
    assert_empty(&q, "after maxReceiveCount deliveries the message is gone").await;
    assert_eq!(
        sqs::peek(&client, &dlq)
            .await
            .unwrap_or_else(|e| panic!("peek: {e}")),
        vec!["poison".to_string()],
        "the redrive policy moved it to the DLQ"
    );
}

#[tokio::test]
async fn retry_later_holds_the_message_back_for_the_delay() {
    let (_, _, q) = dispatch_queue("retry").await;
    q.send(&["later".to_string()])
        .await
        .unwrap_or_else(|e| panic!("send: {e}"));
    let m1 = receive_one(&q, "first delivery").await;
    // Rounded up to 2 s: never sooner than asked.
    q.retry_later(&m1.receipt, Duration::from_millis(1500))
        .await
        .unwrap_or_else(|e| panic!("retry_later: {e}"));
    assert_empty(&q, "held back during the delay").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m2 = receive_one(&q, "after the delay, sooner than the 4 s timeout").await;
    assert_eq!((m2.body.as_str(), m2.receive_count), ("later", 2));

    // Longer than SQS allows: capped, and SQS's own 12 h total limit may
    // refuse even that; either way the call does not fail the handler and the
    // message stays hidden at least for its visibility timeout.
    q.retry_later(&m2.receipt, Duration::from_secs(13 * 3600))
        .await
        .unwrap_or_else(|e| panic!("retry_later 13 h: {e}"));
    assert_empty(&q, "a long delay keeps the message hidden").await;
}

#[tokio::test]
async fn stale_and_invalid_receipts_are_harmless() {
    let (_, _, q) = dispatch_queue("stale").await;
    q.send(&["once".to_string()])
        .await
        .unwrap_or_else(|e| panic!("send: {e}"));
    let m = receive_one(&q, "delivery").await;
    q.ack(std::slice::from_ref(&m.receipt))
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"));
    q.ack(&[m.receipt.clone(), m.receipt.clone()])
        .await
        .unwrap_or_else(|e| panic!("acking a deleted message again: {e}"));
    q.retry_later(&m.receipt, Duration::ZERO)
        .await
        .unwrap_or_else(|e| panic!("retry_later of a deleted message: {e}"));
    let bogus = "not-a-receipt-handle".to_string();
    q.ack(std::slice::from_ref(&bogus))
        .await
        .unwrap_or_else(|e| panic!("ack of an unknown receipt: {e}"));
    q.retry_later(&bogus, Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("retry_later of an unknown receipt: {e}"));
    assert_empty(&q, "nothing came back").await;
}

#[tokio::test]
async fn receive_of_nothing_asks_nothing_and_returns_nothing() {
    let (_, _, q) = dispatch_queue("zero").await;
    q.send(&["x".to_string()])
        .await
        .unwrap_or_else(|e| panic!("send: {e}"));
    assert_eq!(q.receive(0).await, Ok(vec![]));
    q.send(&[])
        .await
        .unwrap_or_else(|e| panic!("send nothing: {e}"));
    q.ack(&[])
        .await
        .unwrap_or_else(|e| panic!("ack nothing: {e}"));
    let m = receive_one(&q, "the message was not taken by receive(0)").await;
    assert_eq!(m.body, "x");
}

#[tokio::test]
async fn a_missing_queue_is_rejected_and_a_dead_endpoint_is_unavailable() {
    let client = sqs::client().await;
    let missing = SqsQueue::new(
        client,
        format!(
            "{}/123456789012/{}",
            sqs::moto_endpoint(),
            sqs::unique("never-made")
        ),
    );
    let err = missing.send(&["x".to_string()]).await;
    assert!(
        matches!(err, Err(PortError::Rejected(_))),
        "send to a missing queue: {err:?}"
    );
    let err = missing.receive(1).await;
    assert!(
        matches!(err, Err(PortError::Rejected(_))),
        "receive from a missing queue: {err:?}"
    );

    // A port nobody listens on: connection refused is a transport failure.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("binding a port: {e}"));
    let conf = aws_sdk_sqs::config::Builder::from(&sqs::moto_sdk_config().await)
        .endpoint_url(format!("http://{dead}"))
        .build();
    let q = SqsQueue::new(
        aws_sdk_sqs::Client::from_conf(conf),
        format!("http://{dead}/123456789012/q"),
    );
    let err = q.send(&["x".to_string()]).await;
    assert!(
        matches!(err, Err(PortError::Unavailable(_))),
        "dead endpoint: {err:?}"
    );
}

/// The comments queue as template.yaml declares it (FIFO, deduplicated by
/// content): while a receive holds a group's messages (a batch may hold
/// several, in order), no other receive gets any of that group — what keeps
/// two updates of one pull request's comment apart — other groups go on,
/// and a body sent twice is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_group_is_held_by_one_receive_at_a_time_and_a_repeat_comes_once() {
    let client = sqs::client().await;
    let spec = sqs::template_queues()
        .remove("CommentsQueue")
        .unwrap_or_else(|| panic!("template.yaml has no CommentsQueue"));
    assert_eq!(
        spec.attributes.get("FifoQueue").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        spec.attributes
            .get("ContentBasedDeduplication")
            .map(String::as_str),
        Some("true")
    );
    let made = sqs::create(&client, &spec, "comments", Some(VT)).await;
    let q = SqsQueue::new(client.clone(), made.url.clone());
    let send = |group: &'static str, bodies: &'static [&'static str]| {
        let q = q.clone();
        async move {
            let bodies: Vec<String> = bodies.iter().map(|b| b.to_string()).collect();
            q.send_in_group(group, &bodies)
                .await
                .unwrap_or_else(|e| panic!("send_in_group {group}: {e}"));
        }
    };
    send("acme/widgets#42", &["j1", "j2"]).await;
    send("acme/widgets#42", &["j1"]).await;

    let held = receive_all(&q, 2).await;
    let bodies: Vec<&str> = held.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["j1", "j2"], "in order, the repeat dropped");

    // While those are in flight, the pull's next update waits; another
    // pull's does not.
    send("acme/widgets#42", &["j3"]).await;
    send("acme/widgets#43", &["k1"]).await;
    let other = receive_one(&q, "k1 alone: #42 is held").await;
    assert_eq!(other.body, "k1");
    assert_empty(&q, "j3 waits while j1 and j2 are in flight").await;

    let receipts: Vec<String> = held.iter().map(|m| m.receipt.clone()).collect();
    q.ack(&receipts)
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"));
    let next = receive_one(&q, "j3 once j1 and j2 are done").await;
    assert_eq!(next.body, "j3");
}
