#!/usr/bin/env python3
# Medians of a scale-out curve from --benchmark_out JSON files (bench/kafka_group, bench/lease):
# events/s per "<group>/<variant>/<workers>", the ratio to the floor (time over the floor's time,
# as the binary prints: the floor at the same worker count, or the floor's only one) and the
# speed-up over one worker. --floor GROUP=OTHER takes GROUP's floor from OTHER (bench/lease:
# --floor lease_k4=lease_k1, today's projector).
import argparse
import json
import re
import statistics

parser = argparse.ArgumentParser()
parser.add_argument("files", nargs="+")
parser.add_argument("--floor", action="append", default=[])
args = parser.parse_args()
floor_of = dict(f.split("=", 1) for f in args.floor)

rows = {}
for path in args.files:
    for r in json.load(open(path))["benchmarks"]:
        if r.get("run_type") != "iteration" or r.get("error_occurred"):
            continue
        name = re.sub(r"/(iterations|repeats|manual_time|real_time)[^/]*", "", r["run_name"])
        parts = name.split("/")
        group, variant = parts[0], parts[1]
        workers = parts[2] if len(parts) > 2 else "1"
        rows.setdefault(group, {}).setdefault(variant, {}).setdefault(workers, []).append(
            (r["items_per_second"], r.get("cpu_ns/event")))

def median_rate(samples):
    return statistics.median(rate for rate, _ in samples)


def median_cpu(samples):
    cpu = [c for _, c in samples if c is not None]
    return statistics.median(cpu) if cpu else None


print("| group | variant | workers | events/s (median) | runs | time vs floor "
      "| speed-up over 1 worker | CPU ns/event (median) | CPU vs floor |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for group in sorted(rows):
    variants = rows[group]
    floors = variants.get("floor") or rows.get(floor_of.get(group), {}).get("floor", {})
    floor = {w: median_rate(v) for w, v in floors.items()}
    floor_cpu = {w: median_cpu(v) for w, v in floors.items()}
    if len(floor) == 1:
        floor = {w: next(iter(floor.values())) for w in {w for c in variants.values() for w in c}}
        floor_cpu = {w: next(iter(floor_cpu.values())) for w in floor}
    for variant in sorted(variants, key=lambda v: (v != "floor", v)):
        curve = variants[variant]
        one = median_rate(curve["1"]) if "1" in curve else None
        for workers in sorted(curve, key=int):
            rate = median_rate(curve[workers])
            cpu = median_cpu(curve[workers])
            vs = f"{floor[workers] / rate:.2f}x" if workers in floor else "-"
            up = f"{rate / one:.2f}x" if one else "-"
            fc = floor_cpu.get(workers)
            cpu_text = f"{cpu:,.0f}" if cpu else "-"
            cpu_vs = f"{cpu / fc:.2f}x" if cpu and fc else "-"
            print(f"| {group} | {variant} | {workers} | {rate:,.0f} | {len(curve[workers])} | "
                  f"{vs} | {up} | {cpu_text} | {cpu_vs} |")
