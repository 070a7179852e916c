//! Bad input and unreachable databases: one `error:` line, exit status 2, never a panic.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, Kind, TestDb};
use predicates::prelude::*;

/// Exit status 2, nothing on stdout, and an `error:` message that is no panic.
fn fails(cmd: &mut assert_cmd::Command, message: &str) {
    cmd.assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("panicked").not())
        .stderr(predicate::str::starts_with("error:"));
}

#[test]
fn no_database_given() {
    fails(
        bin().arg("history"),
        "error: no database given: pass --database-url or set DATABASE_URL",
    );
}

#[test]
fn a_missing_sqlite_file_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    fails(
        bin().args(["history", "--database-url", path.to_str().unwrap()]),
        "does not exist (only `auditlog migrate` creates one)",
    );
    assert!(!path.exists());
}

#[test]
fn a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not a SQLite database, just some text to fill a page",
    )
    .unwrap();
    fails(
        bin().args(["history", "--database-url", path.to_str().unwrap()]),
        "cannot connect to SQLite database",
    );
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    bin()
        .args(["verify", "--database-url", "postgres://auditor:hunter2@127.0.0.1:1/audit"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: cannot connect to PostgreSQL database `postgres://auditor:***@127.0.0.1:1/audit`: ",
        ))
        .stderr(predicate::str::contains("hunter2").not());
}

on_each_backend! {
    fn a_database_without_the_log_table(kind) {
        let db = TestDb::empty(kind);
        for command in [&["history"][..], &["show", "1"], &["verify"], &["export", "--since", "1d"]] {
            fails(db.cmd().args(command), "has no audit log table (`audit_log`): run `auditlog migrate`");
        }
    }
}

#[test]
fn malformed_dates_say_what_is_accepted() {
    let db = TestDb::populated(Kind::Sqlite);
    for (flag, value) in [
        ("--since", "yesterday"),
        ("--until", "2026-13-45"),
        ("--since", "5y"),
    ] {
        db.cmd()
            .args(["history", flag, value])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("invalid value '{value}' for '{flag} <WHEN>'")))
            .stderr(predicate::str::contains("expected RFC 3339 (2026-12-03T10:15:00Z), a date (2026-12-03, midnight UTC) or an age (30m, 24h, 7d, 2w)"));
    }
}

#[test]
fn usage_errors_exit_2() {
    let db = TestDb::populated(Kind::Sqlite);
    db.cmd()
        .args(["history", "--key", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--type <TYPE>"));
    db.cmd()
        .args(["history", "--action", "upsert"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown action; expected one of: create, update",
        ));
    db.cmd().args(["history", "--limit", "0"]).assert().code(2);
    db.cmd().args(["show", "abc"]).assert().code(2);
    db.cmd().arg("frobnicate").assert().code(2);
    db.cmd()
        .args(["prune"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--before <WHEN>"));
}

#[test]
fn every_command_has_help() {
    for command in [
        "migrate", "history", "show", "verify", "prune", "export", "check",
    ] {
        bin()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: auditlog"));
    }
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Exit status: 0 success, 1 findings",
        ));
}
