//! Prow's approve plugin (`pkg/plugins/approve`): the `approved` label and
//! the `[APPROVALNOTIFIER]` comment, recomputed from the whole history of
//! the PR each time something could change approval — an approval command,
//! an approving or change-requesting review, a new push, `approved` added
//! by a person.
//!
//! Who approved: the author (unless `require_self_approval`), then in time
//! order, ignoring bots: `/approve` adds, `/approve cancel` and
//! `/remove-approve` remove, `/lgtm` counts only with
//! `lgtm_acts_as_approve` (`/lgtm cancel` then revokes, `/remove-lgtm`
//! never does), an `APPROVED` review adds and `CHANGES_REQUESTED` removes
//! (unless `ignore_review_state`). `no-issue` waives `issue_required`.
//! Inline review comments are not read (Prow reads them too).

use std::sync::Arc;

use regex::Regex;

use crate::config::Config;
use crate::event::PullRequest;
use crate::plan::FactError;

use super::approvers::{Approvers, Links, Owners, notification};
use super::facts::OwnersAt;
use super::pluginhelp::{Command, PluginHelp};
use super::{Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

pub const LABEL: &str = "approved";
pub const NOTIFIER: &str = "[APPROVALNOTIFIER]";

static COMMAND: Pattern = Pattern::new(|| re(r"(?m)^/([^\s]+)[\t ]*([^\n\r]*)"));

/// Whether a comment's text holds an approval command (Prow's
/// `isApprovalCommand`).
fn is_approval_command(body: &str, lgtm_acts_as_approve: bool) -> bool {
    COMMAND.get().captures_iter(body).any(|m| {
        let cmd = m.get(1).map_or("", |g| g.as_str()).to_uppercase();
        cmd == "APPROVE" || cmd == "REMOVE-APPROVE" || (cmd == "LGTM" && lgtm_acts_as_approve)
    })
}

fn is_approval_state(state: &str, consider: bool) -> bool {
    consider && matches!(state, "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED")
}

/// Prow's associated issue: `#N` or `<org>/<repo>/issues/N` in the body.
fn associated_issue(body: &str, org: &str) -> i64 {
    let Ok(r) = Regex::new(&format!(r"(?:{}/[^/]+/issues/|#)(\d+)", regex::escape(org))) else {
        return 0;
    };
    r.captures(body)
        .and_then(|m| m.get(1))
        .and_then(|g| g.as_str().parse().ok())
        .unwrap_or(0)
}

/// One entry of the PR's history.
struct Said {
    author: String,
    body: String,
    url: String,
    review_state: String,
    at: Option<jiff::Timestamp>,
    id: i64,
    from_bot: bool,
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("approve", ev.number());
    let opts = ctx.config.plugins.approve_for(&ev.repo.org, &ev.repo.repo);
    let Some(issue) = &ev.issue else {
        return Ok(p);
    };
    let base_ref = match ev.name.as_str() {
        "pull_request" => {
            let Some(pull) = &ev.pull else {
                return Ok(p);
            };
            let acts = match ev.action.as_str() {
                "opened" | "reopened" | "synchronize" => true,
                "labeled" => {
                    ev.label.as_deref() == Some(LABEL)
                        && !facts.is_bot(&ev.sender)
                        && issue.is_open()
                }
                _ => false,
            };
            if !acts {
                return Ok(p);
            }
            pull.base_ref.clone()
        }
        "pull_request_review" if ev.review.is_some() => {
            let (Some(r), Some(pull)) = (&ev.review, &ev.pull) else {
                return Ok(p);
            };
            let bot = facts.is_bot(&r.author) || r.author_is_bot;
            if !matches!(ev.action.as_str(), "submitted" | "dismissed")
                || bot
                || is_approval_command(&r.body, opts.lgtm_acts_as_approve)
                || !is_approval_state(&r.state, opts.consider_review_state())
            {
                // A review whose text holds a command is a comment (below
                // for the comment path of other events, here for the review
                // event itself).
                if !bot
                    && ev.action == "submitted"
                    && issue.is_open()
                    && is_approval_command(&r.body, opts.lgtm_acts_as_approve)
                {
                    pull.base_ref.clone()
                } else {
                    return Ok(p);
                }
            } else {
                pull.base_ref.clone()
            }
        }
        _ => {
            let Some((c, issue)) = created_comment(ev) else {
                return Ok(p);
            };
            if !issue.is_pr
                || !issue.is_open()
                || facts.is_bot(&c.author)
                || !is_approval_command(&c.body, opts.lgtm_acts_as_approve)
            {
                return Ok(p);
            }
            facts.pull_request(&ev.repo, issue.number).await?.base_ref
        }
    };
    let owners = facts.owners(&ev.repo, &base_ref).await?;
    let pr = match &ev.pull {
        Some(pull) => PullRequest {
            repo: ev.repo.clone(),
            number: issue.number,
            author: issue.author.clone(),
            body: issue.body.clone(),
            html_url: issue.html_url.clone(),
            base_ref: pull.base_ref.clone(),
            ..PullRequest::default()
        },
        None => facts.pull_request(&ev.repo, issue.number).await?,
    };
    handle(
        ctx,
        ev,
        &pr,
        &issue.assignees,
        &issue.labels,
        owners,
        facts,
        &mut p,
    )
    .await?;
    Ok(p)
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    pr: &PullRequest,
    assignees: &[String],
    labels: &[String],
    owners: Arc<OwnersAt>,
    facts: &mut Cached<'_>,
    p: &mut PluginPlan,
) -> Result<(), FactError> {
    let opts = ctx.config.plugins.approve_for(&ev.repo.org, &ev.repo.repo);
    for problem in &owners.problems {
        p.note(format!("OWNERS skipped: {problem}"));
    }
    let files = facts.changed_files(&ev.repo, pr.number).await?;
    let has_label = labels.iter().any(|l| l.eq_ignore_ascii_case(LABEL));
    let comments = facts.issue_comments(&ev.repo, pr.number).await?;
    let reviews = facts.reviews(&ev.repo, pr.number).await?;
    let bots_by_type: Vec<&str> = reviews
        .iter()
        .filter(|r| r.author_is_bot)
        .map(|r| r.author.as_str())
        .collect();
    let is_bot = |login: &str| facts.is_bot(login) || bots_by_type.contains(&login);
    let mut history: Vec<Said> = comments
        .iter()
        .map(|c| Said {
            author: c.author.clone(),
            body: c.body.clone(),
            url: c.html_url.clone(),
            review_state: String::new(),
            at: c.created_at,
            id: c.id,
            from_bot: is_bot(&c.author),
        })
        .chain(reviews.iter().map(|r| Said {
            author: r.author.clone(),
            body: r.body.clone(),
            url: r.html_url.clone(),
            review_state: r.state.clone(),
            at: r.submitted_at,
            id: r.id,
            from_bot: is_bot(&r.author),
        }))
        .collect();
    history.sort_by_key(|s| s.at);

    let mut ap = Approvers::new(Owners::new(files, &owners.owners, pr.number));
    ap.associated_issue = associated_issue(&pr.body, &ev.repo.org);
    ap.require_issue = opts.issue_required;
    if opts.has_self_approval() {
        ap.add_author_self_approver(&pr.author, &format!("{}#", pr.html_url), false);
    }
    let consider = opts.consider_review_state();
    for s in history.iter().filter(|s| {
        !s.from_bot
            && (is_approval_command(&s.body, opts.lgtm_acts_as_approve)
                || is_approval_state(&s.review_state, consider))
    }) {
        if s.author.is_empty() {
            continue;
        }
        if consider && s.review_state == "APPROVED" {
            ap.add_approver(&s.author, &s.url, false);
        }
        if consider && s.review_state == "CHANGES_REQUESTED" {
            ap.remove_approver(&s.author);
        }
        for m in COMMAND.get().captures_iter(&s.body) {
            let name = m.get(1).map_or("", |g| g.as_str()).to_uppercase();
            if name == "REMOVE-APPROVE" {
                ap.remove_approver(&s.author);
                continue;
            }
            if name != "APPROVE" && name != "LGTM" {
                continue;
            }
            let args = m.get(2).map_or("", |g| g.as_str()).trim().to_lowercase();
            if args.contains("cancel") {
                ap.remove_approver(&s.author);
                continue;
            }
            let no_issue = args == "no-issue";
            if s.author == pr.author {
                ap.add_author_self_approver(&s.author, &s.url, no_issue);
            }
            if name == "APPROVE" {
                ap.add_approver(&s.author, &s.url, no_issue);
            } else {
                ap.add_lgtmer(&s.author, &s.url, no_issue);
            }
        }
    }
    for a in assignees {
        ap.add_assignee(a);
    }
    // `approved` added by a person stands, whatever the files say; asked
    // only when it could matter.
    if has_label && !ap.requirements_met() {
        let by = facts.last_labeler(&ev.repo, pr.number, LABEL).await?;
        ap.manually_approved = by.is_some_and(|who| !facts.is_bot(&who));
    }
    let repo_url = if ev.repo.html_url.is_empty() {
        format!("https://github.com/{}", ev.repo.full_name())
    } else {
        ev.repo.html_url.clone()
    };
    let mut message = notification(
        &ap,
        &Links {
            repo_url: &repo_url,
            org: &ev.repo.org,
            repo: &ev.repo.repo,
            branch: &pr.base_ref,
            command_help: &opts.command_help_link,
            pr_process: &opts.pr_process_link,
        },
    );
    // A broken OWNERS file is skipped (as Prow's loader does), but said
    // where people look: in the notifier, before its META trailer, so it
    // is re-posted when the file is fixed.
    if !owners.problems.is_empty() {
        let mut broken = String::from(
            "\n\nThese OWNERS files could not be read, so their approvers are not counted:\n",
        );
        for problem in &owners.problems {
            broken.push_str(&format!("- `{problem}`\n"));
        }
        let at = message.rfind("\n<!-- META=").unwrap_or(message.len());
        message.insert_str(at, broken.trim_end());
    }
    let notifiers: Vec<&Said> = history
        .iter()
        .filter(|s| {
            s.review_state.is_empty() && s.from_bot && s.body.to_uppercase().starts_with(NOTIFIER)
        })
        .collect();
    let unchanged = notifiers.last().is_some_and(|n| n.body.contains(&message));
    if !unchanged {
        let ids: Vec<i64> = notifiers.iter().map(|n| n.id).collect();
        if !ids.is_empty() {
            p.push(Effect::DeleteComments { ids });
        }
        p.comment(message);
    }
    let approved = ap.is_approved();
    if !approved && has_label {
        p.remove_label(LABEL);
    } else if approved && !has_label {
        p.add_label(LABEL);
    }
    Ok(())
}

pub fn help(config: &Config, org: &str, repo: &str) -> PluginHelp {
    let o = config.plugins.approve_for(org, repo);
    let not = |b: bool| if b { "" } else { "do not " };
    let will = |b: bool| if b { "will " } else { "will not " };
    PluginHelp::new(
        "approve",
        "Manages the `approved` label and an approval notification comment. A PR is approved when the people who approved it can approve every changed file: someone can approve a file if they (or an alias they belong to) are in the `approvers` of an OWNERS file in its directory or above.",
    )
    .config(format!(
        "Pull requests {}require an associated issue. Pull request authors {}implicitly approve their own PRs. The /lgtm [cancel] command(s) {}act as approval. A GitHub approved or changes requested review {}act as approval or cancel respectively.",
        not(o.issue_required),
        not(o.has_self_approval()),
        will(o.lgtm_acts_as_approve),
        will(o.consider_review_state())
    ))
    .command(
        Command::new(
            "/[remove-]approve [no-issue|cancel]",
            "Approves a pull request.",
            "Users listed as 'approvers' in appropriate OWNERS files.",
            &["/approve", "/approve no-issue", "/remove-approve"],
        )
        .featured(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_commands_are_prows() {
        for (body, lgtm_acts, is) in [
            ("/approve", false, true),
            ("/APPROVE no-issue", false, true),
            ("/remove-approve", false, true),
            ("/lgtm", false, false),
            ("/lgtm", true, true),
            ("/approved", false, false),
            ("please /approve", false, false),
        ] {
            assert_eq!(
                is_approval_command(body, lgtm_acts),
                is,
                "{body} {lgtm_acts}"
            );
        }
    }

    #[test]
    fn the_associated_issue_is_a_hash_or_an_issue_link_of_the_org() {
        assert_eq!(associated_issue("Fixes #12", "acme"), 12);
        assert_eq!(associated_issue("see acme/w/issues/7", "acme"), 7);
        assert_eq!(associated_issue("see other/w/issues/7", "acme"), 0);
    }
}
