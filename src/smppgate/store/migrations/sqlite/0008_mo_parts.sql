-- smppgate store, version 8: the parts of multi-part MO messages, stored before each part's
-- deliver_sm_resp (a crash between the parts loses none that was answered). A set is the
-- parts sharing (account, source, destination, reference, total) and one set_id; when its
-- last part comes, the same transaction writes the reassembled message to inbound and marks
-- the set completed; completed sets are kept for the reassembly timeout to recognise a part
-- the SMSC sends again, pending ones are handed over as partial after it.
CREATE TABLE mo_parts (
    set_id           TEXT NOT NULL,
    account          TEXT NOT NULL,
    source           TEXT NOT NULL,
    destination      TEXT NOT NULL,
    reference        INTEGER NOT NULL,
    total            INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    payload          BLOB NOT NULL,
    data_coding      INTEGER NOT NULL,
    service_type     TEXT NOT NULL,
    ussd_service_op  INTEGER,
    its_session_info BLOB,
    session          TEXT NOT NULL,
    received_at      REAL NOT NULL,
    started_at       REAL NOT NULL,
    completed_at     REAL,
    PRIMARY KEY (set_id, seq)
)
;
CREATE INDEX mo_parts_key ON mo_parts (account, source, destination, reference, total)
;
CREATE INDEX mo_parts_started ON mo_parts (started_at)
