//! [`HookForwarder`] over HTTP: Prow's hook POSTing an event to an external
//! plugin's endpoint.

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use skiff_core::ports::{HookForwarder, PortError, PortResult};

/// An external plugin that takes longer than this is treated as down (and
/// retried through the queue); Prow's hook waits about as long.
const TIMEOUT: Duration = Duration::from_secs(10);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// POSTs events to external plugins over HTTP or HTTPS.
pub struct HttpForwarder {
    client: Client<Https, Full<Bytes>>,
}

impl HttpForwarder {
    pub fn new() -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(TIMEOUT));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("external plugins: no TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }
}

#[async_trait]
impl HookForwarder for HttpForwarder {
    async fn forward(
        &self,
        endpoint: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> PortResult<u16> {
        let mut request = http::Request::post(endpoint);
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| {
                PortError::Rejected(format!("external plugin endpoint {endpoint:?}: {e}").into())
            })?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| PortError::Unavailable(format!("POST {endpoint}: timed out").into()))?
            .map_err(|e| PortError::Unavailable(format!("POST {endpoint}: {e}").into()))?;
        Ok(response.status().as_u16())
    }
}
