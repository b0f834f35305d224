"""Drawing the block diagrams of :mod:`mnv2lab.blocks` (data in, matplotlib figure out).

Two views, as the paper uses them:

* tensors (Figures 2 and 3): each tensor a slab whose height is proportional to its channels, the
  operator between two tensors written above the arrow, hatched when no non-linearity acted on the
  tensor, shortcuts as arcs from the tensor they carry to the merge;
* operators (Figure 4): a column of boxes, one per operator, each with its activation or "linear",
  the shortcut drawn down the side to the add or concat it feeds.

:func:`plot_network` draws a whole network (Table 2) as one bar per line of its table.
"""

from __future__ import annotations

from typing import Sequence

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from . import plotting
from .blocks import BlockDiagram, StageRow, Step

HATCH = "///"
SLAB_WIDTH = 0.5
SLAB_STEP = 1.7  # horizontal distance between tensors
SLAB_HEIGHT = 2.0  # height of the widest tensor of a figure
MIN_HEIGHT = 0.06
EDGE = "#333333"


def _colours() -> dict[str, tuple]:
    pal = plotting.palette()
    return {"tensor": pal[0], "merge": pal[2], "skip": pal[3], "box": pal[0], "wide": pal[9]}


def _act_text(step: Step) -> str:
    return step.activation or ("linear" if step.kind == "conv" else "")


def _slab(ax, x: float, height: float, step: Step, colour) -> None:
    ax.add_patch(
        Rectangle(
            (x - SLAB_WIDTH / 2, -height / 2),
            SLAB_WIDTH,
            height,
            facecolor=(*colour[:3], 0.35),
            edgecolor=EDGE,
            linewidth=1.0,
            hatch=HATCH if step.linear else None,
        )
    )


def draw_tensors(ax, diagram: BlockDiagram, max_channels: int) -> None:
    """One chain of tensors on ``ax``; heights are channels / ``max_channels`` (shared by panels)."""
    colours = _colours()
    steps = diagram.steps
    heights = [max(MIN_HEIGHT, SLAB_HEIGHT * s.channels / max_channels) for s in steps]
    for i, (step, height) in enumerate(zip(steps, heights)):
        x = i * SLAB_STEP
        colour = colours["merge"] if step.kind in ("add", "concat") else colours["tensor"]
        _slab(ax, x, height, step, colour)
        ax.text(
            x,
            -SLAB_HEIGHT / 2 - 0.12,
            f"{step.channels}",
            ha="center",
            va="top",
            fontsize=11,
            fontweight="bold",
        )
        ax.text(
            x,
            -SLAB_HEIGHT / 2 - 0.45,
            f"{step.height}²",
            ha="center",
            va="top",
            fontsize=9,
            color="#555555",
        )
        if i == 0:
            continue
        ax.add_patch(
            FancyArrowPatch(
                (x - SLAB_STEP + SLAB_WIDTH / 2 + 0.03, 0),
                (x - SLAB_WIDTH / 2 - 0.03, 0),
                arrowstyle="-|>",
                mutation_scale=10,
                color=EDGE,
                linewidth=1.0,
                zorder=3,
            )
        )
        act = _act_text(step)
        label = step.op + (f"\n{act}" if act else "")
        ax.text(
            x - SLAB_STEP / 2,
            0.08,
            label,
            ha="center",
            va="bottom",
            fontsize=9,
            zorder=4,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
    for src, dst in diagram.skips:  # up from the carried tensor, across, down to the merge
        top = max(heights[src : dst + 1]) / 2 + 0.3
        x0, x1 = src * SLAB_STEP, dst * SLAB_STEP
        ax.plot(
            [x0, x0, x1],
            [heights[src] / 2, top, top],
            color=colours["skip"],
            linewidth=2,
            solid_joinstyle="round",
            zorder=2,
        )
        ax.add_patch(
            FancyArrowPatch(
                (x1, top),
                (x1, heights[dst] / 2 + 0.02),
                arrowstyle="-|>",
                mutation_scale=14,
                color=colours["skip"],
                linewidth=2,
                zorder=2,
            )
        )
        step = diagram.steps[dst]
        text = "shortcut: " + ("add" if step.kind == "add" else "concat")
        if step.skip_via:
            text += f" after {step.skip_via}"
        ax.text(
            (x0 + x1) / 2,
            top + 0.06,
            text,
            ha="center",
            va="bottom",
            fontsize=10,
            color=colours["skip"],
            fontweight="bold",
        )
    ax.set_xlim(-SLAB_STEP / 2, (len(steps) - 0.5) * SLAB_STEP)
    ax.set_ylim(-SLAB_HEIGHT / 2 - 0.75, SLAB_HEIGHT / 2 + 0.75)
    ax.set_axis_off()


def _panel_title(ax, diagram: BlockDiagram, subtitle: str) -> None:
    cost = f"{diagram.madds / 1e6:.1f}M MAdds, {diagram.params:,} params"
    ax.set_title(
        f"{diagram.title}   ({cost})" + (f"\n{subtitle}" if subtitle else ""),
        loc="left",
        fontsize=13,
    )


def plot_tensors(
    diagrams: Sequence[BlockDiagram], subtitles: Sequence[str] | None = None, preset: str = "tall"
):
    """One row per diagram, tensors drawn to one channel scale (the widest tensor of all)."""
    subtitles = list(subtitles or [""] * len(diagrams))
    if len(subtitles) != len(diagrams):
        raise ValueError(
            f"subtitles: got {len(subtitles)}; allowed: one per diagram ({len(diagrams)})"
        )
    fig, axes = plotting.new_figure(preset, nrows=len(diagrams), ncols=1, squeeze=False)
    widest = max(s.channels for d in diagrams for s in d.steps)
    longest = max(len(d.steps) for d in diagrams)
    for ax, diagram, sub in zip(axes[:, 0], diagrams, subtitles):
        draw_tensors(ax, diagram, widest)
        ax.set_xlim(-SLAB_STEP / 2, (longest - 0.5) * SLAB_STEP)
        _panel_title(ax, diagram, sub)
    return fig


# ------------------------------------------------------------------ operators, as in Figure 4

BOX_W, BOX_H, BOX_GAP = 2.2, 0.55, 0.45


def draw_operators(ax, diagram: BlockDiagram) -> float:
    """The block as a column of operator boxes (top to bottom); returns the column's depth."""
    colours = _colours()
    steps = diagram.steps
    y = {0: 0.0}
    ax.text(0, 0.05, f"input {steps[0].shape}", ha="center", va="bottom", fontsize=10)
    for i, step in enumerate(steps[1:], 1):
        top = -(i - 1) * (BOX_H + BOX_GAP) - BOX_GAP
        y[i] = top - BOX_H
        colour = colours["merge"] if step.kind in ("add", "concat") else colours["box"]
        ax.add_patch(
            FancyBboxPatch(
                (-BOX_W / 2, top - BOX_H),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0.02",
                facecolor=(*colour[:3], 0.3),
                edgecolor=EDGE,
                hatch=HATCH if step.linear else None,
            )
        )
        act = _act_text(step)
        ax.text(
            0,
            top - BOX_H / 2,
            step.op + (f", {act}" if act else ""),
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
            bbox={
                "boxstyle": "round,pad=0.1",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.8,
            },
        )
        ax.add_patch(
            FancyArrowPatch(
                (0, top + BOX_GAP - 0.02 if i > 1 else 0),
                (0, top + 0.02),
                arrowstyle="-|>",
                mutation_scale=10,
                color=EDGE,
            )
        )
        ax.text(
            -BOX_W / 2 - 0.08,
            top + BOX_GAP / 2,
            steps[i - 1].shape,
            ha="right",
            va="center",
            fontsize=8,
            color="#555555",
        )
    bottom = y[len(steps) - 1]
    ax.text(0, bottom - 0.08, f"output {steps[-1].shape}", ha="center", va="top", fontsize=10)
    for src, dst in diagram.skips:
        x = BOX_W / 2 + 0.35
        y0 = y[src] if src else 0.0
        y1 = y[dst] + BOX_H / 2
        ax.plot([0.05, x, x], [y0 + 0.03, y0 + 0.03, y1], color=colours["skip"], linewidth=2)
        ax.add_patch(
            FancyArrowPatch(
                (x, y1),
                (BOX_W / 2 + 0.02, y1),
                arrowstyle="-|>",
                mutation_scale=12,
                color=colours["skip"],
                linewidth=2,
            )
        )
        via = diagram.steps[dst].skip_via
        if via:
            ax.text(
                x + 0.08,
                (y0 + y1) / 2,
                via,
                ha="left",
                va="center",
                fontsize=9,
                color=colours["skip"],
                rotation=90,
            )
    return -bottom


def plot_operators(diagrams: Sequence[BlockDiagram], preset: str = "tall"):
    """The diagrams side by side, one column of operator boxes each."""
    fig, axes = plotting.new_figure(preset, nrows=1, ncols=len(diagrams), squeeze=False)
    depth = max(len(d.steps) for d in diagrams) * (BOX_H + BOX_GAP) + 0.6
    for ax, diagram in zip(axes[0], diagrams):
        draw_operators(ax, diagram)
        ax.set_xlim(-BOX_W / 2 - 1.0, BOX_W / 2 + 0.8)
        ax.set_ylim(-depth, 0.5)
        ax.set_axis_off()
        ax.set_title(f"{diagram.title}\n{diagram.madds / 1e6:.1f}M MAdds", fontsize=12)
    return fig


# ------------------------------------------------------------------ a whole network (Table 2)


def plot_network(rows: Sequence[StageRow], title: str, preset: str = "full"):
    """One bar per line of the architecture table: output channels (hatched: left linear) and,
    behind it, the widest tensor inside the line's blocks; the output resolution under each."""
    colours = _colours()
    fig, ax = plotting.new_figure(preset)
    for i, r in enumerate(rows):
        if r.expanded and r.expanded > r.out_shape[0]:
            ax.bar(
                i,
                r.expanded,
                width=0.7,
                color=(*colours["wide"][:3], 0.35),
                edgecolor=EDGE,
                linewidth=0.8,
            )
            ax.text(i, r.expanded * 1.08, f"{r.expanded}", ha="center", va="bottom", fontsize=10)
        ax.bar(
            i,
            r.out_shape[0],
            width=0.45,
            color=(*colours["tensor"][:3], 0.6),
            edgecolor=EDGE,
            hatch=HATCH if r.linear else None,
            linewidth=0.8,
        )
        ax.text(
            i,
            r.out_shape[0] * 0.9,
            f"{r.out_shape[0]}",
            ha="center",
            va="top",
            fontsize=10,
            fontweight="bold",
            color="white" if not r.linear else EDGE,
            bbox={
                "boxstyle": "round,pad=0.1",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.7,
            }
            if r.linear
            else None,
        )
    labels = []
    for r in rows:
        head = "bottleneck" if r.operator == "bottleneck" else r.operator
        detail = f"t={r.t}, n={r.n}" if r.t is not None else f"n={r.n}"
        labels.append(f"{head}\n{detail}\ns={r.s} → {r.out_shape[1]}²")
    ax.set_xticks(range(len(rows)), labels, fontsize=10)
    ax.set_yscale("log", base=2)
    ticks = [2**k for k in range(3, 12)]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.set_ylabel("channels (log scale)")
    ax.set_ylim(8, 4096)
    ax.grid(axis="x", visible=False)
    fill = (*colours["tensor"][:3], 0.6)
    handles = [
        Patch(
            facecolor=(*colours["wide"][:3], 0.35),
            edgecolor=EDGE,
            label="widest tensor inside the blocks",
        ),
        Patch(
            facecolor=fill,
            edgecolor=EDGE,
            hatch=HATCH,
            label="output left linear (no non-linearity)",
        ),
        Patch(facecolor=fill, edgecolor=EDGE, label="output after a non-linearity"),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=11, ncols=3)
    ax.set_title(title, loc="left")
    return fig
