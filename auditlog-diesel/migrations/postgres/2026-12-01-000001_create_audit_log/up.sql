-- The audit log (auditlog-diesel). Append-only by convention; no foreign keys, so history
-- survives deletion of the objects and actors it mentions.
CREATE TABLE audit_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at       TIMESTAMP(6) NOT NULL,  -- UTC
    action          SMALLINT NOT NULL,      -- auditlog_core::Action::code
    object_type     TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    object_repr     TEXT,
    changes         TEXT NOT NULL,          -- canonical JSON written by the library (not jsonb,
                                            -- which would reorder keys)
    snapshot        TEXT,                   -- canonical JSON, creates and deletes
    actor_id        TEXT,
    actor_display   TEXT,
    remote_addr     TEXT,
    remote_port     INTEGER,
    user_agent      TEXT,
    session_id      TEXT,
    correlation_id  TEXT,
    reason          TEXT,
    additional_data TEXT,                   -- canonical JSON object
    event_name      TEXT,                   -- security and access events
    severity        SMALLINT,               -- auditlog_core::Severity::code
    details         TEXT                    -- canonical JSON: event details or association change
);

COMMENT ON COLUMN audit_log.logged_at IS 'UTC';

-- One object's history, newest first: an index range scan however large the table grows.
CREATE INDEX audit_log_object ON audit_log (object_type, object_key, id);
CREATE INDEX audit_log_object_type ON audit_log (object_type, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_correlation ON audit_log (correlation_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_logged_at ON audit_log (logged_at);
-- Events only: partial indexes stay small however many data changes the log holds.
CREATE INDEX audit_log_severity ON audit_log (severity, id) WHERE severity IS NOT NULL;
CREATE INDEX audit_log_event_name ON audit_log (event_name, id) WHERE event_name IS NOT NULL;
