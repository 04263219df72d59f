//! Keys held by an owner ([`JobStore::claim_as`], [`JobStore::release`]):
//! the dedupe key's row with its owner beside it, so a retry of a claim
//! whose answer was lost finds its own name there and takes the key again.
//!
//! [`JobStore::claim_as`]: skiff_core::ports::JobStore::claim_as
//! [`JobStore::release`]: skiff_core::ports::JobStore::release

use jiff::Timestamp;
use rusqlite::{Transaction, params};
use skiff_core::ports::{Claim, PortError, PortResult};

use super::{SqliteStore, execute_cached, millis, query_row_cached, sql};

/// Gives `dedupe_keys` its `owner` column (NULL for keys nobody owns: every
/// `claim` and `keep`). A file written before it gains it here; a binary
/// from before never names the column, so it still reads and writes the
/// file.
pub(super) fn migrate(tx: &Transaction<'_>) -> PortResult<()> {
    let has_owner: bool = query_row_cached(
        tx,
        "SELECT COUNT(*) > 0 FROM pragma_table_info('dedupe_keys') WHERE name = 'owner'",
        [],
        |row| row.get(0),
    )
    .map_err(sql)?;
    if !has_owner {
        tx.execute_batch("ALTER TABLE dedupe_keys ADD COLUMN owner TEXT")
            .map_err(sql)?;
    }
    Ok(())
}

impl SqliteStore {
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
        let (key, owner) = (key.to_string(), owner.to_string());
        let now = millis(self.clock.now());
        let expires = millis(expires);
        self.db
            .write(move |tx| {
                execute_cached(tx, "DELETE FROM dedupe_keys WHERE expires <= ?1", [now])
                    .map_err(sql)?;
                // The update's WHERE makes a row held by another count as
                // no change, which is how "held" is told from "taken".
                let changed = execute_cached(
                    tx,
                    "INSERT INTO dedupe_keys (key, expires, owner) VALUES (?1, ?2, ?3)
                         ON CONFLICT (key) DO UPDATE SET expires = excluded.expires
                         WHERE dedupe_keys.owner IS excluded.owner",
                    params![key, expires, owner],
                )
                .map_err(sql)?;
                if changed == 1 {
                    return Ok(Claim::Taken);
                }
                let until: i64 = query_row_cached(
                    tx,
                    "SELECT expires FROM dedupe_keys WHERE key = ?1",
                    [&key],
                    |row| row.get(0),
                )
                .map_err(sql)?;
                Ok(Claim::Held {
                    until: Timestamp::from_millisecond(until).unwrap_or(Timestamp::MAX),
                })
            })
            .await
    }

    pub(super) async fn release_owned(&self, key: &str, owner: &str) -> PortResult<()> {
        let (key, owner) = (key.to_string(), owner.to_string());
        self.db
            .write(move |tx| {
                execute_cached(
                    tx,
                    "DELETE FROM dedupe_keys WHERE key = ?1 AND owner = ?2",
                    params![key, owner],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}
