//! The twins as the reporter's tests use them, and the builders they share.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::event::PullRequest;
use skiff_core::keys::COMMENT_TAG;
use skiff_core::ports::{CheckRun, Comment, CommitStatus, PortResult, Scm};
use skiff_core::prowjob::labels::IS_OPTIONAL;
use skiff_core::prowjob::{ProwJob, ProwJobSpec, ProwJobState, ProwJobType, Pull, Refs};
use skiff_testkit::{ManualClock, MemoryScm};

pub const BASE_SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
pub const HEAD_SHA: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
pub const CONTEXT: &str = "pull-widgets-unit";
pub const URL: &str = "https://deck.example/view/s3/logs/pull-widgets-unit/7";
pub const PAD: char = '\u{2001}';

// ---------------------------------------------------------------------------
// The twins, as the reporter sees them

pub fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

/// A clock stopped at [`now`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now()))
}

/// The GitHub twin as the reporter may use it: every job here is in
/// acme/widgets, and the reporter asks no facts and sets no labels. (The
/// twin's log of calls does not keep the org and repo, so they are checked
/// here, on the way in.)
pub struct Guarded<'a>(pub &'a MemoryScm);

#[async_trait]
impl Scm for Guarded<'_> {
    fn bot_login(&self) -> &str {
        self.0.bot_login()
    }
    async fn pull_request(&self, _: &str, _: &str, _: i64) -> PortResult<PullRequest> {
        unreachable!("the reporter asks no facts")
    }
    async fn changed_files(&self, _: &str, _: &str, _: i64) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_member(&self, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_collaborator(&self, _: &str, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn branch_sha(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn comment_body(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn compare_files(&self, _: &str, _: &str, _: &str, _: &str) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        assert_eq!((org, repo), ("acme", "widgets"));
        self.0.create_status(org, repo, sha, status).await
    }
    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.0.list_comments(org, repo, number).await
    }
    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        self.0.create_comment(org, repo, number, body).await
    }
    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        self.0.edit_comment(org, repo, id, body).await
    }
    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        self.0.delete_comment(org, repo, id).await
    }
    async fn add_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
    async fn remove_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
    fn checks_supported(&self) -> bool {
        self.0.checks_supported()
    }
    async fn create_check_run(&self, org: &str, repo: &str, run: &CheckRun) -> PortResult<i64> {
        assert_eq!((org, repo), ("acme", "widgets"));
        self.0.create_check_run(org, repo, run).await
    }
    async fn update_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        assert_eq!((org, repo), ("acme", "widgets"));
        self.0.update_check_run(org, repo, id, run).await
    }
    async fn find_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        self.0.find_check_run(org, repo, run).await
    }
}

// ---------------------------------------------------------------------------
// Builders

pub fn presubmit(id: &str, context: &str) -> ProwJob {
    let mut j = ProwJob {
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            job: context.into(),
            context: context.into(),
            rerun_command: format!("/test {context}"),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                pulls: vec![Pull {
                    number: 42,
                    author: "alice".into(),
                    sha: HEAD_SHA.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    j.metadata.name = id.into();
    j.metadata.creation_timestamp = Some(now());
    j.metadata.labels.insert(IS_OPTIONAL.into(), "false".into());
    j.status.state = Some(ProwJobState::Triggered);
    j.status.description = "Job triggered.".into();
    j
}

pub fn padded(description: &str) -> String {
    let pads = 140 - description.chars().count() - " BaseSHA:".len() - BASE_SHA.len();
    format!(
        "{description}{} BaseSHA:{BASE_SHA}",
        PAD.to_string().repeat(pads)
    )
}

pub fn row(context: &str, url: &str) -> String {
    format!("{context} | {HEAD_SHA} | [link]({url}) | true | `/test {context}`")
}

/// A JUnit file as go-junit-report writes it: `failed` fail with the
/// message `<name>: want 3, got 2`, then two pass, and one fails then
/// passes on a rerun (flaky: not a failed test).
pub fn junit(failed: &[&str]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"github.com/acme/widgets\">\n",
    );
    for name in failed {
        let escaped = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;");
        xml.push_str(&format!(
            "<testcase name=\"{escaped}\" classname=\"github.com/acme/widgets\" time=\"0.1\">\
             <failure message=\"Failed\"><![CDATA[    widgets_test.go:42: {escaped}: want 3, got 2]]></failure></testcase>\n"
        ));
    }
    for name in ["TestPasses", "TestAlsoPasses", "TestFlaky"] {
        xml.push_str(&format!(
            "<testcase name=\"{name}\" classname=\"github.com/acme/widgets\" time=\"0.1\"></testcase>\n"
        ));
    }
    xml.push_str(
        "<testcase name=\"TestFlaky\" classname=\"github.com/acme/widgets\" time=\"0.1\"><failure message=\"Failed\">once</failure></testcase>\n",
    );
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}

/// The failure comment with its failed tests' section, pinned word for
/// word: the table, then `Failed tests:` and one line per failed row.
pub fn failure_comment_with_tests(rows: &[String], tests: &[String]) -> String {
    let plain = failure_comment(rows);
    let table_end = format!("{}\n", rows.join("\n"));
    let at = plain.find(&table_end).expect("the rows are in the comment") + table_end.len();
    format!(
        "{}\nFailed tests:\n{}\n{}",
        &plain[..at],
        tests.join("\n"),
        &plain[at..]
    )
}

/// The failure comment, pinned word for word.
pub fn failure_comment(rows: &[String]) -> String {
    let noun = if rows.len() == 1 {
        "1 test".to_owned()
    } else {
        format!("{} tests", rows.len())
    };
    format!(
        "@alice: {noun} **failed**. Comment `/retest` to rerun every failed test, or `/retest-required` to rerun only the failed required ones:\n\
         \n\
         Test name | Commit | Details | Required | Rerun command\n\
         --- | --- | --- | --- | ---\n\
         {}\n\
         \n\
         <details>\n\
         \n\
         This comment is kept up to date by Skiff's reporter: each row is the latest failed run of a test on this pull request, and a row goes away once that test passes. Comment `/test <name>` to run a single test again.\n\
         </details>\n\
         {COMMENT_TAG}",
        rows.join("\n")
    )
}
