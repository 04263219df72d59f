//! Prow's `/prowjobs.js`: `{"items": [ProwJob…]}` with the filters `org`,
//! `repo`, `owner` and `omit=annotations,labels,decoration_config,pod_spec`
//! (`cmd/deck/main.go` `handleProwJobs`), and `var=NAME`, which makes it the
//! script Prow's own front end loads: `var NAME = {"items": …};`
//! (`writeJSONResponse`). It serves the jobs that started in the last day
//! (what Prow's deck holds between sinker's cleanups of a busy Prow), or
//! with `limit=N` the newest N whatever their age; either way at most the
//! deployment's `max_jobs`, read by the store's time index, never all. Tools written for Prow (and
//! `skiff plan --history`) read it, so its shape is Prow's to the byte:
//! Go's JSON encoding, Prow's field names and omissions.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1 as core;
use serde::Serialize;

use skiff_core::gojson;
use skiff_core::ports::JobQuery;
use skiff_core::prowjob::{ProwJob, Refs};

use crate::filter::FilterError;
use crate::{Cache, DeckRequest, Deps, JSON, Reply, SCRIPT, visible};

/// Longest `var=` name accepted.
const MAX_VAR: usize = 64;

/// `/prowjobs.js` query parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProwJobsQuery {
    pub omit: BTreeSet<String>,
    pub org: Option<String>,
    pub repo: Option<String>,
    /// Author of one of the job's pulls.
    pub owner: Option<String>,
    /// Answer with a script that assigns the JSON to this variable.
    pub var: Option<String>,
    /// The newest this many jobs, instead of the last day's.
    pub limit: Option<usize>,
}

/// The default window of `/prowjobs.js`.
pub const WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Whether `name` can follow `var ` in a script as a plain identifier (ASCII
/// only: the name is copied into JavaScript, so nothing else gets through).
pub(crate) fn is_js_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && name.len() <= MAX_VAR
}

impl ProwJobsQuery {
    /// From `(name, value)` pairs of a query string; unknown names are ignored
    /// and an empty value means "no filter", as in Prow. A `var` that is not
    /// a JavaScript identifier is refused (Prow would copy it into the script).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut q = ProwJobsQuery::default();
        let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_string());
        for (k, v) in pairs {
            match k {
                "omit" => q
                    .omit
                    .extend(v.split(',').filter(|s| !s.is_empty()).map(String::from)),
                "org" => q.org = non_empty(v),
                "repo" => q.repo = non_empty(v),
                "owner" => q.owner = non_empty(v),
                "limit" if v.is_empty() => q.limit = None,
                "limit" => match v.parse::<usize>() {
                    Ok(n) if n > 0 => q.limit = Some(n),
                    _ => {
                        return Err(FilterError::new(
                            "limit",
                            v,
                            "expected a whole number of jobs from 1".to_string(),
                        ));
                    }
                },
                "var" if v.is_empty() => q.var = None,
                "var" if is_js_identifier(v) => q.var = Some(v.to_string()),
                "var" => {
                    return Err(FilterError::new(
                        "var",
                        v,
                        format!(
                            "expected a JavaScript identifier (at most {MAX_VAR} ASCII letters, \
                             digits, '_' and '$', not starting with a digit)"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(q)
    }

    fn keeps(&self, job: &ProwJob) -> bool {
        let refs_match = |value: &str, field: fn(&Refs) -> &str| match &job.spec.refs {
            Some(r) => field(r) == value,
            None => job.spec.extra_refs.iter().any(|r| field(r) == value),
        };
        self.org
            .as_deref()
            .is_none_or(|o| refs_match(o, |r| &r.org))
            && self
                .repo
                .as_deref()
                .is_none_or(|o| refs_match(o, |r| &r.repo))
            && self.owner.as_deref().is_none_or(|o| {
                job.spec
                    .refs
                    .as_ref()
                    .is_some_and(|r| r.pulls.iter().any(|p| p.author == o))
            })
    }

    fn strip(&self, mut job: ProwJob) -> ProwJob {
        if self.omit.contains("annotations") {
            job.metadata.annotations.clear();
        }
        if self.omit.contains("labels") {
            job.metadata.labels.clear();
        }
        if self.omit.contains("decoration_config") {
            job.spec.decoration_config = None;
        }
        if self.omit.contains("pod_spec") {
            // Prow keeps one empty container per container, so clients can
            // still tell how many there are.
            if let Some(spec) = &job.spec.pod_spec {
                job.spec.pod_spec = Some(core::PodSpec {
                    containers: vec![core::Container::default(); spec.containers.len()],
                    ..core::PodSpec::default()
                });
            }
        }
        job
    }
}

#[derive(Serialize)]
struct Items {
    items: Vec<ProwJob>,
}

/// The `/prowjobs.js` body: `{"items": [ProwJob…]}`, jobs in the order given,
/// or with `var=NAME` the script `var NAME = {"items": …};`.
pub fn prowjobs_js(jobs: Vec<ProwJob>, query: &ProwJobsQuery) -> String {
    let items = jobs
        .into_iter()
        .filter(|j| query.keeps(j))
        .map(|j| query.strip(j))
        .collect();
    let json = gojson::to_string(&Items { items });
    match &query.var {
        Some(name) => format!("var {name} = {json};"),
        None => json,
    }
}

pub async fn prowjobs(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let json_error = |status: u16, message: &str| {
        let mut r = Reply::new(
            status,
            JSON,
            format!("{{\"error\":{}}}", gojson::to_string(message)),
        );
        r.cache = Cache::Never;
        r
    };
    let query = match ProwJobsQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        Ok(q) => q,
        Err(e) => return json_error(400, &e.to_string()),
    };
    let max = deps.options.max_jobs;
    let listed = match query.limit {
        Some(n) => deps.store.list(&JobQuery::All, Some(n.min(max))).await,
        None => {
            let since = deps.clock.now().checked_sub(WINDOW).unwrap_or_default();
            deps.store
                .list(&JobQuery::StartedSince(since), Some(max))
                .await
        }
    };
    match listed {
        Ok(jobs) => {
            let jobs = jobs
                .into_iter()
                .filter(|j| visible(j, deps.config))
                .collect();
            let content_type = if query.var.is_some() { SCRIPT } else { JSON };
            // Prow's `setHeadersNoCaching`: the list changes by the second.
            let mut r = Reply::new(200, content_type, prowjobs_js(jobs, &query));
            r.cache = Cache::Never;
            r
        }
        Err(e) => json_error(503, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{ProwJobState, Pull};

    fn job(name: &str, org: &str, author: &str) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = format!("id-{name}");
        j.metadata.labels.insert("l".into(), "v".into());
        j.spec.job = name.into();
        j.spec.refs = Some(Refs {
            org: org.into(),
            repo: "r".into(),
            pulls: vec![Pull {
                number: 1,
                author: author.into(),
                ..Pull::default()
            }],
            ..Refs::default()
        });
        j.spec.pod_spec = Some(core::PodSpec {
            containers: vec![core::Container {
                name: "test".into(),
                image: Some("alpine".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        j.status.state = Some(ProwJobState::Success);
        j
    }

    #[test]
    fn prowjobs_js_filters_and_omits_as_prow_does() {
        let jobs = vec![job("a", "acme", "alice"), job("b", "other", "bob")];
        let q =
            ProwJobsQuery::from_pairs([("omit", "labels,pod_spec"), ("org", "acme"), ("repo", "")])
                .unwrap();
        let out: serde_json::Value = serde_json::from_str(&prowjobs_js(jobs.clone(), &q)).unwrap();
        let items = out["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["spec"]["job"], "a");
        assert!(items[0]["metadata"].get("labels").is_none());
        assert_eq!(
            items[0]["spec"]["pod_spec"]["containers"],
            serde_json::json!([{"name": ""}])
        );
        let by_owner = ProwJobsQuery::from_pairs([("owner", "bob")]).unwrap();
        let out: serde_json::Value = serde_json::from_str(&prowjobs_js(jobs, &by_owner)).unwrap();
        assert_eq!(out["items"][0]["spec"]["job"], "b");
        assert_eq!(out["items"][0]["metadata"]["labels"]["l"], "v");
    }

    #[test]
    fn var_makes_it_the_script_prows_front_end_loads() {
        let q = ProwJobsQuery::from_pairs([("var", "allBuilds")]).unwrap();
        let script = prowjobs_js(vec![job("a", "acme", "alice")], &q);
        let json = script
            .strip_prefix("var allBuilds = ")
            .and_then(|s| s.strip_suffix(';'))
            .unwrap_or_else(|| panic!("not Prow's script shape: {script}"));
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["items"][0]["spec"]["job"], "a");
        for ok in ["_x", "$", "a1", "allBuilds"] {
            assert!(ProwJobsQuery::from_pairs([("var", ok)]).is_ok(), "{ok}");
        }
        for bad in ["1a", "a;alert(1)", "a b", "a-b", "é", &"a".repeat(65)] {
            let err = ProwJobsQuery::from_pairs([("var", bad)]).unwrap_err();
            assert_eq!(err.param, "var", "{bad}");
        }
        assert_eq!(
            ProwJobsQuery::from_pairs([("var", "")]).unwrap().var,
            None,
            "empty means plain JSON"
        );
    }
}
