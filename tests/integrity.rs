//! Tamper evidence: every kind of tampering is detected at the right entry, on each backend.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use auditlog_diesel::{
    verify, Action, AuditContext, AuditError, AuditedConnection, IntegrityKey, Keyring,
    SecurityEvent, Tampering, VerifyReport,
};
use common::{contracts, Contract, NewContract, TestDb};
use diesel::prelude::*;

fn keyring() -> Keyring {
    Keyring::new(IntegrityKey::new("k2026", *b"integrity test key, 32 bytes!!!!").unwrap())
}

/// Writes ten entries (ids 1..=10): creates, updates, an event, a delete.
fn write_history<C>(conn: &mut C)
where
    C: TestDb + diesel::connection::LoadConnection,
    for<'a> AuditedConnection<'a, C>: WriteHistory,
{
    let mut audited = AuditedConnection::wrap(conn).with_integrity(keyring());
    audited.write_history();
}

/// The scripted history, instantiated per backend (Diesel statements are typed per backend).
trait WriteHistory {
    fn write_history(&mut self);
}

macro_rules! impl_write_history {
    ($conn:ty) => {
        impl WriteHistory for AuditedConnection<'_, $conn> {
            fn write_history(&mut self) {
                self.set_context(AuditContext::new().actor("alice"));
                let rows: Vec<NewContract> = (0..4)
                    .map(|i| NewContract::new(&format!("c{i}"), 100 + i))
                    .collect();
                let created: Vec<Contract> = self
                    .insert_into(contracts::table)
                    .values(&rows)
                    .get_results()
                    .unwrap();
                self.update(contracts::table)
                    .set(contracts::price_cents.eq(contracts::price_cents + 1))
                    .execute()
                    .unwrap();
                self.record_event(SecurityEvent::new("login_failed"))
                    .unwrap();
                self.delete(contracts::table.find(created[0].id))
                    .execute()
                    .unwrap();
            }
        }
    };
}
impl_write_history!(diesel::SqliteConnection);
impl_write_history!(diesel::PgConnection);

fn broken(report: &VerifyReport) -> (i64, Tampering) {
    let b = report
        .broken
        .clone()
        .unwrap_or_else(|| panic!("tampering not detected: {report:?}"));
    (b.id, b.tampering)
}

fn exec<C: TestDb>(conn: &mut C, sql: &str)
where
    diesel::query_builder::SqlQuery: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    diesel::sql_query(sql).execute(conn).unwrap();
}

const COLUMNS: &str = "logged_at, action, object_type, object_key, object_repr, changes, \
    snapshot, actor_id, actor_display, remote_addr, remote_port, user_agent, session_id, \
    correlation_id, reason, additional_data, event_name, severity, details, key_id, \
    prev_hash, entry_hash";

on_each_backend! {
    fn sealed_log_verifies_intact(conn) {
        write_history(conn);
        let report = verify(conn, &keyring()).unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.entries, report.first_id, report.last_id), (10, Some(1), Some(10)));
    }
}

on_each_backend! {
    fn update_and_delete_outside_retention_are_refused(conn) {
        write_history(conn);
        for sql in [
            "UPDATE audit_log SET actor_id = 'mallory' WHERE id = 3",
            "DELETE FROM audit_log WHERE id = 3",
            "DELETE FROM audit_log",
        ] {
            let err = diesel::sql_query(sql).execute(&mut *conn).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        assert!(verify(conn, &keyring()).unwrap().is_intact());
    }
}

on_each_backend! {
    fn changed_values_actor_or_timestamp_are_detected_at_their_entry(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, "UPDATE audit_log SET changes = replace(changes, '101', '999') WHERE id = 6");
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (6, Tampering::ContentModified));
    }
}

on_each_backend! {
    fn changed_actor_is_detected(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, "UPDATE audit_log SET actor_id = 'bob' WHERE id = 4");
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (4, Tampering::ContentModified));
    }
}

on_each_backend! {
    fn changed_timestamp_is_detected(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, "UPDATE audit_log SET logged_at = '2020-01-01 00:00:00' WHERE id = 2");
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (2, Tampering::ContentModified));
    }
}

on_each_backend! {
    fn deleted_middle_entry_is_detected_at_its_successor(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, "DELETE FROM audit_log WHERE id = 5");
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (6, Tampering::EntryMissing));
    }
}

on_each_backend! {
    fn deleted_last_entry_is_detected_against_the_head(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, "DELETE FROM audit_log WHERE id = 10");
        let (id, tampering) = broken(&verify(conn, &keyring()).unwrap());
        assert_eq!((id, tampering), (10, Tampering::TailMissing { head_last_id: 10 }));
    }
}

on_each_backend! {
    fn forged_entry_is_detected(conn) {
        write_history(conn);
        conn.disable_append_only();
        // A row copied from entry 3 with the actor changed and a made-up seal, appended as
        // an attacker with full rights but without the key would.
        exec(conn, &format!(
            "INSERT INTO audit_log ({COLUMNS}) SELECT {} FROM audit_log WHERE id = 3",
            COLUMNS
                .replace("actor_id", "'mallory'")
                .replace("entry_hash", "'00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff'")
        ));
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (11, Tampering::EntryInserted));
    }
}

on_each_backend! {
    fn replayed_entry_is_detected(conn) {
        write_history(conn);
        conn.disable_append_only();
        exec(conn, &format!("INSERT INTO audit_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_log WHERE id = 3"));
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (11, Tampering::EntryInserted));
    }
}

on_each_backend! {
    fn swapped_entries_are_detected_as_reordered(conn) {
        write_history(conn);
        conn.disable_append_only();
        // Swap the contents of rows 4 and 5 (ids stay), as an attacker reordering history.
        let set = |from: i64| format!(
            "UPDATE audit_log SET ({COLUMNS}) = (SELECT {COLUMNS} FROM audit_log_copy c WHERE c.id = {from})"
        );
        exec(conn, "CREATE TABLE audit_log_copy AS SELECT * FROM audit_log WHERE id IN (4, 5)");
        exec(conn, &format!("{} WHERE id = 4", set(5)));
        exec(conn, &format!("{} WHERE id = 5", set(4)));
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (4, Tampering::OrderChanged));
    }
}

on_each_backend! {
    fn wrong_or_unknown_key_never_claims_success(conn) {
        write_history(conn);
        let wrong = Keyring::new(IntegrityKey::new("k2026", [1u8; 32]).unwrap());
        assert_eq!(broken(&verify(conn, &wrong).unwrap()), (1, Tampering::ContentModified));
        let other = Keyring::new(IntegrityKey::new("k1999", [1u8; 32]).unwrap());
        let (id, tampering) = broken(&verify(conn, &other).unwrap());
        assert_eq!((id, tampering), (1, Tampering::UnknownKeyId("k2026".into())));
    }
}

on_each_backend! {
    fn entries_written_without_a_key_are_reported_unsealed(conn) {
        write_history(conn);
        let mut audited = AuditedConnection::wrap(&mut *conn);
        audited.record_event(SecurityEvent::new("written_without_key")).unwrap();
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (11, Tampering::Unsealed));
        // Sealing resumes after it; the unsealed entry stays a break in the chain.
        let mut audited = AuditedConnection::wrap(&mut *conn).with_integrity(keyring());
        audited.record_event(SecurityEvent::new("sealed_again")).unwrap();
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (11, Tampering::Unsealed));
    }
}

on_each_backend! {
    fn retention_leaves_a_verifiable_chain_and_tampering_after_it_is_detected(conn) {
        write_history(conn);
        let cutoff = auditlog_diesel::now_micros();
        let mut audited = AuditedConnection::wrap(&mut *conn).with_integrity(keyring());
        audited.record_event(SecurityEvent::new("after_cutoff")).unwrap();
        let report = audited.prune(cutoff, 3).unwrap();
        assert_eq!((report.pruned, report.through_id), (10, Some(10)));
        let remaining = audited.history().load_all().unwrap();
        let actions: Vec<Action> = remaining.iter().map(|e| e.action).collect();
        assert_eq!(actions, [Action::Checkpoint, Action::Event]);
        let checkpoint = &remaining[0];
        assert_eq!(checkpoint.object.object_key, "10");
        let details = checkpoint.event.as_ref().unwrap().details.as_ref().unwrap();
        assert_eq!(details["pruned_entries"], 10);
        assert_eq!(details["last_pruned_hash"].as_str(), report.last_pruned_hash.as_deref());

        let verified = verify(conn, &keyring()).unwrap();
        assert!(verified.is_intact(), "{verified:?}");
        assert_eq!((verified.entries, verified.first_id), (2, Some(11)));

        // Pruning again with nothing old enough removes nothing.
        let mut audited = AuditedConnection::wrap(&mut *conn).with_integrity(keyring());
        assert_eq!(audited.prune(cutoff, 3).unwrap().pruned, 0);

        conn.disable_append_only();
        exec(conn, "UPDATE audit_log SET details = replace(details, '\"pruned_entries\":10', '\"pruned_entries\":9') WHERE id = 12");
        assert_eq!(broken(&verify(conn, &keyring()).unwrap()), (12, Tampering::ContentModified));
    }
}

on_each_backend! {
    fn retention_needs_an_integrity_key(conn) {
        write_history(conn);
        let mut audited = AuditedConnection::wrap(&mut *conn);
        let err = audited.prune(auditlog_diesel::now_micros(), 100).unwrap_err();
        assert!(err.to_string().contains("integrity key"), "{err}");
        assert!(verify(conn, &keyring()).unwrap().is_intact(), "nothing was removed");
    }
}

on_each_backend! {
    fn sealed_writes_inside_transactions_keep_the_chain_intact(conn) {
        let aborts = common::failed_statement_aborts_transaction(&*conn);
        let mut audited = AuditedConnection::wrap(&mut *conn)
            .with_integrity(keyring())
            .with_chunk_size(5);
        audited
            .transaction(|tx| -> Result<(), AuditError> {
                for i in 0..20 {
                    tx.insert_into(contracts::table)
                        .values(&NewContract::new(&format!("t{i}"), 19 - i))
                        .execute()?;
                }
                // A failed operation rolls back its savepoint, entries and head move included:
                // its first chunk (prices 19 to 15) is sealed and logged, its second violates
                // the price check. On PostgreSQL a failed statement aborts the enclosing
                // transaction, so there the operation runs in a nested one.
                let failed = if aborts {
                    tx.transaction(|inner| {
                        inner
                            .update(contracts::table)
                            .set(contracts::price_cents.eq(contracts::price_cents - 15))
                            .execute()
                    })
                } else {
                    tx.update(contracts::table)
                        .set(contracts::price_cents.eq(contracts::price_cents - 15))
                        .execute()
                };
                assert!(matches!(failed, Err(AuditError::Data { .. })), "{failed:?}");
                // A nested transaction rolled back leaves the head where it was...
                let nested: Result<(), AuditError> = tx.transaction(|inner| {
                    inner.record_event(SecurityEvent::new("undone"))?;
                    Err(AuditError::Integrity("the caller changed its mind".into()))
                });
                assert!(nested.is_err());
                // ...and one that commits hands its head back.
                tx.transaction(|inner| inner.record_event(SecurityEvent::new("kept")))?;
                tx.update(contracts::table)
                    .set(contracts::price_cents.eq(contracts::price_cents + 1))
                    .execute()?;
                Ok(())
            })
            .unwrap();
        let report = verify(conn, &keyring()).unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.entries, 41);

        // Outside a transaction of the wrapper, the head row is moved by each operation.
        let mut audited = AuditedConnection::wrap(&mut *conn).with_integrity(keyring());
        audited.record_event(SecurityEvent::new("after")).unwrap();
        assert!(verify(conn, &keyring()).unwrap().is_intact());
    }
}
