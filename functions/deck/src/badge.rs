//! Prow's `/badge.svg?jobs=a,b*` (`cmd/deck/badge.go`): the latest run of
//! every job a glob of the comma-separated list matches; "failing a, b, c,
//! ..." in red when any of them is in `failure` (only `failure`: an `error`,
//! `aborted` or still-running latest run counts as passing, as in Prow),
//! "passing" in green, "no results" in grey when nothing matched. The SVG is
//! Prow's, with a title and an ARIA label added for screen readers.

use std::collections::BTreeSet;

use skiff_core::ports::JobQuery;
use skiff_core::prowjob::{ProwJob, ProwJobState};

use crate::filter::Glob;
use crate::{Cache, DeckRequest, Deps, Reply, TEXT, visible};

/// The selector: globs, comma-separated (Prow splits on `,` and keeps empty
/// entries, which match nothing but an empty name).
pub fn globs(selector: &str) -> Vec<Glob> {
    selector.split(',').map(Glob::new).collect()
}

/// Prow's `pickLatestJobs`: `jobs` newest first; the first run of each
/// matching name.
pub fn latest<'a>(jobs: &'a [ProwJob], globs: &[Glob]) -> Vec<&'a ProwJob> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for j in jobs {
        if seen.contains(j.spec.job.as_str()) {
            continue;
        }
        if globs.iter().any(|g| g.matches(&j.spec.job)) {
            seen.insert(j.spec.job.as_str());
            out.push(j);
        }
    }
    out
}

/// Prow's `renderBadge`: the status text and colour name.
pub fn status(latest: &[&ProwJob]) -> (String, &'static str) {
    if latest.is_empty() {
        return ("no results".into(), "darkgrey");
    }
    let mut failed: Vec<&str> = latest
        .iter()
        .filter(|j| j.status.state == Some(ProwJobState::Failure))
        .map(|j| j.spec.job.as_str())
        .collect();
    failed.sort_unstable();
    if failed.is_empty() {
        return ("passing".into(), "brightgreen");
    }
    if failed.len() > 3 {
        failed.truncate(3);
        failed.push("...");
    }
    (format!("failing {}", failed.join(", ")), "red")
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Prow's `makeShield`: `[subject | status]`, 6 px per character.
pub fn svg(subject: &str, status: &str, colour: &str) -> String {
    let fill = match colour {
        "brightgreen" => "#4c1",
        "red" => "#e05d44",
        other => other,
    };
    // Prow counts bytes (`len` of a Go string); characters are what is drawn.
    let right_start = 13 + 6 * subject.chars().count();
    let right_width = 13 + 6 * status.chars().count();
    let width = right_start + right_width;
    let x_left = right_start as f64 * 0.5;
    let x_right = right_start as f64 + (right_width as f64 - 2.0) * 0.5;
    let (subject, status, fill) = (xml_escape(subject), xml_escape(status), xml_escape(fill));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{subject}: {status}">
<title>{subject}: {status}</title>
<linearGradient id="a" x2="0" y2="100%">
  <stop offset="0" stop-color="#bbb" stop-opacity=".1"/>
  <stop offset="1" stop-opacity=".1"/>
</linearGradient>
<rect rx="3" width="100%" height="20" fill="#555"/>
<g fill="{fill}">
  <rect rx="3" x="{right_start}" width="{right_width}" height="20"/>
  <path d="M{right_start} 0h4v20h-4z"/>
</g>
<rect rx="3" width="100%" height="20" fill="url(#a)"/>
<g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">
<g fill="#010101" opacity=".3">
<text x="{x_left}" y="15">{subject}</text>
<text x="{x_right}" y="15">{status}</text>
</g>
<text x="{x_left}" y="14">{subject}</text>
<text x="{x_right}" y="14">{status}</text>
</g>
</svg>"##
    )
}

pub async fn badge(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let Some(selector) = pairs
        .iter()
        .find(|(k, _)| k == "jobs")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
    else {
        return Reply::new(400, TEXT, "missing jobs query parameter\n");
    };
    let globs = globs(selector);
    // Names without wildcards need only their own runs: one narrow read each.
    let jobs = if globs.iter().all(Glob::is_literal) && globs.len() <= 20 {
        let mut jobs = Vec::new();
        for g in &globs {
            match deps
                .store
                .list(
                    &JobQuery::Job {
                        name: g.as_string(),
                    },
                    Some(1),
                )
                .await
            {
                Ok(mut j) => jobs.append(&mut j),
                Err(e) => {
                    return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n"));
                }
            }
        }
        jobs
    } else {
        match deps
            .store
            .list(&JobQuery::All, Some(deps.options.max_jobs))
            .await
        {
            Ok(j) => j,
            Err(e) => {
                return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n"));
            }
        }
    };
    let mut jobs: Vec<ProwJob> = jobs
        .into_iter()
        .filter(|j| visible(j, deps.config))
        .collect();
    // Newest first across the separate reads too.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.status.start_time));
    let latest = latest(&jobs, &globs);
    let (status, colour) = status(&latest);
    let mut r = Reply::new(200, "image/svg+xml", svg("build", &status, colour));
    r.cache = Cache::Never;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, state: ProwJobState) -> ProwJob {
        let mut j = ProwJob::default();
        j.spec.job = name.into();
        j.status.state = Some(state);
        j
    }

    #[test]
    fn only_the_latest_run_of_each_matching_job_counts() {
        use ProwJobState::*;
        // Newest first: unit passed after failing; lint fails; e2e is not asked for.
        let jobs = vec![
            run("pull-unit", Success),
            run("pull-lint", Failure),
            run("pull-unit", Failure),
            run("e2e", Failure),
        ];
        let picked = latest(&jobs, &globs("pull-*"));
        let names: Vec<&str> = picked.iter().map(|j| j.spec.job.as_str()).collect();
        assert_eq!(names, ["pull-unit", "pull-lint"]);
        assert_eq!(status(&picked), ("failing pull-lint".into(), "red"));
        let picked = latest(&jobs, &globs("pull-unit"));
        assert_eq!(status(&picked), ("passing".into(), "brightgreen"));
        assert_eq!(
            status(&latest(&jobs, &globs("nope"))),
            ("no results".into(), "darkgrey")
        );
    }

    #[test]
    fn as_in_prow_only_failure_fails_and_more_than_three_are_elided() {
        use ProwJobState::*;
        let jobs = vec![run("a", Error), run("b", Aborted), run("c", Pending)];
        assert_eq!(status(&latest(&jobs, &globs("*"))).0, "passing");
        let jobs: Vec<ProwJob> = ["e", "d", "c", "b", "a"]
            .iter()
            .map(|n| run(n, Failure))
            .collect();
        assert_eq!(
            status(&latest(&jobs, &globs("*"))).0,
            "failing a, b, c, ..."
        );
    }

    #[test]
    fn the_svg_is_prows_shield_with_escaped_text() {
        let s = svg("build", "failing <x>", "red");
        assert!(
            s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"122\""),
            "{s}"
        );
        assert!(s.contains("<g fill=\"#e05d44\">"));
        assert!(s.contains("<rect rx=\"3\" x=\"43\" width=\"79\" height=\"20\"/>"));
        assert!(s.contains(">failing &lt;x&gt;</text>"));
        assert!(!s.contains("<x>"));
        assert!(s.contains("<title>build: failing &lt;x&gt;</title>"));
    }
}
