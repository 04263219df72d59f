//! The deck's job list on DynamoDB, read from `by-time-page`: the keys of
//! `by-time` (`kind`, `start`) with a projection of only `state`, `type` and
//! `hidden` (100–150 bytes an item, next to a record's kilobytes). The
//! window and its counts per state come from those small items, then only the
//! page's records are read, by key. [`page_of`] pages the small items, so the
//! counts are `page_from_list`'s by construction.
//!
//! # Reads of one page (window W, the deck's `max_jobs`; page of L rows)
//!
//! | read | requests | items | read units (eventually consistent) |
//! |---|---|---|---|
//! | `Query` on `by-time-page`, newest first | one per 1 MB of small items: 1–2 for W = 10,000 | W (on to the end of the last one's second, as `list` reads) | ½ per 4 KB of items: 125–190 for W = 10,000 |
//! | `BatchGetItem` of the page's records (`id`, `record`) | ⌈L / 100⌉, plus a retry per `UnprocessedKeys` answer | L | ½ per record, each rounded up to 4 KB: 100 for L = 200 |
//! | before: `page_from_list`, `Query` on `by-time` (`ALL`) | one per 1 MB of records: ~20 for W = 10,000 of 2 KB | W whole records, each decoded | ~2,500 for W = 10,000 of 2 KB |
//!
//! The index costs one small index write (1 write unit) per create and
//! update. Records written before `item_of` wrote `hidden` are in the index
//! (DynamoDB fills a new index from the table) without it: the page reads
//! those records whole to learn whether they are hidden (by key when they
//! fit one `BatchGetItem`, else the whole window as before), so the window
//! is right from the first deploy, at the old cost until newer records push
//! them out of the window. While a new index is still being
//! filled DynamoDB refuses to read it (CloudFormation does not wait for the
//! fill): the page is then read as before, from `list`.
//!
//! So the deck's default (W = 10,000, L = 200) reads ~250 units where it
//! read ~2,500, and decodes 200 records instead of 10,000; for a small
//! window the per-record rounding of `BatchGetItem` takes back part of it
//! (W = 1,000: ~110 units against ~240). `cargo test -p skiff-aws --test
//! dynamo a_page_reads -- --nocapture` prints the requests, bytes and items
//! of both ways on moto.
//!
//! `JobQuery::Job` keeps `page_from_list` (the job's window through
//! `by-job`): CloudFormation adds one index to a table per update, so a small
//! `by-job` twin is a later deploy's. The deck pages no other query.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use skiff_core::ports::{JobPage, JobQuery, PageQuery, PortError, PortResult};
use skiff_core::ports::{page_from_list, page_of};
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType};

use super::{DynamoStore, Item, JOB_KIND, decode_item, port_error, s, settled, string_attr};

/// The index the deck's list pages through (template.yaml's `JobsTable`).
const BY_TIME_PAGE: &str = "by-time-page";
/// `BatchGetItem` takes at most 100 keys a call.
const BATCH_KEYS: usize = 100;
/// Answers with `UnprocessedKeys` (DynamoDB was throttling) retried before
/// the page is given up as unavailable.
const BATCH_RETRIES: u32 = 6;

/// One record of the window, as `by-time-page` projects it.
struct Entry {
    start: i64,
    id: String,
    /// `None` for an item written before `hidden` was: its record decides.
    hidden: Option<bool>,
    job_type: Option<ProwJobType>,
    state: Option<ProwJobState>,
}

impl DynamoStore {
    /// Asks `by-time-page` for at most `n` items a `Query` (instead of the
    /// window's size), so a test walks the cursor over small tables.
    #[doc(hidden)]
    pub fn with_page_query_limit(mut self, n: i32) -> Self {
        self.page_query_limit = Some(n);
        self
    }

    pub(super) async fn page_by_index(&self, q: &PageQuery) -> PortResult<JobPage> {
        if !matches!(q.query, JobQuery::All) {
            return page_from_list(self, q).await;
        }
        let Some(mut window) = self.window(q.window).await? else {
            return page_from_list(self, q).await;
        };
        let Some(mut records) = self.resolve_hidden(&mut window).await? else {
            return page_from_list(self, q).await;
        };
        let mut page = page_of(window.iter().map(skeleton).collect(), q);
        let missing: Vec<String> = page
            .jobs
            .iter()
            .map(|j| j.metadata.name.clone())
            .filter(|id| !records.contains_key(id))
            .collect();
        records.extend(self.records(&missing).await?);
        // A record deleted since the index was read is left out of the page.
        page.jobs = page
            .jobs
            .into_iter()
            .filter_map(|j| records.remove(&j.metadata.name))
            .collect();
        Ok(page)
    }

    /// The newest `n` small items, newest first, ties by id descending (as
    /// `list` orders them); `None` while the index cannot be read yet.
    async fn window(&self, n: usize) -> PortResult<Option<Vec<Entry>>> {
        let mut out: Vec<Entry> = Vec::new();
        if n == 0 {
            return Ok(Some(out));
        }
        // One more than needed shows whether the next item ties.
        let limit = self
            .page_query_limit
            .unwrap_or_else(|| i32::try_from(n.saturating_add(1)).unwrap_or(i32::MAX));
        let mut start_key: Option<Item> = None;
        loop {
            let sent = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_TIME_PAGE)
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", "kind")
                .expression_attribute_values(":h", s(JOB_KIND))
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await;
            let page = match sent {
                Ok(page) => page,
                Err(SdkError::ServiceError(e)) if unreadable(e.err().code()) => {
                    tracing::warn!(
                        index = BY_TIME_PAGE,
                        error = %e.err(),
                        "the page index cannot be read (still being filled?): reading the window whole"
                    );
                    return Ok(None);
                }
                Err(e) => return Err(port_error(&format!("query {BY_TIME_PAGE}"), e)),
            };
            for item in page.items() {
                out.push(entry(item)?);
            }
            start_key = page.last_evaluated_key().cloned().filter(|k| !k.is_empty());
            if start_key.is_none() || settled(&out, n, |e| e.start) {
                break;
            }
        }
        out.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| b.id.cmp(&a.id)));
        out.truncate(n);
        Ok(Some(out))
    }

    /// Fills in `hidden` (and type and state) of items written before
    /// `hidden` was, from their records, and drops those deleted since. The
    /// records read are returned: one of them may be on the page. `None`
    /// when more than one `BatchGetItem` of them would be needed: reading
    /// the window whole (`list`, 1 MB of records a request) is then fewer
    /// requests than getting them by key (100 a request).
    async fn resolve_hidden(
        &self,
        window: &mut Vec<Entry>,
    ) -> PortResult<Option<HashMap<String, ProwJob>>> {
        let unknown: Vec<String> = window
            .iter()
            .filter(|e| e.hidden.is_none())
            .map(|e| e.id.clone())
            .collect();
        if unknown.is_empty() {
            return Ok(Some(HashMap::new()));
        }
        if unknown.len() > BATCH_KEYS {
            return Ok(None);
        }
        let records = self.records(&unknown).await?;
        window.retain_mut(|e| {
            if e.hidden.is_some() {
                return true;
            }
            let Some(job) = records.get(&e.id) else {
                return false;
            };
            e.hidden = Some(job.spec.hidden);
            e.job_type = job.spec.r#type;
            e.state = job.status.state;
            true
        });
        Ok(Some(records))
    }

    /// The records of `ids` that exist, by id: `BatchGetItem`s of at most
    /// 100 keys, each answer's `UnprocessedKeys` asked for again after a
    /// growing pause (DynamoDB answers so when it throttles).
    async fn records(&self, ids: &[String]) -> PortResult<HashMap<String, ProwJob>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_KEYS) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| Item::from([("id".to_string(), s(id.clone()))]))
                .collect();
            let mut ask = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression("#i, #r")
                    .expression_attribute_names("#i", "id")
                    .expression_attribute_names("#r", "record")
                    .build()
                    .map_err(|e| PortError::Rejected(format!("DynamoDB batch get: {e}").into()))?,
            );
            let mut retries = 0;
            while let Some(keys) = ask.take() {
                let answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| port_error("batch get", e))?;
                for item in answer
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let id = string_attr(item, "id").unwrap_or_default();
                    out.insert(id.to_string(), decode_item(id, item)?);
                }
                ask = answer
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if ask.is_some() {
                    retries += 1;
                    if retries > BATCH_RETRIES {
                        return Err(PortError::Unavailable(
                            "DynamoDB batch get: keys still unprocessed after retries".into(),
                        ));
                    }
                    if let Some(sleep) = self.client.config().sleep_impl() {
                        let pause = std::time::Duration::from_millis(25 << retries);
                        sleep.sleep(pause).await;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// DynamoDB's answers to a read of an index it is still filling
/// (`ValidationException`) or does not have (`ValidationException`, and
/// moto's `ResourceNotFoundException`). A missing table answers the latter
/// too, and the listing read instead then fails with it.
fn unreadable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("ValidationException" | "ResourceNotFoundException")
    )
}

fn entry(item: &Item) -> PortResult<Entry> {
    let id = string_attr(item, "id").unwrap_or_default().to_string();
    let start = item
        .get("start")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| {
            PortError::Unavailable(format!("job {id}: index item has no numeric start").into())
        })?;
    let hidden = item
        .get("hidden")
        .and_then(|v| v.as_n().ok())
        .map(|n| n != "0");
    Ok(Entry {
        start,
        hidden,
        job_type: string_attr(item, "type").and_then(parse),
        state: string_attr(item, "state").and_then(parse),
        id,
    })
}

/// An attribute written with `as_str` back as its enum (serde's names are
/// the same strings); an unknown one reads as unset.
fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// What [`page_of`] looks at of a record, from its small item. An item whose
/// `hidden` is still unknown is taken as hidden: never listed by mistake.
fn skeleton(e: &Entry) -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = e.id.clone();
    j.spec.r#type = e.job_type;
    j.spec.hidden = e.hidden.unwrap_or(true);
    j.status.state = e.state;
    j
}
