//! Bulk updates and deletes record every row they touch, each with its own values.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use auditlog_diesel::{Action, AuditContext, AuditedConnection};
use common::{contracts, Contract, NewContract};
use diesel::prelude::*;
use serde_json::json;

const ROWS: i64 = 10_000;

fn seed<C: common::TestDb>(conn: &mut C)
where
    diesel::query_builder::InsertStatement<
        contracts::table,
        <Vec<NewContract> as Insertable<contracts::table>>::Values,
    >: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    // Unaudited seeding: the tests count only the entries of the bulk operation.
    let rows: Vec<NewContract> = (0..ROWS)
        .map(|i| NewContract::new(&format!("contract {i}"), 1_000 + i))
        .collect();
    for chunk in rows.chunks(1_000) {
        diesel::insert_into(contracts::table)
            .values(chunk.to_vec())
            .execute(conn)
            .unwrap();
    }
}

on_each_backend! {
    fn bulk_update_logs_every_row_even_those_it_moves_out_of_its_filter(conn) {
        seed(conn);
        let mut audited = AuditedConnection::wrap(conn);
        audited.set_context(AuditContext::new().actor("batch-job").correlation_id("price-rise-2026"));
        // The filter selects drafts, and the update makes them active: re-running the filter
        // afterwards would find nothing.
        let n = audited
            .update(contracts::table.filter(contracts::status.eq("draft")))
            .set((
                contracts::status.eq("active"),
                contracts::price_cents.eq(contracts::price_cents * 2),
            ))
            .execute()
            .unwrap();
        assert_eq!(n as i64, ROWS);

        let entries = audited.history().correlation_id("price-rise-2026").load_all().unwrap();
        assert_eq!(entries.len() as i64, ROWS);
        let mut seen = HashMap::new();
        for e in &entries {
            assert_eq!(e.action, Action::Update);
            assert_eq!(e.context.actor_id.as_deref(), Some("batch-job"));
            let price = e.changes.get("price_cents").unwrap();
            let before = price.before.as_i64().unwrap();
            assert_eq!(price.after, json!(before * 2), "row {}", e.object.object_key);
            let status = e.changes.get("status").unwrap();
            assert_eq!((status.before.clone(), status.after.clone()), (json!("draft"), json!("active")));
            assert!(seen.insert(e.object.object_key.clone(), before).is_none(), "duplicate entry");
        }
        // Each row's own before value: the prices were 1000..1000+ROWS.
        let mut befores: Vec<i64> = seen.into_values().collect();
        befores.sort();
        assert_eq!(befores, (1_000..1_000 + ROWS).collect::<Vec<_>>());
    }
}

on_each_backend! {
    fn bulk_update_logs_only_rows_whose_audited_fields_changed(conn) {
        seed(conn);
        let mut audited = AuditedConnection::wrap(conn);
        // Rows already at the floor do not change; the others do.
        let n = audited
            .update(contracts::table.filter(contracts::price_cents.lt(1_100)))
            .set(contracts::price_cents.eq(1_050))
            .execute()
            .unwrap();
        assert_eq!(n, 100);
        let entries = audited.history().action(Action::Update).load_all().unwrap();
        assert_eq!(entries.len(), 99, "the row already at 1050 is a no-op");
    }
}

on_each_backend! {
    fn bulk_delete_logs_every_row_with_its_snapshot(conn) {
        seed(conn);
        let mut audited = AuditedConnection::wrap(conn);
        let doomed: Vec<Contract> = contracts::table
            .filter(contracts::price_cents.ge(1_000 + ROWS - 500))
            .load(audited.unaudited())
            .unwrap();
        let n = audited
            .delete(contracts::table.filter(contracts::price_cents.ge(1_000 + ROWS - 500)))
            .execute()
            .unwrap();
        assert_eq!(n, 500);
        let entries = audited.history().action(Action::Delete).load_all().unwrap();
        assert_eq!(entries.len(), 500);
        let by_key: HashMap<String, &Contract> =
            doomed.iter().map(|c| (c.id.to_string(), c)).collect();
        for e in &entries {
            let c = by_key[&e.object.object_key];
            let snapshot = e.snapshot.as_ref().unwrap();
            assert_eq!(snapshot.get("title").unwrap().value, json!(c.title));
            assert_eq!(snapshot.get("price_cents").unwrap().value, json!(c.price_cents));
        }
    }
}
