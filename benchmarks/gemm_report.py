#!/usr/bin/env python3
"""Turns bench_peak_flops and bench_gemm JSON output (from the same run) into the markdown
table of docs/performance.md: GFLOP/s and % of the probed 2-thread FP32 peak per shape and backend.

Usage: gemm_report.py peak.json gemm.json
"""
import json
import re
import statistics
import sys


def load(path):
    with open(path) as f:
        text = f.read()
    return json.loads(text[text.index("{"):])["benchmarks"]  # tolerate a banner line before the JSON


def main():
    peak_runs = load(sys.argv[1])
    gemm_runs = load(sys.argv[2])
    peaks = {}
    for b in peak_runs:
        m = re.match(r"BM_peak_(fp32|bf16)/threads:(\d+)", b["name"])
        if m and "FLOP/s" in b:
            peaks[(m.group(1), int(m.group(2)))] = b["FLOP/s"] / 1e9
    fp32 = peaks.get(("fp32", 2))
    print(f"Probed peak, 2 threads: FP32 {fp32:.0f} GFLOP/s, BF16 {peaks.get(('bf16', 2), float('nan')):.0f} GFLOP/s "
          f"(1 thread: {peaks.get(('fp32', 1), float('nan')):.0f} / {peaks.get(('bf16', 1), float('nan')):.0f}).\n")
    rows = {}
    for b in gemm_runs:
        m = re.match(r"BM_gemm_(nt|nn|tn)_(\w+?)_(f32|bf16)/M:(\d+)/K:(\d+)/N:(\d+)", b["name"])
        if not m or "FLOP/s" not in b:
            continue
        layout, backend, dt, M, K, N = m.group(1), m.group(2), m.group(3), *map(int, m.groups()[3:])
        rows.setdefault((backend, dt), []).append((layout, M, K, N, b["FLOP/s"] / 1e9))
    for (backend, dt), entries in rows.items():
        peak = fp32 if dt == "f32" else peaks.get(("bf16", 2), float("nan"))
        name = "FP32" if dt == "f32" else "BF16"
        print(f"**{backend}** ({dt})\n")
        print(f"| layout | M | K | N | GFLOP/s | % of {name} peak |")
        print("|---|---|---|---|---|---|")
        fractions = []
        for layout, M, K, N, g in entries:
            fractions.append(g / peak)
            print(f"| {layout.upper()} | {M} | {K} | {N} | {g:.0f} | {100 * g / peak:.0f} % |")
        print(f"\nmedian {100 * statistics.median(fractions):.0f} %, min {100 * min(fractions):.0f} %, "
              f"max {100 * max(fractions):.0f} % over {len(fractions)} shapes\n")
    extra = [b for b in gemm_runs if ("static" in b["name"] or "attention" in b["name"]) and "FLOP/s" in b]
    if extra:
        print("| benchmark | GFLOP/s | % of FP32 peak |")
        print("|---|---|---|")
        for b in extra:
            g = b["FLOP/s"] / 1e9
            print(f"| {b['name'].replace('/real_time', '')} | {g:.0f} | {100 * g / fp32:.0f} % |")


if __name__ == "__main__":
    main()
