//! A config shaped like kubernetes/test-infra's (measured there: 605 files,
//! 3,849 jobs, ~6 MB): long pod specs with args, env, resources and security
//! contexts, testgrid annotations, extra_refs, decoration overrides, presets
//! in their own files, comments, and many files of a few jobs each. Generated
//! here so no file of test-infra is committed.
//!
//! Shared by `config_load` (load + validate, what `skiff check-config` does),
//! `skiff-aws`' `bundle_load` and `skiff-tests`' `cold_start` benches (the
//! same config as the JSON bundle a function loads at cold start), through
//! `#[path]`.

use std::fmt::Write;

use skiff_core::config::{FileRole, SourceFile};

pub const FILES: usize = 605;
const SIGS: [&str; 8] = [
    "node",
    "network",
    "storage",
    "release",
    "scalability",
    "cli",
    "apps",
    "auth",
];

fn config_yaml() -> String {
    let mut s = String::from(
        "# Prow's config.yaml, test-infra style\nprowjob_namespace: default\npod_namespace: test-pods\nlog_level: info\nplank:\n  job_url_prefix_config:\n    '*': https://prow.example.io/view/\n  report_templates:\n    '*': '[Full PR test history](https://prow.example.io/pr-history?org={{.Spec.Refs.Org}}&repo={{.Spec.Refs.Repo}}&pr={{with index .Spec.Refs.Pulls 0}}{{.Number}}{{end}})'\n  default_decoration_config_entries:\n  - config:\n      timeout: 2h\n      grace_period: 15m\n      utility_images:\n        clonerefs: gcr.io/k8s-prow/clonerefs:v20240101-abc\n        initupload: gcr.io/k8s-prow/initupload:v20240101-abc\n        entrypoint: gcr.io/k8s-prow/entrypoint:v20240101-abc\n        sidecar: gcr.io/k8s-prow/sidecar:v20240101-abc\n      gcs_configuration:\n        bucket: s3://kubernetes-jenkins\n        path_strategy: legacy\n        default_org: kubernetes\n        default_repo: kubernetes\n      resources:\n        clonerefs: {requests: {cpu: 100m}}\n        initupload: {requests: {cpu: 100m}}\n        place_entrypoint: {requests: {cpu: 100m}}\n        sidecar: {requests: {cpu: 100m}}\n  - repo: kubernetes-sigs\n    config:\n      timeout: 3h\ntide:\n  sync_period: 2m\n  queries:\n",
    );
    for q in 0..60 {
        let _ = write!(
            s,
            "  - repos:\n    - kubernetes/repo{q}\n    - kubernetes-sigs/repo{q}\n    labels: [lgtm, approved, 'cncf-cla: yes']\n    missingLabels: [do-not-merge, do-not-merge/hold, do-not-merge/work-in-progress, needs-rebase]\n"
        );
    }
    s
}

/// Presets, as test-infra keeps them: a few files of many.
fn presets_yaml(f: usize) -> String {
    let mut s = String::from("presets:\n");
    for p in 0..12 {
        let n = f * 12 + p;
        let _ = write!(
            s,
            "# preset {n}: credentials and tooling for a family of jobs\n- labels:\n    preset-{n}: \"true\"\n  env:\n  - name: GOOGLE_APPLICATION_CREDENTIALS_{n}\n    value: /etc/service-account/service-account.json\n  - name: E2E_GOOGLE_APPLICATION_CREDENTIALS_{n}\n    value: /etc/service-account/service-account.json\n  - name: CLOUDSDK_CORE_PROJECT_{n}\n    value: k8s-infra-e2e-{n}\n  volumes:\n  - name: service-{n}\n    secret:\n      secretName: service-account-{n}\n  volumeMounts:\n  - name: service-{n}\n    mountPath: /etc/service-{n}\n    readOnly: true\n"
        );
    }
    s
}

fn container(s: &mut String, indent: &str, j: usize, sig: &str) {
    let _ = write!(
        s,
        "{indent}containers:\n{indent}- image: gcr.io/k8s-staging-test-infra/kubekins-e2e:v20241128-8df65c072f-{}\n{indent}  command:\n{indent}  - runner.sh\n{indent}  args:\n{indent}  - kubetest2\n{indent}  - gce\n{indent}  - --v=2\n{indent}  - --up\n{indent}  - --down\n{indent}  - --test=ginkgo\n{indent}  - --\n{indent}  - --focus-regex=\\[sig-{sig}\\].*\\[Feature:F{j}\\]\n{indent}  - --skip-regex=\\[Slow\\]|\\[Serial\\]|\\[Disruptive\\]|\\[Flaky\\]\n{indent}  - --parallel=25\n{indent}  - --timeout=80m\n{indent}  env:\n{indent}  - name: GOPATH\n{indent}    value: /go\n{indent}  - name: KUBE_SSH_USER\n{indent}    value: prow\n{indent}  - name: BUILD_TYPE_{j}\n{indent}    value: quick\n{indent}  securityContext:\n{indent}    privileged: true\n{indent}  resources:\n{indent}    limits:\n{indent}      cpu: {c}\n{indent}      memory: {m}Gi\n{indent}    requests:\n{indent}      cpu: {c}\n{indent}      memory: {m}Gi\n",
        if j.is_multiple_of(3) {
            "master"
        } else {
            "1.31"
        },
        c = 1 + j % 4,
        m = 4 + j % 12,
    );
}

fn annotations(s: &mut String, indent: &str, name: &str, sig: &str) {
    let _ = write!(
        s,
        "{indent}annotations:\n{indent}  testgrid-dashboards: sig-{sig}-presubmits, sig-{sig}-master-informing\n{indent}  testgrid-tab-name: {name}\n{indent}  testgrid-alert-email: sig-{sig}-test-failures@example.io\n{indent}  description: Runs the sig-{sig} end-to-end suite for {name} against a fresh cluster\n"
    );
}

/// A job file for one repo: presubmits, postsubmits or periodics.
fn jobs_yaml(f: usize) -> String {
    let sig = SIGS[f % SIGS.len()];
    let org = if f.is_multiple_of(3) {
        "kubernetes"
    } else {
        "kubernetes-sigs"
    };
    let repo = format!("repo{}", f % 300);
    let mut s = format!("# Jobs for {org}/{repo}, owned by sig-{sig}.\n");
    let kind = f % 8;
    let n = if f.is_multiple_of(97) { 40 } else { 6 };
    if kind < 5 {
        let _ = write!(s, "presubmits:\n  {org}/{repo}:\n");
        for j in 0..n {
            let name = format!("pull-{repo}-f{f}-e2e-{j}");
            let trigger = match j % 3 {
                0 => "    always_run: true\n".to_string(),
                1 => format!(
                    "    run_if_changed: '^(test/e2e/{sig}/|pkg/{sig}{j}/|cmd/kube-{sig}/).*\\.go$'\n"
                ),
                _ => "    always_run: false\n    skip_if_only_changed: '^(docs|site)/|\\.md$|^(OWNERS|OWNERS_ALIASES|SECURITY_CONTACTS)$'\n".to_string(),
            };
            let _ = write!(
                s,
                "  - name: {name}\n    cluster: k8s-infra-prow-build\n{trigger}    optional: {}\n    skip_branches:\n    - release-\\d+\\.\\d+  # per-release jobs are generated\n    decorate: true\n    decoration_config:\n      timeout: {}m\n    path_alias: k8s.io/{repo}\n    max_concurrency: {}\n    extra_refs:\n    - org: kubernetes\n      repo: test-infra\n      base_ref: master\n      path_alias: k8s.io/test-infra\n    labels:\n      preset-{}: \"true\"\n      preset-k8s-ssh: \"true\"\n",
                j % 2 == 1,
                60 + (j % 5) * 10,
                (j % 4) * 5,
                (f + j) % 96,
            );
            annotations(&mut s, "    ", &name, sig);
            s.push_str("    spec:\n");
            container(&mut s, "      ", j, sig);
        }
    } else if kind < 6 {
        let _ = write!(s, "postsubmits:\n  {org}/{repo}:\n");
        for j in 0..n {
            let name = format!("post-{repo}-f{f}-push-{j}");
            let _ = write!(
                s,
                "  - name: {name}\n    cluster: k8s-infra-prow-build-trusted\n    branches:\n    - ^main$\n    - ^release-\\d+\\.\\d+$\n    run_if_changed: '^images/{j}/'\n    decorate: true\n    labels:\n      preset-{}: \"true\"\n",
                (f + j) % 96
            );
            annotations(&mut s, "    ", &name, sig);
            s.push_str("    spec:\n      serviceAccountName: gcb-builder\n");
            container(&mut s, "      ", j, sig);
        }
    } else {
        s.push_str("periodics:\n");
        for j in 0..n {
            let name = format!("ci-{repo}-f{f}-e2e-{j}");
            let schedule = match j % 3 {
                0 => format!("cron: '{} */6 * * *'  # every 6 hours", (f + j) % 60),
                1 => format!("interval: {}h", 1 + j % 12),
                _ => format!("minimum_interval: {}h", 2 + j % 6),
            };
            let _ = write!(
                s,
                "- name: {name}\n  cluster: k8s-infra-prow-build\n  {schedule}\n  decorate: true\n  decoration_config:\n    timeout: 3h\n  extra_refs:\n  - org: {org}\n    repo: {repo}\n    base_ref: main\n    path_alias: k8s.io/{repo}\n  - org: kubernetes\n    repo: test-infra\n    base_ref: master\n    path_alias: k8s.io/test-infra\n  labels:\n    preset-{}: \"true\"\n",
                (f + j) % 96
            );
            annotations(&mut s, "  ", &name, sig);
            s.push_str("  spec:\n");
            container(&mut s, "    ", j, sig);
        }
    }
    s
}

pub fn generate() -> Vec<SourceFile> {
    let mut files = vec![SourceFile {
        path: "config.yaml".into(),
        text: config_yaml(),
        role: FileRole::ProwConfig,
    }];
    for f in 0..8 {
        files.push(SourceFile {
            path: format!("jobs/presets/presets-{f}.yaml"),
            text: presets_yaml(f),
            role: FileRole::JobConfig,
        });
    }
    for f in 9..FILES {
        files.push(SourceFile {
            path: format!("jobs/{}/f{f}.yaml", SIGS[f % SIGS.len()]),
            text: jobs_yaml(f),
            role: FileRole::JobConfig,
        });
    }
    files
}
