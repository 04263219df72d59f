//! The validated config bundle in S3, as `skiff config push` writes it and
//! every function reads it.
//!
//! The bundle is one JSON object:
//!
//! ```json
//! {"format": 1,
//!  "config": { …normalized config, as `skiff check-config --print` writes it… },
//!  "plugins": { …normalized plugins.yaml… } | null,
//!  "source": {"files": ["config.yaml", "jobs/a.yaml", …], "pushed_at": "2026-…Z"}}
//! ```
//!
//! Reading it back goes through [`skiff_core::config::load`] again (the
//! config as a `config.yaml`, the plugins as a `plugins.yaml`) rather than a
//! `Deserialize` of the model: there is one parser and one validator, and a
//! bundle edited by hand or written by an older `skiff` is checked exactly as
//! a push would have checked it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use skiff_core::config::{self, Config, FileRole, SourceFile};
use skiff_core::diagnostics::{Diagnostic, Severity};
use skiff_core::ports::{PortError, PortResult};

use crate::error::port_error;

/// The bundle layout this code writes and reads.
pub const FORMAT: u32 = 1;

/// Where `skiff config push` puts the bundle unless told otherwise.
pub const DEFAULT_KEY: &str = "config/bundle.json";

/// How long a warm container trusts its cached config before asking S3
/// whether it changed: a push reaches every function within this long, and
/// an idle function costs no requests at all.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(30);

/// The bundle as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: u32,
    /// The normalized config (prow settings and jobs), loadable as a
    /// `config.yaml`.
    pub config: serde_json::Value,
    /// The normalized plugins config, loadable as a `plugins.yaml`; `null`
    /// when the push had none (which loads as the defaults).
    pub plugins: Option<serde_json::Value>,
    pub source: BundleSource,
}

/// What the bundle was built from, for people reading it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleSource {
    pub files: Vec<String>,
    /// RFC 3339.
    pub pushed_at: String,
}

/// Why a bundle cannot be built or used.
#[derive(Debug)]
pub enum BundleError {
    /// Not JSON, or not the bundle's shape.
    Json(serde_json::Error),
    /// Written by a `skiff` that knows a layout this one does not.
    Format(u32),
    /// The config inside does not validate; every error, located.
    Invalid(Vec<Diagnostic>),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Json(e) => write!(f, "not a config bundle: {e}"),
            BundleError::Format(n) => write!(
                f,
                "config bundle format {n} is not supported (this skiff reads format {FORMAT})"
            ),
            BundleError::Invalid(errors) => {
                write!(f, "config bundle is invalid: {} error(s)", errors.len())?;
                for d in errors {
                    write!(f, "\n{d}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BundleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BundleError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl Bundle {
    /// The bundle for a config that has already been loaded and validated.
    /// `files` are the paths it came from.
    pub fn new(
        config: &Config,
        files: Vec<String>,
        pushed_at: Timestamp,
    ) -> Result<Self, BundleError> {
        let plugins = if config.plugins == Default::default() {
            None
        } else {
            Some(serde_json::to_value(&config.plugins).map_err(BundleError::Json)?)
        };
        Ok(Bundle {
            format: FORMAT,
            config: serde_json::to_value(config).map_err(BundleError::Json)?,
            plugins,
            source: BundleSource {
                files,
                pushed_at: pushed_at.to_string(),
            },
        })
    }

    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec_pretty(self).map_err(BundleError::Json)
    }

    /// Parses and validates a stored bundle. `origin` (say `s3://b/k`) names
    /// the parts in diagnostics: `s3://b/k#config:12:3: error: …`.
    pub fn load(bytes: &[u8], origin: &str) -> Result<(Config, BundleSource), BundleError> {
        let bundle: Bundle = serde_json::from_slice(bytes).map_err(BundleError::Json)?;
        if bundle.format != FORMAT {
            return Err(BundleError::Format(bundle.format));
        }
        // Pretty, so a diagnostic's line number points somewhere readable.
        let text =
            |v: &serde_json::Value| serde_json::to_string_pretty(v).map_err(BundleError::Json);
        let mut files = vec![SourceFile {
            path: format!("{origin}#config"),
            text: text(&bundle.config)?,
            role: FileRole::ProwConfig,
        }];
        if let Some(plugins) = &bundle.plugins {
            files.push(SourceFile {
                path: format!("{origin}#plugins"),
                text: text(plugins)?,
                role: FileRole::PluginConfig,
            });
        }
        let loaded = config::load(&files);
        if loaded.has_errors() {
            return Err(BundleError::Invalid(
                loaded
                    .diagnostics
                    .into_iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect(),
            ));
        }
        Ok((loaded.config, bundle.source))
    }
}

/// An S3 client for the config bucket. An endpoint override
/// (`AWS_ENDPOINT_URL`) means moto, LocalStack or MinIO, reached by an IP or a
/// host without per-bucket subdomains, so requests go path-style there.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Uploads bundle bytes; returns the new object's ETag (quotes included, as
/// S3 sends it).
#[tracing::instrument(skip(client, bundle), fields(len = bundle.len()))]
pub async fn push(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bundle: Vec<u8>,
) -> PortResult<String> {
    let out = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(bundle))
        .send()
        .await
        .map_err(|e| port_error(&format!("PutObject s3://{bucket}/{key}"), e))?;
    out.e_tag().map(str::to_string).ok_or_else(|| {
        PortError::Unavailable(format!("PutObject s3://{bucket}/{key}: no ETag").into())
    })
}

/// The config for one container: fetched on first use, then re-checked at
/// most every `recheck` with a conditional GET.
///
/// A container keeps serving the config it has when S3 is unreachable or the
/// new bundle does not validate: a stale config runs jobs as they ran a
/// minute ago, a broken one would not run them at all.
#[derive(Debug)]
pub struct S3ConfigSource {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    recheck: Duration,
    // A plain mutex, never held across an await: a Lambda container serves
    // one invocation at a time, so two concurrent refreshes (harmless, the
    // later one wins) are rare even outside Lambda.
    state: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    config: Arc<Config>,
    /// The ETag of the object last looked at, good or rejected, so a broken
    /// bundle is downloaded and reported once, not on every re-check.
    etag: Option<String>,
    checked_at: Timestamp,
}

enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
}

impl S3ConfigSource {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, key: String) -> Self {
        S3ConfigSource {
            client,
            bucket,
            key,
            recheck: DEFAULT_RECHECK,
            state: Mutex::new(None),
        }
    }

    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck;
        self
    }

    fn origin(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The state is replaced whole under the lock, so a panic elsewhere
        // cannot have left it half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The config to use at `now` (the handler's clock).
    ///
    /// AWS calls: none while the cached config is younger than `recheck`;
    /// otherwise one GetObject, conditional on the last ETag once there is
    /// one (a 304 carries no body). The first call fails if there is no
    /// valid bundle yet; later calls fall back to the cached config.
    #[tracing::instrument(skip(self), fields(bucket = %self.bucket, key = %self.key))]
    pub async fn current(&self, now: Timestamp) -> PortResult<Arc<Config>> {
        let (cached, etag) = {
            let state = self.lock();
            match &*state {
                Some(c) if !self.due(c.checked_at, now) => return Ok(c.config.clone()),
                Some(c) => (Some(c.config.clone()), c.etag.clone()),
                None => (None, None),
            }
        };
        let Some(cached) = cached else {
            return self.cold_start(now).await;
        };
        let fetched = match self.fetch(etag.as_deref()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "config re-check failed; keeping the cached config");
                self.store(cached.clone(), etag, now);
                return Ok(cached);
            }
        };
        match fetched {
            Fetched::NotModified => {
                self.store(cached.clone(), etag, now);
                Ok(cached)
            }
            Fetched::Body { bytes, etag } => match Bundle::load(&bytes, &self.origin()) {
                Ok((config, source)) => {
                    tracing::info!(etag = etag.as_deref(), pushed_at = %source.pushed_at, "new config loaded");
                    let config = Arc::new(config);
                    self.store(config.clone(), etag, now);
                    Ok(config)
                }
                Err(e) => {
                    tracing::error!(etag = etag.as_deref(), error = %e, "new config bundle rejected; keeping the previous config");
                    self.store(cached.clone(), etag, now);
                    Ok(cached)
                }
            },
        }
    }

    async fn cold_start(&self, now: Timestamp) -> PortResult<Arc<Config>> {
        let Fetched::Body { bytes, etag } = self.fetch(None).await? else {
            return Err(PortError::Unavailable(
                format!(
                    "GetObject {}: 304 to an unconditional request",
                    self.origin()
                )
                .into(),
            ));
        };
        let (config, source) = Bundle::load(&bytes, &self.origin())
            .map_err(|e| PortError::Rejected(format!("{}: {e}", self.origin()).into()))?;
        tracing::info!(etag = etag.as_deref(), pushed_at = %source.pushed_at, "config loaded");
        let config = Arc::new(config);
        self.store(config.clone(), etag, now);
        Ok(config)
    }

    fn due(&self, checked_at: Timestamp, now: Timestamp) -> bool {
        let recheck = SignedDuration::try_from(self.recheck).unwrap_or(SignedDuration::MAX);
        // abs: a clock stepped backwards must not postpone re-checks forever.
        now.duration_since(checked_at).abs() >= recheck
    }

    fn store(&self, config: Arc<Config>, etag: Option<String>, now: Timestamp) {
        *self.lock() = Some(Cached {
            config,
            etag,
            checked_at: now,
        });
    }

    /// GetObject, with If-None-Match when there is an ETag. S3 and moto
    /// (5.x, checked in its GetObject handler) both answer 304 Not Modified
    /// with no body, so no HeadObject fallback is needed.
    async fn fetch(&self, etag: Option<&str>) -> PortResult<Fetched> {
        let origin = self.origin();
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_if_none_match(etag.map(str::to_string))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            // The SDK models no 304 and reports it as an error (a service
            // error or, with an unparseable body, a response error).
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                return Ok(Fetched::NotModified);
            }
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Err(PortError::NotFound(
                    format!("{origin}: no config bundle (run `skiff config push`)").into(),
                ));
            }
            Err(e) => return Err(port_error(&format!("GetObject {origin}"), e)),
        };
        let etag = out.e_tag().map(str::to_string);
        let bytes = out.body.collect().await.map_err(|e| {
            PortError::Unavailable(format!("GetObject {origin}: reading the body: {e}").into())
        })?;
        Ok(Fetched::Body {
            bytes: bytes.into_bytes().to_vec(),
            etag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "periodics:\n- name: nightly\n  cron: '0 2 * * *'\n  spec:\n    containers:\n    - image: alpine\n";
    const PLUGINS: &str = "triggers:\n- repos: [acme]\n  trusted_apps: [bot]\n";

    fn loaded(files: &[(&str, FileRole)]) -> Config {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(text, role)| SourceFile {
                path: "t.yaml".into(),
                text: (*text).into(),
                role: *role,
            })
            .collect();
        let l = config::load(&files);
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    #[test]
    fn a_bundle_loads_back_to_the_same_config_and_plugins() {
        let config = loaded(&[
            (CONFIG, FileRole::ProwConfig),
            (PLUGINS, FileRole::PluginConfig),
        ]);
        assert!(!config.plugins.triggers.is_empty());
        let bytes = Bundle::new(&config, vec!["config.yaml".into()], Timestamp::UNIX_EPOCH)
            .unwrap()
            .to_json()
            .unwrap();
        let (back, source) = Bundle::load(&bytes, "mem").unwrap();
        assert_eq!(back, config);
        assert_eq!(back.plugins, config.plugins);
        assert_eq!(source.files, ["config.yaml"]);
        assert_eq!(source.pushed_at, "1970-01-01T00:00:00Z");
    }

    #[test]
    fn no_plugins_is_null() {
        let config = loaded(&[(CONFIG, FileRole::ProwConfig)]);
        let b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(b.plugins, None);
        let (back, _) = Bundle::load(&b.to_json().unwrap(), "mem").unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn an_invalid_config_inside_a_bundle_is_rejected_with_located_errors() {
        let config = loaded(&[(CONFIG, FileRole::ProwConfig)]);
        let mut b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        b.config["periodics"][0]["cron"] = "61 * * * *".into();
        match Bundle::load(&b.to_json().unwrap(), "s3://b/k") {
            Err(BundleError::Invalid(errors)) => {
                assert!(!errors.is_empty());
                assert!(
                    errors.iter().all(|d| d.file == "s3://b/k#config"),
                    "{errors:?}"
                );
                assert!(
                    errors.iter().any(|d| d.field.contains("cron")),
                    "{errors:?}"
                );
            }
            other => panic!("accepted or wrong error: {other:?}"),
        }
    }

    #[test]
    fn unknown_formats_and_non_bundles_are_rejected() {
        let config = loaded(&[(CONFIG, FileRole::ProwConfig)]);
        let mut b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        b.format = 2;
        assert!(matches!(
            Bundle::load(&b.to_json().unwrap(), "m"),
            Err(BundleError::Format(2))
        ));
        assert!(matches!(
            Bundle::load(b"{\"config\": {}}", "m"),
            Err(BundleError::Json(_))
        ));
        assert!(matches!(
            Bundle::load(b"not json", "m"),
            Err(BundleError::Json(_))
        ));
    }
}
