"""split_statistics against counts worked out by hand."""

import numpy as np
import pytest

from resnet_lib.data.voc.annotations import VOCObject, VOCRecord
from resnet_lib.data.voc.stats import split_statistics

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def _rec(i, *objects, size=(100, 50)):
    return VOCRecord(f"im{i}", None, None, size[0], size[1], 3, tuple(objects))


def test_hand_counted_statistics():
    records = [
        _rec(0, VOCObject("cat", (1, 1, 10, 10)), VOCObject("dog", (1, 1, 20, 5))),
        _rec(1, VOCObject("cat", (1, 1, 50, 50), truncated=True),
             VOCObject("cat", (2, 2, 4, 4)), VOCObject("person", (1, 1, 5, 5), difficult=True)),
        _rec(2, VOCObject("person", (1, 1, 100, 50))),
    ]
    s = split_statistics(records)
    assert (s.num_images, s.num_objects, s.num_difficult) == (3, 6, 1)
    assert s.images_per_class["cat"] == 2 and s.images_per_class["person"] == 1
    assert s.images_per_class["dog"] == 1 and sum(s.images_per_class.values()) == 4
    assert s.objects_per_class["cat"] == 3 and s.objects_per_class["person"] == 1
    assert s.single_label_images_per_class["cat"] == 2  # image 0: a 100 px tie, first wins
    np.testing.assert_array_equal(s.objects_per_image, [2, 3, 1])
    assert s.objects_per_image_histogram() == {1: 1, 2: 1, 3: 1}
    np.testing.assert_array_equal(s.classes_per_image, [2, 1, 1])
    assert s.multi_class_share == 1 / 3
    assert s.cooccurrence[7, 11] == 1 and s.cooccurrence[7, 7] == 2  # cat=7, dog=11
    np.testing.assert_array_equal(s.box_sizes[0], [10, 10])
    assert s.box_sizes.shape == (5, 2)
    np.testing.assert_allclose(s.box_relative_areas[-1], 1.0)
    assert s.truncated_share == 1 / 5
