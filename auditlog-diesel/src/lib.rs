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

pub use auditlog_core::*;
pub use auditlog_derive::Auditable;

#[cfg(feature = "postgres")]
pub use backend::LockedForUpdate;
pub use backend::{AuditConnection, LoadBefore};
pub use connection::{
    AuditedConnection, AuditedDelete, AuditedInsert, AuditedInsertValues, AuditedSave,
    AuditedUpdate, AuditedUpdateSet, DEFAULT_CHUNK_SIZE,
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
