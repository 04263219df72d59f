//! Volumes, mounts and clonerefs: which secrets and code a decorated pod
//! carries, and where.

use super::*;
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
