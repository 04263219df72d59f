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

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use skiff_core::event::codecommit::is_codecommit_link;
use skiff_core::ports::{CodeCommit, CodeCommitPull, JobQuery, PortError, PortResult};
use skiff_core::prowjob::labels::IS_OPTIONAL;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

use crate::{Recorded, ReporterDeps, later, record};

/// The key in `prev_report_states`.
pub const CODECOMMIT_REPORTER_NAME: &str = "codecommit-reporter";
/// Marks Skiff's results comment; the head commit follows it.
pub const RESULTS_TAG: &str = "<!-- skiff test results";
/// How long approval keys and the table lock live.
const APPROVAL_KEY_SECONDS: i64 = 30 * 24 * 3600;
const LOCK_SECONDS: i64 = 120;

/// What the CodeCommit reporter did with one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeCommitReport {
    NotReported(&'static str),
    AlreadyReported(ProwJobState),
    Reported {
        state: ProwJobState,
        comment: Comment,
        approval: Approval,
        recorded: Recorded,
    },
}

/// The comment part of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comment {
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

/// Reports a CodeCommit job's end to CodeCommit.
pub(crate) async fn report(job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<CodeCommitReport> {
    let Some(refs) = job.spec.refs.as_ref() else {
        return Ok(CodeCommitReport::NotReported("no refs"));
    };
    if !is_codecommit_link(&refs.repo_link) {
        return Ok(CodeCommitReport::NotReported("not a CodeCommit repository"));
    }
    let types = deps.config.prow.github_reporter.job_types_to_report();
    if !job.spec.report || !job.spec.r#type.is_some_and(|t| types.contains(&t)) {
        return Ok(CodeCommitReport::NotReported("not a reported job type"));
    }
    let Some(state) = job.status.state.filter(|_| job.is_complete()) else {
        // No statuses on CodeCommit: only ends are reported.
        return Ok(CodeCommitReport::NotReported("not complete"));
    };
    if job.status.prev_report_states.get(CODECOMMIT_REPORTER_NAME) == Some(&state) {
        return Ok(CodeCommitReport::AlreadyReported(state));
    }
    let Some(cc) = deps.codecommit else {
        tracing::warn!("no CodeCommit client: the result of a CodeCommit job is not reported");
        return Ok(CodeCommitReport::NotReported("no CodeCommit client"));
    };
    if refs.org != cc.region() {
        return Err(PortError::Rejected(format!(
            "job {} is in region {}, this deployment reports to CodeCommit in {}",
            job.metadata.name,
            refs.org,
            cc.region()
        )));
    }
    let (comment, approval) = match (job.spec.r#type, refs.pulls.as_slice()) {
        (Some(ProwJobType::Presubmit), [pull]) => {
            pull_request(job, refs, pull.number, &pull.sha, cc, deps).await?
        }
        (Some(ProwJobType::Postsubmit), _) => {
            let body = commit_comment(job, state);
            let token = format!("{}-{}", job.metadata.name, state.as_str());
            let id = cc
                .post_commit_comment(&refs.repo, &refs.base_sha, &body, &token)
                .await?;
            (Comment::Posted { id }, Approval::NotDecided)
        }
        _ => {
            return Ok(CodeCommitReport::NotReported(
                "not one pull request or a push",
            ));
        }
    };
    let recorded = record(
        job.clone(),
        CODECOMMIT_REPORTER_NAME,
        state,
        None,
        deps.store,
    )
    .await?;
    tracing::info!(
        state = state.as_str(),
        ?comment,
        ?approval,
        "reported to CodeCommit"
    );
    Ok(CodeCommitReport::Reported {
        state,
        comment,
        approval,
        recorded,
    })
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
    let mut latest: BTreeMap<String, ProwJob> = BTreeMap::new();
    for j in deps.store.list(&query, None).await? {
        let on_head = j
            .spec
            .refs
            .as_ref()
            .and_then(|r| r.pulls.first())
            .is_some_and(|p| p.sha == head);
        if !on_head || !j.spec.report {
            continue;
        }
        let newer = latest
            .get(&j.spec.job)
            .is_none_or(|seen| j.metadata.creation_timestamp > seen.metadata.creation_timestamp);
        if newer {
            latest.insert(j.spec.job.clone(), j);
        }
    }
    Ok(latest.into_values().collect())
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
) -> PortResult<(Comment, Approval)> {
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
        _ => Comment::Waiting,
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
    let base = format!(
        "{CODECOMMIT_REPORTER_NAME}/approval/{}/{}#{number}@{}",
        refs.org, refs.repo, pull.revision_id
    );
    let (this, other) = if approve {
        (format!("{base}/approved"), format!("{base}/revoked"))
    } else {
        (format!("{base}/revoked"), format!("{base}/approved"))
    };
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
) -> PortResult<Comment> {
    let body = table(head, runs);
    let marker = format!("{RESULTS_TAG}: {head} -->");
    let lock = format!(
        "{CODECOMMIT_REPORTER_NAME}/comment-lock/{}/{}#{number}",
        refs.org, refs.repo
    );
    if !deps
        .store
        .remember(&lock, later(deps.clock.now(), LOCK_SECONDS))
        .await?
    {
        return Err(PortError::Unavailable(format!(
            "another report is updating the results on {}/{}#{number}",
            refs.org, refs.repo
        )));
    }
    let result = async {
        let existing = cc
            .comments(&refs.repo, number)
            .await?
            .into_iter()
            .rfind(|c| c.content.contains(&marker));
        match existing {
            Some(c) if c.content == body => Ok(Comment::Unchanged),
            Some(c) => {
                cc.update_comment(&c.id, &body).await?;
                Ok(Comment::Updated { id: c.id })
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
                Ok(Comment::Posted { id })
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
