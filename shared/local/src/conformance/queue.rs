//! The [`Queue`] suite.

use super::*;

/// What the queue suite needs from an adapter under test.
///
/// For a service on real time, pick a visibility timeout of a few seconds
/// (at least 4 s where the service counts whole seconds: the suite uses a
/// quarter of it) and let `pass` sleep.
#[async_trait]
pub trait QueueHarness: Send + Sync {
    /// An empty queue named after `name`, with its dead-letter queue, using
    /// [`Self::visibility_timeout`] and [`Self::max_receives`]. Each name is
    /// asked for once per run.
    async fn queue(&self, name: &str) -> PortResult<Box<dyn Queue>>;
    /// Bodies in the dead-letter queue of the queue made for `name`.
    async fn dead_letters(&self, name: &str) -> PortResult<Vec<String>>;
    /// Lets `d` pass as the queues see it.
    async fn pass(&self, d: Duration);
    fn visibility_timeout(&self) -> Duration;
    /// Deliveries before a message is dead-lettered; the suite needs 4.
    fn max_receives(&self) -> u32;
    /// Whether an ack with the receipt of an earlier delivery is ignored.
    /// SQS (and moto) delete the message anyway; Skiff's handlers never ack
    /// a stale receipt, so the suite only checks this where it is promised.
    fn fences_stale_receipts(&self) -> bool {
        true
    }
}

/// Runs the queue suite.
pub async fn queue_conformance(h: &dyn QueueHarness) {
    assert!(
        h.max_receives() >= 4,
        "the queue suite needs max_receives >= 4, the harness has {}",
        h.max_receives()
    );
    send_receive_ack(h).await;
    queues_are_separate(h).await;
    unacked_messages_come_back_after_the_timeout(h).await;
    retry_later_sets_the_delay(h).await;
    send_delayed_holds_messages_back(h).await;
    dead_letter_after_max_receives(h).await;
    batches_larger_than_ten(h).await;
    depth_counts_what_waits(h).await;
}

/// A receive, checked against the port's promises.
async fn receive(q: &dyn Queue, max: usize, what: &str) -> Vec<Message> {
    let got = ok(what, q.receive(max).await);
    assert!(
        got.len() <= max,
        "{what}: receive({max}) returned {} messages",
        got.len()
    );
    got
}

/// Receives until `n` messages have arrived; a service may hand out fewer
/// than are visible per call.
async fn receive_n(q: &dyn Queue, n: usize, what: &str) -> Vec<Message> {
    let mut got = Vec::new();
    for _ in 0..(n + 10) {
        got.extend(receive(q, 10, what).await);
        if got.len() >= n {
            break;
        }
    }
    assert_eq!(got.len(), n, "{what}: expected {n} messages, got {got:?}");
    let receipts: BTreeSet<&str> = got.iter().map(|m| m.receipt.as_str()).collect();
    assert_eq!(
        receipts.len(),
        n,
        "{what}: receipts must be distinct: {got:?}"
    );
    got
}

async fn assert_empty(q: &dyn Queue, what: &str) {
    let got = receive(q, 10, what).await;
    assert!(got.is_empty(), "{what}: expected no message, got {got:?}");
}

fn bodies(msgs: &[Message]) -> BTreeSet<&str> {
    msgs.iter().map(|m| m.body.as_str()).collect()
}

fn receipts(msgs: &[Message]) -> Vec<String> {
    msgs.iter().map(|m| m.receipt.clone()).collect()
}

async fn make(h: &dyn QueueHarness, name: &str) -> Box<dyn Queue> {
    ok(&format!("make queue {name}"), h.queue(name).await)
}

/// More than a visibility timeout, with room for a real service's clock.
fn past_timeout(h: &dyn QueueHarness) -> Duration {
    h.visibility_timeout() * 3 / 2
}

async fn send_receive_ack(h: &dyn QueueHarness) {
    let q = make(h, "conformance-basic").await;
    ok("send nothing", q.send(&[]).await);
    assert_empty(&*q, "receive from a new queue").await;

    let sent = ["one", "two", "three"].map(String::from);
    ok("send", q.send(&sent).await);
    let first = receive(&*q, 2, "receive(2)").await;
    let rest = receive_n(&*q, 3 - first.len(), "receive the rest").await;
    let all: Vec<Message> = first.into_iter().chain(rest).collect();
    assert_eq!(
        bodies(&all),
        BTreeSet::from(["one", "two", "three"]),
        "every message sent is received"
    );
    assert!(
        all.iter().all(|m| m.receive_count == 1),
        "a first delivery has receive_count 1: {all:?}"
    );
    assert_eq!(
        receipts(&all).into_iter().collect::<BTreeSet<_>>().len(),
        3,
        "each delivery has its own receipt: {all:?}"
    );
    assert_empty(&*q, "received messages are invisible").await;

    ok("ack", q.ack(&receipts(&all)).await);
    ok("ack nothing", q.ack(&[]).await);
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "acknowledged messages never come back").await;
}

async fn queues_are_separate(h: &dyn QueueHarness) {
    let a = make(h, "conformance-a").await;
    let b = make(h, "conformance-b").await;
    ok("send to a", a.send(&["for a".to_string()]).await);
    assert_empty(&*b, "a message sent to one queue is not in another").await;
    let got = receive_n(&*a, 1, "receive from a").await;
    assert_eq!(got[0].body, "for a");
    ok("ack", a.ack(&receipts(&got)).await);
}

async fn unacked_messages_come_back_after_the_timeout(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-redelivery").await;
    ok("send", q.send(&["again".to_string()]).await);

    let first = receive_n(&*q, 1, "first delivery").await.remove(0);
    assert_eq!((first.body.as_str(), first.receive_count), ("again", 1));
    h.pass(vt / 2).await;
    assert_empty(&*q, "a received message stays invisible for the timeout").await;

    h.pass(vt).await;
    let second = receive_n(&*q, 1, "delivery after the timeout")
        .await
        .remove(0);
    assert_eq!(second.body, "again");
    assert_eq!(second.receive_count, 2, "a redelivery counts: {second:?}");
    assert_ne!(
        second.receipt, first.receipt,
        "a redelivery has a new receipt"
    );

    let third = if h.fences_stale_receipts() {
        ok(
            "ack with the stale receipt",
            q.ack(std::slice::from_ref(&first.receipt)).await,
        );
        h.pass(past_timeout(h)).await;
        let third = receive_n(&*q, 1, "delivery after a stale ack")
            .await
            .remove(0);
        assert_eq!(
            (third.body.as_str(), third.receive_count),
            ("again", 3),
            "a stale receipt must not acknowledge a redelivered message"
        );
        third
    } else {
        second
    };

    ok("ack", q.ack(std::slice::from_ref(&third.receipt)).await);
    ok(
        "ack twice",
        q.ack(std::slice::from_ref(&third.receipt)).await,
    );
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "an acknowledged redelivery does not come back").await;
}

async fn retry_later_sets_the_delay(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-retry").await;
    ok("send", q.send(&["later".to_string()]).await);

    let m1 = receive_n(&*q, 1, "first delivery").await.remove(0);
    ok(
        "retry now",
        q.retry_later(&m1.receipt, Duration::ZERO).await,
    );
    let m2 = receive_n(&*q, 1, "retry_later(0) makes it visible at once")
        .await
        .remove(0);
    assert_eq!((m2.body.as_str(), m2.receive_count), ("later", 2));

    ok(
        "retry after 2 timeouts",
        q.retry_later(&m2.receipt, vt * 2).await,
    );
    h.pass(past_timeout(h)).await;
    assert_empty(
        &*q,
        "a delay longer than the timeout holds the message back",
    )
    .await;
    h.pass(vt).await;
    let m3 = receive_n(&*q, 1, "delivery after the delay")
        .await
        .remove(0);
    assert_eq!((m3.body.as_str(), m3.receive_count), ("later", 3));

    ok("retry soon", q.retry_later(&m3.receipt, vt / 4).await);
    h.pass(vt / 2).await;
    let m4 = receive_n(
        &*q,
        1,
        "a delay shorter than the timeout brings it back sooner",
    )
    .await
    .remove(0);
    assert_eq!((m4.body.as_str(), m4.receive_count), ("later", 4));
    ok("ack", q.ack(std::slice::from_ref(&m4.receipt)).await);
}

async fn send_delayed_holds_messages_back(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-delayed").await;
    ok(
        "send delayed",
        q.send_delayed(&["late".to_string()], vt).await,
    );
    ok("send", q.send(&["now".to_string()]).await);
    let first = receive_n(&*q, 1, "the undelayed message").await.remove(0);
    assert_eq!(first.body, "now");
    ok("ack", q.ack(std::slice::from_ref(&first.receipt)).await);
    h.pass(vt / 2).await;
    assert_empty(&*q, "a delayed message stays back for its delay").await;
    h.pass(vt).await;
    let late = receive_n(&*q, 1, "the delayed message after its delay")
        .await
        .remove(0);
    assert_eq!((late.body.as_str(), late.receive_count), ("late", 1));
    ok("ack", q.ack(std::slice::from_ref(&late.receipt)).await);
}

async fn dead_letter_after_max_receives(h: &dyn QueueHarness) {
    let name = "conformance-dlq";
    let q = make(h, name).await;
    ok("send fine", q.send(&["fine".to_string()]).await);
    let fine = receive_n(&*q, 1, "receive fine").await;
    ok("ack fine", q.ack(&receipts(&fine)).await);

    ok("send poison", q.send(&["poison".to_string()]).await);
    for n in 1..=h.max_receives() {
        let m = receive_n(&*q, 1, &format!("delivery {n} of poison"))
            .await
            .remove(0);
        assert_eq!((m.body.as_str(), m.receive_count), ("poison", n));
        if n == 1 {
            assert_eq!(
                ok("dead letters", h.dead_letters(name).await),
                Vec::<String>::new(),
                "nothing is dead-lettered while deliveries remain"
            );
        }
        h.pass(past_timeout(h)).await;
    }
    for _ in 0..3 {
        assert_empty(
            &*q,
            "a message received max_receives times is not delivered again",
        )
        .await;
    }
    assert_eq!(
        ok("dead letters", h.dead_letters(name).await),
        vec!["poison".to_string()],
        "the poison message, and only it, is in the dead-letter queue"
    );
}

async fn batches_larger_than_ten(h: &dyn QueueHarness) {
    let q = make(h, "conformance-batch").await;
    let sent: Vec<String> = (0..25).map(|i| format!("msg-{i:02}")).collect();
    ok("send 25", q.send(&sent).await);
    let got = receive_n(&*q, 25, "receive 25").await;
    assert_eq!(
        bodies(&got),
        sent.iter().map(String::as_str).collect(),
        "every message of a large batch arrives once"
    );
    ok("ack 25 at once", q.ack(&receipts(&got)).await);
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "a large ack acknowledges every message").await;
}

/// `depth`, where an adapter tells it: visible and hidden messages counted
/// apart.
async fn depth_counts_what_waits(h: &dyn QueueHarness) {
    let q = make(h, "conformance-depth").await;
    let Some(empty) = ok("depth of a new queue", q.depth().await) else {
        return;
    };
    assert_eq!((empty.visible, empty.hidden), (0, 0), "{empty:?}");
    assert_eq!(empty.oldest_sent, None, "{empty:?}");
    ok("send", q.send(&["a".to_string(), "b".to_string()]).await);
    let mut taken = Vec::new();
    for _ in 0..10 {
        taken = receive(&*q, 1, "receive one").await;
        if !taken.is_empty() {
            break;
        }
    }
    assert_eq!(taken.len(), 1, "receive one: {taken:?}");
    let depth = ok("depth", q.depth().await).unwrap_or_default();
    assert_eq!((depth.visible, depth.hidden), (1, 1), "{depth:?}");
    ok("ack", q.ack(&receipts(&taken)).await);
    let after = ok("depth after the ack", q.depth().await).unwrap_or_default();
    assert_eq!((after.visible, after.hidden), (1, 0), "{after:?}");
}
