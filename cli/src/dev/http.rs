//! The HTTP side: `POST /hook` is the webhook, `POST /eventbridge` takes
//! CodeCommit's events; every other path is the deck.

use axum::extract::ConnectInfo;
use axum::routing::any;
use skiff_webhook::eventbridge::{EventBridgeDeps, EventBridgeRequest};

use super::*;

/// `POST /hook` is the webhook; `POST /eventbridge` takes EventBridge
/// events (`skiff_webhook::eventbridge`: it needs the peer's address, so
/// serve with `into_make_service_with_connect_info::<SocketAddr>`); every
/// other path is the deck (`skiff_deck::handle`, the same handler the
/// `deck` Lambda runs).
pub fn router(dev: Arc<Dev>) -> Router {
    // GitHub sends up to 25 MB; axum's default cap (2 MiB) would refuse a
    // large push that the webhook itself accepts.
    let hook_limit = axum::extract::DefaultBodyLimit::max(dev.webhook.max_body_bytes);
    let eventbridge_limit = axum::extract::DefaultBodyLimit::max(dev.eventbridge.max_body_bytes);
    Router::new()
        .route("/hook", post(hook).layer(hook_limit))
        .route("/eventbridge", post(eventbridge).layer(eventbridge_limit))
        .route("/metrics", axum::routing::get(super::metrics::metrics))
        .route("/v1/executions", any(super::gangway::executions))
        .route("/v1/executions/{id}", any(super::gangway::executions))
        .fallback(deck)
        .layer(axum::middleware::from_fn(answer_panics))
        .with_state(dev)
}

/// A handler that panics answers its request 500, with the cause logged;
/// the server goes on serving the others.
async fn answer_panics(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_string();
    match skiff_core::panic::catch(next.run(req)).await {
        Ok(resp) => resp,
        Err(panicked) => {
            tracing::error!(panic = %panicked.0, path, "a request handler panicked");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)").into_response()
        }
    }
}

pub(super) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

async fn eventbridge(
    State(dev): State<Arc<Dev>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = EventBridgeRequest {
        peer: peer.ip(),
        headers: header_pairs(&headers),
        body: body.to_vec(),
    };
    let e = &dev.engine;
    let deps = EventBridgeDeps {
        store: e.store.as_ref(),
        events: e.events.as_ref(),
        clock: e.clock.as_ref(),
        config: &dev.eventbridge,
    };
    let resp = skiff_webhook::eventbridge::handle(&req, &deps).await;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, resp.content_type)],
        resp.body,
    )
        .into_response()
}

async fn hook(State(dev): State<Arc<Dev>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = skiff_webhook::WebhookRequest {
        headers: header_pairs(&headers),
        body: body.to_vec(),
    };
    let e = &dev.engine;
    let deps = skiff_webhook::WebhookDeps {
        store: e.store.as_ref(),
        events: e.events.as_ref(),
        clock: e.clock.as_ref(),
        config: &dev.webhook,
    };
    let resp = skiff_webhook::handle(&req, &deps).await;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, resp.body).into_response()
}

async fn deck(
    State(dev): State<Arc<Dev>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = skiff_deck::DeckRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: header_pairs(&headers),
        body: body.to_vec(),
    };
    let e = &dev.engine;
    let options = super::metrics::deck_options(&dev);
    let operator = dev.deck.as_ref().map(|d| skiff_deck::Operator {
        sign_in: match &d.sign_in {
            super::DeckSignIn::Anyone => skiff_deck::SignIn::Anyone,
            super::DeckSignIn::GitHub(app) => skiff_deck::SignIn::GitHub(app.as_ref()),
        },
        cookie_key: &d.cookie_key,
        secure_cookies: d.secure_cookies,
        scm: Some(e.scm.as_ref()),
        dispatch: e.dispatch.as_ref(),
    });
    let deps = skiff_deck::Deps {
        store: e.store.as_ref(),
        logs: e.logs.as_ref(),
        config: Some(&e.config),
        clock: e.clock.as_ref(),
        clusters: Some(&e.clusters),
        options: &options,
        operator: operator.as_ref(),
        viewer: None,
    };
    let resp = skiff_deck::handle(&req, &deps).await;
    let mut out = Response::builder()
        .status(StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &resp.headers {
        out = out.header(k.as_str(), v.as_str());
    }
    out.body(axum::body::Body::from(resp.body))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

/// The dev router in process, its peer set by axum's `MockConnectInfo`:
/// who `/eventbridge` serves as `skiff dev` wires it, and what becomes of
/// CodeCommit events without `--codecommit-endpoint-url`.
#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::Request;
    use hmac::{Hmac, Mac};
    use serde_json::{Value, json};
    use skiff_core::ports::JobQuery;
    use tower::ServiceExt;

    use super::*;

    const SECRET: &str = "dev-secret";

    /// The region this process serves: the environment's, as `build` reads it.
    fn region() -> String {
        super::super::codecommit::served_region(|name| std::env::var(name).ok())
    }

    /// `skiff dev` on a temporary state dir, with a presubmit and a
    /// postsubmit on `<region>/widgets`; signing `/eventbridge` with
    /// [`SECRET`] when `signed`.
    async fn dev(dir: &Path, signed: bool) -> Arc<Dev> {
        let jobs = format!(
            "presubmits:\n  {r}/widgets:\n  - name: unit\n    always_run: true\n    spec: {{containers: [{{image: alpine, command: [/bin/true]}}]}}\n\
             postsubmits:\n  {r}/widgets:\n  - name: build\n    branches: [main]\n    spec: {{containers: [{{image: alpine, command: [/bin/true]}}]}}\n",
            r = region()
        );
        std::fs::write(dir.join("config.yaml"), "plank: {}\n").expect("config");
        std::fs::write(dir.join("jobs.yaml"), jobs).expect("jobs");
        std::fs::write(dir.join("secret"), format!("{SECRET}\n")).expect("secret");
        let args = Args {
            config_path: Some(dir.join("config.yaml")),
            job_config_path: Some(dir.join("jobs.yaml")),
            plugin_config: None,
            listen: "127.0.0.1:0".parse().expect("an address"),
            state_dir: dir.join("state"),
            hmac_secret_file: signed.then(|| dir.join("secret")),
            github_api_url: "http://127.0.0.1:9".into(),
            github_token_file: None,
            bot: DEFAULT_BOT.into(),
            tick_seconds: 10,
            sync_seconds: 2,
            sweep_seconds: 60,
            tide_seconds: 60,
            max_parallel: 1,
            cluster: ClusterChoice::Local,
            gangway_auth: Default::default(),
            reporting: ReportingArgs::default(),
            deck: super::super::DeckArgs::default(),
        };
        build(&args).await.expect("skiff dev builds")
    }

    /// Posts `event` to `/eventbridge` from `peer`.
    async fn post(
        dev: &Arc<Dev>,
        peer: &str,
        event: &Value,
        signature: Option<&str>,
    ) -> (u16, String) {
        let peer: SocketAddr = peer.parse().expect("a peer address");
        let app = router(dev.clone()).layer(MockConnectInfo(peer));
        let mut req = Request::post("/eventbridge").header("content-type", "application/json");
        if let Some(s) = signature {
            req = req.header("X-Skiff-Signature-256", s);
        }
        let req = req.body(Body::from(event.to_string())).expect("a request");
        let resp = app.oneshot(req).await.expect("an answer");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn sign(body: &Value) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
        mac.update(body.to_string().as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    fn envelope(id: &str, region: &str, detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0", "id": id, "detail-type": detail_type, "source": "aws.codecommit",
            "account": "123456789012", "time": "2026-12-04T16:00:00Z", "region": region,
            "resources": [format!("arn:aws:codecommit:{region}:123456789012:widgets")],
            "detail": detail,
        })
    }

    fn push(id: &str, region: &str) -> Value {
        envelope(
            id,
            region,
            "CodeCommit Repository State Change",
            json!({
                "callerUserArn": "arn:aws:iam::123456789012:user/alice",
                "commitId": "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9", "event": "referenceUpdated",
                "oldCommitId": "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",
                "referenceFullName": "refs/heads/main", "referenceName": "main",
                "referenceType": "branch", "repositoryName": "widgets",
            }),
        )
    }

    fn pr_created(id: &str, region: &str) -> Value {
        envelope(
            id,
            region,
            "CodeCommit Pull Request State Change",
            json!({
                "author": "arn:aws:iam::123456789012:user/alice",
                "callerUserArn": "arn:aws:iam::123456789012:user/alice",
                "destinationCommit": "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0",
                "destinationReference": "refs/heads/main", "event": "pullRequestCreated",
                "isMerged": "False", "pullRequestId": "1", "pullRequestStatus": "Open",
                "repositoryNames": ["widgets"],
                "sourceCommit": "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8",
                "sourceReference": "refs/heads/faster", "title": "Make widgets faster",
            }),
        )
    }

    async fn jobs(dev: &Dev) -> Vec<String> {
        dev.engine
            .store
            .list(&JobQuery::All, None)
            .await
            .expect("the records")
            .iter()
            .map(|j| {
                format!(
                    "{} {}",
                    j.spec.job,
                    j.spec.refs.as_ref().map_or("", |r| r.org.as_str())
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn without_a_secret_another_machine_is_refused_and_loopback_is_served() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dev = dev(dir.path(), false).await;
        let event = push("ev-peer", &region());

        let (status, body) = post(&dev, "192.0.2.7:40000", &event, None).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body.contains("192.0.2.7 is not a loopback address"),
            "{body}"
        );
        assert!(body.contains("--hmac-secret-file"), "{body}");
        assert!(
            dev.engine
                .events
                .receive(10)
                .await
                .expect("receive")
                .is_empty()
        );

        // Refused, so not remembered: the same event from this machine is taken.
        assert_eq!(
            post(&dev, "127.0.0.1:40000", &event, None).await,
            (200, "queued".into())
        );
        assert_eq!(
            post(&dev, "[::1]:40000", &event, None).await,
            (200, "duplicate delivery".into())
        );
    }

    #[tokio::test]
    async fn with_a_secret_file_every_event_is_signed_loopback_included() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dev = dev(dir.path(), true).await;
        let event = push("ev-signed", &region());
        let (status, body) = post(&dev, "127.0.0.1:40000", &event, None).await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = post(
            &dev,
            "127.0.0.1:40000",
            &event,
            Some(&sign(&json!("other"))),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        let signature = sign(&event);
        assert_eq!(
            post(&dev, "192.0.2.7:40000", &event, Some(&signature)).await,
            (200, "queued".into())
        );
    }

    /// No endpoint: a push of a job without file filters needs nothing the
    /// event lacks and runs; a pull request needs its base branch's head,
    /// which only CodeCommit knows, and is dropped with that reason; another
    /// region is not served.
    #[tokio::test]
    async fn without_an_endpoint_what_the_event_carries_is_planned_and_nothing_is_invented() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dev = dev(dir.path(), false).await;
        let region = region();
        assert!(dev.engine.codecommit.reports.is_none());

        assert_eq!(
            post(&dev, "127.0.0.1:1", &push("ev-push", &region), None)
                .await
                .0,
            200
        );
        assert_eq!(trigger_step(&dev).await, 1);
        assert_eq!(jobs(&dev).await, [format!("build {region}")]);

        assert_eq!(
            post(&dev, "127.0.0.1:1", &pr_created("ev-pr", &region), None)
                .await
                .0,
            200
        );
        assert_eq!(trigger_step(&dev).await, 1);
        assert_eq!(jobs(&dev).await.len(), 1, "the pull request is not planned");

        let elsewhere = if region == "eu-west-1" {
            "us-west-2"
        } else {
            "eu-west-1"
        };
        assert_eq!(
            post(&dev, "127.0.0.1:1", &push("ev-far", elsewhere), None)
                .await
                .0,
            200
        );
        assert_eq!(trigger_step(&dev).await, 1);
        assert_eq!(jobs(&dev).await.len(), 1, "{elsewhere} is not served");
        // Every message was settled, none left to retry.
        assert_eq!(trigger_step(&dev).await, 0);
    }

    /// The 2 MiB defect: axum's default cap once refused deliveries the
    /// webhook accepts. A signed 2.6 MB delivery is answered by the webhook;
    /// one over GitHub's 25 MB is refused before it is read whole (the
    /// padding around `zen` puts the body over the cap).
    #[tokio::test]
    async fn hook_bodies_are_capped_at_githubs_25_mb_not_axums_2_mib() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dev = dev(dir.path(), true).await;
        let cap = skiff_webhook::DEFAULT_MAX_BODY_BYTES;
        for (size, want) in [(2_600_000, 200), (cap, 413)] {
            let event = json!({ "zen": "z".repeat(size), "hook_id": 1 });
            let req = Request::post("/hook")
                .header("content-type", "application/json")
                .header("X-GitHub-Event", "ping")
                .header("X-GitHub-Delivery", format!("big-{size}"))
                .header("X-Hub-Signature-256", sign(&event))
                .body(Body::from(event.to_string()))
                .expect("a request");
            let peer: SocketAddr = "127.0.0.1:40000".parse().expect("a peer address");
            let app = router(dev.clone()).layer(MockConnectInfo(peer));
            let resp = app.oneshot(req).await.expect("an answer");
            assert_eq!(resp.status().as_u16(), want, "a body of {size} bytes");
        }
    }
}
