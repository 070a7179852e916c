//! The backend-free model of an audit log.
//!
//! An audit log answers, for every change: *what* object, *which* fields, the value before and
//! after, *who* did it, from *where*, *when*. This crate holds the types that answer those
//! questions, independent of any database:
//!
//! - [`Action`]: what happened (create, update, delete, access, association changes, events);
//! - [`FieldChange`] / [`ChangeSet`]: which fields changed, from what to what, as typed JSON;
//! - [`Snapshot`]: all audited fields of an object when it was created or deleted;
//! - [`AuditContext`]: actor, address, user agent, session, correlation id, reason, extra data;
//! - [`Auditable`]: implemented by `#[derive(Auditable)]` on a model struct;
//! - [`Masker`] / [`MaskingKey`]: how masked fields are recorded without their values;
//! - [`SecurityEvent`] / [`Severity`] / [`EventDetails`]: security events and accesses;
//! - [`AssociationChange`]: the keys a many-to-many change added or removed;
//! - [`NewLogEntry`] / [`LogEntry`]: one recorded event.
//!
//! Applications normally use these through `auditlog-diesel`, which re-exports them and
//! writes the entries in the same transaction as the change.
//!
//! ```
//! use auditlog_core::{AuditContext, Auditable, ChangeSet, FieldChange, Masker, NewLogEntry, Snapshot};
//! use auditlog_core::{AuditValue, FieldValue, MaskKind};
//!
//! // What `#[derive(Auditable)]` generates, written out by hand for a two-field model.
//! struct Contract { id: i64, price: i64, card_token: String }
//!
//! impl Auditable for Contract {
//!     const OBJECT_TYPE: &'static str = "contracts";
//!     const AUDITED_FIELDS: &'static [&'static str] = &["id", "price", "card_token"];
//!
//!     fn object_key(&self) -> String { auditlog_core::single_key(&self.id) }
//!
//!     fn snapshot(&self, masker: &Masker) -> Snapshot {
//!         Snapshot(vec![
//!             FieldValue { field: "id".into(), value: self.id.to_audit_value(), mask: None },
//!             FieldValue { field: "price".into(), value: self.price.to_audit_value(), mask: None },
//!             FieldValue {
//!                 field: "card_token".into(),
//!                 value: masker.redact(&self.card_token.to_audit_value()),
//!                 mask: Some(MaskKind::Redact),
//!             },
//!         ])
//!     }
//!
//!     fn diff(&self, after: &Self, _masker: &Masker) -> ChangeSet {
//!         let mut changes = Vec::new();
//!         if !self.price.audit_eq(&after.price) {
//!             changes.push(FieldChange {
//!                 field: "price".into(),
//!                 before: self.price.to_audit_value(),
//!                 after: after.price.to_audit_value(),
//!                 mask: None,
//!             });
//!         }
//!         ChangeSet(changes)
//!     }
//! }
//!
//! let before = Contract { id: 7, price: 100, card_token: "tok_1".into() };
//! let after = Contract { price: 120, ..before };
//! # let before = Contract { id: 7, price: 100, card_token: "tok_1".into() };
//! let ctx = AuditContext::new().actor("42").actor_display("alice@example.com");
//! let entry = NewLogEntry::update(&before, &after, &Masker::default(), &ctx).unwrap();
//! assert_eq!(entry.object.object_key, "7");
//! assert_eq!(entry.changes.to_string(), "price: 100 -> 120");
//! assert_eq!(entry.changes.to_canonical_json(), r#"[{"after":120,"before":100,"field":"price"}]"#);
//! ```

mod action;
mod auditable;
mod change;
mod context;
mod entry;
mod error;
mod event;
mod integrity;
mod mask;
mod render;
mod value;

pub use action::Action;
pub use auditable::{composite_key, single_key, Auditable};
pub use change::{ChangeSet, FieldChange, FieldValue, Snapshot};
pub use context::AuditContext;
pub use entry::{now_micros, LogEntry, NewLogEntry, ObjectRef};
pub use error::Error;
pub use event::{AssociationChange, EventDetails, SecurityEvent, Severity};
pub use integrity::{
    Broken, ChainFields, ChainHead, ChainVerifier, IntegrityKey, Keyring, StoredEntry, Tampering,
    VerifyReport, GENESIS_HASH, INTEGRITY_KEY_ENV, INTEGRITY_OLD_KEYS_ENV,
};
pub use mask::{MaskKind, Masker, MaskingKey, MASKING_KEY_ENV, MASK_PLACEHOLDER};
pub use render::{escape_text, is_display_hazard};
pub use value::{canonical_json, rfc3339_utc, AuditValue};

/// Support for the code `#[derive(Auditable)]` generates. Not a public API: it may change in
/// any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::{
        composite_key, single_key, AuditValue, Auditable, ChangeSet, FieldChange, FieldValue,
        MaskKind, Masker, Snapshot,
    };
    pub use serde_json::Value;

    /// How one audited field is recorded.
    #[derive(Debug, Clone, Copy)]
    pub enum Policy {
        /// As it is.
        Plain,
        /// Masked by the masker.
        Mask(MaskKind),
    }

    fn stored(policy: Policy, masker: &Masker, value: &Value) -> Value {
        match policy {
            Policy::Plain => value.clone(),
            Policy::Mask(kind) => masker.apply(kind, value),
        }
    }

    fn kind(policy: Policy) -> Option<MaskKind> {
        match policy {
            Policy::Plain => None,
            Policy::Mask(kind) => Some(kind),
        }
    }

    /// Appends the change of one field when its values differ.
    pub fn diff_field<T: AuditValue + ?Sized>(
        out: &mut Vec<FieldChange>,
        field: &'static str,
        policy: Policy,
        masker: &Masker,
        before: &T,
        after: &T,
    ) {
        if before.audit_eq(after) {
            return;
        }
        out.push(FieldChange {
            field: field.to_owned(),
            before: stored(policy, masker, &before.to_audit_value()),
            after: stored(policy, masker, &after.to_audit_value()),
            mask: kind(policy),
        });
    }

    /// Appends the change of one field masked by an application function.
    pub fn diff_field_with<T, R, F>(
        out: &mut Vec<FieldChange>,
        field: &'static str,
        mask: F,
        before: &T,
        after: &T,
    ) where
        T: AuditValue + ?Sized,
        R: Into<Value>,
        F: Fn(&T) -> R,
    {
        if before.audit_eq(after) {
            return;
        }
        out.push(FieldChange {
            field: field.to_owned(),
            before: mask(before).into(),
            after: mask(after).into(),
            mask: Some(MaskKind::Custom),
        });
    }

    /// Appends one field's value to a snapshot.
    pub fn snapshot_field<T: AuditValue + ?Sized>(
        out: &mut Vec<FieldValue>,
        field: &'static str,
        policy: Policy,
        masker: &Masker,
        value: &T,
    ) {
        out.push(FieldValue {
            field: field.to_owned(),
            value: stored(policy, masker, &value.to_audit_value()),
            mask: kind(policy),
        });
    }

    /// Appends one field's value, masked by an application function, to a snapshot.
    pub fn snapshot_field_with<T, R, F>(
        out: &mut Vec<FieldValue>,
        field: &'static str,
        mask: F,
        value: &T,
    ) where
        T: AuditValue + ?Sized,
        R: Into<Value>,
        F: Fn(&T) -> R,
    {
        out.push(FieldValue {
            field: field.to_owned(),
            value: mask(value).into(),
            mask: Some(MaskKind::Custom),
        });
    }
}
