//! What changes things from the deck: signing in with GitHub (Prow's
//! `/github-login` flow), and rerunning and aborting jobs (`POST /rerun`,
//! `POST /abort`). Off unless the front end hands the deck an [`Operator`]:
//! then every page carries a session cookie (signed, `HttpOnly`,
//! `SameSite=Lax`, `Secure` outside localhost, expiring), every form its
//! CSRF token (the hidden input `csrf_token`, or the `X-CSRF-Token` header),
//! and a state-changing request without a valid pair is refused.

mod auth;
pub mod session;

use std::collections::BTreeMap;

use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{GitHubLogin, PortError, Queue, Scm};
use skiff_core::prowjob::from_config::configured_job;
use skiff_core::prowjob::labels::{CREATED_BY_TIDE, EVENT_GUID};
use skiff_core::prowjob::new::{job_id, new_prow_job};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use tracing::{info, warn};

pub use auth::Verdict;
use session::{Session, SignInState};

use crate::{DeckRequest, Deps, Reply, TEXT, error, not_found, unavailable, visible};

/// Who the deck lets in.
pub enum SignIn<'a> {
    /// `skiff dev --deck-auth none` on a loopback listener: everyone may
    /// rerun and abort (the CSRF rule still holds).
    Anyone,
    /// GitHub OAuth: rules in `deck.rerun_auth_configs` name who may.
    GitHub(&'a dyn GitHubLogin),
}

/// What rerun and abort need.
pub struct Operator<'a> {
    pub sign_in: SignIn<'a>,
    /// Signs the cookies (Secrets Manager on AWS, a file in `skiff dev`).
    pub cookie_key: &'a [u8],
    /// `Secure` cookies: everywhere but plain-HTTP localhost.
    pub secure_cookies: bool,
    /// Org and team checks of the rerun auth rules, and `/test` trust.
    pub scm: Option<&'a dyn Scm>,
    /// Reruns start as dispatch messages, like every other job.
    pub dispatch: &'a dyn Queue,
}

/// The person looking at a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewer {
    /// Empty until signed in.
    pub login: String,
    pub csrf: String,
    /// Whether sign-in is GitHub's (pages then offer it).
    pub github: bool,
    sid: String,
    /// The session was made for this request: its cookie goes out.
    new_cookie: Option<String>,
}

impl Viewer {
    pub(crate) fn cookie(&self) -> Option<&str> {
        self.new_cookie.as_deref()
    }
}

/// The viewer of `req`: its session, or a new anonymous one.
pub(crate) fn viewer(op: &Operator<'_>, req: &DeckRequest, now: i64) -> Viewer {
    let github = matches!(op.sign_in, SignIn::GitHub(_));
    if let Some(s) = session::session(op.cookie_key, req, now) {
        return Viewer {
            csrf: session::csrf_token(op.cookie_key, &s.sid),
            login: s.login,
            github,
            sid: s.sid,
            new_cookie: None,
        };
    }
    let Some(sid) = session::random_token() else {
        return Viewer {
            github,
            ..Viewer::default()
        };
    };
    let s = Session {
        login: String::new(),
        sid: sid.clone(),
        exp: now + session::SESSION_SECONDS,
    };
    Viewer {
        login: String::new(),
        csrf: session::csrf_token(op.cookie_key, &sid),
        github,
        new_cookie: Some(session::set_cookie(
            session::SESSION_COOKIE,
            &session::sign(op.cookie_key, &s),
            session::SESSION_SECONDS,
            op.secure_cookies,
        )),
        sid,
    }
}

fn param(req: &DeckRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn form_field(req: &DeckRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn see_other(location: String) -> Reply {
    let mut r = Reply::new(303, TEXT, format!("See {location}\n"));
    r.location = Some(location);
    r
}

/// A local path to come back to (never another site).
fn local_dest(dest: Option<String>) -> String {
    dest.filter(|d| d.starts_with('/') && !d.starts_with("//") && !d.contains('\\'))
        .unwrap_or_else(|| "/".into())
}

/// `GET /github-login`: off to GitHub, with a signed `state` to check on
/// the way back.
pub(crate) fn github_login(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let Some(op) = deps.operator else {
        return not_found(deps, "Sign-in is not configured for this deck.");
    };
    let SignIn::GitHub(gh) = op.sign_in else {
        return not_found(
            deps,
            "Sign-in is off (skiff dev --deck-auth none): everyone may rerun and abort.",
        );
    };
    let Some(state) = session::random_token() else {
        return error(deps, 500, "Sign-in failed", "No randomness is available.");
    };
    let now = deps.clock.now().as_second();
    let pending = SignInState {
        state: state.clone(),
        dest: local_dest(param(req, "dest")),
        exp: now + session::STATE_SECONDS,
    };
    let mut r = see_other(gh.authorize_url(&state));
    r.headers.push((
        "set-cookie",
        session::set_cookie(
            session::STATE_COOKIE,
            &session::sign(op.cookie_key, &pending),
            session::STATE_SECONDS,
            op.secure_cookies,
        ),
    ));
    r
}

/// `GET /github-login/redirect?code=&state=`: GitHub sends the person back;
/// the code becomes their login, kept in a new session.
pub(crate) async fn github_redirect(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let Some(op) = deps.operator else {
        return not_found(deps, "Sign-in is not configured for this deck.");
    };
    let SignIn::GitHub(gh) = op.sign_in else {
        return not_found(deps, "Sign-in is off (skiff dev --deck-auth none).");
    };
    let now = deps.clock.now().as_second();
    let pending = session::sign_in_state(op.cookie_key, req, now);
    let (Some(pending), Some(state), Some(code)) =
        (pending, param(req, "state"), param(req, "code"))
    else {
        return error(
            deps,
            400,
            "Sign-in failed",
            "The sign-in is missing its code or state, or took longer than ten minutes: start again from Sign in.",
        );
    };
    if pending.state != state {
        return error(
            deps,
            400,
            "Sign-in failed",
            "The sign-in's state does not match the one this browser started: start again from Sign in.",
        );
    }
    let login = match gh.login_for_code(&code).await {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "GitHub sign-in failed");
            let status = if e.is_retryable() { 503 } else { 400 };
            return error(deps, status, "Sign-in failed", &e.to_string());
        }
    };
    let Some(sid) = session::random_token() else {
        return error(deps, 500, "Sign-in failed", "No randomness is available.");
    };
    info!(login, "signed in to the deck");
    let s = Session {
        login,
        sid,
        exp: now + session::SESSION_SECONDS,
    };
    let mut r = see_other(pending.dest);
    r.headers.push((
        "set-cookie",
        session::set_cookie(
            session::SESSION_COOKIE,
            &session::sign(op.cookie_key, &s),
            session::SESSION_SECONDS,
            op.secure_cookies,
        ),
    ));
    r.headers.push((
        "set-cookie",
        session::set_cookie(session::STATE_COOKIE, "", 0, op.secure_cookies),
    ));
    r
}

/// The state-changing requests: the session must be the browser's own and
/// the form must carry its CSRF token.
pub(crate) async fn post(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let (Some(op), Some(v)) = (deps.operator, deps.viewer.as_ref()) else {
        let mut r = Reply::new(405, TEXT, "this deck is read-only: use GET\n");
        r.location = None;
        return r;
    };
    let token = form_field(req, "csrf_token")
        .or_else(|| req.header("x-csrf-token").map(str::to_owned))
        .unwrap_or_default();
    if v.new_cookie.is_some() || !session::csrf_ok(op.cookie_key, &v.sid, &token) {
        return error(
            deps,
            403,
            "Forbidden",
            "The request's CSRF token is missing or does not belong to your session: reload the page and try again.",
        );
    }
    match req.path.as_str() {
        "/rerun" => rerun(req, deps, op, v).await,
        "/abort" => abort(req, deps, op, v).await,
        "/logout" => {
            let mut r = see_other("/".into());
            r.headers.push((
                "set-cookie",
                session::set_cookie(session::SESSION_COOKIE, "", 0, op.secure_cookies),
            ));
            r
        }
        _ => not_found(deps, &format!("Nothing takes a POST at {}.", req.path)),
    }
}

async fn the_job(req: &DeckRequest, deps: &Deps<'_>) -> Result<ProwJob, Reply> {
    let Some(id) = param(req, "prowjob").filter(|i| !i.is_empty()) else {
        return Err(error(
            deps,
            400,
            "Bad request",
            "The request did not name the job: add ?prowjob=<id>.",
        ));
    };
    match deps.store.get(&id).await {
        Ok(Some(j)) if visible(&j, deps.config) => Ok(j),
        Ok(_) => Err(not_found(deps, &format!("There is no job with id {id}."))),
        Err(e) => Err(unavailable(deps, &e)),
    }
}

/// Allowed, or the page that says why not.
async fn allowed(
    deps: &Deps<'_>,
    op: &Operator<'_>,
    v: &Viewer,
    job: &ProwJob,
    doing: &str,
) -> Result<String, Reply> {
    match auth::decide(op, deps.config, job, &v.login).await {
        Ok(Verdict::Allowed(rule)) => Ok(rule),
        Ok(Verdict::SignInNeeded) => Err(error(
            deps,
            401,
            "Sign in first",
            &format!(
                "Only people the rerun auth rules name may {doing} this job: sign in with GitHub (/github-login?dest=/jobs/{}).",
                job.metadata.name
            ),
        )),
        Ok(Verdict::Refused(rule)) => {
            info!(
                login = v.login,
                job = job.metadata.name,
                rule,
                "refused: {doing}"
            );
            Err(error(
                deps,
                403,
                "Forbidden",
                &format!("You may not {doing} this job: {rule}"),
            ))
        }
        Err(e) => Err(error(
            deps,
            if e.is_retryable() { 503 } else { 500 },
            "Cannot check who may",
            &format!("Could not verify whether you may {doing} this job: {e}"),
        )),
    }
}

/// The labels and annotations a rerun from the config carries over from the
/// run it repeats (Prow's `ComponentSpecifiedAnnotationsAndLabels`).
const CARRIED: [&str; 2] = [EVENT_GUID, CREATED_BY_TIDE];

/// Who asked for a rerun, on the new record.
pub const RERUN_BY: &str = "skiff.dev/rerun-by";
/// The run a rerun repeats.
pub const RERUN_OF: &str = "skiff.dev/rerun-of";

/// `POST /rerun?prowjob=ID&mode=original|latest`: a new record, same spec
/// (`original`) or the job as the config has it now (`latest`).
async fn rerun(req: &DeckRequest, deps: &Deps<'_>, op: &Operator<'_>, v: &Viewer) -> Reply {
    let job = match the_job(req, deps).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let latest = match param(req, "mode").as_deref() {
        None | Some("") | Some("original") => false,
        Some("latest") => true,
        Some(other) => {
            return error(
                deps,
                400,
                "Bad request",
                &format!("mode={other:?}: use original or latest."),
            );
        }
    };
    let (spec, mut labels, mut annotations) = if latest {
        let Some(config) = deps.config else {
            return error(
                deps,
                503,
                "No config",
                "The config cannot be read, so mode=latest cannot be used now.",
            );
        };
        let Some(kind) = job.spec.r#type else {
            return error(deps, 400, "Bad request", "The job has no type.");
        };
        match configured_job(config, kind, &job.spec.job, job.spec.refs.as_ref()) {
            Ok(c) => {
                let mut labels = c.labels;
                for k in CARRIED {
                    if let Some(val) = job.metadata.labels.get(k) {
                        labels.insert(k.to_string(), val.clone());
                    }
                }
                (c.spec, labels, c.annotations)
            }
            Err(e) => {
                return error(
                    deps,
                    400,
                    "Cannot rerun",
                    &format!("Could not create new prowjob: Failed getting prowjob spec: {e}"),
                );
            }
        }
    } else {
        (
            job.spec.clone(),
            job.metadata.labels.clone(),
            job.metadata.annotations.clone(),
        )
    };
    let now = deps.clock.now();
    // The new record is checked, as Prow checks the job it would create.
    let mut draft = new_prow_job(
        spec.clone(),
        String::new(),
        &BTreeMap::new(),
        &BTreeMap::new(),
        now,
    );
    draft.metadata.labels = labels.clone();
    let rule = match allowed(deps, op, v, &draft, "rerun").await {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let who = if v.login.is_empty() {
        "anyone"
    } else {
        v.login.as_str()
    };
    labels.insert(RERUN_BY.into(), who.to_string());
    annotations.insert(RERUN_OF.into(), job.metadata.name.clone());
    // A form sent twice (a reload, a double click) makes one rerun: the id
    // comes from the form's nonce.
    let nonce = form_field(req, "nonce").unwrap_or_else(|| v.sid.clone());
    let id = job_id(&format!("rerun/{}/{nonce}", job.metadata.name));
    let mut new = new_prow_job(spec, id.clone(), &labels, &annotations, now);
    new.status.description = if v.login.is_empty() {
        format!("Successfully reran {}.", job.metadata.name)
    } else {
        format!("{} successfully reran {}.", v.login, job.metadata.name)
    };
    match deps.store.create(&new).await {
        Ok(_) | Err(PortError::Conflict(_)) => {}
        Err(e) => return unavailable(deps, &e),
    }
    if let Err(e) = op
        .dispatch
        .send(&[DispatchMessage { id: id.clone() }.to_body()])
        .await
    {
        // The record waits as `triggered`; the syncer sends it.
        warn!(error = %e, id, "rerun created but not sent; the syncer sends it");
    }
    info!(
        job = new.spec.job,
        id,
        of = job.metadata.name,
        by = who,
        rule,
        "rerun"
    );
    see_other(format!("/jobs/{id}"))
}

/// Prow's refusal of an abort of a job that is not running.
fn not_abortable(deps: &Deps<'_>, job: &ProwJob) -> Option<Reply> {
    let state = job.status.state;
    if matches!(state, Some(ProwJobState::Triggered | ProwJobState::Pending)) {
        return None;
    }
    let state = state.map_or("", |s| s.as_str());
    Some(error(
        deps,
        400,
        "Cannot abort",
        &format!("Cannot abort job with state: {state:?}."),
    ))
}

/// `POST /abort?prowjob=ID`: a triggered or pending job moves to `aborted`
/// through the usual path (the syncer deletes its pod, the reporter reports).
async fn abort(req: &DeckRequest, deps: &Deps<'_>, op: &Operator<'_>, v: &Viewer) -> Reply {
    let job = match the_job(req, deps).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    if let Some(r) = not_abortable(deps, &job) {
        return r;
    }
    let rule = match allowed(deps, op, v, &job, "abort").await {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let name = job.metadata.name.clone();
    let description = if v.login.is_empty() {
        format!("Successfully aborted {name}.")
    } else {
        format!("{} successfully aborted {name}.", v.login)
    };
    let mut job = job;
    for _ in 0..3 {
        if let Some(r) = not_abortable(deps, &job) {
            return r;
        }
        if job
            .transition(ProwJobState::Aborted, deps.clock.now(), &description)
            .is_err()
        {
            return error(deps, 400, "Cannot abort", "The job cannot be aborted now.");
        }
        match deps.store.update(&job).await {
            Ok(_) => {
                info!(id = name, by = v.login, rule, "aborted from the deck");
                return see_other(format!("/jobs/{name}"));
            }
            // Someone moved it meanwhile: look again.
            Err(PortError::Conflict(_)) => match deps.store.get(&name).await {
                Ok(Some(j)) => job = j,
                Ok(None) => return not_found(deps, &format!("There is no job with id {name}.")),
                Err(e) => return unavailable(deps, &e),
            },
            Err(e) => return unavailable(deps, &e),
        }
    }
    error(deps, 503, "Busy", "The job kept changing: try again.")
}
