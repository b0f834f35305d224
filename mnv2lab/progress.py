"""Progress bars that can be switched off.

``tqdm.auto`` under papermill saves a widget frozen at 0%, so the suite uses the plain text bar and
lets every long loop take ``progress=False``. ``MNV2LAB_PROGRESS=0`` turns all bars off.
"""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def enabled_by_default() -> bool:
    return os.environ.get("MNV2LAB_PROGRESS", "1").lower() not in {"0", "false", "no", "off"}


def progress(iterable: Iterable[T], *, enabled: bool | None = None, **kwargs) -> Iterable[T]:
    """Wrap ``iterable`` in a text tqdm bar unless progress is disabled."""
    if enabled is None:
        enabled = enabled_by_default()
    return tqdm(
        iterable, disable=not enabled, mininterval=1.0, dynamic_ncols=False, ncols=100, **kwargs
    )
