//! Commit statuses.

use serde_json::{Map, Value, json};
use skiff_core::ports::{CommitStatus, PortResult};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{Verb, repo_path, seg};

impl GitHubScm {
    pub(super) async fn post_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        let path = format!("{}/statuses/{}", repo_path(org, repo), seg(sha));
        // Prow omits empty fields: GitHub rejects an empty target_url.
        let mut body = Map::new();
        body.insert("state".into(), json!(status.state));
        for (key, value) in [
            ("target_url", &status.target_url),
            ("description", &status.description),
            ("context", &status.context),
        ] {
            if !value.is_empty() {
                body.insert(key.into(), json!(value));
            }
        }
        self.send_ok(
            Verb::Post,
            Scope::Org(org),
            &path,
            Some(&Value::Object(body)),
        )
        .await
        .map(drop)
    }
}
