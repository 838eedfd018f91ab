"""The VOC source's parts: train and minival are disjoint and make up the official train split;
the official val split (the test set) shares no image with either."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from resnet_lib.data.voc import read_split  # noqa: E402
from resnet_lib.data.voc.synthetic import make_synthetic_voc  # noqa: E402
from resnet_lib.train.sources import voc_source  # noqa: E402


def _images(ds):
    return [image.tobytes() for batch in ds for image in batch[0].numpy()]


def test_train_and_minival_are_disjoint_and_cover_the_train_split(tmp_path):
    root = make_synthetic_voc(tmp_path / "voc", num_images=40, seed=1, image_size=32)
    source = voc_source(root, image_size=16, batch_size=4, seed=0, augment=False, holdout=0.25)
    train = _images(source.train(0))
    minival = _images(source.val())
    test = _images(source.test())
    assert len(set(train)) == len(train) and len(set(minival)) == len(minival)  # distinct images
    assert minival and not set(train) & set(minival)
    assert not (set(train) | set(minival)) & set(test)
    assert len(train) + len(minival) == len(read_split(root, "train"))
    assert len(test) == len(read_split(root, "val"))
    assert abs(len(minival) - 0.25 * len(read_split(root, "train"))) <= 1
    np.testing.assert_equal(_images(source.val()), minival)  # the same minival every time
