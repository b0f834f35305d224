"""Solutions to the exercises of notebooks/07_detection_and_segmentation.ipynb (checked by
tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab import dense_prediction as dp
from mnv2lab import published

KINDS = ("separable", "regular")


def exercise_1(size: int = dp.DET_SIZE, classes: int = dp.DET_CLASSES) -> dict:
    """The MobileNetV2 detection head (everything after the trunk) with separable or regular
    extra layers and predictors: multiply-adds and parameters of each of the four mixtures.
    ("separable", "separable") is SSDLite, ("regular", "regular") Table 5's SSD."""
    out = {}
    for extras in KINDS:
        for predictor in KINDS:
            c = dp.counts("ssd", size, num_classes=classes, extras=extras, predictor=predictor)
            out[(extras, predictor)] = {"madds": c["head_madds"], "params": c["head_params"]}
    return out


def exercise_2(crop: int = dp.SEG_CROP, aspp: bool = True) -> dict:
    """DeepLabv3 on MobileNetV2* at output stride 16 and 8 (one ``crop`` x ``crop`` pass, 21
    classes, nominal count): multiply-adds of the whole network and of the head alone, and how
    many times more output stride 8 costs."""
    out = {}
    for os_ in (16, 8):
        c = dp.counts(
            "deeplabv3",
            crop,
            backbone="mobilenet_v2",
            output_stride=os_,
            aspp=aspp,
            num_classes=dp.SEG_CLASSES,
        )
        out[os_] = {
            "madds": c["madds"],
            "head_madds": c["head_madds"],
            "trunk_madds": c["madds"] - c["head_madds"],
        }
    out["os8_over_os16"] = out[8]["madds"] / out[16]["madds"]
    return out


def exercise_3(crop: int = dp.SEG_CROP) -> dict:
    """ "About 2.5 times fewer operations than MobileNetV1": MobileNetV1 / MobileNetV2*
    multiply-adds (both with ASPP, one ``crop`` pass, nominal count) at output stride 16 and 8,
    beside the same ratio from the printed Table 7 (whose OS8 rows are multi-scale + flip)."""
    printed = {(r["network"], r["os"]): float(r["madds"]) for r in published.TABLE7 if r["aspp"]}
    out = {}
    for os_ in (16, 8):
        madds = {
            bb: dp.counts(
                "deeplabv3",
                crop,
                backbone=bb,
                output_stride=os_,
                aspp=True,
                num_classes=dp.SEG_CLASSES,
            )["madds"]
            for bb in ("mobilenet_v1", "mobilenet_v2")
        }
        out[os_] = {
            "v1_madds": madds["mobilenet_v1"],
            "v2_madds": madds["mobilenet_v2"],
            "ours": madds["mobilenet_v1"] / madds["mobilenet_v2"],
            "printed": printed[("MNet V1", os_)] / printed[("MNet V2*", os_)],
        }
    return out


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
