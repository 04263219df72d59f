//! The [`LogStore`] twin: files by artifact path and name, in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use skiff_core::ports::{LogStore, PortResult};

use super::{Faults, lock};

/// [`LogStore`] in memory. Share it with `Arc`.
#[derive(Default)]
pub struct MemoryLogs {
    files: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    puts: Mutex<usize>,
    faults: Faults,
}

impl MemoryLogs {
    /// What the next `put`s and `get`s do wrong.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The file `name` under `path`, as text.
    pub fn file(&self, path: &str, name: &str) -> Option<String> {
        lock(&self.files)
            .get(&(path.to_string(), name.to_string()))
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Every file, as `path/name`.
    pub fn names(&self) -> Vec<String> {
        lock(&self.files)
            .keys()
            .map(|(path, name)| format!("{path}/{name}"))
            .collect()
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
        *lock(&self.puts) += 1;
        lock(&self.files).insert((path.to_string(), name.to_string()), bytes.to_vec());
        Ok(())
    }

    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        self.faults.check("get")?;
        Ok(lock(&self.files)
            .get(&(path.to_string(), name.to_string()))
            .cloned())
    }
}
