#!/usr/bin/env python3
"""A BERT-base SRL step on one GPU: ours (backend::cuda) against PyTorch eager, side by side in one run.

Five worker processes, alternated step by step (A B C D E A B C D E ...) on the same device:

- ours f32 and ours bf16: build/gpu/benchmarks/bench_srl_step --backend cuda [--dtype bf16]
  (the real train::trainer; bf16 = GEMM operands rounded to bf16, f32 accumulation), with the
  fused attention kernel; and ours bf16 with --attention composed (batched GEMMs and a softmax
  over the score tiles), so the run says which attention path is faster on this GPU;
- PyTorch f32 and PyTorch AMP: benchmarks/compare_pytorch.py's worker with --device cuda
  [--amp 1] (transformers' BertModel, the same SRL loss over the same (layer, dim) pairs, AdamW,
  clipping; AMP = the forward and the losses under torch.autocast(bfloat16), as a PyTorch user
  trains on a GPU). PyTorch's default keeps TF32 off for matmuls, as ours does.

Same config (BERT-base: 12 layers, 768 wide, 12 heads, FFN 3072), weights drawn at random on
each side, the same real STS-B batch (every text exactly --seq tokens, so no step pads).
Each worker synchronises the device before it reports a step's time. Prints medians, the
ratios (the issue's target: PyTorch AMP / ours bf16 >= 1.2) and model TFLOP/s.

Usage (from the repository root, after benchmarks/gpu/run.sh built build/gpu):
  benchmarks/gpu/compare_pytorch_gpu.py [--build build/gpu] [--seq 128] [--batch 32] [--steps 10]
Needs torch with CUDA and transformers; the vocabulary is all-MiniLM-L6-v2's when build/weights
has it, the small example model's otherwise (the weights are random either way).
"""
import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import compare_pytorch as cp  # noqa: E402  (the worker, the batch and the FLOP count are shared)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(cp.ROOT, "build", "gpu"))
    ap.add_argument("--model", choices=sorted(cp.CONFIGS), default="bert-base")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32, help="pairs per step (2x texts)")
    ap.add_argument("--steps", type=int, default=10, help="measured steps per side")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="starbucks-gpu-compare-")
    folder = cp.model_folder(args.model, scratch)
    data = os.path.join(scratch, "batch.tsv")
    cp.make_batch(folder, args.seq, args.batch, data)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    bench = os.path.join(args.build, "benchmarks", "bench_srl_step")
    ours_argv = [bench, "--model", folder, "--data", data, "--max-length", str(args.seq), "--backend", "cuda"]
    sides = {"ours f32": cp.Worker("ours f32", ours_argv, env)}
    pairs = sides["ours f32"].banner[sides["ours f32"].banner.index("pairs") + 1]
    sides["ours bf16"] = cp.Worker("ours bf16", ours_argv + ["--dtype", "bf16"], env)
    # The fused attention kernel is the default; the composed path (batched GEMMs + softmax) beside it.
    sides["ours bf16 composed"] = cp.Worker("ours bf16 composed", ours_argv + ["--dtype", "bf16", "--attention", "composed"], env)
    for name, amp in (("torch f32", 0), ("torch amp", 1)):
        sides[name] = cp.Worker(name, [sys.executable, os.path.join(cp.ROOT, "benchmarks", "compare_pytorch.py"), "worker", "--model-dir", folder,
                                       "--data", data, "--seq", str(args.seq), "--threads", str(os.cpu_count() or 1), "--pairs", pairs,
                                       "--device", "cuda", "--amp", str(amp)], env)

    times = {name: [] for name in sides}
    for i in range(args.warmup + args.steps):
        line = []
        for name, w in sides.items():
            t = w.step()
            line.append(f"{name} {t * 1000:.1f} ms")
            if i >= args.warmup:
                times[name].append(t)
        print(f"step {i + 1}: " + ", ".join(line) + (" (warm-up)" if i < args.warmup else ""), file=sys.stderr)

    sequences = 2 * args.batch
    flops = cp.step_flops(config, args.seq, sequences)
    result = {"model": args.model, "seq": args.seq, "batch_pairs": args.batch, "pairs": pairs, "step_tflop": flops / 1e12,
              "date": time.strftime("%Y-%m-%d"), "banners": {n: " ".join(w.banner[1:]) for n, w in sides.items()}}
    for name, w in sides.items():
        s = cp.summary(times[name])
        s["tflops"] = flops / s["median"] / 1e12
        s["rss_mb"] = w.quit() / 1024
        result[name] = s
    result["torch_amp_over_ours_bf16"] = result["torch amp"]["median"] / result["ours bf16"]["median"]
    result["torch_f32_over_ours_f32"] = result["torch f32"]["median"] / result["ours f32"]["median"]
    result["composed_over_fused_bf16"] = result["ours bf16 composed"]["median"] / result["ours bf16"]["median"]

    print(f"\n{args.model}, seq {args.seq}, {sequences} texts ({args.batch} pairs), pairs {pairs}; {flops / 1e12:.3f} TFLOP per step")
    for name in sides:
        print(f"  {name}: {result['banners'][name]}")
    print("\n| side | median ms/step | min | max | model TFLOP/s | host peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name in sides:
        s = result[name]
        print(f"| {name} | {s['median'] * 1000:.1f} | {s['min'] * 1000:.1f} | {s['max'] * 1000:.1f} | {s['tflops']:.1f} | {s['rss_mb']:.0f} |")
    print(f"\nspeed-up, PyTorch AMP / ours bf16: {result['torch_amp_over_ours_bf16']:.2f}x (target >= 1.2x); "
          f"PyTorch f32 / ours f32: {result['torch_f32_over_ours_f32']:.2f}x; "
          f"ours composed / fused attention (bf16): {result['composed_over_fused_bf16']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
