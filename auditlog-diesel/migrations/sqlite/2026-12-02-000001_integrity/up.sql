-- Tamper evidence: every entry is sealed into a keyed hash chain, the chain head is kept in a
-- one-row table, and the log is append-only except through the library's retention.
ALTER TABLE audit_log ADD COLUMN key_id TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN entry_hash TEXT;

CREATE TABLE audit_log_head (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_id   BIGINT  NOT NULL,
    last_hash TEXT    NOT NULL,
    key_id    TEXT,
    head_mac  TEXT
);
INSERT INTO audit_log_head (id, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Retention opens this gate inside its own transaction, and closes it before committing.
CREATE TABLE audit_log_gate (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    open INTEGER NOT NULL
);
INSERT INTO audit_log_gate (id, open) VALUES (1, 0);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be updated');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN (SELECT open FROM audit_log_gate WHERE id = 1) IS NOT 1
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries are removed only by the library''s retention');
END;
