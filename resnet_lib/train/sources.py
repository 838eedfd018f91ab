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

The small-image sources are NumPy ``keras.utils.PyDataset`` batches
(``resnet_lib.data.image_batches``) and need no TensorFlow; the VOC sources are ``tf.data``
pipelines and raise ``ImportError`` at once, saying how to install it, when it is missing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path
from typing import Callable

import numpy as np

from resnet_lib.train.config import DATA_NAMES, VOC_DATA

__all__ = ["DataSource", "load_source", "DATA_NAMES"]


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
    # augment="model": batches are raw images, and the model must start with these steps
    # ({"pixel_mean", "scale", "augment", "pad"}: see fit's in-model preprocessing)
    in_model: dict | None = None
    provenance: dict = dataclasses.field(default_factory=dict)  # where the data came from


def require_tensorflow(what: str) -> None:
    """Raise ``ImportError`` at once, saying how to install TensorFlow, when it is missing."""
    if importlib.util.find_spec("tensorflow") is None:
        raise ImportError(
            f"{what} needs TensorFlow (its input pipeline is tf.data), which is not installed. "
            "Install it with: pip install 'resnet-lib[tf]' (or pip install tensorflow). "
            "The small-image data (digits, cifar10) trains without it."
        )


def first_batch(dataset):
    """The first batch of a dataset (``ImageBatches`` or ``tf.data``), as NumPy arrays."""
    if hasattr(dataset, "take") and not hasattr(dataset, "__getitem__"):  # tf.data
        batch = next(iter(dataset.take(1)))
    else:
        batch = dataset[0]
    return tuple(np.asarray(t) for t in batch)


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling/augmentation seed of one epoch: a function of (seed, epoch) only."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


def _finish(ds, *, one_hot: int | None, steps: int | None):
    """``tf.data`` (VOC): optional one-hot labels (for label smoothing) and a cap on the steps."""
    import tensorflow as tf

    if one_hot:
        ds = ds.map(lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), one_hot)))
    if steps:
        ds = ds.take(steps)
    return ds.prefetch(tf.data.AUTOTUNE)


def from_image_splits(splits, *, batch_size, seed, augment, limit=None, steps_per_epoch=None,
                      one_hot=False, even_batches=False, on_device=False) -> DataSource:
    """A single-label source from a ``resnet_lib.data.small_images.ImageSplits``.

    augment: True / False for pad-crop-flip on the host (NumPy), or "model": batches carry
    the raw images, and ``DataSource.in_model`` says what the model must do first (mean
    subtraction, and pad-crop-flip in training); with ``on_device`` they stay on the
    accelerator (JAX).
    """
    from resnet_lib.data.image_batches import ImageBatches

    def part(x, y):
        # ``limit``: a fixed random sample, in the split's order (a prefix of a class-ordered
        # split, such as CIFAR-10's test images read from an image tree, would be one class)
        if not limit or limit >= len(x):
            return x, y
        keep = np.sort(np.random.default_rng(0).permutation(len(x))[:limit])
        return x[keep], y[keep]

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
    in_model = augment == "model"
    host = dict(pixel_mean=splits.pixel_mean, batch_size=batch_size, one_hot=hot,
                drop_remainder=even_batches, preprocess=not in_model, on_device=on_device)
    placed = {}

    def batches(name, x, y, **options):
        if on_device and in_model:  # copy each split to the accelerator once, not per epoch
            import jax

            if name not in placed:
                placed[name] = (jax.device_put(x), jax.device_put(np.asarray(y, np.int32)))
            x, y = placed[name]
        return ImageBatches(x, y, **host, **options)

    def train(epoch):
        return batches("train", x_train, y_train, augment=bool(augment) and not in_model,
                       shuffle=True, seed=epoch_seed(seed, epoch), steps=steps)

    return DataSource(
        name=splits.name,
        num_classes=num_classes,
        input_shape=tuple(x_train.shape[1:]),
        multi_label=False,
        steps_per_epoch=steps,
        train=train,
        val=lambda: batches("val", x_val, y_val),
        test=(lambda: batches("test", x_test, y_test)) if x_test is not None else None,
        in_model=({"pixel_mean": np.asarray(splits.pixel_mean, np.float32),
                   "scale": 1 / 255 if x_train.dtype == np.uint8 else 1.0,
                   "augment": True, "pad": 4} if in_model else None),
        provenance=dict(getattr(splits, "provenance", {}) or {"dataset": splits.name}),
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


def _standard_augment(name: str) -> bool:
    """Pad-crop-flip for CIFAR-10 (Section 4.2); none for digits (a flipped digit is another symbol)."""
    return name == "cifar10"


def load_source(data, config=None, *, batch_size, seed, one_hot=False, even_batches=False,
                on_device=False, **options) -> DataSource:
    """Open ``data`` (a name in ``DATA_NAMES`` or an ``ImageSplits``) for training, as the
    ``DataConfig`` ``config`` says (or its fields given as ``options``: ``limit=30``).

    augment None takes each dataset's standard choice: CIFAR-10 pad-crop-flip (Section 4.2),
    none for digits (a flipped digit is another symbol), the VOC pipeline's for VOC. "model"
    (small images): the same choice, done by the model (``DataSource.in_model``).
    data_source: "cifar10" only, a local copy (``small_images.load_cifar10(source=...)``);
    None reads ``$RESNET_CIFAR10`` or downloads.
    one_hot: one-hot labels (label smoothing); even_batches: drop the last, smaller batch (so
    replicas split every batch evenly); on_device: with augment="model", keep the images on the
    accelerator (JAX backend).
    """
    from resnet_lib.train.config import DataConfig, SYNTHETIC_IMAGES

    config = dataclasses.replace(config or DataConfig(), **options)
    image_size, limit, steps_per_epoch = config.image_size, config.limit, config.steps_per_epoch
    augment, data_dir, data_source = config.augment, config.data_dir, config.data_source
    label_mode = config.label_mode or "multi"
    synthetic_images = config.synthetic_images or SYNTHETIC_IMAGES
    common = dict(batch_size=batch_size, seed=seed, limit=limit, steps_per_epoch=steps_per_epoch,
                  one_hot=one_hot, even_batches=even_batches)
    if data in VOC_DATA:
        require_tensorflow(f"data={data!r}")
        if augment == "model":
            augment = False  # fit puts the VOC augmentation layer in front of the network
        root = Path(data_dir or "data_cache")
        if data == "voc2012":
            from resnet_lib.data.voc import download_voc2012

            root = Path(download_voc2012(root))
        else:
            from resnet_lib.data.voc.synthetic import make_synthetic_voc

            root = Path(make_synthetic_voc(synthetic_voc_root(root, synthetic_images),
                                           num_images=int(synthetic_images), seed=0))
        return voc_source(root, image_size=image_size or (224 if data == "voc2012" else 64),
                          augment=True if augment is None else augment,
                          label_mode=label_mode, **common)
    if isinstance(data, str):
        if data == "digits":
            from resnet_lib.data.small_images import load_digits

            splits = load_digits(image_size=image_size or 16, seed=0)
        elif data == "cifar10":
            from resnet_lib.data.small_images import load_cifar10

            splits = load_cifar10(source=data_source, seed=0)
        else:
            raise ValueError(f"data={data!r} is unknown; expected one of {DATA_NAMES} or an "
                             "ImageSplits")
    else:
        splits = data
    standard = _standard_augment(splits.name)
    if augment == "model":
        source = from_image_splits(splits, augment="model", on_device=on_device, **common)
        source.in_model["augment"] = standard
        return source
    return from_image_splits(splits, augment=standard if augment is None else bool(augment),
                             **common)
