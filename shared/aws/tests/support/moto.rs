//! How every AWS adapter test reaches moto: the endpoint ./scripts/test
//! exports, an SDK configuration for it, and fresh buckets.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_smithy_http_client::tls;

/// moto's address, exported by ./scripts/test. Unset is a failure, not a
/// skip: a green run must mean the adapters were tested.
pub fn moto_endpoint() -> String {
    match std::env::var("SKIFF_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SKIFF_MOTO_ENDPOINT is not set: the AWS adapter tests need moto_server. \
             Run ./scripts/test (it starts moto), or start `moto_server -H 127.0.0.1 -p PORT` \
             and export SKIFF_MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// SDK configuration for moto: static dummy credentials, us-east-1, and no
/// SDK retries, so an error surfaces at once (and one call is one request).
pub async fn moto_sdk_config() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http)
        .endpoint_url(moto_endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// An S3 client builder for moto, path-style because `<bucket>.127.0.0.1`
/// does not resolve.
pub async fn s3_config() -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(&moto_sdk_config().await).force_path_style(true)
}

/// A fresh bucket named after `name` (lowercase, at most 63 characters).
pub async fn fresh_bucket(client: &aws_sdk_s3::Client, name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let bucket = format!(
        "skiff-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateBucket {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    bucket
}
