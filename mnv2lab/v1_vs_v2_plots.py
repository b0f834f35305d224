"""Figures of the V1-vs-V2 notebook (06): Table 4 latency, accuracy against measured latency with
each family's Pareto front, Section 5 memory and latency against the number of slices, and the
trained CIFAR-10 comparison. Each function returns a figure at a slide preset."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .plotting import new_figure, palette

FAMILY_STYLE = {"MobileNetV2": ("o", 0), "MobileNetV1": ("s", 1), "ShuffleNet": ("^", 2)}


def _plain_log_axis(ax, axis: str = "x") -> None:
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _no_data(ax, text: str, width: int = 60) -> None:
    ax.text(
        0.5,
        0.5,
        "\n".join(textwrap.wrap(text, width)),
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize="small",
        color="0.3",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def plot_table4_latency(t4: pd.DataFrame, resolution: int = 224) -> Figure:
    """(a) Latency measured here per Table 4 network and thread count (median, IQR bars);
    (b) latency relative to MobileNetV1: here (per thread count), on the Pixel 1 (paper), and
    the multiply-add ratio."""
    fig, (ax_a, ax_b) = new_figure("full", 1, 2)
    colours = palette(6)
    threads = sorted(
        int(c.split(",")[1].split()[0]) for c in t4.columns if c.startswith("CPU here")
    )
    built = t4.dropna(subset=[f"CPU here, {threads[0]} thr (ms)"]) if threads else t4.iloc[:0]
    if built.empty:
        _no_data(ax_a, "no latency measured")
        _no_data(ax_b, "no latency measured")
        return fig
    y = np.arange(len(built))
    height = 0.8 / len(threads)
    for i, th in enumerate(threads):
        med = built[f"CPU here, {th} thr (ms)"].to_numpy(float)
        iqr = built[f"IQR, {th} thr (ms)"].to_numpy(float)
        ax_a.barh(
            y + i * height,
            med,
            height,
            xerr=iqr / 2,
            color=colours[i],
            label=f"{th} thread(s)",
            capsize=3,
        )
        for yy, m, q in zip(y + i * height, med, iqr):
            ax_a.annotate(
                f"{m:.1f}",
                (m + np.nan_to_num(q) / 2, yy),
                xytext=(6, 0),
                textcoords="offset points",
                fontsize="x-small",
                va="center",
            )
    ax_a.set_yticks(y + height * (len(threads) - 1) / 2)
    ax_a.set_yticklabels(built.network, fontsize="small")
    ax_a.invert_yaxis()
    ax_a.set(
        xlabel="latency here (ms, median; bar = IQR)",
        title=f"(a) CPU latency, batch 1, {resolution}²",
    )
    ax_a.set_xlim(
        0, np.nanmax(built[[f"CPU here, {th} thr (ms)" for th in threads]].to_numpy()) * 1.25
    )
    ax_a.legend(fontsize="x-small", loc="upper right", bbox_to_anchor=(1.0, -0.12), ncol=2)

    v1 = t4.set_index("network").loc["MobileNetV1"]
    rel = []
    for _, row in t4.iterrows():
        entry = {
            "network": row.network,
            "MAdds": row["MAdds (M)"] / v1["MAdds (M)"] if pd.notna(row["MAdds (M)"]) else np.nan,
            "Pixel 1 (paper)": row["CPU Pixel 1 (ms, published)"]
            / v1["CPU Pixel 1 (ms, published)"],
        }
        for th in threads:
            entry[f"here, {th} thr"] = (
                row[f"CPU here, {th} thr (ms)"] / v1[f"CPU here, {th} thr (ms)"]
            )
        rel.append(entry)
    rel = pd.DataFrame(rel)
    rel = rel[rel.network != "MobileNetV1"].reset_index(drop=True)
    series = ["Pixel 1 (paper)"] + [f"here, {th} thr" for th in threads] + ["MAdds"]
    markers = {"Pixel 1 (paper)": ("D", colours[3]), "MAdds": ("|", "0.2")}
    yy = np.arange(len(rel))
    for name in series:
        marker, colour = markers.get(
            name,
            (
                "o",
                colours[threads.index(int(name.split(", ")[1].split()[0]))]
                if name.startswith("here")
                else None,
            ),
        )
        ax_b.scatter(
            rel[name],
            yy,
            marker=marker,
            s=140 if marker == "|" else 70,
            color=colour,
            label=name if name != "MAdds" else "multiply-adds ratio",
            zorder=3,
            linewidths=3 if marker == "|" else None,
        )
    ax_b.axvline(1.0, color="0.5", lw=1)
    ax_b.set_yticks(yy)
    ax_b.set_yticklabels(rel.network, fontsize="small")
    ax_b.invert_yaxis()
    ax_b.set(xlabel="time (or MAdds) / MobileNetV1's", title="(b) Relative to MobileNetV1")
    ax_b.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_accuracy_latency(points: pd.DataFrame, machine: str = "") -> Figure:
    """Published top-1 against latency measured here (log x), one panel per thread count; each
    family's Pareto front (nothing faster is as accurate) drawn as a step line."""
    threads = sorted(points.threads.unique()) if not points.empty else [1]
    fig, axes = new_figure("full", 1, len(threads), sharey=True, squeeze=False)
    colours = palette(4)
    for ax, th in zip(axes[0], threads):
        sub = points[points.threads == th] if not points.empty else points
        if sub.empty:
            left = points.attrs.get("left_out", 0)
            _no_data(
                ax,
                f"no usable latency: {left} timing(s) left out, taken while other "
                "processes kept the machine busy"
                if left
                else "no latency measured",
            )
            continue
        for family, (marker, ci) in FAMILY_STYLE.items():
            fam = sub[sub.family == family].sort_values("median_ms")
            if fam.empty:
                continue
            err = np.vstack([fam.median_ms - fam.q25_ms, fam.q75_ms - fam.median_ms])
            ax.errorbar(
                fam.median_ms, fam.top1, xerr=err, fmt="none", ecolor=colours[ci], alpha=0.6, lw=1
            )
            ax.scatter(
                fam.median_ms,
                fam.top1,
                marker=marker,
                s=55,
                color=colours[ci],
                alpha=np.where(fam.pareto, 1.0, 0.45),
                edgecolor="white",
                linewidth=0.5,
                zorder=3,
                label=f"{family} ({len(fam)})",
            )
            front = fam[fam.pareto].sort_values("median_ms")
            ax.step(front.median_ms, front.top1, where="post", color=colours[ci], lw=1.8, zorder=2)
        ax.set_xscale("log")
        _plain_log_axis(ax)
        ax.set(xlabel="latency here (ms, median, log; bars = IQR)", title=f"{th} thread(s)")
    axes[0][0].set_ylabel("ImageNet top-1 (%), published")
    if axes[0][0].get_legend_handles_labels()[0]:  # nothing to name when every timing is out
        axes[0][0].legend(
            fontsize="x-small",
            loc="lower right",
            title="family (points); line = Pareto front",
            title_fontsize="x-small",
        )
    if machine:
        fig.suptitle(f"measured on {machine}", fontsize="x-small")
    return fig


def plot_section5(memory: pd.DataFrame, latency: pd.DataFrame) -> Figure:
    """(a) Peak activation memory of one forward pass against the number of slices t, measured
    (markers) and the analytic bound (dashed), with the plain model for reference (dotted);
    (b) latency relative to the unsliced executor, per resolution and thread count."""
    fig, (ax_a, ax_b) = new_figure("full", 1, 2)
    resolutions = sorted(memory.resolution.unique())
    colours = dict(
        zip(resolutions + sorted(set(latency.resolution) - set(resolutions)), palette(8))
    )
    sliced = memory[memory.path == "sliced"]
    for r in resolutions:
        m = sliced[sliced.resolution == r].sort_values("n_slices")
        ax_a.plot(
            m.n_slices, m.measured_mb, marker="o", color=colours[r], lw=2, label=f"{r}² measured"
        )
        ax_a.plot(m.n_slices, m.analytic_mb, ls="--", color=colours[r], lw=1.2)
        plain = memory[(memory.path == "plain") & (memory.resolution == r)]
        if len(plain) and pd.notna(plain.measured_mb.iloc[0]):
            ax_a.axhline(plain.measured_mb.iloc[0], ls=":", color=colours[r], lw=1.5)
    ax_a.plot([], [], ls="--", color="0.3", label="analytic bound")
    ax_a.plot([], [], ls=":", color="0.3", label="plain model, measured")
    ax_a.set_xscale("log", base=2)
    ax_a.set_yscale("log")
    ax_a.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    _plain_log_axis(ax_a, "y")
    ax_a.axvspan(2, 5, color="0.9", zorder=0)
    ticks = sorted(
        int(t)
        for t in set(sliced.n_slices.dropna())
        | set(latency.loc[latency.path == "sliced", "n_slices"].dropna())
    )
    for ax in (ax_a, ax_b):
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax_a.set(
        xlabel="t = number of slices of each expanded tensor (log)",
        ylabel="peak activation memory (MB, fp32, log)",
        title="(a) Memory of one forward pass",
    )
    ax_a.legend(fontsize="x-small", loc="upper right", frameon=True, framealpha=0.9)

    sl = latency[latency.path == "sliced"]
    styles = {th: ls for th, ls in zip(sorted(sl.threads.unique()), ("-", "--", ":", "-."))}
    for (r, th), g in sl.groupby(["resolution", "threads"]):
        g = g.sort_values("n_slices")
        ax_b.plot(
            g.n_slices,
            g.slowdown,
            marker="o",
            color=colours[r],
            ls=styles[th],
            lw=2,
            label=f"{r}², {th} thread(s)",
        )
    prac = latency[latency.path == "practitioner"]
    for row in prac.itertuples():
        ref = sl[
            (sl.resolution == row.resolution) & (sl.threads == row.threads) & (sl.n_slices == 1)
        ]
        if len(ref):
            ax_b.scatter(
                [1],
                [row.median_ms / ref.median_ms.iloc[0]],
                marker="x",
                s=60,
                color=colours[row.resolution],
                zorder=4,
            )
    ax_b.scatter([], [], marker="x", color="0.3", label="plain practitioner model")
    ax_b.axhline(1.0, color="0.5", lw=1)
    ax_b.axvspan(2, 5, color="0.9", zorder=0)
    ax_b.set_xscale("log", base=2)
    ax_b.set_xticks(ticks)
    ax_b.set_xticklabels([str(t) for t in ticks])
    ax_b.xaxis.set_minor_formatter(NullFormatter())
    ax_b.set(
        xlabel="t = number of slices (log)",
        ylabel="latency / unsliced latency (median)",
        title="(b) Time of one forward pass",
    )
    ax_b.legend(fontsize="x-small", loc="upper left")
    return fig


def plot_trained(
    trained: pd.DataFrame, per_model: pd.DataFrame, pairs: pd.DataFrame, message: str = ""
) -> Figure:
    """(a) CIFAR-10 test accuracy against multiply-adds: every seed (small) and the mean with its
    95% interval; (b) paired difference V2 - V1 per matched pair with its 95% interval. Missing
    runs are named on the figure."""
    done = trained.dropna(subset=["test_acc"])
    if done.empty:
        fig, ax = new_figure("full")
        _no_data(ax, message or "no trained results", width=90)
        ax.set_title("CIFAR-10, MobileNetV1 vs V2 at matched multiply-adds: no results yet")
        return fig
    fig, (ax_a, ax_b) = new_figure("full", 1, 2)
    colours = palette(4)
    for family, (marker, ci) in FAMILY_STYLE.items():
        runs = done[done.family == family]
        if runs.empty:
            continue
        ax_a.scatter(
            runs.madds / 1e6, 100 * runs.test_acc, marker=marker, s=25, color=colours[ci], alpha=0.5
        )
        pm = per_model[per_model.family == family]
        err = np.vstack([pm.mean_acc - pm.ci_low, pm.ci_high - pm.mean_acc]) * 100
        err = np.nan_to_num(err)
        ax_a.errorbar(
            pm.madds / 1e6,
            100 * pm.mean_acc,
            yerr=err,
            fmt=marker,
            ms=10,
            color=colours[ci],
            capsize=5,
            label=f"{family} (mean, 95% CI)",
        )
        for r in pm.itertuples():
            ax_a.annotate(
                f"width {r.width:g}, n={r.n}",
                (r.madds / 1e6, 100 * r.mean_acc),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize="x-small",
            )
    ax_a.set(
        xlabel="multiply-adds per 32x32 image (millions)",
        ylabel="CIFAR-10 test accuracy (%)",
        title="(a) CIFAR-10 accuracy vs multiply-adds",
    )
    ax_a.legend(fontsize="x-small", loc="best")
    missing = int(trained.test_acc.isna().sum())
    if missing:
        fig.suptitle(
            f"{missing} of {len(trained)} runs missing (see the caption)",
            fontsize="small",
            color="firebrick",
        )
    if pairs.empty:
        _no_data(ax_b, "no matched pair has both models trained on a shared seed yet", width=35)
    else:
        y = np.arange(len(pairs))
        err = np.nan_to_num(
            np.vstack(
                [
                    pairs["V2 - V1 (points)"] - pairs.ci_low,
                    pairs.ci_high - pairs["V2 - V1 (points)"],
                ]
            )
        )
        ax_b.errorbar(
            pairs["V2 - V1 (points)"], y, xerr=err, fmt="o", ms=9, capsize=6, color=colours[0]
        )
        ax_b.axvline(0, color="0.5", lw=1)
        ax_b.set_yticks(y)
        ax_b.set_yticklabels(
            [
                f"V2 {r['V2 width']:g} vs V1 {r['V1 width']:g}\n"
                f"({r['V2 MAdds (M)']:.0f}M vs {r['V1 MAdds (M)']:.0f}M MAdds, "
                f"{int(r.seeds)} seed(s))"
                for _, r in pairs.iterrows()
            ],
            fontsize="x-small",
        )
    ax_b.set(xlabel="V2 - V1 (points, 95% CI)", title="(b) V2 - V1, paired by seed")
    return fig
