//! What tide keeps for the deck, as values in the job store: each pool as
//! last synced (Prow's `Pool`, served by tide at `/`) and each pool's
//! actions (Prow's history, the last 1,000 per pool). The tide function
//! writes them; the deck reads them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// History entries kept per pool (Prow's limit).
pub const HISTORY_LIMIT: usize = 1000;

/// The key listing every pool tide has synced, as `org/repo:branch` names.
pub const POOLS_KEY: &str = "tide/pools";

/// The store key of a pool's record.
pub fn pool_key(org: &str, repo: &str, branch: &str) -> String {
    format!("tide/pool/{org}/{repo}:{branch}")
}

/// The store key of a pool's history.
pub fn history_key(org: &str, repo: &str, branch: &str) -> String {
    format!("tide/history/{org}/{repo}:{branch}")
}

/// A pull as the deck lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolPull {
    pub number: i64,
    pub title: String,
    pub head_sha: String,
    /// The `tide` status: why it is (not) merging.
    pub status: String,
    pub description: String,
}

/// An open issue that blocks merges into the pool (Prow's `Blocker`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolBlocker {
    pub number: i64,
    /// Without its `branch:` tokens.
    pub title: String,
    pub url: String,
}

/// One pool as last synced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRecord {
    pub org: String,
    pub repo: String,
    pub branch: String,
    pub base_sha: String,
    pub success_prs: Vec<PoolPull>,
    pub pending_prs: Vec<PoolPull>,
    pub missing_prs: Vec<PoolPull>,
    /// Open pulls into the branch that are not in the pool, with why.
    pub out_prs: Vec<PoolPull>,
    pub batch_pending: Vec<i64>,
    pub action: String,
    /// The pulls the action was about.
    pub target: Vec<i64>,
    pub merged: Vec<i64>,
    pub started: Vec<String>,
    pub error: String,
    pub synced_at: Option<Timestamp>,
    /// The open blocker issues that applied (the action is `BLOCKED`).
    #[serde(default)]
    pub blockers: Vec<PoolBlocker>,
}

impl PoolRecord {
    /// `org/repo:branch`.
    pub fn name(&self) -> String {
        format!("{}/{}:{}", self.org, self.repo, self.branch)
    }

    pub fn key(&self) -> String {
        pool_key(&self.org, &self.repo, &self.branch)
    }

    /// Every pull the pool knows, in or out, with its standing's name.
    pub fn pulls(&self) -> impl Iterator<Item = (&'static str, &PoolPull)> {
        self.success_prs
            .iter()
            .map(|p| ("mergeable", p))
            .chain(self.pending_prs.iter().map(|p| ("pending", p)))
            .chain(self.missing_prs.iter().map(|p| ("missing", p)))
            .chain(self.out_prs.iter().map(|p| ("not in pool", p)))
    }
}

/// One action of a pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub time: Option<Timestamp>,
    pub action: String,
    pub base_sha: String,
    pub target: Vec<i64>,
    pub merged: Vec<i64>,
    pub err: String,
}
