//! Keys held by an owner ([`JobStore::claim_as`], [`JobStore::release`]):
//! the dedupe item with an `owner` attribute. The claim's condition lets
//! the owner through, so when a `PutItem` that took the key succeeded but
//! its answer was lost (a timeout, a 500 after the write), the SDK's retry
//! of it, or the caller's, takes the key again instead of failing on an item
//! nobody alive holds.
//!
//! [`JobStore::claim_as`]: skiff_core::ports::JobStore::claim_as
//! [`JobStore::release`]: skiff_core::ports::JobStore::release

use aws_sdk_dynamodb::error::SdkError;
use jiff::Timestamp;
use skiff_core::ports::{Claim, PortError, PortResult};

use super::{DEDUPE_PREFIX, DynamoStore, Item, ceil_second, floor_second, n, port_error, s};

impl DynamoStore {
    pub(super) async fn claim_owned(
        &self,
        key: &str,
        owner: &str,
        expires: Timestamp,
    ) -> PortResult<Claim> {
        if key.is_empty() || owner.is_empty() {
            return Err(PortError::Rejected(
                format!("claim of {key:?} as {owner:?}: key and owner must not be empty").into(),
            ));
        }
        let now = floor_second(self.clock.now());
        let mut item = Item::new();
        item.insert("id".into(), s(format!("{DEDUPE_PREFIX}{key}")));
        item.insert("expires".into(), n(ceil_second(expires)));
        item.insert("owner".into(), s(owner));
        let put = self
            .put(
                item,
                "attribute_not_exists(#id) OR #e <= :now OR #o = :owner",
                &[("#id", "id"), ("#e", "expires"), ("#o", "owner")],
                vec![(":now", n(now)), (":owner", s(owner))],
                "claim_as",
            )
            .await?;
        Ok(match put {
            Ok(()) => Claim::Taken,
            Err(old) => Claim::Held {
                until: old
                    .as_ref()
                    .and_then(|i| i.get("expires"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .and_then(|secs| Timestamp::from_second(secs).ok())
                    .unwrap_or(Timestamp::MAX),
            },
        })
    }

    pub(super) async fn release_owned(&self, key: &str, owner: &str) -> PortResult<()> {
        if key.is_empty() || owner.is_empty() {
            return Ok(());
        }
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(format!("{DEDUPE_PREFIX}{key}")))
            .condition_expression("#o = :owner")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Gone already, or someone else's now: nothing of ours to drop.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(port_error("release", e)),
        }
    }
}
