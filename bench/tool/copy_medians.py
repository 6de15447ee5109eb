#!/usr/bin/env python3
# Medians of a --benchmark_out JSON file of annal_bench_tool_copy: time per pass and events/s by the
# wall clock, CPU per pass (the child's user + system for tool_process), and each variant's rate as
# a fraction of the floor's (issue 19's target: `annal copy` >= 0.8x) and of floor_digest's.
import json
import statistics
import sys

rows = {}
for r in json.load(open(sys.argv[1]))["benchmarks"]:
    if r.get("run_type") != "iteration":
        continue
    variant = r["run_name"].split("/")[1]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[r["time_unit"]]  # to ms
    cpu = r["child_cpu_ms"] if "child_cpu_ms" in r else r["cpu_time"] * scale
    rows.setdefault(variant, []).append((r["real_time"] * scale, cpu, r["items"]))

wall = {v: statistics.median(w for w, _, _ in xs) for v, xs in rows.items()}
cpu = {v: statistics.median(c for _, c, _ in xs) for v, xs in rows.items()}
events = next(iter(rows.values()))[0][2]
print("| variant | ms per pass, wall (median of %d) | events/s | vs floor | vs floor_digest | "
      "CPU ms | CPU vs floor | CPU vs floor_digest |" % max(len(xs) for xs in rows.values()))
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for v in ["floor", "floor_digest", "tool_in_process", "tool_process"]:
    if v not in rows:
        continue
    print(f"| {v} | {wall[v]:.0f} | {events / wall[v]:.0f}k | {wall['floor'] / wall[v]:.2f}x | "
          f"{wall['floor_digest'] / wall[v]:.2f}x | {cpu[v]:.0f} | {cpu['floor'] / cpu[v]:.2f}x | "
          f"{cpu['floor_digest'] / cpu[v]:.2f}x |")
