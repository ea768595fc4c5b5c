-- smppgate store, version 7: API clients (issue 16). Every message records the client that
-- queued it ([[clients]] name, "default" for [http] api_keys, "cli" for send-bulk; NULL for
-- messages queued before this version). A client's listing reads the index on (client, id).
-- client_usage counts each client's messages per UTC day inside the transaction that
-- inserts them, so a daily quota holds exactly across every node sharing the store.
ALTER TABLE messages ADD COLUMN client TEXT
;
CREATE INDEX messages_client ON messages (client, id)
;
CREATE TABLE client_usage (
    client TEXT NOT NULL,
    day TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (client, day)
)
