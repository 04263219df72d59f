//! The failure comment: one bot comment per pull request, tagged
//! [`COMMENT_TAG`], with a table of the latest failed run of each test.
//!
//! The table is the state: rows are read back from the bot's earlier comments
//! and merged by context (Prow's `parseIssueComments`), so no other storage
//! is needed and a comment edited by a retry reads the same.
//!
//! Beyond Prow: when the reporter can read the jobs' artifacts, a section
//! under the table names each failed row's failed tests (from its JUnit
//! files: five, then how many more, and the job page). It is read back with
//! the rows, so a row kept from an earlier comment keeps its tests; without
//! it the comment is Prow's, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use skiff_core::config::prow::Plank;
use skiff_core::ports::{Comment, JobQuery, PortResult};
use skiff_core::prowjob::labels::IS_OPTIONAL;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

use skiff_core::keys::COMMENT_TAG;
use skiff_core::prowjob::latest::latest_runs;

use super::CommentReport;
use super::checks::{code_span, failed_tests, named_tests};
use crate::{ReporterDeps, template};

const TABLE_HEADER: &str = "Test name | Commit | Details | Required | Rerun command";
const TABLE_RULE: &str = "--- | --- | --- | --- | ---";
const ABOUT: &str = "This comment is kept up to date by Skiff's reporter: each row is the \
latest failed run of a test on this pull request, and a row goes away once that test passes. \
Comment `/test <name>` to run a single test again.";
/// Heads the failed tests' section; [`case_lines`] finds it by this line.
const TESTS_HEADER: &str = "Failed tests:";
/// The failed tests' section at most, in characters: GitHub refuses a
/// comment over 65,536, and the table must fit too. Rows past it keep
/// their job page link in the table.
const MAX_TESTS_SECTION: usize = 16_000;

/// Updates the pull request's failure comment for `job` (Prow's
/// `ReportComment`, with the `summary_comment_repos` variant) — or, with a
/// comments queue, queues the update in the pull request's group when it
/// changes anything, so that two reports of one pull never edit it at once
/// (crier holds a per-PR lock for the same reason). Without a queue the
/// comment is updated here: the caller reports one job of a pull at a time.
pub(crate) async fn report(
    job: &ProwJob,
    refs: &Refs,
    deps: &ReporterDeps<'_>,
) -> PortResult<CommentReport> {
    // With a queue, the failed tests are read where the comment is written:
    // whether it changes does not hang on them (a failure's row changes it;
    // a pass has none), except for a repeated failure, whose update then
    // goes to the queue and changes nothing there.
    let failed_tests = deps.comments.is_none();
    let (number, inputs) = match Inputs::of(job, refs, failed_tests, deps).await? {
        Ok(ready) => ready,
        Err(skipped) => return Ok(skipped),
    };
    let Some(queue) = deps.comments else {
        return inputs.update(refs, number, deps).await;
    };
    // Most reports leave the comment as it is (a test passed, and no row
    // names it): those are not queued.
    let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
    let comments = deps.scm.list_comments(org, repo, number).await?;
    if inputs.decide(refs, &comments, deps).is_unchanged() {
        return Ok(CommentReport::Unchanged);
    }
    crate::comments::queue(job, refs, number, queue).await?;
    Ok(CommentReport::Queued)
}

/// Updates the failure comment for `job` now: what the comments queue's
/// handler does with a message, one pull request's at a time.
pub(crate) async fn update_now(
    job: &ProwJob,
    refs: &Refs,
    deps: &ReporterDeps<'_>,
) -> PortResult<CommentReport> {
    match Inputs::of(job, refs, true, deps).await? {
        Ok((number, inputs)) => inputs.update(refs, number, deps).await,
        Err(skipped) => Ok(skipped),
    }
}

/// What a report of the comment works from.
struct Inputs {
    /// The completed, reported jobs the comment reports on.
    jobs: Vec<ProwJob>,
    /// `summary_comment_repos`: a comment is wanted even with no failure.
    summary: bool,
    /// The failed tests' line of each failed job, by context.
    fresh: BTreeMap<String, String>,
    /// The report template's text.
    extra: Option<String>,
}

impl Inputs {
    /// The pull request's number and the inputs (with the failed tests'
    /// lines when `failed_tests`); or, when the comment does not cover this
    /// report, what to say instead.
    async fn of(
        job: &ProwJob,
        refs: &Refs,
        failed_tests: bool,
        deps: &ReporterDeps<'_>,
    ) -> PortResult<Result<(i64, Inputs), CommentReport>> {
        // Postsubmits carry no pull and batches several: neither has one PR to comment on.
        let [pull] = refs.pulls.as_slice() else {
            return Ok(Err(CommentReport::NotCovered(
                "not exactly one pull request",
            )));
        };
        let github = &deps.config.prow.github_reporter;
        if lists_repo(&github.no_comment_repos, refs) {
            return Ok(Err(CommentReport::OptedOut));
        }
        let summary = lists_repo(&github.summary_comment_repos, refs);
        let jobs = if summary {
            summary_jobs(refs, pull.number, deps).await?
        } else {
            vec![job.clone()]
        };
        let types = github.job_types_to_report();
        let jobs: Vec<ProwJob> = jobs
            .into_iter()
            .filter(|j| {
                j.spec.report
                    && j.spec.r#type.is_some_and(|t| types.contains(&t))
                    && j.is_complete()
            })
            .collect();
        let Some(first) = jobs.first() else {
            return Ok(Err(CommentReport::NotCovered("no completed job to report")));
        };
        let extra = report_template(&deps.config.prow.plank, refs).and_then(|t| {
            template::render(t, first)
                .inspect_err(|e| tracing::warn!(error = %e, "report template left out"))
                .ok()
        });
        let fresh = if failed_tests {
            fresh_case_lines(&jobs.iter().collect::<Vec<_>>(), deps).await
        } else {
            BTreeMap::new()
        };
        Ok(Ok((
            pull.number,
            Inputs {
                jobs,
                summary,
                fresh,
                extra,
            },
        )))
    }

    fn decide(&self, refs: &Refs, comments: &[Comment], deps: &ReporterDeps<'_>) -> Decision {
        let jobs: Vec<&ProwJob> = self.jobs.iter().collect();
        decide(
            &jobs,
            self.summary,
            self.extra.as_deref(),
            &self.fresh,
            refs,
            comments,
            deps,
        )
    }

    async fn update(
        &self,
        refs: &Refs,
        number: i64,
        deps: &ReporterDeps<'_>,
    ) -> PortResult<CommentReport> {
        let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
        let comments = deps.scm.list_comments(org, repo, number).await?;
        let Decision {
            plan,
            body,
            kept_body,
        } = self.decide(refs, &comments, deps);
        apply(plan, body, kept_body, refs, number, deps).await
    }
}

/// Whether `org` or `org/repo` is listed.
fn lists_repo(list: &[String], refs: &Refs) -> bool {
    let full = format!("{}/{}", refs.org, refs.repo);
    list.iter().any(|r| *r == refs.org || *r == full)
}

/// Prow's `pjsToReport`: the latest run of every job of the pull request, or
/// nothing while any of them is still running.
async fn summary_jobs(
    refs: &Refs,
    number: i64,
    deps: &ReporterDeps<'_>,
) -> PortResult<Vec<ProwJob>> {
    let query = JobQuery::Pull {
        org: refs.org.clone(),
        repo: refs.repo.clone(),
        number,
    };
    let all = deps.store.list(&query, None).await?;
    if all.iter().any(|j| !j.is_complete()) {
        return Ok(Vec::new());
    }
    let reported = all.iter().filter(|j| j.spec.report);
    Ok(latest_runs(reported, |j| j.spec.job.as_str())
        .into_iter()
        .cloned()
        .collect())
}

/// The failed tests' line of each failed job of this report, by context,
/// when the log store is at hand and the job's JUnit files name any.
async fn fresh_case_lines(jobs: &[&ProwJob], deps: &ReporterDeps<'_>) -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    let Some(logs) = deps.logs else {
        return lines;
    };
    for j in jobs {
        if j.status.state != Some(ProwJobState::Failure) {
            continue;
        }
        let tests = failed_tests(j, logs).await;
        if !tests.is_empty() {
            lines.insert(
                j.spec.context.clone(),
                format!(
                    "- {}: {}",
                    code_span(&j.spec.context),
                    named_tests(&tests, &j.status.url)
                ),
            );
        }
    }
    lines
}

/// The failed tests' lines for the merged `rows`: this report's own for its
/// jobs, else the line an earlier comment had for that row; in row order,
/// within [`MAX_TESTS_SECTION`].
fn case_lines(
    rows: &[String],
    jobs: &[&ProwJob],
    fresh: &BTreeMap<String, String>,
    ours: &[&Comment],
) -> Vec<String> {
    let current: BTreeSet<&str> = jobs.iter().map(|j| j.spec.context.as_str()).collect();
    let mut earlier: BTreeMap<String, String> = BTreeMap::new();
    for c in ours {
        earlier.extend(section_lines(&c.body));
    }
    let mut out = Vec::new();
    let mut size = 0;
    for row in rows {
        let context = row_context(row);
        let line = if current.contains(context) {
            fresh.get(context)
        } else {
            earlier.get(&code_span(context))
        };
        if let Some(line) = line
            && size + line.len() < MAX_TESTS_SECTION
        {
            size += line.len() + 1;
            out.push(line.clone());
        }
    }
    out
}

/// The failed tests' lines of a comment, by the context's code span.
fn section_lines(body: &str) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    let mut in_section = false;
    for line in body.split('\n') {
        if line == TESTS_HEADER {
            in_section = true;
        } else if line.trim().is_empty() {
            in_section = false;
        } else if in_section
            && let Some(rest) = line.strip_prefix("- `")
            && let Some((context, _)) = rest.split_once("`: ")
        {
            lines.push((format!("`{context}`"), line.to_owned()));
        }
    }
    lines
}

/// `plank.report_templates` for `org/repo`, else `org`, else `*` (the
/// deprecated `report_template` counts as `*`).
fn report_template<'p>(plank: &'p Plank, refs: &Refs) -> Option<&'p str> {
    let full = format!("{}/{}", refs.org, refs.repo);
    let templates = &plank.report_templates;
    templates
        .get(&full)
        .or_else(|| templates.get(&refs.org))
        .or_else(|| templates.get("*"))
        .map(String::as_str)
        .or_else(|| (!plank.report_template.is_empty()).then_some(plank.report_template.as_str()))
}

/// What the bot's comments should become.
struct Decision {
    plan: Plan,
    /// The comment's new text; `None`: no comment is wanted.
    body: Option<String>,
    /// The text of the comment [`Plan::keep`] names, as it is now.
    kept_body: Option<String>,
}

impl Decision {
    fn is_unchanged(&self) -> bool {
        self.plan.delete.is_empty()
            && match (&self.body, self.plan.keep) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(body), Some(_)) => self.kept_body.as_ref() == Some(body),
            }
    }
}

fn decide(
    jobs: &[&ProwJob],
    must_create: bool,
    extra: Option<&str>,
    fresh: &BTreeMap<String, String>,
    refs: &Refs,
    comments: &[Comment],
    deps: &ReporterDeps<'_>,
) -> Decision {
    let bot = deps.scm.bot_login();
    let ours: Vec<&Comment> = comments
        .iter()
        .filter(|c| is_bot(&c.author, bot) && c.body.contains(COMMENT_TAG))
        .collect();
    let plan = plan(jobs, &ours);

    // Prow does not announce "all passed" while a run was aborted: a push
    // aborted it, and the new run has not reported yet.
    let aborted = jobs
        .iter()
        .any(|j| j.status.state == Some(ProwJobState::Aborted));
    let author = refs.pulls.first().map_or("", |p| p.author.as_str());
    let cases = case_lines(&plan.rows, jobs, fresh, &ours);
    let body = (!plan.rows.is_empty() || (must_create && !aborted))
        .then(|| body(author, &plan.rows, &cases, extra));
    let kept_body = plan
        .keep
        .and_then(|id| ours.iter().find(|c| c.id == id))
        .map(|c| c.body.clone());
    Decision {
        plan,
        body,
        kept_body,
    }
}

/// Makes the bot's comments what `plan` and `body` say.
async fn apply(
    plan: Plan,
    body: Option<String>,
    kept_body: Option<String>,
    refs: &Refs,
    number: i64,
    deps: &ReporterDeps<'_>,
) -> PortResult<CommentReport> {
    let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
    // Post before deleting: a failure in between then leaves an extra comment
    // (removed by the next report), never a lost row.
    let outcome = match (body, plan.keep) {
        (None, _) if plan.delete.is_empty() => CommentReport::Unchanged,
        (None, _) => CommentReport::Deleted {
            ids: plan.delete.clone(),
        },
        (Some(body), None) => {
            deps.scm.create_comment(org, repo, number, &body).await?;
            CommentReport::Created {
                deleted: plan.delete.clone(),
            }
        }
        (Some(body), Some(id)) => {
            let same = kept_body.as_ref() == Some(&body);
            if !same {
                deps.scm.edit_comment(org, repo, id, &body).await?;
            }
            match (same, plan.delete.is_empty()) {
                (true, true) => CommentReport::Unchanged,
                (true, false) => CommentReport::Deleted {
                    ids: plan.delete.clone(),
                },
                (false, _) => CommentReport::Edited {
                    id,
                    deleted: plan.delete.clone(),
                },
            }
        }
    };
    for id in &plan.delete {
        deps.scm.delete_comment(org, repo, *id).await?;
    }
    Ok(outcome)
}

/// A comment is the bot's under its login, with or without the `[bot]` that
/// GitHub appends to an App's login.
fn is_bot(author: &str, bot: &str) -> bool {
    let bare = |s: &'_ str| s.strip_suffix("[bot]").unwrap_or(s).to_owned();
    !author.is_empty() && bare(author) == bare(bot)
}

/// What to do with the bot's comments.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// Comments to delete.
    delete: Vec<i64>,
    /// The table after merging.
    rows: Vec<String>,
    /// The comment to edit in place; `None` posts a new one.
    keep: Option<i64>,
}

/// Prow's `parseIssueComments`. Rows are read from every tagged bot comment,
/// oldest first; a row is dropped when a later row or one of `jobs` has its
/// context; each job whose state is exactly `failure` adds a row (error and
/// aborted do not). A new failure posts a new comment; otherwise the latest
/// comment is edited, or deleted when no row is left. Older comments go.
/// Beyond Prow, which records a report so as never to repeat it: a failure
/// whose row is posted already is not new, so a repeated report of the same
/// run changes nothing.
fn plan(jobs: &[&ProwJob], ours: &[&Comment]) -> Plan {
    let mut rows: Vec<String> = Vec::new();
    let mut delete = Vec::new();
    let mut latest = None;
    for c in ours {
        if let Some(older) = latest.replace(c.id) {
            delete.push(older);
        }
        rows.extend(table_rows(&c.body));
    }
    let current: BTreeSet<&str> = jobs.iter().map(|j| j.spec.context.as_str()).collect();
    let failed: Vec<String> = jobs
        .iter()
        .filter(|j| j.status.state == Some(ProwJobState::Failure))
        .map(|j| row(j))
        .collect();
    let mut merged: Vec<String> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let context = row_context(row);
        let superseded = rows[i + 1..].iter().any(|r| row_context(r) == context);
        // A job's own row, already posted, stays where it is.
        let replaced = current.contains(context) && !failed.contains(row);
        if !superseded && !replaced {
            merged.push(row.clone());
        }
    }
    // A failure whose row is already posted (the same run reported again)
    // is not new: it was announced once.
    let mut new_failure = false;
    for row in failed {
        if !merged.contains(&row) {
            merged.push(row);
            new_failure = true;
        }
    }
    if (new_failure || merged.is_empty())
        && let Some(id) = latest.take()
    {
        delete.push(id);
    }
    Plan {
        delete,
        rows: merged,
        keep: latest,
    }
}

/// The table rows of a comment: the lines after a `---` line, up to a blank one.
fn table_rows(body: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in body.split('\n').map(str::trim) {
        if line.starts_with("---") {
            in_table = true;
        } else if line.is_empty() {
            in_table = false;
        } else if in_table {
            rows.push(line.to_owned());
        }
    }
    rows
}

fn row_context(row: &str) -> &str {
    row.split(" | ").next().unwrap_or(row)
}

/// `<context> | <head sha> | [link](<url>) | <required> | `<rerun command>``.
fn row(job: &ProwJob) -> String {
    let sha = job
        .spec
        .refs
        .as_ref()
        .and_then(|r| r.pulls.first())
        .map_or("", |p| p.sha.as_str());
    let required = match job.spec.r#type {
        Some(ProwJobType::Presubmit) => job
            .metadata
            .labels
            .get(IS_OPTIONAL)
            .and_then(|v| go_parse_bool(v))
            .map(|optional| if optional { "false" } else { "true" }),
        _ => None,
    }
    .unwrap_or("unknown");
    format!(
        "{} | {sha} | [link]({}) | {required} | `{}`",
        job.spec.context, job.status.url, job.spec.rerun_command
    )
}

/// Go's `strconv.ParseBool`, which reads the is-optional label in Prow.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The comment's text. Its layout is what [`table_rows`] reads back: the
/// rule line, the rows, then a blank line; then, when there are any, the
/// failed tests' lines under [`TESTS_HEADER`], which [`section_lines`]
/// reads back.
fn body(author: &str, rows: &[String], cases: &[String], extra: Option<&str>) -> String {
    let mut lines: Vec<String> = Vec::new();
    if rows.is_empty() {
        lines.push(format!("@{author}: every test **passed**."));
        lines.push(String::new());
    } else {
        let (count, noun) = match rows.len() {
            1 => ("1".to_owned(), "test"),
            n => (n.to_string(), "tests"),
        };
        lines.push(format!(
            "@{author}: {count} {noun} **failed**. Comment `/retest` to rerun every failed test, \
             or `/retest-required` to rerun only the failed required ones:"
        ));
        lines.push(String::new());
        lines.push(TABLE_HEADER.to_owned());
        lines.push(TABLE_RULE.to_owned());
        lines.extend(rows.iter().cloned());
        if !cases.is_empty() {
            lines.push(String::new());
            lines.push(TESTS_HEADER.to_owned());
            lines.extend(cases.iter().cloned());
        }
    }
    if let Some(extra) = extra {
        lines.push(String::new());
        lines.push(extra.to_owned());
    }
    for l in ["", "<details>", "", ABOUT, "</details>", COMMENT_TAG] {
        lines.push(l.to_owned());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{ProwJobSpec, ProwJobStatus, Pull};

    fn job(context: &str, state: ProwJobState) -> ProwJob {
        ProwJob {
            spec: ProwJobSpec {
                r#type: Some(ProwJobType::Presubmit),
                context: context.into(),
                rerun_command: format!("/test {context}"),
                refs: Some(Refs {
                    org: "acme".into(),
                    repo: "widgets".into(),
                    pulls: vec![Pull {
                        number: 42,
                        author: "alice".into(),
                        sha: "head2".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
            status: ProwJobStatus {
                state: Some(state),
                url: format!("https://deck/{context}"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn comment(id: i64, rows: &[&str]) -> Comment {
        Comment {
            id,
            author: "skiff-bot".into(),
            body: body(
                "alice",
                &rows.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                &[],
                None,
            ),
        }
    }

    const UNIT_OLD: &str = "unit | head1 | [link](https://deck/u1) | true | `/test unit`";
    const LINT_OLD: &str = "lint | head1 | [link](https://deck/l1) | true | `/test lint`";

    #[test]
    fn rows_survive_a_round_trip_through_the_body() {
        let rows = vec![UNIT_OLD.to_owned(), LINT_OLD.to_owned()];
        assert_eq!(
            table_rows(&body("alice", &rows, &[], Some("extra\ntext"))),
            rows
        );
        // The failed tests' section is not part of the table, and reads back.
        let cases = vec!["- `unit`: `TestA`, `TestB` ([job page](https://deck/u1))".to_owned()];
        let with_cases = body("alice", &rows, &cases, Some("extra\ntext"));
        assert_eq!(table_rows(&with_cases), rows);
        assert_eq!(
            section_lines(&with_cases),
            [("`unit`".to_owned(), cases[0].clone())]
        );
    }

    #[test]
    fn failed_tests_follow_their_row_and_stay_within_the_cap() {
        let earlier = Comment {
            id: 7,
            author: "skiff-bot".into(),
            body: body(
                "alice",
                &[UNIT_OLD.to_owned(), LINT_OLD.to_owned()],
                &[
                    "- `unit`: `TestOld`".to_owned(),
                    "- `lint`: `TestLint`".to_owned(),
                ],
                None,
            ),
        };
        let failed = job("unit", ProwJobState::Failure);
        let p = plan(&[&failed], &[&earlier]);
        // lint's row is kept from the earlier comment, with its tests; unit's
        // is this report's, with the tests it found now (or none).
        let fresh = BTreeMap::from([("unit".to_owned(), "- `unit`: `TestNew`".to_owned())]);
        assert_eq!(
            case_lines(&p.rows, &[&failed], &fresh, &[&earlier]),
            ["- `lint`: `TestLint`", "- `unit`: `TestNew`"]
        );
        assert_eq!(
            case_lines(&p.rows, &[&failed], &BTreeMap::new(), &[&earlier]),
            ["- `lint`: `TestLint`"]
        );
        // A hundred failed jobs with long lines: the section stops in time.
        let rows: Vec<String> = (0..100)
            .map(|i| format!("ctx{i} | sha | [link](u) | true | `/test ctx{i}`"))
            .collect();
        let jobs: Vec<ProwJob> = (0..100)
            .map(|i| job(&format!("ctx{i}"), ProwJobState::Failure))
            .collect();
        let refs: Vec<&ProwJob> = jobs.iter().collect();
        let fresh: BTreeMap<String, String> = (0..100)
            .map(|i| {
                (
                    format!("ctx{i}"),
                    format!("- `ctx{i}`: {}", "`TestX`, ".repeat(100)),
                )
            })
            .collect();
        let lines = case_lines(&rows, &refs, &fresh, &[]);
        let size: usize = lines.iter().map(|l| l.len() + 1).sum();
        assert!(
            size <= MAX_TESTS_SECTION && lines.len() < 100,
            "{size} {}",
            lines.len()
        );
    }

    #[test]
    fn a_new_failure_replaces_its_old_row_and_posts_a_new_comment() {
        let c = comment(7, &[UNIT_OLD, LINT_OLD]);
        let failed = job("unit", ProwJobState::Failure);
        let p = plan(&[&failed], &[&c]);
        assert_eq!(
            p,
            Plan {
                delete: vec![7],
                rows: vec![
                    LINT_OLD.to_owned(),
                    "unit | head2 | [link](https://deck/unit) | unknown | `/test unit`".to_owned()
                ],
                keep: None,
            }
        );
    }

    #[test]
    fn a_pass_drops_its_row_and_edits_in_place() {
        let c = comment(7, &[UNIT_OLD, LINT_OLD]);
        let passed = job("unit", ProwJobState::Success);
        let p = plan(&[&passed], &[&c]);
        assert_eq!(
            p,
            Plan {
                delete: vec![],
                rows: vec![LINT_OLD.to_owned()],
                keep: Some(7),
            }
        );
    }

    #[test]
    fn no_row_left_deletes_the_comment() {
        let c = comment(7, &[UNIT_OLD]);
        let passed = job("unit", ProwJobState::Success);
        let p = plan(&[&passed], &[&c]);
        assert_eq!(
            p,
            Plan {
                delete: vec![7],
                rows: vec![],
                keep: None
            }
        );
    }

    #[test]
    fn error_and_aborted_add_no_row_but_clear_the_old_one() {
        for state in [ProwJobState::Error, ProwJobState::Aborted] {
            let c = comment(7, &[UNIT_OLD, LINT_OLD]);
            let j = job("unit", state);
            let p = plan(&[&j], &[&c]);
            assert_eq!(p.rows, vec![LINT_OLD.to_owned()], "{state:?}");
            assert_eq!(p.keep, Some(7), "{state:?}");
        }
    }

    #[test]
    fn a_newer_row_of_the_same_context_wins_and_older_comments_go() {
        let newer_unit = "unit | head1b | [link](https://deck/u2) | true | `/test unit`";
        let older = comment(5, &[UNIT_OLD]);
        let newer = comment(6, &[newer_unit, LINT_OLD]);
        let other = job("docs", ProwJobState::Success);
        let p = plan(&[&other], &[&older, &newer]);
        assert_eq!(
            p,
            Plan {
                delete: vec![5],
                rows: vec![newer_unit.to_owned(), LINT_OLD.to_owned()],
                keep: Some(6),
            }
        );
    }

    #[test]
    fn required_follows_the_is_optional_label_of_presubmits() {
        let mut j = job("unit", ProwJobState::Failure);
        assert!(row(&j).contains("| unknown |"));
        j.metadata.labels.insert(IS_OPTIONAL.into(), "false".into());
        assert!(row(&j).contains("| true |"));
        j.metadata.labels.insert(IS_OPTIONAL.into(), "T".into());
        assert!(row(&j).contains("| false |"));
        j.metadata.labels.insert(IS_OPTIONAL.into(), "maybe".into());
        assert!(row(&j).contains("| unknown |"));
        j.spec.r#type = Some(ProwJobType::Postsubmit);
        j.metadata.labels.insert(IS_OPTIONAL.into(), "false".into());
        assert!(row(&j).contains("| unknown |"));
    }

    #[test]
    fn bot_comments_are_recognised_with_or_without_the_app_suffix() {
        assert!(is_bot("skiff-bot", "skiff-bot"));
        assert!(is_bot("skiff-bot[bot]", "skiff-bot"));
        assert!(is_bot("skiff-bot", "skiff-bot[bot]"));
        assert!(!is_bot("alice", "skiff-bot"));
        assert!(!is_bot("", ""));
    }

    #[test]
    fn templates_are_chosen_by_repo_then_org_then_star() {
        let refs = Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            ..Default::default()
        };
        let mut plank = Plank::default();
        assert_eq!(report_template(&plank, &refs), None);
        plank.report_template = "legacy".into();
        assert_eq!(report_template(&plank, &refs), Some("legacy"));
        plank.report_template.clear();
        plank.report_templates.insert("*".into(), "star".into());
        assert_eq!(report_template(&plank, &refs), Some("star"));
        plank.report_templates.insert("acme".into(), "org".into());
        assert_eq!(report_template(&plank, &refs), Some("org"));
        plank
            .report_templates
            .insert("acme/widgets".into(), "repo".into());
        assert_eq!(report_template(&plank, &refs), Some("repo"));
    }
}
