#!/usr/bin/env python3
# Medians of a --benchmark_out JSON file of annal_bench_replication: events/s by wall and CPU clock,
# and annal's rate as a fraction of the floor's (issue 18's target: >= 0.8).
# Both clocks: on shared cores the wall clock counts time other processes and the disk held a pass.
import json
import statistics
import sys

rows = {}
for r in json.load(open(sys.argv[1]))["benchmarks"]:
    if r.get("run_type") != "iteration":
        continue
    group, variant = r["run_name"].split("/")[:2]
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[r["time_unit"]]
    events = r["items"]
    rows.setdefault(group, {}).setdefault(variant, []).append(
        (events / (r["real_time"] * scale), events / (r["cpu_time"] * scale)))

print("| pair | variant | events/s, wall (median of %d) | vs floor | events/s, CPU | vs floor |" %
      max(len(v) for g in rows.values() for v in g.values()))
print("|---|---|---:|---:|---:|---:|")
for group in sorted(rows):
    variants = rows[group]
    wall_floor = statistics.median(w for w, _ in variants["floor"])
    cpu_floor = statistics.median(c for _, c in variants["floor"])
    for variant in ["floor", "annal"]:
        wall = statistics.median(w for w, _ in variants[variant])
        cpu = statistics.median(c for _, c in variants[variant])
        print(f"| {group} | {variant} | {wall / 1e3:.0f}k | {wall / wall_floor:.2f}x | "
              f"{cpu / 1e3:.0f}k | {cpu / cpu_floor:.2f}x |")
