//! The seam between the backend-generic wrapper and each backend's specifics: how log rows
//! are batched, how history is queried, how before-images are locked, which migrations apply.
//!
//! Everything backend-specific lives here, written once and instantiated per backend by
//! `impl_audit_connection!`; adding MySQL means one more instantiation plus its migrations and
//! an after-image strategy (MySQL has no `RETURNING`).

use diesel::connection::LoadConnection;
use diesel::prelude::*;
use diesel::query_dsl::methods::LoadQuery;
use diesel_migrations::MigrationHarness;

use auditlog_core::ChainHead;

use crate::history::HistoryFilter;
use crate::row::{LogRow, NewLogRow};

pub(crate) mod sealed {
    use super::*;

    /// The backend-specific operations; unnameable outside this crate, which seals
    /// [`AuditConnection`](super::AuditConnection).
    pub trait Backend: Connection + LoadConnection + Sized {
        /// The backend's name, for messages.
        const BACKEND: &'static str;

        /// Inserts log rows in as few statements as the backend allows (multi-row `INSERT`s
        /// of a fixed size on SQLite, one `COPY` on PostgreSQL); returns the id of the last row
        /// inserted.
        fn insert_log_rows(&mut self, rows: &[NewLogRow]) -> QueryResult<i64>;

        /// Reads the chain head, locking it until the transaction ends on PostgreSQL (SQLite
        /// serialises writers already).
        fn lock_chain_head(&mut self) -> QueryResult<ChainHead>;

        /// Moves the chain head.
        fn write_chain_head(&mut self, head: &ChainHead) -> QueryResult<()>;

        /// Up to `limit` entries with ids above `after`, in id order.
        fn load_chain_page(&mut self, after: i64, limit: i64) -> QueryResult<Vec<LogRow>>;

        /// The newest retention checkpoint.
        fn latest_checkpoint(&mut self) -> QueryResult<Option<LogRow>>;

        /// The lowest id of an entry logged at or after `t`.
        fn first_id_since(&mut self, t: chrono::NaiveDateTime) -> QueryResult<Option<i64>>;

        /// The lowest id in the log.
        fn first_log_id(&mut self) -> QueryResult<Option<i64>>;

        /// The entry with id `id`.
        fn log_row(&mut self, id: i64) -> QueryResult<Option<LogRow>>;

        /// Deletes the entries with `after < id <= through`, with the append-only triggers'
        /// retention gate open for this transaction only.
        fn delete_log_rows(&mut self, after: i64, through: i64) -> QueryResult<usize>;

        /// Loads one page of history, newest first.
        fn load_log_rows(&mut self, filter: &HistoryFilter) -> QueryResult<Vec<LogRow>>;

        /// Applies the log table's pending migrations; returns the versions applied.
        fn apply_audit_migrations(&mut self) -> Result<Vec<String>, String>;
    }
}

/// A Diesel connection the audit log supports: `SqliteConnection` (feature `sqlite`) and
/// `PgConnection` (feature `postgres`). Sealed: the backend-specific work behind it is the
/// library's own.
pub trait AuditConnection: sealed::Backend {}

impl<C: sealed::Backend> AuditConnection for C {}

/// Loads the before-image of a change: with `FOR UPDATE` on PostgreSQL, so no concurrent
/// transaction can change the rows between this read and the update; plainly on SQLite,
/// which serialises writers (a concurrent writer makes one of the two transactions fail with
/// `SQLITE_BUSY` rather than produce a stale before-image).
pub trait LoadBefore<'q, C, M> {
    /// Loads the rows the target selects.
    fn load_before(self, conn: &mut C) -> QueryResult<Vec<M>>;
}

macro_rules! impl_audit_connection {
    (
        $conn:ty,
        $backend:ty,
        $name:literal,
        $migrations:literal,
        insert_rows: $insert_rows:path,
        lock_head: $lock_head:literal,
        open_gate: $open_gate:literal,
        close_gate: $close_gate:literal $(,)?
    ) => {
        impl sealed::Backend for $conn {
            const BACKEND: &'static str = $name;

            fn insert_log_rows(&mut self, rows: &[NewLogRow]) -> QueryResult<i64> {
                $insert_rows(self, rows)
            }

            fn lock_chain_head(&mut self) -> QueryResult<ChainHead> {
                diesel::sql_query($lock_head)
                    .get_result::<HeadRow>(self)
                    .map(HeadRow::into_head)
            }

            fn write_chain_head(&mut self, head: &ChainHead) -> QueryResult<()> {
                use crate::schema::audit_log_head::dsl::*;
                diesel::update(audit_log_head.find(1i16))
                    .set((
                        last_id.eq(head.last_id),
                        last_hash.eq(&head.last_hash),
                        key_id.eq(&head.key_id),
                        head_mac.eq(&head.head_mac),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn load_chain_page(&mut self, after: i64, limit: i64) -> QueryResult<Vec<LogRow>> {
                use crate::schema::audit_log::dsl::*;
                // One bound only: without statistics (a log just loaded or restored), PostgreSQL
                // guesses that a two-sided id range holds a few thousand rows and sorts the
                // whole rest of the log for every page instead of walking the primary key.
                audit_log
                    .select(LogRow::as_select())
                    .filter(id.gt(after))
                    .order(id.asc())
                    .limit(limit)
                    .load(self)
            }

            fn latest_checkpoint(&mut self) -> QueryResult<Option<LogRow>> {
                use crate::schema::audit_log::dsl::*;
                audit_log
                    .select(LogRow::as_select())
                    .filter(action.eq(auditlog_core::Action::Checkpoint.code()))
                    .order(id.desc())
                    .first(self)
                    .optional()
            }

            fn first_id_since(&mut self, t: chrono::NaiveDateTime) -> QueryResult<Option<i64>> {
                use crate::schema::audit_log::dsl::*;
                audit_log
                    .select(diesel::dsl::min(id))
                    .filter(logged_at.ge(t))
                    .get_result(self)
            }

            fn first_log_id(&mut self) -> QueryResult<Option<i64>> {
                use crate::schema::audit_log::dsl::*;
                audit_log.select(diesel::dsl::min(id)).get_result(self)
            }

            fn log_row(&mut self, row_id: i64) -> QueryResult<Option<LogRow>> {
                use crate::schema::audit_log::dsl::*;
                audit_log
                    .select(LogRow::as_select())
                    .find(row_id)
                    .first(self)
                    .optional()
            }

            fn delete_log_rows(&mut self, after: i64, through: i64) -> QueryResult<usize> {
                use crate::schema::audit_log::dsl::*;
                diesel::sql_query($open_gate).execute(self)?;
                let deleted = diesel::delete(audit_log.filter(id.gt(after).and(id.le(through))))
                    .execute(self)?;
                diesel::sql_query($close_gate).execute(self)?;
                Ok(deleted)
            }

            fn load_log_rows(&mut self, f: &HistoryFilter) -> QueryResult<Vec<LogRow>> {
                use crate::schema::audit_log::dsl::*;
                let mut query = audit_log
                    .select(LogRow::as_select())
                    .into_boxed::<$backend>();
                if let Some(t) = &f.object_type {
                    query = query.filter(object_type.eq(t.clone()));
                }
                if let Some(k) = &f.object_key {
                    query = query.filter(object_key.eq(k.clone()));
                }
                if let Some(a) = &f.actor_id {
                    query = query.filter(actor_id.eq(a.clone()));
                }
                if let Some(c) = &f.correlation_id {
                    query = query.filter(correlation_id.eq(c.clone()));
                }
                if !f.actions.is_empty() {
                    let codes: Vec<i16> = f.actions.iter().map(|a| a.code()).collect();
                    query = query.filter(action.eq_any(codes));
                }
                if let Some(name) = &f.event_name {
                    query = query.filter(event_name.eq(name.clone()));
                }
                if let Some(min) = f.min_severity {
                    query = query.filter(severity.ge(min.code()));
                }
                if let Some(t) = f.since {
                    query = query.filter(logged_at.ge(t.naive_utc()));
                }
                if let Some(t) = f.until {
                    query = query.filter(logged_at.lt(t.naive_utc()));
                }
                if let Some(cursor) = f.before_id {
                    query = query.filter(id.lt(cursor));
                }
                let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
                query.order(id.desc()).limit(limit).load(self)
            }

            fn apply_audit_migrations(&mut self) -> Result<Vec<String>, String> {
                const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
                    diesel_migrations::embed_migrations!($migrations);
                self.run_pending_migrations(MIGRATIONS)
                    .map(|versions| versions.iter().map(|v| v.to_string()).collect())
                    .map_err(|e| e.to_string())
            }
        }
    };
}

/// Rows per multi-row `INSERT` of log rows on SQLite: a fixed number, so that Diesel prepares
/// the statement once per connection and reuses it (a statement for a slice of rows is parsed
/// anew every time, which cost a third of the time of inserting them: 100,000 rows in
/// 0.37 s in batches of 100 against 0.55 s in uncached batches of 1,000).
#[cfg(feature = "sqlite")]
const SQLITE_LOG_BATCH: usize = 100;

/// Log rows on SQLite: multi-row `INSERT`s of [`SQLITE_LOG_BATCH`] rows, the rest in one more
/// (a single row through a cached statement too); returns the id of the last row.
#[cfg(feature = "sqlite")]
fn insert_rows_sqlite(conn: &mut diesel::SqliteConnection, rows: &[NewLogRow]) -> QueryResult<i64> {
    use crate::schema::audit_log;
    diesel::define_sql_function!(fn last_insert_rowid() -> BigInt);
    let mut batches = rows.chunks_exact(SQLITE_LOG_BATCH);
    for batch in &mut batches {
        match <&[NewLogRow; SQLITE_LOG_BATCH]>::try_from(batch) {
            Ok(batch) => diesel::insert_into(audit_log::table)
                .values(batch)
                .execute(conn)?,
            // Not reached: `chunks_exact` yields batches of exactly that size.
            Err(_) => diesel::insert_into(audit_log::table)
                .values(batch)
                .execute(conn)?,
        };
    }
    match batches.remainder() {
        [] => 0,
        [row] => diesel::insert_into(audit_log::table)
            .values(row)
            .execute(conn)?,
        rest => diesel::insert_into(audit_log::table)
            .values(rest)
            .execute(conn)?,
    };
    diesel::select(last_insert_rowid()).get_result(conn)
}

/// Log rows on PostgreSQL: one binary `COPY`, several times faster than a multi-row
/// `INSERT` of the same rows (no statement to parse and plan per batch, no bind limit).
/// Returns the id of the last row: the last value this session drew from the id sequence.
#[cfg(feature = "postgres")]
fn insert_rows_postgres(conn: &mut diesel::PgConnection, rows: &[NewLogRow]) -> QueryResult<i64> {
    use crate::schema::audit_log;
    #[derive(diesel::QueryableByName)]
    struct LastId {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::copy_from(audit_log::table)
        .from_insertable(rows)
        .execute(conn)?;
    diesel::sql_query("SELECT currval(pg_get_serial_sequence('audit_log', 'id')) AS id")
        .get_result::<LastId>(conn)
        .map(|row| row.id)
}

/// The chain head as read with raw SQL (the locking read differs per backend).
#[derive(diesel::QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    last_hash: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    key_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    head_mac: Option<String>,
}

impl HeadRow {
    fn into_head(self) -> ChainHead {
        ChainHead {
            last_id: self.last_id,
            last_hash: self.last_hash,
            key_id: self.key_id,
            head_mac: self.head_mac,
        }
    }
}

// The chain order under concurrency: every transaction that seals entries takes the head
// row's lock right before inserting them (after its data statements), inserts, moves the
// head and keeps the lock until it commits. Ids are drawn from the sequence while the lock is
// held, so id order is chain order and the chain can neither fork nor gap. The cost is that
// sealing writers serialise from their log insert to their commit; an operation run outside
// a caller's transaction holds the lock only for its final insert and commit (measured in
// the benchmarks). SQLite serialises writers anyway, so the lock costs nothing there.
//
// Measured with `cargo bench --bench chain_contention` (PostgreSQL 15, 2 cores, default
// `synchronous_commit`): one writer makes 266 single-row audited updates/s unsealed and 243
// sealed (-9%); eight writers make 1,578/s unsealed and 292/s sealed, because each sealing
// transaction holds the head through its commit's flush, so commits no longer group. The
// alternatives were weighed against that: sharding the chain by object divides the
// contention by the shard count but makes verification and retention per shard; sealing
// committed entries afterwards needs a commit order the database does not expose (sequence
// ids are drawn before commit, so a sealer cannot tell a gap from a transaction still in
// flight). Writers that batch their changes in one transaction pay the lock once per batch.
#[cfg(feature = "sqlite")]
impl_audit_connection!(
    diesel::SqliteConnection,
    diesel::sqlite::Sqlite,
    "SQLite",
    "migrations/sqlite",
    insert_rows: insert_rows_sqlite,
    lock_head: "SELECT last_id, last_hash, key_id, head_mac FROM audit_log_head WHERE id = 1",
    open_gate: "UPDATE audit_log_gate SET open = 1 WHERE id = 1",
    close_gate: "UPDATE audit_log_gate SET open = 0 WHERE id = 1",
);

#[cfg(feature = "postgres")]
impl_audit_connection!(
    diesel::PgConnection,
    diesel::pg::Pg,
    "PostgreSQL",
    "migrations/postgres",
    insert_rows: insert_rows_postgres,
    lock_head: "SELECT last_id, last_hash, key_id, head_mac FROM audit_log_head WHERE id = 1 FOR UPDATE",
    open_gate: "SET LOCAL auditlog.retention = 'on'",
    close_gate: "SET LOCAL auditlog.retention = 'off'",
);

#[cfg(feature = "sqlite")]
impl<'q, Q, M> LoadBefore<'q, diesel::SqliteConnection, M> for Q
where
    Q: LoadQuery<'q, diesel::SqliteConnection, M>,
{
    fn load_before(self, conn: &mut diesel::SqliteConnection) -> QueryResult<Vec<M>> {
        self.load(conn)
    }
}

/// `query FOR UPDATE` on PostgreSQL. Diesel's own `.for_update()` cannot be named in generic
/// bounds from outside Diesel, so the clause is appended here; a before-image query is always a
/// plain `SELECT` (a table or a filtered table), after which `FOR UPDATE` is valid.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct LockedForUpdate<Q>(Q);

#[cfg(feature = "postgres")]
impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for LockedForUpdate<Q> {
    type SqlType = Q::SqlType;
}

#[cfg(feature = "postgres")]
impl<Q> diesel::query_builder::QueryFragment<diesel::pg::Pg> for LockedForUpdate<Q>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" FOR UPDATE");
        Ok(())
    }
}

#[cfg(feature = "postgres")]
impl<Q> RunQueryDsl<diesel::PgConnection> for LockedForUpdate<Q> {}

#[cfg(feature = "postgres")]
impl<'q, Q, M> LoadBefore<'q, diesel::PgConnection, M> for Q
where
    LockedForUpdate<Q>: LoadQuery<'q, diesel::PgConnection, M>,
{
    fn load_before(self, conn: &mut diesel::PgConnection) -> QueryResult<Vec<M>> {
        LockedForUpdate(self).load(conn)
    }
}

/// Diesel's error for an update without changes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn empty_changeset() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(Box::new(diesel::result::EmptyChangeset))
}

/// A chunk of an audited update, between reading its rows and changing them (nothing has
/// changed yet).
#[derive(Debug)]
pub enum ChunkStart<M, Q> {
    /// The before-image, read by a statement of its own and (on PostgreSQL) locked: on SQLite,
    /// and for the chunks after an update's first on PostgreSQL.
    Read(Vec<M>),
    /// The before-image query, to run in the update's own statement: an update's first chunk
    /// on PostgreSQL.
    Deferred(Q),
}

/// One chunk of an audited update: its before-image and after-image, read in as few round
/// trips as the backend allows. Implemented for the chunk's before-image query.
///
/// - SQLite reads the before-image, then runs the update on exactly those rows with
///   `RETURNING` (two statements; SQLite serialises writers, so nothing can change between).
/// - PostgreSQL runs one statement that locks the rows, updates them and returns both images:
///   `UPDATE t SET .. FROM (<before-image> FOR UPDATE) AS old WHERE t.key = old.key
///   RETURNING old.*, t.*`. The statement is cached as a prepared statement under its SQL
///   text, so a connection keeps one prepared statement per distinct update it runs.
pub trait UpdateChunk<'q, C, M, T, Ch, U>: Sized {
    /// Reads the chunk's before-image where the backend needs a statement of its own for it,
    /// or where `separately` asks for one (PostgreSQL plans the one-statement update of a
    /// large chunk as a join over the whole table, so only an update's first chunk, often
    /// its only one, is read with the update).
    fn start(self, conn: &mut C, separately: bool) -> QueryResult<ChunkStart<M, Self>>;

    /// Applies the update to the chunk and returns its before-image and after-image.
    /// `update` builds the update of the given rows (SQLite); `table` and `changeset` build
    /// the single statement (PostgreSQL), whose rows are joined on `key_columns`.
    fn finish(
        start: ChunkStart<M, Self>,
        conn: &mut C,
        table: T,
        changeset: Ch,
        key_columns: &'static [&'static str],
        update: impl FnOnce(&[M]) -> U,
    ) -> QueryResult<(Vec<M>, Vec<M>)>;
}

#[cfg(feature = "sqlite")]
impl<'q, Q, M, T, Ch, U> UpdateChunk<'q, diesel::SqliteConnection, M, T, Ch, U> for Q
where
    Q: LoadQuery<'q, diesel::SqliteConnection, M>,
    U: LoadQuery<'q, diesel::SqliteConnection, M>,
    Ch: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>,
{
    fn start(
        self,
        conn: &mut diesel::SqliteConnection,
        _separately: bool,
    ) -> QueryResult<ChunkStart<M, Self>> {
        self.load(conn).map(ChunkStart::Read)
    }

    fn finish(
        start: ChunkStart<M, Self>,
        conn: &mut diesel::SqliteConnection,
        _table: T,
        changeset: Ch,
        _key_columns: &'static [&'static str],
        update: impl FnOnce(&[M]) -> U,
    ) -> QueryResult<(Vec<M>, Vec<M>)> {
        // As on PostgreSQL, whether or not a row matches.
        if changeset.is_noop(&diesel::sqlite::Sqlite)? {
            return Err(empty_changeset());
        }
        let before = match start {
            ChunkStart::Read(rows) => rows,
            ChunkStart::Deferred(query) => query.load(conn)?,
        };
        if before.is_empty() {
            return Ok((before, Vec::new()));
        }
        let after = update(&before).get_results(conn)?;
        Ok((before, after))
    }
}

/// The PostgreSQL update of one chunk, in one statement (see [`UpdateChunk`]).
#[cfg(feature = "postgres")]
pub struct LockedUpdate<T: Table, Ch, Q> {
    from: T::FromClause,
    primary_key: T::PrimaryKey,
    all_columns: T::AllColumns,
    changeset: Ch,
    before: Q,
    key_columns: &'static [&'static str],
}

#[cfg(feature = "postgres")]
impl<T: Table, Ch, Q> std::fmt::Debug for LockedUpdate<T, Ch, Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedUpdate")
            .field("key_columns", &self.key_columns)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "postgres")]
impl<T: Table, Ch, Q: diesel::query_builder::Query> diesel::query_builder::Query
    for LockedUpdate<T, Ch, Q>
{
    // The before-image selects the table's columns, as `RETURNING` does for the after-image.
    type SqlType = (Q::SqlType, Q::SqlType);
}

#[cfg(feature = "postgres")]
impl<T: Table, Ch, Q> diesel::query_builder::QueryId for LockedUpdate<T, Ch, Q> {
    type QueryId = ();
    // Cached by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

#[cfg(feature = "postgres")]
impl<T, Ch, Q> diesel::query_builder::QueryFragment<diesel::pg::Pg> for LockedUpdate<T, Ch, Q>
where
    T: Table,
    T::FromClause: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    T::PrimaryKey: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    T::AllColumns: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    Ch: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        if self.changeset.is_noop(out.backend())? {
            return Err(empty_changeset());
        }
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changeset.walk_ast(out.reborrow())?;
        out.push_sql(" FROM (");
        self.before.walk_ast(out.reborrow())?;
        out.push_sql(" FOR UPDATE) AS \"__audit_old\" WHERE (");
        self.primary_key.walk_ast(out.reborrow())?;
        out.push_sql(") = (");
        for (i, column) in self.key_columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql("\"__audit_old\".");
            out.push_identifier(column)?;
        }
        out.push_sql(") RETURNING \"__audit_old\".*, ");
        self.all_columns.walk_ast(out.reborrow())?;
        Ok(())
    }
}

#[cfg(feature = "postgres")]
impl<T: Table, Ch, Q> RunQueryDsl<diesel::PgConnection> for LockedUpdate<T, Ch, Q> {}

#[cfg(feature = "postgres")]
impl<'q, Q, M, T, Ch, U> UpdateChunk<'q, diesel::PgConnection, M, T, Ch, U> for Q
where
    T: Table,
    LockedUpdate<T, Ch, Q>: LoadQuery<'q, diesel::PgConnection, (M, M)>,
    LockedForUpdate<Q>: LoadQuery<'q, diesel::PgConnection, M>,
    U: LoadQuery<'q, diesel::PgConnection, M>,
{
    fn start(
        self,
        conn: &mut diesel::PgConnection,
        separately: bool,
    ) -> QueryResult<ChunkStart<M, Self>> {
        if separately {
            self.load_before(conn).map(ChunkStart::Read)
        } else {
            Ok(ChunkStart::Deferred(self))
        }
    }

    fn finish(
        start: ChunkStart<M, Self>,
        conn: &mut diesel::PgConnection,
        table: T,
        changeset: Ch,
        key_columns: &'static [&'static str],
        update: impl FnOnce(&[M]) -> U,
    ) -> QueryResult<(Vec<M>, Vec<M>)> {
        let before = match start {
            ChunkStart::Read(rows) if rows.is_empty() => return Ok((rows, Vec::new())),
            ChunkStart::Read(rows) => {
                let after = update(&rows).get_results(conn)?;
                return Ok((rows, after));
            }
            ChunkStart::Deferred(query) => query,
        };
        let pairs: Vec<(M, M)> = LockedUpdate::<T, Ch, Q> {
            from: table.from_clause(),
            primary_key: table.primary_key(),
            all_columns: T::all_columns(),
            changeset,
            before,
            key_columns,
        }
        .load(conn)?;
        Ok(pairs.into_iter().unzip())
    }
}
