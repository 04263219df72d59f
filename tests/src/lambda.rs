//! What the Lambda service does around a function, for the functions run
//! through [`crate::runtime_api`]: the SQS and DynamoDB stream event source
//! mappings (poll, build Lambda's event, invoke, honour the partial batch
//! response), EventBridge schedules and the Function URL. moto stores the
//! queues and the stream but runs no functions, so this is the part of
//! Lambda the tests play themselves; the event shapes are Lambda's.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Map, Value, json};

use crate::runtime_api::{Function, Invoked};

/// What one poll of an event source did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Polled {
    /// Records handed to the function.
    pub delivered: usize,
    /// Of those, the ones that will be delivered again.
    pub failed: usize,
}

// ---------------------------------------------------------------------------
// SQS

/// An SQS event source mapping with `ReportBatchItemFailures`.
pub struct SqsSource {
    client: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    batch_size: i32,
}

impl SqsSource {
    pub fn new(client: aws_sdk_sqs::Client, url: String, arn: String, batch_size: i32) -> Self {
        SqsSource {
            client,
            url,
            arn,
            batch_size,
        }
    }

    /// One receive; if it brought messages, one invocation, then the
    /// messages the function did not report as failed are deleted (Lambda's
    /// rule: an unknown or empty identifier fails the whole batch, and so
    /// does a failed invocation).
    pub async fn poll_once(&self, function: &Function) -> Polled {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        let messages = out.messages();
        if messages.is_empty() {
            return Polled::default();
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: Map<String, Value> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                    .collect();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_string())
            .collect();
        let failed: Vec<String> = match function.invoke(&json!({"Records": records})).await {
            Invoked::Response(v) => {
                let reported: Vec<String> = v["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| f["itemIdentifier"].as_str().unwrap_or("").to_string())
                    .collect();
                if reported.iter().any(|r| !ids.contains(r)) {
                    ids.clone()
                } else {
                    reported
                }
            }
            Invoked::Error(_) => ids.clone(),
        };
        for m in messages {
            if failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                continue;
            }
            self.client
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("DeleteMessage");
        }
        Polled {
            delivered: messages.len(),
            failed: failed.len(),
        }
    }
}

// ---------------------------------------------------------------------------
// DynamoDB stream

/// A DynamoDB stream event source mapping with `ReportBatchItemFailures`
/// and a filter, reading every shard from `TRIM_HORIZON`.
pub struct StreamSource {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    batch_size: i32,
    filters: Vec<Value>,
    /// Per shard: where the next read starts.
    positions: Mutex<HashMap<String, Position>>,
}

#[derive(Clone, Debug)]
enum Position {
    Iterator(String),
    At(String),
}

impl StreamSource {
    /// `mapping` is the stack's event source mapping for the function (its
    /// batch size and filter patterns apply).
    pub fn new(client: aws_sdk_dynamodbstreams::Client, mapping: &Value) -> Self {
        StreamSource {
            client,
            arn: mapping["source_arn"]
                .as_str()
                .expect("source_arn")
                .to_string(),
            batch_size: mapping["batch_size"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(100),
            filters: mapping["filter_patterns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            positions: Mutex::new(HashMap::new()),
        }
    }

    async fn iterator(&self, shard: &str) -> Option<String> {
        let position = self
            .positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(shard)
            .cloned();
        let req = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard);
        let req = match position {
            Some(Position::Iterator(it)) => return Some(it),
            Some(Position::At(seq)) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .sequence_number(seq),
            None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        req.send()
            .await
            .expect("GetShardIterator")
            .shard_iterator()
            .map(str::to_string)
    }

    fn set(&self, shard: &str, position: Position) {
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(shard.to_string(), position);
    }

    /// Reads each shard once and hands what passes the filter to the
    /// function in one invocation per shard. A reported failure makes the
    /// next poll start at that record; a failed invocation retries the batch.
    pub async fn poll_once(&self, function: &Function) -> Polled {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .expect("DescribeStream");
        let shards: Vec<String> = described
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.shard_id().map(str::to_string))
            .collect();
        let mut polled = Polled::default();
        for shard in shards {
            let Some(iterator) = self.iterator(&shard).await else {
                continue;
            };
            let out = self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .limit(self.batch_size)
                .send()
                .await
                .expect("GetRecords");
            let next = out.next_shard_iterator().map(str::to_string);
            let records: Vec<Value> = out
                .records()
                .iter()
                .map(|r| self.record(r))
                .filter(|r| self.passes(r))
                .collect();
            if records.is_empty() {
                if let Some(next) = next {
                    self.set(&shard, Position::Iterator(next));
                }
                continue;
            }
            polled.delivered += records.len();
            let sequences: Vec<String> = records
                .iter()
                .map(|r| {
                    r["dynamodb"]["SequenceNumber"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            match function.invoke(&json!({"Records": records})).await {
                Invoked::Response(v) => {
                    let first_failed = v["batchItemFailures"]
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(|f| f["itemIdentifier"].as_str())
                        .map(str::to_string);
                    match first_failed {
                        Some(seq) => {
                            let at = sequences.iter().position(|s| *s == seq).unwrap_or(0);
                            polled.failed += sequences.len() - at;
                            self.set(&shard, Position::At(seq));
                        }
                        None => {
                            if let Some(next) = next {
                                self.set(&shard, Position::Iterator(next));
                            }
                        }
                    }
                }
                Invoked::Error(_) => {
                    polled.failed += sequences.len();
                    self.set(&shard, Position::At(sequences[0].clone()));
                }
            }
        }
        polled
    }

    /// Lambda's shape of a stream record.
    fn record(&self, r: &aws_sdk_dynamodbstreams::types::Record) -> Value {
        let change = r.dynamodb();
        let image = |m: Option<&HashMap<String, AttributeValue>>| -> Value {
            m.map(|m| Value::Object(item(m))).unwrap_or(Value::Null)
        };
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": change
                .and_then(|c| c.approximate_creation_date_time())
                .map(|t| t.secs())
                .unwrap_or_default(),
            "Keys": image(change.and_then(|c| c.keys())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
            "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str()),
        });
        for (key, value) in [
            ("NewImage", image(change.and_then(|c| c.new_image()))),
            ("OldImage", image(change.and_then(|c| c.old_image()))),
        ] {
            if !value.is_null() {
                dynamodb[key] = value;
            }
        }
        json!({
            "eventID": r.event_id(),
            "eventName": r.event_name().map(|n| n.as_str()),
            "eventVersion": r.event_version(),
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": dynamodb,
            "eventSourceARN": self.arn,
        })
    }

    fn passes(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| matches_pattern(f, record))
    }
}

/// Lambda's event filtering for the subset of patterns the template uses:
/// nested objects whose leaves are lists of exact values.
fn matches_pattern(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(k, p)| matches_pattern(p, event.get(k).unwrap_or(&Value::Null))),
        Value::Array(allowed) => {
            assert!(
                allowed.iter().all(|a| !a.is_object()),
                "filter operator {allowed:?} is not implemented by the test's Lambda stand-in"
            );
            allowed.contains(event)
        }
        other => panic!("filter pattern leaf {other} must be a list"),
    }
}

fn item(m: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()
}

/// DynamoDB's JSON for one attribute value, as stream events carry it.
fn attribute(v: &AttributeValue) -> Value {
    use aws_smithy_types::base64::encode;
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": encode(b.as_ref())}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::Ns(n) => json!({"NS": n}),
        AttributeValue::Bs(b) => {
            json!({"BS": b.iter().map(|b| encode(b.as_ref())).collect::<Vec<_>>()})
        }
        AttributeValue::M(m) => json!({"M": item(m)}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute).collect::<Vec<_>>()}),
        other => panic!("attribute {other:?} is not known to the test's stream reader"),
    }
}

// ---------------------------------------------------------------------------
// Schedules and the Function URL

/// The event an EventBridge `rate(…)` rule sends at `time` (RFC 3339).
pub fn scheduled_event(time: &str, rule_arn: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("sched-{time}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [rule_arn],
        "detail": {}
    })
}

/// A Function URL request (payload format 2.0), as GitHub's POST reaches the
/// webhook: header names lower-cased, as Lambda gives them.
pub fn function_url_event(headers: &[(&str, String)], body: &str) -> Value {
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "skiffwebhook",
            "domainName": "skiffwebhook.lambda-url.us-east-1.on.aws",
            "domainPrefix": "skiffwebhook",
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "140.82.115.1",
                "userAgent": "GitHub-Hookshot/skiff"
            },
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:16:00:00 +0000",
            "timeEpoch": 1796400000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reporter_filter_passes_job_records_and_drops_dedupe_keys() {
        let pattern = json!({"dynamodb": {"NewImage": {"kind": {"S": ["job"]}}}});
        let job = json!({"dynamodb": {"NewImage": {"id": {"S": "j"}, "kind": {"S": "job"}}}});
        let dedupe = json!({"dynamodb": {"NewImage": {"id": {"S": "dedupe#x"}}}});
        let removed = json!({"dynamodb": {"Keys": {"id": {"S": "j"}}}});
        assert!(matches_pattern(&pattern, &job));
        assert!(!matches_pattern(&pattern, &dedupe));
        assert!(!matches_pattern(&pattern, &removed));
    }
}
