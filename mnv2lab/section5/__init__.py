"""Section 5 of the paper (memory-efficient inference: a bottleneck computed in t slices of its
expanded channels) in one place:

* :mod:`.analytic`: the memory a sliced bottleneck needs on paper (16-bit, Table 3's kB) and
  :func:`sliced_forward`, the same output at the same multiply-adds;
* :mod:`mnv2lab.memory_efficient`: the executor that runs the whole MobileNetV2 in slices (kept
  at its path: the measurement caches fingerprint its source);
* :mod:`mnv2lab.memory_probe`: peak memory of a forward pass, measured in fresh processes (same);
* :mod:`.measured`: peak memory and latency against the number of slices, cached in
  ``results/``, and the finding.
"""

from ..memory_efficient import (
    SLICES,
    MemoryEfficientMobileNetV2,
    analytic_peak_bytes,
    run_bottleneck,
)
from ..memory import bottleneck_memory
from .analytic import (
    TABLE3_TENSOR,
    UNSLICED_TIGHTEST,
    section5_summary,
    sliced_forward,
    sliced_memory_table,
)
from .measured import (
    MAX_SLOWDOWN,
    MB,
    MEMORY_CUT,
    MEMORY_PATH_FILES,
    finding,
    latency_configs,
    latency_table,
    memory_configs,
    memory_dir,
    memory_fingerprint,
    memory_table,
    verdict,
)

__all__ = [
    "SLICES",
    "MemoryEfficientMobileNetV2",
    "analytic_peak_bytes",
    "run_bottleneck",
    "bottleneck_memory",
    "sliced_forward",
    "sliced_memory_table",
    "TABLE3_TENSOR",
    "UNSLICED_TIGHTEST",
    "section5_summary",
    "MAX_SLOWDOWN",
    "MB",
    "MEMORY_CUT",
    "MEMORY_PATH_FILES",
    "finding",
    "latency_configs",
    "latency_table",
    "memory_configs",
    "memory_dir",
    "memory_fingerprint",
    "memory_table",
    "verdict",
]
