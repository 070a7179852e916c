//! Turning field values into the typed JSON values the log stores.

use serde_json::Value;

/// A field type whose values can be recorded in the log.
///
/// The conversion is the single place where a Rust value becomes a logged value, so it fixes
/// the log's conventions:
///
/// - numbers stay JSON numbers; integers too large for JSON (`i128`, `u128`) and non-finite
///   floats become text, so nothing is silently rounded or turned into `null`;
/// - `None` is JSON `null`, never the text `"None"`;
/// - timestamps (feature `chrono`) become UTC RFC 3339 text; a `NaiveDateTime` is taken to be
///   UTC already, which is how Diesel maps `timestamp` columns;
/// - decimals (feature `bigdecimal`) keep their exact text, scale included (`"10.50"`).
///
/// Implement it for your own column types (enums mapped with Diesel, newtypes) with
/// [`to_audit_value`](AuditValue::to_audit_value); override
/// [`audit_eq`](AuditValue::audit_eq) when a cheaper comparison exists.
///
/// ```
/// use auditlog_core::AuditValue;
/// use serde_json::{json, Value};
///
/// enum Status { Draft, Active }
///
/// impl AuditValue for Status {
///     fn to_audit_value(&self) -> Value {
///         Value::from(match self { Status::Draft => "draft", Status::Active => "active" })
///     }
/// }
///
/// assert_eq!(Status::Active.to_audit_value(), json!("active"));
/// assert!(!Status::Draft.audit_eq(&Status::Active));
/// ```
pub trait AuditValue {
    /// The value as the log records it.
    fn to_audit_value(&self) -> Value;

    /// Whether two values would be recorded identically. The diff reports a field as changed
    /// exactly when this returns `false`.
    fn audit_eq(&self, other: &Self) -> bool {
        self.to_audit_value() == other.to_audit_value()
    }
}

macro_rules! audit_value_via_from {
    ($($ty:ty),* $(,)?) => {$(
        impl AuditValue for $ty {
            fn to_audit_value(&self) -> Value {
                Value::from(self.clone())
            }

            fn audit_eq(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}

audit_value_via_from!(bool, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, String);

impl AuditValue for str {
    fn to_audit_value(&self) -> Value {
        Value::from(self)
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self == other
    }
}

impl AuditValue for char {
    fn to_audit_value(&self) -> Value {
        Value::from(self.to_string())
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self == other
    }
}

macro_rules! audit_value_wide_int {
    ($($ty:ty => $narrow:ty),* $(,)?) => {$(
        impl AuditValue for $ty {
            fn to_audit_value(&self) -> Value {
                match <$narrow>::try_from(*self) {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::from(self.to_string()),
                }
            }

            fn audit_eq(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}

audit_value_wide_int!(i128 => i64, u128 => u64);

macro_rules! audit_value_float {
    ($($ty:ty),* $(,)?) => {$(
        impl AuditValue for $ty {
            fn to_audit_value(&self) -> Value {
                if self.is_finite() {
                    Value::from(*self)
                } else if self.is_nan() {
                    Value::from("NaN")
                } else if *self > 0.0 {
                    Value::from("Infinity")
                } else {
                    Value::from("-Infinity")
                }
            }

            fn audit_eq(&self, other: &Self) -> bool {
                self.to_bits() == other.to_bits()
            }
        }
    )*};
}

audit_value_float!(f32, f64);

impl<T: AuditValue> AuditValue for Option<T> {
    fn to_audit_value(&self) -> Value {
        match self {
            Some(v) => v.to_audit_value(),
            None => Value::Null,
        }
    }

    fn audit_eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.audit_eq(b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T: AuditValue> AuditValue for Vec<T> {
    fn to_audit_value(&self) -> Value {
        Value::Array(self.iter().map(AuditValue::to_audit_value).collect())
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.audit_eq(b))
    }
}

impl<T: AuditValue + ?Sized> AuditValue for Box<T> {
    fn to_audit_value(&self) -> Value {
        (**self).to_audit_value()
    }

    fn audit_eq(&self, other: &Self) -> bool {
        (**self).audit_eq(other)
    }
}

impl<T: AuditValue + ?Sized> AuditValue for &T {
    fn to_audit_value(&self) -> Value {
        (**self).to_audit_value()
    }

    fn audit_eq(&self, other: &Self) -> bool {
        (**self).audit_eq(other)
    }
}

impl AuditValue for Value {
    fn to_audit_value(&self) -> Value {
        self.clone()
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self == other
    }
}

impl AuditValue for uuid::Uuid {
    fn to_audit_value(&self) -> Value {
        Value::from(self.hyphenated().to_string())
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self == other
    }
}

impl AuditValue for std::net::IpAddr {
    fn to_audit_value(&self) -> Value {
        Value::from(self.to_string())
    }

    fn audit_eq(&self, other: &Self) -> bool {
        self == other
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::rfc3339_utc;
    use super::{AuditValue, Value};
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

    impl<Tz: TimeZone> AuditValue for DateTime<Tz> {
        fn to_audit_value(&self) -> Value {
            Value::from(rfc3339_utc(&self.with_timezone(&Utc)))
        }

        fn audit_eq(&self, other: &Self) -> bool {
            self == other
        }
    }

    impl AuditValue for NaiveDateTime {
        fn to_audit_value(&self) -> Value {
            Value::from(rfc3339_utc(&self.and_utc()))
        }

        fn audit_eq(&self, other: &Self) -> bool {
            self == other
        }
    }

    impl AuditValue for NaiveDate {
        fn to_audit_value(&self) -> Value {
            Value::from(self.format("%Y-%m-%d").to_string())
        }

        fn audit_eq(&self, other: &Self) -> bool {
            self == other
        }
    }

    impl AuditValue for NaiveTime {
        fn to_audit_value(&self) -> Value {
            Value::from(self.format("%H:%M:%S%.f").to_string())
        }

        fn audit_eq(&self, other: &Self) -> bool {
            self == other
        }
    }
}

/// The log's one timestamp format: UTC, RFC 3339, `Z` suffix, sub-second digits in groups of
/// three (none, milli, micro or nano) as the value needs.
pub fn rfc3339_utc(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(feature = "bigdecimal")]
impl AuditValue for bigdecimal::BigDecimal {
    /// The decimal's exact text with its scale (`10.50` stays `"10.50"`), never a float.
    fn to_audit_value(&self) -> Value {
        Value::from(self.to_string())
    }

    fn audit_eq(&self, other: &Self) -> bool {
        // `BigDecimal` equality ignores scale (10.5 == 10.50); the log records the text, so
        // compare what would be recorded.
        self.to_string() == other.to_string()
    }
}

/// The canonical JSON text of a value: compact, object keys sorted, the form the log stores.
pub fn canonical_json(value: &Value) -> String {
    // serde_json's default map is ordered by key, and its number formatting is deterministic,
    // so `to_string` is canonical as long as nobody enables `preserve_order`; `canonical_sort`
    // makes the order explicit either way.
    canonical_sort(value).to_string()
}

fn canonical_sort(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for key in keys {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), canonical_sort(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_sort).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_stay_numbers_and_none_is_null() {
        assert_eq!(42i32.to_audit_value(), json!(42));
        assert_eq!(2.5f64.to_audit_value(), json!(2.5));
        assert_eq!(None::<i32>.to_audit_value(), Value::Null);
        assert_eq!(Some("x".to_string()).to_audit_value(), json!("x"));
    }

    #[test]
    fn non_finite_floats_are_text_not_null() {
        assert_eq!(f64::NAN.to_audit_value(), json!("NaN"));
        assert_eq!(f64::INFINITY.to_audit_value(), json!("Infinity"));
        assert_eq!(f32::NEG_INFINITY.to_audit_value(), json!("-Infinity"));
        assert!(f64::NAN.audit_eq(&f64::NAN));
    }

    #[test]
    fn wide_integers_out_of_range_become_text() {
        assert_eq!(5i128.to_audit_value(), json!(5));
        assert_eq!(
            i128::MAX.to_audit_value(),
            json!("170141183460469231731687303715884105727")
        );
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn timestamps_are_utc_rfc3339() {
        use chrono::{FixedOffset, NaiveDate, TimeZone};
        let naive = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_micro_opt(9, 30, 0, 123_456)
            .unwrap();
        assert_eq!(naive.to_audit_value(), json!("2026-03-01T09:30:00.123456Z"));
        let offset = FixedOffset::east_opt(2 * 3600).unwrap();
        let local = offset.from_local_datetime(&naive).unwrap();
        assert_eq!(local.to_audit_value(), json!("2026-03-01T07:30:00.123456Z"));
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(date.to_audit_value(), json!("2026-03-01"));
    }

    #[cfg(feature = "bigdecimal")]
    #[test]
    fn decimals_keep_their_exact_text() {
        use std::str::FromStr;
        let a = bigdecimal::BigDecimal::from_str("10.50").unwrap();
        let b = bigdecimal::BigDecimal::from_str("10.5").unwrap();
        assert_eq!(a.to_audit_value(), json!("10.50"));
        assert!(!a.audit_eq(&b), "a change of scale is recorded");
        let big = bigdecimal::BigDecimal::from_str("12345678901234567890.000000001").unwrap();
        assert_eq!(
            big.to_audit_value(),
            json!("12345678901234567890.000000001")
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v = json!({"b": 1, "a": {"d": [1, 2], "c": null}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    }
}
