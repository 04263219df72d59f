//! `prowjob::from_config::configured_job` (Prow's `getProwJobSpec`, used by
//! gangway and the deck's rerun), one row per rule: which job a name and
//! refs pick, and each `FromConfigError` with its text. Also the
//! `skiff.gangway` config rules `skiff check-config` reports.

use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::diagnostics::Severity;
use skiff_core::prowjob::from_config::{FromConfigError, configured_job};
use skiff_core::prowjob::{ProwJobType, Pull, Refs};

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    labels: {team: widgets}
    annotations: {owner: alice}
    spec: {containers: [{image: alpine}]}
  - name: release-check
    always_run: true
    branches: [release-1.0]
    spec: {containers: [{image: alpine}]}
postsubmits:
  acme/widgets:
  - name: publish
    branches: [main]
    path_alias: example.com/widgets
    spec: {containers: [{image: alpine}]}
periodics:
- name: nightly
  interval: 24h
  labels: {kind: nightly}
  spec: {containers: [{image: alpine}]}
"#;

fn config() -> Config {
    let loaded = load(&[SourceFile {
        path: "jobs.yaml".into(),
        text: JOBS.into(),
        role: FileRole::JobConfig,
    }]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

fn refs(org: &str, repo: &str, base: &str, pull: Option<i64>) -> Refs {
    Refs {
        org: org.into(),
        repo: repo.into(),
        base_ref: base.into(),
        base_sha: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567".into(),
        pulls: pull
            .map(|n| Pull {
                number: n,
                author: "alice".into(),
                sha: "f".repeat(40),
                ..Pull::default()
            })
            .into_iter()
            .collect(),
        ..Refs::default()
    }
}

/// Label or annotation pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];
/// (kind, name, refs, labels, annotations)
type Picked<'a> = (ProwJobType, &'a str, Option<&'a Refs>, Pairs<'a>, Pairs<'a>);
/// (why, kind, name, refs, error, its text)
type Refusal<'a> = (
    &'a str,
    ProwJobType,
    &'a str,
    Option<&'a Refs>,
    FromConfigError,
    &'a str,
);

#[test]
fn each_kind_picks_its_job_with_the_configs_labels_and_annotations() {
    let c = config();
    let pr = refs("acme", "widgets", "main", Some(7));
    let push = refs("acme", "widgets", "main", None);
    let cases: [Picked; 3] = [
        (
            ProwJobType::Periodic,
            "nightly",
            None,
            &[("kind", "nightly")],
            &[],
        ),
        (
            ProwJobType::Presubmit,
            "unit",
            Some(&pr),
            &[("team", "widgets")],
            &[("owner", "alice")],
        ),
        (ProwJobType::Postsubmit, "publish", Some(&push), &[], &[]),
    ];
    for (kind, name, r, labels, annotations) in cases {
        let job =
            configured_job(&c, kind, name, r).unwrap_or_else(|e| panic!("{kind:?} {name}: {e}"));
        assert_eq!(job.spec.job, name);
        assert_eq!(job.spec.r#type, Some(kind), "{name}");
        let want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(job.labels.into_iter().collect::<Vec<_>>(), want, "{name}");
        let want: Vec<(String, String)> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            job.annotations.into_iter().collect::<Vec<_>>(),
            want,
            "{name}"
        );
        match kind {
            ProwJobType::Periodic => assert!(job.spec.refs.is_none()),
            _ => assert_eq!(
                job.spec.refs.as_ref().map(|r| r.pulls.len()),
                Some(r.map_or(0, |r| r.pulls.len()))
            ),
        }
    }
}

#[test]
fn a_periodic_ignores_refs_and_a_postsubmit_gets_its_clone_options() {
    let c = config();
    let push = refs("acme", "widgets", "main", None);
    let job = configured_job(&c, ProwJobType::Periodic, "nightly", Some(&push)).unwrap();
    assert!(job.spec.refs.is_none(), "refs are ignored for periodics");
    let job = configured_job(&c, ProwJobType::Postsubmit, "publish", Some(&push)).unwrap();
    assert_eq!(
        job.spec.refs.map(|r| r.path_alias),
        Some("example.com/widgets".to_string())
    );
}

#[test]
fn every_refusal_has_its_error_and_prows_text() {
    let mut c = config();
    // Two `unit` presubmits that both run on main: only a config built by
    // hand has that (validation refuses duplicate names on one branch).
    let dup = c.jobs.presubmits["acme/widgets"][0].clone();
    c.jobs
        .presubmits
        .get_mut("acme/widgets")
        .expect("the repo's presubmits")
        .push(dup);
    let pr = refs("acme", "widgets", "main", Some(7));
    let no_org = refs("", "widgets", "main", Some(7));
    let bare = refs("", "", "", None);
    let other_repo = refs("acme", "gadgets", "main", Some(7));
    let cases: Vec<Refusal> = vec![
        (
            "a presubmit needs refs",
            ProwJobType::Presubmit,
            "unit",
            None,
            FromConfigError::NoRefs("presubmit"),
            "refs must be supplied for a presubmit job",
        ),
        (
            "a postsubmit needs refs",
            ProwJobType::Postsubmit,
            "publish",
            None,
            FromConfigError::NoRefs("postsubmit"),
            "refs must be supplied for a postsubmit job",
        ),
        (
            "refs need an org",
            ProwJobType::Presubmit,
            "unit",
            Some(&no_org),
            FromConfigError::BadRefs("org must be supplied".into()),
            "bad refs: org must be supplied",
        ),
        (
            "every missing field is named",
            ProwJobType::Postsubmit,
            "publish",
            Some(&bare),
            FromConfigError::BadRefs("org, repo, base_ref must be supplied".into()),
            "bad refs: org, repo, base_ref must be supplied",
        ),
        (
            "an unknown periodic",
            ProwJobType::Periodic,
            "weekly",
            None,
            FromConfigError::NoPeriodic("weekly".into()),
            r#"failed to find associated periodic job "weekly""#,
        ),
        (
            "a job of another repo",
            ProwJobType::Presubmit,
            "unit",
            Some(&other_repo),
            FromConfigError::NotFound {
                name: "unit".into(),
                repo: "acme/gadgets".into(),
            },
            r#"failed to find job "unit" for orgRepo "acme/gadgets""#,
        ),
        (
            "a presubmit is not a postsubmit",
            ProwJobType::Postsubmit,
            "unit",
            Some(&pr),
            FromConfigError::NotFound {
                name: "unit".into(),
                repo: "acme/widgets".into(),
            },
            r#"failed to find job "unit" for orgRepo "acme/widgets""#,
        ),
        (
            "a job not for this branch",
            ProwJobType::Presubmit,
            "release-check",
            Some(&pr),
            FromConfigError::NotForBranch {
                name: "release-check".into(),
                repo: "acme/widgets".into(),
                branch: "main".into(),
            },
            r#"found job "release-check", but not allowed to run for orgRepo "acme/widgets" on branch "main""#,
        ),
        (
            "two jobs of one name for the branch",
            ProwJobType::Presubmit,
            "unit",
            Some(&pr),
            FromConfigError::Ambiguous {
                name: "unit".into(),
                repo: "acme/widgets".into(),
            },
            r#"unit matches multiple prow jobs from orgRepo "acme/widgets""#,
        ),
        (
            "batches are tide's",
            ProwJobType::Batch,
            "unit",
            Some(&pr),
            FromConfigError::Unsupported("batch"),
            "a batch job cannot be started by name",
        ),
    ];
    for (why, kind, name, r, want, text) in cases {
        let got = configured_job(&c, kind, name, r);
        assert_eq!(got.as_ref().err(), Some(&want), "{why}");
        assert_eq!(want.to_string(), text, "{why}");
    }
}

// ---------------------------------------------------------------------------
// skiff.gangway in config.yaml

fn gangway_problems(config: &str) -> Vec<String> {
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: config.into(),
        role: FileRole::ProwConfig,
    }]);
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn gangway_rules_are_checked_with_file_and_line() {
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "a good rule",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: arn:aws:iam::123456789012:role/ci\n      jobs: [ci-*]\n",
            &[],
        ),
        (
            "not an ARN",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: ci-robot\n      jobs: ['*']\n",
            &[
                r#"config.yaml:4:18: error: skiff.gangway.allowed_callers[0].principal: "ci-robot": expected an IAM principal ARN pattern: arn:PARTITION:iam::ACCOUNT:user/NAME, arn:PARTITION:iam::ACCOUNT:role/NAME or arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, with * for any run of characters"#,
            ],
        ),
        (
            "another service",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: 'arn:aws:s3:::bucket/x'\n      jobs: ['*']\n",
            &[
                r#"config.yaml:4:18: error: skiff.gangway.allowed_callers[0].principal: "arn:aws:s3:::bucket/x" names service "s3"; callers are IAM principals (iam or sts): expected an IAM principal ARN pattern: arn:PARTITION:iam::ACCOUNT:user/NAME, arn:PARTITION:iam::ACCOUNT:role/NAME or arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, with * for any run of characters"#,
            ],
        ),
        (
            "no jobs",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: arn:aws:iam::1:user/a\n",
            &[
                "config.yaml:4:7: error: skiff.gangway.allowed_callers[0].jobs: a rule without jobs allows nothing: list job names or patterns (`*` for every job)",
            ],
        ),
        (
            "an empty job pattern",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: arn:aws:iam::1:user/a\n      jobs: [ok, '']\n",
            &[
                "config.yaml:5:18: error: skiff.gangway.allowed_callers[0].jobs[1]: an empty job pattern matches no job (`*` matches every job)",
            ],
        ),
        (
            "a principal twice",
            "skiff:\n  gangway:\n    allowed_callers:\n    - principal: arn:aws:iam::1:user/a\n      jobs: [x]\n    - principal: arn:aws:iam::1:user/a\n      jobs: [y]\n",
            &[
                "config.yaml:6:18: warning: skiff.gangway.allowed_callers[1].principal: arn:aws:iam::1:user/a is listed twice: the first rule that allows a job decides",
            ],
        ),
    ];
    for (why, config, want) in cases {
        let got = gangway_problems(config);
        assert_eq!(got, want, "{why}:\n{}", got.join("\n"));
    }
}

#[test]
fn prows_own_gangway_section_is_noted_as_ignored() {
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: "gangway:\n  allowed_api_clients: []\n".into(),
        role: FileRole::ProwConfig,
    }]);
    let notes: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        [
            "config.yaml:1:1: note: gangway: Prow's gangway clients (GCP projects) are accepted and ignored; Skiff's gangway API authorizes the IAM principals of skiff.gangway.allowed_callers"
        ]
    );
}
