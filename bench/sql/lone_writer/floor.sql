-- The floor: a bare INSERT into a bigserial table.
\set s random(1, 9000000000000000000)
INSERT INTO floor_events (stream_id, stream_version, event_id, type, schema_version, payload, correlation_id, causation_id, metadata, recorded_at) VALUES ('s-' || :s, 1, gen_random_uuid(), 'money_deposited', 1, '{"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"}', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', '{}', now());
