//! Concurrent sealing writers never fork the chain, leave gaps or lose entries.
#![allow(clippy::unwrap_used)]

mod common;

use std::thread;

use auditlog_diesel::{verify, Action, AuditContext, AuditedConnection, IntegrityKey, Keyring};
use common::{contracts, Contract, NewContract};
use diesel::prelude::*;

const WRITERS: usize = 8;
const UPDATES_PER_WRITER: i64 = 250;

fn keyring() -> Keyring {
    Keyring::new(IntegrityKey::new("k-conc", *b"concurrency test key, 32 bytes!!").unwrap())
}

#[test]
fn eight_postgres_writers_keep_one_intact_chain() {
    let Some(mut db) = common::postgres() else {
        return;
    };
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut conn = db.connect_again();
            thread::spawn(move || {
                let mut audited = AuditedConnection::wrap(&mut conn).with_integrity(keyring());
                audited.set_context(AuditContext::new().actor(format!("writer-{w}")));
                let c: Contract = audited
                    .insert_into(contracts::table)
                    .values(&NewContract::new(&format!("w{w}"), 0))
                    .get_result()
                    .unwrap();
                for i in 1..=UPDATES_PER_WRITER {
                    let n = audited
                        .update(contracts::table.find(c.id))
                        .set(contracts::price_cents.eq(i))
                        .execute()
                        .unwrap();
                    assert_eq!(n, 1);
                }
                c.id
            })
        })
        .collect();
    let ids: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(ids.len(), WRITERS);

    let mut audited = AuditedConnection::wrap(&mut *db);
    let updates = audited.history().action(Action::Update).load_all().unwrap();
    assert_eq!(updates.len() as i64, WRITERS as i64 * UPDATES_PER_WRITER);
    let creates = audited.history().action(Action::Create).load_all().unwrap();
    assert_eq!(creates.len(), WRITERS);
    for w in 0..WRITERS {
        let mine = audited
            .history()
            .actor(format!("writer-{w}"))
            .load_all()
            .unwrap();
        assert_eq!(mine.len() as i64, UPDATES_PER_WRITER + 1, "writer {w}");
    }
    let report = verify(&mut *db, &keyring()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.entries as i64,
        WRITERS as i64 * (UPDATES_PER_WRITER + 1)
    );
}
