-- smppgate store, version 4: every time is a finite epoch.
-- A recovery at start on SQLite used to pass infinity as "now" (meaning "every lease") and the
-- store wrote it as a time (issue 21). First the rows already holding a non-finite time are
-- repaired: an attempt takes its part's sent_at (when its submit went out), a message's
-- updated_at its latest attempt's time, anything else the time of this migration (the
-- closest known to the recovery that wrote it); a cooldown whose times were lost restarts
-- from now. Then the database refuses any non-finite time:
-- triggers (SQLite cannot add a CHECK to a table; it stores NaN as NULL, and the
-- store refuses NaN before writing).
UPDATE attempts SET at = COALESCE((SELECT p.sent_at FROM parts p WHERE p.message_id = attempts.message_id AND p.seq = attempts.seq AND (p.sent_at > -9e999 AND p.sent_at < 9e999)), ((julianday('now') - 2440587.5) * 86400.0))
WHERE NOT (at > -9e999 AND at < 9e999)
;
UPDATE messages SET updated_at = COALESCE((SELECT MAX(a.at) FROM attempts a WHERE a.message_id = messages.id), ((julianday('now') - 2440587.5) * 86400.0))
WHERE NOT (updated_at > -9e999 AND updated_at < 9e999)
;
UPDATE connect_cooldowns SET happened_at = ((julianday('now') - 2440587.5) * 86400.0), allowed_at = ((julianday('now') - 2440587.5) * 86400.0) + CASE kind WHEN 'failed' THEN 90 ELSE 60 END
WHERE NOT (happened_at > -9e999 AND happened_at < 9e999) OR NOT (allowed_at > -9e999 AND allowed_at < 9e999)
;
UPDATE messages SET created_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (created_at > -9e999 AND created_at < 9e999)
;
UPDATE messages SET next_attempt_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (next_attempt_at > -9e999 AND next_attempt_at < 9e999)
;
UPDATE messages SET lease_until = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (lease_until > -9e999 AND lease_until < 9e999)
;
UPDATE parts SET sent_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (sent_at > -9e999 AND sent_at < 9e999)
;
UPDATE parts SET submitted_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (submitted_at > -9e999 AND submitted_at < 9e999)
;
UPDATE parts SET receipt_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (receipt_at > -9e999 AND receipt_at < 9e999)
;
UPDATE receipts SET received_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (received_at > -9e999 AND received_at < 9e999)
;
UPDATE unmatched_receipts SET received_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (received_at > -9e999 AND received_at < 9e999)
;
UPDATE unmatched_receipts SET matched_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (matched_at > -9e999 AND matched_at < 9e999)
;
UPDATE inbound SET received_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (received_at > -9e999 AND received_at < 9e999)
;
UPDATE webhooks SET next_attempt_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (next_attempt_at > -9e999 AND next_attempt_at < 9e999)
;
UPDATE webhooks SET created_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (created_at > -9e999 AND created_at < 9e999)
;
UPDATE webhooks SET delivered_at = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (delivered_at > -9e999 AND delivered_at < 9e999)
;
UPDATE webhooks SET lease_until = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (lease_until > -9e999 AND lease_until < 9e999)
;
UPDATE session_slots SET lease_until = ((julianday('now') - 2440587.5) * 86400.0) WHERE NOT (lease_until > -9e999 AND lease_until < 9e999)
;
CREATE TRIGGER messages_times_finite_insert BEFORE INSERT ON messages
WHEN NOT (NEW.created_at > -9e999 AND NEW.created_at < 9e999) OR NOT (NEW.updated_at > -9e999 AND NEW.updated_at < 9e999) OR NOT (NEW.next_attempt_at > -9e999 AND NEW.next_attempt_at < 9e999) OR NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in messages is not finite'); END
;
CREATE TRIGGER messages_times_finite_update BEFORE UPDATE ON messages
WHEN NOT (NEW.created_at > -9e999 AND NEW.created_at < 9e999) OR NOT (NEW.updated_at > -9e999 AND NEW.updated_at < 9e999) OR NOT (NEW.next_attempt_at > -9e999 AND NEW.next_attempt_at < 9e999) OR NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in messages is not finite'); END
;
CREATE TRIGGER parts_times_finite_insert BEFORE INSERT ON parts
WHEN NOT (NEW.sent_at > -9e999 AND NEW.sent_at < 9e999) OR NOT (NEW.submitted_at > -9e999 AND NEW.submitted_at < 9e999) OR NOT (NEW.receipt_at > -9e999 AND NEW.receipt_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in parts is not finite'); END
;
CREATE TRIGGER parts_times_finite_update BEFORE UPDATE ON parts
WHEN NOT (NEW.sent_at > -9e999 AND NEW.sent_at < 9e999) OR NOT (NEW.submitted_at > -9e999 AND NEW.submitted_at < 9e999) OR NOT (NEW.receipt_at > -9e999 AND NEW.receipt_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in parts is not finite'); END
;
CREATE TRIGGER attempts_times_finite_insert BEFORE INSERT ON attempts
WHEN NOT (NEW.at > -9e999 AND NEW.at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in attempts is not finite'); END
;
CREATE TRIGGER attempts_times_finite_update BEFORE UPDATE ON attempts
WHEN NOT (NEW.at > -9e999 AND NEW.at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in attempts is not finite'); END
;
CREATE TRIGGER receipts_times_finite_insert BEFORE INSERT ON receipts
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in receipts is not finite'); END
;
CREATE TRIGGER receipts_times_finite_update BEFORE UPDATE ON receipts
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in receipts is not finite'); END
;
CREATE TRIGGER unmatched_receipts_times_finite_insert BEFORE INSERT ON unmatched_receipts
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999) OR NOT (NEW.matched_at > -9e999 AND NEW.matched_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in unmatched_receipts is not finite'); END
;
CREATE TRIGGER unmatched_receipts_times_finite_update BEFORE UPDATE ON unmatched_receipts
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999) OR NOT (NEW.matched_at > -9e999 AND NEW.matched_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in unmatched_receipts is not finite'); END
;
CREATE TRIGGER inbound_times_finite_insert BEFORE INSERT ON inbound
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in inbound is not finite'); END
;
CREATE TRIGGER inbound_times_finite_update BEFORE UPDATE ON inbound
WHEN NOT (NEW.received_at > -9e999 AND NEW.received_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in inbound is not finite'); END
;
CREATE TRIGGER webhooks_times_finite_insert BEFORE INSERT ON webhooks
WHEN NOT (NEW.next_attempt_at > -9e999 AND NEW.next_attempt_at < 9e999) OR NOT (NEW.created_at > -9e999 AND NEW.created_at < 9e999) OR NOT (NEW.delivered_at > -9e999 AND NEW.delivered_at < 9e999) OR NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in webhooks is not finite'); END
;
CREATE TRIGGER webhooks_times_finite_update BEFORE UPDATE ON webhooks
WHEN NOT (NEW.next_attempt_at > -9e999 AND NEW.next_attempt_at < 9e999) OR NOT (NEW.created_at > -9e999 AND NEW.created_at < 9e999) OR NOT (NEW.delivered_at > -9e999 AND NEW.delivered_at < 9e999) OR NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in webhooks is not finite'); END
;
CREATE TRIGGER session_slots_times_finite_insert BEFORE INSERT ON session_slots
WHEN NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in session_slots is not finite'); END
;
CREATE TRIGGER session_slots_times_finite_update BEFORE UPDATE ON session_slots
WHEN NOT (NEW.lease_until > -9e999 AND NEW.lease_until < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in session_slots is not finite'); END
;
CREATE TRIGGER connect_cooldowns_times_finite_insert BEFORE INSERT ON connect_cooldowns
WHEN NOT (NEW.happened_at > -9e999 AND NEW.happened_at < 9e999) OR NOT (NEW.allowed_at > -9e999 AND NEW.allowed_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in connect_cooldowns is not finite'); END
;
CREATE TRIGGER connect_cooldowns_times_finite_update BEFORE UPDATE ON connect_cooldowns
WHEN NOT (NEW.happened_at > -9e999 AND NEW.happened_at < 9e999) OR NOT (NEW.allowed_at > -9e999 AND NEW.allowed_at < 9e999)
BEGIN SELECT RAISE(ABORT, 'smppgate: a time in connect_cooldowns is not finite'); END
