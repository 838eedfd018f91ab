"""Statistics of a VOC split for the dataset chapter, as plain data (no plotting).

What the chapter shows about Pascal VOC2012 (trainval 11,540 images, 27,450 objects, per the
VOC2012 development kit, Everingham et al.): how many images hold each class, how many objects
an image holds, the share of images with several classes (why a one-folder-per-class layout
loses labels), and box sizes. "Difficult" objects are counted apart, as the devkit ignores them.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .annotations import CLASS_INDEX, VOC_CLASSES, VOCRecord
from .labels import devkit_labels, single_labels


@dataclasses.dataclass(frozen=True)
class VOCStatistics:
    """Counts over a list of records; per-class dicts follow ``VOC_CLASSES`` order."""

    num_images: int
    num_objects: int  # all objects, difficult included
    num_difficult: int
    images_per_class: dict[str, int]  # images with a non-difficult object of the class
    objects_per_class: dict[str, int]  # non-difficult objects
    single_label_images_per_class: dict[str, int]  # images per class by the "single" rule
    objects_per_image: np.ndarray  # (N,) int, all objects
    classes_per_image: np.ndarray  # (N,) int, distinct classes with a non-difficult object
    multi_class_share: float  # share of images with two or more classes
    cooccurrence: np.ndarray  # (20, 20) int: images holding both classes (diagonal: one)
    box_sizes: np.ndarray  # (M, 2) float: width, height of non-difficult boxes, pixels
    box_relative_areas: np.ndarray  # (M,) float: box area / image area
    truncated_share: float  # share of non-difficult objects marked truncated

    def objects_per_image_histogram(self) -> dict[int, int]:
        """{number of objects: number of images}."""
        values, counts = np.unique(self.objects_per_image, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}


def split_statistics(records: Sequence[VOCRecord]) -> VOCStatistics:
    """Compute ``VOCStatistics`` for ``records`` (e.g. ``read_split(root, "trainval")``)."""
    table = devkit_labels(records)  # 1 present, 0 only difficult, -1 absent
    present = (table == 1).astype(np.int64)
    objects = [o for r in records for o in r.objects]
    normal = [(r, o) for r in records for o in r.objects if not o.difficult]
    per_class_objects = np.zeros(len(VOC_CLASSES), np.int64)
    for _, o in normal:
        per_class_objects[CLASS_INDEX[o.name]] += 1
    sizes = np.array([(o.bbox[2] - o.bbox[0] + 1, o.bbox[3] - o.bbox[1] + 1) for _, o in normal],
                     float).reshape(-1, 2)
    image_areas = np.array([r.width * r.height for r, _ in normal], float)
    singles = np.bincount(single_labels([r for r in records if r.objects]),
                          minlength=len(VOC_CLASSES)) if records else np.zeros(20, int)
    classes_per_image = present.sum(axis=1)
    n = len(records)
    return VOCStatistics(
        num_images=n,
        num_objects=len(objects),
        num_difficult=sum(o.difficult for o in objects),
        images_per_class=dict(zip(VOC_CLASSES, present.sum(axis=0).tolist())),
        objects_per_class=dict(zip(VOC_CLASSES, per_class_objects.tolist())),
        single_label_images_per_class=dict(zip(VOC_CLASSES, np.asarray(singles).tolist())),
        objects_per_image=np.array([len(r.objects) for r in records], np.int64),
        classes_per_image=classes_per_image,
        multi_class_share=float((classes_per_image >= 2).mean()) if n else 0.0,
        cooccurrence=present.T @ present,
        box_sizes=sizes,
        box_relative_areas=np.clip(sizes, 0, None).prod(axis=1) / image_areas if normal
        else np.zeros(0),
        truncated_share=float(np.mean([o.truncated for _, o in normal])) if normal else 0.0,
    )
