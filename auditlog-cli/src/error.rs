//! Why a command could not run. Each is reported as one `error:` line (plus `hint:` lines)
//! and exit status 2.

use std::io::Write;

use auditlog_diesel::{escape_text, AuditError, INTEGRITY_KEY_ENV};

/// A command that could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Neither `--database-url` nor `DATABASE_URL` was given.
    #[error("no database given: pass --database-url or set DATABASE_URL")]
    NoDatabase,

    /// A SQLite file that does not exist (only `migrate` creates one).
    #[error("SQLite database `{path}` does not exist (only `auditlog migrate` creates one)")]
    NoSuchFile {
        /// The path given.
        path: String,
    },

    /// The database could not be opened.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// The database, password redacted.
        target: String,
        /// The driver's message.
        reason: String,
    },

    /// The database has no log table.
    #[error("{target} has no audit log table (`audit_log`): run `auditlog migrate`, or check the database URL (on PostgreSQL, the schema: ?options=-csearch_path%3Dname)")]
    NoLogTable {
        /// The database, password redacted.
        target: String,
    },

    /// The log table exists but its migrations are not all applied.
    #[error("{target} has pending audit log migrations ({versions}): run `auditlog migrate`")]
    PendingMigrations {
        /// The database, password redacted.
        target: String,
        /// The pending versions, comma separated.
        versions: String,
    },

    /// Arguments that parse but do not make sense together.
    #[error("{0}")]
    Usage(String),

    /// `history --type` named a type the log has never recorded.
    #[error(
        "unknown object type `{given}`: no entry in the log is about it; known types: {known}"
    )]
    UnknownObjectType {
        /// The type given.
        given: String,
        /// The types the log holds, comma separated.
        known: String,
    },

    /// `show` named an entry that does not exist.
    #[error("entry {0} does not exist (it may have been pruned)")]
    NoSuchEntry(i64),

    /// A command that needs the integrity key ran without one.
    #[error("{command} needs the integrity key: set {INTEGRITY_KEY_ENV} to `id:hex` (a key of at least 32 bytes), and AUDITLOG_INTEGRITY_OLD_KEYS to retired keys")]
    NoKey {
        /// The command.
        command: &'static str,
    },

    /// The key in the environment is malformed.
    #[error("the integrity key in the environment is invalid: {0}")]
    BadKey(#[source] auditlog_diesel::Error),

    /// A library operation failed.
    #[error(transparent)]
    Audit(#[from] AuditError),

    /// A query of this tool failed.
    #[error("{what} failed: {source}")]
    Query {
        /// What was being read.
        what: &'static str,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },

    /// Writing to standard output failed.
    #[error("writing the output failed: {0}")]
    Output(#[from] std::io::Error),
}

/// Wraps a database error with what was being read.
pub(crate) fn query(what: &'static str) -> impl Fn(diesel::result::Error) -> CliError + Copy {
    move |source| CliError::Query { what, source }
}

/// Prints `error: ...` to stderr, escaped: messages can quote stored values or database
/// errors that quote them.
pub(crate) fn report(error: &CliError) {
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible is left to do when stderr itself is gone.
    let _ = writeln!(stderr, "error: {}", escape_text(&error.to_string()));
}
