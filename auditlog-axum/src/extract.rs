//! The axum extractor for the context the layer computed.

use std::convert::Infallible;

use auditlog_core::AuditContext;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

/// The request's [`AuditContext`], as [`RequestContextLayer`](crate::RequestContextLayer)
/// computed it: pass it to `AuditedConnection::set_context`.
///
/// Extracting it from a request the layer did not see fails with [`MissingAuditContext`], a
/// 500 response: a route that writes without its context is a wiring mistake, not a client
/// error. `Option<RequestAudit>` extracts `None` instead.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestAudit(pub AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestAudit {
    type Rejection = MissingAuditContext;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuditContext>()
            .cloned()
            .map(RequestAudit)
            .ok_or(MissingAuditContext)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestAudit {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<AuditContext>()
            .cloned()
            .map(RequestAudit))
    }
}

/// The rejection of [`RequestAudit`] when the request has no audit context: the route is not
/// behind a [`RequestContextLayer`](crate::RequestContextLayer). Responds with 500 and this
/// error's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no audit context in this request: the route is not behind auditlog_axum::RequestContextLayer"
)]
pub struct MissingAuditContext;

impl IntoResponse for MissingAuditContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
