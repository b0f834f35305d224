"""Figures of :mod:`mnv2lab.budget`: each comparison's paired gap at every training budget, and
train vs test loss beside accuracy (is a budget's model still underfit?)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from . import plotting


def plot_gap_against_budget(
    table: pd.DataFrame,
    budgets: list[str],
    *,
    title: str,
    paper_range: tuple[float, float] | None = None,
):
    """One marker per (comparison, budget): the paired gap (points) with its 95% interval, the
    budgets side by side on the x axis; the paper's range as a shaded band. Values are rounded
    to 0.01 points before plotting (vector output stable across CPUs)."""
    fig, ax = plotting.new_figure("full")
    comparisons = list(dict.fromkeys(table.comparison)) if not table.empty else []
    colors = plotting.palette(max(1, len(comparisons)))
    width = 0.7 / max(1, len(comparisons))
    if paper_range is not None:
        ax.axhspan(*paper_range, color="0.85", lw=0, label="paper (ImageNet)")
    ax.axhline(0, color="black", lw=1)
    for i, comp in enumerate(comparisons):
        rows = table[table.comparison == comp]
        for j, budget in enumerate(budgets):
            r = rows[rows.budget == budget]
            if r.empty:
                continue
            r = r.iloc[0]
            x = j + (i - (len(comparisons) - 1) / 2) * width
            gap = round(float(r.gap), 2)
            lo, hi = float(r.low), float(r.high)
            if math.isfinite(lo) and math.isfinite(hi):
                ax.errorbar(
                    [x],
                    [gap],
                    yerr=[[round(gap - lo, 2)], [round(hi - gap, 2)]],
                    fmt="o",
                    color=colors[i],
                    capsize=4,
                    lw=2,
                    ms=7,
                    label=comp if j == 0 else None,
                )
            else:
                ax.plot([x], [gap], "o", color=colors[i], ms=7, label=comp if j == 0 else None)
            per_seed = np.round(np.asarray(r.per_seed, float), 2)
            ax.plot(
                np.full(len(per_seed), x + width * 0.25),
                per_seed,
                "_",
                color=colors[i],
                ms=9,
                alpha=0.8,
            )
            ax.annotate(
                f"n={int(r.pairs)}",
                (x, hi if math.isfinite(hi) else gap),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize="x-small",
            )
    ax.set_xticks(range(len(budgets)), budgets)
    ax.set_xlim(-0.6, len(budgets) - 0.4)
    ax.margins(y=0.12)  # room for the n= labels above the intervals
    ax.set_ylabel("paired gap, test accuracy (points)")
    ax.set_title(title, fontsize="medium")
    if table.empty:
        ax.text(
            0.5,
            0.5,
            "no complete pair of runs yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    else:
        ax.legend(fontsize="x-small", loc="best")
    return fig


def plot_fit(curves: pd.DataFrame, *, title: str):
    """Left: loss against epoch (mean over seeds) per model: test loss (solid), training loss as
    trained (dashed: augmentation, dropout and label smoothing on) and, where measured, training
    images evaluated as the test set is (dotted); right: test accuracy. A model fits its training
    data once the dotted line runs below the solid one; train loss at or above test loss with no
    dotted line means still underfit. Colours name the models, line styles the loss."""
    fig, (axl, axa) = plotting.new_figure("full", 1, 2)
    models = list(dict.fromkeys(curves.model)) if not curves.empty else []
    colors = plotting.palette(max(1, len(models)))
    styles = {"test_loss": ("-", "test"), "train_loss": ("--", "training, as trained")}
    clean_measured = "clean_train_loss" in curves and curves.clean_train_loss.notna().any()
    if clean_measured:
        styles["clean_train_loss"] = (":", "training images, evaluated as test")
    for color, model in zip(colors, models):
        c = curves[curves.model == model].groupby("epoch", as_index=False).mean(numeric_only=True)
        c = c.round(3)
        for column, (style, _) in styles.items():
            points = c[c[column].notna()]
            axl.plot(points.epoch, points[column], style, color=color, lw=2)
        axa.plot(c.epoch, c.test_acc.round(2), "-o", color=color, lw=2, ms=3, label=model)
    axl.set_xlabel("epoch")
    axl.set_ylabel("cross-entropy")
    axa.set_xlabel("epoch")
    axa.set_ylabel("test accuracy (%)")
    axl.set_title("loss", fontsize="medium")
    axa.set_title("test accuracy", fontsize="medium")
    if models:
        axl.legend(
            [Line2D([], [], color="0.3", ls=style, lw=2) for style, _ in styles.values()],
            [name for _, name in styles.values()],
            fontsize="x-small",
            loc="upper right",
        )
        axa.legend(fontsize="x-small", loc="lower right")
    else:
        axl.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=axl.transAxes)
    fig.suptitle(title, fontsize="medium")
    return fig
