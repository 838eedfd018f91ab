"""Small-image datasets for Section 4.2 of He et al. 2015: CIFAR-10 and scikit-learn digits.

CIFAR-10 follows the paper's protocol (Section 4.2): a 45k/5k train/val split of the 50k
training images (the test set is never used for selection), per-pixel mean subtraction, and
pad 4 + random 32x32 crop + horizontal flip for training. It is read from a local copy
(``resnet_lib.data.cifar10``: the official archive, its folder, or an image tree), or
downloaded by ``keras.datasets``. scikit-learn's 8x8 handwritten digits ship with
scikit-learn, so ``load_digits`` always works offline; it is upsampled and split once, with
the same interface, so every chapter can run without a download.

Pixel scale: ``x`` arrays are float32 in [0, 1] (digits) or uint8 in [0, 255] (CIFAR-10,
4x smaller in memory); ``pixel_mean`` is always float32 in [0, 1], and ``make_image_dataset``
takes either. Batches come from ``image_batches.ImageBatches``, NumPy only: training on these
datasets needs Keras and one backend, not TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from .cifar10 import CIFAR10_ARCHIVE, CIFAR10_CLASSES, CIFAR10_SHA256, CIFAR10_URL, read_cifar10
from .image_batches import ImageBatches

CIFAR10_ENV = "RESNET_CIFAR10"  # a local copy of CIFAR-10, used when load_cifar10 gets no source


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
    provenance: dict = dataclasses.field(default_factory=dict)  # where the images came from

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


def load_cifar10(*, source=None, validation_size: int = 5000, seed: int = 0) -> ImageSplits:
    """CIFAR-10 with a seeded 45k/5k train/val split of the training images, uint8 images.

    source: a local copy, in any form ``resnet_lib.data.cifar10.read_cifar10`` reads: the
        official ``cifar-10-python.tar.gz`` (SHA-256 checked), its ``cifar-10-batches-py``
        folder, or an image tree ``train/<class>/*``, ``test/<class>/*`` (or a .tar.gz of
        one). ``None``: ``$RESNET_CIFAR10`` if set, else ``keras.datasets.cifar10`` (a ~170 MB
        download on first use, into ``~/.keras/datasets``), which raises a
        ``ConnectionError`` saying what to do when offline.
    The test set is the 10,000 test images, never split; ``provenance`` records the source.
    """
    source = source if source is not None else os.environ.get(CIFAR10_ENV) or None
    if source is not None:
        arrays = _read_once(source)
        x, y, x_test, y_test = arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test
        provenance = arrays.provenance()
    else:
        x, y, x_test, y_test = _download_cifar10()
        provenance = {"dataset": "cifar10", "source": "keras.datasets.cifar10",
                      "form": "official-archive", "sha256": CIFAR10_SHA256,
                      "train_images": len(x), "test_images": len(x_test), "dropped": []}
    if not 0 < validation_size < len(x):
        raise ValueError(f"validation_size={validation_size}; expected 1..{len(x) - 1}")
    # in the drawn order, not sorted: an image tree is read class by class, and a prefix of
    # a sorted split would hold one class
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:validation_size], order[validation_size:]
    return ImageSplits("cifar10", CIFAR10_CLASSES, x[train], y[train], x[val], y[val],
                       x_test, y_test, _pixel_mean(x[train]), provenance)


_LAST_READ: dict = {}  # one decoded copy per process: (path, size, mtime) -> CIFAR10Arrays


def _read_once(source):
    """``read_cifar10(source)``, decoded once per process while the file or folder is unchanged
    (decoding 60,000 images takes seconds; a chapter or a test suite loads it several times)."""
    path = os.path.abspath(os.path.expanduser(str(source)))
    stat = os.stat(path) if os.path.exists(path) else None
    key = (path, stat.st_size, stat.st_mtime_ns) if stat and os.path.isfile(path) else None
    if key is not None and key in _LAST_READ:
        return _LAST_READ[key]
    arrays = read_cifar10(source)
    if key is not None:
        _LAST_READ.clear()
        _LAST_READ[key] = arrays
    return arrays


def _download_cifar10():
    import keras

    try:
        (x, y), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as err:  # keras reports a failed fetch as a plain Exception
        raise ConnectionError(
            f"CIFAR-10 could not be downloaded from {CIFAR10_URL} by keras.datasets "
            f"({type(err).__name__}: {err}). Offline, get {CIFAR10_ARCHIVE} (SHA-256 "
            f"{CIFAR10_SHA256}) another way and pass its path: load_cifar10(source=PATH), "
            f"the environment variable {CIFAR10_ENV}=PATH, or --data-source PATH on the "
            f"command line. PATH may also be the extracted cifar-10-batches-py folder or an "
            f"image tree train/<class>/*.png, test/<class>/*.png. load_digits() needs no "
            f"download at all."
        ) from err
    return (x, y.reshape(-1).astype(np.int64), x_test, y_test.reshape(-1).astype(np.int64))


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
    steps: int | None = None,
    one_hot: int | None = None,
) -> ImageBatches:
    """(float32 mean-subtracted images, int32 labels) batches: an ``ImageBatches`` (NumPy).

    ``augment`` is the paper's: pad ``pad`` zero pixels per side (after mean subtraction),
    random crop back to H x W, random horizontal flip (``image_batches.pad_crop_flip``). With
    a ``seed``, shuffling and augmentation are reproducible: the same arguments give the
    same batches. ``steps`` caps the batches; ``one_hot`` gives one-hot labels.
    """
    return ImageBatches(x, y, pixel_mean=pixel_mean, batch_size=batch_size, augment=augment,
                        shuffle=shuffle, seed=seed, pad=pad, drop_remainder=drop_remainder,
                        steps=steps, one_hot=one_hot)
