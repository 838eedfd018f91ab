"""A run directory that survives SIGKILL at any moment, and refuses what would damage it.

Layout of ``DIR``::

    config.json                 what was asked for (compared on resume) and where it ran
    history.csv                 one row per completed epoch, ``epoch`` = 1, 2, ...
    checkpoints/epoch_0007.keras  full model with optimizer state after epoch 7 (last two kept)
    best.weights.h5, best.json  the weights of the epoch with the lowest validation error
    logs/                       TensorBoard event files (when TensorBoard is available)
    final.json                  summary written when the requested epochs are done
    .lock                       held (``fcntl.flock``) by the one process that writes the run

Every file is written to a temporary name in the same directory, flushed to disk (``fsync``)
and moved into place with ``os.replace``, which is atomic on POSIX: a reader (or a resumed run)
sees the old file or the new one, never half of one. ``history.csv`` is the commit record: an
epoch counts as completed once its row is there, and its checkpoint is always on disk before the
row, so the checkpoint of the last row always exists. Temporaries left by a kill are deleted by
the next process that takes the lock.

Checkpoints or a best record newer than ``history.csv`` mean the history was lost or damaged:
``read_history`` then stops with ``RunDirError`` rather than train over them.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import math
import os
import shutil
from pathlib import Path

__all__ = ["RunDir", "ConfigMismatchError", "RunDirError", "RunDirBusyError", "comparable_config"]

# Runtime settings that change the numbers a run produces: a resume must keep them.
PINNED_RUNTIME = {"dtype_policy": "mixed_precision", "jit_compile": "jit"}
SAFETY_MARGIN = 1 << 20  # bytes beyond a file's estimated size that must be free before writing it

_HELD: dict[str, int] = {}  # realpath of a run root -> fd of its .lock, for this process


class ConfigMismatchError(ValueError):
    """The run directory holds a run with a different configuration.

    ``differences`` maps each differing key (``fit``'s argument names, ``"recipe.base_lr"`` for
    nested ones) to ``(saved, now)``; ``config_path`` is the config.json compared with.
    """

    def __init__(self, message, differences=None, config_path=None):
        super().__init__(message)
        self.differences = dict(differences or {})
        self.config_path = config_path


class RunDirError(RuntimeError):
    """A file of the run directory is missing, damaged or inconsistent; the message names it."""


class RunDirBusyError(RunDirError):
    """Another process holds the run directory's lock."""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def comparable_config(config: dict) -> dict:
    """``config`` (config.json's ``"config"``, in today's form or the flat one of older runs) as
    resume compares it: ``TrainConfig.identity`` (``resnet_lib.train.config``)."""
    from resnet_lib.train.config import TrainConfig

    return TrainConfig.from_dict(config).identity()


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
        self.lock_path = self.root / ".lock"

    # ------------------------------------------------------------------ lock
    def acquire(self) -> None:
        """Take the run's lock (``fcntl.flock`` on ``.lock``); ``RunDirBusyError`` if another
        process holds it. Taking it again in the same process is a no-op. Where ``.lock`` cannot
        be created (a read-only copy of a run), the run is opened unlocked: it cannot be written
        either."""
        key = os.path.realpath(self.root)
        if key in _HELD:
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            try:
                fd = os.open(self.lock_path, os.O_RDONLY)
            except OSError:
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = ""
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            except OSError:
                pass
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise RunDirBusyError(
                    f"{self.root} is in use by another process{f' (pid {holder})' if holder else ''}, "
                    f"which holds {self.lock_path}; wait for it to finish, or use another run directory"
                ) from None
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # read-only: the lock is held all the same
        _HELD[key] = fd

    def release(self) -> None:
        """Give the lock back (when this process holds it)."""
        fd = _HELD.pop(os.path.realpath(self.root), None)
        if fd is not None:
            os.close(fd)

    def remove_temporaries(self) -> None:
        """Delete the temporary files a killed writer left (call with the lock held)."""
        strays = [*self.root.glob(".*.tmp*"), *self.root.glob(".tmp*"), *self.checkpoints.glob(".tmp*")]
        for stray in strays:
            try:
                stray.unlink()
            except OSError:
                pass

    # ------------------------------------------------------------------ config
    def read_config(self) -> dict:
        """config.json as a dict with "config" (and "runtime"); ``RunDirError`` naming the file
        when it is not such a JSON object."""
        try:
            saved = json.loads(self.config_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RunDirError(f"{self.config_path} is not valid JSON ({err}); restore it, or use a new run "
                              "directory") from None
        if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
            raise RunDirError(f"{self.config_path} holds no \"config\" object; restore it, or use a new run "
                              "directory")
        return saved

    def has_work(self) -> bool:
        """Whether any epoch's result is on disk (history, a checkpoint or a best record)."""
        return (self.history_path.exists() or self.best_json.exists() or self.best_weights.exists()
                or any(self.checkpoints.glob("epoch_*.keras")))

    def prepare(self, config: dict, runtime: dict) -> None:
        """Create the directory and take its lock, or check that an existing run asked for the
        same ``config`` (``comparable_config``) and ran with the same precision and ``jit``.

        Raises ``ConfigMismatchError`` listing every differing key. A config.json with no
        epoch on disk yet (a run that failed before training) is replaced. config.json is only
        written when it is new, so a finished run can be re-opened from a read-only location.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self.acquire()
        try:
            self._prepare(config, runtime)
        except BaseException:
            self.release()
            raise

    def _prepare(self, config, runtime):
        self.remove_temporaries()
        if not self.checkpoints.is_dir():
            self.checkpoints.mkdir()
        normalized = json.loads(json.dumps(config))
        if self.config_path.exists():
            saved = self.read_config()
            before, now = comparable_config(saved["config"]), comparable_config(normalized)
            diff = {k: (before.get(k), now.get(k)) for k in sorted(set(before) | set(now))
                    if before.get(k) != now.get(k)}
            saved_runtime = saved.get("runtime") or {}
            for key, option in PINNED_RUNTIME.items():
                if key in saved_runtime and saved_runtime[key] != runtime.get(key):
                    diff[f"runtime.{key} ({option})"] = (saved_runtime[key], runtime.get(key))
            if not diff:
                return
            if self.has_work():
                detail = "; ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in diff.items())
                raise ConfigMismatchError(
                    f"{self.config_path} was written by a run with a different configuration "
                    f"({detail}). Resume with the same arguments, or pass another run_dir.", diff,
                    self.config_path)
        atomic_write_text(self.config_path, json.dumps({"config": normalized, "runtime": runtime}, indent=2) + "\n")

    # ------------------------------------------------------------------ history
    def read_history(self) -> list[dict]:
        """Committed rows, checked to be whole and to be epochs 1..n without gaps or repeats.

        Raises ``RunDirError`` naming the file when a row is cut or a number does not parse, and
        when checkpoints or the best record are newer than the history (history lost or cut):
        training would otherwise start over and overwrite them.
        """
        rows = []
        if self.history_path.exists():
            with open(self.history_path, newline="") as f:
                reader = csv.DictReader(f)
                fields = reader.fieldnames or []
                if "epoch" not in fields or "val_error" not in fields:
                    if self._newest_evidence() > 0:
                        raise RunDirError(self._lost_history(0, f"{self.history_path} is empty or its header is cut"))
                    return []
                for line, row in enumerate(reader, start=2):
                    if None in row.values() or None in row:
                        raise RunDirError(f"{self.history_path}, line {line}: the row is cut or has extra "
                                          f"cells ({len(fields)} columns expected); restore the file")
                    try:
                        int(row["epoch"]), float(row["val_error"])
                    except ValueError:
                        raise RunDirError(f"{self.history_path}, line {line}: epoch {row['epoch']!r} or "
                                          f"val_error {row['val_error']!r} is not a number") from None
                    rows.append(row)
        epochs = [int(r["epoch"]) for r in rows]
        if epochs != list(range(1, len(rows) + 1)):
            raise RunDirError(f"{self.history_path}: epochs {epochs} are not 1..{len(rows)}")
        if self._newest_evidence() > len(rows):
            what = f"{self.history_path} records {len(rows)} epochs" if self.history_path.exists() \
                else f"{self.history_path} is missing"
            raise RunDirError(self._lost_history(len(rows), what))
        return rows

    def _newest_evidence(self) -> int:
        """The last epoch that files other than history.csv prove was committed."""
        newest = max((int(p.stem.split("_")[1]) for p in self.checkpoints.glob("epoch_*.keras")
                      if p.stem.split("_")[1].isdigit()), default=0) - 1  # epoch n+1: not yet committed
        for path, key in ((self.best_json, "epoch"), (self.final_json, "epochs")):
            try:
                newest = max(newest, int(json.loads(path.read_text())[key]))
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return newest

    def _lost_history(self, n: int, what: str) -> str:
        files = sorted(p.name for p in self.checkpoints.glob("epoch_*.keras"))
        return (f"{what}, but {self.root} holds results of later epochs (checkpoints {files}, "
                f"{self.best_json.name}, {self.final_json.name}); refusing to train over them. Restore "
                f"history.csv, or move the run directory aside to start again")

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

    def saved_checkpoints(self) -> list[int]:
        """Epochs that have a checkpoint, oldest first."""
        return sorted(int(p.stem.split("_")[1]) for p in self.checkpoints.glob("epoch_*.keras")
                      if p.stem.split("_")[1].isdigit())

    def set_aside(self, path: Path) -> Path:
        """Rename a damaged file to ``<name>.damaged`` (kept for inspection, out of the way)."""
        target = path.with_name(path.name + ".damaged")
        os.replace(path, target)
        return target

    def _check_space(self, model, path: Path) -> None:
        need = sum(math.prod(v.shape) * 4 for v in [*model.weights, *getattr(model.optimizer, "variables", [])])
        need = int(need * 1.1) + SAFETY_MARGIN
        free = _free_bytes(path.parent)
        if free < need:
            raise OSError(errno.ENOSPC, f"{free} bytes free, about {need} needed to write it; "
                                        "free some space and run again", str(path))

    def _save(self, save, model, tmp: Path, path: Path) -> None:
        self._check_space(model, path)
        try:
            save(tmp)
            _fsync_file(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def save_checkpoint(self, model, epoch: int) -> Path:
        """Save the whole model, optimizer included, as ``epoch_NNNN.keras``: on disk (fsync)
        before this returns, so before the history row that refers to it."""
        path = self.checkpoint_path(epoch)
        tmp = path.with_name(f".tmp{os.getpid()}_{path.name}")  # must end in .keras
        self._save(model.save, model, tmp, path)
        return path

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest ``keep`` epoch checkpoints (and stray temporaries)."""
        for stray in self.checkpoints.glob(".tmp*"):
            stray.unlink(missing_ok=True)
        saved = sorted(self.checkpoints.glob("epoch_*.keras"))
        for old in saved[: max(len(saved) - keep, 0)]:
            old.unlink(missing_ok=True)

    def save_best(self, model, epoch: int, val_error: float) -> None:
        """Write ``best.weights.h5`` (free space checked first: a full disk raises ``OSError``
        naming the file and leaves no temporary), then ``best.json``."""
        tmp = self.root / f".tmp{os.getpid()}.weights.h5"
        self._save(model.save_weights, model, tmp, self.best_weights)
        atomic_write_text(self.best_json, json.dumps({"epoch": epoch, "val_error": float(val_error)}) + "\n")

    def best_epoch(self) -> int | None:
        """The epoch of the best record, or None when best.json or best.weights.h5 is missing."""
        if not (self.best_json.exists() and self.best_weights.exists()):
            return None
        try:
            return int(json.loads(self.best_json.read_text())["epoch"])
        except (ValueError, KeyError, TypeError):
            return None  # damaged: rebuilt from the history

    def write_json(self, path: Path, payload: dict) -> None:
        """Write ``payload`` unless ``path`` already holds exactly it."""
        text = json.dumps(payload, indent=2, default=float) + "\n"
        try:
            if path.read_text() == text:
                return
        except OSError:
            pass
        atomic_write_text(path, text)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
