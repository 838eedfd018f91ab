"""AffineAugmentation: coefficients match the tf.data reference, identity/flip, training flag,
shapes and dtypes, seeding, serialization, argument checks."""

import dataclasses

import keras
import numpy as np
import pytest

from resnet_lib.data.affine_layer import AffineAugmentation, affine_coefficients
from resnet_lib.data.voc.geometry import SEED_AUGMENTATION, Augmentation

NONE = Augmentation(shift=0.0, shear=0.0, zoom=0.0, horizontal_flip=False)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def _reference_rows(u, in_h, in_w, out_h, out_w, aug):
    """An independent oracle: ImageDataGenerator's composition as 3x3 matrix products (output
    pixel -> resize -> mirror about the output width -> affine about the input centre)."""
    sx, sy = in_w / out_w, in_h / out_h
    resize = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    tx, ty = u[0] * aug.shift * in_w, u[1] * aug.shift * in_h
    s = np.deg2rad(u[2] * aug.shear)
    zx, zy = 1 + u[3] * aug.zoom, 1 + u[4] * aug.zoom
    cx, cy = (in_w - 1) / 2, (in_h - 1) / 2
    about_centre = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    linear = np.array([[zx * np.cos(s), 0, 0], [-zx * np.sin(s), zy, 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    matrix = shift @ about_centre @ linear @ np.linalg.inv(about_centre) @ resize
    if aug.horizontal_flip and u[5] > 0:
        matrix = matrix @ np.array([[-1, 0, out_w - 1], [0, 1, 0], [0, 0, 1]])
    return np.concatenate([matrix[:2].ravel(), [0, 0]])


@pytest.mark.parametrize("shear", [0.1, 15.0])
@pytest.mark.parametrize("flip", [False, True])
def test_coefficients_match_a_matrix_product_reference(shear, flip):
    aug = dataclasses.replace(SEED_AUGMENTATION, shear=shear, horizontal_flip=flip)
    h, w = 40, 56
    u = np.random.default_rng(3).uniform(-1, 1, (8, 6)).astype("float32")
    got = _np(affine_coefficients(u, h, w, aug))
    for i in range(len(u)):
        np.testing.assert_allclose(got[i], _reference_rows(u[i], h, w, h, w, aug), atol=1e-4,
                                   err_msg=f"row {i}")


@pytest.mark.tensorflow
@pytest.mark.parametrize("flip", [False, True])
def test_tf_data_transform_matches_the_reference_with_a_resize(flip):
    # the tf.data path composes the same rows with a resize from the JPEG's size
    tf = pytest.importorskip("tensorflow")
    from resnet_lib.data.voc.geometry import _draws, affine_transform

    aug = dataclasses.replace(SEED_AUGMENTATION, shear=15.0, horizontal_flip=flip)
    for i in range(6):
        seed = tf.constant([1, i], tf.int64)
        u = _draws(seed).numpy()
        got = affine_transform(375.0, 500.0, 224, 200, aug, seed).numpy()
        np.testing.assert_allclose(got, _reference_rows(u, 375, 500, 224, 200, aug), rtol=1e-4,
                                   atol=1e-3, err_msg=f"seed {i}")
    plain = affine_transform(375.0, 500.0, 224, 200, None, None).numpy()
    np.testing.assert_allclose(plain, _reference_rows(np.zeros(6), 375, 500, 224, 200,
                                                      dataclasses.replace(aug, horizontal_flip=False)),
                               atol=1e-5)


def test_whole_pixel_shift_coefficients():
    draws = np.zeros((3, 6), "float32")
    draws[:, 0], draws[:, 5] = 1.0, -0.5  # shift x by +shift * W, no flip
    aug = Augmentation(shift=0.1, shear=15.0, zoom=0.2, horizontal_flip=True)
    got = _np(affine_coefficients(draws, 30, 50, aug))
    np.testing.assert_allclose(got, np.tile([[1, 0, 5, 0, 1, 0, 0, 0]], (3, 1)), atol=1e-5)


def test_identity_when_no_augmentation():
    x = _images((2, 16, 20, 3))
    layer = AffineAugmentation(shift=0, shear=0, zoom=0, horizontal_flip=False, seed=1)
    np.testing.assert_allclose(_np(layer(x, training=True)), x, atol=1e-5)


def test_flip_only_mirrors_about_half_the_images():
    x = _images((64, 8, 10, 2))
    layer = AffineAugmentation(shift=0, shear=0, zoom=0, horizontal_flip=True, seed=2)
    y = _np(layer(x, training=True))
    same = np.all(np.isclose(y, x, atol=1e-5), axis=(1, 2, 3))
    mirrored = np.all(np.isclose(y, x[:, :, ::-1], atol=1e-5), axis=(1, 2, 3))
    assert np.all(same | mirrored)
    assert same.any() and mirrored.any()


def test_inference_returns_input():
    x = _images((2, 12, 12, 3))
    layer = AffineAugmentation(seed=0)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    np.testing.assert_array_equal(_np(layer(x)), x)


def test_shapes_in_model_and_mixed_precision():
    x = _images((2, 32, 32, 3))
    layer = AffineAugmentation(shear=10, seed=0)
    y = layer(x, training=True)
    assert tuple(y.shape) == x.shape and not np.allclose(_np(y), x)
    model = keras.Sequential([keras.Input((32, 32, 3)), AffineAugmentation(seed=0),
                              keras.layers.Conv2D(4, 3)])
    assert tuple(model(x, training=True).shape) == (2, 30, 30, 4)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = AffineAugmentation(seed=0)
        out = layer(x.astype("float32"), training=True)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_seeded_layers_reproduce_and_calls_differ():
    x = _images((4, 16, 16, 3))
    a, b = AffineAugmentation(shear=5, seed=7), AffineAugmentation(shear=5, seed=7)
    first = _np(a(x, training=True))
    np.testing.assert_array_equal(first, _np(b(x, training=True)))
    assert not np.allclose(first, _np(a(x, training=True)))


def test_config_round_trip_and_model_saving(tmp_path):
    layer = AffineAugmentation(shift=0.2, shear=3.0, zoom=0.05, horizontal_flip=False,
                               fill_mode="reflect", interpolation="nearest", seed=3)
    config = layer.get_config()
    assert AffineAugmentation.from_config(config).get_config() == config
    model = keras.Sequential([keras.Input((16, 16, 3)), layer, keras.layers.Conv2D(2, 3)])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    restored = loaded.layers[0]
    assert isinstance(restored, AffineAugmentation)
    assert restored.get_config() == config
    x = _images((2, 16, 16, 3))
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), atol=1e-5)


@pytest.mark.parametrize("kwargs, name", [
    ({"fill_mode": "bogus"}, "fill_mode"),
    ({"interpolation": "cubic"}, "interpolation"),
    ({"shift": -0.1}, "shift"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AffineAugmentation(**kwargs)


def test_dynamic_spatial_shape_is_rejected():
    """Symbolic build passes (compute_output_shape); a trace with unknown H, W must raise."""
    model = keras.Sequential([keras.Input((None, None, 3)), AffineAugmentation(seed=0)])
    assert tuple(model.output_shape) == (None, None, None, 3)
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only TensorFlow traces with unknown spatial sizes (jax.jit is static)")
    tf = pytest.importorskip("tensorflow")
    fn = tf.function(lambda t: model(t, training=True),
                     input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
    with pytest.raises(ValueError, match="static"):
        fn.get_concrete_function()
