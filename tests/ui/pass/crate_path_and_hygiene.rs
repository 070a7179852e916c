//! Generated code names everything by absolute path, so user items with the same names do not
//! interfere, and `#[audit(crate = "...")]` reaches the support items through a re-export.

#![allow(dead_code, non_camel_case_types)]

mod audit {
    pub use auditlog_diesel::*;
}

// Items named like what generated code uses.
struct String;
struct Vec;
struct Option;
struct Some;
struct Snapshot;
struct ChangeSet;
struct Masker;
trait ToString {}
fn single_key() {}
fn composite_key() {}
mod __private {}

use audit::Auditable;

#[derive(Auditable)]
#[audit(crate = "crate::audit", primary_key(tenant, number), repr_display)]
struct Invoice<'a, T: audit::AuditValue> {
    tenant: i32,
    number: &'a str,
    #[audit(mask = "last4")]
    amount: T,
    #[audit(mask_with = "hide")]
    note: &'a str,
    #[audit(mask_with = "__audit_value")]
    memo: &'a str,
}

impl<T: audit::AuditValue> std::fmt::Display for Invoice<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invoice {}", self.number)
    }
}

fn hide(_: &str) -> &'static str {
    "hidden"
}

/// Named like the generated code's closure parameter, which it must not be confused with.
fn __audit_value(_: &str) -> &'static str {
    "hidden too"
}

fn main() {
    let invoice = Invoice {
        tenant: 1,
        number: "A-1",
        amount: 10_000_000_u64,
        note: "n",
        memo: "m",
    };
    assert_eq!(audit::Auditable::object_key(&invoice), r#"[1,"A-1"]"#);
}
