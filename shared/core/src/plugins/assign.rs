//! Prow's assign plugin: `/assign` and `/unassign` set assignees, `/cc` and
//! `/uncc` request reviews (pull requests only). No names means the
//! commenter. `/assign` takes logins only, one space apart; `/cc` also takes
//! `org/team`, which GitHub accepts as a team of the repository's own org.

use std::collections::BTreeMap;

use crate::config::Config;

use super::pluginhelp::{Command, PluginHelp};
use super::{Effect, Pattern, PluginEvent, PluginPlan, Refusal, created_comment, re};

static ASSIGN: Pattern = Pattern::new(|| re(r"(?mi)^/(un)?assign(( @?[-0-9A-Za-z_]+?)*)\s*$"));
static CC: Pattern = Pattern::new(|| re(r"(?mi)^/(un)?cc(( +@?[-/0-9A-Za-z_]+?)*)\s*$"));

/// Who each command adds (`true`) or removes, the last mention winning.
fn targets(pattern: &Pattern, body: &str, commenter: &str) -> BTreeMap<String, bool> {
    let mut users = BTreeMap::new();
    for m in pattern.get().captures_iter(body) {
        let add = m.get(1).is_none();
        let names = m.get(2).map_or("", |g| g.as_str());
        if names.trim().is_empty() {
            users.insert(commenter.to_string(), add);
            continue;
        }
        for login in names.split(' ') {
            let login = login.trim_matches(|c| c == '@' || c == ' ');
            if !login.is_empty() {
                users.insert(login.to_string(), add);
            }
        }
    }
    users
}

fn split(users: BTreeMap<String, bool>) -> (Vec<String>, Vec<String>) {
    let (add, remove): (Vec<_>, Vec<_>) = users.into_iter().partition(|(_, a)| *a);
    (
        add.into_iter().map(|(u, _)| u).collect(),
        remove.into_iter().map(|(u, _)| u).collect(),
    )
}

/// `org/team` names of the repo's own org become team slugs.
fn users_and_teams(org: &str, logins: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    let mut teams = Vec::new();
    for l in logins {
        match l.split_once('/') {
            Some((o, team)) if o.eq_ignore_ascii_case(org) => teams.push(team.to_string()),
            _ => users.push(l),
        }
    }
    (users, teams)
}

pub fn plan(ev: &PluginEvent) -> PluginPlan {
    let mut p = PluginPlan::new("assign", ev.number());
    let Some((c, issue)) = created_comment(ev) else {
        return p;
    };
    let refusal = || {
        Some(Refusal {
            body: c.body.clone(),
            url: c.html_url.clone(),
            user: c.author.clone(),
        })
    };
    let (add, remove) = split(targets(&ASSIGN, &c.body, &c.author));
    if !remove.is_empty() {
        p.push(Effect::Unassign { logins: remove });
    }
    if !add.is_empty() {
        p.push(Effect::Assign {
            logins: add,
            refused: refusal(),
        });
    }
    if issue.is_pr {
        let (add, remove) = split(targets(&CC, &c.body, &c.author));
        if !remove.is_empty() {
            let (users, teams) = users_and_teams(&ev.repo.org, remove);
            p.push(Effect::UnrequestReview { users, teams });
        }
        if !add.is_empty() {
            let (users, teams) = users_and_teams(&ev.repo.org, add);
            p.push(Effect::RequestReview {
                users,
                teams,
                refused: refusal(),
            });
        }
    }
    p
}

/// The reply naming the users GitHub refused (Prow's wording of the rule).
pub fn refused_message(org: &str, reviewers: bool, users: &[String]) -> String {
    if reviewers {
        format!(
            "GitHub didn't allow me to request PR reviews from the following users: {}.\n\nNote that only [{org} members](https://github.com/orgs/{org}/people) and repo collaborators can review this PR, and authors cannot review their own PRs.",
            users.join(", ")
        )
    } else {
        format!(
            "GitHub didn't allow me to assign the following users: {}.\n\nNote that only [{org} members](https://github.com/orgs/{org}/people) with read permissions, repo collaborators and people who have commented on this issue/PR can be assigned. Additionally, issues/PRs can only have 10 assignees at the same time.",
            users.join(", ")
        )
    }
}

pub fn help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "assign",
        "Assigns people or requests their review. `/assign @user1` assigns, `/cc @user1` requests a review; with no names, the commenter. `un` in front takes it back.",
    )
    .command(
        Command::new(
            "/[un]assign [[@]<username>...]",
            "Assigns (or unassigns) users to the issue or PR.",
            "Anyone; the users must be org members, repo collaborators, or have commented on the issue or PR.",
            &["/assign", "/unassign", "/assign @spongebob", "/assign spongebob patrick"],
        )
        .featured(),
    )
    .command(
        Command::new(
            "/[un]cc [[@]<username>...|[@]<orgname/teamname>...]",
            "Requests (or withdraws) a review from users or teams.",
            "Anyone; the users must be org members or repo collaborators.",
            &["/cc", "/uncc", "/cc @spongebob", "/cc @acme/reviewers"],
        )
        .featured(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_takes_logins_one_space_apart_and_cc_takes_teams() {
        let t = |p: &Pattern, body: &str| targets(p, body, "me");
        assert_eq!(
            t(&ASSIGN, "/assign @alice bob"),
            BTreeMap::from([("alice".into(), true), ("bob".into(), true)])
        );
        assert!(t(&ASSIGN, "/assign  @alice").is_empty(), "double space");
        assert!(t(&ASSIGN, "/assign @acme/team").is_empty(), "teams");
        assert_eq!(
            t(&ASSIGN, "/unassign"),
            BTreeMap::from([("me".into(), false)])
        );
        assert_eq!(
            t(&CC, "/cc  @acme/team"),
            BTreeMap::from([("acme/team".into(), true)])
        );
    }
}
