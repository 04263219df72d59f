//! [`LogStore`] on the local filesystem: `<root>/<path>/<name>`, the same
//! layout the S3 adapter uses as keys, so `skiff dev`'s state dir can be
//! browsed like a Prow bucket.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use skiff_core::ports::{LogStore, PortError, PortResult};

/// Logs and job metadata as files under one root directory.
#[derive(Clone, Debug)]
pub struct FsLogStore {
    root: PathBuf,
}

impl FsLogStore {
    /// The root need not exist yet: `put` creates directories as it goes.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file for `path`/`name`, or `Rejected` if either could step outside
    /// the root. Both are relative paths; `name` may have directories of its
    /// own (`artifacts/junit.xml`).
    fn file(&self, path: &str, name: &str) -> PortResult<PathBuf> {
        let mut file = self.root.clone();
        for (what, part) in [("path", path), ("name", name)] {
            if part.contains('\0') {
                return Err(PortError::Rejected(
                    format!("{what} {part:?} contains NUL").into(),
                ));
            }
            for component in Path::new(part).components() {
                match component {
                    Component::Normal(c) => file.push(c),
                    Component::CurDir => {}
                    Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                        return Err(PortError::Rejected(
                            format!(
                                "{what} {part:?} must be relative and stay under the log root \
                             (no `..`, no leading `/`)"
                            )
                            .into(),
                        ));
                    }
                }
            }
        }
        if Path::new(name).file_name().is_none() {
            return Err(PortError::Rejected(
                format!("name {name:?} names no file").into(),
            ));
        }
        Ok(file)
    }
}

/// Unique within this process; the pid makes it unique across processes
/// sharing a state dir.
fn temp_name(name: &std::ffi::OsStr) -> std::ffi::OsString {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    temp
}

fn unavailable(what: &str, file: &Path, e: io::Error) -> PortError {
    PortError::Unavailable(format!("{what} {}: {e}", file.display()).into())
}

#[async_trait]
impl LogStore for FsLogStore {
    #[tracing::instrument(skip(self, bytes), fields(len = bytes.len()))]
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()> {
        let file = self.file(path, name)?;
        // `file` always ends in a Normal component (checked above), so it has
        // both a parent and a file name.
        let (Some(dir), Some(file_name)) = (file.parent(), file.file_name()) else {
            return Err(PortError::Rejected(
                format!("{path:?}/{name:?} names no file").into(),
            ));
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| unavailable("creating", dir, e))?;
        // Readers (deck, a second syncer) see the old bytes or the new ones,
        // never a torn file: write aside, flush to disk, then rename over.
        let temp = dir.join(temp_name(file_name));
        let written = async {
            let mut f = tokio::fs::File::create(&temp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut f, bytes).await?;
            f.sync_all().await?;
            tokio::fs::rename(&temp, &file).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(unavailable("writing", &file, e));
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        let file = self.file(path, name)?;
        match tokio::fs::read(&file).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("reading", &file, e)),
        }
    }
}
