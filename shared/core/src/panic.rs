//! A panic is a bug in the work of one message, one stream record or one
//! request — never a reason to stop serving the others.
//!
//! Release builds unwind (the workspace's `[profile.release]`), so a panic can
//! be caught where the wiring hands work to a handler: the Lambda wiring
//! (`skiff-lambda`), `skiff dev`'s loops and its HTTP server, and the webhook
//! handler. What a caught panic becomes is the same as any failure of that
//! piece of work:
//!
//! | where | a panic … |
//! |---|---|
//! | a queue batch ([`isolate_batch`]) | fails only the message that causes it: it is retried and dead-lettered after the queue's maximum receives, the others are settled as their handler said |
//! | an ordered stream ([`isolate_in_order`]) | stops the batch at the record that causes it, so everything before it is done and the stream resumes there — order is kept, as for any failure |
//! | an HTTP request | is answered 500, with the cause logged |
//!
//! Re-running the messages of a batch one by one after the whole batch
//! panicked part-way repeats nothing: every effect of a handler is keyed and
//! conditional (STYLE.md, rule 6), so a message already handled once is a
//! no-op the second time.
//!
//! `AssertUnwindSafe` is sound here because nothing a handler shares outlives
//! the panic half-done: its ports' writes are each atomic at the store or
//! queue, and every lock in the adapters and twins recovers from poisoning
//! (`unwrap_or_else(PoisonError::into_inner)`).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ports::{BatchOutcome, Message};

/// A panic that was caught: `panic!`'s message, for the log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked(pub String);

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.0)
    }
}

impl std::error::Error for Panicked {}

/// The message a panic carried (`panic!("…")` and `.expect("…")` carry a
/// `&str` or a `String`).
pub fn describe(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// `fut`'s output, or the panic that ended it.
pub fn catch<F: Future>(fut: F) -> CatchPanic<F> {
    CatchPanic(Box::pin(fut))
}

/// The future [`catch`] returns. Boxed so it is `Unpin` without unsafe code.
pub struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Panicked>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(Panicked(describe(payload.as_ref())))),
        }
    }
}

/// Runs a queue batch through `handle`; should it panic, each message is
/// handled alone, so the panic fails only the message that causes it (retried,
/// then dead-lettered after the queue's maximum receives, as any failure) and
/// the others are settled as their handler says.
pub async fn isolate_batch<F, Fut>(messages: &[Message], handle: F) -> BatchOutcome
where
    F: Fn(Vec<Message>) -> Fut,
    Fut: Future<Output = BatchOutcome>,
{
    let panicked = match catch(handle(messages.to_vec())).await {
        Ok(outcome) => return outcome,
        Err(p) => p,
    };
    if let [only] = messages {
        failed_message(only, &panicked);
        return BatchOutcome {
            retry: vec![only.receipt.clone()],
            retry_after: Vec::new(),
        };
    }
    tracing::error!(
        panic = %panicked.0,
        messages = messages.len(),
        "the batch handler panicked: handling each message alone to find the one that does"
    );
    let mut outcome = BatchOutcome::default();
    for m in messages {
        match catch(handle(vec![m.clone()])).await {
            Ok(one) => {
                outcome.retry.extend(one.retry);
                outcome.retry_after.extend(one.retry_after);
            }
            Err(p) => {
                failed_message(m, &p);
                outcome.retry.push(m.receipt.clone());
            }
        }
    }
    outcome
}

fn failed_message(m: &Message, panicked: &Panicked) {
    tracing::error!(
        panic = %panicked.0,
        receipt = %m.receipt,
        receive_count = m.receive_count,
        "the handler panicked on this message: it is retried, and dead-lettered after the queue's maximum receives"
    );
}

/// Runs an ordered batch (a stream's records) through `handle`, which answers
/// where to resume (`None`: all done). Should it panic, the records are
/// handled one at a time in order, and the batch stops at the record that
/// panics: the stream resumes from `sequence` of that record, so nothing after
/// it overtakes it.
pub async fn isolate_in_order<T, S, F, Fut>(items: &[T], sequence: S, handle: F) -> Option<String>
where
    T: Clone,
    S: Fn(&T) -> String,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let panicked = match catch(handle(items.to_vec())).await {
        Ok(resume) => return resume,
        Err(p) => p,
    };
    tracing::error!(
        panic = %panicked.0,
        records = items.len(),
        "the stream handler panicked: handling the records one at a time to find the one that does"
    );
    for item in items {
        match catch(handle(vec![item.clone()])).await {
            Ok(None) => {}
            Ok(Some(resume)) => return Some(resume),
            Err(p) => {
                let at = sequence(item);
                tracing::error!(
                    panic = %p.0,
                    sequence = %at,
                    "the handler panicked on this record: the stream resumes from it"
                );
                return Some(at);
            }
        }
    }
    // Every record alone went through: the panic did not come back.
    None
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn message(receipt: &str) -> Message {
        Message {
            receipt: receipt.into(),
            body: receipt.into(),
            receive_count: 1,
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        futures_executor::block_on(f)
    }

    #[test]
    fn a_panic_is_caught_with_its_message_whatever_its_payload() {
        assert_eq!(run(catch(async { 7 })), Ok(7));
        let p: Result<(), Panicked> = run(catch(async { panic!("boom {}", 1) }));
        assert_eq!(p, Err(Panicked("boom 1".into())));
        let p: Result<(), Panicked> = run(catch(async { std::panic::panic_any(42u8) }));
        assert_eq!(p, Err(Panicked("a panic without a message".into())));
    }

    #[test]
    fn only_the_message_that_panics_is_retried_the_others_keep_their_outcome() {
        let batch = [message("a"), message("poison"), message("c"), message("d")];
        let handled = RefCell::new(Vec::new());
        let outcome = run(isolate_batch(&batch, |messages: Vec<Message>| {
            let handled = &handled;
            async move {
                let mut outcome = BatchOutcome::default();
                for m in messages {
                    if m.body == "poison" {
                        panic!("cannot handle {}", m.body);
                    }
                    if m.body == "d" {
                        outcome.retry.push(m.receipt.clone());
                    }
                    handled.borrow_mut().push(m.body);
                }
                outcome
            }
        }));
        assert_eq!(outcome.retry, ["poison", "d"], "d asked for its own retry");
        assert_eq!(
            handled.into_inner(),
            ["a", "a", "c", "d"],
            "a ran in the batch before the panic, then alone; nothing after it ran twice"
        );
    }

    #[test]
    fn a_panic_that_does_not_recur_alone_retries_nothing() {
        let batch = [message("a"), message("b")];
        let calls = RefCell::new(0);
        let outcome = run(isolate_batch(&batch, |_| {
            let calls = &calls;
            async move {
                *calls.borrow_mut() += 1;
                if *calls.borrow() == 1 {
                    panic!("once");
                }
                BatchOutcome::default()
            }
        }));
        assert_eq!(outcome, BatchOutcome::default());
    }

    #[test]
    fn a_stream_resumes_at_the_record_that_panics_and_nothing_after_it_runs() {
        let records = ["1", "2", "3", "4"];
        let done = RefCell::new(Vec::new());
        let resume = run(isolate_in_order(
            &records,
            |r| r.to_string(),
            |part: Vec<&str>| {
                let done = &done;
                async move {
                    for r in part {
                        if r == "3" {
                            panic!("record 3");
                        }
                        done.borrow_mut().push(r);
                    }
                    None
                }
            },
        ));
        assert_eq!(resume.as_deref(), Some("3"));
        assert_eq!(done.into_inner(), ["1", "2", "1", "2"]);
        let clean = run(isolate_in_order(
            &records,
            |r| r.to_string(),
            |_| async { Some("2".to_string()) },
        ));
        assert_eq!(
            clean.as_deref(),
            Some("2"),
            "no panic: the handler's answer"
        );
    }
}
