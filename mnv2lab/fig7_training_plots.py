"""The figure of :mod:`mnv2lab.fig7_training`: Figure 7's statistics against the epoch."""

from __future__ import annotations

import pandas as pd

from . import plotting


def plot_along_training(table: pd.DataFrame, summary: pd.DataFrame, *, title: str):
    """(a) each layer's mean positive fraction against epoch (one line per layer, seeds averaged)
    with the mean over layers; (b) layers with a pixel under 1/t and the saturated fraction.
    Plotted values are rounded to 4 decimals (stable vector output across CPUs)."""
    fig, (ax, axb) = plotting.new_figure("full", 1, 2)
    if table.empty:
        for a in (ax, axb):
            a.text(
                0.5,
                0.5,
                "no long-budget runs counted yet",
                ha="center",
                va="center",
                transform=a.transAxes,
            )
    else:
        per_layer = table.groupby(["layer", "epoch"], as_index=False).frac_mean.mean().round(4)
        for _, g in per_layer.groupby("layer"):
            ax.plot(g.epoch, g.frac_mean, color="0.7", lw=1)
        s = summary.round(4)
        ax.plot(
            s.epoch,
            s.frac_mean,
            "-o",
            color=plotting.palette(2)[0],
            lw=2.5,
            label="mean over the 16 layers",
        )
        ax.axhline(0.5, color="black", lw=0.8, ls=":")
        ax.legend(fontsize="x-small")
        axb.plot(
            s.epoch,
            s.layers_below,
            "-o",
            color=plotting.palette(2)[1],
            lw=2,
            label="layers with a pixel under 1/t",
        )
        axb2 = axb.twinx()
        axb2.plot(
            s.epoch,
            s.frac_saturated,
            "--s",
            color="0.3",
            lw=1.5,
            label="share of channels at 6 (right)",
        )
        axb2.set_ylabel("saturated fraction")
        # one legend for both y axes, above the panel, where no curve can run under it
        handles = axb.get_legend_handles_labels()[0] + axb2.get_legend_handles_labels()[0]
        axb.legend(
            handles=handles,
            fontsize="x-small",
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=2,
            frameon=False,
        )
    ax.set_xlabel("epoch (0 = initialization)")
    ax.set_ylabel("positive fraction of the expanded channels")
    axb.set_xlabel("epoch")
    axb.set_ylabel("layers (of 16)")
    fig.suptitle(title, fontsize="medium")
    return fig
