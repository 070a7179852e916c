//! Masking: recording that a sensitive field changed without recording its value.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::value::canonical_json;
use crate::Error;

/// The text every fully masked value is stored as, with a fingerprint appended when a
/// [`MaskingKey`] is configured.
pub const MASK_PLACEHOLDER: &str = "[masked]";

/// How many bytes of the HMAC-SHA256 output a fingerprint keeps (128 bits, 32 hex digits).
const FINGERPRINT_BYTES: usize = 16;

/// Domain separation so fingerprints can never be confused with other MACs made from the same
/// key (the integrity chain, say).
const FINGERPRINT_DOMAIN: &[u8] = b"auditlog/mask-fingerprint/v1\0";

/// The environment variable [`MaskingKey::from_env`] reads: the key as hex, at least 32 digits.
pub const MASKING_KEY_ENV: &str = "AUDITLOG_MASKING_KEY";

/// How a field's value is hidden in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    /// `#[audit(mask)]`: the fixed placeholder, plus a keyed fingerprint when a key is set.
    Redact,
    /// `#[audit(mask = "last4")]`: the last four characters of values of eight or more
    /// characters; shorter values are fully redacted, since four characters would reveal half
    /// of them or more.
    Last4,
    /// `#[audit(mask_with = "path")]`: whatever the application's function returned.
    Custom,
}

/// A secret key for masked-value fingerprints.
///
/// With a key, a masked value is stored as `[masked fp=<32 hex digits>]`, where the digits are
/// a truncated HMAC-SHA256 of the value's canonical JSON text. Someone holding the key and a
/// candidate value can check whether they match ([`Masker::matches`]); the log alone reveals
/// nothing. `Debug` never shows the key.
#[derive(Clone)]
pub struct MaskingKey {
    key: Vec<u8>,
}

impl MaskingKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A key from raw bytes; fails when shorter than [`MaskingKey::MIN_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let key = bytes.into();
        if key.len() < Self::MIN_LEN {
            return Err(Error::InvalidKey {
                what: "masking key",
                reason: format!(
                    "{} bytes given, at least {} needed",
                    key.len(),
                    Self::MIN_LEN
                ),
            });
        }
        Ok(MaskingKey { key })
    }

    /// A key from hex text (at least 32 hex digits).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let bytes = hex::decode(text.trim()).map_err(|e| Error::InvalidKey {
            what: "masking key",
            reason: format!("not valid hex: {e}"),
        })?;
        Self::new(bytes)
    }

    /// The key in [`MASKING_KEY_ENV`], `Ok(None)` when the variable is unset, an error when it
    /// is set but not a valid key.
    pub fn from_env() -> Result<Option<Self>, Error> {
        match std::env::var(MASKING_KEY_ENV) {
            Ok(text) => Self::from_hex(&text).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::InvalidKey {
                what: "masking key",
                reason: format!("{MASKING_KEY_ENV} is not valid UTF-8"),
            }),
        }
    }
}

impl fmt::Debug for MaskingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskingKey(<redacted>)")
    }
}

/// Applies the masking policies of fields; holds the optional fingerprint key.
///
/// ```
/// use auditlog_core::{Masker, MaskingKey};
/// use serde_json::json;
///
/// let plain = Masker::default();
/// assert_eq!(plain.redact(&json!("4111 1111 1111 1111")), json!("[masked]"));
///
/// let keyed = Masker::new(Some(MaskingKey::new(*b"0123456789abcdef").unwrap()));
/// let stored = keyed.redact(&json!("tok_live_42"));
/// assert!(stored.as_str().unwrap().starts_with("[masked fp="));
/// assert!(keyed.matches(&stored, &json!("tok_live_42")));
/// assert!(!keyed.matches(&stored, &json!("tok_live_43")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Masker {
    key: Option<MaskingKey>,
}

impl Masker {
    /// A masker that fingerprints with `key`, or stores only the placeholder when `None`.
    pub fn new(key: Option<MaskingKey>) -> Self {
        Masker { key }
    }

    /// Whether fingerprints are produced.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The stored form of a value under `#[audit(mask)]`: `null` stays `null` (absence is not
    /// secret, and an investigator needs to see a value appear or disappear); anything else
    /// becomes the placeholder, with a fingerprint when a key is configured.
    pub fn redact(&self, value: &Value) -> Value {
        if value.is_null() {
            return Value::Null;
        }
        match self.fingerprint(value) {
            Some(fp) => Value::from(format!("[masked fp={fp}]")),
            None => Value::from(MASK_PLACEHOLDER),
        }
    }

    /// The stored form of a value under `#[audit(mask = "last4")]`: `null` stays `null`
    /// (absence is not secret), values of eight or more characters become `****` followed by
    /// their last four characters, anything shorter is [redacted](Masker::redact).
    pub fn last4(&self, value: &Value) -> Value {
        let text = match value {
            Value::Null => return Value::Null,
            Value::String(s) => s.clone(),
            other => canonical_json(other),
        };
        let count = text.chars().count();
        if count < 8 {
            return self.redact(value);
        }
        let tail: String = text.chars().skip(count - 4).collect();
        Value::from(format!("****{tail}"))
    }

    /// The truncated keyed fingerprint of a value as hex, or `None` without a key.
    pub fn fingerprint(&self, value: &Value) -> Option<String> {
        let key = self.key.as_ref()?;
        // HMAC accepts keys of any length, so this cannot fail; fall back to the placeholder
        // rather than panic if that ever changes.
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.key).ok()?;
        mac.update(FINGERPRINT_DOMAIN);
        mac.update(canonical_json(value).as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(hex::encode(&digest[..FINGERPRINT_BYTES]))
    }

    /// Whether a stored masked value is the fingerprint of `candidate`. Always `false` without
    /// a key, or when `stored` carries no fingerprint.
    pub fn matches(&self, stored: &Value, candidate: &Value) -> bool {
        let Some(fp) = self.fingerprint(candidate) else {
            return false;
        };
        stored.as_str() == Some(format!("[masked fp={fp}]").as_str())
    }

    /// The stored form of `value` under `kind`; [`MaskKind::Custom`] is applied by the
    /// generated code itself, so here it falls back to full redaction.
    pub fn apply(&self, kind: MaskKind, value: &Value) -> Value {
        match kind {
            MaskKind::Last4 => self.last4(value),
            MaskKind::Redact | MaskKind::Custom => self.redact(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keyed() -> Masker {
        Masker::new(Some(MaskingKey::new(*b"an example key 16").unwrap()))
    }

    #[test]
    fn short_keys_are_rejected() {
        let err = MaskingKey::new(*b"short").unwrap_err();
        assert!(err.to_string().contains("at least 16"), "{err}");
        assert!(MaskingKey::from_hex("zz").is_err());
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = MaskingKey::new(*b"super secret key!").unwrap();
        assert_eq!(format!("{key:?}"), "MaskingKey(<redacted>)");
        assert!(!format!("{:?}", Masker::new(Some(key))).contains("secret"));
    }

    #[test]
    fn redact_never_contains_the_value() {
        let secret = json!("tok_4242424242424242");
        for masker in [Masker::default(), keyed()] {
            let out = canonical_json(&masker.redact(&secret));
            assert!(!out.contains("4242"), "{out}");
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_distinguish_values() {
        let a = keyed().redact(&json!("alpha"));
        let b = keyed().redact(&json!("beta"));
        assert_ne!(a, b);
        let other_key = Masker::new(Some(MaskingKey::new(*b"another key 16 bytes").unwrap()));
        assert_ne!(a, other_key.redact(&json!("alpha")));
        assert!(keyed().matches(&a, &json!("alpha")));
        assert!(!Masker::default().matches(&a, &json!("alpha")));
    }

    #[test]
    fn null_stays_null_when_redacted() {
        assert_eq!(keyed().redact(&Value::Null), Value::Null);
        assert_eq!(Masker::default().redact(&Value::Null), Value::Null);
    }

    #[test]
    fn last4_keeps_only_four_characters_of_long_values() {
        let m = Masker::default();
        assert_eq!(m.last4(&json!("4111111111111234")), json!("****1234"));
        assert_eq!(m.last4(&json!("1234567")), json!(MASK_PLACEHOLDER));
        assert_eq!(m.last4(&json!(41111111111234u64)), json!("****1234"));
        assert_eq!(m.last4(&Value::Null), Value::Null);
        assert_eq!(m.last4(&json!("ééééééé€€€€")), json!("****€€€€"));
    }
}
