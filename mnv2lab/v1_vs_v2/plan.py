"""Notebook 06's parameters and plan: what it measures (Table 4's and Figure 5's networks,
Section 5's slicings) and reads (the trained comparison's CIFAR-10 runs), and where the caches
are."""

from __future__ import annotations

import atexit
import dataclasses
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import published, section5
from ..latency import MAX_FOREIGN, LatencyConfig
from ..memory_probe import MemoryConfig
from ..notebook import COMMON
from ..params import Param, ParameterError
from ..paths import results_dir
from ..study import StudyPlan, plan_of
from .trained import require_some_result, trained_comparison_runs

SPEC: dict[str, Param] = {
    **COMMON,
    "remeasure": Param(bool, "measure latency and memory again even where the cache is current"),
    "measure_missing": Param(
        bool, "measure what the cache lacks or has outdated (False: show cached numbers only)"
    ),
    "threads": Param(
        list, "CPU threads for the latency measurements", item=int, min=1, max=256, min_len=1
    ),
    "min_run_time": Param(
        float, "seconds of timed calls per latency configuration", min=0.01, max=120.0
    ),
    "memory_resolutions": Param(
        list,
        "input resolutions for peak memory vs slices (Section 5)",
        item=int,
        min=32,
        max=2048,
        min_len=1,
    ),
    "slice_resolutions": Param(
        list,
        "input resolutions for latency vs slices (Section 5)",
        item=int,
        min=32,
        max=2048,
        min_len=1,
    ),
    "slices": Param(
        list,
        "numbers of slices t of the expanded tensors (Section 5); must include 1",
        item=int,
        min=1,
        max=4096,
        min_len=2,
    ),
    "train_missing": Param(bool, "train the missing CIFAR-10 runs now (hours on a CPU)"),
    "train_epochs": Param(
        int,
        "epochs of every CIFAR-10 run (part of each run's cache key); "
        "0 = the study runner's (mnv2lab.study.EPOCHS)",
        min=0,
        max=1000,
    ),
}

# The notebook's figures (names in figures/), in the order it promises them.
FIGURES = {
    "table4": "v1v2_table4_latency",
    "figure5": "v1v2_fig5_madds",
    "accuracy_latency": "v1v2_accuracy_latency",
    "section5": "v1v2_section5_slices",
    "trained": "v1v2_trained_cifar10",
    "gap_budget": "v1v2_gap_budget",
    "fit_long": "v1v2_fit_long",
}

# V2/V1 latency ratios within this of the paper's 75/113 count as agreeing.
RATIO_TOLERANCE = 0.1

# Table 4's buildable networks: network -> (model name, width, ShuffleNet groups).
TABLE4_MODELS: dict[str, tuple[str, float, int | None]] = {
    "MobileNetV1": ("mobilenet_v1", 1.0, None),
    "ShuffleNet (1.5)": ("shufflenet_v1", 1.5, 3),
    "ShuffleNet (x2)": ("shufflenet_v1", 2.0, 3),
    "MobileNetV2": ("mobilenet_v2", 1.0, None),
    "MobileNetV2 (1.4)": ("mobilenet_v2", 1.4, None),
}


def check_params(params: dict[str, Any]) -> None:
    """Checks across parameters (the spec checks each alone)."""
    if 1 not in params["slices"]:
        raise ParameterError(
            f"parameter 'slices': got {params['slices']!r}; allowed: a list "
            "that includes 1 (the unsliced reference)"
        )
    if params["smoke"] and params["train_missing"]:
        raise ParameterError(
            "parameter 'train_missing': got True with smoke=True; allowed: "
            "False in smoke mode (training takes hours)"
        )


SERIES = "figure5"  # every network of Table 4 and Figure 5, timed interleaved per thread count


def latency_config(
    model: str,
    width: float,
    resolution: int,
    threads: int,
    groups: int | None = None,
    *,
    min_run_time: float = 2.0,
    warmup: int = 5,
) -> LatencyConfig:
    """A practitioner-path latency configuration with normalized builder arguments, in the one
    series (:data:`SERIES`) that holds Table 4's and Figure 5's networks, so that a network both
    ask for is one cache entry and all of them are timed interleaved."""
    kwargs: dict[str, Any] = {"width_mult": float(width)}
    if groups is not None:
        kwargs["groups"] = int(groups)
    return LatencyConfig(
        model,
        kwargs,
        int(resolution),
        int(threads),
        "practitioner",
        min_run_time=float(min_run_time),
        warmup=warmup,
        series=SERIES,
    ).validate()


def table4_configs(
    threads: Sequence[int], min_run_time: float, resolution: int = 224, warmup: int = 5
) -> list[LatencyConfig]:
    return [
        latency_config(m, w, resolution, th, g, min_run_time=min_run_time, warmup=warmup)
        for th in threads
        for m, w, g in TABLE4_MODELS.values()
    ]


def figure5_networks(smoke: bool = False) -> list[tuple[str, float, int, int | None]]:
    """(model, width, resolution, groups) of every point of Figure 5 we can build: 21
    MobileNetV2, 7 MobileNetV1 and 5 ShuffleNet configurations (a handful in smoke mode). Each
    ShuffleNet is built with the groups of the network whose top-1 is quoted (g = 8, 4, 8, 3, 3 for
    0.25x to 2x: :data:`mnv2lab.published.SHUFFLENET_TOP1_GROUPS`)."""
    nets = (
        [("mobilenet_v2", w, r, None) for (w, r) in published.V2_TOP1]
        + [("mobilenet_v1", w, r, None) for (w, r) in published.V1_TOP1]
        + [
            ("shufflenet_v1", w, 224, published.SHUFFLENET_TOP1_GROUPS[w])
            for w in published.SHUFFLENET_TOP1
        ]
    )
    if smoke:
        keep = {
            ("mobilenet_v2", 0.35, 96),
            ("mobilenet_v2", 0.5, 128),
            ("mobilenet_v1", 0.25, 224),
            ("mobilenet_v1", 0.5, 224),
            ("shufflenet_v1", 0.25, 224),
            ("shufflenet_v1", 0.5, 224),
        }
        nets = [n for n in nets if n[:3] in keep]
    return nets


def figure5_configs(
    threads: Sequence[int], min_run_time: float, smoke: bool = False, warmup: int = 5
) -> list[LatencyConfig]:
    return [
        latency_config(m, w, r, th, g, min_run_time=min_run_time, warmup=warmup)
        for th in threads
        for m, w, r, g in figure5_networks(smoke)
    ]


@dataclass
class Plan:
    """Everything the notebook will measure or read, and where the caches are."""

    smoke: bool
    latency_root: Path | None  # None: results/latency
    memory_root: Path | None  # None: results/memory_efficient
    tables_dir: Path
    table4: list[LatencyConfig]  # Table 4's networks: a subset of ``latency``
    latency: list[LatencyConfig]  # one interleaved series per thread count
    slices_latency: list[LatencyConfig]
    slices_memory: list[MemoryConfig]
    trained: StudyPlan | None = None  # the CIFAR-10 runs (read, or trained when asked)
    remeasure: bool = False
    allow_measure: bool = True
    threads: list[int] = field(default_factory=list)
    # A timing counts when other processes used at most this many cores meanwhile; smoke runs
    # count every timing (they check that the notebook runs, on any machine, however busy).
    max_foreign: float = MAX_FOREIGN

    @property
    def table4_resolution(self) -> int:
        """224, or the tiny size smoke mode measures Table 4's networks at."""
        return self.table4[0].resolution

    def describe(self) -> str:
        where = "a temporary folder (smoke)" if self.smoke else "results/"
        n_lat = len({c.key() for c in self.latency + self.slices_latency})
        return (
            f"{n_lat} latency and {len(self.slices_memory)} memory configurations, cached in "
            f"{where}; {len(self.trained.runs)} CIFAR-10 runs read from the trainer's cache"
        )


def make_plan(params: dict[str, Any]) -> Plan:
    """The notebook's plan from its validated parameters. Smoke mode measures a few tiny
    configurations (32x32 Table 4, six Figure 5 points, 64x64 Section 5) into a temporary cache."""
    check_params(params)
    smoke = params["smoke"]
    if smoke:
        tmp = Path(tempfile.mkdtemp(prefix="mnv2lab-06-smoke-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        threads, run_time, warmup = params["threads"][:1], 0.02, 1
        return Plan(
            smoke=True,
            latency_root=tmp / "latency",
            memory_root=tmp / "memory",
            tables_dir=tmp / "tables",
            table4=table4_configs(threads, run_time, resolution=32, warmup=warmup),
            latency=list(
                dict.fromkeys(
                    figure5_configs(threads, run_time, smoke=True, warmup=warmup)
                    + table4_configs(threads, run_time, resolution=32, warmup=warmup)
                )
            ),
            slices_latency=[
                _smoke(c)
                for c in section5.latency_configs([64], [1, 4], threads, min_run_time=run_time)
            ],
            slices_memory=section5.memory_configs([128], [1, 4], repeats=1, plain=False),
            trained=plan_of(
                trained_comparison_runs(params["train_epochs"]),
                tmp / "trained",
                smoke=True,
                only="v1_vs_v2",
            ),
            remeasure=False,
            allow_measure=True,
            threads=threads,
            max_foreign=math.inf,
        )
    threads, run_time = params["threads"], params["min_run_time"]
    trained = plan_of(
        trained_comparison_runs(params["train_epochs"]),
        train_missing=params["train_missing"],
        only="v1_vs_v2",
    )
    require_some_result(trained, params["train_epochs"])
    return Plan(
        smoke=False,
        latency_root=None,
        memory_root=None,
        tables_dir=results_dir() / "tables",
        table4=table4_configs(threads, run_time),
        latency=list(
            dict.fromkeys(figure5_configs(threads, run_time) + table4_configs(threads, run_time))
        ),
        slices_latency=section5.latency_configs(
            params["slice_resolutions"], params["slices"], threads, min_run_time=run_time
        ),
        slices_memory=section5.memory_configs(params["memory_resolutions"], params["slices"]),
        trained=trained,
        remeasure=params["remeasure"],
        allow_measure=params["measure_missing"] or params["remeasure"],
        threads=list(threads),
    )


def _smoke(config: LatencyConfig) -> LatencyConfig:
    return dataclasses.replace(config, warmup=1)


def default_params() -> dict[str, Any]:
    """The notebook's default parameters (kept equal to its parameters cell by a test)."""
    return {
        "smoke": False,
        "out_dir": "figures",
        "remeasure": False,
        "measure_missing": True,
        "threads": [1, 2],
        "min_run_time": 2.0,
        "memory_resolutions": [224, 448, 896],
        "slice_resolutions": [224, 448],
        "slices": [1, 2, 3, 4, 5, 8, 16],
        "train_missing": False,
        "train_epochs": 0,
    }
