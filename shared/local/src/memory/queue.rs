//! The [`Queue`] twin: SQS's semantics in memory (the conformance suite runs
//! against it) — a received message is hidden for the visibility timeout and
//! comes back unless acknowledged, a receipt names one delivery (a stale one
//! changes nothing), and a message delivered `max_receives` times moves to
//! the dead-letter queue when it comes due again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Clock, Message, PortError, PortResult, Queue, QueueDepth, SystemClock};

use super::{Faults, Journal, lock};

struct Entry {
    seq: u64,
    body: String,
    visible_at: Timestamp,
    receive_count: u32,
    sent_at: Timestamp,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    messages: Vec<Entry>,
    dead: Vec<String>,
    /// Every body sent, in order, one entry per `send` call.
    sent: Vec<Vec<String>>,
}

/// [`Queue`] in memory. Share it with `Arc`.
pub struct MemoryQueue {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    visibility_timeout: Duration,
    max_receives: u32,
    journal: Journal,
    faults: Faults,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        MemoryQueue::new(Arc::new(SystemClock))
    }
}

impl MemoryQueue {
    /// A queue on `clock` with SQS's defaults: 30 s visibility, dead-letter
    /// after 5 receives.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryQueue::with_limits(clock, Duration::from_secs(30), 5)
    }

    pub fn with_limits(
        clock: Arc<dyn Clock>,
        visibility_timeout: Duration,
        max_receives: u32,
    ) -> Self {
        MemoryQueue {
            state: Mutex::default(),
            clock,
            visibility_timeout,
            max_receives: max_receives.max(1),
            journal: Journal::default(),
            faults: Faults::default(),
        }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Logs this twin's calls into `journal` (shared with other twins, so a
    /// test sees the order of calls across ports) instead of its own.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = journal;
        self
    }

    /// Every call so far, by method name, in order.
    pub fn journal(&self) -> Vec<String> {
        lock(&self.journal).clone()
    }

    /// Every body sent (immediate and delayed), in order.
    pub fn sent(&self) -> Vec<String> {
        lock(&self.state).sent.iter().flatten().cloned().collect()
    }

    /// The bodies of each successful send that carried any, one list per
    /// call (count `send` in [`MemoryQueue::journal`] for every call).
    pub fn sends(&self) -> Vec<Vec<String>> {
        lock(&self.state).sent.clone()
    }

    /// The job ids of the dispatch messages sent, in order.
    pub fn sent_ids(&self) -> Vec<String> {
        self.sent()
            .iter()
            .filter_map(|b| serde_json::from_str::<DispatchMessage>(b).ok())
            .map(|m| m.id)
            .collect()
    }

    /// Forgets what was sent (the messages themselves stay queued).
    pub fn clear_sent(&self) {
        lock(&self.state).sent.clear();
    }

    /// Messages in the queue, visible or not.
    pub fn len(&self) -> usize {
        lock(&self.state).messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bodies moved to the dead-letter queue, oldest first.
    pub fn dead_letters(&self) -> Vec<String> {
        lock(&self.state).dead.clone()
    }

    fn call(&self, method: &str) -> PortResult<()> {
        lock(&self.journal).push(method.to_string());
        self.faults.check(method)
    }

    fn enqueue(&self, bodies: &[String], delay: Duration) {
        let sent_at = self.clock.now();
        let visible_at = sent_at.checked_add(delay).unwrap_or(Timestamp::MAX);
        let mut state = lock(&self.state);
        for body in bodies {
            state.next_seq += 1;
            let seq = state.next_seq;
            state.messages.push(Entry {
                seq,
                body: body.clone(),
                visible_at,
                receive_count: 0,
                sent_at,
            });
        }
        state.sent.push(bodies.to_vec());
    }
}

fn parse_receipt(receipt: &str) -> PortResult<(u64, u32)> {
    receipt
        .split_once(':')
        .and_then(|(seq, count)| Some((seq.parse().ok()?, count.parse().ok()?)))
        .ok_or_else(|| {
            PortError::Rejected(format!("not a receipt of this queue: {receipt:?}").into())
        })
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        self.call("send")?;
        if !bodies.is_empty() {
            self.enqueue(bodies, Duration::ZERO);
        }
        Ok(())
    }

    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        self.call("send_delayed")?;
        if !bodies.is_empty() {
            self.enqueue(bodies, delay);
        }
        Ok(())
    }

    async fn depth(&self) -> PortResult<Option<QueueDepth>> {
        self.call("depth")?;
        let now = self.clock.now();
        let state = lock(&self.state);
        let visible = state
            .messages
            .iter()
            .filter(|m| m.visible_at <= now)
            .count();
        Ok(Some(QueueDepth {
            visible: visible as u64,
            hidden: (state.messages.len() - visible) as u64,
            dead_letters: Some(state.dead.len() as u64),
            oldest_sent: state.messages.iter().map(|m| m.sent_at).min(),
        }))
    }

    async fn receive(&self, max: usize) -> PortResult<Vec<Message>> {
        self.call("receive")?;
        let now = self.clock.now();
        let hidden_until = now
            .checked_add(self.visibility_timeout)
            .unwrap_or(Timestamp::MAX);
        let mut state = lock(&self.state);
        let mut due: Vec<usize> = (0..state.messages.len())
            .filter(|&i| state.messages[i].visible_at <= now)
            .collect();
        due.sort_by_key(|&i| (state.messages[i].visible_at, state.messages[i].seq));
        let mut out = Vec::new();
        let mut dead = Vec::new();
        for i in due {
            if out.len() >= max {
                break;
            }
            let entry = &mut state.messages[i];
            if entry.receive_count >= self.max_receives {
                dead.push(entry.seq);
                continue;
            }
            entry.receive_count += 1;
            entry.visible_at = hidden_until;
            out.push(Message {
                receipt: format!("{}:{}", entry.seq, entry.receive_count),
                body: entry.body.clone(),
                receive_count: entry.receive_count,
            });
        }
        for seq in dead {
            if let Some(i) = state.messages.iter().position(|m| m.seq == seq) {
                let entry = state.messages.remove(i);
                state.dead.push(entry.body);
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> PortResult<()> {
        self.call("ack")?;
        let parsed = receipts
            .iter()
            .map(|r| parse_receipt(r))
            .collect::<PortResult<Vec<_>>>()?;
        let mut state = lock(&self.state);
        state.messages.retain(|m| {
            !parsed
                .iter()
                .any(|&(seq, count)| m.seq == seq && m.receive_count == count)
        });
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()> {
        self.call("retry_later")?;
        let (seq, count) = parse_receipt(receipt)?;
        let visible_at = self
            .clock
            .now()
            .checked_add(delay)
            .unwrap_or(Timestamp::MAX);
        let mut state = lock(&self.state);
        if let Some(m) = state
            .messages
            .iter_mut()
            .find(|m| m.seq == seq && m.receive_count == count)
        {
            m.visible_at = visible_at;
        }
        Ok(())
    }
}
