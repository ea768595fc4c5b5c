-- smppgate store, PostgreSQL, version 12: the triggers of versions 5, 6 and 9 fire once per
-- statement instead of once per row (issue 15). The store writes a batch in one statement
-- (`UPDATE ... FROM unnest(...)`), and a row trigger then ran a PL/pgSQL function and an
-- INSERT of its own for every row: measured on one node, the count deltas and the outbox checks
-- were ~0.14 ms of the server's ~0.75 ms of CPU per message, and message_count_deltas took ~7
-- rows per message. Now each trigger reads the statement's transition tables and writes its
-- rows in one INSERT ... SELECT; what they write is unchanged (counts per account and state,
-- the outbox rows of version 9), in the same transaction as before.
-- Counts: the old rows count -1 and the new rows +1 under their (account, state); a row whose
-- state did not change cancels out, so no join of old and new is needed, and only the
-- (account, state) pairs whose total moved get a delta row. Transition tables cannot be
-- combined with `UPDATE OF state`, so the update trigger fires for every UPDATE of messages;
-- one that changes no state writes nothing.
-- Indexes: a change of state cannot be a HOT update (state is indexed), so each one adds an
-- entry to every index of messages whose condition the new row meets. Version 11 made the
-- claim and lease indexes partial; the client index becomes partial too (only the rows with
-- a client, which are the rows its listing looks for).
-- Heap: messages and parts are updated three or four times each (claim, sent, accepted,
-- receipt); room left on each page lets an update that changes no indexed column (every update
-- of parts, and lease or status updates of messages) stay on its page without new index entries
-- (a HOT update). It applies to the pages written from now on.
DROP TRIGGER messages_count_insert ON messages
;
DROP TRIGGER messages_count_update ON messages
;
DROP FUNCTION smppgate_count_row()
;
CREATE FUNCTION smppgate_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_count_deltas (account, state, n)
        SELECT account, state, COUNT(*) FROM inserted_rows GROUP BY account, state;
    RETURN NULL;
END
$$
;
CREATE FUNCTION smppgate_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_count_deltas (account, state, n)
        SELECT account, state, SUM(n) FROM (
            SELECT account, state, -1 AS n FROM old_rows
            UNION ALL
            SELECT account, state, 1 AS n FROM new_rows
        ) AS d
        GROUP BY account, state HAVING SUM(n) <> 0;
    RETURN NULL;
END
$$
;
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smppgate_count_inserted()
;
CREATE TRIGGER messages_count_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smppgate_count_updated()
;
DROP TRIGGER smpp_outbox_receipt ON receipts
;
DROP TRIGGER smpp_outbox_final ON messages
;
DROP FUNCTION smpp_outbox_receipt()
;
DROP FUNCTION smpp_outbox_final()
;
-- a final receipt for a message an application submitted (as version 9, for every row of the
-- statement, in the order the receipts were inserted)
CREATE FUNCTION smpp_outbox_receipts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at, created_at)
    SELECT o.system_id, r.message_id, r.seq, r.state, r.error_code, r.received_at,
           r.received_at
    FROM inserted_receipts r JOIN smpp_origins o ON o.message_id = r.message_id
    WHERE r.state NOT IN ('accepted', 'enroute')
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND r.state <> 'delivered'))
    ORDER BY r.id;
    RETURN NULL;
END
$$
;
CREATE TRIGGER smpp_outbox_receipt AFTER INSERT ON receipts
    REFERENCING NEW TABLE AS inserted_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION smpp_outbox_receipts()
;
-- a final state reached: one row per part that has no receipt (as version 9). A statement
-- about messages no application submitted (most) stops at the look at their origins: the
-- INSERT's plan is made once per connection, maybe while parts was still small (a seq scan of
-- it for every statement, measured at 0.05 ms per message on a fresh database)
CREATE FUNCTION smpp_outbox_finals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows n JOIN smpp_origins o ON o.message_id = n.id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at, created_at)
    SELECT o.system_id, n.id, p.seq,
           CASE n.state WHEN 'failed' THEN 'undeliverable' ELSE n.state END,
           CAST(n.last_status AS TEXT), n.updated_at, n.updated_at
    FROM new_rows n
    JOIN smpp_origins o ON o.message_id = n.id
    JOIN old_rows b ON b.id = n.id
    JOIN parts p ON p.message_id = n.id
    WHERE n.state IN ('delivered', 'undeliverable', 'expired', 'rejected', 'failed', 'unknown')
      AND n.state IS DISTINCT FROM b.state
      AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.message_id = n.id AND r.seq = p.seq)
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND n.state <> 'delivered'))
    ORDER BY n.id, p.seq;
    RETURN NULL;
END
$$
;
CREATE TRIGGER smpp_outbox_final AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smpp_outbox_finals()
;
ALTER TABLE messages SET (fillfactor = 80)
;
ALTER TABLE parts SET (fillfactor = 80)
;
DROP INDEX messages_client
;
CREATE INDEX messages_client ON messages (client, id) WHERE client IS NOT NULL
