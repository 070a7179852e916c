//! What the hash chain costs concurrent writers on PostgreSQL: eight connections each making
//! single-row audited updates, with and without sealing, plus one connection alone.
//!
//! ```text
//! AUDITLOG_BENCH_PG_URL=postgres://user:pw@localhost/db cargo bench --bench chain_contention
//! ```
//!
//! Prints one line per run and, last, one line of JSON. Without `AUDITLOG_BENCH_PG_URL` it
//! says so and exits: the chain costs nothing extra on SQLite, whose writers are serialised
//! by the database itself.

// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use auditlog_diesel::{
    run_migrations, AuditContext, Auditable, AuditedConnection, IntegrityKey, Keyring,
};
use diesel::prelude::*;

diesel::table! {
    bench_rows (id) {
        id -> Integer,
        price_cents -> BigInt,
    }
}

#[derive(Debug, Queryable, Auditable)]
#[diesel(table_name = bench_rows)]
struct BenchRow {
    id: i32,
    price_cents: i64,
}

const UPDATES_PER_WRITER: i64 = 300;

fn keyring() -> Keyring {
    match IntegrityKey::new("bench", [42u8; 32]) {
        Ok(key) => Keyring::new(key),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("chain_contention: {message}");
    std::process::exit(2)
}

fn connect(url: &str, schema: &str) -> PgConnection {
    let mut conn = PgConnection::establish(url).unwrap_or_else(|e| fail(&e.to_string()));
    diesel::sql_query(format!("SET search_path TO {schema}"))
        .execute(&mut conn)
        .unwrap_or_else(|e| fail(&e.to_string()));
    conn
}

fn prepare(url: &str, schema: &str, writers: usize) {
    let mut conn = PgConnection::establish(url).unwrap_or_else(|e| fail(&e.to_string()));
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
        format!("SET search_path TO {schema}"),
        "CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, price_cents BIGINT NOT NULL)".into(),
        format!("INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, {writers}) AS g"),
    ] {
        diesel::sql_query(sql)
            .execute(&mut conn)
            .unwrap_or_else(|e| fail(&e.to_string()));
    }
    run_migrations(&mut conn).unwrap_or_else(|e| fail(&e.to_string()));
}

/// Runs `writers` threads of single-row audited updates; returns the wall time.
fn run(url: &str, schema: &str, writers: usize, sealed: bool) -> Duration {
    prepare(url, schema, writers);
    let start = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let mut conn = connect(url, schema);
            std::thread::spawn(move || {
                let mut audited = AuditedConnection::wrap(&mut conn);
                if sealed {
                    audited = audited.with_integrity(keyring());
                }
                audited.set_context(AuditContext::new().actor(format!("writer-{w}")));
                let id = i32::try_from(w + 1).unwrap_or(i32::MAX);
                for i in 1..=UPDATES_PER_WRITER {
                    audited
                        .update(bench_rows::table.find(id))
                        .set(bench_rows::price_cents.eq(i))
                        .execute()
                        .unwrap_or_else(|e| fail(&e.to_string()));
                }
            })
        })
        .collect();
    for t in threads {
        if t.join().is_err() {
            fail("a writer thread panicked");
        }
    }
    start.elapsed()
}

fn main() {
    let Ok(url) = std::env::var("AUDITLOG_BENCH_PG_URL") else {
        println!("AUDITLOG_BENCH_PG_URL is not set: nothing to measure (SQLite serialises writers anyway)");
        return;
    };
    let schema = format!("bench_chain_{}", std::process::id());
    let mut figures = Vec::new();
    for (writers, sealed) in [(1, false), (1, true), (8, false), (8, true)] {
        let elapsed = run(&url, &schema, writers, sealed);
        let updates = writers as f64 * UPDATES_PER_WRITER as f64;
        let per_second = updates / elapsed.as_secs_f64();
        println!(
            "{writers} writer(s), {:<8} {:>6} audited updates in {:>7.3} s: {:>8.0} updates/s",
            if sealed { "sealed" } else { "unsealed" },
            updates,
            elapsed.as_secs_f64(),
            per_second
        );
        figures.push(serde_json::json!({
            "writers": writers, "sealed": sealed, "updates": updates,
            "seconds": elapsed.as_secs_f64(), "updates_per_second": per_second,
        }));
    }
    let mut conn = PgConnection::establish(&url).unwrap_or_else(|e| fail(&e.to_string()));
    let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn);
    println!("{}", serde_json::json!({ "chain_contention": figures }));
}
