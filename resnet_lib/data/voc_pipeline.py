"""A fast ``tf.data`` input pipeline for Pascal VOC2012: decode, augment, resize, batch.

Replaces the seed's ``ImageDataGenerator.flow_from_directory`` (REFERENCE.md, "The
source blog", defects 3, 4 and 6): labels come from the annotations (multi-label, or one class by a
stated rule), augmentation applies only when ``augment=True``, and decoding runs in parallel
with prefetching. The seed's augmentations (shift 0.1, zoom 0.1, horizontal flip; its
shear of 0.1 degrees is sub-pixel) and the resize to the network's input are one
``crop_and_resize`` per image, so augmenting costs about what resizing costs; a real shear
takes one projective transform.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from typing import Sequence

import numpy as np

from .voc_annotations import (
    SkippedItem, VOCAnnotationWarning, VOCFormatError, VOCRecord, check_on_error, read_split,
    report_skip,
)
from .voc_images import check_jpeg
from .voc_labels import multi_hot_labels, single_labels

LABEL_MODES = ("multi", "single")


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random affine augmentation with the meaning of ``ImageDataGenerator``'s arguments."""

    shift: float = 0.1  # width/height_shift_range: shift by U[-shift, shift] of the image size
    shear: float = 0.1  # shear_range, in degrees as Keras reads it (0.1 deg is nearly none)
    zoom: float = 0.1  # zoom_range: each axis scaled by U[1 - zoom, 1 + zoom], independently
    horizontal_flip: bool = True  # mirror half of the images
    fill_mode: str = "constant"  # outside the image: black ("nearest", Keras' default, is slower)


SEED_AUGMENTATION = Augmentation()  # the seed's arguments (REFERENCE.md, "The source blog")


def load_records(
    root: str | os.PathLike,
    split: str | Sequence[VOCRecord],
    *,
    on_error: str = "raise",
    skipped: list[SkippedItem] | None = None,
) -> tuple[list[VOCRecord], list[int]]:
    """Records whose annotation and JPEG are valid, in dataset order, and their file sizes.

    ``split`` is an ImageSets/Main name (read with ``read_split``) or a list of records (e.g.
    one part of ``random_split``). Every JPEG is checked by ``check_jpeg``; with
    ``on_error="skip"`` bad ones are left out, warned about and appended to ``skipped``.
    ``make_dataset`` yields exactly these records, in this order when not shuffled.
    """
    check_on_error(on_error)
    if isinstance(split, str):
        records = read_split(root, split, on_error=on_error, skipped=skipped)
    else:
        records = list(split)
    kept, num_bytes = [], []
    for record in records:
        try:
            info = check_jpeg(record.image_path)
        except (ValueError, FileNotFoundError) as err:
            message = f"image id {record.image_id!r}: {err}"
            if on_error == "raise":
                raise VOCFormatError(message) from None
            report_skip(SkippedItem(record.image_id, record.image_path, message), skipped)
            continue
        if (info.width, info.height) != (record.width, record.height):
            warnings.warn(
                f"{record.annotation_path}: <size> says {record.width}x{record.height} but "
                f"{record.image_path} is {info.width}x{info.height}; the image wins",
                VOCAnnotationWarning, stacklevel=2,
            )
        kept.append(record)
        num_bytes.append(info.num_bytes)
    return kept, num_bytes


def make_dataset(
    root: str | os.PathLike,
    split: str | Sequence[VOCRecord],
    *,
    image_size: int | tuple[int, int] = 224,
    batch_size: int = 32,
    label_mode: str = "multi",
    augment: bool = False,
    shuffle: bool | None = None,
    on_error: str = "raise",
    seed: int | None = None,
    skipped: list[SkippedItem] | None = None,
    with_mask: bool = False,
    augmentation: Augmentation = SEED_AUGMENTATION,
    drop_remainder: bool = False,
):
    """Return a ``tf.data.Dataset`` of ``(images, labels)`` batches from a VOC split.

    - ``images``: float32 (B, H, W, 3) in [0, 1], RGB (grayscale and CMYK JPEGs converted).
      ``image_size`` is H = W or (H, W); aspect ratio is not kept (as the seed did).
    - ``label_mode="multi"``: float32 (B, 20) multi-hot in ``VOC_CLASSES`` order, 1 for each
      class with a non-difficult object. ``with_mask=True`` yields ``(images, labels, mask)``
      instead, ``mask`` float32 (B, 20) being 0 where a class is present only as "difficult"
      (devkit label 0): pass it to the VOC mAP so those pairs are ignored. (Keras ``fit`` reads
      a third element as per-label sample weights.) ``label_mode="single"``: int32 (B,) class of
      the largest non-difficult object (``voc_labels.single_label``).
    - ``augment=True`` applies ``augmentation`` (default: the seed's shift/shear/zoom/flip);
      never set it for validation or test data. ``shuffle=None`` means shuffle iff augment.
    - Order: ``load_records(root, split)`` order unless shuffled. With a ``seed`` the output is
      reproducible, shuffled or augmented or not; with ``augment=False`` and no shuffle it is
      deterministic regardless.
    - Bad items (see ``read_split`` and ``check_jpeg``) raise naming the file, or with
      ``on_error="skip"`` are skipped, warned about and appended to ``skipped``. They are
      found here, before ``tf.data`` runs; a file that changes afterwards fails inside the
      pipeline with an error naming it.
    """
    import tensorflow as tf

    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode={label_mode!r}; expected one of {LABEL_MODES}")
    if with_mask and label_mode != "multi":
        raise ValueError("with_mask=True needs label_mode='multi' (the mask is per class)")
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    records, num_bytes = load_records(root, split, on_error=on_error, skipped=skipped)
    if not records:
        name = split if isinstance(split, str) else "(records)"
        raise ValueError(f"no usable images in split {name} of {root}")
    if label_mode == "multi":
        labels, mask = multi_hot_labels(records)
        targets = (labels, mask) if with_mask else (labels,)
    else:
        kept = []  # an image without objects has no single class: an error, or skipped
        for i, record in enumerate(records):
            try:
                single_labels([record])
                kept.append(i)
            except VOCFormatError as err:
                if on_error == "raise":
                    raise
                report_skip(SkippedItem(record.image_id, record.annotation_path, str(err)),
                            skipped)
        records, num_bytes = [records[i] for i in kept], [num_bytes[i] for i in kept]
        targets = (single_labels(records),)
    paths = [str(r.image_path) for r in records]
    ds = tf.data.Dataset.from_tensor_slices((paths, np.array(num_bytes, np.int64)) + targets)
    if shuffle is None:
        shuffle = augment
    if shuffle:
        ds = ds.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    # Per-image random seeds from a seeded stream keep parallel augmentation reproducible.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip(ds, seeds)
    load = _loader(height, width, augmentation if augment else None)
    # do_not_convert: the function has no tensor-dependent Python control flow, and skipping
    # AutoGraph's source rewrite saves most of the set-up time.
    ds = ds.map(tf.autograph.experimental.do_not_convert(load),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def uses_projective_transform(augmentation: Augmentation | None, height: int, width: int) -> bool:
    """Whether ``augmentation`` needs the general (slower) projective transform.

    Shift, zoom and flip are an axis-aligned box, which ``tf.image.crop_and_resize`` samples
    as fast as a resize. Shear needs ``ImageProjectiveTransformV3`` (about 5x slower here),
    but the seed's ``shear_range=0.1`` is 0.1 degrees, which moves no output pixel by even
    half a pixel (tan(0.1 deg) * 112 = 0.2 px at 224x224): such a shear is below what bilinear
    sampling shows, so it is left out. A larger shear, or ``fill_mode`` other than
    "constant", takes the projective transform.
    """
    if augmentation is None:
        return False
    edge_shift = math.tan(math.radians(abs(augmentation.shear))) * max(height, width) / 2
    return edge_shift >= 0.5 or augmentation.fill_mode != "constant"


def _loader(height: int, width: int, augmentation: Augmentation | None):
    """The per-image map function: read, check, decode, sample the output once."""
    import tensorflow as tf

    projective = uses_projective_transform(augmentation, height, width)

    def load(element, seed):
        path, num_bytes, *targets = element
        contents = tf.io.read_file(path)
        # The file was checked by load_records; if it changed since, say which one.
        same = tf.equal(tf.cast(tf.strings.length(contents, unit="BYTE"), tf.int64), num_bytes)
        check = tf.debugging.Assert(
            same, ["JPEG changed since make_dataset checked it (its size differs); file:",
                   path], summarize=1)
        with tf.control_dependencies([check]):
            image = tf.io.decode_jpeg(contents, channels=3)
        shape = tf.cast(tf.shape(image), tf.float32)
        if projective:
            transform = affine_transform(shape[0], shape[1], height, width, augmentation, seed)
            image = tf.raw_ops.ImageProjectiveTransformV3(
                images=image[None], transforms=transform[None],
                output_shape=tf.constant([height, width], tf.int32), fill_value=0.0,
                interpolation="BILINEAR", fill_mode=augmentation.fill_mode.upper(),
            )[0]
        else:
            box = crop_box(shape[0], shape[1], height, width, augmentation, seed)
            image = tf.image.crop_and_resize(image[None], box[None], [0], [height, width],
                                             extrapolation_value=0.0)[0]
        image = tf.cast(image, tf.float32) * (1.0 / 255.0)
        image.set_shape([height, width, 3])
        return (image, *targets)

    return load


def _draws(augmentation: Augmentation, seed):
    """Six uniform draws in [-1, 1): shift x, shift y, shear, zoom x, zoom y, flip."""
    import tensorflow as tf

    return tf.random.stateless_uniform([6], seed=seed, minval=-1.0, maxval=1.0)


def crop_box(in_h, in_w, out_h: int, out_w: int, augmentation: Augmentation | None, seed):
    """Normalised (y1, x1, y2, x2) box for ``tf.image.crop_and_resize`` (a tf tensor).

    Without augmentation it samples exactly where ``tf.image.resize`` does (half-pixel
    centres). With it, about the image centre, input = zoom * resized + shift, mirrored by
    swapping x1 and x2; shear is left out (see ``uses_projective_transform``).
    """
    import tensorflow as tf

    sy, sx = in_h / out_h, in_w / out_w
    y = tf.stack([0.5 * sy - 0.5, (out_h - 0.5) * sy - 0.5])  # first and last sample rows
    x = tf.stack([0.5 * sx - 0.5, (out_w - 0.5) * sx - 0.5])
    if augmentation is not None:
        u = _draws(augmentation, seed)
        cy, cx = (in_h - 1.0) / 2.0, (in_w - 1.0) / 2.0
        x = cx + (1.0 + u[3] * augmentation.zoom) * (x - cx) + u[0] * augmentation.shift * in_w
        y = cy + (1.0 + u[4] * augmentation.zoom) * (y - cy) + u[1] * augmentation.shift * in_h
        if augmentation.horizontal_flip:
            x = tf.where(u[5] > 0.0, x[::-1], x)
    y, x = y / tf.maximum(in_h - 1.0, 1.0), x / tf.maximum(in_w - 1.0, 1.0)
    return tf.stack([y[0], x[0], y[1], x[1]])


def affine_transform(in_h, in_w, out_h: int, out_w: int, augmentation: Augmentation | None,
                     seed):
    """The 8 projective coefficients mapping output pixels to input pixels (a tf tensor).

    Without augmentation it is a plain resize (half-pixel centres, as ``tf.image.resize``).
    With augmentation, as ``ImageDataGenerator.apply_affine_transform``: about the image
    centre, input = shift . shear . zoom . output, then an optional horizontal mirror.
    """
    import tensorflow as tf

    sx, sy = in_w / out_w, in_h / out_h
    resize = tf.stack([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    matrix = resize
    if augmentation is not None:
        a = augmentation
        u = _draws(augmentation, seed)
        tx, ty = u[0] * a.shift * in_w, u[1] * a.shift * in_h
        shear = u[2] * a.shear * math.pi / 180.0
        zx, zy = 1.0 + u[3] * a.zoom, 1.0 + u[4] * a.zoom
        cx, cy = (in_w - 1.0) / 2.0, (in_h - 1.0) / 2.0
        zero, one = tf.constant(0.0), tf.constant(1.0)
        # x' = zx cos(s) x + tx, y' = -zx sin(s) x + zy y + ty, about the centre (cx, cy)
        a00, a10, a11 = zx * tf.cos(shear), -zx * tf.sin(shear), zy
        affine = tf.stack([
            [a00, zero, cx - a00 * cx + tx],
            [a10, a11, cy - a10 * cx - a11 * cy + ty],
            [zero, zero, one],
        ])
        matrix = affine @ resize
        if a.horizontal_flip:
            flip = tf.where(u[5] > 0.0, -1.0, 1.0)
            mirror = tf.stack([[flip, zero, (1.0 - flip) / 2.0 * (out_w - 1.0)],
                               [zero, one, zero], [zero, zero, one]])
            matrix = matrix @ mirror
    return tf.concat([tf.reshape(matrix[:2], [6]), tf.zeros([2])], axis=0)
