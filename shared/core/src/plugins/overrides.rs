//! Prow's override plugin: `/override CONTEXT…` on an open PR forces failed
//! statuses to `success`, `/override-sticky` so that retests keep it
//! (`[prow:skip-retest]`), `/override-cancel [CONTEXT…]` sets overridden
//! ones back to `failure`. Allowed to repository admins, members of
//! `allowed_github_teams`, and (opt-in) approvers of the top-level OWNERS.
//! A context of a Prow job also gets a `success` job record at the current
//! base, so tide sees the job pass there.
//!
//! Skiff overrides commit statuses and job names; check runs and
//! branch-protection contexts without a status are not offered.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::plan::FactError;
use crate::ports::CommitStatus;
use crate::prowjob::new::{job_id, new_presubmit};
use crate::prowjob::{ProwJob, ProwJobState};

use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

const PREFIX: &str = "Overridden by";
/// What makes tide keep a status across retests (Prow's
/// `SkipRetestSentinel`).
pub const SKIP_RETEST: &str = "[prow:skip-retest]";
const BASE_SHA_DELIMITER: &str = " BaseSHA:";
const MAX_DESCRIPTION: usize = 140;

static OVERRIDE: Pattern = Pattern::new(|| re(r"(?mi)^/override( ([^\r\n]+))?[\r\n]?$"));
static STICKY: Pattern = Pattern::new(|| re(r"(?mi)^/override-sticky( ([^\r\n]+))?[\r\n]?$"));
static CANCEL: Pattern = Pattern::new(|| re(r"(?mi)^/override-cancel( ([^\r\n]+))?[\r\n]?$"));

/// Prow's `ContextDescriptionWithBaseSha`: the description, cut to leave
/// room, then ` BaseSHA:<sha>`.
pub fn with_base_sha(description: &str, base_sha: &str) -> String {
    if base_sha.is_empty() {
        return description.to_string();
    }
    let suffix = format!("{BASE_SHA_DELIMITER}{base_sha}");
    let room = MAX_DESCRIPTION.saturating_sub(suffix.len());
    let cut: String = if description.len() > room {
        let mut end = room.saturating_sub(3);
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &description[..end])
    } else {
        description.to_string()
    };
    format!("{cut}{suffix}")
}

/// Space-separated names; `"a name"` keeps its spaces.
pub fn parse_names(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut cur = String::new();
    for ch in input.chars() {
        if ch == '"' {
            quoted = !quoted;
        }
        if ch == ' ' && !quoted {
            if !cur.is_empty() {
                out.push(cur.trim().trim_matches('"').to_string());
            }
            cur.clear();
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(cur.trim().trim_matches('"').to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

fn who_can_use(config: &Config, org: &str, repo: &str) -> String {
    let o = &config.plugins.sections.overrides;
    let mut s = "Repo administrators".to_string();
    if o.allow_top_level_owners {
        s.push_str(", approvers in top level OWNERS file");
    }
    let full = format!("{org}/{repo}");
    let teams: Vec<String> = o
        .allowed_github_teams
        .iter()
        .filter(|(k, _)| org.is_empty() || **k == full || *k == org)
        .map(|(k, v)| format!("{k}: {}", v.join(" ")))
        .collect();
    if !teams.is_empty() {
        s.push_str(", and the following github teams:");
        s.push_str(&teams.join(", "));
    }
    s.push('.');
    s
}

async fn authorized(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    user: &str,
    base_ref: &str,
    facts: &mut Cached<'_>,
) -> Result<bool, FactError> {
    if facts.permission(&ev.repo, user).await? == "admin" {
        return Ok(true);
    }
    let o = &ctx.config.plugins.sections.overrides;
    let full = ev.repo.full_name();
    let slugs: Vec<String> = o
        .allowed_github_teams
        .get(&full)
        .into_iter()
        .chain(o.allowed_github_teams.get(&ev.repo.org))
        .flatten()
        .cloned()
        .collect();
    for slug in slugs {
        if facts.is_team_member(&ev.repo.org, &slug, user).await? {
            return Ok(true);
        }
    }
    if o.allow_top_level_owners {
        let owners = facts.owners(&ev.repo, base_ref).await?;
        return Ok(owners
            .owners
            .top_level_approvers()
            .contains(&super::owners::norm_login(user)));
    }
    Ok(false)
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("override", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return Ok(p);
    };
    if !issue.is_pr || !issue.is_open() {
        return Ok(p);
    }
    let cancel = CANCEL.get().captures_iter(&c.body).collect::<Vec<_>>();
    let sticky = STICKY.get().captures_iter(&c.body).collect::<Vec<_>>();
    let plain = OVERRIDE.get().captures_iter(&c.body).collect::<Vec<_>>();
    if cancel.is_empty() && sticky.is_empty() && plain.is_empty() {
        return Ok(p);
    }
    let reply = |msg: &str| format_response_raw(&c.body, &c.html_url, &c.author, msg);
    let pr = facts.pull_request(&ev.repo, issue.number).await?;
    let (org, repo) = (&ev.repo.org, &ev.repo.repo);
    let statuses = facts
        .combined_status(&ev.repo, &pr.head_sha)
        .await?
        .statuses;

    if !cancel.is_empty() {
        if !authorized(ctx, ev, &c.author, &pr.base_ref, facts).await? {
            p.comment(reply(&format!(
                "{} unauthorized: /override-cancel is restricted to {}",
                c.author,
                who_can_use(ctx.config, org, repo)
            )));
        } else {
            let all = cancel.iter().any(|m| m.get(1).is_none());
            let names: BTreeSet<String> = cancel
                .iter()
                .filter_map(|m| m.get(2))
                .flat_map(|g| parse_names(g.as_str()))
                .collect();
            let mut cancelled = BTreeSet::new();
            for s in statuses.iter().filter(|s| s.description.contains(PREFIX)) {
                if !all && !names.contains(&s.context) {
                    continue;
                }
                p.push(Effect::Status {
                    sha: pr.head_sha.clone(),
                    status: CommitStatus {
                        state: "failure".into(),
                        description: format!("Override cancelled by {}", c.author),
                        ..s.clone()
                    },
                });
                cancelled.insert(s.context.clone());
            }
            if cancelled.is_empty() {
                p.comment(reply("No overrides found to cancel"));
            } else {
                p.comment(reply(&format!(
                    "Cancelled overrides on behalf of {}: {}",
                    c.author,
                    cancelled.into_iter().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }

    for (is_sticky, matches) in [(true, &sticky), (false, &plain)] {
        if matches.is_empty() {
            continue;
        }
        let cmd = if is_sticky {
            "/override-sticky"
        } else {
            "/override"
        };
        if matches.iter().any(|m| m.get(1).is_none()) {
            p.comment(reply(&format!(
                "{cmd} requires failed status contexts to operate on, but none was given"
            )));
            continue;
        }
        let wanted: BTreeSet<String> = matches
            .iter()
            .filter_map(|m| m.get(2))
            .flat_map(|g| parse_names(g.as_str()))
            .collect();
        if !authorized(ctx, ev, &c.author, &pr.base_ref, facts).await? {
            p.comment(reply(&format!(
                "{} unauthorized: {cmd} is restricted to {}",
                c.author,
                who_can_use(ctx.config, org, repo)
            )));
            continue;
        }
        let jobs = ctx
            .config
            .jobs
            .presubmits
            .get(&ev.repo.full_name())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let job_for = |context: &str| jobs.iter().find(|j| j.reporter.context == context);
        let mut known = BTreeSet::new();
        for s in statuses.iter().filter(|s| s.state != "success") {
            known.insert(s.context.clone());
            if let Some(j) = job_for(&s.context) {
                known.insert(j.base.name.clone());
            }
        }
        let unknown: Vec<&String> = wanted.difference(&known).collect();
        if !unknown.is_empty() {
            let list = |v: Vec<&String>| {
                v.iter()
                    .map(|s| format!(" - `{s}`"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            p.comment(reply(&format!(
                "{cmd} requires failed status contexts, check run or a prowjob name to operate on.\nThe following unknown contexts/checkruns were given:\n{}\n\nOnly the following failed contexts/checkruns were expected:\n{}\n\nIf you are trying to override a checkrun that has a space in it, you must put a double quote on the context.\n",
                list(unknown),
                list(known.iter().collect())
            )));
            continue;
        }
        let base_sha = facts.base_sha(&ev.repo, &pr.base_ref).await?;
        let description = if is_sticky {
            format!("{PREFIX} {} {SKIP_RETEST}", c.author)
        } else {
            format!("{PREFIX} {}", c.author)
        };
        let mut done = BTreeSet::new();
        for s in statuses.iter().filter(|s| s.state != "success") {
            let job = job_for(&s.context);
            if !wanted.contains(&s.context) && !job.is_some_and(|j| wanted.contains(&j.base.name)) {
                continue;
            }
            if let Some(j) = job {
                let refs = crate::plan::pr_refs(&pr, &base_sha);
                let key = format!(
                    "{}/{}/override/{}/{}",
                    ctx.delivery,
                    ev.repo.full_name(),
                    pr.number,
                    j.base.name
                );
                let id = job_id(&key);
                let mut record: ProwJob = new_presubmit(
                    j,
                    refs,
                    ctx.delivery,
                    &Default::default(),
                    id.clone(),
                    ctx.now,
                );
                record.status.start_time = Some(ctx.now);
                record.status.completion_time = Some(ctx.now);
                record.status.state = Some(ProwJobState::Success);
                record.status.description = description.clone();
                record.status.url = c.html_url.clone();
                p.push(Effect::CreateJob {
                    job: Box::new(record),
                    id,
                });
            }
            p.push(Effect::Status {
                sha: pr.head_sha.clone(),
                status: CommitStatus {
                    state: "success".into(),
                    description: with_base_sha(&description, &base_sha),
                    ..s.clone()
                },
            });
            done.insert(s.context.clone());
        }
        if !done.is_empty() {
            let done = done.into_iter().collect::<Vec<_>>().join(", ");
            let msg = if is_sticky {
                format!(
                    "Overrode contexts on behalf of {}: {done}\n\nThese overrides will persist across retests on the current HEAD SHA. Pushing a new commit will clear them. Use `/override-cancel` to remove them.",
                    c.author
                )
            } else {
                format!("Overrode contexts on behalf of {}: {done}", c.author)
            };
            p.comment(reply(&msg));
        }
    }
    Ok(p)
}

pub fn help(config: &Config, org: &str, repo: &str) -> PluginHelp {
    let who = who_can_use(config, org, repo);
    PluginHelp::new(
        "override",
        "Lets repo admins force a commit status to pass.",
    )
    .command(Command::new(
        "/override [context1] [context2]",
        "Forces the named failed statuses (or jobs) to success; quote a context with spaces. Overrides expire when the base branch moves.",
        &who,
        &["/override pull-repo-whatever", "/override \"test / Unit Tests\""],
    ))
    .command(Command::new(
        "/override-sticky [context1] [context2]",
        "As /override, but retests on the current head keep it.",
        &who,
        &["/override-sticky pull-repo-whatever"],
    ))
    .command(Command::new(
        "/override-cancel [context]",
        "Sets overridden statuses back to failure (all of them without a context).",
        &who,
        &["/override-cancel pull-repo-whatever", "/override-cancel"],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_spaces_outside_quotes() {
        assert_eq!(
            parse_names("unit \"test / Unit Tests\" lint"),
            ["unit", "test / Unit Tests", "lint"]
        );
    }

    #[test]
    fn the_base_sha_suffix_fits_githubs_140_characters() {
        assert_eq!(
            with_base_sha("Overridden by bob", "abc"),
            "Overridden by bob BaseSHA:abc"
        );
        let long = "x".repeat(200);
        let sha = "0".repeat(40);
        let d = with_base_sha(&long, &sha);
        assert_eq!(d.len(), 140);
        assert!(d.ends_with(&format!(" BaseSHA:{sha}")));
    }

    #[test]
    fn the_commands_do_not_shadow_each_other() {
        assert!(OVERRIDE.get().is_match("/override unit"));
        assert!(!OVERRIDE.get().is_match("/override-sticky unit"));
        assert!(STICKY.get().is_match("/override-sticky unit"));
        assert!(CANCEL.get().is_match("/override-cancel"));
    }
}
