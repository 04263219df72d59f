//! SQS queues for the tests, made in moto from the queues template.yaml
//! declares, so the tests exercise the deployed configuration (visibility
//! timeout, redrive policy, DLQ) and cannot drift from it.

// Every test binary that declares `mod support` compiles this file, and the
// DynamoDB tests use none of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use super::moto::{moto_endpoint, moto_sdk_config};
use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use skiff_aws::queue::SqsQueue;
use skiff_core::ports::{PortError, PortResult, Queue};
use skiff_core::yaml::Node;
use skiff_local::conformance::QueueHarness;

pub async fn client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto_sdk_config().await)
}

/// An `AWS::SQS::Queue` of the template.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    /// Queue attributes as CloudFormation spells them (the SQS attribute
    /// names), without `RedrivePolicy`.
    pub attributes: BTreeMap<String, String>,
    pub redrive: Option<Redrive>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Redrive {
    /// The logical id the `deadLetterTargetArn` `!GetAtt` points at.
    pub dlq: String,
    pub max_receive_count: u32,
}

/// Properties the helper passes to CreateQueue unchanged. Anything else in
/// the template fails the tests, so a new property is a decision, not a
/// silent difference between moto and AWS.
const PLAIN_ATTRIBUTES: &[&str] = &[
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "SqsManagedSseEnabled",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
];

/// Properties the helper leaves to itself: it names every queue uniquely
/// (with the `.fifo` a FIFO queue's name must end in).
const NAMED_BY_THE_HELPER: &[&str] = &["QueueName"];

fn template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

/// Every SQS queue template.yaml declares, by logical id.
pub fn template_queues() -> BTreeMap<String, QueueSpec> {
    let path = template_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc = skiff_core::yaml::parse(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e:?}", path.display()));
    let resources = doc
        .root
        .get("Resources")
        .unwrap_or_else(|| panic!("template.yaml has no Resources"));
    let mut out = BTreeMap::new();
    for res in resources.value.entries() {
        let ty = res.value.get("Type").and_then(|t| t.value.as_str());
        if ty != Some("AWS::SQS::Queue") {
            continue;
        }
        out.insert(res.key.clone(), queue_spec(&res.key, &res.value));
    }
    out
}

fn queue_spec(id: &str, resource: &Node) -> QueueSpec {
    let mut spec = QueueSpec {
        logical_id: id.to_string(),
        attributes: BTreeMap::new(),
        redrive: None,
    };
    let Some(props) = resource.get("Properties") else {
        return spec;
    };
    for p in props.value.entries() {
        if p.key == "RedrivePolicy" {
            let field = |k: &str| {
                p.value
                    .get(k)
                    .and_then(|e| e.value.as_str())
                    .unwrap_or_else(|| panic!("{id}: RedrivePolicy.{k} missing or not a scalar"))
            };
            // `!GetAtt X.Arn` arrives as the plain scalar `X.Arn`.
            let target = field("deadLetterTargetArn");
            let dlq = target.strip_suffix(".Arn").unwrap_or_else(|| {
                panic!("{id}: deadLetterTargetArn {target:?} is not !GetAtt X.Arn")
            });
            let max = field("maxReceiveCount");
            spec.redrive = Some(Redrive {
                dlq: dlq.to_string(),
                max_receive_count: max
                    .parse()
                    .unwrap_or_else(|e| panic!("{id}: maxReceiveCount {max:?}: {e}")),
            });
        } else if NAMED_BY_THE_HELPER.contains(&p.key.as_str()) {
            continue;
        } else if PLAIN_ATTRIBUTES.contains(&p.key.as_str()) {
            let v = p
                .value
                .as_str()
                .unwrap_or_else(|| panic!("{id}: {} is not a scalar", p.key));
            spec.attributes.insert(p.key.clone(), v.to_string());
        } else {
            panic!(
                "{id}: property {} is not known to tests/support/sqs.rs; \
                 decide how moto should see it",
                p.key
            );
        }
    }
    spec
}

/// A queue made from a template spec, and its DLQ if the spec redrives.
#[derive(Clone, Debug)]
pub struct Made {
    pub url: String,
    pub dlq_url: Option<String>,
}

/// A name no other test (or earlier run against the same moto) has used.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // SQS names: at most 80 of [A-Za-z0-9_-].
    let mut s = format!("{name}-{}-{nanos}-{n}", std::process::id());
    s.truncate(80);
    s
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &BTreeMap<String, String>,
) -> (String, String) {
    let name = if attributes.get("FifoQueue").is_some_and(|v| v == "true") {
        let mut base = name.to_string();
        base.truncate(75);
        format!("{base}.fifo")
    } else {
        name.to_string()
    };
    let name = name.as_str();
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes(QueueAttributeName::from(k.as_str()), v);
    }
    let out = req.send().await.unwrap_or_else(|e| {
        panic!(
            "CreateQueue {name}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(&e)
        )
    });
    let url = out
        .queue_url()
        .unwrap_or_else(|| panic!("CreateQueue {name}: no URL"))
        .to_string();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetQueueAttributes {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        });
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .unwrap_or_else(|| panic!("{name}: no QueueArn"))
        .clone();
    (url, arn)
}

/// Creates `spec` (and its DLQ, from the DLQ's own spec) under unique names
/// derived from `name`. `visibility` replaces the template's timeout: the
/// deployed 180 s would make every redelivery test wait minutes.
pub async fn create(
    client: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
    name: &str,
    visibility: Option<Duration>,
) -> Made {
    let all = template_queues();
    let mut attributes = spec.attributes.clone();
    if let Some(v) = visibility {
        attributes.insert("VisibilityTimeout".into(), v.as_secs().to_string());
    }
    let mut dlq_url = None;
    if let Some(redrive) = &spec.redrive {
        let dlq_spec = all.get(&redrive.dlq).unwrap_or_else(|| {
            panic!(
                "{}: DLQ {} is not a queue of the template",
                spec.logical_id, redrive.dlq
            )
        });
        let (url, arn) = create_queue(
            client,
            &unique(&format!("{name}-dlq")),
            &dlq_spec.attributes,
        )
        .await;
        dlq_url = Some(url);
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": redrive.max_receive_count,
        });
        attributes.insert("RedrivePolicy".into(), policy.to_string());
    }
    let (url, _) = create_queue(client, &unique(name), &attributes).await;
    Made { url, dlq_url }
}

/// Bodies in a queue, without taking them: each receive uses visibility
/// timeout 0, so the messages stay where they are for the next look.
pub async fn peek(client: &aws_sdk_sqs::Client, url: &str) -> PortResult<Vec<String>> {
    let mut seen = BTreeMap::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                PortError::Unavailable(
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                        .to_string()
                        .into(),
                )
            })?;
        let mut new = 0;
        for m in out.messages() {
            let id = m.message_id().unwrap_or_default().to_string();
            if seen
                .insert(id, m.body().unwrap_or_default().to_string())
                .is_none()
            {
                new += 1;
            }
        }
        if new == 0 {
            return Ok(seen.into_values().collect());
        }
    }
}

/// The conformance harness: queues shaped like the template's DispatchQueue
/// (its redrive policy and `maxReceiveCount`), with a 4 s visibility timeout,
/// the shortest the suite allows on a whole-second service.
pub struct SqsHarness {
    client: aws_sdk_sqs::Client,
    spec: QueueSpec,
    dlqs: Mutex<BTreeMap<String, String>>,
}

impl SqsHarness {
    pub async fn new(logical_id: &str) -> Self {
        let spec = template_queues()
            .remove(logical_id)
            .unwrap_or_else(|| panic!("template.yaml has no queue {logical_id}"));
        assert!(spec.redrive.is_some(), "{logical_id} has no RedrivePolicy");
        SqsHarness {
            client: client().await,
            spec,
            dlqs: Mutex::new(BTreeMap::new()),
        }
    }
}

#[async_trait]
impl QueueHarness for SqsHarness {
    /// SQS deletes a message acked with any receipt it ever had.
    fn fences_stale_receipts(&self) -> bool {
        false
    }

    async fn queue(&self, name: &str) -> PortResult<Box<dyn Queue>> {
        let made = create(
            &self.client,
            &self.spec,
            name,
            Some(self.visibility_timeout()),
        )
        .await;
        if let Some(dlq) = made.dlq_url {
            self.dlqs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_string(), dlq);
        }
        Ok(Box::new(SqsQueue::new(self.client.clone(), made.url)))
    }

    async fn dead_letters(&self, name: &str) -> PortResult<Vec<String>> {
        let url = self
            .dlqs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("no queue made for {name}").into()))?;
        peek(&self.client, &url).await
    }

    async fn pass(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    fn visibility_timeout(&self) -> Duration {
        Duration::from_secs(4)
    }

    fn max_receives(&self) -> u32 {
        self.spec
            .redrive
            .as_ref()
            .map_or(0, |r| r.max_receive_count)
    }
}
