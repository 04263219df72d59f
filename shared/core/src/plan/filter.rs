//! Prow's presubmit filter algebra (`pkg/pjutil/filter.go`): each filter says, for
//! a job, `(matches, forced, defaults)`; the first filter that matches decides;
//! then the job's own `ShouldRun(branch, changes, forced, defaults)` has the last
//! word — so branch filters are never overridden, not even by `/test`.

use std::collections::BTreeSet;

use regex::Regex;
use std::sync::LazyLock;

use super::matchers::Regexes;
use crate::config::Presubmit;

pub(super) static TEST_ALL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/test all,?($|\s.*)"));
pub(super) static RETEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/retest\s*$"));
pub(super) static RETEST_REQUIRED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^/retest-required\s*$"));
pub(super) static TEST_MANUAL_REQUIRED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^/test-manual-required\s*$"));
pub(super) static OK_TO_TEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/ok-to-test\s*$"));
pub(super) static OK_TO_TEST_CANCEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^/ok-to-test\s+cancel\s*$"));

/// Compiles a constant pattern; they are all tested below.
pub(super) fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => panic!("constant regex {pattern:?} is invalid: {e}"),
    }
}

/// The state of each reported context on the PR's head commit.
#[derive(Debug, Default, Clone)]
pub(super) struct Contexts {
    pub failed: BTreeSet<String>,
    pub all: BTreeSet<String>,
}

/// One of Prow's filters.
#[derive(Debug)]
pub(super) enum Filter<'a> {
    /// A job whose `trigger` matches the comment: forced, default true.
    Command { body: &'a str },
    /// `/retest`: failed contexts, plus automatic jobs never reported.
    Retest { contexts: &'a Contexts },
    /// `/retest-required`: as `/retest`, skipping optional jobs.
    RetestRequired { contexts: &'a Contexts },
    /// `/test-manual-required`: required comment-only jobs, forced.
    TestManualRequired,
    /// `/test all`, `/ok-to-test` and new PRs: every automatic job.
    TestAll,
}

/// `(matches, forced, defaults)`.
pub(super) type Verdict = (bool, bool, bool);

impl Filter<'_> {
    fn should_run(&self, p: &Presubmit, regexes: &Regexes) -> Verdict {
        match self {
            Filter::Command { body } => {
                let m = regexes.trigger_matches(&p.base.name, &p.fields.trigger, body);
                (m, m, true)
            }
            Filter::Retest { contexts } => {
                let failed = contexts.failed.contains(&p.reporter.context);
                let m = failed
                    || (!p.needs_explicit_trigger() && !contexts.all.contains(&p.reporter.context));
                (m, false, failed)
            }
            Filter::RetestRequired { contexts } => {
                if p.fields.optional {
                    (false, false, false)
                } else {
                    Filter::Retest { contexts }.should_run(p, regexes)
                }
            }
            Filter::TestManualRequired => {
                if p.fields.optional || !p.needs_explicit_trigger() || p.changes.could_run() {
                    (false, false, false)
                } else {
                    (true, true, false)
                }
            }
            Filter::TestAll => (!p.needs_explicit_trigger(), false, false),
        }
    }

    /// Why a job this filter does not match is left out, in a user's words.
    fn miss_reason(&self, p: &Presubmit) -> String {
        match self {
            Filter::TestAll => format!(
                "runs only when asked for with `{}`: it is not always_run and has no run_if_changed or skip_if_only_changed",
                p.fields.rerun_command
            ),
            Filter::Command { .. } => {
                format!(
                    "not requested by this comment (trigger: `{}`)",
                    p.fields.trigger
                )
            }
            Filter::Retest { .. } | Filter::RetestRequired { .. } => {
                "not failed on the head commit, and not an automatic job that has never run there"
                    .to_string()
            }
            Filter::TestManualRequired => {
                "`/test-manual-required` only starts required jobs that run solely on request"
                    .into()
            }
        }
    }
}

/// Several filters: the first that matches decides.
pub(super) struct Filters<'a>(pub Vec<Filter<'a>>);

impl Filters<'_> {
    pub fn should_run(&self, p: &Presubmit, regexes: &Regexes) -> Verdict {
        for f in &self.0 {
            let v = f.should_run(p, regexes);
            if v.0 {
                return v;
            }
        }
        (false, false, false)
    }

    pub fn miss_reason(&self, p: &Presubmit) -> String {
        match self.0.as_slice() {
            [only] => only.miss_reason(p),
            [first, ..] if self.0.iter().all(|f| matches!(f, Filter::Command { .. })) => {
                first.miss_reason(p)
            }
            _ => {
                let mut reasons: Vec<String> = self.0.iter().map(|f| f.miss_reason(p)).collect();
                reasons.dedup();
                reasons.join("; ")
            }
        }
    }
}

/// Prow's `PresubmitFilter` for a comment body. `contexts` is asked for only
/// when the body holds `/retest` or `/retest-required`.
pub(super) fn comment_filters<'a>(
    honor_ok_to_test: bool,
    body: &'a str,
    contexts: Option<&'a Contexts>,
) -> Filters<'a> {
    let mut filters = vec![Filter::Command { body }];
    if let Some(contexts) = contexts {
        if RETEST.is_match(body) {
            filters.push(Filter::Retest { contexts });
        }
        if RETEST_REQUIRED.is_match(body) {
            filters.push(Filter::RetestRequired { contexts });
        }
    }
    if TEST_MANUAL_REQUIRED.is_match(body) {
        filters.push(Filter::TestManualRequired);
    }
    if (honor_ok_to_test && OK_TO_TEST.is_match(body)) || TEST_ALL.is_match(body) {
        filters.push(Filter::TestAll);
    }
    Filters(filters)
}

/// Whether a comment holds anything the trigger plugin acts on.
pub(super) fn comment_matches_trigger(
    body: &str,
    presubmits: &[Presubmit],
    regexes: &Regexes,
) -> bool {
    RETEST.is_match(body)
        || RETEST_REQUIRED.is_match(body)
        || TEST_MANUAL_REQUIRED.is_match(body)
        || OK_TO_TEST.is_match(body)
        || OK_TO_TEST_CANCEL.is_match(body)
        || TEST_ALL.is_match(body)
        || super::help::may_need_help(body)
        || presubmits
            .iter()
            .any(|p| regexes.trigger_matches(&p.base.name, &p.fields.trigger, body))
}

/// The contexts of the head commit from earlier job records: the latest
/// reported run per context; failed = failure or error (and aborted, which
/// GitHub shows as failure). Pending ones are neither failed nor rerun.
pub(super) fn contexts_on(jobs: &[crate::prowjob::ProwJob], head_sha: &str) -> Contexts {
    use crate::prowjob::latest::{head_sha as tested, latest_runs};
    use crate::prowjob::{ProwJobState, ProwJobType};
    let reported_on_head = jobs.iter().filter(|j| {
        j.spec.r#type == Some(ProwJobType::Presubmit)
            && j.spec.report
            && tested(j) == Some(head_sha)
    });
    let mut out = Contexts::default();
    for j in latest_runs(reported_on_head, |j| j.spec.context.as_str()) {
        out.all.insert(j.spec.context.clone());
        if matches!(
            j.status.state,
            Some(ProwJobState::Failure | ProwJobState::Error | ProwJobState::Aborted)
        ) {
            out.failed.insert(j.spec.context.clone());
        }
    }
    out
}

/// Prow's `markdown.DropCodeBlock`: commands inside fenced code blocks are
/// quotes, not commands.
pub(super) fn drop_code_blocks(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut fence: Option<&str> = None;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let marker = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push_str(line),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_regexes_are_prows() {
        for (re, yes, no) in [
            (
                &*TEST_ALL,
                vec!["/test all", "/test all, now", "x\n/test all"],
                vec!["/test alll", "/test  all", " /test all"],
            ),
            (
                &*RETEST,
                vec!["/retest", "/retest  ", "hi\n/retest\n"],
                vec!["/retest foo", "/retest-required"],
            ),
            (
                &*RETEST_REQUIRED,
                vec!["/retest-required"],
                vec!["/retest-required x"],
            ),
            (
                &*TEST_MANUAL_REQUIRED,
                vec!["/test-manual-required"],
                vec!["/test-manual"],
            ),
            (
                &*OK_TO_TEST,
                vec!["/ok-to-test", "/ok-to-test \n"],
                vec!["/ok-to-test cancel", "/ok-to-testing"],
            ),
            (
                &*OK_TO_TEST_CANCEL,
                vec!["/ok-to-test cancel", "/ok-to-test   cancel "],
                vec!["/ok-to-test"],
            ),
        ] {
            for y in yes {
                assert!(re.is_match(y), "{re} should match {y:?}");
            }
            for n in no {
                assert!(!re.is_match(n), "{re} should not match {n:?}");
            }
        }
    }

    #[test]
    fn commands_in_code_blocks_are_dropped() {
        let body = "see:\n```\n/test all\n```\n/retest\n~~~\n/ok-to-test\n~~~\n";
        assert_eq!(drop_code_blocks(body), "see:\n/retest\n");
    }
}
