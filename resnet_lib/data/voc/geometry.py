"""The crop and affine geometry of the VOC augmentation: where each output pixel samples.

``Augmentation`` holds ``ImageDataGenerator``'s arguments with their Keras meaning; a draw of six
uniforms becomes an axis-aligned box (shift, zoom, flip: ``box_from_draws``, ``resize_box``) or
projective rows (with a shear: ``affine_transform``, ``affine_coefficients``). ``pipeline``
applies them on ``tf.data``, and ``resnet_lib.data.affine_layer.AffineAugmentation`` in the
model, through the same ``affine_coefficients``.
"""

from __future__ import annotations

import dataclasses
import math

@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random affine augmentation with the meaning of ``ImageDataGenerator``'s arguments."""

    shift: float = 0.1  # width/height_shift_range: shift by U[-shift, shift] of the image size
    shear: float = 0.1  # shear_range, in degrees as Keras reads it (0.1 deg is nearly none)
    zoom: float = 0.1  # zoom_range: each axis scaled by U[1 - zoom, 1 + zoom], independently
    horizontal_flip: bool = True  # mirror half of the images
    fill_mode: str = "constant"  # outside the image: black ("nearest", Keras' default, is slower)


SEED_AUGMENTATION = Augmentation()  # the default ImageDataGenerator recipe above, as one value


def uses_projective_transform(augmentation: Augmentation | None, height: int, width: int) -> bool:
    """Whether ``augmentation`` needs the general (slower) projective transform.

    Shift, zoom and flip are an axis-aligned box, which ``resize_box`` samples as fast as a
    resize. Shear needs ``ImageProjectiveTransformV3`` (about 5x slower here),
    but ``SEED_AUGMENTATION``'s ``shear_range=0.1`` is 0.1 degrees, which moves no output pixel by even
    half a pixel (tan(0.1 deg) * 112 = 0.2 px at 224x224): such a shear is below what bilinear
    sampling shows, so it is left out. A larger shear, or ``fill_mode`` other than
    "constant", takes the projective transform.
    """
    if augmentation is None:
        return False
    edge_shift = math.tan(math.radians(abs(augmentation.shear))) * max(height, width) / 2
    return edge_shift >= 0.5 or augmentation.fill_mode != "constant"


def _draws(seed):
    """Six uniform draws in [-1, 1): shift x, shift y, shear, zoom x, zoom y, flip."""
    import tensorflow as tf

    return tf.random.stateless_uniform([6], seed=seed, minval=-1.0, maxval=1.0)


def crop_box(in_h, in_w, out_h: int, out_w: int, augmentation: Augmentation | None, seed):
    """Normalised (y1, x1, y2, x2) box for ``tf.image.crop_and_resize`` (a tf tensor).

    Without augmentation it samples exactly where ``tf.image.resize`` does (half-pixel
    centres). With it, about the image centre, input = zoom * resized + shift, mirrored by
    swapping x1 and x2; shear is left out (see ``uses_projective_transform``).
    """
    draws = None if augmentation is None else _draws(seed)
    return box_from_draws(in_h, in_w, out_h, out_w, augmentation, draws)


def box_from_draws(in_h, in_w, out_h: int, out_w: int, augmentation: Augmentation | None, u):
    """``crop_box`` for given uniform draws ``u`` (``[..., 6]`` in [-1, 1)); vectorised: ``in_h``,
    ``in_w`` and ``u[..., i]`` may hold one value per image, giving boxes ``[..., 4]``."""
    import tensorflow as tf

    sy, sx = in_h / out_h, in_w / out_w
    y0, y1 = 0.5 * sy - 0.5, (out_h - 0.5) * sy - 0.5  # first and last sample rows
    x0, x1 = 0.5 * sx - 0.5, (out_w - 0.5) * sx - 0.5
    if augmentation is not None:
        cy, cx = (in_h - 1.0) / 2.0, (in_w - 1.0) / 2.0
        zy, zx = 1.0 + u[..., 4] * augmentation.zoom, 1.0 + u[..., 3] * augmentation.zoom
        ty, tx = u[..., 1] * augmentation.shift * in_h, u[..., 0] * augmentation.shift * in_w
        y0, y1 = cy + zy * (y0 - cy) + ty, cy + zy * (y1 - cy) + ty
        x0, x1 = cx + zx * (x0 - cx) + tx, cx + zx * (x1 - cx) + tx
        if augmentation.horizontal_flip:
            flip = u[..., 5] > 0.0
            x0, x1 = tf.where(flip, x1, x0), tf.where(flip, x0, x1)
    ny, nx = tf.maximum(in_h - 1.0, 1.0), tf.maximum(in_w - 1.0, 1.0)
    return tf.stack([y0 / ny, x0 / nx, y1 / ny, x1 / nx], axis=-1)


def resize_box(image, box, out_h: int, out_w: int):
    """Sample ``image`` over ``box`` (as ``crop_box`` gives it) with ``tf.image.resize``.

    The same geometry as ``tf.image.crop_and_resize(image[None], box[None], ...)`` with zeros
    outside the image, at the cost of a plain resize (TensorFlow's crop_and_resize kernel is
    2-3x slower per image on a CPU, and this is the pipeline's hot loop): the part of the box
    inside the image is cropped at whole pixels, resized to the output rows and columns it
    covers, zero-padded to the full output, and mirrored when the box is (x2 < x1). Without
    augmentation the box is the whole image and the result equals ``tf.image.resize``; with
    it, the crop's edges round to whole input pixels and whole output cells, a shift of at most
    half an input pixel plus half an output pixel, far below the augmentation's own range.
    The pipeline does the same with ``tf.io.decode_and_crop_jpeg``, which decodes only the
    window (``box_window``) instead of the whole JPEG.
    """
    import tensorflow as tf

    in_h, in_w = (tf.cast(d, tf.float32) for d in tf.unstack(tf.shape(image)[:2]))
    window = box_window(box, in_h, in_w, out_h, out_w)
    ya, yb, xa, xb = window[:4]
    return _place(image[ya:yb, xa:xb], window, out_h, out_w)


def box_window(box, in_h, in_w, out_h: int, out_w: int):
    """Integers for ``resize_box``: input window ``ya, yb, xa, xb`` (rows [ya, yb), columns
    [xa, xb), inside the image), the output cells it fills ``oya, oyb, oxa, oxb``, and whether
    the box is mirrored. Vectorised like ``box_from_draws`` (one window per image)."""
    import tensorflow as tf

    def edges(first, last, size, out):
        # first/last: centres of the first and last output sample, normalised over size - 1
        # (crop_and_resize's convention); returns the output's outer edges in input pixels.
        first, last = first * (size - 1.0), last * (size - 1.0)
        step = (last - first) / max(out - 1, 1)
        return first + 0.5 - step / 2.0, last + 0.5 + step / 2.0

    def visible(lo, hi, size, out):
        # input pixels [a, b) inside the image, and the output cells [oa, ob) they fill
        a = tf.clip_by_value(tf.floor(lo + 0.5), 0.0, size - 1.0)
        b = tf.clip_by_value(tf.floor(hi + 0.5), a + 1.0, size)
        scale = out / (hi - lo)
        oa = tf.clip_by_value(tf.round((a - lo) * scale), 0.0, out - 1.0)
        ob = tf.clip_by_value(tf.round((b - lo) * scale), oa + 1.0, float(out))
        return [tf.cast(v, tf.int32) for v in (a, b, oa, ob)]

    y_lo, y_hi = edges(box[..., 0], box[..., 2], in_h, out_h)
    x_first, x_last = box[..., 1], box[..., 3]
    x_lo, x_hi = edges(tf.minimum(x_first, x_last), tf.maximum(x_first, x_last), in_w, out_w)
    ya, yb, oya, oyb = visible(y_lo, y_hi, in_h, out_h)
    xa, xb, oxa, oxb = visible(x_lo, x_hi, in_w, out_w)
    return ya, yb, xa, xb, oya, oyb, oxa, oxb, x_last < x_first


def _place(crop, window, out_h: int, out_w: int):
    """Resize ``crop`` into its output cells, zero-pad to the full output, mirror if needed."""
    import tensorflow as tf

    _, _, _, _, oya, oyb, oxa, oxb, mirrored = window
    part = tf.image.resize(crop, tf.stack([oyb - oya, oxb - oxa]))
    out = tf.pad(part, [[oya, out_h - oyb], [oxa, out_w - oxb], [0, 0]])
    out = tf.cond(mirrored, lambda: tf.reverse(out, axis=[1]), lambda: out)
    return tf.ensure_shape(out, [out_h, out_w, None])


def affine_transform(in_h, in_w, out_h: int, out_w: int, augmentation: Augmentation | None,
                     seed):
    """The 8 projective coefficients mapping output pixels to input pixels (a tf tensor).

    Without augmentation it is a plain resize (half-pixel centres, as ``tf.image.resize``).
    With augmentation, ``affine_coefficients`` on the input image after that resize (mirroring
    the input about its width after the resize equals mirroring the output before it).
    """
    import tensorflow as tf

    sx, sy = in_w / out_w, in_h / out_h
    if augmentation is None:
        a0, a1, a2, b0, b1, b2 = (tf.constant(v) for v in (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    else:
        rows = affine_coefficients(_draws(seed)[None], in_h, in_w, augmentation,
                                   ops=tf)
        a0, a1, a2, b0, b1, b2 = tf.unstack(rows[0, :6])
    ox, oy = 0.5 * sx - 0.5, 0.5 * sy - 0.5  # the resize: x -> sx * x + ox, y -> sy * y + oy
    zero = tf.zeros_like(a0)
    return tf.stack([a0 * sx, a1 * sy, a0 * ox + a1 * oy + a2,
                     b0 * sx, b1 * sy, b0 * ox + b1 * oy + b2, zero, zero])


def affine_coefficients(draws, height, width, augmentation: Augmentation, *, ops):
    """Projective coefficients ``(B, 8)`` mapping output to input pixels, one row per image.

    As ``ImageDataGenerator.apply_affine_transform``: about the image centre, input = shift .
    shear . zoom . output, the output mirrored first when flipped. ``draws`` is ``(B, 6)``
    uniform in [-1, 1): shift x, shift y, shear, zoom x, zoom y, flip (flipped where > 0), the
    order of ``_draws``. Input and output are both ``height`` x ``width``. Rows are ``[a0, a1,
    a2, b0, b1, b2, 0, 0]``: output (x, y) samples the input at (a0 x + a1 y + a2, b0 x + b1 y
    + b2), the convention of TensorFlow's ``ImageProjectiveTransformV3`` and
    ``keras.ops.image.affine_transform``. ``ops`` is ``tensorflow`` (inside ``tf.data``) or
    ``keras.ops`` (inside a model, any backend).
    """
    a = augmentation
    draws = ops.cast(draws, "float32")
    tx, ty = draws[:, 0] * (a.shift * width), draws[:, 1] * (a.shift * height)
    shear = draws[:, 2] * (a.shear * math.pi / 180.0)
    zx, zy = 1.0 + draws[:, 3] * a.zoom, 1.0 + draws[:, 4] * a.zoom
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    a00, a10, a11 = zx * ops.cos(shear), -zx * ops.sin(shear), zy
    bx = cx - a00 * cx + tx
    by = cy - a10 * cx - a11 * cy + ty
    if a.horizontal_flip:
        flip = ops.where(draws[:, 5] > 0.0, -1.0, 1.0)
    else:
        flip = ops.ones_like(tx)
    mirror = (1.0 - flip) / 2.0 * (width - 1.0)  # x -> flip * x + mirror
    zero = ops.zeros_like(tx)
    return ops.stack([a00 * flip, zero, a00 * mirror + bx,
                      a10 * flip, a11, a10 * mirror + by, zero, zero], axis=1)
