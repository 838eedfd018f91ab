"""The VOC annotation reader and labels on real Pascal VOC files, not synthetic ones.

Data: ``voc-samples/`` in the shared data folder beside the checkout (``tests/real_data.py``;
``$RESNET_SHARED_DATA`` overrides it), never copied into the repository; without it every test
here skips. It holds real VOC images with their official XML from open-mmlab/mmfewshot
(``tests/data/VOCdevkit``: five VOC2012 and five VOC2007 images) and blue-oil/blueoil
(``tests/unit/fixtures/datasets``: VOC2007 000085 and the VOC2012 Action-style 2012_002012),
both Apache-2.0.

Checked: every split of the four devkit trees reads without a warning; boxes, sizes and
"difficult" flags agree with an independent ``ElementTree`` reading of the same XML; the
multi-hot labels, the "difficult" mask, the devkit table and ``single_label`` agree with values
computed here from that reading; the real quirks (person ``<part>`` boxes, "22." and "336."
coordinates, an Action record without ``<truncated>`` and with its tags in alphabetical order,
VOC2007 records in a VOC2012 folder); and every JPEG passes ``check_jpeg`` with the size its
XML states. No TensorFlow is needed.
"""

import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from real_data import shared_data
from resnet_lib.data import voc
from resnet_lib.data.voc.annotations import CLASS_INDEX, VOCAnnotationWarning

pytestmark = pytest.mark.one_backend

TREES = {  # name -> (devkit folder, year folder, split files it holds)
    "mmfewshot-2012": ("mmfewshot-VOCdevkit", "VOC2012", ("trainval", "test")),
    "mmfewshot-2007": ("mmfewshot-VOCdevkit", "VOC2007", ("trainval", "test")),
    "blueoil-2007": ("blueoil-VOC2007-VOCdevkit", "VOC2007", ("train", "val", "trainval")),
    "blueoil-2012": ("blueoil-VOC2012-VOCdevkit", "VOC2012", ("train", "val", "trainval")),
}
BOX = ("xmin", "ymin", "xmax", "ymax")


@pytest.fixture(autouse=True)
def _seed():
    """These tests hold no Keras state: skip conftest's per-test seeding and clear_session."""
    yield


@pytest.fixture(scope="module")
def samples():
    return shared_data("voc-samples")


@pytest.fixture(scope="module")
def records(samples):
    """Every trainval record of the four trees, read with warnings as errors: id -> record."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", VOCAnnotationWarning)
        for devkit, year, _ in TREES.values():
            out.update((r.image_id, r) for r in voc.read_split(samples / devkit / year, "trainval"))
    return out


def from_xml(path):
    """((width, height, depth), [(name, box, difficult)]) of the top-level objects, by hand."""
    root = ET.parse(path).getroot()
    size = tuple(int(root.find("size").findtext(t)) for t in ("width", "height", "depth"))
    objects = [(o.findtext("name").strip(), tuple(float(o.find("bndbox").findtext(t)) for t in BOX),
                (o.findtext("difficult") or "0").strip() == "1") for o in root.findall("object")]
    return size, objects


def expected_labels(objects):
    labels, mask = np.zeros(20, np.float32), np.ones(20, np.float32)
    for name in {n for n, _, _ in objects}:
        normal = any(n == name and not d for n, _, d in objects)
        labels[CLASS_INDEX[name]], mask[CLASS_INDEX[name]] = float(normal), float(normal)
    return labels, mask


@pytest.mark.parametrize("tree", TREES)
def test_every_split_of_every_tree_reads_and_matches_the_xml(samples, tree):
    devkit, year, splits = TREES[tree]
    root = samples / devkit / year
    assert voc.resolve_root(root) == root
    annotated = sorted(p.stem for p in (root / "Annotations").glob("*.xml"))
    for split in splits:
        listed = (root / "ImageSets" / "Main" / f"{split}.txt").read_text().split()
        with warnings.catch_warnings():
            warnings.simplefilter("error", VOCAnnotationWarning)  # real boxes lie in the image
            recs = voc.read_split(root, split)
        assert [r.image_id for r in recs] == listed and sorted(listed) == annotated
        for r in recs:
            size, objects = from_xml(r.annotation_path)
            assert r.size == size and r.image_path == root / "JPEGImages" / f"{r.image_id}.jpg"
            assert [(o.name, o.bbox, o.difficult) for o in r.objects] == objects
            assert voc.parse_annotation(r.annotation_path) == (size, list(r.objects))


def test_labels_mask_devkit_table_and_single_label_match_the_xml(records):
    recs = list(records.values())
    expected = [expected_labels(from_xml(r.annotation_path)[1]) for r in recs]
    labels, mask = voc.multi_hot_labels(recs)
    np.testing.assert_array_equal(labels, np.stack([e[0] for e in expected]))
    np.testing.assert_array_equal(mask, np.stack([e[1] for e in expected]))
    np.testing.assert_array_equal(voc.devkit_labels(recs), labels * 2 - mask)  # 1 / 0 / -1
    for r in recs:  # largest non-difficult box, inclusive pixels, first on ties
        objects = [o for o in from_xml(r.annotation_path)[1] if not o[2]]
        areas = [(b[2] - b[0] + 1) * (b[3] - b[1] + 1) for _, b, _ in objects]
        assert voc.single_label(r) == CLASS_INDEX[objects[int(np.argmax(areas))][0]]
    # Concrete facts, read off the XML: of all 12 images only 000085 has a class seen only as
    # difficult (its diningtable); its person and 000005's chair are difficult and normal.
    masked = [(r.image_id, voc.VOC_CLASSES[c]) for r, row in zip(recs, mask) for c in
              np.flatnonzero(row == 0)]
    assert len(recs) == 12 and masked == [("000085", "diningtable")]
    row = dict(zip(voc.VOC_CLASSES, voc.devkit_labels([records["000085"]])[0]))
    assert (row["chair"], row["diningtable"], row["person"], row["dog"]) == (1, 0, 1, -1)
    assert voc.multi_hot_labels([records["000005"]])[0][0, CLASS_INDEX["chair"]] == 1


def test_2007_000032_and_person_parts(samples, records):
    r = records["2007_000032"]
    assert r.size == (500, 281, 3) and len(r.objects) == 4
    assert {o.name for o in r.objects} == {"aeroplane", "person"}
    assert r.objects[0] == voc.VOCObject("aeroplane", (104, 78, 375, 183), False, False, "Frontal")
    assert voc.single_label(r) == CLASS_INDEX["aeroplane"]
    # 2007_000027: one person with four <part>s (head, hand, foot, foot), each with a <name>
    # and a <bndbox>; the parts are neither objects nor classes, and the box is the person's.
    xml = ET.parse(records["2007_000027"].annotation_path).getroot()
    assert [p.findtext("name") for p in xml.iter("part")] == ["head", "hand", "foot", "foot"]
    assert [(o.name, o.bbox) for o in records["2007_000027"].objects] == \
        [("person", (174, 101, 349, 351))]
    # VOC2007-era records ("The VOC2007 Database") sit in the VOC2012 folder and read fine.
    v2012 = samples / "mmfewshot-VOCdevkit" / "VOC2012"
    assert voc.resolve_root(samples / "mmfewshot-VOCdevkit") == v2012
    assert xml.find("source").findtext("database") == "The VOC2007 Database"


def test_trailing_dot_coordinates_and_the_action_record(records):
    people = [o for o in records["000085"].objects if o.name == "person"]  # "22." "70." ...
    assert [(o.bbox, o.difficult) for o in people] == [((22, 70, 254, 327), False),
                                                       ((338, 12, 500, 199), True)]
    r = records["2012_002012"]  # <actions>, <point>, "336.", tags alphabetical, no <truncated>
    xml = ET.parse(r.annotation_path).getroot()
    assert xml.find("object/truncated") is None and xml.find("object/point") is not None
    assert [e.tag for e in xml.find("object/bndbox")] == ["xmax", "xmin", "ymax", "ymin"]
    assert r.size == (500, 375, 3)
    assert r.objects == (voc.VOCObject("person", (191, 68, 336, 375), False, False),)


def test_jpegs_pass_check_jpeg_at_the_annotated_size(records):
    for r in records.values():  # every XML size agrees with its JPEG
        info = voc.check_jpeg(r.image_path)
        assert (info.width, info.height, info.mode) == (r.width, r.height, "RGB")
        assert info.num_bytes == r.image_path.stat().st_size
        with Image.open(r.image_path) as image:
            pixels = np.asarray(image)  # decodes in full
        assert pixels.shape == (r.height, r.width, 3)
        # 2012_002012 is a near-black placeholder (JPEG noise, mean about 1 grey level).
        assert (pixels.mean() < 2) == (r.image_id == "2012_002012")
    path = records["000001"].image_path  # the low-quality re-encode: progressive, 10 kB
    with Image.open(path) as image:
        assert image.info.get("progressive") and path.stat().st_size < 16_000
