"""download_voc2012 end to end and offline: file:// URLs, checksums, unsafe archives."""

import hashlib
import io
import os
import tarfile

import pytest

from resnet_lib.data.voc.synthetic import make_synthetic_voc
from resnet_lib.data.voc import DownloadError, UnsafeArchiveError, download_voc2012, read_split
from resnet_lib.data.voc.download import COMPLETE_MARKER

pytestmark = pytest.mark.one_backend


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A small VOC-format tar (VOCdevkit/VOC2012/...) and its MD5."""
    work = tmp_path_factory.mktemp("src")
    voc = make_synthetic_voc(work, num_images=6, seed=0, image_size=32)
    path = work / "voc.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(voc.parent, arcname="VOCdevkit")
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def _unsafe(tmp_path, kind):
    path = tmp_path / f"{kind}.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("VOCdevkit/VOC2012/ImageSets/Main/trainval.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"a\nb"))
        bad = tarfile.TarInfo({"absolute": "/tmp/evil.txt", "dotdot": "VOCdevkit/../../evil.txt",
                               "symlink": "VOCdevkit/link", "hardlink": "VOCdevkit/hard",
                               "device": "VOCdevkit/dev"}[kind])
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            bad.type, bad.linkname = tarfile.LNKTYPE, info.name
        elif kind == "device":
            bad.type = tarfile.CHRTYPE
        if bad.isfile():
            bad.size = 4
            tar.addfile(bad, io.BytesIO(b"evil"))
        else:
            tar.addfile(bad)
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def test_download_extract_and_second_call_is_noop(archive, tmp_path):
    tar, md5 = archive
    dest = tmp_path / "data"
    missing = (tmp_path / "nope.tar").as_uri()
    folder = download_voc2012(dest, urls=[missing, tar.as_uri()], md5=md5, progress=False)
    assert folder == dest / "VOCdevkit" / "VOC2012"
    assert len(read_split(folder, "trainval")) == 6
    assert sorted(p.name for p in dest.iterdir()) == ["VOCdevkit"]  # no archive, no temp
    stamp = (folder / "Annotations").stat().st_mtime_ns
    # the second call must not touch the network: a URL list that cannot work proves it
    assert download_voc2012(dest, urls=[missing], md5=md5, progress=False) == folder
    assert (folder / "Annotations").stat().st_mtime_ns == stamp


def test_bad_checksum_leaves_nothing_and_names_the_urls(archive, tmp_path):
    tar, _ = archive
    dest = tmp_path / "data"
    missing = (tmp_path / "nope.tar").as_uri()
    with pytest.raises(DownloadError) as info:
        download_voc2012(dest, urls=[missing, tar.as_uri()], md5="0" * 32, progress=False)
    message = str(info.value)
    assert missing in message and tar.as_uri() in message and "MD5" in message
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "hardlink", "device"])
def test_unsafe_archive_is_refused_and_nothing_is_left(tmp_path, kind):
    tar, md5 = _unsafe(tmp_path, kind)
    dest = tmp_path / "data"
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        download_voc2012(dest, urls=[tar.as_uri()], md5=md5, progress=False)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_archive_without_voc_layout_is_refused(tmp_path):
    path = tmp_path / "other.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("something/else.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="VOCdevkit/VOC2012"):
        download_voc2012(dest, urls=[path.as_uri()], md5=None, progress=False)
    assert list(dest.iterdir()) == []


def test_incomplete_copy_is_completed_and_user_files_are_kept(archive, tmp_path):
    tar, md5 = archive
    dest = tmp_path / "data"
    partial = dest / "VOCdevkit" / "VOC2012"
    (partial / "SegmentationClass").mkdir(parents=True)
    (partial / "SegmentationClass" / "user_mask.png").write_bytes(b"mine")
    (partial / "JPEGImages").mkdir()
    folder = download_voc2012(dest, urls=[tar.as_uri()], md5=md5, progress=False)
    assert (folder / "SegmentationClass" / "user_mask.png").read_bytes() == b"mine"
    assert len(read_split(folder, "trainval")) == 6
    assert sorted(p.name for p in dest.iterdir()) == ["VOCdevkit"]


def test_archive_cut_at_a_member_boundary_is_refused_and_not_marked_complete(archive, tmp_path):
    tar, _ = archive
    with tarfile.open(tar) as t:
        cut_at = t.getmembers()[-1].offset  # the last member's header: a clean member boundary
    cut = tmp_path / "cut.tar"
    cut.write_bytes(tar.read_bytes()[:cut_at])
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="cut short"):
        download_voc2012(dest, urls=[cut.as_uri()], md5=None, progress=False)
    assert list(dest.iterdir()) == []
    # a copy with every folder but no completion marker is not taken as complete
    full = download_voc2012(dest, urls=[tar.as_uri()], md5=None, progress=False)
    (full / COMPLETE_MARKER).unlink()
    with pytest.raises(DownloadError):
        download_voc2012(dest, urls=[(tmp_path / "nope.tar").as_uri()], md5=None, progress=False)


def test_fifo_source_fails_instead_of_hanging(tmp_path):
    fifo = tmp_path / "voc.tar"
    os.mkfifo(fifo)
    with pytest.raises(DownloadError, match="not a regular file"):
        download_voc2012(tmp_path / "data", urls=[fifo.as_uri()], md5=None, progress=False, timeout=1)
