//! The request/reply layer every call goes through: headers, retries, the
//! ETag cache, paging, error mapping and path encoding.

use std::collections::HashMap;

use ::http::header::{AUTHORIZATION, HeaderValue, IF_NONE_MATCH};
use serde::de::DeserializeOwned;
use serde_json::Value;
use skiff_core::ports::{PortError, PortResult};

use super::auth::Scope;
use super::rate_limit::epoch;
use super::{GitHubScm, lock};

/// The largest page GitHub serves.
pub(super) const PER_PAGE: u32 = 100;
/// GitHub lists at most 3000 files of a pull request (30 pages); the bound only
/// stops a misbehaving server from paging forever.
pub(super) const MAX_PAGES: usize = 100;
/// Enough of an error body to read GitHub's message, not a whole HTML page.
const MAX_ERROR_BODY: usize = 1000;
/// Cached conditional GETs; beyond this the oldest entry goes.
const MAX_ETAGS: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verb {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Verb {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    fn method(self) -> ::http::Method {
        match self {
            Verb::Get => ::http::Method::GET,
            Verb::Post => ::http::Method::POST,
            Verb::Patch => ::http::Method::PATCH,
            Verb::Put => ::http::Method::PUT,
            Verb::Delete => ::http::Method::DELETE,
        }
    }
}

/// A response, read whole.
pub(super) struct Reply {
    pub(super) status: u16,
    /// The `rel="next"` page of a paginated list, as a path.
    pub(super) next: Option<String>,
    pub(super) body: String,
}

#[derive(Default)]
pub(super) struct EtagCache {
    entries: HashMap<String, Cached>,
    next_seq: u64,
}

struct Cached {
    etag: String,
    body: String,
    next: Option<String>,
    seq: u64,
}

impl EtagCache {
    fn insert(&mut self, key: String, etag: String, body: String, next: Option<String>) {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.entries.insert(
            key,
            Cached {
                etag,
                body,
                next,
                seq,
            },
        );
        if self.entries.len() > MAX_ETAGS
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, c)| c.seq)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
    }
}

impl GitHubScm {
    pub(super) async fn send(
        &self,
        verb: Verb,
        scope: Scope<'_>,
        path: &str,
        body: Option<&Value>,
    ) -> PortResult<Reply> {
        refuse_dot_segments(verb, path)?;
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            // Boxed: finding an installation token sends requests itself.
            let (authorization, identity) = Box::pin(self.authorization(scope)).await?;
            self.check_gate(&identity, verb, path)?;
            let cache_key = format!("{identity} {path}");
            let cached_etag = if verb == Verb::Get {
                lock(&self.etags)
                    .entries
                    .get(&cache_key)
                    .map(|c| c.etag.clone())
            } else {
                None
            };
            let sent = self
                .execute(verb, path, body, &authorization, cached_etag.as_deref())
                .await;
            let (status, headers, text) = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!(verb = verb.as_str(), path, error = %e, "retrying");
                    continue;
                }
                Err(e) => return Err(e),
            };
            tracing::debug!(verb = verb.as_str(), path, status, "github api");
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            self.note_rate_limit(&identity, &header);
            if let Some(until) = self.limit_until(status, &header, &text) {
                self.close_gate(&identity, until);
                let body: String = text.trim().chars().take(MAX_ERROR_BODY).collect();
                return Err(PortError::RateLimited {
                    until,
                    message: format!("{} {path}: HTTP {status}: {body}", verb.as_str()).into(),
                });
            }
            // The request spent the last of the budget: hold the next ones
            // until the reset rather than have GitHub refuse them.
            if header("x-ratelimit-remaining") == Some("0")
                && let Some(reset) = header("x-ratelimit-reset").and_then(epoch)
            {
                self.close_gate(&identity, reset);
            }
            if status == 401 && !renewed && matches!(scope, Scope::Org(_)) && self.is_app() {
                // A revoked or expired installation token: get a new one once.
                renewed = true;
                self.forget_token(scope);
                continue;
            }
            if (500..600).contains(&status) && attempt < self.retries {
                attempt += 1;
                continue;
            }
            let next = header("link").and_then(next_page);
            if status == 304
                && let Some(c) = lock(&self.etags).entries.get(&cache_key)
            {
                return Ok(Reply {
                    status: 200,
                    next: c.next.clone(),
                    body: c.body.clone(),
                });
            }
            if verb == Verb::Get
                && status == 200
                && let Some(etag) = header("etag")
            {
                lock(&self.etags).insert(cache_key, etag.to_owned(), text.clone(), next.clone());
            }
            return Ok(Reply {
                status,
                next,
                body: text,
            });
        }
    }

    /// One HTTP exchange: status, headers, body.
    async fn execute(
        &self,
        verb: Verb,
        path: &str,
        body: Option<&Value>,
        authorization: &str,
        etag: Option<&str>,
    ) -> PortResult<(u16, ::http::HeaderMap, String)> {
        let unavailable = |what: String| {
            PortError::Unavailable(format!("{} {path}: {what}", verb.as_str()).into())
        };
        let mut auth = HeaderValue::from_str(authorization).map_err(|_| {
            PortError::Rejected("the GitHub credential is not a valid header".into())
        })?;
        auth.set_sensitive(true);
        let mut builder = ::http::Request::builder()
            .method(verb.method())
            .uri(path)
            .header(AUTHORIZATION, auth)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(etag) = etag
            && let Ok(v) = HeaderValue::from_str(etag)
        {
            builder = builder.header(IF_NONE_MATCH, v);
        }
        let request = self
            .client
            .build_request(builder, body)
            .map_err(|e| PortError::Rejected(format!("{} {path}: {e}", verb.as_str()).into()))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = self
            .client
            .body_to_string(response)
            .await
            .map_err(|e| unavailable(format!("reading body: {e}")))?;
        Ok((status, headers, text))
    }

    /// Sends and accepts only 2xx.
    pub(super) async fn send_ok(
        &self,
        verb: Verb,
        scope: Scope<'_>,
        path: &str,
        body: Option<&Value>,
    ) -> PortResult<Reply> {
        let reply = self.send(verb, scope, path, body).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(error(verb, path, &reply))
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        path: &str,
    ) -> PortResult<T> {
        let reply = self.send_ok(Verb::Get, scope, path, None).await?;
        decode(Verb::Get, path, &reply.body)
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    pub(super) async fn get_pages<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        first: &str,
    ) -> PortResult<Vec<T>> {
        let mut out = Vec::new();
        let mut path = first.to_owned();
        for _ in 0..MAX_PAGES {
            let reply = self.send_ok(Verb::Get, scope, &path, None).await?;
            let page: Vec<T> = decode(Verb::Get, &path, &reply.body)?;
            out.extend(page);
            match reply.next {
                Some(next) => path = next,
                None => return Ok(out),
            }
        }
        Err(PortError::Unavailable(
            format!("GET {first}: more than {MAX_PAGES} pages").into(),
        ))
    }

    /// A yes/no question GitHub answers with 204 or 404.
    pub(super) async fn ask(
        &self,
        org: &str,
        path: &str,
        redirect_means_no: bool,
    ) -> PortResult<bool> {
        let reply = self.send(Verb::Get, Scope::Org(org), path, None).await?;
        match reply.status {
            204 => Ok(true),
            404 => Ok(false),
            302 if redirect_means_no => Ok(false),
            _ => Err(error(Verb::Get, path, &reply)),
        }
    }

    /// Deletes; "already gone" (404) is success, so a retried delete is a no-op.
    pub(super) async fn delete_idempotent(&self, org: &str, path: &str) -> PortResult<()> {
        let reply = self.send(Verb::Delete, Scope::Org(org), path, None).await?;
        match reply.status {
            200..=299 | 404 => Ok(()),
            _ => Err(error(Verb::Delete, path, &reply)),
        }
    }
}

pub(super) fn repo_path(org: &str, repo: &str) -> String {
    format!("/repos/{}/{}", seg(org), seg(repo))
}

/// Percent-encodes one path segment (labels have spaces and colons).
pub(super) fn seg(s: &str) -> String {
    encode(s, false)
}

/// Like [`seg`] but keeps `/`: GitHub takes branch names with slashes as they are.
pub(super) fn seg_keep_slash(s: &str) -> String {
    encode(s, true)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Refuses a path with a `.` or `..` segment, literal or percent-encoded.
///
/// Org, repo and login names come from signed but outside payloads, and none
/// of GitHub's can be `.` or `..`; a payload naming `..` would otherwise turn
/// `/orgs/{org}/members/{login}` into another endpoint. Escaping is not
/// enough: URL parsers (WHATWG's, the `url` crate's) and servers read `%2e`
/// as a dot when they resolve dot segments.
fn refuse_dot_segments(verb: Verb, path: &str) -> PortResult<()> {
    let path_only = path.split(['?', '#']).next().unwrap_or_default();
    let dotted = path_only.split('/').find(|segment| {
        let decoded = segment.replace("%2e", ".").replace("%2E", ".");
        decoded == "." || decoded == ".."
    });
    match dotted {
        Some(segment) => Err(PortError::Rejected(
            format!(
                "{} {path}: refused: the path segment {segment:?} is a dot segment (an org, repo or user name from an event cannot be `.` or `..`)",
                verb.as_str()
            )
            .into(),
        )),
        None => Ok(()),
    }
}

/// The `rel="next"` target of a `Link` header, reduced to its path and query:
/// the page is fetched from the configured API, so a link naming another host
/// never receives the token.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let path = match url.split_once("://") {
            Some((_, rest)) => &rest[rest.find('/')?..],
            None => url,
        };
        Some(path.to_owned())
    })
}

pub(super) fn decode<T: DeserializeOwned>(verb: Verb, path: &str, body: &str) -> PortResult<T> {
    serde_json::from_str(body).map_err(|e| {
        PortError::Rejected(format!("{} {path}: unexpected response: {e}", verb.as_str()).into())
    })
}

/// Maps a non-success reply to the port's error, keeping GitHub's body (its
/// `"message"`) so callers can tell a force-pushed SHA from an outage.
pub(super) fn error(verb: Verb, path: &str, reply: &Reply) -> PortError {
    let body: String = reply.body.trim().chars().take(MAX_ERROR_BODY).collect();
    let message = format!("{} {path}: HTTP {}: {body}", verb.as_str(), reply.status);
    match reply.status {
        404 => PortError::NotFound(message.into()),
        500..=599 => PortError::Unavailable(message.into()),
        _ => PortError::Rejected(message.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_is_read_from_githubs_link_header() {
        let link = r#"<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_page(link).as_deref(),
            Some("/repositories/1/pulls/2/files?per_page=100&page=2")
        );
        let last = r#"<https://ghe.example.com/api/v3/x?page=1>; rel="prev", <https://ghe.example.com/api/v3/x?page=1>; rel="first""#;
        assert_eq!(next_page(last), None);
        assert_eq!(
            next_page(r#"<https://ghe.example.com/api/v3/x?page=4>; rel="next""#).as_deref(),
            Some("/api/v3/x?page=4")
        );
        assert_eq!(next_page("garbage"), None);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("needs-ok-to-test"), "needs-ok-to-test");
        assert_eq!(seg("kind/bug fix:x"), "kind%2Fbug%20fix%3Ax");
        assert_eq!(seg_keep_slash("release/1.2"), "release/1.2");
        assert_eq!(seg("ünï"), "%C3%BCn%C3%AF");
    }

    #[test]
    fn dot_segments_are_refused_literal_or_encoded_and_dotted_names_pass() {
        for (path, refused) in [
            ("/orgs/../members/x", true),
            ("/orgs/./members/x", true),
            ("/repos/acme/%2E%2E/statuses/abc", true),
            ("/repos/acme/.%2e/pulls/1", true),
            ("/repos/%2e/widgets/pulls/1", true),
            ("/repos/acme/w/git/ref/heads/a/../b", true),
            ("/repos/acme/widgets/pulls/1?x=..", false),
            ("/repos/acme/.github/pulls/1", false),
            ("/repos/acme/...", false),
            ("/repos/acme/widgets..v2/pulls/1", false),
        ] {
            let got = refuse_dot_segments(Verb::Get, path);
            assert_eq!(got.is_err(), refused, "{path}: {got:?}");
            if let Err(e) = got {
                assert!(matches!(e, PortError::Rejected(_)), "{path}: {e}");
                assert!(e.to_string().contains("dot segment"), "{e}");
            }
        }
        // What seg() makes of a hostile name is refused, not sent.
        let path = format!("/orgs/{}/members/{}", seg(".."), seg("x"));
        assert!(refuse_dot_segments(Verb::Get, &path).is_err(), "{path}");
    }

    #[test]
    fn the_etag_cache_drops_the_oldest_entry_beyond_its_bound() {
        let mut c = EtagCache::default();
        for i in 0..=MAX_ETAGS {
            c.insert(format!("k{i}"), "e".into(), "b".into(), None);
        }
        assert_eq!(c.entries.len(), MAX_ETAGS);
        assert!(!c.entries.contains_key("k0"));
        assert!(c.entries.contains_key(&format!("k{MAX_ETAGS}")));
    }
}
