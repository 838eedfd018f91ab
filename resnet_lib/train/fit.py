"""``fit``: train a resnet_lib model on a resnet_lib dataset with a named recipe, resumably.

The loop is Keras' own ``Model.fit``, called once per epoch so that each epoch gets a training
order drawn from ``(seed, epoch)`` and is committed to disk before the next starts:

1. train one epoch (``Model.fit(initial_epoch=e, epochs=e + 1)``), stopping at the first
   non-finite loss;
2. measure validation error (and, for the paper's curves, test error: recorded, never used to
   choose anything);
3. save the full model with its optimizer state, then commit the epoch's row to
   ``history.csv``, then update the best checkpoint (lowest *validation* error).

Started again with the same arguments after a kill, ``fit`` reloads the checkpoint of the last
committed epoch (weights, optimizer slots and iteration count, hence the learning-rate
schedule) and carries on, so the run ends with exactly the requested epochs. A checkpoint that
does not load is named and set aside, and the run falls back to the newest one that does,
rolling ``history.csv`` back to it (``resnet_lib.train.resume``). Arguments are checked before
anything is written (``resnet_lib.train.arguments``), and one process at a time writes a run
directory (``resnet_lib.train.rundir``).

A run is configured by one ``TrainConfig`` (``resnet_lib.train.config``): checked once, recorded
in config.json as its dict, and compared on resume (``TrainConfig.identity``). ``fit`` opens the
data (``resnet_lib.train.sources``), builds and compiles the network
(``resnet_lib.train.network``), reloads what is committed, runs the epoch loop above and writes
final.json (``resnet_lib.train.summary.FinalSummary``).

Training error is the running error over the epoch's mini-batches (training-mode BN, with
augmentation), which is what the paper's training curves show (Fig. 1, 4, 6).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import random
import shutil
import tempfile
import time
import warnings

import keras
import numpy as np

from resnet_lib.metrics import read_history
from resnet_lib.train.arguments import model_depth
from resnet_lib.train.config import ConfigError, TrainConfig
from resnet_lib.train.evaluation import evaluate, feed
from resnet_lib.train.network import build_network, compile_network, with_augmentation
from resnet_lib.train.resume import put_back, repair_best, restore, snapshot
from resnet_lib.train.rundir import RunDir
from resnet_lib.train.runtime import distribution, dtype_policy, resolve_jit, resolve_mixed_precision
from resnet_lib.train.sources import first_batch, load_source
from resnet_lib.train.torch_layout import channels_last_kernels
from resnet_lib.train.summary import FinalSummary, read_final

__all__ = ["fit", "FitResult", "FinalSummary", "FitArgumentError", "ConfigError", "TrainingDivergedError",
           "ChanceLevelWarning"]

CHANCE_EPOCHS = 3  # a finished run of at least this many epochs still at chance is warned about
EXPLOSION_FACTOR = 100  # a running loss this many times its first value (at least 1) has diverged
FitArgumentError = ConfigError  # the name this error had before TrainConfig


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite, or exploded (``EXPLOSION_FACTOR``).

    ``epoch`` and ``step`` (1-based) say where, ``loss`` what it became; ``hint(name)`` is the
    message with the learning-rate argument spelled ``name`` (the command line says ``--lr``).
    """

    def __init__(self, *, loss, reason, epoch, step, where, last_good):
        self.loss, self.reason, self.epoch, self.step = loss, reason, epoch, step
        self.where, self.last_good = where, last_good
        super().__init__(self.hint("learning_rate"))

    def hint(self, learning_rate_name: str) -> str:
        return (f"training loss became {self.loss}{self.reason} at epoch {self.epoch}, step {self.step} "
                f"of {self.where}; the last good checkpoint is epoch {self.last_good or 'none'}. Lower the "
                f"learning rate ({learning_rate_name}) or check the data for NaN/inf.")


class ChanceLevelWarning(RuntimeWarning):
    """A finished run's validation error is no better than guessing."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Like ``keras.callbacks.TerminateOnNaN``, and remembers where the loss went bad.

    Also stops when the loss explodes: more than ``EXPLOSION_FACTOR`` times the first loss this
    process saw (taken as at least 1.0, so a resumed, well-trained run is not held to its tiny
    loss).
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.first = None
        self.bad = None  # (epoch 1-based, step 1-based, loss)
        self.reason = ""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or self.bad is not None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            self.reason = ""
        elif self.first is None:
            self.first = max(loss, 1.0)
            return
        elif loss > EXPLOSION_FACTOR * self.first:
            self.reason = f" (more than {EXPLOSION_FACTOR}x its starting value {self.first:.4g})"
        else:
            return
        self.bad = (self.epoch + 1, batch + 1, loss)
        self.model.stop_training = True


@dataclasses.dataclass
class FitResult:
    """What ``fit`` returns; with a ``run_dir``, everything in it is also on disk there."""

    model: keras.Model  # the model after the last epoch (optimizer included)
    run_dir: str | None  # None: the run went to a temporary directory, deleted before fit returned
    history: dict  # column -> NumPy array, one entry per epoch (``metrics.read_history``)
    best_epoch: int | None  # chosen on validation error
    final: FinalSummary  # final.json
    config: TrainConfig | None = None  # the run's configuration, resolved (config.json's "config")


def fit(model=None, data=None, *, config: TrainConfig | None = None, run_dir=None,
        **options) -> FitResult:
    """Train ``model`` on ``data`` as ``config`` says (``TrainConfig``), resumably.

    model: a preset name ("resnet20", "plain56", "resnet50", ...; ``resnet_lib.models.build_model``),
        built with the recipe's weight decay, ``model_options`` and a logits output; or a built
        ``keras.Model``, trained as it is (its own regularizers and output). Default: the config's.
    data: "digits", "cifar10", "voc2012", "synthetic-voc", or an ``ImageSplits``. Default: the
        config's.
    config: a ``TrainConfig`` (default: every field at its default); ``options`` then set fields
        by name, nested ones included: ``fit("resnet20", "digits", epochs=4, limit=300,
        run_dir=...)``. An unknown name raises ``ConfigError`` naming it. The fields, their
        defaults and the reasons for them: ``resnet_lib.train.config``.
    run_dir: where config, history, checkpoints and logs go; an existing run there with the same
        configuration (``TrainConfig.identity``) is resumed, a different one raises
        ``ConfigMismatchError``. None: a fresh temporary directory, deleted before ``fit`` returns
        or raises; the result then holds the history and the last model in memory only.

    The recipe's schedule is scaled to the run (total iterations = epochs x steps per epoch);
    its warm-up applies by depth, read from a preset name or counted on a built model
    (``model_depth``), so ``fit(cifar_resnet(110))`` warms up as ``fit("resnet110")`` does.
    With ``augment="model"`` the data's preprocessing runs as layers in front of the network
    (for CIFAR-10 and digits, mean subtraction and pad-crop-flip, the images kept on the
    accelerator on JAX). On the torch backend, convolutions and batch norm run without Keras'
    layout copies (``resnet_lib.train.torch_layout``).

    Random state: ``fit`` seeds Keras with ``seed`` (``keras.utils.set_random_seed``) before
    it builds the model, so a seed gives the same initial weights. Python's ``random`` and
    NumPy's global generator are put back as they were when ``fit`` returns or raises; the
    backend's global seed stays as the run left it.

    Raises ``ConfigError`` (also exported as ``FitArgumentError``) naming the field before
    anything is written, also for an option that does not apply to the model or data;
    ``TrainingDivergedError`` naming the epoch and step when the loss stops being finite or
    explodes; ``RunDirError`` naming the file when the run directory is damaged or in use.
    Warns (``ChanceLevelWarning``) when a finished run of ``CHANCE_EPOCHS`` or more epochs
    ends with its validation error at chance.
    """
    config = (config or TrainConfig()).replace(**options)
    if model is not None:
        config = config.replace(model=model) if isinstance(model, str) else config
    if data is not None and isinstance(data, str):
        config = config.replace(data=data)
    model = config.model if model is None else model
    data = config.data.name if data is None or isinstance(data, str) else data
    config.check(model=model, data=data)
    config = config.resolved(model=model, data=data)
    recipe = config.recipe
    temporary = run_dir is None
    run = RunDir(tempfile.mkdtemp(prefix="resnet_run_") if temporary else run_dir)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(config.seed)
    policy, jit = resolve_mixed_precision(config.runtime.mixed_precision), resolve_jit(config.runtime.jit)
    try:
        with distribution(config.runtime.distribute) as replicas, channels_last_kernels():
            if config.batch_size % replicas:
                raise ConfigError("batch_size", f"batch_size={config.batch_size} must be divisible by "
                                  f"the {replicas} replicas (distribute={config.runtime.distribute!r})")
            source = _open_data(data, config, replicas=replicas)
            total_steps = config.epochs * source.steps_per_epoch
            depth = model_depth(model)
            runtime = {"backend": keras.backend.backend(), "keras": keras.__version__,
                       "dtype_policy": policy, "jit_compile": jit, "replicas": replicas,
                       "steps_per_epoch": source.steps_per_epoch, "depth": depth,
                       "warmup_steps": recipe.warmup_steps(total_steps, depth=depth, warmup=config.warmup),
                       "data": source.provenance}
            run.prepare(config.to_dict(), runtime)
            net = _model(model, source, config=config, policy=policy, jit=jit, total_steps=total_steps,
                         depth=depth)
            rows, best_epoch = _resume(net, run, source, config=config)
            rows, best_epoch = _train(net, run, rows, best_epoch, source, config=config,
                                      where="a temporary run directory (deleted; pass run_dir to keep it)"
                                      if temporary else f"run {run.root}")
            final = _finish(net, run, rows, best_epoch, source)
        history = read_history(run.root) if rows else {}
    finally:
        run.release()
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if temporary:
            shutil.rmtree(run.root, ignore_errors=True)
    return FitResult(model=net, run_dir=None if temporary else str(run.root), history=history,
                     best_epoch=best_epoch, final=final, config=config)


def _open_data(data, config, *, replicas):
    """The dataset as the loop sees it (``resnet_lib.train.sources``)."""
    in_model = config.data.augment == "model"
    return load_source(data, config.data, batch_size=config.batch_size, seed=config.seed,
                       one_hot=bool(config.recipe.label_smoothing), even_batches=replicas > 1,
                       on_device=in_model and replicas == 1 and keras.backend.backend() == "jax")


def _model(model, source, *, config, policy, jit, total_steps, depth):
    """Build a preset (or take the built model), put the in-model preprocessing in front of
    it, and compile it with the recipe's optimizer, schedule and loss."""
    with dtype_policy(policy):
        net = build_network(model, source, recipe=config.recipe, model_options=config.model_options)
        if config.data.augment == "model":
            net = with_augmentation(net, seed=config.seed, in_model=source.in_model)
        compile_network(net, config=config, jit=jit, source=source, total_steps=total_steps, depth=depth)
    # Build the compiled loss and metrics now, on one batch: otherwise the first
    # ``Model.fit`` peeks a batch of its training data to build them, which consumes one
    # pass of a reshuffling tf.data dataset, so a resumed epoch would see another order.
    images, labels = first_batch(source.train(0))[:2]
    net.evaluate(images, labels, batch_size=len(images), verbose=0)
    # The optimizer's slots (momentum) now, not inside the first training step: a variable made
    # while tf.function traces makes TensorFlow trace the whole step a second time (measured:
    # one extra trace per run, 1-2 s for ResNet-8, more for deeper nets).
    if net.optimizer is not None and not net.optimizer.built:
        net.optimizer.build(net.trainable_variables)
    return net


def _resume(net, run, source, *, config):
    """The committed history rows (after reloading the last one's checkpoint) and best epoch."""
    rows = run.read_history()
    done = len(rows)
    if done > config.epochs:
        raise ConfigError("epochs", f"epochs={config.epochs}, but {run.history_path} already has "
                          f"{done} epochs")
    if done:
        rows = restore(net, run, rows, steps_per_epoch=source.steps_per_epoch)
        if config.runtime.verbose:
            print(f"[resnet_lib.train] resuming {run.root} after epoch {len(rows)}/{config.epochs}", flush=True)
    return rows, repair_best(net, run, rows)


def _callbacks(run, *, config, done):
    guard = StopOnNonFiniteLoss()
    callbacks = [guard]
    runtime = config.runtime
    if runtime.tensorboard and all(importlib.util.find_spec(m) for m in ("tensorflow", "tensorboard")):
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False,
                                                     profile_batch=0, update_freq="epoch"))
    elif runtime.tensorboard and runtime.verbose and done < config.epochs:
        print("[resnet_lib.train] TensorFlow or TensorBoard is not installed: no TensorBoard logs", flush=True)
    return guard, callbacks


def _train(net, run, rows, best_epoch, source, *, config, where):
    """The epoch loop: train, measure, checkpoint, commit the row, update the best
    record (chosen on validation error only). Returns the rows and the best epoch."""
    done = len(rows)
    best_error = min((float(r["val_error"]) for r in rows), default=math.inf)
    guard, callbacks = _callbacks(run, config=config, done=done)
    verbose = config.runtime.verbose
    val_ds = source.val()
    test_ds = source.test() if source.test is not None and config.test_curve else None
    for epoch in range(done, config.epochs):
        started = time.time()
        lr = _current_lr(net)  # the rate of the epoch's first step
        logs = net.fit(feed(source.train(epoch)), initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks,
                       shuffle=False, verbose=1 if verbose >= 2 else 0).history
        train_seconds = time.time() - started
        if guard.bad is not None:
            e, step, loss = guard.bad
            raise TrainingDivergedError(loss=loss, reason=guard.reason, epoch=e, step=step, where=where,
                                        last_good=done)
        row = {"epoch": epoch + 1, "iteration": int(keras.ops.convert_to_numpy(net.optimizer.iterations)),
               "lr": lr, "loss": float(logs["loss"][-1])}
        if "accuracy" in logs:
            row["train_error"] = 1.0 - float(logs["accuracy"][-1])
        if "top5" in logs:
            row["train_top5_error"] = 1.0 - float(logs["top5"][-1])
        row.update({f"val_{k}": v for k, v in evaluate(net, val_ds, multi_label=source.multi_label).items()})
        if test_ds is not None:
            row.update({f"test_{k}": v for k, v in evaluate(net, test_ds, multi_label=source.multi_label).items()})
        row["train_seconds"] = round(train_seconds, 3)  # the epoch's steps alone
        row["seconds"] = round(time.time() - started, 3)  # with validation and test
        run.save_checkpoint(net, epoch + 1)
        rows.append(row)
        run.write_history(rows)  # the commit point of this epoch
        if row["val_error"] < best_error:
            best_error, best_epoch = row["val_error"], epoch + 1
            run.save_best(net, best_epoch, best_error)
        run.prune_checkpoints(config.runtime.keep_checkpoints)
        done = epoch + 1
        if verbose:
            print(_progress_line(row, config.epochs), flush=True)
    return rows, best_epoch


def _current_lr(net) -> float:
    lr = net.optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(lr))


def _progress_line(row, epochs) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}", f"iter {row['iteration']}", f"lr {row['lr']:.3g}",
             f"loss {row['loss']:.4f}"]
    for key in ("train_error", "val_error", "test_error"):
        if key in row:
            parts.append(f"{key} {100 * row[key]:.2f}%")
    parts.append(f"{row['seconds']:.1f}s")
    return "[resnet_lib.train] " + "  ".join(parts)


def _finish(net, run, rows, best_epoch, source) -> FinalSummary:
    """final.json: the best-on-validation checkpoint's test error, and the last epoch's
    errors (``FinalSummary``).

    A final.json of the same epochs and best epoch keeps its best test error (same weights, same
    data), so re-opening a finished run writes nothing.
    """
    last = rows[-1] if rows else {}
    errors = {f"last_{k}": float(last[k]) for k in ("train_error", "val_error", "test_error")
              if last.get(k) not in (None, "")}
    best_val_error = best_test_error = None
    if best_epoch is not None:
        best_val_error = float(rows[best_epoch - 1]["val_error"])
        if source.test is not None:
            previous = read_final(run)
            if previous is not None and (previous.epochs, previous.best_epoch) == (len(rows), best_epoch) \
                    and previous.best_test_error is not None:
                best_test_error = previous.best_test_error
            else:
                # best.weights.h5 also holds the optimizer of the best epoch: put back both the
                # last epoch's weights and its optimizer state, so the returned model continues
                # the run where history.csv ends.
                kept = snapshot(net)
                net.load_weights(run.best_weights)
                best_test_error = evaluate(net, source.test(), multi_label=source.multi_label)["error"]
                put_back(net, kept)
    final = FinalSummary(epochs=len(rows), best_epoch=best_epoch, best_val_error=best_val_error,
                         best_test_error=best_test_error, **errors)
    run.write_json(run.final_json, final.to_dict())
    if len(rows) >= CHANCE_EPOCHS and not source.multi_label and source.num_classes > 1:
        chance = 1.0 - 1.0 / source.num_classes
        if final.last_val_error >= 0.95 * chance:
            warnings.warn(
                f"{run.root}: validation error {final.last_val_error:.1%} after {len(rows)} epochs is "
                f"at chance ({chance:.0%} for {source.num_classes} classes): the run learned nothing. "
                "Check the learning rate and the data", ChanceLevelWarning, stacklevel=3)
    return final
