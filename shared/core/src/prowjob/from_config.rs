//! A job named by a person or another system, built from the config as it
//! is now (Prow's deck `getProwJobSpec`, used by its rerun in `latest` mode,
//! and gangway's `CreateJobExecution`): a periodic by name; a presubmit or
//! postsubmit by name among the jobs of the refs' repo that can run on the
//! refs' base branch.

use std::collections::BTreeMap;

use super::new::{periodic_spec, postsubmit_spec, presubmit_spec};
use super::{ProwJobSpec, ProwJobType, Refs};
use crate::config::{Brancher, Config};
use crate::plan::matchers::Regexes;

/// A job's spec and the labels and annotations its config gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfiguredJob {
    pub spec: ProwJobSpec,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Why no job can be built; the texts are Prow's where Prow has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FromConfigError {
    #[error("refs must be supplied for a {0} job")]
    NoRefs(&'static str),
    #[error("bad refs: {0}")]
    BadRefs(String),
    #[error("failed to find associated periodic job {0:?}")]
    NoPeriodic(String),
    #[error("failed to find job {name:?} for orgRepo {repo:?}")]
    NotFound { name: String, repo: String },
    #[error("found job {name:?}, but not allowed to run for orgRepo {repo:?} on branch {branch:?}")]
    NotForBranch {
        name: String,
        repo: String,
        branch: String,
    },
    #[error("{name} matches multiple prow jobs from orgRepo {repo:?}")]
    Ambiguous { name: String, repo: String },
    #[error("a {0} job cannot be started by name")]
    Unsupported(&'static str),
}

/// Prow's `verifyRerunRefs`: org, repo and base ref are required.
fn check_refs(refs: &Refs) -> Result<(), FromConfigError> {
    let missing: Vec<&str> = [
        ("org", refs.org.is_empty()),
        ("repo", refs.repo.is_empty()),
        ("base_ref", refs.base_ref.is_empty()),
    ]
    .into_iter()
    .filter(|(_, empty)| *empty)
    .map(|(f, _)| f)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(FromConfigError::BadRefs(format!(
            "{} must be supplied",
            missing.join(", ")
        )))
    }
}

/// The one job named `name` of `jobs` that can run on `branch`.
fn pick<'j, J>(
    jobs: &'j [J],
    name: &str,
    refs: &Refs,
    parts: impl Fn(&J) -> (&str, &Brancher),
) -> Result<&'j J, FromConfigError> {
    let repo = format!("{}/{}", refs.org, refs.repo);
    let regexes = Regexes::default();
    let named: Vec<&J> = jobs.iter().filter(|j| parts(j).0 == name).collect();
    if named.is_empty() {
        return Err(FromConfigError::NotFound {
            name: name.into(),
            repo,
        });
    }
    let mut runnable = named
        .into_iter()
        .filter(|j| regexes.branch_matches(parts(j).1, &refs.base_ref));
    match (runnable.next(), runnable.next()) {
        (Some(j), None) => Ok(j),
        (Some(_), Some(_)) => Err(FromConfigError::Ambiguous {
            name: name.into(),
            repo,
        }),
        (None, _) => Err(FromConfigError::NotForBranch {
            name: name.into(),
            repo,
            branch: refs.base_ref.clone(),
        }),
    }
}

/// The job `name` of type `kind` as the config has it now, with `refs`
/// (required for presubmits and postsubmits, ignored for periodics).
pub fn configured_job(
    config: &Config,
    kind: ProwJobType,
    name: &str,
    refs: Option<&Refs>,
) -> Result<ConfiguredJob, FromConfigError> {
    match kind {
        ProwJobType::Periodic => {
            let p = config
                .jobs
                .periodics
                .iter()
                .find(|p| p.base.name == name)
                .ok_or_else(|| FromConfigError::NoPeriodic(name.into()))?;
            Ok(ConfiguredJob {
                spec: periodic_spec(p),
                labels: p.base.labels.clone(),
                annotations: p.base.annotations.clone(),
            })
        }
        ProwJobType::Presubmit => {
            let refs = refs.ok_or(FromConfigError::NoRefs("presubmit"))?;
            check_refs(refs)?;
            let repo = format!("{}/{}", refs.org, refs.repo);
            let jobs = config.jobs.presubmits.get(&repo).map_or(&[][..], |v| v);
            let p = pick(jobs, name, refs, |p| (p.base.name.as_str(), &p.brancher))?;
            Ok(ConfiguredJob {
                spec: presubmit_spec(p, refs.clone()),
                labels: p.base.labels.clone(),
                annotations: p.base.annotations.clone(),
            })
        }
        ProwJobType::Postsubmit => {
            let refs = refs.ok_or(FromConfigError::NoRefs("postsubmit"))?;
            check_refs(refs)?;
            let repo = format!("{}/{}", refs.org, refs.repo);
            let jobs = config.jobs.postsubmits.get(&repo).map_or(&[][..], |v| v);
            let p = pick(jobs, name, refs, |p| (p.base.name.as_str(), &p.brancher))?;
            Ok(ConfiguredJob {
                spec: postsubmit_spec(p, refs.clone()),
                labels: p.base.labels.clone(),
                annotations: p.base.annotations.clone(),
            })
        }
        ProwJobType::Batch => Err(FromConfigError::Unsupported("batch")),
    }
}
