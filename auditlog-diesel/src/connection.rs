//! The audited connection: Diesel writes that record themselves.

use std::collections::HashMap;
use std::fmt;

use auditlog_core::{AuditContext, Auditable, Masker, MaskingKey, NewLogEntry};
use diesel::associations::HasTable;
use diesel::query_builder::{
    AsChangeset, AsQuery, DeleteStatement, InsertStatement, IntoUpdateTarget, UpdateStatement,
};
use diesel::query_dsl::methods::{FindDsl, LoadQuery};
use diesel::{Identifiable, Insertable, RunQueryDsl, Table};

use crate::backend::{AuditConnection, LoadBefore};
use crate::history::History;
use crate::row::NewLogRow;
use crate::{AuditError, AuditedTable};

enum Inner<'c, C> {
    Owned(C),
    Borrowed(&'c mut C),
}

impl<C> Inner<'_, C> {
    fn get(&mut self) -> &mut C {
        match self {
            Inner::Owned(c) => c,
            Inner::Borrowed(c) => c,
        }
    }
}

/// A Diesel connection whose writes to [`Auditable`] models record themselves in the audit
/// log, in the same transaction as the change.
///
/// It wraps an owned connection ([`AuditedConnection::new`]) or a borrowed one
/// ([`AuditedConnection::wrap`], for pooled connections), and offers Diesel's write
/// operations with Diesel's targets and result types:
///
/// | plain Diesel | audited |
/// |---|---|
/// | `insert_into(t).values(v).get_results(c)` | `c.insert_into(t).values(v).get_results()` |
/// | `update(t.filter(..)).set(v).execute(c)` | `c.update(t.filter(..)).set(v).execute()` |
/// | `v.save_changes(c)` | `c.save(&v).get_result()` |
/// | `delete(t.filter(..)).execute(c)` | `c.delete(t.filter(..)).execute()` |
///
/// Every operation runs in a transaction (a savepoint inside the caller's own transaction,
/// if there is one): either the change and all its entries are committed, or neither is.
///
/// Reads, and writes that must not be audited, go through [`unaudited`](Self::unaudited).
pub struct AuditedConnection<'c, C> {
    conn: Inner<'c, C>,
    context: AuditContext,
    masker: Masker,
}

impl<C: AuditConnection> fmt::Debug for AuditedConnection<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditedConnection")
            .field("backend", &C::BACKEND)
            .field("context", &self.context)
            .field("masker", &self.masker)
            .finish()
    }
}

impl<C: AuditConnection> AuditedConnection<'static, C> {
    /// Wraps an owned connection.
    pub fn new(conn: C) -> Self {
        AuditedConnection {
            conn: Inner::Owned(conn),
            context: AuditContext::default(),
            masker: Masker::default(),
        }
    }
}

impl<'c, C: AuditConnection> AuditedConnection<'c, C> {
    /// Gives back a connection wrapped with [`new`](Self::new); `None` for one wrapped with
    /// [`wrap`](Self::wrap), which the caller still owns.
    pub fn into_inner(self) -> Option<C> {
        match self.conn {
            Inner::Owned(c) => Some(c),
            Inner::Borrowed(_) => None,
        }
    }
}

impl<'c, C: AuditConnection> AuditedConnection<'c, C> {
    /// Wraps a borrowed connection, such as `&mut *pool.get()?`.
    pub fn wrap(conn: &'c mut C) -> Self {
        AuditedConnection {
            conn: Inner::Borrowed(conn),
            context: AuditContext::default(),
            masker: Masker::default(),
        }
    }

    /// Fingerprints masked values with `key` (see [`MaskingKey`]); without a key, masked
    /// values are stored as the bare placeholder.
    pub fn with_masking_key(mut self, key: MaskingKey) -> Self {
        self.masker = Masker::new(Some(key));
        self
    }

    /// The masker applied to every entry written through this connection.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// Sets the context attached to every entry written from now on.
    pub fn set_context(&mut self, context: AuditContext) {
        self.context = context;
    }

    /// The current context.
    pub fn context(&self) -> &AuditContext {
        &self.context
    }

    /// Runs `f` with `context` in effect, then restores the previous context.
    pub fn with_context<R>(&mut self, context: AuditContext, f: impl FnOnce(&mut Self) -> R) -> R {
        let previous = std::mem::replace(&mut self.context, context);
        let result = f(self);
        self.context = previous;
        result
    }

    /// The wrapped connection, for reads and for writes that must **not** be audited.
    /// Anything written through it leaves no trace in the log.
    pub fn unaudited(&mut self) -> &mut C {
        self.conn.get()
    }

    /// Runs `f` in one transaction (a savepoint if one is already open). Every audited
    /// operation inside shares one correlation id: the context's, or one generated here.
    pub fn transaction<R, E, F>(&mut self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut AuditedConnection<'_, C>) -> Result<R, E>,
        E: From<diesel::result::Error>,
    {
        let context = self.operation_context();
        let masker = self.masker.clone();
        self.conn.get().transaction(|conn| {
            let mut inner = AuditedConnection {
                conn: Inner::Borrowed(conn),
                context,
                masker,
            };
            f(&mut inner)
        })
    }

    /// Starts an audited insert into `table`.
    pub fn insert_into<T: Table>(&mut self, table: T) -> AuditedInsert<'_, 'c, C, T> {
        AuditedInsert { conn: self, table }
    }

    /// Starts an audited update of the rows `target` selects: a table, or a table with
    /// `.filter(...)` / `.find(...)` applied.
    pub fn update<Tgt>(&mut self, target: Tgt) -> AuditedUpdate<'_, 'c, C, Tgt> {
        AuditedUpdate { conn: self, target }
    }

    /// Starts an audited delete of the rows `target` selects.
    pub fn delete<Tgt>(&mut self, target: Tgt) -> AuditedDelete<'_, 'c, C, Tgt> {
        AuditedDelete { conn: self, target }
    }

    /// Saves a modified model (`load, modify, save`): `conn.save(&model).get_result()`
    /// updates the model's row from its fields (through its `AsChangeset`) and records the
    /// audited fields that differ from the row as stored, then returns the row as saved.
    /// Nothing is recorded when nothing audited changed.
    pub fn save<'m, M>(&mut self, model: &'m M) -> AuditedSave<'_, 'c, 'm, C, M> {
        AuditedSave { conn: self, model }
    }

    /// A history query over the log.
    pub fn history(&mut self) -> History<'_, C> {
        History::new(self.conn.get())
    }

    /// The context for one operation: the current one, with a fresh correlation id if it
    /// has none.
    fn operation_context(&self) -> AuditContext {
        let mut context = self.context.clone();
        if context.correlation_id.is_none() {
            context.correlation_id = Some(AuditContext::generate_correlation_id());
        }
        context
    }

    /// Runs one audited operation in a transaction (or savepoint).
    fn audited<R>(
        &mut self,
        f: impl FnOnce(&mut C, &AuditContext, &Masker) -> Result<R, AuditError>,
    ) -> Result<R, AuditError> {
        let context = self.operation_context();
        let masker = &self.masker;
        self.conn
            .get()
            .transaction(|conn| f(conn, &context, masker))
    }
}

/// Writes the entries of one operation in batched multi-row inserts.
fn write_entries<C: AuditConnection>(
    conn: &mut C,
    object_type: &'static str,
    entries: Vec<NewLogEntry>,
) -> Result<(), AuditError> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewLogRow> = entries.into_iter().map(NewLogRow::from_entry).collect();
    conn.insert_log_rows(&rows)
        .map_err(|source| AuditError::Log {
            object_type,
            entries: rows.len(),
            source,
        })?;
    tracing::debug!(object_type, entries = rows.len(), "audit entries written");
    Ok(())
}

fn data_error(
    operation: &'static str,
    object_type: &'static str,
) -> impl FnOnce(diesel::result::Error) -> AuditError {
    move |source| AuditError::Data {
        operation,
        object_type,
        source,
    }
}

fn first_row<M>(
    rows: Vec<M>,
    operation: &'static str,
    object_type: &'static str,
) -> Result<M, AuditError> {
    rows.into_iter()
        .next()
        .ok_or_else(|| data_error(operation, object_type)(diesel::result::Error::NotFound))
}

/// An audited insert; see [`AuditedConnection::insert_into`].
#[must_use = "an insert does nothing until `get_result`, `get_results` or `execute` is called"]
pub struct AuditedInsert<'a, 'c, C, T> {
    conn: &'a mut AuditedConnection<'c, C>,
    table: T,
}

impl<C, T> fmt::Debug for AuditedInsert<'_, '_, C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedInsert")
    }
}

impl<'a, 'c, C, T> AuditedInsert<'a, 'c, C, T> {
    /// The rows to insert: one `Insertable` value, or a `Vec` / slice of them.
    pub fn values<V>(self, values: V) -> AuditedInsertValues<'a, 'c, C, T, V> {
        AuditedInsertValues {
            conn: self.conn,
            table: self.table,
            values,
        }
    }
}

/// An audited insert with its values; see [`AuditedConnection::insert_into`].
#[must_use = "an insert does nothing until `get_result`, `get_results` or `execute` is called"]
pub struct AuditedInsertValues<'a, 'c, C, T, V> {
    conn: &'a mut AuditedConnection<'c, C>,
    table: T,
    values: V,
}

impl<C, T, V> fmt::Debug for AuditedInsertValues<'_, '_, C, T, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedInsertValues")
    }
}

impl<C, T, V> AuditedInsertValues<'_, '_, C, T, V>
where
    C: AuditConnection,
    T: Table,
    V: Insertable<T>,
{
    /// Inserts the rows and returns them as stored; writes one create entry per row, with
    /// its masked snapshot.
    pub fn get_results<'q, M>(self) -> Result<Vec<M>, AuditError>
    where
        M: Auditable,
        T: AuditedTable<M>,
        InsertStatement<T, V::Values>: LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedInsertValues {
            conn,
            table,
            values,
        } = self;
        conn.audited(|conn, context, masker| {
            let rows: Vec<M> = diesel::insert_into(table)
                .values(values)
                .get_results(conn)
                .map_err(data_error("insert", object_type))?;
            let entries = rows
                .iter()
                .map(|row| NewLogEntry::create(row, masker, context))
                .collect();
            write_entries(conn, object_type, entries)?;
            Ok(rows)
        })
    }

    /// Inserts one row and returns it as stored.
    pub fn get_result<'q, M>(self) -> Result<M, AuditError>
    where
        M: Auditable,
        T: AuditedTable<M>,
        InsertStatement<T, V::Values>: LoadQuery<'q, C, M>,
    {
        first_row(self.get_results()?, "insert", M::OBJECT_TYPE)
    }

    /// Inserts the rows and returns how many were inserted.
    pub fn execute<'q, M>(self) -> Result<usize, AuditError>
    where
        M: Auditable,
        T: AuditedTable<M>,
        InsertStatement<T, V::Values>: LoadQuery<'q, C, M>,
    {
        self.get_results::<M>().map(|rows| rows.len())
    }
}

/// An audited save of a modified model; see [`AuditedConnection::save`].
#[must_use = "a save does nothing until `get_result` or `execute` is called"]
pub struct AuditedSave<'a, 'c, 'm, C, M> {
    conn: &'a mut AuditedConnection<'c, C>,
    model: &'m M,
}

impl<C, M> fmt::Debug for AuditedSave<'_, '_, '_, C, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedSave")
    }
}

/// The update target of a saved model: its row, found by primary key.
type SaveTarget<'m, M> = diesel::dsl::Find<<M as HasTable>::Table, <&'m M as Identifiable>::Id>;

impl<'m, C, M> AuditedSave<'_, '_, 'm, C, M>
where
    C: AuditConnection,
    M: Auditable + HasTable,
    &'m M: Identifiable<Table = M::Table> + AsChangeset<Target = M::Table>,
    M::Table: FindDsl<<&'m M as Identifiable>::Id> + AuditedTable<M>,
    SaveTarget<'m, M>: IntoUpdateTarget<Table = M::Table> + AsQuery + Clone,
{
    /// Saves the model and returns its row as stored.
    pub fn get_result<'q>(self) -> Result<M, AuditError>
    where
        <SaveTarget<'m, M> as AsQuery>::Query: LoadBefore<'q, C, M>,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>: AsQuery + LoadQuery<'q, C, M>,
    {
        let target = M::table().find(self.model.id());
        self.conn.update(target).set(self.model).get_result::<M>()
    }

    /// Saves the model and returns how many rows were updated (1, or 0 when its row no
    /// longer exists).
    pub fn execute<'q>(self) -> Result<usize, AuditError>
    where
        <SaveTarget<'m, M> as AsQuery>::Query: LoadBefore<'q, C, M>,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>: AsQuery + LoadQuery<'q, C, M>,
    {
        let target = M::table().find(self.model.id());
        self.conn.update(target).set(self.model).execute::<M>()
    }
}

/// An audited update; see [`AuditedConnection::update`].
#[must_use = "an update does nothing until `set` and then `execute` or `get_results` are called"]
pub struct AuditedUpdate<'a, 'c, C, Tgt> {
    conn: &'a mut AuditedConnection<'c, C>,
    target: Tgt,
}

impl<C, Tgt> fmt::Debug for AuditedUpdate<'_, '_, C, Tgt> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedUpdate")
    }
}

impl<'a, 'c, C, Tgt> AuditedUpdate<'a, 'c, C, Tgt> {
    /// The changes to apply, as for Diesel's `update(..).set(..)`.
    pub fn set<V>(self, values: V) -> AuditedUpdateSet<'a, 'c, C, Tgt, V> {
        AuditedUpdateSet {
            conn: self.conn,
            target: self.target,
            values,
        }
    }
}

/// An audited update with its changes; see [`AuditedConnection::update`].
#[must_use = "an update does nothing until `execute`, `get_result` or `get_results` is called"]
pub struct AuditedUpdateSet<'a, 'c, C, Tgt, V> {
    conn: &'a mut AuditedConnection<'c, C>,
    target: Tgt,
    values: V,
}

impl<C, Tgt, V> fmt::Debug for AuditedUpdateSet<'_, '_, C, Tgt, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedUpdateSet")
    }
}

impl<C, Tgt, V> AuditedUpdateSet<'_, '_, C, Tgt, V>
where
    C: AuditConnection,
    Tgt: IntoUpdateTarget + AsQuery + Clone,
    V: AsChangeset<Target = Tgt::Table>,
{
    /// Applies the update and returns the updated rows as stored.
    ///
    /// The before-image of every selected row is read first (locked with `FOR UPDATE` on
    /// PostgreSQL), the update returns the after-image (`RETURNING`), and each row whose
    /// audited fields changed gets one update entry. Rows are matched by primary key, never
    /// by re-running the filter, so rows the update moves out of its own filter are
    /// recorded too. An update that changes a primary key is refused (and rolled back),
    /// since its rows cannot be matched.
    pub fn get_results<'q, M>(self) -> Result<Vec<M>, AuditError>
    where
        M: Auditable,
        Tgt::Table: AuditedTable<M>,
        Tgt::Query: LoadBefore<'q, C, M>,
        UpdateStatement<Tgt::Table, Tgt::WhereClause, V::Changeset>: AsQuery + LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedUpdateSet {
            conn,
            target,
            values,
        } = self;
        conn.audited(|conn, context, masker| {
            // Known shortcoming: before- and after-images of the whole operation are held in
            // memory at once; bulk updates are not yet streamed in key-range chunks.
            let before: Vec<M> = target
                .clone()
                .as_query()
                .load_before(conn)
                .map_err(data_error("update (reading the before-image)", object_type))?;
            let mut before: HashMap<String, M> =
                before.into_iter().map(|m| (m.object_key(), m)).collect();
            let after: Vec<M> = diesel::update(target)
                .set(values)
                .get_results(conn)
                .map_err(data_error("update", object_type))?;
            let mut entries = Vec::new();
            for row in &after {
                let key = row.object_key();
                let Some(old) = before.remove(&key) else {
                    return Err(AuditError::Unmatched {
                        object_type,
                        object_key: key,
                        reason: "the updated row has no before-image (did the update change its primary key?)",
                    });
                };
                entries.extend(NewLogEntry::update(&old, row, masker, context));
            }
            if entries.len() > 1000 {
                tracing::info!(object_type, rows = after.len(), entries = entries.len(), "audited bulk update");
            }
            write_entries(conn, object_type, entries)?;
            Ok(after)
        })
    }

    /// Applies the update and returns the first updated row (Diesel's `NotFound` error,
    /// wrapped, when no row matched).
    pub fn get_result<'q, M>(self) -> Result<M, AuditError>
    where
        M: Auditable,
        Tgt::Table: AuditedTable<M>,
        Tgt::Query: LoadBefore<'q, C, M>,
        UpdateStatement<Tgt::Table, Tgt::WhereClause, V::Changeset>: AsQuery + LoadQuery<'q, C, M>,
    {
        first_row(self.get_results()?, "update", M::OBJECT_TYPE)
    }

    /// Applies the update and returns how many rows it matched.
    pub fn execute<'q, M>(self) -> Result<usize, AuditError>
    where
        M: Auditable,
        Tgt::Table: AuditedTable<M>,
        Tgt::Query: LoadBefore<'q, C, M>,
        UpdateStatement<Tgt::Table, Tgt::WhereClause, V::Changeset>: AsQuery + LoadQuery<'q, C, M>,
    {
        self.get_results::<M>().map(|rows| rows.len())
    }
}

/// An audited delete; see [`AuditedConnection::delete`].
#[must_use = "a delete does nothing until `execute` or `get_results` is called"]
pub struct AuditedDelete<'a, 'c, C, Tgt> {
    conn: &'a mut AuditedConnection<'c, C>,
    target: Tgt,
}

impl<C, Tgt> fmt::Debug for AuditedDelete<'_, '_, C, Tgt> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditedDelete")
    }
}

impl<C, Tgt> AuditedDelete<'_, '_, C, Tgt>
where
    C: AuditConnection,
    Tgt: IntoUpdateTarget,
{
    /// Deletes the rows and returns them as they were; writes one delete entry per row with
    /// its final masked snapshot (taken from `RETURNING`, so it is exactly what was deleted).
    pub fn get_results<'q, M>(self) -> Result<Vec<M>, AuditError>
    where
        M: Auditable,
        Tgt::Table: AuditedTable<M>,
        DeleteStatement<Tgt::Table, Tgt::WhereClause>: LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedDelete { conn, target } = self;
        conn.audited(|conn, context, masker| {
            let rows: Vec<M> = diesel::delete(target)
                .get_results(conn)
                .map_err(data_error("delete", object_type))?;
            let entries = rows
                .iter()
                .map(|row| NewLogEntry::delete(row, masker, context))
                .collect();
            write_entries(conn, object_type, entries)?;
            Ok(rows)
        })
    }

    /// Deletes the rows and returns how many were deleted.
    pub fn execute<'q, M>(self) -> Result<usize, AuditError>
    where
        M: Auditable,
        Tgt::Table: AuditedTable<M>,
        DeleteStatement<Tgt::Table, Tgt::WhereClause>: LoadQuery<'q, C, M>,
    {
        self.get_results::<M>().map(|rows| rows.len())
    }
}
