-- smppgate store, PostgreSQL: the SMPP front door. A message an application submitted over
-- SMPP has an origin row (its user's system_id and the registered_delivery it asked for); the
-- receipt it gets back waits in smpp_outbox until its deliver_sm_resp comes. The outbox rows
-- are written by triggers, in the very transaction that records the receipt or the final
-- state, so that a crash between the two cannot lose one:
--   * a final receipt recorded for the message (intermediate ones are not forwarded);
--   * a final state reached with no receipt at all (refused, given up, unknown...).
-- registered_delivery: bits 0-1 = 1 every final receipt, 2 failures only, 0 none.
CREATE TABLE smpp_origins (
    message_id          TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    system_id           TEXT NOT NULL,
    registered_delivery INTEGER NOT NULL
)
;
CREATE TABLE smpp_outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    error_code  TEXT,
    done_at     DOUBLE PRECISION NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
)
;
CREATE INDEX smpp_outbox_user ON smpp_outbox (system_id, id)
;
CREATE FUNCTION smpp_outbox_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO smpp_outbox (system_id, message_id, state, error_code, done_at, created_at)
    SELECT o.system_id, NEW.message_id, NEW.state, NEW.error_code, NEW.received_at, NEW.received_at
    FROM smpp_origins o
    WHERE o.message_id = NEW.message_id
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND NEW.state <> 'delivered'));
    RETURN NULL;
END
$$
;
CREATE TRIGGER smpp_outbox_receipt AFTER INSERT ON receipts
FOR EACH ROW WHEN (NEW.state NOT IN ('accepted', 'enroute'))
EXECUTE FUNCTION smpp_outbox_receipt()
;
CREATE FUNCTION smpp_outbox_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM receipts r WHERE r.message_id = NEW.id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO smpp_outbox (system_id, message_id, state, error_code, done_at, created_at)
    SELECT o.system_id, NEW.id,
           CASE NEW.state WHEN 'failed' THEN 'undeliverable' ELSE NEW.state END,
           CAST(NEW.last_status AS TEXT), NEW.updated_at, NEW.updated_at
    FROM smpp_origins o
    WHERE o.message_id = NEW.id
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND NEW.state <> 'delivered'));
    RETURN NULL;
END
$$
;
CREATE TRIGGER smpp_outbox_final AFTER UPDATE OF state ON messages
FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state
    AND NEW.state IN ('delivered', 'undeliverable', 'expired', 'rejected', 'failed', 'unknown'))
EXECUTE FUNCTION smpp_outbox_final()
