//! The deck's own URLs: the paths `handle` routes, as the pages link to
//! them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use skiff_core::prowjob::{ProwJob, ProwJobType};

/// Path-segment escaping: everything but unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

pub fn job(j: &ProwJob) -> String {
    format!("/jobs/{}", seg(&j.metadata.name))
}

pub fn api(j: &ProwJob) -> String {
    format!("/api/jobs/{}", seg(&j.metadata.name))
}

pub fn raw_log(j: &ProwJob) -> String {
    format!(
        "/log?{}",
        query(&[("job", &j.spec.job), ("id", &j.status.build_id)])
    )
}

pub fn pr(org: &str, repo: &str, number: i64) -> String {
    format!(
        "/pr-history?{}",
        query(&[("org", org), ("repo", repo), ("pr", &number.to_string())])
    )
}

/// Prow's job history paths: `pr-logs/directory/<job>` for presubmits,
/// `logs/<job>` for the rest.
pub fn history_by_name(name: &str, presubmit: bool) -> String {
    let dir = if presubmit {
        "pr-logs/directory"
    } else {
        "logs"
    };
    format!("/job-history/{dir}/{}", seg(name))
}

pub fn history(j: &ProwJob) -> String {
    let pre = matches!(
        j.spec.r#type,
        Some(ProwJobType::Presubmit | ProwJobType::Batch)
    );
    history_by_name(&j.spec.job, pre)
}

/// One object of a job's artifact directory (`/artifacts/<dir>/<name>`),
/// each segment escaped on its own so the path keeps its slashes.
pub fn artifact(dir: &str, name: &str) -> String {
    let mut out = String::from("/artifacts");
    for part in dir.split('/').chain(name.split('/')) {
        if !part.is_empty() {
            out.push('/');
            out.push_str(&seg(part));
        }
    }
    out
}
