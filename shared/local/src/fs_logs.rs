//! [`LogStore`] on the local filesystem: `<root>/<path>/<name>`, the same
//! layout the S3 adapter uses as keys, so `skiff dev`'s state dir can be
//! browsed like a Prow bucket.
//!
//! Nothing outside the root is ever read: `..` and absolute paths are
//! refused, and a symbolic link below the root is neither listed nor read
//! (a test's artifacts could hold one pointing anywhere on the machine).

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use skiff_core::ports::{Listing, LogStore, MAX_LISTED, PortError, PortResult, StoredObject};

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
        let file = self.below_root(&[("path", path), ("name", name)])?;
        if Path::new(name).file_name().is_none() {
            return Err(PortError::Rejected(
                format!("name {name:?} names no file").into(),
            ));
        }
        Ok(file)
    }

    /// `parts` joined under the root, or `Rejected` if one could step
    /// outside it.
    fn below_root(&self, parts: &[(&str, &str)]) -> PortResult<PathBuf> {
        let mut file = self.root.clone();
        for &(what, part) in parts {
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
        Ok(file)
    }
}

/// Whether any component of `file` below `root` is a symbolic link. A
/// component that does not exist is no link (the read then finds nothing).
fn crosses_a_link(root: &Path, file: &Path) -> io::Result<bool> {
    let Ok(below) = file.strip_prefix(root) else {
        return Ok(true);
    };
    let mut at = root.to_path_buf();
    for component in below.components() {
        at.push(component);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// The temp file of a `put` in flight (`.<name>.tmp-<pid>-<n>`): not an
/// object yet.
fn is_temp(name: &str) -> bool {
    let Some((_, suffix)) = name
        .strip_prefix('.')
        .and_then(|rest| rest.rsplit_once(".tmp-"))
    else {
        return false;
    };
    suffix
        .split_once('-')
        .is_some_and(|(pid, n)| is_digits(pid) && is_digits(n))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Every regular file under `dir`, in byte order of the names relative to
/// it, at most [`MAX_LISTED`]. Directories are walked in an order that
/// keeps that order: a directory `a` sorts as `a/`, so `a.txt` comes before
/// `a/b` as it does in S3. Links are skipped, never followed.
fn walk(dir: &Path) -> io::Result<Listing> {
    let mut listing = Listing::default();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Ok(listing),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
        Err(e) => return Err(e),
    }
    // Sorted entries still to visit, last first: (sort key, relative name,
    // is a directory, size).
    let mut stack: Vec<(String, bool, u64)> = Vec::new();
    push_sorted(&mut stack, dir, "")?;
    while let Some((name, is_dir, size)) = stack.pop() {
        if is_dir {
            push_sorted(&mut stack, &dir.join(&name), &name)?;
            continue;
        }
        if listing.objects.len() == MAX_LISTED {
            listing.truncated = true;
            break;
        }
        listing.objects.push(StoredObject { name, size });
    }
    Ok(listing)
}

/// Pushes the entries of `dir` (named `prefix/…`) so that they pop in
/// byte order of their full names.
fn push_sorted(stack: &mut Vec<(String, bool, u64)>, dir: &Path, prefix: &str) -> io::Result<()> {
    let mut entries: Vec<(String, String, bool, u64)> = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        // Gone since it was seen (a concurrent cleanup): nothing in it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in read {
        let entry = entry?;
        let Ok(file_name) = entry.file_name().into_string() else {
            // No object name can reach a file whose name is not UTF-8.
            continue;
        };
        let kind = entry.file_type()?;
        let (is_dir, size) = if kind.is_dir() {
            (true, 0)
        } else if kind.is_file() && !is_temp(&file_name) {
            (false, entry.metadata()?.len())
        } else {
            continue;
        };
        let name = if prefix.is_empty() {
            file_name.clone()
        } else {
            format!("{prefix}/{file_name}")
        };
        let key = if is_dir {
            format!("{file_name}/")
        } else {
            file_name
        };
        entries.push((key, name, is_dir, size));
    }
    entries.sort_by(|a, b| b.0.cmp(&a.0));
    stack.extend(
        entries
            .into_iter()
            .map(|(_, name, is_dir, size)| (name, is_dir, size)),
    );
    Ok(())
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
        let (dir, temp) = (dir.to_path_buf(), dir.join(temp_name(file_name)));
        let bytes = bytes.to_vec();
        // One blocking task for the whole write (tokio::fs would hop to a
        // thread per call). Readers (deck, a second syncer) see the old bytes
        // or the new ones, never a torn file: write aside, then rename over.
        // No fsync: like the SQLite file (`synchronous=NORMAL`), a write that
        // returned survives `kill -9` (the OS holds it); an fsync per file
        // was four per job, the largest cost of `skiff bench pipeline`.
        let written = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| unavailable("creating", &dir, e))?;
            let result = std::fs::write(&temp, &bytes).and_then(|()| std::fs::rename(&temp, &file));
            if let Err(e) = result {
                let _ = std::fs::remove_file(&temp);
                return Err(unavailable("writing", &file, e));
            }
            Ok(())
        })
        .await;
        match written {
            Ok(result) => result?,
            Err(e) => {
                return Err(PortError::Unavailable(
                    format!("writing {path}/{name}: {e}").into(),
                ));
            }
        }
        Ok(())
    }

    /// A link anywhere below the root reads as absent, as it does not list.
    #[tracing::instrument(skip(self))]
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        let file = self.file(path, name)?;
        let root = self.root.clone();
        let read = tokio::task::spawn_blocking(move || {
            let read = match crosses_a_link(&root, &file) {
                Ok(true) => return Ok(None),
                Ok(false) => std::fs::read(&file),
                Err(e) => Err(e),
            };
            match read {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound
                            | io::ErrorKind::NotADirectory
                            | io::ErrorKind::IsADirectory
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(unavailable("reading", &file, e)),
            }
        })
        .await;
        read.map_err(|e| PortError::Unavailable(format!("reading {path}/{name}: {e}").into()))?
    }

    /// One walk in a blocking thread: the directory tree, sorted, never
    /// through a link.
    #[tracing::instrument(skip(self))]
    async fn list(&self, path: &str) -> PortResult<Listing> {
        let dir = self.below_root(&[("path", path)])?;
        let root = self.root.clone();
        let walked = tokio::task::spawn_blocking(move || match crosses_a_link(&root, &dir) {
            Ok(true) => Ok(Listing::default()),
            Ok(false) => walk(&dir).map_err(|e| unavailable("listing", &dir, e)),
            Err(e) => Err(unavailable("listing", &dir, e)),
        })
        .await;
        walked.map_err(|e| PortError::Unavailable(format!("listing {path}: {e}").into()))?
    }
}
