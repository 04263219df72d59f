//! The rules of Prow's `decorate`, one table per rule. The whole pod is
//! pinned in `shared/kube/tests/golden.rs`; these say which rule a
//! difference breaks.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::options::{ClonerefsOptions, EntrypointOptions, InituploadOptions, SidecarOptions};
use crate::duration::GoDuration;
use crate::prowjob::pod::pod_request;
use crate::prowjob::{
    CensoringOptions, DecorationConfig, GcsConfiguration, KUBERNETES_AGENT, ProwJob, ProwJobSpec,
    ProwJobType, Pull, Refs, Resources, SchedulingOptions, SecretKey, UtilityImages,
};

const BUILD: &str = "1823456789012345678";

fn config() -> DecorationConfig {
    DecorationConfig {
        timeout: Some(GoDuration::from_hours(2)),
        grace_period: Some(GoDuration::from_secs(10)),
        utility_images: Some(UtilityImages {
            clonerefs: "clonerefs:tag".into(),
            initupload: "initupload:tag".into(),
            entrypoint: "entrypoint:tag".into(),
            sidecar: "sidecar:tag".into(),
        }),
        gcs_configuration: Some(GcsConfiguration {
            bucket: "s3://logs".into(),
            path_strategy: "explicit".into(),
            ..GcsConfiguration::default()
        }),
        ..DecorationConfig::default()
    }
}

fn refs(org: &str, repo: &str) -> Refs {
    Refs {
        org: org.into(),
        repo: repo.into(),
        base_ref: "main".into(),
        base_sha: "abc".into(),
        ..Refs::default()
    }
}

fn container(name: &str) -> core::Container {
    core::Container {
        name: name.into(),
        image: Some("golang:1.23".into()),
        command: Some(vec!["make".into()]),
        args: Some(vec!["test".into()]),
        ..core::Container::default()
    }
}

/// A periodic (so no pulls are needed) with `extra_refs` to clone.
fn periodic(dc: DecorationConfig, extra_refs: Vec<Refs>, spec: core::PodSpec) -> ProwJob {
    let mut pj = ProwJob::default();
    pj.metadata.name = "job-id".into();
    pj.spec = ProwJobSpec {
        r#type: Some(ProwJobType::Periodic),
        agent: KUBERNETES_AGENT.into(),
        job: "ci-widgets".into(),
        extra_refs,
        decoration_config: Some(dc),
        pod_spec: Some(spec),
        ..ProwJobSpec::default()
    };
    pj
}

fn one_container() -> core::PodSpec {
    core::PodSpec {
        containers: vec![container("main")],
        ..core::PodSpec::default()
    }
}

fn decorated(pj: &ProwJob) -> core::PodSpec {
    pod_request(pj, BUILD, "test-pods").unwrap().spec
}

fn names(cs: &[core::Container]) -> Vec<&str> {
    cs.iter().map(|c| c.name.as_str()).collect()
}

fn init_names(spec: &core::PodSpec) -> Vec<&str> {
    names(spec.init_containers.as_deref().unwrap_or_default())
}

fn find<'a>(spec: &'a core::PodSpec, name: &str) -> &'a core::Container {
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn env<'a>(c: &'a core::Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_deref())
}

fn options<T: serde::de::DeserializeOwned>(c: &core::Container, name: &str) -> T {
    let raw = env(c, name).unwrap_or_else(|| panic!("{}: no {name}", c.name));
    serde_json::from_str(raw).unwrap()
}

fn volume_names(spec: &core::PodSpec) -> Vec<&str> {
    spec.volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect()
}

fn mounts(c: &core::Container) -> Vec<(&str, &str)> {
    c.volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect()
}

#[test]
fn init_containers_are_clonerefs_the_users_initupload_place_entrypoint_and_sidecar_is_last() {
    let skip = DecorationConfig {
        skip_cloning: Some(true),
        ..config()
    };
    let with_init = core::PodSpec {
        init_containers: Some(vec![container("warm-cache")]),
        ..one_container()
    };
    let cases = [
        (
            "refs to clone",
            periodic(config(), vec![refs("acme", "w")], with_init.clone()),
            vec!["clonerefs", "warm-cache", "initupload", "place-entrypoint"],
        ),
        (
            "skip_cloning",
            periodic(skip, vec![refs("acme", "w")], with_init.clone()),
            vec!["warm-cache", "initupload", "place-entrypoint"],
        ),
        (
            "nothing to clone",
            periodic(config(), vec![], with_init),
            vec!["warm-cache", "initupload", "place-entrypoint"],
        ),
    ];
    for (case, pj, want) in cases {
        let spec = decorated(&pj);
        assert_eq!(init_names(&spec), want, "{case}");
        assert_eq!(names(&spec.containers), ["test", "sidecar"], "{case}");
        let place = find(&spec, "place-entrypoint");
        assert_eq!(
            place.args.as_deref(),
            Some(&["--copy-mode-only".to_string()][..])
        );
        assert_eq!(place.image.as_deref(), Some("entrypoint:tag"));
        assert!(place.env.is_none(), "{case}: place-entrypoint has no env");
        assert!(
            find(&spec, "warm-cache").env.is_none(),
            "{case}: the user's init containers get no job env"
        );
    }
}

#[test]
fn test_env_is_the_users_then_the_sorted_job_env_then_entrypoint_options() {
    let mut spec = one_container();
    spec.containers[0].env = Some(vec![core::EnvVar {
        name: "ZZ_MINE".into(),
        value: Some("1".into()),
        value_from: None,
    }]);
    let spec = decorated(&periodic(config(), vec![refs("acme", "w")], spec));
    let got: Vec<&str> = spec.containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        got,
        [
            "ZZ_MINE",
            "ARTIFACTS",
            "BUILD_ID",
            "BUILD_NUMBER",
            "CI",
            "GOPATH",
            "JOB_NAME",
            "JOB_SPEC",
            "JOB_TYPE",
            "PROW_JOB_ID",
            "ENTRYPOINT_OPTIONS",
        ]
    );
    // The utilities' own env is sorted by name too (`KubeEnv`).
    let env_names = |c: &core::Container| -> Vec<String> {
        c.env.iter().flatten().map(|e| e.name.clone()).collect()
    };
    assert_eq!(
        env_names(find(&spec, "initupload")),
        ["INITUPLOAD_OPTIONS", "JOB_SPEC"]
    );
    assert_eq!(
        env_names(find(&spec, "sidecar")),
        ["JOB_SPEC", "SIDECAR_OPTIONS"]
    );
    assert_eq!(env_names(find(&spec, "clonerefs")), ["CLONEREFS_OPTIONS"]);
}

/// Prow's own vector (`TestProwJobToPod_1.yaml`): durations in integer
/// nanoseconds, command and args joined, the single-container file names.
#[test]
fn entrypoint_options_are_prows_json_byte_for_byte() {
    let mut spec = one_container();
    spec.containers[0].command = Some(vec!["/bin/thing".into()]);
    spec.containers[0].args = Some(vec!["some".into(), "args".into()]);
    let spec = decorated(&periodic(config(), vec![], spec));
    let test = &spec.containers[0];
    assert_eq!(
        env(test, "ENTRYPOINT_OPTIONS"),
        Some(
            r#"{"timeout":7200000000000,"grace_period":10000000000,"artifact_dir":"/logs/artifacts","args":["/bin/thing","some","args"],"container_name":"test","process_log":"/logs/process-log.txt","marker_file":"/logs/marker-file.txt","metadata_file":"/logs/artifacts/metadata.json"}"#
        )
    );
    assert_eq!(
        test.command.as_deref(),
        Some(&["/tools/entrypoint".to_string()][..])
    );
    assert_eq!(test.args, None);
}

#[test]
fn unset_timeouts_are_zero_for_entrypoints_own_defaults() {
    let dc = DecorationConfig {
        timeout: None,
        grace_period: None,
        ..config()
    };
    let spec = decorated(&periodic(dc, vec![], one_container()));
    let opts: EntrypointOptions = options(&spec.containers[0], "ENTRYPOINT_OPTIONS");
    assert_eq!((opts.timeout, opts.grace_period), (0, 0));
    assert_eq!(spec.termination_grace_period_seconds, None);
}

#[test]
fn termination_grace_is_whole_grace_seconds_times_five_quarters_when_unset() {
    let cases = [
        (GoDuration::from_secs(10), None, Some(12)),
        (GoDuration::from_secs(15), None, Some(18)),
        (GoDuration::from_mins(15), None, Some(1125)),
        (GoDuration::from_hours(1), None, Some(4500)),
        // Whole seconds first: 1.9s is 1s, and 1*5/4 is 1.
        (GoDuration(1_900_000_000), None, Some(1)),
        (GoDuration::from_secs(10), Some(60), Some(60)),
    ];
    for (grace, own, want) in cases {
        let dc = DecorationConfig {
            grace_period: Some(grace),
            ..config()
        };
        let spec = core::PodSpec {
            termination_grace_period_seconds: own,
            ..one_container()
        };
        let spec = decorated(&periodic(dc, vec![], spec));
        assert_eq!(
            spec.termination_grace_period_seconds, want,
            "{grace} own {own:?}"
        );
    }
}

#[test]
fn one_test_container_uses_plain_file_names_several_use_their_names() {
    let several = core::PodSpec {
        containers: vec![container("unit"), container("e2e")],
        ..core::PodSpec::default()
    };
    let cases = [
        (
            one_container(),
            vec![(
                "test",
                "/logs/process-log.txt",
                "/logs/marker-file.txt",
                "/logs/artifacts/metadata.json",
            )],
        ),
        (
            several,
            vec![
                (
                    "unit",
                    "/logs/unit-log.txt",
                    "/logs/unit-marker.txt",
                    "/logs/artifacts/unit-metadata.json",
                ),
                (
                    "e2e",
                    "/logs/e2e-log.txt",
                    "/logs/e2e-marker.txt",
                    "/logs/artifacts/e2e-metadata.json",
                ),
            ],
        ),
    ];
    for (spec, want) in cases {
        let spec = decorated(&periodic(config(), vec![], spec));
        let sidecar: SidecarOptions = options(find(&spec, "sidecar"), "SIDECAR_OPTIONS");
        assert_eq!(sidecar.entries.len(), want.len());
        for (i, (name, log, marker, metadata)) in want.into_iter().enumerate() {
            let entry: EntrypointOptions = options(find(&spec, name), "ENTRYPOINT_OPTIONS");
            let w = &entry.wrapper;
            assert_eq!(
                (
                    w.container_name.as_str(),
                    w.process_log.as_str(),
                    w.marker_file.as_str(),
                    w.metadata_file.as_str()
                ),
                (name, log, marker, metadata)
            );
            assert!(w.args == ["make", "test"]);
            assert_eq!(entry.previous_marker, "", "containers run side by side");
            assert_eq!(sidecar.entries[i], entry.wrapper, "sidecar entry {i}");
        }
    }
}

#[test]
fn blob_credentials_are_mounted_only_for_a_named_secret() {
    let cases = [
        (None, None, vec![], "", ""),
        (Some(""), Some(""), vec![], "", ""),
        (
            Some("gcs-sa"),
            None,
            vec!["gcs-credentials"],
            "/secrets/gcs/service-account.json",
            "",
        ),
        (
            None,
            Some("s3-creds"),
            vec!["s3-credentials"],
            "",
            "/secrets/s3-storage/service-account.json",
        ),
        (
            Some("gcs-sa"),
            Some("s3-creds"),
            vec!["gcs-credentials", "s3-credentials"],
            "/secrets/gcs/service-account.json",
            "/secrets/s3-storage/service-account.json",
        ),
    ];
    for (gcs, s3, want_volumes, gcs_file, s3_file) in cases {
        let dc = DecorationConfig {
            gcs_credentials_secret: gcs.map(String::from),
            s3_credentials_secret: s3.map(String::from),
            ..config()
        };
        let spec = decorated(&periodic(dc, vec![], one_container()));
        let mut want = vec!["logs", "tools"];
        want.extend(&want_volumes);
        assert_eq!(volume_names(&spec), want, "{gcs:?} {s3:?}");
        let secrets: Vec<_> = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.secret.as_ref()?.secret_name.as_deref())
            .collect();
        assert_eq!(
            secrets,
            [gcs, s3]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        );
        let init: InituploadOptions = options(find(&spec, "initupload"), "INITUPLOAD_OPTIONS");
        let sidecar: SidecarOptions = options(find(&spec, "sidecar"), "SIDECAR_OPTIONS");
        for upload in [&init.upload, &sidecar.gcs_options] {
            assert_eq!(upload.gcs_credentials_file, gcs_file);
            assert_eq!(upload.s3_credentials_file, s3_file);
            assert_eq!(upload.bucket, "s3://logs");
        }
        let paths = |c: &core::Container| -> Vec<String> {
            mounts(c).into_iter().map(|(n, _)| n.to_string()).collect()
        };
        assert_eq!(paths(find(&spec, "initupload")), want_volumes);
        let mut sidecar_mounts = vec!["logs"];
        sidecar_mounts.extend(&want_volumes);
        assert_eq!(paths(find(&spec, "sidecar")), sidecar_mounts);
    }
}

#[test]
fn initupload_reads_clone_records_and_mounts_logs_only_when_cloning() {
    for (extra, want_log, want_mounts) in [
        (
            vec![refs("acme", "w")],
            "/logs/clone.json",
            vec![("logs", "/logs")],
        ),
        (vec![], "", vec![]),
    ] {
        let spec = decorated(&periodic(config(), extra, one_container()));
        let init = find(&spec, "initupload");
        let opts: InituploadOptions = options(init, "INITUPLOAD_OPTIONS");
        assert_eq!(opts.log, want_log);
        assert!(!opts.upload.dry_run);
        assert!(
            env(init, "INITUPLOAD_OPTIONS")
                .unwrap_or_default()
                .contains(r#""dry_run":false"#)
        );
        assert_eq!(mounts(init), want_mounts);
    }
}

#[test]
fn clone_secrets_get_prows_volumes_mounts_and_paths() {
    let dc = DecorationConfig {
        ssh_key_secrets: vec!["deploy-key".into()],
        ssh_host_fingerprints: vec!["github.com ssh-ed25519 AAAA".into()],
        github_app_id: "1234".into(),
        github_app_private_key_secret: Some(SecretKey {
            name: "app-key".into(),
            key: "cert".into(),
        }),
        cookiefile_secret: Some("cookies/.gitcookies".into()),
        ..config()
    };
    let spec = decorated(&periodic(dc, vec![refs("acme", "w")], one_container()));
    assert_eq!(
        volume_names(&spec),
        [
            "logs",
            "tools",
            "ssh-keys-deploy-key",
            "app-key",
            "clonerefs-tmp",
            "cookiefile",
            "code"
        ]
    );
    let clonerefs = find(&spec, "clonerefs");
    assert_eq!(
        mounts(clonerefs),
        [
            ("logs", "/logs"),
            ("code", "/home/prow/go"),
            ("ssh-keys-deploy-key", "/secrets/ssh/deploy-key"),
            ("app-key", "/secrets/github-app"),
            ("clonerefs-tmp", "/tmp"),
            ("cookiefile", "/secrets/cookiefile"),
        ]
    );
    let read_only: Vec<bool> = clonerefs
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.read_only == Some(true))
        .collect();
    assert_eq!(read_only, [false, false, true, true, false, true]);
    assert_eq!(
        clonerefs.args.as_deref(),
        Some(&["--cookiefile=/secrets/cookiefile/.gitcookies".to_string()][..])
    );
    let by_name = |n: &str| {
        spec.volumes
            .iter()
            .flatten()
            .find(|v| v.name == n)
            .and_then(|v| v.secret.clone())
            .unwrap()
    };
    let ssh = by_name("ssh-keys-deploy-key");
    assert_eq!(
        (ssh.secret_name.as_deref(), ssh.default_mode),
        (Some("deploy-key"), Some(256))
    );
    let cookie = by_name("cookiefile");
    assert_eq!(
        (cookie.secret_name.as_deref(), cookie.default_mode),
        (Some("cookies"), Some(256))
    );
    let app = by_name("app-key");
    let item = &app.items.unwrap()[0];
    assert_eq!((item.key.as_str(), item.path.as_str()), ("cert", "./cert"));

    let opts: ClonerefsOptions = options(clonerefs, "CLONEREFS_OPTIONS");
    assert_eq!(opts.key_files, ["/secrets/ssh/deploy-key"]);
    assert_eq!(opts.host_fingerprints, ["github.com ssh-ed25519 AAAA"]);
    assert_eq!(opts.cookie_path, "/secrets/cookiefile/.gitcookies");
    assert_eq!(opts.github_app_id, "1234");
    assert_eq!(opts.github_app_private_key_file, "/secrets/github-app/cert");
    assert_eq!(opts.github_api_endpoints, ["https://api.github.com"]);
    assert_eq!(
        (opts.git_user_name.as_str(), opts.git_user_email.as_str()),
        ("ci-robot", "ci-robot@k8s.io")
    );
    assert_eq!(
        (opts.src_root.as_str(), opts.log.as_str()),
        ("/home/prow/go", "/logs/clone.json")
    );
}

#[test]
fn oauth_volume_is_named_after_its_secret_and_holds_only_its_key() {
    let dc = DecorationConfig {
        oauth_token_secret: Some(SecretKey {
            name: "github-token".into(),
            key: "oauth".into(),
        }),
        cookiefile_secret: Some("yummy".into()),
        github_api_endpoints: vec!["http://ghproxy".into()],
        ..config()
    };
    let spec = decorated(&periodic(dc, vec![refs("acme", "w")], one_container()));
    let clonerefs = find(&spec, "clonerefs");
    assert!(mounts(clonerefs).contains(&("github-token", "/secrets/oauth")));
    let opts: ClonerefsOptions = options(clonerefs, "CLONEREFS_OPTIONS");
    assert_eq!(opts.oauth_token_file, "/secrets/oauth/oauth");
    assert_eq!(opts.github_api_endpoints, ["http://ghproxy"]);
    // A cookiefile secret without `/<key>` names its key after itself.
    assert_eq!(opts.cookie_path, "/secrets/cookiefile/yummy");
    let no_cookie = decorated(&periodic(
        config(),
        vec![refs("acme", "w")],
        one_container(),
    ));
    assert_eq!(find(&no_cookie, "clonerefs").args, None);
}

#[test]
fn clonerefs_gets_main_refs_then_extra_refs_and_the_work_dir_follows_workdir() {
    let mut pj = periodic(config(), vec![], one_container());
    pj.spec.r#type = Some(ProwJobType::Presubmit);
    pj.spec.refs = Some(Refs {
        path_alias: "k8s.io/widgets".into(),
        pulls: vec![Pull {
            number: 7,
            author: "alice".into(),
            sha: "def".into(),
            ..Pull::default()
        }],
        ..refs("acme", "widgets")
    });
    let tools = refs("acme", "tools");
    let cases = [
        (vec![tools.clone()], "/home/prow/go/src/k8s.io/widgets"),
        (
            vec![Refs {
                workdir: true,
                ..tools
            }],
            "/home/prow/go/src/github.com/acme/tools",
        ),
    ];
    for (extra, want) in cases {
        pj.spec.extra_refs = extra;
        let spec = decorated(&pj);
        let opts: ClonerefsOptions = options(find(&spec, "clonerefs"), "CLONEREFS_OPTIONS");
        let cloned: Vec<String> = opts.git_refs.iter().map(Refs::org_repo).collect();
        assert_eq!(cloned, ["acme/widgets", "acme/tools"]);
        assert_eq!(spec.containers[0].working_dir.as_deref(), Some(want));
        assert_eq!(
            mounts(&spec.containers[0]),
            [
                ("logs", "/logs"),
                ("tools", "/tools"),
                ("code", "/home/prow/go")
            ]
        );
    }
}

#[test]
fn without_cloning_there_is_no_code_volume_and_the_work_dir_is_the_users() {
    let dc = DecorationConfig {
        skip_cloning: Some(true),
        ssh_key_secrets: vec!["deploy-key".into()],
        ..config()
    };
    let mut spec = one_container();
    spec.containers[0].working_dir = Some("/src".into());
    let spec = decorated(&periodic(dc, vec![refs("acme", "w")], spec));
    assert_eq!(volume_names(&spec), ["logs", "tools"]);
    assert_eq!(spec.containers[0].working_dir.as_deref(), Some("/src"));
    assert_eq!(
        mounts(&spec.containers[0]),
        [("logs", "/logs"), ("tools", "/tools")]
    );
}

#[test]
fn censor_secrets_copies_test_secret_mounts_onto_the_sidecar() {
    let secret = |name: &str| core::Volume {
        name: name.into(),
        secret: Some(core::SecretVolumeSource {
            secret_name: Some(name.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mount_at = |name: &str, path: &str| core::VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    };
    let mut unit = container("unit");
    unit.volume_mounts = Some(vec![
        mount_at("token", "/etc/token"),
        mount_at("cache", "/cache"),
    ]);
    let mut e2e = container("e2e");
    e2e.volume_mounts = Some(vec![
        mount_at("token", "/etc/token"),
        mount_at("kubeconfig", "/etc/kube"),
    ]);
    let spec = core::PodSpec {
        containers: vec![unit, e2e],
        volumes: Some(vec![
            secret("token"),
            secret("kubeconfig"),
            secret("unmounted"),
            core::Volume {
                name: "cache".into(),
                empty_dir: Some(Default::default()),
                ..Default::default()
            },
        ]),
        ..core::PodSpec::default()
    };
    let censoring = CensoringOptions {
        censoring_concurrency: Some(4),
        minimum_secret_length: Some(6),
        exclude_directories: vec!["/logs/artifacts/big".into()],
        ..CensoringOptions::default()
    };
    let cases = [
        (
            Some(true),
            vec![
                ("logs", "/logs"),
                ("token", "/etc/token"),
                ("kubeconfig", "/etc/kube"),
            ],
            vec!["/etc/token", "/etc/kube"],
        ),
        (None, vec![("logs", "/logs")], vec![]),
        (Some(false), vec![("logs", "/logs")], vec![]),
    ];
    for (censor, want_mounts, want_dirs) in cases {
        let dc = DecorationConfig {
            censor_secrets: censor,
            censoring_options: Some(censoring.clone()),
            ..config()
        };
        let spec = decorated(&periodic(dc, vec![], spec.clone()));
        let sidecar = find(&spec, "sidecar");
        assert_eq!(mounts(sidecar), want_mounts, "{censor:?}");
        let opts: SidecarOptions = options(sidecar, "SIDECAR_OPTIONS");
        let c = &opts.censoring_options;
        assert_eq!(c.secret_directories, want_dirs, "{censor:?}");
        assert_eq!(c.censoring_concurrency, Some(4));
        assert_eq!(c.minimum_secret_length, Some(6));
        assert_eq!(c.exclude_directories, ["/logs/artifacts/big"]);
    }
}

#[test]
fn censoring_options_are_always_written_and_interrupts_ignored_only_when_asked() {
    for (ignore, want) in [
        (None, r#""censoring_options":{}}"#),
        (
            Some(true),
            r#""ignore_interrupts":true,"censoring_options":{}}"#,
        ),
    ] {
        let dc = DecorationConfig {
            upload_ignores_interrupts: ignore,
            ..config()
        };
        let spec = decorated(&periodic(dc, vec![], one_container()));
        let sidecar = find(&spec, "sidecar");
        let raw = env(sidecar, "SIDECAR_OPTIONS").unwrap_or_default();
        assert!(raw.ends_with(want), "{raw}");
        assert!(raw.starts_with(r#"{"gcs_options":{"items":["/logs/artifacts"],"#));
        assert!(!raw.contains("entry_error"), "{raw}");
        assert_eq!(
            sidecar.termination_message_policy.as_deref(),
            Some("FallbackToLogsOnError")
        );
    }
}

#[test]
fn default_memory_request_fills_only_test_containers_without_one_and_limits_follow() {
    let quantity = |q: &str| Quantity(q.into());
    let mut sized = container("sized");
    sized.resources = Some(core::ResourceRequirements {
        requests: Some(BTreeMap::from([("memory".into(), quantity("8Gi"))])),
        ..Default::default()
    });
    let spec = core::PodSpec {
        containers: vec![sized, container("plain")],
        ..core::PodSpec::default()
    };
    let utility = core::ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".into(), quantity("100m"))])),
        ..Default::default()
    };
    for (limit, want_limits) in [
        (None, [None, None]),
        (Some(true), [Some("8Gi"), Some("1Gi")]),
    ] {
        let dc = DecorationConfig {
            default_memory_request: Some(quantity("1Gi")),
            set_limit_equals_memory_request: limit,
            resources: Some(Resources {
                sidecar: Some(utility.clone()),
                ..Resources::default()
            }),
            ..config()
        };
        let spec = decorated(&periodic(dc, vec![], spec.clone()));
        let memory = |c: &core::Container, limits: bool| -> Option<String> {
            let r = c.resources.as_ref()?;
            let list = if limits { &r.limits } else { &r.requests };
            list.as_ref()?.get("memory").map(|q| q.0.clone())
        };
        assert_eq!(memory(find(&spec, "sized"), false).as_deref(), Some("8Gi"));
        assert_eq!(memory(find(&spec, "plain"), false).as_deref(), Some("1Gi"));
        assert_eq!(
            memory(find(&spec, "sized"), true).as_deref(),
            want_limits[0]
        );
        assert_eq!(
            memory(find(&spec, "plain"), true).as_deref(),
            want_limits[1]
        );
        assert_eq!(find(&spec, "sidecar").resources.as_ref(), Some(&utility));
        assert_eq!(find(&spec, "initupload").resources, None);
    }
}

#[test]
fn pod_settings_from_the_config_apply_only_where_the_spec_is_silent() {
    let toleration = core::Toleration {
        key: Some("prow".into()),
        operator: Some("Exists".into()),
        ..Default::default()
    };
    let affinity = core::Affinity {
        node_affinity: Some(Default::default()),
        ..Default::default()
    };
    let dc = DecorationConfig {
        run_as_user: Some(1000),
        run_as_group: Some(1000),
        fs_group: Some(2000),
        default_service_account_name: Some("prow-runner".into()),
        scheduling_options: Some(SchedulingOptions {
            affinity: Some(affinity.clone()),
            tolerations: vec![toleration.clone()],
        }),
        ..config()
    };
    let silent = decorated(&periodic(dc.clone(), vec![], one_container()));
    let sc = silent.security_context.clone().unwrap_or_default();
    assert_eq!(
        (sc.run_as_user, sc.run_as_group, sc.fs_group),
        (Some(1000), Some(1000), Some(2000))
    );
    assert_eq!(silent.service_account_name.as_deref(), Some("prow-runner"));
    assert_eq!(
        silent.automount_service_account_token,
        Some(false),
        "decided on the job's own spec, before decoration"
    );
    assert_eq!(silent.affinity.as_ref(), Some(&affinity));
    assert_eq!(silent.tolerations.as_deref(), Some(&[toleration][..]));

    let own = core::PodSpec {
        security_context: Some(core::PodSecurityContext {
            run_as_user: Some(0),
            ..Default::default()
        }),
        service_account_name: Some("mine".into()),
        tolerations: Some(vec![]),
        affinity: Some(core::Affinity::default()),
        ..one_container()
    };
    let spoken = decorated(&periodic(dc, vec![], own));
    let sc = spoken.security_context.clone().unwrap_or_default();
    assert_eq!(
        (sc.run_as_user, sc.run_as_group, sc.fs_group),
        (Some(0), Some(1000), Some(2000))
    );
    assert_eq!(spoken.service_account_name.as_deref(), Some("mine"));
    assert_eq!(spoken.tolerations.as_deref(), Some(&[][..]));
    assert_eq!(spoken.affinity, Some(core::Affinity::default()));

    let bare = decorated(&periodic(config(), vec![], one_container()));
    assert_eq!(
        bare.security_context,
        Some(core::PodSecurityContext::default()),
        "always present"
    );
}

#[test]
fn a_config_without_images_leaves_the_image_out_rather_than_empty() {
    let dc = DecorationConfig {
        utility_images: None,
        ..config()
    };
    let spec = decorated(&periodic(dc, vec![refs("acme", "w")], one_container()));
    for name in ["clonerefs", "initupload", "place-entrypoint", "sidecar"] {
        assert_eq!(find(&spec, name).image, None, "{name}");
    }
}
