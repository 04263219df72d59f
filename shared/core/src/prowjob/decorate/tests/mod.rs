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

mod settings;
mod volumes;

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
