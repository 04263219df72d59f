//! The pass over every job once all files are read: Prow's defaults and
//! presets, then the rules that look at one job, job by job on every core,
//! then the rules across jobs (clashing names and contexts).
//!
//! A job is validated right after it is defaulted, while it is in the cache,
//! and `skiff check-config` drops what only planning needs (pod specs,
//! decoration configs) as soon as a job is checked, so the whole config never
//! holds its merged specs at once (README "Benchmarks", issue 21).

use super::jobs::{JobConfig, Periodic, Postsubmit, Presubmit};
use super::load::Loader;
use super::{cores, finalize, validate};
use crate::diagnostics::Diagnostics;

/// One job of the pass, with the repo its defaults are chosen by.
pub(super) enum Job<'a> {
    Presubmit(&'a str, &'a mut Presubmit),
    Postsubmit(&'a str, &'a mut Postsubmit),
    Periodic(&'a mut Periodic),
}

/// Every job of `jobs`, in the config's order.
pub(super) fn jobs(jobs: &mut JobConfig) -> Vec<Job<'_>> {
    let mut work: Vec<Job<'_>> = Vec::new();
    for (repo, list) in &mut jobs.presubmits {
        work.extend(list.iter_mut().map(|j| Job::Presubmit(repo, j)));
    }
    for (repo, list) in &mut jobs.postsubmits {
        work.extend(list.iter_mut().map(|j| Job::Postsubmit(repo, j)));
    }
    work.extend(jobs.periodics.iter_mut().map(Job::Periodic));
    work
}

/// What the loaded config keeps of each job once it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The whole job: for planning, the bundle, `--print`.
    Everything,
    /// What the rules across jobs read and the summary counts (names,
    /// contexts, branches, where each job was written); the pod spec, Tekton
    /// spec and decoration config are dropped once the job is validated.
    /// For a command that only checks.
    WhatChecksRead,
}

impl Job<'_> {
    /// Drops what only planning reads (see [`Keep::WhatChecksRead`]).
    fn shed(&mut self) {
        let (base, utility) = match self {
            Job::Presubmit(_, j) => (&mut j.base, &mut j.utility),
            Job::Postsubmit(_, j) => (&mut j.base, &mut j.utility),
            Job::Periodic(j) => (&mut j.base, &mut j.utility),
        };
        base.spec = None;
        base.pipeline_run_spec = None;
        base.tekton_pipeline_run_spec = None;
        utility.decoration_config = None;
    }
}

/// Defaults, presets and every rule, as [`finalize::finalize`] then
/// [`validate::validate`] do, in one pass over the jobs.
pub(super) fn settle(l: &mut Loader, keep: Keep) {
    let defaults = finalize::Finalize::of(l);
    let Loader { diags, config, .. } = &mut *l;
    let prow = &config.prow;
    let work = jobs(&mut config.jobs);
    let found = cores::map_with(
        work,
        || (defaults.defaults(), validate::JobRules::new(prow)),
        |(d, rules), mut job| {
            let mut found = Diagnostics::default();
            for (file, mark, field, message) in d.job(&mut job) {
                found.error(&file, mark, field, message);
            }
            rules.check(&job, &mut found);
            if keep == Keep::WhatChecksRead {
                job.shed();
            }
            found
        },
    );
    found.into_iter().for_each(|f| diags.append(f));
    validate::across_jobs(l);
}
