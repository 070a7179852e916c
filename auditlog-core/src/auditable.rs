//! The `Auditable` trait, implemented by `#[derive(Auditable)]`.

use serde_json::Value;

use crate::value::canonical_json;
use crate::{AuditValue, ChangeSet, Masker, Snapshot};

/// A model whose changes are recorded in the audit log.
///
/// Implement it with `#[derive(Auditable)]` rather than by hand: the derive keeps the field
/// list, the masking policies and the primary key in step with the struct.
///
/// # Object keys
///
/// [`object_key`](Auditable::object_key) renders the primary key as text, in a format that
/// never changes:
///
/// - a single-column key is its value as text: integers in decimal (`42`), strings as they
///   are (`ab-12`), other values as canonical JSON;
/// - a composite key is the canonical JSON array of its columns' values, in the order of the
///   primary key declaration: `[42,"ab-12"]`.
///
/// See [`single_key`] and [`composite_key`].
pub trait Auditable {
    /// The object type recorded in the log: the Diesel table name unless overridden with
    /// `#[audit(table = "...")]`.
    const OBJECT_TYPE: &'static str;

    /// The recorded names of the audited fields (excluded fields are absent), in declaration
    /// order.
    const AUDITED_FIELDS: &'static [&'static str];

    /// The primary key as text (see the trait docs for the format).
    fn object_key(&self) -> String;

    /// A human-readable representation of the object, if the model defines one.
    fn object_repr(&self) -> Option<String> {
        None
    }

    /// Every audited field, masked.
    fn snapshot(&self, masker: &Masker) -> Snapshot;

    /// The audited fields whose values differ between `self` (before) and `after`, masked, in
    /// declaration order. Empty when nothing audited changed.
    fn diff(&self, after: &Self, masker: &Masker) -> ChangeSet;
}

/// The object key of a single-column primary key.
pub fn single_key<T: AuditValue + ?Sized>(value: &T) -> String {
    match value.to_audit_value() {
        Value::String(s) => s,
        other => canonical_json(&other),
    }
}

/// The object key of a composite primary key, from its columns' values in declaration order.
pub fn composite_key(values: &[Value]) -> String {
    canonical_json(&Value::Array(values.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_stably() {
        assert_eq!(single_key(&42i64), "42");
        assert_eq!(single_key("ab-12"), "ab-12");
        assert_eq!(
            composite_key(&[42.to_audit_value(), "ab".to_audit_value()]),
            r#"[42,"ab"]"#
        );
    }
}
