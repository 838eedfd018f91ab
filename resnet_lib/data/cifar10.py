"""Reading CIFAR-10 (Krizhevsky 2009), the dataset of He et al. 2015, Section 4.2, from a local copy.

``read_cifar10(source)`` accepts the forms in which CIFAR-10 is found on disk, and returns
its 50,000 training and 10,000 test images as uint8 arrays:

- the official ``cifar-10-python.tar.gz`` (what ``keras.datasets.cifar10`` downloads),
  verified against its published SHA-256 (``CIFAR10_SHA256``) before anything is read;
- its extracted ``cifar-10-batches-py`` folder (``data_batch_1`` .. ``_5``, ``test_batch``),
  or a folder holding it;
- an image-folder tree, ``train/<class>/*`` and ``test/<class>/*`` as PNG or JPEG, the folder
  names being the CIFAR-10 class names (``CIFAR10_CLASSES``), or a folder holding one such tree;
- a ``.tar`` / ``.tar.gz`` of such a tree.

Archives are read member by member in memory: nothing is written to disk, and a member
with an absolute path, a ``..`` component, or that is a link or a device is refused
(``UnsafeArchiveError``). The official batches are Python pickles; they are unpickled with a
loader that admits only NumPy arrays, lists, dicts and strings, so a doctored file cannot run
code. Bad input raises ``CIFAR10FormatError`` naming the file and what was expected: a missing
or unknown class folder, an image that is not 32x32 RGB, an image that does not decode, other
counts than 50,000 / 10,000. A file that is not an image (``README``, ``.DS_Store``) is left
out and reported (``CIFAR10DroppedWarning`` and ``CIFAR10Arrays.dropped``), never silently.

Order: the official batches keep their order. An image tree keeps no global order, so images
are ordered class by class (``CIFAR10_CLASSES`` order) and, within a class, by file name
(numerically where names are numbers): ``test/<class>/0007.png`` is the 8th test image of
that class, as in the official ``test_batch`` when the tree was written in that order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import io
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES", "CIFAR10_SHA256", "CIFAR10_ARCHIVE", "CIFAR10_URL", "EXPECTED_COUNTS",
    "CIFAR10Arrays", "CIFAR10FormatError", "CIFAR10DroppedWarning", "UnsafeArchiveError",
    "read_cifar10", "sha256_of",
]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# SHA-256 of the official archive (the hash keras.datasets.cifar10 checks, Keras 3.15).
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
BATCHES_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SPLITS = ("train", "test")
EXPECTED_COUNTS = {"train": 50_000, "test": 10_000}  # 5,000 / 1,000 per class
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_SHAPE = (32, 32, 3)


class CIFAR10FormatError(ValueError):
    """A CIFAR-10 copy is not in a form ``read_cifar10`` reads; the message names the file."""


class UnsafeArchiveError(CIFAR10FormatError):
    """An archive member would escape its folder, or is a link or a device."""


class CIFAR10DroppedWarning(UserWarning):
    """Files of a CIFAR-10 copy that are not images were left out (they are listed)."""


@dataclasses.dataclass
class CIFAR10Arrays:
    """CIFAR-10 as read: uint8 images (N, 32, 32, 3), int64 labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # the path that was read
    form: str  # "official-archive" | "batches-folder" | "image-tree" | "image-tree-archive"
    sha256: str  # of the archive file, or of the folder's files (see ``sha256_of``)
    dropped: tuple[str, ...] = ()  # files left out because they are not images

    def provenance(self) -> dict:
        return {"dataset": "cifar10", "source": self.source, "form": self.form,
                "sha256": self.sha256, "train_images": int(len(self.x_train)),
                "test_images": int(len(self.x_test)), "dropped": list(self.dropped)}


def read_cifar10(source: str | os.PathLike, *, expected_counts: dict | None = EXPECTED_COUNTS,
                 workers: int | None = None) -> CIFAR10Arrays:
    """CIFAR-10's training and test images from ``source`` (any form in the module docstring).

    ``expected_counts`` ({"train": 50000, "test": 10000}) are checked; ``None`` skips the
    check (for partial copies made in tests). ``workers`` threads decode an image tree
    (default: the CPU count, at most 8).
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"CIFAR-10 source {path}: no such file or folder")
    if path.is_dir():
        arrays = _read_folder(path, workers=workers)
    elif tarfile.is_tarfile(path):
        arrays = _read_archive(path, workers=workers)
    else:
        raise CIFAR10FormatError(
            f"{path}: not a tar archive or a folder; expected {CIFAR10_ARCHIVE}, a "
            f"{BATCHES_FOLDER} folder, or an image tree train/<class>/*, test/<class>/* "
            f"(or a .tar.gz of one)")
    if expected_counts:
        for split, x in (("train", arrays.x_train), ("test", arrays.x_test)):
            want = expected_counts.get(split)
            if want is not None and len(x) != want:
                raise CIFAR10FormatError(
                    f"{path}: {len(x):,} {split} images; CIFAR-10 has {want:,} "
                    f"({want // len(CIFAR10_CLASSES):,} per class)")
    if arrays.dropped:
        shown = ", ".join(arrays.dropped[:5]) + (" ..." if len(arrays.dropped) > 5 else "")
        warnings.warn(f"{path}: {len(arrays.dropped)} file(s) that are not PNG or JPEG images "
                      f"were left out: {shown}", CIFAR10DroppedWarning, stacklevel=2)
    return arrays


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file; of a folder, of its files' relative paths and bytes in sorted order."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------- folders
def _read_folder(path: Path, *, workers) -> CIFAR10Arrays:
    if (path / TRAIN_BATCHES[0]).exists() or (path / TEST_BATCH).exists():
        return _read_batches_folder(path)
    if (path / BATCHES_FOLDER).is_dir():
        return _read_batches_folder(path / BATCHES_FOLDER)
    tree = path
    if not any((path / s).is_dir() for s in SPLITS):
        inner = [p for p in path.iterdir() if p.is_dir() and any((p / s).is_dir() for s in SPLITS)]
        if len(inner) != 1:
            raise CIFAR10FormatError(
                f"{path}: found neither {BATCHES_FOLDER} (data_batch_1..5, test_batch) nor an "
                f"image tree (train/<class>/*, test/<class>/*)")
        tree = inner[0]
    files, strays = {}, []
    for split in SPLITS:
        folder = tree / split
        if not folder.is_dir():
            raise CIFAR10FormatError(f"{folder}: missing; an image tree needs train/ and test/")
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        _check_classes(classes, folder)
        files[split] = {c: [(str(p), p) for p in (folder / c).iterdir() if p.is_file()]
                        for c in CIFAR10_CLASSES}
        # anything else under the split is reported, not read: loose files, nested folders
        strays += [str(p) for p in folder.iterdir() if p.is_file()]
        strays += [str(p) for c in CIFAR10_CLASSES for p in (folder / c).rglob("*")
                   if p.is_file() and p.parent != folder / c]
    files["_strays"] = strays
    x_train, y_train, x_test, y_test, dropped = _decode_tree(
        files, read=lambda p: p.read_bytes(), workers=workers)
    return CIFAR10Arrays(x_train, y_train, x_test, y_test, str(path), "image-tree",
                         sha256_of(path), tuple(dropped))


def _read_batches_folder(folder: Path) -> CIFAR10Arrays:
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / n).is_file()]
    if missing:
        raise CIFAR10FormatError(f"{folder}: missing {', '.join(missing)}; a {BATCHES_FOLDER} "
                                 f"folder holds data_batch_1..5 and test_batch")
    parts = {n: _parse_batch((folder / n).read_bytes(), str(folder / n))
             for n in (*TRAIN_BATCHES, TEST_BATCH)}
    digest = hashlib.sha256()
    for n in (*TRAIN_BATCHES, TEST_BATCH):
        digest.update((folder / n).read_bytes())
    return _from_batches(parts, str(folder), "batches-folder", digest.hexdigest())


def _check_classes(classes, folder) -> None:
    unknown = sorted(set(classes) - set(CIFAR10_CLASSES))
    missing = [c for c in CIFAR10_CLASSES if c not in classes]
    if unknown or missing:
        raise CIFAR10FormatError(
            f"{folder}: class folders {'missing ' + ', '.join(missing) if missing else ''}"
            f"{'; ' if missing and unknown else ''}{'unknown ' + ', '.join(unknown) if unknown else ''}"
            f"; expected exactly {', '.join(CIFAR10_CLASSES)}")


# ---------------------------------------------------------------------------- archives
def _safe_members(archive: tarfile.TarFile, path: Path):
    for member in archive:
        parts = member.name.split("/")
        if member.name.startswith("/") or ".." in parts:
            raise UnsafeArchiveError(f"{path}: member {member.name!r} would be extracted "
                                     "outside its folder; the archive is refused")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{path}: member {member.name!r} is a link or a device "
                                     "file; the archive is refused")
        yield member


def _read_archive(path: Path, *, workers) -> CIFAR10Arrays:
    """One pass over the archive: the official batches, or an image tree, kept in memory."""
    digest = sha256_of(path)
    batches = {}  # official batch name -> (label, bytes)
    files = {s: {c: [] for c in CIFAR10_CLASSES} for s in SPLITS}
    strays, blobs = [], {}
    seen_classes = {s: set() for s in SPLITS}
    prefix = None
    with tarfile.open(path, "r:*") as archive:
        for member in _safe_members(archive, path):
            label = f"{path}:{member.name}"
            parts = tuple(p for p in member.name.split("/") if p not in ("", "."))
            if member.isfile() and len(parts) >= 2 and parts[-2] == BATCHES_FOLDER and \
                    parts[-1] in (*TRAIN_BATCHES, TEST_BATCH):
                batches[parts[-1]] = (label, archive.extractfile(member).read())
                continue
            at = [i for i, p in enumerate(parts) if p in SPLITS]
            if at and prefix is None:
                prefix = parts[:at[0]]
            if not at or parts[:at[0]] != prefix:
                if member.isfile():
                    strays.append(label)
                continue
            i = at[0]
            split = parts[i]
            if len(parts) > i + 1 and (member.isdir() or len(parts) > i + 2):
                seen_classes[split].add(parts[i + 1])
            if not member.isfile():
                continue
            if len(parts) != i + 3 or parts[i + 1] not in files[split]:
                strays.append(label)
                continue
            blobs[label] = archive.extractfile(member).read()
            files[split][parts[i + 1]].append((label, label))
    if batches:
        if digest != CIFAR10_SHA256:
            raise CIFAR10FormatError(
                f"{path}: SHA-256 {digest} does not match the official {CIFAR10_ARCHIVE} "
                f"({CIFAR10_SHA256}); the file is damaged or not the official archive (a "
                f"re-packed copy: extract it and pass its {BATCHES_FOLDER} folder)")
        missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in batches]
        if missing:
            raise CIFAR10FormatError(f"{path}: archive lacks {', '.join(missing)}")
        parts = {n: _parse_batch(data, label) for n, (label, data) in batches.items()}
        return _from_batches(parts, str(path), "official-archive", digest)
    if prefix is None:
        raise CIFAR10FormatError(
            f"{path}: neither {BATCHES_FOLDER}/data_batch_1..5 nor train/<class>/*, "
            f"test/<class>/* inside; expected {CIFAR10_ARCHIVE} or an image tree archive")
    for split in SPLITS:
        folder = f"{path}:{'/'.join((*prefix, split))}"
        if not seen_classes[split]:
            raise CIFAR10FormatError(f"{folder}: missing; an image tree needs train/ and test/")
        _check_classes(sorted(seen_classes[split]), folder)
    files["_strays"] = strays
    x_train, y_train, x_test, y_test, dropped = _decode_tree(
        files, read=blobs.pop, workers=workers)
    return CIFAR10Arrays(x_train, y_train, x_test, y_test, str(path), "image-tree-archive",
                         digest, tuple(dropped))


# ---------------------------------------------------------------------------- decoding
def _order_key(label: str):
    stem = os.path.splitext(label.replace("\\", "/").rsplit("/", 1)[-1])[0]
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def _decode_tree(files, *, read, workers):
    """Decode every image of ``files[split][class]`` ([(label, handle)]) in class order."""
    from PIL import Image, UnidentifiedImageError

    dropped = list(files.get("_strays", ()))
    jobs = {}
    for split in SPLITS:
        for c, items in files[split].items():
            keep = []
            for label, handle in items:
                if os.path.splitext(label)[1].lower() in IMAGE_SUFFIXES:
                    keep.append((label, handle))
                else:
                    dropped.append(label)
            jobs[split, c] = sorted(keep, key=lambda item: _order_key(item[0]))

    def decode(item):
        label, handle = item
        try:
            with Image.open(io.BytesIO(read(handle))) as image:
                image.load()
                size, mode = image.size, image.mode
                if size != IMAGE_SHAPE[:2] or mode != "RGB":
                    raise CIFAR10FormatError(
                        f"{label}: a {size[0]}x{size[1]} {mode} image; expected 32x32 RGB")
                return np.asarray(image, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            if isinstance(err, CIFAR10FormatError):
                raise
            raise CIFAR10FormatError(f"{label}: not a readable PNG or JPEG image ({err})") from err

    def decode_all(items):  # one task per chunk: per-image tasks cost more than they save
        return [decode(item) for item in items]

    workers = workers or min(8, os.cpu_count() or 1)
    out = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for split in SPLITS:
            images, labels = [], []
            for k, c in enumerate(CIFAR10_CLASSES):
                items = jobs[split, c]
                chunks = [items[i:i + 1000] for i in range(0, len(items), 1000)]
                for decoded in pool.map(decode_all, chunks):
                    images.extend(decoded)
                labels.extend([k] * len(items))
            x = np.stack(images) if images else np.zeros((0, *IMAGE_SHAPE), np.uint8)
            out += [x, np.asarray(labels, np.int64)]
    return (*out, sorted(dropped))


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what CIFAR-10's batches hold: dicts, lists, bytes, str, NumPy arrays."""

    def find_class(self, module, name):
        import codecs

        allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                   ("_codecs", "encode"): codecs.encode}  # how protocol 2 spells bytes
        if (module, name) in allowed:
            return allowed[module, name]
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # NumPy 1.x
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")


def _parse_batch(data: bytes, label: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as err:  # pickle raises many kinds on bad bytes
        raise CIFAR10FormatError(f"{label}: not a CIFAR-10 python batch ({type(err).__name__}: "
                                 f"{err})") from err
    if not isinstance(batch, dict):
        raise CIFAR10FormatError(f"{label}: expected a dict with b'data' and b'labels'")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    images, labels = batch.get("data"), batch.get("labels")
    if images is None or labels is None:
        raise CIFAR10FormatError(f"{label}: expected keys b'data' and b'labels', found "
                                 f"{sorted(map(str, batch))}")
    images = np.asarray(images)
    labels = np.asarray(labels, np.int64).reshape(-1)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072 or \
            len(images) != len(labels):
        raise CIFAR10FormatError(f"{label}: data is {images.dtype} {images.shape} with "
                                 f"{len(labels)} labels; expected uint8 (N, 3072) and N labels")
    if labels.size and not (0 <= labels.min() and labels.max() < len(CIFAR10_CLASSES)):
        raise CIFAR10FormatError(f"{label}: labels outside 0..9")
    # rows are 1024 red, 1024 green, 1024 blue values, each 32x32 row-major
    return images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _from_batches(parts, source, form, digest) -> CIFAR10Arrays:
    x_train = np.concatenate([parts[n][0] for n in TRAIN_BATCHES])
    y_train = np.concatenate([parts[n][1] for n in TRAIN_BATCHES])
    x_test, y_test = parts[TEST_BATCH]
    return CIFAR10Arrays(np.ascontiguousarray(x_train), y_train, np.ascontiguousarray(x_test),
                         y_test, source, form, digest)
