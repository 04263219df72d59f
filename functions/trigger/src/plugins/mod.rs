//! Prow's hook for the review plugins: every plugin a repository enables in
//! plugins.yaml plans over one event (`skiff_core::plugins`), and one
//! executor ([`apply`]) carries the effects out; then the event goes to the
//! repository's external plugins ([`forward`]).
//!
//! Each plugin is on its own: one that cannot decide (GitHub down) or whose
//! effect GitHub refuses is logged with its name, and the others still run.
//! A retryable failure of any sends the message back once all have run; the
//! redelivery finds the effects already made under their keys and makes
//! only the rest.
//!
//! CodeCommit events do not reach the review plugins: CodeCommit has no
//! labels, assignees or review requests (the README says so).

mod apply;
mod facts;
mod forward;

use jiff::Timestamp;
use skiff_core::messages::EventMessage;
use skiff_core::plugins::{self, Cached, Ctx};
use skiff_core::ports::Scm;
use tracing::{Instrument, info, info_span, warn};

use crate::{Error, Result, TriggerDeps};

/// Runs the review plugins and the external plugins on one GitHub event.
pub(crate) async fn run(
    msg: &EventMessage,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
    now: Timestamp,
) -> Result<()> {
    let event = match plugins::event::parse(&msg.event, msg.body.as_bytes()) {
        Ok(Some(event)) => event,
        // About no repository: nothing for a plugin to do.
        Ok(None) => return Ok(()),
        Err(e) => return Err(Error::Event(e)),
    };
    let ctx = Ctx {
        config: deps.config,
        regexes: deps.regexes,
        delivery: &msg.delivery,
        now,
    };
    let mut port_facts = facts::PluginFacts {
        scm,
        store: deps.store,
        config: deps.config,
        now,
    };
    let mut facts = Cached::new(&mut port_facts);
    let outcomes = plugins::plan_plugins(&ctx, &event, &mut facts).await;
    let mut first_retryable: Option<Error> = None;
    for outcome in outcomes {
        let span = info_span!("plugin", plugin = outcome.plugin);
        let done = async {
            let plan = match outcome.result {
                Ok(plan) => plan,
                Err(e) => {
                    warn!(fact = e.fact, error = %e.message, retryable = e.retryable, "cannot decide");
                    return if e.retryable {
                        Err(Error::Fact(e))
                    } else {
                        Ok(())
                    };
                }
            };
            for note in &plan.notes {
                info!(note, "plan");
            }
            if !plan.effects.is_empty() {
                info!(effects = plan.effects.len(), "carrying out");
            }
            apply::apply(&plan, &event.repo, &msg.delivery, now, deps, scm).await
        }
        .instrument(span)
        .await;
        if let Err(e) = done
            && first_retryable.is_none()
        {
            first_retryable = Some(e);
        }
    }
    if let Err(e) = forward::forward(msg, &event.repo, deps, now).await
        && first_retryable.is_none()
    {
        first_retryable = Some(e);
    }
    match first_retryable {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
