//! What tide asks of GitHub beyond the review plugins' calls: an org's
//! repositories, a commit's check runs, a branch's required status checks,
//! and the merge (`PUT /repos/{o}/{r}/pulls/{n}/merge`, Prow's
//! `github.Client.Merge`: the tested head goes as `sha`, so GitHub refuses
//! (409) a pull pushed to since; a 405 is GitHub declining to merge).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use skiff_core::ports::{CheckRunState, LabelledIssue, MergeOutcome, PortResult};
use skiff_core::tide::merge::MergeRequest;

use super::GitHubScm;
use super::auth::Scope;
use super::http::{Verb, error, repo_path};

#[derive(Deserialize)]
struct CheckRuns {
    check_runs: Vec<CheckRunJson>,
}

#[derive(Deserialize)]
struct CheckRunJson {
    name: String,
    status: String,
    conclusion: Option<String>,
}

#[derive(Deserialize)]
struct RequiredChecks {
    #[serde(default)]
    contexts: Vec<String>,
    #[serde(default)]
    checks: Vec<RequiredCheck>,
}

#[derive(Deserialize)]
struct RequiredCheck {
    context: String,
}

/// One issue of `GET /repos/{o}/{r}/issues`: pull requests are listed too,
/// marked by their `pull_request` key.
#[derive(Deserialize)]
struct IssueJson {
    number: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    pull_request: Option<Value>,
}

/// One repository of `GET /orgs/{org}/repos`.
#[derive(serde::Deserialize)]
struct OrgRepo {
    name: String,
    #[serde(default)]
    archived: bool,
}

impl GitHubScm {
    /// The latest check run of each name on `sha` (the first 100, as
    /// Prow's query reads the last 100).
    pub(super) async fn list_check_runs(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<Vec<CheckRunState>> {
        let path = format!(
            "{}/commits/{}/check-runs?filter=latest&per_page=100",
            repo_path(org, repo),
            super::http::seg(sha)
        );
        let runs: CheckRuns = self.get_json(Scope::Org(org), &path).await?;
        Ok(runs
            .check_runs
            .into_iter()
            .map(|r| CheckRunState {
                name: r.name,
                status: r.status,
                conclusion: r.conclusion.unwrap_or_default(),
            })
            .collect())
    }

    /// The branch protection's required status checks; none (not an error)
    /// when the branch is not protected (404).
    pub(super) async fn get_required_status_checks(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> PortResult<Vec<String>> {
        let path = format!(
            "{}/branches/{}/protection/required_status_checks",
            repo_path(org, repo),
            super::http::seg(branch)
        );
        let reply = self.send(Verb::Get, Scope::Org(org), &path, None).await?;
        match reply.status {
            404 => Ok(Vec::new()),
            200..=299 => {
                let r: RequiredChecks = serde_json::from_str(&reply.body).map_err(|e| {
                    skiff_core::ports::PortError::Rejected(format!("GET {path}: {e}").into())
                })?;
                let mut out = r.contexts;
                out.extend(r.checks.into_iter().map(|c| c.context));
                out.sort();
                out.dedup();
                Ok(out)
            }
            _ => Err(error(Verb::Get, &path, &reply)),
        }
    }

    /// The org's repositories that are not archived (tide's search has
    /// `archived:false`).
    pub(super) async fn list_org_repos(&self, org: &str) -> PortResult<Vec<String>> {
        let path = format!("/orgs/{}/repos?per_page=100", super::http::seg(org));
        let repos: Vec<OrgRepo> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(repos
            .into_iter()
            .filter(|r| !r.archived)
            .map(|r| r.name)
            .collect())
    }

    /// The repo's open issues labelled `label` (tide's blockers; Prow
    /// searches `is:issue state:open label:…`, so pull requests are left
    /// out). The listing is a conditional GET like every other read, so an
    /// unchanged set costs nothing against the rate limit.
    pub(super) async fn list_labelled_issues(
        &self,
        org: &str,
        repo: &str,
        label: &str,
    ) -> PortResult<Vec<LabelledIssue>> {
        let path = format!(
            "{}/issues?state=open&labels={}&per_page=100",
            repo_path(org, repo),
            super::http::seg(label)
        );
        let issues: Vec<IssueJson> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(issues
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .map(|i| LabelledIssue {
                number: i.number,
                title: i.title,
                html_url: i.html_url,
            })
            .collect())
    }

    pub(super) async fn put_merge(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        request: &MergeRequest,
    ) -> PortResult<MergeOutcome> {
        let path = format!("{}/pulls/{number}/merge", repo_path(org, repo));
        let mut body = Map::new();
        body.insert("sha".into(), json!(request.sha));
        body.insert("merge_method".into(), json!(request.method.as_str()));
        // Empty templates leave GitHub's default title and message.
        if !request.commit_title.is_empty() {
            body.insert("commit_title".into(), json!(request.commit_title));
        }
        if !request.commit_message.is_empty() {
            body.insert("commit_message".into(), json!(request.commit_message));
        }
        let reply = self
            .send(
                Verb::Put,
                Scope::Org(org),
                &path,
                Some(&Value::Object(body)),
            )
            .await?;
        let message = || {
            serde_json::from_str::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| reply.body.trim().to_owned())
        };
        match reply.status {
            200..=299 => Ok(MergeOutcome::Merged),
            409 => Ok(MergeOutcome::HeadModified(message())),
            405 => Ok(MergeOutcome::Refused(message())),
            _ => Err(error(Verb::Put, &path, &reply)),
        }
    }
}
