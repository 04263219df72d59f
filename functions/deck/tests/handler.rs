//! The deck handler over the real embedded adapters (SQLite job store, logs
//! on disk), called as both front ends call it: a request in, a response
//! out. The browser test (cli/tests/deck_browser.rs) drives the same pages
//! through `skiff dev` in Chromium.

use std::io::Read;

use jiff::Timestamp;
use skiff_core::config::{Config, FileRole, SourceFile};
use skiff_core::ports::{JobStore, LogStore, PortError};
use skiff_core::prowjob::{ProwJobState, ProwJobType};
use skiff_deck::fixtures::{self, pull_of, repo_of, sha_of, state_of, type_of};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::{ManualClock, MemoryStore};
use skiff_local::store::SqliteStore;

const NOW: &str = "2026-12-04T12:00:00Z";

const CONFIG: &str = r#"
deck:
  hidden_repos: [secret/vault]
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-unit
    always_run: true
    spec: {containers: [{image: golang, command: [make, unit]}]}
  - name: pull-widgets-e2e
    run_if_changed: '^e2e/'
    optional: true
    branches: ['^main$']
    spec: {containers: [{image: golang, command: [make, e2e]}]}
postsubmits:
  acme/widgets:
  - name: post-widgets-publish
    spec: {containers: [{image: golang, command: [make, publish]}]}
periodics:
- name: ci-nightly-0
  cron: "0 3 * * *"
  spec: {containers: [{image: golang, command: [make, nightly]}]}
"#;

fn config() -> Config {
    let file = |path: &str, text: &str, role| SourceFile {
        path: path.into(),
        text: text.into(),
        role,
    };
    let loaded = skiff_core::config::load(&[
        file("config.yaml", CONFIG, FileRole::ProwConfig),
        file("jobs.yaml", JOBS, FileRole::JobConfig),
    ]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

struct Deck {
    store: SqliteStore,
    logs: FsLogStore,
    clock: ManualClock,
    config: Config,
    options: DeckOptions,
    _dir: tempfile::TempDir,
}

impl Deck {
    /// `n` sample jobs with their logs and metadata.
    async fn with_jobs(n: usize) -> Deck {
        let dir = tempfile::tempdir().unwrap();
        let now: Timestamp = NOW.parse().unwrap();
        let deck = Deck {
            store: SqliteStore::open_in_memory().unwrap(),
            logs: FsLogStore::new(dir.path().join("logs")),
            clock: ManualClock::new(now),
            config: config(),
            options: DeckOptions::default(),
            _dir: dir,
        };
        for (i, j) in fixtures::jobs(n, now).into_iter().enumerate() {
            deck.store.create(&j).await.unwrap();
            for (path, name, bytes) in fixtures::artifacts_of(i, &j) {
                deck.logs.put(&path, name, &bytes).await.unwrap();
            }
        }
        deck
    }

    async fn send(&self, req: DeckRequest) -> DeckResponse {
        let deps = Deps {
            store: &self.store,
            logs: &self.logs,
            config: Some(&self.config),
            clock: &self.clock,
            clusters: None,
            options: &self.options,
            operator: None,
            viewer: None,
        };
        skiff_deck::handle(&req, &deps).await
    }

    async fn get(&self, target: &str) -> DeckResponse {
        self.send(DeckRequest::get(target)).await
    }

    /// A 200 page's HTML.
    async fn page(&self, target: &str) -> String {
        let r = self.get(target).await;
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        r.text()
    }
}

/// The list row (`<tr …>…</tr>`) of job `id`.
fn row_of<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("<a href=\"/jobs/{id}\">"))
        .unwrap_or_else(|| panic!("no row for {id}"));
    let start = html[..at].rfind("<tr").unwrap_or(0);
    let end = html[at..].find("</tr>").map_or(html.len(), |e| at + e);
    &html[start..end]
}

/// The job ids of the list page's rows, in order.
fn row_ids(html: &str) -> Vec<String> {
    let body = html.split("<tbody>").nth(1).unwrap_or("");
    body.split("<td><a href=\"/jobs/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn the_list_shows_every_job_newest_first() {
    let d = Deck::with_jobs(150).await;
    let html = d.page("/").await;
    let want: Vec<String> = (0..150).map(fixtures::id_of).collect();
    assert_eq!(row_ids(&html), want);
    assert!(html.contains("Showing 1–150 of 150 jobs"), "{html}");
    // State colours come from the row's class; the state is also its text.
    assert!(html.contains("<tr class=\"failure\"><td>failure</td>"));
    // Durations: start to completion, or to now while the job runs (the
    // samples run 30 s + i % 300 s; the three newest are still running).
    for (i, want) in [(1, "1m5s"), (5, "35s"), (100, "2m10s"), (149, "2m59s")] {
        let row = row_of(&html, &fixtures::id_of(i));
        assert!(row.contains(&format!("<td>{want}</td>")), "job {i}: {row}");
    }
    assert!(
        row_of(&html, &fixtures::id_of(0)).contains("<td>12-04 11:59:55</td>"),
        "the start time, UTC"
    );
    // Links to the job page, the raw log, the PR and the commit.
    let j = fixtures::job(5, 150, NOW.parse().unwrap());
    let pull = &j.spec.refs.as_ref().unwrap().pulls[0];
    assert!(html.contains(&format!(
        "href=\"/log?job={}&amp;id={}\"",
        j.spec.job, j.status.build_id
    )));
    assert!(html.contains(&format!("href=\"{}\">#{}</a>", pull.link, pull.number)));
    assert!(html.contains(&format!(
        "href=\"{}\">{}</a>",
        pull.commit_link,
        &pull.sha[..7]
    )));
}

#[tokio::test]
async fn filters_select_exactly_the_matching_jobs() {
    let d = Deck::with_jobs(200).await;
    let want = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..200).filter(|&i| keep(i)).map(fixtures::id_of).collect()
    };
    let html = d.page("/?state=failure").await;
    assert_eq!(
        row_ids(&html),
        want(&|i| state_of(i) == ProwJobState::Failure)
    );
    let html = d.page("/?repo=acme%2Fwidgets&state=failure").await;
    let expected =
        want(&|i| state_of(i) == ProwJobState::Failure && repo_of(i) == Some(("acme", "widgets")));
    assert!(!expected.is_empty());
    assert_eq!(row_ids(&html), expected);
    let html = d.page("/?type=periodic&job=ci-nightly-*").await;
    assert_eq!(
        row_ids(&html),
        want(&|i| type_of(i) == ProwJobType::Periodic)
    );
    let html = d.page("/?repo=acme/gadgets&pull=100").await;
    assert_eq!(
        row_ids(&html),
        want(&|i| type_of(i) == ProwJobType::Presubmit
            && repo_of(i) == Some(("acme", "gadgets"))
            && pull_of(i) == 100)
    );
    let html = d.page("/?cluster=gpu&author=ALICE").await;
    assert!(row_ids(&html).iter().all(|id| {
        let i = usize::from_str_radix(&id[..8], 16).unwrap();
        i % 7 == 0 && type_of(i) == ProwJobType::Presubmit && pull_of(i) % 4 == 0
    }));
    // The form shows the filter it applied.
    let html = d.page("/?state=failure&repo=acme%2Fwidgets").await;
    assert!(
        html.contains("<option value=\"failure\" selected>failure</option>"),
        "{html}"
    );
    assert!(html.contains("value=\"acme/widgets\""));
}

#[tokio::test]
async fn a_bad_filter_is_a_400_page_naming_the_parameter() {
    let d = Deck::with_jobs(3).await;
    for (target, param) in [
        (
            "/?state=sucess",
            "state=&quot;sucess&quot;: expected one of",
        ),
        ("/?type=nightly", "type=&quot;nightly&quot;"),
        ("/?pull=abc", "pull=&quot;abc&quot;"),
        ("/?limit=99999", "limit=&quot;99999&quot;: at most 1000"),
        ("/?job=%3Cscript%3E", "job=&quot;&lt;script&gt;&quot;"),
    ] {
        let r = d.get(target).await;
        assert_eq!(r.status, 400, "{target}");
        let html = r.text();
        assert!(html.contains(param), "{target}: {html}");
        assert!(!html.contains("<script>"), "{target}: escaped");
        assert!(html.contains("<form"), "{target}: the form to fix it");
    }
}

#[tokio::test]
async fn long_lists_page_and_keep_their_filter() {
    let d = Deck::with_jobs(250).await;
    let html = d.page("/").await;
    assert_eq!(row_ids(&html).len(), 200);
    assert!(html.contains("Page 1 of 2"));
    assert!(html.contains("href=\"/?page=2\""));
    let html = d.page("/?page=2").await;
    assert_eq!(
        row_ids(&html),
        (200..250).map(fixtures::id_of).collect::<Vec<_>>()
    );
    let html = d.page("/?limit=100&type=presubmit").await;
    assert_eq!(row_ids(&html).len(), 100);
    assert!(
        html.contains("href=\"/?type=presubmit&amp;limit=100&amp;page=2\""),
        "{html}"
    );
    // Past the end: an empty page, not an error.
    let html = d.page("/?page=99").await;
    assert!(html.contains("No jobs match."));
}

#[tokio::test]
async fn the_job_page_shows_the_log_with_error_lines_highlighted() {
    let d = Deck::with_jobs(10).await;
    let j = fixtures::job(5, 10, NOW.parse().unwrap());
    assert_eq!(j.status.state, Some(ProwJobState::Failure));
    let html = d.page(&format!("/jobs/{}", j.metadata.name)).await;
    // Every line has an anchor; the error lines are marked.
    assert!(
        html.contains("<div id=\"L1\"><a href=\"#L1\">1</a>step 1: building"),
        "{html}"
    );
    assert!(html.contains(
        "<div id=\"L42\" class=\"hl\"><a href=\"#L42\">42</a><mark>ERROR:</mark> widgets_test.go:42"
    ));
    assert!(html.contains(
        "<div id=\"L41\" class=\"hl\"><a href=\"#L41\">41</a>--- <mark>FAIL</mark>: TestWidgets"
    ));
    assert!(html.contains("2 highlighted lines: <a href=\"#L41\">41</a>, <a href=\"#L42\">42</a>"));
    // Refs with links, the timeline, metadata, the rerun command.
    let refs = j.spec.refs.as_ref().unwrap();
    assert!(
        html.contains(&format!("href=\"{}\">acme/gadgets</a>", refs.repo_link)),
        "{html}"
    );
    // The timeline: triggered → pending → finished, in that order.
    let triggered = html.find("<li>Triggered 2026-12-04 11:54:55</li>");
    let pending =
        html.find("<li>Pending 2026-12-04 11:54:57<span class=\"muted\"> (after 2s)</span></li>");
    let finished = html
        .find("<li>Finished 2026-12-04 11:55:30: <span class=\"badge st failure\">failure</span>");
    assert!(
        triggered.is_some() && triggered < pending && pending < finished,
        "{triggered:?} {pending:?} {finished:?}: {html}"
    );
    // The spec summary.
    assert!(html.contains("<dt>Type</dt><dd>presubmit</dd>"));
    assert!(
        html.contains("<dt>Container</dt><dd><code>golang:1.25</code> <code>make e2e</code></dd>"),
        "{html}"
    );
    assert!(html.contains("<code>started.json</code>"));
    assert!(html.contains("&quot;result&quot;: &quot;failure&quot;"));
    assert!(html.contains(&format!("<code>/test {}</code>", j.spec.job)));
    assert!(html.contains(&format!(
        "href=\"/pr-history?org=acme&amp;repo=gadgets&amp;pr={}\"",
        pull_of(5)
    )));
    // The URL status.url points at resolves to the same page.
    let path = skiff_core::prowjob::artifacts::artifact_path(&j).unwrap();
    let via_view = d.page(&format!("/view/s3/bucket/{path}")).await;
    assert!(via_view.contains("<mark>ERROR:</mark>"));
    assert_eq!(d.get("/jobs/nope").await.status, 404);
    assert_eq!(
        d.get(&format!("/view/logs/{}/1", j.spec.job)).await.status,
        404
    );
}

#[tokio::test]
async fn a_running_job_has_a_timeline_and_no_log_yet() {
    let d = Deck::with_jobs(3).await;
    let html = d.page(&format!("/jobs/{}", fixtures::id_of(0))).await;
    // The newest sample started 5 s before the clock's now.
    assert!(html.contains("<li>Running for 5s</li>"), "{html}");
    assert!(html.contains("<p>No log yet.</p>"));
    assert!(html.contains("<code>started.json</code>"));
    assert!(!html.contains("<code>finished.json</code>"), "not finished");
    assert!(
        html.contains("src=\"/static/refresh-"),
        "running pages refresh"
    );
    let done = d.page(&format!("/jobs/{}", fixtures::id_of(2))).await;
    assert!(done.contains("src=\"/static/refresh-"), "still running");
    // A record with no stored metadata: the record's own started.json.
    let mut bare = fixtures::job(7, 8, NOW.parse().unwrap());
    bare.metadata.name = "bare".into();
    d.store.create(&bare).await.unwrap();
    let html = d.page("/jobs/bare").await;
    assert!(
        html.contains("Not stored yet: what the job record says."),
        "{html}"
    );
    assert!(html.contains("No log was stored for this job."));
    assert!(
        !html.contains("src=\"/static/refresh-"),
        "finished pages do not refresh"
    );
}

#[tokio::test]
async fn everything_shown_is_escaped() {
    let d = Deck::with_jobs(0).await;
    let mut j = fixtures::job(4, 5, NOW.parse().unwrap());
    j.metadata.name = "evil".into();
    j.status.description = "<script>alert(1)</script>".into();
    j.spec.refs.as_mut().unwrap().pulls[0].title = "\"><img src=x onerror=alert(1)>".into();
    d.store.create(&j).await.unwrap();
    for target in ["/", "/jobs/evil"] {
        let html = d.page(target).await;
        assert!(!html.contains("<script>alert"), "{target}");
        assert!(!html.contains("<img src=x"), "{target}");
    }
    assert!(
        d.page("/jobs/evil")
            .await
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

#[tokio::test]
async fn the_pr_page_groups_runs_by_commit_newest_first() {
    let d = Deck::with_jobs(200).await;
    let html = d.page("/pr-history?org=acme&repo=widgets&pr=100").await;
    let runs: Vec<usize> = (0..200)
        .filter(|&i| {
            type_of(i) == ProwJobType::Presubmit
                && repo_of(i) == Some(("acme", "widgets"))
                && pull_of(i) == 100
        })
        .collect();
    let newer = sha_of(runs[0]);
    let older = runs
        .iter()
        .map(|&i| sha_of(i))
        .find(|s| *s != newer)
        .expect("two commits");
    let at_newer = html.find(&format!("Commit <a href=\"https://github.com/acme/widgets/pull/100/commits/{newer}\">{}</a> <span class=\"muted\">(latest)", &newer[..7]));
    let at_older = html.find(&format!(
        "Commit <a href=\"https://github.com/acme/widgets/pull/100/commits/{older}\">{}</a>",
        &older[..7]
    ));
    assert!(
        at_newer.is_some() && at_older.is_some() && at_newer < at_older,
        "{html}"
    );
    assert_eq!(html.matches("<section class=\"commit\"").count(), 2);
    for &i in &runs {
        assert!(
            html.contains(&format!("/jobs/{}", fixtures::id_of(i))),
            "run {i}"
        );
    }
    let r = d.get("/pr-history?org=acme&repo=widgets&pr=x").await;
    assert_eq!(r.status, 400);
    assert_eq!(d.get("/pr-history?org=acme").await.status, 400);
}

#[tokio::test]
async fn job_history_shows_streaks() {
    let d = Deck::with_jobs(0).await;
    let now: Timestamp = NOW.parse().unwrap();
    // Newest first: fail, fail, aborted, pass, pass, pass, fail.
    use ProwJobState::*;
    let states = [
        Failure, Failure, Aborted, Success, Success, Success, Failure,
    ];
    for (i, s) in states.iter().enumerate() {
        let mut j = fixtures::job(9, 10, now);
        j.metadata.name = format!("run-{i}");
        j.status.build_id = format!("{}", 100 - i);
        j.status.state = Some(*s);
        j.status.start_time = Some(now - jiff::SignedDuration::from_mins(i as i64 * 10));
        d.store.create(&j).await.unwrap();
    }
    let html = d.page("/job-history/logs/ci-nightly-0").await;
    assert!(
        html.contains("<dd id=\"current-streak\">Failed 2 in a row</dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>Longest passing streak</dt><dd>3</dd>"));
    assert!(html.contains("<dt>Pass rate</dt><dd>50%</dd>"));
    let groups: Vec<&str> = html
        .split("scope=\"rowgroup\">")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .collect();
    assert_eq!(
        groups,
        [
            "Failed 2 in a row",
            "Passed 3 in a row",
            "Failed 1 in a row"
        ]
    );
    // Prow's bucket-style path works too.
    assert!(
        d.page("/job-history/s3/bucket/logs/ci-nightly-0")
            .await
            .contains("Failed 2 in a row")
    );
}

#[tokio::test]
async fn the_badge_is_prows_svg_with_the_latest_results() {
    let d = Deck::with_jobs(60).await;
    let r = d.get("/badge.svg?jobs=pull-widgets-*").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert_eq!(
        r.header("cache-control"),
        Some("no-cache, no-store, must-revalidate")
    );
    // Latest runs of the widgets presubmits: compute them from the fixtures.
    let now: Timestamp = NOW.parse().unwrap();
    let jobs = fixtures::jobs(60, now);
    let mut seen = std::collections::BTreeMap::new();
    for j in &jobs {
        if j.spec.job.starts_with("pull-widgets-") {
            seen.entry(j.spec.job.clone()).or_insert(j.status.state);
        }
    }
    let failing: Vec<&String> = seen
        .iter()
        .filter(|(_, s)| **s == Some(ProwJobState::Failure))
        .map(|(n, _)| n)
        .collect();
    let svg = r.text();
    if failing.is_empty() {
        assert!(svg.contains(">passing</text>"), "{svg}");
    } else {
        let want: Vec<&str> = failing.iter().map(|s| s.as_str()).collect();
        assert!(
            svg.contains(&format!(">failing {}</text>", want.join(", "))),
            "{svg}"
        );
    }
    let exact = d.get("/badge.svg?jobs=ci-nightly-0").await.text();
    assert!(exact.contains("<svg"));
    assert!(
        d.get("/badge.svg?jobs=nothing-like-this")
            .await
            .text()
            .contains(">no results</text>")
    );
    let r = d.get("/badge.svg").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "missing jobs query parameter\n")
    );
}

#[tokio::test]
async fn command_help_lists_commands_and_each_repos_jobs() {
    let d = Deck::with_jobs(0).await;
    let html = d.page("/command-help").await;
    assert!(html.contains("<code>/retest</code>"));
    assert!(html.contains("<code>/ok-to-test</code>"));
    assert!(html.contains("<h3 id=\"r-acme/widgets\">acme/widgets</h3>"));
    assert!(html.contains("<code>/test pull-widgets-unit</code>"));
    assert!(html.contains("when files match <code>^e2e/</code>"));
    assert!(html.contains("only ^main$"));
    assert!(html.contains("cron <code>0 3 * * *</code>"));
    // A browser asking for the page is sent here, as by Prow's deck.
    let r = d
        .send(DeckRequest {
            headers: vec![("Accept".into(), "text/html".into())],
            ..DeckRequest::get("/plugin-help")
        })
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("/command-help"))
    );
}

#[tokio::test]
async fn json_endpoints_keep_prows_shapes() {
    let d = Deck::with_jobs(5).await;
    let r = d.get(&format!("/api/jobs/{}", fixtures::id_of(2))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["metadata"]["name"], fixtures::id_of(2));
    assert_eq!(v["status"]["state"], "pending");
    assert_eq!(d.get("/api/jobs/missing").await.status, 404);

    let r = d
        .get("/prowjobs.js?omit=pod_spec,labels&repo=widgets")
        .await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|j| j["spec"]["refs"]["repo"] == "widgets"));
    assert_eq!(
        items[0]["spec"]["pod_spec"]["containers"],
        serde_json::json!([{"name": ""}])
    );
    // Prow's no-caching headers, and its script form for `var=`.
    assert_eq!(
        r.header("cache-control"),
        Some("no-cache, no-store, must-revalidate")
    );
    let r = d.get("/prowjobs.js?var=allBuilds&omit=pod_spec").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/javascript"));
    let script = r.text();
    let json = script
        .strip_prefix("var allBuilds = ")
        .and_then(|s| s.strip_suffix(';'))
        .unwrap_or_else(|| panic!("not `var allBuilds = …;`: {script}"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(5));
    let r = d.get("/prowjobs.js?var=x%3Balert(1)").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.text()
            .contains("var=\\\"x;alert(1)\\\": expected a JavaScript identifier"),
        "names the parameter: {}",
        r.text()
    );
}

#[tokio::test]
async fn hidden_jobs_and_repos_stay_hidden() {
    let d = Deck::with_jobs(0).await;
    let now: Timestamp = NOW.parse().unwrap();
    let mut secret = fixtures::job(1, 2, now);
    secret.metadata.name = "secret".into();
    secret.spec.refs.as_mut().unwrap().org = "secret".into();
    secret.spec.refs.as_mut().unwrap().repo = "vault".into();
    let mut hidden = fixtures::job(2, 3, now);
    hidden.metadata.name = "hidden".into();
    hidden.spec.hidden = true;
    d.store.create(&secret).await.unwrap();
    d.store.create(&hidden).await.unwrap();
    assert!(row_ids(&d.page("/").await).is_empty());
    assert_eq!(d.get("/jobs/secret").await.status, 404);
    assert_eq!(d.get("/jobs/hidden").await.status, 404);
    let v: serde_json::Value = serde_json::from_slice(&d.get("/prowjobs.js").await.body).unwrap();
    assert_eq!(v["items"], serde_json::json!([]));
}

#[tokio::test]
async fn the_raw_log_is_prows_log_endpoint() {
    let d = Deck::with_jobs(10).await;
    let j = fixtures::job(5, 10, NOW.parse().unwrap());
    let r = d
        .get(&format!("/log?job={}&id={}", j.spec.job, j.status.build_id))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), fixtures::log_of(5));
    let r = d.get("/log?job=x").await;
    assert_eq!(r.status, 400);
    let r = d.get(&format!("/log?job={}&id=1", j.spec.job)).await;
    assert_eq!(r.status, 404);
    // A log longer than the limit is sent as its tail, and says so.
    let mut d = d;
    d.options.log_raw_bytes = 100;
    let text = d
        .get(&format!("/log?job={}&id={}", j.spec.job, j.status.build_id))
        .await
        .text();
    assert!(text.starts_with("[the first "), "{text}");
    assert!(text.ends_with("done\n"));
}

#[tokio::test]
async fn responses_are_compressed_cached_and_read_only_as_asked() {
    let d = Deck::with_jobs(50).await;
    let plain = d.get("/").await;
    assert_eq!(plain.header("content-encoding"), None);
    let gz = d
        .send(DeckRequest {
            headers: vec![("Accept-Encoding".into(), "gzip, br".into())],
            ..DeckRequest::get("/")
        })
        .await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.text());
    assert!(gz.body.len() * 4 < plain.body.len(), "compresses well");

    let head = d
        .send(DeckRequest {
            method: "HEAD".into(),
            ..DeckRequest::get("/")
        })
        .await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    let post = d
        .send(DeckRequest {
            method: "POST".into(),
            ..DeckRequest::get("/")
        })
        .await;
    assert_eq!(post.status, 405);

    let html = plain.text();
    let css_path = html
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let css = d.get(css_path).await;
    assert_eq!(css.status, 200);
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(d.get("/static/deck-00000000.css").await.status, 404);
    assert!(
        plain
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(d.get("/nowhere").await.status, 404);
}

#[tokio::test]
async fn the_list_page_over_10000_jobs_weighs_under_100_kb() {
    let now: Timestamp = NOW.parse().unwrap();
    let jobs = fixtures::jobs(10_000, now);
    let html = skiff_deck::render_list("", &jobs, now).unwrap();
    let weight = html.len() + skiff_deck::assets::CSS.len();
    assert!(weight < 100 * 1024, "{weight} bytes");
    assert_eq!(row_ids(&html).len(), 200);
    assert!(
        html.contains("Showing 1–200 of 10000 jobs"),
        "all are counted"
    );
    let err = skiff_deck::render_list("state=nope", &jobs, now).unwrap_err();
    assert_eq!(err.param, "state");
}

#[tokio::test]
async fn a_store_outage_is_a_503_page_not_a_panic() {
    let d = Deck::with_jobs(0).await;
    // A store that is down.
    let down = MemoryStore::default();
    down.faults().down(PortError::Unavailable("down".into()));
    let deps = Deps {
        store: &down,
        logs: &d.logs,
        config: None,
        clock: &d.clock,
        clusters: None,
        options: &d.options,
        operator: None,
        viewer: None,
    };
    for target in [
        "/",
        "/jobs/x",
        "/pr-history?org=a&repo=b&pr=1",
        "/job-history/logs/x",
        "/badge.svg?jobs=x",
        "/prowjobs.js",
        "/log?job=a&id=1",
    ] {
        let r = skiff_deck::handle(&DeckRequest::get(target), &deps).await;
        assert_eq!(r.status, 503, "{target}: {}", r.text());
    }
    let r = skiff_deck::handle(&DeckRequest::get("/command-help"), &deps).await;
    assert!(r.text().contains("could not be loaded"));
}

// ---------------------------------------------------------------------------
// Spyglass: the artifacts browser, the JUnit lens, metadata, a failed clone

impl Deck {
    /// Failed sample job 5 of 10 with everything a decorated job uploads;
    /// its id and artifact directory.
    async fn decorated(&self) -> (String, String) {
        let j = fixtures::job(5, 10, NOW.parse().unwrap());
        for (path, name, bytes) in fixtures::decorated_artifacts_of(5, &j) {
            self.logs.put(&path, &name, &bytes).await.unwrap();
        }
        let path = skiff_core::prowjob::artifacts::artifact_path(&j).unwrap();
        (j.metadata.name, path)
    }

    async fn put(&self, dir: &str, name: &str, bytes: &[u8]) {
        self.logs.put(dir, name, bytes).await.unwrap();
    }
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

#[tokio::test]
async fn the_artifacts_browser_lists_every_object_with_its_size_and_raw_link() {
    let d = Deck::with_jobs(10).await;
    let (id, dir) = d.decorated().await;
    let html = d.page(&format!("/jobs/{id}")).await;
    let table = between(&html, "<table id=\"artifact-list\">", "</table>");
    let rows: Vec<&str> = table
        .split("<td><a href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    let names = [
        "artifacts/e2e/junit_e2e.xml",
        "artifacts/junit.xml",
        "artifacts/widgets.log",
        "build-log.txt",
        "clone-log.txt",
        "clone-records.json",
        "finished.json",
        "prowjob.json",
        "started.json",
    ];
    let want: Vec<String> = names
        .iter()
        .map(|n| format!("/artifacts/{dir}/{n}"))
        .collect();
    assert_eq!(rows, want, "every object, in order, linked raw");
    // Sizes as a file browser shows them, the bytes in a tooltip.
    let log_size = fixtures::log_of(5).len();
    assert!(log_size > 1024);
    for want in [
        format!("<td title=\"{log_size} bytes\">1.5 KiB</td>"),
        "<td title=\"26 bytes\">26 B</td>".to_string(),
    ] {
        assert!(table.contains(&want), "{want}: {table}");
    }
    assert!(html.contains("9 objects, "), "{html}");
    assert!(html.contains("<a href=\"#artifacts\">Artifacts</a>"));
    // Each linked object is served as stored.
    for n in names {
        let r = d.get(&format!("/artifacts/{dir}/{n}")).await;
        assert_eq!(r.status, 200, "{n}: {}", r.text());
        let stored = d.logs.get(&dir, n).await.unwrap().unwrap();
        assert_eq!(r.body, stored, "{n}");
    }
}

#[tokio::test]
async fn the_junit_lens_shows_totals_then_failed_cases_with_their_message() {
    let d = Deck::with_jobs(10).await;
    let (id, _) = d.decorated().await;
    let html = d.page(&format!("/jobs/{id}")).await;
    let lens = between(&html, "<section id=\"junit-lens\"", "</section>");
    // Totals first: two files, 7 tests.
    let totals = between(lens, "<p class=\"totals\">", "</p>");
    assert_eq!(
        totals,
        "<p class=\"totals\"><strong class=\"fail\">1 of 7 tests failed</strong> · 2 skipped · 4 passed · 0.12s · from 2 JUnit files</p>"
    );
    assert!(lens.find("class=\"totals\"") < lens.find("<h3>Failed (1)</h3>"));
    // The failed case: a <details> whose summary has the name and the
    // message; the body has the assertion's text and the output, folded.
    let case = between(lens, "<details class=\"case\">", "</details></li>");
    assert!(
        case.contains("<summary><span class=\"name\">github.com/acme/widgets: TestWidgets</span> <span class=\"muted\">0.12s</span><br><span class=\"msg\">widgets_test.go:42: want 3 widgets, got 5</span></summary>"),
        "{case}"
    );
    assert!(
        case.contains("widgets_test.go:43: the widget count is off"),
        "{case}"
    );
    assert!(
        case.contains("<details class=\"output\"><summary>Standard output (39 B)</summary>"),
        "{case}"
    );
    assert!(case.contains("In <a href=\"#artifact-artifacts/junit.xml\">"));
    // Passing tests collapsed in one list; skipped counted, with reasons.
    let passed = between(
        lens,
        "<details class=\"tests\" id=\"passed-tests\">",
        "</details>",
    );
    assert!(passed.contains("<summary>4 passed</summary>"));
    assert_eq!(passed.matches("<li>").count(), 4);
    let skipped = between(
        lens,
        "<details class=\"tests\" id=\"skipped-tests\">",
        "</details>",
    );
    assert!(skipped.contains("needs a GPU"), "{skipped}");
    assert!(html.contains("<a href=\"#junit\">Test results</a>"));
    // The lens sits before the build log.
    assert!(html.find("id=\"junit-lens\"") < html.find("<h2 id=\"log\">"));
}

#[tokio::test]
async fn junit_files_that_cannot_be_read_fully_say_why_and_show_what_was_read() {
    let d = Deck::with_jobs(10).await;
    let (id, dir) = d.decorated().await;
    let mut deep = String::from(
        "<testsuites><testsuite name=\"deep\"><testcase name=\"TestBeforeTheDeepEnd\"><failure message=\"boom\"/></testcase>",
    );
    for _ in 0..10_000 {
        deep.push_str("<testsuite>");
    }
    d.put(&dir, "artifacts/junit_deep.xml", deep.as_bytes())
        .await;
    d.put(
        &dir,
        "artifacts/junit_text.xml",
        b"PASS ok github.com/acme/widgets 0.1s\n",
    )
    .await;
    d.put(
        &dir,
        "artifacts/junit_cut.xml",
        b"<testsuite name=\"cut\"><testcase name=\"TestCut\"><failure>half",
    )
    .await;
    let html = d.page(&format!("/jobs/{id}")).await;
    for want in [
        "<code>artifacts/junit_deep.xml</code>: elements nest deeper than 100 levels at line 1",
        "<code>artifacts/junit_text.xml</code>: not a JUnit file: text outside any element at line 1, column 1 (byte 0) (expected &lt;testsuites&gt; or &lt;testsuite&gt;).",
        "<code>artifacts/junit_cut.xml</code>: malformed XML at line 1",
        "The results below include what was read before that.",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    // What was read before the problem is shown.
    assert!(html.contains("TestBeforeTheDeepEnd"));
    assert!(html.contains("TestCut"));
    assert!(html.contains("3 of 9 tests failed"), "{html}");
}

#[tokio::test]
async fn a_junit_file_over_the_cap_is_refused_from_its_listed_size() {
    let d = Deck::with_jobs(10).await;
    let (id, dir) = d.decorated().await;
    let big = vec![b' '; skiff_core::junit::MAX_BYTES as usize + 1];
    d.put(&dir, "artifacts/junit_huge.xml", &big).await;
    let html = d.page(&format!("/jobs/{id}")).await;
    assert!(
        html.contains(&format!(
            "<code>artifacts/junit_huge.xml</code>: the file is {} bytes, more than the {} bytes a JUnit file may have here; it was not read.",
            big.len(),
            skiff_core::junit::MAX_BYTES
        )),
        "{html}"
    );
    // The other files are still shown.
    assert!(html.contains("1 of 7 tests failed"));
}

#[tokio::test]
async fn artifacts_are_served_with_content_types_that_never_render_markup() {
    let d = Deck::with_jobs(10).await;
    let (_, dir) = d.decorated().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    for (name, bytes, want) in [
        (
            "artifacts/report.html",
            &b"<script>alert(document.cookie)</script>"[..],
            "text/plain; charset=utf-8",
        ),
        (
            "artifacts/logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "text/plain; charset=utf-8",
        ),
        (
            "artifacts/page.xhtml",
            b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></html>",
            "text/plain; charset=utf-8",
        ),
        (
            "artifacts/junit.xml",
            b"<testsuite/>",
            "text/plain; charset=utf-8",
        ),
        ("artifacts/shot.png", png, "image/png"),
        (
            "artifacts/core",
            b"\x7fELF\x02\x01\x01\0\0\0",
            "application/octet-stream",
        ),
    ] {
        d.put(&dir, name, bytes).await;
        let r = d.get(&format!("/artifacts/{dir}/{name}")).await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.header("content-type"), Some(want), "{name}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{name}"
        );
        assert_eq!(
            r.header("content-security-policy"),
            Some("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            "{name}"
        );
        assert_eq!(r.body, bytes, "{name}");
    }
    let core = d.get(&format!("/artifacts/{dir}/artifacts/core")).await;
    assert_eq!(
        core.header("content-disposition"),
        Some("attachment; filename=\"core\"")
    );
    // Escaped names in links resolve to the same object.
    d.put(&dir, "artifacts/with space#1.txt", b"spaced").await;
    let r = d
        .get(&format!("/artifacts/{dir}/artifacts/with%20space%231.txt"))
        .await;
    assert_eq!((r.status, r.text().as_str()), (200, "spaced"));
    let html = d.page(&format!("/jobs/{}", fixtures::id_of(5))).await;
    assert!(html.contains(&format!(
        "href=\"/artifacts/{dir}/artifacts/with%20space%231.txt\""
    )));
}

#[tokio::test]
async fn artifact_paths_that_could_leave_the_job_directory_are_refused() {
    let d = Deck::with_jobs(10).await;
    let (_, dir) = d.decorated().await;
    // A file beside the logs root and one in another job's directory.
    let other =
        skiff_core::prowjob::artifacts::artifact_path(&fixtures::job(6, 10, NOW.parse().unwrap()))
            .unwrap();
    for (target, status) in [
        (
            format!("/artifacts/{dir}/../../../../../../../../etc/passwd"),
            400,
        ),
        (format!("/artifacts/{dir}/..%2F..%2F..%2Fsecret.txt"), 400),
        (format!("/artifacts/{dir}/artifacts/%2E%2E/%2E%2E/x"), 400),
        (format!("/artifacts/{dir}/a%5C..%5Cb"), 400),
        (format!("/artifacts/{dir}/%00"), 400),
        // Not a job directory the deck knows.
        ("/artifacts/etc/passwd".to_string(), 404),
        ("/artifacts/logs/nope/123/build-log.txt".to_string(), 404),
        // The job's own directory is not an object.
        (format!("/artifacts/{dir}/artifacts"), 404),
        (format!("/artifacts/{dir}/missing.txt"), 404),
    ] {
        let r = d.get(&target).await;
        assert_eq!(r.status, status, "{target}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    }
    assert_eq!(
        d.get(&format!("/artifacts/{other}/build-log.txt"))
            .await
            .status,
        200,
        "another job's objects under its own directory"
    );
    // A hidden job's artifacts stay hidden, like its page.
    let now: Timestamp = NOW.parse().unwrap();
    let mut hidden = fixtures::job(7, 10, now);
    hidden.metadata.name = "hidden".into();
    hidden.status.build_id = "99".into();
    hidden.spec.hidden = true;
    d.store.create(&hidden).await.unwrap();
    let hidden_dir = skiff_core::prowjob::artifacts::artifact_path(&hidden).unwrap();
    d.put(&hidden_dir, "build-log.txt", b"secret").await;
    assert_eq!(
        d.get(&format!("/artifacts/{hidden_dir}/build-log.txt"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn decorated_metadata_shows_repos_commit_revision_and_metadata() {
    let d = Deck::with_jobs(10).await;
    let (id, dir) = d.decorated().await;
    d.put(
        &dir,
        "started.json",
        br#"{"timestamp":1796385295,"pull":"106","repos":{"acme/gadgets":"main:0a1b2c3,106:9f8e7d6","acme/tools":"main"},"repo-commit":"9f8e7d6c5b4a","repo-version":"9f8e7d6c5b4a","metadata":{"uploader":"initupload"}}"#,
    )
    .await;
    d.put(
        &dir,
        "finished.json",
        br#"{"timestamp":1796385330,"passed":false,"result":"FAILURE","revision":"9f8e7d6c5b4a","metadata":{"work-dir":"/home/prow/go/src/github.com/acme/gadgets","links":{"dashboard":"<b>x</b>"}}}"#,
    )
    .await;
    let html = d.page(&format!("/jobs/{id}")).await;
    let fields = between(&html, "<dl class=\"kv\" id=\"metadata-fields\">", "</dl>");
    for want in [
        "<dt>Started</dt><dd>2026-12-04 11:54:55</dd>",
        "<dt>Finished</dt><dd>2026-12-04 11:55:30</dd>",
        "<dt>Elapsed</dt><dd>35s</dd>",
        "<dt>Result</dt><dd>FAILURE</dd>",
        "<dt>Revision</dt><dd><code>9f8e7d6c5b4a</code></dd>",
        "<dt>Repo commit</dt><dd><code>9f8e7d6c5b4a</code></dd>",
        "<dt>Pull</dt><dd>106</dd>",
        "<dt>Repo <code>acme/gadgets</code></dt><dd><code>main:0a1b2c3,106:9f8e7d6</code></dd>",
        "<dt>Repo <code>acme/tools</code></dt><dd><code>main</code></dd>",
        "<dt><code>uploader</code></dt><dd>initupload</dd>",
        "<dt><code>work-dir</code></dt><dd>/home/prow/go/src/github.com/acme/gadgets</dd>",
        "<dt><code>links.dashboard</code></dt><dd>&lt;b&gt;x&lt;/b&gt;</dd>",
    ] {
        assert!(fields.contains(want), "{want}: {fields}");
    }
}

#[tokio::test]
async fn a_failed_clone_shows_its_log_first() {
    let d = Deck::with_jobs(10).await;
    let (id, dir) = d.decorated().await;
    let clone_log = "# Cloning acme/gadgets at main\n$ git fetch https://github.com/acme/gadgets.git pull/106/head\nfatal: couldn't find remote ref pull/106/head\n";
    let j = fixtures::job(5, 10, NOW.parse().unwrap());
    let records = serde_json::json!([{
        "refs": j.spec.refs,
        "commands": [
            {"command": "git init", "output": "Initialized"},
            {"command": "git fetch https://github.com/acme/gadgets.git pull/106/head", "output": "", "error": "exit status 128"}
        ],
        "failed": true
    }]);
    d.put(&dir, "clone-records.json", records.to_string().as_bytes())
        .await;
    d.put(&dir, "clone-log.txt", clone_log.as_bytes()).await;
    let html = d.page(&format!("/jobs/{id}")).await;
    let alert = between(
        &html,
        "<section class=\"alert\" id=\"clone-failed\"",
        "</section>",
    );
    assert!(
        alert.contains("<h2 id=\"clone\">Cloning failed</h2>"),
        "{alert}"
    );
    assert!(alert.contains(
        "<li><code>acme/gadgets</code>: <code>git fetch https://github.com/acme/gadgets.git pull/106/head: exit status 128</code></li>"
    ), "{alert}");
    assert!(
        alert.contains("fatal: couldn't find remote ref pull/106/head"),
        "{alert}"
    );
    // Prominent: before the summary.
    assert!(html.find("id=\"clone-failed\"") < html.find("<h2>Summary</h2>"));

    // Without records: initupload's own sign (FAILURE, and the build log is
    // the clone log) is enough.
    d.put(&dir, "clone-records.json", b"not json").await;
    d.put(&dir, "build-log.txt", clone_log.as_bytes()).await;
    d.put(
        &dir,
        "finished.json",
        br#"{"timestamp":1796385330,"passed":false,"result":"FAILURE"}"#,
    )
    .await;
    let html = d.page(&format!("/jobs/{id}")).await;
    assert!(
        html.contains("<h2 id=\"clone\">Cloning failed</h2>"),
        "{html}"
    );
    // A job whose clone worked says nothing of it.
    let d2 = Deck::with_jobs(10).await;
    let (ok_id, _) = d2.decorated().await;
    assert!(
        !d2.page(&format!("/jobs/{ok_id}"))
            .await
            .contains("Cloning failed")
    );
}

#[tokio::test]
async fn a_job_without_artifacts_says_so_and_shows_no_lens() {
    let d = Deck::with_jobs(10).await;
    // Job 4 succeeded and stored only its log and metadata.
    let html = d.page(&format!("/jobs/{}", fixtures::id_of(4))).await;
    assert!(!html.contains("id=\"junit-lens\""));
    assert!(html.contains("<h2 id=\"artifacts\">Artifacts</h2>"));
    assert!(html.contains("3 objects, "), "{html}");
    // A running job has stored its started.json only.
    let html = d.page(&format!("/jobs/{}", fixtures::id_of(0))).await;
    assert!(html.contains("1 object, "), "{html}");
    // A record whose job stored nothing at all.
    let mut bare = fixtures::job(7, 8, NOW.parse().unwrap());
    bare.metadata.name = "bare".into();
    bare.status.build_id = "42".into();
    d.store.create(&bare).await.unwrap();
    let html = d.page("/jobs/bare").await;
    assert!(
        html.contains("<p class=\"muted\">No artifacts were stored for this job.</p>"),
        "{html}"
    );
}

#[tokio::test]
async fn prowjobs_js_serves_the_last_day_or_the_newest_limit() {
    let d = Deck::with_jobs(0).await;
    let now: Timestamp = NOW.parse().unwrap();
    // Started 0, 12, 24 (exactly a day ago), 25 and 48 hours ago.
    for (i, hours) in [0, 12, 24, 25, 48].into_iter().enumerate() {
        let mut j = fixtures::job(i, 10, now);
        j.metadata.name = format!("h{hours}");
        j.status.start_time = Some(now - jiff::SignedDuration::from_hours(hours));
        d.store.create(&j).await.unwrap();
    }
    let names = |r: &DeckResponse| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&d.get("/prowjobs.js").await),
        ["h0", "h12", "h24"],
        "the last day"
    );
    assert_eq!(
        names(&d.get("/prowjobs.js?limit=4").await),
        ["h0", "h12", "h24", "h25"],
        "the newest four, whatever their age"
    );
    let bad = d.get("/prowjobs.js?limit=0").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("limit"), "{}", bad.text());
}
