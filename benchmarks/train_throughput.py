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

The machine may be shared, so the two sides live in one process and alternate single training
steps (A B, B A, A B, ...): load from other users hits both alike. images/s = timed images / summed
wall-clock seconds of that side's steps (warm-up excluded); the ratio per CPU-second (process CPU
time) is printed too, as it is less sensitive to other users. The trainer side runs the trainer's
own per-step code (``BatchSource`` + ``train_step``, as ``train()`` does); a short run through the
public ``train()`` is printed as a cross-check.

FLOP convention: a training step costs 3x the forward multiply-adds (forward, backward w.r.t.
inputs, backward w.r.t. weights), and one multiply-add is 2 FLOPs, so FLOP/image = 6 x MAdds.
MAdds count conv and linear layers only (BN, activations and the optimizer are left out), so the
achieved GFLOP/s understates the work done. The peak is a float32 matrix multiply (2 n^3 FLOPs),
best of several, at the same thread count.

Usage: python benchmarks/train_throughput.py [--widths 0.35 0.5] [--pairs 24] [--threads N]
"""

from __future__ import annotations

import argparse
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
from mnv2lab.train import build as train_build  # noqa: E402
from mnv2lab.train.engine import BatchSource, _execution_settings, train_step  # noqa: E402
from mnv2lab.train.optim import make_optimizer  # noqa: E402

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


class BaselineSide:
    """Eager NCHW model, per-sample Dataset + DataLoader(num_workers=0), default torch SGD."""

    name = "baseline"

    def __init__(self, ds, width: float, small_input: bool, batch: int, seed: int) -> None:
        torch.manual_seed(seed)
        random.seed(seed)
        self.model = build_model("mobilenet_v2", width_mult=width, num_classes=10,
                                 small_input=small_input).train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM,
                                   weight_decay=WEIGHT_DECAY)
        data = NaiveCifar(ds.train_images.numpy(), ds.train_labels.numpy(), ds.mean, ds.std)
        self.loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True,
                                                  drop_last=True, num_workers=0)
        self.it = iter(self.loader)
        self.crit = torch.nn.CrossEntropyLoss()

    def step(self) -> None:
        x, y = next(self.it)
        loss = self.crit(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


# --- the trainer --------------------------------------------------------------------------------

def trainer_config(width: float, small_input: bool, batch: int, warmup: int, steps: int,
                   seed: int, threads: int, train_subset: int | None = None) -> TrainConfig:
    return TrainConfig(
        model="mobilenet_v2", model_kwargs={"width_mult": width, "small_input": small_input},
        dataset="cifar10-jpeg", train_subset=train_subset or batch * (warmup + steps),
        test_subset=100, batch_size=batch, epochs=1, eval_every_steps=warmup, optimizer="sgd",
        lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, schedule="constant", augment=True,
        device="cpu", threads=threads, seed=seed, study="benchmark")


class TrainerSide:
    """The trainer's own step: ``engine.BatchSource`` (uint8 in memory, batched crop/flip and
    normalization) + ``engine.train_step`` on a channels_last model with the trainer's optimizer,
    under the trainer's execution settings. ``train()`` runs exactly this per step."""

    name = "trainer"

    def __init__(self, ds, width: float, small_input: bool, batch: int, seed: int) -> None:
        self.cfg = trainer_config(width, small_input, batch, 1, 1, seed, torch.get_num_threads(),
                                  train_subset=len(ds.train_labels))
        torch.manual_seed(seed)
        self.model = train_build(self.cfg.model, 10, self.cfg.model_kwargs)
        self.model = self.model.to(memory_format=torch.channels_last).train()
        self.opt = make_optimizer(self.cfg, self.model)
        self.crit = torch.nn.CrossEntropyLoss()
        self.batches = BatchSource(ds, self.cfg, torch.device("cpu"))
        self.i = 0

    def step(self) -> None:
        x, y = self.batches.get(self.i)
        train_step(self.model, self.opt, self.crit, x, y, LR)
        self.i += 1


def trainer_images_per_s(cfg: TrainConfig, run_dir: Path) -> float:
    """Cross-check through the public ``train()`` (timed intervals after the first)."""
    res = train(cfg, progress=False, resume=False, run_directory=run_dir)
    timed = res.history[1:]
    images = [(h["step"] - prev["step"]) * cfg.batch_size for prev, h in zip(res.history, timed)]
    seconds = [n / h["images_per_s"] for n, h in zip(images, timed)]
    return sum(images) / sum(seconds)


def interleaved(sides: list, warmup: int, pairs: int) -> dict[str, dict[str, list[float]]]:
    """Alternate single steps of the sides (A B, B A, A B, ...) so that load from other users
    of the machine hits both alike; return per-step wall and CPU seconds of each side."""
    times = {s.name: {"wall": [], "cpu": []} for s in sides}
    for s in sides:
        for _ in range(warmup):
            s.step()
    for i in range(pairs):
        for s in (sides if i % 2 == 0 else sides[::-1]):
            w, c = time.perf_counter(), time.process_time()
            s.step()
            times[s.name]["wall"].append(time.perf_counter() - w)
            times[s.name]["cpu"].append(time.process_time() - c)
    return times


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
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per side")
    ap.add_argument("--pairs", type=int, default=24, help="timed steps per side (alternating)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-small-input", dest="small_input", action="store_false")
    ap.add_argument("--no-train-check", dest="train_check", action="store_false",
                    help="skip the cross-check through the public train()")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args()

    prov = provenance()
    print(f"# {prov['cpu_model']} x{prov['cpu_count']}, torch {prov.get('torch')}, "
          f"commit {prov['git_commit']}, threads {args.threads} "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), batch {args.batch}, "
          f"small_input={args.small_input}, {args.warmup} warm-up + {args.pairs} timed steps per "
          f"side, single steps alternating")
    ds = load_dataset("cifar10-jpeg", progress=False)
    peaks = [matmul_peak_gflops(args.threads)]
    print(f"matmul peak (float32, {args.threads} threads): {peaks[0]:.1f} GFLOP/s", flush=True)

    summary: dict[str, dict] = {}
    torch.set_num_threads(args.threads)
    for w in list(args.widths) + [w for w in args.epoch_widths if w not in args.widths]:
        with _execution_settings(torch.device("cpu"), args.threads):
            sides = [TrainerSide(ds, w, args.small_input, args.batch, 0)]
            if w in args.widths:
                sides.append(BaselineSide(ds, w, args.small_input, args.batch, 0))
            t = interleaved(sides, args.warmup, args.pairs)
        madds = forward_madds(w, args.small_input)
        row = {"madds": madds}
        for name, tt in t.items():
            n = len(tt["wall"]) * args.batch
            row[name] = {"images_per_s": n / sum(tt["wall"]),
                         "images_per_cpu_s": n / sum(tt["cpu"]),
                         "gflops": n / sum(tt["wall"]) * 6 * madds / 1e9}
        if "baseline" in t:
            ratios = [b / a for a, b in zip(t["trainer"]["wall"], t["baseline"]["wall"])]
            row["ratio"] = row["trainer"]["images_per_s"] / row["baseline"]["images_per_s"]
            row["ratio_cpu"] = (row["trainer"]["images_per_cpu_s"]
                                / row["baseline"]["images_per_cpu_s"])
            q = statistics.quantiles(ratios, n=10)
            row["pair_ratio_median"], row["pair_ratio_p10_p90"] = statistics.median(ratios), (q[0], q[-1])
        row["eval_images_per_s"] = eval_images_per_s(ds, w, args.small_input, args.threads)
        row["epoch_minutes_estimate"] = (50000 / row["trainer"]["images_per_s"]
                                         + 10000 / row["eval_images_per_s"]) / 60
        if args.train_check:
            with tempfile.TemporaryDirectory() as tmp:
                cfg = trainer_config(w, args.small_input, args.batch, args.warmup, 8, 0,
                                     args.threads)
                row["train_check_images_per_s"] = trainer_images_per_s(cfg, Path(tmp))
        summary[str(w)] = row
        tr = row["trainer"]
        msg = f"  width {w:<5} trainer {tr['images_per_s']:7.1f} img/s"
        if "baseline" in row:
            msg += (f", baseline {row['baseline']['images_per_s']:7.1f} img/s, "
                    f"ratio {row['ratio']:.2f}x")
        print(msg, flush=True)
    peaks.append(matmul_peak_gflops(args.threads))
    peak = max(peaks)

    print(f"\nmatmul peak: {peak:.1f} GFLOP/s (best of start/end: "
          f"{', '.join(f'{p:.1f}' for p in peaks)})")
    print(f"{'width':>5} {'MAdds/img':>10} {'trainer img/s':>14} {'baseline img/s':>15} "
          f"{'ratio':>6} {'pair ratio p50 [p10,p90]':>25} {'ratio per CPU-s':>16} "
          f"{'trainer GFLOP/s':>16} {'% peak':>7} {'baseline GFLOP/s':>17} {'train() img/s':>14} "
          f"{'eval img/s':>11} {'epoch (min)':>12}")
    for w, r in summary.items():
        tr, bl = r["trainer"], r.get("baseline")
        if bl:
            p10, p90 = r["pair_ratio_p10_p90"]
            b_ips, ratio = f"{bl['images_per_s']:.1f}", f"{r['ratio']:.2f}x"
            pair = f"{r['pair_ratio_median']:.2f} [{p10:.2f},{p90:.2f}]"
            cpu_ratio, b_gf = f"{r['ratio_cpu']:.2f}x", f"{bl['gflops']:.1f}"
        else:
            b_ips = ratio = pair = cpu_ratio = b_gf = "-"
        print(f"{float(w):>5} {r['madds'] / 1e6:>9.1f}M {tr['images_per_s']:>14.1f} {b_ips:>15} "
              f"{ratio:>6} {pair:>25} {cpu_ratio:>16} {tr['gflops']:>16.1f} "
              f"{100 * tr['gflops'] / peak:>6.1f}% {b_gf:>17} "
              f"{r.get('train_check_images_per_s', float('nan')):>14.1f} "
              f"{r['eval_images_per_s']:>11.1f} {r['epoch_minutes_estimate']:>12.1f}")
    print("\nratio = trainer/baseline images per wall-clock second; per CPU-s = per process CPU "
          "second (less sensitive to other users of the machine). train() img/s: the same "
          "trainer through train() (8 steps, not interleaved). Epoch estimate = 50,000 training "
          "images at the trainer's rate + 10,000 test images at the eval rate.")
    ratios = {w: r["ratio"] for w, r in summary.items() if "ratio" in r}
    verdict = "met" if ratios and min(ratios.values()) >= 2 else "NOT met"
    listed = ", ".join(f"width {w}: {r:.2f}x" for w, r in ratios.items())
    print(f"target >= 2x: {verdict} ({listed})")
    if args.json:
        write_json(args.json, {"args": vars(args), "provenance": prov, "matmul_peak_gflops": peak,
                               "widths": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
