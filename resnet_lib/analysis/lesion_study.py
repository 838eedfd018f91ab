"""The lesion experiments of Veit, Wilber, Belongie 2016 (arXiv:1605.06431, Section 5).

Test error of a trained network, and of its plain counterpart, when each single block is
deleted (Veit Fig. 3), when ``k`` random blocks are deleted (Fig. 5a), and when ``k`` random
pairs of blocks are swapped (Fig. 5b). The networks themselves are rebuilt by
``resnet_lib.analysis.lesion``. Veit et al. report that a ResNet's error rises smoothly while a
plain net's jumps (Veit et al. 2016, Fig. 3 and 5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import keras
import numpy as np

from resnet_lib.analysis.lesion import (
    _deletion_candidates,
    _graph_blocks,
    _swap_groups,
    lesioned_model,
    random_deletion,
    random_swaps,
)
from resnet_lib.metrics import top1_error

__all__ = ["LesionResult", "evaluate_error", "lesion_study"]


def _top1_error(y_true, y_pred) -> float:
    """``metrics.top1_error``, with one-hot labels read as class indices."""
    y_true = np.asarray(y_true)
    return top1_error(y_true.argmax(-1) if y_true.ndim == np.ndim(y_pred) else y_true, y_pred)


def evaluate_error(model, data, *, batch_size: int = 256, error_fn=None) -> float:
    """Top-1 error (a fraction) of ``model`` on ``data``.

    ``data`` is a pair of arrays ``(x, y)`` or an iterable of ``(x, y)`` batches (e.g. a
    ``tf.data.Dataset``). ``error_fn(y_true, y_pred) -> float`` replaces top-1 error.
    """
    error_fn = error_fn or _top1_error
    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[0], "shape"):
        x, y = data
        predictions = model.predict(x, batch_size=batch_size, verbose=0)
        return error_fn(np.asarray(y), np.asarray(predictions))
    ys, predictions = [], []
    for batch in data:
        x, y = batch[0], batch[1]
        predictions.append(keras.ops.convert_to_numpy(model.predict_on_batch(x)))
        ys.append(keras.ops.convert_to_numpy(y))
    if not ys:
        raise ValueError("data: the iterable yielded no (x, y) batch.")
    return error_fn(np.concatenate(ys), np.concatenate(predictions))


@dataclasses.dataclass
class LesionResult:
    """Test error of one network under the three lesions of Veit et al. (fractions, not %)."""

    label: str
    residual: bool
    baseline_error: float
    block_names: tuple  # in data-flow order
    single_block_error: np.ndarray  # error with each block deleted; NaN where not deletable
    deleted_counts: np.ndarray  # k, number of random blocks deleted
    deleted_error: np.ndarray  # shape (len(deleted_counts), trials)
    swapped_counts: np.ndarray  # k, number of random pairs swapped
    swapped_error: np.ndarray  # shape (len(swapped_counts), trials)

    def to_json(self) -> dict:
        """Plain JSON types (None where ``single_block_error`` is NaN); ``from_json`` reads it back."""
        return {"residual": bool(self.residual), "baseline_error": float(self.baseline_error),
                "block_names": list(self.block_names),
                "single_block_error": [None if np.isnan(v) else float(v) for v in self.single_block_error],
                "deleted_counts": self.deleted_counts.tolist(), "deleted_error": self.deleted_error.tolist(),
                "swapped_counts": self.swapped_counts.tolist(), "swapped_error": self.swapped_error.tolist()}

    @classmethod
    def from_json(cls, payload: dict, *, label: str) -> "LesionResult":
        return cls(label=label, residual=payload["residual"], baseline_error=payload["baseline_error"],
                   block_names=tuple(payload["block_names"]),
                   single_block_error=np.array([np.nan if v is None else v
                                                for v in payload["single_block_error"]], float),
                   deleted_counts=np.array(payload["deleted_counts"], int),
                   deleted_error=np.array(payload["deleted_error"], float),
                   swapped_counts=np.array(payload["swapped_counts"], int),
                   swapped_error=np.array(payload["swapped_error"], float))


def _study_one(model, data, *, deletions, swaps, trials, seed, include_downsampling, **kw):
    blocks = _graph_blocks(model)
    single = np.full(len(blocks), np.nan)
    for i, block in enumerate(blocks):
        if block.info.deletable:
            single[i] = evaluate_error(lesioned_model(model, delete=[i]), data, **kw)
    n_del = len(_deletion_candidates(blocks, include_downsampling))
    n_swap = sum(len(g) // 2 for g in _swap_groups(blocks))
    deleted_counts = np.array([k for k in deletions if k <= n_del], int)
    swapped_counts = np.array([k for k in swaps if k <= n_swap], int)
    rng = np.random.default_rng(seed)
    deleted_error = np.zeros((len(deleted_counts), trials))
    swapped_error = np.zeros((len(swapped_counts), trials))
    for i, k in enumerate(deleted_counts):
        for t in range(trials):
            chosen = random_deletion(
                model, int(k), seed=rng.integers(2**31), include_downsampling=include_downsampling
            )
            deleted_error[i, t] = evaluate_error(lesioned_model(model, delete=chosen), data, **kw)
    for i, k in enumerate(swapped_counts):
        for t in range(trials):
            pairs = random_swaps(model, int(k), seed=rng.integers(2**31))
            swapped_error[i, t] = evaluate_error(lesioned_model(model, swap=pairs), data, **kw)
    return LesionResult(
        label=model.name,
        residual=any(b.info.residual for b in blocks),
        baseline_error=evaluate_error(model, data, **kw),
        block_names=tuple(b.info.name for b in blocks),
        single_block_error=single,
        deleted_counts=deleted_counts,
        deleted_error=deleted_error,
        swapped_counts=swapped_counts,
        swapped_error=swapped_error,
    )


def lesion_study(
    model,
    data,
    *,
    plain_model=None,
    deletions: Iterable[int] = range(1, 11),
    swaps: Iterable[int] = range(1, 6),
    trials: int = 5,
    seed: int = 0,
    include_downsampling: bool = False,
    batch_size: int = 256,
    error_fn=None,
) -> Mapping[str, LesionResult]:
    """Veit et al.'s three lesion experiments on ``model`` (and on ``plain_model``, if given).

    For each network: the error with each single block deleted (Veit Fig. 3), the error with
    ``k`` random blocks deleted for ``k`` in ``deletions`` (Fig. 5a), and with ``k`` random
    disjoint pairs of same-shape blocks swapped for ``k`` in ``swaps`` (Fig. 5b), each
    averaged over ``trials`` random draws (seeded by ``seed``). Counts larger than the network
    allows are dropped. Random deletions skip downsampling blocks unless
    ``include_downsampling``; a plain net's downsampling blocks can never be deleted.

    Args:
        data: ``(x, y)`` arrays or an iterable of ``(x, y)`` batches, e.g. the test set.
        error_fn: ``error_fn(y_true, y_pred) -> float``; default top-1 error.

    Returns:
        ``{model.name: LesionResult, plain_model.name: LesionResult}`` (insertion order).
    """
    deletions, swaps = list(deletions), list(swaps)
    results = {}
    for m in [model] + ([plain_model] if plain_model is not None else []):
        if m.name in results:
            raise ValueError(f"plain_model: has the same name {m.name!r} as model; rename one.")
        results[m.name] = _study_one(
            m, data, deletions=deletions, swaps=swaps, trials=trials, seed=seed,
            include_downsampling=include_downsampling, batch_size=batch_size, error_fn=error_fn,
        )
    return results
