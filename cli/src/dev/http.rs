//! The HTTP side: `POST /hook` is the webhook; every other path is the deck.

use super::*;

/// `POST /hook` is the webhook; every other path is the deck
/// (`skiff_deck::handle`, the same handler the `deck` Lambda runs).
pub fn router(dev: Arc<Dev>) -> Router {
    Router::new()
        .route("/hook", post(hook))
        .fallback(deck)
        .with_state(dev)
}

async fn hook(State(dev): State<Arc<Dev>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = skiff_webhook::WebhookRequest {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
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
) -> Response {
    let req = skiff_deck::DeckRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
    };
    let e = &dev.engine;
    let options = skiff_deck::DeckOptions::default();
    let deps = skiff_deck::Deps {
        store: e.store.as_ref(),
        logs: e.logs.as_ref(),
        config: Some(&e.config),
        clock: e.clock.as_ref(),
        clusters: Some(&e.clusters),
        options: &options,
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
