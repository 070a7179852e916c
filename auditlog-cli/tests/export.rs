//! `auditlog export`: JSON Lines with Elastic Common Schema names, oldest first.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::AuditedConnection;
use common::{contracts, stdout_of, Contract, NewContract, TestDb};
use serde_json::Value;

fn export(db: &TestDb, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = db.cmd().args(&all).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

on_each_backend! {
    fn entries_are_ecs_documents_oldest_first(kind) {
        let db = TestDb::populated(kind);
        let docs = export(&db, &["--since", "1h"]);
        let ids: Vec<i64> = docs.iter().map(|d| d["auditlog"]["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 6, 7]);

        let update = &docs[2];
        assert!(update["@timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(update["event"]["action"], "update");
        assert_eq!(update["event"]["kind"], "event");
        assert_eq!(update["user"]["id"], "u-2");
        assert_eq!(update["user"]["name"], "bob@example.com");
        assert_eq!(update["source"]["ip"], "198.51.100.23");
        assert_eq!(update["event"]["reason"], "renegotiated");
        assert_eq!(update["auditlog"]["object"]["type"], "contracts");
        assert_eq!(update["auditlog"]["correlation_id"], "req-update");
        assert_eq!(update["auditlog"]["changes"][0]["after"], 12000);

        let login = &docs[5];
        assert_eq!(login["event"]["action"], "login_failed");
        assert_eq!(login["event"]["severity"], 3);
        assert_eq!(login["user_agent"]["original"], "python-requests/2.32");
        assert!(login.get("user").is_none());
    }
}

on_each_backend! {
    fn the_range_is_half_open_and_checked(kind) {
        let db = TestDb::populated(kind);
        assert!(export(&db, &["--since", "2999-01-01T00:00:00Z", "--until", "2999-01-02"]).is_empty());
        assert_eq!(export(&db, &["--since", "2000-01-01", "--until", "2999-01-01"]).len(), 7);
        db.cmd()
            .args(["export", "--since", "1h", "--until", "2h"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("must be later than --since"));
    }
}

on_each_backend! {
    fn large_exports_page_through_every_entry_once_across_gaps(kind) {
        let mut db = TestDb::migrated(kind);
        with_conn!(db, |c| {
            let mut a = AuditedConnection::wrap(c).with_integrity(common::keyring());
            let rows: Vec<NewContract> =
                (0..2_345).map(|i| NewContract::new(&format!("c{i}"), i)).collect();
            let _: Vec<Contract> = a.insert_into(contracts::table).values(&rows).get_results().unwrap();
        });
        let ids = |db: &TestDb| -> Vec<i64> {
            export(db, &["--since", "1h"])
                .iter()
                .map(|d| d["auditlog"]["id"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(ids(&db), (1..=2_345).collect::<Vec<i64>>());

        // A gap wider than a page (whole windows without an entry) is walked over.
        db.disable_append_only();
        db.exec("DELETE FROM audit_log WHERE id BETWEEN 500 AND 1700");
        let expected: Vec<i64> = (1..500).chain(1701..=2_345).collect();
        assert_eq!(ids(&db), expected);
    }
}
