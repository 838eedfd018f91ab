"""Digits and CIFAR-10 loaders and make_image_dataset (Section 4.2 augmentation)."""

import numpy as np
import pytest

from resnet_lib.data import small_images
from resnet_lib.data.small_images import load_cifar10, load_digits, make_image_dataset


def test_digits_split_is_fixed_disjoint_and_upsampled():
    from sklearn.datasets import load_digits as sk

    a, b = load_digits(image_size=16), load_digits(image_size=16)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape[1:] == a.input_shape == (16, 16, 3) and a.x_train.dtype == np.float32
    n = len(a.y_train) + len(a.y_val) + len(a.y_test)
    assert n == 1797 and len(a.y_test) > len(a.y_val) > 0
    assert set(np.unique(a.y_val)) == set(range(10))
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    np.testing.assert_allclose(a.pixel_mean, a.x_train.mean(0), atol=1e-6)
    # every image is an sklearn digit upsampled as PIL's bilinear resize does it
    from PIL import Image

    raw = sk().images.astype(np.float32) / 16.0
    ref = np.stack([np.asarray(Image.fromarray(d, "F").resize((16, 16), Image.BILINEAR))
                    for d in raw])
    matches = [np.abs(ref - d).reshape(len(ref), -1).max(1).min() for d in a.x_test[:20, ..., 0]]
    assert max(matches) < 1e-5
    x32 = load_digits(image_size=32, channels=1)
    assert x32.x_train.shape[1:] == (32, 32, 1)
    with pytest.raises(ValueError, match="image_size"):
        load_digits(image_size=4)


def test_cifar10_offline_error_is_clear(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/: no network")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(ConnectionError, match="load_digits"):
        load_cifar10()


def test_cifar10_split_protocol(monkeypatch):
    """45k/5k of the 50k training images; the test set stays untouched (fake data)."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (500, 32, 32, 3), np.uint8)
    y = rng.integers(0, 10, (500, 1), np.uint8)
    xt, yt = x[:100].copy(), y[:100].copy()
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((x, y), (xt, yt)))
    s = load_cifar10(validation_size=50, seed=1)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (450, 50, 100)
    assert s.x_train.dtype == np.uint8 and s.y_train.ndim == 1
    both = np.concatenate([s.x_train, s.x_val]).reshape(500, -1)
    assert len(np.unique(both, axis=0)) == 500  # disjoint and complete
    np.testing.assert_array_equal(s.x_test, xt)
    np.testing.assert_allclose(s.pixel_mean, s.x_train.mean(0) / 255, atol=1e-6)
    assert load_cifar10(validation_size=50, seed=1).y_val.tolist() == s.y_val.tolist()


def _reference_pad_crop_flip(image, dx, dy, flip, pad=4):
    """The paper's augmentation written the obvious way, to check the fused transform."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))
    crop = padded[pad + dy:pad + dy + h, pad + dx:pad + dx + w]
    return crop[:, ::-1] if flip else crop


def test_make_image_dataset_mean_subtraction_and_augmentation():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (10, 8, 8, 3), np.uint8)
    y = np.arange(10)
    mean = x.mean(0).astype(np.float32) / 255
    plain = make_image_dataset(x, y, pixel_mean=mean, batch_size=4)
    images = np.concatenate([b[0].numpy() for b in plain])
    labels = np.concatenate([b[1].numpy() for b in plain])
    np.testing.assert_allclose(images, x / 255 - mean, atol=1e-6)
    assert labels.tolist() == list(range(10)) and images.dtype == np.float32
    aug = make_image_dataset(x, y, pixel_mean=mean, batch_size=10, augment=True, seed=3, pad=2)
    (first,) = [b[0].numpy() for b in aug]
    again = [b[0].numpy() for b in make_image_dataset(x, y, pixel_mean=mean, batch_size=10,
                                                      augment=True, seed=3, pad=2)][0]
    np.testing.assert_array_equal(first, again)
    base = x / 255 - mean
    for i in range(10):  # each output is one of the pad-2 crops, possibly mirrored
        candidates = [_reference_pad_crop_flip(base[i], dx, dy, f, pad=2)
                      for dx in range(-2, 3) for dy in range(-2, 3) for f in (0, 1)]
        assert min(np.abs(c - first[i]).max() for c in candidates) < 1e-6
    assert not np.allclose(first, base)
    with pytest.raises(ValueError, match="pixel_mean"):
        make_image_dataset(x, y, pixel_mean=mean[:4])
    assert small_images.CIFAR10_CLASSES[0] == "airplane"
