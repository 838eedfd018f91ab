"""ImageNet weight transfer (resnet_lib.pretrained), tested offline with random weights.

keras.applications.ResNet50(weights=None) is given random weights everywhere (BN moving
statistics included, so BN is not the identity) and copied into our imagenet_resnet(50,
use_bias=True); the two must compute the same function.
"""

import keras
import numpy as np
import pytest

from resnet_lib.models import imagenet_resnet
from resnet_lib.pretrained import imagenet_depth, load_imagenet_weights

SHAPE = (64, 64, 3)


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            # gamma, beta, moving mean, moving variance (positive)
            gamma, beta, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
        else:
            layer.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in weights])


def test_transfer_from_keras_applications_gives_the_same_function():
    keras.utils.set_random_seed(0)
    source = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    _randomize(source)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False)
    report = load_imagenet_weights(ours, source_model=source)
    assert report["skipped"] == [] and len(report["copied"]) == sum(1 for l in ours.layers if l.weights)
    x = np.random.default_rng(1).normal(size=(2, *SHAPE)).astype("float32")
    expected = keras.ops.convert_to_numpy(source(x, training=False))
    got = keras.ops.convert_to_numpy(ours(x, training=False))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_head_is_skipped_for_another_label_set():
    source = keras.applications.ResNet50(weights=None, include_top=True, input_shape=SHAPE)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, num_classes=20)
    report = load_imagenet_weights(ours, source_model=source)
    assert report["skipped"] == ["predictions"]


def test_mismatched_model_is_refused_with_names():
    source = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=False, include_top=False)
    with pytest.raises(ValueError, match="conv1_conv: shapes"):
        load_imagenet_weights(ours, source_model=source)


def test_depth_is_read_from_the_model():
    assert imagenet_depth(imagenet_resnet(50, input_shape=SHAPE, include_top=False)) == 50
    with pytest.raises(ValueError, match="ResNet-50/101/152"):
        imagenet_depth(imagenet_resnet(18, input_shape=SHAPE, include_top=False))


def test_offline_download_fails_with_a_clear_message(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False)
    with pytest.raises(RuntimeError, match="needs the internet"):
        load_imagenet_weights(ours)


@pytest.mark.slow
@pytest.mark.parametrize("depth,app", [(101, "ResNet101"), (152, "ResNet152")])
def test_transfer_deeper(depth, app):
    source = getattr(keras.applications, app)(weights=None, include_top=False, input_shape=SHAPE)
    _randomize(source)
    ours = imagenet_resnet(depth, input_shape=SHAPE, use_bias=True, include_top=False)
    load_imagenet_weights(ours, source_model=source)
    x = np.random.default_rng(1).normal(size=(1, *SHAPE)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(source(x)),
                               rtol=1e-4, atol=1e-4)
