//! What a correct deployment of the log table has, as `auditlog-diesel/migrations/{sqlite,
//! postgres}` create it. The library does not expose its embedded migrations or catalog, so
//! this is the one place that mirrors them: a new migration there needs its version here, and
//! `check` tests fail until it is added (they run the library's `run_migrations` and expect
//! no pending migration).

/// The log table's migrations: Diesel's version (the directory name's digits) and its name.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("20261201000001", "create_audit_log"),
    ("20261202000001", "integrity"),
];

/// The indexes on `audit_log` and their columns; the history queries rely on each.
pub(crate) const INDEXES: &[(&str, &str)] = &[
    ("audit_log_object", "(object_type, object_key, id)"),
    ("audit_log_object_type", "(object_type, id)"),
    ("audit_log_actor", "(actor_id, id)"),
    ("audit_log_correlation", "(correlation_id, id)"),
    ("audit_log_action", "(action, id)"),
    ("audit_log_logged_at", "(logged_at)"),
    (
        "audit_log_severity",
        "(severity, id) WHERE severity IS NOT NULL",
    ),
    (
        "audit_log_event_name",
        "(event_name, id) WHERE event_name IS NOT NULL",
    ),
];

/// The append-only triggers on SQLite, and what each refuses.
pub(crate) const SQLITE_TRIGGERS: &[(&str, &str)] = &[
    ("audit_log_no_update", "UPDATE"),
    ("audit_log_no_delete", "DELETE outside retention"),
];

/// The append-only triggers on PostgreSQL, and what each refuses.
pub(crate) const POSTGRES_TRIGGERS: &[(&str, &str)] = &[
    (
        "audit_log_append_only",
        "UPDATE and DELETE outside retention",
    ),
    ("audit_log_no_truncate", "TRUNCATE"),
];
