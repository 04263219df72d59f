//! Superseded presubmits: Prow's `TerminateOlderJobs` (`pkg/pjutil/abort.go`)
//! and plank's `terminateDupes`. A new push to a pull request makes the runs
//! of the old head pointless; the syncer aborts all but the newest.

use std::collections::HashMap;

use crate::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

/// Prow's `TerminateOlderJobs`: the presubmits (pending or triggered) that a
/// newer run of the same job on the same refs supersedes. Equal start times
/// are broken by id, so the choice does not depend on listing order.
pub fn superseded<'a>(jobs: &[&'a ProwJob]) -> Vec<&'a ProwJob> {
    let mut newest: HashMap<String, &ProwJob> = HashMap::new();
    let mut older = Vec::new();
    let order = |j: &ProwJob| (j.status.start_time, j.metadata.name.clone());
    for &job in jobs {
        let running = matches!(
            job.status.state,
            Some(ProwJobState::Pending | ProwJobState::Triggered)
        );
        if job.spec.r#type != Some(ProwJobType::Presubmit) || !running || job.is_complete() {
            continue;
        }
        let key = dedupe_key(job);
        match newest.get(&key) {
            None => {
                newest.insert(key, job);
            }
            Some(&current) if order(current) < order(job) => {
                older.push(current);
                newest.insert(key, job);
            }
            Some(_) => older.push(job),
        }
    }
    older
}

/// What makes two runs "the same": type, job, and each refs' `org/repo`,
/// base ref and sorted pull numbers (not the SHAs: a new push is the point).
fn dedupe_key(job: &ProwJob) -> String {
    let digest = |r: &Refs| {
        let mut pulls: Vec<i64> = r.pulls.iter().map(|p| p.number).collect();
        pulls.sort_unstable();
        format!("{}/{}@{} {:?}", r.org, r.repo, r.base_ref, pulls)
    };
    let mut parts = vec![
        job.spec.r#type.map_or("", ProwJobType::as_str).to_string(),
        job.spec.job.clone(),
    ];
    parts.extend(job.spec.refs.iter().map(digest));
    parts.extend(job.spec.extra_refs.iter().map(digest));
    parts.sort();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::Pull;
    use jiff::Timestamp;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_795_428_000 + secs).unwrap()
    }

    fn run(id: &str, job: &str, pulls: &[i64], start: i64, state: ProwJobState) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = id.into();
        j.spec.r#type = Some(ProwJobType::Presubmit);
        j.spec.job = job.into();
        j.spec.refs = Some(Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            pulls: pulls
                .iter()
                .map(|&n| Pull {
                    number: n,
                    sha: format!("{id}-{n}"),
                    ..Pull::default()
                })
                .collect(),
            ..Refs::default()
        });
        j.status.state = Some(state);
        j.status.start_time = Some(at(start));
        j
    }

    #[test]
    fn only_older_runs_of_the_same_job_and_change_are_superseded() {
        use ProwJobState::*;
        let jobs = [
            run("a1", "unit", &[1], 10, Pending),
            run("a2", "unit", &[1], 20, Triggered),
            run("a0", "unit", &[1], 5, Triggered),
            run("b1", "lint", &[1], 1, Pending),
            run("c1", "unit", &[2], 1, Pending),
            run("d1", "unit", &[1, 2], 1, Pending),
            run("d2", "unit", &[2, 1], 2, Pending),
            run("e1", "unit", &[3], 1, Aborted),
            run("e2", "unit", &[3], 2, Pending),
        ];
        let refs: Vec<&ProwJob> = jobs.iter().collect();
        let mut got: Vec<&str> = superseded(&refs)
            .iter()
            .map(|j| j.metadata.name.as_str())
            .collect();
        got.sort();
        assert_eq!(got, ["a0", "a1", "d1"]);
    }

    #[test]
    fn supersede_ties_go_to_the_larger_id_whatever_the_order() {
        use ProwJobState::*;
        let x = run("x", "unit", &[1], 10, Pending);
        let y = run("y", "unit", &[1], 10, Pending);
        for order in [[&x, &y], [&y, &x]] {
            let got: Vec<&str> = superseded(&order)
                .iter()
                .map(|j| j.metadata.name.as_str())
                .collect();
            assert_eq!(got, ["x"]);
        }
    }

    #[test]
    fn postsubmits_and_periodics_are_never_superseded() {
        let mut a = run("a", "unit", &[], 1, ProwJobState::Pending);
        let mut b = run("b", "unit", &[], 2, ProwJobState::Pending);
        for t in [
            ProwJobType::Postsubmit,
            ProwJobType::Periodic,
            ProwJobType::Batch,
        ] {
            a.spec.r#type = Some(t);
            b.spec.r#type = Some(t);
            assert!(superseded(&[&a, &b]).is_empty(), "{t:?}");
        }
    }
}
