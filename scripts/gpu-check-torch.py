"""PyTorch timings for the GPU check (docs/gpu-check.md): Kiln's zoo architectures in PyTorch.

The same four architectures as Kiln's zoo (frontend/src/main/java/dev/kiln/frontend/zoo/), with
random weights (only the timings are compared), in eval mode, fp32, on CUDA: torchvision's
resnet18 and mobilenet_v2, a 2-layer BERT-base encoder built like Bert.java (per-head
reshape/transpose, matmul attention, exact GELU, post-norm LayerNorm; input already-embedded
[N,128,768] hidden states), and the MLP of Mlp.java. Each model is timed eagerly and compiled
with torch.compile (default mode; compile time excluded by warm-up runs), at each batch; plus
torch.matmul of two S x S float32 matrices in fp32, TF32 and bf16.

TF32 is off unless --tf32: convolutions and matmuls compute in fp32, as Kiln's kernels do.
Each timed call is bracketed by torch.cuda.synchronize(); the median of the runs is reported.

Prints one line per measurement, in the format of gpu-check-driver:
  RESULT model=M batch=B impl=torch-eager|torch-compile median_ms=.. min_ms=.. runs=N throughput=../s
and ARCH lines comparing each model's parameter count with Kiln's zoo model.

usage: python3 gpu-check-torch.py [--models mlp,resnet18,mobilenetv2,bert] [--batches 1,32]
                                  [--matmul 4096] [--runs 30] [--budget-s 150] [--no-compile] [--tf32]
"""
import argparse
import math
import statistics
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

# Parameter counts of Kiln's zoo models (ZooTest: torchvision's counts; BN running stats excluded).
EXPECTED_PARAMS = {"resnet18": 11_689_512, "mobilenetv2": 3_504_872, "bert": 2 * 7_087_872, "mlp": 1_863_690}
INPUT_SHAPES = {"resnet18": (3, 224, 224), "mobilenetv2": (3, 224, 224), "bert": (128, 768), "mlp": (784,)}
# Rough torch.compile times (s) at a first compile, to skip one that would overrun the budget.
COMPILE_COST_S = {"mlp": 15, "resnet18": 45, "mobilenetv2": 60, "bert": 40}


class BertLayer(nn.Module):
    """One encoder layer of Bert.java: hidden 768, 12 heads of 64, FFN 3072, post-norm."""

    def __init__(self, hidden=768, heads=12, ffn=3072, seq=128):
        super().__init__()
        self.hidden, self.heads, self.head, self.seq = hidden, heads, hidden // heads, seq
        self.q, self.k, self.v, self.o = (nn.Linear(hidden, hidden) for _ in range(4))
        self.ln1 = nn.LayerNorm(hidden, eps=1e-5)
        self.f1, self.f2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-5)

    def forward(self, x):
        n = x.shape[0]
        split = lambda t: t.reshape(n, self.seq, self.heads, self.head)
        q = split(self.q(x)).permute(0, 2, 1, 3)  # [N,12,128,64]
        k = split(self.k(x)).permute(0, 2, 3, 1)  # [N,12,64,128]
        v = split(self.v(x)).permute(0, 2, 1, 3)  # [N,12,128,64]
        probs = torch.softmax(torch.matmul(q, k) / math.sqrt(self.head), dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(n, self.seq, self.hidden)
        x = self.ln1(self.o(context) + x)
        return self.ln2(self.f2(F.gelu(self.f1(x))) + x)  # exact (erf) GELU, as Bert.java


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    if name == "bert":
        return nn.Sequential(BertLayer(), BertLayer())
    import torchvision

    if name == "resnet18":
        return torchvision.models.resnet18(weights=None)
    if name == "mobilenetv2":
        return torchvision.models.mobilenet_v2(weights=None)
    raise SystemExit(f"gpu-check-torch: unknown model '{name}'")


def result(**fields):
    print("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, runs, warmup, item_budget_s):
    """Median and min of up to `runs` synchronized calls, stopping after item_budget_s (at least 3 runs)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    start = time.perf_counter()
    for _ in range(runs):
        if len(times) >= 3 and time.perf_counter() - start > item_budget_s:
            break
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mlp,resnet18,mobilenetv2,bert")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--matmul", type=int, default=4096, help="S of the S^3 matmul timings (0: none)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=150, help="time for the whole script; compiles that would overrun it are skipped")
    ap.add_argument("--item-budget-s", type=float, default=10, help="time for the timed runs of one measurement")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--tf32", action="store_true", help="let convolutions and fp32 matmuls use TF32")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu to try the script without a GPU")
    args = ap.parse_args()
    start = time.perf_counter()
    left = lambda: args.budget_s - (time.perf_counter() - start)

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu-check-torch: error: torch sees no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "none (" + args.device + ")"
    print(f"gpu-check-torch: torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"GPU {gpu}, TF32 {'on' if args.tf32 else 'off'}", flush=True)

    models = [m for m in args.models.split(",") if m]
    batches = [int(b) for b in args.batches.split(",") if b]
    precision = "tf32" if args.tf32 else "fp32"

    # The matmul: fp32 (TF32 as set above), TF32 and bf16 on the same shapes.
    if args.matmul > 0:
        s = args.matmul
        flops = 2.0 * s * s * s
        for label, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
            try:
                torch.backends.cuda.matmul.allow_tf32 = tf32
                a = torch.rand(s, s, device=dev, dtype=dtype) * 2 - 1
                b = torch.rand(s, s, device=dev, dtype=dtype) * 2 - 1
                with torch.no_grad():
                    med, mn, n = timed(lambda: torch.matmul(a, b), args.runs, args.warmup, args.item_budget_s)
                result(model=f"matmul{s}", batch=1, impl="torch-eager" if label == "fp32" else f"torch-eager-{label}", precision=label,
                       median_ms=f"{med:.4f}", min_ms=f"{mn:.4f}", runs=n, throughput=f"{1e3 / med:.1f}/s", tflops=f"{flops / (med * 1e-3) / 1e12:.2f}")
                del a, b
            except Exception as e:  # keep going: one failure must not hide the other timings
                result(model=f"matmul{s}", batch=1, impl=f"torch-eager-{label}", status="error", error=repr(str(e)[:200]).replace(" ", "_"))
        torch.backends.cuda.matmul.allow_tf32 = args.tf32

    # Eager first (cheap), then torch.compile, the cheapest models first.
    built = {}
    for name in models:
        try:
            model = build(name).to(dev).eval()
        except Exception as e:
            print(f"gpu-check-torch: {name}: could not build the model: {e}", file=sys.stderr)
            for b in batches:
                result(model=name, batch=b, impl="torch-eager", status="error", error="build")
            continue
        params = sum(p.numel() for p in model.parameters())
        expected = EXPECTED_PARAMS.get(name)
        print(f"ARCH model={name} params={params} kiln_zoo_params={expected} match={'yes' if params == expected else 'NO'}", flush=True)
        built[name] = model
        for b in batches:
            x = torch.rand((b,) + INPUT_SHAPES[name], device=dev) * 2 - 1
            try:
                with torch.no_grad():
                    med, mn, n = timed(lambda: model(x), args.runs, args.warmup, args.item_budget_s)
                result(model=name, batch=b, impl="torch-eager", precision=precision, median_ms=f"{med:.4f}", min_ms=f"{mn:.4f}",
                       runs=n, throughput=f"{b * 1e3 / med:.1f}/s")
            except Exception as e:
                traceback.print_exc()
                result(model=name, batch=b, impl="torch-eager", status="error", error=repr(str(e)[:200]).replace(" ", "_"))

    if args.no_compile:
        return 0
    for name in sorted(built, key=lambda m: COMPILE_COST_S.get(m, 60)):
        model = built[name]
        for b in batches:
            if left() < COMPILE_COST_S.get(name, 60):
                print(f"gpu-check-torch: {name} batch {b}: torch.compile skipped, {max(left(), 0):.0f} s left of --budget-s {args.budget_s:.0f}", flush=True)
                result(model=name, batch=b, impl="torch-compile", status="skipped")
                continue
            x = torch.rand((b,) + INPUT_SHAPES[name], device=dev) * 2 - 1
            try:
                torch._dynamo.reset()
                compiled = torch.compile(model, dynamic=False)
                t0 = time.perf_counter()
                with torch.no_grad():
                    compiled(x)  # compiles
                    sync()
                    compile_s = time.perf_counter() - t0
                    med, mn, n = timed(lambda: compiled(x), args.runs, args.warmup, args.item_budget_s)
                result(model=name, batch=b, impl="torch-compile", precision=precision, median_ms=f"{med:.4f}", min_ms=f"{mn:.4f}",
                       runs=n, throughput=f"{b * 1e3 / med:.1f}/s", compile_s=f"{compile_s:.1f}")
            except Exception as e:
                print(f"gpu-check-torch: {name} batch {b}: torch.compile failed:", file=sys.stderr)
                traceback.print_exc()
                result(model=name, batch=b, impl="torch-compile", status="error", error=repr(str(e)[:200]).replace(" ", "_"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
