//! The jobs as the bundle stores them (format 3): each of Prow's embedded
//! parts (`base`, `fields`, `brancher`, …) its own JSON object, and plank's
//! merged decoration configs stored once and referred to by index.
//!
//! Why not the model's own JSON (`check-config --print`)? That flattens the
//! parts into one object per job, and serde reads a `#[serde(flatten)]`
//! struct by buffering the whole object first, then reading each part from
//! the buffer: at cold start the test-infra-sized bundle was read about
//! twice over. And every job carried its own copy of the decoration
//! defaults merged for its repo and cluster (a quarter of the bytes), where
//! a config has only a few distinct ones. Nested parts read in one pass;
//! [`Jobs::into_config`] gives back exactly the jobs it was built from.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use skiff_core::config::{
    Brancher, JobBase, JobConfig, Periodic, PeriodicFields, Postsubmit, PostsubmitFields,
    Presubmit, PresubmitFields, RegexpChangeMatcher, Reporter, Source, UtilityConfig,
};
use skiff_core::prowjob::DecorationConfig;

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One job: Presubmit, Postsubmit or Periodic by its `fields`. A periodic
/// has no brancher, change matcher or reporter; they stay empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "F: Serialize + Default + PartialEq",
    deserialize = "F: Deserialize<'de> + Default"
))]
pub struct Job<F> {
    base: JobBase,
    #[serde(default, skip_serializing_if = "is_default")]
    fields: F,
    #[serde(default, skip_serializing_if = "is_default")]
    brancher: Brancher,
    #[serde(default, skip_serializing_if = "is_default")]
    changes: RegexpChangeMatcher,
    #[serde(default, skip_serializing_if = "is_default")]
    reporter: Reporter,
    /// Without its `decoration_config`, which is `decoration`.
    #[serde(default, skip_serializing_if = "is_default")]
    utility: UtilityConfig,
    /// Index of the job's decoration config in [`Decorations`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decoration: Option<u32>,
}

/// The jobs of the config, as stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Jobs {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    presubmits: BTreeMap<String, Vec<Job<PresubmitFields>>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    postsubmits: BTreeMap<String, Vec<Job<PostsubmitFields>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    periodics: Vec<Job<PeriodicFields>>,
    #[serde(skip_serializing_if = "is_false")]
    decorate_all_jobs: bool,
}

/// The distinct decoration configs, in first-use order.
pub type Decorations = Vec<DecorationConfig>;

/// A job whose `decoration` names no entry of the table: the bundle was
/// edited or cut short, since a push writes them together.
#[derive(Debug)]
pub struct MissingDecoration {
    pub index: u32,
    pub len: usize,
}

/// Builds the decoration table while jobs are written.
#[derive(Default)]
struct Table {
    list: Decorations,
    /// Each entry's JSON, to find repeats (the type has no `Hash`).
    seen: HashMap<String, u32>,
}

impl Table {
    fn index(&mut self, dc: Option<DecorationConfig>) -> Result<Option<u32>, serde_json::Error> {
        let Some(dc) = dc else {
            return Ok(None);
        };
        let key = serde_json::to_string(&dc)?;
        if let Some(&i) = self.seen.get(&key) {
            return Ok(Some(i));
        }
        let i = u32::try_from(self.list.len()).map_err(serde::ser::Error::custom)?;
        self.list.push(dc);
        self.seen.insert(key, i);
        Ok(Some(i))
    }

    fn job<F>(
        &mut self,
        base: &JobBase,
        fields: &F,
        (brancher, changes, reporter): (Brancher, RegexpChangeMatcher, Reporter),
        utility: &UtilityConfig,
    ) -> Result<Job<F>, serde_json::Error>
    where
        F: Clone,
    {
        let mut utility = utility.clone();
        let decoration = self.index(utility.decoration_config.take())?;
        Ok(Job {
            base: base.clone(),
            fields: fields.clone(),
            brancher,
            changes,
            reporter,
            utility,
            decoration,
        })
    }
}

impl Jobs {
    /// The stored form of `jobs` and its decoration table.
    pub fn new(jobs: &JobConfig) -> Result<(Jobs, Decorations), serde_json::Error> {
        let mut t = Table::default();
        let mut out = Jobs {
            decorate_all_jobs: jobs.decorate_all_jobs,
            ..Jobs::default()
        };
        for (repo, list) in &jobs.presubmits {
            let list = list
                .iter()
                .map(|j| {
                    let parts = (j.brancher.clone(), j.changes.clone(), j.reporter.clone());
                    t.job(&j.base, &j.fields, parts, &j.utility)
                })
                .collect::<Result<_, _>>()?;
            out.presubmits.insert(repo.clone(), list);
        }
        for (repo, list) in &jobs.postsubmits {
            let list = list
                .iter()
                .map(|j| {
                    let parts = (j.brancher.clone(), j.changes.clone(), j.reporter.clone());
                    t.job(&j.base, &j.fields, parts, &j.utility)
                })
                .collect::<Result<_, _>>()?;
            out.postsubmits.insert(repo.clone(), list);
        }
        out.periodics = jobs
            .periodics
            .iter()
            .map(|j| t.job(&j.base, &j.fields, Default::default(), &j.utility))
            .collect::<Result<_, _>>()?;
        Ok((out, t.list))
    }

    /// The jobs as they were before [`Jobs::new`]. Presets are not stored
    /// here (the bundle carries them apart), so they are left empty.
    pub fn into_config(self, table: &[DecorationConfig]) -> Result<JobConfig, MissingDecoration> {
        let decoration = |i: Option<u32>| -> Result<Option<DecorationConfig>, MissingDecoration> {
            i.map(|index| {
                table.get(index as usize).cloned().ok_or(MissingDecoration {
                    index,
                    len: table.len(),
                })
            })
            .transpose()
        };
        let mut out = JobConfig {
            decorate_all_jobs: self.decorate_all_jobs,
            ..JobConfig::default()
        };
        for (repo, list) in self.presubmits {
            let list = list
                .into_iter()
                .map(|j| {
                    Ok(Presubmit {
                        base: j.base,
                        fields: j.fields,
                        brancher: j.brancher,
                        changes: j.changes,
                        reporter: j.reporter,
                        utility: UtilityConfig {
                            decoration_config: decoration(j.decoration)?,
                            ..j.utility
                        },
                        source: Source::default(),
                    })
                })
                .collect::<Result<_, _>>()?;
            out.presubmits.insert(repo, list);
        }
        for (repo, list) in self.postsubmits {
            let list = list
                .into_iter()
                .map(|j| {
                    Ok(Postsubmit {
                        base: j.base,
                        fields: j.fields,
                        brancher: j.brancher,
                        changes: j.changes,
                        reporter: j.reporter,
                        utility: UtilityConfig {
                            decoration_config: decoration(j.decoration)?,
                            ..j.utility
                        },
                        source: Source::default(),
                    })
                })
                .collect::<Result<_, _>>()?;
            out.postsubmits.insert(repo, list);
        }
        out.periodics = self
            .periodics
            .into_iter()
            .map(|j| {
                Ok(Periodic {
                    base: j.base,
                    fields: j.fields,
                    utility: UtilityConfig {
                        decoration_config: decoration(j.decoration)?,
                        ..j.utility
                    },
                    source: Source::default(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(out)
    }
}
