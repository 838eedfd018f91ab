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

``fit`` runs in five steps, one function each: ``_settings`` (the arguments resolved against
the recipe, and the configuration that config.json records), ``_open_data``
(``resnet_lib.train.sources``), ``_model`` (build or take the model and compile it with the
recipe's optimizer and schedule, ``resnet_lib.train.network``), ``_train`` (the epoch loop
above, after ``_resume`` has reloaded what is committed) and ``_finish`` (final.json, a
``resnet_lib.train.summary.FinalSummary``).

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
from resnet_lib.train.arguments import FitArgumentError, check_arguments, model_depth
from resnet_lib.train.evaluation import evaluate, feed
from resnet_lib.train.network import build_network, compile_network, with_augmentation
from resnet_lib.train.recipes import Recipe, get_recipe
from resnet_lib.train.resume import put_back, repair_best, restore, snapshot
from resnet_lib.train.rundir import RunDir
from resnet_lib.train.runtime import distribution, dtype_policy, resolve_jit, resolve_mixed_precision
from resnet_lib.train.sources import first_batch, load_source
from resnet_lib.train.torch_layout import channels_last_kernels
from resnet_lib.train.summary import FinalSummary, read_final

__all__ = ["fit", "FitResult", "FinalSummary", "FitArgumentError", "TrainingDivergedError",
           "ChanceLevelWarning"]

CHANCE_EPOCHS = 3  # a finished run of at least this many epochs still at chance is warned about
EXPLOSION_FACTOR = 100  # a running loss this many times its first value (at least 1) has diverged
SYNTHETIC_IMAGES = 200  # data="synthetic-voc": images make_synthetic_voc writes by default

_feed, _with_augmentation = feed, with_augmentation  # the names benchmarks/ import


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


def fit(
    model="resnet20",
    data="digits",
    *,
    recipe="paper-cifar",
    epochs: int | None = None,
    run_dir=None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    warmup: bool | None = None,
    seed: int = 0,
    image_size: int | None = None,
    limit: int | None = None,
    steps_per_epoch: int | None = None,
    augment: bool | str | None = None,
    test_curve: bool = True,
    mixed_precision: str = "auto",
    jit="auto",
    distribute: str = "auto",
    model_options: dict | None = None,
    allow_imagenet_stem: bool = False,
    data_dir=None,
    data_source=None,
    steps_per_execution: int = 1,
    label_mode: str | None = None,
    synthetic_images: int | None = None,
    tensorboard: bool = True,
    keep_checkpoints: int = 2,
    verbose: int = 1,
) -> FitResult:
    """Train ``model`` (a preset name or a built ``keras.Model``) on ``data`` with ``recipe``.

    model: "resnet20", "plain56", "resnet50", ... (``resnet_lib.models.build_model``), built with
        the recipe's weight decay, ``model_options`` and a logits output; or a built model, trained
        as it is (its own regularizers and output; ``model_options`` then raises). An ImageNet
        preset (7x7 stem and max pool) on small images (digits, CIFAR-10) raises unless
        ``allow_imagenet_stem=True``.
    data: "digits", "cifar10", "voc2012", "synthetic-voc", or an ``ImageSplits``.
    recipe: "paper-cifar", "voc", "seed", or a ``Recipe``. Its schedule is scaled to this run:
        total iterations = epochs x steps per epoch.
    epochs, batch_size, learning_rate: override the recipe's (learning_rate is the peak rate).
    warmup: None applies the recipe's rule to the model's depth: "paper-cifar" warms ResNet-110
        and deeper up at a tenth of the rate for 400/64k of the run (Section 4.2). The depth is
        read from a preset name, or counted on a built model (its Conv2D and Dense layers except
        projection shortcuts, ``resnet_lib.train.arguments.model_depth``), so
        ``fit(cifar_resnet(110))`` warms up as ``fit("resnet110")`` does. True / False: warm up
        or not, whatever the depth (True needs a recipe with a warm-up).
    run_dir: where config, history, checkpoints and logs go; an existing run there with the same
        configuration is resumed, a different one raises ``ConfigMismatchError``. None: a fresh
        temporary directory, deleted before ``fit`` returns or raises; the result then holds the
        history and the last model in memory only (``FitResult.run_dir`` is None).
    image_size, limit, steps_per_epoch: shrink the run (image side, a fixed random sample of
        ``limit`` images per split, steps).
    label_mode: VOC only, "multi" (sigmoid, mAP; the default) or "single" (largest object's
        class, softmax).
    synthetic_images: "synthetic-voc" only, how many images ``make_synthetic_voc`` writes
        (default 200; the official-style train/val halves are split from them).
    augment: None for the dataset's standard augmentation (see ``sources.load_source``).
        "model": the same preprocessing as layers in front of the network, so it runs on the
        accelerator: for VOC ``resnet_lib.data.affine_layer.AffineAugmentation`` (the input
        pipeline only decodes, benchmarks/input_pipeline.md); for CIFAR-10 and digits mean
        subtraction and pad-crop-flip (``resnet_lib.data.crop_flip_layer``), with the images
        kept on the accelerator on the JAX backend.
    data_source: data="cifar10" only, a local copy of CIFAR-10 (the official archive, its
        folder, or an image tree; ``small_images.load_cifar10``); default ``$RESNET_CIFAR10``,
        else the keras.datasets download.
    steps_per_execution: training steps per compiled call (``Model.compile``).
    test_curve: also measure test error after each epoch, as the paper's curves show it.
    mixed_precision, jit, distribute: "auto" = bf16/fp16 and XLA on a GPU, float32 without XLA on
        CPU, all GPUs if there are several (``resnet_lib.train.runtime``). On the torch backend,
        convolutions and batch norm run without Keras' layout copies
        (``resnet_lib.train.torch_layout``).

    Random state: ``fit`` seeds Keras with ``seed`` (``keras.utils.set_random_seed``) before
    it builds the model, so a seed gives the same initial weights. Python's ``random`` and
    NumPy's global generator are put back as they were when ``fit`` returns or raises; the
    backend's global seed (TensorFlow's, Keras' ``SeedGenerator`` for unseeded layers) stays
    as the run left it.

    Raises ``FitArgumentError`` naming the argument before anything is written, also for an
    option that does not apply to the model or data (``resnet_lib.train.arguments``);
    ``TrainingDivergedError`` naming the epoch and step when the loss stops being finite or
    explodes; ``RunDirError`` naming the file when the run directory is damaged or in use.
    Warns (``ChanceLevelWarning``) when a finished run of ``CHANCE_EPOCHS`` or more epochs
    ends with its validation error at chance.
    """
    check_arguments(model=model, data=data, recipe=recipe, epochs=epochs, batch_size=batch_size,
                    learning_rate=learning_rate, seed=seed, image_size=image_size, limit=limit,
                    steps_per_epoch=steps_per_epoch, keep_checkpoints=keep_checkpoints,
                    synthetic_images=synthetic_images, label_mode=label_mode, model_options=model_options,
                    data_source=data_source, augment=augment, steps_per_execution=steps_per_execution,
                    warmup=warmup, allow_imagenet_stem=allow_imagenet_stem)
    settings = _settings(model, data, recipe=recipe, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, warmup=warmup, seed=seed, image_size=image_size,
                         limit=limit, steps_per_epoch=steps_per_epoch, augment=augment,
                         test_curve=test_curve, mixed_precision=mixed_precision, jit=jit,
                         model_options=model_options, data_dir=data_dir, data_source=data_source,
                         steps_per_execution=steps_per_execution, label_mode=label_mode,
                         synthetic_images=synthetic_images, tensorboard=tensorboard,
                         keep_checkpoints=keep_checkpoints, verbose=verbose)
    temporary = run_dir is None
    run = RunDir(tempfile.mkdtemp(prefix="resnet_run_") if temporary else run_dir)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        with distribution(distribute) as replicas, channels_last_kernels():
            if settings.batch_size % replicas:
                raise FitArgumentError("batch_size", f"batch_size={settings.batch_size} must be divisible by "
                                       f"the {replicas} replicas (distribute={distribute!r})")
            source = _open_data(data, settings, replicas=replicas)
            total_steps = settings.epochs * source.steps_per_epoch
            depth = model_depth(model)
            runtime = {"backend": keras.backend.backend(), "keras": keras.__version__,
                       "dtype_policy": settings.policy, "jit_compile": settings.jit, "replicas": replicas,
                       "steps_per_epoch": source.steps_per_epoch, "depth": depth,
                       "warmup_steps": settings.recipe.warmup_steps(total_steps, depth=depth,
                                                                    warmup=settings.warmup),
                       "data": source.provenance}
            run.prepare(settings.config, runtime)
            net = _model(model, source, settings=settings, total_steps=total_steps, depth=depth)
            rows, best_epoch = _resume(net, run, source, settings=settings)
            rows, best_epoch = _train(net, run, rows, best_epoch, source, settings=settings,
                                      where="a temporary run directory (deleted; pass run_dir to keep it)"
                                      if temporary else f"run {run.root}")
            final = _finish(net, run, rows, best_epoch, source, settings=settings)
        history = read_history(run.root) if rows else {}
    finally:
        run.release()
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if temporary:
            shutil.rmtree(run.root, ignore_errors=True)
    return FitResult(model=net, run_dir=None if temporary else str(run.root), history=history,
                     best_epoch=best_epoch, final=final)


@dataclasses.dataclass(frozen=True)
class _Settings:
    """``fit``'s arguments resolved against the recipe; ``config`` is what config.json records."""

    recipe: Recipe
    epochs: int
    batch_size: int
    learning_rate: float | None
    warmup: bool | None
    seed: int
    options: dict  # load_source's keyword arguments
    in_model: bool  # augment="model"
    test_curve: bool
    policy: str
    jit: bool
    model_options: dict
    steps_per_execution: int
    tensorboard: bool
    keep_checkpoints: int
    verbose: int
    config: dict


def _settings(model, data, *, recipe, epochs, batch_size, learning_rate, warmup, seed, image_size, limit,
              steps_per_epoch, augment, test_curve, mixed_precision, jit, model_options, data_dir, data_source,
              steps_per_execution, label_mode, synthetic_images, tensorboard, keep_checkpoints,
              verbose) -> _Settings:
    """Step 1: resolve the defaults (the recipe's epochs and batch, VOC's label mode, the
    precision and XLA of this machine) and describe the run as config.json records it."""
    recipe = get_recipe(recipe)
    epochs = int(epochs or recipe.epochs)
    batch_size = int(batch_size or recipe.batch_size)
    voc = data in ("voc2012", "synthetic-voc")
    label_mode = (label_mode or "multi") if voc else None
    synthetic_images = int(synthetic_images or SYNTHETIC_IMAGES)
    model_label = model if isinstance(model, str) else f"<keras.Model {model.name}, {model.count_params()} params>"
    data_label = data if isinstance(data, str) else f"<ImageSplits {getattr(data, 'name', '?')}>"
    config = {
        "model": model_label, "data": data_label, "recipe": recipe.to_dict(), "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "image_size": image_size,
        "limit": limit, "steps_per_epoch": steps_per_epoch, "augment": augment, "test_curve": test_curve,
        "model_options": model_options or {}, "label_mode": label_mode, "warmup": warmup,
    }
    if data == "synthetic-voc":
        config["synthetic_images"] = synthetic_images
    if data_source is not None:
        config["data_source"] = str(data_source)
    options = dict(image_size=image_size, limit=limit, steps_per_epoch=steps_per_epoch, augment=augment,
                   data_dir=data_dir, one_hot=bool(recipe.label_smoothing), label_mode=label_mode or "multi",
                   synthetic_images=synthetic_images, data_source=data_source)
    return _Settings(recipe=recipe, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                     warmup=warmup, seed=seed, options=options, in_model=augment == "model",
                     test_curve=test_curve, policy=resolve_mixed_precision(mixed_precision), jit=resolve_jit(jit),
                     model_options=dict(model_options or {}), steps_per_execution=int(steps_per_execution),
                     tensorboard=tensorboard, keep_checkpoints=keep_checkpoints, verbose=verbose, config=config)


def _open_data(data, settings, *, replicas):
    """Step 2: the dataset as the loop sees it (``resnet_lib.train.sources``)."""
    return load_source(data, batch_size=settings.batch_size, seed=settings.seed, even_batches=replicas > 1,
                       on_device=settings.in_model and replicas == 1 and keras.backend.backend() == "jax",
                       **settings.options)


def _model(model, source, *, settings, total_steps, depth):
    """Step 3: build a preset (or take the built model), put the in-model preprocessing in
    front of it, and compile it with the recipe's optimizer, schedule and loss."""
    with dtype_policy(settings.policy):
        net = build_network(model, source, recipe=settings.recipe, model_options=settings.model_options)
        if settings.in_model:
            net = with_augmentation(net, seed=settings.seed, in_model=source.in_model)
        compile_network(net, settings=settings, source=source, total_steps=total_steps, depth=depth)
    # Build the compiled loss and metrics now, on one batch: otherwise the first
    # ``Model.fit`` peeks a batch of its training data to build them, which consumes one
    # pass of a reshuffling tf.data dataset, so a resumed epoch would see another order.
    images, labels = first_batch(source.train(0))[:2]
    net.evaluate(images, labels, batch_size=len(images), verbose=0)
    return net


def _resume(net, run, source, *, settings):
    """The committed history rows (after reloading the last one's checkpoint) and best epoch."""
    rows = run.read_history()
    done = len(rows)
    if done > settings.epochs:
        raise FitArgumentError("epochs", f"epochs={settings.epochs}, but {run.history_path} already has "
                               f"{done} epochs")
    if done:
        rows = restore(net, run, rows, steps_per_epoch=source.steps_per_epoch)
        if settings.verbose:
            print(f"[resnet_lib.train] resuming {run.root} after epoch {len(rows)}/{settings.epochs}", flush=True)
    return rows, repair_best(net, run, rows)


def _callbacks(run, *, settings, done):
    guard = StopOnNonFiniteLoss()
    callbacks = [guard]
    if settings.tensorboard and all(importlib.util.find_spec(m) for m in ("tensorflow", "tensorboard")):
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False,
                                                     profile_batch=0, update_freq="epoch"))
    elif settings.tensorboard and settings.verbose and done < settings.epochs:
        print("[resnet_lib.train] TensorFlow or TensorBoard is not installed: no TensorBoard logs", flush=True)
    return guard, callbacks


def _train(net, run, rows, best_epoch, source, *, settings, where):
    """Step 4: the epoch loop: train, measure, checkpoint, commit the row, update the best
    record (chosen on validation error only). Returns the rows and the best epoch."""
    done = len(rows)
    best_error = min((float(r["val_error"]) for r in rows), default=math.inf)
    guard, callbacks = _callbacks(run, settings=settings, done=done)
    val_ds = source.val()
    test_ds = source.test() if source.test is not None and settings.test_curve else None
    for epoch in range(done, settings.epochs):
        started = time.time()
        lr = _current_lr(net)  # the rate of the epoch's first step
        logs = net.fit(feed(source.train(epoch)), initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks,
                       shuffle=False, verbose=1 if settings.verbose >= 2 else 0).history
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
        run.prune_checkpoints(settings.keep_checkpoints)
        done = epoch + 1
        if settings.verbose:
            print(_progress_line(row, settings.epochs), flush=True)
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


def _finish(net, run, rows, best_epoch, source, *, settings) -> FinalSummary:
    """Step 5: final.json: the best-on-validation checkpoint's test error, and the last epoch's
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
