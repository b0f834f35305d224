"""Activation patterns of the expansion layers (Figure 7, Appendix A of the paper).

For every expansion layer (1x1 conv + BN + ReLU6, t * k channels from a k-channel bottleneck) we
count, at every pixel of every image, how many channels are positive after the ReLU6. Lemma 2 of
Appendix A: the layer can only be inverted at a pixel (the k-dimensional input recovered from its
output) if at least k channels are positive there, so k = 1/t of the expanded channels is the
*invertibility threshold*. The paper shows, for the 16 expansion layers of MobileNetV2: at step 0
about half the channels are positive everywhere; after training the average is about the same but
the spread grows, and the minimum of a few layers falls under the threshold.

    layers = expansion_layers(model)                     # name, channels, threshold per layer
    table = activation_patterns(model, images, ds)       # one row of statistics per layer
    run_patterns(config, "trained", ...)                 # cached per run in results/<study>/activations/

Statistics per layer (over all pixels of all images): ``min``, ``p5``, ``mean``, ``p95``,
``max``, ``std`` of the count; the same divided by the expanded width (``frac_*``); the share of
pixels whose count is under the threshold (``share_below``), and ``min_below`` (does any pixel
fall under it).

Modules, one job each: :mod:`.counting` (the counts and their statistics), :mod:`.runs` (the
study's models at init and trained, cached per run; the runner's after-run hook),
:mod:`.analysis` (notebook 05: plan, collect, summaries over seeds, findings).
"""

from .analysis import (
    SPEC,
    ActivationPlan,
    collect,
    fig7_checks,
    fig7_finding,
    figure_note,
    findings,
    layers_below,
    lowest_layers,
    make_plan,
    pooled,
    verdict,
)
from .counting import (
    ExpansionLayer,
    activation_patterns,
    count_statistics,
    expansion_layers,
    positive_counts,
)
from .runs import (
    FORMAT,
    N_IMAGES,
    STABLE_PROVENANCE,
    STAGES,
    WeightsMissing,
    after_run,
    cache_path,
    initial_model,
    probe_images,
    run_patterns,
    store_missing_statistics,
    store_run_statistics,
    trained_model,
)

__all__ = [
    "SPEC",
    "ActivationPlan",
    "collect",
    "fig7_checks",
    "fig7_finding",
    "figure_note",
    "findings",
    "layers_below",
    "lowest_layers",
    "make_plan",
    "pooled",
    "verdict",
    "ExpansionLayer",
    "activation_patterns",
    "count_statistics",
    "expansion_layers",
    "positive_counts",
    "FORMAT",
    "N_IMAGES",
    "STABLE_PROVENANCE",
    "STAGES",
    "WeightsMissing",
    "after_run",
    "cache_path",
    "initial_model",
    "probe_images",
    "run_patterns",
    "store_missing_statistics",
    "store_run_statistics",
    "trained_model",
]
