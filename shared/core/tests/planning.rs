//! Prow's trigger semantics (PROW.md §4 and §12 items 2–7), one test per rule,
//! each named for the rule it pins. Events are built in Skiff's neutral model;
//! facts come from an in-memory fake that counts every question asked.

use std::cell::RefCell;
use std::collections::BTreeMap;

use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::{
    CommentAction, CommentEvent, Event, PrAction, PullRequest, PullRequestEvent, PushEvent, Repo,
    RerunEvent,
};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{Context, FactError, Facts, Plan, plan_event};
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Pull, Refs};

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [make, docs]}]}
  - name: lint
    skip_if_only_changed: '\.md$'
    optional: true
    spec: {containers: [{image: alpine, command: [make, lint]}]}
  - name: e2e
    spec: {containers: [{image: alpine, command: [make, e2e]}]}
  - name: e2e-optional
    optional: true
    spec: {containers: [{image: alpine, command: [make, e2e]}]}
  - name: integration
    context: ci/integration
    always_run: true
    spec: {containers: [{image: alpine, command: [make, integration]}]}
  - name: release-only
    always_run: true
    branches: ['^release-']
    spec: {containers: [{image: alpine, command: [make, release]}]}
  - name: main-unanchored
    always_run: true
    branches: [main]
    spec: {containers: [{image: alpine, command: [make, x]}]}
  - name: gpu
    trigger: '(?m)^/(test|run) gpu\s*$'
    rerun_command: /test gpu
    spec: {containers: [{image: alpine, command: [nvidia-smi]}]}
  acme/simple-pre:
  - name: simple-unit
    always_run: true
    spec: {containers: [{image: alpine, command: [x]}]}
postsubmits:
  acme/widgets:
  - name: publish
    branches: ['^main$']
    spec: {containers: [{image: alpine, command: [publish]}]}
  - name: tag-release
    branches: ['^v\d+\.\d+\.\d+$']
    spec: {containers: [{image: alpine, command: [release]}]}
  - name: post-docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [docs]}]}
  - name: never-by-default
    always_run: false
    spec: {containers: [{image: alpine, command: [x]}]}
  acme/simple:
  - name: simple-publish
    spec: {containers: [{image: alpine, command: [x]}]}
"#;

fn config(plugins: &str) -> Config {
    let mut files = vec![SourceFile {
        path: "jobs.yaml".into(),
        text: JOBS.into(),
        role: FileRole::JobConfig,
    }];
    if !plugins.is_empty() {
        files.push(SourceFile {
            path: "plugins.yaml".into(),
            text: plugins.into(),
            role: FileRole::PluginConfig,
        });
    }
    let loaded = load(&files);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

#[derive(Default)]
struct FakeFacts {
    members: Vec<&'static str>,
    collaborators: Vec<&'static str>,
    changed: Vec<String>,
    pr: Option<PullRequest>,
    jobs: Vec<ProwJob>,
    calls: RefCell<BTreeMap<&'static str, usize>>,
}

impl FakeFacts {
    fn count(&self, fact: &'static str) {
        *self.calls.borrow_mut().entry(fact).or_default() += 1;
    }
    fn calls(&self, fact: &str) -> usize {
        self.calls.borrow().get(fact).copied().unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl Facts for FakeFacts {
    async fn changed_files(&mut self, _: &Repo, _: i64) -> Result<Vec<String>, FactError> {
        self.count("changed_files");
        Ok(self.changed.clone())
    }
    async fn is_member(&mut self, _: &str, login: &str) -> Result<bool, FactError> {
        self.count("is_member");
        Ok(self.members.contains(&login))
    }
    async fn is_collaborator(&mut self, _: &str, _: &str, login: &str) -> Result<bool, FactError> {
        self.count("is_collaborator");
        Ok(self.collaborators.contains(&login))
    }
    fn is_bot(&self, login: &str) -> bool {
        login == "skiff-bot"
    }
    async fn pull_request(&mut self, _: &Repo, _: i64) -> Result<PullRequest, FactError> {
        self.count("pull_request");
        self.pr.clone().ok_or(FactError {
            fact: "pull request",
            message: "not found".into(),
            retryable: false,
        })
    }
    async fn pr_jobs(&mut self, _: &Repo, _: i64) -> Result<Vec<ProwJob>, FactError> {
        self.count("pr_jobs");
        Ok(self.jobs.clone())
    }
    async fn base_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        self.count("base_sha");
        Ok("base000".into())
    }
    async fn comment_body(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        self.count("comment_body");
        Ok("/test e2e".into())
    }
    async fn push_changes(&mut self, _: &PushEvent) -> Result<Vec<String>, FactError> {
        self.count("push_changes");
        Ok(self.changed.clone())
    }
}

fn repo(name: &str) -> Repo {
    Repo {
        org: "acme".into(),
        repo: name.into(),
        html_url: format!("https://github.com/acme/{name}"),
    }
}

fn pr(author: &str) -> PullRequest {
    PullRequest {
        repo: repo("widgets"),
        number: 42,
        title: "Fix <things> & stuff".into(),
        body: String::new(),
        author: author.into(),
        author_link: format!("https://github.com/{author}"),
        html_url: "https://github.com/acme/widgets/pull/42".into(),
        head_sha: "head111".into(),
        head_ref: "fix".into(),
        base_ref: "main".into(),
        base_sha: "payloadbase".into(),
        draft: false,
        state: "open".into(),
        merged: false,
        mergeable: None,
        labels: vec![],
        milestone: String::new(),
    }
}

fn pr_event(action: PrAction, pr: PullRequest) -> Event {
    let sender = pr.author.clone();
    Event::PullRequest(PullRequestEvent { action, pr, sender })
}

fn comment(author: &str, body: &str) -> Event {
    Event::Comment(CommentEvent {
        action: CommentAction::Created,
        repo: repo("widgets"),
        number: 42,
        is_pull_request: true,
        body: Some(body.into()),
        comment_id: None,
        author: author.into(),
        issue_state: "open".into(),
        pr: None,
        html_url: "https://github.com/acme/widgets/pull/42#issuecomment-1".into(),
    })
}

fn plan_with(config: &'static Config, event: &Event, facts: &mut FakeFacts) -> Plan<'static> {
    let regexes: &'static Regexes = Box::leak(Box::default());
    let ctx = Context {
        config,
        regexes,
        delivery: "delivery-1",
        now: "2026-11-23T10:00:00Z".parse().unwrap(),
        explain: true,
    };
    futures_executor::block_on(plan_event(&ctx, event, facts)).unwrap()
}

fn plan(event: &Event, facts: &mut FakeFacts) -> Plan<'static> {
    // Each test plans against its own config; leaking it keeps the plan simple.
    let config: &'static Config = Box::leak(Box::new(config("")));
    plan_with(config, event, facts)
}

fn names<'p>(p: &'p Plan) -> Vec<&'p str> {
    let mut n: Vec<&str> = p.jobs.iter().map(|j| j.name()).collect();
    n.sort();
    n
}

fn reason<'a>(p: &'a Plan, job: &str) -> &'a str {
    p.skipped
        .iter()
        .find(|s| s.job == job)
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{job} not skipped: {:?}", p.skipped))
}

fn member_facts() -> FakeFacts {
    FakeFacts {
        members: vec!["alice", "carol"],
        changed: vec!["pkg/a.go".into()],
        ..FakeFacts::default()
    }
}

fn history_job(
    context: &str,
    name: &str,
    sha: &str,
    state: ProwJobState,
    started: &str,
) -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = format!("id-{name}-{started}");
    j.spec.r#type = Some(ProwJobType::Presubmit);
    j.spec.job = name.into();
    j.spec.context = context.into();
    j.spec.report = true;
    j.spec.refs = Some(Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        pulls: vec![Pull {
            number: 42,
            sha: sha.into(),
            ..Pull::default()
        }],
        ..Refs::default()
    });
    j.status.state = Some(state);
    j.status.start_time = Some(started.parse().unwrap());
    if !matches!(
        state,
        ProwJobState::Triggered | ProwJobState::Pending | ProwJobState::Aborted
    ) {
        j.status.completion_time = j.status.start_time;
    }
    j
}

// --- pull_request actions -------------------------------------------------

#[test]
fn trusted_author_opening_a_pr_runs_automatic_jobs_whose_files_match() {
    let mut f = member_facts();
    let p = plan(&pr_event(PrAction::Opened, pr("alice")), &mut f);
    assert_eq!(
        names(&p),
        ["integration", "lint", "main-unanchored", "unit"]
    );
    assert_eq!(
        reason(&p, "docs"),
        "run_if_changed '^docs/' matched none of 1 changed file"
    );
    assert!(reason(&p, "e2e").contains("runs only when asked for with `/test e2e`"));
    assert_eq!(
        reason(&p, "release-only"),
        "branch `main` does not match branches [\"^release-\"]"
    );
    assert!(p.comments.is_empty() && p.labels_add.is_empty());
}

#[test]
fn job_records_carry_prows_refs_labels_and_a_stable_id() {
    let mut f = member_facts();
    let event = pr_event(PrAction::Opened, pr("alice"));
    let p = plan(&event, &mut f);
    let unit = p.jobs.iter().find(|j| j.name() == "unit").unwrap().record();
    let refs = unit.spec.refs.as_ref().unwrap();
    assert_eq!(refs.base_sha, "base000", "base SHA is read at event time");
    assert_eq!(
        refs.base_link,
        "https://github.com/acme/widgets/commit/base000"
    );
    assert_eq!(
        refs.pulls[0].commit_link,
        "https://github.com/acme/widgets/pull/42/commits/head111"
    );
    assert_eq!(refs.pull_refs(), "main:base000,42:head111");
    assert_eq!(unit.metadata.labels["event-GUID"], "delivery-1");
    assert_eq!(unit.metadata.labels["prow.k8s.io/is-optional"], "false");
    assert_eq!(unit.spec.rerun_command, "/test unit");
    let again = plan(&event, &mut member_facts());
    assert_eq!(again.jobs[0].id(), p.jobs[0].id(), "same event, same ids");
    let unit_id = p.jobs.iter().find(|j| j.name() == "unit").unwrap().id();
    assert_eq!(unit.metadata.name, unit_id);
}

#[test]
fn untrusted_author_gets_needs_ok_to_test_and_a_welcome_but_no_jobs() {
    let mut f = member_facts();
    let p = plan(&pr_event(PrAction::Opened, pr("mallory")), &mut f);
    assert!(p.jobs.is_empty());
    assert_eq!(p.labels_add, ["needs-ok-to-test"]);
    assert_eq!(p.comments.len(), 1);
    assert!(p.comments[0].contains("@mallory") && p.comments[0].contains("`/ok-to-test`"));
    assert!(reason(&p, "unit").contains("not a trusted user"));
}

#[test]
fn untrusted_pr_already_labelled_ok_to_test_gets_no_needs_label() {
    let mut pull = pr("mallory");
    pull.labels = vec!["ok-to-test".into()];
    let p = plan(&pr_event(PrAction::Opened, pull), &mut member_facts());
    assert!(p.labels_add.is_empty());
    assert_eq!(
        p.comments.len(),
        1,
        "still welcomed: the author is not trusted"
    );
}

#[test]
fn draft_pr_gets_prows_draft_comment_and_no_jobs() {
    let mut pull = pr("alice");
    pull.draft = true;
    let p = plan(&pr_event(PrAction::Opened, pull), &mut member_facts());
    assert!(p.jobs.is_empty());
    assert!(p.comments[0].starts_with("Skipping CI for Draft Pull Request."));
    assert_eq!(reason(&p, "unit"), "the pull request is a draft");
}

#[test]
fn pr_description_at_open_counts_as_a_comment() {
    let mut pull = pr("alice");
    pull.body = "This fixes it.\n/test e2e\n".into();
    let p = plan(&pr_event(PrAction::Opened, pull), &mut member_facts());
    assert_eq!(
        names(&p),
        ["e2e", "integration", "lint", "main-unanchored", "unit"]
    );
}

#[test]
fn synchronize_aborts_every_incomplete_presubmit_then_builds_all() {
    let mut f = member_facts();
    f.jobs = vec![
        history_job(
            "unit",
            "unit",
            "old",
            ProwJobState::Pending,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "lint",
            "lint",
            "old",
            ProwJobState::Triggered,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "docs",
            "docs",
            "old",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
    ];
    let mut pull = pr("alice");
    pull.head_sha = "new".into();
    let p = plan(&pr_event(PrAction::Synchronize, pull), &mut f);
    let aborted: Vec<&str> = p.abort.iter().map(|a| a.job.as_str()).collect();
    assert_eq!(aborted, ["unit", "lint"]);
    assert!(
        p.abort
            .iter()
            .all(|a| a.description == "Aborted by trigger plugin.")
    );
    assert_eq!(
        names(&p),
        ["integration", "lint", "main-unanchored", "unit"]
    );
}

#[test]
fn closed_and_converted_to_draft_only_abort() {
    for action in [PrAction::Closed, PrAction::ConvertedToDraft] {
        let mut f = member_facts();
        f.jobs = vec![history_job(
            "unit",
            "unit",
            "h",
            ProwJobState::Pending,
            "2026-11-23T09:00:00Z",
        )];
        let p = plan(&pr_event(action.clone(), pr("alice")), &mut f);
        assert!(p.jobs.is_empty(), "{action:?}");
        assert_eq!(p.abort.len(), 1, "{action:?}");
    }
}

#[test]
fn edited_builds_only_when_the_base_changed() {
    let p = plan(
        &pr_event(
            PrAction::Edited {
                base_changed: false,
            },
            pr("alice"),
        ),
        &mut member_facts(),
    );
    assert!(p.jobs.is_empty());
    assert!(p.note.unwrap().contains("without changing its base"));
    let p = plan(
        &pr_event(PrAction::Edited { base_changed: true }, pr("alice")),
        &mut member_facts(),
    );
    assert_eq!(p.jobs.len(), 4);
}

#[test]
fn reopened_and_ready_for_review_build_all_and_drop_needs_ok_to_test() {
    for action in [PrAction::Reopened, PrAction::ReadyForReview] {
        let mut pull = pr("mallory");
        pull.labels = vec!["ok-to-test".into(), "needs-ok-to-test".into()];
        let p = plan(&pr_event(action, pull), &mut member_facts());
        assert_eq!(p.jobs.len(), 4);
        assert_eq!(p.labels_remove, ["needs-ok-to-test"]);
    }
}

#[test]
fn ok_to_test_label_from_a_person_builds_all_but_not_from_the_bot() {
    let labeled = |sender: &str| {
        Event::PullRequest(PullRequestEvent {
            action: PrAction::Labeled {
                label: "ok-to-test".into(),
            },
            pr: pr("mallory"),
            sender: sender.into(),
        })
    };
    assert_eq!(plan(&labeled("alice"), &mut member_facts()).jobs.len(), 4);
    assert!(
        plan(&labeled("skiff-bot"), &mut member_facts())
            .jobs
            .is_empty()
    );
}

#[test]
fn lgtm_on_an_untrusted_pr_builds_all() {
    let lgtm = |author: &str| {
        pr_event(
            PrAction::Labeled {
                label: "lgtm".into(),
            },
            pr(author),
        )
    };
    assert_eq!(plan(&lgtm("mallory"), &mut member_facts()).jobs.len(), 4);
    assert!(plan(&lgtm("alice"), &mut member_facts()).jobs.is_empty());
}

#[test]
fn a_pr_github_reports_unmergeable_starts_nothing() {
    let mut pull = pr("alice");
    pull.mergeable = Some(false);
    let p = plan(&pr_event(PrAction::Opened, pull), &mut member_facts());
    assert!(p.jobs.is_empty());
    assert!(reason(&p, "unit").contains("merge conflict"));
}

#[test]
fn branches_are_matched_unanchored() {
    let mut pull = pr("alice");
    pull.base_ref = "maintenance".into();
    let p = plan(&pr_event(PrAction::Opened, pull), &mut member_facts());
    assert!(
        names(&p).contains(&"main-unanchored"),
        "`main` matches `maintenance`"
    );
}

#[test]
fn other_pr_actions_start_nothing_with_a_reason() {
    let p = plan(
        &pr_event(PrAction::Other("assigned".into()), pr("alice")),
        &mut member_facts(),
    );
    assert!(p.jobs.is_empty());
    assert_eq!(
        p.note.as_deref(),
        Some("pull_request action `assigned` starts nothing")
    );
}

// --- comments -----------------------------------------------------------

fn comment_facts(author: &str) -> FakeFacts {
    FakeFacts {
        pr: Some(pr(author)),
        ..member_facts()
    }
}

#[test]
fn explicit_test_forces_a_job_past_its_file_filter() {
    let p = plan(&comment("alice", "/test docs"), &mut comment_facts("alice"));
    assert_eq!(names(&p), ["docs"]);
    assert!(p.prune_help_comments);
}

#[test]
fn explicit_test_never_overrides_branch_filters() {
    let p = plan(
        &comment("alice", "/test release-only"),
        &mut comment_facts("alice"),
    );
    assert!(p.jobs.is_empty());
    assert!(reason(&p, "release-only").contains("does not match branches"));
    assert!(p.comments[0].contains("The specified target(s) for `/test` were not found."));
}

#[test]
fn test_foo_comma_space_bar_runs_both_but_test_foo_comma_bar_runs_neither() {
    let p = plan(
        &comment("alice", "/test e2e, unit"),
        &mut comment_facts("alice"),
    );
    assert_eq!(names(&p), ["e2e", "unit"]);
    let p = plan(
        &comment("alice", "/test e2e,unit"),
        &mut comment_facts("alice"),
    );
    assert!(p.jobs.is_empty());
}

#[test]
fn custom_trigger_regexes_are_honoured() {
    let p = plan(&comment("alice", "/run gpu"), &mut comment_facts("alice"));
    assert_eq!(names(&p), ["gpu"]);
}

#[test]
fn test_all_runs_automatic_jobs_and_never_comment_only_ones() {
    let p = plan(&comment("alice", "/test all"), &mut comment_facts("alice"));
    assert_eq!(
        names(&p),
        ["integration", "lint", "main-unanchored", "unit"]
    );
}

#[test]
fn retest_reruns_failed_contexts_by_context_not_name() {
    let mut f = comment_facts("alice");
    f.jobs = vec![
        history_job(
            "ci/integration",
            "integration",
            "head111",
            ProwJobState::Failure,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "unit",
            "unit",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "lint",
            "lint",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "main-unanchored",
            "main-unanchored",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "e2e",
            "e2e",
            "head111",
            ProwJobState::Error,
            "2026-11-23T09:00:00Z",
        ),
    ];
    let p = plan(&comment("alice", "/retest"), &mut f);
    assert_eq!(
        names(&p),
        ["e2e", "integration"],
        "failure and error rerun, even comment-only e2e"
    );
    assert!(
        p.jobs
            .iter()
            .all(|j| j.record().metadata.labels["prow.k8s.io/retest"] == "true")
    );
}

#[test]
fn retest_ignores_pending_contexts_and_older_commits() {
    let mut f = comment_facts("alice");
    f.jobs = vec![
        history_job(
            "unit",
            "unit",
            "head111",
            ProwJobState::Pending,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "lint",
            "lint",
            "oldsha",
            ProwJobState::Failure,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "ci/integration",
            "integration",
            "head111",
            ProwJobState::Failure,
            "2026-11-23T08:00:00Z",
        ),
        history_job(
            "ci/integration",
            "integration",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "main-unanchored",
            "main-unanchored",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
    ];
    let p = plan(&comment("alice", "/retest"), &mut f);
    // lint never ran on the head commit: an automatic job, so it runs if its files match.
    assert_eq!(names(&p), ["lint"]);
}

#[test]
fn retest_required_skips_optional_jobs() {
    let mut f = comment_facts("alice");
    f.jobs = vec![
        history_job(
            "lint",
            "lint",
            "head111",
            ProwJobState::Failure,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "unit",
            "unit",
            "head111",
            ProwJobState::Failure,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "ci/integration",
            "integration",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
        history_job(
            "main-unanchored",
            "main-unanchored",
            "head111",
            ProwJobState::Success,
            "2026-11-23T09:00:00Z",
        ),
    ];
    let p = plan(&comment("alice", "/retest-required"), &mut f);
    assert_eq!(names(&p), ["unit"]);
}

#[test]
fn test_manual_required_runs_required_comment_only_jobs() {
    let p = plan(
        &comment("alice", "/test-manual-required"),
        &mut comment_facts("alice"),
    );
    // Required and comment-only: e2e and gpu; not e2e-optional, not automatic jobs.
    assert_eq!(names(&p), ["e2e", "gpu"]);
}

#[test]
fn anyone_may_test_on_a_trusted_pr() {
    let p = plan(
        &comment("mallory", "/test e2e"),
        &mut comment_facts("alice"),
    );
    assert_eq!(names(&p), ["e2e"]);
}

#[test]
fn untrusted_commenter_on_an_untrusted_pr_gets_prows_reply() {
    let p = plan(
        &comment("mallory", "/test e2e"),
        &mut comment_facts("mallory"),
    );
    assert!(p.jobs.is_empty());
    assert!(p.comments[0].starts_with(
        "@mallory: Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message."
    ));
}

#[test]
fn ok_to_test_from_a_member_labels_the_pr_and_tests_all() {
    let mut f = comment_facts("mallory");
    if let Some(pull) = f.pr.as_mut() {
        pull.labels = vec!["needs-ok-to-test".into()];
    }
    let p = plan(&comment("alice", "/ok-to-test"), &mut f);
    assert_eq!(p.labels_add, ["ok-to-test"]);
    assert_eq!(p.labels_remove, ["needs-ok-to-test"]);
    assert_eq!(
        names(&p),
        ["integration", "lint", "main-unanchored", "unit"]
    );
}

#[test]
fn ok_to_test_cancel_swaps_the_labels_back_and_runs_nothing() {
    let mut f = comment_facts("mallory");
    if let Some(pull) = f.pr.as_mut() {
        pull.labels = vec!["ok-to-test".into()];
    }
    let p = plan(&comment("alice", "/ok-to-test cancel"), &mut f);
    assert_eq!(p.labels_remove, ["ok-to-test"]);
    assert_eq!(p.labels_add, ["needs-ok-to-test"]);
    assert!(p.jobs.is_empty());
    // Anyone may comment on a trusted PR, but only the trusted may revoke.
    let mut f = comment_facts("mallory");
    if let Some(pull) = f.pr.as_mut() {
        pull.labels = vec!["ok-to-test".into()];
    }
    let p = plan(&comment("mallory", "/ok-to-test cancel"), &mut f);
    assert!(p.comments[0].contains("Only trusted users can revoke `/ok-to-test`."));
    assert!(p.labels_remove.is_empty());
}

#[test]
fn ignore_ok_to_test_disables_the_command() {
    let cfg: &'static Config = leak(config(
        "triggers:\n- repos: [acme]\n  ignore_ok_to_test: true\n",
    ));
    let mut f = comment_facts("mallory");
    let p = plan_with(cfg, &comment("alice", "/ok-to-test"), &mut f);
    assert!(p.labels_add.is_empty());
    assert!(p.jobs.is_empty());
}

#[test]
fn only_org_members_does_not_trust_collaborators() {
    let mut f = member_facts();
    f.collaborators = vec!["dave"];
    let p = plan(&pr_event(PrAction::Opened, pr("dave")), &mut f);
    assert_eq!(p.jobs.len(), 4, "collaborators are trusted by default");
    let cfg: &'static Config = leak(config(
        "triggers:\n- repos: [acme/widgets]\n  only_org_members: true\n",
    ));
    let mut f = member_facts();
    f.collaborators = vec!["dave"];
    let p = plan_with(cfg, &pr_event(PrAction::Opened, pr("dave")), &mut f);
    assert!(p.jobs.is_empty());
    assert_eq!(f.calls("is_collaborator"), 0, "not even asked");
}

#[test]
fn trusted_apps_bot_logins_are_trusted() {
    let cfg: &'static Config = leak(config(
        "triggers:\n- repos: [acme]\n  trusted_apps: [dependabot]\n",
    ));
    let p = plan_with(
        cfg,
        &pr_event(PrAction::Opened, pr("dependabot[bot]")),
        &mut member_facts(),
    );
    assert_eq!(p.jobs.len(), 4);
    let p = plan_with(
        cfg,
        &pr_event(PrAction::Opened, pr("evilbot[bot]")),
        &mut member_facts(),
    );
    assert!(p.jobs.is_empty());
}

#[test]
fn only_new_comments_on_open_prs_from_people_are_read() {
    let mut edited = comment("alice", "/test e2e");
    if let Event::Comment(c) = &mut edited {
        c.action = CommentAction::Edited;
    }
    let mut closed = comment("alice", "/test e2e");
    if let Event::Comment(c) = &mut closed {
        c.issue_state = "closed".into();
    }
    let mut issue = comment("alice", "/test e2e");
    if let Event::Comment(c) = &mut issue {
        c.is_pull_request = false;
    }
    for e in [edited, closed, issue, comment("skiff-bot", "/test e2e")] {
        let p = plan(&e, &mut comment_facts("alice"));
        assert!(
            p.jobs.is_empty() && p.comments.is_empty() && p.note.is_some(),
            "{e:?}"
        );
    }
}

#[test]
fn commands_inside_code_blocks_are_quotes() {
    let p = plan(
        &comment("alice", "Try:\n```\n/test e2e\n```\n"),
        &mut comment_facts("alice"),
    );
    assert!(p.jobs.is_empty());
    assert_eq!(
        p.note.as_deref(),
        Some("the comment holds no command for Skiff")
    );
}

#[test]
fn help_replies_match_prow() {
    let cases = [
        (
            "/test ?",
            "The following commands are available to trigger required jobs:",
        ),
        ("/test", "The `/test` command needs one or more targets.\n"),
        (
            "/retest e2e",
            "The `/retest` command does not accept any targets.\n",
        ),
        (
            "/test nope",
            "The specified target(s) for `/test` were not found.\n",
        ),
    ];
    for (body, want) in cases {
        let p = plan(&comment("alice", body), &mut comment_facts("alice"));
        assert!(p.jobs.is_empty(), "{body}");
        assert!(p.comments[0].contains(want), "{body}: {}", p.comments[0]);
        assert!(
            p.comments[0].contains("```\n/test e2e\n```"),
            "lists rerun commands"
        );
    }
}

#[test]
fn a_comment_fetches_the_pr_once_and_files_only_when_needed() {
    let mut f = comment_facts("alice");
    let _ = plan(&comment("alice", "/test e2e"), &mut f);
    assert_eq!(f.calls("pull_request"), 1);
    assert_eq!(f.calls("changed_files"), 0, "a forced job needs no files");
    assert_eq!(f.calls("pr_jobs"), 0, "only /retest reads history");
    let mut f = comment_facts("alice");
    let _ = plan(&comment("alice", "/test all"), &mut f);
    assert_eq!(
        f.calls("changed_files"),
        1,
        "asked once for all conditional jobs"
    );
}

#[test]
fn a_repo_of_always_run_jobs_never_asks_for_changed_files() {
    let mut pull = pr("alice");
    pull.repo = repo("simple-pre");
    let mut f = member_facts();
    let p = plan(&pr_event(PrAction::Opened, pull), &mut f);
    assert_eq!(names(&p), ["simple-unit"]);
    assert_eq!(f.calls("changed_files"), 0);
    assert_eq!(f.calls("is_member"), 1);
}

#[test]
fn codecommit_comments_fetch_their_text() {
    let mut e = comment("alice", "");
    if let Event::Comment(c) = &mut e {
        c.body = None;
        c.comment_id = Some("c-1".into());
    }
    let mut f = comment_facts("alice");
    let p = plan(&e, &mut f);
    assert_eq!(names(&p), ["e2e"]);
    assert_eq!(f.calls("comment_body"), 1);
}

// --- pushes ---------------------------------------------------------------

fn push(r: &str, after: &str, files: Option<Vec<&str>>) -> Event {
    Event::Push(PushEvent {
        repo: repo("widgets"),
        r#ref: r.into(),
        before: "b".into(),
        after: after.into(),
        deleted: false,
        compare_url: "https://github.com/acme/widgets/compare/b...a".into(),
        pusher: "alice".into(),
        changed_files: files.map(|f| f.into_iter().map(String::from).collect()),
    })
}

#[test]
fn postsubmits_run_by_default_on_matching_branches() {
    let p = plan(
        &push("refs/heads/main", "aaa", Some(vec!["pkg/x.go"])),
        &mut member_facts(),
    );
    assert_eq!(names(&p), ["publish"]);
    let publish = &p.jobs[0].record();
    let refs = publish.spec.refs.as_ref().unwrap();
    assert_eq!(
        (refs.base_ref.as_str(), refs.base_sha.as_str()),
        ("main", "aaa")
    );
    assert_eq!(
        refs.base_link,
        "https://github.com/acme/widgets/compare/b...a"
    );
    assert_eq!(publish.spec.r#type, Some(ProwJobType::Postsubmit));
    assert_eq!(reason(&p, "never-by-default"), "always_run is false");
    assert!(reason(&p, "post-docs").contains("matched none of 1 changed file"));
}

#[test]
fn tag_pushes_match_branches_with_refs_tags_stripped() {
    let p = plan(
        &push("refs/tags/v1.2.3", "aaa", Some(vec![])),
        &mut member_facts(),
    );
    assert_eq!(names(&p), ["tag-release"]);
}

#[test]
fn push_changes_are_the_commits_files() {
    let p = plan(
        &push("refs/heads/main", "aaa", Some(vec!["docs/a.md"])),
        &mut member_facts(),
    );
    assert_eq!(names(&p), ["post-docs", "publish"]);
}

#[test]
fn branch_deletions_start_nothing() {
    let mut e = push(
        "refs/heads/main",
        "0000000000000000000000000000000000000000",
        Some(vec![]),
    );
    assert!(plan(&e, &mut member_facts()).jobs.is_empty());
    if let Event::Push(p) = &mut e {
        p.after = "abc".into();
        p.deleted = true;
    }
    assert!(plan(&e, &mut member_facts()).jobs.is_empty());
}

#[test]
fn codecommit_pushes_fetch_their_changed_files_once() {
    let mut f = member_facts();
    f.changed = vec!["docs/x.md".into()];
    let p = plan(&push("refs/heads/main", "aaa", None), &mut f);
    assert_eq!(names(&p), ["post-docs", "publish"]);
    assert_eq!(f.calls("push_changes"), 1);
}

// --- GitHub's Re-run button ------------------------------------------------

#[test]
fn rerun_of_a_check_run_reruns_the_job_with_that_context() {
    let e = Event::Rerun(RerunEvent {
        repo: repo("widgets"),
        head_sha: "head111".into(),
        check_name: Some("ci/integration".into()),
        pulls: vec![42],
        sender: "alice".into(),
    });
    let p = plan(&e, &mut comment_facts("alice"));
    assert_eq!(names(&p), ["integration"]);
}

#[test]
fn plugins_yaml_without_trigger_for_the_repo_starts_nothing() {
    let cfg: &'static Config = leak(config("plugins:\n  acme/other: [trigger]\n"));
    let p = plan_with(
        cfg,
        &pr_event(PrAction::Opened, pr("alice")),
        &mut member_facts(),
    );
    assert!(p.jobs.is_empty());
    assert!(p.note.unwrap().contains("trigger plugin is not enabled"));
}

fn leak(c: Config) -> &'static Config {
    Box::leak(Box::new(c))
}
