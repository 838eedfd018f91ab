"""The datasets a run trains on, behind one interface: train(epoch), val(), test().

Wraps ``resnet_lib.data`` (which owns loading and augmentation) for the training loop:

- "digits" (scikit-learn 8x8 digits resized, offline) and "cifar10" (Section 4.2's 45k/5k/10k
  split): single-label, in-memory ``ImageSplits`` or any ``ImageSplits`` passed directly.
- "voc2012" and "synthetic-voc": Pascal VOC classification, multi-label by default. VOC's test
  labels are not public, so the official ``val`` split is the test set here and the run holds
  out 10% of ``train`` for validation (checkpoint selection); see ``voc_source``. Images come
  in [0, 1] without mean subtraction (the first BN normalizes).

Each epoch's training order is drawn from ``(seed, epoch)`` alone, so a resumed run sees the
same mini-batches as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable

__all__ = ["DataSource", "load_source", "DATA_NAMES"]

DATA_NAMES = ("digits", "cifar10", "voc2012", "synthetic-voc")


@dataclasses.dataclass
class DataSource:
    """A dataset as the training loop sees it. Datasets yield (images, labels) batches."""

    name: str
    num_classes: int
    input_shape: tuple
    multi_label: bool
    steps_per_epoch: int
    train: Callable[[int], object]  # epoch (0-based) -> dataset, shuffled from (seed, epoch)
    val: Callable[[], object]
    test: Callable[[], object] | None  # None where no labelled test set exists


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling/augmentation seed of one epoch: a function of (seed, epoch) only."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


def _finish(ds, *, one_hot: int | None, steps: int | None):
    """Optional one-hot labels (for label smoothing) and a cap on the steps."""
    import tensorflow as tf

    if one_hot:
        ds = ds.map(lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), one_hot)))
    if steps:
        ds = ds.take(steps)
    return ds.prefetch(tf.data.AUTOTUNE)


def from_image_splits(splits, *, batch_size, seed, augment, limit=None, steps_per_epoch=None,
                      one_hot=False, even_batches=False) -> DataSource:
    """A single-label source from a ``resnet_lib.data.small_images.ImageSplits``."""
    from resnet_lib.data.small_images import make_image_dataset

    def part(x, y):
        return (x[:limit], y[:limit]) if limit else (x, y)

    x_train, y_train = part(splits.x_train, splits.y_train)
    x_val, y_val = part(splits.x_val, splits.y_val)
    x_test, y_test = (None, None)
    if getattr(splits, "x_test", None) is not None:
        x_test, y_test = part(splits.x_test, splits.y_test)
    num_classes = len(splits.class_names)
    n_steps = len(x_train) // batch_size if even_batches else math.ceil(len(x_train) / batch_size)
    if n_steps < 1:
        raise ValueError(
            f"data {splits.name!r}: {len(x_train)} training images give no full batch of {batch_size}"
        )
    steps = min(n_steps, steps_per_epoch) if steps_per_epoch else n_steps
    hot = num_classes if one_hot else None

    def train(epoch):
        ds = make_image_dataset(
            x_train, y_train, pixel_mean=splits.pixel_mean, batch_size=batch_size,
            augment=augment, shuffle=True, seed=epoch_seed(seed, epoch), drop_remainder=even_batches,
        )
        return _finish(ds, one_hot=hot, steps=steps)

    def evaluation(x, y):
        ds = make_image_dataset(x, y, pixel_mean=splits.pixel_mean, batch_size=batch_size,
                                augment=False, shuffle=False, drop_remainder=even_batches)
        return _finish(ds, one_hot=hot, steps=None)

    return DataSource(
        name=splits.name,
        num_classes=num_classes,
        input_shape=tuple(x_train.shape[1:]),
        multi_label=False,
        steps_per_epoch=steps,
        train=train,
        val=lambda: evaluation(x_val, y_val),
        test=(lambda: evaluation(x_test, y_test)) if x_test is not None else None,
    )


def voc_source(root, *, image_size, batch_size, seed, augment, label_mode="multi", limit=None,
               steps_per_epoch=None, one_hot=False, even_batches=False, holdout=0.1,
               cache=True) -> DataSource:
    """A VOC source from a VOCdevkit root (real or synthetic), per ``resnet_lib.data.voc``.

    VOC2012's test labels are not public, so: training images are the official ``train`` split
    minus a seeded ``holdout`` fraction ("minival", for choosing the best checkpoint), and the
    official ``val`` split is the test set (the number to report). Multi-label validation and
    test batches carry the devkit's difficult mask, which the mAP uses. With ``cache`` (the
    default) each JPEG is decoded once, into one ``voc.DecodedImages`` store shared by every
    epoch's dataset (H x W x 3 bytes per image: 1.7 GB for VOC2012 at 224 x 224).
    """
    from resnet_lib.data import voc

    num_classes = len(voc.VOC_CLASSES)
    hot = num_classes if (one_hot and label_mode == "single") else None
    parts = voc.random_split(voc.read_split(root, "train"), fractions=(1 - holdout, holdout),
                             names=("train", "minival"), seed=0)
    test_records = voc.read_split(root, "val")
    if limit:
        parts = {k: v[:limit] for k, v in parts.items()}
        test_records = test_records[:limit]
    n_train = len(parts["train"])
    n_steps = n_train // batch_size if even_batches else math.ceil(n_train / batch_size)
    if n_steps < 1:
        raise ValueError(f"{root}: {n_train} training images give no full batch of {batch_size}")
    steps = min(n_steps, steps_per_epoch) if steps_per_epoch else n_steps
    with_mask = label_mode == "multi"
    store = voc.DecodedImages() if cache else False

    def train(epoch):
        ds = voc.make_dataset(root, parts["train"], image_size=image_size, batch_size=batch_size,
                              label_mode=label_mode, augment=augment, shuffle=True,
                              seed=epoch_seed(seed, epoch), drop_remainder=even_batches,
                              cache=store)
        return _finish(ds, one_hot=hot, steps=steps)

    def evaluation(records):
        ds = voc.make_dataset(root, records, image_size=image_size, batch_size=batch_size,
                              label_mode=label_mode, augment=False, shuffle=False,
                              with_mask=with_mask, drop_remainder=even_batches, cache=store)
        return _finish(ds, one_hot=hot, steps=None)

    return DataSource(
        name="voc",
        num_classes=num_classes,
        input_shape=(image_size, image_size, 3),
        multi_label=with_mask,
        steps_per_epoch=steps,
        train=train,
        val=lambda: evaluation(parts["minival"]),
        test=lambda: evaluation(test_records),
    )


def synthetic_voc_root(data_dir, num_images: int) -> Path:
    """Where "synthetic-voc" with ``num_images`` images lives under ``data_dir``.

    One tree per size: ``make_synthetic_voc`` refuses to rewrite a tree with other arguments.
    """
    return Path(data_dir) / f"synthetic_voc_{int(num_images)}"


def load_source(data, *, batch_size, seed, image_size=None, limit=None, steps_per_epoch=None,
                augment=None, one_hot=False, even_batches=False, data_dir=None,
                label_mode="multi", synthetic_images=200) -> DataSource:
    """Open ``data`` (a name in ``DATA_NAMES`` or an ``ImageSplits``) for training.

    augment None takes each dataset's standard choice: CIFAR-10 pad-crop-flip (Section 4.2),
    none for digits (a flipped digit is another symbol), the VOC pipeline's for VOC.
    """
    common = dict(batch_size=batch_size, seed=seed, limit=limit, steps_per_epoch=steps_per_epoch,
                  one_hot=one_hot, even_batches=even_batches)
    if not isinstance(data, str):
        return from_image_splits(data, augment=bool(augment), **common)
    if data == "digits":
        from resnet_lib.data.small_images import load_digits

        return from_image_splits(load_digits(image_size=image_size or 16, seed=0),
                                 augment=bool(augment), **common)
    if data == "cifar10":
        from resnet_lib.data.small_images import load_cifar10

        if image_size not in (None, 32):
            raise ValueError(f"data='cifar10' has 32x32 images; image_size={image_size} is not supported")
        return from_image_splits(load_cifar10(seed=0), augment=True if augment is None else augment, **common)
    if data in ("voc2012", "synthetic-voc"):
        root = Path(data_dir or "data_cache")
        if data == "voc2012":
            from resnet_lib.data.voc import download_voc2012

            root = Path(download_voc2012(root))
        else:
            from resnet_lib.data.synthetic_voc import make_synthetic_voc

            root = Path(make_synthetic_voc(synthetic_voc_root(root, synthetic_images),
                                           num_images=int(synthetic_images), seed=0))
        return voc_source(root, image_size=image_size or (224 if data == "voc2012" else 64), augment=True if augment is None else augment,
                          label_mode=label_mode, **common)
    raise ValueError(f"data={data!r} is unknown; expected one of {DATA_NAMES} or an ImageSplits")
