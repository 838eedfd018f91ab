"""Resuming a run directory: reload the last committed epoch, fall back past a damaged
checkpoint, and keep the best-on-validation record in step with ``history.csv``.

``fit`` calls ``restore`` when the run directory already holds committed epochs, and
``repair_best`` before training on: a kill between the history commit and the best save leaves
the best record one epoch behind, and a missing record is rebuilt from a kept checkpoint.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np

from resnet_lib.train.rundir import RunDirError

__all__ = ["restore", "repair_best", "snapshot", "put_back"]


def restore(net, run, rows, *, steps_per_epoch) -> list[dict]:
    """Load weights and optimizer state of the last committed epoch's checkpoint into ``net``.

    A checkpoint that is missing or does not load is named and set aside (``*.damaged``); the
    newest older checkpoint that loads is used instead, and ``history.csv`` (and a best record
    or final.json of a later epoch) is rolled back to it, with a warning that says what was
    discarded. Returns the history rows that remain.
    """
    done = len(rows)
    candidates = [done] + [e for e in reversed(run.saved_checkpoints()) if e < done]
    failures = []
    net.optimizer.build(net.trainable_variables)
    for epoch in candidates:
        path = run.checkpoint_path(epoch)
        if not path.exists():
            failures.append(f"{path} is missing")
            continue
        try:
            net.load_weights(path)
        except Exception as err:  # a damaged zip or HDF5 member: try the previous checkpoint
            failures.append(f"{path} does not load ({type(err).__name__}: {err})")
            continue
        iterations = int(keras.ops.convert_to_numpy(net.optimizer.iterations))
        if iterations != epoch * steps_per_epoch:
            raise RunDirError(
                f"{path}: optimizer is at iteration {iterations}, expected {epoch * steps_per_epoch} "
                f"({epoch} epochs); the checkpoint does not match this run's steps per epoch"
            )
        break
    else:
        raise RunDirError(f"{run.history_path} records {done} epochs, but no checkpoint loads: "
                          + "; ".join(failures))
    if epoch < done:
        roll_back(run, rows, epoch, failures)
    return rows[:epoch]


def roll_back(run, rows, epoch, failures):
    """Discard the history after ``epoch`` and what refers to it (see ``restore``)."""
    aside = [run.set_aside(run.checkpoint_path(e)).name for e in range(epoch + 1, len(rows) + 1)
             if run.checkpoint_path(e).exists()]
    best = run.best_epoch()
    if best is not None and best > epoch or run.best_json.exists() and best is None:
        for path in (run.best_weights, run.best_json):
            if path.exists():
                aside.append(run.set_aside(path).name)
    if run.final_json.exists():
        aside.append(run.set_aside(run.final_json).name)
    run.write_history(rows[:epoch])
    warnings.warn(
        f"{'; '.join(failures)}. Resuming {run.root} from epoch {epoch}: discarded the history rows "
        f"of epochs {epoch + 1}..{len(rows)} (they will be trained again); set aside: {', '.join(aside)}",
        RuntimeWarning, stacklevel=3,
    )


def snapshot(net):
    """``net``'s weights and optimizer variables, as NumPy arrays (for ``put_back``)."""
    return net.get_weights(), [keras.ops.convert_to_numpy(v) for v in net.optimizer.variables]


def put_back(net, kept):
    """Put back what ``snapshot`` took: weights and optimizer state."""
    weights, optimizer = kept
    net.set_weights(weights)
    for variable, value in zip(net.optimizer.variables, optimizer):
        variable.assign(value)


def repair_best(net, run, rows):
    """Best epoch per history; rebuild the best record when it is missing or behind.

    A kill between the history commit and the best save leaves the record one epoch behind;
    ``net`` (the last epoch) is then the best and is saved. A missing ``best.weights.h5`` or
    ``best.json`` is rebuilt from the best epoch's checkpoint while it is kept, with a warning;
    otherwise ``RunDirError`` names the missing file.
    """
    if not rows:
        return None
    errors = [float(r["val_error"]) for r in rows]
    best = int(np.argmin(errors)) + 1
    if run.best_epoch() == best:
        return best
    missing = [p.name for p in (run.best_weights, run.best_json) if not p.exists()]
    if best == len(rows):
        run.save_best(net, best, errors[best - 1])  # net holds the last epoch, which is the best
    elif run.checkpoint_path(best).exists():
        kept = snapshot(net)
        net.load_weights(run.checkpoint_path(best))
        run.save_best(net, best, errors[best - 1])
        put_back(net, kept)
    else:
        what = f"{' and '.join(missing)} missing" if missing else f"{run.best_json.name} does not record epoch {best}"
        raise RunDirError(
            f"{run.root}: {what}; the best epoch in {run.history_path} is {best}, and its checkpoint "
            f"{run.checkpoint_path(best).name} is no longer kept, so the best record cannot be rebuilt. "
            f"Restore {run.best_weights.name}, or move the run directory aside to train it again"
        )
    if best != len(rows) or run.best_json.name not in missing and missing:
        warnings.warn(f"{run.root}: {' and '.join(missing)} missing; rebuilt the best record "
                      f"(epoch {best}) from {run.history_path.name}", RuntimeWarning, stacklevel=3)
    return best
