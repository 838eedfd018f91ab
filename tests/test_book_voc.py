"""resnet_lib.book.voc on a tiny synthetic VOC: boxes drawn, the seed's folders, leaks, throughput."""

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
    out = book_voc.duplicated_across_splits(records, seed=0)
    assert out == book_voc.duplicated_across_splits(records, seed=0)
    assert out["files"] >= out["images"] >= out["images_in_several_parts"] >= out["train_and_test"] >= 0
    multi = sum(len({o.name for o in r.objects if not o.difficult}) > 1 for r in records)
    assert out["images_in_several_parts"] <= multi


def test_seed_generator_and_throughput(records, tmp_path):
    folders = book_voc.seed_class_folders(records, tmp_path / "largest", mode="largest")
    rate = book_voc.images_per_second(lambda: book_voc.seed_generator(folders, image_size=32, batch_size=4),
                                      steps=2)
    assert rate > 0
    with pytest.raises(ValueError, match="no batch"):
        book_voc.images_per_second(lambda: iter(()), steps=1)
