//! Log entries: one recorded event about one object.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Action, AssociationChange, AuditContext, Auditable, ChangeSet, EventDetails, Masker,
    SecurityEvent, Severity, Snapshot,
};

/// Which object an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The object type, usually the table name.
    pub object_type: String,
    /// The primary key as text (see [`Auditable`] for the format).
    pub object_key: String,
    /// A human-readable representation captured at write time.
    pub object_repr: Option<String>,
}

impl ObjectRef {
    /// The reference to a model value.
    pub fn of<T: Auditable>(model: &T) -> Self {
        ObjectRef {
            object_type: T::OBJECT_TYPE.to_owned(),
            object_key: model.object_key(),
            object_repr: model.object_repr(),
        }
    }
}

/// An entry about to be written: everything but the id the database assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLogEntry {
    /// When the change was made (UTC, microsecond precision).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// To which object.
    pub object: ObjectRef,
    /// The changed fields (updates and association changes; empty for creates and deletes).
    pub changes: ChangeSet,
    /// All audited fields (creates and deletes).
    pub snapshot: Option<Snapshot>,
    /// The event (security events and accesses).
    pub event: Option<EventDetails>,
    /// The association change (many-to-many actions).
    pub association: Option<AssociationChange>,
    /// Who, from where, why.
    pub context: AuditContext,
}

/// An entry read back from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The entry's id: increasing in write order.
    pub id: i64,
    /// When the change was made (UTC, microsecond precision).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// To which object.
    pub object: ObjectRef,
    /// The changed fields.
    pub changes: ChangeSet,
    /// All audited fields (creates and deletes).
    pub snapshot: Option<Snapshot>,
    /// The event (security events and accesses).
    pub event: Option<EventDetails>,
    /// The association change (many-to-many actions).
    pub association: Option<AssociationChange>,
    /// Who, from where, why.
    pub context: AuditContext,
}

/// The current time, truncated to the microseconds every backend stores.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(now)
}

impl NewLogEntry {
    /// A create entry for a new object, with its masked snapshot.
    pub fn create<T: Auditable>(model: &T, masker: &Masker, context: &AuditContext) -> Self {
        Self::with_snapshot(Action::Create, model, masker, context)
    }

    /// A delete entry for a removed object, with its final masked snapshot.
    pub fn delete<T: Auditable>(model: &T, masker: &Masker, context: &AuditContext) -> Self {
        Self::with_snapshot(Action::Delete, model, masker, context)
    }

    /// An update entry for the audited fields that differ between `before` and `after`, or
    /// `None` when none do (a no-op, or a change to excluded fields only).
    pub fn update<T: Auditable>(
        before: &T,
        after: &T,
        masker: &Masker,
        context: &AuditContext,
    ) -> Option<Self> {
        let changes = before.diff(after, masker);
        if changes.is_empty() {
            return None;
        }
        Some(NewLogEntry {
            timestamp: now_micros(),
            action: Action::Update,
            object: ObjectRef::of(after),
            changes,
            snapshot: None,
            event: None,
            association: None,
            context: context.clone(),
        })
    }

    /// A security event entry. Without a target, the entry's object type and key are empty.
    pub fn event(event: SecurityEvent, context: &AuditContext) -> Self {
        let SecurityEvent {
            name,
            severity,
            target,
            details,
        } = event;
        NewLogEntry {
            timestamp: now_micros(),
            action: Action::Event,
            object: target.unwrap_or(ObjectRef {
                object_type: String::new(),
                object_key: String::new(),
                object_repr: None,
            }),
            changes: ChangeSet::default(),
            snapshot: None,
            event: Some(EventDetails {
                name,
                severity,
                details,
            }),
            association: None,
            context: context.clone(),
        }
    }

    /// An access entry: someone viewed `model`. Recorded with severity `Info` and the event
    /// name `access`, plus optional details (which view, why).
    pub fn access<T: Auditable>(
        model: &T,
        details: Option<serde_json::Value>,
        context: &AuditContext,
    ) -> Self {
        NewLogEntry {
            timestamp: now_micros(),
            action: Action::Access,
            object: ObjectRef::of(model),
            changes: ChangeSet::default(),
            snapshot: None,
            event: Some(EventDetails {
                name: "access".to_owned(),
                severity: Severity::Info,
                details,
            }),
            association: None,
            context: context.clone(),
        }
    }

    /// A retention checkpoint: entries through id `through` were pruned; `details` records
    /// the range and the seal the remaining chain resumes from.
    pub fn checkpoint(through: i64, details: serde_json::Value, context: &AuditContext) -> Self {
        NewLogEntry {
            timestamp: now_micros(),
            action: Action::Checkpoint,
            object: ObjectRef {
                object_type: "audit_log".to_owned(),
                object_key: through.to_string(),
                object_repr: None,
            },
            changes: ChangeSet::default(),
            snapshot: None,
            event: Some(EventDetails {
                name: "retention".to_owned(),
                severity: Severity::Notice,
                details: Some(details),
            }),
            association: None,
            context: context.clone(),
        }
    }

    /// A many-to-many entry on `parent`: `action` is `M2mAdd`, `M2mRemove` or `M2mClear`.
    pub fn association(
        action: Action,
        parent: ObjectRef,
        change: AssociationChange,
        context: &AuditContext,
    ) -> Self {
        NewLogEntry {
            timestamp: now_micros(),
            action,
            object: parent,
            changes: ChangeSet::default(),
            snapshot: None,
            event: None,
            association: Some(change),
            context: context.clone(),
        }
    }

    fn with_snapshot<T: Auditable>(
        action: Action,
        model: &T,
        masker: &Masker,
        context: &AuditContext,
    ) -> Self {
        NewLogEntry {
            timestamp: now_micros(),
            action,
            object: ObjectRef::of(model),
            changes: ChangeSet::default(),
            snapshot: Some(model.snapshot(masker)),
            event: None,
            association: None,
            context: context.clone(),
        }
    }
}

impl std::fmt::Display for LogEntry {
    /// A multi-line rendering for people; every stored text is escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape_text as esc;
        let ctx = &self.context;
        write!(
            f,
            "#{} {} {}",
            self.id,
            crate::value::rfc3339_utc(&self.timestamp),
            self.action
        )?;
        // Events without a target object have an empty object type.
        if !self.object.object_type.is_empty() {
            write!(
                f,
                " {} {}",
                esc(&self.object.object_type),
                esc(&self.object.object_key)
            )?;
        }
        if let Some(repr) = &self.object.object_repr {
            write!(f, " ({})", esc(repr))?;
        }
        if let Some(event) = &self.event {
            write!(f, " [{} {}]", esc(&event.name), event.severity)?;
        }
        let actor = match (&ctx.actor_id, &ctx.actor_display) {
            (Some(id), Some(d)) => format!("{} <{}>", esc(d), esc(id)),
            (Some(id), None) => esc(id).into_owned(),
            (None, Some(d)) => esc(d).into_owned(),
            (None, None) => "unknown actor".to_owned(),
        };
        write!(f, "\n  by {actor}")?;
        if let Some(ip) = ctx.remote_addr {
            match ctx.remote_port {
                Some(port) => write!(f, " from {}", std::net::SocketAddr::new(ip, port))?,
                None => write!(f, " from {ip}")?,
            }
        }
        for (label, value) in [
            ("user agent", &ctx.user_agent),
            ("session", &ctx.session_id),
            ("correlation", &ctx.correlation_id),
            ("reason", &ctx.reason),
        ] {
            if let Some(v) = value {
                write!(f, "\n  {label}: {}", esc(v))?;
            }
        }
        if let Some(data) = &ctx.additional_data {
            let text = crate::value::canonical_json(&serde_json::Value::Object(data.clone()));
            write!(f, "\n  data: {}", esc(&text))?;
        }
        if let Some(association) = &self.association {
            write!(f, "\n  {association}")?;
        }
        if let Some(details) = self.event.as_ref().and_then(|e| e.details.as_ref()) {
            write!(
                f,
                "\n  details: {}",
                esc(&crate::value::canonical_json(details))
            )?;
        }
        for line in self.changes.to_string().lines() {
            write!(f, "\n  {line}")?;
        }
        if let Some(snapshot) = &self.snapshot {
            for line in snapshot.to_string().lines() {
                write!(f, "\n  = {line}")?;
            }
        }
        Ok(())
    }
}
