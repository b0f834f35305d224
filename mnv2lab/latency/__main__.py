"""The child process of :func:`mnv2lab.latency.child.time_in_child`: ``python -m mnv2lab.latency
JOB OUT`` times the configurations in JOB (JSON) under the OpenMP default wait policy and writes
one measured dict per configuration to OUT."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import OMP_WAIT_POLICY
from .breakdown import op_breakdown
from .child import TIMING_WAIT_POLICY
from .config import LatencyConfig
from .timing import measure, measure_interleaved


def main(argv: list[str]) -> int:
    if OMP_WAIT_POLICY != TIMING_WAIT_POLICY:
        raise SystemExit(
            f"latency child: OpenMP wait policy {OMP_WAIT_POLICY!r}; timings need "
            f"{TIMING_WAIT_POLICY!r} (run through time_in_child)"
        )
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    configs = [LatencyConfig(**c) for c in job["configs"]]
    options = job["options"]
    if job["kind"] == "measure":
        out = [measure(c) for c in configs]
    elif job["kind"] == "interleaved":
        out = measure_interleaved(configs, **options)
    else:
        out = [op_breakdown(c, **options) for c in configs]
    Path(argv[1]).write_text(json.dumps(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
