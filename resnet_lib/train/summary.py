"""final.json, typed: how a finished run ended (``FinalSummary``).

``fit`` writes it when the requested epochs are done: the epoch chosen on validation error,
that epoch's validation and test error, and the last epoch's errors (He et al. 2015 report
the test error of the final model; the best-on-validation one is recorded beside it, chosen
without looking at the test split).
"""

from __future__ import annotations

import dataclasses
import json

__all__ = ["FinalSummary", "read_final"]


_FINAL_ORDER = ("epochs", "best_epoch", "last_train_error", "last_val_error", "last_test_error",
                "best_val_error", "best_test_error")


@dataclasses.dataclass(frozen=True)
class FinalSummary:
    """final.json: how a run ended. Errors are fractions; None where the run has no such number
    (no test split, no training accuracy for multi-label data, no epoch yet).

    ``best_*`` are the epoch chosen on validation error (``best_epoch``); its test error is
    reported, never used to choose. ``last_*`` are the last epoch's. Reads like the dict that
    final.json holds (``summary["best_test_error"]``, ``summary.get(...)``) for code written
    against it.
    """

    epochs: int  # epochs trained
    best_epoch: int | None  # lowest validation error, 1-based
    best_val_error: float | None = None
    best_test_error: float | None = None  # the best epoch's weights on the test split
    last_train_error: float | None = None  # running error over the last epoch's mini-batches
    last_val_error: float | None = None
    last_test_error: float | None = None

    @classmethod
    def from_dict(cls, saved: dict) -> "FinalSummary":
        """From a final.json's object, including older ones whose numbers are strings or whose
        keys are partly missing; unknown keys are ignored. ``ValueError`` when ``epochs`` is
        missing or a value is not a number."""
        def number(key, kind):
            value = saved.get(key)
            if value in (None, ""):
                return None
            try:
                return kind(float(value)) if kind is int else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"final.json: {key}={value!r} is not a number") from None

        if "epochs" not in saved:
            raise ValueError("final.json: no 'epochs'")
        return cls(epochs=number("epochs", int), best_epoch=number("best_epoch", int),
                   **{f.name: number(f.name, float) for f in dataclasses.fields(cls)
                      if f.name not in ("epochs", "best_epoch")})

    def to_dict(self) -> dict:
        """final.json's object: ``epochs`` and ``best_epoch`` always, the errors that exist."""
        return {key: getattr(self, key) for key in _FINAL_ORDER
                if key in ("epochs", "best_epoch") or getattr(self, key) is not None}

    def __getitem__(self, key):
        return self.to_dict()[key]

    def get(self, key, default=None):
        return self.to_dict().get(key, default)


def read_final(run) -> FinalSummary | None:
    """``run``'s final.json, or None when it is missing or does not parse."""
    try:
        return FinalSummary.from_dict(json.loads(run.final_json.read_text()))
    except (OSError, ValueError, TypeError, AttributeError):
        return None
