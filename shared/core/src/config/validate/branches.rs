//! Branch and changed-file regexes: each compiled once, reported when invalid,
//! and matched the way Prow's `Brancher` matches them.

use std::collections::HashMap;

use regex::Regex;

use super::{At, Validator};
use crate::config::jobs::Brancher;

/// Compiles each distinct pattern once: thousands of jobs share `^main$`.
#[derive(Default)]
pub(super) struct RegexCache {
    compiled: HashMap<String, Result<Regex, String>>,
}

impl RegexCache {
    pub(super) fn get(&mut self, pattern: &str) -> Result<&Regex, String> {
        self.compiled
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).map_err(|e| one_line(&e.to_string())))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Prow's `Brancher.ShouldRun`, with the lists OR-joined, unanchored.
    fn should_run(&mut self, b: &Brancher, branch: &str) -> bool {
        if b.runs_against_all_branches() {
            return true;
        }
        if !b.skip_branches.is_empty()
            && self
                .get(&b.skip_branches.join("|"))
                .is_ok_and(|re| re.is_match(branch))
        {
            return false;
        }
        b.branches.is_empty()
            || self
                .get(&b.branches.join("|"))
                .is_ok_and(|re| re.is_match(branch))
    }

    /// Prow's `Brancher.Intersects`, including its quirk of testing one job's
    /// branch patterns as if they were branch names.
    pub(super) fn intersects(&mut self, a: &Brancher, b: &Brancher) -> bool {
        if a.runs_against_all_branches() || b.runs_against_all_branches() {
            return true;
        }
        if !a.branches.is_empty() {
            if !b.branches.is_empty() {
                return a.branches.iter().any(|x| b.branches.contains(x));
            }
            return a.branches.iter().any(|x| self.should_run(b, x));
        }
        if b.branches.is_empty() {
            return true;
        }
        self.intersects(b, a)
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Validator<'_> {
    pub(super) fn brancher(&mut self, at: &At, b: &Brancher) {
        for (key, list) in [
            ("branches", &b.branches),
            ("skip_branches", &b.skip_branches),
        ] {
            if list.is_empty() {
                continue;
            }
            if let Err(e) = self.regexes.get(&list.join("|")) {
                self.error(at, &[key], format!("invalid regex: {e}"));
            }
        }
    }

    pub(super) fn change_matcher(
        &mut self,
        at: &At,
        run_if_changed: &str,
        skip_if_only_changed: &str,
    ) {
        if !run_if_changed.is_empty() && !skip_if_only_changed.is_empty() {
            self.error(
                at,
                &["skip_if_only_changed"],
                "run_if_changed and skip_if_only_changed are mutually exclusive",
            );
        }
        for (key, pattern) in [
            ("run_if_changed", run_if_changed),
            ("skip_if_only_changed", skip_if_only_changed),
        ] {
            if !pattern.is_empty()
                && let Err(e) = self.regexes.get(pattern)
            {
                self.error(at, &[key], format!("invalid regex: {e}"));
            }
        }
    }
}
