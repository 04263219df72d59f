//! [`JobStore::page`]: the deck's job list, whichever way a store reads it.

use std::collections::BTreeMap;

use skiff_core::ports::{PageQuery, page_from_list};

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

/// 120 records, three to a second, of every type, in three states, every
/// seventh hidden: enough that a window spans several index reads when a
/// store reads its index in small steps, and a page more than one batch of
/// records (DynamoDB gets at most 100 by key a call).
fn many() -> Vec<ProwJob> {
    use ProwJobType::{Batch, Periodic, Postsubmit, Presubmit};
    const NUMBERS: [i64; 4] = [1, 2, 3, 4];
    (0..120_usize)
        .map(|i| {
            let ty = [Presubmit, Postsubmit, Periodic, Batch][i % 4];
            let pulls: Option<(&str, &str, &[i64])> = match ty {
                Presubmit => Some(("o", "r", &NUMBERS[..1])),
                Batch => Some(("o", "r", &NUMBERS[..2])),
                Postsubmit => Some(("o", "r", &[])),
                Periodic => None,
            };
            let name = ["unit", "lint", "e2e"][i % 3];
            let second = i64::try_from(i / 3).unwrap_or(i64::MAX);
            let mut j = job(&format!("many-{i:03}"), name, ty, second, i % 2 == 0, pulls);
            if i % 5 == 0 {
                j.status.state = Some(ProwJobState::Failure);
            }
            j.spec.hidden = i % 7 == 0;
            j
        })
        .collect()
}

/// Whatever a store reads its page from, the page is the listed window paged
/// in memory ([`page_from_list`]): the same rows in the same order, the same
/// counts, across seconds that several records share and index reads that
/// end inside them.
pub(super) async fn a_page_is_its_listed_window_paged(store: &dyn JobStore) {
    use ProwJobState::{Failure, Success, Triggered};
    use ProwJobType::{Periodic, Presubmit};
    let records = many();
    for r in &records {
        assert!(ok("create", store.create(r).await));
    }
    let all = || PageQuery {
        limit: 10,
        window: 120,
        ..query(JobQuery::All)
    };
    let cases: Vec<(&str, PageQuery)> = vec![
        ("the first page of the whole table", all()),
        (
            "an offset far past the first index read",
            PageQuery {
                offset: 57,
                limit: 6,
                ..all()
            },
        ),
        (
            "a window that ends inside a second ends where the listing does",
            PageQuery {
                window: 13,
                limit: 100,
                ..all()
            },
        ),
        (
            "a type narrows the rows and the counts",
            PageQuery {
                job_type: Some(Presubmit),
                offset: 4,
                limit: 5,
                ..all()
            },
        ),
        (
            "a state narrows the rows, deep in the window",
            PageQuery {
                state: Some(Failure),
                offset: 3,
                limit: 4,
                ..all()
            },
        ),
        (
            "a type and a state together",
            PageQuery {
                job_type: Some(Periodic),
                state: Some(Success),
                window: 71,
                ..all()
            },
        ),
        (
            "a page of more than 100 records",
            PageQuery {
                limit: 110,
                ..all()
            },
        ),
        (
            "a page past the last match",
            PageQuery {
                state: Some(Triggered),
                offset: 90,
                ..all()
            },
        ),
        ("an empty window", PageQuery { window: 0, ..all() }),
        (
            "a job's runs",
            PageQuery {
                offset: 2,
                ..query(JobQuery::Job {
                    name: "lint".into(),
                })
            },
        ),
    ];
    for (rule, q) in cases {
        let want = ok(rule, page_from_list(store, &q).await);
        let got = ok(rule, store.page(&q).await);
        assert_eq!(ids(&got.jobs), ids(&want.jobs), "{rule}: rows");
        assert_eq!(got.jobs, want.jobs, "{rule}: whole records");
        assert_eq!(
            (got.matching, got.scanned),
            (want.matching, want.scanned),
            "{rule}: matching, scanned"
        );
        assert_eq!(got.counts, want.counts, "{rule}: counts");
    }
    // The rule the comparison rests on, checked once by hand: 120 records,
    // 18 of them hidden (0, 7, …, 119), so 102 listed.
    let whole = ok("page", store.page(&all()).await);
    assert_eq!((whole.scanned, whole.matching), (120, 102));
    assert_eq!(
        ids(&whole.jobs)[..4],
        ["many-118", "many-117", "many-116", "many-115"]
    );

    for r in &records {
        ok("cleanup", store.delete(&r.metadata.name).await);
    }
}
