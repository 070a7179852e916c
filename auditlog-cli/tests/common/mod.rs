//! Test harness for the `auditlog` binary: a fresh database per test on each backend,
//! populated through the library, and the binary pointed at it.
//!
//! SQLite databases are files in a temporary directory. PostgreSQL runs when
//! `AUDITLOG_TEST_PG_URL` is set: each test gets a schema of its own, which the binary reaches
//! through the URL (`?options=-csearch_path%3D<schema>`), and which is dropped afterwards.
//! Without the variable the PostgreSQL half is skipped with a notice on stderr, unless `CI` is
//! set, in which case it fails (the same policy as the workspace's own tests).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use auditlog_diesel::{
    run_migrations, AuditContext, Auditable, AuditedConnection, IntegrityKey, Keyring,
    SecurityEvent, Severity,
};
use diesel::prelude::*;

diesel::table! {
    contracts (id) {
        id -> Integer,
        title -> Text,
        status -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
    }
}

/// The audited model: notes are masked.
#[derive(Debug, Clone, PartialEq, Queryable, Identifiable, AsChangeset, Auditable)]
#[diesel(table_name = contracts)]
pub struct Contract {
    pub id: i32,
    pub title: String,
    pub status: String,
    pub price_cents: i64,
    #[audit(mask)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = contracts, treat_none_as_default_value = false)]
pub struct NewContract {
    pub title: String,
    pub status: String,
    pub price_cents: i64,
    pub notes: Option<String>,
}

impl NewContract {
    pub fn new(title: &str, price_cents: i64) -> Self {
        NewContract {
            title: title.to_owned(),
            status: "draft".to_owned(),
            price_cents,
            notes: None,
        }
    }
}

/// The test key's id, and the key as the binary reads it from `AUDITLOG_INTEGRITY_KEY`.
pub const KEY_ID: &str = "test-2026";
const KEY_SECRET: &[u8; 32] = b"auditlog cli test key, 32 bytes!";

pub fn key_env() -> String {
    format!("{KEY_ID}:{}", hex(KEY_SECRET))
}

/// Another key, as `id:hex`.
pub fn other_key_env(id: &str) -> String {
    format!("{id}:{}", hex(b"a different secret, also 32 byte"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn keyring() -> Keyring {
    Keyring::new(IntegrityKey::new(KEY_ID, *KEY_SECRET).unwrap())
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs `$body` with `$c` bound to the database's connection, whichever backend it is.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$c:ident| $body:expr) => {
        match &mut $db.conn {
            $crate::common::Conn::Sqlite($c) => $body,
            $crate::common::Conn::Pg($c) => $body,
        }
    };
}

/// A database for one test, and the URL the binary opens it with.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    pub conn: Conn,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static PG_SKIP_NOTICE: Once = Once::new();
static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Whether the PostgreSQL half runs; prints the skip notice once when it does not, and
/// fails under `CI`.
pub fn pg_enabled() -> bool {
    if pg_url().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but AUDITLOG_TEST_PG_URL is not: the PostgreSQL tests must run in CI"
    );
    PG_SKIP_NOTICE.call_once(|| {
        // Written to the real stderr, past the test harness's capture, so it shows.
        let _ = writeln!(
            std::io::stderr(),
            "note: AUDITLOG_TEST_PG_URL is not set; skipping the PostgreSQL half of the CLI tests"
        );
    });
    false
}

fn pg_url() -> Option<String> {
    std::env::var("AUDITLOG_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

impl TestDb {
    /// An empty database: no table at all.
    pub fn empty(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("audit.db").display().to_string();
                let conn = SqliteConnection::establish(&path).unwrap();
                TestDb {
                    kind,
                    url: path,
                    conn: Conn::Sqlite(conn),
                    schema: None,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                let base = pg_url().expect("pg_enabled() is checked first");
                let mut conn = PgConnection::establish(&base).unwrap_or_else(|e| {
                    panic!("AUDITLOG_TEST_PG_URL is set but PostgreSQL is unreachable: {e}")
                });
                let schema = format!(
                    "t_cli_{}_{}_{}",
                    std::process::id(),
                    SEQ.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                );
                for sql in [
                    format!("CREATE SCHEMA {schema}"),
                    format!("SET search_path TO {schema}"),
                ] {
                    diesel::sql_query(sql).execute(&mut conn).unwrap();
                }
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb {
                    kind,
                    url,
                    conn: Conn::Pg(conn),
                    schema: Some(schema),
                    _dir: None,
                }
            }
        }
    }

    /// The application's table and the migrated log table, no entries.
    pub fn migrated(kind: Kind) -> TestDb {
        let mut db = TestDb::empty(kind);
        let id = match kind {
            Kind::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
            Kind::Postgres => "SERIAL PRIMARY KEY",
        };
        db.exec(&format!(
            "CREATE TABLE contracts (id {id}, title TEXT NOT NULL, status TEXT NOT NULL, \
             price_cents BIGINT NOT NULL, notes TEXT)"
        ));
        with_conn!(db, |c| {
            run_migrations(c).unwrap();
        });
        db
    }

    /// The standard story, sealed with the test key (7 entries):
    ///
    /// | id | what |
    /// |---|---|
    /// | 1 | alice creates contract 1 "Hosting", correlation `req-create` |
    /// | 2 | alice creates contract 2 "Support", correlation `req-create` |
    /// | 3 | bob updates contract 1: price 10000 -> 12000, notes (masked), reason `renegotiated` |
    /// | 4, 5 | the pricing job doubles every price, correlation `job-index` |
    /// | 6 | a failed login from 192.0.2.200 (warning) |
    /// | 7 | bob deletes contract 2 |
    pub fn populated(kind: Kind) -> TestDb {
        let mut db = TestDb::migrated(kind);
        with_conn!(db, |c| {
            let mut a = AuditedConnection::wrap(c).with_integrity(keyring());
            a.set_context(alice().correlation_id("req-create"));
            let created: Vec<Contract> = a
                .insert_into(contracts::table)
                .values(&vec![
                    NewContract::new("Hosting", 10_000),
                    NewContract::new("Support", 5_000),
                ])
                .get_results()
                .unwrap();
            a.set_context(bob().correlation_id("req-update").reason("renegotiated"));
            a.update(contracts::table.find(created[0].id))
                .set((
                    contracts::price_cents.eq(12_000),
                    contracts::notes.eq("card 4242 4242 4242 4242"),
                ))
                .execute()
                .unwrap();
            a.set_context(
                AuditContext::new()
                    .actor("svc-pricing")
                    .actor_display("pricing job")
                    .correlation_id("job-index"),
            );
            a.update(contracts::table)
                .set(contracts::price_cents.eq(contracts::price_cents * 2))
                .execute()
                .unwrap();
            a.set_context(
                AuditContext::new()
                    .remote_addr(SocketAddr::from(([192, 0, 2, 200], 61_022)))
                    .user_agent("python-requests/2.32"),
            );
            a.record_event(
                SecurityEvent::new("login_failed")
                    .severity(Severity::Warning)
                    .details(serde_json::json!({"username": "bob"})),
            )
            .unwrap();
            a.set_context(bob().correlation_id("req-delete"));
            a.delete(contracts::table.find(created[1].id))
                .execute()
                .unwrap();
        });
        db
    }

    /// Runs raw SQL on the test's database.
    pub fn exec(&mut self, sql: &str) {
        with_conn!(self, |c| {
            diesel::sql_query(sql)
                .execute(c)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    }

    /// What an attacker with full rights on the database does first: switch the
    /// append-only triggers off.
    pub fn disable_append_only(&mut self) {
        match self.kind {
            Kind::Sqlite => {
                self.exec("DROP TRIGGER audit_log_no_update");
                self.exec("DROP TRIGGER audit_log_no_delete");
            }
            Kind::Postgres => self.exec("ALTER TABLE audit_log DISABLE TRIGGER USER"),
        }
    }

    /// The binary, pointed at this database with the test key and nothing else from the
    /// environment that could change its behaviour.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = bin();
        cmd.env("DATABASE_URL", &self.url)
            .env("AUDITLOG_INTEGRITY_KEY", key_env());
        cmd
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(schema), Conn::Pg(conn)) = (&self.schema, &mut self.conn) {
            let _ =
                diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(conn);
        }
    }
}

/// The binary with a clean environment: no database, no keys.
pub fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("auditlog").unwrap();
    cmd.env_remove("DATABASE_URL")
        .env_remove("AUDITLOG_INTEGRITY_KEY")
        .env_remove("AUDITLOG_INTEGRITY_OLD_KEYS");
    cmd
}

pub fn alice() -> AuditContext {
    AuditContext::new()
        .actor("u-1")
        .actor_display("alice@example.com")
        .remote_addr(SocketAddr::from(([203, 0, 113, 7], 51_234)))
        .user_agent("Mozilla/5.0 (test)")
}

pub fn bob() -> AuditContext {
    AuditContext::new()
        .actor("u-2")
        .actor_display("bob@example.com")
        .remote_addr(SocketAddr::from(([198, 51, 100, 23], 40_022)))
}

/// The output of a command as text.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Runs one test body on SQLite and on PostgreSQL (when configured); the body sees `$kind`.
#[macro_export]
macro_rules! on_each_backend {
    ($(#[$meta:meta])* fn $name:ident($kind:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let $kind = $crate::common::Kind::Sqlite;
                $body
            }

            #[test]
            fn postgres() {
                if !$crate::common::pg_enabled() {
                    return;
                }
                let $kind = $crate::common::Kind::Postgres;
                $body
            }
        }
    };
}
