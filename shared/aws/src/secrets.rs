//! Secrets from AWS Secrets Manager, cached per container.
//!
//! A warm Lambda container reuses what it fetched for `ttl`, so a burst of
//! webhooks costs one GetSecretValue, and a rotated secret reaches every
//! container within `ttl`. Values live in [`Secret`], which never prints
//! them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use jiff::{SignedDuration, Timestamp};
use skiff_core::ports::{PortError, PortResult};

use crate::error::port_error;

/// Long enough that a busy container rarely calls Secrets Manager (billed per
/// 10 000 calls), short enough that a rotation lands within minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// A secret value. `Debug` shows `Secret(***)`; there is no `Display`, so
/// logging one takes an explicit [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (an HMAC key, a token
    /// header). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as several secrets, one per non-blank line, surrounding
    /// whitespace trimmed. A webhook secret is rotated by storing old and new
    /// on two lines: a signature made with either verifies until the old
    /// line is removed.
    pub fn lines(&self) -> Vec<Secret> {
        self.0
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(Secret::new)
            .collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Secrets by id (name or ARN), each fetched at most once per `ttl`.
#[derive(Debug)]
pub struct SecretsCache {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    // Never held across an await; see S3ConfigSource for why a plain mutex.
    cache: Mutex<HashMap<String, (Secret, Timestamp)>>,
}

impl SecretsCache {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsCache {
            client,
            ttl: DEFAULT_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The secret's current value (AWSCURRENT). AWS calls: none when cached
    /// within `ttl`, else one GetSecretValue.
    pub async fn get(&self, secret_id: &str) -> PortResult<Secret> {
        self.get_at(secret_id, Timestamp::now()).await
    }

    /// [`get`](Self::get) at a given time, for handlers driven by a clock.
    #[tracing::instrument(skip(self))]
    pub async fn get_at(&self, secret_id: &str, now: Timestamp) -> PortResult<Secret> {
        let ttl = SignedDuration::try_from(self.ttl).unwrap_or(SignedDuration::MAX);
        if let Some((secret, at)) = self.lock().get(secret_id) {
            // abs: a clock stepped backwards must not pin a value forever.
            if now.duration_since(*at).abs() < ttl {
                return Ok(secret.clone());
            }
        }
        let secret = self.fetch(secret_id).await?;
        self.lock()
            .insert(secret_id.to_string(), (secret.clone(), now));
        Ok(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Secret, Timestamp)>> {
        // Entries are inserted whole; a poisoned map is still consistent.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn fetch(&self, secret_id: &str) -> PortResult<Secret> {
        let out = match self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                return Err(PortError::NotFound(format!("secret {secret_id}").into()));
            }
            Err(e) => return Err(port_error(&format!("GetSecretValue {secret_id}"), e)),
        };
        if let Some(s) = out.secret_string() {
            return Ok(Secret::new(s));
        }
        match out.secret_binary() {
            Some(b) => String::from_utf8(b.as_ref().to_vec())
                .map(Secret)
                // The error would quote the bytes; name only the secret.
                .map_err(|_| {
                    PortError::Rejected(
                        format!("secret {secret_id}: binary value is not UTF-8").into(),
                    )
                }),
            None => Err(PortError::Rejected(
                format!("secret {secret_id} has no value").into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", vec![s.clone()]), "[Secret(***)]");
        assert_eq!(format!("{:#?}", Some(s)), "Some(\n    Secret(***),\n)");
    }

    #[test]
    fn a_rotating_webhook_secret_splits_into_one_per_line() {
        let cases: &[(&str, &[&str])] = &[
            ("only", &["only"]),
            ("new\nold\n", &["new", "old"]),
            ("  new  \r\n\n\told\n\n", &["new", "old"]),
            ("\n \n", &[]),
        ];
        for (value, want) in cases {
            let got: Vec<String> = Secret::new(*value)
                .lines()
                .iter()
                .map(|s| s.expose().to_string())
                .collect();
            assert_eq!(got, *want, "{value:?}");
        }
    }
}
