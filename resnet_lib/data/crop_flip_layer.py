"""Section 4.2's preprocessing as Keras layers, to run inside the model on the accelerator.

He et al. 2015, Section 4.2: "The inputs are 32x32 images, with the per-pixel mean
subtracted ... 4 pixels are padded on each side, and a 32x32 crop is randomly sampled from
the padded image or its horizontal flip. For testing, we only evaluate the single view of
the original 32x32 image."

- ``PixelMeanSubtraction``: scale raw images to [0, 1] and subtract the training set's
  per-pixel mean, in training and at inference alike.
- ``PadCropFlip``: the random integer shift and mirror, only when called with
  ``training=True``; at inference it returns its input unchanged, the "single view of the
  original image". Keras' own ``ZeroPadding2D`` + ``RandomCrop`` does not do this: at
  inference ``RandomCrop`` passes the padded 40x40 image through (Keras 3.15), so a model
  built that way sees other images at test time than in training.

Both are registered serializables with ``get_config``; ``PadCropFlip`` saves the position of
its random stream with the weights, so a resumed run draws what an uninterrupted one would.
The NumPy twin for host-side pipelines is ``image_batches.pad_crop_flip``; both share its
definition of the output pixel.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .seeded_layer import SeededAugmentation

__all__ = ["PixelMeanSubtraction", "PadCropFlip"]


@keras.saving.register_keras_serializable(package="resnet_lib")
class PixelMeanSubtraction(keras.layers.Layer):
    """``images * scale - pixel_mean``: ``scale`` 1/255 for uint8 pixels, 1 for [0, 1] floats."""

    def __init__(self, pixel_mean, *, scale: float = 1 / 255, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.pixel_mean = np.asarray(pixel_mean, np.float32)
        if self.pixel_mean.ndim != 3:
            raise ValueError(f"pixel_mean has shape {self.pixel_mean.shape}; expected (H, W, C)")
        self.scale = float(scale)

    def call(self, images):
        images = ops.cast(images, "float32")
        return images * self.scale - ops.convert_to_tensor(self.pixel_mean)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pixel_mean": self.pixel_mean.tolist(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="resnet_lib")
class PadCropFlip(SeededAugmentation):
    """Random shift by up to ``pad`` pixels per axis (zeros fill) and horizontal flip, training only.

    One gather per batch: output pixel (i, j) of image b reads input (i + dy_b, j' + dx_b),
    j' = W - 1 - j when image b is flipped, with dx, dy uniform integers in [-pad, pad].
    """

    def __init__(self, *, pad: int = 4, horizontal_flip: bool = True, seed: int | None = None,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(seed=seed, **kwargs)
        if int(pad) != pad or pad < 0:
            raise ValueError(f"pad={pad!r}; expected a whole number >= 0")
        self.pad, self.horizontal_flip = int(pad), bool(horizontal_flip)

    def call(self, images, training=False):
        if not training:
            return images
        h, w, c = images.shape[1], images.shape[2], images.shape[3]
        if None in (h, w, c):
            raise ValueError(f"{self.name}: needs a static image size, got {images.shape}")
        p = self.pad
        b = ops.shape(images)[0]
        draws = keras.random.randint((b, 3), 0, 2 * p + 1, seed=self.seed_generator)
        dx, dy = draws[:, 0:1] - p, draws[:, 1:2] - p
        flip = (draws[:, 2:3] % 2 == 1) if self.horizontal_flip else ops.zeros_like(dx, "bool")
        j = ops.arange(w, dtype="int32")[None, :]
        cols = ops.where(flip, w - 1 - j, j) + dx + p  # (B, W) in the padded image
        rows = ops.arange(h, dtype="int32")[None, :] + dy + p  # (B, H)
        hp, wp = h + 2 * p, w + 2 * p
        base = ops.arange(b, dtype="int32")[:, None, None] * (hp * wp)
        flat = base + rows[:, :, None] * wp + cols[:, None, :]  # (B, H, W)
        padded = ops.pad(ops.cast(images, "float32"), [[0, 0], [p, p], [p, p], [0, 0]])
        out = ops.take(ops.reshape(padded, (-1, c)), ops.reshape(flat, (-1,)), axis=0)
        return ops.reshape(out, (b, h, w, c))

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "horizontal_flip": self.horizontal_flip,
                "seed": self.seed}
