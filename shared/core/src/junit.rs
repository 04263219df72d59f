//! JUnit XML as Prow's junit lens reads it (`pkg/spyglass/lenses/junit`,
//! testgrid's `metadata/junit`): `<testsuites>` holding `<testsuite>`s,
//! which may nest; `<testcase name classname time>` with a `<failure>`,
//! `<error>` or `<skipped>` child and its `<system-out>`/`<system-err>`.
//! A case is *skipped* when it has `<skipped>`, else *failed* when it has a
//! `<failure>` or an `<error>`, else *passed* (the lens's `Status`).
//!
//! The file comes from the job, i.e. from whoever wrote the pull request, so
//! [`parse`] is built for hostile input and never panics: a file over
//! [`MAX_BYTES`] is refused unread, nesting deeper than [`MAX_DEPTH`] and
//! more than [`MAX_CASES`] cases stop the reading, and malformed XML gives
//! what came before the error. Each of those is an [`Incomplete`] on the
//! [`Report`], with what was read so far, so a page can show both. Text
//! fields are cut to [`MAX_TEXT`] bytes (head and tail, as testgrid
//! truncates), and no entity is ever expanded beyond XML's five and
//! character references.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// A larger file is refused unread (Spyglass reads artifacts whole; so does
/// a Lambda, in its memory).
pub const MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Elements nested deeper than this stop the reading: real reports nest a
/// handful of suites, and a hostile one must not cost a stack or a page.
pub const MAX_DEPTH: usize = 100;
/// Cases read from one file at most.
pub const MAX_CASES: usize = 100_000;
/// A message, failure text or output longer than this keeps its first and
/// last halves.
pub const MAX_TEXT: usize = 16 * 1024;

/// The artifacts the junit lens reads, by name relative to the job's
/// directory (Prow's lens regex, as test-infra configures it).
pub const LENS_PATTERN: &str = r"^artifacts(/.*/|/)junit.*\.xml$";

/// Whether the object `name` (relative to the job's artifact directory) is
/// one the junit lens shows: [`LENS_PATTERN`].
pub fn is_junit_artifact(name: &str) -> bool {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(LENS_PATTERN).ok())
        .as_ref()
        .is_some_and(|re| re.is_match(name))
}

/// What one file said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// In file order.
    pub cases: Vec<TestCase>,
    pub totals: Totals,
    /// Why the file was not read to its end; `None` when it was.
    pub incomplete: Option<Incomplete>,
}

/// Counts over the cases read, as JUnit counts them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub tests: usize,
    pub passed: usize,
    /// Failed with `<failure>`.
    pub failures: usize,
    /// Failed with `<error>` (and no `<failure>`).
    pub errors: usize,
    pub skipped: usize,
    /// Seconds: the outermost suites' `time`, or their cases' summed where a
    /// suite gives none.
    pub duration: f64,
}

/// One `<testcase>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestCase {
    /// The innermost enclosing suite's `name`.
    pub suite: String,
    pub classname: String,
    pub name: String,
    /// Seconds; 0 when absent or not a number.
    pub time: f64,
    /// The first `<failure>` or `<error>`; the text of later ones is added
    /// to its text.
    pub failure: Option<Failure>,
    /// `<skipped>`'s message (its `message`, else its text).
    pub skipped: Option<String>,
    pub system_out: String,
    pub system_err: String,
}

/// Why a case failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failure {
    /// `<error>`: the test broke, rather than an assertion failing.
    pub error: bool,
    /// The `message` attribute.
    pub message: String,
    /// The `type` attribute (an exception class, `AssertionError`, …).
    pub kind: String,
    /// The element's text: usually the stack or the assertion's output.
    pub text: String,
}

/// Whether a case passed, as the junit lens decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl TestCase {
    /// Skipped wins over failed, failed over passed (the lens's `Status`).
    pub fn status(&self) -> Status {
        if self.skipped.is_some() {
            Status::Skipped
        } else if self.failure.is_some() {
            Status::Failed
        } else {
            Status::Passed
        }
    }

    /// The text that says why: the failure's message, else its text, else
    /// the skip reason, else standard error, else standard output (testgrid's
    /// `Message`). A message that only says the test failed (go-junit-report
    /// writes `Failed`) gives way to the text, which says how.
    pub fn message(&self) -> &str {
        let failure = self.failure.as_ref();
        let says_only_failed = |m: &&str| {
            matches!(
                m.trim().to_ascii_lowercase().as_str(),
                "failed" | "failure" | "error" | "errored"
            )
        };
        [
            failure
                .map(|f| f.message.as_str())
                .filter(|m| !says_only_failed(m)),
            failure.map(|f| f.text.as_str()),
            failure.map(|f| f.message.as_str()),
            self.skipped.as_deref(),
            Some(self.system_err.as_str()),
            Some(self.system_out.as_str()),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
    }
}

/// Where in the file, for a person: line and column from 1 (columns count
/// characters), and the byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.offset
        )
    }
}

/// Why a file was not read to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incomplete {
    /// Refused unread.
    TooLarge { size: u64, max: u64 },
    /// An element opened deeper than `max`; nothing after it was read.
    TooDeep { max: usize, at: Position },
    /// More than `max` cases; the rest were not read.
    TooManyCases { max: usize, at: Position },
    /// Not a JUnit document: `what` says what was found instead.
    NotJUnit { what: String, at: Position },
    /// The XML parser's error, where it stopped.
    Malformed { error: String, at: Position },
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incomplete::TooLarge { size, max } => write!(
                f,
                "the file is {size} bytes, more than the {max} bytes a JUnit file may have here; \
                 it was not read"
            ),
            Incomplete::TooDeep { max, at } => write!(
                f,
                "elements nest deeper than {max} levels at {at}; nothing after that was read"
            ),
            Incomplete::TooManyCases { max, at } => write!(
                f,
                "more than {max} test cases; the rest (from {at}) were not read"
            ),
            Incomplete::NotJUnit { what, at } => write!(
                f,
                "not a JUnit file: {what} at {at} (expected <testsuites> or <testsuite>)"
            ),
            Incomplete::Malformed { error, at } => {
                write!(
                    f,
                    "malformed XML at {at}: {error}; nothing after that was read"
                )
            }
        }
    }
}

/// Reads one JUnit file. Never fails: what could not be read is
/// [`Report::incomplete`].
pub fn parse(bytes: &[u8]) -> Report {
    let size = bytes.len() as u64;
    if size > MAX_BYTES {
        return Report {
            incomplete: Some(Incomplete::TooLarge {
                size,
                max: MAX_BYTES,
            }),
            ..Report::default()
        };
    }
    // Invalid UTF-8 is shown as U+FFFD rather than losing the whole file.
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut p = Parser::default();
    let incomplete = p.run(text);
    let cases = p.finish();
    let totals = totals(&cases, p.duration);
    Report {
        cases,
        totals,
        incomplete,
    }
}

fn totals(cases: &[TestCase], duration: f64) -> Totals {
    let mut t = Totals {
        tests: cases.len(),
        duration,
        ..Totals::default()
    };
    for c in cases {
        match (c.status(), &c.failure) {
            (Status::Skipped, _) => t.skipped += 1,
            (Status::Failed, Some(f)) if f.error => t.errors += 1,
            (Status::Failed, _) => t.failures += 1,
            (Status::Passed, _) => t.passed += 1,
        }
    }
    t
}

/// Runs of one test (same suite, class and name) in a file, as the junit
/// lens groups them: `go test -count=N` and retrying runners repeat a case.
#[derive(Clone, Debug, PartialEq)]
pub struct TestResult<'a> {
    pub runs: Vec<&'a TestCase>,
    pub outcome: Outcome,
}

/// A test's result over its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Every run failed (or was skipped).
    Failed,
    /// Failed, then passed (or the other way round).
    Flaky,
    Skipped,
    Passed,
}

impl Report {
    /// The cases grouped by test, in the order each test first appears.
    /// The lens's rules, except that a test both skipped and failed counts
    /// once, as failed.
    pub fn results(&self) -> Vec<TestResult<'_>> {
        let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
        let mut out: Vec<TestResult<'_>> = Vec::new();
        for c in &self.cases {
            let key = (c.suite.as_str(), c.classname.as_str(), c.name.as_str());
            match at.get(&key) {
                Some(&i) => out[i].runs.push(c),
                None => {
                    at.insert(key, out.len());
                    out.push(TestResult {
                        runs: vec![c],
                        outcome: Outcome::Passed,
                    });
                }
            }
        }
        for r in &mut out {
            let has = |s: Status| r.runs.iter().any(|c| c.status() == s);
            r.outcome = match (has(Status::Failed), has(Status::Passed)) {
                (true, true) => Outcome::Flaky,
                (true, false) => Outcome::Failed,
                (false, _) if has(Status::Skipped) => Outcome::Skipped,
                (false, _) => Outcome::Passed,
            };
        }
        out
    }
}

// ---------------------------------------------------------------------------
// The reader

/// Where text inside a case goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Failure,
    Skipped,
    Out,
    Err,
}

struct Suite {
    name: String,
    depth: usize,
    /// The suite's own `time`.
    declared: Option<f64>,
    /// Its cases' and child suites' times.
    sum: f64,
}

#[derive(Default)]
struct Parser {
    depth: usize,
    suites: Vec<Suite>,
    case: Option<(TestCase, usize)>,
    capture: Option<(Field, usize, String)>,
    cases: Vec<TestCase>,
    duration: f64,
}

impl Parser {
    /// Reads `text` to its end or to the first reason to stop.
    fn run(&mut self, text: &str) -> Option<Incomplete> {
        let mut reader = Reader::from_str(text);
        // Whitespace is part of outputs and failure texts.
        reader.config_mut().trim_text(false);
        let at = |offset: u64| position(text, offset);
        loop {
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    return Some(Incomplete::Malformed {
                        error: e.to_string(),
                        at: at(reader.error_position()),
                    });
                }
            };
            match event {
                Event::Start(_) | Event::Empty(_) if self.depth >= MAX_DEPTH => {
                    return Some(Incomplete::TooDeep {
                        max: MAX_DEPTH,
                        at: at(reader.buffer_position()),
                    });
                }
                Event::Start(e) => {
                    self.depth += 1;
                    if let Err(stop) = self.open(&e) {
                        return Some(stop.at(at(reader.buffer_position())));
                    }
                }
                Event::Empty(e) => {
                    self.depth += 1;
                    if let Err(stop) = self.open(&e) {
                        return Some(stop.at(at(reader.buffer_position())));
                    }
                    self.close();
                }
                Event::End(_) => self.close(),
                Event::Text(t) => {
                    let content = t.xml10_content();
                    if self.depth == 0 && !content.trim().is_empty() {
                        return Some(Incomplete::NotJUnit {
                            what: "text outside any element".into(),
                            at: at(reader.buffer_position().saturating_sub(t.len() as u64)),
                        });
                    }
                    self.text(&content);
                }
                Event::CData(t) => {
                    let content = t.xml10_content();
                    self.text(&content);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => predefined(&r).map(str::to_owned),
                    };
                    match resolved {
                        Some(s) => self.text(&s),
                        // An entity of a DTD: never expanded, shown as written.
                        None => self.text(&format!("&{};", &*r)),
                    }
                }
                Event::Eof => {
                    if self.depth > 0 {
                        let open = self
                            .suites
                            .last()
                            .map_or("an element", |_| "<testsuite>")
                            .to_string();
                        return Some(Incomplete::Malformed {
                            error: format!("the file ends before {open} is closed"),
                            at: at(text.len() as u64),
                        });
                    }
                    // No element at all (empty, or a declaration and
                    // comments): no tests, as testgrid reads an empty file.
                    return None;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), Stop> {
        let name = e.local_name();
        let name = name.as_ref();
        if self.depth == 1 && !matches!(name, "testsuites" | "testsuite") {
            return Err(Stop::NotJUnit(format!("the root element is <{name}>")));
        }
        if let Some((_, case_depth)) = &self.case {
            if self.depth == case_depth + 1 {
                self.open_in_case(name, e);
            }
            return Ok(());
        }
        match name {
            "testsuites" | "testsuite" => self.suites.push(Suite {
                name: attr(e, "name"),
                depth: self.depth,
                declared: seconds(&attr(e, "time")),
                sum: 0.0,
            }),
            "testcase" if !self.suites.is_empty() => {
                if self.cases.len() >= MAX_CASES {
                    return Err(Stop::TooManyCases);
                }
                let case = TestCase {
                    suite: self
                        .suites
                        .last()
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                    classname: attr(e, "classname"),
                    name: attr(e, "name"),
                    time: seconds(&attr(e, "time")).unwrap_or(0.0),
                    ..TestCase::default()
                };
                self.case = Some((case, self.depth));
            }
            _ => {}
        }
        Ok(())
    }

    fn open_in_case(&mut self, name: &str, e: &BytesStart<'_>) {
        let Some((case, _)) = self.case.as_mut() else {
            return;
        };
        let field = match name {
            "failure" | "error" => {
                if case.failure.is_none() {
                    case.failure = Some(Failure {
                        error: name == "error",
                        message: cap(attr(e, "message")),
                        kind: cap(attr(e, "type")),
                        text: String::new(),
                    });
                }
                Field::Failure
            }
            "skipped" => {
                case.skipped = Some(cap(attr(e, "message")));
                Field::Skipped
            }
            "system-out" => Field::Out,
            "system-err" => Field::Err,
            _ => return,
        };
        self.capture = Some((field, self.depth, String::new()));
    }

    fn text(&mut self, s: &str) {
        if let Some((_, _, buf)) = self.capture.as_mut() {
            buf.push_str(s);
        }
    }

    fn close(&mut self) {
        let depth = self.depth;
        self.depth = self.depth.saturating_sub(1);
        if self.capture.as_ref().is_some_and(|(_, d, _)| *d == depth) {
            self.end_capture();
        }
        if self.case.as_ref().is_some_and(|(_, d)| *d == depth) {
            self.end_case();
        }
        if self.suites.last().is_some_and(|s| s.depth == depth) {
            self.end_suite();
        }
    }

    fn end_capture(&mut self) {
        let (Some((field, _, text)), Some((case, _))) = (self.capture.take(), self.case.as_mut())
        else {
            return;
        };
        let text = cap(text);
        match field {
            Field::Failure => {
                if let Some(f) = case.failure.as_mut() {
                    if f.text.is_empty() {
                        f.text = text;
                    } else if !text.is_empty() {
                        f.text = cap(format!("{}\n\n{text}", f.text));
                    }
                }
            }
            Field::Skipped => {
                if case.skipped.as_ref().is_some_and(|m| m.is_empty()) {
                    case.skipped = Some(text);
                }
            }
            Field::Out => case.system_out.push_str(&text),
            Field::Err => case.system_err.push_str(&text),
        }
    }

    fn end_case(&mut self) {
        let Some((case, _)) = self.case.take() else {
            return;
        };
        if let Some(s) = self.suites.last_mut() {
            s.sum += case.time;
        }
        self.cases.push(case);
    }

    fn end_suite(&mut self) {
        let Some(s) = self.suites.pop() else {
            return;
        };
        let time = s.declared.unwrap_or(s.sum);
        match self.suites.last_mut() {
            Some(parent) => parent.sum += time,
            None => self.duration += time,
        }
    }

    /// What was read, with the elements a stop left open closed.
    fn finish(&mut self) -> Vec<TestCase> {
        if self.capture.is_some() {
            self.end_capture();
        }
        self.end_case();
        while !self.suites.is_empty() {
            self.end_suite();
        }
        std::mem::take(&mut self.cases)
    }
}

/// A reason to stop found while opening an element; the position is added
/// by the caller, who has the reader.
enum Stop {
    NotJUnit(String),
    TooManyCases,
}

impl Stop {
    fn at(self, at: Position) -> Incomplete {
        match self {
            Stop::NotJUnit(what) => Incomplete::NotJUnit { what, at },
            Stop::TooManyCases => Incomplete::TooManyCases { max: MAX_CASES, at },
        }
    }
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// The attribute's value with XML's escapes resolved; as written when they
/// do not resolve; empty when absent.
fn attr(e: &BytesStart<'_>, key: &str) -> String {
    for a in e.attributes().with_checks(false).flatten() {
        if a.key.local_name().as_ref() == key {
            return match a.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => a.value.into_owned(),
            };
        }
    }
    String::new()
}

/// A `time` attribute: seconds, possibly with thousands separators (some
/// Java tools write `1,234.5`). Negative, NaN and infinite count as absent.
fn seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let v: f64 = if s.contains(',') {
        s.replace(',', "").parse().ok()?
    } else {
        s.parse().ok()?
    };
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// `s` cut to [`MAX_TEXT`] bytes: its first and last halves around a note
/// saying how much was left out.
fn cap(s: String) -> String {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let half = MAX_TEXT / 2;
    let mut head = half;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - half;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n… {} bytes left out …\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

/// Line and column of byte `offset` of `text`.
fn position(text: &str, offset: u64) -> Position {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        offset,
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests;
