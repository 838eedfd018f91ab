"""Small-image datasets for Section 4.2 of He et al. 2015: CIFAR-10 and scikit-learn digits.

CIFAR-10 follows the paper's protocol (REFERENCE.md, "CIFAR recipe"): a 45k/5k train/val
split of the 50k training images (the test set is never used for selection), per-pixel mean
subtraction, and pad 4 + random 32x32 crop + horizontal flip for training. scikit-learn's
8x8 handwritten digits ship with scikit-learn, so ``load_digits`` always works offline; it is
upsampled and split once, with the same interface, so every chapter can run without a download.

Pixel scale: ``x`` arrays are float32 in [0, 1] (digits) or uint8 in [0, 255] (CIFAR-10,
4x smaller in memory); ``pixel_mean`` is always float32 in [0, 1], and ``make_image_dataset``
takes either.
"""

from __future__ import annotations

import dataclasses

import numpy as np

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"  # keras.datasets'


@dataclasses.dataclass
class ImageSplits:
    """Train / validation / test arrays of one dataset (x: N,H,W,C; y: int class indices)."""

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pixel_mean: np.ndarray  # (H, W, C) float32 in [0, 1], mean of the training images

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def _pixel_mean(x: np.ndarray) -> np.ndarray:
    scale = 1 / 255 if x.dtype == np.uint8 else 1.0
    return (x.astype(np.float64).mean(axis=0) * scale).astype(np.float32)


def _interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) linear interpolation with half-pixel centres (as image resize does)."""
    centres = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    centres = np.clip(centres, 0, n_in - 1)
    lo = np.floor(centres).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = centres - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


def _split_indices(y: np.ndarray, fractions: tuple[float, float], seed: int):
    """Stratified (train, val, test) indices: ``fractions`` are (val, test) shares."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val, n_test = (int(round(f * len(idx))) for f in fractions)
        parts[1].append(idx[:n_val])
        parts[2].append(idx[n_val:n_val + n_test])
        parts[0].append(idx[n_val + n_test:])
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def load_digits(*, image_size: int = 16, seed: int = 0, channels: int = 3) -> ImageSplits:
    """scikit-learn's 1,797 8x8 digits, bilinearly upsampled to ``image_size``, in [0, 1].

    A fixed stratified split from ``seed``: 70% train, 10% validation, 20% test. Grey
    levels are repeated over ``channels`` (3 by default, so CIFAR-10 models take them as is).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    if image_size < 8:
        raise ValueError(f"image_size={image_size}; expected at least 8 (the digits are 8x8)")
    digits = sklearn_digits()
    images = digits.images.astype(np.float64) / 16.0  # 0..16 grey levels
    m = _interpolation_matrix(8, image_size)
    x = np.einsum("ij,njk,lk->nil", m, images, m).astype(np.float32)
    x = np.repeat(x[..., None], channels, axis=-1)
    y = digits.target.astype(np.int64)
    train, val, test = _split_indices(y, (0.1, 0.2), seed)
    return ImageSplits("digits", tuple(str(d) for d in range(10)), x[train], y[train],
                       x[val], y[val], x[test], y[test], _pixel_mean(x[train]))


def load_cifar10(*, validation_size: int = 5000, seed: int = 0) -> ImageSplits:
    """CIFAR-10 from ``keras.datasets`` with a seeded 45k/5k train/val split, uint8 images.

    The first call downloads ~170 MB into ``~/.keras/datasets``; offline, it raises a
    ``ConnectionError`` that says so and points at ``load_digits``.
    """
    import keras

    try:
        (x, y), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as err:  # keras reports a failed fetch as a plain Exception
        raise ConnectionError(
            f"CIFAR-10 could not be loaded from {CIFAR10_URL} ({type(err).__name__}: {err}). "
            "Without a connection, put cifar-10-python.tar.gz in ~/.keras/datasets, or use "
            "load_digits(), which needs no download."
        ) from err
    y, y_test = y.reshape(-1).astype(np.int64), y_test.reshape(-1).astype(np.int64)
    if not 0 < validation_size < len(x):
        raise ValueError(f"validation_size={validation_size}; expected 1..{len(x) - 1}")
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(order[:validation_size]), np.sort(order[validation_size:])
    return ImageSplits("cifar10", CIFAR10_CLASSES, x[train], y[train], x[val], y[val],
                       x_test, y_test, _pixel_mean(x[train]))


def make_image_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    pixel_mean: np.ndarray,
    batch_size: int = 128,
    augment: bool = False,
    shuffle: bool = False,
    seed: int | None = None,
    pad: int = 4,
    drop_remainder: bool = False,
):
    """A ``tf.data.Dataset`` of (float32 mean-subtracted images, int32 labels) batches.

    ``augment`` is the paper's: pad ``pad`` zero pixels per side (after mean subtraction),
    random crop back to H x W, random horizontal flip. It is done batch-wise as one integer
    translation + mirror (``ImageProjectiveTransformV3``, nearest, zero fill), which is the
    same thing as pad-and-crop. With a ``seed``, shuffling and augmentation are reproducible.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    pixel_mean = np.asarray(pixel_mean, np.float32)
    if pixel_mean.shape != x.shape[1:]:
        raise ValueError(f"pixel_mean has shape {pixel_mean.shape}; expected {x.shape[1:]}")
    scale = 1 / 255 if x.dtype == np.uint8 else 1.0
    height, width = x.shape[1:3]
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def prepare(batch, seed_pair):
        images, labels = batch
        images = tf.cast(images, tf.float32) * scale - pixel_mean
        if augment:
            n = tf.shape(images)[0]
            shifts = tf.random.stateless_uniform([n, 2], seed=seed_pair, minval=-pad,
                                                 maxval=pad + 1, dtype=tf.int32)
            flips = tf.random.stateless_uniform([n], seed=seed_pair + 1, maxval=2,
                                                dtype=tf.int32)
            sign = tf.cast(1 - 2 * flips, tf.float32)  # -1 mirrors
            dx, dy = tf.cast(shifts[:, 0], tf.float32), tf.cast(shifts[:, 1], tf.float32)
            zeros = tf.zeros_like(sign)
            # output (x, y) reads input (sign * x + offset + dx, y + dy)
            transforms = tf.stack([sign, zeros, dx + tf.cast(flips, tf.float32) * (width - 1),
                                   zeros, zeros + 1, dy, zeros, zeros], axis=1)
            images = tf.raw_ops.ImageProjectiveTransformV3(
                images=images, transforms=transforms,
                output_shape=tf.constant([height, width], tf.int32), fill_value=0.0,
                interpolation="NEAREST", fill_mode="CONSTANT")
        return images, labels

    ds = tf.data.Dataset.zip(ds, seeds).map(tf.autograph.experimental.do_not_convert(prepare),
                                              num_parallel_calls=tf.data.AUTOTUNE,
                                              deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
