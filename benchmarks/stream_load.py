"""The streaming loader (mnv2lab.data.stream) vs the in-memory path, at 224x224, in one run.

A temporary ImageNet-style folder of real JPEGs is written first (``--images`` images with sides
drawn from 300-500 px, about ImageNet's typical 400x350, quality 90; smooth synthetic photographs,
see mnv2lab.data.sample_folder). Then, each for about ``--seconds`` seconds:

* per worker: one process doing what one DataLoader worker does (``TrainBatches[step]``: open,
  random-resized crop + flip, resize to 224, for each image of a batch; ``EvalBatches``: resize
  + centre crop): decoded images/s of a single worker;
* the trainer's streamed source with W worker processes (``StreamSource.get``: decoding in the
  workers, uint8 batch to the model's float input in the main process): images/s delivered;
* the in-memory path at 224 (``BatchSource.get``: images already decoded to uint8 224x224 in
  memory, batched crop/flip + normalization): images/s delivered.

The machine may be shared: other users' load changes the wall-clock rates (images/s), so the
rate per CPU-second of this process and its worker processes (``resource.getrusage``, workers
counted once they have exited) is printed too: on an idle core the two agree, and the latter is
the number to scale from (decoded images/s of one worker on one free core).

Usage: python benchmarks/stream_load.py [--images 256] [--batch 32] [--seconds 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from mnv2lab.data import load_image_folder  # noqa: E402
from mnv2lab.data.sample_folder import write_image_folder  # noqa: E402
from mnv2lab.data.stream import EvalBatches, FolderIndex, StreamSource, TrainBatches  # noqa: E402
from mnv2lab.provenance import cpu_model  # noqa: E402
from mnv2lab.train import TrainConfig  # noqa: E402
from mnv2lab.train.engine import BatchSource  # noqa: E402


def cpu_seconds() -> float:
    """CPU seconds of this process and of its exited children (the loader's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, n_per_call: int, seconds: float, close=None, ahead: int = 0) -> tuple[float, float]:
    """(images per wall second, images per CPU second) of calling ``fn(i)`` for i = 0, 1, ...
    for about ``seconds``; the first call is excluded, ``close()`` (stopping workers, so that
    their CPU time is counted) is included, and so are ``ahead`` images decoded ahead but never
    used (the loader's prefetch: 2 batches per worker) in the per-CPU rate."""
    fn(0)
    count, i = 0, 1
    start, cpu = time.perf_counter(), cpu_seconds()
    while time.perf_counter() - start < seconds:
        fn(i)
        count += n_per_call
        i += 1
    wall = time.perf_counter() - start
    if close is not None:
        close()
    return count / wall, (count + ahead) / (cpu_seconds() - cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=256, help="training images in the folder")
    ap.add_argument("--batch", type=int, default=32, help="images per batch (one rank)")
    ap.add_argument("--seconds", type=float, default=8.0, help="time per measurement")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(
        f"# {cpu_model()} x{os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
        f"torch threads 1, batch {args.batch}, 224x224"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNV2LAB_CACHE"] = str(Path(tmp) / "cache")
        t = time.perf_counter()
        root = write_image_folder(
            Path(tmp) / "folder",
            classes=4,
            train_per_class=args.images // 4,
            val_per_class=args.batch // 4,
            sizes=(300, 500),
        )
        size_mb = sum(p.stat().st_size for p in root.rglob("*.jpg")) / 1e6
        print(
            f"folder: {args.images} + {args.batch} JPEGs, {size_mb:.1f} MB, written in "
            f"{time.perf_counter() - t:.1f} s"
        )
        index = FolderIndex.scan(root)
        rows = []
        train = TrainBatches(index, seed=0, batch_size=args.batch, size=224)
        rows.append(
            (
                "one worker, training transform (decode + crop + flip + resize)",
                timed(lambda i: train[i % (4 * train.steps_per_epoch)], args.batch, args.seconds),
            )
        )
        evals = EvalBatches(index, batch_size=args.batch, size=224)
        rows.append(
            (
                "one worker, evaluation transform (decode + resize + centre crop)",
                timed(lambda i: evals[0], args.batch, args.seconds),
            )
        )
        for w in args.workers:
            source = StreamSource(
                index,
                seed=0,
                batch_size=args.batch,
                epochs=1000,
                device=torch.device("cpu"),
                size=224,
                workers=w,
            )
            rows.append(
                (
                    f"streamed source, {w} worker process(es), to model input",
                    timed(
                        source.get, args.batch, args.seconds, source.close, ahead=2 * w * args.batch
                    ),
                )
            )
        ds = load_image_folder(root, image_size=224, progress=False)
        cfg = TrainConfig(batch_size=args.batch, crop_padding=28)  # 12.5%, as 4 px of 32
        memory = BatchSource(ds, cfg, torch.device("cpu"))
        rows.append(
            (
                "in-memory path (uint8 224x224 held), crop + flip, to model input",
                timed(memory.get, args.batch, args.seconds),
            )
        )
    width = max(len(name) for name, _ in rows)
    print(f"{'':<{width}}  {'images/s':>9} {'images/CPU-s':>13}")
    for name, (rate, per_cpu) in rows:
        print(f"{name:<{width}}  {rate:9.0f} {per_cpu:13.0f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
