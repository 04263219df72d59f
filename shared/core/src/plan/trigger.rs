//! Prow's trigger plugin (`pkg/plugins/trigger`): pull request actions, comment
//! commands, pushes — and GitHub's Re-run button — turned into a [`Plan`].
//!
//! Choices where Prow's behaviour is plainly accidental:
//! - Prow matches `/test` triggers against the comment with code blocks removed
//!   but builds its filters from the raw comment, so a quoted `/test x` inside a
//!   fenced block can still start `x` when the comment also holds a real command.
//!   Skiff uses the text without code blocks throughout.
//! - Prow creates the same ProwJob twice when a PR is opened with `/test x` in
//!   its description (once for "build all", once for the comment). Skiff's job
//!   ids come from the delivery and job, so the two are one record.
//! - `/retest` reads the head commit's contexts from Skiff's job records rather
//!   than GitHub's combined status; jobs with `skip_report` never appear there,
//!   exactly as they never appear on GitHub.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::facts::{Cached, FactError, Facts};
use super::filter::{self, Contexts, Filter, Filters};
use super::help::{self, Available};
use super::matchers::{ChangeVerdicts, Regexes};
use super::reasons::{branch_reason_for, change_reason_for};
use super::{Abort, Plan, Planned, PlannedJob, Target};
use crate::config::{Config, Postsubmit, Presubmit, Trigger};
use crate::event::{
    CommentAction, CommentEvent, Event, PrAction, PullRequest, PullRequestEvent, PushEvent, Repo,
    RerunEvent,
};
use crate::prowjob::labels::RETEST;
use crate::prowjob::{ProwJobType, Pull, Refs};

const OK_TO_TEST: &str = "ok-to-test";
const NEEDS_OK_TO_TEST: &str = "needs-ok-to-test";
const LGTM: &str = "lgtm";
const ABORTED_DESCRIPTION: &str = "Aborted by trigger plugin.";

/// What planning needs besides the event and the facts.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub regexes: &'a Regexes,
    /// The delivery id (`X-GitHub-Delivery`, or EventBridge's event id): the
    /// `event-GUID` label and half of every job's idempotency key.
    pub delivery: &'a str,
    pub now: jiff::Timestamp,
    /// Record why every job that does not run is skipped (`skiff plan --explain`).
    pub explain: bool,
}

/// Plans one event.
pub async fn plan_event<'c>(
    ctx: &Context<'c>,
    event: &Event,
    facts: &mut dyn Facts,
) -> Result<Plan<'c>, FactError> {
    let mut facts = Cached::new(facts);
    let mut p = Planner {
        ctx: *ctx,
        facts: &mut facts,
    };
    match event {
        Event::PullRequest(e) => p.pull_request(e).await,
        Event::Comment(e) => p.comment(e).await,
        Event::Push(e) => p.push(e).await,
        Event::Rerun(e) => p.rerun(e).await,
        Event::MergeGroup(e) => p.merge_group(e).await,
        Event::Ignored { event, reason } => Ok(Plan::noted(format!("{event}: {reason}"))),
    }
}

pub(super) struct Planner<'c, 'f, 'a> {
    pub(super) ctx: Context<'c>,
    pub(super) facts: &'f mut Cached<'a>,
}

fn target(pr: &PullRequest) -> Target {
    Target {
        org: pr.repo.org.clone(),
        repo: pr.repo.repo.clone(),
        number: pr.number,
    }
}

/// Prow's `createRefs` for a pull request.
pub(crate) fn pr_refs(pr: &PullRequest, base_sha: &str) -> Refs {
    let link = &pr.repo.html_url;
    Refs {
        org: pr.repo.org.clone(),
        repo: pr.repo.repo.clone(),
        repo_link: link.clone(),
        base_ref: pr.base_ref.clone(),
        base_sha: base_sha.to_string(),
        base_link: format!("{link}/commit/{base_sha}"),
        pulls: vec![Pull {
            number: pr.number,
            author: pr.author.clone(),
            sha: pr.head_sha.clone(),
            title: pr.title.clone(),
            head_ref: pr.head_ref.clone(),
            link: pr.html_url.clone(),
            commit_link: format!("{link}/pull/{}/commits/{}", pr.number, pr.head_sha),
            author_link: pr.author_link.clone(),
            ..Pull::default()
        }],
        ..Refs::default()
    }
}

impl<'c> Planner<'c, '_, '_> {
    pub(super) fn presubmits(&self, repo: &Repo) -> &'c [Presubmit] {
        self.ctx
            .config
            .jobs
            .presubmits
            .get(&repo.full_name())
            .map_or(&[], Vec::as_slice)
    }

    fn postsubmits(&self, repo: &Repo) -> &'c [Postsubmit] {
        self.ctx
            .config
            .jobs
            .postsubmits
            .get(&repo.full_name())
            .map_or(&[], Vec::as_slice)
    }

    fn trigger_config(&self, repo: &Repo) -> Trigger {
        self.ctx.config.plugins.trigger_for(&repo.org, &repo.repo)
    }

    /// With no `plugins:` at all, trigger runs everywhere (a Skiff user need not
    /// write a plugins.yaml); with one, only where Prow would run it.
    pub(super) fn trigger_enabled(&self, repo: &Repo) -> bool {
        let plugins = &self.ctx.config.plugins;
        plugins.plugins.is_empty() || plugins.enabled(&repo.org, &repo.repo, "trigger")
    }

    /// Prow's `TrustedUser`: the bot, an org member, a collaborator (unless
    /// only_org_members), a trusted app's `[bot]`, a member of trusted_org.
    async fn trusted_user(
        &mut self,
        t: &Trigger,
        repo: &Repo,
        login: &str,
    ) -> Result<bool, FactError> {
        if self.facts.is_bot(login) || self.facts.is_member(&repo.org, login).await? {
            return Ok(true);
        }
        if !t.only_org_members
            && self
                .facts
                .is_collaborator(&repo.org, &repo.repo, login)
                .await?
        {
            return Ok(true);
        }
        if let Some(app) = login.strip_suffix("[bot]")
            && t.trusted_apps.iter().any(|a| a == app)
        {
            return Ok(true);
        }
        if !t.trusted_org.is_empty() && t.trusted_org != repo.org {
            return self.facts.is_member(&t.trusted_org, login).await;
        }
        Ok(false)
    }

    /// A PR is trusted when its author is, or it carries `ok-to-test`.
    async fn trusted_pr(&mut self, t: &Trigger, pr: &PullRequest) -> Result<bool, FactError> {
        Ok(self.trusted_user(t, &pr.repo, &pr.author).await? || pr.has_label(OK_TO_TEST))
    }

    async fn pull_request(&mut self, e: &PullRequestEvent) -> Result<Plan<'c>, FactError> {
        let pr = &e.pr;
        if !self.trigger_enabled(&pr.repo) {
            return Ok(Plan::noted(format!(
                "the trigger plugin is not enabled for {} in plugins.yaml",
                pr.repo.full_name()
            )));
        }
        if self.presubmits(&pr.repo).is_empty() {
            return Ok(Plan::noted(format!(
                "{} has no presubmits",
                pr.repo.full_name()
            )));
        }
        let t = self.trigger_config(&pr.repo);
        let mut plan = Plan {
            target: Some(target(pr)),
            ..Plan::new(self.ctx.explain)
        };
        match &e.action {
            PrAction::Opened => {
                if self.trusted_user(&t, &pr.repo, &pr.author).await? {
                    if pr.draft {
                        plan.comments.push(draft_message());
                        self.skip_all(&mut plan, pr, "the pull request is a draft");
                    } else {
                        self.build_all(&mut plan, pr, &BTreeMap::new()).await?;
                    }
                } else {
                    plan.comments.push(welcome_message(&t, pr));
                    if !t.ignore_ok_to_test && !pr.has_label(OK_TO_TEST) {
                        plan.add_label(NEEDS_OK_TO_TEST);
                    }
                    self.skip_all(&mut plan, pr, &untrusted_reason(pr));
                }
                // Prow treats the description of a new PR as its first comment.
                if !pr.body.is_empty() {
                    let as_comment = CommentEvent {
                        action: CommentAction::Created,
                        repo: pr.repo.clone(),
                        number: pr.number,
                        is_pull_request: true,
                        body: Some(pr.body.clone()),
                        comment_id: None,
                        author: pr.author.clone(),
                        issue_state: pr.state.clone(),
                        pr: Some(pr.clone()),
                        html_url: pr.html_url.clone(),
                    };
                    let from_body = self.comment(&as_comment).await?;
                    if from_body.note.is_none() {
                        plan.merge(from_body);
                    }
                }
            }
            PrAction::Reopened | PrAction::ReadyForReview => {
                self.build_all_if_trusted(&mut plan, &t, pr).await?;
            }
            PrAction::Edited { base_changed: true } => {
                self.build_all_if_trusted(&mut plan, &t, pr).await?;
            }
            PrAction::Edited {
                base_changed: false,
            } => {
                return Ok(Plan::noted(
                    "pull request edited without changing its base: nothing to rebuild",
                ));
            }
            PrAction::Synchronize => {
                self.abort_all(&mut plan, pr).await?;
                self.build_all_if_trusted(&mut plan, &t, pr).await?;
            }
            PrAction::Labeled { label } if label == LGTM => {
                if self.trusted_pr(&t, pr).await? {
                    return Ok(Plan::noted(
                        "lgtm on a trusted pull request: its jobs already started when it was opened or updated",
                    ));
                }
                self.build_all_but_drafts(&mut plan, pr, &BTreeMap::new())
                    .await?;
            }
            PrAction::Labeled { label } if label == OK_TO_TEST => {
                if self.facts.is_bot(&e.sender) {
                    // The bot adds the label while handling `/ok-to-test`,
                    // which already started the jobs.
                    return Ok(Plan::noted(
                        "ok-to-test added by the bot itself: already handled",
                    ));
                }
                self.build_all_but_drafts(&mut plan, pr, &BTreeMap::new())
                    .await?;
            }
            PrAction::Closed | PrAction::ConvertedToDraft => {
                self.abort_all(&mut plan, pr).await?;
                if plan.abort.is_empty() {
                    plan.note = Some("no running presubmits to abort".into());
                }
            }
            PrAction::Labeled { label } | PrAction::Unlabeled { label } => {
                return Ok(Plan::noted(format!("label `{label}` starts nothing")));
            }
            PrAction::Other(action) => {
                return Ok(Plan::noted(format!(
                    "pull_request action `{action}` starts nothing"
                )));
            }
        }
        Ok(plan)
    }

    fn skip_all(&self, plan: &mut Plan<'c>, pr: &PullRequest, reason: &str) {
        for p in self.presubmits(&pr.repo) {
            plan.skip(&p.base.name, || reason.to_string());
        }
    }

    async fn build_all_if_trusted(
        &mut self,
        plan: &mut Plan<'c>,
        t: &Trigger,
        pr: &PullRequest,
    ) -> Result<(), FactError> {
        if self.trusted_pr(t, pr).await? {
            if pr.has_label(NEEDS_OK_TO_TEST) {
                plan.remove_label(NEEDS_OK_TO_TEST);
            }
            self.build_all_but_drafts(plan, pr, &BTreeMap::new()).await
        } else {
            self.skip_all(plan, pr, &untrusted_reason(pr));
            Ok(())
        }
    }

    async fn build_all_but_drafts(
        &mut self,
        plan: &mut Plan<'c>,
        pr: &PullRequest,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), FactError> {
        if pr.draft {
            self.skip_all(plan, pr, "the pull request is a draft");
            return Ok(());
        }
        self.build_all(plan, pr, labels).await
    }

    async fn build_all(
        &mut self,
        plan: &mut Plan<'c>,
        pr: &PullRequest,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), FactError> {
        let filters = Filters(vec![Filter::TestAll]);
        let to_run = self.filter_presubmits(plan, &filters, pr).await?;
        self.run_requested(plan, pr, &to_run, labels).await
    }

    /// Prow's `FilterPresubmits`: the filters choose, `ShouldRun` confirms.
    async fn filter_presubmits(
        &mut self,
        plan: &mut Plan<'c>,
        filters: &Filters<'_>,
        pr: &PullRequest,
    ) -> Result<Vec<usize>, FactError> {
        let presubmits = self.presubmits(&pr.repo);
        let regexes: &'c Regexes = self.ctx.regexes;
        let mut to_run = Vec::new();
        let mut needs_changes = Vec::new();
        for (i, p) in presubmits.iter().enumerate() {
            let (matches, forced, defaults) = filters.should_run(p, regexes);
            if !matches {
                plan.skip(&p.base.name, || filters.miss_reason(p));
                continue;
            }
            if !regexes.branch_matches(&p.brancher, &pr.base_ref) {
                plan.skip(&p.base.name, || branch_reason(p, &pr.base_ref));
                continue;
            }
            if p.fields.always_run || forced || defaults {
                to_run.push(i);
            } else if p.changes.could_run() {
                needs_changes.push(i);
            } else {
                plan.skip(&p.base.name, || filters.miss_reason(p));
            }
        }
        if !needs_changes.is_empty() {
            let repo_key = pr.repo.full_name();
            let index = regexes.change_index(&format!("presubmits/{repo_key}"), || {
                presubmits.iter().map(|p| &p.changes).collect()
            });
            let files = self.facts.changed_files(&pr.repo, pr.number).await?;
            let verdicts = index.evaluate(regexes, files);
            for i in needs_changes {
                let p = &presubmits[i];
                if verdicts.runs(i) {
                    to_run.push(i);
                } else {
                    plan.skip(&p.base.name, || change_reason(p, files.len()));
                }
            }
            to_run.sort_unstable();
        }
        Ok(to_run)
    }

    /// Prow's `RunRequested`: nothing on a PR GitHub reports as conflicting.
    async fn run_requested(
        &mut self,
        plan: &mut Plan<'c>,
        pr: &PullRequest,
        to_run: &[usize],
        labels: &BTreeMap<String, String>,
    ) -> Result<(), FactError> {
        let presubmits = self.presubmits(&pr.repo);
        if pr.mergeable == Some(false) {
            for &i in to_run {
                plan.skip(&presubmits[i].base.name, || {
                    "GitHub reports a merge conflict: nothing runs until it is resolved".into()
                });
            }
            return Ok(());
        }
        if to_run.is_empty() {
            return Ok(());
        }
        let base_sha = self.facts.base_sha(&pr.repo, &pr.base_ref).await?;
        let refs = Arc::new(pr_refs(pr, &base_sha));
        let labels = Arc::new(labels.clone());
        let key_prefix: Arc<str> = Arc::from(format!(
            "{}/{}/presubmit/{}/",
            self.ctx.delivery,
            pr.repo.full_name(),
            pr.number
        ));
        for &i in to_run {
            let p = &presubmits[i];
            plan.add_job(PlannedJob {
                key_prefix: key_prefix.clone(),
                kind: Planned::Presubmit {
                    job: p,
                    refs: refs.clone(),
                    labels: labels.clone(),
                },
                delivery: self.ctx.delivery,
                now: self.ctx.now,
            });
        }
        Ok(())
    }

    /// Every incomplete presubmit of the PR is aborted (a new push, a close).
    async fn abort_all(&mut self, plan: &mut Plan<'c>, pr: &PullRequest) -> Result<(), FactError> {
        let jobs = self.facts.pr_jobs(&pr.repo, pr.number).await?;
        for j in jobs {
            let refs = j.spec.refs.as_ref();
            let same_pr = refs.is_some_and(|r| {
                r.org == pr.repo.org
                    && r.repo == pr.repo.repo
                    && r.pulls.first().is_some_and(|p| p.number == pr.number)
            });
            let running =
                !j.is_complete() && j.status.state != Some(crate::prowjob::ProwJobState::Aborted);
            if same_pr && running && j.spec.r#type == Some(ProwJobType::Presubmit) {
                plan.abort.push(Abort {
                    id: j.metadata.name.clone(),
                    job: j.spec.job.clone(),
                    description: ABORTED_DESCRIPTION.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn comment(&mut self, e: &CommentEvent) -> Result<Plan<'c>, FactError> {
        let ignore = |why: &str| Ok(Plan::noted(why.to_string()));
        if e.action != CommentAction::Created {
            return ignore("only new comments are read; edits and deletions start nothing");
        }
        if !e.is_pull_request {
            return ignore("comment on an issue, not a pull request");
        }
        if e.issue_state != "open" {
            return ignore("comment on a closed pull request");
        }
        if self.facts.is_bot(&e.author) {
            return ignore("comment written by the bot itself");
        }
        if !self.trigger_enabled(&e.repo) {
            return Ok(Plan::noted(format!(
                "the trigger plugin is not enabled for {} in plugins.yaml",
                e.repo.full_name()
            )));
        }
        let body = match (&e.body, &e.comment_id) {
            (Some(b), _) => b.clone(),
            (None, Some(id)) => self.facts.comment_body(&e.repo, id).await?,
            (None, None) => String::new(),
        };
        let text = filter::drop_code_blocks(&body);
        let presubmits = self.presubmits(&e.repo);
        if !filter::comment_matches_trigger(&text, presubmits, self.ctx.regexes) {
            return ignore("the comment holds no command for Skiff");
        }
        let t = self.trigger_config(&e.repo);
        let reply_target = Target {
            org: e.repo.org.clone(),
            repo: e.repo.repo.clone(),
            number: e.number,
        };
        let mut plan = Plan {
            target: Some(reply_target),
            ..Plan::new(self.ctx.explain)
        };
        let commenter_trusted = self.trusted_user(&t, &e.repo, &e.author).await?;
        let pr = self
            .facts
            .pull_request(&e.repo, e.number, e.pr.as_ref())
            .await?;
        if !commenter_trusted && !self.trusted_pr(&t, &pr).await? {
            let msg = if t.ignore_ok_to_test {
                "PRs from untrusted users cannot be marked as trusted with `/ok-to-test` in this repo meaning untrusted PR authors can never trigger tests themselves. Collaborators can still trigger tests on the PR using `/test`."
            } else {
                "Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message."
            };
            plan.comments
                .push(reply(&body, &e.html_url, &e.author, msg));
            self.skip_all(&mut plan, &pr, &untrusted_reason(&pr));
            return Ok(plan);
        }
        let honor = !t.ignore_ok_to_test;
        let is_ok = honor && filter::OK_TO_TEST.is_match(&text);
        let has_ok = pr.has_label(OK_TO_TEST);
        let has_needs = pr.has_label(NEEDS_OK_TO_TEST);
        if is_ok && !has_ok {
            plan.add_label(OK_TO_TEST);
        }
        if (is_ok || has_ok) && has_needs {
            plan.remove_label(NEEDS_OK_TO_TEST);
        }
        if honor && filter::OK_TO_TEST_CANCEL.is_match(&text) {
            if !commenter_trusted {
                plan.comments.push(reply(
                    &body,
                    &e.html_url,
                    &e.author,
                    "Only trusted users can revoke `/ok-to-test`.",
                ));
                return Ok(plan);
            }
            if has_ok {
                plan.remove_label(OK_TO_TEST);
            }
            if !has_needs {
                plan.add_label(NEEDS_OK_TO_TEST);
            }
            return Ok(plan);
        }

        let wants_contexts =
            filter::RETEST.is_match(&text) || filter::RETEST_REQUIRED.is_match(&text);
        let contexts: Option<Contexts> = if wants_contexts {
            let jobs = self.facts.pr_jobs(&e.repo, e.number).await?;
            Some(filter::contexts_on(jobs, &pr.head_sha))
        } else {
            None
        };
        let filters = filter::comment_filters(honor, &text, contexts.as_ref());
        let to_run = self.filter_presubmits(&mut plan, &filters, &pr).await?;
        if let Some(note) = help::respond_with_help(&text, to_run.len()) {
            let available = self.available(&pr).await?;
            let msg = help::help_message(&e.repo.org, &e.repo.repo, &pr.base_ref, note, &available);
            plan.comments
                .push(reply(&body, &e.html_url, &e.author, &msg));
            return Ok(plan);
        }
        let mut labels = BTreeMap::new();
        if wants_contexts {
            labels.insert(RETEST.to_string(), "true".to_string());
        }
        plan.prune_help_comments = help::prunes_help(&text);
        self.run_requested(&mut plan, &pr, &to_run, &labels).await?;
        Ok(plan)
    }

    /// What a help reply lists: jobs `/test all` would run, and the rerun
    /// command of every job that may run on this branch.
    async fn available(&mut self, pr: &PullRequest) -> Result<Available, FactError> {
        let mut scratch = Plan::new(false);
        let test_all = self
            .filter_presubmits(&mut scratch, &Filters(vec![Filter::TestAll]), pr)
            .await?;
        let presubmits = self.presubmits(&pr.repo);
        let mut a = Available::default();
        for i in test_all {
            a.test_all.insert(presubmits[i].base.name.clone());
        }
        for p in presubmits {
            if !self.ctx.regexes.branch_matches(&p.brancher, &pr.base_ref) {
                continue;
            }
            let set = if p.fields.optional {
                &mut a.optional_commands
            } else {
                &mut a.required_commands
            };
            set.insert(p.fields.rerun_command.clone());
        }
        Ok(a)
    }

    async fn push(&mut self, e: &PushEvent) -> Result<Plan<'c>, FactError> {
        if e.is_deletion() {
            return Ok(Plan::noted(format!(
                "{} was deleted: deletions start nothing",
                e.r#ref
            )));
        }
        if !self.trigger_enabled(&e.repo) {
            return Ok(Plan::noted(format!(
                "the trigger plugin is not enabled for {} in plugins.yaml",
                e.repo.full_name()
            )));
        }
        let postsubmits = self.postsubmits(&e.repo);
        if postsubmits.is_empty() {
            return Ok(Plan::noted(format!(
                "{} has no postsubmits",
                e.repo.full_name()
            )));
        }
        let branch = e.branch();
        let regexes = self.ctx.regexes;
        let mut plan = Plan::new(self.ctx.explain);
        let mut verdicts: Option<ChangeVerdicts> = None;
        let index = regexes.change_index(&format!("postsubmits/{}", e.repo.full_name()), || {
            postsubmits.iter().map(|p| &p.changes).collect()
        });
        let mut file_count = 0;
        let key_prefix: Arc<str> = Arc::from(format!(
            "{}/{}/postsubmit/{}/",
            self.ctx.delivery,
            e.repo.full_name(),
            e.after
        ));
        for (i, p) in postsubmits.iter().enumerate() {
            if !regexes.branch_matches(&p.brancher, branch) {
                plan.skip(&p.base.name, || branch_reason_for(&p.brancher, branch));
                continue;
            }
            let runs = if p.changes.could_run() {
                if verdicts.is_none() {
                    let files = self.facts.push_changes(e).await?;
                    file_count = files.len();
                    verdicts = Some(index.evaluate(regexes, files));
                }
                verdicts.as_ref().is_some_and(|v| v.runs(i))
            } else {
                p.fields.always_run.unwrap_or(true)
            };
            if !runs {
                plan.skip(&p.base.name, || {
                    if p.changes.could_run() {
                        change_reason_for(&p.changes, file_count)
                    } else {
                        "always_run is false".to_string()
                    }
                });
                continue;
            }
            let refs = Refs {
                org: e.repo.org.clone(),
                repo: e.repo.repo.clone(),
                repo_link: e.repo.html_url.clone(),
                base_ref: branch.to_string(),
                base_sha: e.after.clone(),
                base_link: e.compare_url.clone(),
                ..Refs::default()
            };
            plan.add_job(PlannedJob {
                key_prefix: key_prefix.clone(),
                kind: Planned::Postsubmit {
                    job: p,
                    refs: Arc::new(refs),
                },
                delivery: self.ctx.delivery,
                now: self.ctx.now,
            });
        }
        Ok(plan)
    }

    /// GitHub's Re-run button: a check run reruns its job (like `/test <job>`),
    /// a check suite reruns what failed (like `/retest`). The person who
    /// pressed it must be trusted, or the PR must be.
    async fn rerun(&mut self, e: &RerunEvent) -> Result<Plan<'c>, FactError> {
        let Some(&number) = e.pulls.first() else {
            return Ok(Plan::noted(
                "re-run of a check that belongs to no pull request: Skiff reruns presubmits only",
            ));
        };
        if !self.trigger_enabled(&e.repo) {
            return Ok(Plan::noted(format!(
                "the trigger plugin is not enabled for {} in plugins.yaml",
                e.repo.full_name()
            )));
        }
        let t = self.trigger_config(&e.repo);
        let pr = self.facts.pull_request(&e.repo, number, None).await?;
        let mut plan = Plan {
            target: Some(target(&pr)),
            ..Plan::new(self.ctx.explain)
        };
        if !pr.is_open() {
            return Ok(Plan::noted("re-run on a closed pull request"));
        }
        if !self.trusted_user(&t, &e.repo, &e.sender).await? && !self.trusted_pr(&t, &pr).await? {
            self.skip_all(&mut plan, &pr, &untrusted_reason(&pr));
            return Ok(plan);
        }
        let jobs = self.facts.pr_jobs(&e.repo, number).await?;
        let contexts = filter::contexts_on(jobs, &pr.head_sha);
        let mut labels = BTreeMap::new();
        let to_run = match &e.check_name {
            Some(name) => {
                let presubmits = self.presubmits(&e.repo);
                let mut to_run = Vec::new();
                for (i, p) in presubmits.iter().enumerate() {
                    if &p.reporter.context != name {
                        plan.skip(&p.base.name, || format!("not the re-run check `{name}`"));
                    } else if !self.ctx.regexes.branch_matches(&p.brancher, &pr.base_ref) {
                        plan.skip(&p.base.name, || branch_reason(p, &pr.base_ref));
                    } else {
                        to_run.push(i);
                    }
                }
                to_run
            }
            None => {
                labels.insert(RETEST.to_string(), "true".to_string());
                let filters = Filters(vec![Filter::Retest {
                    contexts: &contexts,
                }]);
                self.filter_presubmits(&mut plan, &filters, &pr).await?
            }
        };
        self.run_requested(&mut plan, &pr, &to_run, &labels).await?;
        Ok(plan)
    }
}

fn branch_reason(p: &Presubmit, branch: &str) -> String {
    branch_reason_for(&p.brancher, branch)
}

fn change_reason(p: &Presubmit, files: usize) -> String {
    change_reason_for(&p.changes, files)
}

fn untrusted_reason(pr: &PullRequest) -> String {
    format!(
        "@{} is not a trusted user and the pull request has no `{OK_TO_TEST}` label: a trusted member must comment `/ok-to-test`",
        pr.author
    )
}

fn draft_message() -> String {
    "Skipping CI for Draft Pull Request.\nIf you want CI signal for your change, please convert it to an actual PR.\nYou can still manually trigger a test run with `/test all`".to_string()
}

/// The reply to an untrusted author's new pull request.
fn welcome_message(t: &Trigger, pr: &PullRequest) -> String {
    let org = &pr.repo.org;
    if t.ignore_ok_to_test {
        return format!(
            "Hi @{}, thanks for the pull request!\n\nIn this repository only trusted members' pull requests are tested, and `/ok-to-test` is switched off. A collaborator can still start the tests with `/test all`.",
            pr.author
        );
    }
    let join = if t.join_org_url.is_empty() {
        format!("https://github.com/orgs/{org}/people")
    } else {
        t.join_org_url.clone()
    };
    format!(
        "Hi @{}, thanks for the pull request!\n\nTests start automatically only for members of [{org}](https://github.com/orgs/{org}/people). A member can check this change and comment `/ok-to-test` on a line of its own; after that, new pushes are tested automatically and the `{OK_TO_TEST}` label shows it. Members' `/test` commands work meanwhile.\n\nContributing regularly? [Join the org]({join}) to skip this step.",
        pr.author
    )
}

/// A reply to a comment: the answer, then the comment it answers, quoted.
fn reply(body: &str, url: &str, user: &str, message: &str) -> String {
    let quoted: String = body.lines().map(|l| format!("> {l}\n")).collect();
    format!(
        "@{user}: {message}\n\n<details>\n\nIn response to [this]({url}):\n\n{quoted}</details>"
    )
}
