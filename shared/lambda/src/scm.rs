//! The code host and chat for the trigger, the reporter and the redelivery
//! sweeper: GitHub with a token or as a GitHub App (credentials from Secrets
//! Manager), or — with neither configured — the logging no-SCM that reports
//! nothing and trusts nobody; CodeCommit in the function's region; Slack
//! incoming webhooks (their URLs from Secrets Manager).
//!
//! Secrets are read through the per-container secrets cache; when a rotation
//! changes one, the client is rebuilt on the next event. A client lives as
//! long as its secret, so an App's installation tokens, the rate-limit gates
//! and the ETag cache carry over between the events of a warm container.

use std::sync::{Arc, Mutex, PoisonError};

use skiff_aws::client;
use skiff_aws::secrets::{Secret, SecretsCache};
use skiff_core::ports::{Chat, PortError, PortResult, Scm};
use skiff_scm::{GitHubOptions, GitHubScm, NoScm, SlackWebhooks};

use crate::env::{Env, EnvError};

pub const TOKEN_SECRET_ENV: &str = "SKIFF_GITHUB_TOKEN_SECRET_ID";
pub const APP_ID_ENV: &str = "SKIFF_GITHUB_APP_ID";
pub const APP_KEY_SECRET_ENV: &str = "SKIFF_GITHUB_APP_KEY_SECRET_ID";
pub const API_URL_ENV: &str = "SKIFF_GITHUB_API_URL";
pub const BOT_LOGIN_ENV: &str = "SKIFF_BOT_LOGIN";
pub const SLACK_SECRET_ENV: &str = "SKIFF_SLACK_WEBHOOK_SECRET_ID";

/// Which GitHub credential the deployment has.
enum Credential {
    None,
    Token(String),
    App { id: u64, key_secret: String },
}

/// Where the code host comes from.
pub struct ScmSource {
    credential: Credential,
    secrets: SecretsCache,
    api_url: String,
    bot: String,
    current: Mutex<Option<(Secret, Arc<GitHubScm>)>>,
    none: Arc<dyn Scm>,
}

impl ScmSource {
    /// From `SKIFF_GITHUB_APP_ID` with `SKIFF_GITHUB_APP_KEY_SECRET_ID` (a
    /// GitHub App), else `SKIFF_GITHUB_TOKEN_SECRET_ID` (a token), else none;
    /// `SKIFF_GITHUB_API_URL` (default GitHub.com) and `SKIFF_BOT_LOGIN`
    /// (default `skiff-bot`; with an App, empty asks GitHub for `<slug>[bot]`).
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, EnvError> {
        let credential = match (env.optional(APP_ID_ENV), env.optional(APP_KEY_SECRET_ENV)) {
            (Some(id), Some(key_secret)) => Credential::App {
                id: id.parse().map_err(|_| EnvError::Invalid {
                    name: APP_ID_ENV.into(),
                    value: id.clone(),
                    why: "expected the GitHub App's numeric id".into(),
                })?,
                key_secret,
            },
            (Some(_), None) => return Err(EnvError::Missing(APP_KEY_SECRET_ENV.into())),
            (None, Some(_)) => return Err(EnvError::Missing(APP_ID_ENV.into())),
            (None, None) => env
                .optional(TOKEN_SECRET_ENV)
                .map_or(Credential::None, Credential::Token),
        };
        let bot = env.or(BOT_LOGIN_ENV, "skiff-bot");
        Ok(ScmSource {
            credential,
            secrets: SecretsCache::new(client::secretsmanager(sdk)),
            api_url: env.or(API_URL_ENV, skiff_scm::GITHUB_API),
            none: Arc::new(NoScm::new(bot.clone())),
            bot,
            current: Mutex::new(None),
        })
    }

    /// The code host for this event.
    pub async fn get(&self) -> PortResult<Arc<dyn Scm>> {
        match self.github().await? {
            Some(gh) => Ok(gh),
            None => Ok(self.none.clone()),
        }
    }

    /// GitHub itself, when credentials are configured.
    pub async fn github(&self) -> PortResult<Option<Arc<GitHubScm>>> {
        let (secret_id, app) = match &self.credential {
            Credential::None => return Ok(None),
            Credential::Token(id) => (id, None),
            Credential::App { id, key_secret } => (key_secret, Some(*id)),
        };
        let secret = self.secrets.get(secret_id).await?;
        if let Some((s, scm)) = &*self.lock()
            && *s == secret
        {
            return Ok(Some(scm.clone()));
        }
        let mut options = match app {
            Some(app_id) => GitHubOptions::app(&self.api_url, app_id, secret.expose()),
            None => GitHubOptions::new(&self.api_url, secret.expose().trim()),
        };
        options.bot_login = Some(self.bot.clone()).filter(|b| !b.is_empty());
        let scm = Arc::new(GitHubScm::connect(options).await?);
        *self.lock() = Some((secret, scm.clone()));
        Ok(Some(scm))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Secret, Arc<GitHubScm>)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Slack webhooks from `SKIFF_SLACK_WEBHOOK_SECRET_ID` (one `URL` or
/// `HOST=URL` per line), when set.
pub struct ChatSource {
    secret_id: Option<String>,
    secrets: SecretsCache,
    current: Mutex<Option<(Secret, Arc<SlackWebhooks>)>>,
}

impl ChatSource {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Self {
        ChatSource {
            secret_id: env.optional(SLACK_SECRET_ENV),
            secrets: SecretsCache::new(client::secretsmanager(sdk)),
            current: Mutex::new(None),
        }
    }

    /// The webhooks for this event; `None` when Slack is not configured.
    pub async fn get(&self) -> PortResult<Option<Arc<dyn Chat>>> {
        let Some(id) = &self.secret_id else {
            return Ok(None);
        };
        let secret = self.secrets.get(id).await?;
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((s, chat)) = &*current
            && *s == secret
        {
            return Ok(Some(chat.clone()));
        }
        let hooks = SlackWebhooks::parse(secret.expose())
            .map_err(|e| PortError::Rejected(format!("secret {id}: {e}").into()))?;
        let hooks = Arc::new(hooks);
        *current = Some((secret, hooks.clone()));
        Ok(Some(hooks))
    }
}

#[cfg(feature = "codecommit")]
/// CodeCommit in the function's own region (CodeCommit jobs name their
/// region as their org; the EventBridge rule only sees this region's): where
/// the reporter writes results.
pub fn codecommit(sdk: &aws_config::SdkConfig) -> Option<skiff_scm::CodeCommitReports> {
    let region = sdk.region()?.to_string();
    Some(skiff_scm::CodeCommitReports::new(
        aws_sdk_codecommit::Client::new(sdk),
        region,
    ))
}

#[cfg(feature = "codecommit")]
/// CodeCommit in the function's own region as the trigger reads it, to plan
/// the events the EventBridge rule of this region delivers.
pub fn codecommit_scm(sdk: &aws_config::SdkConfig) -> Option<skiff_scm::CodeCommitScm> {
    let region = sdk.region()?.to_string();
    Some(skiff_scm::CodeCommitScm::new(
        aws_sdk_codecommit::Client::new(sdk),
        region,
    ))
}
