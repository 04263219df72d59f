//! Job records and dedupe keys in DynamoDB: the cloud twin of
//! `skiff_local::store::SqliteStore`, on the `JobsTable` of `template.yaml`.
//!
//! # Table design
//!
//! One table, partition key `id` (S), no sort key. Two kinds of item share it:
//!
//! **Job records**, `id` = the ProwJob's `metadata.name`:
//!
//! | attribute    | type | value |
//! |--------------|------|-------|
//! | `id`         | S    | the job id |
//! | `kind`       | S    | always `"job"`: the one partition of `by-time`, so dedupe items stay out of it |
//! | `version`    | N    | the resource version, 1 on create, +1 per update (compare-and-set) |
//! | `record`     | S    | the whole ProwJob as JSON (its `resourceVersion` equals `version`) |
//! | `job`        | S    | `spec.job`; left out when empty (an index key cannot be `""`) |
//! | `type`       | S    | `spec.type`, when set |
//! | `state`      | S    | `status.state`, when set |
//! | `start`      | N    | `status.startTime` in whole epoch seconds (the JSON keeps no more); 0 when unset, so every record has the sort key every index needs |
//! | `pr`         | S    | presubmits and batches only: `"org/repo#n"` when the record tests one pull, `"org/repo"` when it tests several |
//! | `pulls`      | SS   | with `pr = "org/repo"` only: every pull as `"org/repo#n"` |
//! | `incomplete` | S    | `"1"` while `status.completionTime` is unset; removed once complete (sparse) |
//! | `hidden`     | N    | `spec.hidden` as 1 or 0, for the deck's page (items written before it lack it) |
//!
//! A batch belongs to every pull it merges, but an index key holds one value.
//! Records of one pull sit in that pull's `by-pull` partition; records of
//! several pulls sit in the repository's partition with their pulls in a set,
//! and a pull's listing reads both (the second filtered by `contains(pulls)`).
//! Multi-pull records are batches, few next to presubmits, so the filtered
//! read stays small, and every write remains one item: no link items to keep
//! in step when a batch's pulls change.
//!
//! **Dedupe keys**, `id = "dedupe#<key>"`, with `expires` (N, epoch seconds,
//! rounded up) as the table's TTL attribute. TTL deletes lazily (up to days
//! late), so an expired key may still be there: `remember` writes under
//! `attribute_not_exists(id) OR expires <= :now`, which treats it as absent.
//! A key taken by `claim_as` carries its `owner` (S), and the owner passes
//! the condition too (`OR owner = :owner`), so a claim whose answer was lost
//! is taken again by its retry; `release` deletes only under that owner.
//!
//! # Which index serves which query (all newest first: `ScanIndexForward=false`)
//!
//! | [`JobQuery`]         | index        | key condition |
//! |----------------------|--------------|---------------|
//! | `All`                | `by-time`    | `kind = "job"` |
//! | `Job { name }`       | `by-job`     | `job = name` |
//! | `Pull { .. }`        | `by-pull`    | `pr = "org/repo#n"`, plus `pr = "org/repo"` filtered by `contains(pulls, "org/repo#n")` |
//! | `Incomplete`         | `incomplete` | `incomplete = "1"` |
//! | `CompletedBefore(t)` | `by-time`    | `kind = "job" AND start < ceil(t)`, filtered by `attribute_not_exists(incomplete)` |
//! | `StartedSince(t)`    | `by-time`    | `kind = "job" AND start >= ceil(t)` |
//!
//! Every index but one projects `ALL`, so a listing needs no second read.
//! The exception, `by-time-page`, has `by-time`'s keys and projects only what
//! the deck's page filters and counts by (`store/page.rs`, with its read
//! costs). Index keys sort by `start` only; records that start in the same
//! second are ordered by id, descending, here, as the SQLite twin does, which
//! is why a page boundary inside one second reads on to the end of that
//! second. Index reads are eventually consistent: a record written a moment
//! ago may be missing from a listing but never from `get` (a consistent
//! read).
//!
//! # The stream
//!
//! The table's stream (`NEW_AND_OLD_IMAGES`) is how the reporter learns of
//! changes: every create and update is exactly one `PutItem`, so each change
//! is one stream record whose new image carries the whole `record`. A failed
//! conditional write produces no stream record. Dedupe items appear in the
//! stream too; readers skip ids starting with `dedupe#`. The old image's
//! `state` tells the reporter whether a change moved the record to another
//! state; one that did not (a report recorded) is not reported again.
//!
//! # Writes per job
//!
//! Each costs one write request unit per KB of item, so each is here for a
//! reason. A presubmit that runs and is reported to GitHub, as `skiff cost`
//! prices it (counted on moto by `cli/tests/cost_calls.rs`):
//!
//! 1. **create** (trigger): the record exists before its pod, so a
//!    redelivered event finds it and starts nothing twice
//!    (`attribute_not_exists`), and the deck shows the job at once.
//! 2. **pending** (dispatcher): the pod's name, build id and URL; the syncer
//!    finds the pod by them, and a redelivered dispatch adopts the pod
//!    instead of starting another (compare-and-set on `version`).
//! 3. **complete** (syncer): the result and `completionTime` — what the
//!    reporter reports and the deck shows.
//! 4. **reported** (reporter): `prev_report_states` for the finished state,
//!    so the stream's redelivery or a later write (another sink's record)
//!    does not post the status and failure comment again. An unfinished
//!    state's GitHub report is not recorded: a repeated commit status shows
//!    the same, and a repeat is rarer than a job.
//!
//! Nothing else: a failure comment that changes is updated through the
//! comments queue (SQS FIFO, one message group per pull request), which
//! keeps two jobs of one pull from editing it at once — the per-PR lock
//! crier holds in memory — without a lock item. Per delivery, outside the
//! job: the webhook's claim of the delivery id and its mark once queued.
//!
//! # Requests per operation
//!
//! create, update, delete, remember, forget, claim_as, release: one write
//! each. get: one consistent `GetItem`. list: one `Query` per page (two
//! queries for a pull). page (the deck's list): `Query`s of small items for
//! the window, then one `BatchGetItem` per 100 records shown.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use jiff::Timestamp;
use skiff_core::ports::{
    Claim, Clock, JobPage, JobQuery, JobStore, PageQuery, PortError, PortResult, SystemClock,
};
use skiff_core::prowjob::{ProwJob, ProwJobType};

/// Prefix of dedupe items' ids; job ids (Kubernetes names) never contain `#`.
pub const DEDUPE_PREFIX: &str = "dedupe#";
/// The `kind` of every job record: the hash key of `by-time`.
pub const JOB_KIND: &str = "job";

const BY_JOB: &str = "by-job";
const BY_PULL: &str = "by-pull";
const INCOMPLETE: &str = "incomplete";
const BY_TIME: &str = "by-time";

type Item = HashMap<String, AttributeValue>;

mod owned;
mod page;

/// [`JobStore`] on the DynamoDB jobs table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    /// `Limit` of the page's index queries when a test sets one.
    page_query_limit: Option<i32>,
}

impl DynamoStore {
    /// The store on `table`, deciding dedupe expiry by the wall clock.
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore {
            client,
            table,
            clock: Arc::new(SystemClock),
            page_query_limit: None,
        }
    }

    /// The same store with `clock` deciding when dedupe keys have expired.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One conditional `PutItem`. `Ok(Err(old))` when the condition failed:
    /// `old` is the stored item (`ALL_OLD` on failure), `None` if there was
    /// none, which tells a missing record from a stale version without a
    /// second read.
    async fn put(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        what: &str,
    ) -> PortResult<Result<(), Option<Item>>> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(_) => Ok(Ok(())),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let old = match e.into_err() {
                    PutItemError::ConditionalCheckFailedException(c) => {
                        c.item.filter(|i| !i.is_empty())
                    }
                    _ => None,
                };
                Ok(Err(old))
            }
            Err(e) => Err(port_error(what, e)),
        }
    }

    /// Reads the pages of one index query, newest first, until `limit`
    /// records are certain: every record that starts in the same second as
    /// the last one kept has been read, so the id tie-break is exact.
    async fn query(&self, q: IndexQuery<'_>, limit: Option<usize>) -> PortResult<Vec<Listed>> {
        let mut out: Vec<Listed> = Vec::new();
        let mut start_key: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(q.index)
                .key_condition_expression(q.key_condition)
                .scan_index_forward(false)
                .set_exclusive_start_key(start_key.take());
            if let Some(f) = q.filter {
                req = req.filter_expression(f);
            }
            if let Some(n) = limit {
                // One more than needed shows whether the next record ties.
                req = req.limit(i32::try_from(n.saturating_add(1)).unwrap_or(i32::MAX));
            }
            for (k, v) in q.names {
                req = req.expression_attribute_names(*k, *v);
            }
            for (k, v) in &q.values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            let page = req
                .send()
                .await
                .map_err(|e| port_error(&format!("query {}", q.index), e))?;
            for item in page.items() {
                let listed = listed(item)?;
                if (q.keep)(&listed.job) {
                    out.push(listed);
                }
            }
            start_key = page.last_evaluated_key().cloned().filter(|k| !k.is_empty());
            if start_key.is_none() {
                break;
            }
            if limit.is_some_and(|n| settled(&out, n, |l| l.start)) {
                break;
            }
        }
        Ok(out)
    }
}

/// Whether the first `n` records of a listing are certain, given what has
/// arrived so far (by start descending, ties in any order): a record older
/// than the n-th proves that the n-th's second has been read to its end.
fn settled<T>(arrived: &[T], n: usize, start: impl Fn(&T) -> i64) -> bool {
    match (
        n.checked_sub(1).and_then(|i| arrived.get(i)),
        arrived.last(),
    ) {
        (Some(nth), Some(last)) => start(last) < start(nth),
        _ => n == 0,
    }
}

/// A decoded record with its sort key.
struct Listed {
    start: i64,
    id: String,
    job: ProwJob,
}

struct IndexQuery<'a> {
    index: &'static str,
    key_condition: &'static str,
    filter: Option<&'static str>,
    names: &'static [(&'static str, &'static str)],
    values: Vec<(&'static str, AttributeValue)>,
    /// A check DynamoDB cannot express on the item's attributes.
    keep: &'a (dyn Fn(&ProwJob) -> bool + Sync),
}

fn keep_all(_: &ProwJob) -> bool {
    true
}

fn listed(item: &Item) -> PortResult<Listed> {
    let id = string_attr(item, "id").unwrap_or_default().to_string();
    let start = match item.get("start") {
        Some(AttributeValue::N(n)) => n.parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        PortError::Unavailable(format!("job {id}: stored item has no numeric start").into())
    })?;
    let job = decode_item(&id, item)?;
    Ok(Listed { start, id, job })
}

fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

fn decode_item(id: &str, item: &Item) -> PortResult<ProwJob> {
    let record = string_attr(item, "record").ok_or_else(|| {
        PortError::Unavailable(format!("job {id}: stored item has no record").into())
    })?;
    serde_json::from_str(record).map_err(|e| {
        PortError::Unavailable(format!("job {id}: stored record does not decode: {e}").into())
    })
}

fn stored_version(item: &Item) -> Option<&str> {
    match item.get("version") {
        Some(AttributeValue::N(n)) => Some(n),
        _ => None,
    }
}

/// The record's JSON keeps whole seconds (Kubernetes' time format), so the
/// sort key does too: a listing never orders by precision the record lost.
fn floor_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() < 0 { s - 1 } else { s }
}

/// `start < t` for a whole-second `start` is `start < ceil(t)`.
fn ceil_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() > 0 { s + 1 } else { s }
}

fn check_id(id: &str) -> PortResult<()> {
    if id.is_empty() {
        return Err(PortError::Rejected(
            "job record has no id (metadata.name)".into(),
        ));
    }
    if id.starts_with(DEDUPE_PREFIX) {
        return Err(PortError::Rejected(
            format!("job id {id:?} collides with the dedupe keys' prefix").into(),
        ));
    }
    Ok(())
}

fn is_job_id(id: &str) -> bool {
    !id.is_empty() && !id.starts_with(DEDUPE_PREFIX)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The item for `job` at `version`, and the record as it was stored (times
/// cut to whole seconds by the JSON), which is what a later `get` returns.
fn item_of(job: &ProwJob, version: i64) -> PortResult<(Item, ProwJob)> {
    let id = &job.metadata.name;
    check_id(id)?;
    let mut job = job.clone();
    job.metadata.resource_version = version.to_string();
    let record = serde_json::to_string(&job)
        .map_err(|e| PortError::Rejected(format!("job {id}: cannot encode: {e}").into()))?;
    let stored: ProwJob = serde_json::from_str(&record).map_err(|e| {
        PortError::Rejected(format!("job {id}: encoded record does not decode: {e}").into())
    })?;

    let mut item = Item::new();
    item.insert("id".into(), s(id.clone()));
    item.insert("kind".into(), s(JOB_KIND));
    item.insert("version".into(), n(version));
    item.insert(
        "start".into(),
        n(job.status.start_time.map_or(0, floor_second)),
    );
    if !job.spec.job.is_empty() {
        item.insert("job".into(), s(job.spec.job.clone()));
    }
    if let Some(t) = job.spec.r#type {
        item.insert("type".into(), s(t.as_str()));
    }
    if let Some(st) = job.status.state {
        item.insert("state".into(), s(st.as_str()));
    }
    item.insert("hidden".into(), n(i64::from(job.spec.hidden)));
    if job.status.completion_time.is_none() {
        item.insert("incomplete".into(), s("1"));
    }
    if matches!(
        job.spec.r#type,
        Some(ProwJobType::Presubmit | ProwJobType::Batch)
    ) && let Some(refs) = &job.spec.refs
    {
        let repo = format!("{}/{}", refs.org, refs.repo);
        let pulls: BTreeSet<String> = refs
            .pulls
            .iter()
            .map(|p| pull_key(&refs.org, &refs.repo, p.number))
            .collect();
        match pulls.len() {
            0 => {}
            1 => {
                item.insert("pr".into(), s(pulls.into_iter().next().unwrap_or_default()));
            }
            _ => {
                item.insert("pr".into(), s(repo));
                item.insert(
                    "pulls".into(),
                    AttributeValue::Ss(pulls.into_iter().collect()),
                );
            }
        }
    }
    item.insert("record".into(), s(record));
    Ok((item, stored))
}

fn pull_key(org: &str, repo: &str, number: i64) -> String {
    format!("{org}/{repo}#{number}")
}

/// Newest first, ties by id descending; at most `limit`.
fn finish(mut all: Vec<Listed>, limit: Option<usize>) -> Vec<ProwJob> {
    all.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| b.id.cmp(&a.id)));
    all.dedup_by(|a, b| a.id == b.id);
    if let Some(n) = limit {
        all.truncate(n);
    }
    all.into_iter().map(|l| l.job).collect()
}

/// An SDK failure of DynamoDB's `what`, by the one AWS rule.
fn port_error<E>(what: &str, e: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::error::port_error(&format!("DynamoDB {what}"), e)
}

#[async_trait]
impl JobStore for DynamoStore {
    #[tracing::instrument(level = "debug", skip_all, fields(id = %job.metadata.name))]
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        let (item, _) = item_of(job, 1)?;
        let created = self
            .put(
                item,
                "attribute_not_exists(#id)",
                &[("#id", "id")],
                vec![],
                "create",
            )
            .await?;
        Ok(created.is_ok())
    }

    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        if !is_job_id(id) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("get", e))?;
        out.item().map(|item| decode_item(id, item)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %job.metadata.name))]
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        let id = job.metadata.name.as_str();
        check_id(id)?;
        let given = job.metadata.resource_version.as_str();
        let Some((expected, next)) = given
            .parse::<i64>()
            .ok()
            .and_then(|v| Some((v, v.checked_add(1)?)))
        else {
            // A version this store never issued matches no record, but a
            // missing record must still read as NotFound.
            return match self.get(id).await? {
                Some(stored) => Err(PortError::Conflict(
                    format!(
                        "job {id}: resource version {given:?} is stale, the stored one is {:?}",
                        stored.metadata.resource_version
                    )
                    .into(),
                )),
                None => Err(PortError::NotFound(format!("job {id}").into())),
            };
        };
        let (item, stored) = item_of(job, next)?;
        match self
            .put(
                item,
                "#v = :expected",
                &[("#v", "version")],
                vec![(":expected", n(expected))],
                "update",
            )
            .await?
        {
            Ok(()) => Ok(stored),
            Err(Some(old)) => Err(PortError::Conflict(
                format!(
                    "job {id}: resource version {given:?} is stale, the stored one is {:?}",
                    stored_version(&old).unwrap_or("?")
                )
                .into(),
            )),
            Err(None) => Err(PortError::NotFound(format!("job {id}").into())),
        }
    }

    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let queries: Vec<IndexQuery<'_>> = match query {
            JobQuery::All => vec![IndexQuery {
                index: BY_TIME,
                key_condition: "#h = :h",
                filter: None,
                names: &[("#h", "kind")],
                values: vec![(":h", s(JOB_KIND))],
                keep: &keep_all,
            }],
            JobQuery::Job { name } => vec![IndexQuery {
                index: BY_JOB,
                key_condition: "#h = :h",
                filter: None,
                names: &[("#h", "job")],
                values: vec![(":h", s(name.clone()))],
                keep: &keep_all,
            }],
            JobQuery::Pull { org, repo, number } => {
                let pull = pull_key(org, repo, *number);
                vec![
                    IndexQuery {
                        index: BY_PULL,
                        key_condition: "#h = :h",
                        filter: None,
                        names: &[("#h", "pr")],
                        values: vec![(":h", s(pull.clone()))],
                        keep: &keep_all,
                    },
                    IndexQuery {
                        index: BY_PULL,
                        key_condition: "#h = :h",
                        filter: Some("contains(#p, :p)"),
                        names: &[("#h", "pr"), ("#p", "pulls")],
                        values: vec![(":h", s(format!("{org}/{repo}"))), (":p", s(pull))],
                        keep: &keep_all,
                    },
                ]
            }
            JobQuery::Incomplete => vec![IndexQuery {
                index: INCOMPLETE,
                key_condition: "#h = :h",
                filter: None,
                names: &[("#h", "incomplete")],
                values: vec![(":h", s("1"))],
                keep: &keep_all,
            }],
            JobQuery::CompletedBefore(t) => vec![IndexQuery {
                index: BY_TIME,
                key_condition: "#h = :h AND #s < :t",
                filter: Some("attribute_not_exists(#i)"),
                names: &[("#h", "kind"), ("#s", "start"), ("#i", "incomplete")],
                values: vec![(":h", s(JOB_KIND)), (":t", n(ceil_second(*t)))],
                // `start` is 0 for a record that never started; the twin
                // does not count those as started before anything.
                keep: &|j: &ProwJob| j.status.start_time.is_some(),
            }],
            JobQuery::StartedSince(t) => vec![IndexQuery {
                index: BY_TIME,
                key_condition: "#h = :h AND #s >= :t",
                filter: None,
                names: &[("#h", "kind"), ("#s", "start")],
                values: vec![(":h", s(JOB_KIND)), (":t", n(ceil_second(*t)))],
                keep: &keep_all,
            }],
        };
        let mut all = Vec::new();
        for q in queries {
            all.extend(self.query(q, limit).await?);
        }
        Ok(finish(all, limit))
    }

    async fn page(&self, query: &PageQuery) -> PortResult<JobPage> {
        self.page_by_index(query).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn delete(&self, id: &str) -> PortResult<()> {
        if !is_job_id(id) {
            return Ok(());
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id))
            .send()
            .await
            .map_err(|e| port_error("delete", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim> {
        if key.is_empty() {
            return Err(PortError::Rejected("empty dedupe key".into()));
        }
        // Rounded so a key lives at least until `expires`, never less: a
        // duplicate let through is worse than a key kept a second longer.
        let now = floor_second(self.clock.now());
        let mut item = Item::new();
        item.insert("id".into(), s(format!("{DEDUPE_PREFIX}{key}")));
        item.insert("expires".into(), n(ceil_second(expires)));
        let put = self
            .put(
                item,
                "attribute_not_exists(#id) OR #e <= :now",
                &[("#id", "id"), ("#e", "expires")],
                vec![(":now", n(now))],
                "claim",
            )
            .await?;
        Ok(match put {
            Ok(()) => Claim::Taken,
            // The condition failed on the item the call returns (ALL_OLD).
            Err(old) => Claim::Held {
                until: old
                    .as_ref()
                    .and_then(|i| i.get("expires"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .and_then(|secs| Timestamp::from_second(secs).ok())
                    .unwrap_or(Timestamp::MAX),
            },
        })
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()> {
        if key.is_empty() {
            return Err(PortError::Rejected("empty dedupe key".into()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(format!("{DEDUPE_PREFIX}{key}")))
            .item("expires", n(ceil_second(expires)))
            .send()
            .await
            .map_err(|e| port_error("keep", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn forget(&self, key: &str) -> PortResult<()> {
        if key.is_empty() {
            return Ok(());
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(format!("{DEDUPE_PREFIX}{key}")))
            .send()
            .await
            .map_err(|e| port_error("forget", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn claim_as(&self, key: &str, owner: &str, expires: Timestamp) -> PortResult<Claim> {
        self.claim_owned(key, owner, expires).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn release(&self, key: &str, owner: &str) -> PortResult<()> {
        self.release_owned(key, owner).await
    }

    /// Under the dedupe prefix, so listings, the stream's readers and the
    /// table's TTL on `expires` treat it as they treat keys.
    #[tracing::instrument(level = "debug", skip(self, value))]
    async fn put_value(&self, key: &str, value: &str, expires: Timestamp) -> PortResult<()> {
        if key.is_empty() {
            return Err(PortError::Rejected("empty value key".into()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(format!("{DEDUPE_PREFIX}{VALUE_PREFIX}{key}")))
            .item("expires", n(ceil_second(expires)))
            .item("value", s(value))
            .send()
            .await
            .map_err(|e| port_error("put_value", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn get_value(&self, key: &str) -> PortResult<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(format!("{DEDUPE_PREFIX}{VALUE_PREFIX}{key}")))
            .send()
            .await
            .map_err(|e| port_error("get_value", e))?;
        // DynamoDB's TTL deletes late; an expired item is absent already.
        let now = floor_second(self.clock.now());
        Ok(out.item().and_then(|item| {
            let live = item
                .get("expires")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|e| e > now);
            live.then(|| item.get("value").and_then(|v| v.as_s().ok()).cloned())
                .flatten()
        }))
    }
}

/// Kept values' keys, within the dedupe prefix.
const VALUE_PREFIX: &str = "value/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_towards_the_comparison_that_keeps_strictness() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(floor_second(t("1970-01-01T00:00:10.5Z")), 10);
        assert_eq!(floor_second(t("1969-12-31T23:59:59.5Z")), -1);
        assert_eq!(ceil_second(t("1970-01-01T00:00:10Z")), 10);
        assert_eq!(ceil_second(t("1970-01-01T00:00:10.001Z")), 11);
    }

    fn l(start: i64, id: &str) -> Listed {
        Listed {
            start,
            id: id.into(),
            job: ProwJob {
                metadata: skiff_core::prowjob::ObjectMeta {
                    name: id.into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_limit_is_settled_only_once_its_last_second_is_read_to_the_end() {
        let arrived = [l(9, "a"), l(5, "b"), l(5, "c"), l(5, "d"), l(3, "e")];
        let start = |l: &Listed| l.start;
        assert!(
            settled(&arrived[..2], 1, start),
            "an older record closes second 9"
        );
        assert!(!settled(&arrived[..1], 1, start), "nothing older seen yet");
        assert!(
            !settled(&arrived[..3], 2, start),
            "more records of second 5 may follow"
        );
        assert!(!settled(&arrived[..4], 2, start), "still inside second 5");
        assert!(settled(&arrived, 2, start), "second 5 ended with e");
        assert!(!settled(&arrived[..1], 2, start), "fewer than the limit");
        assert!(settled(&[], 0, start));
    }

    #[test]
    fn ties_within_a_second_are_ordered_by_id_descending() {
        let got = finish(vec![l(5, "a"), l(9, "b"), l(5, "c"), l(9, "b")], Some(3));
        let ids: Vec<&str> = got.iter().map(|j| j.metadata.name.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }
}
