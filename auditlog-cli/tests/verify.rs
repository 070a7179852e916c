//! `auditlog verify`: exit 0 when intact, 1 with the first broken entry, 2 when it cannot run.
#![allow(clippy::unwrap_used)]

mod common;

use common::{other_key_env, TestDb};
use predicates::prelude::*;

on_each_backend! {
    fn an_intact_log_verifies_quietly(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .arg("verify")
            .assert()
            .code(0)
            .stdout("intact: 7 entries verified (ids 1 to 7), chain head matches\n")
            .stderr("");
    }
}

on_each_backend! {
    fn a_modified_entry_is_reported_with_its_reason_and_content(kind) {
        let mut db = TestDb::populated(kind);
        db.disable_append_only();
        db.exec("UPDATE audit_log SET actor_id = 'mallory' WHERE id = 3");
        db.cmd()
            .arg("verify")
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with(
                "TAMPERED: entry 3: content modified: its values do not match its seal\n",
            ))
            .stdout(predicate::str::contains("the entry as stored now:\nentry 3\n"))
            .stdout(predicate::str::contains("  actor        bob@example.com <mallory>\n"));
    }
}

on_each_backend! {
    fn a_deleted_entry_is_reported_at_its_successor(kind) {
        let mut db = TestDb::populated(kind);
        db.disable_append_only();
        db.exec("DELETE FROM audit_log WHERE id = 4");
        db.cmd()
            .arg("verify")
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with(
                "TAMPERED: entry 5: entry missing: the entry before it in the chain is gone\n",
            ));
    }
}

on_each_backend! {
    fn a_removed_tail_is_reported_against_the_head(kind) {
        let mut db = TestDb::populated(kind);
        db.disable_append_only();
        db.exec("DELETE FROM audit_log WHERE id = 7");
        db.cmd()
            .arg("verify")
            .assert()
            .code(1)
            .stdout(predicate::str::contains("TAMPERED: entry 7: entries missing at the end"))
            .stdout(predicate::str::contains("entry 7 is not in the log"));
    }
}

on_each_backend! {
    fn a_key_the_log_was_not_sealed_with_never_verifies(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .arg("verify")
            .env("AUDITLOG_INTEGRITY_KEY", other_key_env("k-other"))
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with(
                "TAMPERED: entry 1: unknown key id `test-2026`: the keyring cannot verify it\n",
            ));
        db.cmd()
            .arg("verify")
            .env("AUDITLOG_INTEGRITY_KEY", other_key_env("k-other"))
            .env("AUDITLOG_INTEGRITY_OLD_KEYS", common::key_env())
            .assert()
            .code(0);
    }
}

on_each_backend! {
    fn verify_without_a_key_is_a_usage_error(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .arg("verify")
            .env_remove("AUDITLOG_INTEGRITY_KEY")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with(
                "error: verify needs the integrity key: set AUDITLOG_INTEGRITY_KEY",
            ));
        db.cmd()
            .arg("verify")
            .env("AUDITLOG_INTEGRITY_KEY", "no-colon-here")
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("error: the integrity key in the environment is invalid"));
    }
}
