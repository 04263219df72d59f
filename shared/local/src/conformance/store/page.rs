//! [`JobStore::page`]: the deck's job list, whichever way a store reads it.

use std::collections::BTreeMap;

use skiff_core::ports::PageQuery;

use super::*;

fn query(query: JobQuery) -> PageQuery {
    PageQuery {
        query,
        job_type: None,
        state: None,
        offset: 0,
        limit: 100,
        window: 100,
    }
}

/// `(expected ids, matching, counts, scanned)`.
type Want = (Vec<&'static str>, usize, Vec<(ProwJobState, usize)>, usize);

pub(super) async fn a_page_reads_its_window_and_counts_it(store: &dyn JobStore) {
    use ProwJobState::{Failure, Success, Triggered};
    use ProwJobType::{Periodic, Postsubmit, Presubmit};
    let mut records = vec![
        job(
            "page-p1",
            "unit",
            Presubmit,
            10,
            true,
            Some(("o", "r", &[1])),
        ),
        job(
            "page-p2",
            "unit",
            Presubmit,
            20,
            false,
            Some(("o", "r", &[2])),
        ),
        job(
            "page-p3",
            "lint",
            Presubmit,
            30,
            true,
            Some(("o", "r", &[2])),
        ),
        job(
            "page-p4",
            "deploy",
            Postsubmit,
            40,
            true,
            Some(("o", "r", &[])),
        ),
        job("page-p5", "nightly", Periodic, 50, false, None),
        job(
            "page-h6",
            "unit",
            Presubmit,
            60,
            true,
            Some(("o", "r", &[3])),
        ),
    ];
    records[2].status.state = Some(Failure);
    records[5].spec.hidden = true;
    for r in &records {
        assert!(ok("create", store.create(r).await));
    }

    let all = || query(JobQuery::All);
    let cases: Vec<(&str, PageQuery, Want)> = vec![
        (
            "the first page of everything, hidden records neither listed nor counted",
            PageQuery { limit: 2, ..all() },
            (
                vec!["page-p5", "page-p4"],
                5,
                vec![(Triggered, 2), (Success, 2), (Failure, 1)],
                6,
            ),
        ),
        (
            "a later page starts at its offset",
            PageQuery {
                offset: 2,
                limit: 2,
                ..all()
            },
            (
                vec!["page-p3", "page-p2"],
                5,
                vec![(Triggered, 2), (Success, 2), (Failure, 1)],
                6,
            ),
        ),
        (
            "a state narrows the rows, not the counts per state",
            PageQuery {
                state: Some(Success),
                ..all()
            },
            (
                vec!["page-p4", "page-p1"],
                2,
                vec![(Triggered, 2), (Success, 2), (Failure, 1)],
                6,
            ),
        ),
        (
            "a type narrows the rows and the counts",
            PageQuery {
                job_type: Some(Presubmit),
                ..all()
            },
            (
                vec!["page-p3", "page-p2", "page-p1"],
                3,
                vec![(Triggered, 1), (Success, 1), (Failure, 1)],
                6,
            ),
        ),
        (
            "the window is the newest records only",
            PageQuery { window: 3, ..all() },
            (
                vec!["page-p5", "page-p4"],
                2,
                vec![(Triggered, 1), (Success, 1)],
                3,
            ),
        ),
        (
            "a job name pages that job's runs",
            query(JobQuery::Job {
                name: "unit".into(),
            }),
            (
                vec!["page-p2", "page-p1"],
                2,
                vec![(Triggered, 1), (Success, 1)],
                3,
            ),
        ),
        (
            "a page past the end is empty but still counted",
            PageQuery {
                offset: 10,
                ..all()
            },
            (
                vec![],
                5,
                vec![(Triggered, 2), (Success, 2), (Failure, 1)],
                6,
            ),
        ),
    ];
    for (rule, q, (want_ids, matching, counts, scanned)) in cases {
        let page = ok(rule, store.page(&q).await);
        assert_eq!(ids(&page.jobs), want_ids, "{rule}: rows");
        assert_eq!(page.matching, matching, "{rule}: matching");
        let counts: BTreeMap<_, _> = counts.into_iter().collect();
        assert_eq!(page.counts, counts, "{rule}: counts");
        assert_eq!(page.scanned, scanned, "{rule}: scanned");
    }
    let first = ok("page", store.page(&PageQuery { limit: 1, ..all() }).await);
    assert_eq!(
        first.jobs.first(),
        ok("get", store.get("page-p5").await).as_ref(),
        "a page holds whole records, as get returns them"
    );

    for r in &records {
        ok("cleanup", store.delete(&r.metadata.name).await);
    }
}
