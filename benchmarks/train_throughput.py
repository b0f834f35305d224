"""Training throughput: the mnv2lab trainer vs a naive PyTorch baseline, side by side in one run.

Both sides train the same MobileNetV2 (same width, ``small_input``, seed, batch size and SGD with
momentum 0.9 and weight decay 4e-5) on the real CIFAR-10 (shared JPEG tarball, 32x32) with the
same thread count:

* trainer: ``mnv2lab.train.train`` as the studies call it: uint8 data in memory, batched crop/flip
  and normalization on tensors, channels_last model and input, foreach optimizer.
* baseline: what a first PyTorch script does: an eager NCHW model and a per-sample ``Dataset``
  (PIL image -> pad 4 + random crop + random flip -> tensor -> normalize, as torchvision's
  CIFAR10 + transforms do) behind a ``DataLoader(shuffle=True, num_workers=0)``, and
  ``torch.optim.SGD(model.parameters(), ...)`` with its defaults.

The machine may be shared, so the two sides alternate (A B, B A, A B, ...) and each repeat
reports both; the ratio is of the medians. images/s counts training steps only (warm-up steps and
evaluation excluded).

FLOP convention: a training step costs 3x the forward multiply-adds (forward, backward w.r.t.
inputs, backward w.r.t. weights), and one multiply-add is 2 FLOPs, so FLOP/image = 6 x MAdds.
MAdds count conv and linear layers only (BN, activations and the optimizer are left out), so the
achieved GFLOP/s understates the work done. The peak is a float32 matrix multiply (2 n^3 FLOPs),
best of several, at the same thread count.

Usage: python benchmarks/train_throughput.py [--widths 0.35 0.5] [--repeats 3] [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Set before torch loads OpenMP (as importing mnv2lab.train does): both sides run with it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnv2lab.atomic import write_json  # noqa: E402
from mnv2lab.data import load_dataset  # noqa: E402
from mnv2lab.models import build_model  # noqa: E402
from mnv2lab.provenance import provenance  # noqa: E402
from mnv2lab.train import TrainConfig, evaluate, train  # noqa: E402

LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 4e-5


# --- the naive baseline -------------------------------------------------------------------------

class NaiveCifar(torch.utils.data.Dataset):
    """Per-sample pipeline as in torchvision's CIFAR10 with RandomCrop(32, padding=4),
    RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std) -> None:
        self.images, self.labels = images, labels
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.images[i])
        img = ImageOps.expand(img, border=4, fill=0)
        top, left = random.randint(0, 8), random.randint(0, 8)
        img = img.crop((left, top, left + 32, top + 32))
        if random.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        return (x - self.mean) / self.std, int(self.labels[i])


def baseline_images_per_s(ds, width: float, small_input: bool, batch: int, warmup: int,
                          steps: int, seed: int, threads: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    model = build_model("mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    n = batch * (warmup + steps)
    data = NaiveCifar(ds.train_images[:n].numpy(), ds.train_labels[:n].numpy(), ds.mean, ds.std)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, drop_last=True,
                                         num_workers=0)
    crit = torch.nn.CrossEntropyLoss()
    t0 = None
    for i, (x, y) in enumerate(loader):
        if i == warmup:
            t0 = time.perf_counter()
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t0)


# --- the trainer --------------------------------------------------------------------------------

def trainer_config(width: float, small_input: bool, batch: int, warmup: int, steps: int,
                   seed: int, threads: int) -> TrainConfig:
    return TrainConfig(
        model="mobilenet_v2", model_kwargs={"width_mult": width, "small_input": small_input},
        dataset="cifar10-jpeg", train_subset=batch * (warmup + steps), test_subset=100,
        batch_size=batch, epochs=1, eval_every_steps=warmup, optimizer="sgd", lr=LR,
        momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, schedule="constant", augment=True,
        device="cpu", threads=threads, seed=seed, study="benchmark")


def trainer_images_per_s(cfg: TrainConfig, run_dir: Path) -> float:
    res = train(cfg, progress=False, resume=False, run_directory=run_dir)
    # Every evaluation interval after the first (the warm-up); each reports its own rate.
    timed = res.history[1:]
    images = [(h["step"] - prev["step"]) * cfg.batch_size for prev, h in zip(res.history, timed)]
    seconds = [n / h["images_per_s"] for n, h in zip(images, timed)]
    return sum(images) / sum(seconds)


def eval_images_per_s(ds, width: float, small_input: bool, threads: int, n: int = 1000) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input)
    model = model.to(memory_format=torch.channels_last)
    evaluate(model, ds.test_images[:500], ds.test_labels[:500], ds, True)    # warm-up
    t = time.perf_counter()
    evaluate(model, ds.test_images[:n], ds.test_labels[:n], ds, True)
    return n / (time.perf_counter() - t)


# --- cost and peak ------------------------------------------------------------------------------

def forward_madds(width: float, small_input: bool, size: int = 32) -> int:
    """Multiply-adds of one 3 x size x size image through the conv and linear layers."""
    model = build_model("mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input)
    total = 0

    def conv_hook(m, inp, out):
        nonlocal total
        total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        nonlocal total
        total += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, torch.nn.Linear):
            m.register_forward_hook(linear_hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return total


def matmul_peak_gflops(threads: int, n: int = 1536, reps: int = 6) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


# --- main ---------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.35, 0.5])
    ap.add_argument("--epoch-widths", type=float, nargs="*", default=[1.0],
                    help="extra widths measured on the trainer side only, for epoch-time estimates")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-small-input", dest="small_input", action="store_false")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args()

    prov = provenance()
    print(f"# {prov['cpu_model']} x{prov['cpu_count']}, torch {prov.get('torch')}, "
          f"commit {prov['git_commit']}, threads {args.threads} "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), batch {args.batch}, "
          f"small_input={args.small_input}, {args.warmup} warm-up + {args.steps} timed steps, "
          f"{args.repeats} interleaved repeats")
    ds = load_dataset("cifar10-jpeg", progress=False)
    peaks = [matmul_peak_gflops(args.threads)]
    print(f"matmul peak (float32, {args.threads} threads): {peaks[0]:.1f} GFLOP/s")

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.widths:
            results[str(w)] = {"trainer": [], "baseline": []}
        for rep in range(args.repeats):
            for w in args.widths:
                cfg = trainer_config(w, args.small_input, args.batch, args.warmup, args.steps,
                                     rep, args.threads)
                sides = ["trainer", "baseline"] if rep % 2 == 0 else ["baseline", "trainer"]
                for side in sides:
                    if side == "trainer":
                        v = trainer_images_per_s(cfg, Path(tmp) / f"{w}-{rep}")
                    else:
                        v = baseline_images_per_s(ds, w, args.small_input, args.batch, args.warmup,
                                                  args.steps, rep, args.threads)
                    results[str(w)][side].append(v)
                    print(f"  repeat {rep}  width {w:<5} {side:<8} {v:8.1f} images/s", flush=True)
        for w in args.epoch_widths:
            if str(w) in results:
                continue
            results[str(w)] = {"trainer": [], "baseline": []}
            for rep in range(min(2, args.repeats)):
                cfg = trainer_config(w, args.small_input, args.batch, args.warmup, args.steps,
                                     rep, args.threads)
                v = trainer_images_per_s(cfg, Path(tmp) / f"{w}-{rep}")
                results[str(w)]["trainer"].append(v)
                print(f"  repeat {rep}  width {w:<5} trainer  {v:8.1f} images/s", flush=True)
    peaks.append(matmul_peak_gflops(args.threads))
    peak = max(peaks)

    print(f"\nmatmul peak: {peak:.1f} GFLOP/s (best of start/end: "
          f"{', '.join(f'{p:.1f}' for p in peaks)})")
    header = (f"{'width':>5} {'MAdds/img':>10} {'trainer img/s':>14} {'baseline img/s':>15} "
              f"{'ratio':>6} {'pair ratios':>16} {'trainer GFLOP/s':>16} {'% peak':>7} "
              f"{'baseline GFLOP/s':>17} {'eval img/s':>11} {'epoch (min)':>12}")
    print(header)
    summary = {}
    for w, r in results.items():
        width = float(w)
        madds = forward_madds(width, args.small_input)
        t_med = statistics.median(r["trainer"])
        b_med = statistics.median(r["baseline"]) if r["baseline"] else None
        ev = eval_images_per_s(ds, width, args.small_input, args.threads)
        epoch_min = (50000 / t_med + 10000 / ev) / 60
        pairs = [t / b for t, b in zip(r["trainer"], r["baseline"])]
        t_gf = t_med * 6 * madds / 1e9
        b_gf = b_med * 6 * madds / 1e9 if b_med else None
        summary[w] = {"madds": madds, "trainer": r["trainer"], "baseline": r["baseline"],
                      "trainer_median": t_med, "baseline_median": b_med,
                      "ratio": t_med / b_med if b_med else None, "pair_ratios": pairs,
                      "trainer_gflops": t_gf, "baseline_gflops": b_gf, "eval_images_per_s": ev,
                      "epoch_minutes_estimate": epoch_min}
        pr = f"{min(pairs):.2f}-{max(pairs):.2f}" if pairs else "-"
        print(f"{width:>5} {madds / 1e6:>9.1f}M {t_med:>14.1f} "
              f"{(f'{b_med:.1f}' if b_med else '-'):>15} "
              f"{(f'{t_med / b_med:.2f}x' if b_med else '-'):>6} {pr:>16} {t_gf:>16.1f} "
              f"{100 * t_gf / peak:>6.1f}% {(f'{b_gf:.1f}' if b_gf else '-'):>17} {ev:>11.1f} "
              f"{epoch_min:>12.1f}")
    print("\nepoch estimate = 50,000 training images at the trainer's rate + 10,000 test images "
          "at the eval rate (channels_last, batch 500).")
    ratios = {w: s["ratio"] for w, s in summary.items() if s["ratio"]}
    verdict = "met" if ratios and min(ratios.values()) >= 2 else "NOT met"
    listed = ", ".join(f"width {w}: {r:.2f}x" for w, r in ratios.items())
    print(f"target >= 2x: {verdict} ({listed})")
    if args.json:
        write_json(args.json, {"args": vars(args), "provenance": prov, "matmul_peak_gflops": peak,
                               "widths": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
