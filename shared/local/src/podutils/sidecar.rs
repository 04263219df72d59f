//! The sidecar, natively (`pkg/sidecar/run.go`): once every test container
//! has written its marker, uploads each process log as `build-log.txt`
//! (`<container>-build-log.txt` with several), `finished.json` and the
//! artifacts, with the `latest-build.txt` markers.
//!
//! Censoring is a no-op here: it only ever covers the secret volumes a test
//! container mounts, and no secret volume exists locally, so the test could
//! not have read one. The sidecar's own log (`sidecar-logs.json`) is not
//! written; its lines go to Skiff's log.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::{Map, Value};
use skiff_core::ports::LogStore;
use skiff_core::prowjob::Refs;
use skiff_core::prowjob::artifacts::{BUILD_LOG, FINISHED_JSON, Finished};
use skiff_core::prowjob::decorate::options::SidecarOptions;
use skiff_core::prowjob::jobspec::JobSpec;

use super::initupload::parse_job_spec;
use super::mounts::Mounts;
use super::upload::Destination;

/// entrypoint's marker for a test stopped by a signal (pod deleted).
pub(crate) const ABORTED: i32 = 130;

/// One test container, as the sidecar sees it.
struct Entry {
    container: String,
    args: Vec<String>,
    process_log: (String, PathBuf),
    marker_file: PathBuf,
    metadata_file: Option<PathBuf>,
}

/// The sidecar container, ready to run.
pub(crate) struct Sidecar {
    entries: Vec<Entry>,
    items: Vec<(String, PathBuf)>,
    spec: JobSpec,
    destination: Destination,
}

impl Sidecar {
    /// `SIDECAR_OPTIONS` and `JOB_SPEC` of the container with `mounts`.
    pub(crate) fn plan(
        pod: &str,
        options_json: &str,
        job_spec: &str,
        mounts: &Mounts,
    ) -> Result<Self, String> {
        let options: SidecarOptions = serde_json::from_str(options_json)
            .map_err(|e| format!("SIDECAR_OPTIONS: invalid JSON: {e}"))?;
        if options.entries.is_empty() {
            return Err("SIDECAR_OPTIONS has no entries: nothing to wait for".into());
        }
        let spec = parse_job_spec(job_spec)?;
        let destination = Destination::new(&spec, &options.gcs_options)?;
        let mut entries = Vec::new();
        for e in &options.entries {
            let what =
                |field: &str| format!("SIDECAR_OPTIONS entry {:?} {field}", e.container_name);
            let metadata_file = if e.metadata_file.is_empty() {
                None
            } else {
                Some(mounts.required(&what("metadata_file"), &e.metadata_file)?)
            };
            entries.push(Entry {
                container: e.container_name.clone(),
                args: e.args.clone(),
                process_log: (
                    e.process_log.clone(),
                    mounts.required(&what("process_log"), &e.process_log)?,
                ),
                marker_file: mounts.required(&what("marker_file"), &e.marker_file)?,
                metadata_file,
            });
        }
        let items = options
            .gcs_options
            .items
            .iter()
            .map(|i| {
                Ok((
                    i.clone(),
                    mounts.required("SIDECAR_OPTIONS gcs_options items", i)?,
                ))
            })
            .collect::<Result<_, String>>()?;
        if !options.censoring_options.secret_directories.is_empty() {
            tracing::info!(
                pod,
                "secret volumes are not mounted locally: nothing to censor"
            );
        }
        Ok(Self {
            entries,
            items,
            spec,
            destination,
        })
    }

    /// The uploads, once every marker is written. `Err` is logged by the
    /// caller: the sidecar exits 0 even when an upload fails, so a test's
    /// result shows in its own container only.
    pub(crate) async fn run(&self, logs: &dyn LogStore, now: Timestamp) -> Result<(), String> {
        let codes: Vec<Result<i32, String>> = self
            .entries
            .iter()
            .map(|e| read_marker(&e.marker_file))
            .collect();
        let passed = codes.iter().all(|c| matches!(c, Ok(0)));
        let aborted = codes.iter().any(|c| matches!(c, Ok(ABORTED)));
        let result = if passed {
            "SUCCESS"
        } else if aborted {
            "ABORTED"
        } else {
            "FAILURE"
        };
        let several = self.entries.len() > 1;
        let mut objects = Vec::new();
        for e in &self.entries {
            let (path, local) = &e.process_log;
            let log = std::fs::read(local)
                .unwrap_or_else(|err| format!("Failed to open {path}: {err}\n").into_bytes());
            let name = if several {
                format!("{}-{BUILD_LOG}", e.container)
            } else {
                BUILD_LOG.to_string()
            };
            objects.push(self.destination.file(&name, log));
        }
        let finished = Finished {
            timestamp: now.as_second(),
            passed,
            metadata: self.metadata(),
            result: result.into(),
            revision: revision(&self.spec),
        };
        objects.push(self.destination.file(FINISHED_JSON, finished.to_json()));
        objects.extend(self.destination.items(&self.items));
        self.destination.upload(logs, objects).await
    }

    /// The entries' metadata files merged, later keys winning
    /// (`combineMetadata`); files that cannot be read or parsed are listed
    /// under `sidecar-errors`. Keys sorted at every depth, as Go writes maps.
    fn metadata(&self) -> BTreeMap<String, Value> {
        let mut merged = Map::new();
        let mut errors = Map::new();
        for (i, e) in self.entries.iter().enumerate() {
            let Some(file) = &e.metadata_file else {
                continue;
            };
            let entry = format!("entry {i}: {}", e.args.join(" "));
            let raw = match std::fs::read(file) {
                Ok(raw) => raw,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    errors.insert(entry, Value::String(err.to_string()));
                    continue;
                }
            };
            match serde_json::from_slice::<Map<String, Value>>(&raw) {
                Ok(piece) => merged.extend(piece),
                Err(err) => {
                    errors.insert(entry, Value::String(err.to_string()));
                }
            }
        }
        if !errors.is_empty() {
            merged.insert("sidecar-errors".into(), Value::Object(errors));
        }
        merged.into_iter().map(|(k, v)| (k, sorted(v))).collect()
    }
}

/// A marker's code (`readMarkerFile`).
fn read_marker(path: &std::path::Path) -> Result<i32, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("bad read: {e}"))?;
    text.trim()
        .parse()
        .map_err(|e| format!("invalid return code: {e}"))
}

/// Objects with their keys in order, at every depth, as Go writes maps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The main refs (`mainRefs`): the job's own, else the first extra ref that
/// is not auxiliary.
pub(crate) fn main_refs(spec: &JobSpec) -> Option<&Refs> {
    spec.refs
        .as_ref()
        .or_else(|| spec.extra_refs.iter().find(|r| !r.auxiliary))
}

/// `GetRevisionFromSpec`: of the main refs, the first pull's SHA, else the
/// base SHA, else the base ref.
pub(crate) fn revision(spec: &JobSpec) -> String {
    let Some(refs) = main_refs(spec) else {
        return String::new();
    };
    if let Some(pull) = refs.pulls.first() {
        return pull.sha.clone();
    }
    if !refs.base_sha.is_empty() {
        return refs.base_sha.clone();
    }
    refs.base_ref.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_json_has_testgrids_keys_in_gos_order() {
        let f = Finished {
            timestamp: 1_795_428_300,
            passed: true,
            metadata: [
                ("z".to_string(), serde_json::json!(1)),
                (
                    "a".to_string(),
                    sorted(serde_json::json!({"y": 1.0, "b": "<x>"})),
                ),
            ]
            .into(),
            result: "SUCCESS".into(),
            revision: "7a7a".into(),
        };
        assert_eq!(
            String::from_utf8(f.to_json()).unwrap(),
            concat!(
                r#"{"timestamp":1795428300,"passed":true,"#,
                r#""metadata":{"a":{"b":"\u003cx\u003e","y":1},"z":1},"#,
                r#""result":"SUCCESS","revision":"7a7a"}"#
            )
        );
        let failed = Finished {
            timestamp: 1,
            result: "FAILURE".into(),
            ..Finished::default()
        };
        assert_eq!(
            String::from_utf8(failed.to_json()).unwrap(),
            r#"{"timestamp":1,"passed":false,"result":"FAILURE"}"#
        );
    }

    #[test]
    fn metadata_merges_later_keys_over_earlier_and_lists_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let entry = |name: &str, metadata: Option<PathBuf>| Entry {
            container: name.into(),
            args: vec!["make".into(), name.into()],
            process_log: (String::new(), PathBuf::new()),
            marker_file: PathBuf::new(),
            metadata_file: metadata,
        };
        let sidecar = |entries| Sidecar {
            entries,
            items: Vec::new(),
            spec: JobSpec::default(),
            destination: Destination::new(
                &JobSpec {
                    r#type: Some(skiff_core::prowjob::ProwJobType::Periodic),
                    job: "j".into(),
                    build_id: "1".into(),
                    ..JobSpec::default()
                },
                &Default::default(),
            )
            .unwrap(),
        };
        let s = sidecar(vec![
            entry("a", Some(file("a.json", r#"{"k":"a","only-a":1}"#))),
            entry("b", Some(file("b.json", r#"{"k":"b"}"#))),
            entry("c", Some(dir.path().join("missing.json"))),
            entry("d", Some(file("d.json", "not json"))),
        ]);
        let got = s.metadata();
        assert_eq!(got["k"], "b");
        assert_eq!(got["only-a"], 1);
        let errors = got["sidecar-errors"].as_object().unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["entry 3: make d"]);
        assert!(sidecar(vec![entry("a", None)]).metadata().is_empty());
    }

    #[test]
    fn the_revision_is_the_main_refs_pull_then_base_sha_then_base_ref() {
        let refs = |base_sha: &str, pull: Option<&str>, auxiliary: bool| Refs {
            base_ref: "main".into(),
            base_sha: base_sha.into(),
            pulls: pull
                .map(|sha| skiff_core::prowjob::Pull {
                    sha: sha.into(),
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            auxiliary,
            ..Refs::default()
        };
        let with = |main: Option<Refs>, extra: Vec<Refs>| JobSpec {
            refs: main,
            extra_refs: extra,
            ..JobSpec::default()
        };
        let cases = [
            (with(Some(refs("b", Some("p"), false)), vec![]), "p"),
            (with(Some(refs("b", None, false)), vec![]), "b"),
            (with(Some(refs("", None, false)), vec![]), "main"),
            (
                with(None, vec![refs("aux", None, true), refs("x", None, false)]),
                "x",
            ),
            (with(None, vec![refs("aux", None, true)]), ""),
        ];
        for (spec, want) in cases {
            assert_eq!(revision(&spec), want);
        }
    }
}
