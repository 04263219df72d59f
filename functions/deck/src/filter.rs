//! The job list's filters, from the URL query as Prow's deck names them
//! (`cmd/deck/static/prow/prow.ts`): `repo`, `job`, `type`, `state`,
//! `author`, `pull`, `cluster`; plus `page` and `limit` for paging.
//!
//! Query strings are user input: every value is checked, and a value that
//! cannot mean anything (`state=sucess`, `pull=abc`) is a [`FilterError`]
//! the handler answers with a 400 page naming the parameter. An empty value
//! means "no filter" (what an untouched form field submits); unknown
//! parameters are ignored, as in Prow.

use skiff_core::ports::{JobQuery, PageQuery};
use skiff_core::prowjob::{DEFAULT_CLUSTER_ALIAS, ProwJob, ProwJobState, ProwJobType, Refs};

/// Rows on one page of the job list unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 200;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;
/// Longest value accepted for a text filter.
const MAX_VALUE: usize = 256;

pub const TYPES: [ProwJobType; 4] = [
    ProwJobType::Presubmit,
    ProwJobType::Postsubmit,
    ProwJobType::Periodic,
    ProwJobType::Batch,
];

pub const STATES: [ProwJobState; 7] = [
    ProwJobState::Scheduling,
    ProwJobState::Triggered,
    ProwJobState::Pending,
    ProwJobState::Success,
    ProwJobState::Failure,
    ProwJobState::Aborted,
    ProwJobState::Error,
];

/// Why a query cannot be served: the parameter and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{param}={value:?}: {why}")]
pub struct FilterError {
    pub param: &'static str,
    pub value: String,
    pub why: String,
}

impl FilterError {
    pub(crate) fn new(param: &'static str, value: &str, why: impl Into<String>) -> Self {
        FilterError {
            param,
            value: value.chars().take(MAX_VALUE).collect(),
            why: why.into(),
        }
    }
}

/// A shell-style pattern over job names: `*` any run of characters, `?` one
/// character (Go's `filepath.Match` as Prow's badge uses it, without
/// character classes: job names cannot contain `[`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    pub fn new(pattern: &str) -> Self {
        Glob {
            pattern: pattern.chars().collect(),
        }
    }

    pub fn is_literal(&self) -> bool {
        !self.pattern.iter().any(|c| matches!(c, '*' | '?'))
    }

    pub fn as_string(&self) -> String {
        self.pattern.iter().collect()
    }

    /// Whether the whole of `name` matches (linear backtracking on the last
    /// `*`, so no pattern can make it slow).
    pub fn matches(&self, name: &str) -> bool {
        let p = &self.pattern;
        let s: Vec<char> = name.chars().collect();
        let (mut pi, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, si));
                    pi += 1;
                }
                Some(&c) if c == '?' || c == s[si] => {
                    pi += 1;
                    si += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

/// The job list's query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFilter {
    /// `org/repo`, or `org` for every repo of the org.
    pub repo: Option<String>,
    pub job: Option<Glob>,
    pub r#type: Option<ProwJobType>,
    pub state: Option<ProwJobState>,
    /// Author of one of the job's pulls (GitHub logins ignore case).
    pub author: Option<String>,
    pub pull: Option<i64>,
    /// The build cluster (`default` when the job names none).
    pub cluster: Option<String>,
    /// 1-based.
    pub page: usize,
    pub limit: usize,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            repo: None,
            job: None,
            r#type: None,
            state: None,
            author: None,
            pull: None,
            cluster: None,
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

fn text(param: &'static str, value: &str) -> Result<Option<String>, FilterError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > MAX_VALUE {
        return Err(FilterError::new(
            param,
            v,
            format!("longer than {MAX_VALUE} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FilterError::new(param, v, "contains control characters"));
    }
    Ok(Some(v.to_string()))
}

fn positive(param: &'static str, value: &str, max: Option<usize>) -> Result<usize, FilterError> {
    let n = value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| FilterError::new(param, value, "expected a whole number from 1"))?;
    match max {
        Some(m) if n > m => Err(FilterError::new(param, value, format!("at most {m}"))),
        _ => Ok(n),
    }
}

/// A job name pattern: Prow's job name characters plus the wildcards.
pub fn job_pattern(param: &'static str, value: &str) -> Result<Glob, FilterError> {
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*' | '?')))
    {
        return Err(FilterError::new(
            param,
            value,
            format!(
                "{bad:?} cannot be in a job name (letters, digits, '-', '.', '_'; \
                 '*' and '?' as wildcards)"
            ),
        ));
    }
    Ok(Glob::new(value))
}

pub fn parse_type(value: &str) -> Option<ProwJobType> {
    TYPES.into_iter().find(|t| t.as_str() == value)
}

pub fn parse_state(value: &str) -> Option<ProwJobState> {
    STATES.into_iter().find(|s| s.as_str() == value)
}

impl ListFilter {
    /// From the query's `(name, value)` pairs; a later value of the same
    /// name wins.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut f = ListFilter::default();
        for (k, v) in pairs {
            match k {
                "repo" => {
                    f.repo = text("repo", v)?;
                    if let Some(r) = &f.repo
                        && (r.starts_with('/') || r.ends_with('/'))
                    {
                        return Err(FilterError::new(
                            "repo",
                            v,
                            "expected org/repo or org (no leading or trailing '/')",
                        ));
                    }
                }
                "job" => {
                    f.job = match text("job", v)? {
                        Some(p) => Some(job_pattern("job", &p)?),
                        None => None,
                    }
                }
                "type" => {
                    f.r#type = match text("type", v)? {
                        Some(t) => Some(parse_type(&t).ok_or_else(|| {
                            FilterError::new(
                                "type",
                                v,
                                "expected presubmit, postsubmit, periodic or batch",
                            )
                        })?),
                        None => None,
                    }
                }
                "state" => {
                    f.state = match text("state", v)? {
                        Some(s) => Some(parse_state(&s).ok_or_else(|| {
                            FilterError::new(
                                "state",
                                v,
                                "expected one of triggered, pending, success, failure, \
                                 aborted, error, scheduling",
                            )
                        })?),
                        None => None,
                    }
                }
                "author" => f.author = text("author", v)?,
                "pull" => {
                    f.pull = match text("pull", v)? {
                        Some(p) => Some(
                            i64::try_from(positive("pull", &p, None)?)
                                .map_err(|_| FilterError::new("pull", v, "too large"))?,
                        ),
                        None => None,
                    }
                }
                "cluster" => f.cluster = text("cluster", v)?,
                "page" if !v.trim().is_empty() => f.page = positive("page", v, None)?,
                "limit" if !v.trim().is_empty() => f.limit = positive("limit", v, Some(MAX_LIMIT))?,
                _ => {}
            }
        }
        Ok(f)
    }

    /// The narrowest store query that holds every match (the rest of the
    /// filter is applied to what it returns).
    pub fn store_query(&self) -> JobQuery {
        if let Some(job) = &self.job
            && job.is_literal()
        {
            return JobQuery::Job {
                name: job.as_string(),
            };
        }
        if let (Some(repo), Some(number)) = (&self.repo, self.pull)
            && let Some((org, repo)) = repo.split_once('/')
        {
            return JobQuery::Pull {
                org: org.to_string(),
                repo: repo.to_string(),
                number,
            };
        }
        // Not `Incomplete` for `state=pending`: the page counts every state
        // among the jobs the other filters select.
        JobQuery::All
    }

    /// The page as the store can read it from its indexes, over the newest
    /// `window` records; `None` when a filter needs the records themselves
    /// (repo, author, pull, cluster, a job pattern).
    pub fn page_query(&self, window: usize) -> Option<PageQuery> {
        if self.repo.is_some()
            || self.author.is_some()
            || self.pull.is_some()
            || self.cluster.is_some()
        {
            return None;
        }
        let query = match &self.job {
            None => JobQuery::All,
            Some(g) if g.is_literal() => JobQuery::Job {
                name: g.as_string(),
            },
            Some(_) => return None,
        };
        Some(PageQuery {
            query,
            job_type: self.r#type,
            state: self.state,
            offset: (self.page - 1).saturating_mul(self.limit),
            limit: self.limit,
            window,
        })
    }

    pub fn matches(&self, job: &ProwJob) -> bool {
        let spec = &job.spec;
        if self.r#type.is_some_and(|t| spec.r#type != Some(t)) {
            return false;
        }
        if self.state.is_some_and(|s| job.status.state != Some(s)) {
            return false;
        }
        if let Some(g) = &self.job
            && !g.matches(&spec.job)
        {
            return false;
        }
        if let Some(want) = &self.repo {
            let Some(refs) = main_refs(job) else {
                return false;
            };
            let hit = match want.split_once('/') {
                Some((org, repo)) => refs.org == org && refs.repo == repo,
                None => refs.org == *want,
            };
            if !hit {
                return false;
            }
        }
        let pulls = || spec.refs.iter().flat_map(|r| r.pulls.iter());
        if let Some(a) = &self.author
            && !pulls().any(|p| p.author.eq_ignore_ascii_case(a))
        {
            return false;
        }
        if let Some(n) = self.pull
            && !pulls().any(|p| p.number == n)
        {
            return false;
        }
        if let Some(c) = &self.cluster
            && cluster(job) != c
        {
            return false;
        }
        true
    }

    /// The query string of this filter with `page` replaced (for links).
    pub fn query_with_page(&self, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            q.append_pair(k, &v);
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        q.finish()
    }

    /// The query string of this filter with `state` replaced.
    pub fn query_with_state(&self, state: ProwJobState) -> String {
        let f = ListFilter {
            state: Some(state),
            page: 1,
            ..self.clone()
        };
        f.query_with_page(1)
    }

    /// The filter's parameters, as the form shows them (no page).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        push("repo", self.repo.clone());
        push("job", self.job.as_ref().map(Glob::as_string));
        push("type", self.r#type.map(|t| t.as_str().to_string()));
        push("state", self.state.map(|s| s.as_str().to_string()));
        push("author", self.author.clone());
        push("pull", self.pull.map(|n| n.to_string()));
        push("cluster", self.cluster.clone());
        if self.limit != DEFAULT_LIMIT {
            push("limit", Some(self.limit.to_string()));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().iter().all(|(k, _)| *k == "limit")
    }
}

/// The refs a job is about: its own, else its first extra ref (a periodic's
/// checkout), as Prow's deck shows the repository column.
pub fn main_refs(job: &ProwJob) -> Option<&Refs> {
    job.spec
        .refs
        .as_ref()
        .or_else(|| job.spec.extra_refs.first())
}

pub fn cluster(job: &ProwJob) -> &str {
    if job.spec.cluster.is_empty() {
        DEFAULT_CLUSTER_ALIAS
    } else {
        &job.spec.cluster
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::Pull;

    fn job(
        name: &str,
        t: ProwJobType,
        state: ProwJobState,
        org_repo: Option<(&str, &str)>,
    ) -> ProwJob {
        let mut j = ProwJob::default();
        j.spec.job = name.into();
        j.spec.r#type = Some(t);
        j.status.state = Some(state);
        j.spec.refs = org_repo.map(|(org, repo)| Refs {
            org: org.into(),
            repo: repo.into(),
            pulls: if t == ProwJobType::Presubmit {
                vec![Pull {
                    number: 42,
                    author: "Alice".into(),
                    ..Pull::default()
                }]
            } else {
                vec![]
            },
            ..Refs::default()
        });
        j
    }

    fn filter(q: &[(&str, &str)]) -> Result<ListFilter, FilterError> {
        ListFilter::from_pairs(q.iter().copied())
    }

    #[test]
    fn globs_match_whole_names_with_star_and_question_mark() {
        let cases = [
            ("pull-*", "pull-widgets-unit", true),
            ("pull-*", "ci-pull-x", false),
            ("*-unit", "pull-widgets-unit", true),
            ("*unit*", "unit", true),
            ("p?ll-*-unit", "pull-widgets-unit", true),
            ("unit", "unit", true),
            ("unit", "units", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcd", false),
            ("**", "anything", true),
        ];
        for (p, name, want) in cases {
            assert_eq!(Glob::new(p).matches(name), want, "{p} vs {name}");
        }
    }

    #[test]
    fn a_bad_value_names_its_parameter() {
        let err = filter(&[("state", "sucess")]).unwrap_err();
        assert_eq!(err.param, "state");
        assert!(err.to_string().contains("expected one of"), "{err}");
        assert_eq!(filter(&[("type", "nightly")]).unwrap_err().param, "type");
        assert_eq!(filter(&[("pull", "abc")]).unwrap_err().param, "pull");
        assert_eq!(filter(&[("pull", "0")]).unwrap_err().param, "pull");
        assert_eq!(filter(&[("pull", "-3")]).unwrap_err().param, "pull");
        assert_eq!(filter(&[("page", "x")]).unwrap_err().param, "page");
        assert_eq!(filter(&[("limit", "5000")]).unwrap_err().param, "limit");
        assert_eq!(filter(&[("job", "<script>")]).unwrap_err().param, "job");
        assert_eq!(filter(&[("repo", "/acme")]).unwrap_err().param, "repo");
        assert_eq!(
            filter(&[("author", &"x".repeat(300))]).unwrap_err().param,
            "author"
        );
        assert_eq!(
            filter(&[("author", "a\u{7}b")]).unwrap_err().param,
            "author"
        );
    }

    #[test]
    fn empty_values_and_unknown_parameters_filter_nothing() {
        let f = filter(&[
            ("repo", ""),
            ("job", " "),
            ("state", ""),
            ("pull", ""),
            ("refresh", "1"),
            ("page", ""),
        ])
        .unwrap();
        assert_eq!(f, ListFilter::default());
        assert!(f.is_empty());
    }

    #[test]
    fn filters_select_by_every_field() {
        let pre = job(
            "pull-widgets-unit",
            ProwJobType::Presubmit,
            ProwJobState::Failure,
            Some(("acme", "widgets")),
        );
        let post = job(
            "post-widgets-publish",
            ProwJobType::Postsubmit,
            ProwJobState::Success,
            Some(("acme", "widgets")),
        );
        let mut periodic = job(
            "ci-nightly",
            ProwJobType::Periodic,
            ProwJobState::Success,
            None,
        );
        periodic.spec.cluster = "gpu".into();
        periodic.spec.extra_refs = vec![Refs {
            org: "acme".into(),
            repo: "infra".into(),
            ..Refs::default()
        }];
        let all = [&pre, &post, &periodic];
        let names = |q: &[(&str, &str)]| -> Vec<String> {
            let f = filter(q).unwrap();
            all.iter()
                .filter(|j| f.matches(j))
                .map(|j| j.spec.job.clone())
                .collect()
        };
        assert_eq!(names(&[("state", "failure")]), ["pull-widgets-unit"]);
        assert_eq!(names(&[("type", "periodic")]), ["ci-nightly"]);
        assert_eq!(names(&[("repo", "acme/widgets")]).len(), 2);
        assert_eq!(
            names(&[("repo", "acme/infra")]),
            ["ci-nightly"],
            "extra_refs count"
        );
        assert_eq!(
            names(&[("repo", "acme")]).len(),
            3,
            "a bare org matches its repos"
        );
        assert_eq!(names(&[("job", "*-widgets-*")]).len(), 2);
        assert_eq!(names(&[("author", "alice")]), ["pull-widgets-unit"]);
        assert_eq!(names(&[("pull", "42")]), ["pull-widgets-unit"]);
        assert_eq!(names(&[("pull", "43")]), Vec::<String>::new());
        assert_eq!(names(&[("cluster", "gpu")]), ["ci-nightly"]);
        assert_eq!(names(&[("cluster", "default")]).len(), 2);
    }

    #[test]
    fn the_store_query_is_the_narrowest_that_holds_every_match() {
        let q = |pairs: &[(&str, &str)]| filter(pairs).unwrap().store_query();
        assert_eq!(
            q(&[("job", "unit"), ("repo", "acme/widgets"), ("pull", "4")]),
            JobQuery::Job {
                name: "unit".into()
            }
        );
        assert_eq!(
            q(&[("job", "un*"), ("repo", "acme/widgets"), ("pull", "4")]),
            JobQuery::Pull {
                org: "acme".into(),
                repo: "widgets".into(),
                number: 4
            }
        );
        assert_eq!(q(&[("repo", "acme"), ("pull", "4")]), JobQuery::All);
        assert_eq!(q(&[("state", "pending")]), JobQuery::All);
    }

    #[test]
    fn links_keep_the_filter_and_change_only_the_page_or_state() {
        let f = filter(&[("repo", "acme/widgets"), ("job", "pull-*"), ("page", "3")]).unwrap();
        assert_eq!(
            f.query_with_page(2),
            "repo=acme%2Fwidgets&job=pull-*&page=2"
        );
        assert_eq!(f.query_with_page(1), "repo=acme%2Fwidgets&job=pull-*");
        assert_eq!(
            f.query_with_state(ProwJobState::Failure),
            "repo=acme%2Fwidgets&job=pull-*&state=failure"
        );
    }
}
