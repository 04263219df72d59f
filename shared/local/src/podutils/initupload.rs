//! initupload, natively (`pkg/initupload/run.go`): reads clonerefs' records
//! and uploads `clone-records.json`, `clone-log.txt` (Prow's human format,
//! `pkg/pod-utils/clone/format.go`) and `started.json`; when a clone failed,
//! also `build-log.txt` (the clone log) and a failing `finished.json`, and
//! the container fails, so the test never runs. The `latest-build.txt`
//! markers (and a presubmit's alias) go up with them.

use std::path::PathBuf;

use jiff::Timestamp;
use skiff_core::duration::GoDuration;
use skiff_core::ports::LogStore;
use skiff_core::prowjob::ProwJob;
use skiff_core::prowjob::artifacts::{
    self, BUILD_LOG, CLONE_LOG_TXT, CLONE_RECORDS_JSON, FINISHED_JSON, Finished, STARTED_JSON,
};
use skiff_core::prowjob::decorate::options::{CloneRecord, InituploadOptions};
use skiff_core::prowjob::jobspec::JobSpec;

use super::mounts::Mounts;
use super::sidecar::main_refs;
use super::upload::Destination;

/// The initupload init container, ready to run.
pub(crate) struct Initupload {
    /// The clone records (container path, path here), when clonerefs ran.
    log: Option<(String, PathBuf)>,
    items: Vec<(String, PathBuf)>,
    spec: JobSpec,
    destination: Destination,
}

/// How initupload ended, when it could do its job.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Uploaded {
    Passed,
    /// A clone failed: the container fails; the clone log says why.
    CloneFailed {
        clone_log: String,
    },
}

impl Initupload {
    /// `INITUPLOAD_OPTIONS` and `JOB_SPEC` of the container with `mounts`.
    pub(crate) fn plan(
        options_json: &str,
        job_spec: &str,
        mounts: &Mounts,
    ) -> Result<Self, String> {
        let options: InituploadOptions = serde_json::from_str(options_json)
            .map_err(|e| format!("INITUPLOAD_OPTIONS: invalid JSON: {e}"))?;
        let spec = parse_job_spec(job_spec)?;
        let destination = Destination::new(&spec, &options.upload)?;
        let log = if options.log.is_empty() {
            None
        } else {
            let local = mounts.required("INITUPLOAD_OPTIONS log", &options.log)?;
            Some((options.log.clone(), local))
        };
        let items = options
            .upload
            .items
            .iter()
            .map(|i| Ok((i.clone(), mounts.required("INITUPLOAD_OPTIONS items", i)?)))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            log,
            items,
            spec,
            destination,
        })
    }

    /// Uploads; `Err` (the container fails) when the records cannot be read
    /// or the upload fails.
    pub(crate) async fn run(
        &self,
        logs: &dyn LogStore,
        now: Timestamp,
    ) -> Result<Uploaded, String> {
        let mut objects = Vec::new();
        let mut records = Vec::new();
        let mut clone_log = None;
        if let Some((path, local)) = &self.log {
            let raw = std::fs::read(local)
                .map_err(|e| format!("could not read clone log {path}: {e}"))?;
            records = serde_json::from_slice::<Vec<CloneRecord>>(&raw)
                .map_err(|e| format!("could not unmarshal clone records {path}: {e}"))?;
            let text: String = records.iter().map(format_record).collect();
            objects.push(
                self.destination
                    .file(CLONE_LOG_TXT, text.clone().into_bytes()),
            );
            objects.push(self.destination.file(CLONE_RECORDS_JSON, raw));
            if records.iter().any(|r| r.failed) {
                let finished = Finished {
                    timestamp: now.as_second(),
                    passed: false,
                    metadata: Default::default(),
                    result: "FAILURE".into(),
                    revision: String::new(),
                };
                objects.push(self.destination.file(BUILD_LOG, text.clone().into_bytes()));
                objects.push(self.destination.file(FINISHED_JSON, finished.to_json()));
                clone_log = Some(text);
            }
        }
        objects.push(
            self.destination
                .file(STARTED_JSON, started(&self.spec, &records, now)),
        );
        objects.extend(self.destination.items(&self.items));
        self.destination
            .upload(logs, objects)
            .await
            .map_err(|e| format!("failed to upload to blob storage: {e}"))?;
        Ok(match clone_log {
            Some(clone_log) => Uploaded::CloneFailed { clone_log },
            None => Uploaded::Passed,
        })
    }
}

/// `JOB_SPEC`, or why not.
pub(crate) fn parse_job_spec(text: &str) -> Result<JobSpec, String> {
    serde_json::from_str(text).map_err(|e| format!("JOB_SPEC: invalid JSON: {e}"))
}

/// `started.json` as initupload writes it (`SpecToStarted`): now, the
/// first pull, every repo's refs, and as the commit the main refs'
/// `final_sha` from the records, else their revision.
pub(crate) fn started(spec: &JobSpec, records: &[CloneRecord], now: Timestamp) -> Vec<u8> {
    let mut job = ProwJob::default();
    job.spec.refs = spec.refs.clone();
    job.spec.extra_refs = spec.extra_refs.clone();
    job.status.start_time = Some(now);
    let mut started = artifacts::started(&job);
    let cloned = main_refs(spec).and_then(|main| {
        records
            .iter()
            .find(|r| r.refs == *main)
            .map(|r| r.final_sha.clone())
            .filter(|sha| !sha.is_empty())
    });
    if let Some(sha) = cloned {
        started.repo_commit = sha.clone();
        started.repo_version = sha;
    }
    started.to_json()
}

/// Prow's `FormatRecord`: one record as the clone log shows it.
pub(crate) fn format_record(record: &CloneRecord) -> String {
    let mut out = String::new();
    if record.failed {
        out.push_str("# FAILED\n");
    }
    let refs = &record.refs;
    if refs.repo.is_empty() {
        out.push_str("Environment setup");
    } else {
        out.push_str(&format!(
            "# Cloning {}/{} at {}",
            refs.org, refs.repo, refs.base_ref
        ));
    }
    if !refs.base_sha.is_empty() {
        out.push_str(&format!("({})", refs.base_sha));
    }
    out.push('\n');
    if !refs.pulls.is_empty() {
        out.push_str("# Checking out pulls:\n");
        for pull in &refs.pulls {
            out.push_str(&format!("#\t{}", pull.number));
            if !pull.sha.is_empty() {
                out.push_str(&format!("({})", pull.sha));
            }
            out.push('\n');
        }
    }
    for command in &record.commands {
        let runtime = if command.duration != 0 {
            format!(" (runtime: {})", GoDuration(command.duration))
        } else {
            String::new()
        };
        out.push_str(&format!("$ {}{runtime}\n", command.command));
        out.push_str(&command.output);
        if !command.error.is_empty() {
            out.push_str(&format!("# Error: {}\n", command.error));
        }
    }
    out.push_str(&format!("# Final SHA: {}\n", record.final_sha));
    out.push_str(&format!(
        "# Total runtime: {}\n",
        GoDuration(record.duration)
    ));
    out
}

/// The records' JSON as clonerefs writes it (Go's `json.Marshal`).
#[cfg(test)]
fn records_json(records: &[CloneRecord]) -> String {
    skiff_core::gojson::to_string(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::decorate::options::CloneCommand;
    use skiff_core::prowjob::{ProwJobType, Pull, Refs};

    fn widgets() -> Refs {
        Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            base_sha: "b45e".into(),
            pulls: vec![Pull {
                number: 7,
                author: "alice".into(),
                sha: "7a7a".into(),
                ..Pull::default()
            }],
            ..Refs::default()
        }
    }

    /// `FormatRecord` on a setup record, a failed clone and a clean one
    /// (`%v` of a Go duration for the runtimes).
    #[test]
    fn records_read_as_prows_clone_log() {
        let setup = CloneRecord::default();
        assert_eq!(
            format_record(&setup),
            "Environment setup\n# Final SHA: \n# Total runtime: 0s\n"
        );
        let failed = CloneRecord {
            refs: widgets(),
            failed: true,
            commands: vec![
                CloneCommand {
                    command: "PWD=/  mkdir -p /home/prow/go/src/github.com/acme/widgets".into(),
                    duration: 51_000,
                    ..CloneCommand::default()
                },
                CloneCommand {
                    command:
                        "PWD=/home/prow/go/src/github.com/acme/widgets  git fetch /x --tags --prune"
                            .into(),
                    output: "fatal: '/x' does not appear to be a git repository\n".into(),
                    error: "exit status 128".into(),
                    duration: 1_500_000_000,
                },
            ],
            ..CloneRecord::default()
        };
        assert_eq!(
            format_record(&failed),
            concat!(
                "# FAILED\n",
                "# Cloning acme/widgets at main(b45e)\n",
                "# Checking out pulls:\n",
                "#\t7(7a7a)\n",
                "$ PWD=/  mkdir -p /home/prow/go/src/github.com/acme/widgets (runtime: 51µs)\n",
                "$ PWD=/home/prow/go/src/github.com/acme/widgets  git fetch /x --tags --prune (runtime: 1.5s)\n",
                "fatal: '/x' does not appear to be a git repository\n",
                "# Error: exit status 128\n",
                "# Final SHA: \n",
                "# Total runtime: 0s\n",
            )
        );
        let ok = CloneRecord {
            refs: Refs {
                base_sha: String::new(),
                pulls: Vec::new(),
                ..widgets()
            },
            final_sha: "f1".into(),
            duration: 62_000_000_000,
            ..CloneRecord::default()
        };
        assert_eq!(
            format_record(&ok),
            "# Cloning acme/widgets at main\n# Final SHA: f1\n# Total runtime: 1m2s\n"
        );
    }

    #[test]
    fn records_are_go_json() {
        let records = [
            CloneRecord::default(),
            CloneRecord {
                refs: widgets(),
                commands: vec![CloneCommand {
                    command: "PWD=/a  git init".into(),
                    output: "<ok>\n".into(),
                    duration: 5,
                    ..CloneCommand::default()
                }],
                final_sha: "f1".into(),
                duration: 9,
                ..CloneRecord::default()
            },
        ];
        assert_eq!(
            records_json(&records),
            concat!(
                r#"[{"refs":{"org":"","repo":""}},"#,
                r#"{"refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"b45e","#,
                r#""pulls":[{"number":7,"author":"alice","sha":"7a7a"}]},"#,
                r#""commands":[{"command":"PWD=/a  git init","output":"\u003cok\u003e\n","duration":5}],"#,
                r#""final_sha":"f1","duration":9}]"#
            )
        );
    }

    /// `SpecToStarted`: the pull as a string, `Refs.String()` per repo, and
    /// the main refs' final SHA (matched by equal refs) as the commit.
    #[test]
    fn started_takes_the_commit_from_the_main_refs_record() {
        let spec = JobSpec {
            r#type: Some(ProwJobType::Presubmit),
            refs: Some(widgets()),
            extra_refs: vec![Refs {
                org: "acme".into(),
                repo: "tools".into(),
                base_ref: "dev".into(),
                ..Refs::default()
            }],
            ..JobSpec::default()
        };
        let now = Timestamp::from_second(1_795_428_000).unwrap();
        let tools = CloneRecord {
            refs: spec.extra_refs[0].clone(),
            final_sha: "t00l".into(),
            ..CloneRecord::default()
        };
        let main = CloneRecord {
            refs: widgets(),
            final_sha: "merged".into(),
            ..CloneRecord::default()
        };
        let text =
            |records: &[CloneRecord]| String::from_utf8(started(&spec, records, now)).unwrap();
        assert_eq!(
            text(&[CloneRecord::default(), tools.clone(), main]),
            concat!(
                r#"{"timestamp":1795428000,"pull":"7","#,
                r#""repos":{"acme/tools":"dev","acme/widgets":"main:b45e,7:7a7a"},"#,
                r#""repo-commit":"merged","repo-version":"merged"}"#
            )
        );
        // Without a record of the main refs, the revision stands in.
        assert!(text(&[tools]).contains(r#""repo-commit":"7a7a""#));
    }
}
