"""Figures of the ReLU-manifold notebook: Figure 1 and the three Monte-Carlo figures beyond it.

Each function takes results from :mod:`mnv2lab.manifold` and returns a matplotlib figure at a slide
preset; the notebook saves it with ``nb.save_figure``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .manifold import (
    MIN_COLLAPSING_TRIALS,
    Figure1,
    PairCounts,
    Sweep,
    collapsed_fraction_theory,
    percent,
)
from .plotting import PRESETS, new_figure, palette

FIG1_HEIGHT = 3.4  # one row of square panels across a full-width slide


def plot_figure1(fig1: Figure1) -> Figure:
    """Input spiral and ``pinv(T) ReLU(T x)`` for each ``n``, one row, as in the paper. Under
    each panel: the fraction of points this one ``T`` collapses and the expected (n+1)/2^n."""
    ns = list(fig1.outputs)
    fig, axes = new_figure("full", 1, len(ns) + 1)
    fig.set_size_inches(PRESETS["full"][0], FIG1_HEIGHT)
    colour = palette()[0]
    panels = [("Input", fig1.X, "2-D input")] + [
        (
            f"n = {n}",
            fig1.outputs[n],
            f"{fig1.collapsed_fraction[n]:.0%} collapsed\n"
            f"(expected {percent(fig1.expected_fraction(n))})",
        )
        for n in ns
    ]
    for ax, (title, pts, label) in zip(np.atleast_1d(axes), panels):
        ax.plot(pts[:, 0], pts[:, 1], color=colour, lw=1.2)
        ax.set_title(title)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(label, fontsize="small")
    return fig


def _theory_ns(sw: Sweep) -> np.ndarray:
    return np.linspace(sw.ns.min(), sw.ns.max(), 400)


def plot_collapse(sw: Sweep, pairs: PairCounts) -> Figure:
    """(a) Theorem 1's non-collapsed fraction vs Monte Carlo; (b) the collapsed fraction on a log
    scale, where the two estimates and the sweep's detection limit are visible."""
    fig, (ax_a, ax_b) = new_figure("full", 1, 2)
    c_theory, c_mc, c_pairs = palette(3)
    table, ptable = sw.table(), pairs.table()
    n_fine = _theory_ns(sw)

    ns = table.index.to_numpy()
    ok = 1.0 - table["collapsed"].to_numpy()
    err = np.vstack(
        [table["collapsed_high"] - table["collapsed"], table["collapsed"] - table["collapsed_low"]]
    )  # swapped: 1 - fraction
    ax_a.plot(
        n_fine,
        1.0 - collapsed_fraction_theory(n_fine),
        color=c_theory,
        lw=2,
        label="Theorem 1: 1 − (n+1)/2ⁿ",
    )
    ax_a.errorbar(
        ns,
        ok,
        yerr=err,
        fmt="o",
        ms=5,
        color=c_mc,
        capsize=2,
        label=f"Monte Carlo ({sw.n_trials} T, 95% t CI)",
    )
    ax_a.set(
        xlabel="embedding dimension n",
        ylabel="fraction of points NOT collapsed",
        title="(a) Invertible fraction (Theorem 1)",
        ylim=(0.0, 1.04),
    )
    ax_a.legend(loc="lower right")

    n_max_b = int(min(ns.max(), 30))
    n_b = n_fine[n_fine <= n_max_b]
    ax_b.semilogy(
        n_b, collapsed_fraction_theory(n_b), color=c_theory, lw=2, label="theory: (n+1)/2ⁿ"
    )
    collapsing = (sw.collapsed > 0).sum(axis=1)
    t = table[collapsing >= MIN_COLLAPSING_TRIALS]  # enough collapsing T for a t-interval
    low = np.maximum(t["collapsed_low"].to_numpy(), t["collapsed"].to_numpy() * 1e-2)
    ax_b.errorbar(
        t.index,
        t["collapsed"],
        yerr=[t["collapsed"] - low, t["collapsed_high"] - t["collapsed"]],
        fmt="o",
        ms=6,
        color=c_mc,
        capsize=2,
    )
    few = table[(collapsing > 0) & (collapsing < MIN_COLLAPSING_TRIALS)]  # too few: no interval
    ax_b.plot(few.index, few["collapsed"], "o", ms=6, color=c_mc, mfc="white")
    p = ptable[(ptable["count"] > 0) & (ptable.index <= n_max_b)]
    ax_b.errorbar(
        p.index + 0.25,
        p["pairs"],
        yerr=[p["pairs"] - p["pairs_low"], p["pairs_high"] - p["pairs"]],
        fmt="s",
        ms=5,
        color=c_pairs,
        capsize=2,
    )
    limit = sw.detection_limit()
    ax_b.axhline(limit, color="0.4", ls=":", lw=1.5)
    ax_b.text(
        1.5,
        limit * 1.5,
        f"1 point in {sw.n_trials} T × {sw.n_points} points",
        ha="left",
        va="bottom",
        fontsize="x-small",
        color="0.3",
    )
    ax_b.set(
        xlabel="embedding dimension n",
        ylabel="fraction of points collapsed",
        title="(b) Collapsed fraction, log scale",
        ylim=(limit / 20, 1.5),
        xlim=(1, n_max_b + 1),
    )
    handles = [
        Line2D([], [], color=c_theory, lw=2, label="theory: (n+1)/2ⁿ"),
        Line2D([], [], color=c_mc, marker="o", ls="", label=f"mean of {sw.n_trials} T (t CI)"),
        Line2D(
            [],
            [],
            color=c_mc,
            marker="o",
            mfc="white",
            ls="",
            label=f"same, < {MIN_COLLAPSING_TRIALS} T collapse: no CI",
        ),
        Line2D(
            [],
            [],
            color=c_pairs,
            marker="s",
            ls="",
            label=f"{pairs.n_pairs:,} (T, point) pairs (Wilson)",
        ),
    ]
    ax_b.legend(handles=handles, loc="upper right", fontsize="x-small")
    return fig


def _band(ax, ns, table, key, colour, label, ls="-"):
    ax.plot(ns, table[key], color=colour, lw=2, ls=ls, label=label)
    low = np.maximum(table[f"{key}_low"].to_numpy(), 1e-300)
    ax.fill_between(ns, low, table[f"{key}_high"], color=colour, alpha=0.25, lw=0)


def plot_reconstruction(sw: Sweep) -> Figure:
    """Relative RMS error of the pseudo-inverse and the least-squares decoder against ``n``."""
    fig, ax = new_figure("full")
    table = sw.table()
    ns = table.index.to_numpy()
    c_pinv, c_ls, c_held = palette(3)
    _band(ax, ns, table, "err_pinv", c_pinv, "pseudo-inverse pinv(T)")
    _band(ax, ns, table, "err_pinv_x2", c_pinv, "2 pinv(T): the factor 1/2 removed", ls="-.")
    _band(ax, ns, table, "err_lstsq", c_ls, "least squares + bias, fit and scored on all points")
    _band(
        ax,
        ns,
        table,
        "err_lstsq_heldout",
        c_held,
        "least squares + bias, fit on even points, scored on odd",
        ls="--",
    )
    ax.axhline(0.5, color="0.4", ls=":", lw=1.5, label="0.5: pinv output → x/2 for large n")
    ax.set_yscale("log")
    ax.set(
        xlabel="embedding dimension n",
        ylabel="relative RMS error  ‖x̂ − x‖ / ‖x‖",
        title=f"Reconstructing the spiral after ReLU (mean and 95% CI over {sw.n_trials} T)",
    )
    ax.legend(loc="lower left", fontsize="small")
    return fig


def plot_linear_control(sw: Sweep) -> Figure:
    """Without ReLU, ``pinv(T) T x = x``: the error sits at float precision for every ``n``."""
    fig, ax = new_figure("full")
    table = sw.table()
    ns = table.index.to_numpy()
    c_lin, c_relu = palette(4)[2:4]
    ax.plot(
        ns,
        table["err_linear"],
        "o-",
        color=c_lin,
        ms=5,
        label=f"no ReLU: mean over {sw.n_trials} T",
    )
    ax.plot(
        ns, table["err_linear_max"], "v", color=c_lin, ms=6, mfc="white", label="no ReLU: worst T"
    )
    ax.plot(ns, table["err_pinv"], "-", color=c_relu, lw=2, label="with ReLU: mean (for contrast)")
    eps = np.finfo(float).eps
    ax.axhline(eps, color="0.4", ls=":", lw=1.5)
    ax.text(
        ns.max(),
        eps / 1.6,
        "float64 machine epsilon",
        ha="right",
        va="top",
        fontsize="small",
        color="0.3",
    )
    ax.set_yscale("log")
    ax.set(
        xlabel="embedding dimension n",
        ylabel="relative RMS error  ‖x̂ − x‖ / ‖x‖",
        title="Linear control: pinv(T) T x recovers the spiral exactly",
        ylim=(eps / 20, 10),
    )
    ax.legend(loc="center right", fontsize="small")
    return fig
