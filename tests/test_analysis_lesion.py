"""Lesion study (Veit et al. 2016): deleting a branch == zeroing its output; swaps; errors."""

import keras
import numpy as np
import pytest

from resnet_lib.analysis import lesion, lesion_study
from resnet_lib.models import BlockOptions, blocks, cifar_resnet, imagenet_resnet

SHAPE = (16, 16, 3)
# Logits, not softmax: a saturated softmax would hide differences between outputs.
LOGITS = {"num_classes": 3, "classifier_activation": None}


def _images(n=4, shape=SHAPE, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


def _copy(model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _branch_end(model, block):
    """The last layer of ``block``'s residual branch: the Add input that is not the shortcut."""
    add = [l for l in model.layers if l.name.startswith(block + "_") and isinstance(
        l, keras.layers.Add)]
    assert len(add) == 1, add
    names = [t._keras_history.operation.name for t in add[0].input]
    branch = [n for n in names if n.startswith(block + "_") and n[len(block) + 1] in "123"]
    assert len(branch) == 1, names
    return branch[0]


def _assert_deletion_is_zeroed_branch(model, blocks, randomize_batchnorm, shape=SHAPE):
    randomize_batchnorm(model)
    x = _images(shape=shape)
    for block in blocks:
        zeroed = _copy(model)
        for w in zeroed.get_layer(_branch_end(model, block)).trainable_weights:
            w.assign(np.zeros(w.shape, "float32"))  # BN gamma and beta, or a conv kernel
        expected = zeroed.predict(x, verbose=0)
        got = lesion.lesioned_model(model, delete=[block]).predict(x, verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=block)
        # ...and the lesion does change the network, so the comparison means something.
        assert np.abs(got - model.predict(x, verbose=0)).max() > 1e-3, block


def test_find_blocks_of_cifar_resnet14():
    blocks = lesion.find_blocks(cifar_resnet(14, input_shape=SHAPE, num_classes=3))
    assert [b.name for b in blocks] == [
        f"conv{s}_block{i}" for s in (2, 3, 4) for i in (1, 2)
    ]
    assert [b.downsampling for b in blocks] == [False, False, True, False, True, False]
    assert blocks[2].input_shape == (16, 16, 16) and blocks[2].output_shape == (8, 8, 32)
    assert all(b.residual and b.deletable for b in blocks)


@pytest.mark.one_backend  # graph surgery in the functional API: the same on every backend
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_delete_basic_block_equals_zeroed_branch(shortcut, randomize_batchnorm):
    model = cifar_resnet(14, input_shape=SHAPE, shortcut=shortcut, **LOGITS)
    # an identity block and a downsampling block (zero-pad shortcut for A, projection for B)
    _assert_deletion_is_zeroed_branch(model, ["conv2_block2", "conv3_block1"], randomize_batchnorm)


@pytest.mark.one_backend  # graph surgery in the functional API: the same on every backend
def test_delete_preact_block_equals_zeroed_branch(randomize_batchnorm):
    model = cifar_resnet(8, input_shape=SHAPE, preact=True, shortcut="B", **LOGITS)
    _assert_deletion_is_zeroed_branch(model, ["conv2_block1", "conv4_block1"], randomize_batchnorm)


def _tiny_bottleneck_net(*, stride_at):
    """Stem, two bottleneck stages (the second downsamples), head: the library's own blocks."""
    options = BlockOptions(shortcut="B", stride_at=stride_at)
    inputs = keras.Input(SHAPE)
    x = blocks.conv(inputs, 8, 3, options=options, name="conv1_conv")
    x = blocks.batch_norm(x, options=options, name="conv1_bn")
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = blocks.stage(x, "bottleneck", 4, 2, stride=1, options=options, name="conv2")
    x = blocks.stage(x, "bottleneck", 8, 2, stride=2, options=options, name="conv3")
    outputs = blocks.head(x, num_classes=3, include_top=True, classifier_activation=None,
                          options=options)
    return keras.Model(inputs, outputs)


@pytest.mark.one_backend  # graph surgery in the functional API: the same on every backend
@pytest.mark.parametrize("stride_at", ["1x1", "3x3"])
def test_delete_bottleneck_block_equals_zeroed_branch(stride_at, randomize_batchnorm):
    model = _tiny_bottleneck_net(stride_at=stride_at)
    _assert_deletion_is_zeroed_branch(
        model, ["conv2_block1", "conv2_block2", "conv3_block1"], randomize_batchnorm
    )


@pytest.mark.slow
def test_delete_resnet50_block_equals_zeroed_branch(randomize_batchnorm):
    model = imagenet_resnet(50, input_shape=(32, 32, 3), **LOGITS)
    _assert_deletion_is_zeroed_branch(
        model, ["conv2_block1", "conv3_block2", "conv4_block1"], randomize_batchnorm, shape=(32, 32, 3)
    )


def test_lesioned_model_shares_layers_and_has_no_lambda():
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3)
    lesioned = lesion.lesioned_model(model, delete=["conv3_block1"])
    names = {l.name for l in lesioned.layers}
    assert "conv3_block1_1_conv" not in names and "conv3_block1_2_bn" not in names
    assert "conv3_block1_out" in names
    for layer in lesioned.layers:
        assert layer is model.get_layer(layer.name)
        assert not isinstance(layer, keras.layers.Lambda)


def _set_identity_block(model, block):
    """Make a plain basic block compute the identity on its (non-negative) input."""
    eps = model.get_layer(block + "_1_bn").epsilon
    for part in ("1", "2"):
        conv = model.get_layer(f"{block}_{part}_conv")
        kernel = np.zeros(conv.kernel.shape, "float32")
        kernel[1, 1] = np.eye(kernel.shape[-1])
        conv.kernel.assign(kernel)
        bn = model.get_layer(f"{block}_{part}_bn")
        n = bn.gamma.shape[0]
        bn.gamma.assign(np.ones(n, "float32"))
        bn.beta.assign(np.zeros(n, "float32"))
        bn.moving_mean.assign(np.zeros(n, "float32"))
        bn.moving_variance.assign(np.full(n, 1 - eps, "float32"))


def test_delete_plain_block_is_identity_and_downsampling_block_refused(randomize_batchnorm):
    plain = cifar_resnet(14, input_shape=SHAPE, residual=False, **LOGITS)
    randomize_batchnorm(plain)
    blocks = lesion.find_blocks(plain)
    assert not any(b.residual for b in blocks)
    assert [b.deletable for b in blocks] == [True, True, False, True, False, True]
    x = _images()
    identity = _copy(plain)
    _set_identity_block(identity, "conv3_block2")
    expected = identity.predict(x, verbose=0)
    got = lesion.lesioned_model(plain, delete=["conv3_block2"]).predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="conv3_block1.*cannot be deleted"):
        lesion.lesioned_model(plain, delete=["conv3_block1"])


def test_swap_equals_exchanged_weights_and_twice_is_identity(randomize_batchnorm):
    model = cifar_resnet(20, input_shape=SHAPE, **LOGITS)
    randomize_batchnorm(model)
    x = _images()
    a, b = "conv3_block2", "conv3_block3"
    exchanged = _copy(model)
    for layer in model.layers:
        if layer.name.startswith(a + "_"):
            other = b + layer.name[len(a):]
            exchanged.get_layer(layer.name).set_weights(model.get_layer(other).get_weights())
            exchanged.get_layer(other).set_weights(layer.get_weights())
    swapped = lesion.lesioned_model(model, swap=[(a, b)])
    np.testing.assert_allclose(
        swapped.predict(x, verbose=0), exchanged.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert np.abs(swapped.predict(x, verbose=0) - model.predict(x, verbose=0)).max() > 1e-4
    with pytest.raises(ValueError, match="different shapes"):
        lesion.lesioned_model(model, swap=[("conv3_block1", "conv3_block2")])


def test_random_draws_are_seeded_and_valid():
    model = cifar_resnet(20, input_shape=SHAPE, num_classes=3)
    drawn = lesion.random_deletion(model, 4, seed=3)
    assert drawn == lesion.random_deletion(model, 4, seed=3)
    assert len(set(drawn)) == 4 and not {"conv3_block1", "conv4_block1"} & set(drawn)
    pairs = lesion.random_swaps(model, 3, seed=5)
    assert pairs == lesion.random_swaps(model, 3, seed=5)
    flat = [name for pair in pairs for name in pair]
    assert len(set(flat)) == 6
    for a, b in pairs:
        assert a.split("_")[0] == b.split("_")[0]  # same stage, so same shapes
    with pytest.raises(ValueError, match="k: expected 0..7"):
        lesion.random_deletion(model, 8, seed=0)


def test_lesion_study_counts_and_error_oracle():
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3, name="resnet8")
    plain = cifar_resnet(8, input_shape=SHAPE, num_classes=3, residual=False, name="plain8")
    x = _images(n=12)
    y = np.arange(12) % 3
    result = lesion_study.lesion_study(
        model, (x, y), plain_model=plain, deletions=[1, 2], swaps=[1], trials=2
    )
    assert list(result) == ["resnet8", "plain8"]
    res, pl = result["resnet8"], result["plain8"]
    assert res.residual and not pl.residual
    expected = np.mean(model.predict(x, verbose=0).argmax(-1) != y)
    assert res.baseline_error == pytest.approx(expected)
    batches = [(x[:5], y[:5]), (x[5:], y[5:])]  # e.g. a tf.data.Dataset
    assert lesion_study.evaluate_error(model, batches) == pytest.approx(expected)
    single = lesion_study.evaluate_error(lesion.lesioned_model(model, delete=[1]), (x, y))
    assert res.single_block_error[1] == pytest.approx(single)
    # resnet8 has 3 blocks, two of them downsampling: one deletable at random, none swappable
    assert np.isfinite(res.single_block_error).all()
    assert np.isnan(pl.single_block_error[1:]).all() and np.isfinite(pl.single_block_error[0])
    assert res.deleted_counts.tolist() == [1] and res.deleted_error.shape == (1, 2)
    assert res.swapped_counts.tolist() == [] and res.swapped_error.shape == (0, 2)
