//! Prow's verify-owners plugin: a PR that changes an OWNERS or
//! OWNERS_ALIASES file (or still carries `do-not-merge/invalid-owners-file`)
//! gets its OWNERS files checked as they are at its head: each must parse,
//! carry no label of `owners.labels_denylist`, and the root one must have
//! approvers; newly added people must be trusted (org members or
//! collaborators, as the trigger decides). `/verify-owners` asks again.
//!
//! Problems are posted as one comment naming each file and line (Prow
//! posts a review with line comments).

use std::collections::BTreeMap;

use crate::config::Config;
use crate::plan::FactError;

use super::owners::{parse_aliases, parse_owners};
use super::pluginhelp::{Command, PluginHelp};
use super::respond::format_response_raw;
use super::{
    Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, created_comment, re, trusted_user,
};

pub const LABEL: &str = "do-not-merge/invalid-owners-file";
/// Begins the bot's list of untrusted users (it is deleted once fixed).
pub const UNTRUSTED: &str = "The OWNERS file contains untrusted users, which makes it INVALID.";
/// At most this many people are checked for trust, as in Prow.
const MAX_CHECKED: usize = 50;

static VERIFY: Pattern = Pattern::new(|| re(r"(?mi)^/verify-owners\s*$"));

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Logins on lines the patch adds as list items (`+ - alice`).
fn added_in_patch(patch: &str, login: &str) -> bool {
    patch.lines().any(|l| {
        let Some(rest) = l.strip_prefix('+') else {
            return false;
        };
        let Some(item) = rest.trim_start().strip_prefix('-') else {
            return false;
        };
        item.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .any(|w| w.eq_ignore_ascii_case(login))
    })
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("verify-owners", ev.number());
    let Some(issue) = &ev.issue else {
        return Ok(p);
    };
    let asked = if ev.name == "pull_request" {
        matches!(ev.action.as_str(), "opened" | "reopened" | "synchronize")
    } else {
        created_comment(ev)
            .is_some_and(|(c, i)| i.is_pr && i.is_open() && VERIFY.get().is_match(&c.body))
    };
    if !asked || !issue.is_pr {
        return Ok(p);
    }
    let (org, repo) = (&ev.repo.org, &ev.repo.repo);
    let names = ctx.config.plugins.sections.owners.filenames_for(org, repo);
    let files = facts.pull_files(&ev.repo, issue.number).await?;
    let owners_files: Vec<_> = files
        .iter()
        .filter(|f| base_name(&f.filename) == names.owners && f.status != "removed")
        .collect();
    let aliases_file = files.iter().find(|f| f.filename == names.owners_aliases);
    let has = issue.has_label(LABEL);
    if owners_files.is_empty() && aliases_file.is_none() && !has {
        return Ok(p);
    }
    let head = match &ev.pull {
        Some(pull) => pull.head_sha.clone(),
        None => facts.pull_request(&ev.repo, issue.number).await?.head_sha,
    };
    let skip_trust = ctx
        .config
        .plugins
        .sections
        .owners
        .skip_collaborators
        .iter()
        .any(|r| *r == ev.repo.full_name());
    let trigger = ctx.config.plugins.trigger_for(org, repo);
    let mut untrusted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    let mut aliases = BTreeMap::new();
    if let Some(text) = facts.file(&ev.repo, &names.owners_aliases, &head).await? {
        match parse_aliases(&names.owners_aliases, &text) {
            Ok(a) => aliases = a,
            Err(_) => {
                if !has {
                    p.add_label(LABEL);
                }
                p.comment(format!(
                    "The content of {} is invalid.",
                    names.owners_aliases
                ));
                return Ok(p);
            }
        }
    }
    if let Some(f) = aliases_file
        && !skip_trust
    {
        let everyone: Vec<String> = aliases.values().flatten().cloned().collect();
        for who in everyone {
            if checked >= MAX_CHECKED || !added_in_patch(&f.patch, &who) {
                continue;
            }
            checked += 1;
            if !trusted_user(&trigger, &ev.repo, &who, facts).await? {
                untrusted.entry(who).or_default().push(f.filename.clone());
            }
        }
    }
    let denylist = ctx.config.plugins.sections.owners.labels_denylist();
    let mut wrong: Vec<String> = Vec::new();
    for f in owners_files {
        let Some(text) = facts.file(&ev.repo, &f.filename, &head).await? else {
            continue;
        };
        let parsed = match parse_owners(&f.filename, &text) {
            Ok(o) => o,
            Err(e) => {
                wrong.push(e);
                continue;
            }
        };
        let labels: Vec<&String> = parsed.filters.iter().flat_map(|(_, l)| &l.labels).collect();
        let banned: Vec<&str> = denylist
            .iter()
            .filter(|d| labels.contains(d))
            .map(String::as_str)
            .collect();
        if !banned.is_empty() {
            wrong.push(format!(
                "{}: File contains banned labels: {}.",
                f.filename,
                banned.join(", ")
            ));
            continue;
        }
        let approvers: Vec<&String> = parsed
            .filters
            .iter()
            .flat_map(|(_, l)| &l.approvers)
            .collect();
        if !f.filename.contains('/') && approvers.is_empty() {
            wrong.push(format!(
                "{}: No approvers defined in this root directory {} file.",
                f.filename, names.owners
            ));
            continue;
        }
        if skip_trust {
            continue;
        }
        let people: Vec<String> = parsed
            .filters
            .iter()
            .flat_map(|(_, l)| l.reviewers.iter().chain(&l.approvers))
            .map(|s| super::owners::norm_login(s))
            .filter(|s| !aliases.contains_key(s))
            .collect();
        for who in people {
            if checked >= MAX_CHECKED || !added_in_patch(&f.patch, &who) {
                continue;
            }
            if let Some(files) = untrusted.get_mut(&who) {
                if !files.contains(&f.filename) {
                    files.push(f.filename.clone());
                }
                continue;
            }
            checked += 1;
            if !trusted_user(&trigger, &ev.repo, &who, facts).await? {
                untrusted.insert(who, vec![f.filename.clone()]);
            }
        }
    }
    if !wrong.is_empty() {
        if !has {
            p.add_label(LABEL);
        }
        let s = if wrong.len() == 1 { "" } else { "s" };
        let list: String = wrong.iter().map(|w| format!("- {w}\n")).collect();
        p.comment(format_response_raw(
            &issue.body,
            &issue.html_url,
            &issue.author,
            &format!(
                "{} invalid {} file{s}:\n\n{list}",
                wrong.len(),
                names.owners
            ),
        ));
    }
    if !untrusted.is_empty() {
        if !has && wrong.is_empty() {
            p.add_label(LABEL);
        }
        p.push(Effect::Prune {
            containing: UNTRUSTED.into(),
        });
        let join = if trigger.join_org_url.is_empty() {
            format!("https://github.com/orgs/{org}/people")
        } else {
            trigger.join_org_url.clone()
        };
        let mut msg = format!(
            "{UNTRUSTED} The following users are mentioned in {} file(s) but are untrusted: they are neither members of the {org} org nor collaborators. One way to make a user trusted is to add them as [members]({join}) of the {org} org. Then ask again by writing `/verify-owners` in a comment.",
            names.owners
        );
        for (who, files) in &untrusted {
            msg.push_str(&format!("\n- {who}"));
            for f in files {
                msg.push_str(&format!("\n  - {f}"));
            }
        }
        p.comment(msg);
    }
    if wrong.is_empty() && untrusted.is_empty() {
        if has {
            p.remove_label(LABEL);
        }
        p.push(Effect::Prune {
            containing: UNTRUSTED.into(),
        });
    }
    Ok(p)
}

pub fn help(config: &Config, _: &str, _: &str) -> PluginHelp {
    let denylist = config.plugins.sections.owners.labels_denylist();
    PluginHelp::new(
        "verify-owners",
        "Checks the OWNERS and OWNERS_ALIASES files a PR changes, and labels the PR `do-not-merge/invalid-owners-file` while one is invalid or names an untrusted user.",
    )
    .config(format!(
        "OWNERS files may not carry these labels: {}.",
        denylist.join(", ")
    ))
    .command(Command::new(
        "/verify-owners",
        "Checks the PR's OWNERS files again.",
        "Anyone.",
        &["/verify-owners"],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_people_the_patch_adds_are_checked() {
        let patch = "@@ -1,2 +1,3 @@\n approvers:\n - alice\n+- bob\n";
        assert!(added_in_patch(patch, "bob"));
        assert!(!added_in_patch(patch, "alice"));
        assert!(!added_in_patch(patch, "bo"));
    }
}
