//! The job page's Spyglass parts, as Prow's lenses show them but without
//! JavaScript: a failed clone first, the JUnit results (totals, then each
//! failed test with its message, its output folded), the artifacts browser
//! and the metadata of `started.json`/`finished.json` (the metadata lens's
//! fields, and the decorated job's `repos`, `repo-commit`, `revision` and
//! `metadata`). Every value from the job is escaped by maud; nothing from
//! the bucket becomes markup.

use std::collections::BTreeMap;

use jiff::Timestamp;
use maud::{Markup, html};
use serde_json::Value;
use skiff_core::junit::{Outcome, TestCase, TestResult};

use super::{duration, time};
use crate::links;
use crate::spyglass::{Artifacts, CloneFailure, JunitFile};

/// Failed tests shown in full; the rest are counted.
const MAX_FAILED_SHOWN: usize = 500;
/// Names listed under "passed" and "skipped".
const MAX_NAMES_LISTED: usize = 10_000;
/// Objects listed in the artifacts browser.
const MAX_ARTIFACT_ROWS: usize = 2_000;
/// A message's first line, as a failed test's summary shows it.
const SUMMARY_CHARS: usize = 160;

/// `512 B`, `1.5 KiB`, `3.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A case's time: `0.12s` under a minute, else the page's `5m3s`.
fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        duration(s as i64)
    }
}

/// Prow's `ClassName: Name`, without repeating a class the name starts with.
fn case_name(c: &TestCase) -> String {
    if c.classname.is_empty() || c.name.starts_with(&c.classname) {
        c.name.clone()
    } else {
        format!("{}: {}", c.classname, c.name)
    }
}

/// The artifacts browser's row id for `name` (ids may not hold spaces).
pub fn anchor(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!("artifact-{name}")
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > SUMMARY_CHARS {
        let cut: String = line.chars().take(SUMMARY_CHARS).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

// ---------------------------------------------------------------------------
// A failed clone

pub fn clone_section(c: &CloneFailure) -> Markup {
    html! {
        section.alert #clone-failed aria-labelledby="clone" {
            h2 #clone { "Cloning failed" }
            p { "The job's repositories could not be cloned, so no test ran." }
            @if !c.failed.is_empty() {
                ul {
                    @for (repo, command) in &c.failed {
                        li {
                            code { (repo) }
                            @if let Some(cmd) = command { ": " code { (cmd) } }
                        }
                    }
                }
            }
            @match &c.log {
                Some((text, skipped)) => {
                    h3 { "Clone log" }
                    @if *skipped > 0 { p.muted { "The first " (skipped) " bytes are not shown." } }
                    pre.clone-log tabindex="0" aria-label="Clone log" { code { (text) } }
                }
                None => { p.muted { "No clone log was stored." } }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The JUnit lens

/// One test's runs, and the file it came from.
struct Test<'a> {
    file: &'a str,
    result: TestResult<'a>,
}

pub fn junit_section(files: &[JunitFile]) -> Markup {
    let tests: Vec<Test<'_>> = files
        .iter()
        .flat_map(|f| {
            f.report.results().into_iter().map(move |result| Test {
                file: &f.name,
                result,
            })
        })
        .collect();
    let of = |o: Outcome| tests.iter().filter(move |t| t.result.outcome == o);
    let failed: Vec<&Test<'_>> = of(Outcome::Failed).collect();
    let flaky: Vec<&Test<'_>> = of(Outcome::Flaky).collect();
    let skipped: Vec<&Test<'_>> = of(Outcome::Skipped).collect();
    let passed: Vec<&Test<'_>> = of(Outcome::Passed).collect();
    let seconds_total: f64 = files.iter().map(|f| f.report.totals.duration).sum();
    html! {
        section #junit-lens aria-labelledby="junit" {
            h2 #junit { "Test results" }
            @for f in files {
                @if let Some(why) = f.problem() {
                    p.err role="note" {
                        code { (f.name) } ": " (why)
                        @if f.report.cases.is_empty() { "." } @else { ". The results below include what was read before that." }
                    }
                }
            }
            @if tests.is_empty() {
                p { "No tests were recorded." }
            } @else {
                p.totals {
                    @if failed.is_empty() {
                        strong.pass { "All " (tests.len() - skipped.len()) " tests passed" }
                    } @else {
                        strong.fail { (failed.len()) " of " (tests.len()) " tests failed" }
                    }
                    @if !flaky.is_empty() { " · " (flaky.len()) " flaky" }
                    " · " (skipped.len()) " skipped"
                    " · " (passed.len()) " passed"
                    @if seconds_total > 0.0 { " · " (seconds(seconds_total)) }
                    " · from " (files.len()) " JUnit file" @if files.len() != 1 { "s" }
                }
                @if !failed.is_empty() {
                    h3 { "Failed (" (failed.len()) ")" }
                    (case_list(&failed, "failed"))
                }
                @if !flaky.is_empty() {
                    h3 { "Flaky (" (flaky.len()) ")" }
                    p.muted { "Failed, and passed when run again." }
                    (case_list(&flaky, "flaky"))
                }
                @if !skipped.is_empty() {
                    details.tests #skipped-tests {
                        summary { (skipped.len()) " skipped" }
                        (names(&skipped, true))
                    }
                }
                @if !passed.is_empty() {
                    details.tests #passed-tests {
                        summary { (passed.len()) " passed" }
                        (names(&passed, false))
                    }
                }
            }
        }
    }
}

/// Failed (or flaky) tests, each a `<details>`: the name and the message's
/// first line, then everything each failed run said.
fn case_list(tests: &[&Test<'_>], class: &str) -> Markup {
    html! {
        ul.cases class=(class) {
            @for t in tests.iter().take(MAX_FAILED_SHOWN) {
                @let runs = &t.result.runs;
                @let failing: Vec<(usize, &&TestCase)> = runs.iter().enumerate().filter(|(_, c)| c.failure.is_some()).collect();
                @let first = failing.first().map_or(runs[0], |(_, c)| *c);
                li {
                    details.case {
                        summary {
                            span.name { (case_name(first)) }
                            " " span.muted { (seconds(first.time)) }
                            @let msg = first_line(first.message());
                            @if !msg.is_empty() { br; span.msg { (msg) } }
                        }
                        div.case-body {
                            p.muted {
                                "In " a href=(format!("#{}", anchor(t.file))) { code { (t.file) } }
                                @if !first.suite.is_empty() { ", suite " code { (first.suite) } }
                                @if runs.len() > 1 { ", " (runs.len()) " runs" }
                            }
                            @for (i, c) in &failing {
                                @if runs.len() > 1 { h4 { "Run " (i + 1) " of " (runs.len()) } }
                                (failure(c))
                            }
                        }
                    }
                }
            }
        }
        @if tests.len() > MAX_FAILED_SHOWN {
            p.muted { (tests.len() - MAX_FAILED_SHOWN) " more are not shown here; the JUnit files have them." }
        }
    }
}

fn failure(c: &TestCase) -> Markup {
    let f = c.failure.as_ref();
    let message = f.map_or("", |f| f.message.as_str());
    let text = f.map_or("", |f| f.text.as_str());
    html! {
        @if let Some(f) = f {
            p {
                @if f.error { "Error" } @else { "Failure" }
                @if !f.kind.is_empty() { " (" code { (f.kind) } ")" }
                @if !message.is_empty() && !message.contains('\n') { ": " code.message { (message) } }
            }
            @if message.contains('\n') { pre tabindex="0" { code { (message) } } }
            @if !text.trim().is_empty() && text != message { pre tabindex="0" { code { (text) } } }
        }
        @for (label, out) in [("Standard output", &c.system_out), ("Standard error", &c.system_err)] {
            @if !out.trim().is_empty() {
                details.output {
                    summary { (label) " (" (size(out.len() as u64)) ")" }
                    pre tabindex="0" { code { (out) } }
                }
            }
        }
    }
}

/// Passed or skipped tests: one line each.
fn names(tests: &[&Test<'_>], reasons: bool) -> Markup {
    html! {
        ul.names {
            @for t in tests.iter().take(MAX_NAMES_LISTED) {
                @let c = t.result.runs[0];
                li {
                    (case_name(c))
                    @if reasons {
                        @if let Some(why) = c.skipped.as_deref().filter(|w| !w.trim().is_empty()) {
                            span.muted { ": " (first_line(why)) }
                        }
                    } @else {
                        " " span.muted { (seconds(c.time)) }
                    }
                }
            }
        }
        @if tests.len() > MAX_NAMES_LISTED {
            p.muted { (tests.len() - MAX_NAMES_LISTED) " more are not listed." }
        }
    }
}

// ---------------------------------------------------------------------------
// The artifacts browser

pub fn artifacts_section(dir: &str, artifacts: &Artifacts) -> Markup {
    html! {
        section aria-labelledby="artifacts" {
            h2 #artifacts { "Artifacts" }
            @match artifacts {
                Err(why) => { p { "The artifacts cannot be listed right now (" (why) ")." } }
                Ok(l) if l.objects.is_empty() => { p.muted { "No artifacts were stored for this job." } }
                Ok(l) => {
                    @let total: u64 = l.objects.iter().map(|o| o.size).sum();
                    p.muted {
                        (l.objects.len()) " object" @if l.objects.len() != 1 { "s" } ", " (size(total))
                        " under " code { (dir) }
                        @if l.truncated { "; the listing stops there, more objects exist" }
                        "."
                    }
                    div.scroll {
                        table #artifact-list {
                            caption { "Every object the job stored, with a link to its raw bytes" }
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Size" } } }
                            tbody {
                                @for o in l.objects.iter().take(MAX_ARTIFACT_ROWS) {
                                    tr id=(anchor(&o.name)) {
                                        td { a href=(links::artifact(dir, &o.name)) { (o.name) } }
                                        td title=(format!("{} bytes", o.size)) { (size(o.size)) }
                                    }
                                }
                            }
                        }
                    }
                    @if l.objects.len() > MAX_ARTIFACT_ROWS {
                        p.muted { (l.objects.len() - MAX_ARTIFACT_ROWS) " more objects are not listed here." }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The metadata lens

/// `started.json` / `finished.json`: the stored document, or the one the
/// record implies while none is stored.
pub struct Metadata {
    pub name: &'static str,
    pub json: String,
    pub stored: bool,
}

/// Prow's `flattenMetadata`: nested objects as dotted keys; strings (and,
/// here, numbers and booleans) as text.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    let Some(map) = v.as_object() else {
        return;
    };
    for (k, v) in map {
        match v {
            Value::Object(_) => flatten(&key(k), v, out),
            Value::String(s) if !s.is_empty() => {
                out.insert(key(k), s.clone());
            }
            Value::Number(n) => {
                out.insert(key(k), n.to_string());
            }
            Value::Bool(b) => {
                out.insert(key(k), b.to_string());
            }
            _ => {}
        }
    }
}

fn unix(v: Option<&Value>) -> Option<Timestamp> {
    Timestamp::from_second(v?.as_i64()?).ok()
}

fn text<'v>(doc: Option<&'v Value>, key: &str) -> Option<&'v str> {
    doc?.get(key)?.as_str().filter(|s| !s.is_empty())
}

pub fn metadata_section(docs: &[Metadata]) -> Markup {
    let parsed = |name: &str| {
        docs.iter()
            .find(|d| d.name == name)
            .and_then(|d| serde_json::from_str::<Value>(&d.json).ok())
    };
    let started = parsed(skiff_core::prowjob::artifacts::STARTED_JSON);
    let finished = parsed(skiff_core::prowjob::artifacts::FINISHED_JSON);
    let (s, f) = (started.as_ref(), finished.as_ref());
    let start = unix(s.and_then(|s| s.get("timestamp")));
    let end = unix(f.and_then(|f| f.get("timestamp")));
    let repos: BTreeMap<String, String> = s
        .and_then(|s| s.get("repos"))
        .and_then(|r| r.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut meta = BTreeMap::new();
    for doc in [s, f].into_iter().flatten() {
        if let Some(m) = doc.get("metadata") {
            flatten("", m, &mut meta);
        }
    }
    let result = text(f, "result").map(str::to_string).or_else(|| {
        f.and_then(|f| f.get("passed"))
            .and_then(|p| p.as_bool())
            .map(|p| if p { "passed" } else { "failed" }.to_string())
    });
    html! {
        @if !docs.is_empty() {
            section aria-labelledby="metadata" {
                h2 #metadata { "Metadata" }
                dl.kv #metadata-fields {
                    @if let Some(t) = start { dt { "Started" } dd { (time(t)) } }
                    @if let Some(t) = end {
                        dt { "Finished" } dd { (time(t)) }
                        @if let Some(s0) = start { dt { "Elapsed" } dd { (duration(t.as_second() - s0.as_second())) } }
                    }
                    @if let Some(r) = &result { dt { "Result" } dd { (r) } }
                    @if let Some(r) = text(f, "revision") { dt { "Revision" } dd { code { (r) } } }
                    @if let Some(r) = text(s, "repo-commit") { dt { "Repo commit" } dd { code { (r) } } }
                    @if let Some(p) = text(s, "pull") { dt { "Pull" } dd { (p) } }
                    @if let Some(n) = text(s, "node") { dt { "Node" } dd { (n) } }
                    @for (repo, refs) in &repos {
                        dt { "Repo " code { (repo) } }
                        dd { code { (refs) } }
                    }
                    @for (k, v) in &meta {
                        dt { code { (k) } }
                        dd { (v) }
                    }
                }
                @for m in docs {
                    details.doc {
                        summary { code { (m.name) } }
                        @if !m.stored { p.muted { "Not stored yet: what the job record says." } }
                        pre tabindex="0" { code { (m.json) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_browser() {
        for (bytes, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 * 1024 * 1024, "5.0 MiB"),
        ] {
            assert_eq!(size(bytes), want);
        }
    }

    #[test]
    fn metadata_flattens_like_prows_lens() {
        let mut out = BTreeMap::new();
        flatten(
            "",
            &serde_json::json!({"a": "x", "b": {"c": "y", "d": {"e": 1}}, "empty": "", "list": [1]}),
            &mut out,
        );
        let got: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, [("a", "x"), ("b.c", "y"), ("b.d.e", "1")]);
    }
}
