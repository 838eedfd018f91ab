"""ImageNet-style ResNets of Table 1 (He et al. 2015, Section 3.4 and Table 1).

Stem: 7x7/64 convolution with stride 2 and a 3x3 max pool with stride 2; four stages conv2_x
.. conv5_x of widths 64/128/256/512 (x4 at a bottleneck's output), conv3_1, conv4_1 and conv5_1
downsampling by 2; global average pooling and a ``num_classes``-way classifier.
"""

from __future__ import annotations

import keras

from resnet_lib.models.blocks import BlockOptions, batch_norm, head, stage
from resnet_lib.models.layers import CaffePreprocessing

# depth -> (block, blocks per stage): Table 1, the architecture as data.
STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
WIDTHS = (64, 128, 256, 512)
PREPROCESSING = (None, "caffe")  # what the model does to its input first (see imagenet_resnet)


def imagenet_resnet(
    depth: int,
    *,
    num_classes: int = 1000,
    input_shape=(224, 224, 3),
    residual: bool = True,
    shortcut: str = "B",
    stride_at: str = "1x1",
    use_bias: bool = False,
    preact: bool = False,
    zero_init_residual: bool = False,
    include_top: bool = True,
    classifier_activation: str | None = "softmax",
    weight_decay: float = 0.0,
    bn_momentum: float = 0.9,
    weights: str | None = None,
    preprocessing: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """Build the 18/34/50/101/152-layer network of Table 1, residual or plain.

    ``residual=False`` gives the plain counterpart (Section 4.1): the same layers and no
    shortcuts. With ``use_bias=True`` and ``stride_at="1x1"`` the layers and names are those of
    keras.applications' ResNet50/101/152, so their ImageNet weights transfer by name; with
    ``stride_at="3x3"`` the trainable parameters equal torchvision's ``resnet{depth}``.
    ``include_top=False`` returns the last stage's feature map. See ``BlockOptions`` for the
    remaining options.

    ``weights="imagenet"`` loads keras.applications' ImageNet weights by layer name
    (``resnet_lib.pretrained``; the download needs the internet, as on Colab). It needs the
    keras.applications layout: depth 50/101/152, ``use_bias=True``, ``stride_at="1x1"``,
    ``shortcut="B"``, ``residual=True``, ``preact=False``, and ``preprocessing="caffe"``. Any other string is a path to a
    ``.weights.h5`` file for this exact architecture.

    ``preprocessing="caffe"`` puts a ``CaffePreprocessing`` layer right after the input, so the
    model takes [0, 1] RGB images and its first convolution sees what keras.applications'
    ImageNet weights expect (``keras.applications.resnet.preprocess_input``: BGR, 0..255, mean
    subtracted). ``load_imagenet_weights`` asks for it; ``None`` (the default) feeds the input
    as it is.
    """
    if depth not in STAGES:
        raise ValueError(f"depth={depth!r} is not in Table 1; expected one of {sorted(STAGES)}")
    if weights == "imagenet":
        _check_imagenet_layout(depth, use_bias, stride_at, shortcut, residual, preact, preprocessing)
    _check_input_shape(input_shape, minimum=32)
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"preprocessing={preprocessing!r} is not allowed; expected one of {PREPROCESSING}")
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
    block, blocks_per_stage = STAGES[depth]

    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = inputs
    if preprocessing == "caffe":
        x = CaffePreprocessing(name="caffe_preprocessing")(x)
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = keras.layers.Conv2D(
        64,
        7,
        strides=2,
        use_bias=use_bias,
        kernel_initializer="he_normal",
        kernel_regularizer=options.regularizer(),
        name="conv1_conv",
    )(x)
    # Also in a pre-activation net: "the first activation right after conv1" (He et al. 2016,
    # appendix), before the max pool as in fb.resnet.torch models/preresnet.lua; conv2_block1
    # then has no BN-ReLU of its own (stem_activated).
    x = batch_norm(x, options=options, name="conv1_bn")
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    for index, (width, blocks) in enumerate(zip(WIDTHS, blocks_per_stage)):
        x = stage(x, block, width, blocks, stride=1 if index == 0 else 2, options=options,
                  after_stem=index == 0, stem_activated=True, name=f"conv{index + 2}")

    outputs = head(
        x,
        num_classes=num_classes,
        include_top=include_top,
        classifier_activation=classifier_activation,
        options=options,
    )
    model = keras.Model(inputs, outputs, name=name or f"{'resnet' if residual else 'plain'}{depth}")
    if weights == "imagenet":
        from resnet_lib.pretrained import load_imagenet_weights  # imports keras.applications

        load_imagenet_weights(model)
    elif weights is not None:
        model.load_weights(weights)
    return model


def _check_imagenet_layout(depth, use_bias, stride_at, shortcut, residual, preact, preprocessing):
    wanted = {"depth": (depth, (50, 101, 152)), "use_bias": (use_bias, (True,)),
              "stride_at": (stride_at, ("1x1",)), "shortcut": (shortcut, ("B",)),
              "residual": (residual, (True,)), "preact": (preact, (False,)),
              "preprocessing": (preprocessing, ("caffe",))}
    wrong = [f"{key}={got!r} (needs {' or '.join(map(repr, allowed))})"
             for key, (got, allowed) in wanted.items() if got not in allowed]
    if wrong:
        raise ValueError(
            "weights='imagenet' needs keras.applications' ResNet layout; got " + ", ".join(wrong)
        )


def _check_input_shape(input_shape, *, minimum):
    shape = tuple(input_shape)
    if len(shape) != 3 or any(s is not None and s < 1 for s in shape):
        raise ValueError(f"input_shape={input_shape!r} must be (height, width, channels)")
    if any(s is not None and s < minimum for s in shape[:2]):
        raise ValueError(f"input_shape={input_shape!r}: height and width must be >= {minimum}")
