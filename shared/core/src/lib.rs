//! Skiff's pure domain: Prow's configuration model and its validation, the ProwJob
//! record and its state machine, and what a pod for a job must carry. No I/O here:
//! every function takes its inputs as values so the same code runs on Lambda, in
//! `skiff dev` and in tests.

pub mod config;
pub mod cron;
pub mod diagnostics;
pub mod duration;
pub mod event;
pub mod gojson;
pub mod health;
pub mod junit;
pub mod keys;
pub mod messages;
pub mod metrics;
pub mod panic;
pub mod plan;
pub mod plugins;
pub mod ports;
pub mod prowjob;
pub mod run;
pub mod tide;
pub mod yaml;
