//! [`Chat`] over Slack incoming webhooks.
//!
//! An incoming webhook's URL is its credential: it never reaches a log line,
//! an error message or `Debug` output, which name the host it is configured
//! for instead.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use skiff_core::ports::{Chat, PortError, PortResult};

/// Prow's default Slack host: jobs that name none use it.
pub const DEFAULT_HOST: &str = "*";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Enough of Slack's answer to say what is wrong (`invalid_payload`,
/// `channel_not_found`).
const MAX_ERROR_BODY: usize = 200;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Slack incoming webhooks, by Prow's host name.
pub struct SlackWebhooks {
    urls: BTreeMap<String, String>,
    client: Client<Https, Full<Bytes>>,
}

impl fmt::Debug for SlackWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackWebhooks")
            .field("hosts", &self.urls.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SlackWebhooks {
    /// From the secret's text: one webhook per line, `URL` (the default host
    /// `*`) or `HOST=URL`; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut urls = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (host, url) = match line.split_once('=') {
                Some((host, url)) if !host.contains("://") => (host.trim(), url.trim()),
                _ => (DEFAULT_HOST, line),
            };
            // The line is a credential: say where it is, never what it holds.
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "Slack webhooks, line {}: expected `URL` or `HOST=URL` with an http(s) URL",
                    i + 1
                ));
            }
            if urls.insert(host.to_owned(), url.to_owned()).is_some() {
                return Err(format!(
                    "Slack webhooks, line {}: host {host:?} is given twice",
                    i + 1
                ));
            }
        }
        if urls.is_empty() {
            return Err("Slack webhooks: no webhook URL given".into());
        }
        Self::new(urls)
    }

    fn new(urls: BTreeMap<String, String>) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(TIMEOUT));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("Slack webhooks: no TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            urls,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// The hosts webhooks are configured for.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.urls.keys().map(String::as_str)
    }
}

#[async_trait]
impl Chat for SlackWebhooks {
    async fn post(&self, host: &str, channel: &str, text: &str) -> PortResult<()> {
        let host = if host.is_empty() { DEFAULT_HOST } else { host };
        let url = self.urls.get(host).ok_or_else(|| {
            PortError::Rejected(format!("no Slack webhook is configured for host {host:?}").into())
        })?;
        let mut body = json!({ "text": text });
        // Legacy webhooks post to the channel named; app webhooks ignore it
        // and post to the channel they were made for.
        if !channel.is_empty() {
            body["channel"] = json!(channel);
        }
        let request = http::Request::post(url.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| {
                PortError::Rejected(
                    format!("the Slack webhook of host {host:?} is not a valid URL").into(),
                )
            })?;
        let what = format!("POST to the Slack webhook of host {host:?}");
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| PortError::Unavailable(format!("{what}: timed out").into()))?
            // The error's text may quote the URL; keep only its kind.
            .map_err(|e| {
                PortError::Unavailable(
                    format!(
                        "{what}: {}",
                        if e.is_connect() {
                            "cannot connect"
                        } else {
                            "request failed"
                        }
                    )
                    .into(),
                )
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let answer: String = String::from_utf8_lossy(&bytes)
            .chars()
            .take(MAX_ERROR_BODY)
            .collect();
        let message = format!("{what}: HTTP {status}: {answer}");
        Err(match status {
            429 | 500..=599 => PortError::Unavailable(message.into()),
            _ => PortError::Rejected(message.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_parse_per_host_and_never_print_their_urls() {
        let hooks = SlackWebhooks::parse(
            "# team hooks\nhttps://hooks.slack.com/services/T0/B0/secret0\nops=https://hooks.slack.com/services/T1/B1/secret1\n",
        )
        .unwrap();
        assert_eq!(hooks.hosts().collect::<Vec<_>>(), ["*", "ops"]);
        let printed = format!("{hooks:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn bad_lines_are_named_by_number_not_content() {
        let e = SlackWebhooks::parse("ops=ftp://secret-thing").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        assert!(SlackWebhooks::parse("\n# nothing\n").is_err());
        let twice = SlackWebhooks::parse("https://a.example/1\nhttps://a.example/2").unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
    }
}
