-- What operators did, in the service where they did it: append-only (the triggers refuse
-- any change to an entry).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Operator accounts an admin disabled: their tokens are refused here too.
CREATE TABLE disabled_operators (
    operator_id TEXT PRIMARY KEY NOT NULL,
    disabled_at TIMESTAMP NOT NULL
);
