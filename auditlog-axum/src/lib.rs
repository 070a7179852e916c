//! Audit context from HTTP requests, for [axum] and other [tower](https://docs.rs/tower) services.
//!
//! Every log entry carries an [`AuditContext`]: who made the change, from which address and
//! port, with which user agent and session, under which correlation id. In a web service all
//! of that comes from the request. This crate reads it once per request:
//!
//! - [`RequestContextLayer`], a tower layer configured by a [`RequestContextConfig`], computes
//!   the context of each request and puts it in the request's extensions. It sends the
//!   correlation id back in the `X-Request-Id` response header, so a client or a log line can
//!   be matched with the entries the request wrote.
//! - [`RequestAudit`], an axum extractor, hands the context to the handler, which sets it on
//!   its `AuditedConnection` (`conn.set_context(ctx)`) before writing.
//!
//! What goes into the context:
//!
//! | field | from |
//! |---|---|
//! | actor id and display | the application's function ([`RequestContextConfig::actor_from`]), which reads what its authentication established |
//! | address and port | the TCP peer (axum's `ConnectInfo<SocketAddr>`), or `X-Forwarded-For` when the peer is a [trusted proxy](RequestContextConfig::trust_proxy); a forwarded address has no port |
//! | user agent | `User-Agent`, as sent, cut to [`MAX_USER_AGENT_CHARS`] characters (the log escapes control characters when displaying it) |
//! | session id | a cookie or header, recorded as a [fingerprint](session_fingerprint) of its value unless told otherwise |
//! | correlation id | `X-Request-Id`, else `X-Correlation-Id`, when [acceptable](is_acceptable_correlation_id); otherwise a new UUID |
//!
//! Requests are never refused here: a missing or unusable header leaves its field empty (or,
//! for the correlation id, generated).
//!
//! # Example
//!
//! ```no_run
//! use std::net::SocketAddr;
//!
//! use auditlog_axum::{Actor, IpNet, RequestAudit, RequestContextConfig, RequestContextLayer};
//! use axum::routing::post;
//! use axum::Router;
//!
//! async fn create_contract(RequestAudit(context): RequestAudit) -> String {
//!     // In a real handler: `conn.set_context(context)` on an `AuditedConnection`, then write.
//!     format!("recorded as {:?} from {:?}", context.actor_id, context.remote_addr)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = RequestContextConfig::new()
//!         .trust_proxy("10.0.0.0/8".parse::<IpNet>()?)
//!         .actor_from(|req| {
//!             // Typically an extension left by the authentication layer.
//!             req.extensions.get::<Actor>().cloned()
//!         })
//!         .session_cookie("sid");
//!
//!     let app = Router::new()
//!         .route("/contracts", post(create_contract))
//!         .layer(RequestContextLayer::new(config));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     // The peer address reaches the layer through `ConnectInfo`.
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Trusted proxies
//!
//! Behind a load balancer the TCP peer is the balancer, and the client's address is in
//! `X-Forwarded-For`, a header any client can also send. It is believed only as far as a chain
//! of trusted proxies vouches for it: the entries are read from the right (the one the peer
//! appended) and the first address that is not a trusted proxy is the client. A peer that is
//! not trusted is the client, whatever the header says. A malformed entry ends the walk at the
//! last trusted hop. No proxy is trusted by default.

mod client;
mod config;
mod extract;
mod headers;
mod layer;

pub use auditlog_core::AuditContext;
pub use config::{Actor, RequestContextConfig};
pub use extract::{MissingAuditContext, RequestAudit};
pub use headers::{
    is_acceptable_correlation_id, session_fingerprint, MAX_CORRELATION_ID_LEN,
    MAX_SESSION_ID_CHARS, MAX_USER_AGENT_CHARS,
};
pub use ipnet::IpNet;
pub use layer::{RequestContextLayer, RequestContextService, ResponseFuture};
