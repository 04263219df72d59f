//! Replies to `/test ?`, `/test` without a target, `/retest <x>`, `/test all` with
//! nothing to run and `/test <unknown>` — the help Prow gives (`pkg/pjutil/help.go`).
//! The note sentences are kept word for word: Prow and its users' tooling
//! recognise earlier help comments by them when pruning.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::filter::{TEST_ALL, re};

static TEST_HELP: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/test[ \t]*\?\s*$"));
static EMPTY_TEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/test\s*$"));
static RETEST_WITH_TARGET: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/retest[ \t]+\S+"));
static TEST_WITH_ANY_TARGET: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/test[ \t]+\S+"));
static ANY_TEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^/(?:re)?test\b"));

pub(super) const TEST_WITHOUT_TARGET: &str = "The `/test` command needs one or more targets.\n";
pub(super) const RETEST_WITH_TARGET_NOTE: &str =
    "The `/retest` command does not accept any targets.\n";
pub(super) const TARGET_NOT_FOUND: &str = "The specified target(s) for `/test` were not found.\n";
pub(super) const NO_TEST_ALL_JOBS: &str = "No jobs can be run with `/test all`.\n";
const REQUIRED_HEADER: &str = "The following commands are available to trigger required jobs:";
const OPTIONAL_HEADER: &str = "The following commands are available to trigger optional jobs:";

pub(super) fn may_need_help(body: &str) -> bool {
    EMPTY_TEST.is_match(body)
        || RETEST_WITH_TARGET.is_match(body)
        || TEST_WITH_ANY_TARGET.is_match(body)
        || TEST_HELP.is_match(body)
}

/// Whether to answer with help instead of running jobs, and the note to lead with.
pub(super) fn respond_with_help(body: &str, to_run: usize) -> Option<&'static str> {
    if TEST_HELP.is_match(body) {
        Some("")
    } else if EMPTY_TEST.is_match(body) {
        Some(TEST_WITHOUT_TARGET)
    } else if RETEST_WITH_TARGET.is_match(body) {
        Some(RETEST_WITH_TARGET_NOTE)
    } else if to_run == 0 && TEST_ALL.is_match(body) {
        Some(NO_TEST_ALL_JOBS)
    } else if to_run == 0 && TEST_WITH_ANY_TARGET.is_match(body) {
        Some(TARGET_NOT_FOUND)
    } else {
        None
    }
}

/// Whether a comment is one of these help replies (Prow recognises them by the
/// same sentences when pruning).
pub fn is_help_reply(body: &str) -> bool {
    [
        TEST_WITHOUT_TARGET,
        RETEST_WITH_TARGET_NOTE,
        TARGET_NOT_FOUND,
        NO_TEST_ALL_JOBS,
        REQUIRED_HEADER,
        OPTIONAL_HEADER,
        "No presubmit jobs available for",
    ]
    .iter()
    .any(|m| body.contains(m.trim_end()))
}

/// A `/test` or `/retest` makes earlier help replies obsolete.
pub(super) fn prunes_help(body: &str) -> bool {
    ANY_TEST.is_match(body)
}

/// The jobs a help reply lists.
#[derive(Debug, Default)]
pub(super) struct Available {
    /// Names `/test all` would start.
    pub test_all: BTreeSet<String>,
    pub required_commands: BTreeSet<String>,
    pub optional_commands: BTreeSet<String>,
}

pub(super) fn help_message(
    org: &str,
    repo: &str,
    branch: &str,
    note: &str,
    a: &Available,
) -> String {
    if a.test_all.len() + a.required_commands.len() + a.optional_commands.len() == 0 {
        return format!("No presubmit jobs available for {org}/{repo}@{branch}");
    }
    let list = |items: &BTreeSet<String>| -> String {
        items.iter().map(|i| format!("\n```\n{i}\n```")).collect()
    };
    let mut out = note.to_string();
    if !a.required_commands.is_empty() {
        out.push_str(REQUIRED_HEADER);
        out.push_str(&list(&a.required_commands));
        out.push_str("\n\n");
    }
    if !a.optional_commands.is_empty() {
        out.push_str(OPTIONAL_HEADER);
        out.push_str(&list(&a.optional_commands));
        out.push_str("\n\n");
    }
    if a.test_all.len() == a.required_commands.len() + a.optional_commands.len() {
        out.push_str("Use `/test all` to run all jobs.\n");
    } else if !a.test_all.is_empty() {
        out.push_str(
            "Use `/test all` to run the following jobs that were automatically triggered:",
        );
        out.push_str(&list(&a.test_all));
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_given_for_each_of_prows_cases() {
        assert_eq!(respond_with_help("/test ?", 3), Some(""));
        assert_eq!(respond_with_help("/test", 0), Some(TEST_WITHOUT_TARGET));
        assert_eq!(
            respond_with_help("/retest e2e", 0),
            Some(RETEST_WITH_TARGET_NOTE)
        );
        assert_eq!(respond_with_help("/test all", 0), Some(NO_TEST_ALL_JOBS));
        assert_eq!(respond_with_help("/test nope", 0), Some(TARGET_NOT_FOUND));
        assert_eq!(respond_with_help("/test unit", 1), None);
        assert_eq!(respond_with_help("/retest", 0), None);
    }

    #[test]
    fn help_lists_required_then_optional_commands() {
        let a = Available {
            test_all: ["unit".to_string()].into(),
            required_commands: ["/test unit".to_string()].into(),
            optional_commands: ["/test e2e".to_string()].into(),
        };
        assert_eq!(
            help_message("o", "r", "main", TARGET_NOT_FOUND, &a),
            "The specified target(s) for `/test` were not found.\nThe following commands are available to trigger required jobs:\n```\n/test unit\n```\n\nThe following commands are available to trigger optional jobs:\n```\n/test e2e\n```\n\nUse `/test all` to run the following jobs that were automatically triggered:\n```\nunit\n```\n\n"
        );
        assert_eq!(
            help_message("o", "r", "main", "", &Available::default()),
            "No presubmit jobs available for o/r@main"
        );
    }
}
