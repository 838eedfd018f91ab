"""Model complexity in the paper's units, and Table 1 regenerated from the models.

He et al. 2015 count "FLOPs" as multiply-adds (Table 1: ResNet-50 "3.8 x 10^9"). This module
counts them layer by layer from a built Keras model: a convolution costs
``out_h * out_w * k_h * k_w * (c_in / groups) * c_out`` multiply-adds, a dense layer
``d_in * d_out``. Batch normalization, ReLU, additions and pooling are not multiply-adds and
the paper leaves them out, so they count zero here too (they are listed, so a reader sees them).
Parameters are counted as published tables count them: trainable weights only
(``trainable_parameters``).
"""

from __future__ import annotations

import dataclasses
import math

import keras

from resnet_lib.models.imagenet import STAGES, WIDTHS, imagenet_resnet
from resnet_lib.reference import TABLE1  # Table 1's FLOPs row (multiply-adds, 224x224)



@dataclasses.dataclass(frozen=True)
class LayerCost:
    """One layer's share: multiply-adds for one image and parameters."""

    name: str
    kind: str  # the Keras class name, e.g. "Conv2D"
    output_shape: tuple
    multiply_adds: int
    params: int


def layer_multiply_adds(model: keras.Model) -> list[LayerCost]:
    """Per-layer multiply-adds for one image, in the model's layer order.

    Needs static spatial sizes: build the model with a concrete ``input_shape``.
    """
    costs = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        costs.append(
            LayerCost(
                name=layer.name,
                kind=type(layer).__name__,
                output_shape=shape,
                multiply_adds=_multiply_adds(layer, shape),
                params=layer.count_params() if layer.built else 0,
            )
        )
    return costs


def multiply_adds(model: keras.Model) -> int:
    """Total multiply-adds for one image: the paper's "FLOPs" (Table 1)."""
    return sum(cost.multiply_adds for cost in layer_multiply_adds(model))


def trainable_parameters(model: keras.Model) -> int:
    """Trainable weights only: what published counts (and torchvision) mean by "parameters".

    ``model.count_params()`` also counts batch normalization's moving mean and variance.
    """
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def _multiply_adds(layer, output_shape) -> int:
    if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
        if any(s is None for s in output_shape):
            raise ValueError(
                f"layer {layer.name!r} has output shape {output_shape}; multiply_adds needs a "
                "model built with a fixed input_shape"
            )
        out_h, out_w, c_out = output_shape
        k_h, k_w = layer.kernel_size
        c_in = layer.kernel.shape[2]  # already divided by groups
        return out_h * out_w * k_h * k_w * c_in * c_out
    if isinstance(layer, keras.layers.Dense):
        d_in, d_out = layer.kernel.shape
        positions = math.prod(s for s in output_shape[:-1]) if len(output_shape) > 1 else 1
        return positions * d_in * d_out
    return 0


@dataclasses.dataclass(frozen=True)
class Table1Column:
    """One column of the paper's Table 1, computed from ``imagenet_resnet(depth)``."""

    depth: int
    block: str  # "basic" or "bottleneck"
    blocks_per_stage: tuple
    stage_output_sizes: dict  # "conv1", "conv2_x", ..., "conv5_x" -> (height, width)
    stage_layers: dict  # stage -> "[3x3, 64; 3x3, 64] x 2"
    multiply_adds: int
    paper_flops: float
    parameters: int


STAGE_NAMES = ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x")
COST_STAGES = STAGE_NAMES + ("fc",)  # Table 1's rows, with the classifier as the last


def stage_of(layer_name: str) -> str | None:
    """The Table 1 stage of an ``imagenet_resnet`` layer, by its name; None for layers outside
    every stage (the input, the global average pool).

    A pre-activation net's ``post_bn``/``post_relu`` count in conv5_x: they normalize and
    activate the last unit's sum, which a post-activation net does inside that unit.
    """
    if layer_name.startswith(("conv1", "pool1")):
        return "conv1"  # Table 1 lists the max pool under conv2_x; it costs nothing either way
    if layer_name.startswith("conv") and "_block" in layer_name:
        return layer_name.split("_block")[0] + "_x"
    if layer_name.startswith("post_"):
        # a pre-activation net's final BN-ReLU follows the last unit of conv5_x (He et al. 2016)
        return "conv5_x"
    if layer_name == "predictions":
        return "fc"
    return None


def stage_costs(model: keras.Model) -> dict[str, tuple[int, int]]:
    """(multiply-adds, parameters) of each of ``COST_STAGES`` in an ``imagenet_resnet``.

    Sums ``layer_multiply_adds`` by ``stage_of``. A layer with a cost but no stage raises
    ``ValueError`` naming it, so the stages always add up to the model.
    """
    totals = {stage: (0, 0) for stage in COST_STAGES}
    for cost in layer_multiply_adds(model):
        stage = stage_of(cost.name)
        if stage is None:
            if cost.multiply_adds or cost.params:
                raise ValueError(f"layer {cost.name!r} of {model.name} has a cost but no Table 1 "
                                 "stage; stage_costs expects imagenet_resnet's layer names")
            continue
        macs, params = totals[stage]
        totals[stage] = (macs + cost.multiply_adds, params + cost.params)
    return totals


def table1(*, depths=tuple(STAGES), input_shape=(224, 224, 3), stride_at="1x1") -> list[Table1Column]:
    """Regenerate Table 1 for ``depths`` by building each model and measuring it.

    Output sizes are read off the built layers (``conv1_relu``, ``conv{k}_block{n}_out``), the
    multiply-adds come from ``multiply_adds``, parameters from the model (1000 classes).
    """
    columns = []
    for depth in depths:
        model = imagenet_resnet(depth, input_shape=input_shape, stride_at=stride_at)
        block, blocks = STAGES[depth]
        sizes = {"conv1": tuple(model.get_layer("conv1_relu").output.shape[1:3])}
        layers = {"conv1": "7x7, 64, stride 2"}
        for k, (width, n) in enumerate(zip(WIDTHS, blocks)):
            stage = STAGE_NAMES[k + 1]
            sizes[stage] = tuple(model.get_layer(f"conv{k + 2}_block{n}_out").output.shape[1:3])
            if block == "basic":
                layers[stage] = f"[3x3, {width}; 3x3, {width}] x {n}"
            else:
                layers[stage] = f"[1x1, {width}; 3x3, {width}; 1x1, {4 * width}] x {n}"
            if k == 0:  # Table 1 lists the max pool at the top of conv2_x
                layers[stage] = "3x3 max pool, stride 2; " + layers[stage]
        columns.append(
            Table1Column(
                depth=depth,
                block=block,
                blocks_per_stage=blocks,
                stage_output_sizes=sizes,
                stage_layers=layers,
                multiply_adds=multiply_adds(model),
                paper_flops=TABLE1.value[depth]["flops"],
                parameters=model.count_params(),
            )
        )
        del model
    return columns


def table1_markdown(columns: list[Table1Column]) -> str:
    """Table 1 as a Markdown table: rows are stages, columns are depths, as in the paper."""
    header = "| layer name | output size | " + " | ".join(f"{c.depth}-layer" for c in columns) + " |"
    rule = "|" + "---|" * (len(columns) + 2)
    rows = [header, rule]
    for stage in STAGE_NAMES:
        size = "x".join(str(s) for s in columns[0].stage_output_sizes[stage])
        rows.append(f"| {stage} | {size} | " + " | ".join(c.stage_layers[stage] for c in columns) + " |")
    rows.append("| FLOPs (this code) | | " + " | ".join(f"{c.multiply_adds / 1e9:.2f}e9" for c in columns) + " |")
    rows.append("| FLOPs (paper) | | " + " | ".join(f"{c.paper_flops / 1e9:.1f}e9" for c in columns) + " |")
    # millions: seven columns of 8-digit counts would not fit the page (1280 px wide)
    rows.append("| parameters | | " + " | ".join(f"{c.parameters / 1e6:.2f}M" for c in columns) + " |")
    return "\n".join(rows)
