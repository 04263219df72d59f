//! `skiff dev`'s HTTP server: hyper's HTTP/1 over the router, with the limits
//! a server reachable by others needs (axum's `serve` sets none of them):
//!
//! - a request head (request line and headers) of at most
//!   [`Limits::max_head_bytes`] and 100 headers, else hyper answers 431;
//! - a URL of at most [`Limits::max_uri_bytes`], else 414;
//! - the head read within [`Limits::header_read_timeout`] — also the time an
//!   idle keep-alive connection is kept — else the connection is closed, so a
//!   slowloris-style client that trickles its headers cannot hold a slot;
//! - the body read and the answer made within [`Limits::request_timeout`],
//!   else 408 (GitHub itself gives up on a delivery after 10 s);
//! - at most [`Limits::max_connections`] connections, and at most
//!   [`Limits::max_connections_per_ip`] from one address: a connection over
//!   either is closed at once, so one peer cannot take every slot.
//!
//! Body sizes are the routes' own (`/hook` takes GitHub's 25 MB).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use super::*;

/// The server's limits; [`Limits::default`] is what `skiff dev` serves with.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_head_bytes: usize,
    pub max_uri_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            // nginx's default for large headers (4 × 8k) twice over.
            max_head_bytes: 64 * 1024,
            max_uri_bytes: 8 * 1024,
            max_connections: 1024,
            max_connections_per_ip: 128,
        }
    }
}

/// Connections open, overall and per peer address.
#[derive(Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A connection's place in [`Open`], given back when it closes.
struct Slot {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Slot {
    fn take(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut o = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_ip = o.by_ip.get(&ip).copied().unwrap_or(0);
        if o.total >= limits.max_connections || from_ip >= limits.max_connections_per_ip {
            return None;
        }
        o.total += 1;
        *o.by_ip.entry(ip).or_default() += 1;
        Some(Slot {
            open: open.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        o.total = o.total.saturating_sub(1);
        if let Some(n) = o.by_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                o.by_ip.remove(&self.ip);
            }
        }
    }
}

/// The router with the per-request limits: URL length and request time.
pub fn limited(app: Router, limits: Limits) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let uri_len = req.uri().to_string().len();
            if uri_len > limits.max_uri_bytes {
                return (
                    StatusCode::URI_TOO_LONG,
                    format!(
                        "the URL is {uri_len} bytes; the limit is {}",
                        limits.max_uri_bytes
                    ),
                )
                    .into_response();
            }
            match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
                Ok(resp) => resp,
                Err(_) => (
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request was not read and answered within {} s",
                        limits.request_timeout.as_secs()
                    ),
                )
                    .into_response(),
            }
        },
    ))
}

/// [`serve`] on threads of its own (a runtime of two workers): the webhook
/// answers GitHub while the loops keep the engine's workers busy, as Prow's
/// hook is a deployment of its own. Without it a delivery waited for a
/// worker behind the syncer's and dispatcher's passes: `skiff bench
/// pipeline`'s p99 was 14–15 ms with the webhook sharing them.
/// What [`serve`] returned, once it has.
pub fn serve_apart(
    listener: std::net::TcpListener,
    app: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) -> Result<tokio::sync::oneshot::Receiver<Result<(), String>>, String> {
    let cannot = |e: std::io::Error| format!("cannot start the HTTP server: {e}");
    listener.set_nonblocking(true).map_err(cannot)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("skiff-http")
        .enable_all()
        .build()
        .map_err(cannot)?;
    let (done, served) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("skiff-http".into())
        .spawn(move || {
            let result = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).map_err(cannot)?;
                serve(listener, app, limits, stop).await
            });
            let _ = done.send(result);
        })
        .map_err(cannot)?;
    Ok(served)
}

/// Serves `app` on `listener` until `stop` turns true, then lets open
/// connections finish their request.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let app = limited(app, limits);
    let open = Arc::new(Mutex::new(Open::default()));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: the next accept
                // may work once connections close.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = Slot::take(&open, peer.ip(), &limits) else {
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))),
        );
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(limits.max_head_bytes.max(8192))
                .max_headers(100);
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    return;
                }
                _ = stop.wait_for(|s| *s) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use axum::routing::get;

    use super::*;

    /// The engine's one worker is held (as a long pass holds it); the server
    /// on threads of its own still answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn the_server_answers_while_the_engines_workers_are_busy() {
        let (holding, held) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn(async move {
            holding.send(()).expect("the test waits");
            // Blocks the runtime's only worker until the test is done.
            let _ = released.recv();
        });
        held.recv().expect("the worker is held");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = listener.local_addr().expect("an address");
        let (stop_tx, stop) = watch::channel(false);
        let app = Router::new().route("/ping", get(|| async { "pong" }));
        let served = serve_apart(listener, app, Limits::default(), stop).expect("serving");

        // Plain blocking I/O: this thread is not the held worker.
        let mut stream = std::net::TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("sends");
        let mut answer = String::new();
        let read = stream.read_to_string(&mut answer);
        release.send(()).expect("the worker is released");
        busy.await.expect("the busy task ends");
        read.expect("an answer while the worker is held");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("pong"), "{answer}");

        stop_tx.send(true).expect("stops");
        served.await.expect("the server ends").expect("cleanly");
    }
}
