//! Problems found in a configuration, each pointing at a file, line, column and
//! field path, printed the way compilers print them so editors can jump to them.

use std::fmt;

use serde::Serialize;

/// How bad a problem is. Errors stop a config from being used; warnings are
/// things Prow accepts silently that probably lose a job; notes are information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// A 1-based line and column in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Mark {
    pub line: u32,
    pub col: u32,
}

/// One problem, located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub mark: Mark,
    /// Field path such as `periodics[3].cron`; empty for whole-file problems.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file, self.mark.line, self.mark.col, self.severity
        )?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Collects diagnostics in the order they are found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Takes `other`'s findings (found apart, on another core or file).
    pub fn append(&mut self, mut other: Diagnostics) {
        self.items.append(&mut other.items);
    }

    pub fn push(
        &mut self,
        severity: Severity,
        file: &str,
        mark: Mark,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            severity,
            file: file.to_string(),
            mark,
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn error(
        &mut self,
        file: &str,
        mark: Mark,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) {
        self.push(Severity::Error, file, mark, field, msg);
    }

    pub fn warning(
        &mut self,
        file: &str,
        mark: Mark,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) {
        self.push(Severity::Warning, file, mark, field, msg);
    }

    pub fn note(
        &mut self,
        file: &str,
        mark: Mark,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) {
        self.push(Severity::Note, file, mark, field, msg);
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.items.iter().filter(|d| d.severity == severity).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// Sorted by file, then position, so output is stable whatever order the
    /// checks ran in.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (&a.file, a.mark, a.severity, &a.field, &a.message)
                .cmp(&(&b.file, b.mark, b.severity, &b.field, &b.message))
        });
        self.items.dedup();
        self.items
    }
}

/// The known name closest to `unknown`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        let score = strsim::jaro_winkler(unknown, k);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    best.filter(|(s, _)| *s >= 0.8).map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_compiler_like() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: "jobs/foo.yaml".into(),
            mark: Mark { line: 12, col: 5 },
            field: "periodics[0].cron".into(),
            message: "bad".into(),
        };
        assert_eq!(
            d.to_string(),
            "jobs/foo.yaml:12:5: error: periodics[0].cron: bad"
        );
    }

    #[test]
    fn did_you_mean_suggests_close_typos_only() {
        let known = ["run_if_changed", "skip_if_only_changed", "always_run"];
        assert_eq!(
            did_you_mean("run_if_chagned", known),
            Some("run_if_changed")
        );
        assert_eq!(did_you_mean("alwaysrun", known), Some("always_run"));
        assert_eq!(did_you_mean("zzz", known), None);
    }
}
