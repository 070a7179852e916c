//! `auditlog history`: filters, pagination, table and JSON output.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stdout_of, TestDb};
use predicates::prelude::*;

/// The ids in the first column of a table, top to bottom.
fn table_ids(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

fn json_ids(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

on_each_backend! {
    fn object_history_is_newest_first_as_a_table(kind) {
        let db = TestDb::populated(kind);
        let out = db.cmd().args(["history", "--type", "contracts", "--key", "1"]).output().unwrap();
        assert!(out.status.success());
        let text = stdout_of(&out);
        assert!(text.starts_with("ID  TIME"), "{text}");
        assert_eq!(table_ids(&text), vec![4, 3, 1]);
        assert!(text.contains("price_cents: 10000 -> 12000"), "{text}");
        assert!(text.contains("bob@example.com"), "{text}");
    }
}

on_each_backend! {
    fn filters_by_actor_correlation_action_event_and_severity(kind) {
        let db = TestDb::populated(kind);
        let ids = |args: &[&str]| {
            let mut all = vec!["history", "--json"];
            all.extend_from_slice(args);
            json_ids(&stdout_of(&db.cmd().args(&all).output().unwrap()))
        };
        assert_eq!(ids(&["--actor", "u-2"]), vec![7, 3]);
        assert_eq!(ids(&["--correlation-id", "job-index"]), vec![5, 4]);
        assert_eq!(ids(&["--action", "create", "--action", "delete"]), vec![7, 2, 1]);
        assert_eq!(ids(&["--event", "login_failed"]), vec![6]);
        assert_eq!(ids(&["--min-severity", "warning"]), vec![6]);
        assert_eq!(ids(&["--type", "contracts"]), vec![7, 5, 4, 3, 2, 1]);
    }
}

on_each_backend! {
    fn time_ranges_accept_ages_dates_and_rfc3339(kind) {
        let db = TestDb::populated(kind);
        let count = |args: &[&str]| {
            let mut all = vec!["history", "--json"];
            all.extend_from_slice(args);
            let out = db.cmd().args(&all).output().unwrap();
            assert!(out.status.success(), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
            stdout_of(&out).lines().count()
        };
        assert_eq!(count(&["--since", "1h"]), 7);
        assert_eq!(count(&["--until", "1h"]), 0);
        assert_eq!(count(&["--since", "2000-01-01", "--until", "2999-01-01T00:00:00Z"]), 7);
        assert_eq!(count(&["--since", "2999-01-01"]), 0);
    }
}

on_each_backend! {
    fn pages_continue_with_before(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["history", "--limit", "3"])
            .assert()
            .success()
            .stderr(predicate::str::contains("repeat with --before 5"));
        let out = db.cmd().args(["history", "--limit", "3", "--before", "5"]).output().unwrap();
        assert_eq!(table_ids(&stdout_of(&out)), vec![4, 3, 2]);
        let out = db.cmd().args(["history", "--limit", "3", "--before", "2"]).output().unwrap();
        assert_eq!(table_ids(&stdout_of(&out)), vec![1]);
        assert!(out.stderr.is_empty(), "a short page has no continuation hint");
    }
}

on_each_backend! {
    fn json_lines_hold_the_whole_entry(kind) {
        let db = TestDb::populated(kind);
        let out = db.cmd().args(["history", "--json", "--type", "contracts", "--key", "1", "--action", "update"])
            .output().unwrap();
        let lines: Vec<serde_json::Value> = stdout_of(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let update = &lines[1];
        assert_eq!(update["id"], 3);
        assert_eq!(update["action"], "update");
        assert_eq!(update["object"]["object_type"], "contracts");
        assert_eq!(update["context"]["actor_id"], "u-2");
        assert_eq!(update["context"]["reason"], "renegotiated");
        assert_eq!(update["changes"][0]["field"], "price_cents");
        assert_eq!(update["changes"][1]["after"], "[masked]");
    }
}

on_each_backend! {
    fn an_unknown_object_type_is_refused_with_the_known_ones(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["history", "--type", "contract", "--key", "1"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "error: unknown object type `contract`: no entry in the log is about it; known types: contracts",
            ));
    }
}

on_each_backend! {
    fn no_match_says_so(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["history", "--type", "contracts", "--key", "99"])
            .assert()
            .success()
            .stdout("no matching entries\n");
        db.cmd()
            .args(["history", "--json", "--actor", "nobody"])
            .assert()
            .success()
            .stdout("");
    }
}
