//! Prow's hold plugin: `/hold` puts `do-not-merge/hold` on a pull request,
//! `/hold cancel` (or `/unhold`, `/remove-hold`) takes it off. Anyone may;
//! the cancel form is tested first.

use crate::config::Config;

use super::pluginhelp::{Command, PluginHelp};
use super::{Pattern, PluginEvent, PluginPlan, created_comment, re};

pub const LABEL: &str = "do-not-merge/hold";

static HOLD: Pattern = Pattern::new(|| re(r"(?mi)^/hold(\s.*)?$"));
static CANCEL: Pattern = Pattern::new(|| re(r"(?mi)^/(remove-hold|hold\s+cancel|unhold)(\s.*)?$"));

pub fn plan(ev: &PluginEvent) -> PluginPlan {
    let mut p = PluginPlan::new("hold", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return p;
    };
    if !issue.is_pr {
        return p;
    }
    let wanted = if CANCEL.get().is_match(&c.body) {
        false
    } else if HOLD.get().is_match(&c.body) {
        true
    } else {
        return p;
    };
    let has = issue.has_label(LABEL);
    if has && !wanted {
        p.remove_label(LABEL);
    } else if !has && wanted {
        p.add_label(LABEL);
    } else {
        p.note(format!("`{LABEL}` is already as asked"));
    }
    p
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "hold",
        "Lets anyone add or remove the `do-not-merge/hold` label to keep a pull request from merging without withholding approval.",
    )
    .command(Command::new(
        "/[remove-][un]hold [cancel]",
        "Adds or removes the `do-not-merge/hold` label.",
        "Anyone.",
        &["/hold", "/hold cancel", "/unhold", "/remove-hold"],
    ))
}
