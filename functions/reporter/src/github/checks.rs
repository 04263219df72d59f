//! Check runs (GitHub's Checks API, for GitHub App installs): one run per job,
//! named by the job's context, created at the job's first report and updated
//! at each later one; the final update carries the tail of the job's log,
//! and the summary of a failed one names its failed tests (from the job's
//! JUnit files, as the deck's junit lens reads them).
//!
//! GitHub's "Re-run" button on such a run sends `check_run.rerequested` with
//! the run's name, which the trigger turns into a new run of that job.

use skiff_core::junit::{self, Outcome};
use skiff_core::ports::{CheckRun, LogStore, PortResult};
use skiff_core::prowjob::artifacts::{BUILD_LOG, artifact_path};
use skiff_core::prowjob::{ProwJob, ProwJobState, Refs};

use skiff_core::keys;

use crate::{ReporterDeps, later};

/// How many lines of the log a check run shows.
const LOG_LINES: usize = 60;
/// GitHub refuses an `output.text` over 65535 characters.
const MAX_TEXT: usize = 60_000;
/// How long the "a run may exist" key lives: longer than any job.
const CREATE_KEY_SECONDS: i64 = 30 * 24 * 3600;
/// Failed tests named in a report; the rest are counted.
pub(super) const NAMED_TESTS: usize = 5;
/// JUnit files read for a report, and their bytes in all: a report names a
/// few tests, it does not need every file of a job that writes hundreds.
const MAX_JUNIT_FILES: usize = 20;
const MAX_JUNIT_BYTES: u64 = junit::MAX_BYTES;
/// A test's name or message as a report quotes it.
const MAX_QUOTE_CHARS: usize = 120;

/// Creates or updates `job`'s check run for `state`; its id and what was sent.
pub(crate) async fn report(
    job: &ProwJob,
    refs: &Refs,
    sha: &str,
    state: ProwJobState,
    deps: &ReporterDeps<'_>,
) -> PortResult<(i64, CheckRun)> {
    let mut run = check_run(job, sha, state, log_tail(job, state, deps).await);
    if matches!(state, ProwJobState::Failure | ProwJobState::Error)
        && let Some(logs) = deps.logs
    {
        run.summary.push_str(&failed_tests_summary(
            &failed_tests(job, logs).await,
            &job.status.url,
        ));
    }
    let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
    let known = job
        .metadata
        .annotations
        .get(keys::CHECK_RUN_ANNOTATION)
        .and_then(|id| id.parse::<i64>().ok());
    if let Some(id) = known {
        deps.scm.update_check_run(org, repo, id, &run).await?;
        return Ok((id, run));
    }
    // A create whose id was never recorded (a crash in between) must not
    // leave a second run of the same name: only the first attempt creates
    // blindly, a later one looks for the run by the job's id first.
    let key = keys::check_run_created(&job.metadata.name);
    let first = deps
        .store
        .remember(&key, later(deps.clock.now(), CREATE_KEY_SECONDS))
        .await?;
    let found = if first {
        None
    } else {
        deps.scm.find_check_run(org, repo, &run).await?
    };
    match found {
        Some(id) => {
            deps.scm.update_check_run(org, repo, id, &run).await?;
            Ok((id, run))
        }
        None => match deps.scm.create_check_run(org, repo, &run).await {
            Ok(id) => Ok((id, run)),
            Err(e) => {
                // Nothing was created: the next attempt may create blindly.
                if let Err(forget) = deps.store.forget(&key).await {
                    tracing::warn!(error = %forget, key, "cannot forget the check-run key");
                }
                Err(e)
            }
        },
    }
}

/// The check run for `job` in `state`.
fn check_run(job: &ProwJob, sha: &str, state: ProwJobState, log: Option<String>) -> CheckRun {
    let (status, conclusion) = match state {
        ProwJobState::Scheduling | ProwJobState::Triggered => ("queued", None),
        ProwJobState::Pending => ("in_progress", None),
        ProwJobState::Success => ("completed", Some("success")),
        ProwJobState::Failure | ProwJobState::Error => ("completed", Some("failure")),
        // Prow's status for an abort is `failure`; a check run can say what
        // happened.
        ProwJobState::Aborted => ("completed", Some("cancelled")),
    };
    let description = if job.status.description.is_empty() {
        format!("Job {}.", state.as_str())
    } else {
        job.status.description.clone()
    };
    let mut summary = description.clone();
    if !job.status.url.is_empty() {
        summary.push_str(&format!("\n\n[Job log and artifacts]({})", job.status.url));
    }
    let text = log
        .map(|tail| format!("Last lines of the log:\n\n```\n{tail}\n```"))
        .unwrap_or_default();
    CheckRun {
        name: job.spec.context.clone(),
        head_sha: sha.to_owned(),
        external_id: job.metadata.name.clone(),
        details_url: job.status.url.clone(),
        status: status.to_owned(),
        conclusion: conclusion.map(str::to_owned),
        started_at: (state != ProwJobState::Triggered)
            .then_some(job.status.start_time)
            .flatten(),
        completed_at: conclusion.and(job.status.completion_time),
        title: description,
        summary,
        text,
    }
}

/// The last lines of a finished job's log, if the log store has it.
async fn log_tail(job: &ProwJob, state: ProwJobState, deps: &ReporterDeps<'_>) -> Option<String> {
    let logs = deps.logs?;
    if !matches!(
        state,
        ProwJobState::Success | ProwJobState::Failure | ProwJobState::Error
    ) {
        return None;
    }
    let path = artifact_path(job).ok()?;
    let bytes = match logs.get(&path, BUILD_LOG).await {
        Ok(b) => b?,
        Err(e) => {
            // The run is still worth updating without its log.
            tracing::warn!(error = %e, path, "cannot read the log for the check run");
            return None;
        }
    };
    Some(tail(&String::from_utf8_lossy(&bytes)))
}

/// A test a finished job's JUnit files say failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FailedTest {
    pub name: String,
    /// The failure's message (first line), possibly empty.
    pub message: String,
}

/// The failed tests (every run failed; flaky ones passed in the end) of
/// `job`'s `artifacts/**/junit*.xml`, in file order. Nothing when the job
/// has no artifact directory or its files cannot be read: the report goes
/// out without them.
pub(super) async fn failed_tests(job: &ProwJob, logs: &dyn LogStore) -> Vec<FailedTest> {
    let Ok(path) = artifact_path(job) else {
        return Vec::new();
    };
    let listing = match logs.list(&path).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, path, "cannot list the job's artifacts for its failed tests");
            return Vec::new();
        }
    };
    let mut budget = MAX_JUNIT_BYTES;
    let mut out = Vec::new();
    let files = listing
        .objects
        .iter()
        .filter(|o| junit::is_junit_artifact(&o.name) && o.size <= junit::MAX_BYTES)
        .take(MAX_JUNIT_FILES);
    for object in files {
        if object.size > budget {
            break;
        }
        budget -= object.size;
        let bytes = match logs.get(&path, &object.name).await {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, path, name = %object.name, "cannot read a JUnit file");
                continue;
            }
        };
        let report = junit::parse(&bytes);
        for t in report.results() {
            if t.outcome != Outcome::Failed {
                continue;
            }
            let c = t
                .runs
                .iter()
                .find(|c| c.failure.is_some())
                .unwrap_or(&t.runs[0]);
            let message = if c.failure.is_some() { c.message() } else { "" };
            out.push(FailedTest {
                name: c.name.clone(),
                message: first_line(message),
            });
        }
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// `s` as a Markdown code span on one line: no backtick can end it early,
/// no newline can start a block, and it is at most [`MAX_QUOTE_CHARS`]
/// long. Inside a code span nothing renders: no mention, link or markup
/// from a test's name reaches GitHub as such.
pub(super) fn code_span(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let clean = clean.trim();
    let quoted: String = if clean.chars().count() > MAX_QUOTE_CHARS {
        let cut: String = clean.chars().take(MAX_QUOTE_CHARS).collect();
        format!("{cut}…")
    } else {
        clean.to_string()
    };
    if quoted.is_empty() {
        "` `".to_string()
    } else {
        format!("`{quoted}`")
    }
}

/// `` `TestA`, `TestB` and 3 more ([job page](url)) ``: the first
/// [`NAMED_TESTS`] names, then how many more, then where to see them all.
pub(super) fn named_tests(tests: &[FailedTest], url: &str) -> String {
    let mut line = tests
        .iter()
        .take(NAMED_TESTS)
        .map(|t| code_span(&t.name))
        .collect::<Vec<_>>()
        .join(", ");
    if tests.len() > NAMED_TESTS {
        line.push_str(&format!(" and {} more", tests.len() - NAMED_TESTS));
    }
    if !url.is_empty() {
        line.push_str(&format!(" ([job page]({url}))"));
    }
    line
}

/// What a failed check run's summary adds: each named test with its
/// message, then how many more. Empty when no test failed.
fn failed_tests_summary(tests: &[FailedTest], url: &str) -> String {
    if tests.is_empty() {
        return String::new();
    }
    let mut out = format!("\n\n**Failed tests** ({}):\n", tests.len());
    for t in tests.iter().take(NAMED_TESTS) {
        out.push_str(&format!("- {}", code_span(&t.name)));
        if !t.message.is_empty() {
            out.push_str(&format!(": {}", code_span(&t.message)));
        }
        out.push('\n');
    }
    if tests.len() > NAMED_TESTS {
        out.push_str(&format!("- and {} more", tests.len() - NAMED_TESTS));
        if !url.is_empty() {
            out.push_str(&format!(" on the [job page]({url})"));
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// The last [`LOG_LINES`] lines, at most [`MAX_TEXT`] characters (cut at the
/// front, where the older lines are).
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    let start = lines.len().saturating_sub(LOG_LINES);
    let text = lines[start..].join("\n");
    let count = text.chars().count();
    if count <= MAX_TEXT {
        return text;
    }
    text.chars().skip(count - MAX_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_keeps_the_last_lines_within_githubs_limit() {
        let log: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&log);
        assert!(t.starts_with("line 41\n"), "{t}");
        assert!(t.ends_with("line 100"), "{t}");
        let long = "x".repeat(MAX_TEXT * 2);
        assert_eq!(tail(&long).chars().count(), MAX_TEXT);
    }

    fn failed(n: usize) -> Vec<FailedTest> {
        (1..=n)
            .map(|i| FailedTest {
                name: format!("Test{i}"),
                message: format!("want {i}"),
            })
            .collect()
    }

    #[test]
    fn a_summary_names_five_failed_tests_then_counts_the_rest() {
        assert_eq!(failed_tests_summary(&[], "https://deck/j"), "");
        assert_eq!(
            failed_tests_summary(&failed(2), "https://deck/j"),
            "\n\n**Failed tests** (2):\n- `Test1`: `want 1`\n- `Test2`: `want 2`"
        );
        assert_eq!(
            failed_tests_summary(&failed(7), "https://deck/j"),
            "\n\n**Failed tests** (7):\n- `Test1`: `want 1`\n- `Test2`: `want 2`\n- `Test3`: `want 3`\n\
             - `Test4`: `want 4`\n- `Test5`: `want 5`\n- and 2 more on the [job page](https://deck/j)"
        );
        assert_eq!(
            named_tests(&failed(6), "https://deck/j"),
            "`Test1`, `Test2`, `Test3`, `Test4`, `Test5` and 1 more ([job page](https://deck/j))"
        );
        assert_eq!(named_tests(&failed(1), ""), "`Test1`");
    }

    #[test]
    fn quoted_names_cannot_break_out_of_their_code_span() {
        for (name, want) in [
            ("TestA", "`TestA`"),
            ("a`b", "`a'b`"),
            ("line1\nline2", "`line1 line2`"),
            (
                "@alice see [x](http://evil)",
                "`@alice see [x](http://evil)`",
            ),
            ("", "` `"),
        ] {
            assert_eq!(code_span(name), want, "{name:?}");
        }
        let long = code_span(&"x".repeat(500));
        assert_eq!(long.chars().count(), MAX_QUOTE_CHARS + 3);
        assert!(long.ends_with("…`"));
    }

    #[test]
    fn states_map_to_check_run_status_and_conclusion() {
        let job = ProwJob::default();
        for (state, status, conclusion) in [
            (ProwJobState::Triggered, "queued", None),
            (ProwJobState::Pending, "in_progress", None),
            (ProwJobState::Success, "completed", Some("success")),
            (ProwJobState::Failure, "completed", Some("failure")),
            (ProwJobState::Error, "completed", Some("failure")),
            (ProwJobState::Aborted, "completed", Some("cancelled")),
        ] {
            let run = check_run(&job, "abc", state, None);
            assert_eq!(run.status, status, "{state:?}");
            assert_eq!(run.conclusion.as_deref(), conclusion, "{state:?}");
        }
    }
}
