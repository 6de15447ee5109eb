-- A sketch of an append in one SQL statement, no PL/pgSQL: the position from a head row updated
-- under its lock, the version check and the insert. (Not annal's: it omits the retry and conflict
-- answers; it shows what the function's own overhead is.)
\set s random(1, 9000000000000000000)
WITH h AS (UPDATE sketch_head SET last = last + 1, last_time = greatest(last_time, now()) WHERE id = 1 RETURNING last, last_time),
v AS (SELECT coalesce(max(stream_version), 0) AS actual FROM sketch_events WHERE stream_id = 's-' || :s)
INSERT INTO sketch_events (position, stream_id, stream_version, event_id, type, schema_version, payload, correlation_id, causation_id, metadata, recorded_at) SELECT h.last, 's-' || :s, v.actual + 1, gen_random_uuid(), 'money_deposited', 1, '{"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"}', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', '{}', h.last_time FROM h, v WHERE v.actual = 0 RETURNING position, pg_notify('lone', position::text);
