//! "The latest run of each job of a pull request": what `/retest` reruns,
//! what the summary comment lists, what CodeCommit's results table shows.
//! One rule for all three, so they never disagree about which run counts.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::ProwJob;

/// When a run was made: its creation time, else its start time (records
/// written before creation times were kept have only the latter).
fn made(job: &ProwJob) -> Option<Timestamp> {
    job.metadata.creation_timestamp.or(job.status.start_time)
}

/// The head SHA the run tested: its first pull's SHA.
pub fn head_sha(job: &ProwJob) -> Option<&str> {
    job.spec
        .refs
        .as_ref()
        .and_then(|r| r.pulls.first())
        .map(|p| p.sha.as_str())
}

/// The newest run for each `key` (the job's name, or its context), in key
/// order. Newest is the latest creation time; runs made in the same instant
/// are told apart by id, so the answer never depends on listing order.
pub fn latest_runs<'a, K: Ord>(
    jobs: impl IntoIterator<Item = &'a ProwJob>,
    key: impl Fn(&'a ProwJob) -> K,
) -> Vec<&'a ProwJob> {
    let order = |j: &ProwJob| (made(j), j.metadata.name.clone());
    let mut latest: BTreeMap<K, &ProwJob> = BTreeMap::new();
    for job in jobs {
        let k = key(job);
        match latest.get(&k) {
            Some(seen) if order(seen) >= order(job) => {}
            _ => {
                latest.insert(k, job);
            }
        }
    }
    latest.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{Pull, Refs};

    fn run(id: &str, job: &str, at: i64) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = id.into();
        j.spec.job = job.into();
        j.metadata.creation_timestamp = Some(Timestamp::from_second(at).unwrap());
        j
    }

    fn names(runs: Vec<&ProwJob>) -> Vec<&str> {
        runs.iter().map(|j| j.metadata.name.as_str()).collect()
    }

    #[test]
    fn the_newest_run_of_each_job_counts() {
        let jobs = [run("a1", "a", 1), run("a2", "a", 2), run("b1", "b", 1)];
        assert_eq!(
            names(latest_runs(&jobs, |j| j.spec.job.as_str())),
            ["a2", "b1"]
        );
    }

    #[test]
    fn runs_of_one_instant_are_told_apart_by_id_in_any_order() {
        let (x, y) = (run("x", "a", 5), run("y", "a", 5));
        for jobs in [[&x, &y], [&y, &x]] {
            assert_eq!(names(latest_runs(jobs, |j| j.spec.job.as_str())), ["y"]);
        }
    }

    #[test]
    fn the_start_time_stands_in_for_a_missing_creation_time() {
        let mut old = run("z-old", "a", 0);
        old.metadata.creation_timestamp = None;
        old.status.start_time = Some(Timestamp::from_second(1).unwrap());
        let new = run("a-new", "a", 2);
        assert_eq!(
            names(latest_runs([&old, &new], |j| j.spec.job.as_str())),
            ["a-new"]
        );
    }

    #[test]
    fn the_head_sha_is_the_first_pulls() {
        let mut j = run("x", "a", 1);
        assert_eq!(head_sha(&j), None);
        j.spec.refs = Some(Refs {
            pulls: vec![Pull {
                sha: "abc".into(),
                ..Pull::default()
            }],
            ..Refs::default()
        });
        assert_eq!(head_sha(&j), Some("abc"));
    }
}
