//! The parts of deck every Skiff front end serves the same way: Prow's
//! `/prowjobs.js` (filters `org`, `repo`, `owner`; `omit=annotations,labels,
//! decoration_config,pod_spec`) and a plain job list. The full dashboard is a
//! later issue; these keep Prow's tooling working against `skiff dev` today.

use std::collections::BTreeSet;
use std::fmt::Write;

use k8s_openapi::api::core::v1 as core;
use serde::Serialize;

use crate::prowjob::{ProwJob, Refs};

/// `/prowjobs.js` query parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProwJobsQuery {
    pub omit: BTreeSet<String>,
    pub org: Option<String>,
    pub repo: Option<String>,
    /// Author of one of the job's pulls.
    pub owner: Option<String>,
}

impl ProwJobsQuery {
    /// From `(name, value)` pairs of a query string; unknown names are ignored
    /// and an empty value means "no filter", as in Prow.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
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
                _ => {}
            }
        }
        q
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

/// The `/prowjobs.js` body: `{"items": [ProwJob…]}`, jobs in the order given.
pub fn prowjobs_js(jobs: Vec<ProwJob>, query: &ProwJobsQuery) -> String {
    let items = jobs
        .into_iter()
        .filter(|j| query.keeps(j))
        .map(|j| query.strip(j))
        .collect();
    crate::gojson::to_string(&Items { items })
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A plain HTML list of jobs, newest first as given, with links to each log.
pub fn job_list_html(jobs: &[ProwJob], title: &str) -> String {
    let mut rows = String::new();
    for j in jobs {
        let state = j.status.state.map_or("", |s| s.as_str());
        let kind = j.spec.r#type.map_or("", |t| t.as_str());
        let repo = j
            .spec
            .refs
            .as_ref()
            .map(|r| match r.pulls.first() {
                Some(p) => format!("{}#{}", r.org_repo(), p.number),
                None => format!("{}@{}", r.org_repo(), r.base_ref),
            })
            .unwrap_or_default();
        let started = j
            .status
            .start_time
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let log = if j.status.build_id.is_empty() {
            String::new()
        } else {
            format!(
                "<a href=\"/log?job={}&amp;id={}\">log</a>",
                escape(&j.spec.job),
                escape(&j.status.build_id)
            )
        };
        let _ = writeln!(
            rows,
            "<tr class=\"{state}\"><td>{state}</td><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td><td>{started}</td><td>{log}</td></tr>",
            escape(&j.spec.job),
            escape(&repo),
            escape(&j.status.description),
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title>\n<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;text-align:left}}.success td:first-child{{color:#1a7f37}}.failure td:first-child,.error td:first-child{{color:#cf222e}}.pending td:first-child,.triggered td:first-child{{color:#9a6700}}</style></head>\n<body><h1>{t}</h1>\n<table><thead><tr><th>State</th><th>Type</th><th>Job</th><th>Repository</th><th>Description</th><th>Started (UTC)</th><th>Log</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n",
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{ProwJobState, Pull};

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
            ProwJobsQuery::from_pairs([("omit", "labels,pod_spec"), ("org", "acme"), ("repo", "")]);
        let out: serde_json::Value = serde_json::from_str(&prowjobs_js(jobs.clone(), &q)).unwrap();
        let items = out["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["spec"]["job"], "a");
        assert!(items[0]["metadata"].get("labels").is_none());
        assert_eq!(
            items[0]["spec"]["pod_spec"]["containers"],
            serde_json::json!([{"name": ""}])
        );
        let by_owner = ProwJobsQuery::from_pairs([("owner", "bob")]);
        let out: serde_json::Value = serde_json::from_str(&prowjobs_js(jobs, &by_owner)).unwrap();
        assert_eq!(out["items"][0]["spec"]["job"], "b");
        assert_eq!(out["items"][0]["metadata"]["labels"]["l"], "v");
    }

    #[test]
    fn job_list_escapes_what_it_shows() {
        let mut j = job("a<b", "acme", "alice");
        j.status.description = "x & <script>".into();
        let html = job_list_html(&[j], "Skiff");
        assert!(html.contains("a&lt;b"));
        assert!(html.contains("x &amp; &lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
