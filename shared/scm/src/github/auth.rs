//! Credentials: a token, or a GitHub App whose JWT is exchanged per org for
//! installation tokens, and which of them a request goes out with.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use octocrab::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use serde::Deserialize;
use skiff_core::ports::{PortError, PortResult};

use super::http::{Verb, decode, seg};
use super::{GitHubScm, lock};

/// An installation token is renewed this long before it expires (Prow's
/// margin), so no request goes out with a token about to lapse.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// GitHub refuses App JWTs valid for more than 10 minutes; 9 leaves room for
/// clock skew, and the JWT is dated a minute back for the same reason.
const JWT_LIFETIME: Duration = Duration::from_secs(9 * 60);
const JWT_BACKDATE: Duration = Duration::from_secs(60);

/// How Skiff authenticates to GitHub.
#[derive(Clone)]
pub enum GitHubAuth {
    /// A personal access token (or any token GitHub accepts as `Bearer`).
    Token(String),
    /// A GitHub App: its id and its private key (PEM, `-----BEGIN RSA
    /// PRIVATE KEY-----` as GitHub hands it out, or PKCS#8).
    App { app_id: u64, private_key: String },
}

// By hand, so that printing the options can never print a credential.
impl fmt::Debug for GitHubAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitHubAuth::Token(_) => f.write_str("Token(<redacted>)"),
            GitHubAuth::App { app_id, .. } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key", &"<redacted>")
                .finish(),
        }
    }
}

/// A GitHub App's credentials and what they have been exchanged for.
pub(super) struct App {
    id: u64,
    key: EncodingKey,
    /// Installation id by account (org or user) login, lower-cased.
    installations: Mutex<HashMap<String, i64>>,
    /// Installation token and its expiry, by installation id.
    tokens: Mutex<HashMap<i64, (String, Timestamp)>>,
}

pub(super) enum Credentials {
    Token(String),
    App(App),
}

/// Whose credentials a request goes out with.
#[derive(Clone, Copy, Debug)]
pub(super) enum Scope<'a> {
    /// The org's (or user's) installation, or the token.
    Org(&'a str),
    /// The App itself (a JWT): the `/app` endpoints and installation lookups.
    App,
}

impl Credentials {
    /// Checks the App's key once, when connecting, not on every request.
    pub(super) fn from_auth(auth: GitHubAuth) -> PortResult<Self> {
        Ok(match auth {
            GitHubAuth::Token(token) => Credentials::Token(token.trim().to_owned()),
            GitHubAuth::App {
                app_id,
                private_key,
            } => {
                // The error would describe the key; name only what is wrong.
                let key =
                    EncodingKey::from_rsa_pem(private_key.trim().as_bytes()).map_err(|_| {
                        PortError::Rejected(
                            format!(
                                "GitHub App {app_id}: the private key is not an RSA key in PEM form"
                            )
                            .into(),
                        )
                    })?;
                Credentials::App(App {
                    id: app_id,
                    key,
                    installations: Mutex::new(HashMap::new()),
                    tokens: Mutex::new(HashMap::new()),
                })
            }
        })
    }
}

impl GitHubScm {
    /// A JWT for the App's own endpoints.
    fn jwt(&self, app: &App) -> PortResult<String> {
        #[derive(serde::Serialize)]
        struct Claims {
            iat: i64,
            exp: i64,
            iss: String,
        }
        let now = self.now().as_second();
        let claims = Claims {
            iat: now - JWT_BACKDATE.as_secs() as i64,
            exp: now + JWT_LIFETIME.as_secs() as i64,
            iss: app.id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &app.key).map_err(|e| {
            PortError::Rejected(format!("GitHub App {}: cannot sign a JWT: {e}", app.id).into())
        })
    }

    /// The `Authorization` value and the identity a request's rate limit and
    /// cache belong to.
    pub(super) async fn authorization(&self, scope: Scope<'_>) -> PortResult<(String, String)> {
        match (&self.credentials, scope) {
            (Credentials::Token(token), _) => Ok((format!("Bearer {token}"), "token".into())),
            (Credentials::App(app), Scope::App) => {
                Ok((format!("Bearer {}", self.jwt(app)?), "app".into()))
            }
            (Credentials::App(app), Scope::Org(org)) => {
                let installation = self.installation(app, org).await?;
                let token = self.installation_token(app, installation).await?;
                Ok((
                    format!("Bearer {token}"),
                    format!("installation/{installation}"),
                ))
            }
        }
    }

    /// The App's installation on `org` (an org, else a user account).
    async fn installation(&self, app: &App, org: &str) -> PortResult<i64> {
        let key = org.to_ascii_lowercase();
        if let Some(id) = lock(&app.installations).get(&key) {
            return Ok(*id);
        }
        #[derive(Deserialize)]
        struct Installation {
            id: i64,
        }
        let org_path = format!("/orgs/{}/installation", seg(org));
        let id = match self.get_json::<Installation>(Scope::App, &org_path).await {
            Ok(i) => i.id,
            Err(PortError::NotFound(_)) => {
                let user_path = format!("/users/{}/installation", seg(org));
                self.get_json::<Installation>(Scope::App, &user_path)
                    .await
                    .map_err(|e| match e {
                        PortError::NotFound(_) => PortError::Rejected(
                            format!("GitHub App {} is not installed on {org}", app.id).into(),
                        ),
                        e => e,
                    })?
                    .id
            }
            Err(e) => return Err(e),
        };
        lock(&app.installations).insert(key, id);
        Ok(id)
    }

    /// A token of `installation`, from the cache while it has more than
    /// [`TOKEN_MARGIN`] left, else a new one.
    async fn installation_token(&self, app: &App, installation: i64) -> PortResult<String> {
        let now = self.now();
        let margin = jiff::SignedDuration::try_from(TOKEN_MARGIN).unwrap_or_default();
        if let Some((token, expires)) = lock(&app.tokens).get(&installation)
            && now.checked_add(margin).is_ok_and(|t| t < *expires)
        {
            return Ok(token.clone());
        }
        #[derive(Deserialize)]
        struct AccessToken {
            token: String,
            expires_at: Timestamp,
        }
        let path = format!("/app/installations/{installation}/access_tokens");
        let reply = self.send_ok(Verb::Post, Scope::App, &path, None).await?;
        let t: AccessToken = decode(Verb::Post, &path, &reply.body)?;
        tracing::debug!(installation, expires_at = %t.expires_at, "new installation token");
        lock(&app.tokens).insert(installation, (t.token.clone(), t.expires_at));
        Ok(t.token)
    }

    pub(super) fn forget_token(&self, scope: Scope<'_>) {
        if let (Credentials::App(app), Scope::Org(org)) = (&self.credentials, scope)
            && let Some(id) = lock(&app.installations).get(&org.to_ascii_lowercase())
        {
            lock(&app.tokens).remove(id);
        }
    }
}
