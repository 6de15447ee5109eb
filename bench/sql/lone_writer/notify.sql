-- The floor plus the wake-up a subscriber needs: pg_notify in the same transaction, as the store's
-- append does. PostgreSQL takes a database-wide lock at the commit of any transaction that notified
-- and holds it through the commit's flush, so notifying transactions commit one at a time.
\set s random(1, 9000000000000000000)
INSERT INTO floor_events (stream_id, stream_version, event_id, type, schema_version, payload, correlation_id, causation_id, metadata, recorded_at) VALUES ('s-' || :s, 1, gen_random_uuid(), 'money_deposited', 1, '{"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"}', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', '{}', now()) RETURNING pg_notify('floor', position::text);
