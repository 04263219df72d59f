//! Load + validate two generated Prow configs: 5,000 jobs in 200 repos (presets,
//! decoration defaults, release-branch duplicates and matrix jobs), and one of
//! kubernetes/test-infra's shape (605 files, ~3,800 jobs, ~6 MB of YAML).
//!
//! `cargo bench -p skiff-core --bench config_load` reports the medians. The
//! configs are also written to `target/bench-config/` and
//! `target/bench-config-testinfra/` so the whole process (time, peak memory)
//! can be measured with the CLI:
//! `/usr/bin/time -v target/release/skiff check-config --config-path
//! target/bench-config-testinfra/config.yaml --job-config-path
//! target/bench-config-testinfra/jobs`.

use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator `skiff check-config` runs with (cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use skiff_core::config::{FileRole, Keep, SourceFile, load, load_keeping};

#[path = "support/testinfra.rs"]
mod testinfra;

const REPOS: usize = 200;
const PRESETS: usize = 10;

fn config_yaml() -> String {
    let mut s = String::from(
        "pod_namespace: test-pods\nplank:\n  default_decoration_config_entries:\n  - config:\n      timeout: 2h\n      grace_period: 15s\n      utility_images: {clonerefs: c:v1, initupload: i:v1, entrypoint: e:v1, sidecar: s:v1}\n      gcs_configuration: {bucket: s3://logs, path_strategy: explicit}\n  - repo: org0\n    config: {timeout: 3h}\ntide: {sync_period: 1m}\npresets:\n",
    );
    for p in 0..PRESETS {
        let _ = write!(
            s,
            "- labels: {{preset-{p}: \"true\"}}\n  env: [{{name: PRESET_{p}, value: v}}]\n  volumes: [{{name: vol-{p}, emptyDir: {{}}}}]\n  volumeMounts: [{{name: vol-{p}, mountPath: /p{p}}}]\n"
        );
    }
    s
}

/// One repo: 18 presubmits (three of them duplicated per release branch) and
/// 4 postsubmits = 22 jobs.
fn repo_yaml(r: usize) -> String {
    let org = format!("org{}", r % 20);
    let repo = format!("repo{r}");
    let mut s = format!("presubmits:\n  {org}/{repo}:\n");
    for j in 0..15 {
        let trigger = match j % 4 {
            0 => "    always_run: true\n".to_string(),
            1 => format!("    run_if_changed: '^(pkg|cmd)/{j}/.*\\.go$'\n"),
            2 => "    skip_if_only_changed: '^docs/|\\.md$'\n".to_string(),
            _ => "    optional: true\n".to_string(),
        };
        let _ = write!(
            s,
            "  - name: pull-{repo}-job{j}\n{trigger}    branches: ['^main$']\n    decorate: {}\n    labels: {{preset-{}: \"true\", team: t{}}}\n    max_concurrency: {}\n    spec:\n      containers:\n      - image: golang:1.23\n        command: [make, test{j}]\n        resources: {{requests: {{cpu: '1', memory: 2Gi}}}}\n",
            j % 2 == 0,
            j % PRESETS,
            j % 7,
            j % 3
        );
    }
    for j in 0..3 {
        let _ = write!(
            s,
            "  - name: pull-{repo}-release\n    branches: ['^release-1\\.{j}$']\n    context: pull-{repo}-release-1.{j}\n    spec:\n      containers:\n      - image: golang:1.2{j}\n        command: [make, release-test]\n"
        );
    }
    let _ = writeln!(s, "postsubmits:\n  {org}/{repo}:");
    for j in 0..4 {
        let _ = write!(
            s,
            "  - name: post-{repo}-job{j}\n    branches: ['^main$', '^v\\d+\\.\\d+']\n    spec:\n      containers:\n      - image: alpine\n        command: [/bin/sh, -c, 'echo {j}']\n"
        );
    }
    s
}

/// 400 plain periodics and 50 matrix templates of 4 jobs = 600.
fn periodics_yaml() -> String {
    let mut s = String::from("periodics:\n");
    for p in 0..400 {
        let schedule = match p % 3 {
            0 => format!("cron: '{} */2 * * *'", p % 60),
            1 => format!("interval: {}m", 10 + p % 50),
            _ => format!("minimum_interval: {}h", 1 + p % 5),
        };
        let _ = write!(
            s,
            "- name: ci-periodic-{p}\n  {schedule}\n  labels: {{preset-{}: \"true\"}}\n  extra_refs: [{{org: org{}, repo: repo{p}, base_ref: main}}]\n  spec:\n    containers:\n    - image: alpine\n      command: [/bin/date]\n",
            p % PRESETS,
            p % 20
        );
    }
    for m in 0..50 {
        let _ = write!(
            s,
            "- name: eks-{{{{stage}}}}-{{{{region}}}}-suite{m}\n  matrix: {{stage: [beta, prod], region: [us-east-1, us-west-2]}}\n  cron: '0 {} * * *'\n  labels: {{stage: '{{{{stage}}}}'}}\n  spec:\n    containers:\n    - image: conformance:latest\n      command: [/run.sh]\n      args: ['--stage={{{{stage}}}}', '--region={{{{region}}}}']\n",
            m % 24
        );
    }
    s
}

fn generate() -> Vec<SourceFile> {
    let mut files = vec![SourceFile {
        path: "config.yaml".into(),
        text: config_yaml(),
        role: FileRole::ProwConfig,
    }];
    for r in 0..REPOS {
        files.push(SourceFile {
            path: format!("jobs/repo{r}.yaml"),
            text: repo_yaml(r),
            role: FileRole::JobConfig,
        });
    }
    files.push(SourceFile {
        path: "jobs/periodics.yaml".into(),
        text: periodics_yaml(),
        role: FileRole::JobConfig,
    });
    files
}

fn write_out(files: &[SourceFile], dir: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target")
        .join(dir);
    for f in files {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, &f.text);
    }
}

fn job_count(loaded: &skiff_core::config::Loaded) -> usize {
    loaded.config.jobs.presubmit_count()
        + loaded.config.jobs.postsubmit_count()
        + loaded.config.jobs.periodics.len()
}

fn bench(c: &mut Criterion) {
    let files = generate();
    let loaded = load(&files);
    assert_eq!(job_count(&loaded), 5_000, "{}", loaded.summary());
    assert!(
        !loaded.has_errors(),
        "{:#?}",
        &loaded.diagnostics[..5.min(loaded.diagnostics.len())]
    );
    write_out(&files, "bench-config");
    let bytes: usize = files.iter().map(|f| f.text.len()).sum();
    eprintln!(
        "generated: {} ({} files, {bytes} bytes of YAML)",
        loaded.summary(),
        files.len()
    );

    let mut group = c.benchmark_group("config");
    group.sample_size(20);
    group.bench_function("load_validate_5000_jobs_200_repos", |b| {
        b.iter(|| black_box(load(black_box(&files))))
    });
    group.finish();
}

/// The test-infra-shaped config, whole and by phase: YAML parsing alone (the
/// tree with marks), then load + validate (what `skiff check-config` spends).
fn bench_testinfra(c: &mut Criterion) {
    let files = testinfra::generate();
    let loaded = load(&files);
    let jobs = job_count(&loaded);
    assert!((3_700..=3_900).contains(&jobs), "{}", loaded.summary());
    assert!(
        !loaded.has_errors(),
        "{:#?}",
        &loaded.diagnostics[..5.min(loaded.diagnostics.len())]
    );
    write_out(&files, "bench-config-testinfra");
    let bytes: usize = files.iter().map(|f| f.text.len()).sum();
    assert!(
        (5_500_000..=7_000_000).contains(&bytes),
        "{bytes} bytes of YAML"
    );
    eprintln!(
        "generated (test-infra shape): {} ({} files, {bytes} bytes of YAML)",
        loaded.summary(),
        files.len()
    );

    let mut group = c.benchmark_group("testinfra");
    group.sample_size(10);
    group.bench_function("yaml_parse_605_files", |b| {
        b.iter(|| {
            for f in &files {
                let _ = black_box(skiff_core::yaml::parse(black_box(&f.text)));
            }
        })
    });
    // Without freeing the result: `skiff check-config` exits without
    // freeing it either. The whole config, as `plan` and `config push` load it…
    group.bench_function("load_validate_3800_jobs_605_files", |b| {
        b.iter_with_large_drop(|| load(black_box(&files)))
    });
    // …and as `check-config` does: each job's pod spec and decoration
    // dropped once checked (its peak memory: README "Benchmarks").
    group.bench_function("check_lean_3800_jobs_605_files", |b| {
        b.iter_with_large_drop(|| load_keeping(black_box(&files), Keep::WhatChecksRead))
    });
    // What a function does with the same config at cold start is
    // skiff-aws' `bundle_load` bench: no YAML, no validation.
    group.finish();
}

criterion_group!(benches, bench, bench_testinfra);
criterion_main!(benches);
