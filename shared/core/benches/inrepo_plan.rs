//! The trigger's work for one `pull_request` event of a repo with a 200-job
//! `.prow.yaml` (a quarter each always_run, run_if_changed,
//! skip_if_only_changed and comment-only; every fifth job takes a central
//! preset) on top of 20 central presubmits: parse + default + validate the
//! file against the central config, build the event's config, compile its
//! patterns from cold (the trigger does, per event) and plan. The GitHub
//! reads are not included: `tests/tests/inrepo_config.rs` counts them.
//!
//! `cargo bench -p skiff-core --bench inrepo_plan`

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use skiff_core::config::inrepo::{self, RepoFile};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::{Event, PrAction, PullRequest, PullRequestEvent, PushEvent, Repo};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, Facts, plan_event};
use skiff_core::prowjob::ProwJob;

const IN_REPO_JOBS: usize = 200;
const REPO: &str = "acme/target";

fn central() -> Config {
    let mut s = String::from(
        "in_repo_config:\n  enabled: {acme: true}\npresets:\n- labels: {preset-aws: \"true\"}\n  env: [{name: AWS_REGION, value: us-east-1}]\npresubmits:\n  acme/target:\n",
    );
    for i in 0..20 {
        let _ = write!(
            s,
            "  - name: central-{i}\n    always_run: true\n    spec: {{containers: [{{image: golang}}]}}\n"
        );
    }
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: s,
        role: FileRole::ProwConfig,
    }]);
    assert!(!loaded.has_errors(), "{:?}", &loaded.diagnostics);
    loaded.config
}

fn prow_yaml() -> Vec<RepoFile> {
    let mut s = String::from("presubmits:\n");
    for i in 0..IN_REPO_JOBS {
        let trigger = match i % 4 {
            0 => "  always_run: true\n".to_string(),
            1 => format!("  run_if_changed: '^(cmd|api)/component{i}/'\n"),
            2 => format!("  skip_if_only_changed: '^docs/section{i}/|\\.md$'\n"),
            _ => String::new(),
        };
        let labels = if i % 5 == 0 {
            "  labels: {preset-aws: \"true\"}\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "- name: in-repo-{i}\n{trigger}{labels}  spec: {{containers: [{{image: golang, command: [make, test]}}]}}\n"
        );
    }
    vec![RepoFile {
        path: ".prow.yaml".into(),
        text: s,
    }]
}

struct BenchFacts {
    files: Vec<String>,
}

#[async_trait::async_trait]
impl Facts for BenchFacts {
    async fn changed_files(&mut self, _: &Repo, _: i64) -> Result<Vec<String>, FactError> {
        Ok(self.files.clone())
    }
    async fn is_member(&mut self, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(true)
    }
    async fn is_collaborator(&mut self, _: &str, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(false)
    }
    fn is_bot(&self, _: &str) -> bool {
        false
    }
    async fn pull_request(&mut self, _: &Repo, _: i64) -> Result<PullRequest, FactError> {
        Err(FactError {
            fact: "pull request",
            message: "not needed".into(),
            retryable: false,
        })
    }
    async fn pr_jobs(&mut self, _: &Repo, _: i64) -> Result<Vec<ProwJob>, FactError> {
        Ok(vec![])
    }
    async fn base_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Ok("0a1b2c3d".into())
    }
    async fn comment_body(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Ok(String::new())
    }
    async fn push_changes(&mut self, _: &PushEvent) -> Result<Vec<String>, FactError> {
        Ok(vec![])
    }
}

fn bench(c: &mut Criterion) {
    let config = central();
    let files = prow_yaml();
    let event = Event::PullRequest(PullRequestEvent {
        action: PrAction::Opened,
        pr: PullRequest {
            repo: Repo {
                org: "acme".into(),
                repo: "target".into(),
                html_url: "https://github.com/acme/target".into(),
            },
            number: 42,
            title: "A change".into(),
            author: "alice".into(),
            head_sha: "9f8e7d6c".into(),
            base_ref: "main".into(),
            state: "open".into(),
            ..PullRequest::default()
        },
        sender: "alice".into(),
    });
    let changed: Vec<String> = (0..50).map(|i| format!("pkg/m{i}/f.go")).collect();
    let once = || {
        let loaded = inrepo::load(&config, REPO, &files);
        assert!(!loaded.has_errors());
        let merged = inrepo::merged(&config, REPO, &loaded.jobs);
        let regexes = Regexes::default();
        let ctx = Context {
            config: &merged,
            regexes: &regexes,
            delivery: "delivery-1",
            now: "2026-11-23T10:00:00Z".parse().unwrap(),
            explain: false,
        };
        let mut facts = BenchFacts {
            files: changed.clone(),
        };
        let plan = futures_executor::block_on(plan_event(&ctx, &event, &mut facts)).unwrap();
        plan.jobs.len()
    };
    // 20 central + 50 always_run + 50 skip_if_only_changed.
    assert_eq!(once(), 120);
    c.bench_function("inrepo_load_200_jobs", |b| {
        b.iter(|| black_box(inrepo::load(&config, REPO, black_box(&files))))
    });
    c.bench_function("inrepo_load_merge_and_plan_pull_request_200_jobs", |b| {
        b.iter(|| black_box(once()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
