-- smppgate store, PostgreSQL, version 9: parts an application split itself, and
-- MO routed to applications (SMPP front door).
-- Each part is committed to smpp_held_parts before its submit_sm_resp; its id is the id of
-- the message the set becomes, a dash and its seq ("01J...-2"). Once every part of the set is
-- held, the set becomes one message (one parts row per part, the concatenation reference
-- rewritten) in the transaction that deletes the held rows; a set still incomplete after
-- [smpp_server] parts_timeout becomes a message already 'rejected', so every held part gets
-- its receipt and the set shows in the API: never a silent drop.
-- smpp_origins.split: 1 when the ids the application holds are per part.
-- smpp_outbox.seq: the part a receipt is for.
-- smpp_mo_outbox: MO and USSD routed to an application by [[smpp_server.routes]], written in
-- the transaction that records the inbound message, deleted once its deliver_sm is answered.
ALTER TABLE smpp_origins ADD COLUMN split INTEGER NOT NULL DEFAULT 0
;
ALTER TABLE smpp_outbox ADD COLUMN seq INTEGER NOT NULL DEFAULT 1
;
CREATE TABLE smpp_mo_outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id   TEXT NOT NULL,
    inbound_id  BIGINT NOT NULL REFERENCES inbound (id) ON DELETE CASCADE,
    created_at  DOUBLE PRECISION NOT NULL
)
;
CREATE INDEX smpp_mo_outbox_user ON smpp_mo_outbox (system_id, id)
;
CREATE INDEX smpp_mo_outbox_inbound ON smpp_mo_outbox (inbound_id)
;
CREATE TABLE smpp_held_parts (
    system_id           TEXT NOT NULL,
    set_key             TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    total               INTEGER NOT NULL,
    message_id          TEXT NOT NULL,
    method              TEXT NOT NULL,
    account             TEXT NOT NULL,
    source              TEXT NOT NULL,
    destination         TEXT NOT NULL,
    data_coding         INTEGER NOT NULL,
    octets              BYTEA NOT NULL,
    validity_seconds    INTEGER,
    priority            INTEGER NOT NULL,
    not_before          DOUBLE PRECISION,
    registered_delivery INTEGER NOT NULL,
    received_at         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (system_id, set_key, seq)
)
;
CREATE INDEX smpp_held_parts_message ON smpp_held_parts (message_id)
;
CREATE INDEX smpp_held_parts_age ON smpp_held_parts (received_at)
;
CREATE OR REPLACE FUNCTION smpp_outbox_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at, created_at)
    SELECT o.system_id, NEW.message_id, NEW.seq, NEW.state, NEW.error_code, NEW.received_at,
           NEW.received_at
    FROM smpp_origins o
    WHERE o.message_id = NEW.message_id
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND NEW.state <> 'delivered'));
    RETURN NULL;
END
$$
;
-- one row per part that has no receipt (a one-part message: as in version 6)
CREATE OR REPLACE FUNCTION smpp_outbox_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at, created_at)
    SELECT o.system_id, NEW.id, p.seq,
           CASE NEW.state WHEN 'failed' THEN 'undeliverable' ELSE NEW.state END,
           CAST(NEW.last_status AS TEXT), NEW.updated_at, NEW.updated_at
    FROM smpp_origins o JOIN parts p ON p.message_id = o.message_id
    WHERE o.message_id = NEW.id
      AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.message_id = NEW.id AND r.seq = p.seq)
      AND ((o.registered_delivery & 3) = 1
           OR ((o.registered_delivery & 3) = 2 AND NEW.state <> 'delivered'));
    RETURN NULL;
END
$$
