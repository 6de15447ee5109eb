#!/usr/bin/env python3
# Medians of a --benchmark_out JSON file of annal_bench_process: time per item (an event handled, a
# tick, a delivery, a deadline indexed at start) by wall and CPU clock, and each variant against its
# group's floor. Both clocks: on shared cores the wall clock counts time other processes held.
import json
import statistics
import sys

rows = {}
for r in json.load(open(sys.argv[1]))["benchmarks"]:
    if r.get("run_type") != "iteration":
        continue
    parts = r["run_name"].split("/")
    group = "/".join([parts[0]] + [p for p in parts[2:] if not p.startswith("iterations:")
                                   and p != "real_time"])
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[r["time_unit"]]
    items = r.get("items", 1.0)
    rows.setdefault(group, {}).setdefault(parts[1], []).append(
        (r["real_time"] * scale / items, r["cpu_time"] * scale / items))

count = max(len(v) for g in rows.values() for v in g.values())
print(f"| group | variant | ns/item, wall (median of {count}) | vs floor | ns/item, CPU | vs floor |")
print("|---|---|---:|---:|---:|---:|")
for group in sorted(rows):
    variants = rows[group]
    wall_floor = statistics.median(w for w, _ in variants["floor"])
    cpu_floor = statistics.median(c for _, c in variants["floor"])
    for variant in sorted(variants, key=lambda v: v != "floor"):
        wall = statistics.median(w for w, _ in variants[variant])
        cpu = statistics.median(c for _, c in variants[variant])
        print(f"| {group} | {variant} | {wall:,.{2 if wall < 10 else 1}f} | {wall / wall_floor:.2f}x | "
              f"{cpu:,.{2 if cpu < 10 else 1}f} | {cpu / cpu_floor:.2f}x |")
