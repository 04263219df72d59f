//! Prow's config validation (`validateJobBase`, `validatePresubmits`,
//! `validatePostsubmits`, `validatePeriodics`, `validatePodSpec`, …), every rule
//! reported with the file, line, column and field it is about — all of them in one
//! run, where Prow stops at the first.

mod branches;
mod decoration;
mod gangway;
mod job_base;
mod periodics;
mod plugins;
mod pod_spec;
mod presubmits;
mod prow_config;
mod tide;

use super::jobs::Source;
use super::load::Loader;
use super::pass::{self, Job};
use super::prow::ProwConfig;
use crate::diagnostics::{Diagnostics, Mark};
use branches::RegexCache;

pub(super) use plugins::plugin_config;
pub(super) use prow_config::prow_config;

/// The jobs whose names must be unique together: a repo's presubmits, a
/// repo's postsubmits, or every periodic.
enum Unit<'a> {
    Presubmits(&'a [super::Presubmit]),
    Postsubmits(&'a [super::Postsubmit]),
    Periodics(&'a [super::Periodic]),
}

/// Every rule, for jobs already defaulted (the in-repo config's, checked
/// with their repo's central jobs).
pub(super) fn validate(l: &mut Loader) {
    let Loader { diags, config, .. } = &mut *l;
    let prow = &config.prow;
    let work = pass::jobs(&mut config.jobs);
    let found = super::cores::map_with(
        work,
        || JobRules::new(prow),
        |rules, job| {
            let mut found = Diagnostics::default();
            rules.check(&job, &mut found);
            found
        },
    );
    found.into_iter().for_each(|f| diags.append(f));
    across_jobs(l);
}

/// The rules that look at one job, with the patterns one thread compiled
/// kept for the next job.
pub(super) struct JobRules<'a> {
    prow: &'a ProwConfig,
    regexes: RegexCache,
}

impl<'a> JobRules<'a> {
    pub(super) fn new(prow: &'a ProwConfig) -> Self {
        JobRules {
            prow,
            regexes: RegexCache::default(),
        }
    }

    /// Adds what `job` breaks to `found`.
    pub(super) fn check(&mut self, job: &Job<'_>, found: &mut Diagnostics) {
        let mut v = Validator {
            diags: found,
            prow: self.prow,
            regexes: std::mem::take(&mut self.regexes),
        };
        match job {
            Job::Presubmit(_, j) => v.presubmit(j),
            Job::Postsubmit(_, j) => v.postsubmit(j),
            Job::Periodic(j) => v.periodic(j),
        }
        self.regexes = v.regexes;
    }
}

/// The rules across jobs: no two of a repo's presubmits (or postsubmits)
/// clash by name or context, no two periodics share a name.
pub(super) fn across_jobs(l: &mut Loader) {
    let Loader { diags, config, .. } = l;
    let prow = &config.prow;
    let mut units: Vec<Unit<'_>> = Vec::new();
    units.extend(config.jobs.presubmits.values().map(|j| Unit::Presubmits(j)));
    units.extend(
        config
            .jobs
            .postsubmits
            .values()
            .map(|j| Unit::Postsubmits(j)),
    );
    units.push(Unit::Periodics(&config.jobs.periodics));
    // No check looks across units, so they are checked on every core and
    // their findings merged in order.
    let found = super::cores::map_with(units, RegexCache::default, |regexes, unit| {
        let mut diags = Diagnostics::default();
        let mut v = Validator {
            diags: &mut diags,
            prow,
            regexes: std::mem::take(regexes),
        };
        match unit {
            Unit::Presubmits(j) => v.presubmit_clashes(j),
            Unit::Postsubmits(j) => v.postsubmit_clashes(j),
            Unit::Periodics(j) => v.periodic_names(j),
        }
        *regexes = v.regexes;
        diags
    });
    found.into_iter().for_each(|f| diags.append(f));
}

/// Where a job is, for messages.
struct At<'a> {
    source: &'a Source,
    path: String,
}

impl<'a> At<'a> {
    fn of(source: &'a Source) -> Self {
        At {
            source,
            path: source.path.clone(),
        }
    }

    fn mark(&self, field: &[&str]) -> Mark {
        self.source.outline.locate(field)
    }

    fn field(&self, field: &[&str]) -> String {
        let mut out = self.path.clone();
        for seg in field {
            if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
                out.push_str(&format!("[{seg}]"));
            } else {
                out.push('.');
                out.push_str(seg);
            }
        }
        out
    }

    fn message(&self, msg: String) -> String {
        match &self.source.matrix {
            Some(m) => format!("{msg} (matrix {m})"),
            None => msg,
        }
    }

    fn location(&self) -> String {
        let m = self.source.mark();
        format!("{}:{}:{}", self.source.file, m.line, m.col)
    }
}

struct Validator<'a> {
    diags: &'a mut Diagnostics,
    prow: &'a ProwConfig,
    regexes: RegexCache,
}

impl Validator<'_> {
    fn error(&mut self, at: &At, field: &[&str], msg: impl Into<String>) {
        let msg = at.message(msg.into());
        self.diags
            .error(&at.source.file, at.mark(field), at.field(field), msg);
    }

    fn warning(&mut self, at: &At, field: &[&str], msg: impl Into<String>) {
        let msg = at.message(msg.into());
        self.diags
            .warning(&at.source.file, at.mark(field), at.field(field), msg);
    }
}
