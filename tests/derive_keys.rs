//! `object_key`: which fields form the primary key and how it is rendered.

use auditlog_diesel::Auditable;
use diesel::prelude::*;

mod schema {
    diesel::table! {
        order_lines (order_id, line_no) {
            order_id -> BigInt,
            line_no -> Integer,
            sku -> Text,
        }
    }

    diesel::table! {
        shipments (order_id, line_no) {
            order_id -> BigInt,
            line_no -> Integer,
            tracking_code -> Text,
        }
    }

    diesel::table! {
        tags (id) {
            id -> Text,
            label -> Text,
        }
    }
}

#[derive(Auditable)]
struct Contract {
    id: i64,
    price_cents: i64,
}

#[derive(Auditable)]
struct Slug {
    id: String,
}

#[test]
fn integer_id_field_is_the_key_in_decimal() {
    let contract = Contract {
        id: 42,
        price_cents: 100,
    };
    assert_eq!(contract.object_key(), "42");
}

#[test]
fn text_id_field_is_the_key_as_it_is() {
    let slug = Slug { id: "ab-12".into() };
    assert_eq!(slug.object_key(), "ab-12");
}

#[derive(Auditable)]
#[audit(primary_key(tenant, number))]
struct TenantInvoice {
    number: String,
    tenant: i32,
    total_cents: i64,
}

#[test]
fn composite_key_renders_as_a_json_array_in_declared_key_order() {
    let invoice = TenantInvoice {
        number: "a".into(),
        tenant: 1,
        total_cents: 5,
    };
    assert_eq!(invoice.object_key(), r#"[1,"a"]"#);
}

#[derive(Queryable, Identifiable, Auditable)]
#[diesel(table_name = schema::order_lines, primary_key(order_id, line_no))]
struct OrderLine {
    order_id: i64,
    line_no: i32,
    sku: String,
}

#[test]
fn diesel_primary_key_is_used_when_audit_declares_none() {
    let line = OrderLine {
        order_id: 9,
        line_no: 2,
        sku: "SKU-1".into(),
    };
    assert_eq!(line.object_key(), "[9,2]");
}

#[derive(Identifiable, Auditable)]
#[diesel(table_name = schema::shipments, primary_key(order_id, line_no))]
#[audit(primary_key(tracking_code))]
struct Shipment {
    order_id: i64,
    line_no: i32,
    tracking_code: String,
}

#[test]
fn audit_primary_key_overrides_the_diesel_one() {
    let shipment = Shipment {
        order_id: 9,
        line_no: 2,
        tracking_code: "TRK-1".into(),
    };
    assert_eq!(shipment.object_key(), "TRK-1");
    // Diesel keeps its own key.
    assert_eq!(shipment.id(), (&9, &2));
}

#[derive(Queryable, Identifiable, Auditable)]
#[diesel(table_name = schema::tags)]
struct Tag {
    #[diesel(column_name = id)]
    code: String,
    label: String,
}

#[test]
fn the_field_mapped_to_the_id_column_is_the_default_key() {
    let tag = Tag {
        code: "rust".into(),
        label: "Rust".into(),
    };
    assert_eq!(tag.object_key(), "rust");
    assert_eq!(Tag::AUDITED_FIELDS, ["code", "label"]);
}
