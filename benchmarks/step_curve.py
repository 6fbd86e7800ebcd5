#!/usr/bin/env python3
"""P12 (PERFORMANCE.md): step time against sequence length and model size, ours and PyTorch.

Runs benchmarks/compare_pytorch.py once per (model, sequence length), each run alternating our
SRL step and PyTorch's in one invocation as the protocol asks, keeps every run's JSON, and draws
one SVG: seconds per step (log scale) against sequence length (log2 scale), a solid line per
model for us and a dashed one for PyTorch, the speed-up written at each of our points. Also
prints the table. Points already in --out are reused, so an interrupted sweep continues.

Usage (after `cmake --preset bench && cmake --build build/bench`; torch and transformers from PyPI):
  benchmarks/step_curve.py --models minilm-l6,minilm-l12,bert-base --seqs 32,64,128,256,512 --out runs/p12
  benchmarks/step_curve.py --out runs/p12 --plot-only
"""
import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLOURS = {"minilm-l6": "#1f77b4", "minilm-l12": "#2ca02c", "bert-base": "#d62728"}


def point_path(out, model, seq):
    return os.path.join(out, f"{model}-seq{seq}.json")


def run_point(args, model, seq):
    path = point_path(args.out, model, seq)
    if os.path.exists(path):
        return
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "compare_pytorch.py"), "--model", model, "--seq", str(seq),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(args.batch), "--threads", str(args.threads),
           "--torch-config", args.torch_config, "--build", args.build, "--json", path + ".partial"]
    print(f"{model} seq {seq}: {' '.join(cmd)}", file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    os.replace(path + ".partial", path)


def load_points(out):
    points = []
    for name in sorted(os.listdir(out)):
        if name.endswith(".json") and "-seq" in name:
            with open(os.path.join(out, name)) as f:
                r = json.load(f)
            points.append({"model": r["model"], "seq": r["seq"], "ours": r["step_ours"]["median"], "torch": r["step_torch"]["median"],
                           "date": r["date"], "steps": r["step_ours"]["n"]})
    return sorted(points, key=lambda p: (list(COLOURS).index(p["model"]) if p["model"] in COLOURS else 99, p["seq"]))


def svg(points, path):
    w, h, left, right, top, bottom = 760, 480, 70, 170, 40, 60
    seqs = sorted({p["seq"] for p in points})
    times = [p[s] for p in points for s in ("ours", "torch")]
    x_lo, x_hi = math.log2(min(seqs)), math.log2(max(seqs))
    y_lo, y_hi = math.floor(math.log10(min(times))), math.ceil(math.log10(max(times)))
    if x_hi == x_lo:
        x_hi += 1
    if y_hi == y_lo:
        y_hi += 1

    def x(seq):
        return left + (math.log2(seq) - x_lo) / (x_hi - x_lo) * (w - left - right)

    def y(t):
        return top + (y_hi - math.log10(t)) / (y_hi - y_lo) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2 - 60}" y="22" font-size="14">SRL step time, ours (solid) and PyTorch (dashed)</text>']
    for e in range(y_lo, y_hi + 1):
        t = 10.0 ** e
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g} s</text>')
    for s in seqs:
        out.append(f'<line x1="{x(s):.1f}" x2="{x(s):.1f}" y1="{top}" y2="{h - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{x(s):.1f}" y="{h - bottom + 18}" text-anchor="middle">{s}</text>')
    out.append(f'<text x="{(left + w - right) / 2:.1f}" y="{h - 18}" text-anchor="middle">sequence length (tokens), 2 x 32 texts per step</text>')
    out.append(f'<text x="18" y="{(top + h - bottom) / 2:.1f}" transform="rotate(-90 18 {(top + h - bottom) / 2:.1f})" '
               f'text-anchor="middle">seconds per step (median)</text>')
    legend_y = top + 10
    for model in [m for m in COLOURS if any(p["model"] == m for p in points)]:
        mine = [p for p in points if p["model"] == model]
        colour = COLOURS[model]
        for side, dash in (("ours", ""), ("torch", ' stroke-dasharray="6 4"')):
            line = " ".join(f"{x(p['seq']):.1f},{y(p[side]):.1f}" for p in mine)
            out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for p in mine:
                out.append(f'<circle cx="{x(p["seq"]):.1f}" cy="{y(p[side]):.1f}" r="3" fill="{colour}"/>')
        for p in mine:
            out.append(f'<text x="{x(p["seq"]) + 5:.1f}" y="{y(p["ours"]) + 14:.1f}" fill="{colour}" font-size="10">'
                       f'{p["torch"] / p["ours"]:.2f}x</text>')
        out.append(f'<line x1="{w - right + 15}" x2="{w - right + 45}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 50}" y="{legend_y + 4}">{model}</text>')
        legend_y += 20
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm-l6,minilm-l12,bert-base")
    ap.add_argument("--seqs", default="32,64,128,256,512")
    ap.add_argument("--steps", type=int, default=3, help="measured steps per side and point")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32, help="pairs per step")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-config", default="foreach=1,spin=default")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", required=True, help="folder for the per-point JSON and step_curve.svg")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.plot_only:
        for model in args.models.split(","):
            for seq in (int(s) for s in args.seqs.split(",")):
                run_point(args, model, seq)
    points = load_points(args.out)
    if not points:
        raise SystemExit(f"no points in {args.out}")
    print("| model | seq | ours s/step | PyTorch s/step | speed-up | measured steps | date |")
    print("|---|---|---|---|---|---|---|")
    for p in points:
        print(f"| {p['model']} | {p['seq']} | {p['ours']:.3f} | {p['torch']:.3f} | {p['torch'] / p['ours']:.2f}x | {p['steps']} | {p['date']} |")
    svg(points, os.path.join(args.out, "step_curve.svg"))
    print(f"\nplot: {os.path.join(args.out, 'step_curve.svg')}")


if __name__ == "__main__":
    main()
