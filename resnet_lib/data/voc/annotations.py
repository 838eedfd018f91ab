"""Pascal VOC2012 annotations: the folder layout, the XML files and the split lists.

The "Main" (classification/detection) task of Pascal VOC2012, used here for He et al. 2015
(arXiv:1512.03385) experiments on VOC: ``VOCdevkit/VOC2012/{JPEGImages, Annotations,
ImageSets/Main}``, as the VOC2012 development kit lays it out (Everingham et al.).

Every XML file named by a split is parsed eagerly here, in Python, so that a malformed or
incomplete annotation raises an error naming its file before any ``tf.data`` pipeline runs.
JPEG *contents* are checked where pixels are used (``images.check_jpeg``).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

# Canonical class order of the VOC2012 devkit (VOCinit.m); label vectors follow it.
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(VOC_CLASSES)}
SUBDIRS = ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main"))
EXPECTED_LAYOUT = (
    "VOCdevkit/VOC2012/{JPEGImages/<id>.jpg, Annotations/<id>.xml, "
    "ImageSets/Main/{train,val,trainval}.txt}; pass the VOC2012 folder or the VOCdevkit "
    "folder above it"
)
ON_ERROR = ("raise", "skip")


class VOCFormatError(ValueError):
    """A VOC file (annotation, split list or image) is missing, malformed or inconsistent."""


class VOCAnnotationWarning(UserWarning):
    """A suspicious but usable annotation (e.g. a zero-area box), or a skipped item."""


@dataclasses.dataclass(frozen=True)
class VOCObject:
    """One annotated object. ``bbox`` is (xmin, ymin, xmax, ymax), 1-based inclusive pixels."""

    name: str
    bbox: tuple[float, float, float, float]
    difficult: bool = False
    truncated: bool = False
    pose: str = "Unspecified"

    @property
    def area(self) -> float:
        """Box area in pixels (VOC boxes are inclusive: a one-pixel box has area 1)."""
        xmin, ymin, xmax, ymax = self.bbox
        return max(0.0, xmax - xmin + 1) * max(0.0, ymax - ymin + 1)


@dataclasses.dataclass(frozen=True)
class VOCRecord:
    """One image of a split: its id, JPEG path, annotated size and objects."""

    image_id: str
    image_path: Path
    annotation_path: Path
    width: int
    height: int
    depth: int
    objects: tuple[VOCObject, ...]

    @property
    def size(self) -> tuple[int, int, int]:
        """(width, height, depth) as written in the annotation."""
        return (self.width, self.height, self.depth)


@dataclasses.dataclass(frozen=True)
class SkippedItem:
    """A file left out with ``on_error="skip"``, and why."""

    image_id: str
    path: Path
    reason: str


def check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error={on_error!r}; expected one of {ON_ERROR}")


def report_skip(item: SkippedItem, skipped: list | None) -> None:
    """Warn about a skipped item and append it to the caller's list: nothing drops silently."""
    warnings.warn(
        f"skipping {item.image_id} ({item.path}): {item.reason}", VOCAnnotationWarning,
        stacklevel=3,
    )
    if skipped is not None:
        skipped.append(item)


def resolve_root(root: str | os.PathLike) -> Path:
    """Return the VOC2012 folder from ``root`` (VOC2012, VOCdevkit, or the folder holding it).

    Raises ``FileNotFoundError`` that names ``root`` and spells out the expected layout.
    """
    root = Path(root).expanduser()
    candidates = [root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"]
    for candidate in candidates:
        if all((candidate / sub).is_dir() for sub in SUBDIRS):
            return candidate
    if not root.exists():
        found = "it does not exist"
    elif not root.is_dir():
        found = "it is not a folder"
    else:
        entries = sorted(p.name for p in root.iterdir())[:10]
        found = f"it contains {entries}" if entries else "it is empty"
    raise FileNotFoundError(
        f"{root} is not a Pascal VOC2012 folder ({found}); expected {EXPECTED_LAYOUT}. "
        "download_voc2012(dest) or make_synthetic_voc(root, ...) create one."
    )


def available_splits(voc_root: Path) -> list[str]:
    """Names of the image-list splits in ImageSets/Main (not the per-class files)."""
    main = voc_root / "ImageSets" / "Main"
    return sorted(p.stem for p in main.glob("*.txt") if "_" not in p.stem)


def read_image_ids(voc_root: Path, split: str) -> list[str]:
    """Image ids listed in ``ImageSets/Main/{split}.txt``, in file order."""
    path = voc_root / "ImageSets" / "Main" / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"split file {path} is missing; splits found in {path.parent}: "
            f"{available_splits(voc_root) or 'none'} (VOC2012 has train, val, trainval)"
        )
    ids = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    if len(set(ids)) != len(ids):
        raise VOCFormatError(f"split file {path} lists some image ids more than once")
    return ids


def _text(element: ET.Element, tag: str, path: Path, where: str) -> str:
    child = element.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise VOCFormatError(f"{path}: {where} has no <{tag}> (required by the VOC format)")
    return child.text.strip()


def _number(element: ET.Element, tag: str, path: Path, where: str) -> float:
    text = _text(element, tag, path, where)
    try:
        return float(text)
    except ValueError:
        raise VOCFormatError(f"{path}: {where} <{tag}> is {text!r}, not a number") from None


def _flag(element: ET.Element, tag: str, path: Path, where: str) -> bool:
    child = element.find(tag)  # optional in VOC2012: absent means 0
    if child is None or child.text is None or not child.text.strip():
        return False
    text = child.text.strip()
    if text not in ("0", "1"):
        raise VOCFormatError(f"{path}: {where} <{tag}> is {text!r}; expected 0 or 1")
    return text == "1"


def parse_annotation(path: str | os.PathLike) -> tuple[tuple[int, int, int], list[VOCObject]]:
    """Parse one annotation XML into ((width, height, depth), objects).

    Raises ``VOCFormatError`` naming the file for malformed XML, missing required fields
    (size/width/height, object/name, bndbox/xmin..ymax) and class names outside VOC_CLASSES.
    Warns (``VOCAnnotationWarning``, naming the file) for zero-area boxes and boxes outside
    the image; such objects are kept, since the class is still present in the image.
    """
    path = Path(path)
    try:
        tree = ET.parse(path)
    except ET.ParseError as err:
        raise VOCFormatError(f"{path}: malformed XML ({err})") from None
    annotation = tree.getroot()
    size = annotation.find("size")
    if size is None:
        raise VOCFormatError(f"{path}: <annotation> has no <size> (required by the VOC format)")
    width = int(_number(size, "width", path, "<size>"))
    height = int(_number(size, "height", path, "<size>"))
    depth_el = size.find("depth")
    depth = int(depth_el.text) if depth_el is not None and (depth_el.text or "").strip() else 3
    if width <= 0 or height <= 0:
        raise VOCFormatError(f"{path}: <size> is {width}x{height}; expected positive sizes")
    objects = []
    for k, obj in enumerate(annotation.findall("object"), start=1):
        where = f"<object> #{k}"
        name = _text(obj, "name", path, where)
        if name not in CLASS_INDEX:
            raise VOCFormatError(
                f"{path}: {where} has unknown class {name!r}; expected one of VOC_CLASSES "
                f"({', '.join(VOC_CLASSES)})"
            )
        box = obj.find("bndbox")  # direct child only: person <part>s carry their own boxes
        if box is None:
            raise VOCFormatError(f"{path}: {where} ({name}) has no <bndbox>")
        bbox = tuple(_number(box, tag, path, f"{where} <bndbox>")
                     for tag in ("xmin", "ymin", "xmax", "ymax"))
        xmin, ymin, xmax, ymax = bbox
        if xmax < xmin or ymax < ymin:
            warnings.warn(f"{path}: {where} ({name}) has a zero-area box {bbox}",
                          VOCAnnotationWarning, stacklevel=2)
        elif xmin < 1 or ymin < 1 or xmax > width or ymax > height:
            warnings.warn(f"{path}: {where} ({name}) box {bbox} lies partly outside the "
                          f"{width}x{height} image", VOCAnnotationWarning, stacklevel=2)
        pose_el = obj.find("pose")
        pose = (pose_el.text or "").strip() if pose_el is not None else ""
        objects.append(VOCObject(
            name=name, bbox=bbox,  # type: ignore[arg-type]
            difficult=_flag(obj, "difficult", path, where),
            truncated=_flag(obj, "truncated", path, where),
            pose=pose or "Unspecified",
        ))
    return (width, height, depth), objects


def read_split(
    root: str | os.PathLike,
    split: str,
    *,
    on_error: str = "raise",
    skipped: list[SkippedItem] | None = None,
) -> list[VOCRecord]:
    """Read ``ImageSets/Main/{split}.txt`` and every annotation it names, in file order.

    ``root`` is the VOC2012 folder or the VOCdevkit folder above it; ``split`` is "train",
    "val" or "trainval" (VOC2012 holds 5,717 / 5,823 / 11,540 images, per its devkit).
    With ``on_error="raise"`` any bad item raises an error naming the file or image id; with
    ``on_error="skip"`` it is left out, warned about and appended to ``skipped`` as a
    ``SkippedItem``. A missing split file or a wrong root always raises.
    """
    check_on_error(on_error)
    voc_root = resolve_root(root)
    records = []
    for image_id in read_image_ids(voc_root, split):
        try:
            records.append(_read_record(voc_root, image_id, split))
        except (VOCFormatError, FileNotFoundError) as err:
            if on_error == "raise":
                raise
            report_skip(SkippedItem(image_id, voc_root / "Annotations" / f"{image_id}.xml",
                                    str(err)), skipped)
    return records


def _read_record(voc_root: Path, image_id: str, split: str) -> VOCRecord:
    xml_path = voc_root / "Annotations" / f"{image_id}.xml"
    image_path = voc_root / "JPEGImages" / f"{image_id}.jpg"
    if not xml_path.is_file():
        raise FileNotFoundError(
            f"image id {image_id!r} is listed in ImageSets/Main/{split}.txt but its "
            f"annotation {xml_path} is missing"
        )
    (width, height, depth), objects = parse_annotation(xml_path)
    if not image_path.is_file():
        raise FileNotFoundError(f"annotation {xml_path} has no image: {image_path} is missing")
    return VOCRecord(image_id, image_path, xml_path, width, height, depth, tuple(objects))

