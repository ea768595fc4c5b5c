-- smppgate store, version 5: what months of history need.
-- 1. Messages by account and state, kept by triggers as messages change state, so the ops page
--    and /metrics read a few rows instead of counting all history. Many transactions write at
--    once here: updating one total row per (account, state) would make every insert, claim
--    and receipt of an account wait for the others to commit. So the triggers append deltas
--    (no row is shared) and reading folds them into message_counts (store/sql_store.py).
-- 2. Indexes that retention's deletes need: a cascade from parts to match_keys and from
--    unmatched_receipts to their keys looks the children up by the parent's key; without an
--    index each deleted row would scan the whole child table.
--    And messages by state in id order (the ops page's retry scan, the query_sm sweeper):
--    without it a list of the few queued messages walked the whole table in id order.
-- 3. maintenance: one row per background job shared by the nodes (a lease: one node works at
--    a time) with its cursor (how far text redaction got).
CREATE TABLE message_counts (
    account TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (account, state)
)
;
CREATE TABLE message_count_deltas (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       BIGINT NOT NULL
)
;
CREATE FUNCTION smppgate_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_count_deltas (account, state, n) VALUES (NEW.account, NEW.state, 1);
    ELSE
        INSERT INTO message_count_deltas (account, state, n)
            VALUES (OLD.account, OLD.state, -1), (NEW.account, NEW.state, 1);
    END IF;
    RETURN NULL;
END
$$
;
CREATE FUNCTION smppgate_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_count_deltas (account, state, n)
        SELECT account, state, -COUNT(*) FROM deleted_rows GROUP BY account, state;
    RETURN NULL;
END
$$
;
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION smppgate_count_row()
;
CREATE TRIGGER messages_count_update AFTER UPDATE OF state ON messages
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION smppgate_count_row()
;
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smppgate_count_deleted()
;
INSERT INTO message_counts (account, state, n)
    SELECT account, state, COUNT(*) FROM messages GROUP BY account, state
;
CREATE INDEX messages_state ON messages (state, id)
;
CREATE INDEX match_keys_part ON match_keys (message_id, seq)
;
CREATE INDEX unmatched_receipt_keys_receipt ON unmatched_receipt_keys (receipt_id)
;
CREATE INDEX unmatched_receipts_received ON unmatched_receipts (received_at)
;
CREATE INDEX unmatched_receipts_waiting ON unmatched_receipts (id) WHERE matched_message_id IS NULL
;
CREATE TABLE maintenance (
    name        TEXT PRIMARY KEY,
    node_id     TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    cursor      TEXT NOT NULL DEFAULT ''
)
