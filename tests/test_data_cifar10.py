"""read_cifar10 and load_cifar10(source=...): every local form, and every bad input named.

Generated copies (small, written here) check the formats and the errors; the real copy in the
shared data folder beside the checkout (see tests/real_data.py) checks counts, labels and
order on all 60,000 images. Those tests skip, saying why, where that folder is absent.
"""

import io
import os
import pickle
import tarfile
import warnings

import numpy as np
import pytest
from PIL import Image

from resnet_lib.data import cifar10
from resnet_lib.data.cifar10 import (
    CIFAR10_CLASSES, CIFAR10DroppedWarning, CIFAR10FormatError, UnsafeArchiveError, read_cifar10,
)
from resnet_lib.data.small_images import load_cifar10
from real_data import shared_data

pytestmark = pytest.mark.one_backend

RNG = np.random.default_rng(0)


def _tree(root, *, train=2, test=1, suffix=".png", names=None):
    """An image tree root/{train,test}/<class>/<k>.png of random 32x32 RGB images."""
    images = {}
    for split, n in (("train", train), ("test", test)):
        for c in CIFAR10_CLASSES:
            folder = root / split / c
            folder.mkdir(parents=True)
            for k in (names or range(n)):
                pixels = RNG.integers(0, 256, (32, 32, 3), np.uint8)
                Image.fromarray(pixels).save(folder / f"{k}{suffix}")
                images[split, c, str(k)] = pixels
    return images


def _tar(folder, archive, *, arcname):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return archive


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fake", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), np.uint8), b"filenames": [b"x.png"] * n}


def _batches_folder(folder, n=4):
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate((*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH)):
        batches[name] = _batch(n, i)
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=2))
    return batches


def test_image_tree_counts_labels_and_numeric_order(tmp_path):
    images = _tree(tmp_path / "copy", train=2, test=1)
    a = read_cifar10(tmp_path / "copy", expected_counts=None)
    assert a.x_train.shape == (20, 32, 32, 3) and a.x_test.shape == (10, 32, 32, 3)
    assert a.x_train.dtype == np.uint8 and a.form == "image-tree" and len(a.sha256) == 64
    assert a.y_train.tolist() == [k for k in range(10) for _ in range(2)]
    assert a.y_test.tolist() == list(range(10))
    for k, c in enumerate(CIFAR10_CLASSES):  # labels follow the folders, order the file names
        np.testing.assert_array_equal(a.x_train[2 * k + 1], images["train", c, "1"])
        np.testing.assert_array_equal(a.x_test[k], images["test", c, "0"])
    numeric = _tree(tmp_path / "numeric", names=[2, 10, 9])
    b = read_cifar10(tmp_path / "numeric", expected_counts=None)
    cat = b.x_test[b.y_test == 3]
    for i, name in enumerate(("2", "9", "10")):  # by number, not "10" < "2"
        np.testing.assert_array_equal(cat[i], numeric["test", "cat", name])


def test_an_archive_of_the_tree_reads_the_same_and_a_parent_folder_too(tmp_path):
    _tree(tmp_path / "cifar10-png")
    archive = _tar(tmp_path / "cifar10-png", tmp_path / "copy.tar.gz", arcname="cifar10-png")
    folder = read_cifar10(tmp_path / "cifar10-png", expected_counts=None)
    packed = read_cifar10(archive, expected_counts=None)
    parent = read_cifar10(tmp_path, expected_counts=None)  # holds one tree: found
    for other in (packed, parent):
        np.testing.assert_array_equal(folder.x_train, other.x_train)
        np.testing.assert_array_equal(folder.y_test, other.y_test)
    assert packed.form == "image-tree-archive" and packed.sha256 == cifar10.sha256_of(archive)


def test_jpeg_trees_are_read(tmp_path):
    _tree(tmp_path / "jpeg", suffix=".jpg")
    a = read_cifar10(tmp_path / "jpeg", expected_counts=None)
    assert a.x_test.shape == (10, 32, 32, 3)


def test_batches_folder_and_official_archive(tmp_path, monkeypatch):
    batches = _batches_folder(tmp_path / "cifar-10-batches-py")
    a = read_cifar10(tmp_path / "cifar-10-batches-py", expected_counts=None)
    assert a.form == "batches-folder" and a.x_train.shape == (20, 32, 32, 3)
    first = batches["data_batch_1"][b"data"][0]
    # a row is 1024 red, then green, then blue values, each image row-major
    np.testing.assert_array_equal(a.x_train[0, :, :, 0].ravel(), first[:1024])
    np.testing.assert_array_equal(a.x_train[0, 0, 1], first[[1, 1025, 2049]])
    assert a.y_test.tolist() == batches["test_batch"][b"labels"]
    assert read_cifar10(tmp_path, expected_counts=None).form == "batches-folder"  # the parent

    archive = _tar(tmp_path / "cifar-10-batches-py", tmp_path / "cifar-10-python.tar.gz",
                   arcname="cifar-10-batches-py")
    with pytest.raises(CIFAR10FormatError, match="does not match the official"):
        read_cifar10(archive, expected_counts=None)
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", cifar10.sha256_of(archive))
    b = read_cifar10(archive, expected_counts=None)
    assert b.form == "official-archive"
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_a_doctored_batch_cannot_run_code(tmp_path):
    _batches_folder(tmp_path / "b")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (tmp_path / "b" / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(CIFAR10FormatError, match="test_batch.*not allowed"):
        read_cifar10(tmp_path / "b", expected_counts=None)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("damage, message", [
    ("missing_class", "missing truck"),
    ("unknown_class", "unknown trucks"),
    ("small_image", r"cat/0\.png: a 31x32 RGB image; expected 32x32 RGB"),
    ("grey_image", r"cat/0\.png: a 32x32 L image"),
    ("corrupt_image", r"cat/0\.png: not a readable PNG or JPEG"),
    ("no_test", "test: missing"),
])
def test_bad_trees_are_named(tmp_path, damage, message):
    _tree(tmp_path / "t")
    cat = tmp_path / "t" / "train" / "cat" / "0.png"
    if damage == "missing_class":
        for p in (tmp_path / "t" / "train" / "truck").iterdir():
            p.unlink()
        (tmp_path / "t" / "train" / "truck").rmdir()
    elif damage == "unknown_class":
        (tmp_path / "t" / "train" / "trucks").mkdir()
    elif damage == "small_image":
        Image.fromarray(np.zeros((32, 31, 3), np.uint8)).save(cat)
    elif damage == "grey_image":
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(cat)
    elif damage == "corrupt_image":
        cat.write_bytes(cat.read_bytes()[:40])
    elif damage == "no_test":
        import shutil

        shutil.rmtree(tmp_path / "t" / "test")
    with pytest.raises(CIFAR10FormatError, match=message):
        read_cifar10(tmp_path / "t", expected_counts=None)


def test_counts_other_than_50000_10000_are_refused(tmp_path):
    _tree(tmp_path / "t")
    with pytest.raises(CIFAR10FormatError, match=r"20 train images; CIFAR-10 has 50,000"):
        read_cifar10(tmp_path / "t")
    with pytest.raises(CIFAR10FormatError, match="10 test images"):
        read_cifar10(tmp_path / "t", expected_counts={"test": 10_000})


def test_files_that_are_not_images_are_reported_not_dropped_silently(tmp_path):
    _tree(tmp_path / "t")
    (tmp_path / "t" / "train" / "dog" / "notes.txt").write_text("x")
    (tmp_path / "t" / "test" / ".DS_Store").write_bytes(b"\0")
    with pytest.warns(CIFAR10DroppedWarning, match="2 file"):
        a = read_cifar10(tmp_path / "t", expected_counts=None)
    assert [os.path.basename(d) for d in a.dropped] == [".DS_Store", "notes.txt"]
    assert a.provenance()["dropped"] == list(a.dropped)


def test_unsafe_archives_are_refused(tmp_path):
    for name, member in (("escape", "../evil.png"), ("absolute", "/tmp/evil.png")):
        archive = tmp_path / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo(member)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        with pytest.raises(UnsafeArchiveError, match="outside its folder"):
            read_cifar10(archive, expected_counts=None)
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("t/train/cat/0.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(UnsafeArchiveError, match="link"):
        read_cifar10(archive, expected_counts=None)


def test_not_cifar_at_all(tmp_path):
    (tmp_path / "file.txt").write_text("hello")
    with pytest.raises(CIFAR10FormatError, match="file.txt: not a tar archive"):
        read_cifar10(tmp_path / "file.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CIFAR10FormatError, match="found neither"):
        read_cifar10(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_cifar10(tmp_path / "nowhere")


def test_load_cifar10_reads_source_or_the_environment(tmp_path, monkeypatch):
    calls = []
    real = cifar10.read_cifar10

    def small(source, **kwargs):
        calls.append(str(source))
        return real(source, expected_counts=None)

    import resnet_lib.data.small_images as small_images

    monkeypatch.setattr(small_images, "read_cifar10", small)
    _tree(tmp_path / "t", train=3, test=1)
    s = load_cifar10(source=tmp_path / "t", validation_size=10, seed=1)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (20, 10, 10)
    assert s.provenance["form"] == "image-tree" and s.provenance["sha256"]
    monkeypatch.setenv("RESNET_CIFAR10", str(tmp_path / "t"))
    again = load_cifar10(validation_size=10, seed=1)
    np.testing.assert_array_equal(again.x_val, s.x_val)
    assert calls == [str(tmp_path / "t")] * 2


def test_offline_message_says_what_works(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.delenv("RESNET_CIFAR10", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(ConnectionError) as info:
        load_cifar10()
    text = str(info.value)
    for needed in ("source=", "RESNET_CIFAR10", "--data-source", cifar10.CIFAR10_SHA256,
                   "cifar-10-batches-py", "load_digits"):
        assert needed in text
    assert "~/.keras/datasets" not in text  # Keras 3 ignores a file put there under that name


# ---------------------------------------------------------------- the real copy (shared data)
@pytest.fixture(scope="module")
def real_cifar():
    archive = shared_data("cifar10-jpeg.tar.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CIFAR10DroppedWarning)  # nothing may be left out
        return load_cifar10(source=archive), archive


def test_real_copy_counts_per_class_and_split(real_cifar):
    s, _ = real_cifar
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (45_000, 5_000, 10_000)
    assert np.bincount(np.concatenate([s.y_train, s.y_val])).tolist() == [5_000] * 10
    assert np.bincount(s.y_test).tolist() == [1_000] * 10
    assert s.provenance["sha256"] == "0b922c5ce23e775f1f6103e67089aa49e46b3dea77ff262eb12c687d97a91167"
    assert s.x_train.dtype == np.uint8 and s.input_shape == (32, 32, 3)
    assert 0.4 < float(s.pixel_mean.mean()) < 0.55  # CIFAR-10's mean grey level is ~0.47


def test_real_copy_labels_match_the_class_folders(real_cifar):
    s, archive = real_cifar
    with tarfile.open(archive) as tar:
        for k, c in ((0, "airplane"), (3, "cat"), (9, "truck")):
            data = tar.extractfile(f"cifar10-jpeg/test/{c}/0017.jpg").read()
            expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            np.testing.assert_array_equal(s.x_test[s.y_test == k][17], expected)


def test_real_copy_keeps_the_per_class_order_of_the_test_batch(real_cifar):
    """The lossless official test images 0-19 are found at their per-class rank."""
    s, _ = real_cifar
    folder = shared_data("cifar10-test-lossless")
    pngs = sorted(folder.glob("cifar10_*.png"))
    assert len(pngs) == 20
    labels = [int(p.stem.split("_")[2]) for p in pngs]
    for index, (path, label) in enumerate(zip(pngs, labels)):
        rank = labels[:index].count(label)  # earlier test images of the same class
        lossless = np.asarray(Image.open(path).convert("RGB")).astype(np.float64)
        same_class = s.x_test[s.y_test == label][:8].astype(np.float64)
        errors = np.abs(same_class - lossless).mean(axis=(1, 2, 3))
        assert int(np.argmin(errors)) == rank, (path.name, errors.round(1))
        assert errors[rank] < 10  # a JPEG copy: a few grey levels off on average
