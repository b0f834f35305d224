"""Figure 7 in the paper's layout: positive channels per pixel after each expansion ReLU6,
min / mean / max against the layer index, at initialization and trained, in channels and as a
fraction of the expanded width, with the invertibility threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import plotting
from .activations import pooled

STAGE_TITLES = {"init": "(a) step 0", "trained": "(b) trained"}


def plot_fig7(table: pd.DataFrame, width: float, *, note: str = ""):
    """2 x 2 panels: rows = initialization / trained; columns = number of positive channels,
    fraction of the expanded channels. Lines: mean over pixels and images (band: 95% interval of
    that mean over seeds), the 5th-95th percentile band, min and max over every pixel, image and
    seed; dashed: the threshold (the bottleneck width, 1/t of the channels)."""
    fig, axes = plotting.new_figure("tall", 2, 2, sharex=True)
    colors = plotting.palette(4)
    for row, stage in enumerate(("init", "trained")):
        p = pooled(table, width, stage) if not table.empty else pd.DataFrame()
        for col, frac in enumerate((False, True)):
            ax = axes[row, col]
            if p.empty:
                ax.text(
                    0.5,
                    0.5,
                    "no models counted yet",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                )
            else:
                pre = "frac_" if frac else ""
                x = p.layer.to_numpy()
                ax.fill_between(
                    x,
                    p[f"{pre}p5"],
                    p[f"{pre}p95"],
                    color=colors[0],
                    alpha=0.18,
                    lw=0,
                    label="5th-95th percentile of pixels",
                )
                ax.plot(x, p[f"{pre}max"], "^-", color=colors[1], lw=1.5, ms=5, label="max")
                ax.plot(
                    x,
                    p[f"{pre}mean"],
                    "o-",
                    color=colors[0],
                    lw=2.2,
                    ms=5,
                    label="mean over pixels and images",
                )
                ok = ~np.isnan(p[f"{pre}mean_low"].to_numpy(dtype=float))
                if ok.any():
                    ax.fill_between(
                        x[ok],
                        p[f"{pre}mean_low"][ok],
                        p[f"{pre}mean_high"][ok],
                        color=colors[0],
                        alpha=0.45,
                        lw=0,
                        label="95% CI of the mean (seeds)",
                    )
                ax.plot(x, p[f"{pre}min"], "v-", color=colors[3], lw=1.5, ms=5, label="min")
                thr = (p.threshold / p.channels) if frac else p.threshold
                ax.step(
                    x, thr, where="mid", color="black", ls="--", lw=1.5, label="threshold (1/t)"
                )
                below = p[p["min"] < p.threshold]
                if not below.empty:
                    ax.plot(
                        below.layer,
                        below[f"{pre}min"],
                        "o",
                        mfc="none",
                        mec="firebrick",
                        ms=12,
                        mew=2,
                        label="min under threshold",
                    )
            n = (
                ""
                if p.empty
                else f" (n={int(p.seeds.min())} seed{'s' if p.seeds.min() > 1 else ''})"
            )
            ax.set_title(
                f"{STAGE_TITLES[stage]}{n}: {'fraction' if frac else 'number'} positive",
                fontsize="small",
            )
            ax.set_ylabel("fraction of channels" if frac else "positive channels")
            ax.set_xticks(range(1, 17, 3) if p.empty else p.layer.to_numpy()[::3])
            if frac:
                ax.set_ylim(-0.02, 1.02)
            if row == 1:
                ax.set_xlabel("expansion layer (network order)")
    unique: dict = {}
    for ax in axes.flat:  # every entry once, from whichever panel has it
        for h, label in zip(*ax.get_legend_handles_labels()):
            unique.setdefault(label, h)
    handles, labels = list(unique.values()), list(unique)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize="x-small", ncol=4)
    if note:
        fig.suptitle(note, fontsize="small", color="firebrick")
    return fig


def plot_layers_below(below: pd.DataFrame):
    """Beyond the paper: per width, the number of expansion layers with a pixel under the
    threshold (mean over seeds, every seed as a dot), at initialization and trained."""
    fig, ax = plotting.new_figure("half")
    colors = plotting.palette(2)
    if below.empty:
        ax.text(0.5, 0.5, "no models counted yet", ha="center", va="center", transform=ax.transAxes)
    widths = sorted(below.width.unique()) if not below.empty else []
    for j, stage in enumerate(("init", "trained")):
        s = below[below.stage == stage] if not below.empty else below
        for i, w in enumerate(widths):
            v = s[s.width == w].layers_below.to_numpy(dtype=float)
            if v.size == 0:
                continue
            xpos = i + (j - 0.5) * 0.3
            name = "initialization" if stage == "init" else "trained"
            ax.bar(
                xpos,
                v.mean(),
                width=0.28,
                color=colors[j],
                alpha=0.8,
                label=f"{name}, mean" if i == 0 else None,
            )
            # Seeds side by side across the bar, so equal counts do not hide each other.
            spread = np.linspace(-0.08, 0.08, v.size) if v.size > 1 else np.zeros(1)
            ax.plot(
                xpos + spread,
                v,
                "o",
                color="black",
                ms=5,
                label="one seed" if i == 0 and j == 0 else None,
            )
    ax.set_xticks(range(len(widths)), [f"{w:g}" for w in widths])
    ax.set_xlabel("width multiplier")
    ax.set_ylabel("layers with a pixel under 1/t")
    ax.set_title("Layers with pixels under 1/t", fontsize="small")
    ax.set_ylim(bottom=-0.25)  # seeds at 0 stay visible above the axis line
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if widths:
        ax.legend(fontsize="x-small")
    return fig
