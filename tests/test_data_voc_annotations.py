"""read_split, labels and splits on tiny synthetic VOC trees, and every bad-annotation case."""

import shutil
import warnings

import numpy as np
import pytest

from resnet_lib.data.splits import random_split, split_sizes
from resnet_lib.data.voc.synthetic import make_synthetic_voc
from resnet_lib.data.voc import (
    VOC_CLASSES, SkippedItem, VOCAnnotationWarning, VOCFormatError, devkit_labels,
    multi_hot_labels, read_split, seed_split, single_label,
)
from resnet_lib.data.voc.annotations import VOCObject, VOCRecord

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("voc")
    return make_synthetic_voc(root, num_images=24, seed=3, image_size=64)


@pytest.fixture
def voc(pristine, tmp_path):
    """A private copy to damage."""
    target = tmp_path / "VOCdevkit" / "VOC2012"
    shutil.copytree(pristine, target)
    return target


def _ids(voc, split="train"):
    return (voc / "ImageSets" / "Main" / f"{split}.txt").read_text().split()


def test_read_split_records(pristine):
    train, val, trainval = (read_split(pristine, s) for s in ("train", "val", "trainval"))
    assert [r.image_id for r in train] == _ids(pristine, "train")
    assert len(train) + len(val) == len(trainval) == 24
    assert not {r.image_id for r in train} & {r.image_id for r in val}
    r = train[0]
    assert r.image_path == pristine / "JPEGImages" / f"{r.image_id}.jpg"
    assert r.size[2] == 3 and r.objects
    obj = r.objects[0]
    assert obj.name in VOC_CLASSES and len(obj.bbox) == 4 and obj.pose
    with pytest.raises(Exception):  # frozen dataclass
        r.image_id = "x"


def test_root_may_be_voc2012_or_vocdevkit(pristine):
    ids = [r.image_id for r in read_split(pristine, "val")]
    assert [r.image_id for r in read_split(pristine.parent, "val")] == ids
    assert [r.image_id for r in read_split(pristine.parent.parent, "val")] == ids


def test_labels_match_devkit_per_class_files(pristine):
    """The (1, -1, 0) table equals what {class}_{split}.txt says, class by class."""
    records = read_split(pristine, "trainval")
    table = devkit_labels(records)
    main = pristine / "ImageSets" / "Main"
    for c, name in enumerate(VOC_CLASSES):
        lines = dict(line.split() for line in (main / f"{name}_trainval.txt").read_text()
                     .splitlines())
        assert [int(lines[r.image_id]) for r in records] == table[:, c].tolist(), name
    labels, mask = multi_hot_labels(records)
    assert labels.shape == mask.shape == (24, 20)
    np.testing.assert_array_equal(labels, table == 1)
    np.testing.assert_array_equal(mask, table != 0)


def _record(*objects):
    return VOCRecord("img", None, None, 100, 100, 3, tuple(objects))


def test_difficult_only_classes_are_masked_and_single_label_rule():
    rec = _record(
        VOCObject("cat", (1, 1, 10, 10)),  # area 100
        VOCObject("dog", (1, 1, 50, 50), difficult=True),  # largest, but difficult
        VOCObject("person", (1, 1, 20, 20)),  # area 400: largest non-difficult
        VOCObject("person", (1, 1, 5, 5), difficult=True),
    )
    labels, mask = multi_hot_labels([rec])
    cls = VOC_CLASSES.index
    assert labels[0, cls("cat")] == labels[0, cls("person")] == 1 and labels.sum() == 2
    assert mask[0, cls("dog")] == 0 and mask.sum() == 19  # person's difficult one ignored
    assert single_label(rec) == cls("person")
    assert single_label(_record(VOCObject("cow", (1, 1, 3, 3), difficult=True))) == cls("cow")
    with pytest.raises(VOCFormatError, match="img"):
        single_label(_record())


def _corrupt(voc, image_id, text):
    (voc / "Annotations" / f"{image_id}.xml").write_text(text)


GOOD_HEAD = "<annotation><size><width>64</width><height>48</height><depth>3</depth></size>"


@pytest.mark.parametrize("text, message", [
    ("<annotation><size>", "malformed XML"),
    ("<annotation></annotation>", "no <size>"),
    ("<annotation><size><width>64</width></size></annotation>", "no <height>"),
    (GOOD_HEAD + "<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax>"
     "</bndbox></object></annotation>", "no <name>"),
    (GOOD_HEAD + "<object><name>cat</name></object></annotation>", "no <bndbox>"),
    (GOOD_HEAD + "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax>"
     "</bndbox></object></annotation>", "no <ymax>"),
    (GOOD_HEAD + "<object><name>cat</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>9</xmax>"
     "<ymax>9</ymax></bndbox></object></annotation>", "not a number"),
    (GOOD_HEAD + "<object><name>unicorn</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9"
     "</xmax><ymax>9</ymax></bndbox></object></annotation>", "unknown class 'unicorn'"),
])
def test_bad_annotation_raises_naming_the_file(voc, text, message):
    image_id = _ids(voc)[1]
    _corrupt(voc, image_id, text)
    with pytest.raises(VOCFormatError, match=message) as info:
        read_split(voc, "train")
    assert f"{image_id}.xml" in str(info.value)


def test_zero_area_and_outside_boxes_warn_naming_the_file(voc):
    image_id = _ids(voc)[0]
    box = "<object><name>cat</name><bndbox><xmin>{}</xmin><ymin>5</ymin><xmax>{}</xmax>" \
          "<ymax>9</ymax></bndbox></object>"
    _corrupt(voc, image_id, GOOD_HEAD + box.format(20, 10) + box.format(1, 90) + "</annotation>")
    with pytest.warns(VOCAnnotationWarning) as caught:
        records = read_split(voc, "train")
    messages = [str(w.message) for w in caught]
    assert any("zero-area" in m and f"{image_id}.xml" in m for m in messages)
    assert any("outside" in m and f"{image_id}.xml" in m for m in messages)
    assert len(records[0].objects) == 2  # kept: the class is still in the image


def test_missing_annotation_or_image(voc):
    a, b = _ids(voc)[:2]
    (voc / "Annotations" / f"{a}.xml").unlink()
    with pytest.raises(FileNotFoundError, match=f"{a}.*train.txt.*annotation"):
        read_split(voc, "train")
    (voc / "JPEGImages" / f"{b}.jpg").unlink()
    skipped = []
    with pytest.warns(VOCAnnotationWarning, match="skipping"):
        records = read_split(voc, "train", on_error="skip", skipped=skipped)
    assert len(records) == len(_ids(voc)) - 2
    assert [s.image_id for s in skipped] == [a, b]
    assert all(isinstance(s, SkippedItem) and s.reason for s in skipped)
    assert "has no image" in skipped[1].reason and f"{b}.jpg" in skipped[1].reason


def test_missing_split_file_and_wrong_root(voc, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"test\.txt is missing.*train"):
        read_split(voc, "test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty.*is empty.*JPEGImages.*Annotations"):
        read_split(empty, "train")
    with pytest.raises(FileNotFoundError, match="does not exist.*ImageSets/Main"):
        read_split(tmp_path / "nowhere", "train")
    shutil.rmtree(voc / "Annotations")
    with pytest.raises(FileNotFoundError, match="expected VOCdevkit/VOC2012"):
        read_split(voc, "train")
    with pytest.raises(ValueError, match="on_error"):
        read_split(voc, "train", on_error="ignore")


def test_random_split_is_seeded_disjoint_and_complete():
    items = [f"id{i}" for i in range(103)]
    a, b = random_split(items, seed=1), random_split(items, seed=1)
    assert a == b and a != random_split(items, seed=2)
    assert [len(a[k]) for k in ("train", "val", "test")] == split_sizes(103, (0.8, 0.1, 0.1))
    assert sorted(a["train"] + a["val"] + a["test"]) == sorted(items)
    assert split_sizes(10, (8, 1, 1)) == [8, 1, 1]


def test_seed_split_of_trainval(pristine):
    parts = seed_split(pristine, seed=0)
    ids = [[r.image_id for r in parts[k]] for k in ("train", "val", "test")]
    assert sum(map(len, ids)) == 24 and len(set(sum(ids, []))) == 24
    assert ids == [[r.image_id for r in seed_split(pristine, seed=0)[k]]
                   for k in ("train", "val", "test")]
