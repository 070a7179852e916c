//! History queries: by object, actor, correlation id, action and time; keyset pagination.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use auditlog_diesel::{Action, AuditContext, AuditedConnection};
use common::{contracts, Contract, NewContract};
use diesel::prelude::*;

on_each_backend! {
    fn history_survives_deleting_the_object(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited
            .insert_into(contracts::table)
            .values(&NewContract::new("Hosting", 100))
            .get_result()
            .unwrap();
        audited.update(contracts::table.find(c.id)).set(contracts::price_cents.eq(200)).execute().unwrap();
        audited.delete(contracts::table.find(c.id)).execute().unwrap();
        let history = audited.history().of::<Contract>(c.id.to_string()).load().unwrap();
        let actions: Vec<Action> = history.iter().map(|e| e.action).collect();
        assert_eq!(actions, [Action::Delete, Action::Update, Action::Create], "newest first");
        assert_eq!(audited.history().of_model(&c).load().unwrap(), history);
    }
}

on_each_backend! {
    fn keyset_pagination_returns_every_entry_exactly_once(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let rows: Vec<NewContract> = (0..137).map(|i| NewContract::new(&format!("c{i}"), i)).collect();
        audited.insert_into(contracts::table).values(&rows).execute().unwrap();
        let mut seen = HashSet::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let mut q = audited.history().of_type::<Contract>().limit(20);
            if let Some(id) = cursor {
                q = q.before(id);
            }
            let page = q.load().unwrap();
            if page.is_empty() {
                break;
            }
            pages += 1;
            assert!(page.windows(2).all(|w| w[0].id > w[1].id), "newest first within a page");
            for e in &page {
                assert!(seen.insert(e.id), "entry {} returned twice", e.id);
            }
            cursor = page.last().map(|e| e.id);
            // A write between pages must not disturb the pages still to come.
            if pages == 2 {
                audited.insert_into(contracts::table).values(&NewContract::new("late", 1)).execute().unwrap();
            }
        }
        assert_eq!(pages, 7);
        assert_eq!(seen.len(), 137);
    }
}

on_each_backend! {
    fn history_filters_by_actor_correlation_action_and_time(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let start = auditlog_diesel::now_micros();
        let alice = AuditContext::new().actor("alice").correlation_id("req-a");
        let bob = AuditContext::new().actor("bob").correlation_id("req-b");
        let c: Contract = audited.with_context(alice.clone(), |a| {
            a.insert_into(contracts::table).values(&NewContract::new("A", 1)).get_result().unwrap()
        });
        audited.with_context(bob, |a| {
            a.update(contracts::table.find(c.id)).set(contracts::price_cents.eq(2)).execute().unwrap();
            a.insert_into(contracts::table).values(&NewContract::new("B", 1)).execute().unwrap();
        });
        assert_eq!(audited.context(), &AuditContext::new(), "with_context restores the context");
        let middle = auditlog_diesel::now_micros();
        audited.with_context(alice, |a| {
            a.delete(contracts::table.find(c.id)).execute().unwrap();
        });

        let by_bob = audited.history().actor("bob").load().unwrap();
        assert_eq!(by_bob.len(), 2);
        assert!(by_bob.iter().all(|e| e.context.actor_id.as_deref() == Some("bob")));
        assert_eq!(audited.history().correlation_id("req-a").load().unwrap().len(), 2);
        let creates = audited.history().action(Action::Create).load().unwrap();
        assert_eq!(creates.len(), 2);
        let created_or_deleted = audited.history().action(Action::Create).action(Action::Delete).load().unwrap();
        assert_eq!(created_or_deleted.len(), 3);
        let all = audited.history().since(start).load().unwrap();
        assert_eq!(all.len(), 4);
        let late = audited.history().since(middle).load().unwrap();
        assert_eq!(late.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::Delete]);
        let early = audited.history().until(middle).load().unwrap();
        assert_eq!(early.len(), 3);
        let alice_deletes = audited.history().actor("alice").action(Action::Delete).load().unwrap();
        assert_eq!(alice_deletes.len(), 1);
    }
}

on_each_backend! {
    fn timestamps_are_utc_with_microseconds(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let before = auditlog_diesel::now_micros();
        audited.insert_into(contracts::table).values(&NewContract::new("A", 1)).execute().unwrap();
        let after = auditlog_diesel::now_micros();
        let e = audited.history().load().unwrap().remove(0);
        assert!(e.timestamp >= before && e.timestamp <= after, "{} not in [{before}, {after}]", e.timestamp);
        assert_eq!(e.timestamp.timestamp_subsec_nanos() % 1_000, 0);
    }
}
