"""Numbers the papers publish, kept as data so that tests and notebooks compare against one copy.
Accuracies are ImageNet top-1 (%) of the published models; they are quoted, never re-measured.

Sources (every constant below names its own; all checked against them):
- [V2]  MobileNetV2, arXiv 1801.04381 v4, via ../shared/reference/paper-notes.md.
- [V1]  MobileNetV1, arXiv 1704.04861, Tables 6 and 7
        (https://ar5iv.labs.arxiv.org/html/1704.04861).
- [SN]  ShuffleNet, arXiv 1707.01083 v2, Tables 1, 2 and 5 (errors; top-1 = 100 - error).
- [TF2] tensorflow/models research/slim/nets/mobilenet/README.md, "Mobilenet V2 Imagenet
        Checkpoints" (MACs (M), Parameters (M), Top 1, Top 5, Pixel 1 ms).
- [TF1] tensorflow/models research/slim/nets/mobilenet_v1.md, table of the 2018_02_22 checkpoints.
"""

from __future__ import annotations

# [V2] Table 4: (builder name, its kwargs) -> printed params (M), MAdds (M).
# NasNet-A is not built by this suite. The ShuffleNet parameter counts are the V2 paper's own: the
# ShuffleNet paper prints none ([TF2] README: "for ShuffleNet there are no published size numbers").
# The released checkpoints differ from this table ([TF2]): 1.0 -> 71.8 top-1, 3.47M, 300 MACs;
# 1.4 -> 75.0 top-1, 6.06M, 582 MACs. Both are kept: this table here, the checkpoints in TF_SLIM_V2.
TABLE4: list[dict] = [
    {
        "network": "MobileNetV1",
        "model": "mobilenet_v1",
        "kwargs": {},
        "top1": 70.6,
        "params_m": 4.2,
        "madds_m": 575,
    },
    {
        "network": "ShuffleNet (1.5)",
        "model": "shufflenet_v1",
        "kwargs": {"groups": 3, "width_mult": 1.5},
        "top1": 71.5,
        "params_m": 3.4,
        "madds_m": 292,
    },
    {
        "network": "ShuffleNet (x2)",
        "model": "shufflenet_v1",
        "kwargs": {"groups": 3, "width_mult": 2.0},
        "top1": 73.7,
        "params_m": 5.4,
        "madds_m": 524,
    },
    {
        "network": "NasNet-A",
        "model": None,
        "kwargs": {},
        "top1": 74.0,
        "params_m": 5.3,
        "madds_m": 564,
    },
    {
        "network": "MobileNetV2",
        "model": "mobilenet_v2",
        "kwargs": {},
        "top1": 72.0,
        "params_m": 3.4,
        "madds_m": 300,
    },
    {
        "network": "MobileNetV2 (1.4)",
        "model": "mobilenet_v2",
        "kwargs": {"width_mult": 1.4},
        "top1": 74.7,
        "params_m": 6.9,
        "madds_m": 585,
    },
]

# Figure 5 [V2]: top-1 of the released MobileNetV2 checkpoints, {(width, resolution): top-1}.
# Identical to the "Top 1 Accuracy" column of [TF2] for all 21 entries (checked).
V2_TOP1: dict[tuple[float, int], float] = {
    (1.4, 224): 75.0,
    (1.0, 96): 60.3,
    (1.0, 128): 65.3,
    (1.0, 160): 68.8,
    (1.0, 192): 70.7,
    (1.0, 224): 71.8,
    (0.75, 96): 58.8,
    (0.75, 128): 63.2,
    (0.75, 160): 66.4,
    (0.75, 192): 68.7,
    (0.75, 224): 69.8,
    (0.5, 96): 51.2,
    (0.5, 128): 57.7,
    (0.5, 160): 61.0,
    (0.5, 192): 63.9,
    (0.5, 224): 65.4,
    (0.35, 96): 45.5,
    (0.35, 128): 50.8,
    (0.35, 160): 55.7,
    (0.35, 192): 58.2,
    (0.35, 224): 60.3,
}

# MobileNetV1's own paper [V1], Tables 6 and 7: {(width, resolution): top-1}; checked, identical.
# The re-trained TF-slim checkpoints score differently (e.g. 70.9 at 1.0@224): see TF_SLIM_V1.
V1_TOP1: dict[tuple[float, int], float] = {
    (1.0, 224): 70.6,
    (1.0, 192): 69.1,
    (1.0, 160): 67.2,
    (1.0, 128): 64.4,
    (0.75, 224): 68.4,
    (0.5, 224): 63.7,
    (0.25, 224): 50.6,
}

# ShuffleNet points of Figure 5 [V2]: {width: (printed MMAdds, top-1)}. The width of each point is
# ours to infer from its MAdds. Checked against [SN]: they are NOT all g = 3. 1.5x and 2x are the
# g = 3 rows of [SN] Table 5 (err 28.5, 26.3), but 1x, 0.5x and 0.25x are the best-group rows of
# [SN] Table 2 / Table 5: 1x g=8 (err 32.4), 0.5x g=4 (41.6), 0.25x g=8 (52.7). The g = 3 errors
# would give top-1 67.4, 56.8 and 45.0. SHUFFLENET_TOP1_GROUPS records the group of each point.
SHUFFLENET_TOP1: dict[float, tuple[int, float]] = {
    0.25: (13, 47.3),
    0.5: (38, 58.4),
    1.0: (140, 67.6),
    1.5: (292, 71.5),
    2.0: (524, 73.7),
}

# The number of groups g of the ShuffleNet network behind each SHUFFLENET_TOP1 point ([SN] Table 2
# and Table 5). [SN] Table 2 prints one complexity per width for all g (13, 38, 140 MFLOPs); its
# Table 1 gives 1x per g: g=1 143M, g=2 140M, g=3 137M, g=4 133M, g=8 137M.
SHUFFLENET_TOP1_GROUPS: dict[float, int] = {0.25: 8, 0.5: 4, 1.0: 8, 1.5: 3, 2.0: 3}

NASNET_A = {"madds_m": 564, "top1": 74.0}  # [V2] Table 4 and Figure 5

# Printed decimals of each count column (see mnv2lab.printed: whether a printed value is our count
# rounded or truncated is decided to exactly this digit). [V2] Table 4: "3.4M", "300M". [TF2]:
# "300" MACs (M), "3.47" Parameters (M).
TABLE4_DECIMALS = {"params_m": 1, "madds_m": 0}
TF_SLIM_V2_DECIMALS = {"params_m": 2, "madds_m": 0}

# Classifier outputs. [V2] reports ImageNet with 1000 classes; the released TF-slim checkpoints
# [TF2] have 1001 (a background class first, as every TF-slim ImageNet model), i.e. 1281 more
# parameters and 1280 more multiply-adds at width <= 1.0.
PAPER_CLASSES = 1000
TF_SLIM_CLASSES = 1001

# [V2] Section 4 text ("Model Architecture" and its "Trade-off hyper parameters"): "the initial fully
# convolution layer with 32 filters, followed by 19 residual bottleneck layers described in the
# Table 2" (Table 2 lists 1+2+3+4+3+3+1 = 17 bottleneck blocks), and for the width x resolution
# trade-off of Figure 5 (widths 0.35 to 1.4, resolutions 96 to 224): "the network computational
# cost ranges from 7 multiply adds to 585M MAdds, while the model size vary between 1.7M and
# 6.9M parameters". "7" is read as 7M (7 plain multiply-adds cannot be meant).
TEXT_BOTTLENECK_LAYERS = 19
TEXT_STEM_FILTERS = 32
# {claim: (printed value in millions, printed decimals)}
TEXT_COST_RANGE: dict[str, tuple[float, int]] = {
    "smallest MAdds": (7, 0),
    "largest MAdds": (585, 0),
    "smallest params": (1.7, 1),
    "largest params": (6.9, 1),
}

# MobileNetV1's paper [V1], Tables 6 and 7: MAdds (M) and params (M); checked, identical.
V1_PAPER_COSTS: dict[tuple[float, int], tuple[int, float]] = {
    (1.0, 224): (569, 4.2),
    (0.75, 224): (325, 2.6),
    (0.5, 224): (149, 1.3),
    (0.25, 224): (41, 0.5),
    (1.0, 192): (418, 4.2),
    (1.0, 160): (290, 4.2),
    (1.0, 128): (186, 4.2),
}

# The reference MobileNetV2 1.0 at 224x224 with 1000 classes (all trainable parameters). Params:
# Keras MobileNetV2 summary "Trainable params: 3,504,872" (non-trainable 34,112 = BN running
# statistics), e.g. eli5-org/eli5 docs/source/tutorials/keras-image-classifiers.rst. MAdds: the
# same 300,774,272 is reported by independent counters (conv + linear only); [V2] prints 300M,
# [TF2] prints 300 MACs.
V2_REFERENCE = {"params": 3_504_872, "madds": 300_774_272}

# The released MobileNetV2 checkpoints' table [TF2], all 22 rows: {(width, resolution): (MACs (M),
# Parameters (M))}. Every cell is the count truncated to the printed digit, without BN scale and
# shift, for the checkpoints' 1001 classes (checked: mnv2lab.cost_report.checkpoint_cells):
# 300.77M MACs print 300, 11.93M print 11; 1.0 has 3.47M params (3,504,872 with BN, 1000 classes).
# With 1000 classes the 0.75 rows would print 2.60 (2,609,784), not 2.61.
TF_SLIM_V2: dict[tuple[float, int], tuple[int, float]] = {
    (1.4, 224): (582, 6.06),
    (1.3, 224): (509, 5.34),
    (1.0, 224): (300, 3.47),
    (1.0, 192): (221, 3.47),
    (1.0, 160): (154, 3.47),
    (1.0, 128): (99, 3.47),
    (1.0, 96): (56, 3.47),
    (0.75, 224): (209, 2.61),
    (0.75, 192): (153, 2.61),
    (0.75, 160): (107, 2.61),
    (0.75, 128): (69, 2.61),
    (0.75, 96): (39, 2.61),
    (0.5, 224): (97, 1.95),
    (0.5, 192): (71, 1.95),
    (0.5, 160): (50, 1.95),
    (0.5, 128): (32, 1.95),
    (0.5, 96): (18, 1.95),
    (0.35, 224): (59, 1.66),
    (0.35, 192): (43, 1.66),
    (0.35, 160): (30, 1.66),
    (0.35, 128): (20, 1.66),
    (0.35, 96): (11, 1.66),
}

# The MobileNetV1 float checkpoints' table [TF1] (2018_02_22 release), all 16 rows:
# {(width, resolution): (Million MACs, Million Parameters, Top-1)}. It legitimately differs from the
# paper [V1] (kept in V1_TOP1 / V1_PAPER_COSTS): re-trained, so top-1 is not the paper's (70.9 vs
# 70.6 at 1.0@224); params at 2 decimals (4.24 vs 4.2); MACs within 0.6M of the V1 architecture
# but not consistently rounded (1.0@160: 291 for 290.68M, paper 290; 0.5@224: 150 for 149.497M,
# paper 149). Two rows disagree with the V1 architecture itself, as printed: the 0.75 row is about
# 2.5% below the paper's 325 (317 at 224) and 0.25@192 reads 34 where ~30 follows from 41 at 224.
TF_SLIM_V1: dict[tuple[float, int], tuple[int, float, float]] = {
    (1.0, 224): (569, 4.24, 70.9),
    (1.0, 192): (418, 4.24, 70.0),
    (1.0, 160): (291, 4.24, 68.0),
    (1.0, 128): (186, 4.24, 65.2),
    (0.75, 224): (317, 2.59, 68.4),
    (0.75, 192): (233, 2.59, 67.2),
    (0.75, 160): (162, 2.59, 65.3),
    (0.75, 128): (104, 2.59, 62.1),
    (0.5, 224): (150, 1.34, 63.3),
    (0.5, 192): (110, 1.34, 61.7),
    (0.5, 160): (77, 1.34, 59.1),
    (0.5, 128): (49, 1.34, 56.3),
    (0.25, 224): (41, 0.47, 49.8),
    (0.25, 192): (34, 0.47, 47.7),
    (0.25, 160): (21, 0.47, 45.5),
    (0.25, 128): (14, 0.47, 41.5),
}

# Table 4's last column [V2]: CPU latency (ms) on a single large core of a Google Pixel 1 phone with
# TF-Lite, as printed. Rows without a printed value are absent. [TF2] lists its own Pixel 1 timings
# of the released checkpoints (1.0@224: 73.8 ms, 1.4@224: 138.0 ms); the paper's are kept here.
TABLE4_CPU_MS: dict[str, int] = {
    "MobileNetV1": 113,
    "NasNet-A": 183,
    "MobileNetV2": 75,
    "MobileNetV2 (1.4)": 143,
}


# [V2] Table 3: the largest activation tensor per spatial resolution (16-bit), (channels, kB) per
# resolution and the max row in kB, as printed (arXiv v4).
TABLE3_SIZES = (112, 56, 28, 14, 7, 1)
TABLE3: dict[str, dict] = {
    "MobileNetV1": {
        112: (64, 1600),
        56: (128, 800),
        28: (256, 400),
        14: (512, 200),
        7: (1024, 199),
        1: (1024, 2),
        "max": 1600,
    },
    "MobileNetV2": {
        112: (16, 400),
        56: (32, 200),
        28: (64, 100),
        14: (160, 62),
        7: (320, 32),
        1: (1280, 2),
        "max": 400,
    },
    "ShuffleNet (2x, g=3)": {
        112: (32, 800),
        56: (48, 300),
        28: (400, 600),
        14: (800, 310),
        7: (1600, 156),
        1: (1600, 3),
        "max": 600,
    },
}

# [V2] Table 4's CPU column: MobileNetV2 / MobileNetV1 latency on a Pixel 1 (75 / 113 ms).
TABLE4_V2_V1_RATIO = TABLE4_CPU_MS["MobileNetV2"] / TABLE4_CPU_MS["MobileNetV1"]

# [V2] Figure 6 (read off the plot; paper-notes.md): at the end of training the paper's model
# (linear bottleneck, shortcut between bottlenecks) leads each variant by roughly 0.5 to 1.5
# points of ImageNet top-1, in the paper's direction (positive: the paper's choice is better).
FIG6_FINAL_GAP = (0.5, 1.5)
FIG6_TEXT = (
    "ImageNet top-1, one run per variant: at the end of training the paper's model leads "
    "by roughly 0.5 to 1.5 points, 'no residual' trails most; the gaps are larger "
    "earlier in training (the text says 'several percent')"
)

# [V2] Figure 7 and Appendix A, in words (the figure has no numbers to read off but these).
FIG7_TEXT = (
    "step 0: counts concentrate around half the channels; trained: the average is about "
    "the same, the spread grows, and the minimum of a few of the 16 layers falls under "
    "the threshold (1/6 of the channels)"
)
# ------------------------------------------------------------------ Section 6.2-6.3 (Tables 5-7)
# Sources: [V2] Tables 5, 6, 7 and their text, via ../shared/reference/detection-segmentation-notes.md;
# [OV] the OpenVINO Open Model Zoo's pages of the released TF Object Detection API models (300x300,
# 90 classes + background, BN folded; "GFLOPs" are about 2x multiply-adds); [DL] tensorflow/models
# research/deeplab g3doc/model_zoo.md (513 crops; no parameter counts). Printed values are kept
# as strings: their number of decimals is the precision a count is checked to.

# [V2] Table 5: heads only, on MobileNetV2, 80 classes, 320x320: {head: (params M, MAdds B)}.
TABLE5: dict[str, tuple[str, str]] = {"SSD": ("14.8", "1.25"), "SSDLite": ("2.1", "0.35")}

# [V2] Table 6 (COCO test-dev): network -> mAP, params (M), MAdds (B), Pixel 1 CPU (ms) or None.
# SSD300/512 and YOLOv2 are quoted from their papers; the suite does not build them.
TABLE6: dict[str, dict] = {
    "SSD300": {"mAP": 23.2, "params": "36.1", "madds": "35.2", "cpu_ms": None},
    "SSD512": {"mAP": 26.8, "params": "36.1", "madds": "99.5", "cpu_ms": None},
    "YOLOv2": {"mAP": 21.6, "params": "50.7", "madds": "17.5", "cpu_ms": None},
    "MNet V1 + SSDLite": {"mAP": 22.2, "params": "5.1", "madds": "1.3", "cpu_ms": 270},
    "MNet V2 + SSDLite": {"mAP": 22.1, "params": "4.3", "madds": "0.8", "cpu_ms": 200},
}

# [V2] Table 7 (PASCAL VOC 2012 val): one dict per row; MNet V2* = heads on layer_18 (320 ch).
TABLE7: list[dict] = [
    {
        "network": "MNet V1",
        "backbone": "mobilenet_v1",
        "os": 16,
        "aspp": True,
        "mf": False,
        "miou": 75.29,
        "params": "11.15",
        "madds": "14.25",
    },
    {
        "network": "MNet V1",
        "backbone": "mobilenet_v1",
        "os": 8,
        "aspp": True,
        "mf": True,
        "miou": 78.56,
        "params": "11.15",
        "madds": "941.9",
    },
    {
        "network": "MNet V2*",
        "backbone": "mobilenet_v2",
        "os": 16,
        "aspp": True,
        "mf": False,
        "miou": 75.70,
        "params": "4.52",
        "madds": "5.8",
    },
    {
        "network": "MNet V2*",
        "backbone": "mobilenet_v2",
        "os": 8,
        "aspp": True,
        "mf": True,
        "miou": 78.42,
        "params": "4.52",
        "madds": "387",
    },
    {
        "network": "MNet V2*",
        "backbone": "mobilenet_v2",
        "os": 16,
        "aspp": False,
        "mf": False,
        "miou": 75.32,
        "params": "2.11",
        "madds": "2.75",
    },
    {
        "network": "MNet V2*",
        "backbone": "mobilenet_v2",
        "os": 8,
        "aspp": False,
        "mf": True,
        "miou": 77.33,
        "params": "2.11",
        "madds": "152.6",
    },
    {
        "network": "ResNet-101",
        "backbone": "resnet_101",
        "os": 16,
        "aspp": True,
        "mf": False,
        "miou": 80.49,
        "params": "58.16",
        "madds": "81.0",
    },
    {
        "network": "ResNet-101",
        "backbone": "resnet_101",
        "os": 8,
        "aspp": True,
        "mf": True,
        "miou": 82.70,
        "params": "58.16",
        "madds": "4870.6",
    },
]
DEEPLAB_CROP = 513
DEEPLAB_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)  # multi-scale evaluation, each also flipped

# [OV] the released detectors at 300x300, 90 classes: builder kwargs -> (MParams, GFLOPs) printed.
OPENVINO_DETECTORS: dict[str, dict] = {
    "ssdlite_mobilenet_v2": {
        "model": "ssdlite",
        "kwargs": {"backbone": "mobilenet_v2"},
        "mparams": "4.475",
        "gflops": "1.525",
    },
    "ssd_mobilenet_v2_coco": {
        "model": "ssd",
        "kwargs": {"backbone": "mobilenet_v2", "extras": "separable", "predictor": "regular"},
        "mparams": "16.818",
        "gflops": "3.775",
    },
    "ssd_mobilenet_v1_coco": {
        "model": "ssd",
        "kwargs": {"backbone": "mobilenet_v1", "extras": "regular", "predictor": "1x1"},
        "mparams": "6.807",
        "gflops": "2.494",
    },
}

# [DL] the released MobileNetV2 DeepLab models (no ASPP): name -> evaluation and printed MAdds (B).
DEEPLAB_ZOO: dict[str, dict] = {
    "mobilenetv2_coco_voc_trainaug OS16": {
        "classes": 21,
        "size": (513, 513),
        "os": 16,
        "scales": (1.0,),
        "flip": False,
        "madds": "2.75",
    },
    "mobilenetv2_coco_voc_trainaug OS8 MF": {
        "classes": 21,
        "size": (513, 513),
        "os": 8,
        "scales": DEEPLAB_SCALES,
        "flip": True,
        "madds": "152.59",
    },
    "mobilenetv2_coco_cityscapes_trainfine OS16": {
        "classes": 19,
        "size": (1025, 2049),
        "os": 16,
        "scales": (1.0,),
        "flip": False,
        "madds": "21.27",
    },
    "mobilenetv2_coco_cityscapes_trainfine OS8 MF": {
        "classes": 19,
        "size": (1025, 2049),
        "os": 8,
        "scales": (0.75, 1.0, 1.25),
        "flip": True,
        "madds": "433.24",
    },
}

# [V2] the text's claims on Tables 6-7, checked by notebook 07.
SECTION6_CLAIMS = {
    "yolo_efficiency": 20,
    "yolo_smaller": 10,  # "20x more efficient and 10x smaller"
    "resnet_vs_v1": (4.9, 5.7),  # "about 4.9-5.7 times fewer MAdds"
    "v2_vs_v1": 2.5,  # "about 2.5 times fewer operations"
}
