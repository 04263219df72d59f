//! Where a job's logs and metadata live, in Prow's layout, and the two
//! metadata documents every tool reads first (`started.json`,
//! `finished.json`, testgrid's `metadata.Started` / `metadata.Finished`).
//!
//! Paths follow `pkg/pod-utils/gcs/target.go` (`PathForSpec`) and
//! `pkg/gcsupload/run.go` (`PathsForJob`): periodics and postsubmits under
//! `logs/<job>/<build>`, presubmits under `pr-logs/pull/<repo segment>/<pr>/<job>/<build>`,
//! batches under `pr-logs/pull/batch/<job>/<build>`, all below the bucket's
//! `path_prefix`. The repo segment follows the job's `path_strategy`; a job
//! without a GCS configuration (every undecorated job) uses `explicit`, which
//! always names the repo.
//!
//! The documents are what Prow's crier GCS reporter writes for a job without
//! pod utilities (`pkg/crier/reporters/gcs`, `downwardapi.PjToStarted`,
//! `util.MarshalFinishedJSON`): start and completion time of the record,
//! `passed`, and `result` = the job's state. `finished.json` also carries the
//! sidecar's `revision` (the commit tested), which Deck's job history shows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::decorate::paths::go_path_join;
use super::{ProwJob, ProwJobState, ProwJobType, Refs};
use crate::gojson;

pub const STARTED_JSON: &str = "started.json";
pub const FINISHED_JSON: &str = "finished.json";
pub const BUILD_LOG: &str = "build-log.txt";
/// The job record as crier's GCS reporter uploads it.
pub const PROWJOB_JSON: &str = "prowjob.json";
/// initupload's copy of clonerefs' records.
pub const CLONE_RECORDS_JSON: &str = "clone-records.json";
/// initupload's human-readable clone log.
pub const CLONE_LOG_TXT: &str = "clone-log.txt";

/// The `metadata.uploader` crier marks its own documents with, so it never
/// overwrites what the pod utilities uploaded.
pub const CRIER_UPLOADER: &str = "crier";

/// Why a job has no artifact path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// The build id is assigned with the pod; before that there is no place.
    #[error("job {0:?} has no build id yet")]
    NoBuildId(String),
    #[error("job {0:?} has no type")]
    NoType(String),
    #[error("presubmit job {0:?} has no pull request")]
    NoPull(String),
    #[error("job {job:?}: unknown path_strategy {strategy:?} (want legacy, single or explicit)")]
    UnknownPathStrategy { job: String, strategy: String },
}

/// The job's artifact directory (no leading or trailing `/`), as Prow's
/// `gcsupload.PathsForJob` computes it for the build in `status.build_id`.
pub fn artifact_path(job: &ProwJob) -> Result<String, ArtifactError> {
    let name = || job.spec.job.clone();
    let build = job.status.build_id.as_str();
    if build.is_empty() {
        return Err(ArtifactError::NoBuildId(name()));
    }
    let gcs = job
        .spec
        .decoration_config
        .as_ref()
        .and_then(|d| d.gcs_configuration.as_ref());
    let (prefix, strategy, default_org, default_repo) = match gcs {
        Some(g) => (
            g.path_prefix.as_str(),
            g.path_strategy.as_str(),
            g.default_org.as_str(),
            g.default_repo.as_str(),
        ),
        None => ("", "", "", ""),
    };
    let job_name = job.spec.job.as_str();
    let base = match job
        .spec
        .r#type
        .ok_or_else(|| ArtifactError::NoType(name()))?
    {
        ProwJobType::Periodic | ProwJobType::Postsubmit => go_path_join(&["logs", job_name, build]),
        ProwJobType::Batch => go_path_join(&["pr-logs", "pull", "batch", job_name, build]),
        ProwJobType::Presubmit => {
            let refs = job.spec.refs.as_ref();
            let (refs, pull) = refs
                .and_then(|r| Some((r, r.pulls.first()?)))
                .ok_or_else(|| ArtifactError::NoPull(name()))?;
            let segment = match strategy {
                "" | "explicit" => explicit_segment(&refs.org, &refs.repo),
                "legacy" if refs.org == default_org && refs.repo == default_repo => String::new(),
                "legacy" if refs.org == default_org => refs.repo.clone(),
                "single" if refs.org == default_org && refs.repo == default_repo => String::new(),
                "legacy" | "single" => explicit_segment(&refs.org, &refs.repo),
                other => {
                    return Err(ArtifactError::UnknownPathStrategy {
                        job: name(),
                        strategy: other.to_string(),
                    });
                }
            };
            let number = pull.number.to_string();
            go_path_join(&["pr-logs", "pull", &segment, &number, job_name, build])
        }
    };
    let full = if prefix.is_empty() {
        base
    } else {
        go_path_join(&[prefix, &base])
    };
    // A key under the bucket: `path_prefix: /ci` means `<bucket>/ci/…`.
    Ok(full.trim_start_matches('/').to_string())
}

/// The job's page on the dashboard: `<deck_url>/view/<artifact path>`.
/// Empty when no dashboard is configured or the job has no artifact path yet,
/// as Prow leaves `status.url` empty when it cannot compute one.
pub fn job_url(deck_url: &str, job: &ProwJob) -> String {
    let deck = deck_url.trim_end_matches('/');
    match artifact_path(job) {
        Ok(path) if !deck.is_empty() => format!("{deck}/view/{path}"),
        _ => String::new(),
    }
}

/// `org_repo`, with a Gerrit host's scheme dropped and the slashes of a
/// nested repo made underscores (Prow's `NewExplicitRepoPathBuilder`).
fn explicit_segment(org: &str, repo: &str) -> String {
    let org = org.strip_prefix("https://").unwrap_or(org);
    let org = org.strip_prefix("http://").unwrap_or(org);
    format!("{}_{}", org.trim_end_matches('/'), repo.replace('/', "_"))
}

/// testgrid's `metadata.Started`, the fields Prow fills, in its key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Started {
    /// Unix seconds of the job's start.
    pub timestamp: i64,
    /// The first pull's number, for presubmits.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pull: String,
    /// `org/repo` → `PULL_REFS`-style refs, for every repo checked out.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub repos: BTreeMap<String, String>,
    #[serde(rename = "repo-commit", skip_serializing_if = "String::is_empty")]
    pub repo_commit: String,
    /// Who wrote the document (`uploader: crier`), among other notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Deprecated copy of `repo-commit`, still read by older tools.
    #[serde(rename = "repo-version", skip_serializing_if = "String::is_empty")]
    pub repo_version: String,
}

/// testgrid's `metadata.Finished`, the fields Prow fills, in its key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Finished {
    /// Unix seconds of the job's completion.
    pub timestamp: i64,
    pub passed: bool,
    /// Notes of the run: the test's metadata file, or `uploader: crier`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The job's final state (`success`, `failure`, `error`, `aborted`).
    pub result: String,
    /// The commit tested (the sidecar's `revision`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revision: String,
}

/// `started.json` for the job (Prow's `PjToStarted` without clone records).
pub fn started(job: &ProwJob) -> Started {
    let refs = job.spec.refs.as_ref();
    let revision = revision(job);
    let mut repos = BTreeMap::new();
    for r in refs.into_iter().chain(&job.spec.extra_refs) {
        repos.insert(format!("{}/{}", r.org, r.repo), r.pull_refs());
    }
    Started {
        timestamp: job.status.start_time.map_or(0, |t| t.as_second()),
        pull: refs
            .and_then(|r| r.pulls.first())
            .map(|p| p.number.to_string())
            .unwrap_or_default(),
        repos,
        repo_commit: revision.clone(),
        metadata: BTreeMap::new(),
        repo_version: revision,
    }
}

/// crier's `started.json` for a decorated job whose pod utilities wrote
/// none (`downwardapi.PjToStarted`): the commit the main refs were cloned at
/// when the clone records say, and `uploader: crier`.
pub fn crier_started(
    job: &ProwJob,
    clone_records: &[super::decorate::options::CloneRecord],
) -> Started {
    let mut doc = started(job);
    let cloned = job.spec.refs.as_ref().and_then(|refs| {
        clone_records
            .iter()
            .find(|r| &r.refs == refs && !r.final_sha.is_empty())
    });
    if let Some(record) = cloned {
        doc.repo_commit = record.final_sha.clone();
        doc.repo_version = record.final_sha.clone();
    }
    doc.metadata
        .insert("uploader".into(), CRIER_UPLOADER.into());
    doc
}

/// crier's `finished.json` for a decorated job whose sidecar wrote none
/// (`util.MarshalFinishedJSON`): the state in lowercase as the `result`,
/// `uploader: crier`, no revision. `None` while the job is not complete.
pub fn crier_finished(job: &ProwJob) -> Option<Finished> {
    let mut doc = finished(job)?;
    doc.revision = String::new();
    doc.metadata
        .insert("uploader".into(), CRIER_UPLOADER.into());
    Some(doc)
}

/// `prowjob.json`: the record, indented with tabs as crier's
/// `json.MarshalIndent` writes it.
pub fn prowjob_json(job: &ProwJob) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // A record always serializes: it was read from JSON.
    if serde::Serialize::serialize(job, &mut ser).is_err() {
        out.clear();
    }
    out
}

/// `finished.json` for a complete job; `None` while it is still running.
pub fn finished(job: &ProwJob) -> Option<Finished> {
    let completed = job.status.completion_time?;
    let state = job.status.state?;
    Some(Finished {
        timestamp: completed.as_second(),
        passed: state == ProwJobState::Success,
        metadata: BTreeMap::new(),
        result: state.as_str().to_string(),
        revision: revision(job),
    })
}

impl Started {
    /// The document's bytes, as Go's `json.Marshal` writes them.
    pub fn to_json(&self) -> Vec<u8> {
        gojson::to_string(self).into_bytes()
    }
}

impl Finished {
    /// The document's bytes, as Go's `json.Marshal` writes them.
    pub fn to_json(&self) -> Vec<u8> {
        gojson::to_string(self).into_bytes()
    }
}

/// Prow's `GetRevisionFromRefs`: of the main refs (the job's own, else the
/// first non-auxiliary extra ref), the first pull's SHA, else the base SHA,
/// else the base ref.
fn revision(job: &ProwJob) -> String {
    let main: Option<&Refs> = job
        .spec
        .refs
        .as_ref()
        .or_else(|| job.spec.extra_refs.iter().find(|r| !r.auxiliary));
    let Some(r) = main else {
        return String::new();
    };
    if let Some(p) = r.pulls.first() {
        return p.sha.clone();
    }
    if !r.base_sha.is_empty() {
        return r.base_sha.clone();
    }
    r.base_ref.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{DecorationConfig, GcsConfiguration, ProwJobSpec, Pull};

    fn job(t: ProwJobType, refs: Option<Refs>) -> ProwJob {
        let mut pj = ProwJob::default();
        pj.metadata.name = "3b1f6f2e".into();
        pj.spec = ProwJobSpec {
            r#type: Some(t),
            job: "pull-widgets-unit".into(),
            refs,
            ..ProwJobSpec::default()
        };
        pj.status.build_id = "1823456789012345678".into();
        pj
    }

    fn refs(org: &str, repo: &str, pulls: &[i64]) -> Refs {
        Refs {
            org: org.into(),
            repo: repo.into(),
            base_ref: "main".into(),
            base_sha: "0a1b2c".into(),
            pulls: pulls
                .iter()
                .map(|&n| Pull {
                    number: n,
                    sha: format!("sha{n}"),
                    ..Pull::default()
                })
                .collect(),
            ..Refs::default()
        }
    }

    fn with_gcs(mut pj: ProwJob, strategy: &str, prefix: &str) -> ProwJob {
        pj.spec.decoration_config = Some(DecorationConfig {
            gcs_configuration: Some(GcsConfiguration {
                bucket: "s3://acme-ci".into(),
                path_prefix: prefix.into(),
                path_strategy: strategy.into(),
                default_org: "acme".into(),
                default_repo: "widgets".into(),
                ..GcsConfiguration::default()
            }),
            ..DecorationConfig::default()
        });
        pj
    }

    /// Prow's `TestPathForSpec` / `TestPathsForJob` cases with our values:
    /// every type, each strategy on a default repo, a default org's other
    /// repo and another org, a Gerrit org, a path prefix.
    #[test]
    fn paths_follow_prows_layout_and_strategies() {
        const B: &str = "1823456789012345678";
        let pre = |org: &str, repo: &str| job(ProwJobType::Presubmit, Some(refs(org, repo, &[42])));
        let cases: Vec<(&str, ProwJob, String)> = vec![
            (
                "periodic",
                job(ProwJobType::Periodic, None),
                format!("logs/pull-widgets-unit/{B}"),
            ),
            (
                "postsubmit",
                job(ProwJobType::Postsubmit, Some(refs("acme", "widgets", &[]))),
                format!("logs/pull-widgets-unit/{B}"),
            ),
            (
                "batch",
                job(ProwJobType::Batch, Some(refs("acme", "widgets", &[1, 2]))),
                format!("pr-logs/pull/batch/pull-widgets-unit/{B}"),
            ),
            (
                "undecorated presubmit is explicit",
                pre("acme", "widgets"),
                format!("pr-logs/pull/acme_widgets/42/pull-widgets-unit/{B}"),
            ),
            (
                "explicit",
                with_gcs(pre("acme", "widgets"), "explicit", ""),
                format!("pr-logs/pull/acme_widgets/42/pull-widgets-unit/{B}"),
            ),
            (
                "legacy, default repo",
                with_gcs(pre("acme", "widgets"), "legacy", ""),
                format!("pr-logs/pull/42/pull-widgets-unit/{B}"),
            ),
            (
                "legacy, default org",
                with_gcs(pre("acme", "gadgets"), "legacy", ""),
                format!("pr-logs/pull/gadgets/42/pull-widgets-unit/{B}"),
            ),
            (
                "legacy, other org",
                with_gcs(pre("globex", "widgets"), "legacy", ""),
                format!("pr-logs/pull/globex_widgets/42/pull-widgets-unit/{B}"),
            ),
            (
                "single, default repo",
                with_gcs(pre("acme", "widgets"), "single", ""),
                format!("pr-logs/pull/42/pull-widgets-unit/{B}"),
            ),
            (
                "single, default org",
                with_gcs(pre("acme", "gadgets"), "single", ""),
                format!("pr-logs/pull/acme_gadgets/42/pull-widgets-unit/{B}"),
            ),
            (
                "gerrit org and nested repo",
                pre("https://review.example.org/", "platform/widgets"),
                format!(
                    "pr-logs/pull/review.example.org_platform_widgets/42/pull-widgets-unit/{B}"
                ),
            ),
            (
                "path prefix",
                with_gcs(
                    job(ProwJobType::Periodic, None),
                    "explicit",
                    "/ci//nightly/",
                ),
                format!("ci/nightly/logs/pull-widgets-unit/{B}"),
            ),
            (
                "relative path prefix",
                with_gcs(pre("acme", "widgets"), "explicit", "skiff"),
                format!("skiff/pr-logs/pull/acme_widgets/42/pull-widgets-unit/{B}"),
            ),
        ];
        for (name, pj, want) in cases {
            assert_eq!(artifact_path(&pj), Ok(want), "{name}");
        }
    }

    #[test]
    fn jobs_without_a_place_say_why() {
        let mut pj = job(ProwJobType::Periodic, None);
        pj.status.build_id.clear();
        assert_eq!(
            artifact_path(&pj),
            Err(ArtifactError::NoBuildId("pull-widgets-unit".into()))
        );
        let pj = job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[])));
        assert_eq!(
            artifact_path(&pj),
            Err(ArtifactError::NoPull("pull-widgets-unit".into()))
        );
        let pj = with_gcs(
            job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[42]))),
            "flat",
            "",
        );
        assert_eq!(
            artifact_path(&pj).unwrap_err().to_string(),
            r#"job "pull-widgets-unit": unknown path_strategy "flat" (want legacy, single or explicit)"#
        );
        let mut pj = job(ProwJobType::Periodic, None);
        pj.spec.r#type = None;
        assert_eq!(
            artifact_path(&pj),
            Err(ArtifactError::NoType("pull-widgets-unit".into()))
        );
    }

    #[test]
    fn job_url_is_the_deck_view_of_the_artifact_path() {
        let pj = job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[42])));
        let want = "https://ci.example.com/view/pr-logs/pull/acme_widgets/42/pull-widgets-unit/1823456789012345678";
        assert_eq!(job_url("https://ci.example.com", &pj), want);
        assert_eq!(job_url("https://ci.example.com/", &pj), want);
        assert_eq!(job_url("", &pj), "");
        let mut no_build = pj.clone();
        no_build.status.build_id.clear();
        assert_eq!(job_url("https://ci.example.com", &no_build), "");
    }

    #[test]
    fn started_json_has_prows_shape() {
        let mut pj = job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[42])));
        pj.spec.extra_refs = vec![Refs {
            org: "acme".into(),
            repo: "tooling".into(),
            base_ref: "release-1.4".into(),
            ..Refs::default()
        }];
        pj.status.start_time = Some("2026-11-23T10:00:00Z".parse().unwrap());
        assert_eq!(
            String::from_utf8(started(&pj).to_json()).unwrap(),
            concat!(
                r#"{"timestamp":1795428000,"pull":"42","#,
                r#""repos":{"acme/tooling":"release-1.4","acme/widgets":"main:0a1b2c,42:sha42"},"#,
                r#""repo-commit":"sha42","repo-version":"sha42"}"#
            )
        );
        // A periodic with nothing checked out has only its start time.
        let mut pj = job(ProwJobType::Periodic, None);
        pj.status.start_time = Some("2026-11-23T10:00:00Z".parse().unwrap());
        assert_eq!(
            String::from_utf8(started(&pj).to_json()).unwrap(),
            r#"{"timestamp":1795428000}"#
        );
    }

    #[test]
    fn revision_prefers_pull_then_base_sha_then_base_ref_of_main_refs() {
        let mut pj = job(ProwJobType::Postsubmit, Some(refs("acme", "widgets", &[])));
        assert_eq!(revision(&pj), "0a1b2c");
        pj.spec.refs = None;
        pj.spec.extra_refs = vec![
            Refs {
                auxiliary: true,
                base_ref: "aux".into(),
                ..Refs::default()
            },
            Refs {
                base_ref: "release-1.4".into(),
                ..Refs::default()
            },
        ];
        assert_eq!(revision(&pj), "release-1.4");
    }

    #[test]
    fn finished_json_reports_the_final_state() {
        let mut pj = job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[42])));
        pj.status.state = Some(ProwJobState::Pending);
        assert_eq!(finished(&pj), None, "not complete yet");
        for (state, passed) in [
            (ProwJobState::Success, true),
            (ProwJobState::Failure, false),
            (ProwJobState::Error, false),
            (ProwJobState::Aborted, false),
        ] {
            pj.status.state = Some(state);
            pj.status.completion_time = Some("2026-11-23T10:05:00Z".parse().unwrap());
            let want = format!(
                r#"{{"timestamp":1795428300,"passed":{passed},"result":"{}","revision":"sha42"}}"#,
                state.as_str()
            );
            let got = finished(&pj).map(|f| String::from_utf8(f.to_json()).unwrap());
            assert_eq!(got, Some(want), "{state:?}");
        }
    }

    /// crier's GCS reporter for a decorated job: its own documents say
    /// `uploader: crier`, `result` is the lowercase state, no revision; the
    /// main refs' cloned commit comes from the clone records.
    #[test]
    fn crier_documents_say_who_wrote_them() {
        use crate::prowjob::decorate::options::CloneRecord;
        let mut pj = job(ProwJobType::Presubmit, Some(refs("acme", "widgets", &[42])));
        pj.status.start_time = Some("2026-11-23T10:00:00Z".parse().unwrap());
        pj.status.state = Some(ProwJobState::Failure);
        pj.status.completion_time = Some("2026-11-23T10:05:00Z".parse().unwrap());
        let records = vec![CloneRecord {
            refs: pj.spec.refs.clone().unwrap(),
            final_sha: "merged1".into(),
            ..CloneRecord::default()
        }];
        assert_eq!(
            String::from_utf8(crier_started(&pj, &records).to_json()).unwrap(),
            concat!(
                r#"{"timestamp":1795428000,"pull":"42","repos":{"acme/widgets":"main:0a1b2c,42:sha42"},"#,
                r#""repo-commit":"merged1","metadata":{"uploader":"crier"},"repo-version":"merged1"}"#
            )
        );
        assert_eq!(
            crier_finished(&pj).map(|f| String::from_utf8(f.to_json()).unwrap()),
            Some(
                r#"{"timestamp":1795428300,"passed":false,"metadata":{"uploader":"crier"},"result":"failure"}"#
                    .to_string()
            )
        );
        let json = String::from_utf8(prowjob_json(&pj)).unwrap();
        assert!(json.starts_with("{\n\t\""), "tab-indented: {json}");
        let back: ProwJob = serde_json::from_str(&json).unwrap();
        assert_eq!(back.status.state, Some(ProwJobState::Failure));
    }
}
