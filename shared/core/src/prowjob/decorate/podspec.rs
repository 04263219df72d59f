//! Prow's `decorate` (`pkg/pod-utils/decorate/podspec.go`): the pod
//! utilities put around a job's test containers.
//!
//! The pod, in the order Prow builds it:
//! - init containers `clonerefs` (only when there is something to clone), the
//!   user's own, `initupload`, `place-entrypoint`;
//! - each test container runs `/tools/entrypoint`, which runs the original
//!   command and arguments (carried in `ENTRYPOINT_OPTIONS`), writes the
//!   process log and exit-code marker under `/logs`, and enforces the timeout;
//! - `sidecar` last: it waits for every marker, then uploads.
//!
//! Volumes come after the user's: `logs`, `tools`, the blob-storage
//! credentials, then — only when cloning — the clone secrets,
//! `clonerefs-tmp`, the cookie file and `code`. The pod gets no
//! `activeDeadlineSeconds`: entrypoint stops the test and the job fails as
//! Prow's would (marker 127), with the logs still uploaded.
//!
//! Every JSON value is Go's `json.Marshal` of Prow's option structs
//! ([`crate::gojson`], key order from [`super::options`]), so Prow's images
//! read them unchanged and the pod compares byte for byte with Prow's.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1 as core;

use super::options::{
    CLONEREFS_OPTIONS, ClonerefsOptions, ENTRYPOINT_OPTIONS, EntrypointOptions, GcsUploadOptions,
    INITUPLOAD_OPTIONS, InituploadOptions, SIDECAR_OPTIONS, SidecarCensoringOptions,
    SidecarOptions, WrapperOptions,
};
use super::paths::{
    ARTIFACTS_DIR, CLONE_LOG, CLONEREFS_TMP_MOUNT, CODE_MOUNT, COOKIEFILE_MOUNT, CREDENTIALS_FILE,
    ENTRYPOINT_BINARY, GCS_CREDENTIALS_MOUNT, GITHUB_APP_MOUNT, LOGS_MOUNT, OAUTH_MOUNT,
    S3_CREDENTIALS_MOUNT, SSH_KEYS_MOUNT, TOOLS_MOUNT, go_path_join, marker_file, metadata_file,
    process_log, work_dir,
};
use crate::gojson;
use crate::prowjob::jobspec::{JOB_SPEC, JobSpec, JobSpecError, env_for_pod};
use crate::prowjob::{DecorationConfig, ProwJob, Refs, SecretKey};

/// The pod utilities' containers; a job may not use these names.
pub const CLONEREFS_CONTAINER: &str = "clonerefs";
pub const INITUPLOAD_CONTAINER: &str = "initupload";
pub const PLACE_ENTRYPOINT_CONTAINER: &str = "place-entrypoint";
pub const SIDECAR_CONTAINER: &str = "sidecar";
pub const POD_UTILITY_CONTAINERS: [&str; 4] = [
    CLONEREFS_CONTAINER,
    INITUPLOAD_CONTAINER,
    PLACE_ENTRYPOINT_CONTAINER,
    SIDECAR_CONTAINER,
];

/// The volumes decoration adds whatever the config says.
pub const LOGS_VOLUME: &str = "logs";
pub const TOOLS_VOLUME: &str = "tools";
pub const CODE_VOLUME: &str = "code";
pub const GCS_CREDENTIALS_VOLUME: &str = "gcs-credentials";
pub const S3_CREDENTIALS_VOLUME: &str = "s3-credentials";
pub const CLONEREFS_TMP_VOLUME: &str = "clonerefs-tmp";
pub const COOKIEFILE_VOLUME: &str = "cookiefile";
/// An ssh key secret `s` is the volume `ssh-keys-<s>`.
pub const SSH_KEYS_VOLUME_PREFIX: &str = "ssh-keys-";

/// What clonerefs calls itself in the commits it makes (`clonerefs.Default*`).
const GIT_USER_NAME: &str = "ci-robot";
const GIT_USER_EMAIL: &str = "ci-robot@k8s.io";
/// `github.DefaultAPIEndpoint`: decorate always passes an endpoint.
const DEFAULT_GITHUB_API_ENDPOINT: &str = "https://api.github.com";
/// Key and cookie files are readable by their owner only (`u+r`); ssh
/// refuses keys anyone else can read.
const OWNER_READ_ONLY: i32 = 0o400;
const MEMORY: &str = "memory";

/// Decorates `spec`, the job's pod spec after Prow's undecorated steps
/// (restart policy, the lone container named `test`, the service account
/// token), for the job run as `build_id`. A job without a
/// `decoration_config` is left alone.
pub fn decorate(
    spec: &mut core::PodSpec,
    job: &ProwJob,
    build_id: &str,
) -> Result<(), JobSpecError> {
    let Some(dc) = &job.spec.decoration_config else {
        return Ok(());
    };
    let job_spec = JobSpec::new(&job.spec, build_id, &job.metadata.name);
    // Sorted by name, `ARTIFACTS` and `GOPATH` among them (`KubeEnv`).
    let env = env_for_pod(&job_spec)?;
    let encoded_job_spec = env
        .iter()
        .find(|(name, _)| name == JOB_SPEC)
        .map_or_else(|| job_spec.to_json(), |(_, v)| v.clone());

    let logs = mount(LOGS_VOLUME, LOGS_MOUNT);
    let tools = mount(TOOLS_VOLUME, TOOLS_MOUNT);
    let code = mount(CODE_VOLUME, CODE_MOUNT);
    let blob = blob_storage(dc);

    let clone = clone_refs(job, dc, &logs, &code);
    let mut init = spec.init_containers.take().unwrap_or_default();
    if let Some(c) = &clone {
        init.insert(0, c.container.clone());
    }
    init.push(init_upload(
        dc,
        &blob,
        clone.is_some().then_some(&logs),
        &encoded_job_spec,
    ));
    init.push(place_entrypoint(dc, &tools));
    spec.init_containers = Some(init);

    let job_env = env_vars(env);
    for c in &mut spec.containers {
        c.env
            .get_or_insert_with(Vec::new)
            .extend(job_env.iter().cloned());
    }

    // Only the user's secret volumes are censored, and only when asked.
    let censored: BTreeSet<&str> = if dc.censor_secrets == Some(true) {
        spec.volumes
            .iter()
            .flatten()
            .filter(|v| v.secret.is_some())
            .map(|v| v.name.as_str())
            .collect()
    } else {
        BTreeSet::new()
    };
    let single = spec.containers.len() == 1;
    let mut secret_mounts: Vec<core::VolumeMount> = Vec::new();
    let mut wrappers = Vec::with_capacity(spec.containers.len());
    for c in &mut spec.containers {
        let prefix = if single {
            String::new()
        } else {
            c.name.clone()
        };
        wrappers.push(inject_entrypoint(c, dc, &prefix, &logs, &tools));
        for m in c.volume_mounts.iter().flatten() {
            // Prow would mount a secret shared by two test containers twice
            // on the sidecar, which the API server rejects; once is enough.
            if censored.contains(m.name.as_str()) && !secret_mounts.contains(m) {
                secret_mounts.push(m.clone());
            }
        }
    }
    let sidecar = sidecar(dc, &blob, &logs, &encoded_job_spec, secret_mounts, wrappers);

    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    volumes.push(empty_dir(LOGS_VOLUME));
    volumes.push(empty_dir(TOOLS_VOLUME));
    volumes.extend(blob.volumes.iter().cloned());
    if let Some(clone) = clone {
        let dir = work_dir(&clone.refs);
        for c in &mut spec.containers {
            c.working_dir.clone_from(&dir);
            c.volume_mounts
                .get_or_insert_with(Vec::new)
                .push(code.clone());
        }
        volumes.extend(clone.volumes);
        volumes.push(empty_dir(CODE_VOLUME));
    }

    test_resources(&mut spec.containers, dc);
    pod_settings(spec, dc);
    // The sidecar joins last: the test-container settings are not for it.
    spec.containers.push(sidecar);
    Ok(())
}

/// `default_memory_request` for test containers without one, then
/// `set_limit_equals_memory_request`; the utilities keep their own
/// `resources`.
fn test_resources(containers: &mut [core::Container], dc: &DecorationConfig) {
    if let Some(request) = &dc.default_memory_request {
        for c in containers.iter_mut() {
            let requests = c
                .resources
                .get_or_insert_with(Default::default)
                .requests
                .get_or_insert_with(Default::default);
            requests
                .entry(MEMORY.to_string())
                .or_insert_with(|| request.clone());
        }
    }
    if dc.set_limit_equals_memory_request == Some(true) {
        for c in containers.iter_mut() {
            let Some(resources) = c.resources.as_mut() else {
                continue;
            };
            let Some(request) = resources.requests.as_ref().and_then(|r| r.get(MEMORY)) else {
                continue;
            };
            let request = request.clone();
            resources
                .limits
                .get_or_insert_with(Default::default)
                .insert(MEMORY.to_string(), request);
        }
    }
}

/// The pod-wide settings of the config, each only where the job's spec says
/// nothing: security context (always present afterwards), scheduling,
/// termination grace, service account.
fn pod_settings(spec: &mut core::PodSpec, dc: &DecorationConfig) {
    let security = spec.security_context.get_or_insert_with(Default::default);
    if security.run_as_user.is_none() {
        security.run_as_user = dc.run_as_user;
    }
    if security.run_as_group.is_none() {
        security.run_as_group = dc.run_as_group;
    }
    if security.fs_group.is_none() {
        security.fs_group = dc.fs_group;
    }
    if let Some(scheduling) = &dc.scheduling_options {
        if spec.affinity.is_none() {
            spec.affinity.clone_from(&scheduling.affinity);
        }
        if spec.tolerations.is_none() && !scheduling.tolerations.is_empty() {
            spec.tolerations = Some(scheduling.tolerations.clone());
        }
    }
    if spec.termination_grace_period_seconds.is_none()
        && let Some(grace) = dc.grace_period
    {
        // The pod's grace covers stopping the test *and* uploading after it:
        // Prow assumes 80/20, on whole seconds (`int64(d.Seconds()) * 5 / 4`).
        spec.termination_grace_period_seconds = Some(grace.as_nanos() / 1_000_000_000 * 5 / 4);
    }
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
        && let Some(account) = dc
            .default_service_account_name
            .as_deref()
            .filter(|a| !a.is_empty())
    {
        spec.service_account_name = Some(account.to_string());
    }
}

/// The volumes, mounts and upload options for the job's bucket
/// (`BlobStorageOptions`).
struct BlobStorage {
    volumes: Vec<core::Volume>,
    mounts: Vec<core::VolumeMount>,
    options: GcsUploadOptions,
}

/// A credentials secret that is unset or `""` mounts nothing and names no
/// credentials file: the tools then use the pod's own identity (IRSA or EKS
/// Pod Identity on AWS, Workload Identity on GKE).
fn blob_storage(dc: &DecorationConfig) -> BlobStorage {
    let mut out = BlobStorage {
        volumes: Vec::new(),
        mounts: Vec::new(),
        options: upload_options(dc),
    };
    let secrets = [
        (
            &dc.gcs_credentials_secret,
            GCS_CREDENTIALS_VOLUME,
            GCS_CREDENTIALS_MOUNT,
        ),
        (
            &dc.s3_credentials_secret,
            S3_CREDENTIALS_VOLUME,
            S3_CREDENTIALS_MOUNT,
        ),
    ];
    for (secret, volume, path) in secrets {
        let Some(secret) = secret.as_deref().filter(|s| !s.is_empty()) else {
            continue;
        };
        out.volumes
            .push(secret_volume(volume, secret, None, Vec::new()));
        out.mounts.push(mount(volume, path));
        let file = format!("{path}/{CREDENTIALS_FILE}");
        if volume == GCS_CREDENTIALS_VOLUME {
            out.options.gcs_credentials_file = file;
        } else {
            out.options.s3_credentials_file = file;
        }
    }
    out
}

/// `gcsupload.Options` with the job's `gcs_configuration` flattened in.
fn upload_options(dc: &DecorationConfig) -> GcsUploadOptions {
    let g = dc.gcs_configuration.clone().unwrap_or_default();
    GcsUploadOptions {
        bucket: g.bucket,
        path_prefix: g.path_prefix,
        path_strategy: g.path_strategy,
        default_org: g.default_org,
        default_repo: g.default_repo,
        media_types: g.media_types,
        job_url_prefix: g.job_url_prefix,
        local_output_dir: g.local_output_dir,
        compress_file_types: g.compress_file_types,
        ..GcsUploadOptions::default()
    }
}

/// The clonerefs container and what it needs (`CloneRefs`).
struct Cloner {
    container: core::Container,
    /// Main refs, then extra refs: what is cloned, in clone order.
    refs: Vec<Refs>,
    /// Its secrets and scratch space, in Prow's order (before `code`).
    volumes: Vec<core::Volume>,
}

/// `None` with `skip_cloning` or nothing to clone.
fn clone_refs(
    job: &ProwJob,
    dc: &DecorationConfig,
    logs: &core::VolumeMount,
    code: &core::VolumeMount,
) -> Option<Cloner> {
    if dc.skip_cloning == Some(true) {
        return None;
    }
    let refs: Vec<Refs> = job
        .spec
        .refs
        .iter()
        .chain(&job.spec.extra_refs)
        .cloned()
        .collect();
    if refs.is_empty() {
        return None;
    }

    let mut volumes = Vec::new();
    let mut mounts = vec![logs.clone(), code.clone()];
    let mut key_files = Vec::new();
    for secret in &dc.ssh_key_secrets {
        let name = format!("{SSH_KEYS_VOLUME_PREFIX}{secret}");
        let path = go_path_join(&[SSH_KEYS_MOUNT, secret]);
        volumes.push(secret_volume(
            &name,
            secret,
            Some(OWNER_READ_ONLY),
            Vec::new(),
        ));
        mounts.push(read_only(mount(&name, &path)));
        key_files.push(path);
    }
    let mut oauth_token_file = String::new();
    if let Some(secret) = &dc.oauth_token_secret {
        let (volume, m, file) = secret_key_volume(secret, OAUTH_MOUNT);
        volumes.push(volume);
        mounts.push(m);
        oauth_token_file = file;
    }
    let mut github_app_private_key_file = String::new();
    if let Some(secret) = &dc.github_app_private_key_secret {
        let (volume, m, file) = secret_key_volume(secret, GITHUB_APP_MOUNT);
        volumes.push(volume);
        mounts.push(m);
        github_app_private_key_file = file;
    }
    volumes.push(empty_dir(CLONEREFS_TMP_VOLUME));
    mounts.push(mount(CLONEREFS_TMP_VOLUME, CLONEREFS_TMP_MOUNT));
    let mut args = Vec::new();
    let mut cookie_path = String::new();
    if let Some(cookie) = dc.cookiefile_secret.as_deref().filter(|c| !c.is_empty()) {
        // `<secret>/<key>`, or `<secret>` alone when the key has its name.
        let (secret, key) = cookie.split_once('/').unwrap_or((cookie, cookie));
        volumes.push(secret_volume(
            COOKIEFILE_VOLUME,
            secret,
            Some(OWNER_READ_ONLY),
            Vec::new(),
        ));
        mounts.push(read_only(mount(COOKIEFILE_VOLUME, COOKIEFILE_MOUNT)));
        cookie_path = go_path_join(&[COOKIEFILE_MOUNT, key]);
        args.push(format!("--cookiefile={cookie_path}"));
    }

    let github_api_endpoints = if dc.github_api_endpoints.is_empty() {
        vec![DEFAULT_GITHUB_API_ENDPOINT.to_string()]
    } else {
        dc.github_api_endpoints.clone()
    };
    let options = ClonerefsOptions {
        src_root: CODE_MOUNT.to_string(),
        log: CLONE_LOG.to_string(),
        git_user_name: GIT_USER_NAME.to_string(),
        git_user_email: GIT_USER_EMAIL.to_string(),
        git_refs: refs.clone(),
        key_files,
        oauth_token_file,
        host_fingerprints: dc.ssh_host_fingerprints.clone(),
        cookie_path,
        github_api_endpoints,
        github_app_id: dc.github_app_id.clone(),
        github_app_private_key_file,
        ..ClonerefsOptions::default()
    };
    let container = core::Container {
        name: CLONEREFS_CONTAINER.to_string(),
        image: image(dc, |u| &u.clonerefs),
        args: non_empty(args),
        env: Some(vec![env_var(
            CLONEREFS_OPTIONS,
            gojson::to_string(&options),
        )]),
        volume_mounts: Some(mounts),
        resources: dc.resources.as_ref().and_then(|r| r.clonerefs.clone()),
        ..core::Container::default()
    };
    Some(Cloner {
        container,
        refs,
        volumes,
    })
}

/// `initupload`: uploads `started.json` and the clone records. It reads the
/// records only when clonerefs runs (`clone_log`), so only then does it mount
/// the logs volume.
fn init_upload(
    dc: &DecorationConfig,
    blob: &BlobStorage,
    clone_log: Option<&core::VolumeMount>,
    encoded_job_spec: &str,
) -> core::Container {
    let options = InituploadOptions {
        upload: blob.options.clone(),
        log: clone_log.map(|_| CLONE_LOG.to_string()).unwrap_or_default(),
    };
    let mounts: Vec<core::VolumeMount> =
        clone_log.into_iter().chain(&blob.mounts).cloned().collect();
    core::Container {
        name: INITUPLOAD_CONTAINER.to_string(),
        image: image(dc, |u| &u.initupload),
        env: Some(vec![
            env_var(INITUPLOAD_OPTIONS, gojson::to_string(&options)),
            env_var(JOB_SPEC, encoded_job_spec.to_string()),
        ]),
        volume_mounts: non_empty(mounts),
        resources: dc.resources.as_ref().and_then(|r| r.initupload.clone()),
        ..core::Container::default()
    }
}

/// `place-entrypoint`: copies the entrypoint binary onto the tools volume.
fn place_entrypoint(dc: &DecorationConfig, tools: &core::VolumeMount) -> core::Container {
    core::Container {
        name: PLACE_ENTRYPOINT_CONTAINER.to_string(),
        image: image(dc, |u| &u.entrypoint),
        args: Some(vec!["--copy-mode-only".to_string()]),
        volume_mounts: Some(vec![tools.clone()]),
        resources: dc
            .resources
            .as_ref()
            .and_then(|r| r.place_entrypoint.clone()),
        ..core::Container::default()
    }
}

/// Makes entrypoint the container's command (`InjectEntrypoint`) and returns
/// what the sidecar must know about it.
fn inject_entrypoint(
    c: &mut core::Container,
    dc: &DecorationConfig,
    prefix: &str,
    logs: &core::VolumeMount,
    tools: &core::VolumeMount,
) -> WrapperOptions {
    let mut args = c.command.take().unwrap_or_default();
    args.extend(c.args.take().unwrap_or_default());
    let wrapper = WrapperOptions {
        args,
        container_name: c.name.clone(),
        process_log: process_log(prefix),
        marker_file: marker_file(prefix),
        metadata_file: metadata_file(prefix),
    };
    let options = EntrypointOptions {
        timeout: dc.timeout.map_or(0, |d| d.as_nanos()),
        grace_period: dc.grace_period.map_or(0, |d| d.as_nanos()),
        artifact_dir: ARTIFACTS_DIR.to_string(),
        wrapper: wrapper.clone(),
        ..EntrypointOptions::default()
    };
    c.command = Some(vec![ENTRYPOINT_BINARY.to_string()]);
    c.env
        .get_or_insert_with(Vec::new)
        .push(env_var(ENTRYPOINT_OPTIONS, gojson::to_string(&options)));
    c.volume_mounts
        .get_or_insert_with(Vec::new)
        .extend([logs.clone(), tools.clone()]);
    wrapper
}

/// `sidecar`: waits for every test container, censors, uploads.
fn sidecar(
    dc: &DecorationConfig,
    blob: &BlobStorage,
    logs: &core::VolumeMount,
    encoded_job_spec: &str,
    secret_mounts: Vec<core::VolumeMount>,
    entries: Vec<WrapperOptions>,
) -> core::Container {
    let mut gcs_options = blob.options.clone();
    gcs_options.items.push(ARTIFACTS_DIR.to_string());
    let mut censoring_options = SidecarCensoringOptions {
        secret_directories: secret_mounts.iter().map(|m| m.mount_path.clone()).collect(),
        ..SidecarCensoringOptions::default()
    };
    if let Some(c) = &dc.censoring_options {
        censoring_options.censoring_concurrency = c.censoring_concurrency;
        censoring_options.censoring_buffer_size = c.censoring_buffer_size;
        censoring_options
            .include_directories
            .clone_from(&c.include_directories);
        censoring_options
            .exclude_directories
            .clone_from(&c.exclude_directories);
        censoring_options.minimum_secret_length = c.minimum_secret_length;
    }
    let options = SidecarOptions {
        gcs_options,
        entries,
        ignore_interrupts: dc.upload_ignores_interrupts == Some(true),
        censoring_options,
        ..SidecarOptions::default()
    };
    let mut mounts = vec![logs.clone()];
    mounts.extend(blob.mounts.iter().cloned());
    mounts.extend(secret_mounts);
    core::Container {
        name: SIDECAR_CONTAINER.to_string(),
        image: image(dc, |u| &u.sidecar),
        env: Some(vec![
            env_var(JOB_SPEC, encoded_job_spec.to_string()),
            env_var(SIDECAR_OPTIONS, gojson::to_string(&options)),
        ]),
        volume_mounts: Some(mounts),
        termination_message_policy: Some("FallbackToLogsOnError".to_string()),
        resources: dc.resources.as_ref().and_then(|r| r.sidecar.clone()),
        ..core::Container::default()
    }
}

/// A secret with one key mounted read-only, the volume named after the
/// secret (the OAuth token, the GitHub App key); returns the file's path.
fn secret_key_volume(
    secret: &SecretKey,
    mount_path: &str,
) -> (core::Volume, core::VolumeMount, String) {
    let item = core::KeyToPath {
        key: secret.key.clone(),
        path: format!("./{}", secret.key),
        mode: None,
    };
    (
        secret_volume(&secret.name, &secret.name, None, vec![item]),
        read_only(mount(&secret.name, mount_path)),
        go_path_join(&[mount_path, &secret.key]),
    )
}

fn secret_volume(
    name: &str,
    secret: &str,
    default_mode: Option<i32>,
    items: Vec<core::KeyToPath>,
) -> core::Volume {
    core::Volume {
        name: name.to_string(),
        secret: Some(core::SecretVolumeSource {
            secret_name: Some(secret.to_string()),
            default_mode,
            items: non_empty(items),
            optional: None,
        }),
        ..core::Volume::default()
    }
}

fn empty_dir(name: &str) -> core::Volume {
    core::Volume {
        name: name.to_string(),
        empty_dir: Some(core::EmptyDirVolumeSource::default()),
        ..core::Volume::default()
    }
}

fn mount(name: &str, path: &str) -> core::VolumeMount {
    core::VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..core::VolumeMount::default()
    }
}

fn read_only(mut m: core::VolumeMount) -> core::VolumeMount {
    m.read_only = Some(true);
    m
}

fn env_var(name: &str, value: String) -> core::EnvVar {
    core::EnvVar {
        name: name.to_string(),
        value: Some(value),
        value_from: None,
    }
}

fn env_vars(env: Vec<(String, String)>) -> Vec<core::EnvVar> {
    env.into_iter()
        .map(|(name, value)| core::EnvVar {
            name,
            value: Some(value),
            value_from: None,
        })
        .collect()
}

/// A utility image, or none when the config names none: Go's empty string
/// is left out of the pod. Config validation refuses that for decorated
/// jobs; a cluster that runs the utilities natively needs no image.
fn image(
    dc: &DecorationConfig,
    pick: impl Fn(&crate::prowjob::UtilityImages) -> &String,
) -> Option<String> {
    dc.utility_images
        .as_ref()
        .map(pick)
        .filter(|i| !i.is_empty())
        .cloned()
}

/// Go leaves an empty list out of the JSON (`omitempty`).
fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}
