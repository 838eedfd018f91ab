"""resnet_lib.book's public ways into the library for chapters: the profile's small-image data,
the VOC folder that training used, and lesion studies keyed by the chapter's labels."""

import numpy as np
import pytest

from resnet_lib.book import small_image_data, small_image_input_shape
from resnet_lib.book.lesions import labelled_lesion_study
from resnet_lib.book.voc import training_voc_root

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


@pytest.mark.one_backend
def test_small_image_data_and_shape_follow_the_profile():
    assert small_image_input_shape("smoke") == small_image_input_shape("cpu") == (16, 16, 3)
    assert small_image_input_shape("gpu") == (32, 32, 3)  # CIFAR-10, from its file format, nothing loaded
    splits = small_image_data("cpu")
    assert splits.input_shape == (16, 16, 3) and len(splits.x_test) > 0


@pytest.mark.one_backend
def test_training_voc_root_is_the_folder_training_writes(tmp_path):
    from resnet_lib.data.voc import read_split
    from resnet_lib.train.sources import synthetic_voc_root

    root = training_voc_root("synthetic-voc", data_dir=tmp_path, synthetic_images=12)
    assert root.is_relative_to(synthetic_voc_root(tmp_path, 12))  # the tree fit(data="synthetic-voc") writes
    assert len(read_split(root, "trainval")) == 12
    assert training_voc_root("synthetic-voc", data_dir=tmp_path, synthetic_images=12) == root  # re-opened
    with pytest.raises(ValueError, match="data='digits'"):
        training_voc_root("digits", data_dir=tmp_path)
    with pytest.raises(ValueError, match="synthetic_images"):
        training_voc_root("synthetic-voc", data_dir=tmp_path)


@pytest.mark.one_backend
def test_labelled_lesion_study_keys_results_by_label_without_renaming():
    from resnet_lib.models import cifar_resnet

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 10, size=16)
    residual = cifar_resnet(8, input_shape=(16, 16, 3), name="same")
    plain = cifar_resnet(8, input_shape=(16, 16, 3), residual=False, name="same")
    results = labelled_lesion_study({"ResNet-8": residual, "plain-8": plain}, (x, y),
                                    deletions=(1,), swaps=(1,), trials=1)
    assert list(results) == ["ResNet-8", "plain-8"]
    assert [r.label for r in results.values()] == ["ResNet-8", "plain-8"]
    assert results["ResNet-8"].residual and not results["plain-8"].residual
    assert residual.name == plain.name == "same"
    with pytest.raises(TypeError, match="plain_model"):
        labelled_lesion_study({"a": residual}, (x, y), plain_model=plain)
