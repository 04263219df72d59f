//! Carrying out what a plugin decided, so that a redelivered event changes
//! nothing twice.
//!
//! Each effect is claimed in the job store under `plugin/<delivery>/<plugin>/
//! <fingerprint>` before it is made, and released if making it fails; a
//! redelivery skips what it finds claimed. (A human who removes `lgtm` after
//! the bot added it does not see it come back when GitHub redelivers the
//! `/lgtm`.) A crash between claiming and making loses that one effect, as
//! for the trigger's comments: a missing label is better than a repeated
//! comment. Removals that find nothing to remove are done.

use std::time::Duration;

use jiff::Timestamp;
use skiff_core::event::Repo;
use skiff_core::plugins::assign::refused_message;
use skiff_core::plugins::needs_rebase::{self, MAX_LOOKS};
use skiff_core::plugins::respond::format_response_raw;
use skiff_core::plugins::{Effect, PluginPlan, Refusal};
use skiff_core::ports::{PortError, PortResult, Scm};
use tracing::{info, warn};

use crate::{Error, Result, TriggerDeps};

/// As the trigger's comment keys: longer than SQS keeps a message.
const EFFECT_KEY_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// The job store's key for one plugin's effect on one delivery.
pub(crate) fn effect_key(delivery: &str, plugin: &str, effect: &Effect) -> String {
    format!("plugin/{delivery}/{plugin}/{}", effect.fingerprint())
}

/// A permanent failure is logged and skipped; a retryable one is returned.
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

/// "Not there" is what a removal wants.
fn gone_is_done(r: PortResult<()>) -> PortResult<()> {
    match r {
        Err(PortError::NotFound(_)) => Ok(()),
        other => other,
    }
}

pub(crate) async fn apply(
    plan: &PluginPlan,
    repo: &Repo,
    delivery: &str,
    now: Timestamp,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
) -> Result<()> {
    let expires = now.checked_add(EFFECT_KEY_TTL).unwrap_or(Timestamp::MAX);
    for effect in &plan.effects {
        let key = effect_key(delivery, &plan.plugin, effect);
        let claimed = deps.store.remember(&key, expires).await;
        match tolerate(claimed, || format!("claim {key}"))? {
            Some(true) => {}
            Some(false) => {
                info!(effect = %effect.fingerprint(), "already done");
                continue;
            }
            None => continue,
        }
        let made = make(effect, plan, repo, delivery, now, deps, scm).await;
        if let Err(e) = &made {
            if e.is_retryable() {
                let released = deps.store.forget(&key).await;
                tolerate(released, || format!("release {key}"))?;
            }
        } else {
            info!(effect = ?effect_summary(effect), "done");
        }
        tolerate(made, || {
            format!("{} ({})", effect_summary(effect), plan.plugin)
        })?;
    }
    Ok(())
}

fn effect_summary(effect: &Effect) -> String {
    match effect {
        Effect::AddLabel { label } => format!("add label {label}"),
        Effect::RemoveLabel { label } => format!("remove label {label}"),
        Effect::Comment { .. } => "comment".into(),
        Effect::Prune { .. } => "prune comments".into(),
        Effect::DeleteComments { ids } => format!("delete {} comment(s)", ids.len()),
        Effect::Assign { logins, .. } => format!("assign {}", logins.join(",")),
        Effect::Unassign { logins } => format!("unassign {}", logins.join(",")),
        Effect::RequestReview { users, teams, .. } => {
            format!(
                "request reviews {}",
                [&users[..], &teams[..]].concat().join(",")
            )
        }
        Effect::UnrequestReview { users, teams } => {
            format!(
                "unrequest reviews {}",
                [&users[..], &teams[..]].concat().join(",")
            )
        }
        Effect::SetState { state } => format!("set state {state:?}"),
        Effect::Status { status, .. } => format!("status {}", status.context),
        Effect::CreateJob { id, .. } => format!("create job {id}"),
        Effect::CheckMergeable { number, .. } => format!("check mergeable #{number}"),
        Effect::CheckBase { branch, .. } => format!("check PRs into {branch}"),
    }
}

/// Replies naming the users GitHub refused, to the comment that asked.
async fn reply_refused(
    scm: &dyn Scm,
    repo: &Repo,
    number: i64,
    refusal: &Option<Refusal>,
    reviewers: bool,
    refused: &[String],
) -> PortResult<()> {
    let Some(r) = refusal else { return Ok(()) };
    if refused.is_empty() {
        return Ok(());
    }
    let body = format_response_raw(
        &r.body,
        &r.url,
        &r.user,
        &refused_message(&repo.org, reviewers, refused),
    );
    scm.create_comment(&repo.org, &repo.repo, number, &body)
        .await
}

async fn make(
    effect: &Effect,
    plan: &PluginPlan,
    repo: &Repo,
    delivery: &str,
    now: Timestamp,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
) -> PortResult<()> {
    let (o, r) = (repo.org.as_str(), repo.repo.as_str());
    let number = || {
        plan.number.ok_or_else(|| {
            PortError::Rejected(
                format!(
                    "{} planned an effect with no issue to apply it to",
                    plan.plugin
                )
                .into(),
            )
        })
    };
    match effect {
        Effect::AddLabel { label } => scm.add_label(o, r, number()?, label).await,
        Effect::RemoveLabel { label } => {
            gone_is_done(scm.remove_label(o, r, number()?, label).await)
        }
        Effect::Comment { body } => scm.create_comment(o, r, number()?, body).await,
        Effect::Prune { containing } => {
            let n = number()?;
            let bot = scm.bot_login().to_string();
            for c in scm.list_comments(o, r, n).await? {
                if c.author == bot && c.body.contains(containing.as_str()) {
                    gone_is_done(scm.delete_comment(o, r, c.id).await)?;
                }
            }
            Ok(())
        }
        Effect::DeleteComments { ids } => {
            for id in ids {
                gone_is_done(scm.delete_comment(o, r, *id).await)?;
            }
            Ok(())
        }
        Effect::Assign { logins, refused } => {
            let n = number()?;
            let not = scm.assign(o, r, n, logins).await?;
            reply_refused(scm, repo, n, refused, false, &not).await
        }
        Effect::Unassign { logins } => scm.unassign(o, r, number()?, logins).await,
        Effect::RequestReview {
            users,
            teams,
            refused,
        } => {
            let n = number()?;
            let not = scm.request_review(o, r, n, users, teams).await?;
            reply_refused(scm, repo, n, refused, true, &not).await
        }
        Effect::UnrequestReview { users, teams } => {
            scm.unrequest_review(o, r, number()?, users, teams).await
        }
        Effect::SetState { state } => scm.set_issue_state(o, r, number()?, *state).await,
        Effect::Status { sha, status } => scm.create_status(o, r, sha, status).await,
        // An existing record is what a redelivery finds.
        Effect::CreateJob { job, .. } => deps.store.create(job).await.map(|created| {
            if created {
                crate::count_created(job);
            }
        }),
        // GitHub's answer now: the event that asked came a moment after the
        // push, so it is usually computed; when not, the PR's next event
        // looks again (Prow's plugin polls three times, then gives up too).
        Effect::CheckMergeable { number, .. } => {
            let pr = scm.pull_request(o, r, *number).await?;
            let follow = needs_rebase::plan_for(&pr, MAX_LOOKS);
            Box::pin(apply_port(&follow, repo, delivery, now, deps, scm)).await
        }
        Effect::CheckBase { branch, .. } => {
            for pr in scm.open_pulls(o, r, branch).await? {
                let follow = needs_rebase::plan_for(&pr, MAX_LOOKS);
                Box::pin(apply_port(&follow, repo, delivery, now, deps, scm)).await?;
            }
            Ok(())
        }
    }
}

/// [`apply`] for an effect's follow-up, with port errors kept as such.
async fn apply_port(
    plan: &PluginPlan,
    repo: &Repo,
    delivery: &str,
    now: Timestamp,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
) -> PortResult<()> {
    match apply(plan, repo, delivery, now, deps, scm).await {
        Ok(()) => Ok(()),
        Err(Error::Port { source, .. }) => Err(source),
        Err(other) => Err(PortError::Unavailable(other.to_string().into())),
    }
}
