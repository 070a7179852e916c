//! Creates, updates, saves and deletes each write exactly one correct entry, with the context.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{Action, AuditContext, AuditedConnection, MaskingKey};
use common::{contracts, Contract, NewContract};
use diesel::prelude::*;
use serde_json::json;

fn alice() -> AuditContext {
    AuditContext::new()
        .actor("u-42")
        .actor_display("alice@example.com")
        .remote_addr("203.0.113.7:51234".parse().unwrap())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64)")
        .session_id("sess-9f2c")
        .correlation_id("req-0001")
        .reason("customer request")
        .additional("ticket", "SUP-1234")
}

on_each_backend! {
    fn create_writes_one_entry_with_snapshot_and_context(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        audited.set_context(alice());
        let mut new = NewContract::new("Hosting", 10_000);
        new.notes = Some("card tok_4242424242".into());
        new.internal_score = 7;
        let created: Contract = audited
            .insert_into(contracts::table)
            .values(&new)
            .get_result()
            .unwrap();
        assert_eq!(created.title, "Hosting");

        let entries = audited.history().load().unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.action, Action::Create);
        assert_eq!(e.object.object_type, "contracts");
        assert_eq!(e.object.object_key, created.id.to_string());
        assert!(e.changes.is_empty());
        let snapshot = e.snapshot.as_ref().unwrap();
        assert_eq!(snapshot.get("title").unwrap().value, json!("Hosting"));
        assert_eq!(snapshot.get("price_cents").unwrap().value, json!(10_000));
        assert_eq!(snapshot.get("notes").unwrap().value, json!("[masked]"));
        assert!(snapshot.get("internal_score").is_none(), "excluded field in snapshot");
        assert_eq!(snapshot.get("signed_at").unwrap().value, json!(null));
        assert_eq!(e.context, alice());
    }
}

on_each_backend! {
    fn insert_of_many_rows_writes_one_entry_per_row(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let rows: Vec<NewContract> =
            (0..25).map(|i| NewContract::new(&format!("c{i}"), i * 100)).collect();
        let created: Vec<Contract> = audited
            .insert_into(contracts::table)
            .values(&rows)
            .get_results()
            .unwrap();
        assert_eq!(created.len(), 25);
        let entries = audited.history().limit(100).load().unwrap();
        assert_eq!(entries.len(), 25);
        let mut keys: Vec<String> = entries.iter().map(|e| e.object.object_key.clone()).collect();
        keys.sort();
        let mut expected: Vec<String> = created.iter().map(|c| c.id.to_string()).collect();
        expected.sort();
        assert_eq!(keys, expected);
        // One operation, one generated correlation id shared by all its entries.
        let first = entries[0].context.correlation_id.clone().unwrap();
        assert!(entries.iter().all(|e| e.context.correlation_id.as_deref() == Some(&first)));
    }
}

on_each_backend! {
    fn update_writes_one_entry_with_before_and_after(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 10_000))
            .get_result()
            .unwrap();
        audited.set_context(alice());
        let updated: Contract = audited
            .update(contracts::table.find(c.id))
            .set((contracts::price_cents.eq(12_500), contracts::status.eq("active")))
            .get_result()
            .unwrap();
        assert_eq!(updated.price_cents, 12_500);

        let entries = audited.history().action(Action::Update).load().unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.object.object_key, c.id.to_string());
        assert_eq!(e.changes.fields().collect::<Vec<_>>(), ["status", "price_cents"]);
        let price = e.changes.get("price_cents").unwrap();
        assert_eq!((price.before.clone(), price.after.clone()), (json!(10_000), json!(12_500)));
        assert_eq!(e.context, alice());
        assert_eq!(e.changes.to_string(), "status: draft -> active\nprice_cents: 10000 -> 12500");
    }
}

on_each_backend! {
    fn update_that_changes_nothing_or_only_excluded_fields_logs_nothing(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 10_000))
            .get_result()
            .unwrap();
        let n = audited
            .update(contracts::table.find(c.id))
            .set(contracts::price_cents.eq(10_000))
            .execute()
            .unwrap();
        assert_eq!(n, 1, "the row matched, as with plain Diesel");
        let n = audited
            .update(contracts::table.find(c.id))
            .set(contracts::internal_score.eq(99))
            .execute()
            .unwrap();
        assert_eq!(n, 1);
        let stored: Contract = contracts::table.find(c.id).first(audited.unaudited()).unwrap();
        assert_eq!(stored.internal_score, 99, "the excluded change itself was applied");
        let updates = audited.history().action(Action::Update).load().unwrap();
        assert!(updates.is_empty(), "{updates:?}");
    }
}

on_each_backend! {
    fn update_matching_no_rows_returns_zero_and_logs_nothing(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let n = audited
            .update(contracts::table.filter(contracts::status.eq("nonexistent")))
            .set(contracts::price_cents.eq(1))
            .execute()
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(common::log_count(audited.unaudited()), 0);
    }
}

on_each_backend! {
    fn masked_field_change_is_recorded_without_its_value(conn) {
        let key = MaskingKey::new(*b"test masking key 0123").unwrap();
        let mut audited = AuditedConnection::wrap(conn).with_masking_key(key);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 10_000))
            .get_result()
            .unwrap();
        audited
            .update(contracts::table.find(c.id))
            .set(contracts::notes.eq("pasted card tok_visa_4242424242424242"))
            .execute()
            .unwrap();
        let entry = audited.history().action(Action::Update).load().unwrap().remove(0);
        let notes = entry.changes.get("notes").unwrap();
        assert_eq!(notes.mask, Some(auditlog_diesel::MaskKind::Redact));
        assert!(notes.after.as_str().unwrap().starts_with("[masked fp="), "{notes:?}");
        assert!(audited
            .masker()
            .matches(&notes.after, &json!("pasted card tok_visa_4242424242424242")));
        let raw = common::raw_log_rows(audited.unaudited()).join("\n");
        assert!(!raw.contains("4242"), "masked value leaked into the log: {raw}");
    }
}

on_each_backend! {
    fn save_of_a_modified_model_records_its_changes(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let mut c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 10_000))
            .get_result()
            .unwrap();
        c.title = "Hosting Plus".into();
        c.signed_at = Some(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_micro_opt(9, 30, 0, 250_000)
                .unwrap(),
        );
        let saved = audited.save(&c).get_result().unwrap();
        assert_eq!(saved, c);
        let e = audited.history().action(Action::Update).load().unwrap().remove(0);
        assert_eq!(e.changes.fields().collect::<Vec<_>>(), ["title", "signed_at"]);
        let signed = e.changes.get("signed_at").unwrap();
        assert_eq!(signed.before, json!(null));
        assert_eq!(signed.after, json!("2026-12-01T09:30:00.250Z"));

        // Saving again without modification records nothing more.
        assert_eq!(audited.save(&c).execute().unwrap(), 1);
        assert_eq!(audited.history().action(Action::Update).load().unwrap().len(), 1);
    }
}

on_each_backend! {
    fn delete_writes_one_entry_with_the_final_snapshot(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 10_000))
            .get_result()
            .unwrap();
        audited
            .update(contracts::table.find(c.id))
            .set(contracts::price_cents.eq(15_000))
            .execute()
            .unwrap();
        audited.set_context(alice());
        let deleted = audited.delete(contracts::table.find(c.id)).execute().unwrap();
        assert_eq!(deleted, 1);
        let remaining: i64 = contracts::table.count().get_result(audited.unaudited()).unwrap();
        assert_eq!(remaining, 0);

        let e = audited.history().action(Action::Delete).load().unwrap().remove(0);
        assert_eq!(e.object.object_key, c.id.to_string());
        let snapshot = e.snapshot.unwrap();
        assert_eq!(snapshot.get("price_cents").unwrap().value, json!(15_000));
        assert_eq!(e.context, alice());
    }
}

/// A partial update: `None` fields are left as they are.
#[derive(AsChangeset)]
#[diesel(table_name = contracts)]
struct ContractPatch {
    title: Option<String>,
    price_cents: Option<i64>,
}

on_each_backend! {
    fn update_with_an_empty_changeset_is_an_error_that_changes_and_logs_nothing(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 100))
            .get_result()
            .unwrap();
        let before = audited.history().load().unwrap().len();
        let empty = ContractPatch { title: None, price_cents: None };
        let err = audited.update(contracts::table.find(c.id)).set(&empty).execute().unwrap_err();
        assert!(
            matches!(&err, auditlog_diesel::AuditError::Data { operation: "update", object_type: "contracts", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no changes"), "{err}");
        assert_eq!(audited.history().load().unwrap().len(), before);
        // Whether or not a row matches, as with plain Diesel.
        let none = audited.update(contracts::table.find(c.id + 1)).set(&empty).execute();
        assert!(matches!(none, Err(auditlog_diesel::AuditError::Data { .. })), "{none:?}");

        // The same patch with a value applies and is logged.
        let patch = ContractPatch { title: None, price_cents: Some(250) };
        assert_eq!(audited.update(contracts::table.find(c.id)).set(&patch).execute().unwrap(), 1);
        let entries = audited.history().action(Action::Update).load().unwrap();
        assert_eq!(entries.len(), 1);
        let price = entries[0].changes.get("price_cents").unwrap();
        assert_eq!((price.before.clone(), price.after.clone()), (json!(100), json!(250)));
    }
}
