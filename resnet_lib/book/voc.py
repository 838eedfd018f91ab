"""The dataset chapter's views of Pascal VOC: boxes drawn, the seed's folders and generator.

The VOC readers, statistics and the ``tf.data`` pipeline are ``resnet_lib.data``'s; this
module holds what only the book needs to *show* about them (the seed blog's defects 3, 4 and
6, ``resnet_lib.reference.SEED_DEFECTS``):

- ``training_voc_root``: the VOC folder that ``fit(data=...)`` trains on, for a chapter to
  read or evaluate the same images;

- ``examples_figure``: images with their annotated boxes (difficult ones dashed);
- ``seed_class_folders``: the seed's one-folder-per-class layout, as hard links or copies,
  either one folder per image (labels dropped) or one per class present (images duplicated);
- ``duplicated_across_splits``: how many images the seed's random 8:1:1 split of such folders
  puts in more than one part (a leak from training into test);
- ``seed_generator``: the seed's ``ImageDataGenerator.flow_from_directory``, which Keras 3
  keeps only as a legacy class, to time against ``make_dataset``;
- ``images_per_second``: the throughput of any batch iterator, set-up included.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import time
from typing import Iterable, Sequence

import numpy as np

__all__ = ["duplicated_across_splits", "examples_figure", "images_per_second", "seed_class_folders",
           "seed_generator", "training_voc_root"]


def training_voc_root(data: str, *, data_dir, synthetic_images: int | None = None) -> pathlib.Path:
    """The VOC2012 folder that ``resnet_lib.train.fit(data=data, data_dir=..., ...)`` uses.

    ``data`` is "voc2012" (downloaded on first use) or "synthetic-voc" with
    ``synthetic_images`` drawn scenes (written on first use, seed 0, as training writes them).
    """
    if data == "voc2012":
        from resnet_lib.data.voc import download_voc2012

        return pathlib.Path(download_voc2012(data_dir))
    if data != "synthetic-voc":
        raise ValueError(f"data={data!r}; expected 'voc2012' or 'synthetic-voc'")
    if not synthetic_images:
        raise ValueError("synthetic_images: expected the number of images of the synthetic VOC, got "
                         f"{synthetic_images!r}")
    from resnet_lib.data.voc.synthetic import make_synthetic_voc
    from resnet_lib.train.sources import synthetic_voc_root

    root = synthetic_voc_root(data_dir, synthetic_images)
    return pathlib.Path(make_synthetic_voc(root, num_images=int(synthetic_images), seed=0))


def examples_figure(records: Sequence, *, columns: int = 3, width: float | None = None):
    """A grid of ``records``' images with their boxes and class names (``matplotlib`` Figure).

    ``width``: inches per image; by default the grid fills the page width (``plots.FIGURE_WIDTH``).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from PIL import Image

    from resnet_lib.plots import FIGURE_WIDTH

    width = width or FIGURE_WIDTH / columns

    if not records:
        raise ValueError("examples_figure: no records to draw")
    rows = -(-len(records) // columns)
    figure = Figure(figsize=(width * columns, width * 0.8 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for axis in axes:
        axis.axis("off")
    for k, (axis, record) in enumerate(zip(axes, records)):
        with Image.open(record.image_path) as image:
            axis.imshow(np.asarray(image.convert("RGB")))
        names = []
        for obj in record.objects:
            xmin, ymin, xmax, ymax = obj.bbox  # 1-based inclusive pixels
            color = f"C{k % 10}" if not obj.difficult else "white"
            axis.add_patch(Rectangle((xmin - 1.5, ymin - 1.5), xmax - xmin + 1, ymax - ymin + 1, fill=False,
                                     edgecolor=color, linewidth=2, linestyle="--" if obj.difficult else "-"))
            axis.text(xmin, ymin - 3, obj.name + (" (difficult)" if obj.difficult else ""), color="white",
                      fontsize=8, bbox=dict(facecolor="black", alpha=0.6, pad=1, edgecolor="none"))
            names.append(obj.name)
        axis.set_title(f"{record.image_id}: {len(set(names))} classes", fontsize=9)
    return figure


def seed_class_folders(records: Sequence, dest: str | os.PathLike, *, mode: str) -> pathlib.Path:
    """Lay ``records`` out as the seed did, one folder per class, under ``dest`` (rebuilt).

    mode="largest": each image once, in the folder of its largest object (the other labels
    are dropped); mode="every": a copy in the folder of every class it holds (duplicates).
    Files are hard links when the filesystem allows, else copies.
    """
    from resnet_lib.data.voc import VOC_CLASSES, single_label

    if mode not in ("largest", "every"):
        raise ValueError(f"mode={mode!r}; expected 'largest' or 'every'")
    dest = pathlib.Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    for record in records:
        if mode == "largest":
            classes = [VOC_CLASSES[single_label(record)]]
        else:
            classes = sorted({o.name for o in record.objects if not o.difficult})
        for name in classes:
            target = dest / name / record.image_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(record.image_path, target)
            except OSError:
                shutil.copyfile(record.image_path, target)
    return dest


def duplicated_across_splits(records: Sequence, *, seed: int = 0) -> dict:
    """Split the seed's "every class" files 8:1:1 at random, as the seed split its folders.

    Returns the number of files, of distinct images, and of images whose copies landed in more
    than one part, plus the images shared by the train and test parts.
    """
    from resnet_lib.data.splits import random_split

    files = [(r.image_id, o) for r in records for o in sorted({o.name for o in r.objects if not o.difficult})]
    parts = random_split(files, seed=seed)
    where = {}
    for part, members in parts.items():
        for image_id, _ in members:
            where.setdefault(image_id, set()).add(part)
    return {
        "files": len(files),
        "images": len(where),
        "images_in_several_parts": sum(len(p) > 1 for p in where.values()),
        "train_and_test": sum({"train", "test"} <= p for p in where.values()),
    }


def seed_generator(folders: str | os.PathLike, *, image_size: int = 224, batch_size: int = 32):
    """The seed's augmented training generator (``reference.SEED_SETUP``): ImageDataGenerator(rescale=1/255,
    shear 0.1, zoom 0.1, shifts 0.1, horizontal flip).flow_from_directory(folders)."""
    try:  # Keras 3 keeps the Keras 2 class under its legacy tf.keras namespace
        from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator
    except ImportError:  # Keras 2 / tf.keras
        from tensorflow.keras.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(rescale=1 / 255, shear_range=0.1, zoom_range=0.1, width_shift_range=0.1,
                                   height_shift_range=0.1, horizontal_flip=True)
    return generator.flow_from_directory(str(folders), target_size=(image_size, image_size),
                                         batch_size=batch_size, class_mode="categorical", seed=0)


def images_per_second(make_batches, *, steps: int) -> float:
    """Images per second over ``steps`` batches of ``make_batches()``, its set-up included."""
    start = time.perf_counter()
    batches: Iterable = make_batches()
    images = 0
    for step, batch in enumerate(batches):
        if step >= steps:
            break
        images += int(np.shape(batch[0])[0])
    if not images:
        raise ValueError("images_per_second: the iterator yielded no batch")
    return images / (time.perf_counter() - start)
