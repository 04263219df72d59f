//! The [`LogStore`] twin: objects by key, in memory. A key is `path` and
//! `name` joined with empty and `.` segments dropped, as S3 keys are, so
//! `put("logs/j/1", "artifacts/junit.xml")` and
//! `get("logs/j/1/artifacts", "junit.xml")` are the same object here too.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use skiff_core::ports::{Listing, LogStore, MAX_LISTED, PortError, PortResult, StoredObject};

use super::{Faults, lock};

/// [`LogStore`] in memory. Share it with `Arc`.
#[derive(Default)]
pub struct MemoryLogs {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    puts: Mutex<usize>,
    faults: Faults,
}

/// The segments of `part`, or `Rejected` for what the real adapters
/// refuse: `..`, a leading `/`, NUL.
fn segments<'a>(what: &str, part: &'a str) -> PortResult<impl Iterator<Item = &'a str>> {
    if part.contains('\0') || part.starts_with('/') || part.split('/').any(|s| s == "..") {
        return Err(PortError::Rejected(
            format!(
                "{what} {part:?} must be relative and stay under the log root \
                 (no `..`, no leading `/`, no NUL)"
            )
            .into(),
        ));
    }
    Ok(part.split('/').filter(|s| !s.is_empty() && *s != "."))
}

fn key(path: &str, name: &str) -> PortResult<String> {
    let mut parts: Vec<&str> = segments("path", path)?.collect();
    let before = parts.len();
    parts.extend(segments("name", name)?);
    if parts.len() == before {
        return Err(PortError::Rejected(
            format!("name {name:?} names no file").into(),
        ));
    }
    Ok(parts.join("/"))
}

impl MemoryLogs {
    /// What the next `put`s, `get`s and `list`s do wrong.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The file `name` under `path`, as text.
    pub fn file(&self, path: &str, name: &str) -> Option<String> {
        let key = key(path, name).ok()?;
        lock(&self.files)
            .get(&key)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Every file, as `path/name`.
    pub fn names(&self) -> Vec<String> {
        lock(&self.files).keys().cloned().collect()
    }

    /// How many files are stored.
    pub fn count(&self) -> usize {
        lock(&self.files).len()
    }

    /// How many `put` calls succeeded.
    pub fn puts(&self) -> usize {
        *lock(&self.puts)
    }
}

#[async_trait]
impl LogStore for MemoryLogs {
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()> {
        self.faults.check("put")?;
        let key = key(path, name)?;
        *lock(&self.puts) += 1;
        lock(&self.files).insert(key, bytes.to_vec());
        Ok(())
    }

    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        self.faults.check("get")?;
        let key = key(path, name)?;
        Ok(lock(&self.files).get(&key).cloned())
    }

    async fn list(&self, path: &str) -> PortResult<Listing> {
        self.faults.check("list")?;
        let dir: Vec<&str> = segments("path", path)?.collect();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.join("/"))
        };
        let files = lock(&self.files);
        let mut listing = Listing::default();
        for (key, bytes) in files.range(prefix.clone()..) {
            let Some(name) = key.strip_prefix(&prefix) else {
                break;
            };
            if listing.objects.len() == MAX_LISTED {
                listing.truncated = true;
                break;
            }
            listing.objects.push(StoredObject {
                name: name.to_string(),
                size: bytes.len() as u64,
            });
        }
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_object_however_path_and_name_split_it() {
        let logs = MemoryLogs::default();
        logs.put("logs/j/1", "artifacts/junit.xml", b"<x/>")
            .await
            .unwrap();
        assert_eq!(
            logs.get("logs/j/1/artifacts/", "./junit.xml").await,
            Ok(Some(b"<x/>".to_vec()))
        );
        assert_eq!(logs.names(), ["logs/j/1/artifacts/junit.xml"]);
    }

    #[tokio::test]
    async fn a_listing_is_the_directory_only_in_byte_order() {
        let logs = MemoryLogs::default();
        for (path, name) in [
            ("logs/j/1", "build-log.txt"),
            ("logs/j/1", "artifacts/junit.xml"),
            ("logs/j/1", "artifacts.txt"),
            ("logs/j/10", "build-log.txt"),
            ("logs/j", "latest-build.txt"),
        ] {
            logs.put(path, name, b"abc").await.unwrap();
        }
        let names: Vec<String> = logs
            .list("logs/j/1")
            .await
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(
            names,
            ["artifacts.txt", "artifacts/junit.xml", "build-log.txt"]
        );
        assert_eq!(logs.list("nothing/here").await, Ok(Listing::default()));
        assert!(matches!(
            logs.list("../up").await,
            Err(PortError::Rejected(_))
        ));
    }
}
