//! Prow's needs-rebase (an external plugin there, built in here):
//! `needs-rebase` is on a pull request exactly while GitHub says it cannot
//! merge. GitHub computes mergeability lazily, so an event that does not
//! carry it asks for a look (`Effect::CheckMergeable`), and a push to a
//! branch asks for a look at every open PR into it (`Effect::CheckBase`),
//! where Prow sweeps all PRs once a day. The executor looks once, when the
//! event is handled: the delays these effects carry (Prow's re-polls) are
//! not acted on yet, so a PR GitHub has not computed waits for its next
//! event (README "Review plugins", "Not yet").

use crate::config::Config;
use crate::event::PullRequest;

use super::pluginhelp::PluginHelp;
use super::respond::format_simple_response;
use super::{Effect, PluginEvent, PluginPlan};

pub const LABEL: &str = "needs-rebase";
pub const MESSAGE: &str = "PR needs rebase.";
const DEPENDABOT: &str = "dependabot[bot]";
const DEPENDABOT_MESSAGE: &str = "@dependabot rebase";

/// How long GitHub usually needs to compute mergeability.
pub const FIRST_LOOK_SECONDS: u64 = 10;
/// Looks at a PR whose mergeability is still unknown, before giving up
/// until its next event.
pub const MAX_LOOKS: u32 = 3;

pub fn plan(ev: &PluginEvent) -> PluginPlan {
    let mut p = PluginPlan::new("needs-rebase", ev.number());
    if let Some(push) = &ev.push {
        if let Some(branch) = push.branch()
            && !push.deleted
        {
            p.push(Effect::CheckBase {
                branch: branch.to_string(),
                delay_seconds: FIRST_LOOK_SECONDS,
            });
        }
        return p;
    }
    let (Some(issue), Some(pull)) = (&ev.issue, &ev.pull) else {
        return p;
    };
    if !matches!(ev.action.as_str(), "opened" | "synchronize" | "reopened") || !issue.is_open() {
        return p;
    }
    match pull.mergeable {
        Some(m) => decide(&mut p, m, issue.has_label(LABEL), &issue.author),
        None => p.push(Effect::CheckMergeable {
            number: issue.number,
            delay_seconds: FIRST_LOOK_SECONDS,
        }),
    }
    p
}

/// The decision for a PR as `GET …/pulls/{n}` answers it, on the `look`-th
/// look (1 for the first).
pub fn plan_for(pr: &PullRequest, look: u32) -> PluginPlan {
    let mut p = PluginPlan::new("needs-rebase", Some(pr.number));
    if !pr.is_open() {
        return p;
    }
    match pr.mergeable {
        Some(m) => decide(&mut p, m, pr.has_label(LABEL), &pr.author),
        None if look < MAX_LOOKS => p.push(Effect::CheckMergeable {
            number: pr.number,
            delay_seconds: FIRST_LOOK_SECONDS << look,
        }),
        None => p.note("GitHub has not computed mergeability yet; the PR's next event looks again"),
    }
    p
}

fn decide(p: &mut PluginPlan, mergeable: bool, has: bool, author: &str) {
    if !mergeable && !has {
        p.add_label(LABEL);
        let msg = if author == DEPENDABOT {
            DEPENDABOT_MESSAGE
        } else {
            MESSAGE
        };
        p.comment(format_simple_response(msg));
    } else if mergeable && has {
        p.remove_label(LABEL);
        p.push(Effect::Prune {
            containing: MESSAGE.into(),
        });
    }
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "needs-rebase",
        "Adds the `needs-rebase` label to pull requests GitHub cannot merge and removes it once they can; it looks when a PR changes and when its base branch moves.",
    )
}
