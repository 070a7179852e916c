//! Field changes and snapshots: what an entry says about an object's fields.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::render::escape_text;
use crate::value::canonical_json;
use crate::{Error, MaskKind};

/// One audited field whose value differs between two versions of an object.
///
/// `before` and `after` hold what the log stores: for a masked field (`mask` is `Some`), the
/// masked form, never the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field's name as recorded (its Rust name, or its `#[audit(rename)]`).
    pub field: String,
    /// The value before the change, as typed JSON.
    pub before: Value,
    /// The value after the change, as typed JSON.
    pub after: Value,
    /// How the values were masked, if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskKind>,
}

/// The value of one audited field in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The field's name as recorded.
    pub field: String,
    /// The value, masked if `mask` is `Some`.
    pub value: Value,
    /// How the value was masked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskKind>,
}

/// The changed fields of one entry, in the order the fields are declared on the struct.
///
/// Its [canonical JSON](ChangeSet::to_canonical_json) is an array of objects with keys
/// `field`, `before`, `after` and, for masked fields, `mask`; it is what the log stores, and
/// the same on every backend. `Display` renders it for people, one field per line, with
/// control characters and terminal escapes in values shown escaped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeSet(pub Vec<FieldChange>);

/// The audited fields of an object at one moment (after a create, before a delete), in
/// declaration order, masked as the fields' policies say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snapshot(pub Vec<FieldValue>);

impl ChangeSet {
    /// Whether no audited field changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of changed fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The change of the field recorded as `name`, if it changed.
    pub fn get(&self, name: &str) -> Option<&FieldChange> {
        self.0.iter().find(|c| c.field == name)
    }

    /// The names of the changed fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|c| c.field.as_str())
    }

    /// The canonical JSON text the log stores.
    pub fn to_canonical_json(&self) -> String {
        canonical_json(&self.to_value())
    }

    /// Parses the text stored by [`ChangeSet::to_canonical_json`].
    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::MalformedJson {
            what: "changes",
            reason: e.to_string(),
        })
    }

    fn to_value(&self) -> Value {
        // Serializing plain structs and JSON values into a `Value` cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Snapshot {
    /// The value of the field recorded as `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0.iter().find(|v| v.field == name)
    }

    /// The canonical JSON text the log stores.
    pub fn to_canonical_json(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// Parses the text stored by [`Snapshot::to_canonical_json`].
    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::MalformedJson {
            what: "snapshot",
            reason: e.to_string(),
        })
    }
}

/// A value as one line of text for people: strings unquoted unless empty, everything else as
/// JSON, control characters escaped.
pub(crate) fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() => escape_text(s).into_owned(),
        other => escape_text(&canonical_json(other)).into_owned(),
    }
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, change) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}: {} -> {}",
                escape_text(&change.field),
                display_value(&change.before),
                display_value(&change.after)
            )?;
            if let Some(mask) = change.mask {
                write!(f, " (masked: {})", mask_label(mask))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", escape_text(&v.field), display_value(&v.value))?;
            if let Some(mask) = v.mask {
                write!(f, " (masked: {})", mask_label(mask))?;
            }
        }
        Ok(())
    }
}

fn mask_label(kind: MaskKind) -> &'static str {
    match kind {
        MaskKind::Redact => "redact",
        MaskKind::Last4 => "last4",
        MaskKind::Custom => "custom",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> ChangeSet {
        ChangeSet(vec![
            FieldChange {
                field: "price".into(),
                before: json!(100),
                after: json!(120),
                mask: None,
            },
            FieldChange {
                field: "notes".into(),
                before: json!("[masked]"),
                after: json!("[masked]"),
                mask: Some(MaskKind::Redact),
            },
        ])
    }

    #[test]
    fn canonical_json_keeps_field_order_and_round_trips() {
        let text = sample().to_canonical_json();
        assert_eq!(
            text,
            r#"[{"after":120,"before":100,"field":"price"},{"after":"[masked]","before":"[masked]","field":"notes","mask":"redact"}]"#
        );
        assert_eq!(ChangeSet::from_json(&text).unwrap(), sample());
    }

    #[test]
    fn malformed_json_is_a_clear_error() {
        let err = ChangeSet::from_json("{not json").unwrap_err();
        assert!(err.to_string().contains("changes"), "{err}");
    }

    #[test]
    fn display_escapes_line_breaks_and_escapes() {
        let cs = ChangeSet(vec![FieldChange {
            field: "title".into(),
            before: json!("ok"),
            after: json!("evil\nprice: 1 -> 2\u{1b}[31m"),
            mask: None,
        }]);
        let text = cs.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'));
        assert_eq!(text, r"title: ok -> evil\nprice: 1 -> 2\u{1b}[31m");
    }
}
