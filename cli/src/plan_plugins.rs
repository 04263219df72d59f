//! `skiff plan event`'s review plugins: what each plugin the repository
//! enables would do with the event (labels, comments, assignees, review
//! requests), planned by the same code the trigger runs, with facts from
//! the command line instead of GitHub.
//!
//! A dry run has no GitHub to ask: logins in `--trusted` are members and
//! collaborators, the repository has the labels in `--repo-labels`, OWNERS
//! files come from the checkout `--repo-dir`, and the PR has no earlier
//! comments or reviews. A plugin that needs a fact the command line did not
//! give says which flag gives it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use skiff_core::config::Config;
use skiff_core::event::{PullRequest, Repo};
use skiff_core::plan::FactError;
use skiff_core::plan::matchers::Regexes;
use skiff_core::plugins::owners::RepoOwners;
use skiff_core::plugins::{Cached, Ctx, OwnersAt, ReviewFacts, event as plugin_event};
use skiff_core::ports::{CombinedStatus, IssueComment, PullFile, PullReview};

/// What the command line says about the world.
pub struct DryFacts {
    pub trusted: Vec<String>,
    pub bot: Option<String>,
    pub pull_request: Option<PullRequest>,
    pub changed_files: Option<Vec<String>>,
    pub repo_labels: Option<Vec<String>>,
    pub repo_dir: Option<PathBuf>,
    pub config: Config,
    /// The event's own comment, which GitHub lists among the PR's comments
    /// by the time its webhook arrives.
    pub said: Vec<IssueComment>,
}

fn missing(fact: &'static str, flag: &str) -> FactError {
    FactError {
        fact,
        message: format!("this plugin needs it: pass {flag}"),
        retryable: false,
    }
}

/// Every file named `name` under `dir`, as `(path relative to dir, text)`.
fn find_files(dir: &Path, rel: &str, name: &str, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name().to_string_lossy().into_owned();
        if file_name == ".git" {
            continue;
        }
        let path = if rel.is_empty() {
            file_name.clone()
        } else {
            format!("{rel}/{file_name}")
        };
        let p = e.path();
        if p.is_dir() {
            find_files(&p, &path, name, out);
        } else if file_name == name
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            out.push((path, text));
        }
    }
}

#[async_trait::async_trait]
impl ReviewFacts for DryFacts {
    fn is_bot(&self, login: &str) -> bool {
        self.bot.as_deref() == Some(login)
    }
    async fn is_member(&mut self, _: &str, login: &str) -> Result<bool, FactError> {
        Ok(self.trusted.iter().any(|t| t.eq_ignore_ascii_case(login)))
    }
    async fn is_collaborator(&mut self, _: &Repo, login: &str) -> Result<bool, FactError> {
        Ok(self.trusted.iter().any(|t| t.eq_ignore_ascii_case(login)))
    }
    async fn is_team_member(&mut self, _: &str, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(false)
    }
    async fn permission(&mut self, _: &Repo, login: &str) -> Result<String, FactError> {
        Ok(if self.trusted.iter().any(|t| t == login) {
            "write".into()
        } else {
            "read".into()
        })
    }
    async fn pull_request(&mut self, _: &Repo, _: i64) -> Result<PullRequest, FactError> {
        self.pull_request
            .clone()
            .ok_or_else(|| missing("the pull request", "--pull-request FILE"))
    }
    async fn pull_files(&mut self, _: &Repo, _: i64) -> Result<Vec<PullFile>, FactError> {
        let files = self
            .changed_files
            .clone()
            .ok_or_else(|| missing("the pull request's files", "--changed-files FILE"))?;
        Ok(files
            .into_iter()
            .map(|filename| PullFile {
                filename,
                status: "modified".into(),
                ..PullFile::default()
            })
            .collect())
    }
    async fn repo_labels(&mut self, _: &Repo) -> Result<Vec<String>, FactError> {
        self.repo_labels
            .clone()
            .ok_or_else(|| missing("the repository's labels", "--repo-labels a,b,…"))
    }
    async fn issue_comments(&mut self, _: &Repo, _: i64) -> Result<Vec<IssueComment>, FactError> {
        Ok(self.said.clone())
    }
    async fn reviews(&mut self, _: &Repo, _: i64) -> Result<Vec<PullReview>, FactError> {
        Ok(Vec::new())
    }
    async fn owners(&mut self, repo: &Repo, _: &str) -> Result<Arc<OwnersAt>, FactError> {
        let dir = self
            .repo_dir
            .clone()
            .ok_or_else(|| missing("the OWNERS files", "--repo-dir CHECKOUT"))?;
        let names = self
            .config
            .plugins
            .sections
            .owners
            .filenames_for(&repo.org, &repo.repo);
        let mut files = Vec::new();
        find_files(&dir, "", &names.owners, &mut files);
        let aliases = std::fs::read_to_string(dir.join(&names.owners_aliases)).ok();
        let (owners, problems) = RepoOwners::load(
            &files,
            aliases
                .as_deref()
                .map(|t| (names.owners_aliases.as_str(), t)),
            &names,
        );
        Ok(Arc::new(OwnersAt {
            owners,
            sha: "dry-run".into(),
            problems,
        }))
    }
    async fn file(&mut self, _: &Repo, path: &str, _: &str) -> Result<Option<String>, FactError> {
        Ok(self
            .repo_dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join(path)).ok()))
    }
    async fn tree_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Ok("dry-run".into())
    }
    async fn pulls_by_author(&mut self, _: &Repo, _: &str) -> Result<Vec<i64>, FactError> {
        Ok(Vec::new())
    }
    async fn combined_status(&mut self, _: &Repo, _: &str) -> Result<CombinedStatus, FactError> {
        Ok(CombinedStatus::default())
    }
    async fn base_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        self.pull_request
            .as_ref()
            .map(|p| p.base_sha.clone())
            .ok_or_else(|| missing("the base branch's SHA", "--pull-request FILE"))
    }
    async fn last_labeler(
        &mut self,
        _: &Repo,
        _: i64,
        _: &str,
    ) -> Result<Option<String>, FactError> {
        Ok(None)
    }
}

/// Each enabled plugin's plan for the event, as JSON: its effects, and with
/// `explain` its notes and the plugins that did nothing.
pub fn plan(
    facts: &mut DryFacts,
    event: &str,
    body: &[u8],
    delivery: &str,
    now: jiff::Timestamp,
    explain: bool,
) -> Result<Value, String> {
    let Some(ev) = plugin_event::parse(event, body).map_err(|e| e.to_string())? else {
        return Ok(json!([]));
    };
    if let Some(c) = &ev.comment
        && ev.name == "issue_comment"
    {
        facts.said = vec![IssueComment {
            id: 1,
            author: c.author.clone(),
            body: c.body.clone(),
            html_url: c.html_url.clone(),
            created_at: Some(now),
            updated_at: Some(now),
        }];
    }
    let config = facts.config.clone();
    let regexes = Regexes::default();
    let ctx = Ctx {
        config: &config,
        regexes: &regexes,
        delivery,
        now,
    };
    let mut cached = Cached::new(facts);
    let outcomes =
        futures_executor::block_on(skiff_core::plugins::plan_plugins(&ctx, &ev, &mut cached));
    let mut out = Vec::new();
    for o in outcomes {
        match o.result {
            Ok(p) if p.effects.is_empty() && !explain => {}
            Ok(mut p) => {
                if !explain {
                    p.notes.clear();
                }
                out.push(serde_json::to_value(&p).map_err(|e| e.to_string())?);
            }
            Err(e) => out.push(json!({
                "plugin": o.plugin,
                "error": format!("cannot decide without {}: {}", e.fact, e.message),
            })),
        }
    }
    let external: Vec<Value> =
        skiff_core::plugins::external::targets(&config, &ev.repo.org, &ev.repo.repo, event)
            .into_iter()
            .map(|t| json!({"name": t.name, "endpoint": t.endpoint}))
            .collect();
    if !external.is_empty() {
        out.push(json!({"external_plugins": external}));
    }
    Ok(Value::Array(out))
}
