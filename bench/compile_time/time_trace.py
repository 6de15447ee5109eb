#!/usr/bin/env python3
# Summarises a clang -ftime-trace JSON: phases, the costliest headers and template instantiations.
# Usage: bench/compile_time/time_trace.py trace.json [count]   (count: rows per table, default 10)
# Headers: inclusive time (with what they include) and self time (without the headers they
# include); instantiations: inclusive time of one instantiation, and the total per template.
import json
import re
import sys


def short_path(path):
    for marker in ("/include/annal/", "/include/boost/", "/c++/12/", "/c++/v1/"):
        at = path.find(marker)
        if at >= 0:
            return ("<annal/" if "annal" in marker else "<boost/" if "boost" in marker else "<") + \
                path[at + len(marker):] + ">"
    return path


def template_of(name):
    # "annal::file::log<x, y>::append" -> "annal::file::log<>::append": one row per template.
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            if depth == 0:
                out.append("<>")
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def main():
    trace = json.load(open(sys.argv[1]))
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    ms = lambda us: us / 1000.0
    # Shares of the whole compile: the trace's times are wall clock, inflated on a loaded machine.
    whole = max(e["dur"] for e in events if e["name"] == "ExecuteCompiler")
    pct = lambda us: f"{100.0 * us / whole:5.1f}%"

    print("phases (ms):")
    for e in sorted((e for e in events if e["name"].startswith("Total ")), key=lambda e: -e["dur"])[:8]:
        print(f"  {ms(e['dur']):9.0f} {pct(e['dur'])}  {e['name'][6:]}")

    # Source events nest as the headers include each other; self time subtracts the direct children.
    sources = sorted((e for e in events if e["name"] == "Source"), key=lambda e: (e["ts"], -e["dur"]))
    inclusive, own = {}, {}
    stack = []
    for e in sources:
        while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
            stack.pop()
        path = short_path(e["args"]["detail"])
        inclusive[path] = inclusive.get(path, 0) + e["dur"]
        own[path] = own.get(path, 0) + e["dur"]
        if stack:
            parent = short_path(stack[-1]["args"]["detail"])
            own[parent] -= e["dur"]
        stack.append(e)
    print("\nheaders by inclusive parse time (ms, share, self ms):")
    for path, dur in sorted(inclusive.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {ms(dur):9.0f} {pct(dur)} {ms(own[path]):7.0f}  {path}")
    print(f"\nheaders by self parse time (ms):")
    for path, dur in sorted(own.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {ms(dur):9.0f} {pct(dur)}  {path}")

    kinds = ("InstantiateClass", "InstantiateFunction")
    inst = [e for e in events if e["name"] in kinds]
    print(f"\ninstantiations by inclusive time (ms):")
    for e in sorted(inst, key=lambda e: -e["dur"])[:count]:
        print(f"  {ms(e['dur']):9.0f} {pct(e['dur'])}  {e['args']['detail'][:150]}")
    # Per template: nested instantiations of the same template are counted once (outermost).
    per = {}
    open_until = {}
    for e in sorted(inst, key=lambda e: (e["ts"], -e["dur"])):
        key = template_of(e["args"]["detail"])
        if open_until.get(key, -1) > e["ts"]:
            continue
        open_until[key] = e["ts"] + e["dur"]
        total, n = per.get(key, (0, 0))
        per[key] = (total + e["dur"], n + 1)
    print(f"\ntemplates by total instantiation time (ms, count):")
    for key, (dur, n) in sorted(per.items(), key=lambda kv: -kv[1][0])[:count]:
        name = re.sub(r"\s+", " ", key)[:150]
        print(f"  {ms(dur):9.0f} {pct(dur)} {n:5d}  {name}")


if __name__ == "__main__":
    main()
