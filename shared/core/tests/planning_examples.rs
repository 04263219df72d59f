//! Every real GitHub payload of the events Skiff acts on (from
//! `@octokit/webhooks-examples`, installed by ./scripts/test) parses and plans
//! against a config for its repository, and the plan is what Prow would do for
//! that action.

use std::path::PathBuf;

use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::{Event, PrAction, PullRequest, PushEvent, Repo, github};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, Facts, plan_event};
use skiff_core::prowjob::ProwJob;

fn examples() -> serde_json::Value {
    let path = std::env::var_os("SKIFF_WEBHOOK_EXAMPLES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../.test-tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run ./scripts/test, which installs @octokit/webhooks-examples",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A config for `org/repo` with one job of each trigger class.
fn config_for(full_name: &str) -> Config {
    let text = format!(
        "presubmits:\n  {full_name}:\n  - name: unit\n    always_run: true\n    spec: {{containers: [{{image: a, command: [b]}}]}}\n  - name: docs\n    run_if_changed: '^docs/'\n    spec: {{containers: [{{image: a, command: [b]}}]}}\n  - name: e2e\n    spec: {{containers: [{{image: a, command: [b]}}]}}\npostsubmits:\n  {full_name}:\n  - name: publish\n    spec: {{containers: [{{image: a, command: [b]}}]}}\n"
    );
    let loaded = load(&[
        SourceFile {
            path: "jobs.yaml".into(),
            text,
            role: FileRole::JobConfig,
        },
        SourceFile {
            path: "config.yaml".into(),
            text: format!("skiff:\n  merge_queue:\n    repos: [{full_name}]\n"),
            role: FileRole::ProwConfig,
        },
    ]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

/// Everyone is trusted; the PR is open on `main`.
struct TrustingFacts;

#[async_trait::async_trait]
impl Facts for TrustingFacts {
    async fn changed_files(&mut self, _: &Repo, _: i64) -> Result<Vec<String>, FactError> {
        Ok(vec!["src/main.go".into()])
    }
    async fn is_member(&mut self, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(true)
    }
    async fn is_collaborator(&mut self, _: &str, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(true)
    }
    fn is_bot(&self, _: &str) -> bool {
        false
    }
    async fn pull_request(&mut self, repo: &Repo, number: i64) -> Result<PullRequest, FactError> {
        Ok(PullRequest {
            repo: repo.clone(),
            number,
            author: "someone".into(),
            head_sha: "abc".into(),
            base_ref: "main".into(),
            state: "open".into(),
            ..PullRequest::default()
        })
    }
    async fn pr_jobs(&mut self, _: &Repo, _: i64) -> Result<Vec<ProwJob>, FactError> {
        Ok(vec![])
    }
    async fn base_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Ok("base".into())
    }
    async fn comment_body(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Ok(String::new())
    }
    async fn push_changes(&mut self, _: &PushEvent) -> Result<Vec<String>, FactError> {
        Ok(vec![])
    }
}

fn repo_of(event: &Event) -> Option<String> {
    Some(match event {
        Event::PullRequest(e) => e.pr.repo.full_name(),
        Event::Comment(e) => e.repo.full_name(),
        Event::Push(e) => e.repo.full_name(),
        Event::Rerun(e) => e.repo.full_name(),
        Event::MergeGroup(e) => e.repo.full_name(),
        Event::Ignored { .. } => return None,
    })
}

#[test]
fn every_supported_example_payload_plans_as_prow_would() {
    let index = examples();
    let supported = [
        "pull_request",
        "issue_comment",
        "push",
        "pull_request_review",
        "check_run",
        "check_suite",
        "merge_group",
    ];
    let regexes = Regexes::default();
    let mut planned = 0;
    for entry in index.as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        if !supported.contains(&name) {
            continue;
        }
        for example in entry["examples"].as_array().unwrap() {
            let body = serde_json::to_vec(example).unwrap();
            let event = github::parse(name, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let Some(full_name) = repo_of(&event) else {
                continue;
            };
            let config = config_for(&full_name);
            let ctx = Context {
                config: &config,
                regexes: &regexes,
                delivery: "d",
                now: "2026-11-23T10:00:00Z".parse().unwrap(),
                explain: true,
            };
            let plan = futures_executor::block_on(plan_event(&ctx, &event, &mut TrustingFacts))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            planned += 1;
            let jobs: Vec<&str> = plan.jobs.iter().map(|j| j.name()).collect();
            match &event {
                Event::PullRequest(e) => {
                    let builds = matches!(
                        e.action,
                        PrAction::Opened
                            | PrAction::Reopened
                            | PrAction::ReadyForReview
                            | PrAction::Synchronize
                    );
                    if builds && !e.pr.draft && e.pr.mergeable != Some(false) {
                        assert_eq!(jobs, ["unit"], "{name} {:?}", e.action);
                        assert!(plan.skipped.iter().any(|s| s.job == "docs"));
                    } else if !matches!(e.action, PrAction::Labeled { .. }) {
                        assert!(jobs.is_empty(), "{name} {:?}: {jobs:?}", e.action);
                    }
                    if e.action == PrAction::Opened && e.pr.draft {
                        assert!(plan.comments[0].starts_with("Skipping CI for Draft"));
                    }
                }
                Event::Push(e) => {
                    if e.is_deletion() {
                        assert!(jobs.is_empty(), "deleted {}", e.r#ref);
                    } else {
                        assert_eq!(jobs, ["publish"], "push to {}", e.r#ref);
                    }
                }
                Event::Comment(_) | Event::Rerun(_) => {
                    // Example comments hold no Skiff command; reruns name
                    // checks this config does not have.
                    assert!(
                        plan.note.is_some() || !plan.skipped.is_empty(),
                        "{name}: {plan:?}"
                    );
                }
                Event::MergeGroup(e) => {
                    // The required job runs on the queue's branch and head;
                    // the conditional one (no matching change) and the
                    // comment-only one do not.
                    assert_eq!(jobs, ["unit"], "{name}");
                    let record = plan.jobs[0].record();
                    let refs = record.spec.refs.as_ref().unwrap();
                    assert_eq!(refs.base_sha, e.head_sha);
                    assert!(
                        refs.base_ref.starts_with("gh-readonly-queue/"),
                        "{}",
                        refs.base_ref
                    );
                    assert!(refs.pulls.is_empty());
                    assert!(plan.skipped.iter().any(|s| s.job == "docs"));
                    assert!(plan.skipped.iter().any(|s| s.job == "e2e"));
                }
                Event::Ignored { .. } => {}
            }
        }
    }
    assert!(planned >= 50, "planned only {planned} examples");
}
