//! The jobs table's stream in, partial batch failures out.
//!
//! Every create and update of a job record is one stream record whose new
//! image holds the whole record (`record`, JSON). Dedupe items share the table
//! and are skipped, as are removals (TTL expiry, the sweeper): nothing to
//! report about a record that is gone.
//!
//! Order matters — a job's `pending` must not be reported after its `success`
//! — so the first failure ends the batch: Lambda retries from that record on
//! (`batchItemFailures` names its sequence number) and everything after it
//! waits its turn.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::sqs::SqsEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use skiff_aws::store::DEDUPE_PREFIX;
use skiff_core::prowjob::ProwJob;

/// One stream record, as the reporter sees it.
#[derive(Debug)]
pub enum Change {
    /// A job record was created or changed to `job`. `new_state`: the
    /// change created the record or moved it to another state (the old
    /// image's `state` differs); `false` when only something else changed
    /// (a report recorded, an annotation).
    Job {
        sequence: String,
        job: Box<ProwJob>,
        new_state: bool,
    },
    /// Nothing to report: a removal or a dedupe key.
    Skip { sequence: String, why: &'static str },
    /// The image does not hold a readable record: reporting cannot help, and
    /// retrying cannot either.
    Unreadable { sequence: String, error: String },
}

impl Change {
    pub fn sequence(&self) -> &str {
        match self {
            Change::Job { sequence, .. }
            | Change::Skip { sequence, .. }
            | Change::Unreadable { sequence, .. } => sequence,
        }
    }
}

/// The batch's changes, in stream order.
pub fn changes(event: &Event) -> Vec<Change> {
    event.records.iter().map(change).collect()
}

fn change(r: &EventRecord) -> Change {
    let sequence = r.change.sequence_number.clone().unwrap_or_default();
    if r.event_name == "REMOVE" {
        return Change::Skip {
            sequence,
            why: "removed",
        };
    }
    let image = serde_json::to_value(&r.change.new_image).unwrap_or_default();
    let string = |name: &str| {
        image
            .get(name)
            .and_then(|v| v.get("S"))
            .and_then(|v| v.as_str())
    };
    if string("id").is_some_and(|id| id.starts_with(DEDUPE_PREFIX)) {
        return Change::Skip {
            sequence,
            why: "dedupe key",
        };
    }
    let Some(record) = string("record") else {
        return Change::Unreadable {
            sequence,
            error: "the new image has no `record` string (is the stream's view type NEW_AND_OLD_IMAGES?)".into(),
        };
    };
    // An item's `state` attribute is the record's state (absent when unset);
    // an insert has no old image.
    let old = serde_json::to_value(&r.change.old_image).unwrap_or_default();
    let state_of = |image: &serde_json::Value| {
        image
            .get("state")
            .and_then(|v| v.get("S"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let new_state = r.event_name != "MODIFY"
        || old.as_object().is_none_or(|o| o.is_empty())
        || state_of(&old) != state_of(&image);
    match serde_json::from_str::<ProwJob>(record) {
        Ok(job) => Change::Job {
            sequence,
            job: Box::new(job),
            new_state,
        },
        Err(e) => Change::Unreadable {
            sequence,
            error: format!("`record` is not a ProwJob: {e}"),
        },
    }
}

/// What invokes the reporter: a batch of the jobs table's stream, or a
/// batch of the `reports` queue (both are event source mappings of one
/// function, told apart by their records' `eventSource`).
#[derive(Debug)]
pub enum ReporterEvent {
    Stream(Event),
    Queue(SqsEvent),
}

impl<'de> serde::Deserialize<'de> for ReporterEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        let source = value
            .get("Records")
            .and_then(|r| r.get(0))
            .and_then(|r| r.get("eventSource"))
            .and_then(|s| s.as_str())
            .unwrap_or_default();
        match source {
            "aws:sqs" => serde_json::from_value(value)
                .map(ReporterEvent::Queue)
                .map_err(D::Error::custom),
            // An empty batch carries no source; it reports nothing either way.
            "aws:dynamodb" | "" => serde_json::from_value(value)
                .map(ReporterEvent::Stream)
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "the reporter takes the jobs table's stream or the reports queue, not {other:?}"
            ))),
        }
    }
}

/// Lambda's answer: retry from `first_failed` on, or nothing to retry.
pub fn response(first_failed: Option<&str>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence) = first_failed {
        let mut f = DynamoDbBatchItemFailure::default();
        f.item_identifier = Some(sequence.to_string());
        response.batch_item_failures.push(f);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, seq: &str, image: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "eventID": "e", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": 1764000000, "Keys": {"id": {"S": "x"}},
                         "NewImage": image, "SequenceNumber": seq, "SizeBytes": 10,
                         "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })
    }

    #[test]
    fn records_dedupe_keys_removals_and_junk_are_told_apart() {
        let job =
            serde_json::json!({"metadata": {"name": "j1"}, "spec": {"job": "unit"}, "status": {}});
        let event: Event = serde_json::from_value(serde_json::json!({"Records": [
            record("INSERT", "1", serde_json::json!({"id": {"S": "j1"}, "record": {"S": job.to_string()}})),
            record("INSERT", "2", serde_json::json!({"id": {"S": "dedupe#delivery/d"}, "expires": {"N": "1"}})),
            record("REMOVE", "3", serde_json::json!({})),
            record("MODIFY", "4", serde_json::json!({"id": {"S": "j2"}, "record": {"S": "{"}})),
            record("MODIFY", "5", serde_json::json!({"id": {"S": "j3"}})),
        ]}))
        .unwrap();
        let c = changes(&event);
        assert!(
            matches!(&c[0], Change::Job { sequence, job, new_state: true } if sequence == "1" && job.metadata.name == "j1")
        );
        assert!(matches!(
            &c[1],
            Change::Skip {
                why: "dedupe key",
                ..
            }
        ));
        assert!(matches!(&c[2], Change::Skip { why: "removed", .. }));
        assert!(
            matches!(&c[3], Change::Unreadable { error, .. } if error.contains("not a ProwJob"))
        );
        assert!(matches!(&c[4], Change::Unreadable { error, .. } if error.contains("no `record`")));
        let seqs: Vec<&str> = c.iter().map(Change::sequence).collect();
        assert_eq!(seqs, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_change_is_a_new_state_unless_the_old_image_had_the_same_state() {
        let job = serde_json::json!({"metadata": {"name": "j1"}, "spec": {"job": "unit"},
                                     "status": {"state": "pending"}})
        .to_string();
        let image = |state: Option<&str>| {
            let mut i = serde_json::json!({"id": {"S": "j1"}, "record": {"S": job}});
            if let Some(st) = state {
                i["state"] = serde_json::json!({"S": st});
            }
            i
        };
        let modify = |seq: &str, old: serde_json::Value, new: serde_json::Value| {
            let mut r = record("MODIFY", seq, new);
            r["dynamodb"]["OldImage"] = old;
            r
        };
        let event: Event = serde_json::from_value(serde_json::json!({"Records": [
            record("INSERT", "1", image(Some("triggered"))),
            modify("2", image(Some("triggered")), image(Some("pending"))),
            modify("3", image(Some("pending")), image(Some("pending"))),
            modify("4", image(None), image(Some("pending"))),
        ]}))
        .unwrap();
        let new_states: Vec<bool> = changes(&event)
            .iter()
            .map(|c| {
                matches!(
                    c,
                    Change::Job {
                        new_state: true,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(new_states, [true, true, false, true]);
    }

    #[test]
    fn the_reporter_tells_its_two_sources_apart_by_event_source() {
        let stream = serde_json::json!({"Records": [record("INSERT", "1", serde_json::json!({}))]});
        assert!(matches!(
            serde_json::from_value::<ReporterEvent>(stream),
            Ok(ReporterEvent::Stream(e)) if e.records.len() == 1
        ));
        let queue = serde_json::json!({"Records": [{"messageId": "m1", "receiptHandle": "r",
            "body": "{}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:reports",
            "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}, "md5OfBody": ""}]});
        assert!(matches!(
            serde_json::from_value::<ReporterEvent>(queue),
            Ok(ReporterEvent::Queue(e)) if e.records.len() == 1
        ));
        let other = serde_json::json!({"Records": [{"eventSource": "aws:s3"}]});
        let err = serde_json::from_value::<ReporterEvent>(other).unwrap_err();
        assert!(err.to_string().contains("aws:s3"), "{err}");
    }

    #[test]
    fn a_failure_names_the_sequence_number_to_resume_from() {
        let json = serde_json::to_value(response(Some("42"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "42"}]})
        );
        let none = serde_json::to_value(response(None)).unwrap();
        assert_eq!(none, serde_json::json!({"batchItemFailures": []}));
    }
}
