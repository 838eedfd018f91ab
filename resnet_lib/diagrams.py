"""Architecture diagrams drawn from a built model's own layers (He et al. 2015, Fig. 2, 3 and 5).

Nothing here is a picture pasted in: each box is a layer of the model, found by the layer
names the library gives (``{stage}_block{i}_{n}_conv``; ``_0_`` marks the shortcut, ``_add``
the addition, ``_out`` the ReLU after it), and labelled from the layer's own configuration
(kernel, filters, stride). Change the model and the drawing changes with it.

- ``block_diagram(model, block)``: one block, the residual branch down the middle and the
  shortcut beside it, meeting at the addition: Fig. 2 (a basic block), Fig. 5 (basic and
  bottleneck), and the shortcut options A (zero-padding), B/C (projection) of Section 3.3.
- ``block_diagrams({title: (model, block)})``: several of them side by side, to compare.
- ``stage_diagram(model)``: the whole network as its stages, one box per stage with its
  blocks, width and output size (the layout of Table 1 and of Section 4.2's CIFAR nets).

The spatial ``ZeroPadding2D`` that some stride-2 convolutions need is left out of the
drawing: it adds no weights and changes no result a reader compares. Figures fit the book's
text column (``resnet_lib.plots.FIGURE_WIDTH``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from resnet_lib.analysis.lesion import BLOCK_NAME
from resnet_lib.plots import FIGURE_WIDTH

__all__ = ["block_diagram", "block_diagrams", "block_layers", "stage_diagram", "layer_label"]


def _block_part(name: str):
    """``("conv3_block1", "conv3", "1_conv")`` for ``conv3_block1_1_conv``; None outside a block."""
    match = BLOCK_NAME.match(name)
    return (match["block"], match["stage"], name[match.end():]) if match else None


def layer_label(layer) -> str:
    """A short label from the layer's configuration: "3x3 conv, 64, /2", "BN", "ReLU", "+"."""
    import keras

    from resnet_lib.models.layers import ZeroPadShortcut

    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        stride = layer.strides[0]
        return f"{kh}x{kw} conv, {layer.filters}" + (f", /{stride}" if stride > 1 else "")
    if isinstance(layer, keras.layers.BatchNormalization):
        return "BN"
    if isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)):
        return "ReLU"
    if isinstance(layer, keras.layers.Add):
        return "+"
    if isinstance(layer, ZeroPadShortcut):
        return f"subsample /{layer.stride},\nzero-pad to {layer.filters}" if layer.stride > 1 else \
            f"zero-pad to {layer.filters}"
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return "global average pool"
    if isinstance(layer, keras.layers.Dense):
        return f"{layer.units}-d fc"
    return type(layer).__name__


def block_layers(model, block: str) -> dict:
    """The block's layers, in data-flow order, sorted into ``branch``, ``shortcut``, ``add``, ``after``
    (and ``input``, the tensor that enters the block).

    ``block`` is a layer-name prefix such as ``"conv3_block1"``. Raises ValueError, naming the
    blocks the model has, when no layer carries that prefix.
    """
    import keras

    parts = {"branch": [], "shortcut": [], "add": None, "after": [], "input": None}
    found = False
    for layer in model.layers:
        named = _block_part(layer.name)
        if not named or named[0] != block:
            continue
        if not found:
            parts["input"] = layer.input  # what enters the block (before any padding)
        found = True
        if isinstance(layer, keras.layers.ZeroPadding2D):  # spatial padding of a strided conv
            continue
        part = named[2]
        if part == "add":
            parts["add"] = layer
        elif part.startswith("0_"):
            parts["shortcut"].append(layer)
        elif parts["add"] is not None:
            parts["after"].append(layer)
        else:
            parts["branch"].append(layer)
    if not found:
        names = sorted({named[0] for named in map(_block_part, (l.name for l in model.layers)) if named})
        raise ValueError(f"block={block!r}: model {model.name!r} has no such block; it has {names[:6]}"
                         + (" ..." if len(names) > 6 else ""))
    return parts


def _shape_text(tensor) -> str:
    return "x".join(str(d) for d in tuple(tensor.shape)[1:])


def _box(axis, x, y, text, *, color, width=1.5, height=0.5):
    axis.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                  facecolor=color, edgecolor="0.25", linewidth=0.8))
    axis.text(x, y, text, ha="center", va="center", fontsize=7)


def _arrow(axis, start, end):
    axis.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="0.25", linewidth=0.9,
                                                            shrinkA=0, shrinkB=0))


def _draw_block(axis, model, block: str, *, title: str | None):
    parts = block_layers(model, block)
    branch, shortcut, add, after = parts["branch"], parts["shortcut"], parts["add"], parts["after"]
    step, y = 0.8, 0.0
    axis.text(0, y, f"x: {_shape_text(parts['input'])}", ha="center", va="center", fontsize=7.5)
    top = y
    for layer in branch:
        y -= step
        _arrow(axis, (0, y + step - 0.25), (0, y + 0.25))
        color = "#cfe2f3" if "conv" in layer_label(layer) else "#eeeeee"
        _box(axis, 0, y, layer_label(layer), color=color)
    if add is not None:
        y -= step
        _arrow(axis, (0, y + step - 0.25), (0, y + 0.18))
        axis.add_patch(Circle((0, y), 0.18, facecolor="white", edgecolor="0.25", linewidth=0.9))
        axis.text(0, y, "+", ha="center", va="center", fontsize=10)
        # the shortcut: from x, down the right side, into the addition
        side = 1.7
        axis.plot([0.15, side, side], [top - 0.12, top - 0.12, top - 0.5], color="0.25", linewidth=0.9)
        if shortcut:
            span = np.linspace(top - 0.9, y + 0.6, len(shortcut)) if len(shortcut) > 1 else [(top + y) / 2]
            previous = top - 0.5
            for layer, ys in zip(shortcut, span):
                axis.plot([side, side], [previous, ys + 0.25], color="0.25", linewidth=0.9)
                _box(axis, side, ys, layer_label(layer), color="#fde9d9", width=1.3,
                     height=0.62 if "\n" in layer_label(layer) else 0.5)
                previous = ys - (0.31 if "\n" in layer_label(layer) else 0.25)
            axis.plot([side, side], [previous, y], color="0.25", linewidth=0.9)
        else:
            axis.plot([side, side], [top - 0.5, y], color="0.25", linewidth=0.9)
            axis.text(side + 0.08, (top + y) / 2, "identity", rotation=90, ha="left", va="center", fontsize=7.5)
        _arrow(axis, (side, y), (0.19, y))
    for layer in after:
        y -= step
        _arrow(axis, (0, y + step - (0.19 if add is not None and layer is after[0] else 0.25)), (0, y + 0.25))
        _box(axis, 0, y, layer_label(layer), color="#eeeeee")
    last = (after or ([add] if add is not None else branch))[-1]
    y -= step
    _arrow(axis, (0, y + step - 0.25), (0, y + 0.12))
    axis.text(0, y, f"out: {_shape_text(last.output)}", ha="center", va="center", fontsize=7.5)
    axis.set_xlim(-0.85, 2.45)
    axis.set_aspect("equal")
    axis.axis("off")
    if title:
        axis.set_title(title, fontsize=9)


def block_diagram(model, block: str, *, title: str | None = None) -> Figure:
    """One block of ``model`` drawn from its layers: branch, shortcut and addition (Fig. 2 / 5)."""
    return block_diagrams({title or f"{model.name}: {block}": (model, block)})


def block_diagrams(panels: Mapping[str, tuple]) -> Figure:
    """Blocks side by side, ``{title: (model, block)}``, on one scale, to compare them."""
    if not panels:
        raise ValueError("panels: expected {title: (model, block)}, got none")
    heights = []
    for model, block in panels.values():
        parts = block_layers(model, block)
        heights.append(len(parts["branch"]) + len(parts["after"]) + 3)
    rows = max(heights) * 0.8 + 0.8
    figure = Figure(figsize=(FIGURE_WIDTH, 0.45 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for axis, (title, (model, block)) in zip(axes, panels.items()):
        _draw_block(axis, model, block, title=title)
        axis.set_ylim(-rows + 0.4, 0.4)
    return figure


def stage_diagram(model, *, title: str | None = None) -> Figure:
    """The network as its stages: the stem, each stage's blocks with width and output size, the head."""
    import keras

    stem, stages, head = [], {}, []
    for layer in model.layers:
        named = _block_part(layer.name)
        if named:
            stages.setdefault(named[1], {}).setdefault(named[0], []).append(layer)
        elif type(layer).__name__ == "InputLayer":
            continue
        elif stages:
            head.append(layer)
        else:
            stem.append(layer)
    if not stages:
        raise ValueError(f"model {model.name!r}: no layer is named like '{{stage}}_block{{i}}_...'; "
                         "build it with resnet_lib.models")
    rows = []
    convs = [l for l in stem if isinstance(l, keras.layers.Conv2D)]
    rows.append((f"input {_shape_text(model.inputs[0])}", None, "#ffffff"))
    stem_text = ", then ".join(layer_label(l) for l in convs) or "stem"
    pools = [l for l in stem if isinstance(l, keras.layers.MaxPooling2D)]
    if pools:
        stem_text += f"; {pools[0].pool_size[0]}x{pools[0].pool_size[1]} max pool, /{pools[0].strides[0]}"
    rows.append((f"{stem[0].name.split('_')[0]}: {stem_text}", _shape_text(stem[-1].output), "#eeeeee"))
    for stage, blocks in stages.items():
        first = list(blocks.values())[0]
        convs = [l for l in first
                 if isinstance(l, keras.layers.Conv2D) and not _block_part(l.name)[2].startswith("0_")]
        residual = any(_block_part(l.name)[2] == "add" for l in first)
        kind = ("bottleneck" if len(convs) == 3 else "basic") + (" block" if residual else " plain block")
        widths = "-".join(str(c.filters) for c in convs)
        last = list(blocks.values())[-1][-1]
        rows.append((f"{stage}_x: {len(blocks)} x {kind} ({widths})", _shape_text(last.output), "#cfe2f3"))
    rows.append((", ".join(map(layer_label, head)), _shape_text(model.outputs[0]), "#eeeeee"))
    figure = Figure(figsize=(FIGURE_WIDTH, 0.42 * len(rows) + 0.5), layout="constrained")
    axis = figure.subplots()
    for i, (text, shape, color) in enumerate(rows):
        y = -i
        if i:
            _arrow(axis, (0, y + 0.8), (0, y + 0.2))
        _box(axis, 0, y, text, color=color, width=4.6, height=0.42)
        if shape:
            axis.text(2.5, y, shape, ha="left", va="center", fontsize=7.5, color="0.3")
    axis.set_xlim(-2.5, 3.6)
    axis.set_ylim(-len(rows) + 0.5, 0.5)
    axis.axis("off")
    axis.set_title(title or f"{model.name}: stages (output size on the right)", fontsize=9)
    return figure
