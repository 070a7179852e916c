//! `auditlog show ID`: one entry in full.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stdout_of, TestDb};
use predicates::prelude::*;

on_each_backend! {
    fn an_update_is_shown_field_by_field_with_its_context(kind) {
        let db = TestDb::populated(kind);
        let out = db.cmd().args(["show", "3"]).output().unwrap();
        assert!(out.status.success());
        let text = stdout_of(&out);
        for expected in [
            "entry 3\n",
            "  action       update\n",
            "  object       contracts 1\n",
            "  actor        bob@example.com <u-2>\n",
            "  source       198.51.100.23:40022\n",
            "  correlation  req-update\n",
            "  reason       renegotiated\n",
            "changes (2 fields)\n  price_cents\n    before  10000\n    after   12000\n",
            "  notes  (masked)\n    before  null\n    after   [masked]\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(!text.contains("4242"), "a masked value leaked:\n{text}");
    }
}

on_each_backend! {
    fn a_create_shows_its_snapshot_and_an_event_its_details(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["show", "1"])
            .assert()
            .success()
            .stdout(predicate::str::contains("snapshot (5 fields)\n  id: 1\n  title: Hosting\n"));
        db.cmd()
            .args(["show", "6"])
            .assert()
            .success()
            .stdout(predicate::str::contains("  event        login_failed (warning)\n"))
            .stdout(predicate::str::contains(r#"  details      {"username":"bob"}"#))
            .stdout(predicate::str::contains("  source       192.0.2.200:61022\n"));
    }
}

on_each_backend! {
    fn json_shows_the_entry_as_one_object(kind) {
        let db = TestDb::populated(kind);
        let out = db.cmd().args(["show", "7", "--json"]).output().unwrap();
        let entry: serde_json::Value = serde_json::from_str(stdout_of(&out).trim_end()).unwrap();
        assert_eq!(entry["action"], "delete");
        assert_eq!(entry["snapshot"][1]["value"], "Support");
    }
}

on_each_backend! {
    fn a_missing_entry_is_an_error(kind) {
        let db = TestDb::populated(kind);
        db.cmd()
            .args(["show", "99"])
            .assert()
            .code(2)
            .stderr("error: entry 99 does not exist (it may have been pruned)\n");
    }
}
