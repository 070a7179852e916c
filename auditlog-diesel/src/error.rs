//! Errors of audited operations.

/// What went wrong in an audited operation. Every variant says which step failed and on which
/// object type; when an operation fails, neither its data change nor its log entries remain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The application's own statement (insert, update, delete, the before-image) failed.
    #[error("{operation} on `{object_type}` failed: {source}")]
    Data {
        /// Which operation.
        operation: &'static str,
        /// The object type.
        object_type: &'static str,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },
    /// Writing the log entries failed; the data change was rolled back with them.
    #[error("writing {entries} audit log entries for `{object_type}` failed, the change was rolled back: {source}")]
    Log {
        /// The object type.
        object_type: &'static str,
        /// How many entries were being written.
        entries: usize,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },
    /// An updated row could not be matched with its before-image, for instance because the
    /// update changed its primary key. The update was rolled back.
    #[error("update of `{object_type}` row {object_key} cannot be audited: {reason}; the update was rolled back")]
    Unmatched {
        /// The object type.
        object_type: &'static str,
        /// The key of the row that could not be matched.
        object_key: String,
        /// Why.
        reason: &'static str,
    },
    /// Reading the log failed.
    #[error("reading the audit log failed: {0}")]
    Read(#[source] diesel::result::Error),
    /// A stored entry could not be decoded.
    #[error("audit log entry {id} is unreadable: {source}")]
    Decode {
        /// The entry's id.
        id: i64,
        /// What was wrong.
        #[source]
        source: auditlog_core::Error,
    },
    /// The integrity chain cannot be used as asked (no key configured, a broken anchor).
    #[error("audit log integrity: {0}")]
    Integrity(String),
    /// Applying the log table's migrations failed.
    #[error("applying the audit log migrations failed: {0}")]
    Migration(String),
    /// A transaction could not be opened, committed or rolled back.
    #[error("audit transaction failed: {0}")]
    Transaction(#[source] diesel::result::Error),
    /// An audited operation failed after changing data, inside
    /// [`AuditedConnection::transaction`](crate::AuditedConnection::transaction): the change
    /// could not be undone alone, so the whole transaction was rolled back. Holds the
    /// operation's error.
    #[error("the transaction was rolled back because an audited operation in it failed after changing data: {0}")]
    Aborted(String),
}

impl From<diesel::result::Error> for AuditError {
    /// Errors of transaction control (begin, commit, rollback) raised by Diesel itself.
    fn from(e: diesel::result::Error) -> Self {
        AuditError::Transaction(e)
    }
}
