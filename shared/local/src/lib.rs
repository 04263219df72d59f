//! Embedded adapters for `skiff dev` and tests: job records and queues in one
//! SQLite file, pods as local processes, logs on the filesystem — and the one
//! in-memory twin of every port that every crate's tests share.

pub mod conformance;
pub mod fs_logs;
pub mod memory;
pub mod podutils;
pub mod process_cluster;
pub mod queue;
pub mod store;
