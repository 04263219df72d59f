//! Prow's help plugin: `/help` and `/good-first-issue` mark an open issue as
//! wanting outside help (`help wanted`, `good first issue`, the second with
//! the first), `/remove-help` and `/remove-good-first-issue` take it back
//! and delete the bot's explanation. Open issues only, as Prow's code does.

use crate::config::Config;

use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

pub const HELP: &str = "help wanted";
pub const GOOD_FIRST_ISSUE: &str = "good first issue";

/// The sentences the explanations start with; the bot's comments holding
/// them are deleted when the label goes.
pub const HELP_SENTENCE: &str = "This request has been marked as needing help from a contributor.";
pub const GOOD_FIRST_ISSUE_SENTENCE: &str =
    "This request has been marked as suitable for new contributors.";

static HELP_CMD: Pattern = Pattern::new(|| re(r"(?mi)^/help\s*$"));
static REMOVE_HELP: Pattern = Pattern::new(|| re(r"(?mi)^/remove-help\s*$"));
static GFI: Pattern = Pattern::new(|| re(r"(?mi)^/good-first-issue\s*$"));
static REMOVE_GFI: Pattern = Pattern::new(|| re(r"(?mi)^/remove-good-first-issue\s*$"));

fn message(ctx: &Ctx, good_first: bool) -> String {
    let h = &ctx.config.plugins.sections.help;
    let (sentence, anchor, remove) = if good_first {
        (
            GOOD_FIRST_ISSUE_SENTENCE,
            "#good-first-issue",
            "/remove-good-first-issue",
        )
    } else {
        (HELP_SENTENCE, "", "/remove-help")
    };
    let url = format!("{}{anchor}", h.guidelines_url());
    let guidelines = if h.help_guidelines_summary.is_empty() {
        format!("Please check that it meets [the guidelines]({url}).")
    } else {
        format!(
            "### Guidelines\n{}\n\nThe full guidelines are [here]({url}); please check that they are met.",
            h.help_guidelines_summary
        )
    };
    format!(
        "\n{sentence}\n\n{guidelines}\n\nIf it no longer meets them, comment `{remove}` to remove the label.\n"
    )
}

pub fn plan(ctx: &Ctx, ev: &PluginEvent) -> PluginPlan {
    let mut p = PluginPlan::new("help", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return p;
    };
    if issue.is_pr || !issue.is_open() {
        return p;
    }
    let has_help = issue.has_label(HELP);
    let has_gfi = issue.has_label(GOOD_FIRST_ISSUE);
    let reply = |msg: String| format_response_raw(&c.body, &issue.html_url, &c.author, &msg);
    if has_help && REMOVE_HELP.get().is_match(&c.body) {
        p.remove_label(HELP);
        p.push(Effect::Prune {
            containing: HELP_SENTENCE.into(),
        });
        if has_gfi {
            p.remove_label(GOOD_FIRST_ISSUE);
            p.push(Effect::Prune {
                containing: GOOD_FIRST_ISSUE_SENTENCE.into(),
            });
        }
    } else if !has_gfi && GFI.get().is_match(&c.body) {
        p.comment(reply(message(ctx, true)));
        p.add_label(GOOD_FIRST_ISSUE);
        if !has_help {
            p.add_label(HELP);
        }
    } else if !has_help && HELP_CMD.get().is_match(&c.body) {
        p.comment(reply(message(ctx, false)));
        p.add_label(HELP);
    } else if has_gfi && REMOVE_GFI.get().is_match(&c.body) {
        p.remove_label(GOOD_FIRST_ISSUE);
        p.push(Effect::Prune {
            containing: GOOD_FIRST_ISSUE_SENTENCE.into(),
        });
    }
    p
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "help",
        "Adds or removes the `help wanted` and `good first issue` labels on open issues.",
    )
    .command(Command::new(
        "/[remove-](help|good-first-issue)",
        "Applies or removes the `help wanted` and `good first issue` labels.",
        "Anyone, on an open issue.",
        &[
            "/help",
            "/remove-help",
            "/good-first-issue",
            "/remove-good-first-issue",
        ],
    ))
}
