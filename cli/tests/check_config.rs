//! `skiff check-config` as a user runs it: the real binary on files on disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn skiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("skiff runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const REALISTIC: [&str; 7] = [
    "check-config",
    "--config-path",
    "realistic/config.yaml",
    "--job-config-path",
    "realistic/jobs",
    "--plugin-config",
    "realistic/plugins.yaml",
];

#[test]
fn realistic_config_loads_with_the_expected_counts() {
    let out = skiff(&REALISTIC);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "78 presubmits, 27 postsubmits, 15 periodics in 26 repos; 0 warnings\n"
    );
    // Only notes: the Prow sections Skiff does not use, each listed once.
    for line in stderr.lines() {
        assert!(line.contains(": note: "), "unexpected: {line}");
    }
    assert_eq!(
        stderr
            .matches("branch-protection: a Prow setting Skiff does not use")
            .count(),
        1
    );
    // Tide is Skiff's now: its section loads without a note.
    assert!(!stderr.contains("tide:"), "{stderr}");
}

#[test]
fn prowignore_and_kubernetes_volume_internals_are_skipped() {
    let out = skiff(&REALISTIC);
    let stderr = text(&out.stderr);
    for skipped in ["drafts/broken.yaml", "legacy.disabled.yaml", "..2026_11_01"] {
        assert!(!stderr.contains(skipped), "{skipped} was read:\n{stderr}");
    }
    // Without the .prowignore, the same tree fails on the ignored files.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("realistic"), dir.path());
    std::fs::remove_file(dir.path().join("jobs/.prowignore")).unwrap();
    let jobs = dir.path().join("jobs");
    let out = skiff(&[
        "check-config",
        "--config-path",
        dir.path().join("config.yaml").to_str().unwrap(),
        "--job-config-path",
        jobs.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("drafts/broken.yaml:3:1: error: YAML syntax error"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            r#"legacy.disabled.yaml:3:13: error: periodics[0].interval: invalid duration "nope""#
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("..2026_11_01"), "{stderr}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn normalized_json_round_trips() {
    let mut args = REALISTIC.to_vec();
    args.push("--print");
    let first = skiff(&args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();

    // Matrix-expanded, defaulted, decoration merged, presets applied.
    let periodics = json["periodics"].as_array().unwrap();
    let conformance = periodics
        .iter()
        .find(|p| p["name"] == "eks-gamma-eu-west-1-conformance")
        .expect("matrix job expanded");
    assert_eq!(conformance["cluster"], "eks-eu-west-1");
    assert_eq!(conformance["labels"]["stage"], "gamma");
    // Its first extra ref is acme/eks-tests, so the `repo: acme` entry applies.
    assert_eq!(conformance["decoration_config"]["timeout"], "4h0m0s");
    let upgrade = periodics
        .iter()
        .find(|p| p["name"] == "eks-prod-upgrade")
        .unwrap();
    assert_eq!(upgrade["decoration_config"]["timeout"], "2h0m0s");
    let env = &conformance["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["value"], "conformance-gamma-eu-west-1");
    assert_eq!(env[1]["name"], "AWS_SHARED_CREDENTIALS_FILE");
    assert_eq!(env[2]["name"], "SKIFF");
    let widgets = json["presubmits"]["acme/widgets"].as_array().unwrap();
    assert_eq!(
        widgets[0]["trigger"],
        r"(?m)^/test( | .* )pull-widgets-unit,?($|\s.*)"
    );
    assert_eq!(widgets[0]["rerun_command"], "/test pull-widgets-unit");
    assert_eq!(widgets[1]["context"], "pull-widgets-unit-1.28");
    assert_eq!(widgets[0]["decoration_config"]["timeout"], "4h0m0s");
    assert_eq!(widgets[0]["namespace"], "test-pods");
    let gpu = widgets
        .iter()
        .find(|j| j["name"] == "pull-widgets-gpu")
        .unwrap();
    assert_eq!(gpu["decoration_config"]["timeout"], "6h0m0s");
    assert_eq!(gpu["decoration_config"]["grace_period"], "1m0s");

    let dir = tempfile::tempdir().unwrap();
    let normalized = dir.path().join("normalized.json");
    std::fs::write(&normalized, &first.stdout).unwrap();
    let second = skiff(&[
        "check-config",
        "--config-path",
        normalized.to_str().unwrap(),
        "--print",
    ]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout), text(&first.stdout));
}

#[test]
fn every_broken_file_is_reported_and_the_exit_code_is_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "plank: {}\n").unwrap();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    for n in 0..4 {
        std::fs::write(
            jobs.join(format!("bad{n}.yaml")),
            format!("periodics:\n- name: bad{n}\n  cron: '61 * * * *'\n  spec: {{containers: [{{image: x}}]}}\n"),
        )
        .unwrap();
    }
    let out = skiff(&[
        "check-config",
        "--config-path",
        dir.path().join("config.yaml").to_str().unwrap(),
        "--job-config-path",
        jobs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for n in 0..4 {
        let want = format!("bad{n}.yaml:3:9: error: periodics[0].cron: invalid cron");
        assert!(stderr.contains(&want), "missing {want}:\n{stderr}");
    }
    assert!(stderr.contains("config is invalid: 4 errors"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn strict_turns_warnings_into_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "periodics:\n- name: a\n  interval: 1h\n  alwyas_run: true\n  spec: {containers: [{image: x}]}\n",
    )
    .unwrap();
    let lenient = skiff(&["check-config", "--config-path", config.to_str().unwrap()]);
    assert!(lenient.status.success());
    assert_eq!(
        text(&lenient.stdout),
        "0 presubmits, 0 postsubmits, 1 periodics in 0 repos; 1 warning\n"
    );
    let strict = skiff(&[
        "check-config",
        "--strict",
        "--config-path",
        config.to_str().unwrap(),
    ]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        text(&strict.stderr).contains(
            "config.yaml:4:3: warning: periodics[0].alwyas_run: unknown field `alwyas_run`"
        )
    );
}

#[test]
fn duplicated_basenames_in_the_job_tree_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "").unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join("jobs").join(sub)).unwrap();
        std::fs::write(
            dir.path().join("jobs").join(sub).join("same.yaml"),
            "periodics: []\n",
        )
        .unwrap();
    }
    let out = skiff(&[
        "check-config",
        "--config-path",
        dir.path().join("config.yaml").to_str().unwrap(),
        "--job-config-path",
        dir.path().join("jobs").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error: duplicated basename is not allowed: same.yaml"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = skiff(&["check-config", "--config-path", "does/not/exist.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does/not/exist.yaml:1:1: error: cannot read file:"));
}

#[test]
fn the_example_config_in_infra_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args([
            "check-config",
            "--strict",
            "--config-path",
            "infra/example/config.yaml",
            "--job-config-path",
            "infra/example/jobs",
            "--plugin-config",
            "infra/example/plugins.yaml",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "3 presubmits, 1 postsubmits, 6 periodics in 2 repos; 0 warnings\n"
    );
}
