//! The Diesel schema of the log table, as created by [`run_migrations`](crate::run_migrations).

diesel::table! {
    /// The audit log: one row per entry, never updated in place.
    audit_log (id) {
        /// Increasing in write order.
        id -> BigInt,
        /// When the change was made, UTC, microsecond precision.
        logged_at -> Timestamp,
        /// [`Action::code`](auditlog_core::Action::code).
        action -> SmallInt,
        /// The object type (usually the table name).
        object_type -> Text,
        /// The object's primary key as text.
        object_key -> Text,
        /// A human-readable representation of the object.
        object_repr -> Nullable<Text>,
        /// The changed fields, canonical JSON.
        changes -> Text,
        /// All audited fields (creates, deletes), canonical JSON.
        snapshot -> Nullable<Text>,
        /// Who made the change.
        actor_id -> Nullable<Text>,
        /// The actor's display name or e-mail at the time.
        actor_display -> Nullable<Text>,
        /// The client's address.
        remote_addr -> Nullable<Text>,
        /// The client's port.
        remote_port -> Nullable<Integer>,
        /// The client's user agent.
        user_agent -> Nullable<Text>,
        /// The client's session id.
        session_id -> Nullable<Text>,
        /// The request or operation id shared by related entries.
        correlation_id -> Nullable<Text>,
        /// Why the change was made.
        reason -> Nullable<Text>,
        /// Additional data, canonical JSON object.
        additional_data -> Nullable<Text>,
        /// The event's name (security events and accesses).
        event_name -> Nullable<Text>,
        /// [`Severity::code`](auditlog_core::Severity::code) of an event.
        severity -> Nullable<SmallInt>,
        /// Event details or the association change, canonical JSON.
        details -> Nullable<Text>,
        /// The id of the key that sealed the entry.
        key_id -> Nullable<Text>,
        /// The seal of the previous entry in the chain.
        prev_hash -> Nullable<Text>,
        /// The entry's own seal.
        entry_hash -> Nullable<Text>,
    }
}

diesel::table! {
    /// The head of the hash chain: one row, the last sealed entry.
    audit_log_head (id) {
        /// Always 1.
        id -> SmallInt,
        /// The id of the last sealed entry, 0 when none.
        last_id -> BigInt,
        /// Its seal.
        last_hash -> Text,
        /// The key that sealed this head.
        key_id -> Nullable<Text>,
        /// The head's own seal.
        head_mac -> Nullable<Text>,
    }
}
