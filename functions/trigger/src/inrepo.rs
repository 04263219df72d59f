//! In-repo job configuration for the trigger: which version of `.prow.yaml`
//! (or `.prow/`) an event is planned with, read through the `Scm` port and
//! kept in the job store by commit, and what a broken one tells the PR.
//!
//! The version (Prow's merged view, without a clone): a pull request's file
//! at its head when the PR changes `.prow.yaml` or anything under `.prow/`,
//! else at its base SHA (as the PR object reports it); a push's at the
//! pushed SHA. Where the PR's change to the file conflicts with its base,
//! Prow's merge would fail and Skiff reads the head's file as it is.
//!
//! Cost: the files read for `(repo, base, head)` (or the pushed SHA) are
//! kept in the job store ([`inrepo_read`], shared with tide), so only the
//! first event of a head SHA reads them; every later event of that head,
//! none. The PR's
//! changed files, asked to choose the version, are the planner's own fact
//! and asked once for both ([`Memo`]).
//!
//! Trust is the planner's, unchanged: in-repo jobs are jobs of the repo like
//! any other, so an untrusted PR runs none of them until `/ok-to-test`, and
//! then the ones of the head it was given for.
//!
//! A broken config (it does not parse, clashes with a central job, names a
//! cluster not allowed, is too big) adds no jobs; the central jobs still
//! run — Prow runs nothing for the event instead. On GitHub the PR gets one
//! comment naming `.prow.yaml:LINE` (edited on later heads, never repeated)
//! and the head a failing `skiff/in-repo-config` status; on CodeCommit,
//! where the trigger does not write, the problems are logged.

use skiff_core::config::Config;
use skiff_core::config::inrepo;
use skiff_core::config::inrepo_read::{self, Loaded};
use skiff_core::event::{Event, PrAction, PullRequest, PushEvent, Repo};
use skiff_core::messages::EventSource;
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::{FactError, Facts};
use skiff_core::ports::{CommitStatus, PortResult, Scm};
use skiff_core::prowjob::ProwJob;
use tracing::{info, warn};

use crate::{Error, Result, TriggerDeps};

/// The commit status a broken in-repo config sets on the head.
pub const STATUS_CONTEXT: &str = "skiff/in-repo-config";
/// Marks the bot's comment about the in-repo config, to edit it later.
pub const COMMENT_MARKER: &str = "<!-- skiff:in-repo-config -->";
/// The config an event is planned with when its repo has in-repo jobs.
pub(crate) struct Effective {
    pub config: Config,
    /// Compiled for this config alone: the shared cache indexes each repo's
    /// jobs by position, which in-repo jobs change.
    pub regexes: Regexes,
}

/// Where an event's in-repo config is read and its problems reported.
struct Version<'e> {
    repo: &'e Repo,
    /// The store key of what was read.
    key: String,
    /// The pull request (to choose the SHA and to comment on), or `None`
    /// for a push.
    pr: Option<PullRequest>,
    /// The pushed SHA of a push.
    push_sha: Option<String>,
}

impl Version<'_> {
    /// The commit a failing status goes on.
    fn head(&self) -> &str {
        match (&self.pr, &self.push_sha) {
            (Some(pr), _) => &pr.head_sha,
            (None, Some(sha)) => sha,
            (None, None) => "",
        }
    }
}

/// Whether a pull request action can start jobs, so is worth reading for.
fn starts_jobs(action: &PrAction) -> bool {
    match action {
        PrAction::Opened
        | PrAction::Reopened
        | PrAction::ReadyForReview
        | PrAction::Synchronize
        | PrAction::Edited { base_changed: true } => true,
        PrAction::Labeled { label } => label == "lgtm" || label == "ok-to-test",
        _ => false,
    }
}

/// A comment can start or list jobs only through a command line.
fn has_command(body: &str) -> bool {
    body.lines().any(|l| l.trim_start().starts_with('/'))
}

fn fact(e: FactError) -> Error {
    Error::Fact(e)
}

/// The config to plan `event` with: `None` for the central one (in-repo
/// config is off for the repo, the event cannot start jobs, the repo has
/// no file, or the file is broken — then reported).
pub(crate) async fn effective(
    source: EventSource,
    event: &Event,
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
    facts: &mut Memo<'_>,
) -> Result<Option<Effective>> {
    let Some(version) = version(event, deps.config, facts).await? else {
        return Ok(None);
    };
    let repo_name = version.repo.full_name();
    let files = match inrepo_read::cached(deps.store, &version.key).await {
        Some(k) => {
            info!(
                sha = k.sha,
                files = k.files.len(),
                "in-repo config from the cache"
            );
            k
        }
        None => {
            let sha = match &version.pr {
                Some(pr) => {
                    let changed = facts
                        .changed_files(version.repo, pr.number)
                        .await
                        .map_err(fact)?;
                    inrepo_read::pull_sha(&pr.base_sha, &pr.head_sha, &changed).to_string()
                }
                None => version.head().to_string(),
            };
            let files = inrepo_read::read(source, scm, version.repo, &sha)
                .await
                .map_err(|e| Error::Port {
                    doing: e.doing,
                    source: e.source,
                })?;
            inrepo_read::keep(deps.store, &version.key, &files, deps.clock.now()).await;
            files
        }
    };
    let jobs = match inrepo_read::load(deps.config, &repo_name, &files) {
        Loaded::Nothing => return Ok(None),
        Loaded::Jobs(jobs) => jobs,
        Loaded::Broken(problems) => {
            warn!(
                sha = files.sha,
                problems = problems.len(),
                "the in-repo config is broken: central jobs only"
            );
            match source {
                EventSource::Github => report(deps, scm, &version, &files.sha, &problems).await?,
                // The trigger cannot write to CodeCommit (its results go
                // through the reporter), so the problems are only logged.
                EventSource::Codecommit => warn!(
                    sha = files.sha,
                    problems = problems.join("\n"),
                    "the in-repo config is not used"
                ),
            }
            return Ok(None);
        }
    };
    info!(
        sha = files.sha,
        presubmits = jobs.presubmits.len(),
        postsubmits = jobs.postsubmits.len(),
        "in-repo jobs"
    );
    Ok(Some(Effective {
        config: inrepo::merged(deps.config, &repo_name, &jobs),
        regexes: Regexes::default(),
    }))
}

/// Which pull request or push the event reads the config for, if any.
async fn version<'e>(
    event: &'e Event,
    config: &Config,
    facts: &mut Memo<'_>,
) -> Result<Option<Version<'e>>> {
    let repo = match event {
        Event::PullRequest(e) => &e.pr.repo,
        Event::Comment(e) => &e.repo,
        Event::Push(e) => &e.repo,
        Event::Rerun(e) => &e.repo,
        Event::MergeGroup(e) => &e.repo,
        Event::Ignored { .. } => return Ok(None),
    };
    if !config.prow.in_repo_config.enabled_for(&repo.full_name()) {
        return Ok(None);
    }
    let pr = match event {
        Event::PullRequest(e) if starts_jobs(&e.action) => e.pr.clone(),
        Event::Comment(c) if c.is_pull_request && c.issue_state == "open" => {
            // CodeCommit's events do not carry the text (the planner asks
            // for it too; the memo asks once).
            let body = match (&c.body, &c.comment_id) {
                (Some(b), _) => b.clone(),
                (None, Some(id)) => facts.comment_body(repo, id).await.map_err(fact)?,
                (None, None) => return Ok(None),
            };
            if !has_command(&body) {
                return Ok(None);
            }
            match &c.pr {
                Some(pr) => pr.clone(),
                None => facts.pull_request(repo, c.number).await.map_err(fact)?,
            }
        }
        // GitHub's Re-run button names a check of the PR's head: its job
        // may be one of the head's in-repo jobs.
        Event::Rerun(e) => match e.pulls.first() {
            Some(&number) => facts.pull_request(repo, number).await.map_err(fact)?,
            None => return Ok(None),
        },
        Event::Push(p) => return Ok(push_version(p)),
        // The group's head is a commit like a push's: its in-repo jobs.
        Event::MergeGroup(m) => {
            return Ok(Some(Version {
                repo,
                key: inrepo_read::commit_key(&repo.full_name(), &m.head_sha),
                pr: None,
                push_sha: Some(m.head_sha.clone()),
            }));
        }
        _ => return Ok(None),
    };
    Ok(Some(Version {
        repo,
        key: inrepo_read::pull_key(&repo.full_name(), &pr.base_sha, &pr.head_sha),
        pr: Some(pr),
        push_sha: None,
    }))
}

fn push_version(p: &PushEvent) -> Option<Version<'_>> {
    if p.deleted || p.after.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(Version {
        repo: &p.repo,
        key: inrepo_read::commit_key(&p.repo.full_name(), &p.after),
        pr: None,
        push_sha: Some(p.after.clone()),
    })
}

/// The comment's text: the problems, where they are, and what still runs.
pub(crate) fn comment_body(sha: &str, problems: &[String]) -> String {
    format!(
        "{COMMENT_MARKER}\nThe in-repo job config at {sha} cannot be used, so only the jobs of the \
         central config run for this pull request:\n\n```\n{}\n```\n\nFix the file and push; \
         `skiff check-config --config-path … --prow-yaml .prow.yaml --prow-yaml-repo-name \
         org/repo` finds the same problems locally.",
        problems.join("\n")
    )
}

/// Reports a broken config once per head: a failing status on it and, for
/// a pull request, the bot's one in-repo config comment (edited when it
/// exists). The claim is released when reporting fails, so a retry reports.
async fn report(
    deps: &TriggerDeps<'_>,
    scm: &dyn Scm,
    v: &Version<'_>,
    sha: &str,
    problems: &[String],
) -> Result<()> {
    let head = v.head();
    let key = format!("inrepo-reported/{}/{head}/{sha}", v.repo.full_name());
    let expires = deps
        .clock
        .now()
        .checked_add(inrepo_read::CACHE_TTL)
        .unwrap_or(jiff::Timestamp::MAX);
    let first = deps
        .store
        .remember(&key, expires)
        .await
        .map_err(|e| Error::Port {
            doing: "claim the in-repo config report".into(),
            source: e,
        })?;
    if !first {
        return Ok(());
    }
    let done = post_report(scm, v, head, sha, problems).await;
    if let Err(e) = &done {
        if let Err(f) = deps.store.forget(&key).await {
            warn!(error = %f, "cannot release the report claim");
        }
        if !e.is_retryable() {
            warn!(error = %e, "cannot report the broken in-repo config: skipped");
            return Ok(());
        }
    }
    done.map_err(|e| Error::Port {
        doing: "report the broken in-repo config".into(),
        source: e,
    })
}

async fn post_report(
    scm: &dyn Scm,
    v: &Version<'_>,
    head: &str,
    sha: &str,
    problems: &[String],
) -> PortResult<()> {
    let (org, repo) = (v.repo.org.as_str(), v.repo.repo.as_str());
    let first = problems.first().map(String::as_str).unwrap_or("");
    let mut description: String = first.chars().take(139).collect();
    if description.len() < first.len() {
        description.push('…');
    }
    let status = CommitStatus {
        state: "failure".into(),
        context: STATUS_CONTEXT.into(),
        description,
        target_url: String::new(),
    };
    scm.create_status(org, repo, head, &status).await?;
    let Some(pr) = &v.pr else {
        return Ok(());
    };
    let body = comment_body(sha, problems);
    let bot = scm.bot_login();
    let existing = scm
        .list_comments(org, repo, pr.number)
        .await?
        .into_iter()
        .find(|c| c.author == bot && c.body.starts_with(COMMENT_MARKER));
    match existing {
        Some(c) if c.body == body => Ok(()),
        Some(c) => scm.edit_comment(org, repo, c.id, &body).await,
        None => scm
            .create_comment(org, repo, pr.number, &body)
            .await
            .map(|_| ()),
    }
}

/// The planner's facts with the three the in-repo step also asks — the PR,
/// its changed files and a CodeCommit comment's text — asked once for both.
pub(crate) struct Memo<'a> {
    inner: &'a mut dyn Facts,
    changed: Option<Vec<String>>,
    pr: Option<PullRequest>,
    /// A CodeCommit comment's text: `(comment id, body)`.
    comment: Option<(String, String)>,
}

impl<'a> Memo<'a> {
    pub fn new(inner: &'a mut dyn Facts) -> Self {
        Memo {
            inner,
            changed: None,
            pr: None,
            comment: None,
        }
    }
}

#[async_trait::async_trait]
impl Facts for Memo<'_> {
    async fn changed_files(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> std::result::Result<Vec<String>, FactError> {
        if let Some(c) = &self.changed {
            return Ok(c.clone());
        }
        let c = self.inner.changed_files(repo, number).await?;
        self.changed = Some(c.clone());
        Ok(c)
    }
    async fn is_member(&mut self, org: &str, login: &str) -> std::result::Result<bool, FactError> {
        self.inner.is_member(org, login).await
    }
    async fn is_collaborator(
        &mut self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> std::result::Result<bool, FactError> {
        self.inner.is_collaborator(org, repo, login).await
    }
    fn is_bot(&self, login: &str) -> bool {
        self.inner.is_bot(login)
    }
    async fn pull_request(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> std::result::Result<PullRequest, FactError> {
        if let Some(pr) = &self.pr {
            return Ok(pr.clone());
        }
        let pr = self.inner.pull_request(repo, number).await?;
        self.pr = Some(pr.clone());
        Ok(pr)
    }
    async fn pr_jobs(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> std::result::Result<Vec<ProwJob>, FactError> {
        self.inner.pr_jobs(repo, number).await
    }
    async fn base_sha(
        &mut self,
        repo: &Repo,
        base_ref: &str,
    ) -> std::result::Result<String, FactError> {
        self.inner.base_sha(repo, base_ref).await
    }
    async fn comment_body(
        &mut self,
        repo: &Repo,
        comment_id: &str,
    ) -> std::result::Result<String, FactError> {
        if let Some((id, body)) = &self.comment
            && id == comment_id
        {
            return Ok(body.clone());
        }
        let body = self.inner.comment_body(repo, comment_id).await?;
        self.comment = Some((comment_id.to_string(), body.clone()));
        Ok(body)
    }
    async fn push_changes(
        &mut self,
        push: &PushEvent,
    ) -> std::result::Result<Vec<String>, FactError> {
        self.inner.push_changes(push).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actions_and_comments_that_can_start_jobs_read_the_config() {
        for (action, want) in [
            (PrAction::Opened, true),
            (PrAction::Synchronize, true),
            (
                PrAction::Edited {
                    base_changed: false,
                },
                false,
            ),
            (PrAction::Closed, false),
            (
                PrAction::Labeled {
                    label: "ok-to-test".into(),
                },
                true,
            ),
            (
                PrAction::Labeled {
                    label: "bug".into(),
                },
                false,
            ),
        ] {
            assert_eq!(starts_jobs(&action), want, "{action:?}");
        }
        for (body, want) in [
            ("/test lint", true),
            ("  /retest\n", true),
            ("lgtm!", false),
        ] {
            assert_eq!(has_command(body), want, "{body:?}");
        }
    }

    #[test]
    fn the_comment_names_every_problem_and_starts_with_its_marker() {
        let body = comment_body("abc", &[".prow.yaml:3:5: error: bad".into()]);
        assert!(body.starts_with(COMMENT_MARKER));
        assert!(body.contains(".prow.yaml:3:5: error: bad"));
        assert!(body.contains("only the jobs of the central config run"));
    }
}
