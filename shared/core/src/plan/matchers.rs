//! The regexes a plan evaluates — comment triggers, branch filters, changed-file
//! filters — compiled once per pattern and kept, so planning one event costs
//! microseconds, not a regex compile per job.
//!
//! Prow's default trigger `(?m)^/test( | .* )<name>,?($|\s.*)` is matched by hand
//! (same semantics, with the job name inserted unescaped as Prow does, so `.` in
//! a name matches any character): thousands of jobs use it and compiling each
//! would dominate a cold start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;

use crate::config::{Brancher, RegexpChangeMatcher};

/// Compiled patterns, shared by every plan made from one config.
#[derive(Debug, Default)]
pub struct Regexes {
    compiled: Mutex<HashMap<String, Option<Arc<Regex>>>>,
    change_sets: Mutex<HashMap<String, Arc<ChangeIndex>>>,
}

/// All changed-file patterns of one repo's jobs in one multi-pattern regex, so
/// a PR's changed files are scanned once for every job instead of once per job.
#[derive(Debug)]
pub struct ChangeIndex {
    patterns: Vec<String>,
    /// Per job, in config order: its pattern and whether it is run_if_changed
    /// (else skip_if_only_changed); `None` without a change matcher.
    jobs: Vec<Option<(usize, bool)>>,
    set: Option<regex_automata::meta::Regex>,
}

/// Per pattern: did any changed file match, did every changed file match.
#[derive(Debug)]
pub struct ChangeVerdicts<'a> {
    index: &'a ChangeIndex,
    any: Vec<bool>,
    all: Vec<bool>,
}

impl ChangeIndex {
    fn new<'m>(matchers: impl Iterator<Item = &'m RegexpChangeMatcher>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut jobs = Vec::new();
        for m in matchers {
            let (pattern, run_if) = if !m.run_if_changed.is_empty() {
                (&m.run_if_changed, true)
            } else if !m.skip_if_only_changed.is_empty() {
                (&m.skip_if_only_changed, false)
            } else {
                jobs.push(None);
                continue;
            };
            let i = match patterns.iter().position(|p| p == pattern) {
                Some(i) => i,
                None => {
                    patterns.push(pattern.clone());
                    patterns.len() - 1
                }
            };
            jobs.push(Some((i, run_if)));
        }
        let set = regex_automata::meta::Regex::new_many(&patterns).ok();
        ChangeIndex {
            patterns,
            jobs,
            set,
        }
    }

    /// Scans `files` once against every pattern.
    pub fn evaluate<'a>(&'a self, regexes: &Regexes, files: &[String]) -> ChangeVerdicts<'a> {
        let n = self.patterns.len();
        let mut any = vec![false; n];
        let mut all = vec![true; n];
        match &self.set {
            Some(set) => {
                // Count matches per pattern instead of testing every pattern
                // against every file: the work is proportional to the hits.
                let mut hits = vec![0usize; n];
                let mut found = regex_automata::PatternSet::new(set.pattern_len());
                for f in files {
                    found.clear();
                    set.which_overlapping_matches(&regex_automata::Input::new(f), &mut found);
                    for pid in found.iter() {
                        hits[pid.as_usize()] += 1;
                    }
                }
                for i in 0..n {
                    any[i] = hits[i] > 0;
                    all[i] = hits[i] == files.len();
                }
            }
            // One pattern does not compile: fall back to one regex each.
            None => {
                for (i, p) in self.patterns.iter().enumerate() {
                    let re = regexes.get(p);
                    for f in files {
                        let m = re.as_ref().is_some_and(|re| re.is_match(f));
                        any[i] |= m;
                        all[i] &= m;
                    }
                    if re.is_none() {
                        all[i] = false;
                    }
                }
            }
        }
        ChangeVerdicts {
            index: self,
            any,
            all,
        }
    }
}

impl ChangeVerdicts<'_> {
    /// Prow's `RunsAgainstChanges` for the job at `job` (its index in the
    /// list the index was built from): run_if_changed runs if any file
    /// matches, skip_if_only_changed if any file does not.
    pub fn runs(&self, job: usize) -> bool {
        match self.index.jobs.get(job).copied().flatten() {
            Some((i, true)) => self.any[i],
            Some((i, false)) => !self.all[i],
            None => false,
        }
    }
}

impl Regexes {
    /// The change index for `key` (a repo and job kind), built from
    /// `patterns` the first time.
    pub fn change_index<'m>(
        &self,
        key: &str,
        matchers: impl FnOnce() -> Vec<&'m RegexpChangeMatcher>,
    ) -> Arc<ChangeIndex> {
        let mut map = match self.change_sets.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(key.to_string())
            .or_insert_with(|| Arc::new(ChangeIndex::new(matchers().into_iter())))
            .clone()
    }

    /// The compiled pattern, or `None` if it does not compile (the config
    /// checker reports those; here they simply match nothing).
    pub fn get(&self, pattern: &str) -> Option<Arc<Regex>> {
        let mut map = match self.compiled.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(re) = map.get(pattern) {
            return re.clone();
        }
        let re = Regex::new(pattern).ok().map(Arc::new);
        map.insert(pattern.to_string(), re.clone());
        re
    }

    /// Whether `body` triggers a presubmit with this `trigger` regex.
    pub fn trigger_matches(&self, name: &str, trigger: &str, body: &str) -> bool {
        if trigger.is_empty() {
            return false;
        }
        if is_default_trigger(name, trigger) {
            return default_trigger_matches(name, body);
        }
        self.get(trigger).is_some_and(|re| re.is_match(body))
    }

    /// Prow's `Brancher.ShouldRun`: skip_branches wins; lists OR-joined,
    /// matched unanchored.
    pub fn branch_matches(&self, b: &Brancher, branch: &str) -> bool {
        if b.runs_against_all_branches() {
            return true;
        }
        if !b.skip_branches.is_empty()
            && self
                .get(&b.skip_branches.join("|"))
                .is_some_and(|re| re.is_match(branch))
        {
            return false;
        }
        b.branches.is_empty()
            || self
                .get(&b.branches.join("|"))
                .is_some_and(|re| re.is_match(branch))
    }
}

const DEFAULT_PREFIX: &str = "(?m)^/test( | .* )";
const DEFAULT_SUFFIX: &str = r",?($|\s.*)";

/// Whether `trigger` is Prow's default for `name` (checked without allocating).
fn is_default_trigger(name: &str, trigger: &str) -> bool {
    trigger
        .strip_prefix(DEFAULT_PREFIX)
        .and_then(|t| t.strip_suffix(DEFAULT_SUFFIX))
        == Some(name)
}

/// Go's `\s` (ASCII): tab, newline, form feed, carriage return, space.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// `(?m)^/test( | .* )NAME,?($|\s.*)` without a regex engine.
pub fn default_trigger_matches(name: &str, body: &str) -> bool {
    body.split('\n').any(|line| line_matches(name, line))
}

fn line_matches(name: &str, line: &str) -> bool {
    let Some(rest) = line.strip_prefix("/test ") else {
        return false;
    };
    // NAME must start right after "/test " or after any later space: that is
    // exactly what `( | .* )` allows.
    let starts = std::iter::once(0).chain(
        rest.char_indices()
            .filter(|(_, c)| *c == ' ')
            .map(|(i, _)| i + 1),
    );
    for start in starts {
        if let Some(after) = name_at(name, &rest[start..])
            && tail_ok(after)
        {
            return true;
        }
    }
    false
}

/// If `text` starts with `name` (where `.` in the name is any character but a
/// newline), the text after it.
fn name_at<'a>(name: &str, text: &'a str) -> Option<&'a str> {
    let mut chars = text.char_indices();
    for n in name.chars() {
        let (_, c) = chars.next()?;
        if n != '.' && n != c {
            return None;
        }
    }
    Some(chars.next().map_or("", |(i, _)| &text[i..]))
}

/// `,?($|\s.*)` after the name. Dropping the comma first is enough: giving it
/// back would leave `,` where `$` or whitespace is needed.
fn tail_ok(after: &str) -> bool {
    let after = after.strip_prefix(',').unwrap_or(after);
    after.is_empty() || after.chars().next().is_some_and(is_go_space)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_trigger_for;

    #[test]
    fn default_triggers_are_recognised_without_allocating() {
        assert!(is_default_trigger(
            "pull-unit",
            &default_trigger_for("pull-unit")
        ));
        assert!(!is_default_trigger(
            "pull-unit",
            &default_trigger_for("pull-e2e")
        ));
        assert!(!is_default_trigger("x", "(?m)^/go x$"));
    }

    #[test]
    fn hand_written_default_trigger_agrees_with_the_regex() {
        let names = ["unit", "pull-unit", "e2e.gce", "a"];
        let bodies = [
            "/test unit",
            "/test unit\n",
            "/test unit,",
            "/test unit, e2e",
            "/test unit,e2e",
            "/test e2e unit",
            "/test e2e, unit",
            "/test e2e,unit",
            "/test  unit",
            "/test unit-race",
            "/test unitx",
            "/testunit",
            " /test unit",
            "lgtm\n/test unit\nthanks",
            "/test unit\tnow",
            "/test unit\r\n",
            "/test pull-unit",
            "/test e2eXgce",
            "/test e2e\ngce",
            "/test all",
            "/test ",
            "/test",
            "/retest",
            "/test a b c unit d",
            "/test é unit",
            "/test unit,,",
        ];
        for name in names {
            let re = Regex::new(&default_trigger_for(name)).unwrap();
            for body in bodies {
                assert_eq!(
                    default_trigger_matches(name, body),
                    re.is_match(body),
                    "name {name:?} body {body:?}"
                );
            }
        }
    }

    #[test]
    fn branches_are_or_joined_unanchored_and_skip_wins() {
        let r = Regexes::default();
        let b = |branches: &[&str], skip: &[&str]| Brancher {
            branches: branches.iter().map(|s| s.to_string()).collect(),
            skip_branches: skip.iter().map(|s| s.to_string()).collect(),
        };
        assert!(r.branch_matches(&b(&[], &[]), "anything"));
        assert!(
            r.branch_matches(&b(&["main"], &[]), "maintenance"),
            "unanchored"
        );
        assert!(
            r.branch_matches(&b(&["main"], &[]), "not-main"),
            "unanchored"
        );
        assert!(!r.branch_matches(&b(&["^main$"], &[]), "maintenance"));
        assert!(r.branch_matches(&b(&["^main$", "^release-"], &[]), "release-1.2"));
        assert!(!r.branch_matches(&b(&["release"], &["release-1.0"]), "release-1.0"));
        assert!(r.branch_matches(&b(&[], &["^dev"]), "main"));
        assert!(!r.branch_matches(&b(&[], &["^dev"]), "dev-x"));
    }

    #[test]
    fn run_if_changed_needs_any_match_skip_if_only_changed_needs_any_miss() {
        let r = Regexes::default();
        let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let matchers = [
            RegexpChangeMatcher {
                run_if_changed: r"^docs/".into(),
                skip_if_only_changed: String::new(),
            },
            RegexpChangeMatcher {
                run_if_changed: String::new(),
                skip_if_only_changed: r"\.md$".into(),
            },
            RegexpChangeMatcher::default(),
            RegexpChangeMatcher {
                run_if_changed: "(".into(),
                skip_if_only_changed: String::new(),
            },
        ];
        let index = r.change_index("t", || matchers.iter().collect());
        let table: &[(&[&str], [bool; 4])] = &[
            (&["a.go", "docs/x.md"], [true, true, false, false]),
            (&["a.go"], [false, true, false, false]),
            (&["pkg/docs/x"], [false, true, false, false]),
            (&["a.md", "b.md"], [false, false, false, false]),
            (&["docs/a.md"], [true, false, false, false]),
            (&[], [false, false, false, false]),
        ];
        for (changed, want) in table {
            let v = index.evaluate(&r, &files(changed));
            let got = [v.runs(0), v.runs(1), v.runs(2), v.runs(3)];
            assert_eq!(&got, want, "{changed:?}");
        }
    }
}
