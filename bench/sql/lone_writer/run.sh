#!/usr/bin/env bash
# Takes a lone PostgreSQL writer's cost apart with pgbench: each script here runs on one connection
# for a few seconds, in rotation, for several rounds, on a throwaway server; prints each script's
# median rate and its time per append relative to floor.sql, with durable commits and then with
# synchronous_commit=off (CPU only). docs/performance.md has the figures and what they mean.
# With more clients, each script runs on that many connections at once (what concurrent writers
# cost each other); ANNAL_PGBENCH_SCRIPTS picks the scripts (default: all, floor first).
#   usage: bench/sql/lone_writer/run.sh <build dir> [seconds per run] [rounds] [clients]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh <build dir> [seconds] [rounds] [clients]}" && pwd)
secs=${2:-3}
rounds=${3:-5}
clients=${4:-1}
bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
schema_sql="$build/bench/sql/annal_bench_pg_schema"
[ -x "$schema_sql" ] || { echo "run.sh: build $schema_sql first (target annal_bench_pg_schema)" >&2; exit 1; }

work=$(mktemp -d)
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown nobody "$work"
cd "$work"
as_server "$bindir/initdb" -D "$work/data" -U postgres -A trust >/dev/null
as_server "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w \
  -o "-c listen_addresses= -k $work" start >/dev/null
trap 'as_server "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null; rm -rf "$work"' EXIT
psql=("$bindir/psql" -h "$work" -U postgres -qAt -v ON_ERROR_STOP=1 -d postgres)

"$schema_sql" lone jsonb | "${psql[@]}"
"${psql[@]}" <<'SQL'
CREATE TABLE floor_events (position bigserial PRIMARY KEY, stream_id text NOT NULL,
  stream_version bigint NOT NULL, event_id uuid NOT NULL UNIQUE, type text NOT NULL,
  schema_version int NOT NULL, payload jsonb NOT NULL, correlation_id uuid NOT NULL,
  causation_id uuid NOT NULL, metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL,
  UNIQUE (stream_id, stream_version));
CREATE TABLE sketch_events (LIKE lone.events INCLUDING ALL);
CREATE TABLE sketch_head (id int PRIMARY KEY, last bigint NOT NULL, last_time timestamptz NOT NULL);
INSERT INTO sketch_head VALUES (1, 0, now());
SQL

read -r -a scripts <<<"${ANNAL_PGBENCH_SCRIPTS:-floor probe burn notify append_one statement}"
[ "${scripts[0]}" = floor ] || { echo "run.sh: the first script must be floor" >&2; exit 1; }
for commit in on off; do
  "${psql[@]}" -c "TRUNCATE floor_events, sketch_events, lone.events; CHECKPOINT"
  "${psql[@]}" -c "UPDATE sketch_head SET last = 0"
  : >"$work/rates"
  for _ in $(seq "$rounds"); do
    for s in "${scripts[@]}"; do
      rate=$(PGOPTIONS="-c synchronous_commit=$commit" "$bindir/pgbench" -h "$work" -U postgres -n \
        -M prepared -c "$clients" -j "$(( clients < $(nproc) ? clients : $(nproc) ))" -T "$secs" -f "$here/$s.sql" postgres 2>&1 | awk '/^tps/ {print $3}')
      echo "$s ${rate:-0}" >>"$work/rates"
    done
  done
  echo "synchronous_commit=$commit, $clients client(s): median appends/s of $rounds runs of ${secs}s, time vs floor"
  floor=$(awk '$1 == "floor" {print $2}' "$work/rates" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  for s in "${scripts[@]}"; do
    awk -v s="$s" '$1 == s {print $2}' "$work/rates" | sort -n |
      awk -v s="$s" -v f="$floor" '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "  %-11s %9.0f/s  %5.2fx\n", s, m, f/m}'
  done
done
