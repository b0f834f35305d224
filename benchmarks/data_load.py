"""Loading the real CIFAR-10 (60,000 JPEGs in the shared tarball): first load (stream the tarball,
decode in parallel, write the verified uint8 cache) vs a cached load, and parallel vs one-process
decoding, side by side in one run. Each first load uses a fresh, temporary cache folder.

Usage: python benchmarks/data_load.py [--source PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnv2lab.data import load_image_folder  # noqa: E402
from mnv2lab.data.decode import default_workers  # noqa: E402
from mnv2lab.paths import shared_data  # noqa: E402
from mnv2lab.provenance import cpu_model  # noqa: E402


def first_load(source: Path, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNV2LAB_CACHE"] = tmp
        t = time.perf_counter()
        ds = load_image_folder(source, workers=workers, progress=False)
        total = time.perf_counter() - t
        cached = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            again = load_image_folder(source, progress=False)
            cached.append(time.perf_counter() - t)
        size = Path(again.info["cache"]).stat().st_size
    return {
        "total": total,
        "read": ds.info["read_s"],
        "decode": ds.info["decode_s"],
        "cached": statistics.median(cached),
        "cache_mb": size / 1e6,
        "n": len(ds.train_labels) + len(ds.test_labels),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=str(shared_data("cifar10-jpeg.tar.gz")))
    ap.add_argument("--repeats", type=int, default=3, help="cached loads to time (median)")
    args = ap.parse_args()
    source = Path(args.source)
    print(f"# {cpu_model()} x{os.cpu_count()}, source {source}")
    rows = {
        f"parallel ({default_workers()} processes)": first_load(source, None),
        "one process": first_load(source, 1),
    }
    print(
        f"{'decoding':<24} {'images':>7} {'read s':>7} {'decode s':>9} {'first load s':>13} "
        f"{'cached load s':>14} {'cache MB':>9}"
    )
    for name, r in rows.items():
        print(
            f"{name:<24} {r['n']:>7} {r['read']:>7.2f} {r['decode']:>9.2f} {r['total']:>13.2f} "
            f"{r['cached']:>14.2f} {r['cache_mb']:>9.0f}"
        )
    par, one = rows[next(iter(rows))], rows["one process"]
    print(
        f"parallel decoding speed-up: {one['decode'] / par['decode']:.2f}x; cached load is "
        f"{par['total'] / par['cached']:.0f}x faster than the first load"
    )
