"""Decode image bytes to uint8 RGB arrays with Pillow, in parallel worker processes.

Kept free of torch so that worker processes stay light. Decoding a 32x32 JPEG takes about 60 us,
most of it Python overhead in Pillow, so chunks of about a thousand images go to each worker.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from .errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP")

# One item: (display name, raw bytes or None, file path or None).
Item = tuple[str, bytes | None, str | None]


def _fit(im: Image.Image, size: int) -> Image.Image:
    """Resize the short side to ``size`` (bilinear, antialiased) and crop the centre square."""
    w, h = im.size
    if (w, h) == (size, size):
        return im
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def decode_image(name: str, data: bytes | None, path: str | None, size: int | None) -> np.ndarray:
    """One image as a (H, W, 3) uint8 array; a :class:`DataError` names the file on failure."""
    try:
        if data is None:
            with open(path, "rb") as f:
                data = f.read()
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
            if size is not None and im.format == "JPEG":
                im.draft("RGB", (size, size))  # let libjpeg downscale big images cheaply
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            rgb.load()
            if size is not None:
                rgb = _fit(rgb, size)
            return np.asarray(rgb, dtype=np.uint8).copy()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"cannot read image {name}: {type(e).__name__}: {e}") from None


def decode_chunk(items: Sequence[Item], size: int | None) -> np.ndarray:
    """Decode ``items`` into one (k, H, W, 3) array; without ``size`` all must share one size."""
    arrays = [decode_image(name, data, path, size) for name, data, path in items]
    first = arrays[0].shape
    for (name, _, _), a in zip(items, arrays):
        if a.shape != first:
            raise DataError(
                f"image {name} is {a.shape[1]}x{a.shape[0]} but {items[0][0]} is "
                f"{first[1]}x{first[0]}; pass image_size=N to resize all images to NxN"
            )
    return np.stack(arrays)


def _decode_job(args: tuple[Sequence[Item], int | None]) -> np.ndarray:
    return decode_chunk(*args)


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def decode_all(
    items: Sequence[Item],
    size: int | None,
    *,
    workers: int | None = None,
    chunk: int = 1000,
    on_chunk=None,
) -> np.ndarray:
    """Decode every item (in order) into one (N, H, W, 3) uint8 array, using ``workers``
    processes (default: the number of cores, at most 8) for more than two chunks of work."""
    if not items:
        raise DataError("no images to decode")
    workers = default_workers() if workers is None else workers
    jobs = [(items[i : i + chunk], size) for i in range(0, len(items), chunk)]
    parts: list[np.ndarray] = []
    if workers <= 1 or len(jobs) <= 2:
        results: Iterable[np.ndarray] = map(_decode_job, jobs)
        pool = None
    else:
        # spawned, not forked: this may run inside a DDP rank, whose threads (gloo, OpenMP) can
        # hold a lock at the moment of a fork and leave the child stuck (see data.stream)
        pool = multiprocessing.get_context("spawn").Pool(workers)
        results = pool.imap(_decode_job, jobs)
    try:
        for part in results:
            if parts and part.shape[1:] != parts[0].shape[1:]:
                raise DataError(
                    f"images of different sizes ({parts[0].shape[1]}x{parts[0].shape[2]}"
                    f" and {part.shape[1]}x{part.shape[2]}, first at {jobs[len(parts)][0][0][0]});"
                    " pass image_size=N to resize all images to NxN"
                )
            parts.append(part)
            if on_chunk is not None:
                on_chunk(len(part))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
