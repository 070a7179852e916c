//! Hostile values are stored and returned byte for byte, and rendered safely.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{Action, AuditContext, AuditedConnection};
use common::{contracts, Contract, NewContract};
use diesel::prelude::*;
use serde_json::json;

fn hostile_values() -> Vec<String> {
    vec![
        "Robert'); DROP TABLE audit_log;--".to_owned(),
        "line one\nprice_cents: 1 -> 2\r\nforged".to_owned(),
        "\u{1b}[2J\u{1b}[31mred alert\u{1b}[0m\u{7}".to_owned(),
        "tab\there \\ back\\slash \"quoted\" %s %n $1 ?".to_owned(),
        "日本語 · émoji 🦀 · right-to-left \u{202e}txet".to_owned(),
        "x".repeat(100_000),
    ]
}

on_each_backend! {
    fn hostile_values_round_trip_byte_for_byte_and_render_safely(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        for (i, value) in hostile_values().into_iter().enumerate() {
            audited.set_context(
                AuditContext::new()
                    .actor(value.clone())
                    .user_agent(value.clone())
                    .reason(value.clone())
                    .additional("payload", value.clone()),
            );
            let c: Contract = audited
                .insert_into(contracts::table)
                .values(&NewContract::new(&format!("t{i}"), 1))
                .get_result()
                .unwrap();
            audited
                .update(contracts::table.find(c.id))
                .set(contracts::title.eq(&value))
                .execute()
                .unwrap();
            let e = audited.history().of_model(&c).action(Action::Update).load().unwrap().remove(0);
            let title = e.changes.get("title").unwrap();
            assert_eq!(title.after, json!(value), "value {i} changed in storage");
            assert_eq!(e.context.actor_id.as_deref(), Some(value.as_str()));
            assert_eq!(e.context.user_agent.as_deref(), Some(value.as_str()));
            assert_eq!(e.context.additional_data.as_ref().unwrap()["payload"], json!(value));

            let rendered = e.to_string();
            assert!(!rendered.contains('\u{1b}') && !rendered.contains('\r') && !rendered.contains('\u{7}'),
                "raw control character in {rendered:?}");
            assert!(!rendered.contains('\u{202e}'), "bidi override rendered raw");
            let change_lines = e.changes.to_string();
            assert_eq!(change_lines.lines().count(), 1, "a value forged a line: {change_lines:?}");
        }
        let titles: Vec<String> = contracts::table.select(contracts::title).order(contracts::id)
            .load(audited.unaudited()).unwrap();
        assert_eq!(titles, hostile_values(), "the data itself is intact");
    }
}
