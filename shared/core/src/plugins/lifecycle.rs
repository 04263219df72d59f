//! Prow's lifecycle plugin: `/lifecycle frozen|stale|rotten|active` (one
//! lifecycle label at a time; `frozen` not on PRs), `/remove-lifecycle …`,
//! `/close` (the author or a collaborator, or anyone once the issue is
//! stale or rotten; `/close not-planned` for issues), `/reopen` (the author
//! or a collaborator).

use crate::config::Config;
use crate::plan::FactError;
use crate::ports::IssueState;

use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{Cached, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

pub const LABELS: [&str; 4] = [
    "lifecycle/active",
    "lifecycle/frozen",
    "lifecycle/stale",
    "lifecycle/rotten",
];

static LIFECYCLE: Pattern =
    Pattern::new(|| re(r"(?mi)^/(remove-)?lifecycle (active|frozen|stale|rotten)\s*$"));
static CLOSE: Pattern = Pattern::new(|| re(r"(?mi)^/close\s*$"));
static CLOSE_NOT_PLANNED: Pattern = Pattern::new(|| re(r"(?mi)^/close not-planned\s*$"));
static REOPEN: Pattern = Pattern::new(|| re(r"(?mi)^/reopen\s*$"));

pub async fn plan(ev: &PluginEvent, facts: &mut Cached<'_>) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("lifecycle", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return Ok(p);
    };
    let reply = |msg: &str| format_response_raw(&c.body, &c.html_url, &c.author, msg);
    let is_author = issue.author == c.author;
    let what = if issue.is_pr { "PR" } else { "issue" };

    if !issue.is_open() && REOPEN.get().is_match(&c.body) {
        if is_author || facts.is_collaborator(&ev.repo, &c.author).await? {
            p.push(Effect::SetState {
                state: IssueState::Open,
            });
            p.comment(reply(&format!("Reopened this {what}.")));
        } else {
            p.comment(reply(
                "You can't reopen an issue/PR unless you authored it or you are a collaborator.",
            ));
        }
    }

    let not_planned = CLOSE_NOT_PLANNED.get().is_match(&c.body);
    if issue.is_open() && (CLOSE.get().is_match(&c.body) || not_planned) {
        let active = !issue.has_label("lifecycle/stale") && !issue.has_label("lifecycle/rotten");
        let allowed = is_author || !active || facts.is_collaborator(&ev.repo, &c.author).await?;
        if !allowed {
            p.comment(reply(
                "You can't close an active issue/PR unless you authored it or you are a collaborator.",
            ));
        } else if issue.is_pr && not_planned {
            p.comment(reply("PRs cannot be closed as Not Planned."));
        } else if issue.is_pr {
            p.push(Effect::SetState {
                state: IssueState::Closed,
            });
            p.comment(reply("Closed this PR."));
        } else if not_planned {
            p.push(Effect::SetState {
                state: IssueState::ClosedNotPlanned,
            });
            p.comment(reply("Closing this issue, marking it as \"Not Planned\"."));
        } else {
            p.push(Effect::SetState {
                state: IssueState::Closed,
            });
            p.comment(reply("Closing this issue."));
        }
    }

    let mut labels: Vec<String> = issue.labels.clone();
    for m in LIFECYCLE.get().captures_iter(&c.body) {
        let remove = m.get(1).is_some();
        let label = format!(
            "lifecycle/{}",
            m.get(2).map_or("", |g| g.as_str()).to_lowercase()
        );
        let has = labels.iter().any(|l| l.eq_ignore_ascii_case(&label));
        if issue.is_pr && label == "lifecycle/frozen" && !remove {
            p.comment(reply(
                "The `lifecycle/frozen` label cannot be applied to Pull Requests.",
            ));
        } else if has && remove {
            p.remove_label(&label);
            labels.retain(|l| !l.eq_ignore_ascii_case(&label));
        } else if !has && !remove {
            for other in LABELS {
                if other != label && labels.iter().any(|l| l.eq_ignore_ascii_case(other)) {
                    p.remove_label(other);
                }
            }
            labels.retain(|l| !LABELS.contains(&l.to_lowercase().as_str()));
            p.add_label(&label);
            labels.push(label);
        }
    }
    Ok(p)
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "lifecycle",
        "Closes and reopens issues and PRs, and flags them as frozen, stale or rotten.",
    )
    .command(Command::new(
        "/close [not-planned]",
        "Closes an issue or PR (`not-planned`: issues only).",
        "The author and collaborators; anyone once it is stale or rotten.",
        &["/close", "/close not-planned"],
    ))
    .command(Command::new(
        "/reopen",
        "Reopens an issue or PR.",
        "The author and collaborators.",
        &["/reopen"],
    ))
    .command(Command::new(
        "/[remove-]lifecycle <frozen|stale|rotten|active>",
        "Flags an issue or PR as frozen, stale or rotten (one lifecycle label at a time; frozen not on PRs).",
        "Anyone.",
        &["/lifecycle frozen", "/remove-lifecycle stale"],
    ))
}
