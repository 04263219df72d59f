//! Every real GitHub payload in `@octokit/webhooks-examples` parses: the events
//! Skiff acts on into the neutral model with the payload's own values, every
//! other event into `Ignored` — never an error.
//!
//! The examples are an npm package that `./scripts/test` installs under
//! `.test-tools/`; `SKIFF_WEBHOOK_EXAMPLES` points elsewhere.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use skiff_core::event::{CommentAction, Event, PrAction, github};

/// The events Skiff acts on; every other name in the file must be ignored.
const HANDLED: [&str; 7] = [
    "pull_request",
    "issue_comment",
    "pull_request_review",
    "push",
    "check_run",
    "check_suite",
    "merge_group",
];

fn examples_path() -> PathBuf {
    match std::env::var_os("SKIFF_WEBHOOK_EXAMPLES") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
            "../../.test-tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
        ),
    }
}

/// Event name → its example payloads.
fn examples() -> &'static BTreeMap<String, Vec<Value>> {
    static EXAMPLES: OnceLock<BTreeMap<String, Vec<Value>>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let path = examples_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "GitHub's webhook examples are missing at {} ({e}). Run ./scripts/test, which \
                 installs them (npm install --prefix .test-tools @octokit/webhooks-examples@7), \
                 or set SKIFF_WEBHOOK_EXAMPLES to an api.github.com/index.json",
                path.display()
            )
        });
        let entries: Vec<Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for entry in entries {
            let name = entry["name"].as_str().expect("every entry has a name");
            let list = entry["examples"]
                .as_array()
                .expect("every entry has examples");
            out.entry(name.to_owned())
                .or_default()
                .extend(list.iter().cloned());
        }
        out
    })
}

/// The examples of one handled event, parsed; fails if there are none, so a
/// renamed event in a new package version cannot pass by checking nothing.
fn parsed(event: &str) -> Vec<(&'static Value, Event)> {
    let list = examples()
        .get(event)
        .unwrap_or_else(|| panic!("the examples have no `{event}` entry"));
    assert!(!list.is_empty(), "no `{event}` examples");
    list.iter()
        .enumerate()
        .map(|(i, payload)| {
            let body = serde_json::to_vec(payload).expect("a JSON value serialises");
            let parsed = github::parse(event, &body)
                .unwrap_or_else(|e| panic!("{event} example #{i} did not parse: {e}"));
            (payload, parsed)
        })
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn owner(v: &Value) -> &str {
    v["login"]
        .as_str()
        .or(v["name"].as_str())
        .expect("an owner")
}

#[test]
fn every_pull_request_example_maps_its_action_and_pull_request() {
    for (p, event) in parsed("pull_request") {
        let Event::PullRequest(e) = event else {
            panic!("pull_request became {event:?}");
        };
        let action = text(&p["action"]);
        let expected = match action {
            "opened" => PrAction::Opened,
            "reopened" => PrAction::Reopened,
            "ready_for_review" => PrAction::ReadyForReview,
            "synchronize" => PrAction::Synchronize,
            "closed" => PrAction::Closed,
            "converted_to_draft" => PrAction::ConvertedToDraft,
            "edited" => PrAction::Edited {
                base_changed: !p["changes"]["base"]["ref"]["from"].is_null()
                    || !p["changes"]["base"]["sha"]["from"].is_null(),
            },
            "labeled" => PrAction::Labeled {
                label: text(&p["label"]["name"]).to_owned(),
            },
            "unlabeled" => PrAction::Unlabeled {
                label: text(&p["label"]["name"]).to_owned(),
            },
            other => PrAction::Other(other.to_owned()),
        };
        assert_eq!(e.action, expected);

        let pr = &p["pull_request"];
        let base_repo = &pr["base"]["repo"];
        assert_eq!(e.pr.number, p["number"].as_i64().unwrap());
        assert_eq!(e.pr.repo.org, owner(&base_repo["owner"]));
        assert_eq!(e.pr.repo.repo, text(&base_repo["name"]));
        assert_eq!(e.pr.repo.html_url, text(&base_repo["html_url"]));
        assert_eq!(e.pr.author, text(&pr["user"]["login"]));
        assert_eq!(e.pr.head_sha, text(&pr["head"]["sha"]));
        assert_eq!(e.pr.head_ref, text(&pr["head"]["ref"]));
        assert_eq!(e.pr.base_ref, text(&pr["base"]["ref"]));
        assert_eq!(e.pr.base_sha, text(&pr["base"]["sha"]));
        assert_eq!(e.pr.state, text(&pr["state"]));
        assert_eq!(e.pr.body, pr["body"].as_str().unwrap_or(""));
        assert_eq!(e.pr.draft, pr["draft"].as_bool().unwrap_or(false));
        assert_eq!(e.pr.merged, pr["merged"].as_bool().unwrap_or(false));
        assert_eq!(e.pr.mergeable, pr["mergeable"].as_bool());
        let labels: Vec<&str> = pr["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| text(&l["name"]))
            .collect();
        assert_eq!(e.pr.labels, labels);
        assert_eq!(e.sender, text(&p["sender"]["login"]));
    }
}

#[test]
fn every_issue_comment_example_is_a_comment_on_the_right_kind_of_issue() {
    for (p, event) in parsed("issue_comment") {
        let Event::Comment(c) = event else {
            panic!("issue_comment became {event:?}");
        };
        let expected = match text(&p["action"]) {
            "created" => CommentAction::Created,
            "edited" => CommentAction::Edited,
            "deleted" => CommentAction::Deleted,
            other => panic!("an example with action `{other}`: extend this test"),
        };
        assert_eq!(c.action, expected);
        let is_pr = p["issue"].as_object().unwrap().contains_key("pull_request");
        assert_eq!(c.is_pull_request, is_pr);
        assert_eq!(c.number, p["issue"]["number"].as_i64().unwrap());
        assert_eq!(c.issue_state, text(&p["issue"]["state"]));
        assert_eq!(c.body.as_deref(), p["comment"]["body"].as_str());
        assert_eq!(c.author, text(&p["comment"]["user"]["login"]));
        assert_eq!(c.html_url, text(&p["comment"]["html_url"]));
        assert_eq!(c.repo.org, owner(&p["repository"]["owner"]));
        assert_eq!(c.repo.repo, text(&p["repository"]["name"]));
        assert_eq!(c.pr, None);
    }
}

#[test]
fn every_pull_request_review_example_is_a_comment_carrying_the_pull_request() {
    for (p, event) in parsed("pull_request_review") {
        let action = text(&p["action"]);
        let expected = match action {
            "submitted" => CommentAction::Created,
            "edited" => CommentAction::Edited,
            "dismissed" => CommentAction::Deleted,
            _ => {
                assert!(
                    matches!(event, Event::Ignored { .. }),
                    "{action}: {event:?}"
                );
                continue;
            }
        };
        let Event::Comment(c) = event else {
            panic!("pull_request_review {action} became {event:?}");
        };
        assert_eq!(c.action, expected);
        assert!(c.is_pull_request);
        assert_eq!(
            c.body.as_deref(),
            Some(p["review"]["body"].as_str().unwrap_or(""))
        );
        assert_eq!(c.author, text(&p["review"]["user"]["login"]));
        let pr = c.pr.expect("a review carries its pull request");
        assert_eq!(pr.number, p["pull_request"]["number"].as_i64().unwrap());
        assert_eq!(c.number, pr.number);
        assert_eq!(c.issue_state, text(&p["pull_request"]["state"]));
        assert_eq!(pr.head_sha, text(&p["pull_request"]["head"]["sha"]));
        assert_eq!(c.repo, pr.repo);
        assert_eq!(
            c.repo.repo,
            text(&p["pull_request"]["base"]["repo"]["name"])
        );
    }
}

#[test]
fn every_push_example_lists_the_union_of_its_changed_files() {
    for (p, event) in parsed("push") {
        let Event::Push(e) = event else {
            panic!("push became {event:?}");
        };
        let commits = p["commits"].as_array().unwrap();
        let commits: Vec<&Value> = if commits.is_empty() {
            p["head_commit"]
                .as_object()
                .map(|_| &p["head_commit"])
                .into_iter()
                .collect()
        } else {
            commits.iter().collect()
        };
        let mut seen = HashSet::new();
        let mut union = Vec::new();
        for c in commits {
            for kind in ["added", "removed", "modified"] {
                for f in c[kind].as_array().into_iter().flatten() {
                    if seen.insert(text(f)) {
                        union.push(text(f).to_owned());
                    }
                }
            }
        }
        assert_eq!(e.changed_files, Some(union));
        assert_eq!(e.r#ref, text(&p["ref"]));
        assert_eq!(e.before, text(&p["before"]));
        assert_eq!(e.after, text(&p["after"]));
        assert_eq!(e.deleted, p["deleted"].as_bool().unwrap());
        assert_eq!(e.is_deletion(), p["deleted"].as_bool().unwrap());
        assert_eq!(e.compare_url, text(&p["compare"]));
        assert_eq!(e.pusher, text(&p["pusher"]["name"]));
        assert_eq!(e.repo.org, text(&p["repository"]["owner"]["login"]));
        assert_eq!(e.repo.repo, text(&p["repository"]["name"]));
    }
}

#[test]
fn every_check_run_example_reruns_only_when_rerequested() {
    let mut reruns = 0;
    for (p, event) in parsed("check_run") {
        let run = &p["check_run"];
        if text(&p["action"]) != "rerequested" {
            assert!(matches!(event, Event::Ignored { .. }), "{event:?}");
            continue;
        }
        let Event::Rerun(r) = event else {
            panic!("a rerequested check_run became {event:?}");
        };
        reruns += 1;
        assert_eq!(r.check_name.as_deref(), Some(text(&run["name"])));
        assert_eq!(r.head_sha, text(&run["head_sha"]));
        assert_eq!(r.pulls, pull_numbers(&run["pull_requests"]));
        assert_eq!(r.repo.repo, text(&p["repository"]["name"]));
        assert_eq!(r.sender, text(&p["sender"]["login"]));
    }
    assert!(reruns > 0, "no rerequested check_run example");
}

#[test]
fn every_check_suite_example_reruns_the_suite_only_when_rerequested() {
    let mut reruns = 0;
    for (p, event) in parsed("check_suite") {
        let suite = &p["check_suite"];
        if text(&p["action"]) != "rerequested" {
            assert!(matches!(event, Event::Ignored { .. }), "{event:?}");
            continue;
        }
        let Event::Rerun(r) = event else {
            panic!("a rerequested check_suite became {event:?}");
        };
        reruns += 1;
        assert_eq!(r.check_name, None);
        assert_eq!(r.head_sha, text(&suite["head_sha"]));
        assert_eq!(r.pulls, pull_numbers(&suite["pull_requests"]));
        assert_eq!(r.repo.org, owner(&p["repository"]["owner"]));
    }
    assert!(reruns > 0, "no rerequested check_suite example");
}

fn pull_numbers(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_i64().unwrap())
        .collect()
}

#[test]
fn every_example_of_every_other_event_is_ignored_with_a_reason() {
    let mut others = 0;
    for (name, list) in examples() {
        if HANDLED.contains(&name.as_str()) {
            continue;
        }
        for (i, payload) in list.iter().enumerate() {
            let body = serde_json::to_vec(payload).unwrap();
            match github::parse(name, &body) {
                Ok(Event::Ignored { event, reason }) => {
                    assert_eq!(&event, name);
                    assert!(!reason.is_empty(), "{name} #{i}");
                    others += 1;
                }
                other => panic!("{name} example #{i} became {other:?}"),
            }
        }
    }
    // The package held 50-odd other events when this was written; far fewer
    // means the file is not what this test thinks it is.
    assert!(others > 100, "only {others} examples of other events");
}

#[test]
fn every_merge_group_example_names_the_queues_branch_and_heads() {
    let list = examples().get("merge_group").expect("merge_group examples");
    assert!(!list.is_empty());
    for payload in list {
        let body = serde_json::to_vec(payload).unwrap();
        let Ok(Event::MergeGroup(m)) = github::parse("merge_group", &body) else {
            panic!("not a merge group: {payload}");
        };
        let g = &payload["merge_group"];
        let branch = |f: &str| g[f].as_str().unwrap().strip_prefix("refs/heads/");
        assert_eq!(m.head_sha, g["head_sha"].as_str().unwrap());
        assert_eq!(m.base_sha, g["base_sha"].as_str().unwrap());
        assert_eq!(Some(m.head_ref.as_str()), branch("head_ref"));
        assert_eq!(Some(m.base_ref.as_str()), branch("base_ref"));
        assert_eq!(
            m.repo.full_name(),
            payload["repository"]["full_name"].as_str().unwrap()
        );
    }
    // The group merged or was dropped: nothing to run.
    let mut destroyed = list[0].clone();
    destroyed["action"] = serde_json::json!("destroyed");
    let body = serde_json::to_vec(&destroyed).unwrap();
    assert!(matches!(
        github::parse("merge_group", &body),
        Ok(Event::Ignored { .. })
    ));
}
