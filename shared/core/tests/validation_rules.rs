//! One test per validation rule: a broken config and the exact diagnostic —
//! file, line, column, field path and message — that `skiff check-config` prints.

use skiff_core::config::{FileRole, Keep, Loaded, SourceFile, load, load_keeping};
use skiff_core::diagnostics::Severity;

const PROW_CONFIG: &str = "plank:\n  job_queue_capacities: {gpu: 2}\n";

/// Loads `jobs` as `jobs.yaml` beside a small config.yaml and returns every
/// error and warning, formatted as the CLI prints them.
fn problems(jobs: &str) -> Vec<String> {
    problems_with(PROW_CONFIG, jobs)
}

/// Also asserts that `check-config`'s lean load (each job's pod spec and
/// decoration dropped once checked) finds exactly the same problems.
fn problems_with(config: &str, jobs: &str) -> Vec<String> {
    let files = [
        SourceFile {
            path: "config.yaml".into(),
            text: config.into(),
            role: FileRole::ProwConfig,
        },
        SourceFile {
            path: "jobs.yaml".into(),
            text: jobs.into(),
            role: FileRole::JobConfig,
        },
    ];
    let shown = |loaded: Loaded| -> Vec<String> {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .map(ToString::to_string)
            .collect()
    };
    let full = shown(load(&files));
    let lean = shown(load_keeping(&files, Keep::WhatChecksRead));
    assert_eq!(
        full, lean,
        "the lean load of check-config found other problems"
    );
    full
}

#[test]
fn a_lean_load_keeps_what_the_summary_and_clash_checks_read_and_drops_pod_specs() {
    let jobs = format!(
        "presubmits:\n  o/r:\n  - name: a\n    decorate: true\n{}periodics:\n- name: p\n  interval: 1h\n{SPEC}",
        SPEC.replace("  spec", "    spec")
    );
    let files = [SourceFile {
        path: "jobs.yaml".into(),
        text: jobs,
        role: FileRole::JobConfig,
    }];
    let full = load(&files);
    let lean = load_keeping(&files, Keep::WhatChecksRead);
    assert_eq!(full.summary(), lean.summary());
    let (f, l) = (&full.config.jobs, &lean.config.jobs);
    assert!(f.presubmits["o/r"][0].base.spec.is_some());
    assert!(f.presubmits["o/r"][0].utility.decoration_config.is_some());
    assert!(f.periodics[0].base.spec.is_some());
    assert!(l.presubmits["o/r"][0].base.spec.is_none());
    assert!(l.presubmits["o/r"][0].utility.decoration_config.is_none());
    assert!(l.periodics[0].base.spec.is_none());
    assert_eq!(l.presubmits["o/r"][0].reporter.context, "a");
    assert_eq!(l.periodics[0].base.name, "p");
}

/// Asserts the config produces exactly these problems.
macro_rules! rule {
    ($name:ident, $jobs:expr, [$($want:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            let got = problems($jobs);
            let want: Vec<&str> = vec![$($want),*];
            assert_eq!(got, want, "\n--- got:\n{}\n", got.join("\n"));
        }
    };
}

const SPEC: &str = "  spec: {containers: [{image: alpine, command: [/bin/true]}]}\n";

rule!(
    valid_config_has_no_problems,
    &format!("periodics:\n- name: ok\n  interval: 1h\n{SPEC}"),
    []
);

rule!(
    name_must_match_prows_pattern,
    &format!("periodics:\n- name: 'bad name!'\n  interval: 1h\n{SPEC}"),
    [r#"jobs.yaml:2:9: error: periodics[0].name: name "bad name!" must match ^[A-Za-z0-9-._]+$"#]
);

rule!(
    name_is_required,
    &format!("periodics:\n- interval: 1h\n{SPEC}"),
    ["jobs.yaml:2:3: error: periodics[0]: name is required"]
);

rule!(
    always_run_and_run_if_changed_are_exclusive,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    always_run: true\n    run_if_changed: '^docs/'\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:5:21: error: presubmits.o/r[0].run_if_changed: always_run and run_if_changed are mutually exclusive"
    ]
);

rule!(
    always_run_and_skip_if_only_changed_are_exclusive,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    always_run: true\n    skip_if_only_changed: '^docs/'\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:5:27: error: presubmits.o/r[0].skip_if_only_changed: always_run and skip_if_only_changed are mutually exclusive"
    ]
);

rule!(
    run_if_changed_and_skip_if_only_changed_are_exclusive,
    &format!(
        "postsubmits:\n  o/r:\n  - name: a\n    run_if_changed: x\n    skip_if_only_changed: y\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:5:27: error: postsubmits.o/r[0].skip_if_only_changed: run_if_changed and skip_if_only_changed are mutually exclusive"
    ]
);

rule!(
    postsubmit_always_run_excludes_change_matchers,
    &format!(
        "postsubmits:\n  o/r:\n  - name: a\n    always_run: true\n    run_if_changed: x\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:5:21: error: postsubmits.o/r[0].run_if_changed: always_run and run_if_changed are mutually exclusive"
    ]
);

rule!(
    trigger_and_rerun_command_go_together,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    rerun_command: /go a\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:4:20: error: presubmits.o/r[0].rerun_command: `rerun_command` is set but `trigger` is not: set both or neither"
    ]
);

rule!(
    rerun_command_must_match_trigger,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    trigger: '(?m)^/go a$'\n    rerun_command: /test a\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        r#"jobs.yaml:5:20: error: presubmits.o/r[0].rerun_command: rerun_command "/test a" does not match trigger "(?m)^/go a$""#
    ]
);

rule!(
    trigger_must_be_a_valid_regex,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    trigger: '(/go'\n    rerun_command: /go\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:4:14: error: presubmits.o/r[0].trigger: invalid regex: regex parse error: (/go ^ error: unclosed group"
    ]
);

rule!(
    branches_must_be_valid_regexes,
    &format!(
        "postsubmits:\n  o/r:\n  - name: a\n    branches: ['release-[']\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:4:5: error: postsubmits.o/r[0].branches: invalid regex: regex parse error: release-[ ^ error: unclosed character class"
    ]
);

rule!(
    run_if_changed_must_be_a_valid_regex,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    run_if_changed: '*.go'\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:4:21: error: presubmits.o/r[0].run_if_changed: invalid regex: regex parse error: *.go ^ error: repetition operator missing expression"
    ]
);

rule!(
    exactly_one_of_cron_interval_minimum_interval,
    &format!("periodics:\n- name: a\n  cron: '@daily'\n  interval: 1h\n{SPEC}"),
    [
        "jobs.yaml:4:13: error: periodics[0].interval: cron and interval are mutually exclusive: set exactly one of cron, interval, minimum_interval"
    ]
);

rule!(
    one_of_cron_interval_minimum_interval_is_required,
    &format!("periodics:\n- name: a\n{SPEC}"),
    [
        "jobs.yaml:2:3: error: periodics[0]: at least one of cron, interval, or minimum_interval must be set"
    ]
);

rule!(
    cron_must_parse_as_robfig_does,
    &format!("periodics:\n- name: a\n  cron: '0 0 * * 7'\n{SPEC}"),
    [
        r#"jobs.yaml:3:9: error: periodics[0].cron: invalid cron "0 0 * * 7": invalid day-of-week field "7": 7 is above the maximum 6 (day-of-week is 0-6, Sunday is 0; 7 is not accepted, use 0 or SUN)"#
    ]
);

rule!(
    durations_use_go_syntax,
    &format!("periodics:\n- name: a\n  minimum_interval: 1d\n{SPEC}"),
    [
        r#"jobs.yaml:3:21: error: periodics[0].minimum_interval: unknown unit "d" in duration "1d" (valid units: ns, us, ms, s, m, h); Go durations have no days: write 24h"#
    ]
);

rule!(
    retry_interval_is_a_go_duration,
    &format!(
        "periodics:\n- name: a\n  interval: 1h\n  retry: {{attempts: 3, interval: 5 minutes}}\n{SPEC}"
    ),
    [
        r#"jobs.yaml:4:34: error: periodics[0].retry.interval: unknown unit " minutes" in duration "5 minutes" (valid units: ns, us, ms, s, m, h)"#
    ]
);

rule!(
    periodic_names_are_unique,
    &format!("periodics:\n- name: a\n  interval: 1h\n{SPEC}- name: a\n  interval: 2h\n{SPEC}"),
    [
        "jobs.yaml:5:9: error: periodics[1].name: duplicated periodic job `a` (first defined at jobs.yaml:2:3)"
    ]
);

rule!(
    same_name_is_allowed_on_disjoint_branches,
    &format!(
        "presubmits:\n  o/r:\n  - name: unit\n    branches: [release-1.1]\n{s}  - name: unit\n    branches: [release-1.2]\n    context: unit-1.2\n{s}",
        s = SPEC.replace("  spec", "    spec")
    ),
    []
);

rule!(
    same_name_on_intersecting_branches_is_an_error,
    &format!(
        "presubmits:\n  o/r:\n  - name: unit\n    branches: [main]\n{s}  - name: unit\n    skip_branches: [release]\n    context: other\n{s}",
        s = SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:6:11: error: presubmits.o/r[1].name: duplicated presubmit job `unit`: its branches intersect with the job of the same name at jobs.yaml:3:5 (split jobs by release branch with non-overlapping `branches`)"
    ]
);

rule!(
    context_is_unique_among_intersecting_branchers,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n{s}  - name: b\n    context: a\n{s}",
        s = SPEC.replace("  spec", "    spec")
    ),
    [
        r#"jobs.yaml:6:14: error: presubmits.o/r[1].context: jobs a and b report to the same GitHub context "a""#
    ]
);

rule!(
    kubernetes_jobs_need_a_spec,
    "periodics:\n- name: a\n  interval: 1h\n",
    ["jobs.yaml:2:3: error: periodics[0]: kubernetes jobs require a spec"]
);

rule!(
    tekton_jobs_need_a_pipeline_run_spec,
    "periodics:\n- name: a\n  interval: 1h\n  agent: tekton-pipeline\n",
    [
        "jobs.yaml:4:10: error: periodics[0].agent: agent tekton-pipeline jobs require a pipeline_run_spec"
    ]
);

rule!(
    max_concurrency_is_non_negative,
    &format!("periodics:\n- name: a\n  interval: 1h\n  max_concurrency: -2\n{SPEC}"),
    ["jobs.yaml:4:20: error: periodics[0].max_concurrency: -2 must be a non-negative number"]
);

rule!(
    job_queue_name_must_be_configured,
    &format!("periodics:\n- name: a\n  interval: 1h\n  job_queue_name: gpus\n{SPEC}"),
    [
        r#"jobs.yaml:4:19: error: periodics[0].job_queue_name: job queue "gpus" is not a key of plank.job_queue_capacities — did you mean `gpu`?"#
    ]
);

rule!(
    label_values_must_be_valid_for_kubernetes,
    &format!("periodics:\n- name: a\n  interval: 1h\n  labels: {{team: 'a b'}}\n{SPEC}"),
    [
        r#"jobs.yaml:4:18: error: periodics[0].labels.team: label team has invalid value "a b": [a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]"#
    ]
);

rule!(
    decoration_labels_are_reserved,
    &format!("periodics:\n- name: a\n  interval: 1h\n  labels: {{prow.k8s.io/type: x}}\n{SPEC}"),
    [
        "jobs.yaml:4:30: error: periodics[0].labels.prow.k8s.io/type: label prow.k8s.io/type is reserved for decoration"
    ]
);

rule!(
    prow_env_names_are_reserved,
    "periodics:\n- name: a\n  interval: 1h\n  spec:\n    containers:\n    - image: x\n      env: [{name: BUILD_ID, value: '1'}]\n",
    [
        "jobs.yaml:7:20: error: periodics[0].spec.containers[0].env[0].name: env BUILD_ID is reserved: Prow sets it"
    ]
);

rule!(
    volume_mounts_must_name_a_volume,
    "periodics:\n- name: a\n  interval: 1h\n  spec:\n    containers:\n    - image: x\n      volumeMounts: [{name: cache, mountPath: /cache}]\n",
    [
        r#"jobs.yaml:7:22: error: periodics[0].spec.containers[0].volumeMounts[0]: volumeMount named "cache" is undefined"#
    ]
);

rule!(
    several_containers_need_decoration,
    "periodics:\n- name: a\n  interval: 1h\n  spec:\n    containers: [{name: a, image: x}, {name: b, image: y}]\n",
    [
        "jobs.yaml:5:5: error: periodics[0].spec.containers: pod utility decoration must be enabled to use multiple containers: 2"
    ]
);

rule!(
    decorated_jobs_need_utility_images_and_storage,
    &format!("periodics:\n- name: a\n  interval: 1h\n  decorate: true\n{SPEC}"),
    [
        "jobs.yaml:4:13: error: periodics[0].decorate: invalid decoration config: GCS upload configuration is not specified (gcs_configuration)",
        "jobs.yaml:4:13: error: periodics[0].decorate: invalid decoration config: utility image config is not specified (set plank.default_decoration_config_entries or decoration_config.utility_images)"
    ]
);

/// A decorated periodic: `{images}` and `{gcs}` are the flow mappings of
/// `utility_images` and `gcs_configuration`, `{more}` more lines of
/// `decoration_config`, `{job}` more lines of the job.
fn decorated(images: &str, gcs: &str, more: &str, job: &str) -> String {
    format!(
        "periodics:\n- name: a\n  interval: 1h\n  decorate: true\n{job}  decoration_config:\n    utility_images: {images}\n    gcs_configuration: {gcs}\n{more}{SPEC}"
    )
}

const IMAGES: &str = "{clonerefs: c, initupload: i, entrypoint: e, sidecar: s}";
const GCS: &str = "{bucket: s3://logs, path_strategy: explicit}";

rule!(
    a_complete_decoration_config_has_no_problems,
    &decorated(IMAGES, GCS, "", "  path_alias: k8s.io/a\n"),
    []
);

rule!(
    every_utility_image_must_be_set,
    &decorated("{clonerefs: c, entrypoint: e}", GCS, "", ""),
    [
        "jobs.yaml:6:5: error: periodics[0].decoration_config.utility_images: invalid decoration config: the following utility images are not specified: initupload, sidecar"
    ]
);

rule!(
    unknown_utility_image_keys_are_errors_not_warnings,
    &decorated(
        "{clonerefs: c, initupload: i, entrypoint: e, sidecar: s, sidcar: t}",
        GCS,
        "",
        ""
    ),
    [
        "jobs.yaml:6:78: error: periodics[0].decoration_config.utility_images.sidcar: unknown utility image `sidcar` — did you mean `sidecar`? (known: clonerefs, initupload, entrypoint, sidecar); Prow ignores it, so the utility it was meant for runs another image or none",
        "jobs.yaml:6:78: warning: periodics[0].decoration_config.utility_images.sidcar: unknown field `sidcar` — did you mean `sidecar`? (Prow ignores it silently)"
    ]
);

#[test]
fn unknown_utility_image_keys_in_the_defaults_are_errors() {
    let config = "plank:\n  default_decoration_config_entries:\n  - config:\n      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s, entrypont: x}\n";
    let got = problems_with(config, "");
    assert_eq!(
        got,
        vec![
            "config.yaml:4:80: error: plank.default_decoration_config_entries[0].config.utility_images.entrypont: unknown utility image `entrypont` — did you mean `entrypoint`? (known: clonerefs, initupload, entrypoint, sidecar); Prow ignores it, so the utility it was meant for runs another image or none",
            "config.yaml:4:80: warning: plank.default_decoration_config_entries[0].config.utility_images.entrypont: unknown field `entrypont` — did you mean `entrypoint`? (Prow ignores it silently)",
        ],
        "\n{}",
        got.join("\n")
    );
}

rule!(
    the_upload_bucket_is_required,
    &decorated(IMAGES, "{path_strategy: explicit}", "", ""),
    [
        "jobs.yaml:7:5: error: periodics[0].decoration_config.gcs_configuration.bucket: invalid decoration config: gcs_configuration.bucket is not set: the pod utilities would have nowhere to upload (set s3://<bucket> or gs://<bucket>)"
    ]
);

rule!(
    a_bucket_url_must_name_a_bucket,
    &decorated(IMAGES, "{bucket: 's3://', path_strategy: explicit}", "", ""),
    [
        r#"jobs.yaml:7:33: error: periodics[0].decoration_config.gcs_configuration.bucket: invalid decoration config: gcs_configuration.bucket "s3://" names no bucket: expected <bucket>[/<path>] or <scheme>://<bucket>[/<path>]"#
    ]
);

rule!(
    upload_media_types_must_parse,
    &decorated(
        IMAGES,
        "{bucket: s3://logs, path_strategy: explicit, mediaTypes: {log: 'text/'}}",
        "",
        ""
    ),
    [
        r#"jobs.yaml:7:87: error: periodics[0].decoration_config.gcs_configuration.mediaTypes.log: invalid decoration config: invalid extension media type "text/" for "log": expected token after slash"#
    ]
);

rule!(
    oauth_token_and_ssh_keys_are_exclusive,
    &decorated(
        IMAGES,
        GCS,
        "    oauth_token_secret: {name: token, key: oauth}\n    ssh_key_secrets: [deploy-key]\n",
        ""
    ),
    [
        "jobs.yaml:8:5: error: periodics[0].decoration_config.oauth_token_secret: invalid decoration config: both OAuth token and SSH key secrets are specified: clonerefs uses one or the other"
    ]
);

rule!(
    path_alias_may_not_be_absolute,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    path_alias: /etc/widgets\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        r#"jobs.yaml:4:17: error: presubmits.o/r[0].path_alias: path_alias "/etc/widgets" is absolute: it must be a relative path under $GOPATH/src (such as k8s.io/test-infra)"#
    ]
);

rule!(
    an_extra_ref_path_alias_may_not_leave_gopath_src,
    &decorated(
        IMAGES,
        GCS,
        "",
        "  extra_refs:\n  - {org: o, repo: r, base_ref: main, path_alias: 'k8s.io/../../../etc'}\n"
    ),
    [
        r#"jobs.yaml:6:51: error: periodics[0].extra_refs[0].path_alias: path_alias "k8s.io/../../../etc" leaves $GOPATH/src through `..`: it must be a relative path under $GOPATH/src (such as k8s.io/test-infra)"#
    ]
);

rule!(
    preset_env_may_not_collide_with_the_job,
    "presets:\n- labels: {p: x}\n  env: [{name: A, value: '1'}]\nperiodics:\n- name: a\n  interval: 1h\n  labels: {p: x}\n  spec:\n    containers: [{image: x, env: [{name: A, value: '2'}]}]\n",
    [
        "jobs.yaml:8:3: error: periodics[0].spec: merging the preset at jobs.yaml:2:3: env var duplicated in pod spec: A"
    ]
);

rule!(
    preset_label_pairs_are_unique,
    "presets:\n- labels: {p: x}\n- labels: {p: x}\n",
    [
        "jobs.yaml:3:15: error: presets[1].labels.p: duplicated preset 'label:value' pair p:x (also at jobs.yaml:2:15)"
    ]
);

rule!(
    unknown_fields_are_warnings_with_a_suggestion,
    &format!(
        "presubmits:\n  o/r:\n  - name: a\n    run_if_chagned: x\n{}",
        SPEC.replace("  spec", "    spec")
    ),
    [
        "jobs.yaml:4:5: warning: presubmits.o/r[0].run_if_chagned: unknown field `run_if_chagned` — did you mean `run_if_changed`? (Prow ignores it silently)"
    ]
);

rule!(
    unknown_fields_inside_the_pod_spec_are_warnings,
    "periodics:\n- name: a\n  interval: 1h\n  spec:\n    containers:\n    - image: x\n      comand: [a]\n",
    [
        "jobs.yaml:7:7: warning: periodics[0].spec.containers[0].comand: unknown field `comand` — did you mean `command`? (Prow ignores it silently)"
    ]
);

rule!(
    type_errors_point_at_the_value,
    &format!("periodics:\n- name: a\n  interval: 1h\n  max_concurrency: many\n{SPEC}"),
    [
        r#"jobs.yaml:4:20: error: periodics[0].max_concurrency: expected an integer (i64), found "many""#
    ]
);

rule!(
    yaml_syntax_errors_have_a_position,
    "periodics:\n- name: a\n  labels: {a: b\n",
    [
        "jobs.yaml:4:1: error: YAML syntax error: while parsing a flow mapping, did not find expected ',' or '}'"
    ]
);

rule!(
    duplicate_keys_are_warnings,
    &format!("periodics:\n- name: a\n  interval: 1h\n  interval: 2h\n{SPEC}"),
    [
        "jobs.yaml:4:3: warning: interval: duplicate key `interval`: the later value wins (as in Prow), the earlier one is ignored"
    ]
);

rule!(
    unknown_top_level_keys_are_warnings,
    &format!("periodic:\n- name: a\n  interval: 1h\n{SPEC}"),
    [
        "jobs.yaml:1:1: warning: periodic: unknown job config key `periodic` — did you mean `periodics`? (Prow ignores it silently)"
    ]
);

rule!(
    repos_are_keyed_by_org_slash_repo,
    "presubmits:\n  widgets: []\n",
    [
        "jobs.yaml:2:3: error: presubmits.widgets: `widgets` is not an org/repo: presubmits are keyed by `org/repo`"
    ]
);

rule!(
    matrix_errors_name_the_template_line,
    &format!(
        "periodics:\n- name: e2e-{{{{region}}}}\n  matrix: {{region: [a, b]}}\n  interval: 1h\n  cluster: '{{{{regin}}}}'\n{SPEC}"
    ),
    [
        "jobs.yaml:5:12: error: periodics[0].cluster: unknown matrix variable `{{regin}}`; this job's matrix defines region"
    ]
);

#[test]
fn matrix_validation_errors_name_the_combination() {
    let config = "skiff:\n  clusters:\n    eks-us-east-1: {eks: {region: us-east-1, name: c}}\n";
    let jobs = format!(
        "periodics:\n- name: e2e-{{{{region}}}}\n  matrix: {{region: [us-east-1, eu-west-9]}}\n  interval: 1h\n  cluster: eks-{{{{region}}}}\n{SPEC}"
    );
    assert_eq!(
        problems_with(config, &jobs),
        vec![
            r#"jobs.yaml:5:12: error: periodics[0].cluster: cluster "eks-eu-west-9" is not defined in skiff.clusters (eks-us-east-1) — did you mean `eks-us-east-1`? (matrix region=eu-west-9)"#
        ]
    );
}

#[test]
fn every_problem_in_every_file_is_reported_in_one_run() {
    let bad = |n: usize| SourceFile {
        path: format!("jobs/bad{n}.yaml"),
        text: format!(
            "periodics:\n- name: bad{n}\n  cron: 'nope'\n{SPEC}- name: 'x y{n}'\n  interval: 1h\n{SPEC}"
        ),
        role: FileRole::JobConfig,
    };
    let files: Vec<SourceFile> = (0..5).map(bad).collect();
    let loaded = load(&files);
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 10, "{errors:#?}");
    for n in 0..5 {
        let file = format!("jobs/bad{n}.yaml");
        assert!(
            errors
                .iter()
                .any(|d| d.file == file && d.field.ends_with(".cron"))
        );
        assert!(
            errors
                .iter()
                .any(|d| d.file == file && d.field.ends_with(".name"))
        );
    }
}

#[test]
fn legacy_and_new_default_decoration_configs_are_exclusive() {
    let config = "plank:\n  default_decoration_configs:\n    '*': {timeout: 1h}\n  default_decoration_config_entries:\n  - config: {timeout: 2h}\n";
    assert_eq!(
        problems_with(config, ""),
        vec![
            "config.yaml:2:3: error: plank.default_decoration_configs: plank.default_decoration_configs and plank.default_decoration_config_entries are mutually exclusive: use one or the other"
        ]
    );
}

#[test]
fn github_reporter_reports_only_presubmits_and_postsubmits() {
    let config = "github_reporter:\n  job_types_to_report: [presubmit, periodic]\n";
    assert_eq!(
        problems_with(config, ""),
        vec![
            "config.yaml:2:36: error: github_reporter.job_types_to_report[1]: invalid job_types_to_report: periodic: only presubmit and postsubmit can be reported to GitHub"
        ]
    );
}

#[test]
fn a_build_cluster_is_exactly_one_kind() {
    let config =
        "skiff:\n  clusters:\n    both:\n      local: true\n      eks: {region: r, name: n}\n";
    assert_eq!(
        problems_with(config, ""),
        vec![
            r#"config.yaml:3:5: error: skiff.clusters.both: cluster "both" must set exactly one of eks, kubeconfig, in_cluster or local (found 2)"#
        ]
    );
}

// Prow validates a decoration config wherever one is written: a job that
// only wants a per-job plank timeout still gets its pod decorated, so the
// config must be complete.
rule!(
    a_decoration_config_on_an_undecorated_job_is_validated_too,
    &format!(
        "periodics:\n- name: a\n  interval: 1h\n  decoration_config: {{pod_running_timeout: 2s}}\n{SPEC}"
    ),
    [
        "jobs.yaml:4:3: error: periodics[0].decoration_config: invalid decoration config: GCS upload configuration is not specified (gcs_configuration)",
        "jobs.yaml:4:3: error: periodics[0].decoration_config: invalid decoration config: utility image config is not specified (set plank.default_decoration_config_entries or decoration_config.utility_images)"
    ]
);

// --- agent: jenkins (Prow's jenkins_operators, Skiff's skiff.jenkins) -----

const JENKINS_JOB: &str = "periodics:\n- name: unit\n  interval: 1h\n  agent: jenkins\n";

/// A single operator and its Jenkins: the valid base the cases below break.
const ONE_OPERATOR: &str = "jenkins_operators:\n- max_concurrency: 2\nskiff:\n  jenkins:\n  - url: https://ci.example.com\n    user: prow\n    token_file: /etc/jenkins/token\n";

/// Each case: config.yaml, jobs.yaml, and exactly the problems they make.
#[test]
fn jenkins_operators_and_their_jenkins_must_match() {
    let two = "jenkins_operators:\n- label_selector: master=a\n- label_selector: master=b\nskiff:\n  jenkins:\n  - label_selector: master=a\n    url: https://a.example\n  - label_selector: master=b\n    url: https://b.example\n";
    let labelled = |master: &str| format!("{JENKINS_JOB}  labels:\n    master: {master}\n");
    let cases: Vec<(&str, String, String, Vec<&str>)> = vec![
        (
            "one operator with its Jenkins runs every jenkins job",
            ONE_OPERATOR.into(),
            JENKINS_JOB.into(),
            vec![],
        ),
        (
            "several operators select by label",
            two.into(),
            labelled("b"),
            vec![],
        ),
        (
            "a jenkins job without any operator",
            String::new(),
            JENKINS_JOB.into(),
            vec![
                "jobs.yaml:4:10: error: periodics[0].agent: agent jenkins needs a jenkins_operators entry in config.yaml (and a skiff.jenkins entry saying where its Jenkins is)",
            ],
        ),
        (
            "a jenkins job no operator selects",
            two.into(),
            labelled("c"),
            vec![
                r#"jobs.yaml:4:10: error: periodics[0].agent: no jenkins_operators label_selector selects this job's labels ("master=a", "master=b"): add the operator's label under labels:"#,
            ],
        ),
        (
            "an operator without its Jenkins",
            "jenkins_operators:\n- max_concurrency: 1\n".into(),
            String::new(),
            vec![
                r#"config.yaml:2:3: error: jenkins_operators[0]: no skiff.jenkins entry has label_selector "": add one saying where this operator's Jenkins is (url, user, token_file or token_secret_arn)"#,
            ],
        ),
        (
            "a Jenkins without its operator",
            "jenkins_operators:\n- label_selector: master=a\n- label_selector: master=b\nskiff:\n  jenkins:\n  - label_selector: master=a\n    url: https://a.example\n  - label_selector: master=b\n    url: https://b.example\n  - label_selector: master=c\n    url: https://c.example\n".into(),
            String::new(),
            vec![
                r#"config.yaml:10:21: error: skiff.jenkins[2].label_selector: no jenkins_operators entry has label_selector "master=c" (they have: "master=a", "master=b")"#,
            ],
        ),
        (
            "a single operator takes no selector (Prow)",
            "jenkins_operators:\n- label_selector: master=a\nskiff:\n  jenkins:\n  - label_selector: master=a\n    url: https://a.example\n".into(),
            String::new(),
            vec![
                "config.yaml:2:19: error: jenkins_operators[0].label_selector: label_selector is invalid when used for a single jenkins-operator (Prow refuses it): remove it here and in skiff.jenkins",
            ],
        ),
        (
            "several operators each need a selector",
            "jenkins_operators:\n- max_concurrency: 1\n- label_selector: master=b\nskiff:\n  jenkins:\n  - url: https://a.example\n  - label_selector: master=b\n    url: https://b.example\n".into(),
            String::new(),
            vec![
                "config.yaml:2:3: error: jenkins_operators[0].label_selector: selector overlap: cannot use an empty label_selector with multiple jenkins_operators",
            ],
        ),
        (
            "a selector that does not parse",
            "jenkins_operators:\n- label_selector: master in (a\n- label_selector: master=b\nskiff:\n  jenkins:\n  - label_selector: master in (a\n    url: https://a.example\n  - label_selector: master=b\n    url: https://b.example\n".into(),
            String::new(),
            vec![
                r#"config.yaml:2:19: error: jenkins_operators[0].label_selector: invalid label selector "master in (a": a `(` without its `)`"#,
            ],
        ),
        (
            "negative limits",
            "jenkins_operators:\n- max_concurrency: -1\n  max_goroutines: -2\nskiff:\n  jenkins:\n  - url: https://a.example\n".into(),
            String::new(),
            vec![
                "config.yaml:2:20: error: jenkins_operators[0].max_concurrency: controller has invalid max_concurrency (-1), it needs to be a non-negative number",
                "config.yaml:3:19: error: jenkins_operators[0].max_goroutines: controller has invalid max_goroutines (-2), it needs to be a positive number",
            ],
        ),
        (
            "a Jenkins URL, one token source, and auth that adds up",
            "jenkins_operators:\n- max_concurrency: 1\nskiff:\n  jenkins:\n  - url: ci.example.com\n    token_file: /t\n    token_secret_arn: arn:aws:secretsmanager:us-east-1:1:secret:t\n".into(),
            String::new(),
            vec![
                // A missing key is reported at its entry.
                "config.yaml:5:5: error: skiff.jenkins[0].user: basic auth needs a user: set user, or bearer: true if the token is a bearer token",
                r#"config.yaml:5:10: error: skiff.jenkins[0].url: "ci.example.com" is not a Jenkins URL: expected http(s)://host[/path]"#,
                "config.yaml:7:23: error: skiff.jenkins[0].token_secret_arn: token_file and token_secret_arn are exclusive: the token comes from one place",
            ],
        ),
        (
            "a job_url_template with actions Skiff cannot render",
            "jenkins_operators:\n- job_url_template: 'https://ci/{{if .Spec.Refs}}pr{{end}}'\nskiff:\n  jenkins:\n  - url: https://a.example\n".into(),
            String::new(),
            vec![
                "config.yaml:2:21: error: jenkins_operators[0].job_url_template: template: `{{if .Spec.Refs}}` is not supported: Skiff renders only field references (.ObjectMeta.Name, .Name, .Spec.Type, .Spec.Agent, .Spec.Cluster, .Spec.Job, .Spec.Context, .Spec.Refs.Org, .Spec.Refs.Repo, .Spec.Refs.BaseRef, .Spec.Refs.BaseSHA, .Status.State, .Status.BuildID, .Status.JenkinsBuildID, .Status.PodName)",
            ],
        ),
        (
            "a bearer token names no user",
            "jenkins_operators:\n- max_concurrency: 1\nskiff:\n  jenkins:\n  - url: https://a.example\n    user: prow\n    bearer: true\n    token_file: /t\n".into(),
            String::new(),
            vec![
                "config.yaml:6:11: error: skiff.jenkins[0].user: a bearer token names no user: remove user, or set bearer: false for basic auth",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, config, jobs, want) in cases {
        let got = problems_with(&config, &jobs);
        if got != want {
            wrong.push(format!("{name}:\n  got:  {got:?}\n  want: {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn tide_queries_and_context_policies_are_checked_as_prow_does() {
    let config = "tide:\n  queries:\n  - repos: [acme/widgets]\n    labels: [lgtm]\n    missingLabels: [lgtm]\n  - {}\n  context_options:\n    required-contexts: [unit]\n    optional-contexts: [unit]\n  batch_size_limit: {acme: -2}\n";
    assert_eq!(
        problems_with(config, ""),
        [
            "config.yaml:3:5: error: tide.queries[0]: the labels: [\"lgtm\"] are both required and forbidden",
            "config.yaml:6:5: error: tide.queries[1]: 'orgs' and 'repos' cannot both be empty",
            "config.yaml:7:3: error: tide.context_options: contexts unit are defined as required and optional",
            "config.yaml:10:28: error: tide.batch_size_limit.acme: -2: must be -1 (no batches), 0 (no limit) or a size",
        ]
    );
}

#[test]
fn a_repo_merges_with_tide_or_with_githubs_merge_queue_not_both() {
    let clash = |queue: &str, scope: &str| {
        let config = format!(
            "tide:\n  queries:\n  - {scope}\n    labels: [lgtm]\nskiff:\n  merge_queue:\n    repos: [{queue}]\n"
        );
        problems_with(&config, "")
    };
    let cases = [
        ("acme/widgets", "repos: [acme/widgets]", true),
        ("acme", "repos: [acme/widgets]", true),
        ("acme/widgets", "orgs: [acme]", true),
        ("acme/gears", "repos: [acme/widgets]", false),
        ("other", "orgs: [acme]", false),
    ];
    for (queue, scope, clashes) in cases {
        let got = clash(queue, scope);
        assert_eq!(
            got.iter().any(|g| g.contains("skiff.merge_queue.repos[0]")
                && g.contains("a repository uses one or the other")),
            clashes,
            "{queue} vs {scope}: {got:?}"
        );
    }
}

#[test]
fn tide_settings_skiff_does_not_act_on_are_noted() {
    let config = "tide:\n  blocker_label: merge-blocker\n  max_goroutines: 20\n  queries:\n  - repos: [acme/widgets]\n";
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: config.into(),
        role: FileRole::ProwConfig,
    }]);
    let notes: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        notes,
        [
            "config.yaml:3:19: note: tide.max_goroutines: a tide setting Skiff does not act on yet; accepted and ignored"
        ],
        "blocker_label is acted on, so not noted"
    );
}

#[test]
fn both_forms_of_deck_rerun_auth_configs_at_once_are_an_error() {
    let config = "deck:\n  rerun_auth_configs:\n    \"*\": {allow_anyone: true}\n  default_rerun_auth_configs:\n  - repo: acme\n    rerun_auth_configs: {github_users: [alice]}\n";
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: config.into(),
        role: FileRole::ProwConfig,
    }]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "config.yaml:2:3: error: deck.rerun_auth_configs: deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive, please use one or the other"
        ]
    );
}
