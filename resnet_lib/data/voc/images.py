"""Checking VOC JPEG files before a ``tf.data`` pipeline decodes them.

Where validation happens: an error raised by a decoder inside ``tf.data`` carries no file
name, so every image is checked here, in Python, when a dataset is built. The check is cheap
(the JPEG header and the last kilobyte are read, the pixels are not decoded) and catches what
TensorFlow's decoder rejects: files that are not JPEG, corrupt headers and truncated files.
Damage inside the compressed data is not an error for libjpeg (it decodes grey blocks and
prints a warning), so it is not one here either.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

SOI = b"\xff\xd8"  # start-of-image marker: the first two bytes of every JPEG
EOI = b"\xff\xd9"  # end-of-image marker: the last marker of every complete JPEG
TAIL_BYTES = 1024  # some writers pad after EOI; a truncated file has no EOI in its tail
MAGIC = {  # what a mislabelled ".jpg" often really is
    b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP", b"RIFF": "WebP/RIFF", b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF", b"%PDF": "PDF", b"<": "text/HTML/XML",
}
JPEG_MODES = ("RGB", "L", "CMYK")  # grayscale and CMYK are decoded to RGB


@dataclasses.dataclass(frozen=True)
class JpegInfo:
    """What the header says: pixel size, PIL colour mode and the file's length in bytes."""

    width: int
    height: int
    mode: str
    num_bytes: int


def check_jpeg(path: str | os.PathLike) -> JpegInfo:
    """Return ``JpegInfo`` for a decodable JPEG, or raise ``ValueError`` naming the file.

    Refused: a missing or empty file, a file that is not JPEG (PNG, HTML, ... with a .jpg
    name), an unreadable header, a colour mode other than RGB, grayscale or CMYK, and a
    truncated file (no end-of-image marker in its last ``TAIL_BYTES``).
    """
    path = Path(path)
    try:
        num_bytes = path.stat().st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"image {path} is missing") from None
    if num_bytes == 0:
        raise ValueError(f"image {path} is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(8)
        f.seek(max(0, num_bytes - TAIL_BYTES))
        tail = f.read()
    if not head.startswith(SOI):
        kind = next((k for magic, k in MAGIC.items() if head.startswith(magic)), "unknown")
        raise ValueError(
            f"image {path} is not a JPEG file (first bytes {head[:4]!r}, looks like {kind}); "
            "expected the JPEG start-of-image marker FF D8"
        )
    if EOI not in tail:
        raise ValueError(
            f"image {path} is a truncated JPEG: no end-of-image marker (FF D9) in its last "
            f"{min(num_bytes, TAIL_BYTES)} bytes ({num_bytes} bytes in all)"
        )
    try:
        with Image.open(path) as image:  # parses the markers up to the scan, not the pixels
            fmt, mode, (width, height) = image.format, image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"image {path} is a corrupt JPEG: its header cannot be read ({err})")\
            from None
    if fmt != "JPEG":
        raise ValueError(f"image {path} is {fmt}, not JPEG")
    if mode not in JPEG_MODES:
        raise ValueError(f"image {path} has colour mode {mode}; expected one of {JPEG_MODES}")
    return JpegInfo(width, height, mode, num_bytes)
