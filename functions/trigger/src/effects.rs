//! Carrying out a plan, so that doing it twice leaves what doing it once did.
//!
//! Order: records, aborts, dispatch, labels, pruning, comments. Records come
//! before their dispatch messages so the dispatcher always finds what it is
//! sent; aborts come before dispatch so superseded runs give up their
//! concurrency slots first; the GitHub-visible effects come last, so a plan
//! that fails halfway has not yet told anyone that jobs started.
//!
//! A retryable failure stops here and the message is retried; a permanent one
//! (GitHub refuses a label, a record is rejected) is logged and skipped, since
//! no number of retries would change the answer and the other effects still
//! matter.

use skiff_core::plan::is_help_reply;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::keys;
use skiff_core::messages::DispatchMessage;
use skiff_core::plan::{Abort, Plan, Target};
use skiff_core::ports::{PortError, PortResult, Scm};
use skiff_core::prowjob::ProwJobState;
use skiff_core::prowjob::labels::EVENT_GUID;
use tracing::{info, warn};

use crate::{Error, Result, TriggerDeps};

/// A message lives at most 14 days in SQS; a claimed comment key must outlive
/// every redelivery of the message that claimed it.
const COMMENT_KEY_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Lost compare-and-sets before the message is retried as a whole; the
/// syncer is the only other writer, so this many in a row means something is
/// churning and backing off is better than spinning.
const ABORT_ATTEMPTS: usize = 5;

pub(crate) async fn carry_out(
    plan: &Plan<'_>,
    delivery: &str,
    now: Timestamp,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
) -> Result<()> {
    let ids = create_records(plan, deps).await?;
    for a in &plan.abort {
        abort(a, delivery, now, deps).await?;
    }
    dispatch(&ids, deps).await?;
    if let Some(target) = &plan.target {
        labels(plan, target, scm).await?;
        if plan.prune_help_comments {
            prune_help(target, scm).await?;
        }
        comments(plan, target, delivery, now, deps, scm).await?;
    } else if !plan.comments.is_empty() || !plan.labels_add.is_empty() {
        warn!("the plan has comments or labels but no pull request to put them on");
    }
    Ok(())
}

/// A permanent failure is logged and skipped (`Ok(None)`); a retryable one
/// fails the message.
fn tolerate<T>(result: PortResult<T>, doing: impl FnOnce() -> String) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_retryable() => Err(Error::Port {
            doing: doing(),
            source: e,
        }),
        Err(e) => {
            warn!(error = %e, "cannot {}: skipped", doing());
            Ok(None)
        }
    }
}

/// Creates every planned record; an existing one is what a redelivery finds.
/// Returns the ids that now exist, in plan order.
async fn create_records(plan: &Plan<'_>, deps: &TriggerDeps<'_>) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(plan.jobs.len());
    for job in &plan.jobs {
        let record = job.record();
        let id = record.metadata.name.clone();
        let created = tolerate(deps.store.create(&record).await, || {
            format!("create the record of {}", job.name())
        })?;
        match created {
            Some(true) => {
                info!(job = job.name(), id, "created");
                crate::count_created(&record);
            }
            Some(false) => info!(job = job.name(), id, "already created"),
            None => continue,
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Moves one record to `aborted`, unless it has finished, was aborted
/// already, or was started by this very delivery.
async fn abort(a: &Abort, delivery: &str, now: Timestamp, deps: &TriggerDeps<'_>) -> Result<()> {
    let doing = || format!("abort {} ({})", a.job, a.id);
    for _ in 0..ABORT_ATTEMPTS {
        let Some(Some(mut job)) = tolerate(deps.store.get(&a.id).await, doing)? else {
            return Ok(());
        };
        let own = job.metadata.labels.get(EVENT_GUID).map(String::as_str) == Some(delivery);
        if own || job.is_complete() || job.status.state == Some(ProwJobState::Aborted) {
            return Ok(());
        }
        if let Err(e) = job.transition(ProwJobState::Aborted, now, &a.description) {
            if !e.is_idempotent() {
                warn!(job = a.job, id = a.id, error = %e, "cannot abort: skipped");
            }
            return Ok(());
        }
        match deps.store.update(&job).await {
            Ok(_) => {
                info!(job = a.job, id = a.id, "aborted");
                return Ok(());
            }
            // Someone moved it meanwhile: look again, it may be done now.
            Err(PortError::Conflict(_)) => continue,
            Err(e) => {
                tolerate::<()>(Err(e), doing)?;
                return Ok(());
            }
        }
    }
    Err(Error::Port {
        doing: doing(),
        source: PortError::Conflict(
            format!("the record changed under {ABORT_ATTEMPTS} attempts in a row").into(),
        ),
    })
}

/// One message per job, in one send: the dispatcher starts each pod at most
/// once whatever it is sent, and a record without its message would wait for
/// the syncer's sweep of triggered records.
async fn dispatch(ids: &[String], deps: &TriggerDeps<'_>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let bodies: Vec<String> = ids
        .iter()
        .map(|id| DispatchMessage { id: id.clone() }.to_body())
        .collect();
    tolerate(deps.dispatch.send(&bodies).await, || {
        format!("send {} dispatch messages", bodies.len())
    })?;
    Ok(())
}

async fn labels(plan: &Plan<'_>, t: &Target, scm: &dyn Scm) -> Result<()> {
    for label in &plan.labels_add {
        let added = scm.add_label(&t.org, &t.repo, t.number, label).await;
        tolerate(added, || format!("add label {label}"))?;
    }
    for label in &plan.labels_remove {
        match scm.remove_label(&t.org, &t.repo, t.number, label).await {
            // Already gone: what removing it was for.
            Err(PortError::NotFound(_)) => {}
            removed => {
                tolerate(removed, || format!("remove label {label}"))?;
            }
        }
    }
    Ok(())
}

/// Deletes the bot's earlier help replies: a `/test` that ran makes them noise.
async fn prune_help(t: &Target, scm: &dyn Scm) -> Result<()> {
    let listed = scm.list_comments(&t.org, &t.repo, t.number).await;
    let Some(comments) = tolerate(listed, || "list comments to prune".to_string())? else {
        return Ok(());
    };
    let bot = scm.bot_login();
    for c in comments
        .iter()
        .filter(|c| c.author == bot && is_help_reply(&c.body))
    {
        match scm.delete_comment(&t.org, &t.repo, c.id).await {
            Err(PortError::NotFound(_)) => {}
            deleted => {
                tolerate(deleted, || format!("delete help comment {}", c.id))?;
            }
        }
    }
    Ok(())
}

/// Each comment is claimed with `<delivery>/comment/<n>` before it is posted
/// and released if posting fails, so a redelivery posts only what has not
/// been posted. A crash between claiming and posting loses that comment:
/// a missing bot reply is better than a repeated one.
async fn comments(
    plan: &Plan<'_>,
    t: &Target,
    delivery: &str,
    now: Timestamp,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
) -> Result<()> {
    let expires = now.checked_add(COMMENT_KEY_TTL).unwrap_or(Timestamp::MAX);
    for (n, body) in plan.comments.iter().enumerate() {
        let key = keys::delivery_comment(delivery, n);
        let claimed = deps.store.remember(&key, expires).await;
        match tolerate(claimed, || format!("claim comment {n}"))? {
            Some(true) => {}
            Some(false) => {
                info!(comment = n, "already posted");
                continue;
            }
            // The store refuses the key for good: posting unguarded could
            // repeat the comment on every redelivery.
            None => continue,
        }
        let posted = scm.create_comment(&t.org, &t.repo, t.number, body).await;
        if posted.is_err() {
            let released = deps.store.forget(&key).await;
            tolerate(released, || format!("release the claim on comment {n}"))?;
        } else {
            info!(comment = n, "commented");
        }
        tolerate(posted, || format!("post comment {n}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_replies_are_recognised_by_prows_sentences() {
        let help = "@dev: The specified target(s) for `/test` were not found.\nThe following commands are available to trigger required jobs:\n```\n/test unit\n```";
        assert!(is_help_reply(help));
        assert!(is_help_reply(
            "@dev: No jobs can be run with `/test all`.\n"
        ));
        assert!(is_help_reply("No presubmit jobs available for o/r@main"));
        assert!(!is_help_reply(
            "Hi @dev, thanks for the pull request! A member can comment `/ok-to-test`."
        ));
        assert!(!is_help_reply(
            "@dev: Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message."
        ));
    }
}
