use super::*;
use crate::config::{FileRole, SourceFile};

const REPO: &str = "acme/widgets";

fn central(extra: &str) -> Config {
    let text = format!(
        r#"
in_repo_config:
  enabled:
    acme/widgets: true
  allowed_clusters:
    acme/widgets: [build]
presets:
- labels: {{preset-aws: "true"}}
  env:
  - {{name: AWS_REGION, value: us-east-1}}
presubmits:
  acme/widgets:
  - name: central-unit
    always_run: true
    spec:
      containers:
      - image: golang
{extra}postsubmits:
  acme/widgets:
  - name: central-build
    spec:
      containers:
      - image: golang
"#
    );
    let loaded = crate::config::load(&[SourceFile {
        path: "config.yaml".into(),
        text,
        role: FileRole::ProwConfig,
    }]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn prow_yaml(text: &str) -> Vec<RepoFile> {
    vec![RepoFile {
        path: PROW_YAML.into(),
        text: text.into(),
    }]
}

fn errors(l: &InRepoLoaded) -> Vec<String> {
    l.errors().map(ToString::to_string).collect()
}

#[test]
fn enabled_the_most_specific_key_wins() {
    let irc = InRepoConfig {
        enabled: BTreeMap::from([
            ("*".to_string(), true),
            ("acme".to_string(), false),
            ("acme/widgets".to_string(), true),
        ]),
        ..InRepoConfig::default()
    };
    for (repo, want) in [
        ("acme/widgets", true),
        ("acme/gadgets", false),
        ("other/thing", true),
    ] {
        assert_eq!(irc.enabled_for(repo), want, "{repo}");
    }
    assert!(!InRepoConfig::default().enabled_for("acme/widgets"));
}

#[test]
fn allowed_clusters_any_matching_key_allows_and_star_defaults_to_default() {
    let irc = InRepoConfig {
        allowed_clusters: BTreeMap::from([
            ("acme".to_string(), vec!["gpu".to_string()]),
            ("acme/widgets".to_string(), vec!["build".to_string()]),
        ]),
        ..InRepoConfig::default()
    };
    for (repo, cluster, want) in [
        ("acme/widgets", "build", true),
        ("acme/widgets", "gpu", true),
        ("acme/widgets", "default", true),
        ("acme/gadgets", "build", false),
        ("other/x", "gpu", false),
        ("other/x", "default", true),
    ] {
        assert_eq!(irc.allows_cluster(repo, cluster), want, "{repo} {cluster}");
    }
    let star = InRepoConfig {
        allowed_clusters: BTreeMap::from([("*".to_string(), vec!["build".to_string()])]),
        ..InRepoConfig::default()
    };
    assert!(!star.allows_cluster("acme/widgets", "default"));
}

#[test]
fn select_paths_reads_the_file_or_every_yaml_under_the_directory() {
    let ok: &[(&[&str], &[&str])] = &[
        (&["README.md", ".prow.yaml"], &[".prow.yaml"]),
        (
            &[".prow/z.yaml", ".prow/a/b.yml", ".prow/notes.md", ".prow"],
            &[".prow/a/b.yml", ".prow/z.yaml"],
        ),
        (&["src/.prow.yaml", "main.go"], &[]),
    ];
    for (tree, want) in ok {
        assert_eq!(
            select_paths(tree.iter().copied()).unwrap(),
            want.to_vec(),
            "{tree:?}"
        );
    }
    let both = select_paths([".prow.yaml", ".prow/jobs.yaml"]).unwrap_err();
    assert!(both.contains("both .prow.yaml and a .prow/"), "{both}");
    let many: Vec<String> = (0..=MAX_FILES).map(|i| format!(".prow/{i}.yaml")).collect();
    let err = select_paths(many.iter().map(String::as_str)).unwrap_err();
    assert!(err.contains("101 YAML files; at most 100"), "{err}");
}

#[test]
fn a_pull_request_touches_the_config_by_the_file_or_anything_under_the_directory() {
    for (files, want) in [
        (vec![".prow.yaml"], true),
        (vec!["main.go", ".prow/jobs/unit.yaml"], true),
        (vec!["docs/.prow.yaml", ".prowignore"], false),
    ] {
        assert_eq!(touches_in_repo_config(&files), want, "{files:?}");
    }
}

#[test]
fn in_repo_jobs_get_prow_defaults_and_the_central_and_own_presets() {
    let config = central("");
    let l = load(
        &config,
        REPO,
        &prow_yaml(
            r#"
presets:
- labels: {preset-cache: "true"}
  env:
  - {name: CACHE, value: s3}
presubmits:
- name: lint
  cluster: build
  labels: {preset-aws: "true", preset-cache: "true"}
  spec:
    containers:
    - image: golangci
postsubmits:
- name: publish
  branches: [main]
  spec:
    containers:
    - image: golang
"#,
        ),
    );
    assert!(!l.has_errors(), "{:?}", errors(&l));
    let lint = &l.jobs.presubmits[0];
    assert_eq!(lint.base.name, "lint");
    assert_eq!(lint.reporter.context, "lint");
    assert_eq!(lint.fields.rerun_command, "/test lint");
    assert_eq!(lint.base.namespace.as_deref(), Some("default"));
    let env: Vec<&str> = lint.base.spec.as_ref().unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(env, ["AWS_REGION", "CACHE"]);
    assert_eq!(l.jobs.postsubmits[0].base.cluster, "default");
    assert_eq!(l.jobs.presets.len(), 1);
}

#[test]
fn a_name_clash_with_a_central_job_is_an_error_at_the_in_repo_line() {
    let config = central("");
    let l = load(
        &config,
        REPO,
        &prow_yaml(
            "presubmits:\n- name: fine\n  spec: {containers: [{image: a}]}\n- name: central-unit\n  spec: {containers: [{image: a}]}\n",
        ),
    );
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(".prow.yaml:4:")
            && errs[0].contains("duplicated presubmit job `central-unit`"),
        "{errs:?}"
    );
    assert!(l.jobs.is_empty(), "a broken in-repo config adds no jobs");
}

#[test]
fn a_postsubmit_clash_with_a_central_job_is_an_error_too() {
    let l = load(
        &central(""),
        REPO,
        &prow_yaml("postsubmits:\n- name: central-build\n  spec: {containers: [{image: a}]}\n"),
    );
    let errs = errors(&l);
    assert!(
        errs.iter()
            .any(|e| e.contains("duplicated postsubmit job `central-build`")),
        "{errs:?}"
    );
}

#[test]
fn a_cluster_not_allowed_for_the_repo_is_an_error_naming_the_allowed_ones() {
    let l = load(
        &central(""),
        REPO,
        &prow_yaml(
            "presubmits:\n- name: gpu-test\n  cluster: gpu\n  spec: {containers: [{image: a}]}\n",
        ),
    );
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(".prow.yaml:3:")
            && errs[0]
                .contains("cluster \"gpu\" is not allowed for repository \"acme/widgets\" (in_repo_config.allowed_clusters allows build, default)"),
        "{errs:?}"
    );
}

#[test]
fn broken_yaml_is_an_error_with_its_line() {
    let l = load(
        &central(""),
        REPO,
        &prow_yaml("presubmits:\n- name: a\n  spec: {containers: [\n"),
    );
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(".prow.yaml:") && errs[0].contains("YAML syntax error"),
        "{errs:?}"
    );
}

#[test]
fn in_repo_rules_beyond_central_validation() {
    let cases: &[(&str, &str)] = &[
        (
            "periodics:\n- name: nightly\n",
            "periodics cannot be defined in-repo",
        ),
        (
            "presubmits:\n  acme/widgets: []\n",
            "expected a list of jobs, found a mapping",
        ),
        (
            "presubmits:\n- name: bad name!\n  spec: {containers: [{image: a}]}\n",
            "bad name!",
        ),
        ("- a\n- b\n", "expected a mapping at the top of the file"),
    ];
    for (text, want) in cases {
        let l = load(&central(""), REPO, &prow_yaml(text));
        let errs = errors(&l);
        assert!(errs.iter().any(|e| e.contains(want)), "{text:?}: {errs:?}");
    }
}

#[test]
fn a_file_over_one_megabyte_is_refused() {
    let text = format!("# {}\n", "x".repeat(MAX_FILE_BYTES));
    let l = load(&central(""), REPO, &prow_yaml(&text));
    let errs = errors(&l);
    assert!(errs[0].contains("at most 1048576 bytes (1 MB)"), "{errs:?}");
}

#[test]
fn files_of_a_prow_directory_are_read_together_and_located_each() {
    let files = vec![
        RepoFile {
            path: ".prow/a.yaml".into(),
            text: "presubmits:\n- name: one\n  spec: {containers: [{image: a}]}\n".into(),
        },
        RepoFile {
            path: ".prow/b.yaml".into(),
            text: "presubmits:\n- name: one\n  spec: {containers: [{image: a}]}\n".into(),
        },
    ];
    let l = load(&central(""), REPO, &files);
    let errs = errors(&l);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(".prow/b.yaml:2:") && errs[0].contains("at .prow/a.yaml:2:"),
        "{errs:?}"
    );
}

#[test]
fn the_merged_config_holds_the_repos_central_and_in_repo_jobs_only() {
    let config =
        central("  acme/gadgets:\n  - name: other\n    spec: {containers: [{image: a}]}\n");
    let mut l = load(
        &config,
        REPO,
        &prow_yaml("presubmits:\n- name: lint\n  spec: {containers: [{image: a}]}\n"),
    );
    let files = prow_yaml("");
    l.jobs.mark_source(&files, "abc123");
    let m = merged(&config, REPO, &l.jobs);
    let names: Vec<&str> = m.jobs.presubmits[REPO]
        .iter()
        .map(|j| j.base.name.as_str())
        .collect();
    assert_eq!(names, ["central-unit", "lint"]);
    assert!(!m.jobs.presubmits.contains_key("acme/gadgets"));
    assert_eq!(
        m.jobs.presubmits[REPO][1].base.annotations[SOURCE_ANNOTATION],
        ".prow.yaml@abc123"
    );
    assert!(
        !m.jobs.presubmits[REPO][0]
            .base
            .annotations
            .contains_key(SOURCE_ANNOTATION)
    );
}
