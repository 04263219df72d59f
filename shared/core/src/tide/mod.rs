//! Tide: Prow's merge automation (`pkg/tide`), the pure part. Which pulls are
//! in a pool and why not ([`query`]), what must pass ([`contexts`]), the
//! decision per pool ([`pool`]), the merge commit ([`merge`]).

pub mod blockers;
pub mod contexts;
pub mod jobs;
pub mod merge;
pub mod pool;
pub mod query;
pub mod record;

pub use contexts::{ContextChecker, TIDE_CONTEXT, needs_files, required_presubmits};
pub use pool::{Action, Decision, HeadContext, PoolInput, PullVerdict, Standing, TidePull, decide};
