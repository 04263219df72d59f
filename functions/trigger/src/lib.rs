//! Prow's hook back half and trigger plugin: read an event from the `events`
//! queue, decide what it starts (the planner in `skiff_core::plan`), and carry
//! the plan out — job records, aborts, dispatch messages, labels, comments.
//!
//! Every message may arrive twice, or again after a crash halfway through.
//! Each effect is therefore keyed so that repeating it changes nothing: job
//! ids derive from the delivery and the job, aborts are compare-and-set on a
//! state that only moves forward, labels are sets, and each comment is claimed
//! with a dedupe key before it is posted. A retryable failure anywhere sends
//! the whole message back; the redelivery replays the effects already made as
//! no-ops and finishes the rest.

mod effects;
mod facts;

use skiff_core::config::Config;
use skiff_core::event::{Event, EventError, codecommit, github};
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, plan_event};
use skiff_core::ports::{BatchOutcome, Clock, JobStore, Message, PortError, Queue, Scm};
use tracing::{Span, field, info, warn};

/// What the handler talks to.
#[derive(Clone, Copy)]
pub struct TriggerDeps<'a> {
    pub config: &'a Config,
    /// Compiled patterns of `config`, kept across events.
    pub regexes: &'a Regexes,
    /// Job records, and the keys that make comments exactly-once.
    pub store: &'a dyn JobStore,
    /// The `dispatch` queue the dispatcher reads.
    pub dispatch: &'a dyn Queue,
    pub scm: &'a dyn Scm,
    pub clock: &'a dyn Clock,
}

/// Why a message was not fully handled.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("not an event message")]
    Message(#[source] serde_json::Error),
    #[error("cannot parse the event")]
    Event(#[source] EventError),
    #[error("cannot plan the event")]
    Fact(#[source] FactError),
    #[error("cannot {doing}")]
    Port {
        doing: String,
        #[source]
        source: PortError,
    },
}

type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether delivering the message again may succeed. A body that does
    /// not parse never will; it is dropped rather than retried until the DLQ.
    fn is_retryable(&self) -> bool {
        match self {
            Error::Message(_) | Error::Event(_) => false,
            Error::Fact(e) => e.retryable,
            Error::Port { source, .. } => source.is_retryable(),
        }
    }
}

/// The chain of causes on one line, for a log field.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Handles one batch from the `events` queue. The receipts in `retry` come
/// back later; every other message is done (handled, or dropped as
/// malformed with a log line).
pub async fn handle_batch(messages: &[Message], deps: &TriggerDeps<'_>) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    // One at a time: messages of one batch often concern the same pull
    // request, and GitHub's secondary rate limits punish parallel writes.
    for m in messages {
        if let Err(e) = handle_message(m, deps).await {
            if e.is_retryable() {
                warn!(receipt = %m.receipt, receive_count = m.receive_count, error = %chain(&e), "will retry");
                outcome.retry.push(m.receipt.clone());
            } else {
                warn!(receipt = %m.receipt, error = %chain(&e), "dropped");
            }
        }
    }
    outcome
}

#[tracing::instrument(
    name = "trigger",
    skip_all,
    fields(receipt = %m.receipt, delivery = field::Empty, event = field::Empty, repo = field::Empty)
)]
async fn handle_message(m: &Message, deps: &TriggerDeps<'_>) -> Result<()> {
    let msg = EventMessage::from_queue_body(&m.body).map_err(Error::Message)?;
    let span = Span::current();
    span.record("delivery", msg.delivery.as_str());
    span.record("event", msg.event.as_str());
    let event = match msg.source {
        EventSource::Github => github::parse(&msg.event, msg.body.as_bytes()),
        EventSource::Codecommit => codecommit::parse(msg.body.as_bytes()),
    }
    .map_err(Error::Event)?;
    if let Some(repo) = repo_of(&event) {
        span.record("repo", repo);
    }
    if let Event::Ignored { reason, .. } = &event {
        info!(reason, "nothing to do");
        return Ok(());
    }

    let now = deps.clock.now();
    let ctx = Context {
        config: deps.config,
        regexes: deps.regexes,
        delivery: &msg.delivery,
        now,
        explain: false,
    };
    let mut facts = facts::PortFacts {
        scm: deps.scm,
        store: deps.store,
        delivery: &msg.delivery,
    };
    let plan = plan_event(&ctx, &event, &mut facts)
        .await
        .map_err(Error::Fact)?;
    if let Some(note) = &plan.note {
        info!(note, "plan");
    }
    info!(
        jobs = plan.jobs.len(),
        aborts = plan.abort.len(),
        comments = plan.comments.len(),
        "carrying out the plan"
    );
    effects::carry_out(&plan, &msg.delivery, now, deps).await
}

fn repo_of(event: &Event) -> Option<String> {
    match event {
        Event::PullRequest(e) => Some(e.pr.repo.full_name()),
        Event::Comment(e) => Some(e.repo.full_name()),
        Event::Push(e) => Some(e.repo.full_name()),
        Event::Rerun(e) => Some(e.repo.full_name()),
        Event::Ignored { .. } => None,
    }
}
