//! One rule for what an AWS error means, used by every AWS adapter
//! (DynamoDB, SQS, S3, Secrets Manager, CodeCommit). It decides retry or
//! dead-letter queue: a throttled or failing service may pass
//! ([`PortError::Unavailable`]), a lost condition is a
//! [`PortError::Conflict`], a missing resource a [`PortError::NotFound`], and
//! every other refusal is about the request ([`PortError::Rejected`]) — a
//! retry would be refused the same way.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use skiff_core::ports::{PortError, Why};

/// What an AWS error code (or HTTP status) says about the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Too many requests: back off and retry.
    Throttled,
    /// The service failed (5xx), or the call timed out or never arrived.
    Transient,
    /// A conditional write's condition did not hold.
    ConditionFailed,
    /// The thing asked about does not exist.
    NotFound,
    /// The request is wrong; retrying cannot help.
    Permanent,
}

/// Codes that mean "slow down", across services and protocols (SQS's query
/// protocol spells them `AWS.SimpleQueueService.<Code>`; some come with
/// status 400).
const THROTTLED: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    // DynamoDB: too many control-plane operations at once.
    "LimitExceededException",
    "SlowDown",
    "KmsThrottled",
    "RequestTimeout",
    "RequestTimeoutException",
    // DynamoDB: another transaction holds the item; the next try may win.
    "TransactionConflictException",
];

/// Codes of a service failing on its side, whatever the status says.
const TRANSIENT: [&str; 5] = [
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Codes of a missing resource that callers act on (a CodeCommit pull
/// request, comment or commit; an S3 key). A missing table or queue is a
/// misconfiguration and stays [`Class::Permanent`].
fn is_not_found(code: &str) -> bool {
    code.ends_with("DoesNotExistException") || code == "NoSuchKey"
}

/// The class of a service's answer: its HTTP status and error code.
pub fn classify(status: u16, code: &str) -> Class {
    let code = code.rsplit('.').next().unwrap_or(code);
    if code == "ConditionalCheckFailedException" {
        Class::ConditionFailed
    } else if status == 429 || THROTTLED.contains(&code) {
        Class::Throttled
    } else if status >= 500 || TRANSIENT.contains(&code) {
        Class::Transient
    } else if is_not_found(code) {
        Class::NotFound
    } else {
        Class::Permanent
    }
}

/// The class of any SDK failure: a service's answer by [`classify`]; a
/// timeout, a connection that failed or an unreadable response may pass; a
/// request the SDK could not even build never will.
pub fn class_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Class {
    match err {
        SdkError::ServiceError(service) => classify(
            service.raw().status().as_u16(),
            service.err().code().unwrap_or(""),
        ),
        SdkError::ConstructionFailure(_) => Class::Permanent,
        _ => Class::Transient,
    }
}

/// An SDK failure of `op` (e.g. `DynamoDB PutItem`, `SQS SendMessageBatch`)
/// in the ports' terms, by [`class_of`]. The message names the operation,
/// the status and the service's code and message once; the SDK error is
/// kept as the source.
pub fn port_error<E>(op: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = match &err {
        SdkError::ServiceError(service) => format!(
            "{op}: {} {}: {}",
            service.raw().status().as_u16(),
            service.err().code().unwrap_or(""),
            service.err().message().unwrap_or("")
        ),
        _ => format!("{op}: {}", DisplayErrorContext(&err)),
    };
    let class = class_of(&err);
    let why = Why::caused_by(what, err);
    match class {
        Class::Throttled | Class::Transient => PortError::Unavailable(why),
        Class::ConditionFailed => PortError::Conflict(why),
        Class::NotFound => PortError::NotFound(why),
        Class::Permanent => PortError::Rejected(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which answers are retried decides retry versus dead-letter queue, so
    /// every service must agree: these are the codes the adapters meet.
    #[test]
    fn every_service_classifies_the_same_way() {
        let cases: [(u16, &str, Class); 22] = [
            (400, "ThrottlingException", Class::Throttled),
            (
                400,
                "AWS.SimpleQueueService.RequestThrottled",
                Class::Throttled,
            ),
            (400, "RequestThrottled", Class::Throttled),
            (503, "SlowDown", Class::Throttled),
            (
                400,
                "ProvisionedThroughputExceededException",
                Class::Throttled,
            ),
            (400, "RequestLimitExceeded", Class::Throttled),
            (400, "TransactionConflictException", Class::Throttled),
            (400, "LimitExceededException", Class::Throttled),
            (429, "TooManyRequestsException", Class::Throttled),
            (429, "", Class::Throttled),
            (500, "InternalServerError", Class::Transient),
            (503, "ServiceUnavailable", Class::Transient),
            (502, "", Class::Transient),
            (400, "InternalFailure", Class::Transient),
            (
                400,
                "ConditionalCheckFailedException",
                Class::ConditionFailed,
            ),
            (400, "PullRequestDoesNotExistException", Class::NotFound),
            (400, "CommentDoesNotExistException", Class::NotFound),
            (404, "NoSuchKey", Class::NotFound),
            (400, "ResourceNotFoundException", Class::Permanent),
            (403, "AccessDenied", Class::Permanent),
            (
                400,
                "AWS.SimpleQueueService.NonExistentQueue",
                Class::Permanent,
            ),
            (400, "ValidationException", Class::Permanent),
        ];
        for (status, code, want) in cases {
            assert_eq!(classify(status, code), want, "{status} {code}");
        }
    }

    #[test]
    fn the_sdk_error_is_kept_as_the_source() {
        use std::error::Error;
        let err: SdkError<aws_smithy_types::error::ErrorMetadata, HttpResponse> =
            SdkError::timeout_error("no answer within 30s");
        let e = port_error("SQS SendMessageBatch", err);
        assert!(matches!(e, PortError::Unavailable(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("unavailable: SQS SendMessageBatch: "),
            "{e}"
        );
        assert!(e.source().is_some(), "the SDK error is kept");
    }

    #[test]
    fn throttling_wins_over_a_client_status_and_conditions_over_everything() {
        assert_eq!(classify(400, "SlowDown"), Class::Throttled);
        assert_eq!(
            classify(500, "ConditionalCheckFailedException"),
            Class::ConditionFailed
        );
        assert_eq!(
            classify(404, "PullRequestDoesNotExistException"),
            Class::NotFound
        );
    }
}
