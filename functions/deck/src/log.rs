//! The build log as the job page shows it: Prow's buildlog lens
//! (`pkg/spyglass/lenses/buildlog/lens.go`) without JavaScript. Lines that
//! match the highlight pattern are marked (the matched text too); long runs
//! of ordinary lines far from any match fold into `<details>`; every line
//! has an anchor `#L<n>`.
//!
//! The pattern is Prow's default, or `highlight_regexes` of the buildlog lens
//! in `deck.spyglass.lenses` (joined with `|`, as Prow joins them). ANSI
//! colour sequences are dropped: they are noise in a browser.

use std::sync::OnceLock;

use regex::Regex;

/// Prow's `defaultErrRE`.
pub const DEFAULT_HIGHLIGHT: &str =
    r"timed out|ERROR:|(FAIL|Failure \[)\b|panic\b|^E\d{4} \d\d:\d\d:\d\d\.\d\d\d]";
/// Lines longer than this are not searched (Prow's default
/// `highlight_line_length_max`).
const HIGHLIGHT_LINE_MAX: usize = 10_000;
/// Lines shown either side of a highlighted line (Prow's `neighborLines`).
const NEIGHBOURS: usize = 5;
/// A run of ordinary lines folds only when it is at least this long.
const MIN_FOLD: usize = 20;
/// Logs up to this many lines are shown whole.
const SHOW_ALL_UNDER: usize = 200;

fn default_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| crate::constant_regex(DEFAULT_HIGHLIGHT))
}

fn ansi() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| crate::constant_regex(r"\x1b\[[0-9;?]*[A-Za-z]"))
}

/// The highlight pattern from deck's spyglass config, if it sets one that
/// compiles; Prow's default otherwise (as Prow falls back, with a warning).
pub fn highlight_regex(spyglass: Option<&serde_json::Value>) -> std::borrow::Cow<'static, Regex> {
    let custom = spyglass
        .and_then(|s| s.get("lenses"))
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .filter(|l| l.pointer("/lens/name").and_then(|n| n.as_str()) == Some("buildlog"))
        .filter_map(|l| l.pointer("/lens/config/highlight_regexes"))
        .filter_map(|r| r.as_array())
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("|")
        })
        .find(|joined| !joined.is_empty());
    match custom.map(|c| Regex::new(&c)) {
        Some(Ok(re)) => std::borrow::Cow::Owned(re),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "deck.spyglass buildlog highlight_regexes do not compile; using Prow's default");
            std::borrow::Cow::Borrowed(default_regex())
        }
        None => std::borrow::Cow::Borrowed(default_regex()),
    }
}

/// One log line: its number (from 1) and its text cut into plain and
/// highlighted pieces.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub pieces: Vec<(bool, String)>,
}

impl Line {
    pub fn highlighted(&self) -> bool {
        self.pieces.iter().any(|(h, _)| *h)
    }
}

/// Consecutive lines, shown or folded.
#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub folded: bool,
    pub lines: Vec<Line>,
}

/// The log, ready to render.
#[derive(Debug, PartialEq, Eq)]
pub struct LogView {
    pub groups: Vec<Group>,
    /// Numbers of the highlighted lines.
    pub highlighted: Vec<usize>,
    /// Bytes left out at the start (the page shows the tail of a long log).
    pub skipped_bytes: usize,
    pub total_lines: usize,
}

/// Splits, highlights and groups `text`. `skipped_bytes` were cut from the
/// front before (the first line may be partial then).
pub fn view(text: &str, re: &Regex, skipped_bytes: usize) -> LogView {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut lines: Vec<Line> = Vec::new();
    if !text.is_empty() {
        for (i, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let clean = ansi().replace_all(raw, "");
            lines.push(Line {
                number: i + 1,
                pieces: pieces(&clean, re),
            });
        }
    }
    let highlighted: Vec<usize> = lines
        .iter()
        .filter(|l| l.highlighted())
        .map(|l| l.number)
        .collect();
    let total_lines = lines.len();
    let groups = group(lines, &highlighted);
    LogView {
        groups,
        highlighted,
        skipped_bytes,
        total_lines,
    }
}

fn pieces(line: &str, re: &Regex) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if line.len() <= HIGHLIGHT_LINE_MAX {
        let mut at = 0;
        for m in re.find_iter(line) {
            if m.start() == m.end() {
                continue;
            }
            if m.start() > at {
                out.push((false, line[at..m.start()].to_string()));
            }
            out.push((true, m.as_str().to_string()));
            at = m.end();
        }
        if at < line.len() {
            out.push((false, line[at..].to_string()));
        }
    } else {
        out.push((false, line.to_string()));
    }
    out
}

/// Prow's grouping: a log with no highlight, or a short one, is shown whole;
/// otherwise lines within [`NEIGHBOURS`] of a highlighted line are shown and
/// the runs between them fold when long enough.
fn group(lines: Vec<Line>, highlighted: &[usize]) -> Vec<Group> {
    if highlighted.is_empty() || lines.len() < SHOW_ALL_UNDER {
        return vec![Group {
            folded: false,
            lines,
        }];
    }
    let near = |n: usize| {
        // `highlighted` is sorted: find the closest.
        let i = highlighted.partition_point(|&h| h < n);
        let after = highlighted.get(i).map(|&h| h - n);
        let before = i.checked_sub(1).map(|j| n - highlighted[j]);
        after.into_iter().chain(before).any(|d| d <= NEIGHBOURS)
    };
    let mut groups: Vec<Group> = Vec::new();
    for line in lines {
        let folded = !near(line.number);
        match groups.last_mut() {
            Some(g) if g.folded == folded => g.lines.push(line),
            _ => groups.push(Group {
                folded,
                lines: vec![line],
            }),
        }
    }
    // Short folded runs are not worth a click: show them.
    let mut out: Vec<Group> = Vec::new();
    for mut g in groups {
        if g.folded && g.lines.len() < MIN_FOLD {
            g.folded = false;
        }
        match out.last_mut() {
            Some(prev) if !prev.folded && !g.folded => prev.lines.append(&mut g.lines),
            _ => out.push(g),
        }
    }
    out
}

/// The last `max` bytes of `bytes` as text (cut at a line start where one is
/// near), and how many bytes were left out.
pub fn tail(bytes: &[u8], max: usize) -> (String, usize) {
    if bytes.len() <= max {
        return (String::from_utf8_lossy(bytes).into_owned(), 0);
    }
    let mut start = bytes.len() - max;
    if let Some(nl) = bytes[start..].iter().take(4096).position(|&b| b == b'\n') {
        start += nl + 1;
    }
    (String::from_utf8_lossy(&bytes[start..]).into_owned(), start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prows_default_pattern_marks_error_lines_and_the_matched_text() {
        let log = "ok 1\nERROR: boom happened\n--- FAIL: TestX (0.1s)\nE1123 10:00:00.123] glog\nno panicking here\npanic: nil\ntimed out waiting\n";
        let v = view(log, &highlight_regex(None), 0);
        assert_eq!(v.highlighted, [2, 3, 4, 6, 7]);
        assert_eq!(v.total_lines, 7);
        let line2 = &v.groups[0].lines[1];
        assert_eq!(
            line2.pieces,
            [(true, "ERROR:".into()), (false, " boom happened".into())]
        );
    }

    #[test]
    fn ansi_colours_are_dropped_and_crlf_ends_lines() {
        let v = view(
            "\x1b[31mERROR:\x1b[0m red\r\nnext\r\n",
            &highlight_regex(None),
            0,
        );
        assert_eq!(v.total_lines, 2);
        assert_eq!(
            v.groups[0].lines[0].pieces,
            [(true, "ERROR:".into()), (false, " red".into())]
        );
        assert_eq!(v.groups[0].lines[1].pieces, [(false, "next".into())]);
    }

    #[test]
    fn long_logs_fold_what_is_far_from_an_error() {
        let mut log = String::new();
        for i in 1..=1000 {
            if i == 500 {
                log.push_str("ERROR: here\n");
            } else {
                log.push_str(&format!("line {i}\n"));
            }
        }
        let v = view(&log, &highlight_regex(None), 0);
        let shape: Vec<(bool, usize, usize)> = v
            .groups
            .iter()
            .map(|g| (g.folded, g.lines[0].number, g.lines.len()))
            .collect();
        assert_eq!(shape, [(true, 1, 494), (false, 495, 11), (true, 506, 495)]);
        // No error: everything is shown.
        let v = view(&log.replace("ERROR:", "fine"), &highlight_regex(None), 0);
        assert_eq!(v.groups.len(), 1);
        assert!(!v.groups[0].folded);
    }

    #[test]
    fn configured_highlight_regexes_replace_the_default() {
        let spyglass = serde_json::json!({"lenses": [
            {"lens": {"name": "metadata"}},
            {"lens": {"name": "buildlog", "config": {"highlight_regexes": ["oops", "bad\\b"]}}}
        ]});
        let re = highlight_regex(Some(&spyglass));
        let v = view("ERROR: x\noops\nbad day\n", &re, 0);
        assert_eq!(v.highlighted, [2, 3]);
        let broken = serde_json::json!({"lenses": [
            {"lens": {"name": "buildlog", "config": {"highlight_regexes": ["("]}}}
        ]});
        assert_eq!(highlight_regex(Some(&broken)).as_str(), DEFAULT_HIGHLIGHT);
    }

    #[test]
    fn the_tail_starts_at_a_line_and_counts_what_it_left_out() {
        let bytes = b"first line\nsecond line\nthird\n";
        assert_eq!(tail(bytes, 100), (String::from_utf8_lossy(bytes).into(), 0));
        let (text, skipped) = tail(bytes, 15);
        assert_eq!(text, "third\n");
        assert_eq!(skipped, 23);
    }
}
