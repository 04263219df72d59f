//! AWS adapters for the core ports: job records in DynamoDB, queues on SQS,
//! logs and the config bundle in S3.

pub mod client;
pub mod config_source;
pub mod error;
pub mod logs;
pub mod queue;
pub mod secrets;
pub mod store;
