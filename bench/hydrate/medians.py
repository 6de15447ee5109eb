#!/usr/bin/env python3
# Median time per event, ratio to floor and allocations per event from a --benchmark_out JSON file.
import json
import statistics
import sys

runs = json.load(open(sys.argv[1]))["benchmarks"]
rows = {}
for r in runs:
    if r.get("run_type") != "iteration":
        continue
    group, variant = r["run_name"].split("/", 1)
    per_event = r["real_time"] / r["items"]  # real_time is in ns
    rows.setdefault(group, {}).setdefault(variant, []).append((per_event, r["allocs/event"]))

print("| group | variant | ns/event (median of %d) | vs floor | allocs/event |" %
      max(len(v) for g in rows.values() for v in g.values()))
print("|---|---|---:|---:|---:|")
for group, variants in rows.items():
    floor = statistics.median(t for t, _ in variants["floor"])
    for variant, samples in variants.items():
        t = statistics.median(s for s, _ in samples)
        allocs = max(a for _, a in samples)
        print(f"| {group} | {variant} | {t:.3f} | {t / floor:.2f}x | {allocs:g} |")
