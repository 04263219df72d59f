//! Saving what tide keeps for the deck ([`skiff_core::tide::record`]): the
//! pool as synced, the pool index, and the pool's history.

use jiff::Timestamp;
use skiff_core::tide::record::{
    HISTORY_LIMIT, HistoryEntry, POOLS_KEY, PoolBlocker, PoolPull, PoolRecord, history_key,
};
use skiff_core::tide::{Action, Decision, Standing};
use tracing::warn;

use crate::TideDeps;
use crate::act::Outcome;
use crate::gather::Pool;

/// How long a pool's record and history outlive the last sync that wrote
/// them.
const KEEP_DAYS: i64 = 30;

/// The pool's record after a sync.
pub(crate) fn pool_record(
    pool: &Pool<'_>,
    decision: &Decision,
    outcome: &Outcome,
    now: Timestamp,
) -> PoolRecord {
    let mut r = PoolRecord {
        org: pool.org.clone(),
        repo: pool.repo.clone(),
        branch: pool.branch.clone(),
        base_sha: pool.base_sha.clone(),
        batch_pending: decision.batch_pending.clone(),
        action: decision.action.name().to_string(),
        target: match &decision.action {
            Action::Wait | Action::Blocked => Vec::new(),
            Action::Trigger { pull, .. } | Action::Merge { pull } => vec![*pull],
            Action::TriggerBatch { pulls, .. } | Action::MergeBatch { pulls } => pulls.clone(),
        },
        merged: outcome.merged.clone(),
        started: outcome.started.clone(),
        error: outcome.error.clone().unwrap_or_default(),
        synced_at: Some(now),
        blockers: pool
            .blockers
            .iter()
            .map(|b| PoolBlocker {
                number: b.number,
                title: b.title.trim().to_string(),
                url: b.html_url.clone(),
            })
            .collect(),
        ..PoolRecord::default()
    };
    for v in &decision.pulls {
        let Some(p) = pool.pull(v.number) else {
            continue;
        };
        let entry = PoolPull {
            number: p.number,
            title: p.title.clone(),
            head_sha: p.head_sha.clone(),
            status: v.status_state.to_string(),
            description: v.status_description.clone(),
        };
        match v.standing {
            Standing::Success => r.success_prs.push(entry),
            Standing::Pending => r.pending_prs.push(entry),
            Standing::Missing => r.missing_prs.push(entry),
            Standing::Out => r.out_prs.push(entry),
        }
    }
    r
}

fn keep_until(now: Timestamp) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_hours(24 * KEEP_DAYS))
        .unwrap_or(Timestamp::MAX)
}

pub(crate) async fn save_pool(deps: &TideDeps<'_>, record: &PoolRecord) {
    let until = keep_until(deps.clock.now());
    let Ok(json) = serde_json::to_string(record) else {
        return;
    };
    if let Err(e) = deps.store.put_value(&record.key(), &json, until).await {
        warn!(error = %e, pool = record.key(), "pool record not saved");
        return;
    }
    // The pool index: read, add, write — under the pool's lease, so two
    // syncs of the same pool never race; two pools may, and the loser's
    // name comes back on its next sync.
    let mut names: Vec<String> = match deps.store.get_value(POOLS_KEY).await {
        Ok(Some(v)) => serde_json::from_str(&v).unwrap_or_default(),
        _ => Vec::new(),
    };
    let name = record.name();
    if !names.contains(&name) {
        names.push(name);
        names.sort();
        if let Ok(json) = serde_json::to_string(&names)
            && let Err(e) = deps.store.put_value(POOLS_KEY, &json, until).await
        {
            warn!(error = %e, "pool index not saved");
        }
    }
}

pub(crate) async fn append_history(deps: &TideDeps<'_>, record: &PoolRecord) {
    let key = history_key(&record.org, &record.repo, &record.branch);
    let mut entries: Vec<HistoryEntry> = match deps.store.get_value(&key).await {
        Ok(Some(v)) => serde_json::from_str(&v).unwrap_or_default(),
        _ => Vec::new(),
    };
    entries.insert(
        0,
        HistoryEntry {
            time: record.synced_at,
            action: record.action.clone(),
            base_sha: record.base_sha.clone(),
            target: record.target.clone(),
            merged: record.merged.clone(),
            err: record.error.clone(),
        },
    );
    entries.truncate(HISTORY_LIMIT);
    let Ok(json) = serde_json::to_string(&entries) else {
        return;
    };
    if let Err(e) = deps
        .store
        .put_value(&key, &json, keep_until(deps.clock.now()))
        .await
    {
        warn!(error = %e, key, "tide history not saved");
    }
}
