"""ImageNet weight transfer (resnet_lib.pretrained), tested offline with random weights.

keras.applications.ResNet50(weights=None) is given random weights everywhere (BN moving
statistics included, so BN is not the identity) and copied into our imagenet_resnet(50,
use_bias=True); the two must compute the same function.
"""

import keras
import numpy as np
import pytest

from resnet_lib.models import imagenet_resnet
from resnet_lib.models import CaffePreprocessing
from resnet_lib.pretrained import has_caffe_preprocessing, imagenet_depth, load_imagenet_weights

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
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False, preprocessing="caffe")
    with pytest.raises(RuntimeError, match="needs the internet"):
        load_imagenet_weights(ours)


def test_transferred_model_on_unit_rgb_equals_keras_applications_on_preprocessed_input():
    """Ours on [0, 1] RGB == keras.applications on preprocess_input(255 x) (BGR, mean subtracted)."""
    keras.utils.set_random_seed(0)
    source = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    _randomize(source, seed=2)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False, preprocessing="caffe")
    assert has_caffe_preprocessing(ours)
    load_imagenet_weights(ours, source_model=source)
    x = np.random.default_rng(3).uniform(size=(2, *SHAPE)).astype("float32")
    x[0, ..., 0] = 1.0  # a red-heavy image: a missed RGB -> BGR swap changes the output
    prepared = keras.applications.resnet.preprocess_input(255.0 * x.copy())
    expected = keras.ops.convert_to_numpy(source(prepared, training=False))
    got = keras.ops.convert_to_numpy(ours(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # and the plain model on the same [0, 1] input is far from it: the layer does the work
    plain = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False)
    load_imagenet_weights(plain, source_model=source)
    assert np.abs(keras.ops.convert_to_numpy(plain(x, training=False)) - expected).max() > 1e-2 * np.abs(expected).max()


def test_caffe_preprocessing_matches_keras_applications_and_reloads(tmp_path):
    x = np.random.default_rng(4).uniform(size=(3, 5, 7, 3)).astype("float32")
    want = keras.applications.resnet.preprocess_input(255.0 * x.copy())
    inputs = keras.Input((5, 7, 3))
    model = keras.Model(inputs, CaffePreprocessing(name="caffe_preprocessing")(inputs))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), want, rtol=1e-6, atol=1e-4)
    path = tmp_path / "pre.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), want, rtol=1e-6, atol=1e-4)
    with pytest.raises(ValueError, match="expected RGB"):
        CaffePreprocessing()(np.zeros((1, 4, 4, 1), "float32"))


def test_imagenet_weights_need_the_preprocessing_layer(monkeypatch):
    def must_not_download(*args, **kwargs):
        raise AssertionError("the check must come before the download")

    monkeypatch.setattr(keras.applications, "ResNet50", must_not_download)
    ours = imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False)
    with pytest.raises(ValueError, match="preprocessing='caffe'"):
        load_imagenet_weights(ours)
    with pytest.raises(ValueError, match=r"preprocessing=None \(needs 'caffe'\)"):
        imagenet_resnet(50, input_shape=SHAPE, use_bias=True, include_top=False, weights="imagenet")
    with pytest.raises(ValueError, match="preprocessing='bgr'"):
        imagenet_resnet(50, input_shape=SHAPE, preprocessing="bgr")


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
