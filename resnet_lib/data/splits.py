"""Reproducible, disjoint random splits (such as an 8:1:1 train/val/test split of VOC2012 trainval).

The split is drawn from a seed over image-level items, so an image can never land in two
parts; splitting per-class folders instead would let a multi-label image, which sits in the
folder of each of its classes, land in several.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")
SEED_FRACTIONS = (0.8, 0.1, 0.1)
SEED_NAMES = ("train", "val", "test")


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Part sizes summing to ``n``: cumulative boundaries rounded, so no item is lost."""
    fractions = np.asarray(fractions, float)
    if fractions.ndim != 1 or len(fractions) == 0 or (fractions < 0).any() or fractions.sum() <= 0:
        raise ValueError(f"fractions={tuple(fractions)}; expected non-negative numbers, not all 0")
    bounds = np.rint(np.cumsum(fractions) / fractions.sum() * n).astype(int)
    return list(np.diff(np.concatenate([[0], bounds])))


def random_split(
    items: Sequence[T],
    *,
    fractions: Sequence[float] = SEED_FRACTIONS,
    names: Sequence[str] = SEED_NAMES,
    seed: int = 0,
) -> dict[str, list[T]]:
    """Shuffle ``items`` with ``seed`` and cut them into disjoint parts by ``fractions``.

    Returns {name: items} in the order of ``names``; each part keeps the input's relative
    order, so results do not depend on anything but ``items`` and ``seed``.
    """
    if len(names) != len(fractions):
        raise ValueError(f"{len(names)} names {tuple(names)} for {len(fractions)} fractions")
    order = np.random.default_rng(seed).permutation(len(items))
    parts, start = {}, 0
    for name, size in zip(names, split_sizes(len(items), fractions)):
        chosen = np.sort(order[start:start + size])
        parts[name] = [items[i] for i in chosen]
        start += size
    return parts
