"""resnet_lib.book.voc on a tiny synthetic VOC: boxes drawn, the seed's folders, leaks, throughput."""

import numpy as np
import pytest

from resnet_lib.book import voc as book_voc


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    from resnet_lib.data.voc.synthetic import make_synthetic_voc
    from resnet_lib.data.voc import read_split

    root = make_synthetic_voc(tmp_path_factory.mktemp("voc"), num_images=12, seed=0, image_size=64)
    return read_split(root, "trainval")


def test_examples_figure_draws_one_box_per_object(records):
    figure = book_voc.examples_figure(records[:4], columns=2)
    axes = [a for a in figure.axes if a.images]
    assert len(axes) == 4
    assert [len(a.patches) for a in axes] == [len(r.objects) for r in records[:4]]


def test_seed_class_folders(records, tmp_path):
    largest = book_voc.seed_class_folders(records, tmp_path / "largest", mode="largest")
    every = book_voc.seed_class_folders(records, tmp_path / "every", mode="every")
    assert len(list(largest.rglob("*.jpg"))) == len(records)
    expected = sum(len({o.name for o in r.objects if not o.difficult}) for r in records)
    assert len(list(every.rglob("*.jpg"))) == expected
    with pytest.raises(ValueError, match="mode"):
        book_voc.seed_class_folders(records, tmp_path / "x", mode="some")


def test_duplicated_across_splits_counts_images_not_files(records):
    from resnet_lib.data.splits import random_split

    out = book_voc.duplicated_across_splits(records, seed=0)
    assert out == book_voc.duplicated_across_splits(records, seed=0)
    classes = [sorted({o.name for o in r.objects if not o.difficult}) for r in records]
    assert out["files"] == sum(map(len, classes))  # one file per (image, class) folder
    assert out["images"] == sum(1 for c in classes if c)
    # the same split of the files, counted here image by image
    parts = random_split([(r.image_id, c) for r, cs in zip(records, classes) for c in cs], seed=0)
    part_of = {name: {image_id for image_id, _ in members} for name, members in parts.items()}
    several = [r.image_id for r in records if sum(r.image_id in ids for ids in part_of.values()) > 1]
    both = [r.image_id for r in records if r.image_id in part_of["train"] and r.image_id in part_of["test"]]
    assert out["images_in_several_parts"] == len(several) > 0  # this fixture leaks at seed 0
    assert out["train_and_test"] == len(both)


def test_seed_generator_and_throughput(records, tmp_path):
    folders = book_voc.seed_class_folders(records, tmp_path / "largest", mode="largest")
    generator = book_voc.seed_generator(folders, image_size=32, batch_size=4)
    images, labels = next(generator)
    assert images.shape == (4, 32, 32, 3) and 0.0 <= images.min() and images.max() <= 1.0  # rescaled
    assert labels.shape == (4, generator.num_classes) and (labels.sum(axis=1) == 1).all()
    rate = book_voc.images_per_second(lambda: book_voc.seed_generator(folders, image_size=32, batch_size=4),
                                      steps=2)
    assert rate > 0


def test_images_per_second_counts_images_over_the_elapsed_time():
    import time

    def batches():  # 5 images per batch, 0.05 s each: 100 images/s at most
        while True:
            time.sleep(0.05)
            yield (np.zeros((5, 2, 2, 3)),)

    rate = book_voc.images_per_second(batches, steps=4)
    assert 50 < rate <= 100, rate  # 20 images in 0.2 s plus overhead
    with pytest.raises(ValueError, match="no batch"):
        book_voc.images_per_second(lambda: iter(()), steps=1)
