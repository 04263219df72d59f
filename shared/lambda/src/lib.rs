//! The Lambda side of every function's wiring: reading the environment the
//! template sets, tracing under Lambda's logging controls, and turning
//! Lambda's event shapes (SQS batches, the DynamoDB stream, EventBridge
//! schedules, Function URL requests) into what the handlers take, and their
//! results back into Lambda's answers (partial batch failures).
//!
//! The handlers themselves know nothing of Lambda: `skiff dev` drives the same
//! functions from its own loops.

pub mod env;
pub mod metrics;
pub mod per_config;
pub mod schedule;
pub mod sqs;
pub mod stream;
pub mod tide;
pub mod tls_roots;

#[cfg(feature = "github")]
pub mod scm;

#[cfg(feature = "kube")]
pub mod clusters;

use std::sync::Mutex;

use skiff_aws::config_source::S3ConfigSource;
use skiff_core::prowjob::build_id::BuildIdGenerator;

pub use env::{Env, EnvError};
#[doc(hidden)]
pub use mimalloc;

/// Makes mimalloc the function binary's allocator, as it is the CLI's. A
/// function's cold start is mostly the config bundle's load, thousands of
/// small allocations: mimalloc loads the test-infra-sized bundle in 46–47 ms
/// where glibc's malloc took 48–53 ms in the same minutes (`cargo bench -p
/// skiff-aws --bench bundle_load`; issue 21's target is 50 ms). A macro, not a static here:
/// `skiff dev` links the handlers' libraries, and a binary has one
/// allocator.
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::mimalloc::MiMalloc = $crate::mimalloc::MiMalloc;
    };
}

/// Starts tracing as Lambda's advanced logging controls say
/// (`AWS_LAMBDA_LOG_FORMAT=JSON`, `AWS_LAMBDA_LOG_LEVEL`), or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The AWS SDK configuration every client of a function is built from
/// (region and credentials from the Lambda environment, `AWS_ENDPOINT_URL`
/// honoured).
pub async fn sdk_config() -> aws_config::SdkConfig {
    skiff_aws::client::sdk_config().await
}

/// The config bundle `skiff config push` uploads: `SKIFF_CONFIG_BUCKET`,
/// `SKIFF_CONFIG_KEY` (default `config/bundle.json`).
pub fn config_source<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &aws_config::SdkConfig,
) -> Result<S3ConfigSource, EnvError> {
    Ok(S3ConfigSource::new(
        skiff_aws::client::s3(sdk),
        env.required("SKIFF_CONFIG_BUCKET")?,
        env.or("SKIFF_CONFIG_KEY", skiff_aws::config_source::DEFAULT_KEY),
    ))
}

/// A build id generator on a node of its own.
///
/// Prow's plank is one process minting snowflakes as node 1. Lambda runs many
/// dispatcher and syncer containers at once; on one node two of them would
/// mint the same id in the same millisecond. A random node per container
/// makes a clash need the same millisecond *and* the same of 1,024 nodes.
pub fn build_ids() -> Mutex<BuildIdGenerator> {
    let node = random_u16() % 1024;
    Mutex::new(BuildIdGenerator::for_node(node).unwrap_or_default())
}

fn random_u16() -> u16 {
    use std::io::Read;
    let mut bytes = [0u8; 2];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u16::from_le_bytes(bytes),
        // No urandom (not Linux): the process id and the clock still differ
        // between containers.
        Err(_) => {
            let nanos = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
            (std::process::id() ^ nanos) as u16
        }
    }
}
