"""A run directory that survives SIGKILL at any moment.

Layout of ``DIR``::

    config.json                 what was asked for (compared on resume) and where it ran
    history.csv                 one row per completed epoch, ``epoch`` = 1, 2, ...
    checkpoints/epoch_0007.keras  full model with optimizer state after epoch 7 (last two kept)
    best.weights.h5, best.json  the weights of the epoch with the lowest validation error
    logs/                       TensorBoard event files (when TensorBoard is available)
    final.json                  summary written when the requested epochs are done

Every file is written to a temporary name in the same directory and moved into place with
``os.replace``, which is atomic on POSIX: a reader (or a resumed run) sees the old file or the
new one, never half of one. ``history.csv`` is the commit record: an epoch counts as completed
once its row is there, and its checkpoint is always written before the row, so the checkpoint
of the last row always exists.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

__all__ = ["RunDir", "ConfigMismatchError"]


class ConfigMismatchError(ValueError):
    """The run directory holds a run with a different configuration."""


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunDir:
    """Files of one run; all paths are under ``root``."""

    def __init__(self, root):
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.config_path = self.root / "config.json"
        self.history_path = self.root / "history.csv"
        self.best_weights = self.root / "best.weights.h5"
        self.best_json = self.root / "best.json"
        self.logs = self.root / "logs"
        self.final_json = self.root / "final.json"

    def prepare(self, config: dict, runtime: dict) -> None:
        """Create the directory, or check that an existing run asked for the same ``config``."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)
        normalized = json.loads(json.dumps(config))
        if self.config_path.exists():
            saved = json.loads(self.config_path.read_text()).get("config", {})
            keys = sorted(set(saved) | set(normalized))
            diff = [k for k in keys if saved.get(k) != normalized.get(k)]
            if diff:
                detail = "; ".join(f"{k}: saved {saved.get(k)!r}, now {normalized.get(k)!r}" for k in diff)
                raise ConfigMismatchError(
                    f"{self.config_path} was written by a run with a different configuration "
                    f"({detail}). Resume with the same options, or use a new --run-dir."
                )
        atomic_write_text(self.config_path, json.dumps({"config": normalized, "runtime": runtime}, indent=2) + "\n")

    # ------------------------------------------------------------------ history
    def read_history(self) -> list[dict]:
        """Committed rows, checked to be epochs 1..n without gaps or repeats."""
        if not self.history_path.exists():
            return []
        with open(self.history_path, newline="") as f:
            rows = list(csv.DictReader(f))
        epochs = [int(r["epoch"]) for r in rows]
        if epochs != list(range(1, len(rows) + 1)):
            raise RuntimeError(f"{self.history_path}: epochs {epochs} are not 1..{len(rows)}")
        return rows

    def write_history(self, rows: list[dict]) -> None:
        fields = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in fields})
        atomic_write_text(self.history_path, buffer.getvalue())

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_path(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch_{epoch:04d}.keras"

    def save_checkpoint(self, model, epoch: int) -> Path:
        """Save the whole model, optimizer included, as ``epoch_NNNN.keras`` atomically."""
        path = self.checkpoint_path(epoch)
        tmp = path.with_name(f".tmp{os.getpid()}_{path.name}")  # must end in .keras
        model.save(tmp)
        os.replace(tmp, path)
        return path

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest ``keep`` epoch checkpoints (and stray temporaries)."""
        for stray in self.checkpoints.glob(".tmp*"):
            stray.unlink(missing_ok=True)
        saved = sorted(self.checkpoints.glob("epoch_*.keras"))
        for old in saved[: max(len(saved) - keep, 0)]:
            old.unlink(missing_ok=True)

    def save_best(self, model, epoch: int, val_error: float) -> None:
        tmp = self.root / f".tmp{os.getpid()}.weights.h5"
        model.save_weights(tmp)
        os.replace(tmp, self.best_weights)
        atomic_write_text(self.best_json, json.dumps({"epoch": epoch, "val_error": val_error}) + "\n")

    def best_epoch(self) -> int | None:
        if not (self.best_json.exists() and self.best_weights.exists()):
            return None
        return int(json.loads(self.best_json.read_text())["epoch"])

    def write_json(self, path: Path, payload: dict) -> None:
        atomic_write_text(path, json.dumps(payload, indent=2, default=float) + "\n")


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
