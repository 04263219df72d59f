//! Prow's lgtm plugin (`pkg/plugins/lgtm`): `/lgtm` by a collaborator who is
//! not the author adds `lgtm` (and assigns the commenter), `/lgtm cancel` or
//! `/remove-lgtm` removes it (the author may too). With
//! `review_acts_as_lgtm`, an approving review adds it and a review asking
//! for changes removes it. A push removes it, unless the author is in the
//! sticky team or (`store_tree_hash`) the tree is the one that was approved.

use crate::config::Config;
use crate::config::plugins::Lgtm;
use crate::plan::FactError;

use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{
    Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re, team_slug,
};

pub const LABEL: &str = "lgtm";
/// Begins the bot's record of the approved tree, which follows inside a
/// `<details>`.
pub const TREE_HASH_PREFIX: &str = "LGTM label has been added.  <details>Git tree hash: ";
pub const REMOVED: &str = "New changes are detected. LGTM label has been removed.";

static LGTM: Pattern = Pattern::new(|| re(r"(?mi)^/lgtm(?: no-issue)?\s*$"));
static CANCEL: Pattern = Pattern::new(|| re(r"(?mi)^/(remove-lgtm|lgtm cancel)\s*$"));

/// The tree hash a bot comment records, if it is such a record.
pub fn recorded_tree(body: &str) -> Option<&str> {
    body.strip_prefix(TREE_HASH_PREFIX)?
        .split("</details>")
        .next()
}

/// Who asked, about what: a comment or a review.
struct Ask<'e> {
    author: &'e str,
    body: &'e str,
    url: &'e str,
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("lgtm", ev.number());
    let opts = ctx.config.plugins.lgtm_for(&ev.repo.org, &ev.repo.repo);
    if ev.name == "pull_request" && ev.action == "synchronize" {
        synchronize(ctx, ev, &opts, facts, &mut p).await?;
        return Ok(p);
    }
    // A review's own state counts only when its text holds no command.
    if ev.name == "pull_request_review"
        && opts.review_acts_as_lgtm
        && ev.action == "submitted"
        && let Some(r) = &ev.review
        && !LGTM.get().is_match(&r.body)
        && !CANCEL.get().is_match(&r.body)
    {
        if facts.is_bot(&r.author) || r.author_is_bot {
            return Ok(p);
        }
        let want = match r.state.as_str() {
            "APPROVED" => true,
            "CHANGES_REQUESTED" => false,
            _ => return Ok(p),
        };
        let ask = Ask {
            author: &r.author,
            body: &r.body,
            url: &r.html_url,
        };
        handle(ctx, ev, &opts, want, &ask, facts, &mut p).await?;
        return Ok(p);
    }
    let Some((c, issue)) = created_comment(ev) else {
        return Ok(p);
    };
    if !issue.is_pr || !issue.is_open() {
        return Ok(p);
    }
    let want = if LGTM.get().is_match(&c.body) {
        true
    } else if CANCEL.get().is_match(&c.body) {
        false
    } else {
        return Ok(p);
    };
    let ask = Ask {
        author: &c.author,
        body: &c.body,
        url: &c.html_url,
    };
    handle(ctx, ev, &opts, want, &ask, facts, &mut p).await?;
    Ok(p)
}

async fn handle(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    opts: &Lgtm,
    want: bool,
    ask: &Ask<'_>,
    facts: &mut Cached<'_>,
    p: &mut PluginPlan,
) -> Result<(), FactError> {
    let Some(issue) = &ev.issue else {
        return Ok(());
    };
    let reply = |msg: &str| format_response_raw(ask.body, ask.url, ask.author, msg);
    let is_author = ask.author == issue.author;
    if is_author && want {
        p.comment(reply("you cannot LGTM your own PR."));
        return Ok(());
    }
    let is_assignee = issue.assignees.iter().any(|a| a == ask.author);
    let skip_collaborators = ctx
        .config
        .plugins
        .sections
        .owners
        .skip_collaborators(&ev.repo.org, &ev.repo.repo);
    if !is_author && !skip_collaborators && !facts.is_collaborator(&ev.repo, ask.author).await? {
        p.comment(reply("changing LGTM is restricted to collaborators"));
        return Ok(());
    }
    if !is_author && !is_assignee && !skip_collaborators {
        p.push(Effect::Assign {
            logins: vec![ask.author.to_string()],
            refused: None,
        });
    } else if !is_author && skip_collaborators {
        let pr = facts.pull_request(&ev.repo, issue.number).await?;
        let owners = facts.owners(&ev.repo, &pr.base_ref).await?;
        let files = facts.changed_files(&ev.repo, issue.number).await?;
        let login = super::owners::norm_login(ask.author);
        let may = files.iter().any(|f| {
            owners.owners.approvers(f).contains(&login)
                || owners.owners.reviewers(f).contains(&login)
        });
        if !may {
            p.comment(reply(
                "adding LGTM is restricted to approvers and reviewers in OWNERS files.",
            ));
            return Ok(());
        }
    }
    let has = issue.has_label(LABEL);
    if has && !want {
        p.remove_label(LABEL);
        if opts.store_tree_hash {
            p.push(Effect::RequestReview {
                users: issue.assignees.clone(),
                teams: Vec::new(),
                refused: None,
            });
            p.push(Effect::Prune {
                containing: TREE_HASH_PREFIX.into(),
            });
        }
    } else if !has && want {
        p.add_label(LABEL);
        if !sticky(opts, &ev.repo.org, &issue.author, facts).await? {
            if opts.store_tree_hash {
                let head = match &ev.pull {
                    Some(pull) => pull.head_sha.clone(),
                    None => facts.pull_request(&ev.repo, issue.number).await?.head_sha,
                };
                let tree = facts.tree_sha(&ev.repo, &head).await?;
                p.comment(format!("{TREE_HASH_PREFIX}{tree}</details>"));
            }
            p.push(Effect::Prune {
                containing: REMOVED.into(),
            });
        }
    }
    Ok(())
}

/// The author is in `trusted_team_for_sticky_lgtm` (a team name, matched by
/// its slug).
async fn sticky(
    opts: &Lgtm,
    org: &str,
    author: &str,
    facts: &mut Cached<'_>,
) -> Result<bool, FactError> {
    if opts.sticky_lgtm_team.is_empty() {
        return Ok(false);
    }
    facts
        .is_team_member(org, &team_slug(&opts.sticky_lgtm_team), author)
        .await
}

async fn synchronize(
    _ctx: &Ctx<'_>,
    ev: &PluginEvent,
    opts: &Lgtm,
    facts: &mut Cached<'_>,
    p: &mut PluginPlan,
) -> Result<(), FactError> {
    let (Some(issue), Some(pull)) = (&ev.issue, &ev.pull) else {
        return Ok(());
    };
    if pull.merged || !issue.has_label(LABEL) {
        return Ok(());
    }
    if sticky(opts, &ev.repo.org, &issue.author, facts).await? {
        p.note("the author is in the sticky lgtm team: lgtm stays");
        return Ok(());
    }
    if opts.store_tree_hash {
        let comments = facts.issue_comments(&ev.repo, issue.number).await?;
        let recorded = comments
            .iter()
            .rev()
            .filter(|c| facts.is_bot(&c.author) && c.updated_at == c.created_at)
            .find_map(|c| recorded_tree(&c.body).map(str::to_string));
        if let Some(recorded) = recorded
            && facts.tree_sha(&ev.repo, &pull.head_sha).await? == recorded
        {
            p.note(format!(
                "the tree is the one lgtm was given to ({recorded}): lgtm stays"
            ));
            return Ok(());
        }
    }
    p.remove_label(LABEL);
    if opts.store_tree_hash {
        p.push(Effect::RequestReview {
            users: issue.assignees.clone(),
            teams: Vec::new(),
            refused: None,
        });
    }
    p.comment(REMOVED.to_string());
    Ok(())
}

pub fn help(config: &Config, org: &str, repo: &str) -> PluginHelp {
    let opts = config.plugins.lgtm_for(org, repo);
    let mut h = PluginHelp::new(
        "lgtm",
        "Manages the `lgtm` (Looks Good To Me) label, which typically gates merging.",
    )
    .command(
        Command::new(
            "/[remove-]lgtm [cancel] or a GitHub review",
            "Adds or removes the `lgtm` label.",
            "Collaborators on the repository, not the PR's author; `/lgtm cancel` also the author.",
            &["/lgtm", "/lgtm cancel", "/remove-lgtm"],
        )
        .featured(),
    );
    if opts.review_acts_as_lgtm {
        h = h.config("Reviews that approve or request changes act as adding or removing lgtm.");
    }
    if opts.store_tree_hash {
        h = h.config("Squashing commits does not remove lgtm.");
    }
    if !opts.sticky_lgtm_team.is_empty() {
        h = h.config(format!(
            "Commits from \"{}\" do not remove lgtm.",
            opts.sticky_lgtm_team
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_hash_record_reads_back() {
        assert_eq!(
            recorded_tree(&format!("{TREE_HASH_PREFIX}abc123</details>")),
            Some("abc123")
        );
        assert_eq!(recorded_tree("LGTM"), None);
    }

    #[test]
    fn lgtm_commands_are_prows() {
        for (body, lgtm, cancel) in [
            ("/lgtm", true, false),
            ("/LGTM", true, false),
            ("/lgtm no-issue", true, false),
            ("/lgtm cancel", false, true),
            ("/remove-lgtm", false, true),
            ("/lgtm please", false, false),
            ("looks good /lgtm", false, false),
        ] {
            assert_eq!(LGTM.get().is_match(body), lgtm, "{body}");
            assert_eq!(CANCEL.get().is_match(body), cancel, "{body}");
        }
    }
}
