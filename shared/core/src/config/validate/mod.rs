//! Prow's config validation (`validateJobBase`, `validatePresubmits`,
//! `validatePostsubmits`, `validatePeriodics`, `validatePodSpec`, …), every rule
//! reported with the file, line, column and field it is about — all of them in one
//! run, where Prow stops at the first.

mod branches;
mod decoration;
mod job_base;
mod periodics;
mod plugins;
mod pod_spec;
mod presubmits;
mod prow_config;

use super::jobs::Source;
use super::load::Loader;
use super::prow::ProwConfig;
use crate::diagnostics::{Diagnostics, Mark};
use branches::RegexCache;

pub(super) use plugins::plugin_config;
pub(super) use prow_config::prow_config;

pub(super) fn validate(l: &mut Loader) {
    let Loader { diags, config, .. } = l;
    let mut v = Validator {
        diags,
        prow: &config.prow,
        regexes: RegexCache::default(),
    };
    for jobs in config.jobs.presubmits.values() {
        v.presubmits(jobs);
    }
    for jobs in config.jobs.postsubmits.values() {
        v.postsubmits(jobs);
    }
    v.periodics(&config.jobs.periodics);
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
        self.source.node.locate(field)
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
