//! The job page (`/jobs/{id}`, `/view/…/{job}/{build}`): the handler that
//! reads the log, `started.json`/`finished.json` and the job's artifact
//! directory, and the page (a failed clone first, then summary, refs,
//! timeline, how to rerun, the test results, the log, the artifacts, the
//! metadata).

use maud::{Markup, html};
use skiff_core::config::inrepo::SOURCE_ANNOTATION as IN_REPO;
use skiff_core::prowjob::artifacts::{self, BUILD_LOG, FINISHED_JSON, STARTED_JSON};
use skiff_core::prowjob::{ProwJob, ProwJobType, Refs};

use super::lenses::{self, Metadata};
use super::{
    Ctx, base_commit_link, duration, first_pull, layout, maybe_link, pull_commit_link, run_time,
    short_sha, state_badge, time,
};
use crate::log::{self, LogView};
use crate::raw_log::live_log;
use crate::spyglass::{self, Artifacts, CloneFailure, JunitFile};
use crate::{Deps, Reply, ctx, filter, links};

/// What the page shows from the job's artifact directory.
#[derive(Default)]
pub struct Lenses {
    /// The directory and its listing; `None` before the job has one.
    pub artifacts: Option<(String, Artifacts)>,
    pub junit: Vec<JunitFile>,
    pub clone: Option<CloneFailure>,
}

/// The log, metadata and artifacts of a job, then its page.
pub async fn job_page(job: &ProwJob, deps: &Deps<'_>) -> Reply {
    let running = job.status.completion_time.is_none();
    let path = artifacts::artifact_path(job).ok();
    let re = log::highlight_regex(deps.config.and_then(|c| c.prow.deck.spyglass.as_ref()));
    let mut log_section = LogSection::None(if job.status.build_id.is_empty() {
        "No log yet: the job has not started.".into()
    } else if running {
        "No log yet.".into()
    } else {
        "No log was stored for this job.".into()
    });
    let mut metadata = Vec::new();
    let mut lenses = Lenses::default();
    if let Some(path) = &path {
        let mut stored_log = None;
        match deps.logs.get(path, BUILD_LOG).await {
            Ok(Some(bytes)) => {
                let (text, skipped) = log::tail(&bytes, deps.options.log_page_bytes);
                log_section = LogSection::Log {
                    view: log::view(&text, &re, skipped),
                    bytes: bytes.len(),
                };
                stored_log = Some(bytes);
            }
            Ok(None) => {
                // Not stored (yet): the pod's log while the pod is there.
                if let Some(text) = live_log(job, deps).await {
                    let (text, skipped) = log::tail(text.as_bytes(), deps.options.log_page_bytes);
                    log_section = LogSection::Live {
                        view: log::view(&text, &re, skipped),
                    };
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, job = %job.metadata.name, "cannot read the build log");
                log_section = LogSection::None(format!("The log cannot be read right now ({e})."));
            }
        }
        let mut stored_finished = None;
        for (name, implied) in [
            (
                STARTED_JSON,
                job.status
                    .start_time
                    .map(|_| artifacts::started(job).to_json()),
            ),
            (FINISHED_JSON, artifacts::finished(job).map(|f| f.to_json())),
        ] {
            let stored = deps.logs.get(path, name).await.ok().flatten();
            if name == FINISHED_JSON {
                stored_finished = stored
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
            }
            let (bytes, is_stored) = match (stored, implied) {
                (Some(b), _) => (b, true),
                (None, Some(b)) => (b, false),
                (None, None) => continue,
            };
            metadata.push(Metadata {
                name,
                json: pretty_json(&bytes),
                stored: is_stored,
            });
        }
        let listing = deps.logs.list(path).await.map_err(|e| {
            tracing::warn!(error = %e, job = %job.metadata.name, "cannot list the artifacts");
            e.to_string()
        });
        if let Ok(l) = &listing {
            lenses.junit = spyglass::junit_files(deps.logs, path, l).await;
            lenses.clone = spyglass::clone_failure(
                deps.logs,
                path,
                l,
                stored_log.as_deref(),
                stored_finished.as_ref(),
            )
            .await;
        }
        lenses.artifacts = Some((path.clone(), listing));
    }
    let page = job_markup(&ctx(deps, running), job, &log_section, &metadata, &lenses);
    Reply::html(200, page)
}

fn pretty_json(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v)
            .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into()),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub enum LogSection {
    /// The log, with the raw log's size.
    Log {
        view: LogView,
        bytes: usize,
    },
    /// Still running: the pod's log so far.
    Live {
        view: LogView,
    },
    None(String),
}

fn refs_block(r: &Refs, extra: bool) -> Markup {
    html! {
        dl.kv {
            dt { "Repository" }
            dd {
                (maybe_link((!r.repo_link.is_empty()).then(|| r.repo_link.clone()), &r.org_repo()))
                @if extra { " " span.muted { "(extra ref)" } }
            }
            @if !r.base_ref.is_empty() {
                dt { "Base" }
                dd {
                    (r.base_ref)
                    @if !r.base_sha.is_empty() { " at " (maybe_link(base_commit_link(r), short_sha(&r.base_sha))) }
                }
            }
            @for p in &r.pulls {
                dt { "Pull request" }
                dd {
                    (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("#{}", p.number)))
                    @if !p.title.is_empty() { " " (p.title) }
                    @if !p.author.is_empty() {
                        " by " (maybe_link((!p.author_link.is_empty()).then(|| p.author_link.clone()), &p.author))
                    }
                    @if !p.sha.is_empty() { " at " (maybe_link(pull_commit_link(r, p), short_sha(&p.sha))) }
                    " · " a href=(links::pr(&r.org, &r.repo, p.number)) { "all runs of this PR" }
                }
            }
            @if !r.path_alias.is_empty() { dt { "Path alias" } dd { code { (r.path_alias) } } }
        }
    }
}

fn rerun(job: &ProwJob) -> Markup {
    let pr = first_pull(job);
    html! {
        @match (job.spec.r#type, pr) {
            (Some(ProwJobType::Presubmit), Some((r, p))) => {
                p {
                    "Comment on "
                    (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("{}#{}", r.org_repo(), p.number)))
                    ":"
                }
                pre { code { (if job.spec.rerun_command.is_empty() { format!("/test {}", job.spec.job) } else { job.spec.rerun_command.clone() }) } }
                p.muted { code { "/retest" } " reruns every failed job of the PR's head commit." }
            }
            (Some(ProwJobType::Periodic), _) => {
                p { "A periodic runs again on its schedule; " a href=(links::history(job)) { "its history" } " shows every run." }
            }
            (Some(ProwJobType::Postsubmit), _) => {
                p { "A postsubmit runs again on the next push to its branch." }
            }
            _ => { p.muted { "No chat-ops command reruns this job." } }
        }
    }
}

fn log_lines(view: &LogView) -> Markup {
    html! {
        @if view.skipped_bytes > 0 {
            p.muted { "The first " (view.skipped_bytes) " bytes are not shown; the raw log has everything." }
        }
        @if !view.highlighted.is_empty() {
            p {
                (view.highlighted.len()) " highlighted line" @if view.highlighted.len() != 1 { "s" } ": "
                @for (i, n) in view.highlighted.iter().take(20).enumerate() {
                    @if i > 0 { ", " }
                    a href={"#L" (n)} { (n) }
                }
                @if view.highlighted.len() > 20 { ", …" }
            }
        }
        div.log role="log" aria-label="Build log" {
            @for g in &view.groups {
                @if g.folded {
                    details {
                        summary { (g.lines.len()) " lines (" (g.lines[0].number) "–" (g.lines[g.lines.len() - 1].number) ")" }
                        @for l in &g.lines { (line(l)) }
                    }
                } @else {
                    @for l in &g.lines { (line(l)) }
                }
            }
        }
    }
}

fn line(l: &crate::log::Line) -> Markup {
    let id = format!("L{}", l.number);
    html! {
        div id=(id) class=[l.highlighted().then_some("hl")] {
            a href={"#" (id)} { (l.number) }
            @for (hl, text) in &l.pieces {
                @if *hl { mark { (text) } } @else { (text) }
            }
        }
    }
}

pub fn job_markup(
    ctx: &Ctx,
    job: &ProwJob,
    log: &LogSection,
    metadata: &[Metadata],
    lenses: &Lenses,
) -> Markup {
    let s = &job.spec;
    let st = &job.status;
    let title = format!(
        "{} #{}",
        s.job,
        if st.build_id.is_empty() {
            "-"
        } else {
            &st.build_id
        }
    );
    let body = html! {
        h1 { (s.job) " " (state_badge(job)) }
        @if !st.description.is_empty() { p { (st.description) } }
        nav aria-label="Job links" {
            p {
                a href=(links::history(job)) { "History of " (s.job) }
                @if let Some((r, p)) = first_pull(job) {
                    " · " a href=(links::pr(&r.org, &r.repo, p.number)) { "PR #" (p.number) " runs" }
                }
                @if !st.build_id.is_empty() { " · " a href=(links::raw_log(job)) { "Raw log" } }
                @if !lenses.junit.is_empty() { " · " a href="#junit" { "Test results" } }
                @if lenses.artifacts.is_some() { " · " a href="#artifacts" { "Artifacts" } }
                " · " a href=(links::api(job)) { "JSON" }
            }
        }
        @if let Some(c) = &lenses.clone { (lenses::clone_section(c)) }
        h2 { "Summary" }
        dl.kv {
            dt { "Type" } dd { (s.r#type.map_or("", |t| t.as_str())) }
            @if let Some(from) = job.metadata.annotations.get(IN_REPO) {
                dt { "Defined in" } dd.in-repo { "in-repo config " code { (from) } }
            }
            @if let Some(of) = job.metadata.annotations.get(crate::operator::RERUN_OF) {
                dt { "Rerun of" } dd {
                    a href=(format!("/jobs/{of}")) { code { (of) } }
                    @if let Some(by) = job.metadata.labels.get(crate::operator::RERUN_BY) { " by " (by) }
                }
            }
            dt { "Job id" } dd { code { (job.metadata.name) } }
            @if !st.build_id.is_empty() { dt { "Build" } dd { code { (st.build_id) } } }
            dt { "Cluster" } dd { (filter::cluster(job)) }
            @if !s.agent.is_empty() { dt { "Agent" } dd { (s.agent) } }
            @if !s.context.is_empty() { dt { "Context" } dd { (s.context) } }
            @if !st.pod_name.is_empty() { dt { "Pod" } dd { code { (st.pod_name) } } }
            @if !s.namespace.is_empty() { dt { "Namespace" } dd { (s.namespace) } }
            dt { "Reported" } dd { (if s.report { "yes" } else { "no" }) }
            @if s.max_concurrency > 0 { dt { "Max concurrency" } dd { (s.max_concurrency) } }
            @if let Some(pod) = &s.pod_spec {
                @for c in &pod.containers {
                    dt { "Container" }
                    dd {
                        code { (c.image.as_deref().unwrap_or("")) }
                        @let cmd: Vec<&str> = c.command.iter().flatten().chain(c.args.iter().flatten()).map(String::as_str).collect();
                        @if !cmd.is_empty() { " " code { (cmd.join(" ")) } }
                    }
                }
            }
        }
        @if let Some(r) = &s.refs {
            h2 { "Refs" }
            (refs_block(r, false))
        }
        @for r in &s.extra_refs {
            @if s.refs.is_none() && s.extra_refs.first().is_some_and(|f| std::ptr::eq(f, r)) { h2 { "Refs" } }
            (refs_block(r, true))
        }
        h2 { "Timeline" }
        ol.timeline {
            @if let Some(t) = st.start_time { li { "Triggered " (time(t)) } }
            @if let Some(t) = st.pending_time {
                li {
                    "Pending " (time(t))
                    @if let Some(s0) = st.start_time { span.muted { " (after " (duration(t.as_second() - s0.as_second())) ")" } }
                }
            }
            @match st.completion_time {
                Some(t) => li {
                    "Finished " (time(t)) ": " (state_badge(job))
                    @if let Some(p) = st.pending_time.or(st.start_time) { span.muted { " (ran " (duration(t.as_second() - p.as_second())) ")" } }
                },
                None => li { "Running for " (run_time(job, ctx.now).unwrap_or_default()) },
            }
        }
        h2 { "Rerun" }
        (super::job_actions(ctx, job, false))
        (rerun(job))
        @if !lenses.junit.is_empty() { (lenses::junit_section(&lenses.junit)) }
        h2 #log { "Build log" }
        @match log {
            LogSection::Log { view, bytes } => {
                p.muted { (view.total_lines) " lines, " (bytes) " bytes." }
                (log_lines(view))
            }
            LogSection::Live { view } => {
                p.muted { "Not stored yet: the pod's log so far." }
                (log_lines(view))
            }
            LogSection::None(why) => { p { (why) } }
        }
        @if let Some((dir, listing)) = &lenses.artifacts { (lenses::artifacts_section(dir, listing)) }
        (lenses::metadata_section(metadata))
    };
    layout(ctx, &title, body)
}
