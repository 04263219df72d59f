//! Plan one `pull_request` event against a config of 5,000 jobs in 200 repos:
//! 300 presubmits in the target repo (a quarter each always_run,
//! run_if_changed, skip_if_only_changed and comment-only, every change pattern
//! distinct), 500 changed files. Config load is excluded; the regex caches are
//! warm, as they are in a running trigger function.
//!
//! `cargo bench -p skiff-core --bench plan_event`

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::{Event, PrAction, PullRequest, PullRequestEvent, PushEvent, Repo};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, Facts, plan_event};
use skiff_core::prowjob::ProwJob;

const TARGET_JOBS: usize = 300;
const OTHER_REPOS: usize = 199;
const OTHER_JOBS: usize = 4_700 / OTHER_REPOS + 1;
const CHANGED_FILES: usize = 500;

fn job(s: &mut String, name: &str, trigger: &str) {
    let _ = write!(
        s,
        "  - name: {name}\n{trigger}    spec: {{containers: [{{image: golang, command: [make, test]}}]}}\n"
    );
}

fn config() -> Config {
    let mut s = String::from("presubmits:\n  acme/target:\n");
    for i in 0..TARGET_JOBS {
        let trigger = match i % 4 {
            0 => "    always_run: true\n".to_string(),
            1 => format!("    run_if_changed: '^(cmd|api)/component{i}/'\n"),
            2 => format!("    skip_if_only_changed: '^docs/section{i}/|\\.md$'\n"),
            _ => String::new(),
        };
        job(&mut s, &format!("pull-target-{i}"), &trigger);
    }
    let mut total = TARGET_JOBS;
    for r in 0..OTHER_REPOS {
        let _ = writeln!(s, "  acme/repo{r}:");
        for j in 0..OTHER_JOBS {
            if total == 5_000 {
                break;
            }
            job(
                &mut s,
                &format!("pull-repo{r}-{j}"),
                "    always_run: true\n",
            );
            total += 1;
        }
    }
    let loaded = load(&[SourceFile {
        path: "jobs.yaml".into(),
        text: s,
        role: FileRole::JobConfig,
    }]);
    assert!(!loaded.has_errors(), "{:?}", &loaded.diagnostics[..1]);
    let jobs = loaded.config.jobs.presubmit_count();
    assert_eq!(jobs, 5_000);
    loaded.config
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
    let config = config();
    let regexes = Regexes::default();
    // Paths that match few patterns, so most run_if_changed jobs scan all 500.
    let files: Vec<String> = (0..CHANGED_FILES)
        .map(|i| format!("pkg/module{}/file{i}.go", i % 37))
        .collect();
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
    let ctx = Context {
        config: &config,
        regexes: &regexes,
        delivery: "delivery-1",
        now: "2026-11-23T10:00:00Z".parse().unwrap(),
        explain: false,
    };
    let mut facts = BenchFacts { files };
    let warm = futures_executor::block_on(plan_event(&ctx, &event, &mut facts)).unwrap();
    // always_run (75) + skip_if_only_changed (75: no .md or docs files).
    assert_eq!(warm.jobs.len(), 150);
    c.bench_function("plan_pull_request_opened_300_jobs_500_files", |b| {
        b.iter(|| {
            black_box(futures_executor::block_on(plan_event(
                &ctx,
                black_box(&event),
                &mut facts,
            )))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
