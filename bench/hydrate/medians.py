#!/usr/bin/env python3
# Median time per event, ratio to floor and allocations per event from a --benchmark_out JSON file.
# Both clocks: on shared cores the wall clock counts time other processes held the CPU; CPU time does not.
import json
import statistics
import sys

runs = json.load(open(sys.argv[1]))["benchmarks"]
rows = {}
for r in runs:
    if r.get("run_type") != "iteration":
        continue
    group, variant = r["run_name"].split("/", 1)
    # times are in ns
    rows.setdefault(group, {}).setdefault(variant, []).append(
        (r["cpu_time"] / r["items"], r["real_time"] / r["items"], r["allocs/event"]))

order = ["floor", "annal", "virtual", "function_map"]
print("| group | variant | CPU ns/event (median of %d) | vs floor | wall ns/event | vs floor | allocs/event |" %
      max(len(v) for g in rows.values() for v in g.values()))
print("|---|---|---:|---:|---:|---:|---:|")
for group in sorted(rows, key=lambda g: ("mix" in g, len(g), g)):
    variants = rows[group]
    cpu_floor = statistics.median(c for c, _, _ in variants["floor"])
    wall_floor = statistics.median(w for _, w, _ in variants["floor"])
    for variant in sorted(variants, key=lambda v: order.index(v) if v in order else len(order)):
        samples = variants[variant]
        cpu = statistics.median(c for c, _, _ in samples)
        wall = statistics.median(w for _, w, _ in samples)
        allocs = max(a for _, _, a in samples)
        print(f"| {group} | {variant} | {cpu:.3f} | {cpu / cpu_floor:.2f}x | {wall:.3f} | "
              f"{wall / wall_floor:.2f}x | {allocs:g} |")
