//! Property-based fuzzing of every parser of outside input in the core:
//! GitHub and CodeCommit webhook payloads through parse and plan, Prow's
//! config YAML and `.prow.yaml`, cron specs, Go durations, JUnit files and
//! OWNERS files. Inputs are real ones
//! mutated (GitHub's example payloads, `events/codecommit.json`, the example
//! and fixture configs) and generated ones. A parser may refuse an input — with
//! an error that says where — but never panic.
//!
//! CI runs a bounded number of cases per parser (printed with the time they
//! took); `SKIFF_FUZZ_CASES=N` runs N each. A failure is shrunk and saved by
//! proptest in `fuzz.proptest-regressions` beside this file, replayed first on
//! every later run: commit it with the fix (one Go duration is there, fixed in
//! `duration.rs`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::Value;
use skiff_core::config::{Config as SkiffConfig, FileRole, SourceFile, load};
use skiff_core::cron::CronSchedule;
use skiff_core::duration::GoDuration;
use skiff_core::event::{Event, PullRequest, PushEvent, Repo, codecommit, github};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, Facts, plan_event};
use skiff_core::prowjob::ProwJob;

/// Cases per parser in CI: enough to find what the seeds in the
/// regression files would, little enough for the whole file to take seconds.
const CI_CASES: u32 = 256;

fn cases(default: u32) -> u32 {
    std::env::var("SKIFF_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` over `cases` inputs of `strategy`, printing the count.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        source_file: Some(file!()),
        // Beside this file: tests/fuzz.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, check) {
        panic!("fuzz {name}: {e}");
    }
    println!("fuzz {name}: {cases} cases in {:.2?}", started.elapsed());
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ---------------------------------------------------------------------------
// JSON mutations

/// Every path into `v` (object keys and array indexes), `v` itself first.
fn paths(v: &Value, here: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let mut p = here.clone();
                p.push(k.clone());
                paths(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut p = here.clone();
                p.push(i.to_string());
                paths(child, p, out);
            }
        }
        _ => {}
    }
}

fn at<'v>(v: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, key| match v {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// Strings a hostile or careless sender might put anywhere.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("..".to_string()),
        Just(".".to_string()),
        Just("%2e%2e".to_string()),
        Just("a/../b".to_string()),
        Just("\0".to_string()),
        Just("/test all".to_string()),
        Just("/retest\n/test unit".to_string()),
        Just("/test a, b,,c".to_string()),
        Just("/ok-to-test".to_string()),
        Just("refs/heads/".to_string()),
        Just("refs/tags/v1".to_string()),
        Just("0000000000000000000000000000000000000000".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("x".repeat(10_000)),
        "\\PC{0,40}",
        "[a-z/._-]{0,20}",
    ]
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from(u64::MAX)),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How one mutation changes a payload.
#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the node at (a path index modulo the number of paths).
    Replace(usize, Value),
    /// Remove the node from its parent.
    Remove(usize),
    /// Cut the serialized payload at (a fraction, in 1/1000).
    Truncate(u16),
    /// Overwrite one byte of the serialized payload.
    Byte(u16, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), json_value()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        1 => (0u16..1000).prop_map(Mutation::Truncate),
        1 => (0u16..1000, any::<u8>()).prop_map(|(at, b)| Mutation::Byte(at, b)),
    ]
}

/// `base` with `mutations` applied, as bytes.
fn mutate(base: &Value, mutations: &[Mutation]) -> Vec<u8> {
    let mut v = base.clone();
    let mut tail: Vec<&Mutation> = Vec::new();
    for m in mutations {
        let mut all = Vec::new();
        paths(&v, Vec::new(), &mut all);
        match m {
            Mutation::Replace(p, new) => {
                let path = &all[p % all.len()];
                if let Some(node) = at(&mut v, path) {
                    *node = new.clone();
                }
            }
            Mutation::Remove(p) => {
                let path = &all[p % all.len()];
                if let Some((last, parent)) = path.split_last() {
                    match at(&mut v, parent) {
                        Some(Value::Object(m)) => {
                            m.remove(last);
                        }
                        Some(Value::Array(a)) => {
                            if let Ok(i) = last.parse::<usize>()
                                && i < a.len()
                            {
                                a.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
            other => tail.push(other),
        }
    }
    let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
    for m in tail {
        match m {
            Mutation::Truncate(f) => bytes.truncate(bytes.len() * usize::from(*f) / 1000),
            Mutation::Byte(f, b) if !bytes.is_empty() => {
                let i = (bytes.len() - 1) * usize::from(*f) / 1000;
                bytes[i] = *b;
            }
            _ => {}
        }
    }
    bytes
}

// ---------------------------------------------------------------------------
// Webhook payloads through parse and plan

/// GitHub's example payloads of the events Skiff acts on (`name`, body).
fn github_examples() -> Vec<(String, Value)> {
    let path = std::env::var_os("SKIFF_WEBHOOK_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            root().join(
                ".test-tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
            )
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run ./scripts/test, which installs @octokit/webhooks-examples",
            path.display()
        )
    });
    let index: Value = serde_json::from_str(&text).expect("index.json is JSON");
    let acted_on = [
        "pull_request",
        "issue_comment",
        "push",
        "pull_request_review",
        "check_run",
        "check_suite",
        "merge_group",
    ];
    let mut out = Vec::new();
    for entry in index.as_array().into_iter().flatten() {
        let Some(name) = entry["name"].as_str().filter(|n| acted_on.contains(n)) else {
            continue;
        };
        for example in entry["examples"].as_array().into_iter().flatten() {
            out.push((name.to_string(), example.clone()));
        }
    }
    assert!(out.len() > 50, "only {} examples", out.len());
    out
}

/// A config with a job of each trigger class for every repository an
/// example names, and for CodeCommit's sample repository.
fn planning_config(repos: &[String]) -> SkiffConfig {
    let mut text = String::from("presubmits:\n");
    let job = |name: &str, extra: &str| {
        format!("  - name: {name}\n{extra}    spec: {{containers: [{{image: a, command: [b]}}]}}\n")
    };
    for repo in repos {
        text.push_str(&format!("  {repo}:\n"));
        text.push_str(&job("unit", "    always_run: true\n"));
        text.push_str(&job("docs", "    run_if_changed: '^docs/'\n"));
        text.push_str(&job("e2e", "    branches: ['^main$']\n"));
    }
    text.push_str("postsubmits:\n");
    for repo in repos {
        text.push_str(&format!("  {repo}:\n"));
        text.push_str(&job("publish", "    skip_if_only_changed: '\\.md$'\n"));
    }
    let loaded = load(&[SourceFile {
        path: "jobs.yaml".into(),
        text,
        role: FileRole::JobConfig,
    }]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

/// Facts that answer everything: everyone trusted, a few changed files.
struct Answers;

#[async_trait::async_trait]
impl Facts for Answers {
    async fn changed_files(&mut self, _: &Repo, _: i64) -> Result<Vec<String>, FactError> {
        Ok(vec!["docs/a.md".into(), "src/main.go".into()])
    }
    async fn is_member(&mut self, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(true)
    }
    async fn is_collaborator(&mut self, _: &str, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(false)
    }
    fn is_bot(&self, login: &str) -> bool {
        login.ends_with("[bot]")
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
        Ok("/retest".into())
    }
    async fn push_changes(&mut self, _: &PushEvent) -> Result<Vec<String>, FactError> {
        Ok(vec!["README.md".into()])
    }
}

fn plan(config: &SkiffConfig, event: &Event) {
    let regexes = Regexes::default();
    let ctx = Context {
        config,
        regexes: &regexes,
        delivery: "fuzz",
        now: "2026-12-05T12:00:00Z".parse().expect("a time"),
        explain: true,
    };
    // A fact that cannot be had is an error the trigger handles; only a
    // panic is a failure.
    let _ = futures_executor::block_on(plan_event(&ctx, event, &mut Answers));
}

fn repo_of(v: &Value) -> Option<String> {
    v["repository"]["full_name"].as_str().map(str::to_string)
}

#[test]
fn github_payloads_mutated_parse_and_plan_without_panicking() {
    let examples = github_examples();
    let mut repos: Vec<String> = examples.iter().filter_map(|(_, v)| repo_of(v)).collect();
    repos.sort();
    repos.dedup();
    let config = planning_config(&repos);
    let strategy = (0..examples.len(), prop::collection::vec(mutation(), 1..4));
    fuzz(
        "github payloads (parse + plan)",
        cases(CI_CASES * 2),
        strategy,
        |(i, ms)| {
            let (name, base) = &examples[i];
            let body = mutate(base, &ms);
            if let Ok(event) = github::parse(name, &body) {
                plan(&config, &event);
            }
            Ok(())
        },
    );
}

#[test]
fn github_comments_with_any_command_text_plan_without_panicking() {
    let examples = github_examples();
    // GitHub's examples comment on plain issues; a comment on a pull request
    // is the same payload with `issue.pull_request` set.
    let mut comment = examples
        .iter()
        .find(|(name, v)| name == "issue_comment" && v["action"] == "created")
        .map(|(_, v)| v.clone())
        .expect("an example issue_comment created");
    let number = comment["issue"]["number"].clone();
    let repo = comment["repository"]["full_name"].clone();
    comment["issue"]["pull_request"] = serde_json::json!({
        "url": format!("https://api.github.com/repos/{}/pulls/{number}", repo.as_str().unwrap_or_default()),
    });
    let repos: Vec<String> = repo_of(&comment).into_iter().collect();
    let config = planning_config(&repos);
    let line = prop_oneof![
        "/(test|retest|ok-to-test|hold|cc|assign|close|reopen|lgtm|approve) ?[a-z, *-]{0,20}",
        "\\PC{0,30}",
    ];
    let body = prop::collection::vec(line, 0..5).prop_map(|l| l.join("\n"));
    fuzz(
        "github comment commands (parse + plan)",
        cases(CI_CASES),
        body,
        |text| {
            let mut v = comment.clone();
            v["comment"]["body"] = Value::String(text);
            let body = serde_json::to_vec(&v).unwrap_or_default();
            if let Ok(event) = github::parse("issue_comment", &body) {
                plan(&config, &event);
            }
            Ok(())
        },
    );
}

#[test]
fn codecommit_events_mutated_parse_and_plan_without_panicking() {
    let text = std::fs::read_to_string(root().join("events/codecommit.json"))
        .expect("events/codecommit.json");
    let push: Value = serde_json::from_str(&text).expect("the sample is JSON");
    let mut pr = push.clone();
    pr["detail-type"] = "CodeCommit Pull Request State Change".into();
    pr["detail"] = serde_json::json!({
        "author": "arn:aws:iam::123456789012:user/alice", "callerUserArn": "arn:aws:iam::123456789012:user/alice",
        "destinationCommit": "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0",
        "destinationReference": "refs/heads/main", "event": "pullRequestCreated",
        "isMerged": "False", "pullRequestId": "1", "pullRequestStatus": "Open",
        "repositoryNames": ["widgets"], "sourceCommit": "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8",
        "sourceReference": "refs/heads/faster", "title": "Make widgets faster",
    });
    let mut comment = push.clone();
    comment["detail-type"] = "CodeCommit Comment on Pull Request".into();
    comment["detail"] = serde_json::json!({
        "afterCommitId": "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8",
        "beforeCommitId": "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0",
        "callerUserArn": "arn:aws:iam::123456789012:user/alice", "commentId": "c-1",
        "event": "commentOnPullRequestCreated", "pullRequestId": "1",
        "repositoryName": "widgets", "notificationBody": "/test all",
    });
    let bases = [push, pr, comment];
    let config = planning_config(&["us-east-1/widgets".to_string()]);
    let strategy = (0..bases.len(), prop::collection::vec(mutation(), 1..4));
    fuzz(
        "codecommit events (parse + plan)",
        cases(CI_CASES),
        strategy,
        |(i, ms)| {
            let body = mutate(&bases[i], &ms);
            if let Ok(event) = codecommit::parse(&body) {
                plan(&config, &event);
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------
// Config YAML

/// Every YAML file of the example config and the test fixtures, with the role
/// its name gives it.
fn config_files() -> Vec<(String, String, FileRole)> {
    let mut out = Vec::new();
    let mut stack = vec![
        root().join("infra/example"),
        root().join("cli/tests/fixtures/realistic"),
    ];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let name = path.display().to_string();
                let role = if name.ends_with("config.yaml") {
                    FileRole::ProwConfig
                } else if name.ends_with("plugins.yaml") {
                    FileRole::PluginConfig
                } else {
                    FileRole::JobConfig
                };
                if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push((name, text, role));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() > 20, "config files found: {}", out.len());
    out
}

/// What a line-level mutation does to a YAML file.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Indent(usize, u8),
    Dedent(usize),
    /// Replace what follows the line's first `: ` (or the whole line).
    Value(usize, String),
    Insert(usize, String),
    /// Cut the file at (a fraction, in 1/1000).
    Cut(u16),
}

fn yaml_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("~".to_string()),
        Just("[".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("*nope".to_string()),
        Just("&a x".to_string()),
        Just("<<: *a".to_string()),
        Just("!!binary AAAA".to_string()),
        Just("!custom x".to_string()),
        Just("\"unterminated".to_string()),
        Just("'also".to_string()),
        Just("-1".to_string()),
        Just("1e999".to_string()),
        Just("0x".to_string()),
        Just(":".to_string()),
        Just("- ".to_string()),
        Just("? ".to_string()),
        Just("|".to_string()),
        Just(">-".to_string()),
        Just("\t".to_string()),
        Just("{{stage}}".to_string()),
        Just("{a: [b, {c: d}]}".to_string()),
        Just("[a, [b, [c]]]".to_string()),
        Just("'(?P<x'".to_string()),
        Just("\"0 0 * * 7\"".to_string()),
        Just("1h30x".to_string()),
        Just("9999999999999999999999".to_string()),
        Just("x".repeat(5000)),
        "\\PC{0,30}",
        "[a-z_]{1,10}: [a-z0-9 ]{0,10}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Duplicate),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => (any::<usize>(), 1u8..5).prop_map(|(a, n)| Edit::Indent(a, n)),
        1 => any::<usize>().prop_map(Edit::Dedent),
        3 => (any::<usize>(), yaml_token()).prop_map(|(a, t)| Edit::Value(a, t)),
        2 => (any::<usize>(), yaml_token()).prop_map(|(a, t)| Edit::Insert(a, t)),
        1 => (0u16..1000).prop_map(Edit::Cut),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Delete(i) if lines.len() > 1 => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Swap(a, b) => lines.swap(a % n, b % n),
            Edit::Indent(i, k) => {
                let l = &mut lines[i % n];
                *l = format!("{}{l}", " ".repeat(usize::from(*k)));
            }
            Edit::Dedent(i) => {
                let l = &mut lines[i % n];
                *l = l.trim_start().to_string();
            }
            Edit::Value(i, t) => {
                let l = &mut lines[i % n];
                *l = match l.find(": ") {
                    Some(at) => format!("{}: {t}", &l[..at]),
                    None => t.clone(),
                };
            }
            Edit::Insert(i, t) => lines.insert(i % (n + 1), t.clone()),
            Edit::Cut(f) => {
                let keep = (n * usize::from(*f) / 1000).max(1);
                lines.truncate(keep);
            }
            Edit::Delete(_) => {}
        }
    }
    lines.join("\n")
}

#[test]
fn real_configs_mutated_load_with_located_errors_and_never_panic() {
    let files = config_files();
    let strategy = (0..files.len(), prop::collection::vec(edit(), 1..5));
    fuzz(
        "config YAML (load + validate)",
        cases(CI_CASES * 2),
        strategy,
        |(i, edits)| {
            let (path, text, role) = &files[i];
            let text = apply(text, &edits);
            let lines = text.lines().count().max(1);
            let loaded = load(&[SourceFile {
                path: path.clone(),
                text: text.clone(),
                role: *role,
            }]);
            for d in &loaded.diagnostics {
                prop_assert!(
                    d.mark.line >= 1 && d.mark.col >= 1,
                    "{path}: no location: {d}"
                );
                prop_assert!(
                    d.mark.line as usize <= lines + 1,
                    "{path}: line {} of a {lines}-line file: {d}",
                    d.mark.line
                );
                prop_assert!(!d.message.is_empty(), "{path}: an empty message at {d}");
            }
            Ok(())
        },
    );
}

// Cron, Go durations and JUnit: in fuzz/scalars.rs.
#[path = "fuzz/scalars.rs"]
mod scalars;

// ---------------------------------------------------------------------------
// OWNERS and OWNERS_ALIASES

const OWNERS: &str = "approvers:\n- alice\n- bob\nreviewers:\n- carol\n- sig-leads\nlabels:\n- area/widgets\noptions:\n  no_parent_owners: true\n";
const OWNERS_FILTERS: &str = "filters:\n  \".*\":\n    approvers:\n    - alice\n  \"\\\\.go$\":\n    reviewers:\n    - bob\n    labels:\n    - lang/go\n";
const ALIASES: &str = "aliases:\n  sig-leads:\n  - dave\n  - Erin\n  empty: []\n";

#[test]
fn owners_files_mutated_parse_or_refuse_naming_the_file_and_never_panic() {
    let bases = [
        ("widgets/OWNERS", OWNERS, false),
        ("OWNERS", OWNERS_FILTERS, false),
        ("OWNERS_ALIASES", ALIASES, true),
    ];
    let strategy = (0..bases.len(), prop::collection::vec(edit(), 0..5));
    fuzz(
        "OWNERS and OWNERS_ALIASES",
        cases(CI_CASES * 2),
        strategy,
        |(i, edits)| {
            let (path, text, aliases) = bases[i];
            let text = apply(text, &edits);
            let refused = if aliases {
                skiff_core::plugins::owners::parse_aliases(path, &text).err()
            } else {
                skiff_core::plugins::owners::parse_owners(path, &text).err()
            };
            if let Some(e) = refused {
                prop_assert!(e.starts_with(&format!("{path}:")), "{e}");
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------
// In-repo config (`.prow.yaml`)

const CENTRAL: &str = "in_repo_config:\n  enabled:\n    acme/widgets: true\n  allowed_clusters:\n    acme/widgets: [build]\npresubmits:\n  acme/widgets:\n  - name: central-unit\n    always_run: true\n    spec: {containers: [{image: golang}]}\n";
const PROW_YAML: &str = r#"presets:
- labels: {preset-go: "true"}
  env:
  - {name: GOFLAGS, value: -mod=vendor}
presubmits:
- name: unit
  always_run: true
  cluster: build
  labels: {preset-go: "true"}
  spec:
    containers:
    - image: golang:1.22
      command: [go, test, ./...]
- name: docs
  run_if_changed: '^docs/'
  spec: {containers: [{image: alpine, command: [/bin/true]}]}
postsubmits:
- name: publish
  branches: [main]
  max_concurrency: 1
  spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

#[test]
fn prow_yaml_mutated_loads_with_located_errors_and_never_panics() {
    let central = load(&[SourceFile {
        path: "config.yaml".into(),
        text: CENTRAL.into(),
        role: FileRole::ProwConfig,
    }]);
    assert!(!central.has_errors(), "{:?}", central.diagnostics);
    let strategy = prop::collection::vec(edit(), 0..5);
    fuzz(
        ".prow.yaml (in-repo load + validate)",
        cases(CI_CASES * 2),
        strategy,
        |edits| {
            let text = apply(PROW_YAML, &edits);
            let lines = text.lines().count().max(1);
            let file = skiff_core::config::inrepo::RepoFile {
                path: ".prow.yaml".into(),
                text,
            };
            let loaded = skiff_core::config::inrepo::load(&central.config, "acme/widgets", &[file]);
            for d in loaded.errors() {
                prop_assert!(!d.message.is_empty(), "an empty message at {d}");
                if d.file == ".prow.yaml" {
                    prop_assert!(
                        d.mark.line >= 1 && d.mark.line as usize <= lines + 1,
                        "line {} of a {lines}-line file: {d}",
                        d.mark.line
                    );
                }
            }
            Ok(())
        },
    );
}
