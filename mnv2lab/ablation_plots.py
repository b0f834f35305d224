"""Figures of the ablation study: Figure 6a/6b in the paper's layout (test accuracy against
training step, one line per variant) with the paired gaps beside it, and the gap against width."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import plotting
from .study import PAPER_VARIANT

_ORDER = ("linear", "relu6", "expansion_shortcut", "no_residual")
SHORT_LABELS = {
    "linear": "paper's model (linear bottleneck, shortcut between bottlenecks)",
    "relu6": "ReLU6 bottleneck",
    "expansion_shortcut": "shortcut between expansions",
    "no_residual": "no residual",
}


def variant_color(variant: str):
    return plotting.palette(len(_ORDER))[_ORDER.index(variant)]


def _band(ax, x, mean, low, high, color, label, style="-"):
    ax.plot(x, mean, style, color=color, label=label, lw=2.2, marker="o", ms=4)
    ok = ~(np.isnan(low) | np.isnan(high))
    if ok.any():
        ax.fill_between(
            np.asarray(x)[ok],
            np.asarray(low)[ok],
            np.asarray(high)[ok],
            color=color,
            alpha=0.22,
            lw=0,
        )


def plot_fig6(curves: pd.DataFrame, gaps: pd.DataFrame, *, panel_title: str, note: str = ""):
    """Left: test accuracy (%) against training step, mean over seeds with 95% band, one line per
    variant (the paper's Figure 6 layout). Right: the paired gap (paper's model minus variant,
    points) against step with its 95% band; above 0 the paper's choice is better."""
    fig, (ax, axg) = plotting.new_figure("full", 1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
    if curves.empty:
        for a in (ax, axg):
            a.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=a.transAxes)
    for v in [v for v in _ORDER if v in set(curves.variant)]:
        c = curves[curves.variant == v].sort_values("step")
        n = int(c.n.max())
        _band(ax, c.step, c["mean"], c.low, c.high, variant_color(v), f"{SHORT_LABELS[v]}, n={n}")
    ax.set_xlabel("training step (batches of 128 images)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(panel_title, fontsize="medium")
    if not curves.empty:
        fig.legend(
            *ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize="x-small"
        )
    for v in [v for v in _ORDER if v in set(gaps.variant)]:
        g = gaps[gaps.variant == v].sort_values("step")
        g = g[g.step > 0]
        _band(axg, g.step, g["mean"], g.low, g.high, variant_color(v), None)
    if gaps.empty and not curves.empty:
        axg.text(
            0.5,
            0.5,
            "no complete pair of runs yet",
            ha="center",
            va="center",
            transform=axg.transAxes,
        )
    axg.axhline(0, color="black", lw=1)
    axg.set_xlabel("training step")
    axg.set_ylabel("paper's model minus variant (points)")
    axg.set_title("Paired gap to the paper's model", fontsize="medium")
    if note:
        fig.suptitle(note, fontsize="small", color="firebrick")
    return fig


def plot_width_sweep(table: pd.DataFrame, final: pd.DataFrame, *, note: str = ""):
    """Left: final test accuracy (%) against width for linear and ReLU6 bottlenecks (mean, 95%
    interval). Right: the paired linear-minus-ReLU6 gap against width, with the narrowest
    bottleneck's channel count on a second axis."""
    fig, (ax, axg) = plotting.new_figure("full", 1, 2)
    for v, offset in (("linear", -0.004), ("relu6", 0.004)):
        f = final[final.variant == v].sort_values("width")
        f = f[f.seeds > 0]
        if f.empty:
            continue
        yerr = _yerr(f)
        ax.errorbar(
            f.width + offset,
            f["mean"],
            yerr=yerr,
            fmt="-o",
            color=variant_color(v),
            capsize=5,
            lw=2,
            label=f"{SHORT_LABELS[v].split(' (')[0]}, n=" + _n_range(f.seeds),
        )
    ax.set_xlabel("width multiplier")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("Accuracy against width")
    if not final[final.seeds > 0].empty:
        ax.legend(loc="lower right", fontsize="x-small")
    t = table[table.pairs > 0].sort_values("width")
    if not t.empty:
        axg.errorbar(
            t.width,
            t.gap,
            yerr=_yerr(t.rename(columns={"gap": "mean"})),
            fmt="-o",
            color=variant_color("relu6"),
            capsize=6,
            lw=2.2,
            label="linear minus ReLU6 bottleneck",
        )
        for r in t.itertuples():
            axg.annotate(
                f"{r.bottleneck_channels} ch",
                (r.width, r.gap),
                textcoords="offset points",
                xytext=(8, -16),
                fontsize="x-small",
            )
        axg.legend(loc="best", fontsize="x-small")
    else:
        axg.text(
            0.5, 0.5, "no complete pairs yet", ha="center", va="center", transform=axg.transAxes
        )
    axg.axhline(0, color="black", lw=1)
    axg.set_xlabel("width multiplier (labels: bottleneck channels)")
    axg.set_ylabel("paired gap (accuracy points)")
    axg.set_title("Paired gap against width")
    if note:
        fig.suptitle(note, fontsize="small", color="firebrick")
    return fig


def _n_range(seeds: pd.Series) -> str:
    lo, hi = int(seeds.min()), int(seeds.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _yerr(frame: pd.DataFrame):
    low = (frame["mean"] - frame["low"]).to_numpy(dtype=float, copy=True)
    high = (frame["high"] - frame["mean"]).to_numpy(dtype=float, copy=True)
    low[np.isnan(low)], high[np.isnan(high)] = 0.0, 0.0
    return np.vstack([low, high])


def table_for_display(frame: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Rounded copy of a summary table, intervals as text."""
    out = frame.copy()
    if {"low", "high"} <= set(out.columns):
        out["95% CI"] = [
            (
                "n/a"
                if (isinstance(lo, float) and math.isnan(lo))
                else f"[{lo:.{digits}f}, {hi:.{digits}f}]"
            )
            for lo, hi in zip(out["low"], out["high"])
        ]
        out = out.drop(columns=["low", "high"])
    return out.round(digits)


__all__ = ["plot_fig6", "plot_width_sweep", "table_for_display", "variant_color", "PAPER_VARIANT"]
