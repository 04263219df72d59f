//! What must pass before tide merges (Prow's `GetTideContextPolicy` and
//! `presubmitsByPull`): the contexts a head commit must show, and the jobs
//! tide must see pass against the pool's current base.

use std::collections::BTreeSet;

use crate::config::Presubmit;
use crate::config::tide::ContextPolicy;
use crate::plan::matchers::Regexes;

/// The `tide` status context tide itself writes (never counted).
pub const TIDE_CONTEXT: &str = "tide";

/// Prow's `TideContextPolicy` once filled in from the repo's presubmits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextChecker {
    pub required: BTreeSet<String>,
    pub required_if_present: BTreeSet<String>,
    pub optional: BTreeSet<String>,
    pub skip_unknown: bool,
}

impl ContextChecker {
    /// The config's policy for the branch plus the branch's presubmits: the
    /// unconditional required ones are required, the conditional required
    /// ones required if present, the rest optional.
    pub fn new(
        policy: &ContextPolicy,
        presubmits: &[&Presubmit],
        regexes: &Regexes,
        branch: &str,
    ) -> Self {
        let mut c = ContextChecker {
            required: policy.required_contexts.iter().cloned().collect(),
            required_if_present: policy
                .required_if_present_contexts
                .iter()
                .cloned()
                .collect(),
            optional: policy.optional_contexts.iter().cloned().collect(),
            skip_unknown: policy.skip_unknown_contexts.unwrap_or(false),
        };
        c.add_presubmits(presubmits, regexes, branch);
        c
    }

    /// Sorts `presubmits` that can run on `branch` in: the unconditional
    /// required ones are required, the conditional required ones required
    /// if present, the rest optional (also a pull's in-repo jobs, on top of
    /// the pool's).
    pub fn add_presubmits(&mut self, presubmits: &[&Presubmit], regexes: &Regexes, branch: &str) {
        for p in presubmits {
            if !regexes.branch_matches(&p.brancher, branch) {
                continue;
            }
            let context = p.reporter.context.clone();
            if !p.context_required() {
                self.optional.insert(context);
            } else if p.triggers_conditionally() {
                self.required_if_present.insert(context);
            } else {
                self.required.insert(context);
            }
        }
    }

    /// Prow's `IsOptional`: listed optional, or unknown while unknown
    /// contexts are skipped. The `tide` context is never counted.
    pub fn is_optional(&self, context: &str) -> bool {
        if context == TIDE_CONTEXT || self.optional.contains(context) {
            return true;
        }
        if self.required.contains(context) || self.required_if_present.contains(context) {
            return false;
        }
        self.skip_unknown
    }

    /// Required contexts the head does not show at all.
    pub fn missing_required<'a>(
        &'a self,
        present: &'a BTreeSet<&str>,
    ) -> impl Iterator<Item = &'a String> {
        self.required
            .iter()
            .filter(|c| !present.contains(c.as_str()))
    }
}

/// Prow's `jobIsRequiredByTide` and `ShouldRun(branch, files, forced, false)`:
/// the presubmits tide must see pass for a pull into `branch` that changes
/// `files` (`None`: not read, because no job filters on files).
pub fn required_presubmits<'a>(
    presubmits: &[&'a Presubmit],
    regexes: &Regexes,
    branch: &str,
    files: Option<&[String]>,
) -> Vec<&'a Presubmit> {
    presubmits
        .iter()
        .copied()
        .filter(|p| p.context_required() || p.fields.run_before_merge)
        .filter(|p| should_run(p, regexes, branch, files, p.fields.run_before_merge))
        .collect()
}

/// Whether any of `presubmits` decides by changed files (then tide needs a
/// pull's files).
pub fn needs_files(presubmits: &[&Presubmit]) -> bool {
    presubmits.iter().any(|p| {
        (p.context_required() || p.fields.run_before_merge)
            && p.changes.could_run()
            && !p.fields.always_run
    })
}

/// Prow's `Presubmit.ShouldRun` with `defaults = false`.
fn should_run(
    p: &Presubmit,
    regexes: &Regexes,
    branch: &str,
    files: Option<&[String]>,
    forced: bool,
) -> bool {
    if !regexes.branch_matches(&p.brancher, branch) {
        return false;
    }
    if p.fields.always_run || forced {
        return true;
    }
    if !p.changes.could_run() {
        return false;
    }
    let Some(files) = files else {
        return false;
    };
    let m = &p.changes;
    if !m.run_if_changed.is_empty() {
        return regexes
            .get(&m.run_if_changed)
            .is_some_and(|re| files.iter().any(|f| re.is_match(f)));
    }
    regexes
        .get(&m.skip_if_only_changed)
        .is_some_and(|re| files.iter().any(|f| !re.is_match(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presubmit(name: &str, yaml_fields: impl FnOnce(&mut Presubmit)) -> Presubmit {
        let mut p = Presubmit::default();
        p.base.name = name.into();
        p.reporter.context = name.into();
        yaml_fields(&mut p);
        p
    }

    #[test]
    fn required_jobs_are_reported_non_optional_or_run_before_merge_and_would_run() {
        let always = presubmit("unit", |p| p.fields.always_run = true);
        let optional = presubmit("flaky", |p| {
            p.fields.always_run = true;
            p.fields.optional = true;
        });
        let skip_report = presubmit("quiet", |p| {
            p.fields.always_run = true;
            p.reporter.skip_report = true;
        });
        let manual = presubmit("manual", |_| {});
        let manual_rbm = presubmit("e2e", |p| p.fields.run_before_merge = true);
        let docs = presubmit("docs", |p| p.changes.run_if_changed = "^docs/".into());
        let release = presubmit("release", |p| {
            p.fields.always_run = true;
            p.brancher.branches = vec!["release-.*".into()];
        });
        let all = [
            &always,
            &optional,
            &skip_report,
            &manual,
            &manual_rbm,
            &docs,
            &release,
        ];
        let regexes = Regexes::default();
        let names = |files: Option<&[String]>, branch: &str| -> Vec<String> {
            required_presubmits(&all, &regexes, branch, files)
                .iter()
                .map(|p| p.base.name.clone())
                .collect()
        };
        assert_eq!(
            names(None, "main"),
            ["unit", "e2e"],
            "explicit-trigger jobs are not required"
        );
        let files = vec!["docs/a.md".to_string()];
        assert_eq!(names(Some(&files), "main"), ["unit", "e2e", "docs"]);
        assert_eq!(names(None, "release-1.0"), ["unit", "e2e", "release"]);
        assert!(needs_files(&all));
    }

    #[test]
    fn contexts_are_required_optional_or_unknown_as_prow_sorts_them() {
        let always = presubmit("unit", |p| p.fields.always_run = true);
        let optional = presubmit("flaky", |p| {
            p.fields.always_run = true;
            p.fields.optional = true;
        });
        let docs = presubmit("docs", |p| p.changes.run_if_changed = "^docs/".into());
        let policy = ContextPolicy {
            required_contexts: vec!["external-ci".into()],
            ..ContextPolicy::default()
        };
        let c = ContextChecker::new(
            &policy,
            &[&always, &optional, &docs],
            &Regexes::default(),
            "main",
        );
        assert!(!c.is_optional("unit"));
        assert!(c.is_optional("flaky"));
        assert!(!c.is_optional("docs"), "required if present");
        assert!(!c.is_optional("external-ci"));
        assert!(
            !c.is_optional("someone-elses"),
            "unknown contexts count unless skipped"
        );
        assert!(c.is_optional(TIDE_CONTEXT));
        let present: BTreeSet<&str> = ["unit"].into();
        assert_eq!(
            c.missing_required(&present).collect::<Vec<_>>(),
            ["external-ci"]
        );
        let skip = ContextPolicy {
            skip_unknown_contexts: Some(true),
            ..ContextPolicy::default()
        };
        let c = ContextChecker::new(&skip, &[], &Regexes::default(), "main");
        assert!(c.is_optional("someone-elses"));
    }
}
