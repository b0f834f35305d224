"""mnv2lab: reproduce, check and extend the analyses of MobileNetV2 (Sandler et al., CVPR 2018).

The package holds all logic; the notebooks in ``notebooks/`` are thin narrative wrappers around it.

The one process-wide setting: importing ``mnv2lab`` (any module of it: Python runs this file
first) sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already sets it. OpenMP reads it
once, when torch loads, so it has to happen here, before any module imports torch. Why: on a
shared machine, OpenMP threads that spin-wait for a descheduled partner made 2-thread training
5-10x slower than 1 thread; with passive waiting 2 threads are never much worse than 1. Latency
measurements are the exception: they are timed in a child process under the OpenMP default
(``MNV2LAB_OMP_DEFAULT=1``, :mod:`mnv2lab.latency.child`) and record the policy in force
(:data:`OMP_WAIT_POLICY`).
"""

import os
import sys

__version__ = "0.1.0"

# MNV2LAB_OMP_DEFAULT=1 leaves the OpenMP default in place: latencies are timed in a child process
# that sets it (mnv2lab.latency.child), because for batch-1 inference on 2 threads passive waiting
# can cost more than the second thread gains.
if os.environ.get("MNV2LAB_OMP_DEFAULT") != "1":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The policy OpenMP runs with in this process ("unset": its default), as far as we can tell: it
# is read once, when torch loads, so if torch came first it is what the environment said then.
OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY", "unset") + (
    " (torch was loaded before mnv2lab)" if "torch" in sys.modules else ""
)
