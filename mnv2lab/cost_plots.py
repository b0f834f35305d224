"""Figures of the architecture-and-cost notebook (02): cost across widths and resolutions,
Figure 5's axes with computed multiply-adds, activation memory per resolution (Table 3's picture)
and the Section 5 slicing. Each function returns a figure at a slide preset."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .published import TABLE3, TABLE3_SIZES
from .section5.analytic import UNSLICED_TIGHTEST
from .plotting import new_figure, palette

FAMILY_STYLE = {
    "mobilenet_v2": ("MobileNetV2", "-", "o"),
    "mobilenet_v1": ("MobileNetV1", "--", "s"),
}


def _millions(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    (ax.yaxis if axis == "y" else ax.xaxis).set_minor_formatter(NullFormatter())


def plot_cost_grid(grid: pd.DataFrame) -> Figure:
    """(a) MAdds vs input resolution, one colour per width, V2 solid and V1 dashed (log scale);
    (b) parameters vs width (they do not depend on resolution)."""
    fig, (ax_a, ax_b) = new_figure("full", 1, 2)
    widths = sorted(grid.width.unique())
    colours = dict(zip(widths, palette(len(widths))))
    params = {
        name: grid[grid.model == name].groupby("width").params.first() / 1e6
        for name in FAMILY_STYLE
    }
    for name, (label, ls, marker) in FAMILY_STYLE.items():
        sub = grid[grid.model == name]
        for w in widths:
            line = sub[sub.width == w].sort_values("resolution")
            ax_a.plot(
                line.resolution, line.madds / 1e6, ls=ls, marker=marker, ms=6, color=colours[w]
            )
        per_width = params[name]
        other = params[next(n for n in FAMILY_STYLE if n != name)]
        ax_b.plot(
            per_width.index, per_width.values, ls=ls, marker=marker, ms=7, color="0.25", label=label
        )
        for w, p in per_width.items():  # label on the side away from the other family
            above = w not in other.index or p >= other[w]
            ax_b.annotate(
                f"{p:.2f}M",
                (w, p),
                textcoords="offset points",
                ha="center",
                xytext=(0, 9) if above else (0, -19),
                fontsize="x-small",
            )
    ax_a.set_yscale("log")
    ax_a.set_ylim(grid.madds.min() / 1e6 * 0.7, grid.madds.max() / 1e6 * 6)
    _millions(ax_a)
    ax_a.set(
        xlabel="input resolution (pixels, square)",
        ylabel="multiply-adds (millions, log)",
        title="(a) Multiply-adds",
        xticks=sorted(grid.resolution.unique()),
    )
    handles = [Line2D([], [], color=colours[w], lw=3, label=f"width {w:g}") for w in widths]
    handles += [
        Line2D([], [], color="0.25", ls=ls, marker=m, label=lab)
        for lab, ls, m in FAMILY_STYLE.values()
    ]
    ax_a.legend(handles=handles, fontsize="x-small", ncol=3, loc="upper left")
    ax_b.set_xlim(min(widths) - 0.15, max(widths) + 0.15)
    ax_b.set(
        xlabel="width multiplier",
        ylabel="parameters (millions, with BN)",
        title="(b) Parameters (any resolution)",
        xticks=widths,
    )
    ax_b.set_xticklabels([f"{w:g}" for w in widths])
    ax_b.legend(fontsize="small", loc="upper left")
    return fig


def plot_figure5(points: pd.DataFrame) -> Figure:
    """Figure 5's axes: published top-1 against the multiply-adds we compute (log x).
    MobileNetV2 points are shaded by resolution and joined across resolutions per width."""
    import matplotlib.pyplot as plt

    fig, ax = new_figure("full")
    colours = palette(4)
    v2 = points[points.family == "MobileNetV2"]
    resolutions = sorted(v2.resolution.unique())
    shades = dict(zip(resolutions, plt.get_cmap("Blues")(np.linspace(0.45, 1.0, len(resolutions)))))
    for w, line in v2.groupby("width"):
        line = line.sort_values("resolution")
        ax.plot(line.madds / 1e6, line.top1, color=colours[0], alpha=0.4, lw=1.2, zorder=2)
        last = line.iloc[-1]
        ax.annotate(
            f"V2 {w:g}",
            (last.madds / 1e6, last.top1),
            fontsize="xx-small",
            textcoords="offset points",
            xytext=(-6, 8),
            ha="right",
            color=colours[0],
        )
    for res in resolutions:
        sub = v2[v2.resolution == res]
        ax.scatter(
            sub.madds / 1e6,
            sub.top1,
            s=80,
            color=shades[res],
            edgecolor="white",
            linewidth=0.6,
            zorder=3,
            label=f"MobileNetV2 at {res}²",
        )
    v1 = points[points.family == "MobileNetV1"]
    for mask in (v1.width == 1.0, v1.resolution == 224):
        line = v1[mask].sort_values("madds")
        ax.plot(line.madds / 1e6, line.top1, color=colours[1], alpha=0.5, lw=1.2, ls="--")
    ax.scatter(
        v1.madds / 1e6,
        v1.top1,
        marker="s",
        s=80,
        color=colours[1],
        zorder=3,
        label="MobileNetV1 (its paper)",
        edgecolor="white",
        linewidth=0.6,
    )
    sh = points[points.family == "ShuffleNet"]
    ax.scatter(
        sh.madds / 1e6,
        sh.top1,
        marker="^",
        s=100,
        color=colours[2],
        zorder=3,
        label="ShuffleNet (0.25x to 2x)",
        edgecolor="white",
        linewidth=0.6,
    )
    for r in sh.itertuples():
        ax.annotate(
            f"{r.width:g}x g={int(r.groups)}",
            (r.madds / 1e6, r.top1),
            fontsize="xx-small",
            textcoords="offset points",
            xytext=(6, -10),
            color="0.3",
        )
    nas = points[points.family.str.startswith("NasNet")]
    ax.scatter(
        nas.madds / 1e6,
        nas.top1,
        marker="*",
        s=260,
        color=colours[3],
        zorder=3,
        label="NasNet-A (published MAdds)",
    )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    _millions(ax, "x")
    ax.set(
        xlabel="multiply-adds (millions, log scale), computed",
        ylabel="ImageNet top-1 (%), published",
        title="Figure 5's axes: published accuracy at computed multiply-adds",
    )
    ax.legend(fontsize="x-small", loc="lower right", ncol=2)
    return fig


FAMILY_COLOURS = {
    "MobileNetV1": 1,
    "MobileNetV2": 0,
    "ShuffleNet (2x, g=3)": 2,
    "ShuffleNet (2x, g=2)": 4,
}


def plot_memory(paper: pd.DataFrame, every: pd.DataFrame) -> Figure:
    """Largest tensor per spatial resolution (kB, 16-bit, log scale) for each family:
    (a) under the paper's definition (Section 5 slicing, first-layer trick), with the printed
    Table 3 values as open markers; (b) when every intermediate tensor is materialized."""
    fig, axes = new_figure("full", 1, 2, sharey=True)
    colours = palette(5)
    sizes = list(TABLE3_SIZES)
    xpos = {s: i for i, s in enumerate(sizes)}
    for ax, long, title in (
        (axes[0], paper, "(a) Paper's definition (sliced bottlenecks)"),
        (axes[1], every, "(b) Every tensor materialized"),
    ):
        for family, group in long.groupby("family", sort=False):
            c = colours[FAMILY_COLOURS.get(family, 3)]
            ls = ":" if family.endswith("g=2)") else "-"
            g = group[group["size"].isin(sizes)]
            ax.plot(
                [xpos[s] for s in g["size"]],
                g.kB,
                ls=ls,
                marker="o",
                ms=6,
                color=c,
                label=f"{family} (ours)",
                lw=2 if ls == "-" else 1.5,
            )
            printed = TABLE3.get(family)
            if printed is not None and ax is axes[0]:
                ax.scatter(
                    [xpos[s] for s in sizes],
                    [printed[s][1] for s in sizes],
                    s=110,
                    facecolor="none",
                    edgecolor=c,
                    linewidth=1.8,
                    zorder=4,
                )
        ax.set_yscale("log")
        _millions(ax)
        ax.set_xticks(range(len(sizes)))
        ax.set_xticklabels([f"{s}²" for s in sizes])
        ax.set(xlabel="spatial resolution (224×224 input)", title=title)
    axes[0].set_ylabel("largest tensor at that resolution (kB, log)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="0.3", ms=10))
    labels.append("printed in Table 3")
    axes[0].legend(handles, labels, fontsize="x-small", loc="lower left")
    return fig


def plot_sliced_memory(sliced: pd.DataFrame, table3_max_kb: float) -> Figure:
    """Working memory of each MobileNetV2 bottleneck (kB, 16-bit) with everything held at once
    (unsliced upper bound), in the tightest unsliced schedule (black ticks), in 2, t slices and
    one channel at a time (Section 5); the dotted line is Table 3's largest single tensor."""
    fig, ax = new_figure("full")
    colours = palette(4)
    x = sliced.block.to_numpy()
    series = [
        ("kB, 1 slice(s)", "unsliced, all held at once (upper bound)"),
        ("kB, 2 slice(s)", "2 slices"),
        ("kB, t slice(s)", "t slices (slices of k channels)"),
        ("kB, tk slice(s)", "one channel per slice (the bound)"),
    ]
    width = 0.2
    for i, (col, label) in enumerate(series):
        ax.bar(x + (i - 1.5) * width, sliced[col], width=width, color=colours[i], label=label)
    ax.scatter(
        x - 1.5 * width,
        sliced[UNSLICED_TIGHTEST],
        marker="_",
        s=220,
        linewidths=2.5,
        color="black",
        zorder=4,
        label="unsliced, tightest schedule",
    )
    ax.axhline(table3_max_kb, color="0.3", ls=":", lw=1.5)
    ax.text(
        len(x) + 0.4,
        table3_max_kb * 1.05,
        f"Table 3 max (one tensor): {table3_max_kb:.0f} kB",
        ha="right",
        va="bottom",
        fontsize="x-small",
        color="0.3",
    )
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{b}\n{inp.split(' ')[0]}" for b, inp in zip(x, sliced.input)], fontsize="x-small"
    )
    ax.set(
        xlabel="bottleneck block (number and input resolution)",
        ylabel="working memory (kB, 16-bit)",
        title="Section 5: a bottleneck computed in slices holds much less at once",
    )
    ax.legend(fontsize="x-small", loc="upper right")
    return fig
