//! `/artifacts/<job dir>/<name>`: one object of a job's artifact directory,
//! from S3 or the local logs dir, as the artifacts browser links to it.
//!
//! The bucket holds whatever a job wrote, so nothing from it is ever
//! rendered as a page of the deck's origin: text of every kind (HTML, SVG
//! and XML included) is sent as `text/plain`, the raster images browsers
//! show as images, anything else as a download; every answer carries a
//! sandboxing CSP and `nosniff`. The directory must be the artifact path of
//! a job the deck shows (hidden jobs' artifacts stay hidden), and a name
//! that could leave it is refused before the store is asked.

use skiff_core::prowjob::artifacts::artifact_path;

use crate::{Deps, Reply, TEXT, find_build};

/// Build ids tried as the end of the job's directory (a name may contain
/// numbers too).
const MAX_CANDIDATES: usize = 4;

pub async fn raw_artifact(rest: &[&str], deps: &Deps<'_>) -> Reply {
    // A segment may hold a decoded `%2F`: judge the path by its pieces.
    let pieces: Vec<&str> = rest.iter().flat_map(|s| s.split('/')).collect();
    if let Some(bad) = pieces
        .iter()
        .find(|p| matches!(**p, "." | "..") || p.contains(['\0', '\\']))
    {
        return Reply::new(
            400,
            TEXT,
            format!("refused: {bad:?} in an artifact path could leave the job's directory\n"),
        );
    }
    let mut tried = 0;
    // `<dir…>/<job>/<build>/<name…>`: the directory ends at a build id.
    for k in 2..pieces.len() {
        let (job, build) = (pieces[k - 2], pieces[k - 1]);
        if build.is_empty() || !build.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if tried == MAX_CANDIDATES {
            break;
        }
        tried += 1;
        let run = match find_build(deps, job, build).await {
            Ok(Some(run)) => run,
            Ok(None) => continue,
            Err(e) => {
                return Reply::new(
                    503,
                    TEXT,
                    format!("the job records cannot be read right now: {e}\n"),
                );
            }
        };
        let dir = pieces[..k].join("/");
        if artifact_path(&run).ok().as_deref() != Some(dir.as_str()) {
            continue;
        }
        let name = pieces[k..].join("/");
        return serve(deps, &dir, &name).await;
    }
    Reply::new(
        404,
        TEXT,
        "no job the deck shows has this artifact directory\n",
    )
}

async fn serve(deps: &Deps<'_>, dir: &str, name: &str) -> Reply {
    if name.is_empty() || name.ends_with('/') {
        return Reply::new(
            404,
            TEXT,
            "an artifact directory is listed on its job's page\n",
        );
    }
    let bytes = match deps.logs.get(dir, name).await {
        Ok(Some(b)) => b,
        Ok(None) => return Reply::new(404, TEXT, format!("no artifact {name} in {dir}\n")),
        Err(e) if e.is_retryable() => {
            return Reply::new(503, TEXT, format!("{name} cannot be read right now: {e}\n"));
        }
        Err(e) => return Reply::new(400, TEXT, format!("{name} cannot be read: {e}\n")),
    };
    if let Some(max) = deps.options.max_response_bytes
        && bytes.len() > max
    {
        return Reply::new(
            500,
            TEXT,
            format!(
                "{name} is {} bytes, more than this deployment can send ({max}); \
                 it is in the bucket at {dir}/{name}\n",
                bytes.len()
            ),
        );
    }
    let kind = content_type(name, &bytes);
    let mut reply = Reply::new(200, kind, bytes);
    reply.sandboxed = true;
    if kind == BINARY {
        let file = name.rsplit('/').next().unwrap_or(name);
        reply.headers.push((
            "content-disposition",
            format!(
                "attachment; filename=\"{}\"",
                file.replace(['"', '\\', '\r', '\n'], "_")
            ),
        ));
    }
    reply
}

const BINARY: &str = "application/octet-stream";

/// What a browser may do with the object: show it as text, show it as an
/// image, or download it. Never HTML, SVG or XML as such (each can run
/// script in the deck's origin).
pub fn content_type(name: &str, bytes: &[u8]) -> &'static str {
    let file = name.rsplit('/').next().unwrap_or(name);
    let ext = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "gz" | "tgz" | "tar" | "zip" | "bz2" | "xz" | "zst" | "bin" | "exe" | "so" | "a"
        | "pdf" => BINARY,
        "txt" | "log" | "json" | "xml" | "yaml" | "yml" | "html" | "htm" | "xhtml" | "svg"
        | "md" | "csv" | "tsv" => TEXT,
        _ if looks_like_text(bytes) => TEXT,
        _ => BINARY,
    }
}

/// UTF-8 with no NUL in its first 8 KiB (a cut character at the end is
/// fine).
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() > head.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_are_shown_as_images_and_text_is_always_plain() {
        for (name, bytes, want) in [
            ("build-log.txt", &b"log\n"[..], TEXT),
            ("artifacts/junit.xml", b"<testsuite/>", TEXT),
            ("artifacts/report.html", b"<script>alert(1)</script>", TEXT),
            ("artifacts/REPORT.HTM", b"<html>", TEXT),
            ("artifacts/logo.svg", b"<svg onload=alert(1)>", TEXT),
            (
                "artifacts/page.xhtml",
                b"<html xmlns=\"http://www.w3.org/1999/xhtml\">",
                TEXT,
            ),
            ("finished.json", b"{}", TEXT),
            ("artifacts/shot.PNG", b"\x89PNG\r\n", "image/png"),
            ("artifacts/a.jpeg", b"\xff\xd8", "image/jpeg"),
            ("artifacts/core", b"\x7fELF\x00\x01", BINARY),
            ("artifacts/notes", b"plain words", TEXT),
            ("artifacts/logs.tar.gz", b"text but a tarball", BINARY),
            ("artifacts/latin1.txt", b"caf\xe9", TEXT),
            ("artifacts/latin1", b"caf\xe9", BINARY),
        ] {
            assert_eq!(content_type(name, bytes), want, "{name}");
        }
    }
}
