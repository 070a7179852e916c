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
