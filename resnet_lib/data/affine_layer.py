"""The VOC augmentation as a Keras layer, to run inside the model on the accelerator.

``make_dataset(augment=True)`` augments on the CPU inside ``tf.data``. This layer is the other
place it can run: the same random affine map (shift, shear, zoom, horizontal flip, with
the meaning of ``ImageDataGenerator``'s arguments, as ``voc.geometry.Augmentation`` states
them) applied to a batch of already resized images by ``keras.ops.image.affine_transform``,
so it runs wherever the model runs and on any Keras backend. Like Keras' own preprocessing
layers it acts only when called with ``training=True``. Feed it ``make_dataset(...,
augment=False)`` batches; ``benchmarks/gpu_training.py --augment`` measures its cost.

As in ``ImageDataGenerator.apply_affine_transform``, the map is one matrix per image: about the
image centre, input = shift . shear . zoom . output, the output mirrored first when flipped.
"""

from __future__ import annotations

import keras
from keras import ops

from .seeded_layer import SeededAugmentation
from .voc import geometry
from .voc.geometry import SEED_AUGMENTATION, Augmentation

INTERPOLATIONS = ("bilinear", "nearest")
FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def affine_coefficients(draws, height: int, width: int, augmentation: Augmentation):
    """``voc.geometry.affine_coefficients`` in ``keras.ops``: ``(B, 8)`` projective rows, output
    to input pixels, for ``(B, 6)`` uniform draws in [-1, 1)."""
    return geometry.affine_coefficients(draws, height, width, augmentation, ops=ops)


@keras.saving.register_keras_serializable(package="resnet_lib")
class AffineAugmentation(SeededAugmentation):
    """Random shift/shear/zoom/flip of a batch of images, only when ``training=True``.

    Defaults are ``SEED_AUGMENTATION``'s arguments (shift 0.1, shear 0.1 degrees,
    zoom 0.1 per axis, horizontal flip), black outside the image. ``interpolation`` and
    ``fill_mode`` are those of ``keras.ops.image.affine_transform``. Inputs are
    ``(B, H, W, C)`` images; the layer computes in float32 whatever the model's dtype policy.
    """

    def __init__(self, *, shift: float = SEED_AUGMENTATION.shift,
                 shear: float = SEED_AUGMENTATION.shear, zoom: float = SEED_AUGMENTATION.zoom,
                 horizontal_flip: bool = SEED_AUGMENTATION.horizontal_flip,
                 fill_mode: str = SEED_AUGMENTATION.fill_mode, interpolation: str = "bilinear",
                 seed: int | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode={fill_mode!r}; expected one of {FILL_MODES}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation={interpolation!r}; expected one of {INTERPOLATIONS}")
        for name, value in (("shift", shift), ("shear", shear), ("zoom", zoom)):
            if not value >= 0:
                raise ValueError(f"{name}={value!r}; expected a number >= 0")
        self.augmentation = Augmentation(shift=float(shift), shear=float(shear),
                                         zoom=float(zoom), horizontal_flip=bool(horizontal_flip),
                                         fill_mode=fill_mode)
        self.interpolation = interpolation

    def call(self, images, training=False):
        if not training:
            return images
        height, width = images.shape[1], images.shape[2]
        if height is None or width is None:
            raise ValueError(f"{self.name}: needs a static image size, got input shape "
                             f"{images.shape}")
        draws = keras.random.uniform((ops.shape(images)[0], 6), minval=-1.0, maxval=1.0,
                                     seed=self.seed_generator)
        transform = affine_coefficients(draws, height, width, self.augmentation)
        return ops.image.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.augmentation.fill_mode, fill_value=0.0,
                                          data_format="channels_last")

    def get_config(self):
        a = self.augmentation
        return {**super().get_config(), "shift": a.shift, "shear": a.shear, "zoom": a.zoom,
                "horizontal_flip": a.horizontal_flip, "fill_mode": a.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed}
