"""PixelMeanSubtraction and PadCropFlip: Section 4.2's preprocessing inside the model."""

import keras
import numpy as np
import pytest

from resnet_lib.data.crop_flip_layer import PadCropFlip, PixelMeanSubtraction
from resnet_lib.data.image_batches import pad_crop_flip


def _candidates(image, pad):
    """Every pad-``pad`` crop of ``image``, mirrored or not (the NumPy reference)."""
    out = []
    for dx in range(-pad, pad + 1):
        for dy in range(-pad, pad + 1):
            for flip in (False, True):
                out.append(((dx, dy, flip), pad_crop_flip(image[None], [dx], [dy], [flip])[0]))
    return out


def test_pixel_mean_subtraction():
    x = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 3), np.uint8)
    mean = (x.mean(0) / 255).astype(np.float32)
    layer = PixelMeanSubtraction(mean)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), x / 255 - mean, atol=1e-6)
    with pytest.raises(ValueError, match="pixel_mean"):
        PixelMeanSubtraction(mean[0])


def test_pad_crop_flip_is_the_identity_at_inference_and_a_shift_in_training():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(64, 8, 8, 3)).astype(np.float32)
    layer = PadCropFlip(pad=2, seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images)), images)
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    assert out.shape == images.shape
    drawn = []
    for i in range(64):  # each output is exactly one of the crops, possibly mirrored
        matches = [draw for draw, c in _candidates(images[i], 2) if np.array_equal(c, out[i])]
        assert len(matches) == 1, i
        drawn.append(matches[0])
    dx, dy, flip = (np.array(v) for v in zip(*drawn))
    assert {-2, 2} <= set(dx) and {-2, 2} <= set(dy)  # both signs of shift
    assert 0 < flip.sum() < 64  # both directions
    again = keras.ops.convert_to_numpy(layer(images, training=True))
    assert not np.array_equal(out, again)  # the stream moves on


def test_in_a_model_it_saves_reloads_and_keeps_its_stream(tmp_path):
    inputs = keras.Input((8, 8, 3), dtype="uint8")
    x = PixelMeanSubtraction(np.full((8, 8, 3), 0.5, np.float32))(inputs)
    x = PadCropFlip(pad=4, seed=3, name="augmentation")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    images = np.random.default_rng(1).integers(0, 256, (16, 8, 8, 3), np.uint8)
    np.testing.assert_allclose(model.predict(images, verbose=0),
                               (images / 255 - 0.5).mean(axis=(1, 2)), atol=1e-5)
    model(images, training=True)  # advance the stream
    model.save(tmp_path / "m.keras")
    after_save = keras.ops.convert_to_numpy(model(images, training=True))
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(images, training=True)),
                                  after_save)
    assert loaded.get_layer("augmentation").get_config()["pad"] == 4
    with pytest.raises(ValueError, match="pad"):
        PadCropFlip(pad=-1)
