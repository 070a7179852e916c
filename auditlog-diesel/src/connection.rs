//! The audited connection: Diesel writes that record themselves.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;

use auditlog_core::{AuditContext, Auditable, ChainHead, Keyring, Masker, MaskingKey, NewLogEntry};
use diesel::associations::HasTable;
use diesel::query_builder::{
    AsChangeset, AsQuery, DeleteStatement, InsertStatement, IntoUpdateTarget, UpdateStatement,
};
use diesel::query_dsl::methods::{BoxedDsl, FilterDsl, FindDsl, LimitDsl, LoadQuery, OrderDsl};
use diesel::{Connection, Identifiable, Insertable, RunQueryDsl, Table};

use crate::backend::{AuditConnection, ChunkStart, LoadBefore, UpdateChunk};
use crate::history::History;
use crate::row::{EntryColumns, NewLogRow, SealColumns};
use crate::{AuditError, AuditedTable, KeyFilter, KeyedTable};

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
/// Every operation runs in a transaction (a savepoint inside the caller's own Diesel
/// transaction, if there is one): either the change and all its entries are committed, or
/// neither is. Group operations with [`transaction`](Self::transaction): their entries are
/// then written in batches, which is much cheaper than one log insert per operation.
///
/// Reads, and writes that must not be audited, go through [`unaudited`](Self::unaudited).
pub struct AuditedConnection<'c, C> {
    conn: Inner<'c, C>,
    context: AuditContext,
    masker: Masker,
    keyring: Option<Keyring>,
    chunk_size: usize,
    /// Inside [`transaction`](Self::transaction): its buffered entries and chain head.
    tx: Option<RefCell<TxState>>,
}

impl<C: AuditConnection> fmt::Debug for AuditedConnection<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditedConnection")
            .field("backend", &C::BACKEND)
            .field("context", &self.context)
            .field("masker", &self.masker)
            .field("keyring", &self.keyring)
            .field("chunk_size", &self.chunk_size)
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
            keyring: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            tx: None,
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
            keyring: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            tx: None,
        }
    }

    /// Fingerprints masked values with `key` (see [`MaskingKey`]); without a key, masked
    /// values are stored as the bare placeholder.
    pub fn with_masking_key(mut self, key: MaskingKey) -> Self {
        self.masker = Masker::new(Some(key));
        self
    }

    /// Seals every entry written from now on into the log's hash chain with `keyring`'s
    /// current key (see [`verify`](crate::verify)). Every connection writing to one log must
    /// use the same setting: an unsealed entry breaks verification of the chain.
    pub fn with_integrity(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// The keyring entries are sealed with, if any.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    /// Rows per chunk of bulk updates and deletes (at least 1; default
    /// [`DEFAULT_CHUNK_SIZE`]): the most rows, and their entries, held in memory at once.
    pub fn with_chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = rows.max(1);
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
    ///
    /// Inside [`transaction`](Self::transaction), entries waiting in the transaction's buffer
    /// are written first, so that reads through the returned connection see them. If that
    /// write fails, the transaction is doomed: it rolls back when its closure returns.
    pub fn unaudited(&mut self) -> &mut C {
        if let Some(tx) = &self.tx {
            // The error is kept in the transaction's state (it dooms it) and reported when
            // the transaction ends; this accessor has no way to return it.
            let _ = flush(self.conn.get(), tx, self.keyring.as_ref());
        }
        self.conn.get()
    }

    /// Runs `f` in one transaction (a savepoint if one is already open). Every audited
    /// operation inside shares one correlation id: the context's, or one generated here.
    ///
    /// Inside the transaction, log entries are kept in a buffer and written in multi-row
    /// inserts (every [`FLUSH_ENTRIES`] entries, and before the transaction commits), so a
    /// loop of single-row writes costs one log statement per batch rather than per row. The
    /// buffer is written before a nested transaction starts, before
    /// [`history`](Self::history) and [`unaudited`](Self::unaudited) reads, so the
    /// transaction always reads its own entries.
    ///
    /// An operation that fails *before* changing anything leaves the transaction as a failed
    /// Diesel statement would (on PostgreSQL, any failed statement aborts the transaction).
    /// An operation that fails *after* changing data dooms the transaction: a log write that
    /// fails, an update that changed a primary key, and on PostgreSQL a bulk update whose
    /// later chunk fails (its first chunk is read and changed in one statement, before the
    /// update can know it has more; bulk deletes, and bulk updates on SQLite, run in a
    /// savepoint of their own once they have more than one chunk, and are undone alone).
    /// Once doomed, further audited operations and nested transactions fail with
    /// [`AuditError::Aborted`]; when `f` returns, the transaction is rolled back and
    /// [`AuditError::Aborted`] is returned, even if `f` returned `Ok`. So the transaction
    /// can never commit a change without its entry. To go on after an operation that may
    /// fail, run it in a nested transaction: its failure is undone alone on both backends.
    pub fn transaction<R, E, F>(&mut self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut AuditedConnection<'_, C>) -> Result<R, E>,
        E: From<diesel::result::Error> + From<AuditError>,
    {
        let context = self.operation_context();
        let masker = self.masker.clone();
        let keyring = self.keyring.clone();
        let chunk_size = self.chunk_size;
        let outermost = self.tx.is_none();
        // A nested transaction starts with the enclosing buffer written, so rolling back its
        // savepoint removes exactly its own entries.
        if let Some(tx) = &self.tx {
            refuse_if_doomed(tx)?;
            flush(self.conn.get(), tx, self.keyring.as_ref())?;
        }
        let start = self.tx.as_ref().and_then(|tx| tx.borrow().head.clone());
        let mut end = None;
        let result = self.conn.get().transaction(|conn| {
            let mut inner = AuditedConnection {
                conn: Inner::Borrowed(conn),
                context,
                masker,
                keyring,
                chunk_size,
                tx: Some(RefCell::new(TxState::new(start))),
            };
            let value = f(&mut inner)?;
            let Some(tx) = inner.tx.take() else {
                return Err(AuditError::Integrity("transaction state lost".into()).into());
            };
            // A doomed transaction rolls back without writing what it buffered.
            refuse_if_doomed(&tx).inspect_err(|reason| {
                tracing::warn!(%reason, "audited transaction rolled back");
            })?;
            flush(inner.conn.get(), &tx, inner.keyring.as_ref())?;
            let state = tx.into_inner();
            if let (true, Some(head)) = (outermost, &state.head) {
                inner
                    .conn
                    .get()
                    .write_chain_head(head)
                    .map_err(|source| AuditError::Log {
                        object_type: "audit_log_head",
                        entries: 0,
                        source,
                    })?;
            }
            end = Some(state.head);
            Ok(value)
        });
        // A nested transaction that committed its savepoint hands its head to the enclosing
        // one; one that rolled back leaves the enclosing head as it was.
        if let (Some(tx), Some(head)) = (&self.tx, end) {
            tx.borrow_mut().head = head;
        }
        result
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

    /// A history query over the log (inside a transaction, after writing its buffered
    /// entries, as [`unaudited`](Self::unaudited) does).
    pub fn history(&mut self) -> History<'_, C> {
        History::new(self.unaudited())
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

    /// Runs one audited operation: inside [`transaction`](Self::transaction) directly, with
    /// its entries going to the transaction's buffer; otherwise in a transaction of its own
    /// (a savepoint inside a caller's Diesel transaction), which writes them before it ends.
    pub(crate) fn audited<R>(
        &mut self,
        f: impl FnOnce(&mut C, &Env<'_>) -> Result<R, AuditError>,
    ) -> Result<R, AuditError> {
        let Some(tx) = &self.tx else {
            return self.transaction(|inner| inner.audited(f));
        };
        refuse_if_doomed(tx)?;
        // `with_context` inside a transaction may have set a context without a correlation id.
        let fresh;
        let context = if self.context.correlation_id.is_some() {
            &self.context
        } else {
            fresh = self.operation_context();
            &fresh
        };
        let env = Env {
            context,
            masker: &self.masker,
            keyring: self.keyring.as_ref(),
            tx,
            changed: Cell::new(false),
        };
        let result = f(self.conn.get(), &env);
        if let Err(e) = &result {
            if env.changed.get() {
                env.doom(e);
            }
        }
        result
    }
}

/// Entries a transaction buffers before writing them in one batch: the largest batch the
/// backends' multi-row inserts take, and the most entries held in memory at once.
pub const FLUSH_ENTRIES: usize = 1_000;

/// The audit state of one [`AuditedConnection::transaction`] level.
pub(crate) struct TxState {
    /// The chain head as this transaction has moved it, written to its row once, before the
    /// outermost commit (`None` until the first sealed entry is written). Updating the head
    /// row once per batch would leave PostgreSQL a chain of dead row versions to walk on
    /// every write of a long transaction.
    head: Option<ChainHead>,
    /// Entries not written yet, in the order they were made.
    pending: Vec<EntryColumns>,
    /// The object type of the first pending entry, for error messages.
    pending_type: &'static str,
    /// Why the transaction must roll back, once an operation failed half done.
    doomed: Option<String>,
}

impl TxState {
    fn new(head: Option<ChainHead>) -> Self {
        TxState {
            head,
            pending: Vec::new(),
            pending_type: "",
            doomed: None,
        }
    }
}

/// What an operation's entries are written with.
pub(crate) struct Env<'a> {
    pub(crate) context: &'a AuditContext,
    pub(crate) masker: &'a Masker,
    pub(crate) keyring: Option<&'a Keyring>,
    tx: &'a RefCell<TxState>,
    /// Whether the operation has changed data yet: a failure after that dooms the
    /// transaction, since the change cannot be undone alone.
    changed: Cell<bool>,
}

impl Env<'_> {
    /// Records that the operation has changed data.
    pub(crate) fn changed(&self) {
        self.changed.set(true);
    }

    fn doom(&self, error: &AuditError) {
        let mut state = self.tx.borrow_mut();
        if state.doomed.is_none() {
            state.doomed = Some(error.to_string());
        }
    }

    /// Writes the buffered entries now (before reading the log, or the chain head).
    pub(crate) fn flush<C: AuditConnection>(&self, conn: &mut C) -> Result<(), AuditError> {
        flush(conn, self.tx, self.keyring)
    }

    /// The chain head after every entry written so far: the one this transaction has
    /// moved, or the stored one, locked until the transaction ends. Writes the buffer first.
    pub(crate) fn chain_head<C: AuditConnection>(
        &self,
        conn: &mut C,
    ) -> Result<ChainHead, AuditError> {
        self.flush(conn)?;
        if let Some(head) = self.tx.borrow().head.clone() {
            return Ok(head);
        }
        conn.lock_chain_head().map_err(AuditError::Read)
    }

    /// Runs the rest of an operation that may change data in several statements in a
    /// savepoint: if it fails, its changes and entries are undone and the transaction can
    /// go on. The buffer is written first, so the savepoint holds only this operation's
    /// entries.
    pub(crate) fn in_savepoint<C: AuditConnection, R>(
        &self,
        conn: &mut C,
        body: impl FnOnce(&mut C) -> Result<R, AuditError>,
    ) -> Result<R, AuditError> {
        self.flush(conn)?;
        let (head, doomed) = {
            let state = self.tx.borrow();
            (state.head.clone(), state.doomed.clone())
        };
        let changed = self.changed.get();
        let result = conn.transaction(body);
        if result.is_err() {
            // Everything since the savepoint is gone: its entries, written or not, and
            // whatever it changed.
            let mut state = self.tx.borrow_mut();
            state.pending.clear();
            state.head = head;
            state.doomed = doomed;
            self.changed.set(changed);
        }
        result
    }
}

/// Fails with [`AuditError::Aborted`] once the transaction is doomed: whatever runs after
/// that would be rolled back with it.
fn refuse_if_doomed(tx: &RefCell<TxState>) -> Result<(), AuditError> {
    match &tx.borrow().doomed {
        Some(reason) => Err(AuditError::Aborted(reason.clone())),
        None => Ok(()),
    }
}

/// Writes a transaction's buffered entries in multi-row inserts, sealing them into the hash
/// chain when an integrity key is configured. A failure dooms the transaction.
fn flush<C: AuditConnection>(
    conn: &mut C,
    tx: &RefCell<TxState>,
    keyring: Option<&Keyring>,
) -> Result<(), AuditError> {
    let mut state = tx.borrow_mut();
    if state.pending.is_empty() {
        return Ok(());
    }
    let columns = std::mem::take(&mut state.pending);
    let count = columns.len();
    let object_type = state.pending_type;
    let written = write_rows(conn, state.head.take(), columns, keyring);
    match written {
        Ok(head) => {
            state.head = head;
            tracing::debug!(object_type, entries = count, "audit entries written");
            Ok(())
        }
        Err(source) => {
            let error = AuditError::Log {
                object_type,
                entries: count,
                source,
            };
            if state.doomed.is_none() {
                state.doomed = Some(error.to_string());
            }
            Err(error)
        }
    }
}

/// Inserts rows after `head` (read and locked when `None` and sealing); returns the head
/// after them.
fn write_rows<C: AuditConnection>(
    conn: &mut C,
    head: Option<ChainHead>,
    columns: Vec<EntryColumns>,
    keyring: Option<&Keyring>,
) -> diesel::QueryResult<Option<ChainHead>> {
    let Some(keyring) = keyring else {
        let rows: Vec<NewLogRow> = columns
            .into_iter()
            .map(|columns| NewLogRow::new(columns, SealColumns::default()))
            .collect();
        conn.insert_log_rows(&rows)?;
        return Ok(head);
    };
    // The head is locked as late as possible: when the first batch is written, usually
    // right before the commit (see the note on chain order in backend.rs).
    let head = match head {
        Some(head) => head,
        None => conn.lock_chain_head()?,
    };
    let key = keyring.current();
    let mut prev = head.last_hash;
    let rows: Vec<NewLogRow> = columns
        .into_iter()
        .map(|columns| {
            let hash = columns.chain_fields().seal(key, &prev);
            let seal = SealColumns {
                key_id: Some(key.id().to_owned()),
                prev_hash: Some(std::mem::replace(&mut prev, hash.clone())),
                entry_hash: Some(hash),
            };
            NewLogRow::new(columns, seal)
        })
        .collect();
    let last_id = conn.insert_log_rows(&rows)?;
    Ok(Some(ChainHead {
        last_id,
        head_mac: Some(ChainHead::seal(key, last_id, &prev)),
        last_hash: prev,
        key_id: Some(key.id().to_owned()),
    }))
}

/// Adds the entries of one operation to its transaction's buffer, writing the buffer when it
/// is full.
pub(crate) fn write_entries<C: AuditConnection>(
    conn: &mut C,
    env: &Env<'_>,
    object_type: &'static str,
    entries: Vec<NewLogEntry>,
) -> Result<(), AuditError> {
    if entries.is_empty() {
        return Ok(());
    }
    let full = {
        let mut state = env.tx.borrow_mut();
        if state.pending.is_empty() {
            state.pending_type = object_type;
        }
        state
            .pending
            .extend(entries.into_iter().map(EntryColumns::from_entry));
        state.pending.len() >= FLUSH_ENTRIES
    };
    if full {
        env.flush(conn)?;
    }
    Ok(())
}

pub(crate) fn data_error(
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
        conn.audited(|conn, env| {
            let rows: Vec<M> = diesel::insert_into(table)
                .values(values)
                .get_results(conn)
                .map_err(data_error("insert", object_type))?;
            env.changed();
            let entries = rows
                .iter()
                .map(|row| NewLogEntry::create(row, env.masker, env.context))
                .collect();
            write_entries(conn, env, object_type, entries)?;
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

/// How a saved model's row is read and updated on `C`'s backend: as one chunk of an update
/// ([`UpdateChunk`]), so in one statement on PostgreSQL.
pub trait SaveChunk<'q, 'm, C, M>:
    UpdateChunk<
    'q,
    C,
    M,
    <M as HasTable>::Table,
    <&'m M as AsChangeset>::Changeset,
    diesel::dsl::Update<SaveTarget<'m, M>, &'m M>,
>
where
    M: HasTable + 'm,
    &'m M: Identifiable<Table = M::Table> + AsChangeset,
    M::Table: FindDsl<<&'m M as Identifiable>::Id>,
    SaveTarget<'m, M>: IntoUpdateTarget,
{
}

impl<'q, 'm, Q, C, M> SaveChunk<'q, 'm, C, M> for Q
where
    Q: UpdateChunk<
        'q,
        C,
        M,
        <M as HasTable>::Table,
        <&'m M as AsChangeset>::Changeset,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>,
    >,
    M: HasTable + 'm,
    &'m M: Identifiable<Table = M::Table> + AsChangeset,
    M::Table: FindDsl<<&'m M as Identifiable>::Id>,
    SaveTarget<'m, M>: IntoUpdateTarget,
{
}

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
        <SaveTarget<'m, M> as AsQuery>::Query: SaveChunk<'q, 'm, C, M>,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>: AsQuery + LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let rows = self.run()?;
        first_row(rows, "save", object_type)
    }

    /// Saves the model and returns how many rows were updated (1, or 0 when its row no
    /// longer exists).
    pub fn execute<'q>(self) -> Result<usize, AuditError>
    where
        <SaveTarget<'m, M> as AsQuery>::Query: SaveChunk<'q, 'm, C, M>,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>: AsQuery + LoadQuery<'q, C, M>,
    {
        self.run().map(|rows| rows.len())
    }
}

impl<'m, C, M> AuditedSave<'_, '_, 'm, C, M>
where
    C: AuditConnection,
    M: Auditable + HasTable,
    &'m M: Identifiable<Table = M::Table> + AsChangeset<Target = M::Table>,
    M::Table: FindDsl<<&'m M as Identifiable>::Id> + AuditedTable<M>,
    SaveTarget<'m, M>: IntoUpdateTarget<Table = M::Table> + AsQuery + Clone,
{
    fn run<'q>(self) -> Result<Vec<M>, AuditError>
    where
        <SaveTarget<'m, M> as AsQuery>::Query: SaveChunk<'q, 'm, C, M>,
        diesel::dsl::Update<SaveTarget<'m, M>, &'m M>: AsQuery + LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedSave { conn, model } = self;
        conn.audited(|conn, env| {
            let target = M::table().find(model.id());
            let start = target
                .clone()
                .as_query()
                .start(conn, false)
                .map_err(data_error("save (reading the stored row)", object_type))?;
            let (before, after): (Vec<M>, Vec<M>) = UpdateChunk::finish(
                start,
                conn,
                M::table(),
                model.as_changeset(),
                <M::Table as AuditedTable<M>>::KEY_COLUMNS,
                |_| diesel::update(target).set(model),
            )
            .map_err(data_error("save", object_type))?;
            env.changed();
            log_updates(conn, env, before, &after)?;
            Ok(after)
        })
    }
}

/// Matches after-images to before-images by primary key and writes one update entry per row
/// whose audited fields changed; returns how many entries were written.
fn log_updates<C: AuditConnection, M: Auditable>(
    conn: &mut C,
    env: &Env<'_>,
    before: Vec<M>,
    after: &[M],
) -> Result<usize, AuditError> {
    let object_type = M::OBJECT_TYPE;
    let mut before: HashMap<String, M> = before.into_iter().map(|m| (m.object_key(), m)).collect();
    let mut entries = Vec::new();
    for row in after {
        let key = row.object_key();
        let Some(old) = before.remove(&key) else {
            return Err(AuditError::Unmatched {
                object_type,
                object_key: key,
                reason:
                    "the updated row has no before-image (did the update change its primary key?)",
            });
        };
        entries.extend(NewLogEntry::update(&old, row, env.masker, env.context));
    }
    let written = entries.len();
    write_entries(conn, env, object_type, entries)?;
    Ok(written)
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

/// The before-image query of one chunk: the target, boxed for the connection's backend.
type BoxedBefore<'q, Tgt, C> =
    diesel::dsl::IntoBoxed<'q, <Tgt as AsQuery>::Query, <C as Connection>::Backend>;

/// The primary-key filter of the target's table on the connection's backend.
type TableKeyFilter<Tgt, C> = KeyFilter<<Tgt as HasTable>::Table, <C as Connection>::Backend>;

/// The target narrowed to one chunk's rows.
type ChunkTarget<Tgt, C> = diesel::dsl::Filter<Tgt, TableKeyFilter<Tgt, C>>;

/// The update of one chunk's rows, by primary key.
type ChunkUpdateStatement<Tgt, C, V> = UpdateStatement<
    <Tgt as HasTable>::Table,
    <ChunkTarget<Tgt, C> as IntoUpdateTarget>::WhereClause,
    <V as AsChangeset>::Changeset,
>;

/// How one chunk of an update of `Tgt` with `V` is read and applied on `C`'s backend.
pub trait ChunkUpdate<'q, C, M, Tgt, V>:
    UpdateChunk<
    'q,
    C,
    M,
    <Tgt as HasTable>::Table,
    <V as AsChangeset>::Changeset,
    ChunkUpdateStatement<Tgt, C, V>,
>
where
    C: Connection,
    Tgt: IntoUpdateTarget + FilterDsl<TableKeyFilter<Tgt, C>>,
    V: AsChangeset,
    ChunkTarget<Tgt, C>: IntoUpdateTarget,
{
}

impl<'q, Q, C, M, Tgt, V> ChunkUpdate<'q, C, M, Tgt, V> for Q
where
    Q: UpdateChunk<
        'q,
        C,
        M,
        <Tgt as HasTable>::Table,
        <V as AsChangeset>::Changeset,
        ChunkUpdateStatement<Tgt, C, V>,
    >,
    C: Connection,
    Tgt: IntoUpdateTarget + FilterDsl<TableKeyFilter<Tgt, C>>,
    V: AsChangeset,
    ChunkTarget<Tgt, C>: IntoUpdateTarget,
{
}

/// Rows in one chunk when [`AuditedConnection::with_chunk_size`] is not used.
pub const DEFAULT_CHUNK_SIZE: usize = 1_000;

impl<C, Tgt, V> AuditedUpdateSet<'_, '_, C, Tgt, V>
where
    C: AuditConnection,
    Tgt: IntoUpdateTarget + AsQuery + Clone + FilterDsl<TableKeyFilter<Tgt, C>>,
    V: AsChangeset<Target = Tgt::Table> + Clone,
    ChunkTarget<Tgt, C>: IntoUpdateTarget<Table = Tgt::Table>,
{
    /// Applies the update and returns the updated rows as stored.
    ///
    /// The rows the target selects are worked through in primary-key order, one chunk at a
    /// time ([`AuditedConnection::with_chunk_size`]): each chunk's before-image is read
    /// (locked with `FOR UPDATE` on PostgreSQL), the update is applied to exactly those rows
    /// and returns their after-image (`RETURNING`), and each row whose audited fields changed
    /// gets one update entry. Rows are matched by primary key, never by re-running the filter,
    /// so rows the update moves out of its own filter are recorded too. An update that changes
    /// a primary key is refused (and rolled back), since its rows cannot be matched.
    ///
    /// All chunks run in one transaction, so the result is all or nothing. A filter is
    /// evaluated per chunk, so a filter that depends on *other* rows the update changes (a
    /// subquery over the same table) can select differently than one statement would.
    ///
    /// The returned rows are all held in memory; [`execute`](Self::execute) keeps only one
    /// chunk at a time.
    pub fn get_results<'q, M>(self) -> Result<Vec<M>, AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: FilterDsl<TableKeyFilter<Tgt, C>, Output = BoxedBefore<'q, Tgt, C>>
            + OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + ChunkUpdate<'q, C, M, Tgt, V>,
        ChunkUpdateStatement<Tgt, C, V>: AsQuery,
    {
        let mut rows = Vec::new();
        self.run(|chunk| rows.extend(chunk))?;
        Ok(rows)
    }

    /// Applies the update and returns the first updated row (Diesel's `NotFound` error,
    /// wrapped, when no row matched).
    pub fn get_result<'q, M>(self) -> Result<M, AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: FilterDsl<TableKeyFilter<Tgt, C>, Output = BoxedBefore<'q, Tgt, C>>
            + OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + ChunkUpdate<'q, C, M, Tgt, V>,
        ChunkUpdateStatement<Tgt, C, V>: AsQuery,
    {
        first_row(self.get_results()?, "update", M::OBJECT_TYPE)
    }

    /// Applies the update and returns how many rows it matched. Memory stays bounded by the
    /// chunk size however many rows are updated.
    pub fn execute<'q, M>(self) -> Result<usize, AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: FilterDsl<TableKeyFilter<Tgt, C>, Output = BoxedBefore<'q, Tgt, C>>
            + OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + ChunkUpdate<'q, C, M, Tgt, V>,
        ChunkUpdateStatement<Tgt, C, V>: AsQuery,
    {
        let mut count = 0;
        self.run(|chunk: Vec<M>| count += chunk.len())?;
        Ok(count)
    }

    /// The chunk loop; hands each chunk's after-image to `sink`.
    fn run<'q, M>(self, mut sink: impl FnMut(Vec<M>)) -> Result<(), AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: FilterDsl<TableKeyFilter<Tgt, C>, Output = BoxedBefore<'q, Tgt, C>>
            + OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + ChunkUpdate<'q, C, M, Tgt, V>,
        ChunkUpdateStatement<Tgt, C, V>: AsQuery,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedUpdateSet {
            conn,
            target,
            values,
        } = self;
        let chunk_size = conn.chunk_size;
        conn.audited(|conn, env| {
            let start_chunk = |conn: &mut C, resume_after: Option<TableKeyFilter<Tgt, C>>| {
                let mut query = BoxedDsl::internal_into_boxed(target.clone().as_query());
                // Only the first chunk may be read with its update (see `UpdateChunk`).
                let separately = resume_after.is_some();
                if let Some(after) = resume_after {
                    query = FilterDsl::filter(query, after);
                }
                let query = OrderDsl::order(query, Tgt::Table::key_order());
                let query = LimitDsl::limit(query, i64::try_from(chunk_size).unwrap_or(i64::MAX));
                query
                    .start(conn, separately)
                    .map_err(data_error("update (reading the before-image)", object_type))
            };
            let mut rows = 0usize;
            let mut logged = 0usize;
            let mut chunks = |conn: &mut C, mut start| -> Result<(), AuditError> {
                loop {
                    let (before, after): (Vec<M>, Vec<M>) = UpdateChunk::finish(
                        start,
                        conn,
                        Tgt::table(),
                        values.clone().as_changeset(),
                        <Tgt::Table as AuditedTable<M>>::KEY_COLUMNS,
                        |before: &[M]| {
                            diesel::update(FilterDsl::filter(
                                target.clone(),
                                Tgt::Table::keys_in(before),
                            ))
                            .set(values.clone())
                        },
                    )
                    .map_err(data_error("update", object_type))?;
                    env.changed();
                    let resume_after = match before.last() {
                        Some(last) if before.len() >= chunk_size => {
                            Some(Tgt::Table::keys_after(last))
                        }
                        _ => None,
                    };
                    rows += after.len();
                    logged += log_updates(conn, env, before, &after)?;
                    sink(after);
                    let Some(resume_after) = resume_after else {
                        return Ok(());
                    };
                    start = start_chunk(conn, Some(resume_after))?;
                }
            };
            let first = start_chunk(conn, None)?;
            if matches!(&first, ChunkStart::Read(before) if before.len() >= chunk_size) {
                // SQLite, several statements: a failure halfway is undone alone. (On
                // PostgreSQL the first chunk is read with its update, and a failed statement
                // aborts the transaction anyway: a later chunk that fails dooms it.)
                env.in_savepoint(conn, |conn| chunks(conn, first))?;
            } else {
                chunks(conn, first)?;
            }
            if rows > chunk_size {
                tracing::info!(object_type, rows, entries = logged, "audited bulk update");
            }
            Ok(())
        })
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
    Tgt: IntoUpdateTarget + AsQuery + Clone + FilterDsl<TableKeyFilter<Tgt, C>>,
    ChunkTarget<Tgt, C>: IntoUpdateTarget<Table = Tgt::Table>,
{
    /// Deletes the rows and returns them as they were; writes one delete entry per row with
    /// its final masked snapshot (taken from `RETURNING`, so it is exactly what was deleted).
    ///
    /// Like updates, deletes work through the target's rows one chunk at a time, in one
    /// transaction; the returned rows are all held in memory, while
    /// [`execute`](Self::execute) keeps one chunk at a time.
    pub fn get_results<'q, M>(self) -> Result<Vec<M>, AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + LoadBefore<'q, C, M>,
        DeleteStatement<Tgt::Table, <ChunkTarget<Tgt, C> as IntoUpdateTarget>::WhereClause>:
            LoadQuery<'q, C, M>,
    {
        let mut rows = Vec::new();
        self.run(|chunk| rows.extend(chunk))?;
        Ok(rows)
    }

    /// Deletes the rows and returns how many were deleted. Memory stays bounded by the chunk
    /// size however many rows are deleted.
    pub fn execute<'q, M>(self) -> Result<usize, AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + LoadBefore<'q, C, M>,
        DeleteStatement<Tgt::Table, <ChunkTarget<Tgt, C> as IntoUpdateTarget>::WhereClause>:
            LoadQuery<'q, C, M>,
    {
        let mut count = 0;
        self.run(|chunk: Vec<M>| count += chunk.len())?;
        Ok(count)
    }

    /// The chunk loop: lock the next chunk of rows in key order, delete exactly those.
    fn run<'q, M>(self, mut sink: impl FnMut(Vec<M>)) -> Result<(), AuditError>
    where
        M: Auditable,
        Tgt::Table: KeyedTable<M, C::Backend>,
        Tgt::Query: BoxedDsl<'q, C::Backend>,
        BoxedBefore<'q, Tgt, C>: OrderDsl<
                <Tgt::Table as KeyedTable<M, C::Backend>>::KeyOrder,
                Output = BoxedBefore<'q, Tgt, C>,
            > + LimitDsl<Output = BoxedBefore<'q, Tgt, C>>
            + LoadBefore<'q, C, M>,
        DeleteStatement<Tgt::Table, <ChunkTarget<Tgt, C> as IntoUpdateTarget>::WhereClause>:
            LoadQuery<'q, C, M>,
    {
        let object_type = M::OBJECT_TYPE;
        let AuditedDelete { conn, target } = self;
        let chunk_size = conn.chunk_size;
        conn.audited(|conn, env| {
            // Deleted rows leave the target, so every round starts from the beginning.
            let read_chunk = |conn: &mut C| {
                let query = BoxedDsl::internal_into_boxed(target.clone().as_query());
                let query = OrderDsl::order(query, Tgt::Table::key_order());
                let query = LimitDsl::limit(query, i64::try_from(chunk_size).unwrap_or(i64::MAX));
                query
                    .load_before(conn)
                    .map_err(data_error("delete (locking the rows)", object_type))
            };
            let mut chunks = |conn: &mut C, mut doomed: Vec<M>| -> Result<(), AuditError> {
                while !doomed.is_empty() {
                    let more = doomed.len() >= chunk_size;
                    let chunk_target =
                        FilterDsl::filter(target.clone(), Tgt::Table::keys_in(&doomed));
                    drop(doomed);
                    let rows: Vec<M> = diesel::delete(chunk_target)
                        .get_results(conn)
                        .map_err(data_error("delete", object_type))?;
                    env.changed();
                    let entries = rows
                        .iter()
                        .map(|row| NewLogEntry::delete(row, env.masker, env.context))
                        .collect();
                    write_entries(conn, env, object_type, entries)?;
                    sink(rows);
                    if !more {
                        break;
                    }
                    doomed = read_chunk(conn)?;
                }
                Ok(())
            };
            let first = read_chunk(conn)?;
            if first.len() >= chunk_size {
                // Several statements: a failure halfway is undone alone.
                env.in_savepoint(conn, |conn| chunks(conn, first))
            } else {
                chunks(conn, first)
            }
        })
    }
}
