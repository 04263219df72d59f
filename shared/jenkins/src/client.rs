//! The HTTP client: one connection pool per Jenkins, auth and the CSRF
//! crumb on every request that needs them (see the crate doc).

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use skiff_core::ports::{Jenkins, JenkinsBuild, PortError, PortResult};
use tracing::debug;

use crate::{Auth, Options, error_for, tls, wire};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Most bytes of a console log kept: the rest is on Jenkins.
const MAX_CONSOLE: usize = 32 << 20;
/// Most bytes of any other answer read (listings, error pages).
const MAX_ANSWER: usize = 8 << 20;

/// What Jenkins said about CSRF protection.
#[derive(Clone)]
enum Crumb {
    /// Not asked yet.
    Unknown,
    /// `crumbIssuer` is not there: no protection.
    NotNeeded,
    /// Send `field: value` (and the session cookie the crumb belongs to).
    Have {
        field: String,
        value: String,
        cookie: Option<String>,
    },
}

/// A Jenkins master over HTTP(S); see the crate doc.
pub struct JenkinsClient {
    url: String,
    auth: Auth,
    insecure: bool,
    timeout: Duration,
    client: Client<Https, Full<Bytes>>,
    // Never held across an await.
    crumb: Mutex<Crumb>,
}

impl fmt::Debug for JenkinsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JenkinsClient")
            .field("url", &self.url)
            .field("auth", &self.auth)
            .field("insecure_skip_verify", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// An answer, read whole (up to a limit).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    truncated: bool,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl JenkinsClient {
    pub fn new(options: Options) -> Result<Self, String> {
        let url = options.url.trim_end_matches('/').to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("Jenkins {url:?}: expected an http(s) URL"));
        }
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(options.timeout));
        http.enforce_http(false);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if options.insecure_skip_verify {
            builder.with_tls_config(tls::insecure_config()?)
        } else {
            builder
                .with_native_roots()
                .map_err(|e| format!("Jenkins {url}: no TLS roots: {e}"))?
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Ok(JenkinsClient {
            url,
            auth: options.auth,
            insecure: options.insecure_skip_verify,
            timeout: options.timeout,
            client: Client::builder(TokioExecutor::new()).build(https),
            crumb: Mutex::new(Crumb::Unknown),
        })
    }

    fn crumb_state(&self) -> std::sync::MutexGuard<'_, Crumb> {
        self.crumb.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request, answered within the timeout. `crumb` is sent on POSTs.
    async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<&str>,
        crumb: Option<&Crumb>,
        limit: usize,
    ) -> PortResult<Answer> {
        let url = format!("{}/{path}", self.url);
        let what = format!("{method} {}", strip_query(&url));
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(header::ACCEPT, "application/json, text/plain, */*");
        match &self.auth {
            Auth::None => {}
            Auth::Basic { user, token } => {
                let token = token.token().await?;
                let pair = format!("{user}:{}", token.expose());
                let value = base64::engine::general_purpose::STANDARD.encode(pair);
                request = request.header(header::AUTHORIZATION, format!("Basic {value}"));
            }
            Auth::Bearer { token } => {
                let token = token.token().await?;
                request =
                    request.header(header::AUTHORIZATION, format!("Bearer {}", token.expose()));
            }
        }
        if let Some(Crumb::Have {
            field,
            value,
            cookie,
        }) = crumb
        {
            request = request.header(field.as_str(), value.as_str());
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie.as_str());
            }
        }
        let body = match form {
            Some(form) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(form.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|_| {
            // The URL is built from config and a job name; say which.
            PortError::Rejected(format!("{what}: not a valid request URL").into())
        })?;
        debug!(method = %method, path = %strip_query(path), "jenkins request");
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let why = if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                PortError::Unavailable(format!("{what}: {why}").into())
            })?;
            let (parts, mut body) = response.into_parts();
            let mut bytes = Vec::new();
            let mut truncated = false;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| {
                    PortError::Unavailable(format!("{what}: the answer broke off").into())
                })?;
                if let Ok(data) = frame.into_data() {
                    let room = limit.saturating_sub(bytes.len());
                    if data.len() > room {
                        bytes.extend_from_slice(&data[..room]);
                        truncated = true;
                        break;
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body: bytes,
                truncated,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                PortError::Unavailable(
                    format!("{what}: no answer within {}s", self.timeout.as_secs()).into(),
                )
            })?
    }

    /// A GET that must succeed (2xx); its answer.
    async fn get(&self, path: &str, limit: usize) -> PortResult<Answer> {
        let answer = self.send(Method::GET, path, None, None, limit).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        Err(error_for(
            answer.status.as_u16(),
            &format!("GET {}/{}", self.url, strip_query(path)),
            &answer.text(),
        ))
    }

    /// The crumb to send on POSTs: asked of Jenkins once (again when
    /// `refresh`).
    async fn crumb(&self, refresh: bool) -> PortResult<Crumb> {
        let known = self.crumb_state().clone();
        if !refresh && !matches!(known, Crumb::Unknown) {
            return Ok(known);
        }
        let path = "crumbIssuer/api/json";
        let answer = self.send(Method::GET, path, None, None, MAX_ANSWER).await?;
        let crumb = match answer.status.as_u16() {
            404 => Crumb::NotNeeded,
            s if (200..300).contains(&s) => {
                let (field, value) = wire::crumb(&answer.body).map_err(|e| {
                    PortError::Unavailable(
                        format!("GET {}/{path}: not a crumb: {e}", self.url).into(),
                    )
                })?;
                Crumb::Have {
                    field,
                    value,
                    cookie: session_cookie(&answer.headers),
                }
            }
            s => {
                return Err(error_for(
                    s,
                    &format!("GET {}/{path}", self.url),
                    &answer.text(),
                ));
            }
        };
        *self.crumb_state() = crumb.clone();
        Ok(crumb)
    }

    /// A POST with the crumb Jenkins wants; sent once more with a fresh
    /// crumb when Jenkins refuses the one it had.
    async fn post(&self, path: &str, form: Option<&str>) -> PortResult<Answer> {
        let crumb = self.crumb(false).await?;
        let answer = self
            .send(Method::POST, path, form, Some(&crumb), MAX_ANSWER)
            .await?;
        if answer.status == StatusCode::FORBIDDEN && wire::mentions_crumb(&answer.text()) {
            debug!(path = %strip_query(path), "jenkins refused the crumb; asking for a new one");
            let crumb = self.crumb(true).await?;
            return self
                .send(Method::POST, path, form, Some(&crumb), MAX_ANSWER)
                .await;
        }
        Ok(answer)
    }

    fn failed(&self, method: &str, path: &str, answer: &Answer) -> PortError {
        error_for(
            answer.status.as_u16(),
            &format!("{method} {}/{}", self.url, strip_query(path)),
            &answer.text(),
        )
    }
}

/// The `name=value` of each `Set-Cookie`, as a `Cookie` header: Jenkins
/// binds a crumb to the web session it was issued in.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let cookies: Vec<&str> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .filter(|c| c.contains('='))
        .collect();
    (!cookies.is_empty()).then(|| cookies.join("; "))
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// `tree` query values hold brackets, which a URI may not carry raw.
fn tree_query(tree: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("tree", tree)
        .finish()
}

#[async_trait]
impl Jenkins for JenkinsClient {
    fn url(&self) -> &str {
        &self.url
    }

    #[tracing::instrument(skip(self, parameters), fields(jenkins = %self.url))]
    async fn build(&self, job: &str, parameters: &[(String, String)]) -> PortResult<Option<u64>> {
        let path = format!("{job}/buildWithParameters");
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in parameters {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let answer = self.post(&path, Some(&body)).await?;
        if !answer.status.is_success() {
            return Err(self.failed("POST", &path, &answer));
        }
        Ok(answer
            .headers
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(wire::queue_item))
    }

    async fn queued(&self) -> PortResult<Vec<JenkinsBuild>> {
        let path = format!("queue/api/json?{}", tree_query(wire::QUEUE_TREE));
        let answer = self.get(&path, MAX_ANSWER).await?;
        wire::queue(&answer.body).map_err(|e| {
            PortError::Unavailable(
                format!("GET {}/queue/api/json: unreadable: {e}", self.url).into(),
            )
        })
    }

    async fn builds(&self, job: &str) -> PortResult<Vec<JenkinsBuild>> {
        let path = format!("{job}/api/json?{}", tree_query(wire::BUILDS_TREE));
        let answer = match self.get(&path, MAX_ANSWER).await {
            Ok(answer) => answer,
            // Prow ignores a job Jenkins does not have: its builds are gone.
            Err(PortError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        wire::builds(&answer.body).map_err(|e| {
            PortError::Unavailable(
                format!("GET {}/{job}/api/json: unreadable: {e}", self.url).into(),
            )
        })
    }

    async fn console_text(&self, job: &str, number: u64) -> PortResult<String> {
        let path = format!("{job}/{number}/consoleText");
        let answer = self.get(&path, MAX_CONSOLE).await?;
        let mut text = answer.text();
        if answer.truncated {
            text.push_str(&format!(
                "\n[Skiff kept the first {} MiB of this log; the rest is at {}/{job}/{number}/console]\n",
                MAX_CONSOLE >> 20,
                self.url
            ));
        }
        Ok(text)
    }

    async fn stop(&self, job: &str, number: u64) -> PortResult<()> {
        let path = format!("{job}/{number}/stop");
        let answer = self.post(&path, None).await?;
        // Jenkins answers a stop with a redirect to the build's page.
        if answer.status.is_success() || answer.status.is_redirection() {
            return Ok(());
        }
        Err(self.failed("POST", &path, &answer))
    }

    async fn cancel_queued(&self, item: u64) -> PortResult<()> {
        let path = format!("queue/cancelItem?id={item}");
        let answer = self.post(&path, None).await?;
        if answer.status.is_success() || answer.status.is_redirection() {
            return Ok(());
        }
        Err(self.failed("POST", &path, &answer))
    }
}
