"""A synthetic Pascal VOC2012 stand-in: drawn scenes in the exact VOC folder format.

The dataset and training chapters train He et al. 2015 (arXiv:1512.03385) networks on VOC,
but VOC2012 is a 2 GB download (the development kit's tar file). ``make_synthetic_voc`` writes a small tree
with the same layout, XML and split files (per-class files included, labels 1 / -1 / 0), so
every loader, statistic and training step runs offline and in seconds. Each of the 20 classes
is a distinctive shape + colour + texture, so a small ResNet can learn to tell them apart;
scenes hold one to several objects of varied size, some truncated by the frame and some
"difficult" (small and faint), as in VOC.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .annotations import VOC_CLASSES

SHAPES = ("disc", "square", "triangle", "diamond", "cross", "star", "ring", "hexagon", "bar",
          "chevron")
PALETTE = {  # well-separated colours (RGB)
    "red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220),
    "yellow": (240, 220, 20), "magenta": (220, 40, 200), "cyan": (30, 210, 220),
    "orange": (250, 130, 10), "purple": (110, 40, 160), "white": (250, 250, 250),
    "black": (15, 15, 15),
}
_COLOURS = tuple(PALETTE)
# Class i: classes 0-9 are solid, 10-19 striped with a different shape and colour.
CLASS_STYLES: dict[str, tuple[str, str, str]] = {
    name: (SHAPES[i % 10] if i < 10 else SHAPES[(i + 3) % 10],
           _COLOURS[i % 10] if i < 10 else _COLOURS[(i + 6) % 10],
           "solid" if i < 10 else "striped")
    for i, name in enumerate(VOC_CLASSES)
}
POSES = ("Frontal", "Rear", "Left", "Right", "Unspecified")
OBJECT_COUNTS, OBJECT_COUNT_P = (1, 2, 3, 4), (0.45, 0.3, 0.15, 0.1)  # VOC: ~2.4 per image
STAMP = ".synthetic_voc.json"


def _polygon(shape: str, s: int) -> list[tuple[float, float]] | None:
    """Vertices of ``shape`` in an s x s box (None for shapes drawn otherwise)."""
    c, r = s / 2, s / 2
    if shape == "triangle":
        return [(c, 0), (s - 1, s - 1), (0, s - 1)]
    if shape == "diamond":
        return [(c, 0), (s - 1, c), (c, s - 1), (0, c)]
    if shape == "hexagon":
        return [(c + r * np.cos(a), c + r * np.sin(a)) for a in np.arange(6) * np.pi / 3]
    if shape == "star":
        return [(c + (r if k % 2 == 0 else 0.42 * r) * np.sin(k * np.pi / 5),
                 c - (r if k % 2 == 0 else 0.42 * r) * np.cos(k * np.pi / 5)) for k in range(10)]
    if shape == "chevron":
        return [(0, 0), (c, 0.45 * s), (s - 1, 0), (s - 1, 0.55 * s), (c, s - 1), (0, 0.55 * s)]
    return None


def shape_mask(shape: str, s: int) -> np.ndarray:
    """Boolean (h, w) mask of ``shape`` drawn in an s-pixel box (a bar is s x s/3)."""
    h = max(2, s // 3) if shape == "bar" else s
    canvas = Image.new("L", (s, h), 0)
    draw = ImageDraw.Draw(canvas)
    points = _polygon(shape, s)
    if points is not None:
        draw.polygon(points, fill=255)
    elif shape == "disc":
        draw.ellipse([0, 0, s - 1, s - 1], fill=255)
    elif shape == "ring":
        draw.ellipse([0, 0, s - 1, s - 1], fill=255)
        k = max(2, s // 4)
        draw.ellipse([k, k, s - 1 - k, s - 1 - k], fill=0)
    elif shape == "cross":
        k = s // 3
        draw.rectangle([k, 0, s - 1 - k, s - 1], fill=255)
        draw.rectangle([0, k, s - 1, s - 1 - k], fill=255)
    else:  # square, bar
        draw.rectangle([0, 0, s - 1, h - 1], fill=255)
    return np.asarray(canvas) > 127


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth, muted random backdrop with fine noise (uint8 height x width x 3)."""
    coarse = rng.integers(70, 180, (3, 4, 3), dtype=np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR), np.int16)
    image = image + rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
    return image


def _draw(canvas: np.ndarray, name: str, mask: np.ndarray, x0: int, y0: int, alpha: float):
    """Draw class ``name`` through ``mask`` at top-left (x0, y0); return its clipped box."""
    _, colour, texture = CLASS_STYLES[name]
    h, w = mask.shape
    s = w
    pattern = np.empty((h, w, 3), np.int16)
    pattern[:] = PALETTE[colour]
    if texture == "striped":  # diagonal dark stripes, period ~ s/4
        yy, xx = np.mgrid[:h, :w]
        period = max(4, s // 4)
        pattern[((xx + yy) % period) < period // 2] = (40, 40, 40)
    H, W = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    m = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None]
    region = canvas[cy0:cy1, cx0:cx1]
    p = pattern[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
    blended = (alpha * p + (1 - alpha) * region).astype(np.int16)
    canvas[cy0:cy1, cx0:cx1] = np.where(m, blended, region)
    ys, xs = np.nonzero(m[..., 0])
    truncated = x0 < 0 or y0 < 0 or x0 + w > W or y0 + h > H
    # VOC boxes are 1-based inclusive pixel coordinates of the visible object
    box = (cx0 + xs.min() + 1, cy0 + ys.min() + 1, cx0 + xs.max() + 1, cy0 + ys.max() + 1)
    return box, truncated


def _scene(rng, width: int, height: int, max_objects: int, difficult_rate: float):
    canvas = _background(rng, width, height)
    counts = [c for c in OBJECT_COUNTS if c <= max_objects] or [1]
    p = np.array(OBJECT_COUNT_P[:len(counts)]) / sum(OBJECT_COUNT_P[:len(counts)])
    objects = []
    for _ in range(rng.choice(counts, p=p)):
        name = VOC_CLASSES[rng.integers(len(VOC_CLASSES))]
        short = min(width, height)
        difficult = rng.random() < difficult_rate
        s = int(short * (rng.uniform(0.08, 0.14) if difficult else rng.uniform(0.22, 0.6)))
        s = max(s, 6)
        mask = shape_mask(CLASS_STYLES[name][0], s)
        # the centre lies inside the frame (and not within 2 px of its edge), so at least
        # a quarter of the box shows; an object reaching beyond the frame is "truncated"
        x0 = int(rng.integers(2, width - 2) - mask.shape[1] / 2)
        y0 = int(rng.integers(2, height - 2) - mask.shape[0] / 2)
        box, truncated = _draw(canvas, name, mask, x0, y0, 0.45 if difficult else 1.0)
        objects.append(dict(name=name, bbox=box, difficult=int(difficult),
                            truncated=int(truncated), pose=POSES[rng.integers(len(POSES))]))
    return np.clip(canvas, 0, 255).astype(np.uint8), objects


def _xml(image_id: str, width: int, height: int, objects: list[dict]) -> str:
    parts = [f"<annotation>\n\t<folder>VOC2012</folder>\n\t<filename>{image_id}.jpg</filename>\n"
             "\t<source>\n\t\t<database>resnet_lib synthetic VOC</database>\n\t</source>\n"
             f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n"
             "\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n"]
    for o in objects:
        xmin, ymin, xmax, ymax = o["bbox"]
        parts.append(
            f"\t<object>\n\t\t<name>{o['name']}</name>\n\t\t<pose>{o['pose']}</pose>\n"
            f"\t\t<truncated>{o['truncated']}</truncated>\n"
            f"\t\t<difficult>{o['difficult']}</difficult>\n\t\t<bndbox>\n"
            f"\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
            f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n\t</object>\n")
    parts.append("</annotation>\n")
    return "".join(parts)


def make_synthetic_voc(
    root: str | os.PathLike,
    *,
    num_images: int,
    seed: int = 0,
    image_size: int | tuple[int, int] = 128,
    vary_aspect: bool = True,
    max_objects: int = 4,
    difficult_rate: float = 0.08,
    val_fraction: float = 0.5,
    quality: int = 90,
    overwrite: bool = False,
) -> Path:
    """Write ``root/VOCdevkit/VOC2012`` with ``num_images`` drawn scenes; return that folder.

    ``image_size`` is the width of landscape images (height 3/4 of it, like VOC's 500x375) or
    an explicit (width, height); with ``vary_aspect`` a third of the images are portrait.
    Images are split at random into train and val (``val_fraction``), trainval is both.
    Everything depends only on the arguments: calling again with the same ones returns the
    existing tree at once; different ones raise unless ``overwrite=True``.
    """
    if num_images < 2:
        raise ValueError(f"num_images={num_images}; expected at least 2 (train and val)")
    params = dict(num_images=num_images, seed=seed, image_size=image_size,
                  vary_aspect=vary_aspect, max_objects=max_objects,
                  difficult_rate=difficult_rate, val_fraction=val_fraction, quality=quality)
    voc = Path(root).expanduser() / "VOCdevkit" / "VOC2012"
    stamp = voc / STAMP
    if stamp.is_file() and json.loads(stamp.read_text()) == json.loads(json.dumps(params)):
        return voc
    if voc.exists():
        if not overwrite:
            raise FileExistsError(f"{voc} exists and was not made with these arguments; "
                                  "pass overwrite=True or another root")
        shutil.rmtree(voc)
    width, height = (image_size, image_size * 3 // 4) if isinstance(image_size, int) \
        else image_size
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = [f"2012_{i + 1:06d}" for i in range(num_images)]
    labels = {}
    for image_id in ids:
        w, h = (height, width) if vary_aspect and rng.random() < 1 / 3 else (width, height)
        image, objects = _scene(rng, w, h, max_objects, difficult_rate)
        Image.fromarray(image).save(voc / "JPEGImages" / f"{image_id}.jpg", quality=quality)
        (voc / "Annotations" / f"{image_id}.xml").write_text(_xml(image_id, w, h, objects))
        present = {o["name"] for o in objects if not o["difficult"]}
        only_difficult = {o["name"] for o in objects if o["difficult"]} - present
        labels[image_id] = {c: 1 if c in present else 0 if c in only_difficult else -1
                            for c in VOC_CLASSES}
    n_val = min(num_images - 1, max(1, round(num_images * val_fraction)))
    val = set(rng.choice(ids, size=n_val, replace=False).tolist())
    splits = {"train": [i for i in ids if i not in val], "val": [i for i in ids if i in val],
              "trainval": ids}
    main = voc / "ImageSets" / "Main"
    for split, members in splits.items():
        (main / f"{split}.txt").write_text("".join(f"{i}\n" for i in members))
        for c in VOC_CLASSES:  # the devkit's format: "<id> <label>", label right-aligned
            (main / f"{c}_{split}.txt").write_text(
                "".join(f"{i} {labels[i][c]:2d}\n" for i in members))
    stamp.write_text(json.dumps(params))
    return voc
