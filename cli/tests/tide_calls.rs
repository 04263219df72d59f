//! What one tide sync costs GitHub's API for a pool of 20 pull requests,
//! idle and active: the real REST adapter (`skiff_scm::GitHubScm`, with its
//! conditional GETs) against the fake GitHub API (HTTP level: no real GitHub
//! can run here), which answers `If-None-Match` with a 304 as GitHub does
//! (GitHub does not count those against the rate limit). The README's
//! figures come from this test's output (`--nocapture`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::plan::matchers::Regexes;
use skiff_scm::{GitHubOptions, GitHubScm};
use skiff_testkit::{MemoryQueue, MemoryStore, T0, clock_at};
use skiff_tests::github::{GitHub, Shared, example, fake_github, http, lock};

const PULLS: i64 = 20;

const CONFIG: &str = r#"
tide:
  queries:
  - repos: [acme/widgets]
    labels: [lgtm, approved]
    missingLabels: [do-not-merge/hold]
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine}]}
"#;

fn config() -> Config {
    let file = |path: &str, text: &str, role| SourceFile {
        path: path.into(),
        text: text.into(),
        role,
    };
    let loaded = load(&[
        file("config.yaml", CONFIG, FileRole::ProwConfig),
        file("jobs.yaml", JOBS, FileRole::JobConfig),
    ]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

fn setup(ready: bool) -> GitHub {
    let mut gh = GitHub::default();
    for n in 1..=PULLS {
        let mut pr = example("pull_request", Some("opened"))["pull_request"].clone();
        pr["number"] = json!(n);
        pr["state"] = json!("open");
        pr["draft"] = json!(false);
        pr["mergeable"] = json!(true);
        pr["head"]["sha"] = json!(format!("head-{n}"));
        pr["base"]["ref"] = json!("main");
        let key = format!("acme/widgets#{n}");
        gh.pulls.insert(key.clone(), pr);
        let labels = if ready {
            vec!["lgtm".into(), "approved".into()]
        } else {
            Vec::new()
        };
        gh.labels.insert(key, labels);
    }
    gh.branch_heads
        .insert("acme/widgets:main".into(), "base-1".into());
    gh
}

struct Cost {
    requests: usize,
    not_modified: usize,
    writes: usize,
}

impl Cost {
    /// Requests that count against the rate limit (304s do not).
    fn counted(&self) -> usize {
        self.requests - self.not_modified
    }
}

async fn one_sync(gh: &Shared, scm: &GitHubScm, world: &World) -> Cost {
    // The fake keeps statuses as the requests that wrote them: count from
    // here rather than forget them.
    let from = lock(gh).seen.len();
    let deps = skiff_tide::TideDeps {
        config: &world.config,
        store: &world.store,
        scm,
        dispatch: &world.dispatch,
        clock: world.clock.as_ref(),
        regexes: &world.regexes,
        owner: "calls",
        base_moved_pause: Duration::ZERO,
    };
    let report = skiff_tide::sync(&deps).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let g = lock(gh);
    let seen = &g.seen[from..];
    Cost {
        requests: seen.len(),
        not_modified: seen.iter().filter(|s| s.status == 304).count(),
        writes: seen.iter().filter(|s| s.is_write()).count(),
    }
}

struct World {
    config: Config,
    clock: Arc<skiff_testkit::ManualClock>,
    store: MemoryStore,
    dispatch: MemoryQueue,
    regexes: Regexes,
}

fn world() -> World {
    let clock = clock_at(T0);
    World {
        config: config(),
        store: MemoryStore::new(clock.clone()),
        dispatch: MemoryQueue::new(clock.clone()),
        regexes: Regexes::default(),
        clock,
    }
}

async fn client(url: &str) -> GitHubScm {
    let mut options = GitHubOptions::new(url, "ghp_tide");
    options.bot_login = Some("skiff-bot".into());
    GitHubScm::connect(options).await.expect("the client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pool_of_twenty_costs_almost_nothing_and_an_active_one_a_few_calls_a_pull() {
    // Idle: nobody has reviewed anything; every sync reads the same answers.
    let (gh, url) = fake_github(setup(false));
    let scm = client(&url).await;
    let w = world();
    let first = one_sync(&gh, &scm, &w).await;
    // The second reads the statuses the first wrote in full, once.
    let second = one_sync(&gh, &scm, &w).await;
    let idle = one_sync(&gh, &scm, &w).await;
    eprintln!(
        "tide, pool of {PULLS} pulls, idle: first sync {} requests ({} writes: each pull's tide status), second {} ({} counted), then {} requests a sync, {} of them 304 (counted against the rate limit: {}), {} writes",
        first.requests,
        first.writes,
        second.requests,
        second.counted(),
        idle.requests,
        idle.not_modified,
        idle.counted(),
        idle.writes
    );
    assert_eq!(second.writes, 0, "an unchanged status is not written again");
    assert_eq!(
        first.writes, PULLS as usize,
        "one tide status per pull, once"
    );
    assert_eq!(idle.writes, 0, "an unchanged status is not written again");
    // The pull list, the branch, and each pull's combined status and check runs.
    assert_eq!(idle.requests, 2 + 2 * PULLS as usize);
    assert_eq!(idle.counted(), 0, "every read of an idle pool is a 304");

    // Active: every pull ready and passed at the current base.
    let (gh, url) = fake_github(setup(true));
    for n in 1..=PULLS {
        let body = json!({"state": "success", "context": "unit", "description": "Job succeeded. BaseSHA:base-1"});
        let (status, _) = http(
            "POST",
            &format!("{url}/repos/acme/widgets/statuses/head-{n}"),
            &[("Authorization", "token t".to_string())],
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 201);
    }
    let scm = client(&url).await;
    let w = world();
    let merge = one_sync(&gh, &scm, &w).await;
    let after = one_sync(&gh, &scm, &w).await;
    eprintln!(
        "tide, pool of {PULLS} pulls, active: the merging sync {} requests ({} counted, {} writes: {PULLS} tide statuses and the merge); the next (base moved: a batch of the rest starts) {} requests ({} counted, {} writes)",
        merge.requests,
        merge.counted(),
        merge.writes,
        after.requests,
        after.counted(),
        after.writes
    );
    assert_eq!(lock(&gh).merges().len(), 1);
    assert_eq!(merge.writes, PULLS as usize + 1);
    // The list and the branch; each of the 19 left: its status and check
    // runs read, its tide status rewritten (retesting at the new base).
    let left = PULLS as usize - 1;
    assert_eq!(after.requests, 2 + 3 * left);
    assert_eq!(after.writes, left);
}
