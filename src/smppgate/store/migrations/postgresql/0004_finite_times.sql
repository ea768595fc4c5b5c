-- smppgate store, version 4: every time is a finite epoch.
-- A recovery at start on SQLite used to pass infinity as "now" (meaning "every lease") and the
-- store wrote it as a time (issue 21). First the rows already holding a non-finite time are
-- repaired: an attempt takes its part's sent_at (when its submit went out), a message's
-- updated_at its latest attempt's time, anything else the time of this migration (the
-- closest known to the recovery that wrote it); a cooldown whose times were lost restarts
-- from now. Then the database refuses any non-finite time:
-- CHECK constraints (NaN sorts above infinity in PostgreSQL: refused too).
UPDATE attempts SET at = COALESCE((SELECT p.sent_at FROM parts p WHERE p.message_id = attempts.message_id AND p.seq = attempts.seq AND (p.sent_at > '-Infinity'::double precision AND p.sent_at < 'Infinity'::double precision)), (extract(epoch FROM clock_timestamp())::double precision))
WHERE NOT (at > '-Infinity'::double precision AND at < 'Infinity'::double precision)
;
UPDATE messages SET updated_at = COALESCE((SELECT MAX(a.at) FROM attempts a WHERE a.message_id = messages.id), (extract(epoch FROM clock_timestamp())::double precision))
WHERE NOT (updated_at > '-Infinity'::double precision AND updated_at < 'Infinity'::double precision)
;
UPDATE connect_cooldowns SET happened_at = (extract(epoch FROM clock_timestamp())::double precision), allowed_at = (extract(epoch FROM clock_timestamp())::double precision) + CASE kind WHEN 'failed' THEN 90 ELSE 60 END
WHERE NOT (happened_at > '-Infinity'::double precision AND happened_at < 'Infinity'::double precision) OR NOT (allowed_at > '-Infinity'::double precision AND allowed_at < 'Infinity'::double precision)
;
UPDATE messages SET created_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (created_at > '-Infinity'::double precision AND created_at < 'Infinity'::double precision)
;
UPDATE messages SET next_attempt_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (next_attempt_at > '-Infinity'::double precision AND next_attempt_at < 'Infinity'::double precision)
;
UPDATE messages SET lease_until = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision)
;
UPDATE parts SET sent_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (sent_at > '-Infinity'::double precision AND sent_at < 'Infinity'::double precision)
;
UPDATE parts SET submitted_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (submitted_at > '-Infinity'::double precision AND submitted_at < 'Infinity'::double precision)
;
UPDATE parts SET receipt_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (receipt_at > '-Infinity'::double precision AND receipt_at < 'Infinity'::double precision)
;
UPDATE receipts SET received_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision)
;
UPDATE unmatched_receipts SET received_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision)
;
UPDATE unmatched_receipts SET matched_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (matched_at > '-Infinity'::double precision AND matched_at < 'Infinity'::double precision)
;
UPDATE inbound SET received_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision)
;
UPDATE webhooks SET next_attempt_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (next_attempt_at > '-Infinity'::double precision AND next_attempt_at < 'Infinity'::double precision)
;
UPDATE webhooks SET created_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (created_at > '-Infinity'::double precision AND created_at < 'Infinity'::double precision)
;
UPDATE webhooks SET delivered_at = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (delivered_at > '-Infinity'::double precision AND delivered_at < 'Infinity'::double precision)
;
UPDATE webhooks SET lease_until = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision)
;
UPDATE session_slots SET lease_until = (extract(epoch FROM clock_timestamp())::double precision) WHERE NOT (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision)
;
ALTER TABLE messages ADD CONSTRAINT messages_times_finite CHECK (
    (created_at > '-Infinity'::double precision AND created_at < 'Infinity'::double precision)
    AND (updated_at > '-Infinity'::double precision AND updated_at < 'Infinity'::double precision)
    AND (next_attempt_at > '-Infinity'::double precision AND next_attempt_at < 'Infinity'::double precision)
    AND (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision))
;
ALTER TABLE parts ADD CONSTRAINT parts_times_finite CHECK (
    (sent_at > '-Infinity'::double precision AND sent_at < 'Infinity'::double precision)
    AND (submitted_at > '-Infinity'::double precision AND submitted_at < 'Infinity'::double precision)
    AND (receipt_at > '-Infinity'::double precision AND receipt_at < 'Infinity'::double precision))
;
ALTER TABLE attempts ADD CONSTRAINT attempts_times_finite CHECK (
    (at > '-Infinity'::double precision AND at < 'Infinity'::double precision))
;
ALTER TABLE receipts ADD CONSTRAINT receipts_times_finite CHECK (
    (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision))
;
ALTER TABLE unmatched_receipts ADD CONSTRAINT unmatched_receipts_times_finite CHECK (
    (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision)
    AND (matched_at > '-Infinity'::double precision AND matched_at < 'Infinity'::double precision))
;
ALTER TABLE inbound ADD CONSTRAINT inbound_times_finite CHECK (
    (received_at > '-Infinity'::double precision AND received_at < 'Infinity'::double precision))
;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_times_finite CHECK (
    (next_attempt_at > '-Infinity'::double precision AND next_attempt_at < 'Infinity'::double precision)
    AND (created_at > '-Infinity'::double precision AND created_at < 'Infinity'::double precision)
    AND (delivered_at > '-Infinity'::double precision AND delivered_at < 'Infinity'::double precision)
    AND (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision))
;
ALTER TABLE session_slots ADD CONSTRAINT session_slots_times_finite CHECK (
    (lease_until > '-Infinity'::double precision AND lease_until < 'Infinity'::double precision))
;
ALTER TABLE connect_cooldowns ADD CONSTRAINT connect_cooldowns_times_finite CHECK (
    (happened_at > '-Infinity'::double precision AND happened_at < 'Infinity'::double precision)
    AND (allowed_at > '-Infinity'::double precision AND allowed_at < 'Infinity'::double precision))
