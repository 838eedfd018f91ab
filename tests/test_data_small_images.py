"""Digits and CIFAR-10 loaders and make_image_dataset (Section 4.2 augmentation)."""

import numpy as np
import pytest

from resnet_lib.data import small_images
from resnet_lib.data.image_batches import ImageBatches, draw_shifts, pad_crop_flip
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


def test_cifar10_split_protocol(monkeypatch):
    """45k/5k of the 50k training images; the test set stays untouched (fake data)."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (500, 32, 32, 3), np.uint8)
    y = rng.integers(0, 10, (500, 1), np.uint8)
    xt, yt = x[:100].copy(), y[:100].copy()
    monkeypatch.delenv("RESNET_CIFAR10", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((x, y), (xt, yt)))
    s = load_cifar10(validation_size=50, seed=1)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (450, 50, 100)
    assert s.x_train.dtype == np.uint8 and s.y_train.ndim == 1
    both = np.concatenate([s.x_train, s.x_val]).reshape(500, -1)
    assert len(np.unique(both, axis=0)) == 500  # disjoint and complete
    np.testing.assert_array_equal(s.x_test, xt)
    np.testing.assert_allclose(s.pixel_mean, s.x_train.mean(0) / 255, atol=1e-6)
    assert load_cifar10(validation_size=50, seed=1).y_val.tolist() == s.y_val.tolist()
    assert s.provenance["source"] == "keras.datasets.cifar10"


def _reference_pad_crop_flip(image, dx, dy, flip, pad=4):
    """The paper's augmentation written the obvious way, to check the fused transform."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))
    crop = padded[pad + dy:pad + dy + h, pad + dx:pad + dx + w]
    return crop[:, ::-1] if flip else crop


def test_make_image_dataset_mean_subtraction_and_augmentation():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (10, 8, 8, 3), np.uint8)
    y = np.arange(10)
    mean = x.mean(0).astype(np.float32) / 255
    plain = make_image_dataset(x, y, pixel_mean=mean, batch_size=4)
    assert len(plain) == 3 and [len(b[1]) for b in plain] == [4, 4, 2]
    images = np.concatenate([b[0] for b in plain])
    labels = np.concatenate([b[1] for b in plain])
    np.testing.assert_allclose(images, x / 255 - mean, atol=1e-6)
    assert labels.tolist() == list(range(10)) and images.dtype == np.float32
    aug = make_image_dataset(x, y, pixel_mean=mean, batch_size=10, augment=True, seed=3, pad=2)
    first = aug[0][0]
    again = make_image_dataset(x, y, pixel_mean=mean, batch_size=10, augment=True, seed=3, pad=2)
    np.testing.assert_array_equal(first, again[0][0])  # a function of the seed
    other = make_image_dataset(x, y, pixel_mean=mean, batch_size=10, augment=True, seed=4, pad=2)
    assert not np.array_equal(first, other[0][0])
    base = x / 255 - mean
    for i in range(10):  # each output is one of the pad-2 crops, possibly mirrored
        candidates = [_reference_pad_crop_flip(base[i], dx, dy, f, pad=2)
                      for dx in range(-2, 3) for dy in range(-2, 3) for f in (0, 1)]
        assert min(np.abs(c - first[i]).max() for c in candidates) < 1e-6
    assert not np.allclose(first, base)
    with pytest.raises(ValueError, match="pixel_mean"):
        make_image_dataset(x, y, pixel_mean=mean[:4])
    with pytest.raises(ValueError, match="10 images but y has 9"):
        make_image_dataset(x, y[:9], pixel_mean=mean)
    assert small_images.CIFAR10_CLASSES[0] == "airplane"


def test_pad_crop_flip_equals_the_reference_for_every_shift_and_flip():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(2, 6, 7, 3)).astype(np.float32)
    for dx in range(-4, 5):
        for dy in range(-4, 5):
            for flip in (False, True):
                out = pad_crop_flip(images, [dx, dx], [dy, dy], [flip, flip])
                for b in range(2):
                    np.testing.assert_array_equal(
                        out[b], _reference_pad_crop_flip(images[b], dx, dy, flip, pad=4))


def test_augmented_batches_show_both_flips_and_both_shift_signs():
    """Read back, from the images themselves, which crop and flip each one got."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (200, 8, 8, 3), np.uint8)
    mean = np.zeros((8, 8, 3), np.float32)
    out = make_image_dataset(x, np.arange(200), pixel_mean=mean, batch_size=200, augment=True,
                             seed=0, pad=2)[0][0]
    base = x / 255
    seen = []
    for i in range(200):
        matches = [(dx, dy, f) for dx in range(-2, 3) for dy in range(-2, 3) for f in (0, 1)
                   if np.abs(_reference_pad_crop_flip(base[i], dx, dy, f, pad=2) - out[i]).max() < 1e-6]
        assert len(matches) == 1, f"image {i}: {len(matches)} crops match"
        seen.append(matches[0])
    dx, dy, flip = (np.array(v) for v in zip(*seen))
    assert set(flip) == {0, 1} and 0.3 < flip.mean() < 0.7
    for shifts in (dx, dy):
        assert (shifts < 0).any() and (shifts > 0).any() and (shifts == 0).any()


def test_augmentation_draws_both_flips_and_both_shift_signs():
    dx, dy, flip = draw_shifts(4000, pad=4, rng=np.random.default_rng(0))
    for shifts in (dx, dy):
        assert set(np.unique(shifts)) == set(range(-4, 5))  # every shift, both signs, and 0
        assert abs(shifts.mean()) < 0.15
    assert 0.45 < flip.mean() < 0.55


def test_shuffled_order_is_a_function_of_the_seed_and_covers_every_image():
    x = np.arange(50, dtype=np.float32).reshape(50, 1, 1, 1).repeat(3, axis=-1)
    y = np.arange(50)
    mean = np.zeros((1, 1, 3), np.float32)
    a = make_image_dataset(x, y, pixel_mean=mean, batch_size=8, shuffle=True, seed=5)
    b = make_image_dataset(x, y, pixel_mean=mean, batch_size=8, shuffle=True, seed=5)
    c = make_image_dataset(x, y, pixel_mean=mean, batch_size=8, shuffle=True, seed=6)
    order = np.concatenate([a[i][1] for i in range(len(a))])
    assert sorted(order.tolist()) == list(range(50))  # nothing dropped or repeated
    assert order.tolist() == np.concatenate([b[i][1] for i in range(len(b))]).tolist()
    assert order.tolist() != np.concatenate([c[i][1] for i in range(len(c))]).tolist()
    np.testing.assert_array_equal(np.concatenate([a[i][0] for i in range(len(a))])[:, 0, 0, 0], order)
    # in any order of access, batch i is the same (Keras may read batch 0 first to see shapes)
    np.testing.assert_array_equal(a[3][1], b[3][1])
    dropped = make_image_dataset(x, y, pixel_mean=mean, batch_size=8, drop_remainder=True)
    assert len(dropped) == 6 and len(make_image_dataset(x, y, pixel_mean=mean, batch_size=8, steps=2)) == 2
    hot = make_image_dataset(x[:3], np.array([0, 2, 1]), pixel_mean=mean, one_hot=3)
    np.testing.assert_array_equal(hot[0][1], np.eye(3)[[0, 2, 1]])
    assert len(a.take(2)) == 2 and len(a) == 7
    with pytest.raises(IndexError):
        a[7]


def test_raw_batches_on_the_device_equal_host_batches():
    import keras

    x = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 3), np.uint8)
    y = np.arange(20)
    host = ImageBatches(x, y, batch_size=6, shuffle=True, seed=2, preprocess=False)
    device = ImageBatches(x, y, batch_size=6, shuffle=True, seed=2, preprocess=False, on_device=True)
    assert device.on_device == (keras.backend.backend() == "jax")
    for i in range(len(host)):
        for h, d in zip(host[i], device[i]):
            np.testing.assert_array_equal(h, np.asarray(d))
    assert host[0][0].dtype == np.uint8
    with pytest.raises(ValueError, match="augment in the model"):
        ImageBatches(x, y, preprocess=False, augment=True)


@pytest.mark.tensorflow
def test_the_tf_data_transport_yields_the_same_batches():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (21, 8, 8, 3), np.uint8)
    mean = (x.mean(0) / 255).astype(np.float32)
    batches = make_image_dataset(x, np.arange(21), pixel_mean=mean, batch_size=8, augment=True,
                                 shuffle=True, seed=4, one_hot=21)
    through = list(batches.as_tf_dataset())
    assert len(through) == len(batches) == 3
    for i, (images, labels) in enumerate(through):
        np.testing.assert_array_equal(images.numpy(), batches[i][0])
        np.testing.assert_array_equal(labels.numpy(), batches[i][1])
    assert isinstance(through[0][0], tf.Tensor)
