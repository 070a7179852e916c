//! `auditlog check`: one precise line per problem, exit 1 when there is any.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::AuditedConnection;
use common::{contracts, other_key_env, stdout_of, Contract, Kind, NewContract, TestDb};

/// Runs `check`, asserts its exit code, returns the PROBLEM lines.
fn problems(cmd: &mut assert_cmd::Command, code: i32) -> Vec<String> {
    let out = cmd.arg("check").output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("PROBLEM  "))
        .map(str::to_owned)
        .collect()
}

on_each_backend! {
    fn a_correct_deployment_passes(kind) {
        let db = TestDb::populated(kind);
        let out = db.cmd().arg("check").output().unwrap();
        let text = stdout_of(&out);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("ok       migrations applied (20261201000001, 20261202000001)\n"), "{text}");
        assert!(text.contains("ok       all 8 indexes on audit_log present\n"), "{text}");
        assert!(text.ends_with("\nall checks passed\n"), "{text}");
    }
}

on_each_backend! {
    fn a_missing_log_table_and_pending_migrations_are_named(kind) {
        let db = TestDb::empty(kind);
        assert_eq!(problems(&mut db.cmd(), 1), vec![
            "log table audit_log is missing: run `auditlog migrate` (on PostgreSQL, also check the schema search_path)",
            "migration 20261201000001 (create_audit_log) is pending: run `auditlog migrate`",
            "migration 20261202000001 (integrity) is pending: run `auditlog migrate`",
        ]);
    }
}

on_each_backend! {
    fn a_pending_migration_is_named(kind) {
        let mut db = TestDb::migrated(kind);
        db.exec("DELETE FROM __diesel_schema_migrations WHERE version = '20261202000001'");
        assert_eq!(problems(&mut db.cmd(), 1), vec![
            "migration 20261202000001 (integrity) is pending: run `auditlog migrate`",
        ]);
        // The other commands refuse to run on a half-migrated log.
        db.cmd()
            .args(["history"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("has pending audit log migrations (20261202000001 (integrity)): run `auditlog migrate`"));
    }
}

on_each_backend! {
    fn a_missing_index_is_named_with_its_columns(kind) {
        let mut db = TestDb::migrated(kind);
        db.exec("DROP INDEX audit_log_actor");
        assert_eq!(problems(&mut db.cmd(), 1), vec![
            "index audit_log_actor on audit_log (actor_id, id) is missing: history queries that use it scan the whole table; create it as in auditlog-diesel/migrations",
        ]);
    }
}

on_each_backend! {
    fn a_dropped_append_only_trigger_is_named(kind) {
        let mut db = TestDb::migrated(kind);
        let (sql, name) = match kind {
            Kind::Sqlite => ("DROP TRIGGER audit_log_no_update", "audit_log_no_update (refuses UPDATE)"),
            Kind::Postgres => (
                "DROP TRIGGER audit_log_no_truncate ON audit_log",
                "audit_log_no_truncate (refuses TRUNCATE)",
            ),
        };
        db.exec(sql);
        assert_eq!(problems(&mut db.cmd(), 1), vec![format!(
            "append-only trigger {name} is missing: entries can be changed or removed without the database refusing; run the integrity migration's statement again"
        )]);
    }
}

#[test]
fn a_disabled_trigger_is_named_on_postgres() {
    if !common::pg_enabled() {
        return;
    }
    let mut db = TestDb::migrated(Kind::Postgres);
    db.disable_append_only();
    assert_eq!(problems(&mut db.cmd(), 1), vec![
        "append-only trigger audit_log_append_only (refuses UPDATE and DELETE outside retention) is disabled: ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
        "append-only trigger audit_log_no_truncate (refuses TRUNCATE) is disabled: ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate",
    ]);
    db.exec("ALTER TABLE audit_log ENABLE REPLICA TRIGGER audit_log_append_only");
    db.exec("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate");
    assert_eq!(problems(&mut db.cmd(), 1), vec![
        "append-only trigger audit_log_append_only (refuses UPDATE and DELETE outside retention) fires only in replica sessions: ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    ]);
}

#[test]
fn an_open_retention_gate_is_named_on_sqlite() {
    let mut db = TestDb::migrated(Kind::Sqlite);
    db.exec("UPDATE audit_log_gate SET open = 1");
    assert_eq!(problems(&mut db.cmd(), 1), vec![
        "the append-only triggers let every DELETE through: audit_log_gate.open is 1 outside a retention run",
    ]);
}

on_each_backend! {
    fn no_integrity_key_is_a_problem(kind) {
        let db = TestDb::populated(kind);
        assert_eq!(problems(db.cmd().env_remove("AUDITLOG_INTEGRITY_KEY"), 1), vec![
            "no integrity key configured: set AUDITLOG_INTEGRITY_KEY to the `id:hex` key the application seals entries with (and AUDITLOG_INTEGRITY_OLD_KEYS to retired keys)",
        ]);
        let bad = problems(db.cmd().env("AUDITLOG_INTEGRITY_KEY", "k1:zz"), 1);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("the integrity key in the environment is invalid: "), "{bad:?}");
    }
}

on_each_backend! {
    fn an_unknown_key_id_is_named_for_entries_and_head(kind) {
        let db = TestDb::populated(kind);
        let mut cmd = db.cmd();
        cmd.env("AUDITLOG_INTEGRITY_KEY", other_key_env("k-2027"));
        assert_eq!(problems(&mut cmd, 1), vec![
            "7 entries are sealed with key id `test-2026`, which the configured keyring lacks: add that key to AUDITLOG_INTEGRITY_OLD_KEYS",
            "the chain head is sealed with key id `test-2026`, which the configured keyring lacks: configure the key the application uses",
        ]);
        // After a rotation, the retired key in the keyring makes it whole again.
        let mut cmd = db.cmd();
        cmd.env("AUDITLOG_INTEGRITY_KEY", other_key_env("k-2027"))
            .env("AUDITLOG_INTEGRITY_OLD_KEYS", common::key_env());
        assert_eq!(problems(&mut cmd, 0), Vec::<String>::new());
    }
}

on_each_backend! {
    fn a_wrong_secret_is_caught_at_the_head(kind) {
        let db = TestDb::populated(kind);
        let mut cmd = db.cmd();
        cmd.env("AUDITLOG_INTEGRITY_KEY", other_key_env(common::KEY_ID));
        assert_eq!(problems(&mut cmd, 1), vec![
            "the chain head's seal does not verify with the configured key: the secret differs from the application's, or the head was modified (run `auditlog verify`)",
        ]);
    }
}

on_each_backend! {
    fn entries_written_without_a_key_are_named(kind) {
        let mut db = TestDb::migrated(kind);
        with_conn!(db, |c| {
            let mut a = AuditedConnection::wrap(c);
            let _: Contract = a
                .insert_into(contracts::table)
                .values(&NewContract::new("unsealed", 1))
                .get_result()
                .unwrap();
        });
        assert_eq!(problems(&mut db.cmd(), 1), vec![
            "1 entry is unsealed: written without an integrity key (configure the application's key); `auditlog verify` reports them",
        ]);
    }
}
