"""A tiny offline data set for smoke tests: scikit-learn's handwritten digits (1,797 8x8 images).

It ships inside scikit-learn, so tests and ``smoke=True`` runs need no download. Images are
upsampled (bilinear) to ``image_size`` and repeated to 3 channels so that the CIFAR models run
on them unchanged. Every fifth image (by index) is the test set: 1,437 train / 360 test.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import ImageDataset


def load_digits_dataset(image_size: int = 16, channels: int = 3) -> ImageDataset:
    """The digits as uint8 (N, image_size, image_size, channels) tensors, 10 classes."""
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 8:
        raise ValueError(f"image_size: got {image_size!r}; allowed: an integer >= 8")
    if channels not in (1, 3):
        raise ValueError(f"channels: got {channels!r}; allowed: 1 or 3")
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) * (255.0 / 16.0))[:, None]  # (N, 1, 8, 8)
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)  # (N, H, W, 1)
    x = x.repeat(1, 1, 1, channels).contiguous()
    y = torch.from_numpy(d.target.astype(np.int64))
    test = torch.arange(len(y)) % 5 == 0
    return ImageDataset(
        name=f"digits{image_size}",
        classes=[str(i) for i in range(10)],
        train_images=x[~test].clone(),
        train_labels=y[~test].clone(),
        test_images=x[test].clone(),
        test_labels=y[test].clone(),
        info={"source": "sklearn.datasets.load_digits"},
    )
