//! A failed write leaves neither the change nor its entries; a committed one always has both.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{AuditContext, AuditError, AuditedConnection};
use common::{contracts, Contract, NewContract, TestDb};
use diesel::prelude::*;

fn count_contracts<C>(conn: &mut C) -> i64
where
    C: diesel::connection::LoadConnection,
    diesel::dsl::Count<contracts::table>: diesel::query_dsl::LoadQuery<'static, C, i64>,
{
    contracts::table.count().get_result(conn).unwrap()
}

on_each_backend! {
    fn constraint_violation_halfway_leaves_neither_data_nor_entries(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let mut rows: Vec<NewContract> = (0..10).map(|i| NewContract::new(&format!("c{i}"), 100)).collect();
        rows[5].price_cents = -1; // violates the CHECK constraint
        let err = audited.insert_into(contracts::table).values(&rows).execute().unwrap_err();
        assert!(matches!(err, AuditError::Data { operation: "insert", object_type: "contracts", .. }), "{err}");
        assert_eq!(count_contracts(audited.unaudited()), 0);
        assert_eq!(common::log_count(audited.unaudited()), 0);

        let ok: Vec<NewContract> = (0..10).map(|i| NewContract::new(&format!("c{i}"), 100 + i)).collect();
        audited.insert_into(contracts::table).values(&ok).execute().unwrap();
        let before = common::log_count(audited.unaudited());
        let err = audited
            .update(contracts::table)
            .set(contracts::price_cents.eq(contracts::price_cents - 105))
            .execute()
            .unwrap_err();
        assert!(err.to_string().contains("update on `contracts` failed"), "{err}");
        let prices: Vec<i64> = contracts::table.select(contracts::price_cents).order(contracts::id)
            .load(audited.unaudited()).unwrap();
        assert_eq!(prices, (100..110).collect::<Vec<i64>>(), "no row changed");
        assert_eq!(common::log_count(audited.unaudited()), before);
    }
}

on_each_backend! {
    fn failed_log_insert_rolls_back_the_change(conn) {
        conn.reject_log_rows_with_reason_fail_log();
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 100))
            .get_result()
            .unwrap();
        audited.set_context(AuditContext::new().reason("fail-log"));

        let err = audited.insert_into(contracts::table).values(&NewContract::new("Other", 1)).execute().unwrap_err();
        assert!(matches!(err, AuditError::Log { object_type: "contracts", entries: 1, .. }), "{err}");
        let err = audited
            .update(contracts::table.find(c.id))
            .set(contracts::price_cents.eq(200))
            .execute()
            .unwrap_err();
        assert!(err.to_string().contains("writing 1 audit log entries for `contracts` failed"), "{err}");
        let err = audited.delete(contracts::table.find(c.id)).execute().unwrap_err();
        assert!(matches!(err, AuditError::Log { .. }), "{err}");

        let stored: Vec<Contract> = contracts::table.load(audited.unaudited()).unwrap();
        assert_eq!(stored, vec![c], "nothing changed");
        assert_eq!(common::log_count(audited.unaudited()), 1, "only the first create");
    }
}

on_each_backend! {
    fn rolled_back_outer_transaction_removes_the_entries(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let result: Result<(), AuditError> = audited.transaction(|tx| {
            let c: Contract = tx
                .insert_into(contracts::table)
                .values(&NewContract::new("Hosting", 100))
                .get_result()?;
            tx.update(contracts::table.find(c.id)).set(contracts::price_cents.eq(150)).execute()?;
            assert_eq!(common::log_count(tx.unaudited()), 2, "visible inside the transaction");
            Err(AuditError::Migration("the caller changed its mind".into()))
        });
        assert!(result.is_err());
        assert_eq!(count_contracts(audited.unaudited()), 0);
        assert_eq!(common::log_count(audited.unaudited()), 0);
    }
}

on_each_backend! {
    fn operations_in_one_transaction_share_a_correlation_id(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        audited
            .transaction(|tx| -> Result<(), AuditError> {
                let c: Contract = tx
                    .insert_into(contracts::table)
                    .values(&NewContract::new("Hosting", 100))
                    .get_result()?;
                tx.update(contracts::table.find(c.id)).set(contracts::price_cents.eq(150)).execute()?;
                Ok(())
            })
            .unwrap();
        audited.insert_into(contracts::table).values(&NewContract::new("Later", 1)).execute().unwrap();
        let entries = audited.history().load().unwrap();
        assert_eq!(entries.len(), 3);
        let ids: Vec<_> = entries.iter().map(|e| e.context.correlation_id.clone().unwrap()).collect();
        assert_eq!(ids[1], ids[2], "the transaction's two entries share one id");
        assert_ne!(ids[0], ids[1], "a later operation gets a new one");
    }
}

// Inside `AuditedConnection::transaction` entries are buffered and written in batches: the
// tests below pin down that a buffered entry can never be lost while its change commits.

on_each_backend! {
    fn a_log_write_failing_at_commit_rolls_back_the_whole_transaction(conn) {
        conn.reject_log_rows_with_reason_fail_log();
        let mut audited = AuditedConnection::wrap(conn);
        let result: Result<(), AuditError> = audited.transaction(|tx| {
            tx.insert_into(contracts::table).values(&NewContract::new("Kept?", 100)).execute()?;
            // Buffered: the failing row is only sent to the database when the batch is written.
            tx.with_context(AuditContext::new().reason("fail-log"), |tx| {
                tx.insert_into(contracts::table).values(&NewContract::new("Other", 1)).execute()
            })?;
            Ok(())
        });
        let err = result.unwrap_err();
        assert!(matches!(err, AuditError::Log { object_type: "contracts", entries: 2, .. }), "{err}");
        assert_eq!(count_contracts(audited.unaudited()), 0, "neither change committed");
        assert_eq!(common::log_count(audited.unaudited()), 0);
    }
}

on_each_backend! {
    fn an_operation_failing_after_its_change_dooms_the_transaction(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let result: Result<(), AuditError> = audited.transaction(|tx| {
            let c: Contract = tx
                .insert_into(contracts::table)
                .values(&NewContract::new("Hosting", 100))
                .get_result()?;
            // The update runs, then cannot be matched to its before-image: it changed the key.
            let err = tx.update(contracts::table.find(c.id)).set(contracts::id.eq(c.id + 1000)).execute();
            assert!(matches!(err, Err(AuditError::Unmatched { .. })), "{err:?}");
            Ok(()) // the caller ignores the error...
        });
        // ...but the transaction cannot commit a change whose entry is missing.
        let err = result.unwrap_err();
        assert!(matches!(&err, AuditError::Aborted(reason) if reason.contains("no before-image")), "{err}");
        assert_eq!(count_contracts(audited.unaudited()), 0);
        assert_eq!(common::log_count(audited.unaudited()), 0);
    }
}

on_each_backend! {
    fn a_failed_nested_transaction_is_undone_alone(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        audited
            .transaction(|tx| -> Result<(), AuditError> {
                tx.insert_into(contracts::table).values(&NewContract::new("first", 100)).execute()?;
                let nested = tx.transaction(|inner| {
                    inner.insert_into(contracts::table).values(&NewContract::new("ok", 5)).execute()?;
                    inner.insert_into(contracts::table).values(&NewContract::new("bad", -1)).execute()
                });
                assert!(matches!(nested, Err(AuditError::Data { .. })), "{nested:?}");
                tx.insert_into(contracts::table).values(&NewContract::new("last", 300)).execute()?;
                Ok(())
            })
            .unwrap();
        let titles: Vec<String> = contracts::table
            .select(contracts::title)
            .order(contracts::id)
            .load(audited.unaudited())
            .unwrap();
        assert_eq!(titles, ["first", "last"]);
        assert_eq!(common::log_count(audited.unaudited()), 2, "one entry per committed change");
    }
}

on_each_backend! {
    fn a_long_transaction_writes_its_entries_in_batches_in_order(conn) {
        let n = auditlog_diesel::FLUSH_ENTRIES + 250;
        let mut audited = AuditedConnection::wrap(conn);
        audited
            .transaction(|tx| -> Result<(), AuditError> {
                for i in 0..n {
                    tx.insert_into(contracts::table)
                        .values(&NewContract::new(&format!("c{i}"), i64::try_from(i).unwrap()))
                        .execute()?;
                }
                // Reads inside the transaction see every entry, buffered ones included.
                let page = tx.history().object_type("contracts").limit(3).load()?;
                assert_eq!(page.len(), 3);
                assert_eq!(page[0].object.object_key, n.to_string(), "newest first: the last insert");
                assert_eq!(common::log_count(tx.unaudited()), i64::try_from(n).unwrap());
                Ok(())
            })
            .unwrap();
        // Entry ids follow the order of the operations.
        let keys: Vec<String> = auditlog_diesel::schema::audit_log::table
            .select(auditlog_diesel::schema::audit_log::object_key)
            .order(auditlog_diesel::schema::audit_log::id)
            .load(audited.unaudited())
            .unwrap();
        let expected: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        assert_eq!(keys, expected);
    }
}

on_each_backend! {
    fn a_bulk_update_failing_after_its_first_chunk_never_commits_half_done(conn) {
        let aborts = common::failed_statement_aborts_transaction(&*conn);
        let mut audited = AuditedConnection::wrap(conn).with_chunk_size(4);
        let result: Result<(), AuditError> = audited.transaction(|tx| {
            for i in 0..10 {
                tx.insert_into(contracts::table)
                    .values(&NewContract::new(&format!("c{i}"), 9 - i))
                    .execute()?;
            }
            // The first chunk (prices 9 to 6) can be lowered by 5; the second cannot.
            let failed = tx
                .update(contracts::table)
                .set(contracts::price_cents.eq(contracts::price_cents - 5))
                .execute();
            assert!(matches!(failed, Err(AuditError::Data { operation: "update", .. })), "{failed:?}");
            // PostgreSQL: the first chunk's change cannot be undone alone, so the transaction
            // is doomed and refuses further work. SQLite: the update ran in its own savepoint,
            // is undone alone, and the transaction goes on.
            let next = tx.insert_into(contracts::table).values(&NewContract::new("after", 1)).execute();
            assert_eq!(next.is_ok(), !aborts, "{next:?}");
            if aborts {
                assert!(matches!(next, Err(AuditError::Aborted(_))), "{next:?}");
            }
            Ok(())
        });
        if aborts {
            let err = result.unwrap_err();
            assert!(matches!(&err, AuditError::Aborted(reason) if reason.contains("update on `contracts` failed")), "{err}");
            assert_eq!(count_contracts(audited.unaudited()), 0, "nothing committed");
            assert_eq!(common::log_count(audited.unaudited()), 0);
        } else {
            result.unwrap();
            let prices: Vec<i64> = contracts::table
                .select(contracts::price_cents)
                .order(contracts::id)
                .load(audited.unaudited())
                .unwrap();
            assert_eq!(prices, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1], "the failed update left no change");
            assert_eq!(common::log_count(audited.unaudited()), 11, "one create entry per row, no update entry");
        }
    }
}
