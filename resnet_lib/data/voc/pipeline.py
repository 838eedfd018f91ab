"""A fast ``tf.data`` input pipeline for Pascal VOC2012: decode, augment, resize, batch.

In place of Keras' ``ImageDataGenerator.flow_from_directory``: labels come from the annotations (multi-label, or one class by a
stated rule), augmentation applies only when ``augment=True``, and decoding runs in parallel
with prefetching. The default augmentations (``ImageDataGenerator``'s shift 0.1, zoom 0.1,
horizontal flip; its shear of 0.1 degrees is sub-pixel) and the resize to the network's input are one
crop of the image followed by ``tf.image.resize`` (``resize_box``), so augmenting costs what
resizing costs; a real shear takes one projective transform. ``DecodedImages`` keeps decoded
images in memory across epochs; ``affine_layer.AffineAugmentation`` is the same augmentation
as a layer that runs inside the model, on the accelerator. Speeds, and why tf.data's
autotuning is off: ``benchmarks/input_pipeline.md``.
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np

from .annotations import (
    SkippedItem, VOCAnnotationWarning, VOCFormatError, VOCRecord, check_on_error, read_split,
    report_skip,
)
from .images import check_jpeg
from .labels import multi_hot_labels, single_labels

from .geometry import (
    SEED_AUGMENTATION, Augmentation, _place, affine_transform, box_from_draws, box_window,
    uses_projective_transform,
)

LABEL_MODES = ("multi", "single")


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
    kept, infos = _checked_records(root, split, on_error=on_error, skipped=skipped)
    return kept, [info.num_bytes for info in infos]


def _checked_records(root, split, *, on_error, skipped):
    """``load_records`` with each JPEG's header info (size in bytes and pixels)."""
    check_on_error(on_error)
    if isinstance(split, str):
        records = read_split(root, split, on_error=on_error, skipped=skipped)
    else:
        records = list(split)
    kept, infos = [], []
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
        infos.append(info)
    return kept, infos


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
    cache: bool | DecodedImages = False,
):
    """Return a ``tf.data.Dataset`` of ``(images, labels)`` batches from a VOC split.

    - ``images``: float32 (B, H, W, 3) in [0, 1], RGB (grayscale and CMYK JPEGs converted).
      ``image_size`` is H = W or (H, W); aspect ratio is not kept (as ``flow_from_directory``).
    - ``label_mode="multi"``: float32 (B, 20) multi-hot in ``VOC_CLASSES`` order, 1 for each
      class with a non-difficult object. ``with_mask=True`` yields ``(images, labels, mask)``
      instead, ``mask`` float32 (B, 20) being 0 where a class is present only as "difficult"
      (devkit label 0): pass it to the VOC mAP so those pairs are ignored. (Keras ``fit`` reads
      a third element as per-label sample weights.) ``label_mode="single"``: int32 (B,) class of
      the largest non-difficult object (``labels.single_label``).
    - ``augment=True`` applies ``augmentation`` (default: ``SEED_AUGMENTATION``, shift/shear/zoom/flip);
      never set it for validation or test data. ``shuffle=None`` means shuffle iff augment.
    - Order: ``load_records(root, split)`` order unless shuffled. With a ``seed`` the output is
      reproducible, shuffled or augmented or not; with ``augment=False`` and no shuffle it is
      deterministic regardless.
    - ``cache``: ``False`` decodes every JPEG on every pass. With a ``DecodedImages`` store,
      the first pass decodes each image once, resized, into memory, and every later pass, of
      this dataset or of any other made with the same store, reads memory; augmentation then
      transforms the stored image, as ``flow_from_directory`` does (resize, then
      transform). ``True`` uses a store private to this dataset.
    - Bad items (see ``read_split`` and ``check_jpeg``) raise naming the file, or with
      ``on_error="skip"`` are skipped, warned about and appended to ``skipped``. They are
      found here, before ``tf.data`` runs; a file that changes afterwards fails inside the
      pipeline with an error naming it.
    - Needs TensorFlow: without it, raises ``ImportError`` at once saying how to install it.
    """
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            "The VOC pipeline (resnet_lib.data.voc.make_dataset) is built on tf.data and needs "
            "TensorFlow, which is not installed. Install it with: pip install 'resnet-lib[tf]' "
            "(or pip install tensorflow). CIFAR-10 and digits train without it."
        ) from err

    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode={label_mode!r}; expected one of {LABEL_MODES}")
    if with_mask and label_mode != "multi":
        raise ValueError("with_mask=True needs label_mode='multi' (the mask is per class)")
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    records, infos = _checked_records(root, split, on_error=on_error, skipped=skipped)
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
        records, infos = [records[i] for i in kept], [infos[i] for i in kept]
        targets = (single_labels(records),)
    paths = [str(r.image_path) for r in records]
    num_bytes = np.array([info.num_bytes for info in infos], np.int64)
    sizes = np.array([(info.height, info.width) for info in infos], np.float32)
    store = None
    if cache is not False:
        store = DecodedImages() if cache is True else cache
        if not isinstance(store, DecodedImages):
            raise TypeError(f"cache={cache!r}; expected True, False or a DecodedImages store")
        # Augmentation transforms the stored image, so its windows are computed on that size.
        sizes = np.tile(np.array([[height, width]], np.float32), (len(records), 1))
    ds = tf.data.Dataset.from_tensor_slices((paths, num_bytes, sizes) + targets)
    if shuffle is None:
        shuffle = augment
    if shuffle:
        ds = ds.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    # Random seeds from a seeded stream keep parallel augmentation reproducible.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    augmentation = augmentation if augment else None
    if uses_projective_transform(augmentation, height, width):
        ds = tf.data.Dataset.zip(ds, seeds)  # one seed per image
    else:
        # The crop windows of 256 images at a time, as a few vector ops: scalar arithmetic per
        # image inside the parallel map costs more than the resize on a 2-core machine.
        ds = tf.data.Dataset.zip(ds.batch(256), seeds).map(
            tf.autograph.experimental.do_not_convert(_windows(height, width, augmentation))
        ).unbatch()
        # unbatch forgets the length; Keras needs it to end an epoch cleanly (with an unknown
        # length its optimizer counted one step more per epoch than it trained).
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(records)))
    load = _loader(height, width, augmentation, store)
    # do_not_convert: the function has no tensor-dependent Python control flow, and skipping
    # AutoGraph's source rewrite saves most of the set-up time.
    ds = ds.map(tf.autograph.experimental.do_not_convert(load),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE).with_options(_pipeline_options())


def _pipeline_options():
    """``tf.data`` options of every ``make_dataset`` pipeline: autotuning off.

    With autotuning on, destroying an iterator waits for tf.data's autotuning thread
    (``Model::OptimizeLoop``) to wake from its timed sleep: about 1.1 s at the end of roughly
    half the epochs of the augmented pipeline on a 2-core machine (seen in a native stack of
    the stalled main thread, ``~LogicalThreadWrapper`` under ``RootDataset::Iterator``), which
    Keras pays once per epoch because it makes a new iterator each epoch. Without it,
    ``AUTOTUNE`` parallelism means one call per core and the prefetch buffer still grows on
    demand. See ``benchmarks/input_pipeline.md``.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def _windows(height: int, width: int, augmentation: Augmentation | None):
    """Batched map: append each image's ``box_window`` (from its size and a seeded draw)."""
    import tensorflow as tf

    def windows(element, seed):
        path, num_bytes, size, *targets = element
        draws = None
        if augmentation is not None:
            draws = tf.random.stateless_uniform([tf.shape(path)[0], 6], seed=seed,
                                                minval=-1.0, maxval=1.0)
        box = box_from_draws(size[:, 0], size[:, 1], height, width, augmentation, draws)
        window = tf.stack([tf.cast(v, tf.int32) for v in box_window(box, size[:, 0], size[:, 1],
                                                                    height, width)], axis=-1)
        return (path, num_bytes, window, *targets)

    return windows


def _read(path, num_bytes):
    """The file's bytes, failing with its name if its size is not what was checked."""
    import tensorflow as tf

    contents = tf.io.read_file(path)
    # The file was checked by load_records; if it changed since, say which one.
    same = tf.equal(tf.cast(tf.strings.length(contents, unit="BYTE"), tf.int64), num_bytes)
    check = tf.debugging.Assert(
        same, ["JPEG changed since make_dataset checked it (its size differs); file:",
               path], summarize=1)
    with tf.control_dependencies([check]):
        return tf.identity(contents)


class DecodedImages:
    """Decoded images, resized and kept in memory as uint8, for ``make_dataset(cache=...)``.

    One entry per (file, byte length, output size). A pipeline that finds its image here reads
    memory; one that does not decodes and resizes the JPEG and stores the result, so the first
    pass fills the store as it goes (no wait before the first batch) and every later pass, of
    that dataset or of any other made with the same store and size, decodes nothing. The
    training loop builds one dataset per epoch (``resnet_lib.train.sources``) and shares one
    store among them. Memory is H x W x 3 bytes per image: VOC2012's 11,540 trainval images
    take 1.7 GB at 224 x 224. ``nbytes`` says how much is held; ``clear()`` frees it.
    """

    def __init__(self):
        self._images: dict[tuple, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._images)

    @property
    def nbytes(self) -> int:
        return sum(image.nbytes for image in self._images.values())

    def clear(self) -> None:
        self._images.clear()

    def _load(self, height: int, width: int):
        """A tf function (path, num_bytes) -> (height, width, 3) uint8: stored, or decoded and
        stored."""
        import tensorflow as tf

        empty = np.zeros((0, 0, 3), np.uint8)

        def get(path, num_bytes):
            return self._images.get((path, int(num_bytes), height, width), empty)

        def put(path, num_bytes, image):
            self._images[(path, int(num_bytes), height, width)] = image.copy()  # TF reuses its buffer
            return image

        def decode(path, num_bytes):
            image = tf.image.resize(tf.io.decode_jpeg(_read(path, num_bytes), channels=3),
                                    [height, width])
            image = tf.cast(tf.round(image), tf.uint8)  # bilinear stays within [0, 255]
            return tf.numpy_function(put, [path, num_bytes, image], tf.uint8, stateful=True)

        def load(path, num_bytes):
            found = tf.numpy_function(get, [path, num_bytes], tf.uint8, stateful=True)
            image = tf.cond(tf.size(found) > 0, lambda: found, lambda: decode(path, num_bytes))
            return tf.ensure_shape(image, [height, width, 3])

        return load


def _loader(height: int, width: int, augmentation: Augmentation | None,
            store: DecodedImages | None = None):
    """The per-image map function: read, check, decode, sample the output once.

    On the fast path the element carries its ``box_window`` (computed by ``_windows``); with a
    projective transform it carries its image size and random seed instead. With a ``store``
    the image comes from it (or is decoded into it) already ``height`` x ``width``, and the
    window or transform applies to that image.
    """
    import tensorflow as tf

    projective = uses_projective_transform(augmentation, height, width)
    stored = store._load(height, width) if store is not None else None

    def decode(path, num_bytes):
        if stored is not None:
            return stored(path, num_bytes)
        return tf.io.decode_jpeg(_read(path, num_bytes), channels=3)

    def place(crop, window):
        return _place(crop, tf.unstack(window[:8]) + [window[8] > 0], height, width)

    def load_projective(element, seed):
        path, num_bytes, size, *targets = element
        image = decode(path, num_bytes)
        transform = affine_transform(size[0], size[1], height, width, augmentation, seed)
        image = tf.raw_ops.ImageProjectiveTransformV3(
            images=image[None], transforms=transform[None],
            output_shape=tf.constant([height, width], tf.int32), fill_value=0.0,
            interpolation="BILINEAR", fill_mode=augmentation.fill_mode.upper(),
        )[0]
        return (_finish(image, height, width), *targets)

    def load(path, num_bytes, window, *targets):
        if stored is not None:
            image = stored(path, num_bytes)
            if augmentation is not None:  # the window is inside the stored image
                image = place(image[window[0]:window[1], window[2]:window[3]], window)
            return (_finish(image, height, width), *targets)
        contents = _read(path, num_bytes)
        if augmentation is None:  # the plain resize that the window would reproduce exactly
            image = tf.image.resize(tf.io.decode_jpeg(contents, channels=3), [height, width])
        else:  # decode only the window the box sees, then resize it into place
            image = place(tf.io.decode_and_crop_jpeg(
                contents, tf.stack([window[0], window[2], window[1] - window[0],
                                    window[3] - window[2]]), channels=3), window)
        return (_finish(image, height, width), *targets)

    return load_projective if projective else load


def _finish(image, height: int, width: int):
    import tensorflow as tf

    image = tf.cast(image, tf.float32) * (1.0 / 255.0)
    image.set_shape([height, width, 3])
    return image


