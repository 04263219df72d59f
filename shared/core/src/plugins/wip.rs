//! Prow's wip plugin: a draft pull request, or one whose title starts with
//! `WIP`, carries `do-not-merge/work-in-progress`; the label goes when it
//! no longer does.

use crate::config::Config;

use super::pluginhelp::PluginHelp;
use super::{Pattern, PluginEvent, PluginPlan, re};

pub const LABEL: &str = "do-not-merge/work-in-progress";

static TITLE: Pattern = Pattern::new(|| re(r"(?i)^\W?WIP\W"));

pub fn plan(ev: &PluginEvent) -> PluginPlan {
    let mut p = PluginPlan::new("wip", ev.number());
    let acts = matches!(
        ev.action.as_str(),
        "opened" | "reopened" | "edited" | "ready_for_review" | "converted_to_draft"
    );
    let (Some(issue), Some(pull)) = (&ev.issue, &ev.pull) else {
        return p;
    };
    if ev.name != "pull_request" || !acts {
        return p;
    }
    let needs = pull.draft || TITLE.get().is_match(&issue.title);
    let has = issue.has_label(LABEL);
    if needs && !has {
        p.add_label(LABEL);
    } else if !needs && has {
        p.remove_label(LABEL);
    }
    p
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "wip",
        "Adds `do-not-merge/work-in-progress` to pull requests that are drafts or whose title starts with WIP, and removes it when they are ready for review.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_rule_is_prows() {
        for (title, wip) in [
            ("WIP: speed up", true),
            ("[WIP] speed up", true),
            ("wip speed up", true),
            ("WIPE the cache", false),
            ("Speed up (WIP)", false),
        ] {
            assert_eq!(TITLE.get().is_match(title), wip, "{title}");
        }
    }
}
