//! The code host for the trigger and the reporter: GitHub with a token from
//! Secrets Manager, or — with no token configured — the logging no-SCM that
//! reports nothing and trusts nobody.
//!
//! The token is read through the per-container secrets cache; when a rotation
//! changes it, the client is rebuilt on the next event.

use std::sync::{Arc, Mutex, PoisonError};

use skiff_aws::client;
use skiff_aws::secrets::{Secret, SecretsCache};
use skiff_core::ports::{PortResult, Scm};
use skiff_scm::{GitHubOptions, GitHubScm, NoScm};

use crate::env::Env;

pub const TOKEN_SECRET_ENV: &str = "SKIFF_GITHUB_TOKEN_SECRET_ID";
pub const API_URL_ENV: &str = "SKIFF_GITHUB_API_URL";
pub const BOT_LOGIN_ENV: &str = "SKIFF_BOT_LOGIN";

/// Where the code host comes from.
pub struct ScmSource {
    token: Option<(SecretsCache, String)>,
    api_url: String,
    bot: String,
    current: Mutex<Option<(Secret, Arc<dyn Scm>)>>,
    none: Arc<dyn Scm>,
}

impl ScmSource {
    /// From `SKIFF_GITHUB_TOKEN_SECRET_ID` (optional), `SKIFF_GITHUB_API_URL`
    /// (default GitHub.com) and `SKIFF_BOT_LOGIN` (default `skiff-bot`).
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Self {
        let bot = env.or(BOT_LOGIN_ENV, "skiff-bot");
        ScmSource {
            token: env
                .optional(TOKEN_SECRET_ENV)
                .map(|id| (SecretsCache::new(client::secretsmanager(sdk)), id)),
            api_url: env.or(API_URL_ENV, skiff_scm::GITHUB_API),
            none: Arc::new(NoScm::new(bot.clone())),
            bot,
            current: Mutex::new(None),
        }
    }

    /// The code host for this event.
    pub async fn get(&self) -> PortResult<Arc<dyn Scm>> {
        let Some((secrets, id)) = &self.token else {
            return Ok(self.none.clone());
        };
        let token = secrets.get(id).await?;
        if let Some((t, scm)) = &*self.lock()
            && *t == token
        {
            return Ok(scm.clone());
        }
        let mut options = GitHubOptions::new(&self.api_url, token.expose().trim());
        options.bot_login = Some(self.bot.clone());
        let scm: Arc<dyn Scm> = Arc::new(GitHubScm::connect(options).await?);
        *self.lock() = Some((token, scm.clone()));
        Ok(scm)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Secret, Arc<dyn Scm>)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
