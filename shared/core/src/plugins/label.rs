//! Prow's label plugin (`pkg/plugins/label`): `/kind bug`, `/priority …`,
//! `/area …` and the other categories add `<category>/<word>` for each word
//! (lower-cased), `/remove-<category> …` removes them, `/label x` and
//! `/remove-label x` handle one configured label (`additional_labels` or a
//! restricted one). Commands are case-sensitive; HTML comments are ignored;
//! a label must exist in the repository. `triage/accepted` is for org
//! members, restricted labels for their listed users and teams. Removing
//! the last label of `kind|priority|sig|triage` adds `needs-<category>` when
//! the repository has that label. A PR labelled with a restricted label's
//! `assign_on` label gets its allowed users assigned.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::config::plugins::RestrictedLabel;
use crate::plan::FactError;

use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re};

const NEEDS: [&str; 4] = ["kind", "priority", "sig", "triage"];
pub const TRIAGE_ACCEPTED: &str = "triage/accepted";

static HTML_COMMENT: Pattern = Pattern::new(|| re(r"(?s)<!--(.*?)-->"));
static LABEL: Pattern =
    Pattern::new(|| re(r"(?m)^/(area|committee|kind|language|priority|sig|triage|wg)\s*(.*?)\s*$"));
static REMOVE: Pattern = Pattern::new(|| {
    re(r"(?m)^/remove-(area|committee|kind|language|priority|sig|triage|wg)\s*(.*?)\s*$")
});
static CUSTOM: Pattern = Pattern::new(|| re(r"(?m)^/label\s*(.*?)\s*$"));
static CUSTOM_REMOVE: Pattern = Pattern::new(|| re(r"(?m)^/remove-label\s*(.*?)\s*$"));

/// `/kind bug feature` → `kind/bug`, `kind/feature` (Prow splits the whole
/// command on single spaces).
fn category_labels(pattern: &Pattern, body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in pattern.get().captures_iter(body) {
        let (Some(whole), Some(cat)) = (m.get(0), m.get(1)) else {
            continue;
        };
        for word in whole.as_str().trim().split(' ').skip(1) {
            out.push(format!("{}/{}", cat.as_str(), word.trim()).to_lowercase());
        }
    }
    out
}

/// `/label x`: exactly one word, and a configured one; the others are the
/// commands it could not take.
fn custom_labels(
    pattern: &Pattern,
    body: &str,
    allowed: impl Fn(&str) -> bool,
    invalid: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for m in pattern.get().captures_iter(body) {
        let Some(whole) = m.get(0) else {
            continue;
        };
        let parts: Vec<&str> = whole.as_str().trim().split(' ').collect();
        if (parts[0] != "/label" && parts[0] != "/remove-label") || parts.len() != 2 {
            continue;
        }
        let label = parts[1].to_lowercase();
        if allowed(&label) {
            out.push(label);
        } else {
            invalid.push(whole.as_str().to_string());
        }
    }
    out
}

fn in_category<'a>(labels: impl Iterator<Item = &'a String>, cat: &str) -> BTreeSet<String> {
    let prefix = format!("{cat}/");
    labels
        .filter(|l| l.starts_with(&prefix))
        .map(|l| l.to_lowercase())
        .collect()
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("label", ev.number());
    let config = &ctx.config.plugins.sections.label;
    let restricted = config.restricted_for(&ev.repo.org, &ev.repo.repo);
    if ev.name == "pull_request" && ev.action == "labeled" {
        assign_on(ev, &restricted, &mut p);
    }
    let Some((c, issue)) = created_comment(ev) else {
        return Ok(p);
    };
    let body = HTML_COMMENT.get().replace_all(&c.body, "").into_owned();
    let any = [&LABEL, &REMOVE, &CUSTOM, &CUSTOM_REMOVE]
        .iter()
        .any(|r| r.get().is_match(&body));
    if !any {
        return Ok(p);
    }
    let repo_labels: BTreeSet<String> = facts
        .repo_labels(&ev.repo)
        .await?
        .iter()
        .map(|l| l.to_lowercase())
        .collect();
    let additional: BTreeSet<String> = config
        .additional_labels
        .iter()
        .map(|l| l.to_lowercase())
        .collect();
    let allowed = |l: &str| restricted.contains_key(l) || additional.contains(l);
    let mut nonexistent = Vec::new();
    let mut to_add = category_labels(&LABEL, &body);
    to_add.extend(custom_labels(&CUSTOM, &body, allowed, &mut nonexistent));
    let mut to_remove = category_labels(&REMOVE, &body);
    to_remove.extend(custom_labels(
        &CUSTOM_REMOVE,
        &body,
        allowed,
        &mut nonexistent,
    ));

    for cat in NEEDS {
        let needs = format!("needs-{cat}");
        if !repo_labels.contains(&needs) {
            continue;
        }
        let removed = in_category(to_remove.iter(), cat);
        if removed.is_empty() || !in_category(to_add.iter(), cat).is_empty() {
            continue;
        }
        if in_category(issue.labels.iter(), cat).is_subset(&removed) {
            to_add.push(needs);
        }
    }

    let reply = |msg: &str| format_response_raw(&body, &c.html_url, &c.author, msg);
    let mut missing_in_repo = Vec::new();
    let mut not_on_issue = Vec::new();
    let mut non_member_triage = false;
    for label in &to_add {
        if issue.has_label(label) {
            continue;
        }
        if !repo_labels.contains(label) {
            missing_in_repo.push(label.clone());
            continue;
        }
        if label == TRIAGE_ACCEPTED && !facts.is_member(&ev.repo.org, &c.author).await? {
            non_member_triage = true;
            continue;
        }
        match may_set(&ev.repo.org, &c.author, label, &restricted, facts).await? {
            Ok(()) => p.add_label(label),
            Err(why) => p.comment(reply(&why)),
        }
    }
    for label in &to_remove {
        if !issue.has_label(label) {
            not_on_issue.push(label.clone());
            continue;
        }
        if !repo_labels.contains(label) {
            continue;
        }
        match may_set(&ev.repo.org, &c.author, label, &restricted, facts).await? {
            Ok(()) => p.remove_label(label),
            Err(why) => p.comment(reply(&why)),
        }
    }
    if !nonexistent.is_empty() {
        let mut supported: Vec<String> = config.additional_labels.clone();
        supported.extend(restricted.keys().cloned());
        p.comment(reply(&format!(
            "The label(s) `{}` cannot be applied. These labels are supported: `{}`. Is this label configured under `label -> additional_labels` or `label -> restricted_labels` in `plugins.yaml`?",
            nonexistent.join(", "),
            supported.join(", ")
        )));
    } else if !missing_in_repo.is_empty() {
        p.comment(reply(&format!(
            "The label(s) `{}` cannot be applied, because the repository doesn't have them.",
            missing_in_repo.join(", ")
        )));
    } else if !not_on_issue.is_empty() {
        p.comment(reply(&format!(
            "Those labels are not set on the issue: `{}`",
            not_on_issue.join(", ")
        )));
    } else if non_member_triage {
        p.comment(reply(&format!(
            "The label `{TRIAGE_ACCEPTED}` cannot be applied. Only GitHub organization members can add the label."
        )));
    }
    Ok(p)
}

/// Prow's `canUserSetLabel`: unrestricted labels are anyone's; restricted
/// ones belong to their users and teams.
async fn may_set(
    org: &str,
    user: &str,
    label: &str,
    restricted: &BTreeMap<String, RestrictedLabel>,
    facts: &mut Cached<'_>,
) -> Result<Result<(), String>, FactError> {
    let Some(r) = restricted.get(label) else {
        return Ok(Ok(()));
    };
    if r.allowed_users.iter().any(|u| u.eq_ignore_ascii_case(user)) {
        return Ok(Ok(()));
    }
    for team in &r.allowed_teams {
        if facts.is_team_member(org, team, user).await? {
            return Ok(Ok(()));
        }
    }
    let mut msg = format!(
        "The label(s) `{label}` cannot be applied or removed, because you are not in one of the allowed teams and are not an allowed user."
    );
    if !r.allowed_teams.is_empty() {
        msg.push_str(&format!(
            " Must be a member of one of these teams: {}",
            r.allowed_teams.join(", ")
        ));
    } else if !r.allowed_users.is_empty() {
        let some: Vec<&str> = r
            .allowed_users
            .iter()
            .take(20)
            .map(String::as_str)
            .collect();
        msg.push_str(&format!(
            " Consider assigning one of the following members: {}",
            some.join(",")
        ));
    }
    Ok(Err(msg))
}

/// A label some restricted label lists in `assign_on` assigns its users.
fn assign_on(ev: &PluginEvent, restricted: &BTreeMap<String, RestrictedLabel>, p: &mut PluginPlan) {
    let Some(added) = &ev.label else {
        return;
    };
    for r in restricted.values() {
        if r.assign_on
            .iter()
            .any(|a| a.label.eq_ignore_ascii_case(added))
            && !r.allowed_users.is_empty()
        {
            p.push(Effect::Assign {
                logins: r.allowed_users.clone(),
                refused: None,
            });
        }
    }
}

pub fn help(config: &Config, _: &str, _: &str) -> PluginHelp {
    let extra = &config.plugins.sections.label.additional_labels;
    let mut h = PluginHelp::new(
        "label",
        "Adds or removes labels of the categories area, committee, kind, language, priority, sig, triage and wg, and the labels configured for `/label`. Restricted labels are for their listed users and teams.",
    )
    .command(Command::new(
        "/[remove-](area|committee|kind|language|priority|sig|triage|wg|label) <target>",
        "Applies or removes a label of one of the recognised kinds.",
        "Anyone, on issues and PRs; `triage/accepted` only org members; restricted labels only their users and teams.",
        &["/kind bug", "/remove-area prow", "/sig testing", "/language zh", "/label foo-bar-baz"],
    ));
    if !extra.is_empty() {
        h = h.config(format!("`/label` also takes: {}.", extra.join(", ")));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_commands_are_case_sensitive_and_take_every_word() {
        assert_eq!(
            category_labels(&LABEL, "/kind bug Feature"),
            ["kind/bug", "kind/feature"]
        );
        assert!(category_labels(&LABEL, "/Kind bug").is_empty());
        assert_eq!(category_labels(&REMOVE, "/remove-area prow"), ["area/prow"]);
    }

    #[test]
    fn label_takes_one_configured_word() {
        let mut invalid = Vec::new();
        let allowed = |l: &str| l == "api-review";
        assert_eq!(
            custom_labels(&CUSTOM, "/label api-review", allowed, &mut invalid),
            ["api-review"]
        );
        assert!(custom_labels(&CUSTOM, "/label a b", allowed, &mut invalid).is_empty());
        assert!(custom_labels(&CUSTOM, "/label other", allowed, &mut invalid).is_empty());
        assert_eq!(invalid, ["/label other"]);
    }
}
