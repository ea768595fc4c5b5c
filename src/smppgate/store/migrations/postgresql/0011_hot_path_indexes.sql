-- smppgate store, version 11: the claim and lease indexes hold only the rows their queries
-- look for. They covered every message ever stored, and each of a message's state changes
-- (queued -> sending -> submitted -> delivered) moved its entry in both (a delete and an
-- insert each). Now each is partial: the claim index holds only `queued` messages (an entry
-- added at intake, removed by the claim), scheduled messages have one of their own
-- (release_due), and the lease index holds only `sending` ones (added by the claim, removed
-- when the outcome settles the message); a delivered message is in none of them. `state`
-- stays their first column, so the planners read them through the same `state = '...'` terms
-- and in the same order as before.
CREATE INDEX messages_queued ON messages (state, priority DESC, next_attempt_at, id)
    WHERE state = 'queued'
;
CREATE INDEX messages_scheduled ON messages (state, next_attempt_at, id)
    WHERE state = 'scheduled'
;
CREATE INDEX messages_leased ON messages (state, lease_until) WHERE state = 'sending'
;
DROP INDEX messages_due_by_priority
;
DROP INDEX messages_lease
