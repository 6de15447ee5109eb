-- The floor plus one probe of the (stream_id, stream_version) index, as a version check reads it.
\set s random(1, 9000000000000000000)
WITH v AS (SELECT coalesce(max(stream_version), 0) AS actual FROM floor_events WHERE stream_id = 's-' || :s)
INSERT INTO floor_events (stream_id, stream_version, event_id, type, schema_version, payload, correlation_id, causation_id, metadata, recorded_at) SELECT 's-' || :s, v.actual + 1, gen_random_uuid(), 'money_deposited', 1, '{"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"}', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', '{}', now() FROM v;
