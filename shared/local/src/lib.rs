//! Embedded adapters for `skiff dev` and tests: job records and queues in one
//! SQLite file, pods as local processes, logs on the filesystem.

pub mod clock;
pub mod conformance;
pub mod fs_logs;
pub mod process_cluster;
pub mod queue;
pub mod store;
