//! The behaviour every [`JobStore`] and [`Queue`] adapter owes the handlers,
//! as one suite each. The SQLite adapters run it in this crate's tests; the
//! DynamoDB and SQS adapters run the same functions, so "works locally" means
//! "works on AWS" for everything written here.
//!
//! Each suite is a sequence of assertions that panic with what was expected.
//! The suites ask only what a cloud service can give: nothing depends on a
//! receive returning every visible message at once, or on the order of a
//! queue, and time is let pass through the harness (a manual clock locally,
//! a sleep against a real service).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::ports::{Claim, JobQuery, JobStore, Message, PortError, PortResult, Queue};
use skiff_core::prowjob::{
    API_VERSION, KIND, ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType,
    Pull, Refs,
};

/// 2026-03-01T00:00:00Z: every record's times are whole seconds after it,
/// because the record's JSON keeps whole seconds.
const BASE: i64 = 1_772_323_200;

fn at(offset: i64) -> Timestamp {
    Timestamp::constant(BASE + offset, 0)
}

fn ok<T, E: Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

mod queue;
mod store;

pub use queue::{QueueHarness, queue_conformance};
pub use store::{job_page_conformance, job_store_conformance};
