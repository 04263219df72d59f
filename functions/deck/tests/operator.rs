//! Rerun and abort from the deck, over the in-memory twins: GitHub sign-in
//! (the `GitHubLogin` twin issues codes), Prow's `rerun_auth_configs` and a
//! job's own `rerun_auth_config` (the code host twin answers org, team and
//! collaborator questions), the session cookie and its CSRF token, and the
//! dispatch queue a rerun is sent to. Each rule is one case.

use std::sync::Arc;

use jiff::Timestamp;
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::ports::JobStore;
use skiff_core::prowjob::from_config::configured_job;
use skiff_core::prowjob::new::new_prow_job;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Pull, Refs};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps, Operator, SignIn};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::store::SqliteStore;
use skiff_testkit::{ManualClock, MemoryGitHubLogin, MemoryQueue, MemoryScm};

const NOW: &str = "2026-11-23T10:00:00Z";
const KEY: &[u8] = b"a-cookie-key-for-the-tests";

const CONFIG: &str = r#"
deck:
  rerun_auth_configs:
    "*":
      github_users: [root]
    acme/widgets:
      github_users: [alice]
      github_orgs: [acme-admins]
      github_team_slugs: [{org: acme, slug: ci}]
      github_team_ids: [42]
    acme/open:
      allow_anyone: true
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    labels: {tier: now}
    spec: {containers: [{image: alpine}]}
  acme/gears:
  - name: gears-unit
    always_run: true
    spec: {containers: [{image: alpine}]}
  - name: gears-own
    always_run: true
    rerun_auth_config: {github_users: [carol]}
    spec: {containers: [{image: alpine}]}
  acme/open:
  - name: open-unit
    always_run: true
    spec: {containers: [{image: alpine}]}
"#;

struct World {
    store: SqliteStore,
    logs: FsLogStore,
    clock: Arc<ManualClock>,
    config: Config,
    options: DeckOptions,
    scm: MemoryScm,
    login: MemoryGitHubLogin,
    dispatch: MemoryQueue,
    _dir: tempfile::TempDir,
}

fn config() -> Config {
    let loaded = load(&[
        SourceFile {
            path: "config.yaml".into(),
            text: CONFIG.into(),
            role: FileRole::ProwConfig,
        },
        SourceFile {
            path: "jobs.yaml".into(),
            text: JOBS.into(),
            role: FileRole::JobConfig,
        },
    ]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
        World {
            store: SqliteStore::open_in_memory().unwrap(),
            logs: FsLogStore::new(dir.path().join("logs")),
            dispatch: MemoryQueue::new(clock.clone()),
            clock,
            config: config(),
            options: DeckOptions::default(),
            scm: MemoryScm::default(),
            login: MemoryGitHubLogin::default(),
            _dir: dir,
        }
    }

    async fn send_as(&self, sign_in: SignIn<'_>, req: DeckRequest) -> DeckResponse {
        let op = Operator {
            sign_in,
            cookie_key: KEY,
            secure_cookies: true,
            scm: Some(&self.scm),
            dispatch: &self.dispatch,
        };
        let deps = Deps {
            store: &self.store,
            logs: &self.logs,
            config: Some(&self.config),
            clock: self.clock.as_ref(),
            clusters: None,
            options: &self.options,
            operator: Some(&op),
            viewer: None,
        };
        skiff_deck::handle(&req, &deps).await
    }

    async fn send(&self, req: DeckRequest) -> DeckResponse {
        self.send_as(SignIn::GitHub(&self.login), req).await
    }

    /// A record of `name` of `repo` in `state` (a presubmit of pull #1).
    async fn job(&self, repo: &str, name: &str, state: ProwJobState) -> String {
        let refs = Refs {
            org: "acme".into(),
            repo: repo.into(),
            base_ref: "main".into(),
            base_sha: "base1".into(),
            pulls: vec![Pull {
                number: 1,
                sha: "head1".into(),
                author: "someone".into(),
                ..Pull::default()
            }],
            ..Refs::default()
        };
        let c = configured_job(&self.config, ProwJobType::Presubmit, name, Some(&refs)).unwrap();
        let id = format!("{name}-{repo}-1");
        let mut j: ProwJob = new_prow_job(
            c.spec,
            id.clone(),
            &c.labels,
            &c.annotations,
            self.clock.now_ts(),
        );
        if state != ProwJobState::Triggered {
            j.transition(ProwJobState::Pending, self.clock.now_ts(), "running")
                .unwrap();
        }
        if !matches!(state, ProwJobState::Triggered | ProwJobState::Pending) {
            j.transition(state, self.clock.now_ts(), "done").unwrap();
        }
        self.store.create(&j).await.unwrap();
        id
    }

    /// Signs `login` in through GitHub; the session cookie.
    async fn sign_in(&self, login: &str) -> String {
        let r = self
            .send(DeckRequest::get("/github-login?dest=/jobs/x"))
            .await;
        assert_eq!(r.status, 303);
        let location = r.header("location").unwrap().to_string();
        let state = location.split("state=").nth(1).unwrap().to_string();
        let state_cookie = cookie_pair(&r, "skiff_oauth_state");
        self.login.issue("code-1", login);
        let back = self
            .send(with_cookie(
                DeckRequest::get(&format!("/github-login/redirect?code=code-1&state={state}")),
                &state_cookie,
            ))
            .await;
        assert_eq!(back.status, 303, "{}", back.text());
        assert_eq!(back.header("location"), Some("/jobs/x"));
        cookie_pair(&back, "skiff_session")
    }

    /// A page's CSRF token for the session `cookie`.
    async fn csrf(&self, cookie: &str, id: &str) -> String {
        let page = self
            .send(with_cookie(
                DeckRequest::get(&format!("/jobs/{id}")),
                cookie,
            ))
            .await;
        let html = page.text();
        let marker = "name=\"csrf_token\" value=\"";
        let at = html.find(marker).expect("a form") + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_string()
    }

    async fn post(&self, path: &str, cookie: &str, token: &str) -> DeckResponse {
        let req = DeckRequest {
            method: "POST".into(),
            body: format!("csrf_token={token}&nonce=n1").into_bytes(),
            ..with_cookie(DeckRequest::get(path), cookie)
        };
        self.send(req).await
    }

    /// Signs in as `login` (or stays anonymous for "") and reruns `id`.
    async fn rerun_as(&self, login: &str, id: &str) -> DeckResponse {
        let cookie = if login.is_empty() {
            self.anonymous().await
        } else {
            self.sign_in(login).await
        };
        let token = self.csrf(&cookie, id).await;
        self.post(
            &format!("/rerun?prowjob={id}&mode=original"),
            &cookie,
            &token,
        )
        .await
    }

    async fn anonymous(&self) -> String {
        let r = self.send(DeckRequest::get("/")).await;
        cookie_pair(&r, "skiff_session")
    }
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        skiff_core::ports::Clock::now(self)
    }
}

fn with_cookie(mut req: DeckRequest, cookie: &str) -> DeckRequest {
    req.headers.push(("Cookie".into(), cookie.to_string()));
    req
}

/// `name=value` of the response's `Set-Cookie` for `name`.
fn cookie_pair(r: &DeckResponse, name: &str) -> String {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", r.headers))
}

#[tokio::test]
async fn each_rerun_auth_rule_lets_its_people_in_and_no_one_else() {
    let w = World::new();
    w.scm.add_member("dora"); // a member of acme-admins (the twin's orgs are one)
    w.scm.add_team_member("ci", "erin");
    w.scm.add_team_member("42", "frank");
    let widgets = w.job("widgets", "unit", ProwJobState::Success).await;
    let gears = w.job("gears", "gears-own", ProwJobState::Success).await;
    let open = w.job("open", "open-unit", ProwJobState::Success).await;
    // (who, job, allowed, the rule the page names)
    let cases = [
        ("alice", &widgets, true, ""),
        ("dora", &widgets, true, ""),
        ("erin", &widgets, true, ""),
        ("frank", &widgets, true, ""),
        ("root", &widgets, false, "do not name you"),
        ("mallory", &widgets, false, "do not name you"),
        ("carol", &gears, true, ""),
        ("root", &gears, true, ""),
        ("mallory", &gears, false, "neither"),
        ("", &open, true, ""),
    ];
    for (who, id, allowed, why) in cases {
        let r = w.rerun_as(who, id).await;
        if allowed {
            assert_eq!(r.status, 303, "{who} on {id}: {}", r.text());
            assert!(r.header("location").unwrap().starts_with("/jobs/"));
        } else {
            assert_eq!(r.status, 403, "{who} on {id}");
            assert!(r.text().contains(why), "{who} on {id}: {}", r.text());
        }
    }
}

#[tokio::test]
async fn a_collaborator_may_rerun_a_presubmit_as_with_test() {
    let w = World::new();
    let id = w.job("gears", "gears-unit", ProwJobState::Failure).await;
    assert_eq!(w.rerun_as("gina", &id).await.status, 403);
    w.scm.add_collaborator("gina");
    let r = w.rerun_as("gina", &id).await;
    assert_eq!(r.status, 303, "{}", r.text());
}

#[tokio::test]
async fn a_rule_naming_people_asks_for_sign_in_first() {
    let w = World::new();
    let id = w.job("widgets", "unit", ProwJobState::Success).await;
    let r = w.rerun_as("", &id).await;
    assert_eq!(r.status, 401);
    assert!(
        r.text().contains("/github-login?dest=/jobs/"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_rerun_is_a_new_triggered_record_sent_once_per_form() {
    let w = World::new();
    let id = w.job("widgets", "unit", ProwJobState::Failure).await;
    let cookie = w.sign_in("alice").await;
    let token = w.csrf(&cookie, &id).await;
    let path = format!("/rerun?prowjob={id}&mode=original");
    let first = w.post(&path, &cookie, &token).await;
    let again = w.post(&path, &cookie, &token).await;
    assert_eq!(
        first.header("location"),
        again.header("location"),
        "same nonce, same run"
    );
    let new_id = first
        .header("location")
        .unwrap()
        .trim_start_matches("/jobs/")
        .to_string();
    assert_ne!(new_id, id);
    let new = w.store.get(&new_id).await.unwrap().unwrap();
    assert_eq!(new.status.state, Some(ProwJobState::Triggered));
    assert_eq!(new.spec.job, "unit");
    assert_eq!(new.metadata.labels["skiff.dev/rerun-by"], "alice");
    assert_eq!(new.metadata.annotations["skiff.dev/rerun-of"], id);
    assert_eq!(
        new.status.description,
        format!("alice successfully reran {id}.")
    );
    assert!(w.dispatch.sent_ids().contains(&new_id));
}

#[tokio::test]
async fn latest_mode_reads_the_job_from_the_config_as_it_is_now() {
    let w = World::new();
    let id = w.job("widgets", "unit", ProwJobState::Failure).await;
    // The record says otherwise than the config now does.
    let mut old = w.store.get(&id).await.unwrap().unwrap();
    old.metadata.labels.insert("tier".into(), "then".into());
    w.store.update(&old).await.unwrap();
    let cookie = w.sign_in("alice").await;
    let token = w.csrf(&cookie, &id).await;
    let latest = w
        .post(&format!("/rerun?prowjob={id}&mode=latest"), &cookie, &token)
        .await;
    let new_id = latest
        .header("location")
        .unwrap()
        .trim_start_matches("/jobs/");
    let new = w.store.get(new_id).await.unwrap().unwrap();
    assert_eq!(new.metadata.labels["tier"], "now");
    let bad = w
        .post(&format!("/rerun?prowjob={id}&mode=newest"), &cookie, &token)
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn abort_moves_a_running_job_to_aborted_and_refuses_a_finished_one() {
    let w = World::new();
    let running = w.job("widgets", "unit", ProwJobState::Pending).await;
    let done = w.job("gears", "gears-own", ProwJobState::Success).await;
    let cookie = w.sign_in("alice").await;
    let token = w.csrf(&cookie, &running).await;
    let r = w
        .post(&format!("/abort?prowjob={running}"), &cookie, &token)
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let j = w.store.get(&running).await.unwrap().unwrap();
    assert_eq!(j.status.state, Some(ProwJobState::Aborted));
    assert_eq!(
        j.status.description,
        format!("alice successfully aborted {running}.")
    );
    let r = w
        .post(&format!("/abort?prowjob={done}"), &cookie, &token)
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("Cannot abort job with state: &quot;success&quot;."),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_forbidden() {
    let w = World::new();
    let id = w.job("open", "open-unit", ProwJobState::Success).await;
    let alice = w.sign_in("alice").await;
    let bob = w.sign_in("bob").await;
    let bobs = w.csrf(&bob, &id).await;
    let path = format!("/rerun?prowjob={id}");
    for (cookie, token, case) in [
        (alice.as_str(), "", "no token"),
        (alice.as_str(), bobs.as_str(), "another session's token"),
        ("", bobs.as_str(), "no session"),
    ] {
        let r = w.post(&path, cookie, token).await;
        assert_eq!(r.status, 403, "{case}");
        assert!(r.text().contains("CSRF"), "{case}");
    }
    // The header form works too.
    let mut req = with_cookie(DeckRequest::get(&path), &bob);
    req.method = "POST".into();
    req.headers.push(("X-CSRF-Token".into(), bobs.clone()));
    assert_eq!(w.send(req).await.status, 303);
}

#[tokio::test]
async fn a_forged_or_expired_session_is_not_a_session() {
    let w = World::new();
    let id = w.job("widgets", "unit", ProwJobState::Success).await;
    let alice = w.sign_in("alice").await;
    let token = w.csrf(&alice, &id).await;
    // Forged: the payload re-signed by someone without the key.
    let (name_payload, _) = alice.split_once('.').unwrap();
    let forged = format!("{name_payload}.AAAA");
    let r = w
        .post(&format!("/rerun?prowjob={id}"), &forged, &token)
        .await;
    assert_eq!(r.status, 403);
    // Expired: past the session's 12 hours.
    w.clock.advance(std::time::Duration::from_secs(13 * 3600));
    let r = w
        .post(&format!("/rerun?prowjob={id}"), &alice, &token)
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn sign_in_checks_the_state_and_sets_a_secure_http_only_cookie() {
    let w = World::new();
    let r = w
        .send(DeckRequest::get("/github-login?dest=//evil.example"))
        .await;
    let state_cookie = cookie_pair(&r, "skiff_oauth_state");
    w.login.issue("c", "alice");
    let wrong = w
        .send(with_cookie(
            DeckRequest::get("/github-login/redirect?code=c&state=not-the-state"),
            &state_cookie,
        ))
        .await;
    assert_eq!(wrong.status, 400);
    let state = r
        .header("location")
        .unwrap()
        .split("state=")
        .nth(1)
        .unwrap()
        .to_string();
    let ok = w
        .send(with_cookie(
            DeckRequest::get(&format!("/github-login/redirect?code=c&state={state}")),
            &state_cookie,
        ))
        .await;
    assert_eq!(ok.header("location"), Some("/"), "never another site");
    let set = ok
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("skiff_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=43200"] {
        assert!(set.1.contains(attr), "{attr} in {}", set.1);
    }
}

#[tokio::test]
async fn without_sign_in_everyone_may_but_the_csrf_rule_holds() {
    let w = World::new();
    let id = w.job("widgets", "unit", ProwJobState::Pending).await;
    let page = w
        .send_as(SignIn::Anyone, DeckRequest::get(&format!("/jobs/{id}")))
        .await;
    let cookie = cookie_pair(&page, "skiff_session");
    let json = w
        .send_as(SignIn::Anyone, DeckRequest::get("/prowjobs.js"))
        .await;
    assert_eq!(
        json.header("set-cookie"),
        None,
        "only pages carry a session"
    );
    let html = page.text();
    assert!(
        html.contains("Rerun") && html.contains("Abort"),
        "buttons on the page"
    );
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).unwrap() + marker.len();
    let token = &html[at..at + html[at..].find('"').unwrap()];
    let post = |token: &str| DeckRequest {
        method: "POST".into(),
        body: format!("csrf_token={token}").into_bytes(),
        ..with_cookie(DeckRequest::get(&format!("/abort?prowjob={id}")), &cookie)
    };
    assert_eq!(w.send_as(SignIn::Anyone, post("")).await.status, 403);
    assert_eq!(w.send_as(SignIn::Anyone, post(token)).await.status, 303);
}
