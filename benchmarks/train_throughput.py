"""Training throughput: the mnv2lab trainer vs a naive PyTorch baseline, side by side in one run.

All sides train the same MobileNetV2 (same width, ``small_input``, seed, global batch size and SGD
with momentum 0.9 and weight decay 4e-5) on the real CIFAR-10 (shared JPEG tarball, 32x32) on the
same cores:

* trainer: ``mnv2lab.train.train`` as the studies call it: uint8 data in memory, batched crop/flip
  and normalization on tensors, channels_last model and input, foreach optimizer.
* baseline: what a first PyTorch script does: an eager NCHW model and a per-sample ``Dataset``
  (PIL image -> pad 4 + random crop + random flip -> tensor -> normalize, as torchvision's
  CIFAR10 + transforms do) behind a ``DataLoader(shuffle=True, num_workers=0)``, and
  ``torch.optim.SGD(model.parameters(), ...)`` with its defaults.
* trainer DDP (``--no-ddp`` skips it): the trainer's scale-out mode, what ``torchrun
  --nproc_per_node 2 -m mnv2lab.train`` runs: 2 rank processes x 1 thread, DistributedDataParallel
  over gloo, each rank 64 of the 128 images of a step (``benchmarks/lockstep.py`` builds it with
  the trainer's own functions). BatchNorm statistics are per rank (64 images), so its numerics
  differ from the single-process sides; for small tensors 1 thread per process scales better than
  2 threads in one process.

The machine may be shared, so the sides alternate single training steps, the order cycling
through the rotations and reversed rotations (A B, B A, A B, ...; with three sides ABC, BCA, CAB,
CBA, ACB, BAC): load from other users hits all alike. The DDP ranks are child processes that block
on a pipe until the parent asks for a step, and the parent blocks while they run, so only one side computes at a time.
images/s = timed images / summed wall-clock seconds of that side's steps (warm-up excluded); a DDP
step's wall time is the parent's clock from sending "step" to the last rank's answer (both ranks'
work plus a pipe round trip, about a millisecond). The ratio per CPU-second (process CPU time;
for DDP summed over the ranks) is printed too, as it is less sensitive to other users. The
trainer side runs the trainer's own per-step code (``BatchSource`` + ``train_step``, as
``train()`` does); a short run through the public ``train()`` is printed as a cross-check.

FLOP convention: a training step costs 3x the forward multiply-adds (forward, backward w.r.t.
inputs, backward w.r.t. weights), and one multiply-add is 2 FLOPs, so FLOP/image = 6 x MAdds.
MAdds count conv and linear layers only (BN, activations and the optimizer are left out), so the
achieved GFLOP/s understates the work done. The peak is a float32 matrix multiply (2 n^3 FLOPs),
best of several, at the same thread count.

The study's mode against today's (issue 13), per epoch of CIFAR-10 (50,000 training images,
390 steps of 128) *including evaluation*: today's one-process trainer (1 process x all threads,
10,000 test images evaluated every half epoch) against the mode of the long-budget study (2 DDP
ranks x 1 thread, each rank evaluating its half of the 10,000 every ``--study-eval-every``
epochs). Epoch seconds = 390 x the mean interleaved step time of that side + evaluations per epoch
x the evaluation time: one process evaluating 10,000 images with all threads, or one rank
evaluating 5,000 with 1 thread (the ranks evaluate their halves at the same time, each on its own
core). The two evaluation timings are interleaved too. The target: >= 2x.

Usage: python benchmarks/train_throughput.py [--widths 0.35 0.5] [--pairs 24] [--threads N]
       [--no-ddp] [--ddp-ranks 2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
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
from mnv2lab.train.engine import BatchSource, execution_settings, train_step  # noqa: E402
from mnv2lab.train.optim import make_optimizer  # noqa: E402

from lockstep import LockstepRanks  # noqa: E402  (benchmarks/lockstep.py, beside this script)

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
        self.model = build_model(
            "mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input
        ).train()
        self.opt = torch.optim.SGD(
            self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
        )
        data = NaiveCifar(ds.train_images.numpy(), ds.train_labels.numpy(), ds.mean, ds.std)
        self.loader = torch.utils.data.DataLoader(
            data, batch_size=batch, shuffle=True, drop_last=True, num_workers=0
        )
        self.it = iter(self.loader)
        self.crit = torch.nn.CrossEntropyLoss()

    def step(self) -> None:
        x, y = next(self.it)
        loss = self.crit(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


# --- the trainer --------------------------------------------------------------------------------


def trainer_config(
    width: float,
    small_input: bool,
    batch: int,
    warmup: int,
    steps: int,
    seed: int,
    threads: int,
    train_subset: int | None = None,
) -> TrainConfig:
    return TrainConfig(
        model="mobilenet_v2",
        model_kwargs={"width_mult": width, "small_input": small_input},
        dataset="cifar10-jpeg",
        train_subset=train_subset or batch * (warmup + steps),
        test_subset=100,
        batch_size=batch,
        epochs=1,
        eval_every_steps=warmup,
        optimizer="sgd",
        lr=LR,
        momentum=MOMENTUM,
        weight_decay=WEIGHT_DECAY,
        schedule="constant",
        augment=True,
        device="cpu",
        threads=threads,
        seed=seed,
        study="benchmark",
    )


class TrainerSide:
    """The trainer's own step: ``engine.BatchSource`` (uint8 in memory, batched crop/flip and
    normalization) + ``engine.train_step`` on a channels_last model with the trainer's optimizer,
    under the trainer's execution settings. ``train()`` runs exactly this per step."""

    name = "trainer"

    def __init__(self, ds, width: float, small_input: bool, batch: int, seed: int) -> None:
        self.cfg = trainer_config(
            width,
            small_input,
            batch,
            1,
            1,
            seed,
            torch.get_num_threads(),
            train_subset=len(ds.train_labels),
        )
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


class DDPSide:
    """The trainer under DDP: ``ranks`` child processes x 1 thread, gloo, stepping on command
    (``benchmarks/lockstep.py``). Wall time: the parent's round trip; CPU time: summed over
    ranks."""

    name = "ddp"

    def __init__(self, width: float, small_input: bool, batch: int, seed: int, ranks: int) -> None:
        cfg = trainer_config(width, small_input, batch, 1, 1, seed, threads=1)
        cfg = dataclasses.replace(cfg, train_subset=None)  # all 50,000, as the trainer side
        self.ranks = LockstepRanks(cfg, world_size=ranks)
        self.rank_max_wall: list[float] = []

    def __enter__(self) -> "DDPSide":
        self.ranks.start()
        return self

    def __exit__(self, *exc) -> None:
        self.ranks.close()

    def timed_step(self) -> tuple[float, float]:
        t = self.ranks.run(1)
        self.rank_max_wall.append(max(t.rank_wall_s))
        return t.wall_s, t.cpu_s


def timed_step(side) -> tuple[float, float]:
    """(wall, CPU) seconds of one training step of ``side``."""
    if hasattr(side, "timed_step"):
        return side.timed_step()
    w, c = time.perf_counter(), time.process_time()
    side.step()
    return time.perf_counter() - w, time.process_time() - c


def trainer_images_per_s(cfg: TrainConfig, run_dir: Path) -> float:
    """Cross-check through the public ``train()`` (timed intervals after the first)."""
    res = train(cfg, progress=False, resume=False, run_directory=run_dir)
    timed = res.history[1:]
    images = [(h["step"] - prev["step"]) * cfg.batch_size for prev, h in zip(res.history, timed)]
    seconds = [n / h["images_per_s"] for n, h in zip(images, timed)]
    return sum(images) / sum(seconds)


def interleaved(sides: list, warmup: int, pairs: int) -> dict[str, dict[str, list[float]]]:
    """Alternate single steps of the sides, the order cycling through the rotations and then the
    reversed rotations (A B, B A; A B C, B C A, C A B, C B A, A C B, B A C), so that load from
    other users of the machine hits all alike; return per-step wall and CPU seconds of each side."""
    times = {s.name: {"wall": [], "cpu": []} for s in sides}
    for s in sides:
        for _ in range(warmup):
            timed_step(s)
    orders: list[list] = []
    for reverse, k in itertools.product((False, True), range(len(sides))):
        order = sides[k:] + sides[:k]
        if (order := order[::-1] if reverse else order) not in orders:
            orders.append(order)
    for i in range(pairs):
        for s in orders[i % len(orders)]:
            wall, cpu = timed_step(s)
            times[s.name]["wall"].append(wall)
            times[s.name]["cpu"].append(cpu)
    return times


def eval_seconds_interleaved(
    ds, width: float, small_input: bool, threads: int, rounds: int = 3, n: int = 2000
) -> dict[str, float]:
    """Seconds to evaluate n images in one process with ``threads`` threads ("trainer") and with 1
    thread ("rank"), alternating, median of ``rounds``; returned per image."""
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input)
    model = model.to(memory_format=torch.channels_last)
    x, y = ds.test_images[:n], ds.test_labels[:n]
    per_image: dict[str, list[float]] = {"trainer": [], "rank": []}
    for r in range(rounds + 1):
        for name, t in (("trainer", threads), ("rank", 1))[:: 1 if r % 2 else -1]:
            torch.set_num_threads(t)
            start = time.perf_counter()
            evaluate(model, x, y, ds, True)
            if r:  # round 0 is warm-up
                per_image[name].append((time.perf_counter() - start) / n)
    torch.set_num_threads(threads)
    return {k: statistics.median(v) for k, v in per_image.items()}


def study_mode_epoch(
    row: dict,
    eval_per_image: dict[str, float],
    ranks: int,
    today_eval_every: float,
    study_eval_every: float,
    batch: int,
    train_images: int = 50_000,
    test_images: int = 10_000,
) -> dict:
    """Seconds per epoch (training + evaluation) of today's one-process trainer and of the study's
    mode (DDP ranks x 1 thread), from the interleaved step times, and their ratio."""
    steps = train_images // batch
    today_train = steps * batch / row["trainer"]["images_per_s"]
    study_train = steps * batch / row["ddp"]["images_per_s"]
    today_eval = test_images * eval_per_image["trainer"] / today_eval_every
    study_eval = test_images / ranks * eval_per_image["rank"] / study_eval_every
    out = {
        "today_s": today_train + today_eval,
        "today_train_s": today_train,
        "today_eval_s": today_eval,
        "study_s": study_train + study_eval,
        "study_train_s": study_train,
        "study_eval_s": study_eval,
        "today_eval_every_epochs": today_eval_every,
        "study_eval_every_epochs": study_eval_every,
    }
    out["ratio"] = out["today_s"] / out["study_s"]
    out["ratio_training_only"] = today_train / study_train
    return out


def eval_images_per_s(ds, width: float, small_input: bool, threads: int, n: int = 1000) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", width_mult=width, num_classes=10, small_input=small_input)
    model = model.to(memory_format=torch.channels_last)
    evaluate(model, ds.test_images[:500], ds.test_labels[:500], ds, True)  # warm-up
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
        total += (
            out.numel()
            // out.shape[0]
            * (m.in_channels // m.groups)
            * m.kernel_size[0]
            * m.kernel_size[1]
        )

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
    return 2 * n**3 / best / 1e9


# --- main ---------------------------------------------------------------------------------------


def side_labels(threads: int, ranks: int) -> dict[str, str]:
    return {
        "trainer": f"trainer, 1 process x {threads} threads",
        "ddp": f"trainer, {ranks} ranks x 1 thread (DDP, gloo)",
        "baseline": f"baseline (eager NCHW, DataLoader), {threads} threads",
    }


def summarize(t: dict[str, dict[str, list[float]]], batch: int, madds: int) -> dict:
    """images/s, images per CPU-second and GFLOP/s per side; ratios vs the baseline."""
    row: dict = {"madds": madds}
    for name, tt in t.items():
        n = len(tt["wall"]) * batch
        row[name] = {
            "images_per_s": n / sum(tt["wall"]),
            "images_per_cpu_s": n / sum(tt["cpu"]),
            "gflops": n / sum(tt["wall"]) * 6 * madds / 1e9,
        }
    if "baseline" in t:
        base = row["baseline"]
        for name in t:
            if name == "baseline":
                continue
            r = row[name]
            pair = [b / a for a, b in zip(t[name]["wall"], t["baseline"]["wall"])]
            q = statistics.quantiles(pair, n=10) if len(pair) > 1 else pair * 9
            r["ratio"] = r["images_per_s"] / base["images_per_s"]
            r["ratio_cpu"] = r["images_per_cpu_s"] / base["images_per_cpu_s"]
            r["pair_ratio_median"], r["pair_ratio_p10_p90"] = statistics.median(pair), (q[0], q[-1])
        for key in ("ratio", "ratio_cpu", "pair_ratio_median", "pair_ratio_p10_p90"):
            row[key] = row["trainer"][key]  # top level: the single-process trainer (as before)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.35, 0.5])
    ap.add_argument(
        "--epoch-widths",
        type=float,
        nargs="*",
        default=[1.0],
        help="extra widths measured on the trainer side only, for epoch-time estimates",
    )
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per side")
    ap.add_argument(
        "--pairs",
        type=int,
        default=24,
        help="timed steps per side (alternating rounds; a multiple of 6 balances the "
        "order of three sides)",
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument(
        "--no-ddp",
        dest="ddp",
        action="store_false",
        help="skip the trainer's DDP side (ranks x 1 thread)",
    )
    ap.add_argument(
        "--ddp-ranks", type=int, default=2, help="ranks of the DDP side (1 thread each)"
    )
    ap.add_argument("--no-small-input", dest="small_input", action="store_false")
    ap.add_argument(
        "--no-train-check",
        dest="train_check",
        action="store_false",
        help="skip the cross-check through the public train()",
    )
    ap.add_argument(
        "--today-eval-every",
        type=float,
        default=0.5,
        help="epochs between evaluations of today's one-process study (0.5)",
    )
    ap.add_argument(
        "--study-eval-every",
        type=float,
        default=2.0,
        help="epochs between evaluations in the long-budget study's mode (2.0)",
    )
    ap.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the naive baseline side (faster; the study-mode ratio needs only "
        "the trainer and DDP sides)",
    )
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args()
    if args.ddp and (args.ddp_ranks < 2 or args.batch % args.ddp_ranks):
        ap.error(
            f"--ddp-ranks: got {args.ddp_ranks}; allowed: >= 2 and dividing --batch {args.batch}"
        )
    labels = side_labels(args.threads, args.ddp_ranks)

    prov = provenance()
    load_start = os.getloadavg()[0]
    print(
        f"# {prov['cpu_model']} x{prov['cpu_count']}, torch {prov.get('torch')}, "
        f"commit {prov['git_commit']}, threads {args.threads} "
        f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), batch {args.batch}, "
        f"small_input={args.small_input}, {args.warmup} warm-up + {args.pairs} timed steps per "
        f"side, single steps alternating"
    )
    if args.ddp:
        per_rank = args.batch // args.ddp_ranks
        print(
            f"# DDP side: {labels['ddp']}, global batch {args.batch} = {per_rank} per rank. "
            f"BatchNorm statistics are computed per rank ({per_rank} images), so its numerics "
            f"differ from the single-process sides. Its step time is the parent's wall clock "
            f"from sending 'step' to the last rank's answer; its CPU time is summed over ranks."
        )
    ds = load_dataset("cifar10-jpeg", progress=False)
    peaks = [matmul_peak_gflops(args.threads)]
    print(f"matmul peak (float32, {args.threads} threads): {peaks[0]:.1f} GFLOP/s", flush=True)

    summary: dict[str, dict] = {}
    torch.set_num_threads(args.threads)
    for w in list(args.widths) + [w for w in args.epoch_widths if w not in args.widths]:
        with contextlib.ExitStack() as stack:
            stack.enter_context(execution_settings(torch.device("cpu"), args.threads))
            sides = [TrainerSide(ds, w, args.small_input, args.batch, 0)]
            if w in args.widths:
                if args.ddp:
                    sides.append(
                        stack.enter_context(
                            DDPSide(w, args.small_input, args.batch, 0, args.ddp_ranks)
                        )
                    )
                if args.baseline:
                    sides.append(BaselineSide(ds, w, args.small_input, args.batch, 0))
            t = interleaved(sides, args.warmup, args.pairs)
        row = summarize(t, args.batch, forward_madds(w, args.small_input))
        ddp = next((s for s in sides if s.name == "ddp"), None)
        if ddp is not None:  # what the round trip adds to the slowest rank's own step
            row["ddp"]["round_trip_overhead_ms"] = (
                1000 * (sum(t["ddp"]["wall"]) - sum(ddp.rank_max_wall[args.warmup :])) / args.pairs
            )
        row["eval_images_per_s"] = eval_images_per_s(ds, w, args.small_input, args.threads)
        if "ddp" in row:
            per_image = eval_seconds_interleaved(ds, w, args.small_input, args.threads)
            row["study_mode_epoch"] = study_mode_epoch(
                row,
                per_image,
                args.ddp_ranks,
                args.today_eval_every,
                args.study_eval_every,
                args.batch,
            )
        row["epoch_minutes_estimate"] = (
            50000 / row["trainer"]["images_per_s"] + 10000 / row["eval_images_per_s"]
        ) / 60
        if args.train_check:
            with tempfile.TemporaryDirectory() as tmp:
                cfg = trainer_config(
                    w, args.small_input, args.batch, args.warmup, 8, 0, args.threads
                )
                row["train_check_images_per_s"] = trainer_images_per_s(cfg, Path(tmp))
        summary[str(w)] = row
        msg = [
            f"{name} {row[name]['images_per_s']:.1f} img/s"
            + (f" ({row[name]['ratio']:.2f}x)" if "ratio" in row[name] else "")
            for name in t
        ]
        print(f"  width {w:<5} " + ", ".join(msg), flush=True)
    peaks.append(matmul_peak_gflops(args.threads))
    peak = max(peaks)

    print(
        f"\nmatmul peak: {peak:.1f} GFLOP/s (best of start/end: "
        f"{', '.join(f'{p:.1f}' for p in peaks)})"
    )
    lw = max(len(v) for v in labels.values())
    print(
        f"{'width':>5}  {'side':<{lw}} {'img/s':>8} {'vs baseline':>12} "
        f"{'pair ratio p50 [p10,p90]':>25} {'per CPU-s':>10} {'GFLOP/s':>8} {'% peak':>7}"
    )
    for w, r in summary.items():
        for i, name in enumerate(n for n in ("trainer", "ddp", "baseline") if n in r):
            sr = r[name]
            ratio = pair = cpu_ratio = "-"
            if "ratio" in sr:
                p10, p90 = sr["pair_ratio_p10_p90"]
                ratio, cpu_ratio = f"{sr['ratio']:.2f}x", f"{sr['ratio_cpu']:.2f}x"
                pair = f"{sr['pair_ratio_median']:.2f} [{p10:.2f},{p90:.2f}]"
            print(
                f"{float(w) if i == 0 else '':>5}  {labels[name]:<{lw}} "
                f"{sr['images_per_s']:>8.1f} {ratio:>12} {pair:>25} {cpu_ratio:>10} "
                f"{sr['gflops']:>8.1f} {100 * sr['gflops'] / peak:>6.1f}%"
            )
    print(
        f"\n{'width':>5} {'MAdds/img':>10} {'train() img/s':>14} {'eval img/s':>11} "
        f"{'epoch (min)':>12} {'DDP round trip - slowest rank (ms/step)':>40}"
    )
    for w, r in summary.items():
        rt = r.get("ddp", {}).get("round_trip_overhead_ms")
        print(
            f"{float(w):>5} {r['madds'] / 1e6:>9.1f}M "
            f"{r.get('train_check_images_per_s', float('nan')):>14.1f} "
            f"{r['eval_images_per_s']:>11.1f} {r['epoch_minutes_estimate']:>12.1f} "
            f"{'-' if rt is None else f'{rt:.2f}':>40}"
        )
    print(
        "\nvs baseline = images per wall-clock second / the baseline's; pair ratio = baseline "
        "step time / this side's step time in the same round; per CPU-s = per process CPU "
        "second (DDP: summed over ranks; less sensitive to other users of the machine). "
        "train() img/s: the single-process trainer through train() (8 steps, not interleaved). "
        "Epoch estimate = 50,000 training images at the single-process trainer's rate + "
        "10,000 test images at the eval rate."
    )
    modes = {w: r["study_mode_epoch"] for w, r in summary.items() if "study_mode_epoch" in r}
    if modes:
        print(
            f"\nPer epoch, training + evaluation (issue 13): today's one-process trainer "
            f"({labels['trainer']}, eval every {args.today_eval_every} epochs) vs the study's "
            f"mode ({labels['ddp']}, eval every {args.study_eval_every} epochs)"
        )
        print(
            f"{'width':>5} {'today (s/epoch)':>16} {'study mode (s/epoch)':>21} {'ratio':>6} "
            f"{'training only':>14}"
        )
        for w, m in modes.items():
            print(
                f"{float(w):>5} {m['today_s']:>16.1f} {m['study_s']:>21.1f} "
                f"{m['ratio']:>5.2f}x {m['ratio_training_only']:>13.2f}x"
            )
        verdict = "met" if min(m["ratio"] for m in modes.values()) >= 2 else "NOT met"
        print(
            f"target >= 2x per epoch (study mode vs today's one-process trainer): {verdict} ("
            + ", ".join(f"width {w}: {m['ratio']:.2f}x" for w, m in modes.items())
            + ")"
        )
    for name in ("trainer", "ddp"):
        ratios = {
            w: r[name]["ratio"] for w, r in summary.items() if name in r and "ratio" in r[name]
        }
        if ratios:
            verdict = "met" if min(ratios.values()) >= 2 else "NOT met"
            listed = ", ".join(f"width {w}: {v:.2f}x" for w, v in ratios.items())
            print(f"target >= 2x ({labels[name]}): {verdict} ({listed})")
    if args.json:
        write_json(
            args.json,
            {
                "args": vars(args),
                "provenance": prov,
                "matmul_peak_gflops": peak,
                "load_average_start_end": [load_start, os.getloadavg()[0]],
                "widths": summary,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
