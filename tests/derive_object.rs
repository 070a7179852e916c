//! The object a derived model describes: its type, representation, Diesel table, and how the
//! derive fits next to Diesel's derives and generic structs.

use std::fmt;

use auditlog_diesel::{AuditValue, Auditable, AuditedTable, Masker};
use diesel::prelude::*;

mod schema {
    diesel::table! {
        contracts (id) {
            id -> BigInt,
            customer -> Text,
            price_cents -> BigInt,
            signed_at -> Timestamp,
            notes -> Nullable<Text>,
        }
    }

    diesel::table! {
        contracts_v1 (id) {
            id -> BigInt,
        }
    }
}

/// A contract as Diesel loads it; `pub` so it can be the `Model` of the `pub` table type.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Auditable)]
#[diesel(table_name = schema::contracts)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
#[audit(repr = "contract_label")]
pub struct Contract {
    /// The primary key.
    pub id: i64,
    /// Who signed.
    pub customer: String,
    /// The agreed price.
    pub price_cents: i64,
    /// When it was signed.
    pub signed_at: chrono::NaiveDateTime,
    /// Free text.
    pub notes: Option<String>,
}

fn contract_label(contract: &Contract) -> String {
    format!("contract #{} for {}", contract.id, contract.customer)
}

#[test]
fn object_type_is_the_diesel_table_name() {
    assert_eq!(Contract::OBJECT_TYPE, "contracts");
}

#[derive(Identifiable, Auditable)]
#[diesel(table_name = schema::contracts_v1)]
#[audit(table = "legacy_contracts")]
#[allow(dead_code)]
struct LegacyContract {
    id: i64,
}

#[test]
fn audit_table_overrides_the_diesel_table_name() {
    assert_eq!(LegacyContract::OBJECT_TYPE, "legacy_contracts");
}

#[derive(Auditable)]
struct ServiceTier {
    id: i32,
}

#[test]
fn object_type_defaults_to_diesel_default_table_name() {
    assert_eq!(ServiceTier::OBJECT_TYPE, "service_tiers");
}

/// Requires `T` to be a table through which `Contract` is audited.
fn model_of_table_is_contract<T: AuditedTable<Contract>>() {}

#[test]
fn diesel_table_is_mapped_to_its_model() {
    model_of_table_is_contract::<schema::contracts::table>();
}

/// Requires `T` to be a table through which `LegacyContract` is audited.
fn model_of_table_is_legacy_contract<T: AuditedTable<LegacyContract>>() {}

#[test]
fn private_model_claims_its_table_too() {
    // `LegacyContract` is private; the model is a type parameter of `AuditedTable`, so the
    // impl is allowed (an associated type would have been refused as a private type leaking
    // into a public interface).
    model_of_table_is_legacy_contract::<schema::contracts_v1::table>();
}

#[test]
fn repr_calls_the_named_function() {
    let contract = Contract {
        id: 7,
        customer: "ACME".into(),
        price_cents: 100,
        signed_at: chrono::NaiveDateTime::default(),
        notes: None,
    };
    assert_eq!(
        contract.object_repr().as_deref(),
        Some("contract #7 for ACME")
    );
}

#[derive(Auditable)]
#[audit(repr_display)]
struct Plan {
    id: i32,
    name: String,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plan {}", self.name)
    }
}

#[test]
fn repr_display_uses_the_display_impl() {
    let plan = Plan {
        id: 1,
        name: "gold".into(),
    };
    assert_eq!(plan.object_repr().as_deref(), Some("plan gold"));
}

#[test]
fn object_repr_is_none_without_repr_attributes() {
    assert_eq!(ServiceTier { id: 1 }.object_repr(), None);
}

#[derive(Auditable)]
#[audit(crate = "auditlog::diesel")]
struct ThroughReExport {
    id: i64,
    #[audit(mask)]
    token: String,
}

#[test]
fn crate_path_can_name_a_re_export() {
    let value = ThroughReExport {
        id: 1,
        token: "tok_live_1234".into(),
    };
    let json = value.snapshot(&Masker::default()).to_canonical_json();
    assert_eq!(
        json,
        r#"[{"field":"id","value":1},{"field":"token","mask":"redact","value":"[masked]"}]"#
    );
}

#[derive(Clone, Auditable)]
struct Row<'a, T: AuditValue + Clone> {
    id: i64,
    label: &'a str,
    value: T,
}

#[test]
fn generic_structs_are_audited_like_any_other() {
    let before = Row {
        id: 1,
        label: "limit",
        value: 10u32,
    };
    let after = Row {
        value: 20u32,
        ..before.clone()
    };
    assert_eq!(Row::<u32>::OBJECT_TYPE, "rows");
    assert_eq!(
        before.diff(&after, &Masker::default()).to_canonical_json(),
        r#"[{"after":20,"before":10,"field":"value"}]"#
    );
}

#[test]
fn models_loaded_by_diesel_are_diffed_like_any_other() -> Result<(), Box<dyn std::error::Error>> {
    use schema::contracts::dsl;

    let mut conn = SqliteConnection::establish(":memory:")?;
    diesel::sql_query(
        "CREATE TABLE contracts (id BIGINT PRIMARY KEY NOT NULL, customer TEXT NOT NULL, \
         price_cents BIGINT NOT NULL, signed_at TIMESTAMP NOT NULL, notes TEXT)",
    )
    .execute(&mut conn)?;
    diesel::sql_query("INSERT INTO contracts VALUES (7, 'ACME', 100, '2026-03-01 09:30:00', NULL)")
        .execute(&mut conn)?;

    let before: Contract = dsl::contracts
        .find(7)
        .select(Contract::as_select())
        .first(&mut conn)?;
    diesel::update(&before)
        .set((dsl::price_cents.eq(120), dsl::notes.eq("renewed")))
        .execute(&mut conn)?;
    let after: Contract = dsl::contracts
        .find(7)
        .select(Contract::as_select())
        .first(&mut conn)?;

    let changes = before.diff(&after, &Masker::default());
    assert_eq!(before.object_key(), "7");
    assert_eq!(
        changes.to_canonical_json(),
        r#"[{"after":120,"before":100,"field":"price_cents"},{"after":"renewed","before":null,"field":"notes"}]"#
    );
    assert_eq!(
        before
            .snapshot(&Masker::default())
            .get("signed_at")
            .map(|v| &v.value),
        Some(&serde_json::json!("2026-03-01T09:30:00Z"))
    );
    Ok(())
}
