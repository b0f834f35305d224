"""Where the forward time goes: depthwise convs, 1x1 convs, full convs, linear layers and the
rest, timed by module hooks and cached beside the latencies."""

from __future__ import annotations

import os
import time
from typing import Sequence

from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

from ..params import ParameterError
from .cache import cached, latency_dir
from .child import time_in_child
from .config import LatencyConfig, config_fingerprint
from .timing import ForeignCpu, build_forward, load_average, measurement_provenance, torch_threads

TIMED_MODULES = (nn.Conv2d, nn.Linear)


def conv_kind(weight_shape: Sequence[int]) -> str:
    """ "depthwise" (one input channel per group, k > 1), "1x1" or "full conv", from a conv's
    weight shape (C_out, C_in / groups, kh, kw)."""
    _, per_group, kh, kw = weight_shape
    if per_group == 1 and (kh, kw) != (1, 1):
        return "depthwise"
    return "1x1" if (kh, kw) == (1, 1) else "full conv"


def op_breakdown(config: LatencyConfig, repeats: int = 20) -> dict:
    """Share of the forward time spent in depthwise convs, 1x1 convs, full convs, linear layers
    and everything else (activations, adds, pooling, Python and dispatch), for the model
    inference paths. Every ``Conv2d`` and ``Linear`` the forward pass calls is timed by global
    module hooks (two clock reads around the call, a microsecond or so each; the hooks see every
    module call, so nothing needs to know which model the timed function closes over) over
    ``repeats`` passes."""
    config.validate()
    if config.path == "sliced":
        raise ParameterError(
            "path: got 'sliced'; allowed: 'practitioner' or 'naive' (the "
            "sliced executor has no conv modules to time)"
        )
    forward, x = build_forward(config)
    spent: dict[str, float] = {}
    starts: dict[int, float] = {}

    def before(module, args):
        if isinstance(module, TIMED_MODULES):
            starts[id(module)] = time.perf_counter()

    def after(module, args, output):
        if isinstance(module, TIMED_MODULES):
            kind = "linear" if isinstance(module, nn.Linear) else conv_kind(module.weight.shape)
            spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - starts[id(module)]

    load_before = load_average()
    with torch_threads(config.threads):
        for _ in range(max(config.warmup, 1)):
            forward(x)
        handles = [register_module_forward_pre_hook(before), register_module_forward_hook(after)]
        try:
            with ForeignCpu() as foreign:
                start = time.perf_counter()
                for _ in range(repeats):
                    forward(x)
                wall = time.perf_counter() - start
        finally:
            for h in handles:
                h.remove()
    if not spent:
        raise RuntimeError(f"op_breakdown: {config.label()} called no Conv2d or Linear module")
    shares = {k: v / wall for k, v in spent.items()}
    shares["other"] = max(0.0, 1.0 - sum(shares.values()))
    prov = measurement_provenance(config.threads, load_before)
    prov["foreign_cpu_cores"], prov["foreign_nice_cores"] = foreign.cores, foreign.nice_cores
    return {
        "result": {
            "shares": shares,
            "ms_per_pass_with_hooks": wall / repeats * 1e3,
            "repeats": repeats,
        },
        "provenance": prov,
    }


def breakdown_or_load(
    config: LatencyConfig,
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
) -> dict | None:
    """:func:`op_breakdown` of ``config``, cached beside the latencies (``breakdown/``)."""
    config.validate()
    path = latency_dir(root) / "breakdown" / f"{config.key()}.json"
    return cached(
        config,
        path,
        config_fingerprint(config),
        lambda: time_in_child("breakdown", [config])[0],
        remeasure=remeasure,
        allow_measure=allow_measure,
    )
