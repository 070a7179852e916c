//! Conversions between entries and rows of the log table.

use auditlog_core::{
    canonical_json, Action, AssociationChange, AuditContext, ChainFields, ChangeSet, EventDetails,
    LogEntry, NewLogEntry, ObjectRef, Severity, Snapshot, StoredEntry,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::audit_log;
use crate::AuditError;

/// The columns of an entry that its seal covers: every column but the id and the seal.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
#[allow(unreachable_pub)] // named by the sealed backend trait, never exported
pub struct EntryColumns {
    logged_at: NaiveDateTime,
    action: i16,
    object_type: String,
    object_key: String,
    object_repr: Option<String>,
    changes: String,
    snapshot: Option<String>,
    actor_id: Option<String>,
    actor_display: Option<String>,
    remote_addr: Option<String>,
    remote_port: Option<i32>,
    user_agent: Option<String>,
    session_id: Option<String>,
    correlation_id: Option<String>,
    reason: Option<String>,
    additional_data: Option<String>,
    event_name: Option<String>,
    severity: Option<i16>,
    details: Option<String>,
}

/// The seal columns of an entry.
#[derive(Debug, Clone, Default, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
#[allow(unreachable_pub)] // named by the sealed backend trait, never exported
pub struct SealColumns {
    pub(crate) key_id: Option<String>,
    pub(crate) prev_hash: Option<String>,
    pub(crate) entry_hash: Option<String>,
}

/// A row about to be inserted: flat (no embedded structs), so that PostgreSQL's binary `COPY`
/// takes it as well as a multi-row `INSERT`. Optional columns are written as `NULL` rather
/// than `DEFAULT`, so that a batch of rows is one statement on every backend.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
#[allow(unreachable_pub)] // named by the sealed backend trait, never exported
pub struct NewLogRow {
    logged_at: NaiveDateTime,
    action: i16,
    object_type: String,
    object_key: String,
    object_repr: Option<String>,
    changes: String,
    snapshot: Option<String>,
    actor_id: Option<String>,
    actor_display: Option<String>,
    remote_addr: Option<String>,
    remote_port: Option<i32>,
    user_agent: Option<String>,
    session_id: Option<String>,
    correlation_id: Option<String>,
    reason: Option<String>,
    additional_data: Option<String>,
    event_name: Option<String>,
    severity: Option<i16>,
    details: Option<String>,
    key_id: Option<String>,
    prev_hash: Option<String>,
    entry_hash: Option<String>,
}

impl NewLogRow {
    pub(crate) fn new(columns: EntryColumns, seal: SealColumns) -> Self {
        let EntryColumns {
            logged_at,
            action,
            object_type,
            object_key,
            object_repr,
            changes,
            snapshot,
            actor_id,
            actor_display,
            remote_addr,
            remote_port,
            user_agent,
            session_id,
            correlation_id,
            reason,
            additional_data,
            event_name,
            severity,
            details,
        } = columns;
        let SealColumns {
            key_id,
            prev_hash,
            entry_hash,
        } = seal;
        NewLogRow {
            logged_at,
            action,
            object_type,
            object_key,
            object_repr,
            changes,
            snapshot,
            actor_id,
            actor_display,
            remote_addr,
            remote_port,
            user_agent,
            session_id,
            correlation_id,
            reason,
            additional_data,
            event_name,
            severity,
            details,
            key_id,
            prev_hash,
            entry_hash,
        }
    }
}

/// A row read back from the log table.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
#[allow(unreachable_pub)] // named by the sealed backend trait, never exported
pub struct LogRow {
    id: i64,
    #[diesel(embed)]
    columns: EntryColumns,
    #[diesel(embed)]
    seal: SealColumns,
}

impl EntryColumns {
    pub(crate) fn from_entry(entry: NewLogEntry) -> Self {
        let NewLogEntry {
            timestamp,
            action,
            object,
            changes,
            snapshot,
            event,
            association,
            context: ctx,
        } = entry;
        let (event_name, severity, event_details) = match event {
            Some(e) => (Some(e.name), Some(e.severity.code()), e.details),
            None => (None, None, None),
        };
        let details = match (association, event_details) {
            (Some(a), _) => serde_json::to_value(a).ok(),
            (None, details) => details,
        };
        EntryColumns {
            logged_at: timestamp.naive_utc(),
            action: action.code(),
            object_type: object.object_type,
            object_key: object.object_key,
            object_repr: object.object_repr,
            changes: changes.to_canonical_json(),
            snapshot: snapshot.map(|s| s.to_canonical_json()),
            actor_id: ctx.actor_id,
            actor_display: ctx.actor_display,
            remote_addr: ctx.remote_addr.map(|a| a.to_string()),
            remote_port: ctx.remote_port.map(i32::from),
            user_agent: ctx.user_agent,
            session_id: ctx.session_id,
            correlation_id: ctx.correlation_id,
            reason: ctx.reason,
            additional_data: ctx
                .additional_data
                .map(|d| canonical_json(&serde_json::Value::Object(d))),
            event_name,
            severity,
            details: details.map(|d| canonical_json(&d)),
        }
    }

    /// The values the chain seals, exactly as stored.
    pub(crate) fn chain_fields(&self) -> ChainFields {
        self.clone().into_chain_fields()
    }

    /// [`chain_fields`](Self::chain_fields), without copying the text.
    pub(crate) fn into_chain_fields(self) -> ChainFields {
        ChainFields {
            logged_at_micros: self.logged_at.and_utc().timestamp_micros(),
            action: self.action,
            object_type: self.object_type,
            object_key: self.object_key,
            object_repr: self.object_repr,
            changes: self.changes,
            snapshot: self.snapshot,
            actor_id: self.actor_id,
            actor_display: self.actor_display,
            remote_addr: self.remote_addr,
            remote_port: self.remote_port,
            user_agent: self.user_agent,
            session_id: self.session_id,
            correlation_id: self.correlation_id,
            reason: self.reason,
            additional_data: self.additional_data,
            event_name: self.event_name,
            severity: self.severity,
            details: self.details,
        }
    }
}

impl LogRow {
    /// The row's id.
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The row as the chain verifier reads it.
    pub(crate) fn into_stored(self) -> StoredEntry {
        StoredEntry {
            id: self.id,
            fields: self.columns.into_chain_fields(),
            key_id: self.seal.key_id,
            prev_hash: self.seal.prev_hash,
            entry_hash: self.seal.entry_hash,
        }
    }

    /// The row's details column, parsed (retention checkpoints keep their anchor there).
    pub(crate) fn details(&self) -> Option<serde_json::Value> {
        self.columns
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }

    pub(crate) fn into_entry(self) -> Result<LogEntry, AuditError> {
        let id = self.id;
        let c = self.columns;
        let decode = |source| AuditError::Decode { id, source };
        let malformed = |what: &'static str, reason: String| {
            decode(auditlog_core::Error::MalformedJson { what, reason })
        };
        let action = Action::from_code(c.action)
            .ok_or_else(|| decode(auditlog_core::Error::UnknownAction(c.action)))?;
        let changes = ChangeSet::from_json(&c.changes).map_err(decode)?;
        let snapshot = c
            .snapshot
            .as_deref()
            .map(Snapshot::from_json)
            .transpose()
            .map_err(decode)?;
        let additional_data = match c.additional_data.as_deref() {
            None => None,
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| malformed("additional data", e.to_string()))?,
            ),
        };
        let details: Option<serde_json::Value> = match c.details.as_deref() {
            None => None,
            Some(text) => {
                Some(serde_json::from_str(text).map_err(|e| malformed("details", e.to_string()))?)
            }
        };
        let (event, association) = match action {
            Action::M2mAdd | Action::M2mRemove | Action::M2mClear => {
                let change: AssociationChange = serde_json::from_value(details.unwrap_or_default())
                    .map_err(|e| malformed("association change", e.to_string()))?;
                (None, Some(change))
            }
            _ => {
                let event = match (c.event_name, c.severity) {
                    (Some(name), Some(code)) => Some(EventDetails {
                        name,
                        severity: Severity::from_code(code).ok_or_else(|| {
                            malformed("severity", format!("unknown severity code {code}"))
                        })?,
                        details,
                    }),
                    _ => None,
                };
                (event, None)
            }
        };
        let mut context = AuditContext::new();
        context.actor_id = c.actor_id;
        context.actor_display = c.actor_display;
        // An address that no longer parses is dropped from the typed view rather than failing
        // the whole entry; the raw column is untouched.
        context.remote_addr = c.remote_addr.and_then(|a| a.parse().ok());
        context.remote_port = c.remote_port.and_then(|p| u16::try_from(p).ok());
        context.user_agent = c.user_agent;
        context.session_id = c.session_id;
        context.correlation_id = c.correlation_id;
        context.reason = c.reason;
        context.additional_data = additional_data;
        Ok(LogEntry {
            id,
            timestamp: c.logged_at.and_utc(),
            action,
            object: ObjectRef {
                object_type: c.object_type,
                object_key: c.object_key,
                object_repr: c.object_repr,
            },
            changes,
            snapshot,
            event,
            association,
            context,
        })
    }
}
