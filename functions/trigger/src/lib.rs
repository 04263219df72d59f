//! Prow's hook back half and trigger plugin: read an event from the `events`
//! queue, decide what it starts (the planner in `skiff_core::plan`), and carry
//! the plan out — job records, aborts, dispatch messages, labels, comments.
//!
//! A GitHub event is planned with GitHub's answers; a CodeCommit event with
//! those of CodeCommit in its region (its repository is `region/name`), whose
//! adapter refuses writes: replies and labels are logged and skipped there,
//! and the results of CodeCommit jobs go through the reporter.
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
pub mod inrepo;
mod plugins;

use skiff_core::config::Config;
use skiff_core::event::{Event, EventError, Repo, codecommit, github};
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::metrics as metric;
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, plan_event};
use skiff_core::ports::{
    BatchOutcome, Clock, HookForwarder, JobStore, Message, PortError, Queue, Scm,
};
use tracing::{Span, field, info, warn};

/// The code host of one region's CodeCommit events.
#[derive(Clone, Copy)]
pub struct CodeCommitRegion<'a> {
    /// The AWS region: a CodeCommit event's repository is `region/name`.
    pub region: &'a str,
    /// Reads that region's CodeCommit (`skiff_scm::CodeCommitScm`).
    pub scm: &'a dyn Scm,
}

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
    /// The code host of GitHub events.
    pub scm: &'a dyn Scm,
    /// The code host of CodeCommit events, by region. A CodeCommit event is
    /// never planned with GitHub's answers about its `region/name`.
    pub codecommit: &'a [CodeCommitRegion<'a>],
    pub clock: &'a dyn Clock,
    /// Where `external_plugins:` are reached; `None`: they are not (logged).
    pub external: Option<&'a dyn HookForwarder>,
}

impl<'a> TriggerDeps<'a> {
    /// The code host an event from `source` about `repo` is planned with.
    fn scm_for(&self, source: EventSource, repo: &Repo) -> Result<&'a dyn Scm> {
        match source {
            EventSource::Github => Ok(self.scm),
            EventSource::Codecommit => self
                .codecommit
                .iter()
                .find(|c| c.region == repo.org)
                .map(|c| c.scm)
                .ok_or_else(|| Error::NoCodeCommit {
                    region: repo.org.clone(),
                    repo: repo.repo.clone(),
                    served: self
                        .codecommit
                        .iter()
                        .map(|c| c.region)
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
        }
    }
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
    #[error(
        "CodeCommit event from region {region} (repository {repo}): this trigger reads CodeCommit \
         only in [{served}]"
    )]
    NoCodeCommit {
        region: String,
        repo: String,
        served: String,
    },
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
            // The deployment serves its own region; redelivery changes nothing.
            Error::Message(_) | Error::Event(_) | Error::NoCodeCommit { .. } => false,
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
    let now = deps.clock.now();
    // The review plugins run beside the trigger, each on its own: neither
    // failing stops the other, and a retryable failure of either retries
    // the message (whose effects so far are then no-ops).
    let triggered = trigger(&msg, &event, deps, now).await;
    let reviewed = match msg.source {
        EventSource::Github => plugins::run(&msg, deps, deps.scm, now).await,
        EventSource::Codecommit => Ok(()),
    };
    match (triggered, reviewed) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        // The one a redelivery can fix decides whether there is one.
        (Err(a), Err(b)) => Err(if a.is_retryable() { a } else { b }),
    }
}

/// Prow's trigger plugin: plans the jobs the event starts and starts them.
async fn trigger(
    msg: &EventMessage,
    event: &Event,
    deps: &TriggerDeps<'_>,
    now: jiff::Timestamp,
) -> Result<()> {
    let span = Span::current();
    let repo = match repo_of(event) {
        Some(repo) => repo,
        None => {
            if let Event::Ignored { reason, .. } = &event {
                info!(reason, "nothing to do");
            }
            return Ok(());
        }
    };
    span.record("repo", repo.full_name());
    let scm = deps.scm_for(msg.source, repo)?;

    let mut port_facts = facts::PortFacts {
        scm,
        store: deps.store,
        delivery: &msg.delivery,
    };
    let planning = std::time::Instant::now();
    let mut facts = inrepo::Memo::new(&mut port_facts);
    let in_repo = inrepo::effective(msg.source, event, deps, scm, &mut facts).await?;
    let (config, regexes) = match &in_repo {
        Some(e) => (&e.config, &e.regexes),
        None => (deps.config, deps.regexes),
    };
    let ctx = Context {
        config,
        regexes,
        delivery: &msg.delivery,
        now,
        explain: false,
    };
    let plan = plan_event(&ctx, event, &mut facts)
        .await
        .map_err(Error::Fact)?;
    metrics::histogram!(
        metric::TRIGGER_PLANNING.name,
        "event_type" => metric::event_type(&msg.event)
    )
    .record(planning.elapsed().as_secs_f64());
    if let Some(note) = &plan.note {
        info!(note, "plan");
    }
    info!(
        jobs = plan.jobs.len(),
        aborts = plan.abort.len(),
        comments = plan.comments.len(),
        "carrying out the plan"
    );
    effects::carry_out(&plan, &msg.delivery, now, deps, scm).await
}

/// One more job record made by the trigger ([`metric::JOBS_CREATED`]).
pub(crate) fn count_created(job: &skiff_core::prowjob::ProwJob) {
    let kind = job.spec.r#type.map_or("unknown", |t| t.as_str());
    metrics::counter!(
        metric::JOBS_CREATED.name,
        "type" => kind,
        "creator" => metric::creator::TRIGGER
    )
    .increment(1);
}

fn repo_of(event: &Event) -> Option<&Repo> {
    match event {
        Event::PullRequest(e) => Some(&e.pr.repo),
        Event::Comment(e) => Some(&e.repo),
        Event::Push(e) => Some(&e.repo),
        Event::Rerun(e) => Some(&e.repo),
        Event::MergeGroup(e) => Some(&e.repo),
        Event::Ignored { .. } => None,
    }
}
