//! Recording security events and accesses.

use auditlog_core::{Auditable, NewLogEntry, SecurityEvent};

use crate::connection::write_entries;
use crate::{AuditConnection, AuditError, AuditedConnection};

impl<C: AuditConnection> AuditedConnection<'_, C> {
    /// Records a security event (a failed login, a role granted, an API key created, data
    /// exported) with the current context. Inside a transaction of the caller's, the entry
    /// commits or rolls back with it.
    ///
    /// Events are read back with the same history queries as data changes; filter them with
    /// [`History::event_name`](crate::History::event_name) and
    /// [`History::min_severity`](crate::History::min_severity).
    pub fn record_event(&mut self, event: SecurityEvent) -> Result<(), AuditError> {
        self.audited(|conn, env| {
            let entry = NewLogEntry::event(event, env.context);
            write_entries(conn, env, "security event", vec![entry])
        })
    }

    /// Records that the current actor viewed `model`, so "who looked at this customer" is
    /// answerable. `details` may say which view, or why.
    pub fn record_access<M: Auditable>(
        &mut self,
        model: &M,
        details: Option<serde_json::Value>,
    ) -> Result<(), AuditError> {
        self.audited(|conn, env| {
            let entry = NewLogEntry::access(model, details, env.context);
            write_entries(conn, env, M::OBJECT_TYPE, vec![entry])
        })
    }
}
