//! Support for Skiff's end-to-end tests: the Lambda binaries run as Lambda
//! runs them, against moto.
//!
//! - [`runtime_api`]: a stand-in for Lambda's Runtime API, serving one
//!   function process its invocations;
//! - [`lambda`]: what the Lambda service does around a function — SQS and
//!   DynamoDB stream event source mappings, schedules, the Function URL;
//! - [`moto`]: the emulator's address, SDK clients for it, the stack deployed
//!   from `template.yaml`, and a proxy counting the AWS calls functions make;
//! - [`github`]: an HTTP-level fake of GitHub's API (no real GitHub can run
//!   here), stateful where Skiff reads back what it wrote;
//! - [`codecommit`]: an HTTP-level fake of CodeCommit's JSON protocol for the
//!   calls moto does not implement;
//! - [`fault`]: a proxy that fails the k-th AWS call of a scenario.

pub mod binaries;
pub mod codecommit;
pub mod deployment;
pub mod fault;
pub mod github;
pub mod http_client;
pub mod jenkins;
pub mod lambda;
pub mod moto;
pub mod runtime_api;
mod serve;
