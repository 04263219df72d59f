//! Prow's skip plugin: `/skip` on an open PR sets to `success` ("Skipped")
//! the failed or pending statuses of presubmits that are not required,
//! unless the combined status is already `success` or the trigger would
//! run the job for this very comment.

use crate::config::Config;
use crate::plan::FactError;
use crate::ports::CommitStatus;

use super::pluginhelp::{Command, PluginHelp};
use super::{Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

static SKIP: Pattern = Pattern::new(|| re(r"(?mi)^/skip\s*$"));

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("skip", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return Ok(p);
    };
    if !issue.is_pr || !issue.is_open() || !SKIP.get().is_match(&c.body) {
        return Ok(p);
    }
    let pr = facts.pull_request(&ev.repo, issue.number).await?;
    let combined = facts.combined_status(&ev.repo, &pr.head_sha).await?;
    if combined.state == "success" {
        p.note("the combined status is success: nothing to skip");
        return Ok(p);
    }
    let full = ev.repo.full_name();
    let jobs = ctx
        .config
        .jobs
        .presubmits
        .get(&full)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for job in jobs {
        if !ctx.regexes.branch_matches(&job.brancher, &pr.base_ref) {
            continue;
        }
        let context = &job.reporter.context;
        let Some(status) = combined.statuses.iter().find(|s| &s.context == context) else {
            continue;
        };
        if status.state == "success" || job.context_required() {
            continue;
        }
        if ctx
            .regexes
            .trigger_matches(&job.base.name, &job.fields.trigger, &c.body)
        {
            continue;
        }
        p.push(Effect::Status {
            sha: pr.head_sha.clone(),
            status: CommitStatus {
                state: "success".into(),
                context: context.clone(),
                description: "Skipped".into(),
                target_url: String::new(),
            },
        });
    }
    Ok(p)
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "skip",
        "Cleans up stale commit statuses of optional jobs on a PR.",
    )
    .command(Command::new(
        "/skip",
        "Sets the failed or pending statuses of jobs that are not required to success (\"Skipped\").",
        "Anyone, on a PR.",
        &["/skip"],
    ))
}
