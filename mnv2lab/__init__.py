"""mnv2lab: reproduce, check and extend the analyses of MobileNetV2 (Sandler et al., CVPR 2018).

The package holds all logic; the notebooks in ``notebooks/`` are thin narrative wrappers around it.

The one process-wide setting: importing ``mnv2lab`` (any module of it: Python runs this file
first) sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already sets it. OpenMP reads it
once, when torch loads, so it has to happen here, before any module imports torch. Why: on a
shared machine, OpenMP threads that spin-wait for a descheduled partner made 2-thread training
5-10x slower than 1 thread; with passive waiting 2 threads are never much worse than 1. Latency
measurements record the policy in force (:data:`mnv2lab.latency.OMP_WAIT_POLICY`).
"""

import os

__version__ = "0.1.0"

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
