//! [`LogStore`] on Amazon S3: the object `<prefix>/<path>/<name>`, the same
//! layout `FsLogStore` keeps under its root, i.e. Prow's bucket layout
//! (`logs/<job>/<build>/build-log.txt`, `pr-logs/pull/…`).

use async_trait::async_trait;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use skiff_core::ports::{Listing, LogStore, MAX_LISTED, PortError, PortResult, StoredObject};

use crate::error::port_error;

/// Logs and job metadata as objects in one bucket, under a key prefix.
#[derive(Clone, Debug)]
pub struct S3LogStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Normalised: no leading, trailing or doubled `/`; may be empty.
    prefix: String,
}

impl S3LogStore {
    /// `prefix` may be empty (keys start at the bucket root) and may carry
    /// slashes either side (`"skiff/"`, `"/skiff"` mean `skiff`).
    pub fn new(client: aws_sdk_s3::Client, bucket: String, prefix: String) -> Self {
        let prefix = prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        S3LogStore {
            client,
            bucket,
            prefix,
        }
    }

    /// The object key for `path`/`name`, or `Rejected` for what `FsLogStore`
    /// rejects: `..`, a leading `/`, NUL, and a name that names no file.
    /// Empty and `.` segments are dropped, so both stores agree on where
    /// `a//b/./c` lives.
    pub fn key(&self, path: &str, name: &str) -> PortResult<String> {
        let parts = self.segments(&[("path", path), ("name", name)])?;
        let names_file = name
            .rsplit('/')
            .find(|s| !s.is_empty())
            .is_some_and(|last| last != ".");
        if !names_file {
            return Err(PortError::Rejected(
                format!("name {name:?} names no file").into(),
            ));
        }
        Ok(parts.join("/"))
    }

    /// The key prefix of the directory `path` (ending in `/`, or empty for
    /// the bucket root), or `Rejected` as for [`S3LogStore::key`].
    pub fn dir_prefix(&self, path: &str) -> PortResult<String> {
        let parts = self.segments(&[("path", path)])?;
        Ok(if parts.is_empty() {
            String::new()
        } else {
            format!("{}/", parts.join("/"))
        })
    }

    /// The prefix's segments then each part's, empty and `.` ones dropped.
    fn segments<'a>(&'a self, parts: &[(&str, &'a str)]) -> PortResult<Vec<&'a str>> {
        let mut out: Vec<&str> = Vec::new();
        if !self.prefix.is_empty() {
            out.push(&self.prefix);
        }
        for &(what, part) in parts {
            if part.contains('\0') {
                return Err(PortError::Rejected(
                    format!("{what} {part:?} contains NUL").into(),
                ));
            }
            if part.starts_with('/') || part.split('/').any(|s| s == "..") {
                return Err(PortError::Rejected(
                    format!(
                        "{what} {part:?} must be relative and stay under the log root \
                     (no `..`, no leading `/`)"
                    )
                    .into(),
                ));
            }
            out.extend(part.split('/').filter(|s| !s.is_empty() && *s != "."));
        }
        Ok(out)
    }
}

/// So a browser (Deck's artifact links, the S3 console) shows logs and
/// metadata instead of downloading them; S3 would otherwise say
/// `binary/octet-stream`.
fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "log") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[async_trait]
impl LogStore for S3LogStore {
    /// One PutObject; S3 replaces an object whole, so readers never see a
    /// torn one and writing the same bytes twice is harmless.
    #[tracing::instrument(skip(self, bytes), fields(bucket = %self.bucket, len = bytes.len()))]
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()> {
        let key = self.key(path, name)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type(name))
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| port_error(&format!("PutObject {key}"), e))?;
        Ok(())
    }

    /// One GetObject; a missing object is `None`.
    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        let key = self.key(path, name)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(None);
            }
            Err(e) => return Err(port_error(&format!("GetObject {key}"), e)),
        };
        let bytes = out.body.collect().await.map_err(|e| {
            PortError::Unavailable(format!("GetObject {key}: reading the body: {e}").into())
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// ListObjectsV2 under the directory's prefix, page by page (S3 returns
    /// keys in byte order), until [`MAX_LISTED`] objects. "Folder" marker
    /// objects (keys ending in `/`, as the console makes) are not objects
    /// of the job.
    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn list(&self, path: &str) -> PortResult<Listing> {
        let prefix = self.dir_prefix(path)?;
        let mut listing = Listing::default();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| port_error(&format!("ListObjectsV2 {prefix}"), e))?;
            for object in page.contents() {
                let Some(name) = object.key().and_then(|k| k.strip_prefix(prefix.as_str())) else {
                    continue;
                };
                if name.is_empty() || name.ends_with('/') {
                    continue;
                }
                if listing.objects.len() == MAX_LISTED {
                    listing.truncated = true;
                    return Ok(listing);
                }
                listing.objects.push(StoredObject {
                    name: name.to_string(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(listing),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(prefix: &str) -> S3LogStore {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::v2026_01_12())
            .build();
        S3LogStore::new(
            aws_sdk_s3::Client::from_conf(conf),
            "bucket".into(),
            prefix.into(),
        )
    }

    #[test]
    fn keys_join_prefix_path_and_name_without_stray_slashes() {
        let cases = [
            (
                "",
                "logs/unit/1",
                "build-log.txt",
                "logs/unit/1/build-log.txt",
            ),
            (
                "skiff",
                "logs/unit/1",
                "started.json",
                "skiff/logs/unit/1/started.json",
            ),
            (
                "/skiff/",
                "logs//unit/./1/",
                "a/junit.xml",
                "skiff/logs/unit/1/a/junit.xml",
            ),
            ("", "", "top.txt", "top.txt"),
        ];
        for (prefix, path, name, want) in cases {
            assert_eq!(
                store(prefix).key(path, name),
                Ok(want.to_string()),
                "{prefix:?} {path:?} {name:?}"
            );
        }
    }

    #[test]
    fn keys_that_could_leave_the_root_are_rejected() {
        let s = store("p");
        for (path, name) in [
            ("../other", "x.txt"),
            ("logs/../..", "x.txt"),
            ("/etc", "passwd"),
            ("logs", "../x.txt"),
            ("logs", "/x.txt"),
            ("logs", "a\0b"),
            ("logs", ""),
            ("logs", "."),
        ] {
            assert!(
                matches!(s.key(path, name), Err(PortError::Rejected(_))),
                "{path:?} {name:?} accepted"
            );
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("build-log.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("finished.JSON"), "application/json");
        assert_eq!(content_type("artifacts/junit.xml"), "application/xml");
        assert_eq!(content_type("core"), "application/octet-stream");
    }
}
