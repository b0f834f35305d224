"""The MobileNetV1-vs-V2 notebook's logic (06_v1_vs_v2), one job per module:

* :mod:`.plan`: its parameters (:data:`SPEC`) and plan (:func:`make_plan`): Table 4's and
  Figure 5's networks timed in one interleaved series, Section 5's slicings, the CIFAR-10 runs;
* :mod:`.table4`: Table 4 with CPU latency measured here, the V2/V1 latency ratio, achieved
  multiply-adds per second and where the time goes, and the words that explain the ratio;
* :mod:`.pareto`: published accuracy against measured latency, each family's Pareto front;
* :mod:`.trained`: the trained CIFAR-10 comparison at matched multiply-adds (the study's
  ``v1_vs_v2`` runs, loaded by :func:`mnv2lab.study.collect`, so the notebook and
  ``python -m mnv2lab.study run --only v1_vs_v2`` always agree on what was trained);
* :mod:`.verdicts`: the notebook's findings; ``python -m mnv2lab.v1_vs_v2 measure|list``: fills
  the caches on a quiet machine.

Plots live in :mod:`mnv2lab.v1_vs_v2_plots`; Section 5's measurements in :mod:`mnv2lab.section5`.
"""

from .pareto import (
    ACCURACY_LATENCY_COLUMNS,
    accuracy_latency_points,
    figure5_points,
    left_out_text,
    pareto_mask,
    pareto_summary,
)
from .plan import (
    FIGURES,
    RATIO_TOLERANCE,
    SERIES,
    SPEC,
    TABLE4_MODELS,
    Plan,
    check_params,
    default_params,
    figure5_configs,
    figure5_networks,
    latency_config,
    make_plan,
    table4_configs,
)
from .table4 import (
    breakdown_configs,
    breakdown_table,
    latency_ratio,
    madds_by_kind,
    measure_breakdowns,
    ratio_explanation,
    select,
    table4_latency,
    throughput,
    write_table,
)
from .trained import (
    FAMILIES,
    matched_pairs,
    paired_text,
    require_some_result,
    trained_comparison_runs,
    trained_results,
    trained_summary,
    trained_text,
)
from .verdicts import finding_source, findings

__all__ = [
    "ACCURACY_LATENCY_COLUMNS",
    "accuracy_latency_points",
    "figure5_points",
    "left_out_text",
    "pareto_mask",
    "pareto_summary",
    "FIGURES",
    "RATIO_TOLERANCE",
    "SERIES",
    "SPEC",
    "TABLE4_MODELS",
    "Plan",
    "check_params",
    "default_params",
    "figure5_configs",
    "figure5_networks",
    "latency_config",
    "make_plan",
    "table4_configs",
    "breakdown_configs",
    "breakdown_table",
    "latency_ratio",
    "madds_by_kind",
    "measure_breakdowns",
    "ratio_explanation",
    "select",
    "table4_latency",
    "throughput",
    "write_table",
    "FAMILIES",
    "matched_pairs",
    "paired_text",
    "require_some_result",
    "trained_comparison_runs",
    "trained_results",
    "trained_summary",
    "finding_source",
    "trained_text",
    "findings",
]
