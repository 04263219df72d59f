//! The HTML pages, server-rendered with maud (compile-time templates that
//! escape every value they insert). One stylesheet, no JavaScript but the
//! optional auto-refresh; landmarks, labels and a skip link for keyboard and
//! screen-reader users; tables scroll sideways on a phone.
//!
//! One module per page, each with its handler (what the page reads) and its
//! template; `layout` is the frame around them all, and the small pieces
//! several pages show are here.

mod command_help;
mod health;
mod job;
mod job_history;
mod job_list;
mod layout;
mod lenses;
mod plugins;
mod pr_history;
mod tide;

use jiff::Timestamp;
use maud::{Markup, PreEscaped, html};
use skiff_core::prowjob::{ProwJob, Pull, Refs};

use crate::filter;

pub use command_help::command_help;
pub use health::{ConfigVersion, Health, WatchedQueue, health};
pub use job::job_page;
pub use job_history::history;
pub use job_list::{list, render_list};
pub use layout::layout;
pub use plugins::{plugin_help, plugins};
pub use pr_history::pr_history;
pub use tide::{pull_standing, tide, tide_history};

/// What every page needs besides its data.
pub struct Ctx {
    pub now: Timestamp,
    /// The page reloads itself (when the visitor leaves auto-refresh on).
    pub refresh: bool,
    /// Who is looking, when the deck can rerun and abort.
    pub viewer: Option<crate::Viewer>,
}

// ---------------------------------------------------------------------------
// Small pieces

/// The rerun and abort buttons of a job, for a deck that can change things:
/// POST forms carrying the session's CSRF token and a nonce (a form sent
/// twice makes one rerun). `compact` for a list row.
pub fn job_actions(ctx: &Ctx, job: &ProwJob, compact: bool) -> Markup {
    let Some(v) = &ctx.viewer else {
        return html! {};
    };
    let id = &job.metadata.name;
    let nonce = crate::operator::session::random_token().unwrap_or_default();
    let running = matches!(
        job.status.state,
        Some(
            skiff_core::prowjob::ProwJobState::Triggered
                | skiff_core::prowjob::ProwJobState::Pending
        )
    );
    let form = |action: String, label: &str, title: &str| {
        html! {
            form.action method="post" action=(action) {
                input type="hidden" name="csrf_token" value=(v.csrf);
                input type="hidden" name="nonce" value=(nonce);
                button type="submit" title=(title) { (label) }
            }
        }
    };
    html! {
        div.actions {
            (form(format!("/rerun?prowjob={id}&mode=latest"), "Rerun", "A new run with the job as the config has it now"))
            @if !compact {
                (form(format!("/rerun?prowjob={id}&mode=original"), "Rerun as it was", "A new run with this run's exact spec"))
            }
            @if running { (form(format!("/abort?prowjob={id}"), "Abort", "Stop this run")) }
        }
    }
}

/// `2026-11-23 10:00:00` (UTC).
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `11-23 10:00:00` (UTC): the list's compact form.
fn short_time(t: Timestamp) -> String {
    t.strftime("%m-%d %H:%M:%S").to_string()
}

/// `45s`, `5m3s`, `2h7m`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Run time: start to completion, or to now while it runs.
pub fn run_time(job: &ProwJob, now: Timestamp) -> Option<String> {
    let start = job.status.start_time?;
    let end = job.status.completion_time.unwrap_or(now);
    Some(duration(end.as_second() - start.as_second()))
}

pub fn state_str(job: &ProwJob) -> &'static str {
    job.status.state.map_or("unknown", |s| s.as_str())
}

fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn first_pull(job: &ProwJob) -> Option<(&Refs, &Pull)> {
    let r = job.spec.refs.as_ref()?;
    Some((r, r.pulls.first()?))
}

/// The commit link of a pull: its own, else the repo's commit page.
fn pull_commit_link(r: &Refs, p: &Pull) -> Option<String> {
    if !p.commit_link.is_empty() {
        Some(p.commit_link.clone())
    } else if !r.repo_link.is_empty() && !p.sha.is_empty() {
        Some(format!("{}/commit/{}", r.repo_link, p.sha))
    } else {
        None
    }
}

fn base_commit_link(r: &Refs) -> Option<String> {
    if !r.repo_link.is_empty() && !r.base_sha.is_empty() {
        Some(format!("{}/commit/{}", r.repo_link, r.base_sha))
    } else if !r.base_link.is_empty() {
        Some(r.base_link.clone())
    } else {
        None
    }
}

fn maybe_link(href: Option<String>, text: &str) -> Markup {
    html! {
        @match href {
            Some(h) => a href=(h) { (text) },
            None => (text),
        }
    }
}

/// The revision cell: `#42 (9f8e7d1) by alice` for a pull, `main 0a1b2c3`
/// for a push, nothing for a periodic without refs.
fn revision(job: &ProwJob) -> Markup {
    let Some(r) = filter::main_refs(job) else {
        return html! {};
    };
    html! {
        @if r.pulls.is_empty() {
            (r.base_ref)
            @if !r.base_sha.is_empty() {
                " " (maybe_link(base_commit_link(r), short_sha(&r.base_sha)))
            }
        } @else {
            @for (i, p) in r.pulls.iter().enumerate() {
                @if i > 0 { ", " }
                (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("#{}", p.number)))
                @if !p.sha.is_empty() {
                    " (" (maybe_link(pull_commit_link(r, p), short_sha(&p.sha))) ")"
                }
                @if !p.author.is_empty() { " by " (p.author) }
            }
        }
    }
}

fn state_badge(job: &ProwJob) -> Markup {
    let s = state_str(job);
    html! { span class={"badge st " (s)} { (s) } }
}

// ---------------------------------------------------------------------------
// Errors

pub fn error_page(ctx: &Ctx, status: u16, heading: &str, message: &str) -> Markup {
    let body = html! {
        h1 { (heading) }
        p.err role="alert" { (message) }
        p { a href="/" { "All jobs" } " · " a href="/command-help" { "Command help" } }
    };
    layout(ctx, &format!("{status} {heading}"), body)
}

/// Text that was already escaped by maud, as a string.
pub fn render(m: Markup) -> String {
    let PreEscaped(s) = m;
    s
}
