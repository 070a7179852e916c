//! What the layer reads from a request, and whom it believes.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use auditlog_core::AuditContext;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::ConnectInfo;
use http::request::Parts;
use http::HeaderName;
use ipnet::IpNet;

use crate::{client, headers};

/// Who is making a request, as the application's own authentication decided: an id and,
/// optionally, a display name or e-mail (recorded as they are at the time of the change).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actor {
    /// The user's or service's id.
    pub id: String,
    /// The display name or e-mail.
    pub display: Option<String>,
}

impl Actor {
    /// An actor known by id only.
    pub fn new(id: impl Into<String>) -> Self {
        Actor {
            id: id.into(),
            display: None,
        }
    }

    /// Adds the display name or e-mail.
    pub fn display(mut self, display: impl Into<String>) -> Self {
        self.display = Some(display.into());
        self
    }
}

type ActorFn = dyn Fn(&Parts) -> Option<Actor> + Send + Sync;

/// How an [`AuditContext`] is read from an HTTP request: which proxies to believe, who the
/// actor is, where the session and the correlation id come from.
///
/// The defaults trust no proxy, know no actor, read no session, and take the correlation id
/// from `X-Request-Id`, then `X-Correlation-Id`, echoing it in the `X-Request-Id` response
/// header.
///
/// ```
/// use auditlog_axum::{Actor, IpNet, RequestContextConfig};
///
/// let config = RequestContextConfig::new()
///     // The load balancers in front of the service.
///     .trust_proxy("10.0.0.0/8".parse::<IpNet>()?)
///     // Whatever the application's authentication layer put in the request.
///     .actor_from(|req| req.extensions.get::<Actor>().cloned())
///     .session_cookie("sid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RequestContextConfig {
    trusted_proxies: Vec<IpNet>,
    actor: Option<Arc<ActorFn>>,
    session_cookie: Option<String>,
    session_header: Option<HeaderName>,
    session_verbatim: bool,
    correlation_headers: Vec<HeaderName>,
    response_header: Option<HeaderName>,
}

impl Default for RequestContextConfig {
    fn default() -> Self {
        RequestContextConfig {
            trusted_proxies: Vec::new(),
            actor: None,
            session_cookie: None,
            session_header: None,
            session_verbatim: false,
            correlation_headers: vec![X_REQUEST_ID, X_CORRELATION_ID],
            response_header: Some(X_REQUEST_ID),
        }
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

impl fmt::Debug for RequestContextConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContextConfig")
            .field("trusted_proxies", &self.trusted_proxies)
            .field("actor", &self.actor.as_ref().map(|_| "<fn>"))
            .field("session_cookie", &self.session_cookie)
            .field("session_header", &self.session_header)
            .field("session_verbatim", &self.session_verbatim)
            .field("correlation_headers", &self.correlation_headers)
            .field("response_header", &self.response_header)
            .finish()
    }
}

impl RequestContextConfig {
    /// The defaults: no trusted proxy, no actor, no session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Believes `X-Forwarded-For` from peers in `network` (a single address is a `/32` or
    /// `/128` network: `"192.0.2.10/32".parse()`, or `IpNet::from(addr)`).
    ///
    /// Only trust the proxies that the service can be reached *through*: a client connecting
    /// directly from a trusted network could otherwise name any address it likes. IPv4
    /// addresses in IPv6 form (`::ffff:10.0.0.1`) match IPv4 networks.
    pub fn trust_proxy(mut self, network: impl Into<IpNet>) -> Self {
        self.trusted_proxies.push(network.into());
        self
    }

    /// Believes `X-Forwarded-For` from peers in any of `networks`.
    pub fn trust_proxies(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies.extend(networks);
        self
    }

    /// The trusted proxy networks.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }

    /// Names the actor of each request. `actor` sees the request's head after the layers
    /// outside this one ran: an authentication layer there can leave the user in the
    /// extensions, or `actor` can read a header itself. Returning `None` records no actor.
    pub fn actor_from<F>(mut self, actor: F) -> Self
    where
        F: Fn(&Parts) -> Option<Actor> + Send + Sync + 'static,
    {
        self.actor = Some(Arc::new(actor));
        self
    }

    /// Reads the session from cookie `name`. Tried before [`session_header`](Self::session_header).
    /// The value is recorded as its [`session_fingerprint`](crate::session_fingerprint) unless
    /// [`session_id_verbatim`](Self::session_id_verbatim) is set.
    pub fn session_cookie(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = Some(name.into());
        self
    }

    /// Reads the session from header `name` when the cookie (if any) is absent. Recorded as
    /// a fingerprint unless [`session_id_verbatim`](Self::session_id_verbatim) is set.
    pub fn session_header(mut self, name: HeaderName) -> Self {
        self.session_header = Some(name);
        self
    }

    /// Records the session value itself (cut to
    /// [`MAX_SESSION_ID_CHARS`](crate::MAX_SESSION_ID_CHARS)) rather than its fingerprint. Only
    /// for values that identify a session without granting it, never for a session token.
    pub fn session_id_verbatim(mut self) -> Self {
        self.session_verbatim = true;
        self
    }

    /// The request headers a correlation id is taken from: the first one present with an
    /// [acceptable](crate::is_acceptable_correlation_id) value wins; without one, a new id is
    /// generated. Replaces the default `X-Request-Id`, `X-Correlation-Id`.
    pub fn correlation_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.correlation_headers = names.into_iter().collect();
        self
    }

    /// The response header that carries the correlation id used (default `X-Request-Id`;
    /// `None` sends none). It replaces any value the inner service set.
    pub fn response_header(mut self, name: Option<HeaderName>) -> Self {
        self.response_header = name;
        self
    }

    pub(crate) fn response_header_name(&self) -> Option<&HeaderName> {
        self.response_header.as_ref()
    }

    /// The audit context of a request, as the layer computes it. The client address comes
    /// from axum's [`ConnectInfo<SocketAddr>`](ConnectInfo) extension (serve the router with
    /// `into_make_service_with_connect_info::<SocketAddr>()`), or in tests from
    /// [`MockConnectInfo<SocketAddr>`]; without either the address is unknown. The context
    /// always has a correlation id.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use auditlog_axum::{IpNet, RequestContextConfig};
    /// use axum::extract::ConnectInfo;
    ///
    /// let config = RequestContextConfig::new().trust_proxy("10.0.0.0/8".parse::<IpNet>()?);
    /// let peer: SocketAddr = "10.0.0.2:33000".parse()?;
    /// let (parts, ()) = http::Request::builder()
    ///     .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
    ///     .header("x-request-id", "req-7d1e")
    ///     .extension(ConnectInfo(peer))
    ///     .body(())?
    ///     .into_parts();
    ///
    /// let context = config.context_for(&parts);
    /// // The trusted proxy vouches for its client; the entry left of it is the client's claim.
    /// assert_eq!(context.remote_addr, Some("203.0.113.9".parse()?));
    /// assert_eq!(context.remote_port, None);
    /// assert_eq!(context.correlation_id.as_deref(), Some("req-7d1e"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context_for(&self, parts: &Parts) -> AuditContext {
        let mut context = AuditContext::new();

        if let Some(actor) = self.actor.as_ref().and_then(|actor| actor(parts)) {
            context = context.actor(actor.id);
            if let Some(display) = actor.display {
                context = context.actor_display(display);
            }
        }

        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr)
            .or_else(|| {
                let MockConnectInfo(addr) =
                    parts.extensions.get::<MockConnectInfo<SocketAddr>>()?;
                Some(*addr)
            });
        if let Some((ip, port)) =
            client::client_address(peer, &parts.headers, &self.trusted_proxies)
        {
            context.remote_addr = Some(ip);
            context.remote_port = port;
        }

        context.user_agent = headers::user_agent(&parts.headers);
        context.session_id = self.session_id(parts);
        let correlation_id = headers::correlation_id(&parts.headers, &self.correlation_headers)
            .unwrap_or_else(AuditContext::generate_correlation_id);
        context.correlation_id(correlation_id)
    }

    fn session_id(&self, parts: &Parts) -> Option<String> {
        let from_cookie = || {
            let name = self.session_cookie.as_deref()?;
            headers::cookie(&parts.headers, name)
        };
        let from_header = || {
            let name = self.session_header.as_ref()?;
            headers::header(&parts.headers, name)
        };
        let value = from_cookie().or_else(from_header)?;
        Some(if self.session_verbatim {
            headers::truncate_chars(value, headers::MAX_SESSION_ID_CHARS)
        } else {
            headers::session_fingerprint(&value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(builder: http::request::Builder) -> Parts {
        builder.body(()).unwrap().into_parts().0
    }

    fn peer(addr: &str) -> ConnectInfo<SocketAddr> {
        ConnectInfo(addr.parse().unwrap())
    }

    #[test]
    fn every_part_of_the_context_is_read() {
        let config = RequestContextConfig::new()
            .actor_from(|req| {
                let user = req.headers.get("x-user")?.to_str().ok()?;
                Some(Actor::new(format!("u-{user}")).display(format!("{user}@example.com")))
            })
            .session_cookie("sid");
        let request = parts(
            http::Request::builder()
                .header("x-user", "alice")
                .header("user-agent", "curl/8.5.0")
                .header("cookie", "sid=tok-1")
                .header("x-request-id", "req-1")
                .extension(peer("198.51.100.4:50123")),
        );

        let context = config.context_for(&request);

        assert_eq!(context.actor_id.as_deref(), Some("u-alice"));
        assert_eq!(context.actor_display.as_deref(), Some("alice@example.com"));
        assert_eq!(context.remote_addr, Some("198.51.100.4".parse().unwrap()));
        assert_eq!(context.remote_port, Some(50123));
        assert_eq!(context.user_agent.as_deref(), Some("curl/8.5.0"));
        let fingerprint = crate::session_fingerprint("tok-1");
        assert_eq!(context.session_id, Some(fingerprint));
        assert_eq!(context.correlation_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn empty_request_gets_only_a_generated_correlation_id() {
        let context = RequestContextConfig::new().context_for(&parts(http::Request::builder()));
        let id = context.correlation_id.as_deref().unwrap();
        assert!(crate::is_acceptable_correlation_id(id), "{id}");
        assert_eq!(context.remote_addr, None);
        assert_eq!(context.actor_id, None);
        assert_eq!(context.session_id, None);
    }

    #[test]
    fn session_header_is_the_fallback_and_can_be_verbatim() {
        let config = RequestContextConfig::new()
            .session_cookie("sid")
            .session_header(HeaderName::from_static("x-session-id"))
            .session_id_verbatim();
        let header_only = parts(http::Request::builder().header("x-session-id", "s-42"));
        assert_eq!(
            config.context_for(&header_only).session_id.as_deref(),
            Some("s-42")
        );

        let both = parts(
            http::Request::builder()
                .header("x-session-id", "s-42")
                .header("cookie", "sid=s-7"),
        );
        assert_eq!(config.context_for(&both).session_id.as_deref(), Some("s-7"));
    }

    #[test]
    fn actor_function_returning_none_records_no_actor() {
        let config = RequestContextConfig::new().actor_from(|_| None);
        let context = config.context_for(&parts(http::Request::builder()));
        assert_eq!(context.actor_id, None);
        assert_eq!(context.actor_display, None);
    }

    #[test]
    fn custom_correlation_headers_replace_the_defaults() {
        let config = RequestContextConfig::new()
            .correlation_headers([HeaderName::from_static("x-amzn-trace-id")]);
        let request = parts(
            http::Request::builder()
                .header("x-request-id", "ignored")
                .header("x-amzn-trace-id", "trace-9"),
        );
        assert_eq!(
            config.context_for(&request).correlation_id.as_deref(),
            Some("trace-9")
        );
    }

    #[test]
    fn debug_output_names_the_settings_without_the_function() {
        let config = RequestContextConfig::new().actor_from(|_| None);
        let text = format!("{config:?}");
        assert!(text.contains("actor: Some(\"<fn>\")"), "{text}");
    }
}
