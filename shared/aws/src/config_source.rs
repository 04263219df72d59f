//! The validated config bundle in S3, as `skiff config push` writes it and
//! every function reads it.
//!
//! The bundle is one JSON object:
//!
//! ```json
//! {"format": 3,
//!  "prow": { …normalized config.yaml settings, as `check-config --print` writes them… },
//!  "jobs": {"presubmits": {"org/repo": [{"base": {…}, "fields": {…}, "brancher": {…},
//!            "changes": {…}, "reporter": {…}, "utility": {…}, "decoration": 0}, …]},
//!           "postsubmits": {…}, "periodics": […], "decorate_all_jobs": false},
//!  "decorations": [ …each distinct decoration config once, for "decoration": i… ],
//!  "plugins": { …normalized plugins.yaml… } | null,
//!  "presets": [ …the central presets, for in-repo jobs… ],
//!  "source": {"files": ["config.yaml", "jobs/a.yaml", …], "pushed_at": "2026-…Z"}}
//! ```
//!
//! A function reads it straight into the config model: no YAML, no defaults,
//! no validation at cold start (README "Benchmarks": a quarter of the time
//! loading and validating the test-infra-sized config again took). The push validated it, exactly as `check-config`
//! does, and checked that it reads back; what a function still rejects is a
//! bundle that is not this layout — not JSON, a field of the wrong type, or
//! another `format`. How the jobs are laid out, and why not as `--print`
//! writes them, is in [`wire`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use skiff_core::config::{Config, PluginConfig, Preset, ProwConfig};
use skiff_core::ports::{PortError, PortResult};
use skiff_core::prowjob::DecorationConfig;

use crate::error::port_error;

mod wire;

/// The bundle layout this code writes and reads. 1 was the same JSON, read
/// back through the YAML loader and validated again; 2 is read as it is, so
/// a function refuses a 1 rather than trust what it never checked. 3 nests
/// each job's parts and stores each decoration config once ([`wire`]).
pub const FORMAT: u32 = 3;

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
    /// The normalized config.yaml settings.
    prow: ProwConfig,
    /// The normalized jobs: defaults applied, presets merged, matrices
    /// expanded; their decoration configs are in `decorations`.
    jobs: wire::Jobs,
    decorations: Vec<DecorationConfig>,
    /// The normalized plugins config; `null` when the push had none (which
    /// reads as the defaults).
    pub plugins: Option<PluginConfig>,
    /// The presets of the central config. Its own jobs have them merged
    /// already (so `config` leaves them out, as `--print` does); jobs read
    /// later from a repo's `.prow.yaml` merge them as Prow does.
    pub presets: Vec<Preset>,
    pub source: BundleSource,
}

/// What the bundle was built from, for people reading it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleSource {
    pub files: Vec<String>,
    /// RFC 3339.
    pub pushed_at: String,
}

/// Just the layout number, read when the whole bundle does not parse, to
/// tell another skiff's bundle from a damaged one.
#[derive(Deserialize)]
struct Header {
    format: u32,
}

/// Why a bundle cannot be built or used.
#[derive(Debug)]
pub enum BundleError {
    /// Not JSON, or not the bundle's shape.
    Json(serde_json::Error),
    /// Written by a `skiff` that knows another layout than this one.
    Format(u32),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Json(e) => write!(f, "not a config bundle: {e}"),
            BundleError::Format(n) => write!(
                f,
                "config bundle format {n} was written by {} skiff; this one reads format {FORMAT}: \
                 push the config again with the skiff these functions were built from",
                if *n < FORMAT { "an older" } else { "a newer" }
            ),
        }
    }
}

impl std::error::Error for BundleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BundleError::Json(e) => Some(e),
            BundleError::Format(_) => None,
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
        let plugins = (config.plugins != PluginConfig::default()).then(|| config.plugins.clone());
        let (jobs, decorations) = wire::Jobs::new(&config.jobs).map_err(BundleError::Json)?;
        Ok(Bundle {
            format: FORMAT,
            prow: config.prow.clone(),
            jobs,
            decorations,
            plugins,
            presets: config.jobs.presets.clone(),
            source: BundleSource {
                files,
                pushed_at: pushed_at.to_string(),
            },
        })
    }

    /// Compact: the functions parse every byte at cold start, and
    /// indentation made the test-infra-sized bundle about half whitespace.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec(self).map_err(BundleError::Json)
    }

    /// Reads a stored bundle into the config it holds.
    pub fn load(bytes: &[u8]) -> Result<(Config, BundleSource), BundleError> {
        let bundle: Bundle = match serde_json::from_slice(bytes) {
            Ok(b) => b,
            // Another layout fails on whichever field changed; its number
            // says more than that field's name.
            Err(e) => {
                return Err(match serde_json::from_slice::<Header>(bytes) {
                    Ok(h) if h.format != FORMAT => BundleError::Format(h.format),
                    _ => BundleError::Json(e),
                });
            }
        };
        if bundle.format != FORMAT {
            return Err(BundleError::Format(bundle.format));
        }
        let mut jobs = bundle.jobs.into_config(&bundle.decorations).map_err(|m| {
            BundleError::Json(serde::de::Error::custom(format!(
                "a job refers to decoration config {} of {}",
                m.index, m.len
            )))
        })?;
        jobs.presets = bundle.presets;
        let config = Config {
            prow: bundle.prow,
            jobs,
            plugins: bundle.plugins.unwrap_or_default(),
        };
        Ok((config, bundle.source))
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
/// new bundle does not read: a stale config runs jobs as they ran a
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
    /// The bundle in use: what the deck's health page shows.
    loaded: Mutex<Option<LoadedBundle>>,
}

/// Which bundle a container runs on, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedBundle {
    /// The S3 object's ETag (quotes removed): the bundle's version.
    pub etag: Option<String>,
    /// When `skiff config push` uploaded it (RFC 3339, as the bundle says).
    pub pushed_at: String,
    /// When this container loaded it.
    pub loaded_at: Timestamp,
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
            loaded: Mutex::new(None),
        }
    }

    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck;
        self
    }

    /// The bundle this container runs on, once one loaded.
    pub fn loaded(&self) -> Option<LoadedBundle> {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn note_loaded(&self, etag: Option<&str>, source: &BundleSource, now: Timestamp) {
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(LoadedBundle {
            etag: etag.map(|e| e.trim_matches('"').to_string()),
            pushed_at: source.pushed_at.clone(),
            loaded_at: now,
        });
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
            Fetched::Body { bytes, etag } => match Bundle::load(&bytes) {
                Ok((config, source)) => {
                    tracing::info!(etag = etag.as_deref(), pushed_at = %source.pushed_at, "new config loaded");
                    self.note_loaded(etag.as_deref(), &source, now);
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
        let (config, source) = Bundle::load(&bytes)
            .map_err(|e| PortError::Rejected(format!("{}: {e}", self.origin()).into()))?;
        tracing::info!(etag = etag.as_deref(), pushed_at = %source.pushed_at, "config loaded");
        self.note_loaded(etag.as_deref(), &source, now);
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
    use skiff_core::config::{self, FileRole, SourceFile};

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

    fn json(b: &Bundle) -> serde_json::Value {
        serde_json::from_slice(&b.to_json().unwrap()).unwrap()
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
        let (back, source) = Bundle::load(&bytes).unwrap();
        assert_eq!(back, config);
        assert_eq!(back.plugins, config.plugins);
        assert_eq!(source.files, ["config.yaml"]);
        assert_eq!(source.pushed_at, "1970-01-01T00:00:00Z");
    }

    /// The example deployment uses presets, decoration defaults, tide,
    /// branch protection and the review plugins: every part of the model
    /// must read back as it was written, or a function would run other
    /// jobs than `check-config` showed.
    #[test]
    fn the_example_config_reads_back_field_for_field() {
        let config = loaded(&[
            (
                include_str!("../../../infra/example/config.yaml"),
                FileRole::ProwConfig,
            ),
            (
                include_str!("../../../infra/example/jobs/presets.yaml"),
                FileRole::JobConfig,
            ),
            (
                include_str!("../../../infra/example/jobs/periodics.yaml"),
                FileRole::JobConfig,
            ),
            (
                include_str!("../../../infra/example/jobs/acme/widgets.yaml"),
                FileRole::JobConfig,
            ),
            (
                include_str!("../../../infra/example/jobs/skiff-example/hello.yaml"),
                FileRole::JobConfig,
            ),
            (
                include_str!("../../../infra/example/plugins.yaml"),
                FileRole::PluginConfig,
            ),
        ]);
        assert!(config.jobs.presubmit_count() > 0 && !config.jobs.periodics.is_empty());
        assert!(!config.jobs.presets.is_empty(), "in-repo jobs need them");
        let b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        let (back, _) = Bundle::load(&b.to_json().unwrap()).unwrap();
        assert_eq!(back, config);
        // And it writes out again byte for byte: nothing was lost or added.
        let again = Bundle::new(&back, vec![], Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(again.to_json().unwrap(), b.to_json().unwrap());
    }

    /// Jobs of one repo and cluster share plank's merged decoration
    /// defaults: the bundle stores each distinct config once, and every job
    /// reads back with its own, overrides included.
    #[test]
    fn decoration_configs_are_stored_once_and_read_back_per_job() {
        const DECORATED: &str = "plank:\n  default_decoration_config_entries:\n  - config:\n      timeout: 2h\n      grace_period: 15s\n      utility_images: {clonerefs: c:v1, initupload: i:v1, entrypoint: e:v1, sidecar: s:v1}\n      gcs_configuration: {bucket: s3://logs, path_strategy: explicit}\npresubmits:\n  acme/widgets:\n  - {name: a, always_run: true, decorate: true, spec: {containers: [{image: alpine, command: [make]}]}}\n  - {name: b, always_run: true, decorate: true, spec: {containers: [{image: alpine, command: [make]}]}}\n  - {name: c, always_run: true, decorate: true, decoration_config: {timeout: 3h}, spec: {containers: [{image: alpine, command: [make]}]}}\n  - {name: d, always_run: true, spec: {containers: [{image: alpine}]}}\n";
        let config = loaded(&[(DECORATED, FileRole::ProwConfig)]);
        let b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(b.decorations.len(), 2, "{:#?}", b.decorations);
        let v = json(&b);
        let jobs = &v["jobs"]["presubmits"]["acme/widgets"];
        let refs: Vec<_> = (0..4).map(|i| jobs[i]["decoration"].clone()).collect();
        assert_eq!(
            refs,
            [0.into(), 0.into(), 1.into(), serde_json::Value::Null]
        );
        let (back, _) = Bundle::load(&b.to_json().unwrap()).unwrap();
        assert_eq!(back, config);
        let timeouts: Vec<_> = back.jobs.presubmits["acme/widgets"]
            .iter()
            .map(|j| j.utility.decoration_config.as_ref().map(|d| d.timeout))
            .collect();
        assert_eq!(timeouts[0], timeouts[1]);
        assert_ne!(timeouts[0], timeouts[2]);
        assert_eq!(timeouts[3], None);
    }

    #[test]
    fn no_plugins_is_null() {
        let config = loaded(&[(CONFIG, FileRole::ProwConfig)]);
        let b = Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(b.plugins, None);
        assert_eq!(json(&b)["plugins"], serde_json::Value::Null);
        let (back, _) = Bundle::load(&b.to_json().unwrap()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn a_bundle_a_function_cannot_use_is_refused_saying_why() {
        let config = loaded(&[(CONFIG, FileRole::ProwConfig)]);
        let good = json(&Bundle::new(&config, vec![], Timestamp::UNIX_EPOCH).unwrap());
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                // Format 1 had the same fields; its config was never
                // meant to be trusted without validating it again.
                "an older skiff's bundle",
                edit(&|v| v["format"] = 1.into()),
                "config bundle format 1 was written by an older skiff; this one reads format 3",
            ),
            (
                // Format 2 stored the jobs as `--print` writes them.
                "a format 2 bundle",
                br#"{"format": 2, "config": {"periodics": []}, "plugins": null, "presets": [],
                    "source": {"files": [], "pushed_at": "1970-01-01T00:00:00Z"}}"#
                    .to_vec(),
                "config bundle format 2 was written by an older skiff; this one reads format 3",
            ),
            (
                "a newer skiff's bundle, whatever its fields",
                br#"{"format": 4, "config": [1, 2], "sections": {}}"#.to_vec(),
                "config bundle format 4 was written by a newer skiff",
            ),
            (
                "a field of the wrong type, located",
                edit(&|v| v["jobs"]["periodics"][0]["base"]["max_concurrency"] = "many".into()),
                "not a config bundle: invalid type: string \"many\", expected i64 at line 1 column",
            ),
            (
                "a job naming a decoration config the bundle does not have",
                edit(&|v| v["jobs"]["periodics"][0]["decoration"] = 7.into()),
                "not a config bundle: a job refers to decoration config 7 of 0",
            ),
            (
                "no format",
                br#"{"config": {}}"#.to_vec(),
                "not a config bundle: missing field `format`",
            ),
            (
                "not JSON",
                b"not json".to_vec(),
                "not a config bundle: expected",
            ),
        ];
        for (what, bytes, want) in cases {
            match Bundle::load(&bytes) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => assert!(
                    e.to_string().starts_with(want),
                    "{what}: {e} (wanted {want:?}…)"
                ),
            }
        }
    }
}
