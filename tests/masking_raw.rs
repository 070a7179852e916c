//! A masked value never reaches the database, in any column of any row of the log.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{AuditContext, AuditedConnection, MaskingKey, SecurityEvent};
use common::{contracts, Contract, NewContract, TestDb};
use diesel::prelude::*;

const CARD_TOKEN: &str = "tok_visa_4242424242424242";

on_each_backend! {
    fn masked_values_never_reach_any_column(conn) {
        for keyed in [false, true] {
            let mut audited = AuditedConnection::wrap(&mut *conn);
            if keyed {
                audited = audited.with_masking_key(MaskingKey::new(*b"raw search test key!").unwrap());
            }
            audited.set_context(AuditContext::new().actor("u-1").reason("pasting a card"));
            let mut new = NewContract::new("Hosting", 100);
            new.notes = Some(format!("card {CARD_TOKEN}"));
            let c: Contract = audited.insert_into(contracts::table).values(&new).get_result().unwrap();
            audited
                .update(contracts::table.find(c.id))
                .set(contracts::notes.eq(format!("new card {CARD_TOKEN}!")))
                .execute()
                .unwrap();
            let mut reloaded: Contract = contracts::table.find(c.id).first(audited.unaudited()).unwrap();
            reloaded.title = "Hosting 2".into();
            reloaded.notes = Some(CARD_TOKEN.to_owned());
            audited.save(&reloaded).execute().unwrap();
            audited.record_access(&reloaded, None).unwrap();
            audited.record_event(SecurityEvent::new("export").target(&reloaded)).unwrap();
            audited.delete(contracts::table.find(c.id)).execute().unwrap();
        }

        let rows = common::raw_log_rows(&mut *conn);
        assert_eq!(rows.len(), 12, "both rounds were logged");
        let columns_seen = rows[0].split('\u{1f}').count();
        let columns_in_table = conn.log_column_count();
        assert_eq!(columns_seen as i64, columns_in_table, "the raw search must cover every column");
        for row in &rows {
            // Any recognisable piece of the token; not bare digits, which a hex fingerprint may
            // contain by chance.
            for piece in [CARD_TOKEN, "tok_visa", "visa_4242", "424242424242"] {
                assert!(!row.contains(piece), "masked card token leaked ({piece}): {row}");
            }
        }
        // The search does see stored values: an unmasked field shows up.
        assert!(rows.iter().any(|row| row.contains("Hosting 2")), "raw search found nothing");
    }
}
