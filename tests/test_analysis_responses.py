"""Layer responses after BN (paper Fig. 7) against a manual NumPy computation."""

import keras
import numpy as np
import pytest

from resnet_lib.analysis.responses import response_layer_names, response_std
from resnet_lib.models import cifar_resnet

SHAPE = (16, 16, 3)


def _manual_bn_output(model, bn_name, x):
    """BN in inference mode by hand, from the preceding convolution's output."""
    conv_name = bn_name.removesuffix("_bn") + "_conv"
    conv_out = keras.Model(model.input, model.get_layer(conv_name).output).predict(x, verbose=0)
    bn = model.get_layer(bn_name)
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
    return gamma * (conv_out - mean) / np.sqrt(var + bn.epsilon) + beta


def test_layer_names_in_order_residual_and_plain():
    expected = ["conv1_bn"] + [
        f"conv{s}_block1_{i}_bn" for s in (2, 3, 4) for i in (1, 2)
    ]
    resnet = cifar_resnet(8, input_shape=SHAPE, num_classes=3, shortcut="B")
    plain = cifar_resnet(8, input_shape=SHAPE, num_classes=3, residual=False)
    assert response_layer_names(resnet) == expected  # no "_0_bn" of the projections
    assert response_layer_names(plain) == expected
    assert response_layer_names(plain, include_stem=False) == expected[1:]


@pytest.mark.parametrize("per_channel", [False, True])
def test_std_matches_manual_computation(per_channel, randomize_batchnorm):
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3)
    randomize_batchnorm(model, beta_std=0.5)
    x = np.random.default_rng(0).normal(size=(10, *SHAPE)).astype("float32")
    result = response_std(model, x, per_channel=per_channel, batch_size=4)  # 3 batches
    assert result.layer_names == tuple(response_layer_names(model))
    for name, got in zip(result.layer_names, result.std):
        y = _manual_bn_output(model, name, x)
        expected = y.reshape(-1, y.shape[-1]).std(0).mean() if per_channel else y.std()
        assert got == pytest.approx(expected, rel=1e-4), name
    assert (np.diff(result.sorted()) <= 0).all()
    assert sorted(result.sorted()) == sorted(result.std)


def test_iterable_of_batches_gives_the_same_std(randomize_batchnorm):
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3, residual=False)
    randomize_batchnorm(model, seed=3, beta_std=0.5)
    x = np.random.default_rng(1).normal(size=(8, *SHAPE)).astype("float32")
    y = np.zeros(8, int)
    whole = response_std(model, x)
    batched = response_std(model, [(x[:5], y[:5]), (x[5:], y[5:])])
    np.testing.assert_allclose(batched.std, whole.std, rtol=1e-5)
    assert whole.model_name == model.name
    labelled = response_std(model, x, label="plain-8")
    assert labelled.model_name == "plain-8" and model.name != "plain-8"  # the model keeps its name
    np.testing.assert_array_equal(labelled.std, whole.std)
