"""Path-length distribution of a residual network (Veit, Wilber, Belongie 2016, Section 3).

Unrolling ``y = x + f(x)`` over ``n`` blocks gives ``2^n`` paths from input to output: each
block is either passed through its residual branch or skipped. ``C(n, k)`` paths go through
exactly ``k`` branches, so path lengths are binomially distributed with mean ``n/2``
(Veit et al. 2016, Section 3). Veit et al. also measured how much gradient a path of each length
carries and found that almost all of it comes from paths 5-17 blocks long in a 54-block
network: the *effective* paths are short. ``effective_path_distribution`` combines the
binomial counts with such per-path gradient magnitudes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["PathLengths", "path_length_distribution", "effective_path_distribution"]


@dataclasses.dataclass(frozen=True)
class PathLengths:
    """Number of paths through ``k`` residual branches, for k = 0..n."""

    num_blocks: int
    lengths: np.ndarray  # 0..n
    counts: tuple  # exact Python ints C(n, k); 2^n overflows int64 for n >= 63
    fraction: np.ndarray  # counts / 2^n, float64

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> float:
        return float((self.lengths * self.fraction).sum())


def path_length_distribution(num_blocks: int) -> PathLengths:
    """Binomial distribution of path lengths of a ResNet with ``num_blocks`` residual blocks.

    ResNet-110 has 54 blocks (3 stages of 18 basic blocks); a CIFAR ResNet of depth ``6n+2``
    has ``3n``.
    """
    if not isinstance(num_blocks, (int, np.integer)) or num_blocks < 0:
        raise ValueError(f"num_blocks: expected an integer >= 0, got {num_blocks!r}.")
    n = int(num_blocks)
    counts = tuple(math.comb(n, k) for k in range(n + 1))
    # exact division of Python ints before converting, so that large n does not overflow
    fraction = np.array([c / 2**n for c in counts], dtype=np.float64)
    return PathLengths(n, np.arange(n + 1), counts, fraction)


def effective_path_distribution(
    num_blocks: int, gradient_per_path: Sequence[float]
) -> np.ndarray:
    """Share of the total gradient carried by paths of each length (Veit Fig. 6c).

    ``gradient_per_path[k]`` is the mean gradient magnitude that one path through ``k``
    branches carries (Veit Fig. 6b, measured by sampling paths); the result is
    ``C(n, k) * gradient_per_path[k]``, normalised to sum to one.
    """
    paths = path_length_distribution(num_blocks)
    gradient = np.asarray(gradient_per_path, dtype=np.float64)
    if gradient.shape != (paths.num_blocks + 1,):
        raise ValueError(
            f"gradient_per_path: expected {paths.num_blocks + 1} values (lengths 0..n), got "
            f"shape {gradient.shape}."
        )
    if (gradient < 0).any():
        raise ValueError("gradient_per_path: magnitudes must be >= 0.")
    weighted = paths.fraction * gradient  # fraction, not counts: same shape, no overflow
    if weighted.sum() == 0:
        raise ValueError("gradient_per_path: all zero, no distribution to normalise.")
    return weighted / weighted.sum()
