"""Image-level labels from VOC annotations: multi-hot truth, the "difficult" mask, one class.

VOC is multi-label (VOC2012 development kit): an image holds every class it shows.
The devkit labels each (image, class) pair 1 (present), -1 (absent) or 0 (present only as
"difficult" objects, ignored in evaluation); ``devkit_labels`` reproduces that table, the
same numbers as the ``ImageSets/Main/{class}_{split}.txt`` files. Where one class per image is
wanted, ``single_labels`` picks it: the class of the largest non-difficult object.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .annotations import CLASS_INDEX, VOC_CLASSES, VOCFormatError, VOCRecord


def devkit_labels(records: Sequence[VOCRecord]) -> np.ndarray:
    """(N, 20) int8 in canonical class order: 1 present, -1 absent, 0 only "difficult"."""
    table = -np.ones((len(records), len(VOC_CLASSES)), np.int8)
    for i, record in enumerate(records):
        for obj in record.objects:  # difficult objects first mark 0, a normal one wins
            if obj.difficult:
                c = CLASS_INDEX[obj.name]
                table[i, c] = max(table[i, c], 0)
        for obj in record.objects:
            if not obj.difficult:
                table[i, CLASS_INDEX[obj.name]] = 1
    return table


def multi_hot_labels(records: Sequence[VOCRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, mask)``, both (N, 20) float32, aligned with ``records``.

    ``labels`` is 1 for every class with a non-difficult object, else 0. ``mask`` is 0 where
    a class appears only as "difficult" (devkit label 0) and 1 elsewhere: average precision
    leaves the masked (image, class) pairs out, as the VOC devkit does.
    """
    table = devkit_labels(records)
    return (table == 1).astype(np.float32), (table != 0).astype(np.float32)


def single_label(record: VOCRecord) -> int:
    """Class index of the largest non-difficult object (ties: the first in the file).

    An image whose objects are all "difficult" takes its largest object; an image with no
    object raises ``VOCFormatError`` naming the annotation.
    """
    if not record.objects:
        raise VOCFormatError(
            f"{record.annotation_path}: image {record.image_id} has no <object>, so it has no "
            "class for label_mode='single'"
        )
    pool = [o for o in record.objects if not o.difficult] or list(record.objects)
    largest = max(pool, key=lambda o: o.area)  # max keeps the first of equal areas
    return CLASS_INDEX[largest.name]


def single_labels(records: Sequence[VOCRecord]) -> np.ndarray:
    """(N,) int32 class indices by ``single_label``'s rule."""
    return np.array([single_label(r) for r in records], np.int32)
