"""Mini-batches of in-memory images for Keras, in NumPy: no TensorFlow needed (Section 4.2).

``ImageBatches`` is a ``keras.utils.PyDataset``: ``Model.fit``, ``evaluate`` and ``predict``
take it on every Keras backend. It holds the images once and builds each batch on request:

- the order: with ``shuffle``, one permutation drawn from ``seed``; batch ``i`` is always the
  same images, so a dataset is a pure function of its arguments (a training loop makes one
  per epoch from ``(seed, epoch)``, and a resumed run sees the batches an uninterrupted one
  saw);
- the preprocessing: scale uint8 to [0, 1] and subtract the per-pixel mean (Section 4.2:
  "the per-pixel mean subtracted");
- the augmentation of Section 4.2, "4 pixels are padded on each side, and a 32x32 crop is
  randomly sampled from the padded image or its horizontal flip": ``pad_crop_flip``, one
  integer shift in [-pad, pad] per axis and one coin per image, drawn from ``(seed, i)``,
  done for the whole batch by one gather (zeros where the shift leaves the image).

With ``preprocess=False`` batches are the raw images (uint8 stays uint8) and labels, for a
model that does mean subtraction and augmentation itself (``resnet_lib.data.crop_flip_layer``);
then ``on_device=True`` keeps the images on the accelerator (JAX backend) and gathers each
batch there, so only the indices cross from the host.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["ImageBatches", "pad_crop_flip", "draw_shifts"]


def draw_shifts(n: int, *, pad: int, rng: np.random.Generator):
    """(dx, dy, flip) for ``n`` images: shifts uniform in [-pad, pad], flips with p = 1/2."""
    dx = rng.integers(-pad, pad + 1, n)
    dy = rng.integers(-pad, pad + 1, n)
    flip = rng.integers(0, 2, n).astype(bool)
    return dx, dy, flip


def pad_crop_flip(images: np.ndarray, dx, dy, flip) -> np.ndarray:
    """Zero-pad, crop at offset (dx, dy) from the centre, then mirror where ``flip``: (B, H, W, C).

    Output pixel (i, j) of image b is input pixel (i + dy, j' + dx), j' = W - 1 - j when
    flipped, else j; zero outside the image. This equals padding ``max|shift|`` zeros per side
    and cropping H x W, as the paper describes it.
    """
    images = np.asarray(images)
    b, h, w = images.shape[:3]
    dx, dy, flip = (np.asarray(a).reshape(b, 1) for a in (dx, dy, flip))
    pad = int(max(np.abs(dx).max(initial=0), np.abs(dy).max(initial=0)))
    cols = np.where(flip, w - 1 - np.arange(w), np.arange(w)) + dx + pad  # (B, W)
    rows = np.arange(h) + dy + pad  # (B, H)
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else images
    return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


class ImageBatches(keras.utils.PyDataset):
    """(images, labels) batches of in-memory arrays; see the module docstring.

    x: (N, H, W, C) uint8 in [0, 255] or float in [0, 1]; y: (N,) integer classes.
    pixel_mean: (H, W, C) float32 in [0, 1], subtracted after scaling (``preprocess=True``).
    augment: pad-``pad`` crop and horizontal flip, drawn per batch from ``(seed, batch)``.
    shuffle: one permutation from ``seed`` (``seed=None``: a fresh random seed).
    drop_remainder: leave out the last, smaller batch. steps: at most this many batches.
    one_hot: labels as float32 one-hot vectors of this many classes (label smoothing).
    """

    def __init__(self, x, y, *, pixel_mean=None, batch_size: int = 128, augment: bool = False,
                 shuffle: bool = False, seed: int | None = None, pad: int = 4,
                 drop_remainder: bool = False, steps: int | None = None,
                 one_hot: int | None = None, preprocess: bool = True, on_device: bool = False):
        super().__init__(workers=1, use_multiprocessing=False)
        self.on_device = bool(on_device) and not preprocess and keras.backend.backend() == "jax"
        if not self.on_device:  # arrays already on the device stay there
            x = np.asarray(x)
        y = (y if self.on_device and not isinstance(y, (list, tuple)) else np.asarray(y)).reshape(-1)
        if x.ndim != 4:
            raise ValueError(f"x has shape {x.shape}; expected (N, H, W, C) images")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}; expected >= 1")
        if pad < 0:
            raise ValueError(f"pad={pad}; expected >= 0")
        if preprocess:
            if pixel_mean is None:
                raise ValueError("pixel_mean is required when preprocess=True")
            pixel_mean = np.asarray(pixel_mean, np.float32)
            if pixel_mean.shape != x.shape[1:]:
                raise ValueError(f"pixel_mean has shape {pixel_mean.shape}; expected {x.shape[1:]}")
        elif augment:
            raise ValueError("augment=True needs preprocess=True; without it, augment in the "
                             "model (resnet_lib.data.crop_flip_layer.PadCropFlip)")
        self.batch_size, self.augment, self.pad = int(batch_size), bool(augment), int(pad)
        self.preprocess, self.one_hot = bool(preprocess), one_hot
        self.pixel_mean = pixel_mean
        self.scale = np.float32(1 / 255) if x.dtype == np.uint8 else np.float32(1)
        self.seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else int(seed)
        self.order = (np.random.default_rng(self.seed).permutation(len(x)) if shuffle
                      else np.arange(len(x)))
        full, rest = divmod(len(x), self.batch_size)
        self.num_batches_total = full if drop_remainder or not rest else full + 1
        if steps is not None:
            self.num_batches_total = min(self.num_batches_total, int(steps))
        if self.on_device:
            import jax

            self.x, self.y = jax.device_put(x), jax.device_put(y.astype(np.int32))
        else:
            self.x, self.y = x, y.astype(np.int32)

    @property
    def num_batches(self) -> int:
        return self.num_batches_total

    def __len__(self) -> int:
        return self.num_batches_total

    def indices(self, index: int) -> np.ndarray:
        """The dataset positions of batch ``index``."""
        return self.order[index * self.batch_size:(index + 1) * self.batch_size]

    def __getitem__(self, index):
        if not 0 <= index < self.num_batches_total:
            raise IndexError(f"batch {index} of {self.num_batches_total}")
        idx = self.indices(index)
        if self.on_device:
            import jax.numpy as jnp

            idx = jnp.asarray(idx)
            return jnp.take(self.x, idx, axis=0), jnp.take(self.y, idx, axis=0)
        images, labels = self.x[idx], self.y[idx]
        if self.preprocess:
            images = images.astype(np.float32) * self.scale - self.pixel_mean
            if self.augment:
                rng = np.random.default_rng([self.seed, index])
                images = pad_crop_flip(images, *draw_shifts(len(idx), pad=self.pad, rng=rng))
        if self.one_hot:
            labels = np.eye(self.one_hot, dtype=np.float32)[labels]
        return images, labels

    def as_tf_dataset(self):
        """The same batches as a ``tf.data.Dataset`` (TensorFlow backend): each batch is still
        made by ``__getitem__``, in NumPy, but in tf.data's threads and ahead of the training
        step, which Keras' own PyDataset adapter does not do (benchmarks/small_image_epoch.md)."""
        import tensorflow as tf

        x0, y0 = self[0]
        specs = (tf.TensorSpec((None, *x0.shape[1:]), tf.as_dtype(x0.dtype)),
                 tf.TensorSpec((None, *y0.shape[1:]), tf.as_dtype(y0.dtype)))

        def batch(index):
            return self[int(index)]

        def load(index):
            x, y = tf.numpy_function(batch, [index], (specs[0].dtype, specs[1].dtype))
            return tf.ensure_shape(x, specs[0].shape), tf.ensure_shape(y, specs[1].shape)

        ds = tf.data.Dataset.range(len(self)).map(load, num_parallel_calls=tf.data.AUTOTUNE,
                                                  deterministic=True)
        options = tf.data.Options()
        # tf.data's autotuning thread can hold up the iterator's teardown by ~1 s an epoch
        options.autotune.enabled = False
        return ds.prefetch(tf.data.AUTOTUNE).with_options(options)

    def take(self, steps: int) -> "ImageBatches":
        """The first ``steps`` batches (like ``tf.data.Dataset.take``)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.num_batches_total = min(self.num_batches_total, int(steps))
        return other

    def __repr__(self) -> str:
        return (f"ImageBatches({len(self.order)} images, {self.num_batches_total} batches of "
                f"{self.batch_size}, augment={self.augment}, seed={self.seed})")

