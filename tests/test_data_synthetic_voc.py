"""make_synthetic_voc: a complete, reproducible VOC tree with varied, learnable scenes."""

import json

import numpy as np
import pytest
from PIL import Image

from resnet_lib.data.voc.synthetic import CLASS_STYLES, make_synthetic_voc, shape_mask
from resnet_lib.data.voc import VOC_CLASSES, read_split
from resnet_lib.data.voc.stats import split_statistics

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def test_tree_layout_and_contents(tmp_path):
    voc = make_synthetic_voc(tmp_path, num_images=40, seed=1, image_size=64)
    assert voc == tmp_path / "VOCdevkit" / "VOC2012"
    main = voc / "ImageSets" / "Main"
    for split in ("train", "val", "trainval"):
        assert (main / f"{split}.txt").is_file()
        for name in VOC_CLASSES:
            labels = {line.split()[1] for line in (main / f"{name}_{split}.txt").read_text()
                      .splitlines()}
            assert labels <= {"1", "-1", "0"}
    records = read_split(voc, "trainval")
    assert len(records) == 40 and len(list((voc / "JPEGImages").iterdir())) == 40
    sizes = {Image.open(r.image_path).size for r in records}
    assert sizes == {(64, 48), (48, 64)}  # landscape and portrait, like VOC
    for r in records:
        assert (r.width, r.height) == Image.open(r.image_path).size
        for o in r.objects:
            xmin, ymin, xmax, ymax = o.bbox
            assert 1 <= xmin <= xmax <= r.width and 1 <= ymin <= ymax <= r.height
    stats = split_statistics(records)
    assert stats.num_difficult > 0 and 0 < stats.truncated_share < 1
    assert 0 < stats.multi_class_share < 1 and stats.objects_per_image.max() > 1


def test_reproducible_and_idempotent(tmp_path):
    a = make_synthetic_voc(tmp_path / "a", num_images=6, seed=7, image_size=48)
    b = make_synthetic_voc(tmp_path / "b", num_images=6, seed=7, image_size=48)
    for sub in ("Annotations/2012_000003.xml", "JPEGImages/2012_000003.jpg",
                "ImageSets/Main/val.txt"):
        assert (a / sub).read_bytes() == (b / sub).read_bytes()
    mtime = (a / "JPEGImages" / "2012_000001.jpg").stat().st_mtime_ns
    assert make_synthetic_voc(tmp_path / "a", num_images=6, seed=7, image_size=48) == a
    assert (a / "JPEGImages" / "2012_000001.jpg").stat().st_mtime_ns == mtime
    with pytest.raises(FileExistsError, match="overwrite"):
        make_synthetic_voc(tmp_path / "a", num_images=6, seed=8, image_size=48)
    make_synthetic_voc(tmp_path / "a", num_images=5, seed=8, image_size=48, overwrite=True)
    assert json.loads((a / ".synthetic_voc.json").read_text())["num_images"] == 5
    assert len(read_split(a, "trainval")) == 5


def test_classes_are_distinct_drawings():
    styles = list(CLASS_STYLES.values())
    assert len(set(styles)) == 20  # every class its own shape + colour + texture
    masks = {shape: shape_mask(shape, 24) for shape, _, _ in styles}
    assert len({m.tobytes() for m in masks.values()}) == len(masks)
    assert all(m.any() for m in masks.values())


def test_single_object_class_is_visible_in_pixels(tmp_path):
    """A solid object's colour is what its class says, inside its box."""
    voc = make_synthetic_voc(tmp_path, num_images=30, seed=2, image_size=96,
                             max_objects=1, difficult_rate=0.0)
    from resnet_lib.data.voc.synthetic import PALETTE
    checked = 0
    for r in read_split(voc, "trainval"):
        (obj,) = r.objects
        shape, colour, texture = CLASS_STYLES[obj.name]
        if texture != "solid":
            continue
        xmin, ymin, xmax, ymax = (int(v) for v in obj.bbox)
        crop = np.asarray(Image.open(r.image_path), float)[ymin - 1:ymax, xmin - 1:xmax]
        distance = np.abs(crop - np.array(PALETTE[colour])).sum(-1)
        assert (distance < 60).mean() > 0.2, (r.image_id, obj.name)
        checked += 1
    assert checked > 5
