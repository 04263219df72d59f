//! Rules of presubmits and postsubmits (Prow's `validatePresubmits` and
//! `validatePostsubmits`): what `always_run` excludes, trigger and rerun command,
//! skipped reports, and jobs that clash by name or context.

use std::collections::BTreeMap;

use super::{At, Validator};
use crate::config::jobs::{Brancher, JobBase, Postsubmit, Presubmit, Source};
use crate::prowjob::ProwJobType;
use crate::prowjob::labels::GERRIT_REPORT_LABEL;

impl Validator<'_> {
    /// The rules that look at one presubmit.
    pub(super) fn presubmit(&mut self, j: &Presubmit) {
        let at = At::of(&j.source);
        self.job_base(&at, &j.base, &j.utility, ProwJobType::Presubmit);
        self.brancher(&at, &j.brancher);
        self.change_matcher(
            &at,
            &j.changes.run_if_changed,
            &j.changes.skip_if_only_changed,
        );
        if j.fields.always_run && !j.changes.run_if_changed.is_empty() {
            self.error(
                &at,
                &["run_if_changed"],
                "always_run and run_if_changed are mutually exclusive",
            );
        }
        if j.fields.always_run && !j.changes.skip_if_only_changed.is_empty() {
            self.error(
                &at,
                &["skip_if_only_changed"],
                "always_run and skip_if_only_changed are mutually exclusive",
            );
        }
        self.trigger(&at, j);
        self.reporting(&at, &j.base, j.reporter.skip_report);
    }

    /// The rule across a repo's presubmits: no clash by name or context.
    pub(super) fn presubmit_clashes(&mut self, jobs: &[Presubmit]) {
        let branchers: Vec<_> = jobs
            .iter()
            .map(|j| (&j.base.name, &j.reporter.context, &j.brancher, &j.source))
            .collect();
        self.duplicates("presubmit", &branchers);
    }

    /// The rules that look at one postsubmit.
    pub(super) fn postsubmit(&mut self, j: &Postsubmit) {
        let at = At::of(&j.source);
        self.job_base(&at, &j.base, &j.utility, ProwJobType::Postsubmit);
        self.brancher(&at, &j.brancher);
        self.change_matcher(
            &at,
            &j.changes.run_if_changed,
            &j.changes.skip_if_only_changed,
        );
        if j.fields.always_run == Some(true) {
            for f in ["run_if_changed", "skip_if_only_changed"] {
                let set = if f == "run_if_changed" {
                    &j.changes.run_if_changed
                } else {
                    &j.changes.skip_if_only_changed
                };
                if !set.is_empty() {
                    self.error(
                        &at,
                        &[f],
                        format!("always_run and {f} are mutually exclusive"),
                    );
                }
            }
        }
        self.reporting(&at, &j.base, j.reporter.skip_report);
    }

    /// The rule across a repo's postsubmits: no clash by name or context.
    pub(super) fn postsubmit_clashes(&mut self, jobs: &[Postsubmit]) {
        let branchers: Vec<_> = jobs
            .iter()
            .map(|j| (&j.base.name, &j.reporter.context, &j.brancher, &j.source))
            .collect();
        self.duplicates("postsubmit", &branchers);
    }

    /// Same name with intersecting branches, or two jobs reporting to one context.
    fn duplicates(&mut self, kind: &str, jobs: &[(&String, &String, &Brancher, &Source)]) {
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut by_context: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, (name, context, _, _)) in jobs.iter().enumerate() {
            by_name.entry(name.as_str()).or_default().push(i);
            by_context.entry(context.as_str()).or_default().push(i);
        }
        for idxs in by_name.values() {
            for (k, &b) in idxs.iter().enumerate() {
                if let Some(&a) = idxs[..k]
                    .iter()
                    .find(|&&a| self.regexes.intersects(jobs[a].2, jobs[b].2))
                {
                    let at = At::of(jobs[b].3);
                    let first = At::of(jobs[a].3);
                    self.error(
                        &at,
                        &["name"],
                        format!(
                            "duplicated {kind} job `{}`: its branches intersect with the job of the same name at {} (split jobs by release branch with non-overlapping `branches`)",
                            jobs[b].0,
                            first.location()
                        ),
                    );
                }
            }
        }
        for (context, idxs) in by_context {
            for (k, &b) in idxs.iter().enumerate() {
                let clash = idxs[..k].iter().find(|&&a| {
                    jobs[a].0 != jobs[b].0 && self.regexes.intersects(jobs[a].2, jobs[b].2)
                });
                if let Some(&a) = clash {
                    let at = At::of(jobs[b].3);
                    let field: &[&str] = if at.source.outline.get("context").is_some() {
                        &["context"]
                    } else {
                        &["name"]
                    };
                    self.error(
                        &at,
                        field,
                        format!(
                            "jobs {} and {} report to the same GitHub context {context:?}",
                            jobs[a].0, jobs[b].0
                        ),
                    );
                }
            }
        }
    }

    fn trigger(&mut self, at: &At, j: &Presubmit) {
        let (trigger, rerun) = (&j.fields.trigger, &j.fields.rerun_command);
        if trigger.is_empty() != rerun.is_empty() {
            let (missing, set) = if trigger.is_empty() {
                ("trigger", "rerun_command")
            } else {
                ("rerun_command", "trigger")
            };
            self.error(
                at,
                &[set],
                format!("`{set}` is set but `{missing}` is not: set both or neither"),
            );
            return;
        }
        // The default trigger is built from a valid name and always matches the
        // default rerun command; compiling thousands of them would be wasted work.
        if *trigger == crate::config::default_trigger_for(&j.base.name) {
            return;
        }
        match self.regexes.get(trigger) {
            Err(e) => self.error(at, &["trigger"], format!("invalid regex: {e}")),
            Ok(re) => {
                if !re.is_match(rerun) {
                    let msg = format!("rerun_command {rerun:?} does not match trigger {trigger:?}");
                    self.error(at, &["rerun_command"], msg);
                }
            }
        }
    }

    fn reporting(&mut self, at: &At, base: &JobBase, skip_report: bool) {
        if skip_report
            && base
                .labels
                .get(GERRIT_REPORT_LABEL)
                .is_some_and(|v| !v.is_empty())
        {
            self.error(
                at,
                &["labels", GERRIT_REPORT_LABEL],
                "gerrit report label set to a non-empty value but the job skips reporting",
            );
        }
    }
}
