//! A fake Jenkins, at the HTTP level, for the adapter's tests and the
//! end-to-end runs of jenkins jobs. No Jenkins can run on this machine (it
//! needs a JVM and its own downloads), so this speaks the part of Jenkins'
//! REST API Prow's jenkins-operator uses, with Jenkins' paths and JSON
//! shapes: `crumbIssuer/api/json` (a crumb bound to a session cookie, which
//! a test can expire), `…/buildWithParameters` (201 and a queue item's
//! `Location`), `queue/api/json` and `…/api/json` with `tree`, `consoleText`,
//! `stop`, `queue/cancelItem`, basic and bearer auth (401 on wrong
//! credentials, as Jenkins answers an API token it does not know). Queue
//! items become builds only when a test says so, as an executor would take
//! them. Every request is recorded with its answer, so tests assert exactly
//! what Skiff sent; canned answers make one request fail (with or without
//! Jenkins having acted first: an answer lost after the build was queued).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use serde_json::{Value, json};

/// One request the fake received, and what it answered.
#[derive(Clone, Debug)]
pub struct JenkinsSeen {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: String,
    /// Form body and query parameters, merged.
    pub params: BTreeMap<String, String>,
    pub status: u16,
}

impl JenkinsSeen {
    /// `METHOD path` — the shape tests assert on.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A one-off answer for the first request with this method whose path
/// contains `path`.
#[derive(Clone, Debug)]
pub struct JenkinsCanned {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Do the request's work first, then answer `status` (the answer was
    /// lost on the way back).
    pub act_first: bool,
}

#[derive(Clone, Debug)]
struct Item {
    id: u64,
    job: String,
    params: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
struct Build {
    job: String,
    number: u64,
    params: BTreeMap<String, String>,
    building: bool,
    result: Option<String>,
    timestamp_ms: i64,
    console: String,
}

/// How the fake expects to be signed in to.
#[derive(Clone, Debug, Default)]
pub enum FakeAuth {
    #[default]
    Anonymous,
    Basic {
        user: String,
        token: String,
    },
    Bearer(String),
}

/// The fake's state; tests change it through [`JenkinsShared`].
#[derive(Default)]
pub struct FakeJenkins {
    pub auth: FakeAuth,
    /// CSRF protection: POSTs need the current crumb and its session.
    pub csrf: bool,
    /// Job paths Jenkins has (`job/unit`, `job/team/job/unit`).
    pub jobs: Vec<String>,
    /// `Build.timestamp` of builds started from now on (ms).
    pub now_ms: i64,
    pub seen: Vec<JenkinsSeen>,
    pub canned: VecDeque<JenkinsCanned>,
    /// Every request is answered 503 (Jenkins restarting).
    pub down: bool,
    base: String,
    crumb: String,
    session: String,
    crumbs_issued: u64,
    next_item: u64,
    queue: Vec<Item>,
    builds: Vec<Build>,
}

pub type JenkinsShared = Arc<Mutex<FakeJenkins>>;

pub fn lock(j: &JenkinsShared) -> std::sync::MutexGuard<'_, FakeJenkins> {
    j.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeJenkins {
    /// A Jenkins with these jobs and basic auth as `user`/`token`.
    pub fn with_jobs(jobs: &[&str], user: &str, token: &str) -> Self {
        FakeJenkins {
            auth: FakeAuth::Basic {
                user: user.into(),
                token: token.into(),
            },
            jobs: jobs.iter().map(|j| j.to_string()).collect(),
            now_ms: jiff::Timestamp::now().as_millisecond(),
            ..FakeJenkins::default()
        }
    }

    /// `METHOD path` of every request, in order.
    pub fn lines(&self) -> Vec<String> {
        self.seen.iter().map(JenkinsSeen::line).collect()
    }

    /// The build requests (POST …/buildWithParameters) that were accepted.
    pub fn accepted_builds(&self) -> Vec<&JenkinsSeen> {
        self.seen
            .iter()
            .filter(|s| s.path.ends_with("/buildWithParameters") && s.status == 201)
            .collect()
    }

    /// Queue items and builds carrying `PROW_JOB_ID` = `id`.
    pub fn runs_of(&self, id: &str) -> usize {
        let is = |p: &BTreeMap<String, String>| p.get("PROW_JOB_ID").is_some_and(|v| v == id);
        self.queue.iter().filter(|i| is(&i.params)).count()
            + self.builds.iter().filter(|b| is(&b.params)).count()
    }

    /// An executor took the queue item of `id`: it runs as the job's next
    /// build number, which is returned.
    pub fn start(&mut self, id: &str) -> u64 {
        let at = self
            .queue
            .iter()
            .position(|i| i.params.get("PROW_JOB_ID").is_some_and(|v| v == id))
            .unwrap_or_else(|| panic!("fake Jenkins: no queue item of {id}"));
        let item = self.queue.remove(at);
        let number = self
            .builds
            .iter()
            .filter(|b| b.job == item.job)
            .map(|b| b.number)
            .max()
            .unwrap_or(0)
            + 1;
        self.builds.push(Build {
            job: item.job,
            number,
            params: item.params,
            building: true,
            result: None,
            timestamp_ms: self.now_ms,
            console: format!("Started by remote host\nBuilding #{number}\n"),
        });
        number
    }

    /// The build of `id` ended with `result`, its console ending with
    /// `tail`.
    pub fn finish(&mut self, id: &str, result: &str, tail: &str) {
        let build = self.build_of(id);
        build.building = false;
        build.result = Some(result.into());
        build.console.push_str(tail);
        build.console.push_str(&format!("Finished: {result}\n"));
    }

    /// Whether the build of `id` is still building, and its result.
    pub fn build_state(&mut self, id: &str) -> (bool, Option<String>) {
        let b = self.build_of(id);
        (b.building, b.result.clone())
    }

    /// Whether a queue item of `id` waits.
    pub fn is_queued(&self, id: &str) -> bool {
        self.queue
            .iter()
            .any(|i| i.params.get("PROW_JOB_ID").is_some_and(|v| v == id))
    }

    /// The parameters the build of `id` was queued with.
    pub fn params_of(&self, id: &str) -> BTreeMap<String, String> {
        let is = |p: &BTreeMap<String, String>| p.get("PROW_JOB_ID").is_some_and(|v| v == id);
        self.queue
            .iter()
            .map(|i| &i.params)
            .chain(self.builds.iter().map(|b| &b.params))
            .find(|p| is(p))
            .cloned()
            .unwrap_or_default()
    }

    /// Jenkins issues new crumbs from now on: the old one is refused.
    pub fn expire_crumb(&mut self) {
        self.crumb.clear();
    }

    pub fn crumbs_issued(&self) -> u64 {
        self.crumbs_issued
    }

    fn build_of(&mut self, id: &str) -> &mut Build {
        self.builds
            .iter_mut()
            .find(|b| b.params.get("PROW_JOB_ID").is_some_and(|v| v == id))
            .unwrap_or_else(|| panic!("fake Jenkins: no build of {id}"))
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match &self.auth {
            FakeAuth::Anonymous => true,
            FakeAuth::Basic { user, token } => {
                let want =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
                given == format!("Basic {want}")
            }
            FakeAuth::Bearer(token) => given == format!("Bearer {token}"),
        }
    }

    fn crumb_ok(&self, headers: &HeaderMap) -> bool {
        let crumb = headers
            .get("Jenkins-Crumb")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let cookie = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        !self.crumb.is_empty()
            && crumb == self.crumb
            && cookie.contains(&format!("JSESSIONID.fake={}", self.session))
    }
}

fn params_of(query: &str, body: &[u8]) -> BTreeMap<String, String> {
    form_pairs(query.as_bytes())
        .chain(form_pairs(body))
        .collect()
}

/// `application/x-www-form-urlencoded` pairs.
fn form_pairs(bytes: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    bytes
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
}

fn decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parameters_json(params: &BTreeMap<String, String>) -> Value {
    let list: Vec<Value> = params
        .iter()
        .map(|(k, v)| json!({"_class": "hudson.model.StringParameterValue", "name": k, "value": v}))
        .collect();
    json!([
        {"_class": "hudson.model.CauseAction"},
        {"_class": "hudson.model.ParametersAction", "parameters": list}
    ])
}

fn text(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn json_reply(body: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(j): State<JenkinsShared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let params = params_of(&query, &body);
    let mut jenkins = lock(&j);
    let canned = jenkins
        .canned
        .iter()
        .position(|c| c.method == method.as_str() && path.contains(&c.path))
        .and_then(|i| jenkins.canned.remove(i));
    let response = if jenkins.down {
        text(
            503,
            "<html><body>Jenkins is going to shut down</body></html>",
        )
    } else if !jenkins.authorized(&headers) {
        let mut r = text(
            401,
            "<html><head><title>Error 401 Invalid password/token for user: prow</title></head></html>",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Jenkins\""),
        );
        r
    } else {
        match canned {
            Some(c) if !c.act_first => text(c.status, "<html><body>canned</body></html>"),
            other => {
                let r = route(&mut jenkins, &method, &path, &query, &headers, &params);
                match other {
                    Some(c) => text(c.status, "<html><body>canned, after acting</body></html>"),
                    None => r,
                }
            }
        }
    };
    let status = response.status().as_u16();
    jenkins.seen.push(JenkinsSeen {
        method: method.to_string(),
        path,
        query,
        params,
        status,
    });
    response
}

fn route(
    j: &mut FakeJenkins,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
) -> Response {
    let rel = path.trim_start_matches('/');
    if *method == Method::GET && rel == "crumbIssuer/api/json" {
        if !j.csrf {
            return text(404, "<html>Not Found</html>");
        }
        j.crumbs_issued += 1;
        j.crumb = format!("crumb-{}", j.crumbs_issued);
        j.session = format!("s{}", j.crumbs_issued);
        let mut r = json_reply(json!({
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": j.crumb,
            "crumbRequestField": "Jenkins-Crumb",
        }));
        let cookie = format!("JSESSIONID.fake={}; Path=/; HttpOnly", j.session);
        if let Ok(v) = cookie.parse() {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    if *method == Method::POST && j.csrf && !j.crumb_ok(headers) {
        return text(
            403,
            "<html><head><title>Error 403 No valid crumb was included in the request</title></head></html>",
        );
    }
    if *method == Method::GET && rel == "queue/api/json" {
        if !query.contains("tree=") {
            return text(400, "a listing without tree= would be huge");
        }
        let items: Vec<Value> = j
            .queue
            .iter()
            .map(|i| {
                json!({
                    "_class": "hudson.model.Queue$BuildableItem",
                    "id": i.id,
                    "why": "Waiting for next available executor",
                    "actions": parameters_json(&i.params),
                })
            })
            .collect();
        return json_reply(json!({"_class": "hudson.model.Queue", "items": items}));
    }
    if *method == Method::POST && rel == "queue/cancelItem" {
        let id: u64 = params.get("id").and_then(|v| v.parse().ok()).unwrap_or(0);
        j.queue.retain(|i| i.id != id);
        return text(204, "");
    }
    if let Some(job) = rel.strip_suffix("/buildWithParameters") {
        if *method != Method::POST {
            return text(405, "POST only");
        }
        if !j.jobs.iter().any(|k| k == job) {
            return text(404, "<html>Not Found</html>");
        }
        j.next_item += 1;
        let id = j.next_item;
        j.queue.push(Item {
            id,
            job: job.to_string(),
            params: params.clone(),
        });
        let mut r = text(201, "");
        if let Ok(v) = format!("{}/queue/item/{id}/", j.base).parse() {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    if let Some(job) = rel.strip_suffix("/api/json") {
        if !j.jobs.iter().any(|k| k == job) {
            return text(404, "<html>Not Found</html>");
        }
        let mut builds: Vec<&Build> = j.builds.iter().filter(|b| b.job == job).collect();
        builds.sort_by_key(|b| std::cmp::Reverse(b.number));
        let list: Vec<Value> = builds
            .iter()
            .map(|b| {
                json!({
                    "_class": "hudson.model.FreeStyleBuild",
                    "number": b.number,
                    "result": b.result,
                    "building": b.building,
                    "timestamp": b.timestamp_ms,
                    "actions": parameters_json(&b.params),
                })
            })
            .collect();
        return json_reply(json!({"_class": "hudson.model.FreeStyleProject", "builds": list}));
    }
    // `{job}/{number}/consoleText` and `{job}/{number}/stop`.
    for (suffix, want) in [("/consoleText", Method::GET), ("/stop", Method::POST)] {
        let Some(rest) = rel.strip_suffix(suffix) else {
            continue;
        };
        if *method != want {
            return text(405, "wrong method");
        }
        let Some((job, number)) = rest.rsplit_once('/') else {
            return text(404, "<html>Not Found</html>");
        };
        let number: u64 = number.parse().unwrap_or(0);
        let Some(build) = j
            .builds
            .iter_mut()
            .find(|b| b.job == job && b.number == number)
        else {
            return text(404, "<html>Not Found</html>");
        };
        if suffix == "/stop" {
            if build.building {
                build.building = false;
                build.result = Some("ABORTED".into());
                build
                    .console
                    .push_str("Aborted by prow\nFinished: ABORTED\n");
            }
            let mut r = text(302, "");
            if let Ok(v) = format!("/{job}/{number}/").parse() {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain;charset=utf-8")],
            build.console.clone(),
        )
            .into_response();
    }
    text(404, "<html>Not Found</html>")
}

/// Starts the fake on 127.0.0.1 in its own thread; returns its state and URL.
pub fn fake_jenkins(setup: FakeJenkins) -> (JenkinsShared, String) {
    let shared: JenkinsShared = Arc::new(Mutex::new(setup));
    let url = crate::serve::on_own_thread(
        Router::new()
            .fallback(any(handle))
            .with_state(shared.clone()),
        "fake Jenkins",
    );
    lock(&shared).base = url.clone();
    (shared, url)
}
