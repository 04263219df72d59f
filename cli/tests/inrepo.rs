//! `--prow-yaml`: a repo's in-repo config validated by `skiff check-config`
//! and dry-run by `skiff plan event`, the real binary on files on disk.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn plan_fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan")
}

fn skiff(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("skiff runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The plan fixtures' config with in-repo config enabled for acme/widgets.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let central = std::fs::read_to_string(plan_fixtures().join("config.yaml")).unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("in_repo_config:\n  enabled: {{acme/widgets: true}}\n{central}"),
    )
    .unwrap();
    for f in ["pull_request_opened.json", "changed.txt"] {
        std::fs::copy(plan_fixtures().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

const CHECK: [&str; 5] = [
    "check-config",
    "--config-path",
    "config.yaml",
    "--prow-yaml-repo-name",
    "acme/widgets",
];

#[test]
fn check_config_validates_a_prow_yaml_against_the_central_jobs() {
    let dir = workdir();
    std::fs::write(
        dir.path().join(".prow.yaml"),
        "presubmits:\n- name: lint\n  always_run: true\n  spec: {containers: [{image: a}]}\n",
    )
    .unwrap();
    let out = skiff(
        dir.path(),
        &[&CHECK[..], &["--prow-yaml", ".prow.yaml"]].concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("; in-repo config of acme/widgets: 1 presubmits, 0 postsubmits"),
        "{}",
        text(&out.stdout)
    );

    std::fs::write(
        dir.path().join(".prow.yaml"),
        "presubmits:\n- name: lint\n  spec: {containers: [{image: a}]}\n- name: unit\n  spec: {containers: [{image: a}]}\n",
    )
    .unwrap();
    let out = skiff(
        dir.path(),
        &[&CHECK[..], &["--prow-yaml", ".prow.yaml"]].concat(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains(".prow.yaml:4:9: error: presubmits[1].name: duplicated presubmit job `unit`"),
        "{stderr}"
    );
}

#[test]
fn check_config_reads_a_prow_directory_and_names_each_file() {
    let dir = workdir();
    let prow = dir.path().join(".prow/nested");
    std::fs::create_dir_all(&prow).unwrap();
    std::fs::write(
        dir.path().join(".prow/ok.yaml"),
        "postsubmits:\n- name: ship\n  spec: {containers: [{image: a}]}\n",
    )
    .unwrap();
    std::fs::write(
        prow.join("bad.yml"),
        "presubmits:\n- name: x\n  cluster: gpu\n  spec: {containers: [{image: a}]}\n",
    )
    .unwrap();
    let out = skiff(
        dir.path(),
        &[&CHECK[..], &["--prow-yaml", ".prow"]].concat(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(".prow/nested/bad.yml:3:12: error: presubmits[0].cluster: cluster \"gpu\" is not allowed"),
        "{stderr}"
    );
}

#[test]
fn plan_event_dry_runs_the_in_repo_jobs() {
    let dir = workdir();
    std::fs::write(
        dir.path().join(".prow.yaml"),
        "presubmits:\n- name: lint\n  always_run: true\n  spec: {containers: [{image: a}]}\n",
    )
    .unwrap();
    let out = skiff(
        dir.path(),
        &[
            "plan",
            "event",
            "--config-path",
            "config.yaml",
            "--event",
            "pull_request",
            "--payload",
            "pull_request_opened.json",
            "--changed-files",
            "changed.txt",
            "--trusted",
            "alice,carol",
            "--prow-yaml",
            ".prow.yaml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut jobs: Vec<&str> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    jobs.sort();
    assert_eq!(jobs, ["lint", "unit"]);
}
