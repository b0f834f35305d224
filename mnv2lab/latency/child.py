"""Latencies are timed in a fresh child process under the OpenMP default wait policy.

Importing :mod:`mnv2lab` makes OpenMP threads wait passively (it protects training on a shared
machine), and OpenMP reads that once, when torch loads, so a process cannot switch back. For
batch-1 inference on 2 threads passive waiting costs more than the second thread gains on some
CPUs (on an Intel Xeon, MobileNetV2 took 20.5 ms on 2 threads against 9.7 ms on 1;
``results/benchmarks/table4_latency_xeon_passive.json``), and a deployed inference runtime keeps
the default. So every latency (:func:`~mnv2lab.latency.measure`, interleaved series, the time
breakdown) is timed by ``python -m mnv2lab.latency`` (its ``__main__``) with the policy left at
the OpenMP default, whatever the calling process (a notebook's kernel) runs with; an entry
records it in its provenance (``omp_wait_policy: "unset"``) and the cache uses no entry timed
under another policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from .config import LatencyConfig

# The wait policy every latency is timed under (the OpenMP default), as provenance records it.
TIMING_WAIT_POLICY = "unset"
KINDS = ("measure", "interleaved", "breakdown")


def time_in_child(kind: str, configs: Sequence[LatencyConfig], **options) -> list[dict]:
    """Run ``kind`` ("measure": each config alone; "interleaved": the configs as one series;
    "breakdown": each config's time breakdown) in a child process under the OpenMP default
    wait policy; one measured dict (``result`` and ``provenance``) per configuration."""
    if kind not in KINDS:
        raise ValueError(f"kind: got {kind!r}; allowed: one of {list(KINDS)}")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["MNV2LAB_OMP_DEFAULT"] = "1"
    with tempfile.TemporaryDirectory(prefix="mnv2lab-latency-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(
            json.dumps(
                {"kind": kind, "configs": [c.to_dict() for c in configs], "options": options}
            ),
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "mnv2lab.latency", str(job), str(out)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"timing {kind} of {configs[0].label()} ({len(configs)} configuration(s)) in a "
                f"child process failed:\n{proc.stderr[-3000:]}"
            )
        return json.loads(out.read_text(encoding="utf-8"))
