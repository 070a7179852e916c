//! Audit logging for Diesel: every insert, update and delete of an audited model recorded in
//! the same transaction as the change, with who made it, from where, and which fields changed
//! from what to what.
//!
//! # The model
//!
//! - Annotate a model with `#[derive(Auditable)]`; `#[audit(exclude)]`, `#[audit(mask)]`,
//!   `#[audit(mask = "last4")]` and `#[audit(mask_with = "...")]` decide what the log may see
//!   of each field.
//! - Wrap the connection in an [`AuditedConnection`] and write through it with Diesel's own
//!   targets: `insert_into(table)`, `update(table.filter(..))`, `delete(table.find(..))`,
//!   `save(&model)`. Each write records one [`LogEntry`] per affected row in the `audit_log`
//!   table, in the same transaction: a change is never committed without its entries.
//! - Set an [`AuditContext`] (actor, address, user agent, session, correlation id, reason)
//!   once or per scope; every entry written meanwhile carries it.
//! - Read it back with [`AuditedConnection::history`].
//!
//! Backends: SQLite (feature `sqlite`, with `bundled-sqlite` to compile SQLite in) and
//! PostgreSQL (feature `postgres`). The log table is created by [`run_migrations`].
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use auditlog_diesel::{run_migrations, Action, AuditContext, Auditable, AuditedConnection};
//! use diesel::prelude::*;
//!
//! diesel::table! {
//!     contracts (id) {
//!         id -> Integer,
//!         title -> Text,
//!         price_cents -> BigInt,
//!         card_token -> Text,
//!     }
//! }
//!
//! #[derive(Debug, Queryable, Identifiable, AsChangeset, Auditable)]
//! #[diesel(table_name = contracts)]
//! struct Contract {
//!     id: i32,
//!     title: String,
//!     price_cents: i64,
//!     #[audit(mask)]
//!     card_token: String,
//! }
//!
//! #[derive(Insertable)]
//! #[diesel(table_name = contracts)]
//! struct NewContract<'a> {
//!     title: &'a str,
//!     price_cents: i64,
//!     card_token: &'a str,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! diesel::sql_query(
//!     "CREATE TABLE contracts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, \
//!      price_cents BIGINT NOT NULL, card_token TEXT NOT NULL)",
//! )
//! .execute(&mut conn)?;
//! run_migrations(&mut conn)?;
//!
//! let mut conn = AuditedConnection::new(conn);
//! conn.set_context(
//!     AuditContext::new()
//!         .actor("42")
//!         .actor_display("alice@example.com")
//!         .remote_addr("203.0.113.7:51234".parse()?),
//! );
//!
//! let contract: Contract = conn
//!     .insert_into(contracts::table)
//!     .values(&NewContract { title: "Hosting", price_cents: 10_000, card_token: "tok_4242" })
//!     .get_result()?;
//!
//! // A bulk update through an ordinary Diesel filter: one entry per changed row.
//! let changed = conn
//!     .update(contracts::table.filter(contracts::price_cents.lt(20_000)))
//!     .set(contracts::price_cents.eq(contracts::price_cents * 11 / 10))
//!     .execute()?;
//! assert_eq!(changed, 1);
//!
//! let history = conn.history().of::<Contract>(contract.object_key()).load()?;
//! assert_eq!(history.len(), 2);
//! assert_eq!(history[0].action, Action::Update);
//! assert_eq!(history[0].changes.to_string(), "price_cents: 10000 -> 11000");
//! assert_eq!(history[0].context.actor_display.as_deref(), Some("alice@example.com"));
//! // The masked field is in the snapshot as a placeholder, never as its value.
//! let snapshot = history[1].snapshot.as_ref().unwrap();
//! assert_eq!(snapshot.get("card_token").unwrap().value, "[masked]");
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! # Relations, events and tamper evidence
//!
//! - Many-to-many relations are declared once with [`many_to_many!`] and changed with
//!   [`link`](AuditedConnection::link), [`unlink`](AuditedConnection::unlink),
//!   [`replace_links`](AuditedConnection::replace_links),
//!   [`clear_links`](AuditedConnection::clear_links) and
//!   [`link_many`](AuditedConnection::link_many); each records exactly the keys added or removed
//!   on the parent object.
//! - [`record_event`](AuditedConnection::record_event) and
//!   [`record_access`](AuditedConnection::record_access) write security events and accesses
//!   to the same log, read with the same [`History`] queries.
//! - With [`with_integrity`](AuditedConnection::with_integrity), every entry is sealed into a
//!   keyed hash chain; [`verify`] finds the first entry that was changed, removed, inserted or
//!   reordered, and [`prune`](AuditedConnection::prune) removes old entries leaving a sealed
//!   checkpoint. The migrations make the table append-only.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use auditlog_diesel::{
//!     many_to_many, run_migrations, verify, Action, Auditable, AuditedConnection, IntegrityKey,
//!     Keyring, SecurityEvent, Severity,
//! };
//! use diesel::prelude::*;
//!
//! diesel::table! { teams (id) { id -> Integer, name -> Text, } }
//! diesel::table! { people (id) { id -> Integer, name -> Text, } }
//! diesel::table! { memberships (team_id, person_id) { team_id -> Integer, person_id -> Integer, } }
//!
//! #[derive(Queryable, Insertable, Auditable)]
//! #[diesel(table_name = teams)]
//! struct Team { id: i32, name: String }
//!
//! #[derive(Queryable, Auditable)]
//! #[diesel(table_name = people)]
//! struct Person { id: i32, name: String }
//!
//! many_to_many! {
//!     /// The people in a team.
//!     struct Members {
//!         relation: "members",
//!         join: memberships,
//!         parent: Team { id } => team_id: i32,
//!         child: Person => person_id: i32,
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! diesel::sql_query("CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").execute(&mut conn)?;
//! diesel::sql_query("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").execute(&mut conn)?;
//! diesel::sql_query(
//!     "CREATE TABLE memberships (team_id INTEGER, person_id INTEGER, PRIMARY KEY (team_id, person_id))",
//! )
//! .execute(&mut conn)?;
//! run_migrations(&mut conn)?;
//!
//! let keyring = Keyring::new(IntegrityKey::new("k1", [7u8; 32])?);
//! let mut conn = AuditedConnection::new(conn).with_integrity(keyring.clone());
//! let team: Team = conn
//!     .insert_into(teams::table)
//!     .values(&Team { id: 1, name: "Billing".into() })
//!     .get_result()?;
//! conn.link(Members, &team, [10, 11])?;
//! conn.replace_links(Members, &team, [11, 12])?; // adds 12, removes 10
//! conn.record_event(SecurityEvent::new("role_granted").severity(Severity::Notice))?;
//!
//! let removed = conn.history().of_model(&team).action(Action::M2mRemove).load()?;
//! assert_eq!(removed[0].association.as_ref().unwrap().keys, ["10"]);
//!
//! let report = verify(conn.unaudited(), &keyring)?;
//! assert!(report.is_intact());
//! assert_eq!(report.entries, 5);
//!
//! // The log is append-only: the database itself refuses to edit it.
//! let edit = diesel::sql_query("UPDATE audit_log SET actor_id = 'someone else'")
//!     .execute(conn.unaudited());
//! assert!(edit.is_err());
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! # Transactions and what they cost
//!
//! Every audited operation runs in a transaction; group several in
//! [`AuditedConnection::transaction`] and they share one correlation id, and their entries
//! wait in a buffer that is written in multi-row batches (binary `COPY` on PostgreSQL), once
//! per [`FLUSH_ENTRIES`] entries and before the commit. On PostgreSQL the first chunk of an
//! update is locked, changed and returned with its before-image in one statement, so a
//! single-row update costs one round trip, as it does without the log. A failed operation
//! never leaves a change without its entry: one that fails after changing data dooms the
//! transaction, which then refuses further work and rolls back when its closure returns.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use auditlog_diesel::{run_migrations, AuditError, Auditable, AuditedConnection};
//! use diesel::prelude::*;
//!
//! diesel::table! { accounts (id) { id -> Integer, balance -> BigInt, } }
//!
//! #[derive(Queryable, Insertable, Auditable)]
//! #[diesel(table_name = accounts)]
//! struct Account { id: i32, balance: i64 }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! diesel::sql_query(
//!     "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0))",
//! )
//! .execute(&mut conn)?;
//! run_migrations(&mut conn)?;
//! let mut conn = AuditedConnection::new(conn);
//! conn.insert_into(accounts::table)
//!     .values(&[Account { id: 1, balance: 100 }, Account { id: 2, balance: 0 }])
//!     .execute()?;
//!
//! // A transfer: two updates, two entries with one correlation id, one log write.
//! conn.transaction(|tx| -> Result<(), AuditError> {
//!     tx.update(accounts::table.find(1)).set(accounts::balance.eq(accounts::balance - 40)).execute()?;
//!     tx.update(accounts::table.find(2)).set(accounts::balance.eq(accounts::balance + 40)).execute()?;
//!     Ok(())
//! })?;
//! let entries = conn.history().of_type::<Account>().limit(2).load()?;
//! assert_eq!(entries[0].context.correlation_id, entries[1].context.correlation_id);
//!
//! // A transfer that overdraws fails as a whole: neither balance nor log changes.
//! let failed = conn.transaction(|tx| -> Result<(), AuditError> {
//!     tx.update(accounts::table.find(2)).set(accounts::balance.eq(accounts::balance + 500)).execute()?;
//!     tx.update(accounts::table.find(1)).set(accounts::balance.eq(accounts::balance - 500)).execute()?;
//!     Ok(())
//! });
//! assert!(failed.is_err());
//! let balances: Vec<i64> = accounts::table.select(accounts::balance).order(accounts::id).load(conn.unaudited())?;
//! assert_eq!(balances, [60, 40]);
//! assert_eq!(conn.history().of_type::<Account>().load()?.len(), 4); // two creates, one transfer
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! # Migrations
//!
//! [`run_migrations`] applies the log table's embedded migrations (one directory per backend,
//! `migrations/sqlite` and `migrations/postgres` in this crate) through Diesel's migration
//! harness. Their versions (`2026120100000N`) share Diesel's `__diesel_schema_migrations`
//! table with the application's own migrations without colliding, so calling it next to the
//! application's `run_pending_migrations` is all it takes. An application that manages its
//! migrations with the Diesel CLI instead can copy the `up.sql`/`down.sql` files of its backend
//! into its own migrations directory, keeping the directory names.

mod backend;
mod connection;
mod error;
mod events;
mod history;
mod integrity;
mod m2m;
mod row;
pub mod schema;
mod table;

/// Audit context from HTTP requests: the `auditlog-axum` crate (feature `axum`).
#[cfg(feature = "axum")]
pub use auditlog_axum as axum;
pub use auditlog_core::*;
pub use auditlog_derive::Auditable;

pub use backend::{AuditConnection, ChunkStart, LoadBefore, UpdateChunk};
#[cfg(feature = "postgres")]
pub use backend::{LockedForUpdate, LockedUpdate};
pub use connection::{
    AuditedConnection, AuditedDelete, AuditedInsert, AuditedInsertValues, AuditedSave,
    AuditedUpdate, AuditedUpdateSet, ChunkUpdate, SaveChunk, DEFAULT_CHUNK_SIZE, FLUSH_ENTRIES,
};
pub use error::AuditError;
pub use history::{History, MAX_PAGE_SIZE};
pub use integrity::{verify, verify_with_progress, PruneReport};
pub use m2m::{AddedLinks, LinkChanges, ManyToMany, ManyToManyOps};
pub use table::{AuditedTable, KeyFilter, KeyedTable};

/// Creates or upgrades the log table; returns the migration versions applied (empty when
/// the table is up to date).
pub fn run_migrations<C: AuditConnection>(conn: &mut C) -> Result<Vec<String>, AuditError> {
    let applied = conn
        .apply_audit_migrations()
        .map_err(AuditError::Migration)?;
    if !applied.is_empty() {
        tracing::info!(
            backend = C::BACKEND,
            ?applied,
            "audit log migrations applied"
        );
    }
    Ok(applied)
}

/// Support for generated code. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::table::{all_of, any_of};
    pub use crate::{AuditedTable, KeyFilter, KeyedTable};
    pub use auditlog_core::__private::*;
    pub use diesel;
}
