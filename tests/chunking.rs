//! Bulk updates and deletes work through their rows in bounded, key-ordered chunks.
#![allow(clippy::unwrap_used)]
// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use auditlog_diesel::{Action, AuditError, Auditable, AuditedConnection};
use common::{contracts, Contract, NewContract};
use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use serde_json::json;

diesel::table! {
    tier_prices (tier, region) {
        tier -> Text,
        region -> Integer,
        price_cents -> BigInt,
    }
}

/// A model with a composite primary key.
#[derive(Debug, Clone, PartialEq, Queryable, Insertable, Auditable)]
#[diesel(table_name = tier_prices, primary_key(tier, region))]
struct TierPrice {
    tier: String,
    region: i32,
    price_cents: i64,
}

/// Records the SQL of every statement the connection runs.
fn record_statements(conn: &mut impl Connection) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            sink.lock().unwrap().push(query.to_string());
        }
    });
    log
}

/// Whether `statement` names `table` (quoted "so" on PostgreSQL, `so` on SQLite).
fn names(statement: &str, table: &str) -> bool {
    statement.contains(&format!("\"{table}\"")) || statement.contains(&format!("`{table}`"))
}

/// Whether `statement` works on the contracts table and not on the log (whose inserts name
/// `contracts` among their bound values).
fn on_contracts_only(statement: &str) -> bool {
    names(statement, "contracts") && !names(statement, "audit_log")
}

fn seed_contracts<C>(audited: &mut AuditedConnection<'_, C>, n: i64)
where
    C: auditlog_diesel::AuditConnection,
    diesel::query_builder::InsertStatement<
        contracts::table,
        <Vec<NewContract> as Insertable<contracts::table>>::Values,
    >: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    let rows: Vec<NewContract> = (0..n)
        .map(|i| NewContract::new(&format!("c{i}"), 100 + i))
        .collect();
    diesel::insert_into(contracts::table)
        .values(rows)
        .execute(audited.unaudited())
        .unwrap();
}

on_each_backend! {
    fn bulk_update_reads_and_writes_in_chunks_of_the_configured_size(conn) {
        let mut audited = AuditedConnection::wrap(conn).with_chunk_size(100);
        seed_contracts(&mut audited, 1_050);
        let statements = record_statements(audited.unaudited());
        let n = audited
            .update(contracts::table.filter(contracts::status.eq("draft")))
            .set(contracts::status.eq("active"))
            .execute()
            .unwrap();
        assert_eq!(n, 1_050);
        let statements = statements.lock().unwrap().clone();
        let chunk_reads = statements.iter().filter(|s| s.contains("LIMIT")).count();
        assert_eq!(chunk_reads, 11, "ten full chunks and one partial: {statements:#?}");
        let updates = statements.iter().filter(|s| s.starts_with("UPDATE")).count();
        assert_eq!(updates, 11);
        let entries = audited.history().action(Action::Update).load_all().unwrap();
        assert_eq!(entries.len(), 1_050);
        let keys: HashSet<_> = entries.iter().map(|e| e.object.object_key.clone()).collect();
        assert_eq!(keys.len(), 1_050, "every row exactly once");
    }
}

on_each_backend! {
    fn bulk_delete_works_in_chunks_and_logs_every_row(conn) {
        let mut audited = AuditedConnection::wrap(conn).with_chunk_size(64);
        seed_contracts(&mut audited, 300);
        let statements = record_statements(audited.unaudited());
        let deleted: Vec<Contract> = audited
            .delete(contracts::table.filter(contracts::price_cents.ge(150)))
            .get_results()
            .unwrap();
        assert_eq!(deleted.len(), 250);
        let deletes = statements.lock().unwrap().iter().filter(|s| s.starts_with("DELETE")).count();
        assert_eq!(deletes, 4, "250 rows in chunks of 64");
        let entries = audited.history().action(Action::Delete).load_all().unwrap();
        let keys: HashSet<_> = entries.iter().map(|e| e.object.object_key.clone()).collect();
        let expected: HashSet<_> = deleted.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(keys, expected);
        let left: i64 = contracts::table.count().get_result(audited.unaudited()).unwrap();
        assert_eq!(left, 50);
    }
}

fn create_tier_prices<C: Connection>(conn: &mut C)
where
    diesel::query_builder::SqlQuery: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    diesel::sql_query(
        "CREATE TABLE tier_prices (tier TEXT NOT NULL, region INTEGER NOT NULL, \
         price_cents BIGINT NOT NULL, PRIMARY KEY (tier, region))",
    )
    .execute(conn)
    .unwrap();
}

on_each_backend! {
    fn composite_keys_are_chunked_in_key_order(conn) {
        create_tier_prices(conn);
        let rows: Vec<TierPrice> = ["basic", "gold", "plus"]
            .iter()
            .flat_map(|tier| (1..=20).map(move |region| TierPrice {
                tier: tier.to_string(),
                region,
                price_cents: 1_000 + i64::from(region),
            }))
            .collect();
        diesel::insert_into(tier_prices::table).values(&rows).execute(conn).unwrap();

        // Chunks of 7 cut through the middle of each tier, so resuming after the last key of
        // a chunk must compare (tier, region) lexicographically.
        let mut audited = AuditedConnection::wrap(conn).with_chunk_size(7);
        let n = audited
            .update(tier_prices::table.filter(tier_prices::region.gt(5)))
            .set(tier_prices::price_cents.eq(tier_prices::price_cents * 2))
            .execute()
            .unwrap();
        assert_eq!(n, 45);
        let entries = audited.history().of_type::<TierPrice>().load_all().unwrap();
        assert_eq!(entries.len(), 45);
        let keys: HashSet<String> = entries.iter().map(|e| e.object.object_key.clone()).collect();
        for tier in ["basic", "gold", "plus"] {
            for region in 6..=20 {
                assert!(keys.contains(&format!(r#"["{tier}",{region}]"#)), "{tier}/{region} missing");
            }
        }
        let e = entries.iter().find(|e| e.object.object_key == r#"["gold",6]"#).unwrap();
        let price = e.changes.get("price_cents").unwrap();
        assert_eq!((price.before.clone(), price.after.clone()), (json!(1_006), json!(2_012)));
    }
}

on_each_backend! {
    fn update_that_changes_a_primary_key_is_refused_and_rolled_back(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 100))
            .get_result()
            .unwrap();
        let err = audited
            .update(contracts::table.find(c.id))
            .set(contracts::id.eq(c.id + 1_000))
            .execute()
            .unwrap_err();
        assert!(matches!(err, AuditError::Unmatched { object_type: "contracts", .. }), "{err}");
        let ids: Vec<i32> = contracts::table.select(contracts::id).load(audited.unaudited()).unwrap();
        assert_eq!(ids, vec![c.id], "the key change was rolled back");
        assert_eq!(audited.history().action(Action::Update).load().unwrap().len(), 0);
    }
}

on_each_backend! {
    fn a_single_row_update_inside_a_transaction_reads_and_changes_its_row_in_as_few_statements_as_the_backend_allows(conn) {
        let aborts = common::failed_statement_aborts_transaction(&*conn);
        let mut audited = AuditedConnection::wrap(conn);
        seed_contracts(&mut audited, 3);
        let statements = record_statements(audited.unaudited());
        audited
            .transaction(|tx| -> Result<(), AuditError> {
                for id in 1..=3 {
                    tx.update(contracts::table.find(id))
                        .set(contracts::price_cents.eq(contracts::price_cents * 2))
                        .execute()?;
                }
                Ok(())
            })
            .unwrap();
        let statements = statements.lock().unwrap().clone();
        let on_contracts: Vec<&String> =
            statements.iter().filter(|s| on_contracts_only(s)).collect();
        if aborts {
            // PostgreSQL: one statement locks the row, changes it and returns both images.
            assert_eq!(on_contracts.len(), 3, "{on_contracts:#?}");
            assert!(on_contracts.iter().all(|s| s.starts_with("UPDATE") && s.contains("FOR UPDATE")));
        } else {
            // SQLite: the before-image read, then the update.
            assert_eq!(on_contracts.len(), 6, "{on_contracts:#?}");
        }
        // No savepoint per operation, and the entries go out in one batch.
        assert!(!statements.iter().any(|s| s.starts_with("SAVEPOINT")), "{statements:#?}");
        let log_writes = statements
            .iter()
            .filter(|s| (s.starts_with("INSERT") || s.starts_with("COPY")) && names(s, "audit_log"))
            .count();
        assert_eq!(log_writes, 1, "{statements:#?}");
        let entries = audited.history().action(Action::Update).load_all().unwrap();
        let prices: Vec<_> = entries
            .iter()
            .map(|e| e.changes.get("price_cents").unwrap().after.clone())
            .collect();
        assert_eq!(prices, [json!(204), json!(202), json!(200)], "newest first");
    }
}

on_each_backend! {
    fn a_save_reads_and_changes_its_row_in_as_few_statements_as_the_backend_allows(conn) {
        let aborts = common::failed_statement_aborts_transaction(&*conn);
        let mut audited = AuditedConnection::wrap(conn);
        seed_contracts(&mut audited, 2);
        let mut rows: Vec<Contract> =
            contracts::table.order(contracts::id).load(audited.unaudited()).unwrap();
        let statements = record_statements(audited.unaudited());
        rows[0].price_cents = 999;
        let saved = audited.save(&rows[0]).get_result().unwrap();
        assert_eq!(saved, rows[0]);
        let statements = statements.lock().unwrap().clone();
        let on_contracts = statements.iter().filter(|s| on_contracts_only(s)).count();
        assert_eq!(on_contracts, if aborts { 1 } else { 2 }, "{statements:#?}");
        let entry = audited.history().action(Action::Update).load().unwrap().remove(0);
        let price = entry.changes.get("price_cents").unwrap();
        assert_eq!((price.before.clone(), price.after.clone()), (json!(100), json!(999)));

        // A model whose row is gone saves nothing and logs nothing.
        diesel::delete(contracts::table.find(rows[1].id)).execute(audited.unaudited()).unwrap();
        rows[1].price_cents = 5;
        assert_eq!(audited.save(&rows[1]).execute().unwrap(), 0);
        assert_eq!(audited.history().action(Action::Update).load().unwrap().len(), 1);
    }
}
