-- smppgate store, version 3: due messages are claimed by priority (higher first), then by
-- due time and id. The index follows that order so a claim reads only what it takes.
CREATE INDEX messages_due_by_priority ON messages (state, priority DESC, next_attempt_at, id)
;
DROP INDEX messages_due
