-- smppgate store, SQLite, version 1: messages, parts, match keys, attempts, receipts,
-- unmatched receipts, inbound, webhook outbox, session slots, connect cooldowns.
-- Statements are separated by a line holding only ";".

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    account           TEXT NOT NULL,
    source            TEXT NOT NULL,
    destination       TEXT NOT NULL,
    text              TEXT NOT NULL,
    encoding          TEXT NOT NULL,
    split_method      TEXT NOT NULL,
    validity_seconds  INTEGER,
    callback_url      TEXT,
    client_reference  TEXT,
    resend_unknown    INTEGER NOT NULL DEFAULT 0,
    traffic_class     TEXT,
    priority          INTEGER NOT NULL DEFAULT 0,
    idempotency_scope TEXT NOT NULL DEFAULT '',
    idempotency_key   TEXT,
    state             TEXT NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    next_attempt_at   REAL NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    qfull_retries     INTEGER NOT NULL DEFAULT 0,
    throttled_retries INTEGER NOT NULL DEFAULT 0,
    last_status       INTEGER,
    last_status_name  TEXT,
    part_count        INTEGER NOT NULL,
    uses_payload      INTEGER NOT NULL DEFAULT 0,
    leased_by         TEXT,
    lease_until       REAL
)
;
CREATE INDEX messages_due ON messages (state, next_attempt_at, id)
;
CREATE INDEX messages_lease ON messages (state, lease_until)
;
CREATE INDEX messages_created ON messages (created_at)
;
CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_scope, idempotency_key)
    WHERE idempotency_key IS NOT NULL
;
CREATE TABLE parts (
    message_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    short_message    BLOB NOT NULL,
    esm_class        INTEGER NOT NULL,
    data_coding      INTEGER NOT NULL,
    sar_ref          INTEGER,
    sar_total        INTEGER,
    sar_seq          INTEGER,
    message_payload  BLOB,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    smsc_message_id  TEXT,
    sent_at          REAL,
    submitted_at     REAL,
    receipt_state    TEXT,
    receipt_at       REAL,
    error_code       TEXT,
    last_status      INTEGER,
    last_status_name TEXT,
    PRIMARY KEY (message_id, seq)
)
;
CREATE TABLE match_keys (
    key        TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (key, message_id, seq),
    FOREIGN KEY (message_id, seq) REFERENCES parts (message_id, seq) ON DELETE CASCADE
)
;
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq              INTEGER,
    at               REAL NOT NULL,
    node_id          TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    host             TEXT NOT NULL,
    command_status   INTEGER,
    status_name      TEXT,
    outcome          TEXT NOT NULL
)
;
CREATE INDEX attempts_message ON attempts (message_id, id)
;
CREATE TABLE receipts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    state       TEXT NOT NULL,
    raw         TEXT NOT NULL,
    received_at REAL NOT NULL,
    error_code  TEXT
)
;
CREATE INDEX receipts_message ON receipts (message_id, id)
;
CREATE TABLE unmatched_receipts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    keys        TEXT NOT NULL,
    raw         TEXT NOT NULL,
    state       TEXT NOT NULL,
    received_at REAL NOT NULL,
    error_code  TEXT,
    account     TEXT,
    matched_message_id TEXT,
    matched_seq INTEGER,
    matched_at  REAL
)
;
CREATE TABLE unmatched_receipt_keys (
    key        TEXT NOT NULL,
    receipt_id INTEGER NOT NULL REFERENCES unmatched_receipts (id) ON DELETE CASCADE,
    PRIMARY KEY (key, receipt_id)
)
;
CREATE TABLE inbound (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account         TEXT NOT NULL,
    source          TEXT NOT NULL,
    destination     TEXT NOT NULL,
    text            TEXT NOT NULL,
    data_coding     INTEGER NOT NULL,
    ussd_service_op INTEGER,
    received_at     REAL NOT NULL,
    parts_info      TEXT NOT NULL
)
;
CREATE INDEX inbound_received ON inbound (received_at, id)
;
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    event           TEXT NOT NULL,
    message_id      TEXT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at      REAL NOT NULL,
    delivered_at    REAL,
    last_error      TEXT,
    leased_by       TEXT,
    lease_until     REAL
)
;
CREATE INDEX webhooks_due ON webhooks (state, next_attempt_at, id)
;
CREATE TABLE session_slots (
    system_id   TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    node_id     TEXT NOT NULL,
    lease_until REAL NOT NULL,
    PRIMARY KEY (system_id, slot)
)
;
CREATE TABLE connect_cooldowns (
    account       TEXT NOT NULL,
    host          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    happened_at   REAL NOT NULL,
    allowed_at    REAL NOT NULL,
    PRIMARY KEY (account, host)
)
