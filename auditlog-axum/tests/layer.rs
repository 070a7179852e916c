//! The layer and the extractor inside an axum router, driven without a network.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use auditlog_axum::{
    Actor, AuditContext, IpNet, RequestAudit, RequestContextConfig, RequestContextLayer,
};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceExt;

/// Answers with the context the handler received, as JSON.
async fn show(RequestAudit(context): RequestAudit) -> Json<AuditContext> {
    Json(context)
}

async fn show_optional(context: Option<RequestAudit>) -> String {
    format!("{}", context.is_some())
}

fn app(config: RequestContextConfig, peer: &str) -> Router {
    let peer: SocketAddr = peer.parse().unwrap();
    Router::new()
        .route("/show", get(show))
        .route(
            "/own-header",
            get(|| async { ([("x-request-id", "inner")], "body").into_response() }),
        )
        .layer(RequestContextLayer::new(config))
        .layer(MockConnectInfo(peer))
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let echoed = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, echoed, body.to_vec())
}

fn get_show() -> axum::http::request::Builder {
    Request::builder().uri("/show")
}

#[tokio::test]
async fn handler_receives_the_context_and_the_id_is_echoed() {
    let config = RequestContextConfig::new()
        .actor_from(|req| Some(Actor::new(req.headers.get("x-user")?.to_str().ok()?)));
    let request = get_show()
        .header("x-user", "u-7")
        .header("x-request-id", "req-42")
        .body(Body::empty())
        .unwrap();

    let (status, echoed, body) = call(app(config, "192.0.2.1:4000"), request).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed.as_deref(), Some("req-42"));
    let context: AuditContext = serde_json::from_slice(&body).unwrap();
    assert_eq!(context.actor_id.as_deref(), Some("u-7"));
    assert_eq!(context.remote_addr, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(context.remote_port, Some(4000));
    assert_eq!(context.correlation_id.as_deref(), Some("req-42"));
}

#[tokio::test]
async fn generated_id_is_echoed_when_the_request_has_none() {
    let request = get_show().body(Body::empty()).unwrap();

    let (_, echoed, body) = call(app(RequestContextConfig::new(), "192.0.2.1:4000"), request).await;

    let context: AuditContext = serde_json::from_slice(&body).unwrap();
    let echoed = echoed.unwrap();
    assert_eq!(context.correlation_id.as_deref(), Some(echoed.as_str()));
    assert_eq!(echoed.len(), 36, "a hyphenated UUID: {echoed}");
}

#[tokio::test]
async fn unacceptable_request_id_is_replaced_in_the_context_and_the_response() {
    let request = get_show()
        .header("x-request-id", &b"evil\xc2\x9b31m id"[..])
        .body(Body::empty())
        .unwrap();

    let (_, echoed, body) = call(app(RequestContextConfig::new(), "192.0.2.1:4000"), request).await;

    let context: AuditContext = serde_json::from_slice(&body).unwrap();
    let echoed = echoed.unwrap();
    assert!(!echoed.contains("evil"), "{echoed}");
    assert_eq!(context.correlation_id, Some(echoed));
}

#[tokio::test]
async fn forwarded_address_is_used_only_behind_a_trusted_proxy() {
    let request = || {
        get_show()
            .header("x-forwarded-for", "203.0.113.9")
            .body(Body::empty())
            .unwrap()
    };
    let trusting = RequestContextConfig::new().trust_proxy("10.0.0.0/8".parse::<IpNet>().unwrap());

    let (_, _, body) = call(app(trusting.clone(), "10.0.0.2:4000"), request()).await;
    let context: AuditContext = serde_json::from_slice(&body).unwrap();
    assert_eq!(context.remote_addr, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(context.remote_port, None);

    let (_, _, body) = call(app(trusting, "192.0.2.1:4000"), request()).await;
    let context: AuditContext = serde_json::from_slice(&body).unwrap();
    assert_eq!(context.remote_addr, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(context.remote_port, Some(4000));
}

#[tokio::test]
async fn echo_replaces_the_inner_services_header_and_can_be_renamed_or_off() {
    let request = || {
        Request::builder()
            .uri("/own-header")
            .header("x-request-id", "req-1")
            .body(Body::empty())
            .unwrap()
    };

    let (_, echoed, _) = call(app(RequestContextConfig::new(), "192.0.2.1:1"), request()).await;
    assert_eq!(echoed.as_deref(), Some("req-1"));

    let off = RequestContextConfig::new().response_header(None);
    let (_, echoed, _) = call(app(off, "192.0.2.1:1"), request()).await;
    assert_eq!(echoed.as_deref(), Some("inner"));

    let renamed = RequestContextConfig::new()
        .response_header(Some(HeaderName::from_static("x-correlation-id")));
    let response = app(renamed, "192.0.2.1:1")
        .oneshot(request())
        .await
        .unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "req-1");
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_server_error() {
    let app = Router::new()
        .route("/show", get(show))
        .route("/optional", get(show_optional));

    let (status, _, body) = call(app.clone(), get_show().body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let message = String::from_utf8(body).unwrap();
    assert!(message.contains("RequestContextLayer"), "{message}");

    let optional = Request::builder()
        .uri("/optional")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(app, optional).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"false");
}
