#!/usr/bin/env python3
# Medians of a --benchmark_out JSON file of annal_bench_restore_archive: events/s and GB/s by the
# wall clock, annal's rate as a fraction of the floor's by wall and CPU clock.
# Both clocks: on shared cores and a shared disk the wall clock counts time others held.
import json
import statistics
import sys

rows = {}
for r in json.load(open(sys.argv[1]))["benchmarks"]:
    if r.get("run_type") != "iteration":
        continue
    group, variant = r["run_name"].split("/")[:2]
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[r["time_unit"]]
    wall, cpu = r["real_time"] * scale, r["cpu_time"] * scale
    rows.setdefault(group, {}).setdefault(variant, []).append(
        (r["items_per_second"] * wall, r["bytes_per_second"] * wall, wall, cpu))

print("| group | variant | time, wall (median of %d) | events/s | GB/s | vs floor, wall | vs floor, CPU |" %
      max(len(v) for g in rows.values() for v in g.values()))
print("|---|---|---:|---:|---:|---:|---:|")
for group in sorted(rows):
    variants = rows[group]
    med = {v: (statistics.median(x[2] for x in runs), statistics.median(x[3] for x in runs),
               runs[0][0], runs[0][1]) for v, runs in variants.items()}
    for variant in ["floor", "annal"]:
        wall, cpu, events, nbytes = med[variant]
        print(f"| {group} | {variant} | {wall * 1e3:.0f} ms | {events / wall / 1e6:.2f}M | "
              f"{nbytes / wall / 1e9:.2f} | {med['floor'][0] / wall:.2f}x | "
              f"{med['floor'][1] / cpu:.2f}x |")
