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
use super::prow::ProwConfig;
use crate::diagnostics::{Diagnostics, Mark};
use branches::RegexCache;

pub(super) use plugins::plugin_config;
pub(super) use prow_config::prow_config;

/// The jobs one validator checks together: a repo's presubmits, a repo's
/// postsubmits, or every periodic (their names must be unique together).
enum Jobs<'a> {
    Presubmits(&'a [super::Presubmit]),
    Postsubmits(&'a [super::Postsubmit]),
    Periodics(&'a [super::Periodic]),
}

pub(super) fn validate(l: &mut Loader) {
    let Loader { diags, config, .. } = l;
    let prow = &config.prow;
    let mut units: Vec<Jobs<'_>> = Vec::new();
    units.extend(config.jobs.presubmits.values().map(|j| Jobs::Presubmits(j)));
    units.extend(
        config
            .jobs
            .postsubmits
            .values()
            .map(|j| Jobs::Postsubmits(j)),
    );
    units.push(Jobs::Periodics(&config.jobs.periodics));
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
            Jobs::Presubmits(j) => v.presubmits(j),
            Jobs::Postsubmits(j) => v.postsubmits(j),
            Jobs::Periodics(j) => v.periodics(j),
        }
        *regexes = v.regexes;
        diags
    });
    for d in found.into_iter().flat_map(Diagnostics::into_sorted) {
        diags.push(d.severity, &d.file, d.mark, d.field, d.message);
    }
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
