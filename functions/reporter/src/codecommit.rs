//! Results of CodeCommit jobs, written to CodeCommit (which has no commit
//! statuses):
//!
//! - a pull request gets one results table per revision (head commit), posted
//!   once every job of that revision has ended (`PostCommentForPullRequest`,
//!   then `UpdateComment` when a rerun changes a row);
//! - where `skiff.reporting.codecommit_approval_repos` opts in, the revision
//!   is approved once every required job passed (optional jobs neither hold
//!   it back nor revoke it), and the approval revoked as soon as a required
//!   job fails (`UpdatePullRequestApprovalState`); a closed pull request gets
//!   its table but no approval call (CodeCommit would refuse it);
//! - a postsubmit's end is a comment on the pushed commit
//!   (`PostCommentForComparedCommit`).
//!
//! Each ended state is reported once (`prev_report_states["codecommit-reporter"]`);
//! posts carry an idempotency token, approvals a dedupe key, so a retried
//! report changes nothing.

use std::hash::{Hash, Hasher};

use async_trait::async_trait;
use skiff_core::event::codecommit::is_codecommit_link;
use skiff_core::keys::{self, RESULTS_TAG};
use skiff_core::ports::{CodeCommit, CodeCommitPull, JobQuery, PortError, PortResult};
use skiff_core::prowjob::labels::IS_OPTIONAL;
use skiff_core::prowjob::latest::{head_sha, latest_runs};
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

use crate::{Detail, Reporter, ReporterDeps, Sent, Skip, later};

/// How long approval keys and the table lock live.
const APPROVAL_KEY_SECONDS: i64 = 30 * 24 * 3600;
const LOCK_SECONDS: i64 = 120;

/// The CodeCommit sink.
pub struct CodeCommitReporter;

/// The comment part of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeCommitComment {
    /// Other jobs of the revision are still running.
    Waiting,
    Posted {
        id: String,
    },
    Updated {
        id: String,
    },
    Unchanged,
}

/// The approval part of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// The repo does not opt in, or the result decides nothing yet.
    NotDecided,
    /// The pull request has moved to another revision since the job ran.
    Stale,
    /// The pull request is closed (or merged): CodeCommit refuses approvals
    /// on it, and the results are still worth a comment.
    Closed,
    Approved,
    Revoked,
    /// Already in that state through an earlier report.
    Unchanged,
}

#[async_trait]
impl Reporter for CodeCommitReporter {
    fn name(&self) -> &'static str {
        keys::CODECOMMIT_REPORTER
    }

    fn should_report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> Result<(), Skip> {
        let refs = job.spec.refs.as_ref().ok_or(Skip::NoRefs)?;
        if !is_codecommit_link(&refs.repo_link) {
            return Err(Skip::NotCodeCommit);
        }
        if !job.spec.report {
            return Err(Skip::ReportDisabled);
        }
        let types = deps.config.prow.github_reporter.job_types_to_report();
        if !job.spec.r#type.is_some_and(|t| types.contains(&t)) {
            return Err(Skip::TypeNotReported);
        }
        // No statuses on CodeCommit: only ends are reported.
        if job.status.state.is_none() || !job.is_complete() {
            return Err(Skip::NotComplete);
        }
        match (job.spec.r#type, refs.pulls.len()) {
            (Some(ProwJobType::Presubmit), 1) | (Some(ProwJobType::Postsubmit), _) => {}
            _ => return Err(Skip::NotOnePullOrPush),
        }
        if deps.codecommit.is_none() {
            tracing::warn!("no CodeCommit client: the result of a CodeCommit job is not reported");
            return Err(Skip::NoClient);
        }
        Ok(())
    }

    async fn report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<Sent> {
        let (Some(refs), Some(state), Some(cc)) =
            (job.spec.refs.as_ref(), job.status.state, deps.codecommit)
        else {
            return Err(PortError::Rejected(
                format!("job {} is not reported to CodeCommit", job.metadata.name).into(),
            ));
        };
        if refs.org != cc.region() {
            return Err(PortError::Rejected(
                format!(
                    "job {} is in region {}, this deployment reports to CodeCommit in {}",
                    job.metadata.name,
                    refs.org,
                    cc.region()
                )
                .into(),
            ));
        }
        let (comment, approval) = match (job.spec.r#type, refs.pulls.as_slice()) {
            (Some(ProwJobType::Presubmit), [pull]) => {
                pull_request(job, refs, pull.number, &pull.sha, cc, deps).await?
            }
            _ => {
                let body = commit_comment(job, state);
                let token = format!("{}-{}", job.metadata.name, state.as_str());
                let id = cc
                    .post_commit_comment(&refs.repo, &refs.base_sha, &body, &token)
                    .await?;
                (CodeCommitComment::Posted { id }, Approval::NotDecided)
            }
        };
        Ok(Sent::done(Detail::CodeCommit { comment, approval }))
    }
}

/// The latest run of each job of the pull request on `head`.
async fn revision_runs(
    refs: &Refs,
    number: i64,
    head: &str,
    deps: &ReporterDeps<'_>,
) -> PortResult<Vec<ProwJob>> {
    let query = JobQuery::Pull {
        org: refs.org.clone(),
        repo: refs.repo.clone(),
        number,
    };
    let all = deps.store.list(&query, None).await?;
    let on_head = all
        .iter()
        .filter(|j| j.spec.report && head_sha(j) == Some(head));
    Ok(latest_runs(on_head, |j| j.spec.job.as_str())
        .into_iter()
        .cloned()
        .collect())
}

fn required(job: &ProwJob) -> bool {
    !matches!(
        job.metadata.labels.get(IS_OPTIONAL).map(String::as_str),
        Some("true" | "1" | "t" | "T" | "TRUE" | "True")
    )
}

async fn pull_request(
    job: &ProwJob,
    refs: &Refs,
    number: i64,
    head: &str,
    cc: &dyn CodeCommit,
    deps: &ReporterDeps<'_>,
) -> PortResult<(CodeCommitComment, Approval)> {
    let mut runs = revision_runs(refs, number, head, deps).await?;
    // The record being reported may not show in the index yet (DynamoDB's
    // indexes lag the table): it counts as what it is now.
    match runs.iter_mut().find(|r| r.spec.job == job.spec.job) {
        Some(r)
            if r.metadata.name == job.metadata.name
                || r.metadata.creation_timestamp < job.metadata.creation_timestamp =>
        {
            *r = job.clone()
        }
        Some(_) => {}
        None => runs.push(job.clone()),
    }
    let required_failed = runs.iter().any(|r| {
        required(r)
            && matches!(
                r.status.state,
                Some(ProwJobState::Failure | ProwJobState::Error)
            )
    });
    let all_done = runs.iter().all(ProwJob::is_complete);
    let required_passed = runs.iter().any(required)
        && runs
            .iter()
            .filter(|r| required(r))
            .all(|r| r.status.state == Some(ProwJobState::Success));
    // Optional jobs neither hold the approval back nor revoke it.
    let decision = if required_failed {
        Some(false)
    } else if required_passed {
        Some(true)
    } else {
        None
    };

    let opted_in = deps
        .config
        .prow
        .skiff
        .reporting
        .approves(&refs.org, &refs.repo);
    let needs_pull = (opted_in && decision.is_some()) || all_done;
    let pull = if needs_pull {
        Some(cc.pull_request(number).await?)
    } else {
        None
    };
    let approval = match (opted_in, decision, &pull) {
        (true, Some(approve), Some(p)) => {
            approve_or_revoke(refs, number, head, p, approve, cc, deps).await?
        }
        _ => Approval::NotDecided,
    };
    let comment = match (all_done, &pull) {
        (true, Some(p)) => results_comment(refs, number, head, p, &runs, cc, deps).await?,
        _ => CodeCommitComment::Waiting,
    };
    Ok((comment, approval))
}

async fn approve_or_revoke(
    refs: &Refs,
    number: i64,
    head: &str,
    pull: &CodeCommitPull,
    approve: bool,
    cc: &dyn CodeCommit,
    deps: &ReporterDeps<'_>,
) -> PortResult<Approval> {
    if pull.source_commit != head {
        return Ok(Approval::Stale);
    }
    if pull.status != "OPEN" {
        return Ok(Approval::Closed);
    }
    let key = |approve| {
        keys::codecommit_approval(&refs.org, &refs.repo, number, &pull.revision_id, approve)
    };
    let (this, other) = (key(approve), key(!approve));
    let expires = later(deps.clock.now(), APPROVAL_KEY_SECONDS);
    if !deps.store.remember(&this, expires).await? {
        return Ok(Approval::Unchanged);
    }
    if let Err(e) = cc.set_approval(number, &pull.revision_id, approve).await {
        // Not set: the next attempt must try again.
        if let Err(forget) = deps.store.forget(&this).await {
            tracing::warn!(error = %forget, key = this, "cannot forget the approval key");
        }
        return Err(e);
    }
    deps.store.forget(&other).await?;
    Ok(if approve {
        Approval::Approved
    } else {
        Approval::Revoked
    })
}

async fn results_comment(
    refs: &Refs,
    number: i64,
    head: &str,
    pull: &CodeCommitPull,
    runs: &[ProwJob],
    cc: &dyn CodeCommit,
    deps: &ReporterDeps<'_>,
) -> PortResult<CodeCommitComment> {
    let body = table(head, runs);
    let marker = format!("{RESULTS_TAG}: {head} -->");
    let lock = keys::codecommit_comment_lock(&refs.org, &refs.repo, number);
    if !deps
        .store
        .remember(&lock, later(deps.clock.now(), LOCK_SECONDS))
        .await?
    {
        return Err(PortError::Unavailable(
            format!(
                "another report is updating the results on {}/{}#{number}",
                refs.org, refs.repo
            )
            .into(),
        ));
    }
    let result = async {
        let existing = cc
            .comments(&refs.repo, number)
            .await?
            .into_iter()
            .rfind(|c| c.content.contains(&marker));
        match existing {
            Some(c) if c.content == body => Ok(CodeCommitComment::Unchanged),
            Some(c) => {
                cc.update_comment(&c.id, &body).await?;
                Ok(CodeCommitComment::Updated { id: c.id })
            }
            None => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                body.hash(&mut h);
                let token = format!("results-{number}-{head}-{:016x}", h.finish());
                let before = if pull.destination_commit.is_empty() {
                    refs.base_sha.as_str()
                } else {
                    pull.destination_commit.as_str()
                };
                let id = cc
                    .post_comment(&refs.repo, number, before, head, &body, &token)
                    .await?;
                Ok(CodeCommitComment::Posted { id })
            }
        }
    }
    .await;
    if let Err(e) = deps.store.forget(&lock).await {
        tracing::warn!(error = %e, lock, "results lock not released; it expires by itself");
    }
    result
}

fn result_word(state: Option<ProwJobState>) -> &'static str {
    match state {
        Some(ProwJobState::Success) => "passed",
        Some(ProwJobState::Failure) => "**failed**",
        Some(ProwJobState::Error) => "**error**",
        Some(ProwJobState::Aborted) => "aborted",
        _ => "running",
    }
}

/// The results table of a revision: every job's latest run.
fn table(head: &str, runs: &[ProwJob]) -> String {
    let failed = runs
        .iter()
        .filter(|r| {
            matches!(
                r.status.state,
                Some(ProwJobState::Failure | ProwJobState::Error)
            )
        })
        .count();
    let short: String = head.chars().take(12).collect();
    let headline = if failed == 0 {
        format!("All {} tests **passed** on commit {short}.", runs.len())
    } else {
        format!(
            "{failed} of {} tests failed on commit {short}. Comment `/retest` to rerun the failed ones.",
            runs.len()
        )
    };
    let mut lines = vec![
        headline,
        String::new(),
        "Test name | Result | Details | Required | Rerun command".to_owned(),
        "--- | --- | --- | --- | ---".to_owned(),
    ];
    for r in runs {
        let link = if r.status.url.is_empty() {
            String::new()
        } else {
            format!("[link]({})", r.status.url)
        };
        lines.push(format!(
            "{} | {} | {link} | {} | `{}`",
            r.spec.context,
            result_word(r.status.state),
            required(r),
            r.spec.rerun_command
        ));
    }
    lines.push(String::new());
    lines.push(format!("{RESULTS_TAG}: {head} -->"));
    lines.join("\n")
}

fn commit_comment(job: &ProwJob, state: ProwJobState) -> String {
    let mut text = format!(
        "Skiff: postsubmit **{}** {} ({}).",
        job.spec.job,
        result_word(Some(state)),
        job.status.description
    );
    if !job.status.url.is_empty() {
        text.push_str(&format!(" [Job log and artifacts]({})", job.status.url));
    }
    text
}
