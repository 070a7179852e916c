//! The tower layer: one audit context per request, in the request's extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::RequestContextConfig;

/// A tower [`Layer`] that reads each request's [`AuditContext`](auditlog_core::AuditContext)
/// (see [`RequestContextConfig::context_for`]), inserts it into the request's extensions for
/// the [`RequestAudit`](crate::RequestAudit) extractor, and sends the correlation id back in
/// the `X-Request-Id` response header.
///
/// Place it outside the routes that write (`Router::layer`), and inside the authentication
/// layer whose result the actor function reads.
#[derive(Debug, Clone)]
pub struct RequestContextLayer {
    config: Arc<RequestContextConfig>,
}

impl RequestContextLayer {
    /// A layer reading requests as `config` says.
    pub fn new(config: RequestContextConfig) -> Self {
        RequestContextLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`RequestContextLayer`].
#[derive(Debug, Clone)]
pub struct RequestContextService<S> {
    inner: S,
    config: Arc<RequestContextConfig>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestContextService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let context = self.config.context_for(&parts);

        // Accepted ids are visible ASCII and generated ones are UUIDs: both are valid values.
        let echo = self.config.response_header_name().and_then(|name| {
            let id = context.correlation_id.as_deref()?;
            Some((name.clone(), HeaderValue::from_str(id).ok()?))
        });
        parts.extensions.insert(context);

        ResponseFuture {
            inner: self.inner.call(Request::from_parts(parts, body)),
            echo,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestContextService`]: the inner service's response, with
    /// the correlation id header set.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        echo: Option<(HeaderName, HeaderValue)>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        if let Some((name, value)) = this.echo.take() {
            response.headers_mut().insert(name, value);
        }
        Poll::Ready(Ok(response))
    }
}
