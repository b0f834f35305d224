"""Notebook 07's figures: parameters vs multiply-adds of every Table 5-7 row (paper vs ours),
and the measured CPU latency of the Table 6 and Table 7 networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plotting import new_figure, palette


def cost_points(t5: pd.DataFrame, t6: pd.DataFrame, t7_ours: pd.DataFrame) -> pd.DataFrame:
    """One row per network: printed and our (params M, MAdds B). Tables 5-6 in the paper's
    setting; Table 7 in the convention that comes closest (regular ASPP, TF1-profiler dilated
    convs, 513 crops)."""
    rows = []
    for table, name in ((t5, "Table 5"), (t6, "Table 6")):
        for row in dict.fromkeys(table.row):
            cells = table[table.row == row].set_index("quantity")
            label = f"{row} head" if name == "Table 5" else row
            rows.append(
                {
                    "table": name,
                    "network": label,
                    "paper params": float(cells.loc["params (M)", "printed"]),
                    "paper MAdds": float(cells.loc["MAdds (B)", "printed"]),
                    "our params": cells.loc["params (M)", "ours (paper's setting)"],
                    "our MAdds": cells.loc["MAdds (B)", "ours (paper's setting)"],
                }
            )
    for r in t7_ours.to_dict("records"):
        label = (
            f"{r['network']} OS{r['os']}{' ASPP' if r['aspp'] else ''}{' MF' if r['mf'] else ''}"
        )
        rows.append(
            {
                "table": "Table 7",
                "network": label,
                "paper params": r["printed params (M)"],
                "paper MAdds": r["printed MAdds (B)"],
                "our params": r["params (M)"],
                "our MAdds": r["MAdds (B)"],
            }
        )
    return pd.DataFrame.from_records(rows)


def plot_costs(points: pd.DataFrame) -> Figure:
    """Params vs MAdds on log axes: the paper's value (open marker) and ours (filled), joined."""
    fig, ax = new_figure("full")
    colors = dict(zip(["Table 5", "Table 6", "Table 7"], palette(3)))
    for r in points.to_dict("records"):
        c = colors[r["table"]]
        ours, paper = (r["our params"], r["our MAdds"]), (r["paper params"], r["paper MAdds"])
        ax.plot([ours[0], paper[0]], [ours[1], paper[1]], color=c, lw=0.8, alpha=0.6)
        ax.scatter(*ours, color=c, s=30, zorder=3)
        ax.scatter(*paper, facecolors="none", edgecolors=c, s=60, zorder=3)
        ax.annotate(r["network"], ours, textcoords="offset points", xytext=(5, -3), fontsize=7)
    for table, c in colors.items():
        ax.scatter([], [], color=c, label=f"{table}: ours (filled)")
    ax.scatter([], [], facecolors="none", edgecolors="grey", s=60, label="paper (open)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (M)")
    ax.set_ylabel("multiply-adds (B)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_latency(table: pd.DataFrame, ratios: pd.DataFrame) -> Figure:
    """Median latency (IQR as error bars) per network and thread count, V2/V1 ratios in the
    titles; contaminated timings hatched."""
    fig, axes = new_figure("full", 1, 2)
    for ax, tab in zip(axes, ("Table 6", "Table 7")):
        sub = table[table.table == tab]
        nets = list(dict.fromkeys(sub.network))
        threads = sorted(sub.threads.unique())
        width = 0.8 / max(len(threads), 1)
        for i, th in enumerate(threads):
            s = sub[sub.threads == th].set_index("network").reindex(nets)
            x = np.arange(len(nets)) + i * width
            bars = ax.bar(
                x,
                s.median_ms,
                width,
                yerr=s.iqr_ms / 2,
                label=f"{th} thread(s)",
                color=palette(len(threads))[i],
            )
            for bar, ok in zip(bars, s.usable.fillna(False)):
                if not ok:
                    bar.set_hatch("//")
        ax.set_xticks(np.arange(len(nets)) + width * (len(threads) - 1) / 2)
        ax.set_xticklabels([n.replace(" DeepLabv3", "\nDeepLabv3") for n in nets], fontsize=7)
        parts = []
        for v2, r in ratios[ratios.table == tab].groupby("V2 network", sort=False):
            values = "/".join(f"{x:.2f}" for x in r.sort_values("threads")["V2 / V1"])
            what = "" if tab == "Table 6" else ("ASPP " if "ASPP" in v2 else "no ASPP ")
            parts.append(f"{what}{values}")
        threads_text = "/".join(str(t) for t in threads)
        ax.set_title(f"{tab}: V2/V1 {'; '.join(parts) or 'n/a'} ({threads_text} thr)", fontsize=9)
        ax.set_ylabel("median latency (ms)")
        ax.legend(fontsize=7)
    return fig
