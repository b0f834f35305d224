"""Block diagrams read from built models: what a block computes, step by step.

:func:`describe` traces modules with ``torch.fx`` (so the ``forward`` code is read, not a docstring
or a table), runs one zero input through the traced graph to record every tensor's shape, and
reduces the graph to a chain of :class:`Step` s: each convolution with its kernel, stride, groups and
the activation that follows it (``None``: the output stays linear), channel shuffles, and the merges
of a shortcut (``add`` or ``concat``) with the index of the step whose tensor the shortcut carries.
Change a block's code (an activation, a stride, where the shortcut lands) and its diagram changes.

A window of consecutive blocks is traced through MobileNetV2's ``Features`` container, which threads
the expanded tensor from block to block for ``shortcut="expansion"`` (for other modules it behaves as
``nn.Sequential``), so shortcuts that cross a block boundary are drawn where the code puts them.
"""

from __future__ import annotations

import copy
import dataclasses
import operator
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from .costs import count_params, layer_costs, probe
from .models.mobilenetv2 import Features, InvertedResidual
from .models.shufflenetv1 import ChannelShuffle
from .params import ParameterError

ACTIVATION_MODULES = {nn.ReLU6: "ReLU6", nn.ReLU: "ReLU"}
ACTIVATION_FUNCTIONS = {torch.relu: "ReLU", F.relu: "ReLU", F.relu6: "ReLU6"}


@dataclass(frozen=True)
class Step:
    """One operation of a block and the tensor it produces (channels, height, width).

    ``kind``: "input", "conv", "shuffle", "pool", "add" or "concat". ``activation``: the
    non-linearity this step applies after its op ("ReLU6", "ReLU") or ``None``. ``linear``: no
    non-linearity has acted on this tensor since the last linear op (the paper hatches such
    tensors): a conv without activation, or a sum with a linear input; a shuffle or pool keeps its
    input's. Merges name the earlier step whose tensor the shortcut brings (``skip_from``) and any
    op on that path (``skip_via``, e.g. ShuffleNet's "avg pool 3x3 /2").
    """

    kind: str
    channels: int
    height: int
    width: int
    kernel: int | None = None
    stride: int = 1
    groups: int = 1
    in_channels: int | None = None
    batchnorm: bool = False
    activation: str | None = None
    linear: bool = True
    skip_from: int | None = None
    skip_via: str | None = None

    @property
    def op(self) -> str:
        """The operator as the paper writes it: "conv 1x1", "dwise 3x3 /2", "gconv 1x1 (g=3)"."""
        return self.name(groups=True)

    def name(self, groups: bool = True) -> str:
        """The operator's name; ``groups=False`` leaves out a group conv's "(g=...)"."""
        if self.kind == "conv":
            depthwise = self.groups > 1 and self.groups == self.in_channels == self.channels
            kind = "dwise" if depthwise else ("gconv" if self.groups > 1 else "conv")
            text = f"{kind} {self.kernel}x{self.kernel}"
            if groups and self.groups > 1 and not depthwise:
                text += f" (g={self.groups})"
            return text + (f" /{self.stride}" if self.stride > 1 else "")
        if self.kind == "shuffle":
            return f"shuffle (g={self.groups})" if groups else "shuffle"
        return self.kind

    @property
    def shape(self) -> str:
        """The tensor as Table 2 writes it: "56² × 24"."""
        if self.height == self.width:
            return f"{self.height}² × {self.channels}"
        return f"{self.height} × {self.width} × {self.channels}"


@dataclass(frozen=True)
class BlockDiagram:
    """A chain of steps (``steps[0]`` is the input tensor) with the block's cost."""

    title: str
    steps: tuple[Step, ...]
    params: int
    madds: int

    def signature(self) -> list[tuple[str, str | None]]:
        """(operator, activation) of every step after the input, group counts left out: what a
        paper's block figure writes in its boxes, to compare with it."""
        return [(s.name(groups=False), s.activation) for s in self.steps[1:]]

    @property
    def skips(self) -> list[tuple[int, int]]:
        """(from step, to step) of every shortcut."""
        return [(s.skip_from, i) for i, s in enumerate(self.steps) if s.skip_from is not None]


class _Tracer(fx.Tracer):
    """Trace through every module that has children; a module without children is one step."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return next(m.children(), None) is None


def _activation_of(gm: fx.GraphModule, node: fx.Node) -> str | None:
    if node.op == "call_module":
        return ACTIVATION_MODULES.get(type(gm.get_submodule(node.target)))
    if node.op == "call_function":
        return ACTIVATION_FUNCTIONS.get(node.target)
    return None


def _shape(node: fx.Node) -> tuple[int, int, int]:
    c, h, w = node.meta["tensor_meta"].shape[1:]
    return int(c), int(h), int(w)


def _steps(gm: fx.GraphModule, input_linear: bool) -> list[Step]:
    """Reduce the traced graph to a chain; anything that is not a chain of known ops is an error."""
    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    c, h, w = _shape(placeholders[0])
    steps = [Step("input", c, h, w, linear=input_linear)]
    index = {placeholders[0]: 0}  # node -> step whose tensor it is
    branch: dict[fx.Node, tuple[int, str]] = {}  # side-path node -> (source step, its op)
    head = placeholders[0]

    def replace(i: int, **changes) -> None:
        steps[i] = dataclasses.replace(steps[i], **changes)

    def source(node: fx.Node) -> tuple[int, str | None]:
        if node in branch:
            return branch[node]
        return index[node], None

    for node in nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        args = [a for a in node.args if isinstance(a, fx.Node)]
        if node.target is torch.cat:
            args = list(node.args[0])
        if node.op == "call_module":
            m = gm.get_submodule(node.target)
            if args[0] is not head:  # a module on a shortcut path
                if not isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
                    raise ValueError(f"cannot draw {type(m).__name__} on a shortcut path")
                src, _ = source(args[0])
                kind = "avg" if isinstance(m, nn.AvgPool2d) else "max"
                branch[node] = (src, f"{kind} pool {m.kernel_size}x{m.kernel_size} /{m.stride}")
                continue
            c, h, w = _shape(node)
            if isinstance(m, nn.Conv2d):
                steps.append(
                    Step(
                        "conv",
                        c,
                        h,
                        w,
                        kernel=m.kernel_size[0],
                        stride=m.stride[0],
                        groups=m.groups,
                        in_channels=m.in_channels,
                    )
                )
            elif isinstance(m, nn.BatchNorm2d):
                if steps[-1].kind != "conv":
                    raise ValueError(f"{node.target}: BatchNorm not after a conv")
                replace(len(steps) - 1, batchnorm=True)
            elif isinstance(m, ChannelShuffle):
                steps.append(Step("shuffle", c, h, w, groups=m.groups, linear=steps[-1].linear))
            elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
                steps.append(
                    Step(
                        "pool",
                        c,
                        h,
                        w,
                        kernel=m.kernel_size,
                        stride=m.stride,
                        linear=steps[-1].linear,
                    )
                )
            elif _activation_of(gm, node):
                replace(len(steps) - 1, activation=_activation_of(gm, node), linear=False)
            else:
                raise ValueError(f"{node.target}: no diagram for {type(m).__name__}")
        elif node.op == "call_function" and _activation_of(gm, node):
            if args[0] is not head:
                raise ValueError(f"{node.name}: an activation off the main path")
            replace(len(steps) - 1, activation=_activation_of(gm, node), linear=False)
        elif node.op == "call_function" and node.target in (operator.add, torch.add, torch.cat):
            if head not in args or len(args) != 2:
                raise ValueError(f"{node.name}: a merge that does not continue the main path")
            src, via = source(next(a for a in args if a is not head))
            c, h, w = _shape(node)
            kind = "concat" if node.target is torch.cat else "add"
            linear = steps[-1].linear or steps[src].linear  # a merge with a linear input
            steps.append(Step(kind, c, h, w, skip_from=src, skip_via=via, linear=linear))
        else:
            raise ValueError(f"{node.name}: no diagram for {node.op} {node.target}")
        head = node
        index[node] = len(steps) - 1
    return steps


def describe(
    modules: Sequence[nn.Module],
    input_shape: tuple[int, int, int],
    *,
    title: str,
    input_linear: bool = True,
) -> BlockDiagram:
    """Trace ``modules`` (run in this order) on one ``input_shape`` = (C, H, W) input.

    ``input_linear``: whether the previous layer left the input linear, which the input tensor
    cannot tell by itself. A window must not start at a block that receives an
    expansion shortcut (its carry would come from outside the window).
    """
    modules = list(modules)
    if not modules:
        raise ParameterError("modules: got an empty list; allowed: one or more modules")
    if isinstance(modules[0], InvertedResidual) and modules[0].expansion_shortcut_in:
        raise ParameterError(
            "modules: the first block receives an expansion shortcut from the "
            "block before it; allowed: start the window at that earlier block"
        )
    params = sum(count_params(m) for m in modules)
    chain = _on_meta(Features(*modules)).eval()
    gm = fx.GraphModule(chain, _Tracer().trace(chain))
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(1, *input_shape, device="meta"))
    steps = _steps(gm, input_linear)
    chain.in_channels = input_shape[0]  # costs.probe feeds a zero image with this many channels
    madds = sum(cost.madds for cost in layer_costs(chain, (input_shape[1], input_shape[2])))
    return BlockDiagram(title, tuple(steps), params, madds)


def _on_meta(module: nn.Module) -> nn.Module:
    """A copy on the meta device: shapes propagate without arithmetic (milliseconds, not seconds)
    and the caller's module is left as it was."""
    return copy.deepcopy(module).to("meta")


def _receives(module: nn.Module) -> bool:
    return isinstance(module, InvertedResidual) and module.expansion_shortcut_in


def describe_blocks(
    model: nn.Module, first: int, count: int = 1, *, input_size: int = 224, title: str | None = None
) -> BlockDiagram:
    """``model.features[first : first + count]`` of a built model (any family of the package), with
    the input shape measured by a forward probe at ``input_size`` and the input's activation read
    from the modules before the window (traced back to one that takes no expansion shortcut)."""
    features = getattr(model, "features", None)
    if features is None:
        raise ParameterError(f"model: {type(model).__name__} has no .features")
    if (
        not isinstance(first, int)
        or not isinstance(count, int)
        or first < 1
        or count < 1
        or first + count > len(features)
    ):
        raise ParameterError(
            f"first, count: got {first!r}, {count!r}; allowed: integers with "
            f"first >= 1, count >= 1, first + count <= {len(features)} "
            "(features[0] is the stem)"
        )
    model = _on_meta(model)
    features = model.features
    window = list(features[first : first + count])
    start = first - 1
    while start > 0 and _receives(features[start]):
        start -= 1
    shapes = probe(model, input_size, [window[0], features[start]])
    before = describe(list(features[start:first]), shapes[features[start]][0], title="")
    name = title or f"{type(model).__name__}.features[{first}:{first + count}]"
    return describe(window, shapes[window[0]][0], title=name, input_linear=before.steps[-1].linear)


@dataclass(frozen=True)
class StageRow:
    """One line of an architecture table as a tensor: what comes out, and how wide it gets inside.

    ``expanded``: the widest tensor inside the line's blocks (the depthwise conv's input of an
    expansion block; ``None`` where the line has no depthwise conv). ``linear``: the line's output
    is left without a non-linearity (MobileNetV2's linear bottlenecks).
    """

    operator: str
    t: int | None
    n: int
    s: int | None
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    expanded: int | None
    linear: bool


def stage_rows(model: nn.Module, input_size: int = 224) -> list[StageRow]:
    """The rows of ``model.layer_rows()`` that make up ``model.features`` (stem to last conv), with
    shapes from one forward probe and linearity from tracing each row's last module."""
    model = _on_meta(model)
    rows = [
        r for r in model.layer_rows() if all(any(m is f for f in model.features) for m in r.modules)
    ]
    depthwise = {
        m: m
        for m in model.modules()
        if isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels == m.out_channels
    }
    wanted = {m for r in rows for m in (r.modules[0], r.modules[-1])} | set(depthwise)
    shapes = probe(model, input_size, wanted)
    out = []
    for r in rows:
        widths = [shapes[m][0][0] for top in r.modules for m in top.modules() if m in depthwise]
        last = r.modules[-1]
        traced = describe([last], shapes[last][0], title="")
        out.append(
            StageRow(
                r.operator,
                r.t,
                r.n,
                r.s,
                shapes[r.modules[0]][0],
                shapes[last][1],
                max(widths) if widths else None,
                traced.steps[-1].linear,
            )
        )
    return out
