//! One AWS SDK configuration for every adapter: rustls with ring (no OpenSSL,
//! no aws-lc), the behaviour version pinned, and an endpoint override for the
//! local emulator the tests run against.

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;
use aws_smithy_http_client::tls;

/// Loads the SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL`), with Skiff's HTTP client.
pub async fn sdk_config() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http)
        .load()
        .await
}

/// The DynamoDB client for the jobs table.
pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// The SQS client for the queues.
pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// The S3 client for logs and the config bundle (path-style behind an
/// endpoint override, see [`crate::config_source::s3_client`]).
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    crate::config_source::s3_client(sdk)
}

/// The Secrets Manager client.
pub fn secretsmanager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}
