//! Security and access events, and many-to-many association changes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Auditable, ObjectRef};

/// How serious an event is. Ordered: `Info < Notice < Warning < Error < Critical`, so history
/// can be filtered by a minimum severity. Stable storage codes and lowercase names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Routine: a record was viewed, a user logged in.
    Info,
    /// Worth noticing: a permission was granted, data was exported.
    Notice,
    /// Possibly hostile: a failed login, a denied request.
    Warning,
    /// Something failed that should not have.
    Error,
    /// Needs someone now: a breach indicator, a disabled safeguard.
    Critical,
}

impl Severity {
    /// Every severity, in order.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Notice,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The stable storage code (1 for `Info` to 5 for `Critical`).
    pub const fn code(self) -> i16 {
        match self {
            Severity::Info => 1,
            Severity::Notice => 2,
            Severity::Warning => 3,
            Severity::Error => 4,
            Severity::Critical => 5,
        }
    }

    /// The severity stored under `code`.
    pub fn from_code(code: i16) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The stable lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// The severity named `name`.
    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event entry (a security event or an access) records besides its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDetails {
    /// The event's name, e.g. `login_failed`, `role_granted`, `access`.
    pub name: String,
    /// How serious it is.
    pub severity: Severity,
    /// Structured details, as a JSON value.
    pub details: Option<Value>,
}

/// A security event to record: a name, a severity, an optional target object and structured
/// details. The context (who, from where) comes from the connection, as for data changes.
///
/// ```
/// use auditlog_core::{SecurityEvent, Severity};
/// use serde_json::json;
///
/// let event = SecurityEvent::new("login_failed")
///     .severity(Severity::Warning)
///     .details(json!({"username": "alice", "reason": "bad password"}));
/// assert_eq!(event.name, "login_failed");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SecurityEvent {
    /// The event's name.
    pub name: String,
    /// How serious it is (`Notice` unless set).
    pub severity: Severity,
    /// The object it concerns, if any (the user whose role changed, the exported table).
    pub target: Option<ObjectRef>,
    /// Structured details.
    pub details: Option<Value>,
}

impl SecurityEvent {
    /// An event named `name`, severity `Notice`, no target, no details.
    pub fn new(name: impl Into<String>) -> Self {
        SecurityEvent {
            name: name.into(),
            severity: Severity::Notice,
            target: None,
            details: None,
        }
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the target to a model value.
    pub fn target<M: Auditable>(mut self, model: &M) -> Self {
        self.target = Some(ObjectRef::of(model));
        self
    }

    /// Sets the target to an object of model `M` known by its key (see [`Auditable`] for the
    /// key format), for instance a user that does not exist (a failed login).
    pub fn target_key<M: Auditable>(mut self, key: impl Into<String>) -> Self {
        self.target = Some(ObjectRef {
            object_type: M::OBJECT_TYPE.to_owned(),
            object_key: key.into(),
            object_repr: None,
        });
        self
    }

    /// Sets the structured details.
    pub fn details(mut self, details: impl Into<Value>) -> Self {
        self.details = Some(details.into());
        self
    }
}

/// The change of one many-to-many relation of an object: the keys of the related objects
/// added or removed (for `m2m_add`, `m2m_remove`) or linked before a clear (`m2m_clear`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationChange {
    /// The relation's name, e.g. `service_tiers`.
    pub relation: String,
    /// The object type of the related objects.
    pub related_type: String,
    /// Their keys as text (the [`Auditable`] key format), in ascending order.
    pub keys: Vec<String>,
}

impl fmt::Display for AssociationChange {
    /// `service_tiers: 2, 5`, with control characters in keys escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", crate::escape_text(&self.relation))?;
        for (i, key) in self.keys.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{}", crate::escape_text(key))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_ordered_and_round_trip() {
        assert!(Severity::Warning > Severity::Notice);
        for s in Severity::ALL {
            assert_eq!(Severity::from_code(s.code()), Some(s));
            assert_eq!(Severity::from_name(s.as_str()), Some(s));
        }
        assert_eq!(Severity::from_code(0), None);
    }

    #[test]
    fn association_display_escapes_keys() {
        let change = AssociationChange {
            relation: "tiers".into(),
            related_type: "service_tiers".into(),
            keys: vec!["1".into(), "evil\nkey".into()],
        };
        assert_eq!(change.to_string(), r"tiers: 1, evil\nkey");
    }
}
