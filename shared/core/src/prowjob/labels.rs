//! Labels and annotations Prow puts on ProwJobs and their pods
//! (`pkg/kube/prowjob.go`, `pkg/pod-utils/decorate/podspec.go`), and the
//! Kubernetes rules for label keys and values they must obey
//! (`k8s.io/apimachinery/pkg/api/validate/content`, as vendored by Prow).
//!
//! Dashboards, sinker and `kubectl -l` select jobs by these labels, so the keys
//! and the truncation of long values are Prow's exactly.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{ProwJob, ProwJobSpec};

/// On everything Prow creates; garbage collection keys on it.
pub const CREATED_BY_PROW: &str = "created-by-prow";
/// On jobs Tide started (batches and serial retests).
pub const CREATED_BY_TIDE: &str = "created-by-tide";
/// `true` on jobs run for GitHub's merge queue (their refs name the merge
/// group's branch and head).
pub const MERGE_GROUP: &str = "skiff.dev/merge-group";
/// `presubmit`, `postsubmit`, `periodic` or `batch`.
pub const PROW_JOB_TYPE: &str = "prow.k8s.io/type";
/// The ProwJob's name, on pods.
pub const PROW_JOB_ID: &str = "prow.k8s.io/id";
/// The build id, on pods.
pub const PROW_BUILD_ID: &str = "prow.k8s.io/build-id";
/// The job name: a label truncated to 63 characters, and the full value as an
/// annotation under the same key.
pub const PROW_JOB: &str = "prow.k8s.io/job";
/// The status context, label and annotation like [`PROW_JOB`].
pub const CONTEXT: &str = "prow.k8s.io/context";
/// The Prow version that decorated the pod.
pub const PLANK_VERSION: &str = "prow.k8s.io/plank-version";
pub const REFS_ORG: &str = "prow.k8s.io/refs.org";
pub const REFS_REPO: &str = "prow.k8s.io/refs.repo";
pub const REFS_BASE_REF: &str = "prow.k8s.io/refs.base_ref";
/// The first pull's number.
pub const REFS_PULL: &str = "prow.k8s.io/refs.pull";
/// `true` on jobs created by `/retest` or `/retest-required`.
pub const RETEST: &str = "prow.k8s.io/retest";
/// Whether the presubmit is optional.
pub const IS_OPTIONAL: &str = "prow.k8s.io/is-optional";
/// Which rerun of a periodic this is, from 0.
pub const RE_RUN: &str = "prow.k8s.io/re-run";
/// The webhook delivery that caused the job.
pub const EVENT_GUID: &str = "event-GUID";
pub const GERRIT_ID: &str = "prow.k8s.io/gerrit-id";
pub const GERRIT_INSTANCE: &str = "prow.k8s.io/gerrit-instance";
pub const GERRIT_REVISION: &str = "prow.k8s.io/gerrit-revision";
pub const GERRIT_PATCHSET: &str = "prow.k8s.io/gerrit-patchset";
/// The Gerrit label Prow votes on (Code-Review if unset).
pub const GERRIT_REPORT_LABEL: &str = "prow.k8s.io/gerrit-report-label";

/// Labels a job config may not set because decoration owns them
/// (Prow's `decorate.Labels`).
pub const RESERVED_FOR_DECORATION: [&str; 3] = [PROW_JOB_TYPE, CREATED_BY_PROW, PROW_JOB_ID];

/// Longest label value Kubernetes accepts, in bytes.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
const LABEL_KEY_NAME_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

static LABEL_KEY_RE: LazyLock<Regex> = LazyLock::new(|| anchored(LABEL_KEY_FMT));
static LABEL_VALUE_RE: LazyLock<Regex> = LazyLock::new(|| anchored(LABEL_VALUE_FMT));
static DNS1123_SUBDOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| anchored(DNS1123_SUBDOMAIN_FMT));

fn anchored(fmt: &str) -> Regex {
    // The patterns are constants of this module, so failure is a bug here,
    // caught by the tests, never a property of input.
    Regex::new(&format!("^(?:{fmt})$")).expect("constant label regex compiles")
}

/// Kubernetes' `IsValidLabelValue`. The error lists every violated rule in
/// apimachinery's words, formatted as Prow prints the list (`[msg msg]`).
pub fn is_valid_label_value(value: &str) -> Result<(), String> {
    join_errors(label_value_errors(value))
}

/// Kubernetes' `IsQualifiedName` (a label or annotation key): a name of at most
/// 63 characters, optionally prefixed by a DNS-1123 subdomain and `/`. Errors
/// as [`is_valid_label_value`].
pub fn is_qualified_name(value: &str) -> Result<(), String> {
    join_errors(qualified_name_errors(value))
}

fn join_errors(errs: Vec<String>) -> Result<(), String> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("[{}]", errs.join(" ")))
    }
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} bytes")
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = msg.to_string();
    if examples.is_empty() {
        out.push_str(&format!(" (regex used for validation is '{fmt}')"));
        return out;
    }
    out.push_str(" (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !LABEL_VALUE_RE.is_match(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > LABEL_KEY_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(LABEL_KEY_NAME_MAX_LENGTH)
        ));
    }
    if !LABEL_KEY_RE.is_match(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !DNS1123_SUBDOMAIN_RE.is_match(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Prow's `LabelsAndAnnotationsForSpec`: the labels and annotations of a ProwJob
/// (and, through [`labels_and_annotations_for_job`], of its pod).
///
/// Extra labels and annotations win over the computed ones. Afterwards every
/// label value Kubernetes would reject is replaced by its path basename when
/// that is valid (a Gerrit org `https://host/x` becomes `x`), else dropped.
pub fn labels_and_annotations_for_spec(
    spec: &ProwJobSpec,
    extra_labels: &BTreeMap<String, String>,
    extra_annotations: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = BTreeMap::from([
        (CREATED_BY_PROW.to_string(), "true".to_string()),
        (
            PROW_JOB_TYPE.to_string(),
            spec.r#type.map_or("", |t| t.as_str()).to_string(),
        ),
    ]);
    let mut annotations = BTreeMap::new();
    for (key, value) in [(PROW_JOB, &spec.job), (CONTEXT, &spec.context)] {
        labels.insert(key.to_string(), truncate_label_value(value));
        annotations.insert(key.to_string(), value.clone());
    }

    if let Some(refs) = spec.refs.as_ref().or(spec.extra_refs.first()) {
        labels.insert(REFS_ORG.to_string(), refs.org.clone());
        labels.insert(REFS_REPO.to_string(), refs.repo.clone());
        labels.insert(REFS_BASE_REF.to_string(), refs.base_ref.clone());
        if let Some(pull) = refs.pulls.first() {
            labels.insert(REFS_PULL.to_string(), pull.number.to_string());
        }
    }

    labels.extend(extra_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.retain(|_, value| {
        if label_value_errors(value).is_empty() {
            return true;
        }
        let base = go_path_base(value);
        if label_value_errors(base).is_empty() {
            *value = base.to_string();
            return true;
        }
        false
    });

    annotations.extend(
        extra_annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    (labels, annotations)
}

/// Prow's `LabelsAndAnnotationsForJob`: the job's own labels and annotations
/// plus `prow.k8s.io/id` (the ProwJob's name) and `prow.k8s.io/build-id`, for
/// its pod.
pub fn labels_and_annotations_for_job(
    pj: &ProwJob,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut extra_labels = pj.metadata.labels.clone();
    extra_labels.insert(PROW_JOB_ID.to_string(), pj.metadata.name.clone());
    extra_labels.insert(PROW_BUILD_ID.to_string(), pj.status.build_id.clone());
    labels_and_annotations_for_spec(&pj.spec, &extra_labels, &pj.metadata.annotations)
}

/// Cuts a value to the first 63 bytes and trims trailing `.`, `_` and `-` so
/// the cut does not itself make it invalid. Prow cuts bytes, which can split a
/// multi-byte character; the lossy conversion keeps that case invalid (so the
/// label is dropped later) exactly as the broken UTF-8 is in Go.
fn truncate_label_value(value: &str) -> String {
    if value.len() <= LABEL_VALUE_MAX_LENGTH {
        return value.to_string();
    }
    let head = String::from_utf8_lossy(&value.as_bytes()[..LABEL_VALUE_MAX_LENGTH]);
    head.trim_end_matches(['.', '_', '-']).to_string()
}

/// Go's `filepath.Base` on Unix: the last `/`-separated element, ignoring
/// trailing slashes; `.` for the empty string and `/` for only slashes.
fn go_path_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{ProwJobType, Pull, Refs};

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refs_with_pull(org: &str, repo: &str) -> Refs {
        Refs {
            org: org.into(),
            repo: repo.into(),
            base_ref: "main".into(),
            pulls: vec![Pull {
                number: 42,
                ..Pull::default()
            }],
            ..Refs::default()
        }
    }

    /// 87 bytes; its first 63 end in a letter, so the label is exactly those.
    const LONG_JOB: &str =
        "periodic-widgets-integration-against-every-supported-database-and-cache-backend-nightly";
    /// 78 bytes; its first 63 end in `_-`, which the cut trims.
    const LONG_CONTEXT: &str =
        "e2e-tests-for-the-widgets-service-against-the-staging-cluster_-in-every-region";

    /// The cases of Prow's `TestNewProwJob` (pkg/pjutil/pjutil_test.go), with
    /// our own values: periodic and presubmit jobs, extra labels and
    /// annotations, labels from `extra_refs`, a Gerrit-style org and repo cut
    /// to their basename, and job names and contexts too long for a label.
    #[test]
    fn labels_for_spec_cover_prow_new_prow_job_cases() {
        struct Case {
            name: &'static str,
            spec: ProwJobSpec,
            labels: BTreeMap<String, String>,
            annotations: BTreeMap<String, String>,
            want_labels: BTreeMap<String, String>,
            want_annotations: BTreeMap<String, String>,
        }
        let spec =
            |job: &str, context: &str, t, refs: Option<Refs>, extra: Vec<Refs>| ProwJobSpec {
                job: job.into(),
                context: context.into(),
                r#type: Some(t),
                refs,
                extra_refs: extra,
                ..ProwJobSpec::default()
            };
        let std_annotations = map(&[(PROW_JOB, "widgets-e2e"), (CONTEXT, "e2e-tests")]);
        let presubmit_labels = |job: &str, context: &str| {
            map(&[
                (CREATED_BY_PROW, "true"),
                (PROW_JOB, job),
                (CONTEXT, context),
                (PROW_JOB_TYPE, "presubmit"),
                (REFS_ORG, "acme"),
                (REFS_REPO, "widgets"),
                (REFS_BASE_REF, "main"),
                (REFS_PULL, "42"),
            ])
        };
        let periodic_labels = map(&[
            (CREATED_BY_PROW, "true"),
            (PROW_JOB, "widgets-e2e"),
            (CONTEXT, "e2e-tests"),
            (PROW_JOB_TYPE, "periodic"),
        ]);
        let with = |base: &BTreeMap<String, String>, extra: &[(&str, &str)]| {
            let mut m = base.clone();
            m.extend(map(extra));
            m
        };
        let cases = vec![
            Case {
                name: "periodic job, no extra labels",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Periodic,
                    None,
                    vec![],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: periodic_labels.clone(),
                want_annotations: std_annotations.clone(),
            },
            Case {
                name: "periodic job, extra labels",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Periodic,
                    None,
                    vec![],
                ),
                labels: map(&[("team", "storage")]),
                annotations: map(&[]),
                want_labels: with(&periodic_labels, &[("team", "storage")]),
                want_annotations: std_annotations.clone(),
            },
            Case {
                name: "periodic job with extra refs",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Periodic,
                    None,
                    vec![Refs {
                        org: "acme".into(),
                        repo: "tooling".into(),
                        base_ref: "release-1.4".into(),
                        ..Refs::default()
                    }],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: with(
                    &periodic_labels,
                    &[
                        (REFS_ORG, "acme"),
                        (REFS_REPO, "tooling"),
                        (REFS_BASE_REF, "release-1.4"),
                    ],
                ),
                want_annotations: std_annotations.clone(),
            },
            Case {
                name: "presubmit job",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Presubmit,
                    Some(refs_with_pull("acme", "widgets")),
                    vec![],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: presubmit_labels("widgets-e2e", "e2e-tests"),
                want_annotations: std_annotations.clone(),
            },
            Case {
                name: "non-github presubmit job",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Presubmit,
                    Some(refs_with_pull(
                        "https://review.example.org",
                        "platform/storage/widgets",
                    )),
                    vec![],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: with(
                    &presubmit_labels("widgets-e2e", "e2e-tests"),
                    &[(REFS_ORG, "review.example.org"), (REFS_REPO, "widgets")],
                ),
                want_annotations: std_annotations.clone(),
            },
            Case {
                name: "job with name too long to fit in a label",
                spec: spec(
                    LONG_JOB,
                    "e2e-tests",
                    ProwJobType::Presubmit,
                    Some(refs_with_pull("acme", "widgets")),
                    vec![],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: presubmit_labels(
                    "periodic-widgets-integration-against-every-supported-database-a",
                    "e2e-tests",
                ),
                want_annotations: map(&[(PROW_JOB, LONG_JOB), (CONTEXT, "e2e-tests")]),
            },
            Case {
                name: "job with context too long to fit in a label",
                spec: spec(
                    "widgets-e2e",
                    LONG_CONTEXT,
                    ProwJobType::Presubmit,
                    Some(refs_with_pull("acme", "widgets")),
                    vec![],
                ),
                labels: map(&[]),
                annotations: map(&[]),
                want_labels: presubmit_labels(
                    "widgets-e2e",
                    "e2e-tests-for-the-widgets-service-against-the-staging-cluster",
                ),
                want_annotations: map(&[(PROW_JOB, "widgets-e2e"), (CONTEXT, LONG_CONTEXT)]),
            },
            Case {
                name: "periodic job, extra labels, extra annotations",
                spec: spec(
                    "widgets-e2e",
                    "e2e-tests",
                    ProwJobType::Periodic,
                    None,
                    vec![],
                ),
                labels: map(&[("team", "storage")]),
                annotations: map(&[("owner", "alice")]),
                want_labels: with(&periodic_labels, &[("team", "storage")]),
                want_annotations: with(&std_annotations, &[("owner", "alice")]),
            },
        ];
        for c in cases {
            let (labels, annotations) =
                labels_and_annotations_for_spec(&c.spec, &c.labels, &c.annotations);
            assert_eq!(labels, c.want_labels, "{}: labels", c.name);
            assert_eq!(annotations, c.want_annotations, "{}: annotations", c.name);
        }
    }

    #[test]
    fn truncation_cuts_63_bytes_then_trims_separators() {
        let cases = [
            ("short", "short"),
            ("", ""),
            (&*"a".repeat(63), &*"a".repeat(63)),
            (&*format!("{}-._b", "a".repeat(60)), &*"a".repeat(60)),
            (&*format!("{}-x", "a".repeat(62)), &*"a".repeat(62)),
        ];
        for (input, want) in cases {
            assert_eq!(truncate_label_value(input), want, "{input}");
        }
    }

    #[test]
    fn truncation_that_splits_a_character_drops_the_label_but_keeps_the_annotation() {
        // 62 ASCII bytes then 'é' (2 bytes): Prow's byte cut leaves half a
        // character, the value is invalid, its basename too, so the label goes.
        let job = format!("{}é-rest", "a".repeat(62));
        let spec = ProwJobSpec {
            job: job.clone(),
            r#type: Some(ProwJobType::Periodic),
            ..ProwJobSpec::default()
        };
        let (labels, annotations) =
            labels_and_annotations_for_spec(&spec, &BTreeMap::new(), &BTreeMap::new());
        assert!(!labels.contains_key(PROW_JOB));
        assert_eq!(annotations.get(PROW_JOB), Some(&job));
    }

    #[test]
    fn invalid_values_become_their_basename_or_are_dropped() {
        let spec = ProwJobSpec {
            job: "j".into(),
            r#type: Some(ProwJobType::Postsubmit),
            refs: Some(Refs {
                org: "o".into(),
                repo: "r".into(),
                base_ref: "release/v1.2".into(),
                ..Refs::default()
            }),
            ..ProwJobSpec::default()
        };
        let extra = map(&[
            ("path", "a/b//"),
            ("slashes-only", "///"),
            ("spaces", "has space"),
            ("valid", "ok"),
        ]);
        let (labels, _) = labels_and_annotations_for_spec(&spec, &extra, &BTreeMap::new());
        assert_eq!(labels.get(REFS_BASE_REF).map(String::as_str), Some("v1.2"));
        assert_eq!(labels.get("path").map(String::as_str), Some("b"));
        assert!(!labels.contains_key("slashes-only"));
        assert!(!labels.contains_key("spaces"));
        assert_eq!(labels.get("valid").map(String::as_str), Some("ok"));
        // An empty context is a valid (empty) label value, so it stays.
        assert_eq!(labels.get(CONTEXT).map(String::as_str), Some(""));
    }

    #[test]
    fn extra_labels_and_annotations_override_computed_ones() {
        let spec = ProwJobSpec {
            job: "j".into(),
            r#type: Some(ProwJobType::Periodic),
            ..ProwJobSpec::default()
        };
        let (labels, annotations) = labels_and_annotations_for_spec(
            &spec,
            &map(&[(PROW_JOB, "other"), (CREATED_BY_PROW, "false")]),
            &map(&[(PROW_JOB, "full-other")]),
        );
        assert_eq!(labels[PROW_JOB], "other");
        assert_eq!(labels[CREATED_BY_PROW], "false");
        assert_eq!(annotations[PROW_JOB], "full-other");
    }

    /// A pod's metadata in the shape of Prow's TestProwJobToPod fixtures, with
    /// our own values: the ProwJob's labels inherited, its name as
    /// `prow.k8s.io/id` and its build id as `prow.k8s.io/build-id`.
    #[test]
    fn labels_for_job_have_prow_to_pod_shape() {
        let mut pj = ProwJob::default();
        pj.metadata.name = "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93".into();
        pj.metadata.labels = map(&[("team", "storage")]);
        pj.status.build_id = "1823456789012345678".into();
        pj.spec = ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            job: "pull-widgets-unit".into(),
            context: "ci-unit".into(),
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: "e3b0c44".into(),
                pulls: vec![Pull {
                    number: 17,
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            ..ProwJobSpec::default()
        };
        let (labels, annotations) = labels_and_annotations_for_job(&pj);
        assert_eq!(
            labels,
            map(&[
                ("created-by-prow", "true"),
                ("prow.k8s.io/build-id", "1823456789012345678"),
                ("prow.k8s.io/context", "ci-unit"),
                ("prow.k8s.io/id", "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93"),
                ("prow.k8s.io/job", "pull-widgets-unit"),
                ("prow.k8s.io/refs.base_ref", "main"),
                ("prow.k8s.io/refs.org", "acme"),
                ("prow.k8s.io/refs.pull", "17"),
                ("prow.k8s.io/refs.repo", "widgets"),
                ("prow.k8s.io/type", "presubmit"),
                ("team", "storage"),
            ])
        );
        assert_eq!(
            annotations,
            map(&[
                ("prow.k8s.io/context", "ci-unit"),
                ("prow.k8s.io/job", "pull-widgets-unit")
            ])
        );
        // A pod created before a build id is known gets an empty (valid) label.
        pj.status.build_id.clear();
        let (labels, _) = labels_and_annotations_for_job(&pj);
        assert_eq!(labels[PROW_BUILD_ID], "");
    }

    #[test]
    fn label_values_follow_kubernetes_rules() {
        let regex_msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        let cases: Vec<(String, Result<(), String>)> = vec![
            ("".into(), Ok(())),
            ("a".into(), Ok(())),
            ("MyValue".into(), Ok(())),
            ("my_value-1.2".into(), Ok(())),
            ("a".repeat(63), Ok(())),
            (
                "a".repeat(64),
                Err("[must be no more than 63 bytes]".into()),
            ),
            ("-a".into(), Err(format!("[{regex_msg}]"))),
            ("a.".into(), Err(format!("[{regex_msg}]"))),
            ("a/b".into(), Err(format!("[{regex_msg}]"))),
            ("é".into(), Err(format!("[{regex_msg}]"))),
            (
                format!("{}-", "a".repeat(63)),
                Err(format!("[must be no more than 63 bytes {regex_msg}]")),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(is_valid_label_value(&value), want, "{value:?}");
        }
    }

    #[test]
    fn qualified_names_follow_kubernetes_rules() {
        let name_regex = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        let prefix_regex = "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        let cases: Vec<(String, Result<(), String>)> = vec![
            ("created-by-prow".into(), Ok(())),
            ("prow.k8s.io/refs.base_ref".into(), Ok(())),
            ("event-GUID".into(), Ok(())),
            ("a".repeat(63), Ok(())),
            (format!("{}/x", "a".repeat(253)), Ok(())),
            ("".into(), Err(format!("[name part must be non-empty {name_regex}]"))),
            ("a".repeat(64), Err("[name part must be no more than 63 bytes]".into())),
            ("/x".into(), Err("[prefix part must be non-empty]".into())),
            ("Prow.io/x".into(), Err(format!("[{prefix_regex}]"))),
            (
                format!("{}/x", "a".repeat(254)),
                Err("[prefix part must be no more than 253 bytes]".into()),
            ),
            ("k8s.io/".into(), Err(format!("[name part must be non-empty {name_regex}]"))),
            ("x_".into(), Err(format!("[{name_regex}]"))),
            (
                "a/b/c".into(),
                Err("[a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')]".into()),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(is_qualified_name(&value), want, "{value:?}");
        }
    }

    #[test]
    fn every_prow_label_key_is_a_qualified_name() {
        for key in [
            CREATED_BY_PROW,
            CREATED_BY_TIDE,
            PROW_JOB_TYPE,
            PROW_JOB_ID,
            PROW_BUILD_ID,
            PROW_JOB,
            CONTEXT,
            PLANK_VERSION,
            REFS_ORG,
            REFS_REPO,
            REFS_BASE_REF,
            REFS_PULL,
            RETEST,
            IS_OPTIONAL,
            RE_RUN,
            EVENT_GUID,
            GERRIT_ID,
            GERRIT_INSTANCE,
            GERRIT_REVISION,
            GERRIT_PATCHSET,
            GERRIT_REPORT_LABEL,
        ] {
            assert_eq!(is_qualified_name(key), Ok(()), "{key}");
        }
    }

    #[test]
    fn path_base_matches_go_filepath_base() {
        let cases = [
            ("", "."),
            ("/", "/"),
            ("///", "/"),
            ("a", "a"),
            ("a/b", "b"),
            ("a/b/", "b"),
            ("https://host/x", "x"),
            ("/abs/path//", "path"),
        ];
        for (input, want) in cases {
            assert_eq!(go_path_base(input), want, "{input:?}");
        }
    }
}
