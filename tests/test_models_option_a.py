"""Option A's channel order (``ZeroPadShortcut``): identity channels first, zeros after.

This is the order of the authors' Torch code (fb.resnet.torch ``models/resnet.lua``:
``nn.Concat(2)`` of the identity and a zeroed copy). akamaster/pytorch_resnet_cifar10 pads
zeros on both sides instead; the test below shows that such weights need a permutation.
"""

import keras
import numpy as np

from resnet_lib.models import ZeroPadShortcut, cifar_resnet


def test_identity_channels_come_first_then_zeros():
    x = np.random.default_rng(0).normal(size=(2, 6, 5, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(ZeroPadShortcut(10, stride=2)(x))
    assert out.shape == (2, 3, 3, 10)
    np.testing.assert_array_equal(out[..., :4], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(out[..., 4:], 0.0)


def test_both_sides_padding_differs_by_a_channel_permutation():
    """akamaster's layout (3 zero channels, the identity, 3 zero channels) is ours permuted."""
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 4)).astype("float32")
    ours = keras.ops.convert_to_numpy(ZeroPadShortcut(10, stride=2)(x))
    both_sides = np.pad(x[:, ::2, ::2, :], [(0, 0), (0, 0), (0, 0), (3, 3)])
    assert not np.array_equal(ours, both_sides)
    permutation = [4, 5, 6, 0, 1, 2, 3, 7, 8, 9]  # our channel feeding each of theirs
    np.testing.assert_array_equal(ours[..., permutation], both_sides)


def test_option_a_shortcut_in_the_cifar_net_keeps_its_input_in_front():
    net = cifar_resnet(8, input_shape=(16, 16, 3), shortcut="A")
    pad = net.get_layer("conv3_block1_0_pad")
    probe = keras.Model(net.input, [pad.input, pad.output])
    x = np.random.default_rng(2).uniform(size=(1, 16, 16, 3)).astype("float32")
    before, after = (keras.ops.convert_to_numpy(t) for t in probe(x, training=False))
    np.testing.assert_array_equal(after[..., :16], before[:, ::2, ::2, :])
    np.testing.assert_array_equal(after[..., 16:], 0.0)
