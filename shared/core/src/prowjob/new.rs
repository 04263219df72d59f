//! Building job records from config jobs, as Prow's `pjutil` does
//! (`PresubmitSpec`, `PostsubmitSpec`, `PeriodicSpec`, `BatchSpec`, `NewProwJob`).
//!
//! One difference, on purpose: Prow names a ProwJob with a random UUID; Skiff
//! derives it from an idempotency key (`{delivery}/{type}/{job}`,
//! `{job}@{slot}`), so a handler that sees the same event twice writes the same
//! record and the second write is a no-op.

use std::collections::BTreeMap;

use super::labels::{self, labels_and_annotations_for_spec};
use super::{API_VERSION, KIND, ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus};
use super::{ProwJobType, Refs};
use crate::config::{JobBase, Periodic, Postsubmit, Presubmit, UtilityConfig};

/// Namespace for Skiff's name-based job ids (a fixed random UUID).
const SKIFF_JOB_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5c1f_f0b5_6e2d_4f8a_9a51_7d0e_3b9c_2a61);

/// The job id for an idempotency key: a name-based (v5) UUID, so it looks like
/// Prow's ids and is stable across retries.
pub fn job_id(key: &str) -> String {
    uuid::Uuid::new_v5(&SKIFF_JOB_NAMESPACE, key.as_bytes()).to_string()
}

fn spec_from_job_base(b: &JobBase, u: &UtilityConfig) -> ProwJobSpec {
    ProwJobSpec {
        job: b.name.clone(),
        agent: b.agent.clone(),
        cluster: b.cluster.clone(),
        namespace: b.namespace.clone().unwrap_or_default(),
        max_concurrency: b.max_concurrency,
        error_on_eviction: b.error_on_eviction,
        extra_refs: decorate_extra_refs(&u.extra_refs, u),
        decoration_config: u.decoration_config.clone(),
        pod_spec: b.spec.clone(),
        pipeline_run_spec: b.pipeline_run_spec.clone(),
        tekton_pipeline_run_spec: b.tekton_pipeline_run_spec.clone(),
        reporter_config: b.reporter_config.clone(),
        rerun_auth_config: b.rerun_auth_config.clone(),
        hidden: b.hidden,
        prowjob_defaults: b.prowjob_defaults.clone(),
        job_queue_name: b.job_queue_name.clone(),
        ..ProwJobSpec::default()
    }
}

fn decorate_extra_refs(refs: &[Refs], u: &UtilityConfig) -> Vec<Refs> {
    refs.iter().map(|r| decorate_refs(r.clone(), u)).collect()
}

fn decorate_refs(mut refs: Refs, u: &UtilityConfig) -> Refs {
    if let Some(dc) = &u.decoration_config
        && refs.blobless_fetch.is_none()
    {
        refs.blobless_fetch = dc.blobless_fetch;
    }
    refs
}

/// The job's clone options applied to the refs it tests.
fn complete_primary_refs(mut refs: Refs, u: &UtilityConfig) -> Refs {
    if !u.path_alias.is_empty() {
        refs.path_alias = u.path_alias.clone();
    }
    if !u.clone_uri.is_empty() {
        refs.clone_uri = u.clone_uri.clone();
    }
    if u.skip_submodules {
        refs.skip_submodules = true;
    }
    if u.clone_depth > 0 {
        refs.clone_depth = u.clone_depth;
    }
    if u.skip_fetch_head {
        refs.skip_fetch_head = true;
    }
    let mut refs = decorate_refs(refs, u);
    if let Some(dc) = &u.decoration_config
        && !dc.sparse_checkout_files.is_empty()
    {
        refs.sparse_checkout_files = dc.sparse_checkout_files.clone();
    }
    refs
}

pub fn presubmit_spec(p: &Presubmit, refs: Refs) -> ProwJobSpec {
    ProwJobSpec {
        r#type: Some(ProwJobType::Presubmit),
        context: p.reporter.context.clone(),
        report: !p.reporter.skip_report,
        rerun_command: p.fields.rerun_command.clone(),
        jenkins_spec: p.fields.jenkins_spec.clone(),
        refs: Some(complete_primary_refs(refs, &p.utility)),
        ..spec_from_job_base(&p.base, &p.utility)
    }
}

pub fn postsubmit_spec(p: &Postsubmit, refs: Refs) -> ProwJobSpec {
    ProwJobSpec {
        r#type: Some(ProwJobType::Postsubmit),
        context: p.reporter.context.clone(),
        report: !p.reporter.skip_report,
        jenkins_spec: p.fields.jenkins_spec.clone(),
        refs: Some(complete_primary_refs(refs, &p.utility)),
        ..spec_from_job_base(&p.base, &p.utility)
    }
}

/// Periodics always report; there is no way to turn it off per job.
pub fn periodic_spec(p: &Periodic) -> ProwJobSpec {
    ProwJobSpec {
        r#type: Some(ProwJobType::Periodic),
        report: true,
        ..spec_from_job_base(&p.base, &p.utility)
    }
}

/// Tide's batch runs: several pulls, never reported to GitHub.
pub fn batch_spec(p: &Presubmit, refs: Refs) -> ProwJobSpec {
    ProwJobSpec {
        r#type: Some(ProwJobType::Batch),
        context: p.reporter.context.clone(),
        refs: Some(complete_primary_refs(refs, &p.utility)),
        ..spec_from_job_base(&p.base, &p.utility)
    }
}

/// Prow's `NewProwJob`: labels and annotations from the spec, state
/// `triggered`, start time `now`, the Slack `report` default filled in.
pub fn new_prow_job(
    mut spec: ProwJobSpec,
    id: String,
    extra_labels: &BTreeMap<String, String>,
    extra_annotations: &BTreeMap<String, String>,
    now: jiff::Timestamp,
) -> ProwJob {
    let (labels, annotations) =
        labels_and_annotations_for_spec(&spec, extra_labels, extra_annotations);
    if let Some(slack) = spec.reporter_config.as_mut().and_then(|r| r.slack.as_mut())
        && slack.report.is_none()
    {
        // Prow: an explicitly empty `job_states_to_report` means "do not report".
        slack.report = Some(!slack.job_states_to_report.is_empty());
    }
    ProwJob {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: ObjectMeta {
            name: id,
            labels,
            annotations,
            ..ObjectMeta::default()
        },
        spec,
        status: ProwJobStatus {
            start_time: Some(now),
            state: Some(ProwJobState::Triggered),
            ..ProwJobStatus::default()
        },
    }
}

/// Prow's `NewPresubmit`: the job's labels plus `event-GUID` and
/// `prow.k8s.io/is-optional`, then `extra` (e.g. `prow.k8s.io/retest`).
pub fn new_presubmit(
    p: &Presubmit,
    refs: Refs,
    event_guid: &str,
    extra: &BTreeMap<String, String>,
    id: String,
    now: jiff::Timestamp,
) -> ProwJob {
    let mut job_labels = p.base.labels.clone();
    job_labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    job_labels.insert(labels::EVENT_GUID.to_string(), event_guid.to_string());
    job_labels.insert(
        labels::IS_OPTIONAL.to_string(),
        p.fields.optional.to_string(),
    );
    new_prow_job(
        presubmit_spec(p, refs),
        id,
        &job_labels,
        &p.base.annotations,
        now,
    )
}

/// A presubmit run for GitHub's merge queue: the presubmit's spec on the
/// merge group's branch, as a `postsubmit` — it tests a branch head, not a
/// pull, so it carries no pulls, clones the branch, and reports its status
/// on that head, where the queue looks. Labelled `skiff.dev/merge-group`.
pub fn new_merge_group_run(
    p: &Presubmit,
    refs: Refs,
    event_guid: &str,
    id: String,
    now: jiff::Timestamp,
) -> ProwJob {
    let mut spec = presubmit_spec(p, refs);
    spec.r#type = Some(ProwJobType::Postsubmit);
    let mut job_labels = p.base.labels.clone();
    job_labels.insert(labels::EVENT_GUID.to_string(), event_guid.to_string());
    job_labels.insert(labels::MERGE_GROUP.to_string(), "true".to_string());
    new_prow_job(spec, id, &job_labels, &p.base.annotations, now)
}

/// A postsubmit record for a push; `event-GUID` is the delivery.
pub fn new_postsubmit(
    p: &Postsubmit,
    refs: Refs,
    event_guid: &str,
    id: String,
    now: jiff::Timestamp,
) -> ProwJob {
    let mut job_labels = p.base.labels.clone();
    job_labels.insert(labels::EVENT_GUID.to_string(), event_guid.to_string());
    new_prow_job(
        postsubmit_spec(p, refs),
        id,
        &job_labels,
        &p.base.annotations,
        now,
    )
}

/// A periodic record: the job's own labels and annotations (plus `extra`,
/// e.g. `prow.k8s.io/re-run` for retries).
pub fn new_periodic(
    p: &Periodic,
    extra: &BTreeMap<String, String>,
    id: String,
    now: jiff::Timestamp,
) -> ProwJob {
    let mut job_labels = p.base.labels.clone();
    job_labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    new_prow_job(periodic_spec(p), id, &job_labels, &p.base.annotations, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JobBase, PresubmitFields, Reporter};
    use crate::prowjob::Pull;

    fn now() -> jiff::Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn job_ids_are_stable_uuids_per_key() {
        let a = job_id("delivery-1/presubmit/pull-unit");
        assert_eq!(a, job_id("delivery-1/presubmit/pull-unit"));
        assert_ne!(a, job_id("delivery-2/presubmit/pull-unit"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5", "a version-5 UUID: {a}");
    }

    #[test]
    fn presubmit_record_carries_prows_labels_and_spec() {
        let p = Presubmit {
            base: JobBase {
                name: "pull-unit".into(),
                agent: "kubernetes".into(),
                cluster: "default".into(),
                labels: BTreeMap::from([("team".into(), "a".into())]),
                ..JobBase::default()
            },
            fields: PresubmitFields {
                optional: true,
                rerun_command: "/test pull-unit".into(),
                ..PresubmitFields::default()
            },
            reporter: Reporter {
                context: "unit".into(),
                skip_report: false,
            },
            utility: UtilityConfig {
                path_alias: "k8s.io/widgets".into(),
                ..UtilityConfig::default()
            },
            ..Presubmit::default()
        };
        let refs = Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            pulls: vec![Pull {
                number: 7,
                author: "alice".into(),
                sha: "abc".into(),
                ..Pull::default()
            }],
            ..Refs::default()
        };
        let retest = BTreeMap::from([(labels::RETEST.to_string(), "true".to_string())]);
        let pj = new_presubmit(&p, refs, "guid-1", &retest, job_id("k"), now());
        assert_eq!(pj.spec.r#type, Some(ProwJobType::Presubmit));
        assert_eq!(pj.spec.context, "unit");
        assert!(pj.spec.report);
        assert_eq!(pj.spec.rerun_command, "/test pull-unit");
        assert_eq!(pj.spec.refs.as_ref().unwrap().path_alias, "k8s.io/widgets");
        let l = &pj.metadata.labels;
        assert_eq!(l["event-GUID"], "guid-1");
        assert_eq!(l["prow.k8s.io/is-optional"], "true");
        assert_eq!(l["prow.k8s.io/retest"], "true");
        assert_eq!(l["prow.k8s.io/refs.pull"], "7");
        assert_eq!(l["team"], "a");
        assert_eq!(l["created-by-prow"], "true");
        assert_eq!(pj.status.state, Some(ProwJobState::Triggered));
        assert_eq!(pj.status.start_time, Some(now()));
        assert_eq!(pj.api_version, "prow.k8s.io/v1");
    }

    /// Prow's `DecorateRefs` and `CompletePrimaryRefs`: `blobless_fetch`
    /// reaches every ref that does not say otherwise, sparse checkout only
    /// the ref under test; without a decoration config neither moves.
    #[test]
    fn decoration_copies_blobless_fetch_to_every_ref_and_sparse_files_to_the_primary() {
        use crate::prowjob::DecorationConfig;
        let extra = |blobless: Option<bool>| Refs {
            org: "acme".into(),
            repo: "tools".into(),
            blobless_fetch: blobless,
            ..Refs::default()
        };
        let decoration = DecorationConfig {
            blobless_fetch: Some(true),
            sparse_checkout_files: vec!["go.mod".into(), "cmd/".into()],
            ..DecorationConfig::default()
        };
        let cases = [
            (
                Some(decoration.clone()),
                None,
                Some(true),
                vec!["go.mod", "cmd/"],
            ),
            (
                Some(decoration),
                Some(false),
                Some(false),
                vec!["go.mod", "cmd/"],
            ),
            (None, None, None, vec![]),
        ];
        for (dc, own, want_blobless, want_sparse) in cases {
            let p = Postsubmit {
                base: JobBase {
                    name: "post-unit".into(),
                    ..JobBase::default()
                },
                utility: UtilityConfig {
                    decoration_config: dc.clone(),
                    extra_refs: vec![extra(own)],
                    ..UtilityConfig::default()
                },
                ..Postsubmit::default()
            };
            let primary = Refs {
                blobless_fetch: own,
                ..Refs::default()
            };
            let pj = new_postsubmit(&p, primary, "guid", job_id("k"), now());
            let refs = pj.spec.refs.unwrap_or_default();
            let why = format!("config {:?}, ref's own {own:?}", dc.is_some());
            assert_eq!(refs.blobless_fetch, want_blobless, "{why}");
            assert_eq!(refs.sparse_checkout_files, want_sparse, "{why}");
            assert_eq!(pj.spec.extra_refs[0].blobless_fetch, want_blobless, "{why}");
            assert!(
                pj.spec.extra_refs[0].sparse_checkout_files.is_empty(),
                "{why}: sparse checkout is the primary ref's alone"
            );
        }
    }

    #[test]
    fn periodics_always_report() {
        let p = Periodic {
            base: JobBase {
                name: "ci-nightly".into(),
                ..JobBase::default()
            },
            ..Periodic::default()
        };
        let pj = new_periodic(&p, &BTreeMap::new(), job_id("ci-nightly@x"), now());
        assert!(pj.spec.report);
        assert_eq!(pj.spec.r#type, Some(ProwJobType::Periodic));
        assert!(pj.spec.refs.is_none());
    }
}
