//! [`GitHubLogin`] for a GitHub OAuth app (Prow's deck `githuboauth`): the
//! app's client id, secret, redirect URL and scopes come from Prow's
//! `github-oauth-config` file (YAML: `client_id`, `client_secret`,
//! `redirect_url`, `scopes`), kept in Secrets Manager on AWS and in a file
//! for `skiff dev`. The secret and the access tokens never reach a log line,
//! an error or `Debug` output.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use skiff_core::ports::{GitHubLogin, PortError, PortResult};

const TIMEOUT: Duration = Duration::from_secs(10);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Prow's `githuboauth.Config`.
#[derive(Deserialize)]
struct OAuthConfig {
    client_id: String,
    client_secret: String,
    redirect_url: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// A GitHub OAuth app.
pub struct GitHubOAuthApp {
    client_id: String,
    client_secret: String,
    redirect_url: String,
    scopes: Vec<String>,
    /// `https://github.com` (or an Enterprise host): authorize and token URLs.
    web_base: String,
    /// The REST API, for `GET /user`.
    api_base: String,
    client: Client<Https, Full<Bytes>>,
}

impl fmt::Debug for GitHubOAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOAuthApp")
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl GitHubOAuthApp {
    /// From the config file's text (`source` names it in errors, never its
    /// contents).
    pub fn from_config(
        text: &str,
        source: &str,
        web_base: &str,
        api_base: &str,
    ) -> Result<Self, String> {
        let doc = skiff_core::yaml::parse(text)
            .map_err(|e| format!("{source}: not YAML: line {}", e.mark.line))?;
        let (c, _) = skiff_core::yaml::from_node::<OAuthConfig>(
            &doc.root,
            &skiff_core::yaml::Path::Root(source),
        )
        // The message may quote a value (the secret): name the place only.
        .map_err(|e| {
            let line = e.mark.map_or(0, |m| m.line);
            format!("{source}:{line}: {} is missing or not a string", e.path)
        })?;
        for (field, value) in [
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("redirect_url", &c.redirect_url),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{source}: {field} is empty"));
            }
        }
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(TIMEOUT));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("GitHub OAuth: no TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client_id: c.client_id,
            client_secret: c.client_secret,
            redirect_url: c.redirect_url,
            scopes: c.scopes,
            web_base: web_base.trim_end_matches('/').to_string(),
            api_base: api_base.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    async fn call(
        &self,
        request: http::Request<Full<Bytes>>,
        what: &str,
    ) -> PortResult<serde_json::Value> {
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| PortError::Unavailable(format!("{what}: timed out").into()))?
            .map_err(|_| PortError::Unavailable(format!("{what}: request failed").into()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| PortError::Unavailable(format!("{what}: reading the answer").into()))?
            .to_bytes();
        if status >= 500 {
            return Err(PortError::Unavailable(format!("{what}: {status}").into()));
        }
        if !(200..300).contains(&status) {
            return Err(PortError::Rejected(format!("{what}: {status}").into()));
        }
        serde_json::from_slice(&body)
            .map_err(|_| PortError::Rejected(format!("{what}: not JSON").into()))
    }
}

#[async_trait]
impl GitHubLogin for GitHubOAuthApp {
    fn authorize_url(&self, state: &str) -> String {
        format!(
            "{}/login/oauth/authorize?{}",
            self.web_base,
            form(&[
                ("client_id", &self.client_id),
                ("redirect_uri", &self.redirect_url),
                ("scope", &self.scopes.join(" ")),
                ("state", state),
            ])
        )
    }

    async fn login_for_code(&self, code: &str) -> PortResult<String> {
        let token_url = format!("{}/login/oauth/access_token", self.web_base);
        let body = form(&[
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("code", code),
            ("redirect_uri", &self.redirect_url),
        ]);
        let request = http::Request::post(token_url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| PortError::Rejected("the OAuth token URL is not valid".into()))?;
        let answer = self.call(request, "exchanging the OAuth code").await?;
        // GitHub answers a bad or used code 200 with an `error` member.
        let Some(token) = answer["access_token"].as_str().filter(|t| !t.is_empty()) else {
            let why = answer["error"].as_str().unwrap_or("no access token");
            return Err(PortError::Rejected(
                format!("GitHub refused the sign-in: {why}").into(),
            ));
        };
        let request = http::Request::get(format!("{}/user", self.api_base))
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(http::header::USER_AGENT, "skiff-deck")
            .body(Full::new(Bytes::new()))
            .map_err(|_| PortError::Rejected("the GitHub API URL is not valid".into()))?;
        let user = self.call(request, "GET /user").await?;
        user["login"]
            .as_str()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| PortError::Rejected("GET /user: no login".into()))
    }
}
