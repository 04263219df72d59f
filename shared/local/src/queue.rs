//! Named queues in the SQLite file of the job store: the embedded twin of SQS
//! with a redrive policy.
//!
//! A message row carries the instant it becomes visible and how often it has
//! been delivered. Receiving pushes the instant one visibility timeout ahead
//! and counts the delivery; the receipt names the message *and* the delivery
//! (`<seq>:<count>`), so a consumer whose timeout ran out and whose message
//! went to someone else can no longer acknowledge or delay it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Transaction, params};
use skiff_core::ports::{Clock, Message, PortError, PortResult, Queue, QueueDepth};

use crate::store::{Db, execute_cached, millis, query_row_cached, sql};
use skiff_core::ports::SystemClock;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    -- AUTOINCREMENT: a sequence number is never reused, so neither is a receipt.
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue          TEXT NOT NULL,
    body           TEXT NOT NULL,
    -- Unix milliseconds from which the message may be received.
    visible_at     INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL,
    sent_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at, seq);
";

/// How a queue behaves; the defaults are SQS's.
#[derive(Clone)]
pub struct QueueOptions {
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// Deliveries before a message goes to the dead-letter queue (SQS's
    /// `maxReceiveCount`); at least 1.
    pub max_receives: u32,
    pub clock: Arc<dyn Clock>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            visibility_timeout: Duration::from_secs(30),
            max_receives: 5,
            clock: Arc::new(SystemClock),
        }
    }
}

/// [`Queue`] on SQLite. Messages that were delivered `max_receives` times and
/// come due again move to the queue `<name>-dlq`.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    name: String,
    dlq: String,
    visibility_ms: i64,
    max_receives: i64,
    clock: Arc<dyn Clock>,
}

impl SqliteQueue {
    /// The queue `name` in the database file at `path`.
    pub fn open(path: impl AsRef<Path>, name: &str, opts: QueueOptions) -> PortResult<Self> {
        SqliteQueue::new(Db::open(path)?, name, opts)
    }

    /// The queue `name` in `db` (shared with the job store and other queues).
    pub fn new(db: Db, name: &str, opts: QueueOptions) -> PortResult<Self> {
        if name.is_empty() {
            return Err(PortError::Rejected("queue name is empty".into()));
        }
        if opts.max_receives == 0 {
            return Err(PortError::Rejected(
                format!("queue {name}: max_receives must be at least 1").into(),
            ));
        }
        Ok(SqliteQueue {
            db,
            name: name.to_string(),
            dlq: format!("{name}-dlq"),
            visibility_ms: duration_ms(opts.visibility_timeout),
            max_receives: i64::from(opts.max_receives),
            clock: opts.clock,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bodies in this queue's dead-letter queue, oldest first.
    pub async fn dead_letters(&self) -> PortResult<Vec<String>> {
        let dlq = self.dlq.clone();
        self.db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached("SELECT body FROM messages WHERE queue = ?1 ORDER BY seq")
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([&dlq], |row| row.get::<_, String>(0))
                    .map_err(sql)?;
                rows.map(|r| r.map_err(sql)).collect()
            })
            .await
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A receipt this queue handed out: the message and which delivery of it.
fn parse_receipt(receipt: &str) -> PortResult<(i64, i64)> {
    receipt
        .split_once(':')
        .and_then(|(seq, count)| Some((seq.parse().ok()?, count.parse().ok()?)))
        .ok_or_else(|| {
            PortError::Rejected(format!("not a receipt of this queue: {receipt:?}").into())
        })
}

fn insert(tx: &Transaction<'_>, queue: &str, body: &str, now: i64) -> PortResult<()> {
    insert_visible_at(tx, queue, body, now, now)
}

fn insert_visible_at(
    tx: &Transaction<'_>,
    queue: &str,
    body: &str,
    now: i64,
    visible_at: i64,
) -> PortResult<()> {
    tx.prepare_cached(
        "INSERT INTO messages (queue, body, visible_at, receive_count, sent_at)
         VALUES (?1, ?2, ?3, 0, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![queue, body, visible_at, now]))
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        if bodies.is_empty() {
            return Ok(());
        }
        let name = self.name.clone();
        let bodies = bodies.to_vec();
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                for body in &bodies {
                    insert(tx, &name, body, now)?;
                }
                Ok(())
            })
            .await
    }

    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        if bodies.is_empty() {
            return Ok(());
        }
        let name = self.name.clone();
        let bodies = bodies.to_vec();
        let now = millis(self.clock.now());
        let visible_at = now.saturating_add(duration_ms(delay));
        self.db
            .write(move |tx| {
                for body in &bodies {
                    insert_visible_at(tx, &name, body, now, visible_at)?;
                }
                Ok(())
            })
            .await
    }

    /// One read: visible and hidden messages, the dead-letter queue's
    /// count, and the oldest message's send time (a delayed re-send is a new
    /// message, as on SQS).
    async fn depth(&self) -> PortResult<Option<QueueDepth>> {
        let (name, dlq) = (self.name.clone(), self.dlq.clone());
        let now = millis(self.clock.now());
        self.db
            .read(move |tx| {
                let (visible, hidden, oldest) = query_row_cached(
                    tx,
                    "SELECT COALESCE(SUM(visible_at <= ?2), 0), COALESCE(SUM(visible_at > ?2), 0),
                                MIN(sent_at)
                         FROM messages WHERE queue = ?1",
                    params![name, now],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, Option<i64>>(2)?,
                        ))
                    },
                )
                .map_err(sql)?;
                let dead: i64 = query_row_cached(
                    tx,
                    "SELECT COUNT(*) FROM messages WHERE queue = ?1",
                    [&dlq],
                    |row| row.get(0),
                )
                .map_err(sql)?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(Some(QueueDepth {
                    visible: count(visible),
                    hidden: count(hidden),
                    dead_letters: Some(count(dead)),
                    oldest_sent: oldest.and_then(|ms| Timestamp::from_millisecond(ms).ok()),
                }))
            })
            .await
    }

    async fn receive(&self, max: usize) -> PortResult<Vec<Message>> {
        let this = self.clone();
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                let mut out = Vec::new();
                // Dead-lettering a message frees its place in the batch, so
                // look again until the batch is full or nothing is due.
                while out.len() < max {
                    let want = i64::try_from(max - out.len()).unwrap_or(i64::MAX);
                    let due: Vec<(i64, String, i64)> = tx
                        .prepare_cached(
                            "SELECT seq, body, receive_count FROM messages
                             WHERE queue = ?1 AND visible_at <= ?2
                             ORDER BY visible_at, seq LIMIT ?3",
                        )
                        .and_then(|mut stmt| {
                            stmt.query_map(params![this.name, now, want], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })?
                            .collect()
                        })
                        .map_err(sql)?;
                    if due.is_empty() {
                        break;
                    }
                    for (seq, body, count) in due {
                        if count >= this.max_receives {
                            tracing::warn!(
                                queue = %this.name,
                                seq,
                                receive_count = count,
                                "message moved to the dead-letter queue"
                            );
                            execute_cached(tx, "DELETE FROM messages WHERE seq = ?1", [seq])
                                .map_err(sql)?;
                            insert(tx, &this.dlq, &body, now)?;
                            continue;
                        }
                        let count = count + 1;
                        execute_cached(
                            tx,
                            "UPDATE messages SET receive_count = ?2, visible_at = ?3
                             WHERE seq = ?1",
                            params![seq, count, now.saturating_add(this.visibility_ms)],
                        )
                        .map_err(sql)?;
                        out.push(Message {
                            receipt: format!("{seq}:{count}"),
                            body,
                            receive_count: u32::try_from(count).unwrap_or(u32::MAX),
                        });
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn ack(&self, receipts: &[String]) -> PortResult<()> {
        let parsed = receipts
            .iter()
            .map(|r| parse_receipt(r))
            .collect::<PortResult<Vec<_>>>()?;
        if parsed.is_empty() {
            return Ok(());
        }
        let name = self.name.clone();
        self.db
            .write(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "DELETE FROM messages WHERE queue = ?1 AND seq = ?2 AND receive_count = ?3",
                    )
                    .map_err(sql)?;
                // A stale receipt deletes nothing: the message was delivered
                // again and belongs to its new consumer (acking twice is a no-op).
                for (seq, count) in parsed {
                    stmt.execute(params![name, seq, count]).map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()> {
        let (seq, count) = parse_receipt(receipt)?;
        let name = self.name.clone();
        let visible_at = millis(self.clock.now()).saturating_add(duration_ms(delay));
        self.db
            .write(move |tx| {
                // Stale receipts change nothing, as with `ack`.
                execute_cached(
                    tx,
                    "UPDATE messages SET visible_at = ?4
                     WHERE queue = ?1 AND seq = ?2 AND receive_count = ?3",
                    params![name, seq, count, visible_at],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_name_a_message_and_a_delivery() {
        assert_eq!(parse_receipt("12:3"), Ok((12, 3)));
        for bad in ["", "12", "12:", ":3", "a:b", "12:3:4"] {
            assert!(
                matches!(parse_receipt(bad), Err(PortError::Rejected(_))),
                "{bad:?} parsed"
            );
        }
    }
}
