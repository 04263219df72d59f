//! Serving a fake on its own thread, so it answers while a test blocks or
//! runs its own runtime.

use std::time::Duration;

use axum::Router;

/// Serves `app` on 127.0.0.1 and a free port from a thread of its own;
/// returns its base URL. `what` names the fake in a failure.
pub(crate) fn on_own_thread(app: Router, what: &'static str) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{what}: no runtime: {e}"));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{what}: cannot bind: {e}"));
            let addr = listener
                .local_addr()
                .unwrap_or_else(|e| panic!("{what}: no address: {e}"));
            let _ = tx.send(format!("http://{addr}"));
            let _ = axum::serve(listener, app).await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"))
}
