//! Tide's merge (`PUT /repos/{o}/{r}/pulls/{n}/merge`), Prow's
//! `github.Client.Merge`: the tested head goes as `sha`, so GitHub refuses
//! (409) a pull pushed to since; a 405 is GitHub declining to merge.

use serde_json::{Map, Value, json};
use skiff_core::ports::{MergeOutcome, PortResult};
use skiff_core::tide::merge::MergeRequest;

use super::GitHubScm;
use super::auth::Scope;
use super::http::{Verb, error, repo_path};

/// One repository of `GET /orgs/{org}/repos`.
#[derive(serde::Deserialize)]
struct OrgRepo {
    name: String,
    #[serde(default)]
    archived: bool,
}

impl GitHubScm {
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
