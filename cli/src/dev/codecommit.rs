//! CodeCommit in `skiff dev`: the region served, and what the trigger and
//! the reporter talk to there — the same adapters the Lambda wiring builds
//! (`shared/lambda/src/scm.rs`), pointed at `--codecommit-endpoint-url`.
//!
//! Without an endpoint the served region's events are still planned, from
//! what they carry ([`EventOnly`]), and their results are logged by the
//! reporter's CodeCommit sink, which skips a job it has no client for.

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls;
use skiff_core::event::PullRequest;
use skiff_core::ports::{CodeCommit, Comment, CommitStatus, PortError, PortResult};
use skiff_scm::{CODECOMMIT_BOT, CodeCommitReports, CodeCommitScm, NoScm};

use super::*;

/// The region when the environment names none, as the AWS CLI's examples.
pub const DEFAULT_REGION: &str = "us-east-1";

/// CodeCommit as `skiff dev` serves it.
pub struct CodeCommitDev {
    /// Events of this region are planned and its jobs reported; a
    /// CodeCommit repository is `<region>/<repository>`.
    pub region: String,
    /// What the trigger plans this region's events with.
    pub scm: Arc<dyn Scm>,
    /// Where the reporter writes results; `None` without an endpoint.
    pub reports: Option<Arc<dyn CodeCommit>>,
    /// The endpoint, when one was given (for the start-up line).
    pub endpoint: Option<String>,
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else [`DEFAULT_REGION`]; an
/// empty variable counts as unset.
pub fn served_region(env: impl Fn(&str) -> Option<String>) -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .filter_map(|name| env(name))
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

/// CodeCommit in `region`, at `endpoint` when given.
pub async fn connect(endpoint: Option<&str>, region: String) -> Result<CodeCommitDev, String> {
    let Some(endpoint) = endpoint else {
        return Ok(CodeCommitDev {
            scm: Arc::new(EventOnly::new()),
            reports: None,
            region,
            endpoint: None,
        });
    };
    check_endpoint(endpoint)?;
    let client = client(endpoint, &region).await;
    Ok(CodeCommitDev {
        scm: Arc::new(CodeCommitScm::new(client.clone(), region.clone())),
        reports: Some(Arc::new(CodeCommitReports::new(client, region.clone()))),
        region,
        endpoint: Some(endpoint.to_owned()),
    })
}

/// An `http(s)://HOST[:PORT][/PATH]` URL, refused early with the flag's
/// name rather than on the first event.
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "--codecommit-endpoint-url {endpoint:?}: {why}; expected http(s)://HOST[:PORT]"
        ))
    };
    let uri: axum::http::Uri = match endpoint.parse() {
        Ok(uri) => uri,
        Err(e) => return refuse(&e.to_string()),
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return refuse("the scheme is not http or https");
    }
    if uri.host().is_none_or(str::is_empty) {
        return refuse("no host");
    }
    Ok(())
}

/// The SDK client as the Lambda wiring builds it (rustls with ring, the
/// behaviour version pinned; `skiff_aws::client::sdk_config`), with the
/// region set rather than looked up, so nothing asks an instance metadata
/// service for it, and the endpoint overridden. Credentials come from the
/// environment's usual chain.
async fn client(endpoint: &str, region: &str) -> aws_sdk_codecommit::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http)
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_codecommit::Client::new(&sdk)
}

/// The trigger's CodeCommit without an endpoint: what an event carries is
/// all there is.
///
/// - Trust is CodeCommit's (`CodeCommitScm`): whoever could act on the
///   repository is trusted, IAM being the boundary; here the boundary is who
///   may post to `/eventbridge` (this machine, or a holder of the secret).
/// - Facts the event does not carry — the pull request, its files, a
///   branch's head, a comment's text — are refused as `NoScm` refuses them,
///   permanently, naming the flag: the event is dropped with that reason
///   instead of being planned on invented data. A push of jobs without file
///   filters needs none of them.
/// - Writes (the trigger's replies and labels, which `CodeCommitScm`
///   refuses too) are logged, as `NoScm` logs them.
pub struct EventOnly {
    log: NoScm,
}

impl EventOnly {
    pub fn new() -> Self {
        EventOnly {
            log: NoScm::new(CODECOMMIT_BOT),
        }
    }
}

impl Default for EventOnly {
    fn default() -> Self {
        Self::new()
    }
}

fn not_carried(what: String) -> PortError {
    PortError::Rejected(
        format!(
            "no CodeCommit endpoint (--codecommit-endpoint-url): cannot get {what}, which the \
             event does not carry"
        )
        .into(),
    )
}

#[async_trait]
impl Scm for EventOnly {
    fn bot_login(&self) -> &str {
        CODECOMMIT_BOT
    }

    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        Err(not_carried(format!("pull request {org}/{repo}#{number}")))
    }

    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        Err(not_carried(format!("the files of {org}/{repo}#{number}")))
    }

    async fn is_member(&self, _org: &str, _login: &str) -> PortResult<bool> {
        Ok(true)
    }

    async fn is_collaborator(&self, _org: &str, _repo: &str, _login: &str) -> PortResult<bool> {
        Ok(true)
    }

    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String> {
        Err(not_carried(format!("the head of {org}/{repo}@{branch}")))
    }

    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        Err(not_carried(format!(
            "the text of comment {id} on {org}/{repo}"
        )))
    }

    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        Err(not_carried(format!(
            "the files changed in {org}/{repo} {base}..{head}"
        )))
    }

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        self.log.create_status(org, repo, sha, status).await
    }

    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.log.list_comments(org, repo, number).await
    }

    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        self.log.create_comment(org, repo, number, body).await
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        self.log.edit_comment(org, repo, id, body).await
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        self.log.delete_comment(org, repo, id).await
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        self.log.add_label(org, repo, number, label).await
    }

    async fn remove_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
        self.log.remove_label(org, repo, number, label).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment's variables, by name.
    type Env = &'static [(&'static str, &'static str)];

    #[test]
    fn the_region_is_aws_region_else_aws_default_region_else_us_east_1() {
        let cases: [(&str, Env, &str); 5] = [
            (
                "AWS_REGION wins",
                &[
                    ("AWS_REGION", "eu-west-1"),
                    ("AWS_DEFAULT_REGION", "us-west-2"),
                ],
                "eu-west-1",
            ),
            (
                "AWS_DEFAULT_REGION next",
                &[("AWS_DEFAULT_REGION", "us-west-2")],
                "us-west-2",
            ),
            (
                "an empty AWS_REGION is unset",
                &[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-west-2")],
                "us-west-2",
            ),
            ("neither: us-east-1", &[], "us-east-1"),
            (
                "both empty: us-east-1",
                &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")],
                "us-east-1",
            ),
        ];
        for (rule, env, want) in cases {
            let got = served_region(|name| {
                env.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            });
            assert_eq!(got, want, "{rule}");
        }
    }

    #[test]
    fn an_endpoint_must_be_an_http_url_with_a_host() {
        for (url, ok) in [
            ("http://127.0.0.1:4566", true),
            ("https://codecommit.us-east-1.amazonaws.com", true),
            ("codecommit.us-east-1.amazonaws.com", false),
            ("ftp://example.com", false),
            ("http://", false),
            ("not a url", false),
        ] {
            let got = check_endpoint(url);
            assert_eq!(got.is_ok(), ok, "{url}: {got:?}");
            if let Err(e) = got {
                assert!(e.starts_with("--codecommit-endpoint-url"), "{e}");
            }
        }
    }

    #[tokio::test]
    async fn without_an_endpoint_trust_is_codecommits_and_uncarried_facts_are_permanent_errors() {
        let scm = EventOnly::new();
        assert_eq!(scm.is_member("us-east-1", "alice").await, Ok(true));
        assert_eq!(
            scm.is_collaborator("us-east-1", "widgets", "alice").await,
            Ok(true)
        );
        assert_eq!(
            scm.create_comment("us-east-1", "widgets", 1, "hi").await,
            Ok(())
        );
        let errors = [
            scm.pull_request("us-east-1", "widgets", 1).await.map(drop),
            scm.changed_files("us-east-1", "widgets", 1).await.map(drop),
            scm.branch_sha("us-east-1", "widgets", "main")
                .await
                .map(drop),
            scm.comment_body("us-east-1", "widgets", "c1")
                .await
                .map(drop),
            scm.compare_files("us-east-1", "widgets", "a", "b")
                .await
                .map(drop),
        ];
        for e in errors {
            let e = e.expect_err("not carried by the event");
            assert!(!e.is_retryable(), "{e}");
            assert!(e.to_string().contains("--codecommit-endpoint-url"), "{e}");
        }
    }
}
