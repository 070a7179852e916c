//! Hostile stored values reach the terminal escaped: they can neither forge lines nor drive
//! the terminal, and cannot break the table's layout.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{AuditContext, AuditedConnection, SecurityEvent};
use common::{contracts, stdout_of, Contract, NewContract, TestDb};
use diesel::prelude::*;

/// A value that tries everything: a forged line, a carriage return, colour escapes, a bell,
/// a C1 control sequence introducer and a right-to-left override.
const HOSTILE: &str =
    "evil\nPROBLEM  forged line\r\u{1b}[31mred\u{1b}[0m\u{7}\u{9b}2J \u{202e}txet";

fn long_hostile() -> String {
    format!("{}{}", "y".repeat(300), HOSTILE)
}

/// A log whose every text field is hostile: entries 1 (create), 2 (update), 3 (event).
fn hostile_db(kind: common::Kind) -> TestDb {
    let mut db = TestDb::migrated(kind);
    with_conn!(db, |c| {
        let mut a = AuditedConnection::wrap(c).with_integrity(common::keyring());
        a.set_context(
            AuditContext::new()
                .actor(HOSTILE)
                .actor_display(HOSTILE)
                .user_agent(HOSTILE)
                .session_id(HOSTILE)
                .correlation_id(HOSTILE)
                .reason(HOSTILE)
                .additional("note", HOSTILE),
        );
        let c: Contract = a
            .insert_into(contracts::table)
            .values(&NewContract::new(HOSTILE, 1))
            .get_result()
            .unwrap();
        a.update(contracts::table.find(c.id))
            .set(contracts::title.eq(long_hostile()))
            .execute()
            .unwrap();
        a.record_event(
            SecurityEvent::new(HOSTILE)
                .target_key::<Contract>(HOSTILE)
                .details(serde_json::json!({ "x": HOSTILE })),
        )
        .unwrap();
    });
    db
}

/// No character that a terminal interprets, or that reorders text, made it through.
fn assert_inert(output: &str) {
    for (c, name) in [
        ('\u{1b}', "ESC"),
        ('\r', "CR"),
        ('\u{7}', "BEL"),
        ('\u{9b}', "CSI"),
        ('\u{202e}', "RLO"),
    ] {
        assert!(!output.contains(c), "raw {name} in output:\n{output}");
    }
    assert!(
        !output.lines().any(|l| l.starts_with("PROBLEM  forged")),
        "a value forged a line:\n{output}"
    );
}

fn run(db: &TestDb, args: &[&str]) -> String {
    let out = db.cmd().args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout_of(&out);
    assert_inert(&text);
    assert_inert(&String::from_utf8(out.stderr).unwrap());
    text
}

on_each_backend! {
    fn the_history_table_keeps_one_line_per_entry_and_its_columns(kind) {
        let db = hostile_db(kind);
        let text = run(&db, &["history"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "header and three entries:\n{text}");
        for line in &lines[1..] {
            assert!(line.chars().count() < 200, "a cell was not cut:\n{line}");
        }
        assert!(lines[2].ends_with('…'), "the long summary ends with an ellipsis:\n{text}");
        assert!(text.contains(r"evil\nPROBLEM"), "values are shown escaped:\n{text}");
        // The columns after ACTOR start where the header says.
        let summary_at = lines[0].find("SUMMARY").unwrap();
        for line in &lines[1..] {
            let prefix: String = line.chars().take(summary_at).collect();
            assert!(prefix.ends_with("  "), "the layout moved:\n{text}");
        }
    }
}

on_each_backend! {
    fn show_prints_every_value_in_full_and_escaped(kind) {
        let db = hostile_db(kind);
        let text = run(&db, &["show", "2"]);
        let escaped = r"evil\nPROBLEM  forged line\r\u{1b}[31mred\u{1b}[0m\u{7}\u{9b}2J \u{202e}txet";
        assert!(text.contains(&format!("  actor        {escaped} <{escaped}>\n")), "{text}");
        assert!(text.contains(&format!("  user agent   {escaped}\n")), "{text}");
        assert!(text.contains(&format!("    after   {}{escaped}\n", "y".repeat(300))), "not in full:\n{text}");
        run(&db, &["show", "1"]);
        run(&db, &["show", "3"]);
    }
}

on_each_backend! {
    fn json_output_escapes_hazards_and_decodes_to_the_stored_value(kind) {
        let db = hostile_db(kind);
        let text = run(&db, &["history", "--json"]);
        assert_eq!(text.lines().count(), 3);
        let event: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(event["object"]["object_key"], HOSTILE);
        assert_eq!(event["event"]["details"]["x"], HOSTILE);

        let text = run(&db, &["export", "--since", "1h"]);
        let docs: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0]["user_agent"]["original"], HOSTILE);
        assert_eq!(docs[0]["user"]["id"], HOSTILE);
        assert_eq!(docs[1]["auditlog"]["changes"][0]["after"], long_hostile());
        run(&db, &["show", "2", "--json"]);
    }
}

on_each_backend! {
    fn hostile_values_in_tampered_rows_stay_escaped_in_verify_and_check(kind) {
        let mut db = hostile_db(kind);
        db.disable_append_only();
        db.exec("UPDATE audit_log SET key_id = 'k\u{1b}[2J\u{202e}' WHERE id = 1");
        let text = run(&db, &["verify"]);
        assert!(text.starts_with(r"TAMPERED: entry 1: unknown key id `k\u{1b}[2J\u{202e}`"), "{text}");
        let text = run(&db, &["check"]);
        assert!(text.contains(r"sealed with key id `k\u{1b}[2J\u{202e}`"), "{text}");
    }
}
