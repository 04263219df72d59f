//! The ports: the smallest traits the handlers need from the outside world.
//! Every port has an embedded adapter (`shared/local`, for `skiff dev` and tests)
//! and a cloud adapter (`shared/aws`, `shared/kube`, `shared/scm`); handlers are
//! written once against these traits.
//!
//! All ports are `Send + Sync` and async: the same handler runs in a Lambda (one
//! event at a time) and in `skiff dev` (many loops in one process).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::prowjob::ProwJob;

mod cluster;
mod jenkins;
mod oauth;
mod page;
mod review;
mod scm;
pub use cluster::*;
pub use jenkins::*;
pub use oauth::GitHubLogin;
pub use page::*;
pub use review::*;
pub use scm::*;

// ---------------------------------------------------------------------------
// Errors shared by the ports

/// A port error's words, and the error underneath when there is one (an SDK
/// error, an I/O error). The words say what failed and why, once; the cause
/// is kept for [`std::error::Error::source`], not printed again.
#[derive(Clone, Debug, Default)]
pub struct Why {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Why {
    pub fn new(message: impl Into<String>) -> Self {
        Why {
            message: message.into(),
            source: None,
        }
    }

    /// `message`, caused by `source`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Why {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.message
    }
}

impl std::ops::Deref for Why {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Two errors are equal when they say the same: the cause is not compared.
impl PartialEq for Why {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for Why {}

impl From<String> for Why {
    fn from(message: String) -> Self {
        Why::new(message)
    }
}

impl From<&str> for Why {
    fn from(message: &str) -> Self {
        Why::new(message)
    }
}

/// What went wrong talking to a port, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortError {
    /// A compare-and-set lost: someone changed the record first. Reload and
    /// decide again.
    Conflict(Why),
    NotFound(Why),
    /// The request itself is wrong (a 4xx): retrying will not help.
    Rejected(Why),
    /// Throttled, timed out, 5xx, disk busy: retry later.
    Unavailable(Why),
    /// The service said when to come back (GitHub's `Retry-After`,
    /// `X-RateLimit-Reset`, a secondary rate limit): a retry before `until`
    /// is refused again and prolongs the penalty.
    RateLimited {
        until: Timestamp,
        message: Why,
    },
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortError::Conflict(why) => write!(f, "conflict: {why}"),
            PortError::NotFound(why) => write!(f, "not found: {why}"),
            PortError::Rejected(why) => write!(f, "rejected: {why}"),
            PortError::Unavailable(why) => write!(f, "unavailable: {why}"),
            PortError::RateLimited { until, message } => {
                write!(f, "rate limited until {until}: {message}")
            }
        }
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let why = match self {
            PortError::Conflict(why)
            | PortError::NotFound(why)
            | PortError::Rejected(why)
            | PortError::Unavailable(why)
            | PortError::RateLimited { message: why, .. } => why,
        };
        why.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PortError::Unavailable(_) | PortError::Conflict(_) | PortError::RateLimited { .. }
        )
    }

    /// The earliest instant a retry may be sent, when the service named one.
    pub fn retry_at(&self) -> Option<Timestamp> {
        match self {
            PortError::RateLimited { until, .. } => Some(*until),
            _ => None,
        }
    }
}

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------------------
// JobStore

/// Which job records to list. Results are newest first (by start time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobQuery {
    /// Every record.
    All,
    /// Presubmits (and batches) of one pull request.
    Pull {
        org: String,
        repo: String,
        number: i64,
    },
    /// Runs of one job, by name.
    Job { name: String },
    /// Records not complete yet (triggered, pending, aborted-not-cleaned-up).
    Incomplete,
    /// Complete records whose start time is before the instant.
    CompletedBefore(Timestamp),
    /// Records that started at or after the instant (the deck's
    /// `/prowjobs.js` window).
    StartedSince(Timestamp),
}

/// Job records, keyed by id (`metadata.name`), with optimistic concurrency on
/// `metadata.resource_version` and dedupe keys with an expiry.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Creates the record if no record has its id. `Ok(true)` created,
    /// `Ok(false)` it already existed (creating twice is a no-op). The stored
    /// record gets a resource version.
    async fn create(&self, job: &ProwJob) -> PortResult<bool>;
    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>>;
    /// Compare-and-set: replaces the record if its stored resource version is
    /// `job.metadata.resource_version`; returns the record with its new
    /// version. [`PortError::Conflict`] if someone else changed it first.
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob>;
    /// Newest first; at most `limit` records when given.
    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>>;
    /// One page of the job list; see [`PageQuery`]. The default reads the
    /// whole window through [`JobStore::list`]; a store with indexes
    /// overrides it to read only the page.
    async fn page(&self, query: &PageQuery) -> PortResult<JobPage> {
        page_from_list(self, query).await
    }
    /// Deleting a record that does not exist is not an error.
    async fn delete(&self, id: &str) -> PortResult<()>;
    /// Records `key` until `expires` unless a live record of it exists:
    /// [`Claim::Taken`] if it was not known (or had expired), else
    /// [`Claim::Held`] with the expiry it has. The basis of every "exactly
    /// once"; the expiry tells a short-lived claim from a long-lived mark.
    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim>;
    /// Records `key` until `expires`, whether it was known or not (a claim
    /// becomes a mark).
    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()>;
    /// Drops `key`, so the next claim of it succeeds again.
    async fn forget(&self, key: &str) -> PortResult<()>;
    /// [`JobStore::claim`] on behalf of `owner`, which is also
    /// [`Claim::Taken`] (with the expiry moved to `expires`) when `owner`
    /// holds the key already. A lock is taken this way: when the write that
    /// took it succeeded but its answer was lost, the retry takes it again
    /// instead of finding it held by nobody alive until it expires.
    async fn claim_as(&self, key: &str, owner: &str, expires: Timestamp) -> PortResult<Claim>;
    /// Drops `key` if `owner` holds it: a lock that outlived its expiry and
    /// was claimed by another since stays theirs.
    async fn release(&self, key: &str, owner: &str) -> PortResult<()>;

    /// [`JobStore::claim`], saying only whether this call took the key:
    /// `Ok(true)` if it was not known (or had expired), `Ok(false)` if it was.
    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        Ok(self.claim(key, expires).await? == Claim::Taken)
    }

    /// Keeps `value` under `key` until `expires`, replacing what was there:
    /// a cache of facts that never change for their key (OWNERS files by
    /// tree SHA). A store that keeps nothing (the default) only costs the
    /// caller the reads the cache would have saved.
    async fn put_value(&self, key: &str, value: &str, expires: Timestamp) -> PortResult<()> {
        let _ = (key, value, expires);
        Ok(())
    }

    /// The value kept under `key`, unless it expired.
    async fn get_value(&self, key: &str) -> PortResult<Option<String>> {
        let _ = key;
        Ok(None)
    }
}

/// What [`JobStore::claim`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was free; it is recorded now.
    Taken,
    /// A live record of the key exists until `until`.
    Held { until: Timestamp },
}

// ---------------------------------------------------------------------------
// Queue

/// A received message. `receipt` identifies this delivery of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub receipt: String,
    pub body: String,
    /// How many times it has been delivered, this time included.
    pub receive_count: u32,
}

/// A queue with at-least-once delivery: a received message comes back after its
/// visibility timeout unless acknowledged, and moves to a dead-letter queue
/// after the adapter's maximum number of receives.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages (adapters batch them: SQS takes ten at a time).
    async fn send(&self, bodies: &[String]) -> PortResult<()>;
    /// Up to `max` visible messages; each becomes invisible for the visibility
    /// timeout.
    async fn receive(&self, max: usize) -> PortResult<Vec<Message>>;
    /// Done: the messages will not come back.
    async fn ack(&self, receipts: &[String]) -> PortResult<()>;
    /// Not now: make the message visible again after `delay`.
    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()>;
    /// Sends messages that become visible only after `delay` (SQS caps a
    /// delay at 15 minutes; a receiver that finds a message early defers it
    /// again). Adapters that cannot delay deliver at once, which is early
    /// but never lost.
    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        let _ = delay;
        self.send(bodies).await
    }
    /// Sends messages of one ordered group (an SQS FIFO queue's
    /// `MessageGroupId`): a consumer gets the group's next message only once
    /// the one before it is acknowledged or given back, so two handlers never
    /// work on one group at once — a lock that costs no write. Adapters whose
    /// one consumer takes messages in order, a batch at a time (`skiff dev`'s
    /// loops, the twins), get that for nothing and send plainly.
    async fn send_in_group(&self, group: &str, bodies: &[String]) -> PortResult<()> {
        let _ = group;
        self.send(bodies).await
    }
    /// How much waits, for the deck's health page; `Ok(None)` when the
    /// adapter cannot tell (the default).
    async fn depth(&self) -> PortResult<Option<QueueDepth>> {
        Ok(None)
    }
}

/// How far behind a queue is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Messages that may be received now.
    pub visible: u64,
    /// Messages received and not yet acknowledged, or delayed.
    pub hidden: u64,
    /// Messages in the queue's dead-letter queue, when the adapter sees it.
    pub dead_letters: Option<u64>,
    /// When the oldest message still in the queue was sent, when the adapter
    /// can tell (SQS cannot without receiving it).
    pub oldest_sent: Option<Timestamp>,
}

/// What a batch handler reports: the receipts to deliver again (SQS's
/// `batchItemFailures`). Everything else in the batch is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub retry: Vec<String>,
    /// Messages to retry after a delay instead of the visibility timeout
    /// (a job waiting for a concurrency slot).
    pub retry_after: Vec<(String, Duration)>,
}

impl BatchOutcome {
    /// Whether the message with `receipt` is done: neither retried nor
    /// delayed, so its consumer acknowledges it.
    pub fn is_done(&self, receipt: &str) -> bool {
        !self.retry.iter().any(|r| r == receipt)
            && !self.retry_after.iter().any(|(r, _)| r == receipt)
    }
}

// ---------------------------------------------------------------------------
// HookDeliveries

/// Which GitHub webhook's deliveries to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hook {
    /// The GitHub App's webhook (`/app/hook/deliveries`, JWT).
    App,
    /// A repository webhook (`/repos/{org}/{repo}/hooks/{id}/deliveries`).
    Repo { org: String, repo: String, id: i64 },
    /// An organization webhook (`/orgs/{org}/hooks/{id}/deliveries`).
    Org { org: String, id: i64 },
}

impl Hook {
    /// `app`, `ORG/REPO:ID` or `ORG:ID`.
    pub fn parse(s: &str) -> Result<Hook, String> {
        let s = s.trim();
        if s == "app" {
            return Ok(Hook::App);
        }
        let usage =
            || format!("webhook {s:?}: expected `app`, `ORG/REPO:HOOK_ID` or `ORG:HOOK_ID`");
        let (owner, id) = s.rsplit_once(':').ok_or_else(usage)?;
        let id: i64 = id.parse().map_err(|_| usage())?;
        match owner.split_once('/') {
            Some((org, repo)) if !org.is_empty() && !repo.is_empty() && !repo.contains('/') => {
                Ok(Hook::Repo {
                    org: org.to_owned(),
                    repo: repo.to_owned(),
                    id,
                })
            }
            None if !owner.is_empty() => Ok(Hook::Org {
                org: owner.to_owned(),
                id,
            }),
            _ => Err(usage()),
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::App => f.write_str("app"),
            Hook::Repo { org, repo, id } => write!(f, "{org}/{repo}:{id}"),
            Hook::Org { org, id } => write!(f, "{org}:{id}"),
        }
    }
}

/// One attempt GitHub made to deliver an event (its "Recent Deliveries").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookDelivery {
    /// This attempt; what a redelivery request names.
    pub id: i64,
    /// `X-GitHub-Delivery`: the same for the original and its redeliveries.
    pub guid: String,
    pub delivered_at: Timestamp,
    pub redelivery: bool,
    /// The HTTP status the webhook answered; 0 when it did not answer.
    pub status_code: u16,
    /// `X-GitHub-Event`.
    pub event: String,
}

impl HookDelivery {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// GitHub's record of webhook deliveries: it never retries a failed one by
/// itself, but redelivers on request.
#[async_trait]
pub trait HookDeliveries: Send + Sync {
    /// Delivery attempts of `hook`, newest first, at least back to `since`.
    async fn deliveries(&self, hook: &Hook, since: Timestamp) -> PortResult<Vec<HookDelivery>>;
    /// Asks GitHub to deliver attempt `id` again.
    async fn redeliver(&self, hook: &Hook, id: i64) -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// Chat

/// A chat service to post job results to (Slack incoming webhooks).
#[async_trait]
pub trait Chat: Send + Sync {
    /// Posts `text` to `channel` through the webhook configured for `host`
    /// (Prow's `slack_reporter_config.host`; `*` is the default).
    async fn post(&self, host: &str, channel: &str, text: &str) -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// CodeCommit

/// A CodeCommit pull request, as the reporter needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeCommitPull {
    /// Changes with every push; approvals are given to one revision.
    pub revision_id: String,
    /// `pullRequestTargets[0].sourceCommit` (the head).
    pub source_commit: String,
    /// `pullRequestTargets[0].destinationCommit` (the base).
    pub destination_commit: String,
    /// `OPEN` or `CLOSED`.
    pub status: String,
}

/// A comment on a CodeCommit pull request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeCommitComment {
    pub id: String,
    pub author_arn: String,
    pub content: String,
    /// The commit the comment was made on (the pull's source at the time).
    pub after_commit: String,
}

/// CodeCommit as the place results go: comments and approvals. `repo` is the
/// repository name; the adapter serves one region (the `org` of CodeCommit
/// jobs).
#[async_trait]
pub trait CodeCommit: Send + Sync {
    /// The region the adapter talks to.
    fn region(&self) -> &str;
    async fn pull_request(&self, number: i64) -> PortResult<CodeCommitPull>;
    /// Every comment on the pull request, oldest first, deleted ones left out.
    async fn comments(&self, repo: &str, number: i64) -> PortResult<Vec<CodeCommitComment>>;
    /// `PostCommentForPullRequest`; `token` makes a retried post a no-op
    /// (CodeCommit's `clientRequestToken`). Returns the comment id.
    #[allow(clippy::too_many_arguments)]
    async fn post_comment(
        &self,
        repo: &str,
        number: i64,
        before: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String>;
    /// `UpdateComment` (only the comment's author may).
    async fn update_comment(&self, id: &str, body: &str) -> PortResult<()>;
    /// `UpdatePullRequestApprovalState`: `APPROVE` or `REVOKE` on `revision_id`.
    async fn set_approval(&self, number: i64, revision_id: &str, approve: bool) -> PortResult<()>;
    /// `PostCommentForComparedCommit` on `after` (compared with its first
    /// parent); `token` as for [`CodeCommit::post_comment`].
    async fn post_commit_comment(
        &self,
        repo: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String>;
}

// ---------------------------------------------------------------------------
// LogStore

/// Where a finished job's logs and metadata go, in Prow's artifact layout
/// (`logs/<job>/<build>/…`, `pr-logs/pull/<org_repo>/<pr>/<job>/<build>/…`).
///
/// `path` and `name` are relative: a `..` segment, a leading `/` or a NUL is
/// [`PortError::Rejected`] by every adapter, so nothing outside the store's
/// root is ever read or written. `name` may have directories of its own
/// (`artifacts/junit.xml`); `path` + `name` is the object, however the two
/// are split.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Writes `name` (`build-log.txt`, `started.json`, `finished.json`, …)
    /// under the job's artifact path. Writing the same bytes twice is fine.
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()>;
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>>;
    /// Every object under the directory `path` (Spyglass's artifact list):
    /// names relative to `path`, in byte order, at most [`MAX_LISTED`] of
    /// them (the first ones; [`Listing::truncated`] says when there were
    /// more). A directory with nothing in it, or none at all, is empty.
    async fn list(&self, path: &str) -> PortResult<Listing>;
}

/// The most objects one [`LogStore::list`] returns: a job that writes more
/// (a test that dumps a file per case) still lists quickly, and a page
/// showing them stays readable.
pub const MAX_LISTED: usize = 10_000;

/// One object under a listed directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Relative to the listed path, `/`-separated (`artifacts/junit.xml`).
    pub name: String,
    /// Bytes.
    pub size: u64,
}

/// What [`LogStore::list`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub objects: Vec<StoredObject>,
    /// More objects exist than were returned (more than [`MAX_LISTED`]).
    pub truncated: bool,
}

// ---------------------------------------------------------------------------
// Clock

/// The time, from outside: tests drive a virtual clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock: the one place Skiff reads the time of day. Everything
/// else asks a [`Clock`], so tests drive time by hand.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_the_wall_clock() {
        let before = Timestamp::now();
        let now = SystemClock.now();
        assert!(now >= before && now <= Timestamp::now());
    }

    #[test]
    fn a_message_is_done_unless_retried_or_delayed() {
        let outcome = BatchOutcome {
            retry: vec!["a".into()],
            retry_after: vec![("b".into(), Duration::from_secs(5))],
        };
        assert!(!outcome.is_done("a"));
        assert!(!outcome.is_done("b"));
        assert!(outcome.is_done("c"));
    }
}
