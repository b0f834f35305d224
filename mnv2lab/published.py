"""Numbers the papers publish, kept as data so that tests and notebooks compare against one copy.
Source: ../shared/reference/paper-notes.md (MobileNetV2 arXiv v4). Accuracies are ImageNet top-1
(%) of the published models; they are quoted, never re-measured by this suite.
"""

from __future__ import annotations

# Table 4 of the MobileNetV2 paper: (builder name, its kwargs) -> printed params (M), MAdds (M).
# NasNet-A is not built by this suite.
TABLE4: list[dict] = [
    {"network": "MobileNetV1", "model": "mobilenet_v1", "kwargs": {},
     "top1": 70.6, "params_m": 4.2, "madds_m": 575},
    {"network": "ShuffleNet (1.5)", "model": "shufflenet_v1",
     "kwargs": {"groups": 3, "width_mult": 1.5}, "top1": 71.5, "params_m": 3.4, "madds_m": 292},
    {"network": "ShuffleNet (x2)", "model": "shufflenet_v1",
     "kwargs": {"groups": 3, "width_mult": 2.0}, "top1": 73.7, "params_m": 5.4, "madds_m": 524},
    {"network": "NasNet-A", "model": None, "kwargs": {}, "top1": 74.0, "params_m": 5.3,
     "madds_m": 564},
    {"network": "MobileNetV2", "model": "mobilenet_v2", "kwargs": {},
     "top1": 72.0, "params_m": 3.4, "madds_m": 300},
    {"network": "MobileNetV2 (1.4)", "model": "mobilenet_v2", "kwargs": {"width_mult": 1.4},
     "top1": 74.7, "params_m": 6.9, "madds_m": 585},
]

# Figure 5: top-1 of the released MobileNetV2 checkpoints, {(width, resolution): top-1}.
V2_TOP1: dict[tuple[float, int], float] = {
    (1.4, 224): 75.0,
    (1.0, 96): 60.3, (1.0, 128): 65.3, (1.0, 160): 68.8, (1.0, 192): 70.7, (1.0, 224): 71.8,
    (0.75, 96): 58.8, (0.75, 128): 63.2, (0.75, 160): 66.4, (0.75, 192): 68.7, (0.75, 224): 69.8,
    (0.5, 96): 51.2, (0.5, 128): 57.7, (0.5, 160): 61.0, (0.5, 192): 63.9, (0.5, 224): 65.4,
    (0.35, 96): 45.5, (0.35, 128): 50.8, (0.35, 160): 55.7, (0.35, 192): 58.2, (0.35, 224): 60.3,
}

# MobileNetV1's own paper: {(width, resolution): top-1}.
V1_TOP1: dict[tuple[float, int], float] = {
    (1.0, 224): 70.6, (1.0, 192): 69.1, (1.0, 160): 67.2, (1.0, 128): 64.4,
    (0.75, 224): 68.4, (0.5, 224): 63.7, (0.25, 224): 50.6,
}

# ShuffleNet (g = 3) points of Figure 5: {width: (printed MMAdds, top-1)}. The width of each
# point is ours to infer from its MAdds (0.25x, 0.5x, 1x, 1.5x, 2x of ShuffleNet's Table 2).
SHUFFLENET_TOP1: dict[float, tuple[int, float]] = {
    0.25: (13, 47.3), 0.5: (38, 58.4), 1.0: (140, 67.6), 1.5: (292, 71.5), 2.0: (524, 73.7),
}

NASNET_A = {"madds_m": 564, "top1": 74.0}

# MobileNetV1's paper, Tables 6 and 7: MAdds (M) and params (M).
V1_PAPER_COSTS: dict[tuple[float, int], tuple[int, float]] = {
    (1.0, 224): (569, 4.2), (0.75, 224): (325, 2.6), (0.5, 224): (149, 1.3),
    (0.25, 224): (41, 0.5), (1.0, 192): (418, 4.2), (1.0, 160): (290, 4.2),
    (1.0, 128): (186, 4.2),
}

# The reference MobileNetV2 1.0 at 224x224 with 1000 classes (all trainable parameters).
V2_REFERENCE = {"params": 3_504_872, "madds": 300_774_272}

# The released MobileNetV2 checkpoints' table (TF-slim): {(width, resolution): (MMAdds, M params)}.
# MAdds are truncated to millions (300.77M is printed 300); params leave out BN scale and shift
# (3.47M for 1.0, whose count with BN is 3,504,872).
TF_SLIM_V2: dict[tuple[float, int], tuple[int, float]] = {
    (1.4, 224): (582, 6.06), (1.0, 224): (300, 3.47), (1.0, 192): (221, 3.47),
    (1.0, 160): (154, 3.47), (1.0, 128): (99, 3.47), (1.0, 96): (56, 3.47),
    (0.75, 224): (209, 2.61), (0.5, 224): (97, 1.95), (0.35, 224): (59, 1.66),
}

# Table 4's last column: CPU latency (ms) on a single large core of a Google Pixel 1 phone with
# TF-Lite, as printed. Rows without a printed value are absent.
TABLE4_CPU_MS: dict[str, int] = {"MobileNetV1": 113, "NasNet-A": 183, "MobileNetV2": 75,
                                 "MobileNetV2 (1.4)": 143}
