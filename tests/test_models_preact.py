"""Pre-activation nets (``preact=True``) against references written here from the authors' code.

The references follow He et al. 2016 ("Identity Mappings in Deep Residual Networks"), its
appendix and KaimingHe/resnet-1k-layers ``resnet-pre-act.lua``: a unit is BN-ReLU-conv ...;
an identity shortcut takes the unit's raw input; a projection (1x1 conv, no BN) takes the
unit's BN-ReLU output, shared with the branch; the unit right after conv1 splits after a
BN-ReLU; the net ends in BN-ReLU, global pooling and the classifier. The ImageNet stem is
fb.resnet.torch ``models/preresnet.lua``'s (conv-BN-ReLU-max pool, so the first unit takes an
activated input). They are built from plain Keras layers, with our layer names only so that
weights copy by name; the library's blocks are not used.
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

from resnet_lib.complexity import layer_multiply_adds, multiply_adds, stage_costs
from resnet_lib.models import cifar_resnet, imagenet_resnet
from resnet_lib.models.blocks import BN_EPSILON


def _bn(name):
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def _conv(x, filters, kernel, stride, name):
    if kernel > 1 and stride > 1:  # Torch pads (k - 1) / 2 on every side
        x = layers.ZeroPadding2D(kernel // 2)(x)
        return layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=name)(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)


def _reference_unit(x, convs, out_filters, stride, *, name, first, stem_activated, shortcut):
    in_filters = x.shape[-1]
    if first and stem_activated:
        activated = x
    else:
        activated = layers.ReLU()(_bn(f"{name}_preact_bn")(x))
    y = activated
    for i, (filters, kernel, conv_stride) in enumerate(convs, start=1):
        if i > 1:
            y = layers.ReLU()(_bn(f"{name}_{i - 1}_bn")(y))
        y = _conv(y, filters, kernel, conv_stride, f"{name}_{i}_conv")
    if in_filters != out_filters or stride != 1:
        if shortcut == "B":
            s = _conv(activated, out_filters, 1, stride, f"{name}_0_conv")
        else:  # option A on the raw input: subsample, identity channels first, zeros after
            extra = out_filters - in_filters
            s = layers.Lambda(lambda t: ops.pad(t[:, ::stride, ::stride, :], [[0, 0], [0, 0], [0, 0], [0, extra]]))(x)
    else:
        s = activated if first else x
    return layers.Add()([s, y])


def _reference_head(x, num_classes):
    x = layers.ReLU()(_bn("post_bn")(x))
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes, name="predictions")(x)


def reference_cifar_preact(depth, *, shape, num_classes, shortcut):
    n = (depth - 2) // 6
    inputs = keras.Input(shape)
    x = _conv(inputs, 16, 3, 1, "conv1_conv")  # a stand-alone conv: no BN-ReLU of its own
    for s, width in enumerate((16, 32, 64)):
        for i in range(1, n + 1):
            stride = 2 if s > 0 and i == 1 else 1
            x = _reference_unit(x, [(width, 3, stride), (width, 3, 1)], width, stride,
                                name=f"conv{s + 2}_block{i}", first=s == 0 and i == 1,
                                stem_activated=False, shortcut=shortcut)
    return keras.Model(inputs, _reference_head(x, num_classes))


def reference_imagenet_preact50(*, shape, num_classes):
    inputs = keras.Input(shape)
    x = _conv(inputs, 64, 7, 2, "conv1_conv")
    x = layers.ReLU()(_bn("conv1_bn")(x))
    x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))  # after a ReLU: as -inf padding
    for s, (width, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
        for i in range(1, blocks + 1):
            stride = 2 if s > 0 and i == 1 else 1  # on the first 1x1, as in the Torch code
            convs = [(width, 1, stride), (width, 3, 1), (4 * width, 1, 1)]
            x = _reference_unit(x, convs, 4 * width, stride, name=f"conv{s + 2}_block{i}",
                                first=s == 0 and i == 1, stem_activated=True, shortcut="B")
    return keras.Model(inputs, _reference_head(x, num_classes))


def _copy_by_name(source, target):
    weighted = {layer.name: layer for layer in source.layers if layer.weights}
    theirs = {layer.name for layer in target.layers if layer.weights}
    assert set(weighted) == theirs, (
        f"weighted layers differ: only ours {sorted(set(weighted) - theirs)[:5]}, "
        f"only the reference {sorted(theirs - set(weighted))[:5]}"
    )
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(weighted[layer.name].get_weights())


def _assert_same_function(ours, reference, shape, randomize_batchnorm):
    randomize_batchnorm(ours, seed=3)
    _copy_by_name(ours, reference)
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    want = keras.ops.convert_to_numpy(reference(x, training=False))
    got = keras.ops.convert_to_numpy(ours(x, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_cifar_preact_equals_the_reference(shortcut, randomize_batchnorm):
    shape = (16, 16, 3)
    ours = cifar_resnet(8, input_shape=shape, num_classes=5, preact=True, shortcut=shortcut,
                        classifier_activation=None)
    reference = reference_cifar_preact(8, shape=shape, num_classes=5, shortcut=shortcut)
    assert ours.count_params() == reference.count_params()
    _assert_same_function(ours, reference, shape, randomize_batchnorm)


def test_imagenet_preact50_equals_the_reference(randomize_batchnorm):
    shape = (64, 64, 3)
    ours = imagenet_resnet(50, input_shape=shape, num_classes=7, preact=True, classifier_activation=None)
    reference = reference_imagenet_preact50(shape=shape, num_classes=7)
    assert ours.count_params() == reference.count_params()
    _assert_same_function(ours, reference, shape, randomize_batchnorm)


def test_where_preact_shortcuts_start():
    """Pins the wiring: which tensor each Add's shortcut input is (public Layer.input/.output)."""
    net = cifar_resnet(14, input_shape=(16, 16, 3), preact=True, shortcut="B")
    add_input = lambda block: net.get_layer(f"{block}_out").input  # [shortcut, branch]
    # the unit right after conv1: both paths after its BN-ReLU
    assert add_input("conv2_block1")[0] is net.get_layer("conv2_block1_preact_relu").output
    # any other identity unit: the raw input, i.e. the previous unit's sum
    assert add_input("conv2_block2")[0] is net.get_layer("conv2_block1_out").output
    # a projection: the shared BN-ReLU, with no BN of its own
    assert net.get_layer("conv3_block1_0_conv").input is net.get_layer("conv3_block1_preact_relu").output
    assert add_input("conv3_block1")[0] is net.get_layer("conv3_block1_0_conv").output

    big = imagenet_resnet(50, input_shape=(64, 64, 3), preact=True)
    names = {layer.name for layer in big.layers}
    assert {"conv1_bn", "conv1_relu"} <= names and "conv2_block1_preact_bn" not in names
    assert big.get_layer("conv2_block1_0_conv").input is big.get_layer("pool1_pool").output
    assert big.get_layer("conv2_block1_1_conv").input is big.get_layer("pool1_pool").output
    assert big.get_layer("conv2_block2_1_conv").input is big.get_layer("conv2_block2_preact_relu").output


def test_stage_costs_of_a_preact_net_add_up():
    model = imagenet_resnet(50, input_shape=(64, 64, 3), preact=True)
    costs = stage_costs(model)
    assert sum(macs for macs, _ in costs.values()) == multiply_adds(model)
    assert sum(params for _, params in costs.values()) == model.count_params()
    # conv5_x holds its units and the final BN-ReLU that follows them
    conv5 = sum(c.params for c in layer_multiply_adds(model) if c.name.startswith(("conv5_", "post_")))
    assert costs["conv5_x"][1] == conv5 and model.get_layer("post_bn").count_params() > 0
