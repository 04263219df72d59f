//! Settings that come from the decoration config: censoring, memory
//! requests, pod security and images.

use super::*;
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
