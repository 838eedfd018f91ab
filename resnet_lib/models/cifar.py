"""CIFAR-10 ResNets of Section 4.2 (He et al. 2015): 6n+2 layers.

"The first layer is 3x3 convolutions. Then we use a stack of 6n layers with 3x3 convolutions
on the feature maps of sizes {32, 16, 8} respectively, with 2n layers for each feature map
size. The numbers of filters are {16, 32, 64} respectively ... The network ends with a global
average pooling, a 10-way fully-connected layer, and softmax." Option A shortcuts throughout,
so the residual nets have exactly as many parameters as their plain counterparts.
"""

from __future__ import annotations

import keras

from resnet_lib.models.blocks import BlockOptions, batch_norm, conv, head, stage
from resnet_lib.models.imagenet import _check_input_shape

WIDTHS = (16, 32, 64)


def blocks_per_stage(depth: int) -> int:
    """n for a 6n+2-layer net; ValueError for any other depth."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"depth={depth!r} is not a CIFAR depth; expected 6n+2 with n >= 1 "
            "(8, 14, 20, 32, 44, 56, 110, 1202, ...)"
        )
    return (depth - 2) // 6


def cifar_resnet(
    depth: int,
    *,
    num_classes: int = 10,
    input_shape=(32, 32, 3),
    residual: bool = True,
    shortcut: str = "A",
    stride_at: str = "1x1",
    use_bias: bool = False,
    preact: bool = False,
    zero_init_residual: bool = False,
    include_top: bool = True,
    classifier_activation: str | None = "softmax",
    weight_decay: float = 0.0,
    bn_momentum: float = 0.9,
    name: str | None = None,
) -> keras.Model:
    """Build ResNet-``depth`` (or plain-``depth`` with ``residual=False``) for small images.

    Stages are named conv2_x, conv3_x, conv4_x after the stem ``conv1``, with basic blocks.
    Works for any input of 8 px or more (digits at 16x16 included). See ``BlockOptions``.
    """
    n = blocks_per_stage(depth)
    _check_input_shape(input_shape, minimum=8)
    options = BlockOptions(
        shortcut=shortcut,
        residual=residual,
        stride_at=stride_at,
        use_bias=use_bias,
        preact=preact,
        zero_init_residual=zero_init_residual,
        weight_decay=weight_decay,
        bn_momentum=bn_momentum,
    )
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = conv(inputs, WIDTHS[0], 3, options=options, name="conv1_conv")
    if not preact:  # pre-activation: conv2_block1's BN-ReLU feeds both of its paths instead
        x = batch_norm(x, options=options, name="conv1_bn")
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
    for index, width in enumerate(WIDTHS):
        x = stage(x, "basic", width, n, stride=1 if index == 0 else 2, options=options,
                  after_stem=index == 0, name=f"conv{index + 2}")
    outputs = head(
        x,
        num_classes=num_classes,
        include_top=include_top,
        classifier_activation=classifier_activation,
        options=options,
    )
    return keras.Model(inputs, outputs, name=name or f"{'resnet' if residual else 'plain'}{depth}")
