"""Pascal VOC2012 for the book: download, read a split, build a ``tf.data`` pipeline.

The public face of the VOC modules (He et al. 2015, arXiv:1512.03385, networks trained on
VOC; dataset facts from the VOC2012 development kit, Everingham et al.):

- ``download_voc2012(dest)`` -> the VOC2012 folder (``download``);
- ``read_split(root, split)`` -> list of ``VOCRecord`` (``annotations``);
- ``make_dataset(root, split, ...)`` -> ``tf.data.Dataset`` of (images, labels) batches
  (``pipeline``); ``load_records`` gives the records it yields, in order; a
  ``DecodedImages`` store (``cache=``) keeps decoded images in memory across epochs;
- ``multi_hot_labels(records)`` -> (labels, mask): the mask is 0 for (image, class) pairs
  present only as "difficult", which the VOC mAP ignores; ``make_dataset(...,
  with_mask=True)`` yields the same mask batch by batch (``labels``);
- ``seed_split(root)``: a random 8:1:1 split of trainval, disjoint and seeded.

TensorFlow is imported only when a dataset is built.
"""

from __future__ import annotations

import os
from typing import Sequence

from ..splits import SEED_FRACTIONS, SEED_NAMES, random_split
from .annotations import (
    VOC_CLASSES, SkippedItem, VOCAnnotationWarning, VOCFormatError, VOCObject, VOCRecord,
    parse_annotation, read_split, resolve_root,
)
from .download import (
    VOC2012_MD5, VOC2012_URLS, DownloadError, UnsafeArchiveError, download_voc2012,
)
from .images import check_jpeg
from .labels import devkit_labels, multi_hot_labels, single_label, single_labels
from .pipeline import (
    SEED_AUGMENTATION, Augmentation, DecodedImages, load_records, make_dataset,
)

OFFICIAL_SPLITS = ("train", "val", "trainval")  # ImageSets/Main: 5,717 / 5,823 / 11,540


def seed_split(
    root: str | os.PathLike,
    *,
    seed: int = 0,
    fractions: Sequence[float] = SEED_FRACTIONS,
    on_error: str = "raise",
    skipped: list[SkippedItem] | None = None,
) -> dict[str, list[VOCRecord]]:
    """A random train/val/test split (8:1:1) of VOC2012 trainval, as records.

    Reproducible from ``seed``; every image lands in exactly one part. Pass a part to
    ``make_dataset(root, parts["train"], augment=True)``.
    """
    records = read_split(root, "trainval", on_error=on_error, skipped=skipped)
    return random_split(records, fractions=fractions, names=SEED_NAMES, seed=seed)


__all__ = [
    "VOC_CLASSES", "OFFICIAL_SPLITS", "VOC2012_MD5", "VOC2012_URLS", "Augmentation", "DecodedImages",
    "SEED_AUGMENTATION", "DownloadError", "SkippedItem", "UnsafeArchiveError",
    "VOCAnnotationWarning", "VOCFormatError", "VOCObject", "VOCRecord", "check_jpeg",
    "devkit_labels", "download_voc2012", "load_records", "make_dataset", "multi_hot_labels",
    "parse_annotation", "random_split", "read_split", "resolve_root", "seed_split",
    "single_label", "single_labels",
]
