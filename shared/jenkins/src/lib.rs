//! A Jenkins master over its REST API, as Prow's jenkins-operator drives one
//! (`pkg/jenkins/jenkins.go`): the [`Jenkins`] port.
//!
//! - **Auth**: basic (user and API token) or a bearer token, the token read
//!   from a file (`skiff dev`, a trailing newline trimmed) or Secrets Manager
//!   (the Lambdas, feature `aws`). No token is ever logged or printed: the
//!   `Debug` of every type here leaves it out.
//! - **CSRF**: a crumb is asked of `crumbIssuer/api/json` before the first
//!   POST, and sent (with the session cookie Jenkins binds it to) on every
//!   POST; a Jenkins without CSRF protection answers 404 and is not asked
//!   again. A POST refused for its crumb (expired, or protection switched on
//!   since) gets a new crumb and is sent once more.
//! - **Errors**: 401 and 403 are [`PortError::Rejected`] saying to check the
//!   credentials; 404 is [`PortError::NotFound`]; 429, 5xx, a refused
//!   connection and a timeout (30 s, as Prow) are [`PortError::Unavailable`].
//!   Nothing is retried here: the dispatcher and the syncer decide, and a
//!   build request in particular must never be sent twice blindly.
//! - **Calls**: see [`Jenkins`]; each method is one HTTP request, plus the
//!   crumb's GET on a client's first POST.
//!
//! Differences from Prow: parameters go in the POST's form body, not its
//! query string (a `JOB_SPEC` can outgrow a URL); Prow's `EnsureBuildableJob`
//! (start a throwaway build of a job that has no parameters yet, then abort
//! it) is not done: Jenkins' refusal ("is not parameterized") ends the job
//! with its words instead.

mod client;
mod tls;
mod wire;

#[cfg(feature = "aws")]
pub mod aws;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use skiff_core::config::prow::JenkinsMaster;
use skiff_core::ports::{PortError, PortResult};

pub use client::JenkinsClient;

/// An API token. Its `Debug` shows `Token(***)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The token as a file holds it: one trailing newline (`\n` or `\r\n`)
    /// is not part of it.
    pub fn from_file_text(text: &str) -> Self {
        let t = text.strip_suffix('\n').unwrap_or(text);
        Token(t.strip_suffix('\r').unwrap_or(t).to_string())
    }

    /// The value, for the `Authorization` header only. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Where a token comes from when a request needs it: a fixed value, or a
/// secret store that may rotate it.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn token(&self) -> PortResult<Token>;
}

#[async_trait]
impl TokenSource for Token {
    async fn token(&self) -> PortResult<Token> {
        Ok(self.clone())
    }
}

/// How Skiff signs in to Jenkins.
#[derive(Clone)]
pub enum Auth {
    /// Anonymous.
    None,
    /// Basic auth: the user and its API token.
    Basic {
        user: String,
        token: Arc<dyn TokenSource>,
    },
    /// `Authorization: Bearer <token>` (OpenShift's Jenkins, OAuth).
    Bearer { token: Arc<dyn TokenSource> },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, token: *** }}"),
            Auth::Bearer { .. } => f.write_str("Bearer { token: *** }"),
        }
    }
}

/// What a client is made from.
#[derive(Clone, Debug)]
pub struct Options {
    /// The Jenkins root URL.
    pub url: String,
    pub auth: Auth,
    /// Accept any TLS certificate.
    pub insecure_skip_verify: bool,
    /// Per request (Prow: 30 s).
    pub timeout: std::time::Duration,
}

impl Options {
    pub fn new(url: &str, auth: Auth) -> Self {
        Options {
            url: url.to_string(),
            auth,
            insecure_skip_verify: false,
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// The [`Auth`] a `skiff.jenkins` entry asks for, given its token.
pub fn auth_for(entry: &JenkinsMaster, token: Option<Arc<dyn TokenSource>>) -> Auth {
    match token {
        None => Auth::None,
        Some(token) if entry.bearer => Auth::Bearer { token },
        Some(token) => Auth::Basic {
            user: entry.user.clone(),
            token,
        },
    }
}

/// A client for a `skiff.jenkins` entry whose token (if any) is in
/// `token_file` (`skiff dev`). The file is read now: a missing one fails
/// at start, naming it.
pub fn from_config_with_files(entry: &JenkinsMaster) -> Result<JenkinsClient, String> {
    let token: Option<Arc<dyn TokenSource>> = if entry.token_file.is_empty() {
        if !entry.token_secret_arn.is_empty() {
            return Err(format!(
                "Jenkins {}: token_secret_arn is read on AWS only; give token_file to skiff dev",
                entry.url
            ));
        }
        None
    } else {
        let path = Path::new(&entry.token_file);
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("Jenkins {}: cannot read {}: {e}", entry.url, path.display()))?;
        Some(Arc::new(Token::from_file_text(&text)))
    };
    let mut options = Options::new(&entry.url, auth_for(entry, token));
    options.insecure_skip_verify = entry.insecure_skip_verify;
    JenkinsClient::new(options)
}

/// Every `skiff.jenkins` entry's client (tokens from `token_file`), by its
/// operator's label selector, for `skiff dev`. The first entry that cannot
/// be used fails the whole, naming it.
pub fn masters_from_files(
    config: &skiff_core::config::Config,
) -> Result<skiff_core::run::jenkins::JenkinsMasters, String> {
    let mut out = skiff_core::run::jenkins::JenkinsMasters::new();
    for entry in &config.prow.skiff.jenkins {
        let client = from_config_with_files(entry)?;
        out.insert(entry.label_selector.clone(), Arc::new(client));
    }
    Ok(out)
}

/// Why a request failed, as the port says it. `what` names the request
/// (`POST https://ci/job/x/buildWithParameters`); `body` is Jenkins' answer.
pub(crate) fn error_for(status: u16, what: &str, body: &str) -> PortError {
    let snippet = wire::snippet(body);
    let message = match status {
        401 => format!(
            "{what}: HTTP 401 Unauthorized: Jenkins refused the credentials (check skiff.jenkins user and token)"
        ),
        403 => format!(
            "{what}: HTTP 403 Forbidden: Jenkins refused the credentials or their permissions (check skiff.jenkins user and token){snippet}"
        ),
        _ => format!("{what}: HTTP {status}{snippet}"),
    };
    match status {
        404 => PortError::NotFound(message.into()),
        429 | 500..=599 => PortError::Unavailable(message.into()),
        _ => PortError::Rejected(message.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_loses_its_trailing_newline_only() {
        assert_eq!(Token::from_file_text("abc\n").expose(), "abc");
        assert_eq!(Token::from_file_text("abc\r\n").expose(), "abc");
        assert_eq!(Token::from_file_text("abc").expose(), "abc");
        assert_eq!(Token::from_file_text("abc\n\n").expose(), "abc\n");
        assert_eq!(Token::from_file_text(" abc").expose(), " abc");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let token: Arc<dyn TokenSource> = Arc::new(Token::new("s3cr3t"));
        let basic = Auth::Basic {
            user: "prow".into(),
            token: token.clone(),
        };
        let text = format!(
            "{:?} {:?} {:?}",
            basic,
            Auth::Bearer { token },
            Token::new("s3cr3t")
        );
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("prow"), "the user is not a secret: {text}");
    }

    #[test]
    fn statuses_become_port_errors_that_say_what_to_do() {
        let what = "GET https://ci/queue/api/json";
        let e = error_for(401, what, "");
        assert!(matches!(e, PortError::Rejected(_)));
        assert!(e.to_string().contains("401") && e.to_string().contains("credentials"));
        assert!(matches!(error_for(403, what, ""), PortError::Rejected(_)));
        assert!(matches!(error_for(404, what, ""), PortError::NotFound(_)));
        assert!(matches!(
            error_for(503, what, ""),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            error_for(429, what, ""),
            PortError::Unavailable(_)
        ));
        assert!(matches!(error_for(400, what, "x"), PortError::Rejected(_)));
    }
}
