"""torch.matmul in the shapes of bench_gemm_cuda (f32 without TF32, bf16), TFLOP/s: the PyTorch
side of benchmarks/gpu/run.sh, run on the same GPU in the same run."""
import time

import torch

torch.backends.cuda.matmul.allow_tf32 = False
shapes = [("qkv 4096x2304x768", 4096, 2304, 768), ("out 4096x768x768", 4096, 768, 768),
          ("ffn-up 4096x3072x768", 4096, 3072, 768), ("ffn-down 4096x768x3072", 4096, 768, 3072)]


def tflops(a, b, reps):
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] * reps / (time.perf_counter() - t0) / 1e12


print(f"{'torch shape':<24} {'f32 TF/s':>10} {'bf16 TF/s':>10}")
for name, m, n, k in shapes:
    a = torch.rand(m, k, device="cuda") * 2 - 1
    b = torch.rand(k, n, device="cuda") * 2 - 1
    print(f"{name:<24} {tflops(a, b, 20):10.1f} {tflops(a.bfloat16(), b.bfloat16(), 50):10.1f}")
