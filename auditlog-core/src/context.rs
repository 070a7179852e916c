//! Who made a change, from where, and why.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The context of a change: attached to every entry written while it is in effect.
///
/// The actor is recorded by id *and* by a display name or e-mail captured at write time, so
/// the history stays readable after the user is deleted. Fill it with the chained setters:
///
/// ```
/// use auditlog_core::AuditContext;
///
/// let ctx = AuditContext::new()
///     .actor("42")
///     .actor_display("alice@example.com")
///     .remote_addr("203.0.113.7:51234".parse().unwrap())
///     .user_agent("Mozilla/5.0")
///     .session_id("s-9f2c")
///     .correlation_id("req-7d1e")
///     .reason("customer asked for an upgrade")
///     .additional("ticket", "SUP-1234");
///
/// assert_eq!(ctx.actor_id.as_deref(), Some("42"));
/// assert_eq!(ctx.remote_port, Some(51234));
/// assert_eq!(ctx.additional_data.as_ref().unwrap()["ticket"], "SUP-1234");
/// ```
///
/// Record a session *identifier*, never a bearer token or cookie value: the log is read by
/// more people than the session store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditContext {
    /// The id of the user or service that made the change.
    pub actor_id: Option<String>,
    /// The actor's display name or e-mail at the time of the change.
    pub actor_display: Option<String>,
    /// The client's address.
    pub remote_addr: Option<IpAddr>,
    /// The client's source port.
    pub remote_port: Option<u16>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The id of the client's session.
    pub session_id: Option<String>,
    /// The id shared by every entry of one request or operation (a request id).
    pub correlation_id: Option<String>,
    /// Why the change was made, in the actor's words.
    pub reason: Option<String>,
    /// Anything else worth keeping, as a JSON object.
    pub additional_data: Option<Map<String, Value>>,
}

impl AuditContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the actor's id.
    pub fn actor(mut self, id: impl Into<String>) -> Self {
        self.actor_id = Some(id.into());
        self
    }

    /// Sets the actor's display name or e-mail.
    pub fn actor_display(mut self, display: impl Into<String>) -> Self {
        self.actor_display = Some(display.into());
        self
    }

    /// Sets the client's address and port.
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr.ip());
        self.remote_port = Some(addr.port());
        self
    }

    /// Sets the client's address when the port is unknown.
    pub fn remote_ip(mut self, ip: IpAddr) -> Self {
        self.remote_addr = Some(ip);
        self
    }

    /// Sets the client's user agent.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// Sets the session id.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the correlation (request) id.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the reason for the change.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds one key to the additional data.
    pub fn additional(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.additional_data
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// Replaces the additional data.
    pub fn additional_data(mut self, data: Map<String, Value>) -> Self {
        self.additional_data = Some(data);
        self
    }

    /// A new random correlation id (a UUID v4 in hyphenated form).
    pub fn generate_correlation_id() -> String {
        uuid::Uuid::new_v4().hyphenated().to_string()
    }
}
