-- smppgate store, version 5: what months of history need.
-- 1. Messages by account and state, kept by triggers as messages change state, so the ops page
--    and /metrics read a few rows instead of counting all history. SQLite has one writer at a
--    time, so the triggers update the totals directly; message_count_deltas exists so that
--    both backends read the counts with the same query (on SQLite it stays empty).
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
    n       INTEGER NOT NULL,
    PRIMARY KEY (account, state)
)
;
CREATE TABLE message_count_deltas (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       INTEGER NOT NULL
)
;
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
BEGIN
    INSERT INTO message_counts (account, state, n) VALUES (NEW.account, NEW.state, 1)
        ON CONFLICT (account, state) DO UPDATE SET n = n + 1;
END
;
CREATE TRIGGER messages_count_update AFTER UPDATE OF state ON messages
WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE message_counts SET n = n - 1 WHERE account = OLD.account AND state = OLD.state;
    INSERT INTO message_counts (account, state, n) VALUES (NEW.account, NEW.state, 1)
        ON CONFLICT (account, state) DO UPDATE SET n = n + 1;
END
;
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
BEGIN
    UPDATE message_counts SET n = n - 1 WHERE account = OLD.account AND state = OLD.state;
END
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
    lease_until REAL NOT NULL DEFAULT 0,
    cursor      TEXT NOT NULL DEFAULT ''
)
