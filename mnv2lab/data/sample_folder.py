"""Write a small ImageNet-style folder of real JPEGs (tests, the data-loading benchmark, examples).

    write_image_folder("/tmp/tiny", classes=3, train_per_class=8, val_per_class=4)
    # /tmp/tiny/train/class0/img000.jpg ... /tmp/tiny/val/class2/img003.jpg

Images differ in size (each side drawn from ``sizes``) and look like smooth photographs (a
colour per class, a random gradient, mild noise), so that JPEG decoding costs what it costs on
natural images and a small model can learn the classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def write_image_folder(
    root: str | os.PathLike,
    *,
    classes: int = 3,
    train_per_class: int = 8,
    val_per_class: int = 4,
    sizes: tuple[int, int] = (40, 120),
    seed: int = 0,
    quality: int = 90,
) -> Path:
    """Create ``root/{train,val}/class<k>/img<i>.jpg``; return ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    hues = np.linspace(0, 1, classes, endpoint=False)
    for split, n in (("train", train_per_class), ("val", val_per_class)):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                w, h = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, size=2))
                _image(rng, w, h, hues[c]).save(folder / f"img{i:03d}.jpg", quality=quality)
    return root


def _image(rng: np.random.Generator, w: int, h: int, hue: float) -> Image.Image:
    base = np.array(
        Image.new("HSV", (1, 1), (int(hue * 255), 200, 200)).convert("RGB"), dtype=np.float32
    ).reshape(3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    direction = rng.normal(size=2)
    ramp = (xx / w * direction[0] + yy / h * direction[1])[..., None] * 60
    pixels = base + ramp + rng.normal(scale=8, size=(h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
