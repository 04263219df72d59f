//! The runs tide starts (Prow's `trigger` and `refsForJob`): one record per
//! context, named by what it tests — the pool's base and each pull's head —
//! so a sync that runs twice, or a retried one, writes the same records.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::pool::TidePull;
use crate::config::Presubmit;
use crate::prowjob::labels::CREATED_BY_TIDE;
use crate::prowjob::new::{batch_spec, job_id, new_presubmit, new_prow_job};
use crate::prowjob::{ProwJob, Pull, Refs};

/// What tide tests: the pool's repository at `base_sha`, with `pulls`
/// merged in. Like Prow's, the pulls carry no `ref`.
pub fn refs_for(org: &str, repo: &str, branch: &str, base_sha: &str, pulls: &[&TidePull]) -> Refs {
    let link = format!("https://github.com/{org}/{repo}");
    Refs {
        org: org.to_string(),
        repo: repo.to_string(),
        repo_link: link.clone(),
        base_ref: branch.to_string(),
        base_sha: base_sha.to_string(),
        base_link: format!("{link}/tree/{base_sha}"),
        pulls: pulls
            .iter()
            .map(|p| Pull {
                number: p.number,
                author: p.author.clone(),
                sha: p.head_sha.clone(),
                title: p.title.clone(),
                head_ref: p.head_ref.clone(),
                link: p.html_url.clone(),
                commit_link: format!("{link}/pull/{}/commits/{}", p.number, p.head_sha),
                author_link: p.author_link.clone(),
                ..Pull::default()
            })
            .collect(),
        ..Refs::default()
    }
}

fn tide_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(CREATED_BY_TIDE.to_string(), "true".to_string())])
}

/// The serial retest of one pull's `presubmit` against the pool's base.
pub fn retest(p: &Presubmit, refs: Refs, now: Timestamp) -> ProwJob {
    let key = format!("tide:{}:{}", identity(&refs), p.reporter.context);
    let guid = format!("tide-{}", refs.base_sha);
    new_presubmit(p, refs, &guid, &tide_labels(), job_id(&key), now)
}

/// One job of a batch (type `batch`, never reported to GitHub).
pub fn batch(p: &Presubmit, refs: Refs, now: Timestamp) -> ProwJob {
    let key = format!("tide-batch:{}:{}", identity(&refs), p.reporter.context);
    let mut labels = p.base.labels.clone();
    labels.extend(tide_labels());
    new_prow_job(
        batch_spec(p, refs),
        job_id(&key),
        &labels,
        &p.base.annotations,
        now,
    )
}

/// `org/repo:branch@base` and each `number@head`.
fn identity(refs: &Refs) -> String {
    let pulls: Vec<String> = refs
        .pulls
        .iter()
        .map(|p| format!("{}@{}", p.number, p.sha))
        .collect();
    format!(
        "{}/{}:{}@{}:{}",
        refs.org,
        refs.repo,
        refs.base_ref,
        refs.base_sha,
        pulls.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::ProwJobType;

    fn pull(n: i64) -> TidePull {
        TidePull {
            number: n,
            author: "alice".into(),
            head_sha: format!("head{n}"),
            html_url: format!("https://github.com/acme/widgets/pull/{n}"),
            ..TidePull::default()
        }
    }

    fn unit() -> Presubmit {
        let mut p = Presubmit::default();
        p.base.name = "unit".into();
        p.reporter.context = "unit".into();
        p
    }

    #[test]
    fn a_retest_is_a_presubmit_at_the_pool_base_labelled_by_tide_with_a_stable_id() {
        let (a, now) = (pull(1), Timestamp::UNIX_EPOCH);
        let j = retest(
            &unit(),
            refs_for("acme", "widgets", "main", "base1", &[&a]),
            now,
        );
        assert_eq!(j.spec.r#type, Some(ProwJobType::Presubmit));
        assert_eq!(
            j.metadata.labels.get(CREATED_BY_TIDE).map(String::as_str),
            Some("true")
        );
        let refs = j.spec.refs.as_ref().unwrap();
        assert_eq!(
            (refs.base_sha.as_str(), refs.pulls[0].sha.as_str()),
            ("base1", "head1")
        );
        assert!(refs.pulls[0].r#ref.is_empty(), "no ref, as Prow's");
        let again = retest(
            &unit(),
            refs_for("acme", "widgets", "main", "base1", &[&a]),
            now,
        );
        assert_eq!(j.metadata.name, again.metadata.name);
        let moved = retest(
            &unit(),
            refs_for("acme", "widgets", "main", "base2", &[&a]),
            now,
        );
        assert_ne!(
            j.metadata.name, moved.metadata.name,
            "a new base is a new run"
        );
    }

    #[test]
    fn a_batch_job_carries_every_pull_and_is_not_reported() {
        let (a, b) = (pull(1), pull(2));
        let j = batch(
            &unit(),
            refs_for("acme", "widgets", "main", "base1", &[&a, &b]),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(j.spec.r#type, Some(ProwJobType::Batch));
        assert!(!j.spec.report);
        assert_eq!(j.spec.refs.as_ref().unwrap().pulls.len(), 2);
        assert_eq!(
            j.metadata.labels.get(CREATED_BY_TIDE).map(String::as_str),
            Some("true")
        );
    }
}
