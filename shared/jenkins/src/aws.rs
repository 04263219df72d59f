//! The Lambdas' Jenkins clients: tokens from Secrets Manager
//! (`token_secret_arn`), cached per container by [`SecretsCache`] so a
//! rotated token reaches every container within its TTL.

use std::sync::Arc;

use async_trait::async_trait;
use skiff_aws::secrets::SecretsCache;
use skiff_core::config::Config;
use skiff_core::config::prow::JenkinsMaster;
use skiff_core::ports::PortResult;
use skiff_core::run::jenkins::JenkinsMasters;

use crate::{JenkinsClient, Options, Token, TokenSource, auth_for};

/// A token kept in Secrets Manager (a trailing newline is not part of it).
pub struct SecretToken {
    secrets: Arc<SecretsCache>,
    secret_id: String,
}

#[async_trait]
impl TokenSource for SecretToken {
    async fn token(&self) -> PortResult<Token> {
        let secret = self.secrets.get(&self.secret_id).await?;
        Ok(Token::from_file_text(secret.expose()))
    }
}

/// The client of one `skiff.jenkins` entry on AWS.
pub fn client_for(
    entry: &JenkinsMaster,
    secrets: &Arc<SecretsCache>,
) -> Result<JenkinsClient, String> {
    if !entry.token_file.is_empty() {
        return Err(format!(
            "Jenkins {}: token_file is read by skiff dev only; on AWS give token_secret_arn",
            entry.url
        ));
    }
    let token: Option<Arc<dyn TokenSource>> = (!entry.token_secret_arn.is_empty()).then(|| {
        Arc::new(SecretToken {
            secrets: secrets.clone(),
            secret_id: entry.token_secret_arn.clone(),
        }) as Arc<dyn TokenSource>
    });
    let mut options = Options::new(&entry.url, auth_for(entry, token));
    options.insecure_skip_verify = entry.insecure_skip_verify;
    JenkinsClient::new(options)
}

/// Every `skiff.jenkins` entry's client, by its operator's label selector.
/// An entry that cannot be built is logged and left out: its jobs end with
/// "no Jenkins" while the others run.
pub fn masters(config: &Config, secrets: &Arc<SecretsCache>) -> JenkinsMasters {
    let mut out = JenkinsMasters::new();
    for entry in &config.prow.skiff.jenkins {
        match client_for(entry, secrets) {
            Ok(client) => {
                out.insert(entry.label_selector.clone(), Arc::new(client));
            }
            Err(e) => tracing::error!(jenkins = %entry.url, error = %e, "cannot use this Jenkins"),
        }
    }
    out
}
