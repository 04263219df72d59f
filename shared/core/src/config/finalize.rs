//! Prow's defaulting (`finalizeJobConfig`): agent, cluster, namespace, context,
//! trigger and rerun command, decoration defaults from plank, and presets merged
//! into every container.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use super::jobs::{JobBase, Preset, UtilityConfig, default_rerun_command_for, default_trigger_for};
use super::load::Loader;
use super::pass::Job;
use super::prow::DefaultDecorationConfigEntry;
use crate::prowjob::{DEFAULT_CLUSTER_ALIAS, DecorationConfig, KUBERNETES_AGENT};

/// A preset merge that failed: file, mark, field, message.
type MergeError = (Arc<str>, crate::yaml::Mark, String, String);

/// Every job's defaults and presets, in turn.
pub(super) fn finalize(l: &mut Loader) {
    let defaults = Finalize::of(l);
    let work = super::pass::jobs(&mut l.config.jobs);
    // Each job's defaults and presets depend on nothing another job holds,
    // so jobs are finalized on every core.
    let errors = super::cores::map_with(work, || defaults.defaults(), |d, mut job| d.job(&mut job));
    for (file, mark, field, msg) in errors.into_iter().flatten() {
        l.diags.error(&file, mark, field, msg);
    }
}

/// What every job's defaults come from, read once from the config.
pub(super) struct Finalize {
    pod_namespace: String,
    decorate_all: bool,
    entries: Vec<DefaultDecorationConfigEntry>,
    presets: Vec<(Preset, String)>,
}

impl Finalize {
    /// Reads the defaults and checks the presets (reported on `l`).
    pub(super) fn of(l: &mut Loader) -> Self {
        Finalize {
            pod_namespace: l.config.prow.pod_namespace().to_string(),
            decorate_all: l.config.jobs.decorate_all_jobs,
            entries: l.config.prow.plank.decoration_entries(),
            presets: check_presets(l),
        }
    }

    /// One thread's defaulting, with its own cache of merged decoration.
    pub(super) fn defaults(&self) -> Defaults<'_> {
        Defaults {
            pod_namespace: &self.pod_namespace,
            decorate_all: self.decorate_all,
            entries: &self.entries,
            presets: &self.presets,
            merged: RefCell::default(),
        }
    }
}

pub(super) struct Defaults<'a> {
    pod_namespace: &'a str,
    decorate_all: bool,
    entries: &'a [DefaultDecorationConfigEntry],
    presets: &'a [(Preset, String)],
    /// The plank defaults merged for each (repo, cluster) seen: thousands of
    /// jobs share a few dozen pairs, and merging goes through JSON.
    merged: RefCell<HashMap<(String, String), Option<Merged>>>,
}

/// Decoration defaults for one (repo, cluster), and their JSON object (what
/// [`apply_default`] merges a job's own config over).
struct Merged {
    config: DecorationConfig,
    json: serde_json::Map<String, Value>,
}

impl Defaults<'_> {
    /// Prow's defaults of one job, then the presets merged into its spec.
    pub(super) fn job(&self, job: &mut Job<'_>) -> Vec<MergeError> {
        let presets = self.presets;
        match job {
            Job::Presubmit(repo, j) => {
                self.base(&mut j.base);
                if j.reporter.context.is_empty() {
                    j.reporter.context = j.base.name.clone();
                }
                // Both or neither: if only one is set, validation reports it.
                if j.fields.trigger.is_empty() && j.fields.rerun_command.is_empty() {
                    j.fields.trigger = default_trigger_for(&j.base.name);
                    j.fields.rerun_command = default_rerun_command_for(&j.base.name);
                }
                self.decoration(repo, &j.base.cluster, &mut j.utility);
                merge_presets(presets, &mut j.base, &j.source)
            }
            Job::Postsubmit(repo, j) => {
                self.base(&mut j.base);
                if j.reporter.context.is_empty() {
                    j.reporter.context = j.base.name.clone();
                }
                self.decoration(repo, &j.base.cluster, &mut j.utility);
                merge_presets(presets, &mut j.base, &j.source)
            }
            Job::Periodic(j) => {
                self.base(&mut j.base);
                // Periodics take their repo for defaults from the first extra ref.
                let repo = j
                    .utility
                    .extra_refs
                    .first()
                    .map(|r| format!("{}/{}", r.org, r.repo))
                    .unwrap_or_default();
                self.decoration(&repo, &j.base.cluster, &mut j.utility);
                merge_presets(presets, &mut j.base, &j.source)
            }
        }
    }

    fn base(&self, b: &mut JobBase) {
        if b.agent.is_empty() {
            b.agent = KUBERNETES_AGENT.to_string();
        }
        if b.namespace.as_deref().is_none_or(str::is_empty) {
            b.namespace = Some(self.pod_namespace.to_string());
        }
        if b.cluster.is_empty() {
            b.cluster = DEFAULT_CLUSTER_ALIAS.to_string();
        }
    }

    fn decoration(&self, repo: &str, cluster: &str, u: &mut UtilityConfig) {
        let decorate = *u.decorate.get_or_insert(self.decorate_all);
        if !decorate {
            return;
        }
        let mut cache = self.merged.borrow_mut();
        let merged = cache
            .entry((repo.to_string(), cluster.to_string()))
            .or_insert_with(|| {
                let mut merged: Option<DecorationConfig> = None;
                for e in self.entries.iter().filter(|e| e.matches(repo, cluster)) {
                    merged = apply_default(e.config.as_ref(), merged.as_ref());
                }
                let config = merged?;
                match serde_json::to_value(&config) {
                    Ok(Value::Object(json)) => Some(Merged { config, json }),
                    _ => None,
                }
            });
        u.decoration_config = match (u.decoration_config.take(), merged.as_ref()) {
            (None, None) => Some(DecorationConfig::default()),
            (Some(own), None) => Some(own),
            (None, Some(m)) => Some(m.config.clone()),
            (Some(own), Some(m)) => Some(merge_over(own, &m.json)),
        };
    }
}

/// Prow's `DecorationConfig.ApplyDefault`: fields set on `over` win; nested
/// structs (images, resources, GCS, censoring, scheduling) merge field by field;
/// lists are taken whole.
fn apply_default(
    over: Option<&DecorationConfig>,
    def: Option<&DecorationConfig>,
) -> Option<DecorationConfig> {
    match (over, def) {
        (None, None) => None,
        (Some(o), None) => Some(o.clone()),
        (None, Some(d)) => Some(d.clone()),
        (Some(o), Some(d)) => match serde_json::to_value(d) {
            Ok(Value::Object(d_map)) => Some(merge_over(o.clone(), &d_map)),
            _ => Some(o.clone()),
        },
    }
}

/// [`apply_default`] of `over` on defaults already in JSON form.
fn merge_over(over: DecorationConfig, def: &serde_json::Map<String, Value>) -> DecorationConfig {
    let Ok(Value::Object(mut o_map)) = serde_json::to_value(&over) else {
        return over;
    };
    for (k, dv) in def {
        match (o_map.get_mut(k), dv) {
            (None, dv) => {
                o_map.insert(k.clone(), dv.clone());
            }
            (Some(Value::Object(inner)), Value::Object(dinner)) => {
                for (ik, iv) in dinner {
                    inner.entry(ik.clone()).or_insert_with(|| iv.clone());
                }
            }
            _ => {}
        }
    }
    // Both sides came from the same type, so the merge reads back.
    serde_json::from_value(Value::Object(o_map)).unwrap_or(over)
}

/// Prow's check that no two presets share a `label: value` pair; returns
/// every preset with where it was written, for [`merge_presets`].
fn check_presets(l: &mut Loader) -> Vec<(Preset, String)> {
    let mut seen: BTreeMap<String, (String, crate::yaml::Mark)> = BTreeMap::new();
    for p in &l.presets {
        for (k, v) in &p.preset.labels {
            let pair = format!("{k}:{v}");
            let here = p.node.locate(&["labels", k]);
            if let Some((file, mark)) = seen.get(&pair) {
                l.diags.error(
                    &p.file,
                    here,
                    format!("presets[{}].labels.{k}", p.index),
                    format!(
                        "duplicated preset 'label:value' pair {pair} (also at {file}:{}:{})",
                        mark.line, mark.col
                    ),
                );
            } else {
                seen.insert(pair, (p.file.to_string(), here));
            }
        }
    }
    l.presets
        .iter()
        .map(|p| {
            let m = p.node.mark;
            (p.preset.clone(), format!("{}:{}:{}", p.file, m.line, m.col))
        })
        .collect()
}

/// Prow's `mergePreset` of every preset into one job.
fn merge_presets(
    presets: &[(Preset, String)],
    base: &mut JobBase,
    source: &super::Source,
) -> Vec<MergeError> {
    let mut errors = Vec::new();
    let Some(spec) = base.spec.as_mut() else {
        return errors;
    };
    for (preset, at) in presets {
        if let Err(msg) = merge_preset(preset, &base.labels, spec) {
            errors.push((
                source.file.clone(),
                source.outline.locate(&["spec"]),
                format!("{}.spec", source.path),
                format!("merging the preset at {at}: {msg}"),
            ));
        }
    }
    errors
}

/// Adds a preset's env, volumes, mounts and tolerations to `spec` when the job
/// has all of the preset's labels. A name already present is an error.
pub(crate) fn merge_preset(
    preset: &Preset,
    labels: &BTreeMap<String, String>,
    spec: &mut core::PodSpec,
) -> Result<(), String> {
    if !preset.labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return Ok(());
    }
    for e in &preset.env {
        for c in &mut spec.containers {
            let env = c.env.get_or_insert_with(Vec::new);
            if env.iter().any(|x| x.name == e.name) {
                return Err(format!("env var duplicated in pod spec: {}", e.name));
            }
            env.push(e.clone());
        }
    }
    for v in &preset.volumes {
        let vols = spec.volumes.get_or_insert_with(Vec::new);
        if vols.iter().any(|x| x.name == v.name) {
            return Err(format!("volume duplicated in pod spec: {}", v.name));
        }
        vols.push(v.clone());
    }
    for m in &preset.volume_mounts {
        for c in &mut spec.containers {
            let mounts = c.volume_mounts.get_or_insert_with(Vec::new);
            if mounts.iter().any(|x| x.name == m.name) {
                return Err(format!("volume mount duplicated in pod spec: {}", m.name));
            }
            mounts.push(m.clone());
        }
    }
    for t in &preset.tolerations {
        let tols = spec.tolerations.get_or_insert_with(Vec::new);
        if tols.contains(t) {
            return Err(format!(
                "toleration duplicated in pod spec: {}",
                t.key.as_deref().unwrap_or("")
            ));
        }
        tols.push(t.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::GoDuration;
    use crate::prowjob::{GcsConfiguration, UtilityImages};

    #[test]
    fn decoration_defaults_merge_field_by_field_with_the_job_winning() {
        let def = DecorationConfig {
            timeout: Some(GoDuration::from_hours(2)),
            grace_period: Some(GoDuration::from_secs(15)),
            utility_images: Some(UtilityImages {
                clonerefs: "c:1".into(),
                initupload: "i:1".into(),
                entrypoint: "e:1".into(),
                sidecar: "s:1".into(),
            }),
            gcs_configuration: Some(GcsConfiguration {
                bucket: "s3://logs".into(),
                path_strategy: "explicit".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let job = DecorationConfig {
            timeout: Some(GoDuration::from_mins(30)),
            utility_images: Some(UtilityImages {
                sidecar: "s:2".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let m = apply_default(Some(&job), Some(&def)).unwrap();
        assert_eq!(m.timeout, Some(GoDuration::from_mins(30)));
        assert_eq!(m.grace_period, Some(GoDuration::from_secs(15)));
        let images = m.utility_images.unwrap();
        assert_eq!(images.sidecar, "s:2");
        assert_eq!(images.clonerefs, "c:1");
        assert_eq!(m.gcs_configuration.unwrap().bucket, "s3://logs");
    }

    #[test]
    fn preset_applies_only_when_all_its_labels_match() {
        let preset = Preset {
            labels: BTreeMap::from([("preset-aws".to_string(), "true".to_string())]),
            env: vec![core::EnvVar {
                name: "AWS_REGION".into(),
                value: Some("us-east-1".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut spec = core::PodSpec {
            containers: vec![core::Container::default(), core::Container::default()],
            ..Default::default()
        };
        merge_preset(&preset, &BTreeMap::new(), &mut spec).unwrap();
        assert!(spec.containers[0].env.is_none());
        let labels = BTreeMap::from([("preset-aws".to_string(), "true".to_string())]);
        merge_preset(&preset, &labels, &mut spec).unwrap();
        for c in &spec.containers {
            assert_eq!(c.env.as_ref().unwrap()[0].name, "AWS_REGION");
        }
        assert_eq!(
            merge_preset(&preset, &labels, &mut spec).unwrap_err(),
            "env var duplicated in pod spec: AWS_REGION"
        );
    }
}
