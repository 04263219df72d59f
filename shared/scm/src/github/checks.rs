//! Check runs (GitHub Apps only).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use skiff_core::ports::{CheckRun, PortResult};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{PER_PAGE, Verb, decode, repo_path, seg};

#[derive(Deserialize)]
struct CheckRunId {
    id: i64,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct CheckRuns {
    #[serde(default)]
    check_runs: Vec<CheckRunId>,
}

/// The JSON GitHub takes for a check run (create and update alike).
fn check_run_body(run: &CheckRun, create: bool) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(run.name));
    if create {
        body.insert("head_sha".into(), json!(run.head_sha));
    }
    body.insert("external_id".into(), json!(run.external_id));
    if !run.details_url.is_empty() {
        body.insert("details_url".into(), json!(run.details_url));
    }
    body.insert("status".into(), json!(run.status));
    if let Some(c) = &run.conclusion {
        body.insert("conclusion".into(), json!(c));
    }
    if let Some(t) = run.started_at {
        body.insert("started_at".into(), json!(t.to_string()));
    }
    if let Some(t) = run.completed_at {
        body.insert("completed_at".into(), json!(t.to_string()));
    }
    if !run.title.is_empty() {
        let mut output = Map::new();
        output.insert("title".into(), json!(run.title));
        output.insert("summary".into(), json!(run.summary));
        if !run.text.is_empty() {
            output.insert("text".into(), json!(run.text));
        }
        body.insert("output".into(), Value::Object(output));
    }
    Value::Object(body)
}

impl GitHubScm {
    pub(super) async fn post_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<i64> {
        let path = format!("{}/check-runs", repo_path(org, repo));
        let reply = self
            .send_ok(
                Verb::Post,
                Scope::Org(org),
                &path,
                Some(&check_run_body(run, true)),
            )
            .await?;
        let created: CheckRunId = decode(Verb::Post, &path, &reply.body)?;
        Ok(created.id)
    }

    pub(super) async fn patch_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        let path = format!("{}/check-runs/{id}", repo_path(org, repo));
        self.send_ok(
            Verb::Patch,
            Scope::Org(org),
            &path,
            Some(&check_run_body(run, false)),
        )
        .await
        .map(drop)
    }

    pub(super) async fn find_check_run_id(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        let path = format!(
            "{}/commits/{}/check-runs?check_name={}&filter=all&per_page={PER_PAGE}",
            repo_path(org, repo),
            seg(&run.head_sha),
            seg(&run.name)
        );
        let runs: CheckRuns = self.get_json(Scope::Org(org), &path).await?;
        Ok(runs
            .check_runs
            .into_iter()
            .find(|r| r.external_id.as_deref() == Some(run.external_id.as_str()))
            .map(|r| r.id))
    }
}
