"""Metrics the paper and the VOC benchmark report, and the error curves the paper plots.

- Top-1 / top-5 error for single-label classification (He et al. 2015, Tables 2-4 report
  ImageNet top-1 and top-5 error; Table 6 reports CIFAR-10 top-1 error).
- Pascal VOC average precision for multi-label classification, computed as the VOC2010+
  devkit does (``VOCevalcls.m`` / ``VOCap.m``): images whose only instances of a class are
  "difficult" (label 0 in ``{class}_{split}.txt``) are ignored for that class, and AP is the
  area under the monotone precision envelope, summed where recall changes.
- ``two_standard_errors``: how far an error rate measured on N images moves by sampling alone
  (binomial), for one rate or for the difference of two.
- Training and test error curves as the paper plots them (Fig. 1, 4, 6): error against
  iterations, one row per completed epoch of ``history.csv`` written by ``resnet_lib.train``.

All functions take NumPy arrays (or anything ``np.asarray`` accepts) and return floats or
arrays; nothing here needs a deep-learning framework.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = [
    "two_standard_errors",
    "top_k_error",
    "top1_error",
    "top5_error",
    "labels_from_devkit",
    "average_precision",
    "mean_average_precision",
    "read_history",
    "error_curves",
]


# --------------------------------------------------------------------------- sampling noise
def two_standard_errors(error: float, n: int, *, rates: int = 1) -> float:
    """Two binomial standard errors of an error rate measured on ``n`` images.

    ``rates=2``: of the difference of two independent rates, each near ``error`` and each
    measured on ``n`` images. Differences smaller than this are what sampling alone gives.
    """
    if not 0 <= error <= 1:
        raise ValueError(f"error={error!r}: expected a fraction in [0, 1]")
    if n < 1 or rates < 1:
        raise ValueError(f"n={n!r}, rates={rates!r}: expected positive counts")
    return 2 * float(np.sqrt(rates * error * (1 - error) / n))


# --------------------------------------------------------------------------- single-label
def top_k_error(labels, scores, *, k: int) -> float:
    """Fraction of examples whose true class is not among the ``k`` highest scores.

    labels: (N,) integer class indices. scores: (N, C) logits or probabilities (any
    monotone transform gives the same answer). Ties are broken by class index (lower wins),
    so the result is deterministic.
    """
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(
            f"top_k_error: scores must be (N, C) with N={labels.shape[0]} to match labels; "
            f"got scores of shape {scores.shape}"
        )
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top_k_error: k={k} must lie in 1..{scores.shape[1]} (the number of classes)")
    # stable argsort of -scores keeps lower class indices first among ties
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hit = (top == labels[:, None]).any(axis=1)
    return float(1.0 - hit.mean())


def top1_error(labels, scores) -> float:
    """Top-1 error, the paper's "error" for CIFAR-10 and the first ImageNet column."""
    return top_k_error(labels, scores, k=1)


def top5_error(labels, scores) -> float:
    """Top-5 error, the second ImageNet column of Tables 3-4."""
    return top_k_error(labels, scores, k=5)


# --------------------------------------------------------------------------- VOC AP
def labels_from_devkit(devkit_labels):
    """Split devkit ground truth ({1, -1, 0} per image and class) into (labels, difficult).

    In ``ImageSets/Main/{class}_{split}.txt`` 1 means present, -1 absent, and 0 that the image
    holds only "difficult" instances of the class; the devkit ignores those images when it
    scores that class. Returns ``labels`` (1 where present, else 0) and a boolean
    ``difficult`` mask, both of the input's shape.
    """
    gt = np.asarray(devkit_labels)
    bad = ~np.isin(gt, (-1, 0, 1))
    if bad.any():
        raise ValueError(
            f"labels_from_devkit: expected only -1, 0, 1; found {np.unique(gt[bad])[:5]}"
        )
    return (gt > 0).astype(np.int64), gt == 0


def average_precision(labels, scores, *, difficult=None) -> float:
    """Average precision of one class, VOC2010+ devkit style.

    labels: (N,) 1 where the class is present, 0 where absent. scores: (N,) confidence.
    difficult: optional (N,) bool; True images are ignored (neither true nor false
    positives), as ``VOCevalcls.m`` ignores ground truth 0.

    AP = sum over recall steps of (r_i - r_{i-1}) * p_interp(r_i), with p_interp(r) the
    maximum precision at any recall >= r (the monotone envelope). scikit-learn's
    ``average_precision_score`` uses the raw precision p(r_i) instead (a step sum), so the
    two agree exactly when precision never rises along the ranking at a positive, and the
    devkit's value is otherwise larger or equal. Ties in score are ranked by index (stable
    sort), as the devkit's sort leaves them in input order.

    Returns NaN for a class with no positive (non-difficult) image.
    """
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise ValueError(
            f"average_precision: labels {labels.shape} and scores {scores.shape} must match"
        )
    keep = np.ones_like(labels, dtype=bool)
    if difficult is not None:
        difficult = np.asarray(difficult, dtype=bool).reshape(-1)
        if difficult.shape != labels.shape:
            raise ValueError(
                f"average_precision: difficult {difficult.shape} must match labels {labels.shape}"
            )
        keep = ~difficult
    positive = (labels > 0) & keep
    negative = (labels <= 0) & keep
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(positive[order])
    fp = np.cumsum(negative[order])
    counted = (tp + fp) > 0  # ranks before the first counted image have no precision
    rec = tp[counted] / n_pos
    prec = tp[counted] / (tp[counted] + fp[counted])
    # VOCap.m: mrec = [0; rec; 1], mpre = [0; prec; 0], envelope from the right
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[step] - mrec[step - 1]) * mpre[step]))


def mean_average_precision(labels, scores, *, difficult=None):
    """Mean of per-class VOC AP over the classes that have a positive image.

    labels: (N, C) in {0, 1}; scores: (N, C); difficult: optional (N, C) bool mask.
    Returns ``(mAP, per_class_ap)`` with per_class_ap a (C,) array (NaN where a class has no
    positive image; those classes are left out of the mean, with C=20 on the real VOC val set
    every class has positives).
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    if labels.ndim != 2 or labels.shape != scores.shape:
        raise ValueError(
            f"mean_average_precision: labels and scores must both be (N, C); "
            f"got {labels.shape} and {scores.shape}"
        )
    if difficult is not None:
        difficult = np.asarray(difficult, dtype=bool)
        if difficult.shape != labels.shape:
            raise ValueError(
                f"mean_average_precision: difficult {difficult.shape} must match labels {labels.shape}"
            )
    per_class = np.array(
        [
            average_precision(
                labels[:, c], scores[:, c], difficult=None if difficult is None else difficult[:, c]
            )
            for c in range(labels.shape[1])
        ]
    )
    valid = ~np.isnan(per_class)
    mean = float(per_class[valid].mean()) if valid.any() else float("nan")
    return mean, per_class


# --------------------------------------------------------------------------- curves
def read_history(run_dir) -> dict:
    """Read ``run_dir/history.csv`` (or a path to the csv) into a dict of NumPy arrays.

    One entry per column, one element per completed epoch, in epoch order. ``epoch`` (1-based)
    and ``iteration`` (optimizer steps at the end of the epoch) are integer arrays; the other
    columns are float arrays (empty cells become NaN).
    """
    path = Path(run_dir)
    if path.suffix != ".csv":
        path = path / "history.csv"
    if not path.exists():
        raise FileNotFoundError(f"read_history: {path} does not exist (is it a resnet_lib.train run dir?)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if key in ("epoch", "iteration"):
            out[key] = np.array([int(float(v)) for v in values], dtype=np.int64)
        else:
            out[key] = np.array([float(v) if v not in ("", None) else np.nan for v in values])
    return out


def error_curves(history) -> dict:
    """Return the paper's curves from a history dict (or a run dir): error vs. iteration.

    Keys: ``iteration`` (x axis of Fig. 1/6, optimizer steps), ``epoch``, and whichever of
    ``train_error`` (running error over the epoch's mini-batches with augmentation, as the
    paper's training curves), ``val_error`` and ``test_error`` the run recorded. The paper draws
    training error bold and test error thin; ``resnet_lib.plots`` does the drawing.
    """
    if not isinstance(history, dict):
        history = read_history(history)
    keys = ("epoch", "iteration", "train_error", "val_error", "test_error")
    return {k: np.asarray(history[k]) for k in keys if k in history}
