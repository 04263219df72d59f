//! The in-memory twin of every port: one per port, shared by every crate's
//! tests (and by `skiff bench`'s code host). Each twin behaves like the real
//! adapter — the store and queue twins pass the same conformance suites as
//! SQLite, DynamoDB and SQS — and adds what a test needs to look inside and
//! to make things go wrong:
//!
//! - a log of the calls made, to pin how many API calls a handler spends;
//! - [`Faults`]: scripted errors per method, used up in order, or a port
//!   that is down altogether;
//! - for the store, another writer that changes a record between a read and
//!   a compare-and-set.

mod clock;
mod cluster;
mod faults;
mod jenkins;
mod login;
mod logs;
mod queue;
mod scm;
mod scm_calls;
mod scm_review;
mod scm_tide;
mod store;

pub use clock::ManualClock;
pub use cluster::{MemoryCluster, clusters};
pub use faults::Faults;
pub use jenkins::MemoryJenkins;
pub use login::MemoryGitHubLogin;
pub use logs::MemoryLogs;
pub use queue::MemoryQueue;
pub use scm::{MemoryScm, ReviewCall, ScmCall};
pub use store::{MemoryStore, StoreCalls};

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A log of calls by method name, in order; twins built `with_journal` of
/// one journal share it.
pub type Journal = Arc<Mutex<Vec<String>>>;

/// A twin's lock: a test that panicked while holding one must not hide the
/// state from the next assertion.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
