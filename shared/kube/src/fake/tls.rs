//! HTTPS for the fake, so a client's trust in a cluster's CA (a kubeconfig's
//! `certificate-authority-data`, DescribeCluster's `certificateAuthority`) is
//! exercised for real.
//!
//! The certificates are test material made once with OpenSSL and checked in:
//! an EC P-256 CA `skiff fake kube-apiserver CA`, and a server certificate it
//! signed for `IP:127.0.0.1, DNS:localhost`, both valid 2020-01-01 to
//! 2120-01-01 (`openssl ca -startdate 20200101000000Z -enddate
//! 21200101000000Z`, extensions `basicConstraints=critical,CA:TRUE` /
//! `keyUsage=critical,keyCertSign,cRLSign` for the CA and
//! `extendedKeyUsage=serverAuth`, `subjectAltName` for the server). They
//! protect nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

/// The CA that signed the fake's server certificate, PEM.
pub(super) const CA_PEM: &str = include_str!("ca.pem");
const SERVER_PEM: &str = include_str!("server.pem");
const SERVER_KEY: &str = include_str!("server.key");

/// A handshake that takes longer is dropped, so one stuck client cannot stop
/// the fake from accepting others.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

fn der(pem_text: &str, what: &str) -> Vec<u8> {
    match pem::parse(pem_text) {
        Ok(p) => p.into_contents(),
        Err(e) => panic!("fake API server: the checked-in {what} is not PEM: {e}"),
    }
}

/// The server side of TLS with the checked-in certificate.
pub(super) fn acceptor() -> TlsAcceptor {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cert = CertificateDer::from(der(SERVER_PEM, "server certificate"));
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der(SERVER_KEY, "server key")));
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key));
    match config {
        Ok(config) => TlsAcceptor::from(Arc::new(config)),
        Err(e) => panic!("fake API server: cannot set up TLS: {e}"),
    }
}

/// Accepts TCP connections and completes the TLS handshake before handing
/// them to the HTTP server. A failed handshake (a client that does not trust
/// the CA) is dropped and the next connection accepted.
pub(super) struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, as axum's
                    // own TCP listener does.
                    tracing::debug!(error = %e, "fake API server: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(error = %e, "fake API server: TLS handshake failed"),
                Err(_) => tracing::debug!("fake API server: TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
