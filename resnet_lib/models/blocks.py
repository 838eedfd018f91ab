"""Residual and plain building blocks (He et al. 2015, Section 3 and Fig. 2, 5).

A block is a plain function, tensor in and tensor out, as in keras.applications:

- ``basic_block``: two 3x3 convolutions (Fig. 5 left), used by ResNet-18/34 and the CIFAR nets.
- ``bottleneck_block``: 1x1 reduce, 3x3, 1x1 expand x4 (Fig. 5 right), ResNet-50/101/152.

Post-activation order (the 2015 paper): every convolution is followed by batch normalization
(Section 3.4: "right after each convolution and before activation") and a ReLU, except the
branch's last one, whose ReLU comes after the addition: ``y = ReLU(F(x) + shortcut(x))``.
With ``preact=True`` the block is the pre-activation unit of He et al. 2016 ("Identity
Mappings in Deep Residual Networks"): ``y = x + F(x)`` with ``F = conv(ReLU(BN(...)))``.

Where a pre-activation unit's shortcut starts follows the authors' code
(KaimingHe/resnet-1k-layers ``resnet-pre-act.lua``) and the paper's appendix: an identity
shortcut takes the un-activated input ``x``; a projection shortcut takes the unit's
BN-ReLU output, shared with the residual branch ("common BN, ReLU" before the split), and has
no BN of its own; and the unit right after conv1 (``after_stem=True``) also splits after its
BN-ReLU, whatever its shortcut ("for the first Residual Unit (that follows a stand-alone
convolutional layer, conv1), we adopt the first activation right after conv1 and before
splitting into two paths"). Where the stem itself ends in BN-ReLU (the ImageNet stem, whose
max pool follows it), that unit has no BN-ReLU of its own (``stem_activated=True``) and both
paths take the stem's output: the same function, as fb.resnet.torch ``models/preresnet.lua``
builds it. The option-A zero-pad shortcut, which the 2016 code does not use, takes ``x``
like an identity. fb.resnet.torch also differs in two ways this code does not follow: every
unit of its first stage skips its BN-ReLU (not only the first), and its projections take
``x`` and end in a BN.

Every layer is named as in keras.applications, ``{block}_{i}_conv``, ``_bn``, ``_relu``,
``_0_conv`` for a projection shortcut, ``_add`` and ``_out``, so that any block can be found by
name (``conv4_block3_out``) and keras.applications' weights transfer by name.
"""

from __future__ import annotations

import dataclasses

import keras

from resnet_lib.models.layers import ZeroPadShortcut

SHORTCUTS = ("A", "B", "C")
STRIDE_AT = ("1x1", "3x3")
BN_EPSILON = 1.001e-5  # keras.applications' value, so transferred weights match exactly


@dataclasses.dataclass(frozen=True)
class BlockOptions:
    """The paper's ambiguities and later variants, each a named option (Section 3.3, 4.1)."""

    # "A": zero-padded identity, "B": projection where the shape changes, "C": all projections.
    shortcut: str = "B"
    # False builds the plain counterpart: the same layers with no shortcuts (Section 4.1).
    residual: bool = True
    # Where a downsampling bottleneck strides: "1x1" (paper, keras.applications v1) or
    # "3x3" (torchvision, "ResNet v1.5"). Basic blocks have only 3x3 convolutions.
    stride_at: str = "1x1"
    # Convolutions with a bias, as keras.applications has them (redundant before BN).
    use_bias: bool = False
    # Pre-activation unit of He et al. 2016 ("ResNet v2").
    preact: bool = False
    # Zero gamma in the last BN of each residual branch (Goyal et al. 2017), so that every
    # block starts as the identity.
    zero_init_residual: bool = False
    # Coupled weight decay as in the paper (Section 3.4): an L2 penalty whose gradient is
    # ``weight_decay * w`` on every kernel, i.e. ``keras.regularizers.L2(weight_decay / 2)``.
    weight_decay: float = 0.0
    # Keras' BN momentum is the weight of the old average; 0.9 equals PyTorch's 0.1.
    bn_momentum: float = 0.9

    def __post_init__(self):
        if self.shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut={self.shortcut!r} is not allowed; expected one of {SHORTCUTS}")
        if self.stride_at not in STRIDE_AT:
            raise ValueError(f"stride_at={self.stride_at!r} is not allowed; expected one of {STRIDE_AT}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay={self.weight_decay!r} must be >= 0")
        if self.zero_init_residual and not self.residual:
            raise ValueError(
                "zero_init_residual=True needs residual=True: zeroing the last BN of a plain "
                "block would cut the signal path"
            )
        if self.zero_init_residual and self.preact:
            raise ValueError(
                "zero_init_residual=True needs preact=False: a pre-activation branch ends in a "
                "convolution, not a BN"
            )

    def regularizer(self):
        return keras.regularizers.L2(self.weight_decay / 2) if self.weight_decay else None


def conv(x, filters, kernel_size, *, stride=1, options, name):
    """Convolution with He initialization (Section 3.4) and symmetric padding.

    A strided 3x3 gets an explicit 1-pixel zero padding (``{name}_pad``) so that it sees the
    same pixels as in the paper's Torch/Caffe code; Keras' "same" pads only bottom/right.
    """
    padding = "same"
    if kernel_size > 1 and stride > 1:
        pad_name = name.removesuffix("_conv") + "_pad"
        x = keras.layers.ZeroPadding2D(kernel_size // 2, name=pad_name)(x)
        padding = "valid"
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding=padding,
        use_bias=options.use_bias,
        kernel_initializer="he_normal",
        kernel_regularizer=options.regularizer(),
        name=name,
    )(x)


def batch_norm(x, *, options, name, zero_gamma=False):
    return keras.layers.BatchNormalization(
        epsilon=BN_EPSILON,
        momentum=options.bn_momentum,
        gamma_initializer="zeros" if zero_gamma else "ones",
        name=name,
    )(x)


def _shortcut(x, preactivated, filters, *, stride, options, after_stem, name):
    """The shortcut path, or ``None`` for a plain block (Section 3.3, options A/B/C).

    Identity and option A take the block input ``x``, except right after the stem of a
    pre-activation net; a projection takes the pre-activated input (He et al. 2016; see the
    module docstring). Without ``preact``, ``preactivated`` is ``x``.
    """
    if not options.residual:
        return None
    changes_shape = stride != 1 or x.shape[-1] != filters
    if options.shortcut == "C" or (options.shortcut == "B" and changes_shape):
        s = conv(preactivated, filters, 1, stride=stride, options=options, name=f"{name}_0_conv")
        return s if options.preact else batch_norm(s, options=options, name=f"{name}_0_bn")
    source = preactivated if after_stem else x
    if changes_shape:  # option A
        return ZeroPadShortcut(filters, stride=stride, name=f"{name}_0_pad")(source)
    return source


def _residual_unit(x, convs, *, stride, options, after_stem, stem_activated, name):
    """Apply one block: ``convs`` lists ``(filters, kernel_size, stride)`` of the branch."""
    out_filters = convs[-1][0]
    preactivated = x
    if options.preact and not (after_stem and stem_activated):
        preactivated = batch_norm(x, options=options, name=f"{name}_preact_bn")
        preactivated = keras.layers.Activation("relu", name=f"{name}_preact_relu")(preactivated)
    shortcut = _shortcut(x, preactivated, out_filters, stride=stride, options=options,
                         after_stem=after_stem, name=name)

    y = preactivated
    last = len(convs)
    for i, (filters, kernel_size, conv_stride) in enumerate(convs, start=1):
        y = conv(y, filters, kernel_size, stride=conv_stride, options=options, name=f"{name}_{i}_conv")
        if options.preact and i == last:
            break
        y = batch_norm(
            y,
            options=options,
            name=f"{name}_{i}_bn",
            zero_gamma=options.zero_init_residual and i == last,
        )
        if i < last:
            y = keras.layers.Activation("relu", name=f"{name}_{i}_relu")(y)

    if options.preact:
        if shortcut is None:
            return keras.layers.Identity(name=f"{name}_out")(y)
        return keras.layers.Add(name=f"{name}_out")([shortcut, y])
    if shortcut is not None:
        y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def basic_block(x, filters, *, stride=1, options=BlockOptions(), after_stem=False,
                stem_activated=False, name):
    """Two 3x3 convolutions with ``filters`` channels; the first one strides (Fig. 5 left).

    ``after_stem``: the unit right after conv1; with ``preact`` both of its paths start after
    a BN-ReLU (He et al. 2016, appendix): its own, or with ``stem_activated`` the stem's.
    Neither has an effect without ``preact``.
    """
    convs = [(filters, 3, stride), (filters, 3, 1)]
    return _residual_unit(x, convs, stride=stride, options=options, after_stem=after_stem,
                          stem_activated=stem_activated, name=name)


def bottleneck_block(x, filters, *, stride=1, options=BlockOptions(), after_stem=False,
                     stem_activated=False, name):
    """1x1 (``filters``), 3x3 (``filters``), 1x1 (``4 * filters``) (Fig. 5 right).

    The stride sits on the first 1x1 (``stride_at="1x1"``, the paper) or on the 3x3
    (``"3x3"``, ResNet v1.5: about 0.5% better top-1 at ~5% lower throughput, per NVIDIA).
    ``after_stem`` and ``stem_activated`` as in ``basic_block``.
    """
    on_1x1 = stride if options.stride_at == "1x1" else 1
    on_3x3 = stride if options.stride_at == "3x3" else 1
    convs = [(filters, 1, on_1x1), (filters, 3, on_3x3), (4 * filters, 1, 1)]
    return _residual_unit(x, convs, stride=stride, options=options, after_stem=after_stem,
                          stem_activated=stem_activated, name=name)


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


def stage(x, block, filters, blocks, *, stride, options, after_stem=False, stem_activated=False, name):
    """A stage ``{name}_x`` of ``blocks`` blocks; the first one changes the shape.

    ``after_stem=True`` for the stage that follows conv1: its first unit is the one after the
    stem (see ``basic_block``; ``stem_activated`` goes to that unit).
    """
    block_fn = BLOCKS[block]
    for i in range(1, blocks + 1):
        x = block_fn(x, filters, stride=stride if i == 1 else 1, options=options,
                     after_stem=after_stem and i == 1, stem_activated=stem_activated,
                     name=f"{name}_block{i}")
    return x


def head(x, *, num_classes, include_top, classifier_activation, options):
    """Final BN-ReLU for pre-activation nets, then global average pooling and the classifier.

    Global pooling (not a fixed 7x7 average pool) lets any input of 32 px or more work.
    The classifier runs in float32 so that mixed-precision training keeps a stable softmax.
    """
    if options.preact:
        x = batch_norm(x, options=options, name="post_bn")
        x = keras.layers.Activation("relu", name="post_relu")(x)
    if not include_top:
        return x
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.layers.Dense(
        num_classes,
        activation=classifier_activation,
        kernel_regularizer=options.regularizer(),
        dtype="float32",
        name="predictions",
    )(x)
