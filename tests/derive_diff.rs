//! `diff` and `snapshot` of a derived model: which fields, in which order, as which JSON.

use auditlog_diesel::{Auditable, Masker};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

#[derive(Debug, Clone, Auditable)]
struct Contract {
    id: i64,
    customer: String,
    price_cents: i64,
    discount: f64,
    signed_at: NaiveDateTime,
    notes: Option<String>,
    active: bool,
}

fn signed_at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|date| date.and_hms_micro_opt(9, 30, 0, 123_456))
        .unwrap_or_default()
}

fn contract() -> Contract {
    Contract {
        id: 7,
        customer: "ACME".into(),
        price_cents: 100,
        discount: 0.5,
        signed_at: signed_at(),
        notes: None,
        active: true,
    }
}

fn field_names(changes: &auditlog_diesel::ChangeSet) -> Vec<&str> {
    changes.fields().collect()
}

#[test]
fn diff_of_value_with_itself_is_empty() {
    let before = contract();
    let changes = before.diff(&before.clone(), &Masker::default());
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(changes.to_canonical_json(), "[]");
    assert_eq!(changes.to_string(), "");
}

#[test]
fn diff_lists_exactly_the_changed_fields_in_declaration_order() {
    let before = contract();
    let mut after = before.clone();
    after.active = false;
    after.customer = "ACME Corp".into();

    let changes = before.diff(&after, &Masker::default());

    assert_eq!(field_names(&changes), ["customer", "active"]);
    assert_eq!(
        changes.to_canonical_json(),
        r#"[{"after":"ACME Corp","before":"ACME","field":"customer"},{"after":false,"before":true,"field":"active"}]"#
    );
    assert_eq!(
        changes.to_string(),
        "customer: ACME -> ACME Corp\nactive: true -> false"
    );
}

#[test]
fn diff_records_before_and_after_as_typed_json() {
    let before = contract();
    let after = Contract {
        price_cents: 120,
        discount: 0.25,
        signed_at: signed_at() + chrono::Duration::days(1),
        notes: Some("renewed".into()),
        ..contract()
    };

    let changes = before.diff(&after, &Masker::default());

    assert_eq!(
        field_names(&changes),
        ["price_cents", "discount", "signed_at", "notes"]
    );
    let price = changes.get("price_cents").map(|c| (&c.before, &c.after));
    assert_eq!(price, Some((&json!(100), &json!(120))));
    let notes = changes.get("notes").map(|c| (&c.before, &c.after));
    assert_eq!(notes, Some((&json!(null), &json!("renewed"))));
    let signed = changes.get("signed_at").map(|c| (&c.before, &c.after));
    assert_eq!(
        signed,
        Some((
            &json!("2026-03-01T09:30:00.123456Z"),
            &json!("2026-03-02T09:30:00.123456Z")
        ))
    );
}

#[test]
fn option_changing_to_none_is_recorded_as_null() {
    let before = Contract {
        notes: Some("draft".into()),
        ..contract()
    };
    let changes = before.diff(&contract(), &Masker::default());
    assert_eq!(
        changes.to_canonical_json(),
        r#"[{"after":null,"before":"draft","field":"notes"}]"#
    );
}

#[test]
fn snapshot_lists_every_audited_field_in_declaration_order_with_typed_values() {
    let snapshot = contract().snapshot(&Masker::default());

    let names: Vec<&str> = snapshot.0.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(names, Contract::AUDITED_FIELDS);
    assert_eq!(
        Contract::AUDITED_FIELDS,
        [
            "id",
            "customer",
            "price_cents",
            "discount",
            "signed_at",
            "notes",
            "active"
        ]
    );
    assert_eq!(
        snapshot.to_canonical_json(),
        concat!(
            r#"[{"field":"id","value":7},{"field":"customer","value":"ACME"},"#,
            r#"{"field":"price_cents","value":100},{"field":"discount","value":0.5},"#,
            r#"{"field":"signed_at","value":"2026-03-01T09:30:00.123456Z"},"#,
            r#"{"field":"notes","value":null},{"field":"active","value":true}]"#
        )
    );
}

#[derive(Debug, Clone, Auditable)]
struct Renamed {
    id: i64,
    #[audit(rename = "display_name")]
    name: String,
    r#type: String,
}

#[test]
fn renamed_field_is_recorded_under_its_new_name_everywhere() {
    let before = Renamed {
        id: 1,
        name: "old".into(),
        r#type: "basic".into(),
    };
    let after = Renamed {
        name: "new".into(),
        ..before.clone()
    };

    assert_eq!(Renamed::AUDITED_FIELDS, ["id", "display_name", "type"]);
    let snapshot = before.snapshot(&Masker::default());
    assert!(snapshot.get("display_name").is_some());
    assert!(snapshot.get("name").is_none());
    assert_eq!(
        before.diff(&after, &Masker::default()).to_canonical_json(),
        r#"[{"after":"new","before":"old","field":"display_name"}]"#
    );
}

#[test]
fn raw_identifier_fields_are_recorded_without_the_prefix() {
    let value = Renamed {
        id: 1,
        name: "n".into(),
        r#type: "basic".into(),
    };
    let snapshot = value.snapshot(&Masker::default());
    assert_eq!(
        snapshot.get("type").map(|v| &v.value),
        Some(&json!("basic"))
    );
}
