//! Signing in to the deck with GitHub and rerunning a job, end to end in
//! `skiff dev`: the real binary with Prow's `--github-oauth-config-file`,
//! and a fake GitHub (HTTP level: no real GitHub can run here) that speaks
//! GitHub's OAuth token exchange, `GET /user` and team memberships. A
//! pull request's presubmit runs; a member of the team the deck's
//! `rerun_auth_configs` names signs in (authorize → the redirect with the
//! code and state → the session cookie) and reruns it with the page's CSRF
//! token; someone else is refused with the rule that refused them.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use support::{GitHub, example, fake_github, http, lock, sign, start_dev, wait_for};

const SECRET: &[u8] = b"signin-secret";
const WAIT: Duration = Duration::from_secs(60);

const CONFIG: &str = r#"
deck:
  rerun_auth_configs:
    acme/widgets:
      github_team_slugs: [{org: acme, slug: ci}]
"#;

const JOBS: &str = "presubmits:\n  acme/widgets:\n  - name: unit\n    always_run: true\n    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: [\"exit 0\"]}]}\n";

/// One request; the status, the response's head and its body.
fn request(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String, String) {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn header<'h>(head: &'h str, name: &str) -> Vec<&'h str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn cookie(head: &str, name: &str) -> String {
    header(head, "set-cookie")
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {head}"))
}

/// Signs `login` in through the fake GitHub; the session cookie.
fn sign_in(deck: &str, gh: &support::Shared, login: &str, code: &str) -> String {
    let (status, head, _) = request("GET", &format!("{deck}/github-login?dest=/"), &[], "");
    assert_eq!(status, 303, "{head}");
    let location = header(&head, "location")[0].to_string();
    assert!(
        location.contains("/login/oauth/authorize?client_id=deck-app"),
        "{location}"
    );
    let state = location.split("state=").nth(1).unwrap().to_string();
    let state_cookie = cookie(&head, "skiff_oauth_state");
    // The person approves on GitHub, which sends them back with a code.
    lock(gh).oauth.codes.insert(code.into(), login.into());
    let (status, head, body) = request(
        "GET",
        &format!("{deck}/github-login/redirect?code={code}&state={state}"),
        &[("Cookie", state_cookie)],
        "",
    );
    assert_eq!(status, 303, "{body}");
    cookie(&head, "skiff_session")
}

fn csrf(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = page.find(marker).expect("a form with the CSRF token") + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

#[test]
fn a_team_member_signs_in_with_github_and_reruns_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = GitHub {
        members: vec!["author".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    setup.oauth.client_id = "deck-app".into();
    setup.oauth.client_secret = "deck-secret".into();
    setup
        .oauth
        .teams
        .insert("acme/ci".into(), vec!["alice".into()]);
    let (gh, github) = fake_github(setup);
    std::fs::write(dir.path().join("config.yaml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("jobs.yaml"), JOBS).unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("token"), "token\n").unwrap();
    let oauth = dir.path().join("github-oauth-config.yaml");
    std::fs::write(
        &oauth,
        "client_id: deck-app\nclient_secret: deck-secret\nredirect_url: http://127.0.0.1/github-login/redirect\nscopes: []\n",
    )
    .unwrap();
    let dev = start_dev(
        dir.path(),
        &github,
        &[
            "--github-oauth-config-file",
            oauth.to_str().unwrap(),
            "--github-web-url",
            &github,
        ],
    );

    // A pull request's presubmit runs.
    let mut v = example("pull_request", Some("opened"));
    v["repository"]["full_name"] = json!("acme/widgets");
    v["repository"]["name"] = json!("widgets");
    v["repository"]["owner"]["login"] = json!("acme");
    v["pull_request"]["user"]["login"] = json!("author");
    v["pull_request"]["base"]["repo"]["name"] = json!("widgets");
    v["pull_request"]["base"]["repo"]["full_name"] = json!("acme/widgets");
    v["pull_request"]["base"]["repo"]["owner"]["login"] = json!("acme");
    v["sender"]["login"] = json!("author");
    let bytes = serde_json::to_vec(&v).unwrap();
    let (status, _) = http(
        "POST",
        &format!("{}/hook", dev.url),
        &[
            ("X-GitHub-Event", "pull_request".into()),
            ("X-GitHub-Delivery", "signin-1".into()),
            ("X-Hub-Signature-256", sign(SECRET, &bytes)),
            ("Content-Type", "application/json".into()),
        ],
        &bytes,
    );
    assert_eq!(status, 200);
    let mut id = String::new();
    wait_for("the presubmit to finish", WAIT, || {
        let jobs: serde_json::Value =
            serde_json::from_str(&http("GET", &format!("{}/prowjobs.js", dev.url), &[], b"").1)
                .unwrap_or_default();
        let done = jobs["items"]
            .as_array()
            .and_then(|items| items.iter().find(|j| j["status"]["state"] == "success"));
        if let Some(j) = done {
            id = j["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        !id.is_empty()
    });

    // Before signing in: a page offers it, and a rerun asks for it.
    let (_, head, page) = request("GET", &format!("{}/jobs/{id}", dev.url), &[], "");
    assert!(page.contains("Sign in with GitHub"));
    let anon = cookie(&head, "skiff_session");
    let (status, _, _) = request(
        "POST",
        &format!("{}/rerun?prowjob={id}", dev.url),
        &[
            ("Cookie", anon),
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        ],
        &format!("csrf_token={}", csrf(&page)),
    );
    assert_eq!(status, 401);

    // Someone outside the team is refused, and told by which rule.
    let mallory = sign_in(&dev.url, &gh, "mallory", "code-m");
    let (_, _, page) = request(
        "GET",
        &format!("{}/jobs/{id}", dev.url),
        &[("Cookie", mallory.clone())],
        "",
    );
    assert!(
        page.contains("Signed in as <strong>mallory</strong>"),
        "{page}"
    );
    let (status, _, body) = request(
        "POST",
        &format!("{}/rerun?prowjob={id}&mode=latest", dev.url),
        &[
            ("Cookie", mallory),
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        ],
        &format!("csrf_token={}&nonce=n1", csrf(&page)),
    );
    assert_eq!(status, 403);
    assert!(
        body.contains("rerun_auth_configs for this job do not name you"),
        "{body}"
    );

    // A member of acme/ci reruns it.
    let alice = sign_in(&dev.url, &gh, "alice", "code-a");
    let (_, _, page) = request(
        "GET",
        &format!("{}/jobs/{id}", dev.url),
        &[("Cookie", alice.clone())],
        "",
    );
    let (status, head, body) = request(
        "POST",
        &format!("{}/rerun?prowjob={id}&mode=latest", dev.url),
        &[
            ("Cookie", alice),
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        ],
        &format!("csrf_token={}&nonce=n2", csrf(&page)),
    );
    assert_eq!(status, 303, "{body}");
    let new_id = header(&head, "location")[0]
        .trim_start_matches("/jobs/")
        .to_string();
    assert_ne!(new_id, id);
    wait_for("the rerun to finish", WAIT, || {
        http("GET", &format!("{}/api/jobs/{new_id}", dev.url), &[], b"")
            .1
            .contains("\"state\":\"success\"")
    });
    let record = http("GET", &format!("{}/api/jobs/{new_id}", dev.url), &[], b"").1;
    assert!(
        record.contains("\"skiff.dev/rerun-by\":\"alice\""),
        "{record}"
    );
    let g = lock(&gh);
    assert!(
        g.seen
            .iter()
            .any(|s| s.path == "/orgs/acme/teams/ci/memberships/alice" && s.status == 200),
        "the team membership was asked of GitHub"
    );
    assert!(
        !g.seen
            .iter()
            .any(|s| s.body.to_string().contains("deck-secret")
                && s.path != "/login/oauth/access_token"),
        "the client secret goes to the token exchange only"
    );
}
