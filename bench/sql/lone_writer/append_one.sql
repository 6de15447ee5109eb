-- annal's single-event append, as the store calls it (expecting a new stream).
\set s random(1, 9000000000000000000)
SELECT r_status, r_event_id, r_stream_id, r_stream_version, r_first, r_last FROM lone.annal_append_one('s-' || :s, 1, 0, gen_random_uuid(), 'money_deposited', 1, '{"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"}', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000', '{}', 1000, false);
