//! Shared test harness: a fresh database per test on each backend, the application schema the
//! tests use, and `on_each_backend!`, which runs one test body on SQLite and on PostgreSQL.
//!
//! PostgreSQL runs when `AUDITLOG_TEST_PG_URL` is set; each test gets a schema of its own, so
//! tests run in parallel without seeing each other's rows. Without the variable the PostgreSQL
//! half is skipped with a message on stderr, unless `CI` is set, in which case it fails.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use auditlog_diesel::{run_migrations, Auditable};
use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::table! {
    contracts (id) {
        id -> Integer,
        title -> Text,
        status -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
        internal_score -> Integer,
        signed_at -> Nullable<Timestamp>,
    }
}

/// The model most tests audit: a masked notes field and an excluded internal field.
#[derive(Debug, Clone, PartialEq, Queryable, Identifiable, AsChangeset, Auditable)]
#[diesel(table_name = contracts)]
pub struct Contract {
    pub id: i32,
    pub title: String,
    pub status: String,
    pub price_cents: i64,
    #[audit(mask)]
    pub notes: Option<String>,
    #[audit(exclude)]
    pub internal_score: i32,
    pub signed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = contracts, treat_none_as_default_value = false)]
pub struct NewContract {
    pub title: String,
    pub status: String,
    pub price_cents: i64,
    pub notes: Option<String>,
    pub internal_score: i32,
    pub signed_at: Option<NaiveDateTime>,
}

impl NewContract {
    pub fn new(title: &str, price_cents: i64) -> Self {
        NewContract {
            title: title.to_owned(),
            status: "draft".to_owned(),
            price_cents,
            notes: None,
            internal_score: 0,
            signed_at: None,
        }
    }
}

/// What differs between the backends in the tests' own SQL.
pub trait TestDb: auditlog_diesel::AuditConnection {
    /// Whether a failed statement aborts the enclosing transaction (PostgreSQL), so that only
    /// a savepoint (a nested transaction) lets it go on.
    const FAILED_STATEMENT_ABORTS_TRANSACTION: bool;
    /// Creates the application tables.
    fn create_app_schema(&mut self);
    /// Makes every log insert whose reason is `fail-log` fail.
    fn reject_log_rows_with_reason_fail_log(&mut self);
    /// The number of columns of the log table, from the database's catalog.
    fn log_column_count(&mut self) -> i64;
    /// What an attacker with full database rights does first: switch the append-only
    /// triggers off.
    fn disable_append_only(&mut self);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl TestDb for SqliteConnection {
    const FAILED_STATEMENT_ABORTS_TRANSACTION: bool = false;

    fn disable_append_only(&mut self) {
        for sql in [
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ] {
            diesel::sql_query(sql).execute(self).unwrap();
        }
    }

    fn log_column_count(&mut self) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM pragma_table_info('audit_log')")
            .get_result::<Count>(self)
            .unwrap()
            .n
    }

    fn create_app_schema(&mut self) {
        diesel::sql_query(
            "CREATE TABLE contracts (
                id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
                title TEXT NOT NULL,
                status TEXT NOT NULL,
                price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
                notes TEXT,
                internal_score INTEGER NOT NULL,
                signed_at TIMESTAMP
            )",
        )
        .execute(self)
        .unwrap();
    }

    fn reject_log_rows_with_reason_fail_log(&mut self) {
        diesel::sql_query(
            "CREATE TRIGGER reject_log BEFORE INSERT ON audit_log
             WHEN NEW.reason = 'fail-log'
             BEGIN SELECT RAISE(ABORT, 'log insert rejected by test trigger'); END",
        )
        .execute(self)
        .unwrap();
    }
}

impl TestDb for PgConnection {
    const FAILED_STATEMENT_ABORTS_TRANSACTION: bool = true;
    fn disable_append_only(&mut self) {
        diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .execute(self)
            .unwrap();
    }

    fn log_column_count(&mut self) -> i64 {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.columns \
             WHERE table_name = 'audit_log' AND table_schema = current_schema()",
        )
        .get_result::<Count>(self)
        .unwrap()
        .n
    }

    fn create_app_schema(&mut self) {
        diesel::sql_query(
            "CREATE TABLE contracts (
                id SERIAL PRIMARY KEY,
                title TEXT NOT NULL,
                status TEXT NOT NULL,
                price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
                notes TEXT,
                internal_score INTEGER NOT NULL,
                signed_at TIMESTAMP
            )",
        )
        .execute(self)
        .unwrap();
    }

    fn reject_log_rows_with_reason_fail_log(&mut self) {
        diesel::sql_query(
            "CREATE FUNCTION reject_log() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.reason = 'fail-log' THEN
                     RAISE EXCEPTION 'log insert rejected by test trigger';
                 END IF;
                 RETURN NEW;
             END $$",
        )
        .execute(self)
        .unwrap();
        diesel::sql_query(
            "CREATE TRIGGER reject_log BEFORE INSERT ON audit_log
             FOR EACH ROW EXECUTE FUNCTION reject_log()",
        )
        .execute(self)
        .unwrap();
    }
}

/// A fresh in-memory SQLite database with the application schema and the log table.
pub fn sqlite() -> SqliteConnection {
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    conn.create_app_schema();
    run_migrations(&mut conn).unwrap();
    conn
}

/// A PostgreSQL connection confined to a schema of its own, dropped with the guard.
pub struct PgTestDb {
    conn: PgConnection,
    schema: String,
    url: String,
}

impl PgTestDb {
    /// Another connection to the same test schema (for concurrency tests).
    pub fn connect_again(&self) -> PgConnection {
        let mut conn = PgConnection::establish(&self.url).unwrap();
        diesel::sql_query(format!("SET search_path TO {}", self.schema))
            .execute(&mut conn)
            .unwrap();
        conn
    }
}

impl std::ops::Deref for PgTestDb {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PgTestDb {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .execute(&mut self.conn);
    }
}

static PG_SKIP_NOTICE: Once = Once::new();
static SCHEMA_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL test database, or `None` (with a visible notice) when none is configured.
/// Under `CI`, a missing or unreachable server fails the test instead.
pub fn postgres() -> Option<PgTestDb> {
    let in_ci = std::env::var_os("CI").is_some();
    let url = match std::env::var("AUDITLOG_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                !in_ci,
                "CI is set but AUDITLOG_TEST_PG_URL is not: the PostgreSQL tests must run in CI"
            );
            PG_SKIP_NOTICE.call_once(|| {
                // Written to the real stderr, past the test harness's capture, so it shows.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: AUDITLOG_TEST_PG_URL is not set; skipping the PostgreSQL half of the tests"
                );
            });
            return None;
        }
    };
    let mut conn = PgConnection::establish(&url).unwrap_or_else(|e| {
        panic!("AUDITLOG_TEST_PG_URL is set but PostgreSQL is unreachable: {e}")
    });
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        SCHEMA_SEQ.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    );
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(format!("SET search_path TO {schema}"))
        .execute(&mut conn)
        .unwrap();
    let mut db = PgTestDb { conn, schema, url };
    db.create_app_schema();
    run_migrations(&mut *db).unwrap();
    Some(db)
}

/// Every row of the log table, oldest first, as the raw text of every column. The test
/// `masked_values_never_reach_any_column` checks that this lists every column there is.
pub fn raw_log_rows<C>(conn: &mut C) -> Vec<String>
where
    C: TestDb + diesel::connection::LoadConnection,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, RawRow>,
{
    let rows: Vec<RawRow> = diesel::sql_query(
        "SELECT CAST(id AS TEXT) AS c0, CAST(logged_at AS TEXT) AS c1, CAST(action AS TEXT) AS c2,
                object_type AS c3, object_key AS c4, object_repr AS c5, changes AS c6,
                snapshot AS c7, actor_id AS c8, actor_display AS c9, remote_addr AS c10,
                CAST(remote_port AS TEXT) AS c11, user_agent AS c12, session_id AS c13,
                correlation_id AS c14, reason AS c15, additional_data AS c16,
                event_name AS c17, CAST(severity AS TEXT) AS c18, details AS c19,
                key_id AS c20, prev_hash AS c21, entry_hash AS c22
         FROM audit_log ORDER BY id",
    )
    .load(conn)
    .unwrap();
    rows.into_iter().map(|r| r.joined()).collect()
}

#[derive(QueryableByName)]
pub struct RawRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    c0: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c1: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c2: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c3: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c4: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c5: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c6: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c7: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c8: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c9: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c10: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c11: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c12: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c13: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c14: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c15: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c16: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c17: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c18: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c19: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c20: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c21: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    c22: Option<String>,
}

impl RawRow {
    fn joined(self) -> String {
        let opt = |o: Option<String>| o.unwrap_or_default();
        [
            self.c0,
            self.c1,
            self.c2,
            self.c3,
            self.c4,
            opt(self.c5),
            self.c6,
            opt(self.c7),
            opt(self.c8),
            opt(self.c9),
            opt(self.c10),
            opt(self.c11),
            opt(self.c12),
            opt(self.c13),
            opt(self.c14),
            opt(self.c15),
            opt(self.c16),
            opt(self.c17),
            opt(self.c18),
            opt(self.c19),
            opt(self.c20),
            opt(self.c21),
            opt(self.c22),
        ]
        .join("\u{1f}")
    }
}

/// The number of rows in the log table.
pub fn log_count<C>(conn: &mut C) -> i64
where
    C: diesel::connection::LoadConnection,
    diesel::dsl::Count<auditlog_diesel::schema::audit_log::table>:
        diesel::query_dsl::LoadQuery<'static, C, i64>,
{
    auditlog_diesel::schema::audit_log::table
        .count()
        .get_result(conn)
        .unwrap()
}

/// Asserts a value can be audited, to keep the `Auditable` import meaningful here.
pub fn key_of<M: Auditable>(m: &M) -> String {
    m.object_key()
}

/// [`TestDb::FAILED_STATEMENT_ABORTS_TRANSACTION`] of `conn`'s backend.
pub fn failed_statement_aborts_transaction<C: TestDb>(_conn: &C) -> bool {
    C::FAILED_STATEMENT_ABORTS_TRANSACTION
}

/// Runs a test body once on SQLite and once on PostgreSQL (when configured). The body sees
/// `$conn` as `&mut SqliteConnection` or `&mut PgConnection`, with the application schema and
/// the log table in place.
#[macro_export]
macro_rules! on_each_backend {
    ($(#[$meta:meta])* fn $name:ident($conn:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let mut db = $crate::common::sqlite();
                let $conn: &mut ::diesel::SqliteConnection = &mut db;
                $body
            }

            #[test]
            fn postgres() {
                let Some(mut db) = $crate::common::postgres() else { return };
                let $conn: &mut ::diesel::PgConnection = &mut db;
                $body
            }
        }
    };
}
