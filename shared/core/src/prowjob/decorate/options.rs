//! The pod utilities' options, as Prow's tools read them from their
//! environment (`CLONEREFS_OPTIONS`, `INITUPLOAD_OPTIONS`,
//! `ENTRYPOINT_OPTIONS`, `SIDECAR_OPTIONS`), and the records they write
//! (`clone-records.json`). Keys come in Go's struct order (serde writes
//! fields in declaration order) and empty values are left out where Go's
//! `omitempty` leaves them out, so the JSON is byte for byte what Prow's
//! `decorate` produces. Durations are Go's `time.Duration`: integer
//! nanoseconds.
//!
//! Sources: `pkg/clonerefs/options.go`, `pkg/gcsupload/options.go` (which
//! embeds `GCSConfiguration` and `StorageClientOptions`),
//! `pkg/initupload/options.go`, `pkg/entrypoint/options.go`,
//! `pkg/pod-utils/wrapper/options.go`, `pkg/sidecar/options.go`,
//! `pkg/pod-utils/clone/types.go`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prowjob::Refs;

/// The variable each tool reads its options from.
pub const CLONEREFS_OPTIONS: &str = "CLONEREFS_OPTIONS";
pub const INITUPLOAD_OPTIONS: &str = "INITUPLOAD_OPTIONS";
pub const ENTRYPOINT_OPTIONS: &str = "ENTRYPOINT_OPTIONS";
pub const SIDECAR_OPTIONS: &str = "SIDECAR_OPTIONS";

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `clonerefs`' options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClonerefsOptions {
    /// Everything is cloned under `<src_root>/src/`.
    pub src_root: String,
    /// Where the clone records go (`/logs/clone.json`).
    pub log: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_user_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_user_email: String,
    /// Main refs first, then extra refs.
    #[serde(rename = "refs", default)]
    pub git_refs: Vec<Refs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_files: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub oauth_token_file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_fingerprints: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_parallel_workers: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub fail: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cookie_path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_api_endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub github_app_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub github_app_private_key_file: String,
}

/// Where an upload lands and how (`gcsupload.Options`): the job's
/// `gcs_configuration` flattened in, plus the credentials files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GcsUploadOptions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_dir: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_strategy: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_org: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_repo: String,
    /// Go spells this one in camelCase.
    #[serde(
        rename = "mediaTypes",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub media_types: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_url_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub local_output_dir: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compress_file_types: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gcs_credentials_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub s3_credentials_file: String,
    /// Always written, `false` included.
    #[serde(default)]
    pub dry_run: bool,
}

/// `initupload`'s options: an upload, and the clone records to read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InituploadOptions {
    #[serde(flatten)]
    pub upload: GcsUploadOptions,
    /// The clone records (`/logs/clone.json`); only when clonerefs runs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log: String,
}

/// What `entrypoint` and `sidecar` agree on about one test container
/// (`wrapper.Options`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WrapperOptions {
    /// The test's command and arguments, joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container_name: String,
    /// Where the test's stdout and stderr go.
    pub process_log: String,
    /// The exit code, written when the test ends.
    pub marker_file: String,
    /// JSON the test may write; merged into `finished.json`'s metadata.
    pub metadata_file: String,
}

/// `entrypoint`'s options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntrypointOptions {
    /// Nanoseconds; 0 means entrypoint's default (2h).
    #[serde(default)]
    pub timeout: i64,
    /// Nanoseconds between SIGINT and SIGKILL; 0 means 15s.
    #[serde(default)]
    pub grace_period: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_dir: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub previous_marker: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub always_zero: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub propagate_error_code: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub copy_mode_only: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub copy_dst: String,
    #[serde(flatten)]
    pub wrapper: WrapperOptions,
}

/// Censoring in the sidecar (`sidecar.CensoringOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SidecarCensoringOptions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_directories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_concurrency: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_buffer_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_directories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_directories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ini_filenames: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_secret_length: Option<i64>,
}

/// `sidecar`'s options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SidecarOptions {
    pub gcs_options: GcsUploadOptions,
    /// One per test container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<WrapperOptions>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub entry_error: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_interrupts: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub write_memory_profile: bool,
    /// Always written (`{}` at least): censoring always runs.
    #[serde(default)]
    pub censoring_options: SidecarCensoringOptions,
}

/// One entry of `clone-records.json`: what cloning one ref did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloneRecord {
    pub refs: Refs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CloneCommand>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// `git rev-parse HEAD` after the merges.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub final_sha: String,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duration: i64,
}

/// One command a clone ran: `PWD=<dir> <env…> git <args…>`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloneCommand {
    pub command: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duration: i64,
}
