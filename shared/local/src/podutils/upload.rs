//! What initupload and the sidecar upload, and where: Prow's `gcsupload.Run`
//! into the [`LogStore`] `skiff dev` shares with the syncer and deck.
//!
//! The job's directory is [`artifact_path`] of a ProwJob rebuilt from
//! `JOB_SPEC` and the tool's own blob-storage options (Prow's `PathsForJob`
//! reads the same two), so readers and writers agree by construction. Named
//! files and artifacts go under it (plus `sub_dir`); `latest-build.txt` and
//! a presubmit's alias `pr-logs/directory/<job>/<build>.txt` go at the
//! bucket root, outside `path_prefix`, as Prow puts them.
//!
//! Differences from a bucket: the store keeps bytes, not object metadata,
//! so the alias has no `x-goog-meta-link` (its content is the same link),
//! and an artifact `x.<ext>.gz` that Prow would store gzip-encoded as `x.<ext>`
//! is stored decompressed under that name: what a reader of the object gets.
//! A bare `x.gz` becomes `x` holding the gzip bytes, as in Prow.
//! `local_output_dir` is ignored: the store is already local.

use std::io::Read;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use skiff_core::ports::LogStore;
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::decorate::options::GcsUploadOptions;
use skiff_core::prowjob::decorate::paths::go_path_join;
use skiff_core::prowjob::jobspec::JobSpec;
use skiff_core::prowjob::{GcsConfiguration, ProwJob, ProwJobType};

/// Uploads in flight at once, and tries per upload (`gcs.Upload`).
const PARALLEL: usize = 4;
const TRIES: usize = 4;

/// One object: `name` (which may have directories) under `dir`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Object {
    pub dir: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Where one job's uploads land.
#[derive(Clone, Debug)]
pub(crate) struct Destination {
    /// `job_dir` + `sub_dir`: where named files and artifacts go.
    blob_dir: String,
    /// `latest-build.txt` files and the presubmit alias.
    markers: Vec<Object>,
    dry_run: bool,
}

impl Destination {
    /// The destination Prow's tools compute from `JOB_SPEC` and `gcs`;
    /// the error says why there is none (no build id, presubmit without a
    /// pull, unknown path strategy).
    pub(crate) fn new(spec: &JobSpec, gcs: &GcsUploadOptions) -> Result<Self, String> {
        let job = job_from_spec(spec, gcs, &gcs.path_prefix);
        let job_dir = artifact_path(&job).map_err(|e| format!("JOB_SPEC: {e}"))?;
        let blob_dir = go_path_join(&[&job_dir, &gcs.sub_dir]);
        // Markers ignore `path_prefix` (Prow quirk): work them out from the
        // unprefixed directory.
        let unprefixed =
            artifact_path(&job_from_spec(spec, gcs, "")).map_err(|e| format!("JOB_SPEC: {e}"))?;
        let job_root = unprefixed
            .rsplit_once('/')
            .map_or(String::new(), |(dir, _)| dir.to_string());
        let directory = go_path_join(&["pr-logs", "directory", &spec.job]);
        let latest = |dir: &str| Object {
            dir: dir.to_string(),
            name: "latest-build.txt".into(),
            bytes: spec.build_id.clone().into_bytes(),
        };
        let markers = match spec.r#type {
            Some(ProwJobType::Periodic | ProwJobType::Postsubmit) => vec![latest(&job_root)],
            Some(ProwJobType::Batch) => vec![latest(&directory)],
            Some(ProwJobType::Presubmit) => vec![
                Object {
                    dir: directory.clone(),
                    name: format!("{}.txt", spec.build_id),
                    bytes: alias_link(&gcs.bucket, &job_dir).into_bytes(),
                },
                latest(&directory),
                latest(&job_root),
            ],
            // artifact_path has already refused a spec without a type.
            None => Vec::new(),
        };
        Ok(Self {
            blob_dir,
            markers,
            dry_run: gcs.dry_run,
        })
    }

    /// A named file (`started.json`, `build-log.txt`) of this run.
    pub(crate) fn file(&self, name: &str, bytes: Vec<u8>) -> Object {
        Object {
            dir: self.blob_dir.clone(),
            name: name.to_string(),
            bytes,
        }
    }

    /// The objects for `items` (container path, path here): a directory's
    /// files as `<dir name>/<relative path>` (the artifacts), a file as its
    /// name; missing items are skipped as Prow skips them.
    pub(crate) fn items(&self, items: &[(String, PathBuf)]) -> Vec<Object> {
        let mut out = Vec::new();
        for (container_path, local) in items {
            let Ok(meta) = std::fs::metadata(local) else {
                tracing::warn!(item = %container_path, "upload item not found: skipped");
                continue;
            };
            let base = container_path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            if meta.is_dir() {
                for (rel, file) in walk(local) {
                    let (dir, file_name) = match rel.rsplit_once('/') {
                        Some((dir, name)) => (format!("{base}/{dir}"), name.to_string()),
                        None => (base.to_string(), rel.clone()),
                    };
                    let (object_name, gzipped) = object_file_name(&file_name);
                    let name = format!("{dir}/{object_name}").replace('#', "%23");
                    if let Some(bytes) = read(&file, gzipped) {
                        self.push_unique(&mut out, name, bytes);
                    }
                }
            } else {
                let (object_name, gzipped) = object_file_name(base);
                if let Some(bytes) = read(local, gzipped) {
                    self.push_unique(&mut out, object_name, bytes);
                }
            }
        }
        out
    }

    fn push_unique(&self, out: &mut Vec<Object>, name: String, bytes: Vec<u8>) {
        if out.iter().any(|o| o.name == name) {
            tracing::warn!(name, "duplicate upload skipped");
            return;
        }
        out.push(self.file(&name, bytes));
    }

    /// Uploads `objects` and the markers, [`PARALLEL`] at a time, each
    /// tried up to [`TRIES`] times while the store says a retry may help.
    /// The error lists what could not be stored.
    pub(crate) async fn upload(
        &self,
        logs: &dyn LogStore,
        objects: Vec<Object>,
    ) -> Result<(), String> {
        let all: Vec<Object> = self.markers.iter().cloned().chain(objects).collect();
        if self.dry_run {
            for o in &all {
                tracing::info!(dest = %format!("{}/{}", o.dir, o.name), "would upload (dry_run)");
            }
            return Ok(());
        }
        let failures: Vec<String> = futures_util::stream::iter(all)
            .map(|o| async move {
                let mut tries = 0;
                loop {
                    tries += 1;
                    match logs.put(&o.dir, &o.name, &o.bytes).await {
                        Ok(()) => return None,
                        Err(e) if e.is_retryable() && tries < TRIES => continue,
                        Err(e) => return Some(format!("{}/{}: {e}", o.dir, o.name)),
                    }
                }
            })
            .buffer_unordered(PARALLEL)
            .filter_map(std::future::ready)
            .collect()
            .await;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!("failed to upload {}", failures.join("; ")))
        }
    }
}

/// The ProwJob fields [`artifact_path`] reads, from `JOB_SPEC` and the
/// tool's options (which carry the job's `gcs_configuration`).
fn job_from_spec(spec: &JobSpec, gcs: &GcsUploadOptions, path_prefix: &str) -> ProwJob {
    let mut job = ProwJob::default();
    job.metadata.name = spec.prow_job_id.clone();
    job.spec.r#type = spec.r#type;
    job.spec.job = spec.job.clone();
    job.spec.refs = spec.refs.clone();
    job.spec.extra_refs = spec.extra_refs.clone();
    let mut decoration = spec.decoration_config.clone().unwrap_or_default();
    decoration.gcs_configuration = Some(GcsConfiguration {
        bucket: gcs.bucket.clone(),
        path_prefix: path_prefix.to_string(),
        path_strategy: gcs.path_strategy.clone(),
        default_org: gcs.default_org.clone(),
        default_repo: gcs.default_repo.clone(),
        media_types: gcs.media_types.clone(),
        job_url_prefix: gcs.job_url_prefix.clone(),
        local_output_dir: gcs.local_output_dir.clone(),
        compress_file_types: gcs.compress_file_types.clone(),
    });
    job.spec.decoration_config = Some(decoration);
    job.status.build_id = spec.build_id.clone();
    job
}

/// The alias's content: `gs://<bucket>/<dir>` for a bucket without a
/// scheme, else `<bucket>/<dir>`.
fn alias_link(bucket: &str, job_dir: &str) -> String {
    let has_scheme = bucket.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        format!("{bucket}/{job_dir}")
    } else {
        format!("gs://{}", go_path_join(&[bucket, job_dir]))
    }
}

/// Prow's `WriterOptionsFromFileName` on a file name: a last `.gz` or
/// `.gzip` extension is dropped from the object name; `true` when what is
/// left still has an extension of its own, so the object is a gzip-encoded
/// `x.<ext>` rather than a gzip file.
pub(crate) fn object_file_name(file_name: &str) -> (String, bool) {
    let Some((stem, ext)) = file_name.rsplit_once('.') else {
        return (file_name.to_string(), false);
    };
    if ext != "gz" && ext != "gzip" {
        return (file_name.to_string(), false);
    }
    let inner_ext = stem.rsplit_once('.').map_or("", |(_, e)| e);
    (stem.to_string(), !inner_ext.is_empty())
}

/// The file's bytes, decompressed when it is a gzip-encoded object (and
/// really gzip); `None` (logged) when it cannot be read.
fn read(file: &Path, gzipped: bool) -> Option<Vec<u8>> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read a file to upload: skipped");
            return None;
        }
    };
    if !gzipped {
        return Some(bytes);
    }
    let mut plain = Vec::new();
    match flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut plain) {
        Ok(_) => Some(plain),
        Err(_) => Some(bytes),
    }
}

/// Every file under `root` (symlinks to files included, directories not
/// followed), as `/`-separated relative path and path, in name order.
fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push((rel, path)),
                Ok(_) if path.is_file() => out.push((rel, path)),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{Pull, Refs};

    fn spec(t: ProwJobType) -> JobSpec {
        JobSpec {
            r#type: Some(t),
            job: "pull-widgets-unit".into(),
            build_id: "1823".into(),
            prow_job_id: "3b1f".into(),
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                pulls: vec![Pull {
                    number: 42,
                    sha: "abc".into(),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            ..JobSpec::default()
        }
    }

    fn gcs(bucket: &str, prefix: &str, sub_dir: &str) -> GcsUploadOptions {
        GcsUploadOptions {
            bucket: bucket.into(),
            path_prefix: prefix.into(),
            path_strategy: "explicit".into(),
            sub_dir: sub_dir.into(),
            ..GcsUploadOptions::default()
        }
    }

    fn places(d: &Destination) -> Vec<(String, String, String)> {
        d.markers
            .iter()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.bytes).into_owned();
                (o.dir.clone(), o.name.clone(), text)
            })
            .collect()
    }

    /// `PathsForJob`, `LatestBuildForSpec` and `AliasForSpec`: markers at
    /// the bucket root whatever the prefix, the alias for presubmits only.
    #[test]
    fn markers_sit_at_the_bucket_root_and_only_presubmits_get_an_alias() {
        let j = "pull-widgets-unit";
        let d =
            Destination::new(&spec(ProwJobType::Presubmit), &gcs("s3://ci", "skiff", "")).unwrap();
        assert_eq!(
            d.file("x", vec![]).dir,
            format!("skiff/pr-logs/pull/acme_widgets/42/{j}/1823")
        );
        let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            places(&d),
            [
                t(
                    &format!("pr-logs/directory/{j}"),
                    "1823.txt",
                    &format!("s3://ci/skiff/pr-logs/pull/acme_widgets/42/{j}/1823")
                ),
                t(
                    &format!("pr-logs/directory/{j}"),
                    "latest-build.txt",
                    "1823"
                ),
                t(
                    &format!("pr-logs/pull/acme_widgets/42/{j}"),
                    "latest-build.txt",
                    "1823"
                ),
            ]
        );
        let d = Destination::new(&spec(ProwJobType::Presubmit), &gcs("ci", "", "")).unwrap();
        assert_eq!(
            places(&d)[0].2,
            format!("gs://ci/pr-logs/pull/acme_widgets/42/{j}/1823")
        );
        let d = Destination::new(&spec(ProwJobType::Periodic), &gcs("ci", "p", "")).unwrap();
        assert_eq!(
            places(&d),
            [t(&format!("logs/{j}"), "latest-build.txt", "1823")]
        );
        let d = Destination::new(&spec(ProwJobType::Batch), &gcs("ci", "", "")).unwrap();
        assert_eq!(
            places(&d),
            [t(
                &format!("pr-logs/directory/{j}"),
                "latest-build.txt",
                "1823"
            )]
        );
        let d = Destination::new(&spec(ProwJobType::Postsubmit), &gcs("ci", "", "sub")).unwrap();
        assert_eq!(d.file("x", vec![]).dir, format!("logs/{j}/1823/sub"));
    }

    #[test]
    fn a_spec_without_a_place_is_refused_naming_job_spec() {
        let mut s = spec(ProwJobType::Periodic);
        s.build_id.clear();
        let err = Destination::new(&s, &gcs("ci", "", "")).unwrap_err();
        assert!(
            err.starts_with("JOB_SPEC: ") && err.contains("build id"),
            "{err}"
        );
    }

    /// `WriterOptionsFromFileName`'s naming rule.
    #[test]
    fn a_gz_extension_is_dropped_from_the_object_name() {
        let cases = [
            ("build-log.txt", ("build-log.txt", false)),
            ("junit.xml.gz", ("junit.xml", true)),
            ("trace.json.gzip", ("trace.json", true)),
            ("dump.gz", ("dump", false)),
            ("gz", ("gz", false)),
            ("a.b.tar.gz", ("a.b.tar", true)),
            ("noext", ("noext", false)),
        ];
        for (input, (name, gzipped)) in cases {
            assert_eq!(
                object_file_name(input),
                (name.to_string(), gzipped),
                "{input}"
            );
        }
    }

    #[test]
    fn artifacts_keep_their_relative_paths_with_hashes_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let art = dir.path().join("artifacts");
        std::fs::create_dir_all(art.join("sub/deeper")).unwrap();
        std::fs::write(art.join("junit_1.xml"), "<x/>").unwrap();
        std::fs::write(art.join("sub/deeper/a#b.txt"), "hash").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\"k\":1}").unwrap();
        std::fs::write(art.join("sub/m.json.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(art.join("not-gzip.txt.gz"), "plain").unwrap();
        let d = Destination::new(&spec(ProwJobType::Periodic), &gcs("ci", "", "")).unwrap();
        let got: Vec<(String, String)> = d
            .items(&[
                ("/logs/artifacts".into(), art.clone()),
                ("/logs/missing".into(), dir.path().join("missing")),
            ])
            .into_iter()
            .map(|o| (o.name, String::from_utf8(o.bytes).unwrap()))
            .collect();
        let want = [
            ("artifacts/junit_1.xml", "<x/>"),
            ("artifacts/not-gzip.txt", "plain"),
            ("artifacts/sub/deeper/a%23b.txt", "hash"),
            ("artifacts/sub/m.json", "{\"k\":1}"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
