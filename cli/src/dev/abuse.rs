//! The dev server under abuse, over real TCP on loopback: oversized request
//! heads and URLs, slowloris-style clients trickling their headers or body,
//! and one peer opening more connections than its share. Each test serves the
//! real router (deck and `/hook`) with short limits and then shows a
//! well-behaved client is still answered.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::server::{Limits, serve};
use super::*;

fn limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(800),
        max_head_bytes: 16 * 1024,
        max_uri_bytes: 4 * 1024,
        max_connections: 64,
        max_connections_per_ip: 8,
    }
}

/// A router with a deck that answers at once (the real one needs a store).
fn app() -> Router {
    Router::new()
        .route(
            "/hook",
            post(|body: Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .fallback(|| async { "deck" })
}

struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

async fn start(limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app(), limits, rx));
    Server { addr, stop, task }
}

impl Server {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let ended = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "the server stops cleanly: {ended:?}"
        );
    }
}

/// Connects from `from` (any address of 127.0.0.0/8).
async fn connect(to: SocketAddr, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(format!("{from}:0").parse().expect("an address"))
        .expect("bind the client");
    socket.connect(to).await.expect("connect")
}

/// Sends `raw` and reads until the server closes or `wait` passes: the
/// status code of the answer, if one came.
async fn exchange(to: SocketAddr, raw: &[u8], wait: Duration) -> Option<u16> {
    let mut s = connect(to, "127.0.0.1").await;
    // The server may answer and close before the whole request is written.
    let _ = s.write_all(raw).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n").into_bytes()
}

const WAIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn heads_and_urls_over_their_limits_are_refused_with_431_and_414() {
    let server = start(limits()).await;
    let a = server.addr;
    assert_eq!(exchange(a, &get("/", ""), WAIT).await, Some(200));
    let long_path = format!("/?q={}", "a".repeat(5 * 1024));
    assert_eq!(exchange(a, &get(&long_path, ""), WAIT).await, Some(414));
    let big_header = format!("X-Big: {}\r\n", "b".repeat(20 * 1024));
    assert_eq!(exchange(a, &get("/", &big_header), WAIT).await, Some(431));
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(exchange(a, &get("/", &many), WAIT).await, Some(431));
    assert_eq!(
        exchange(a, &get("/", ""), WAIT).await,
        Some(200),
        "still serving"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_header_read_timeout() {
    let server = start(limits()).await;
    let mut slow = connect(server.addr, "127.0.0.1").await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        // One header byte every 100 ms: never a whole head.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if slow.write_all(b"X").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the trickling client was never cut off"
        );
    }
    let held = started.elapsed();
    assert!(
        held >= Duration::from_millis(400) && held < Duration::from_secs(3),
        "cut off after {held:?}, the timeout being 500 ms"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_request_timeout_gets_408() {
    let server = start(limits()).await;
    let mut slow = connect(server.addr, "127.0.0.1").await;
    slow.write_all(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx")
        .await
        .expect("write");
    let mut out = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 256];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within {WAIT:?}");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn one_peer_cannot_take_every_connection_and_others_are_still_served() {
    // The kept connections must outlive the counting below.
    let server = start(Limits {
        header_read_timeout: Duration::from_secs(10),
        ..limits()
    })
    .await;
    // 40 idle connections from one address, more than its share of 8.
    let mut hogs = Vec::new();
    for _ in 0..40 {
        let mut s = connect(server.addr, "127.0.0.2").await;
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
        hogs.push(s);
    }
    // The server closes the ones over the share as it accepts them (the
    // read ends); the kept ones wait for the rest of their head.
    let mut closed = 0;
    for s in &mut hogs {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
        if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, 32, "40 opened, 8 kept");
    // Another address is served while the hogs still hold theirs.
    assert_eq!(exchange(server.addr, &get("/", ""), WAIT).await, Some(200));
    drop(hogs);
    server.stop().await;
}
