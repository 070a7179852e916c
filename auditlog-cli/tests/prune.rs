//! `auditlog prune`: retention with a dry run, a summary and a verifiable checkpoint.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stdout_of, TestDb};
use predicates::prelude::*;

on_each_backend! {
    fn a_dry_run_counts_and_removes_nothing(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["prune", "--before", "0s", "--dry-run"])
            .env_remove("AUDITLOG_INTEGRITY_KEY")
            .assert()
            .success()
            .stdout(predicate::str::contains("dry run: would remove 7 entries logged before "))
            .stdout(predicate::str::contains("(ids 1 to 7)"))
            .stdout(predicate::str::contains(
                "would resume the chain from the seal of entry 7: ",
            ));
        let out = db.cmd().args(["history", "--json"]).output().unwrap();
        assert_eq!(stdout_of(&out).lines().count(), 7);
        db.cmd()
            .args(["prune", "--before", "2000-01-01", "--dry-run"])
            .assert()
            .success()
            .stdout("dry run: nothing to prune: no sealed entry was logged before 2000-01-01T00:00:00Z\n");
    }
}

on_each_backend! {
    fn pruning_leaves_a_checkpoint_that_verifies(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["prune", "--before", "0s", "--batch", "2", "--actor", "ops-1"])
            .assert()
            .success()
            .stdout(predicate::str::contains("removed 7 entries logged before "))
            .stdout(predicate::str::contains("(through id 7)"))
            .stdout(predicate::str::contains(
                "checkpoint left behind: entry 8 records the pruned ids 1 to 7 (7 in all)",
            ))
            .stdout(predicate::str::contains("the chain now resumes from the last pruned seal "));
        db.cmd()
            .arg("verify")
            .assert()
            .code(0)
            .stdout("intact: 1 entry verified (ids 8 to 8), chain head matches\n");
        db.cmd()
            .args(["show", "8"])
            .assert()
            .success()
            .stdout(predicate::str::contains("  action       checkpoint\n"))
            .stdout(predicate::str::contains("  actor        auditlog prune <ops-1>\n"));
    }
}

on_each_backend! {
    fn nothing_old_enough_is_not_an_error(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["prune", "--before", "2000-01-01"])
            .assert()
            .success()
            .stdout("nothing to prune: no sealed entry was logged before 2000-01-01T00:00:00Z\n");
    }
}

on_each_backend! {
    fn pruning_needs_the_key(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["prune", "--before", "0s"])
            .env_remove("AUDITLOG_INTEGRITY_KEY")
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("error: prune needs the integrity key"));
    }
}
