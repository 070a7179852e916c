//! `auditlog migrate`: creates the log table, then reports it up to date.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, TestDb};

on_each_backend! {
    fn migrate_creates_the_log_table_once(kind) {
        let db = TestDb::empty(kind);
        db.cmd()
            .arg("migrate")
            .assert()
            .success()
            .stdout("applied migration 20261201000001\napplied migration 20261202000001\n");
        db.cmd()
            .arg("migrate")
            .assert()
            .success()
            .stdout("the audit log table is up to date\n");
        db.cmd().arg("check").assert().code(0);
        db.cmd().arg("verify").assert().code(0)
            .stdout("intact: 0 entries verified, chain head matches\n");
    }
}

#[test]
fn migrate_creates_a_new_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    bin()
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", path.display()),
        ])
        .assert()
        .success();
    assert!(path.exists());
}
