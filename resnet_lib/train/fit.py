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
rolling ``history.csv`` back to it (``_restore``). Arguments are checked before anything is
written (``FitArgumentError``), and one process at a time writes a run directory
(``resnet_lib.train.rundir``).

Training error is the running error over the epoch's mini-batches (training-mode BN, with
augmentation), which is what the paper's training curves show (Fig. 1, 4, 6).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import tempfile
import time
import warnings

import keras
import numpy as np

from resnet_lib.metrics import mean_average_precision, read_history
from resnet_lib.train.recipes import Recipe, get_recipe
from resnet_lib.train.rundir import RunDir, RunDirError
from resnet_lib.train.runtime import distribution, dtype_policy, resolve_jit, resolve_mixed_precision
from resnet_lib.train.sources import first_batch, load_source

__all__ = ["fit", "FitResult", "FitArgumentError", "TrainingDivergedError", "ChanceLevelWarning"]

CHANCE_EPOCHS = 3  # a finished run of at least this many epochs still at chance is warned about
EXPLOSION_FACTOR = 100  # a running loss this many times its first value (at least 1) has diverged


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite, or exploded (``EXPLOSION_FACTOR``)."""


class FitArgumentError(ValueError):
    """An argument of ``fit`` is out of range; ``argument`` is its name."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


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
    """What ``fit`` returns; everything in it is also on disk under ``run_dir``."""

    model: keras.Model  # the model after the last epoch
    run_dir: str
    history: dict  # column -> NumPy array, one entry per epoch (``metrics.read_history``)
    best_epoch: int | None  # chosen on validation error
    final: dict  # final.json: best epoch, its validation and test error, last epoch's errors


def _model_depth(name):
    try:
        from resnet_lib.models import parse_preset

        return parse_preset(name)[2]
    except (ValueError, ImportError):
        return None


def _build_model(model, source, *, recipe, model_options, logits=True):
    if isinstance(model, keras.Model):
        return model
    from resnet_lib.models import build_model

    options = dict(model_options or {})
    options.setdefault("weight_decay", recipe.weight_decay)
    options.setdefault("classifier_activation", None if logits else "softmax")
    return build_model(model, num_classes=source.num_classes, input_shape=source.input_shape, **options)


def _with_augmentation(net, *, seed: int, in_model: dict | None = None):
    """``net`` behind its data's preprocessing, run in the model (on the accelerator):
    ``fit(augment="model")``. VOC (``in_model`` None): ``AffineAugmentation``, the VOC
    pipeline's augmentation. Small images: ``PixelMeanSubtraction``, then Section 4.2's
    ``PadCropFlip`` where the data has it; both augmentations act only in training."""
    if in_model is None:
        from resnet_lib.data.affine_layer import AffineAugmentation

        inputs = keras.Input(net.input_shape[1:], name="images")
        augmented = AffineAugmentation(seed=seed, name="augmentation")(inputs)
        return keras.Model(inputs, net(augmented), name=f"{net.name}_augmented")
    from resnet_lib.data.crop_flip_layer import PadCropFlip, PixelMeanSubtraction

    raw = "uint8" if in_model["scale"] != 1.0 else "float32"
    inputs = keras.Input(net.input_shape[1:], dtype=raw, name="images")
    x = PixelMeanSubtraction(in_model["pixel_mean"], scale=in_model["scale"],
                             name="pixel_mean_subtraction")(inputs)
    if in_model["augment"]:
        x = PadCropFlip(pad=in_model["pad"], seed=seed, name="augmentation")(x)
    return keras.Model(inputs, net(x), name=f"{net.name}_augmented")


def _from_logits(model) -> bool:
    last = model.layers[-1]
    while isinstance(last, keras.Model):  # e.g. the network behind _with_augmentation
        last = last.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "linear") == "linear"


def _batch_used(source, batch_size: int) -> int:
    """The images in a training step: ``batch_size``, or fewer when the training set is smaller
    (then there is a single step per epoch, which is the only case that is checked)."""
    if source.steps_per_epoch != 1:
        return batch_size
    images = first_batch(source.train(0))[0]
    return min(batch_size, int(images.shape[0]))


def _compile(model, *, recipe, source, total_steps, batch_size, depth, learning_rate, jit,
             steps_per_execution=1):
    logits = _from_logits(model)
    used = _batch_used(source, batch_size)
    if used < batch_size:
        scaled = " (the recipe's learning rate is scaled to it)" if learning_rate is None else ""
        warnings.warn(f"batch_size={batch_size} is more than the {used} training images: each epoch is one "
                      f"step of {used} images{scaled}", RuntimeWarning, stacklevel=3)
        batch_size = used
    optimizer = recipe.make_optimizer(total_steps, batch_size=batch_size, depth=depth, learning_rate=learning_rate)
    if source.multi_label:
        loss = keras.losses.BinaryCrossentropy(from_logits=logits)
        metrics = []
    elif recipe.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(from_logits=logits, label_smoothing=recipe.label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        if source.num_classes > 5:
            metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5"))
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if source.num_classes > 5:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5"))
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit,
                  steps_per_execution=steps_per_execution)


def _feed(dataset):
    """What ``Model.fit`` / ``evaluate`` get: on the TensorFlow backend, NumPy batches go
    through ``tf.data`` (made ahead, in its threads); elsewhere they go as they are."""
    if keras.backend.backend() == "tensorflow" and hasattr(dataset, "as_tf_dataset"):
        return dataset.as_tf_dataset()
    return dataset


def _evaluate(model, dataset, *, multi_label) -> dict:
    """loss, error (1 - accuracy, or 1 - mAP for multi-label) and top5_error where defined."""
    if not multi_label:
        logs = model.evaluate(_feed(dataset), verbose=0, return_dict=True)
        out = {"loss": float(logs["loss"]), "error": 1.0 - float(logs["accuracy"])}
        if "top5" in logs:
            out["top5_error"] = 1.0 - float(logs["top5"])
        return out
    # batches are (images, multi-hot labels, mask); mask 0 = present only as "difficult"
    scores, labels, masks = [], [], []
    for x, y, mask in dataset:
        scores.append(keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float32))
        labels.append(np.asarray(y))
        masks.append(np.asarray(mask))
    scores, labels, masks = np.concatenate(scores), np.concatenate(labels), np.concatenate(masks)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=_from_logits(model))
    loss = keras.ops.convert_to_numpy(loss_fn(labels, scores))
    mean_ap, _ = mean_average_precision(labels, scores, difficult=masks == 0)
    return {"loss": float(loss), "error": 1.0 - mean_ap, "mAP": mean_ap}


def fit(
    model="resnet20",
    data="digits",
    *,
    recipe="paper-cifar",
    epochs: int | None = None,
    run_dir=None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
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
    data_dir=None,
    data_source=None,
    steps_per_execution: int = 1,
    label_mode: str = "multi",
    synthetic_images: int = 200,
    tensorboard: bool = True,
    keep_checkpoints: int = 2,
    verbose: int = 1,
) -> FitResult:
    """Train ``model`` (a preset name or a built ``keras.Model``) on ``data`` with ``recipe``.

    model: "resnet20", "plain56", "resnet50", ... (``resnet_lib.models.build_model``), built with
        the recipe's weight decay and a logits output; or a built model (its own regularizers).
    data: "digits", "cifar10", "voc2012", "synthetic-voc", or an ``ImageSplits``.
    recipe: "paper-cifar", "voc", "seed", or a ``Recipe``. Its schedule is scaled to this run:
        total iterations = epochs x steps per epoch.
    epochs, batch_size, learning_rate: override the recipe's (learning_rate is the peak rate).
    run_dir: where config, history, checkpoints and logs go; an existing run there with the same
        configuration is resumed, a different one raises ``ConfigMismatchError``. None: a fresh
        temporary directory.
    image_size, limit, steps_per_epoch: shrink the run (image side, a fixed random sample of
        ``limit`` images per split, steps).
    label_mode: VOC only, "multi" (sigmoid, mAP) or "single" (largest object's class, softmax).
    synthetic_images: "synthetic-voc" only, how many images ``make_synthetic_voc`` writes (the
        official-style train/val halves are split from them).
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
        CPU, all GPUs if there are several (``resnet_lib.train.runtime``).
    Raises ``FitArgumentError`` naming the argument before anything is written;
    ``TrainingDivergedError`` naming the epoch and step when the loss stops being finite or
    explodes; ``RunDirError`` naming the file when the run directory is damaged or in use.
    Warns (``ChanceLevelWarning``) when a finished run of ``CHANCE_EPOCHS`` or more epochs
    ends with its validation error at chance.
    """
    _check_arguments(model=model, recipe=recipe, epochs=epochs, batch_size=batch_size,
                     learning_rate=learning_rate, seed=seed, image_size=image_size, limit=limit,
                     steps_per_epoch=steps_per_epoch, keep_checkpoints=keep_checkpoints,
                     synthetic_images=synthetic_images)
    recipe: Recipe = get_recipe(recipe)
    if augment not in (None, True, False, "model"):
        raise FitArgumentError("augment", f"augment={augment!r}; expected None, True, False or 'model'")
    in_model = augment == "model"
    if int(steps_per_execution) < 1:
        raise FitArgumentError("steps_per_execution",
                               f"steps_per_execution={steps_per_execution}; expected >= 1")
    epochs = int(epochs or recipe.epochs)
    batch_size = int(batch_size or recipe.batch_size)
    run = RunDir(run_dir or tempfile.mkdtemp(prefix="resnet_run_"))
    policy = resolve_mixed_precision(mixed_precision)
    jit = resolve_jit(jit)
    model_label = model if isinstance(model, str) else f"<keras.Model {model.name}, {model.count_params()} params>"
    data_label = data if isinstance(data, str) else f"<ImageSplits {getattr(data, 'name', '?')}>"
    config = {
        "model": model_label, "data": data_label, "recipe": recipe.to_dict(), "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "image_size": image_size,
        "limit": limit, "steps_per_epoch": steps_per_epoch, "augment": augment, "test_curve": test_curve,
        "model_options": model_options or {}, "label_mode": label_mode,
    }
    if data == "synthetic-voc":
        config["synthetic_images"] = int(synthetic_images)
    if data_source is not None:
        config["data_source"] = str(data_source)
    keras.utils.set_random_seed(seed)

    with distribution(distribute) as replicas:
        if batch_size % replicas:
            raise ValueError(f"batch_size={batch_size} must be divisible by the {replicas} replicas")
        source = load_source(
            data, batch_size=batch_size, seed=seed, image_size=image_size, limit=limit,
            steps_per_epoch=steps_per_epoch, augment=augment, data_dir=data_dir,
            one_hot=bool(recipe.label_smoothing), even_batches=replicas > 1, label_mode=label_mode,
            synthetic_images=synthetic_images, data_source=data_source,
            on_device=in_model and replicas == 1 and keras.backend.backend() == "jax",
        )
        runtime = {"backend": keras.backend.backend(), "keras": keras.__version__, "dtype_policy": policy,
                   "jit_compile": jit, "replicas": replicas, "steps_per_epoch": source.steps_per_epoch,
                   "data": source.provenance}
        run.prepare(config, runtime)
        total_steps = epochs * source.steps_per_epoch
        depth = _model_depth(model) if isinstance(model, str) else None
        with dtype_policy(policy):
            net = _build_model(model, source, recipe=recipe, model_options=model_options)
            if in_model:
                net = _with_augmentation(net, seed=seed, in_model=source.in_model)
            _compile(net, recipe=recipe, source=source, total_steps=total_steps, batch_size=batch_size,
                     depth=depth, learning_rate=learning_rate, jit=jit,
                     steps_per_execution=int(steps_per_execution))

        # Build the compiled loss and metrics now, on one batch: otherwise the first
        # ``Model.fit`` peeks a batch of its training data to build them, which consumes one
        # pass of a reshuffling tf.data dataset, so a resumed epoch would see another order.
        images, labels = first_batch(source.train(0))[:2]
        net.evaluate(images, labels, batch_size=len(images), verbose=0)
        rows = run.read_history()
        done = len(rows)
        if done > epochs:
            raise RuntimeError(f"{run.history_path} has {done} epochs, more than epochs={epochs}")
        if done:
            rows = _restore(net, run, rows, steps_per_epoch=source.steps_per_epoch)
            done = len(rows)
            if verbose:
                print(f"[resnet_lib.train] resuming {run.root} after epoch {done}/{epochs}", flush=True)
        best_epoch = _repair_best(net, run, rows)
        best_error = min((float(r["val_error"]) for r in rows), default=math.inf)

        guard = StopOnNonFiniteLoss()
        callbacks = [guard]
        if tensorboard and all(importlib.util.find_spec(m) for m in ("tensorflow", "tensorboard")):
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False,
                                                         profile_batch=0, update_freq="epoch"))
        elif tensorboard and verbose and done < epochs:
            print("[resnet_lib.train] TensorFlow or TensorBoard is not installed: no TensorBoard logs", flush=True)

        val_ds = source.val()
        test_ds = source.test() if source.test is not None else None
        for epoch in range(done, epochs):
            started = time.time()
            lr = _current_lr(net)  # the rate of the epoch's first step
            logs = net.fit(_feed(source.train(epoch)), initial_epoch=epoch, epochs=epoch + 1,
                           callbacks=callbacks, shuffle=False, verbose=1 if verbose >= 2 else 0).history
            train_seconds = time.time() - started
            if guard.bad is not None:
                e, step, loss = guard.bad
                run.release()
                raise TrainingDivergedError(
                    f"training loss became {loss}{guard.reason} at epoch {e}, step {step} of run "
                    f"{run.root}; the last good checkpoint is epoch {done or 'none'}. Lower the "
                    f"learning rate (learning_rate) or check the data for NaN/inf."
                )
            row = {"epoch": epoch + 1, "iteration": int(keras.ops.convert_to_numpy(net.optimizer.iterations)),
                   "lr": lr, "loss": float(logs["loss"][-1])}
            if "accuracy" in logs:
                row["train_error"] = 1.0 - float(logs["accuracy"][-1])
            if "top5" in logs:
                row["train_top5_error"] = 1.0 - float(logs["top5"][-1])
            val = _evaluate(net, val_ds, multi_label=source.multi_label)
            row.update({f"val_{k}": v for k, v in val.items()})
            if test_curve and test_ds is not None:
                test = _evaluate(net, test_ds, multi_label=source.multi_label)
                row.update({f"test_{k}": v for k, v in test.items()})
            row["train_seconds"] = round(train_seconds, 3)  # the epoch's steps alone
            row["seconds"] = round(time.time() - started, 3)  # with validation and test
            run.save_checkpoint(net, epoch + 1)
            rows.append(row)
            run.write_history(rows)  # the commit point of this epoch
            if row["val_error"] < best_error:
                best_error, best_epoch = row["val_error"], epoch + 1
                run.save_best(net, best_epoch, best_error)
            run.prune_checkpoints(keep_checkpoints)
            done = epoch + 1
            if verbose:
                print(_progress_line(row, epochs), flush=True)

        final = _finish(net, run, rows, best_epoch, val_ds, test_ds, source)
    history = read_history(run.root) if rows else {}
    return FitResult(model=net, run_dir=str(run.root), history=history, best_epoch=best_epoch, final=final)


def _check_arguments(*, model, recipe, epochs, batch_size, learning_rate, seed, image_size, limit,
                     steps_per_epoch, keep_checkpoints, synthetic_images):
    """Raise ``FitArgumentError`` for the first argument of ``fit`` that cannot work."""
    if isinstance(model, str):
        from resnet_lib.models import parse_preset

        try:
            parse_preset(model)
        except ValueError as err:
            raise FitArgumentError("model", f"model={model!r}: {err}") from None
    elif not isinstance(model, keras.Model):
        raise FitArgumentError("model", f"model={model!r}; expected a preset name or a keras.Model")
    try:
        get_recipe(recipe)
    except ValueError as err:
        raise FitArgumentError("recipe", str(err)) from None
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("limit", limit, 1),
                             ("steps_per_epoch", steps_per_epoch, 1), ("image_size", image_size, 8),
                             ("keep_checkpoints", keep_checkpoints, 1), ("synthetic_images", synthetic_images, 2)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise FitArgumentError(name, f"{name}={value!r}; expected an integer >= {low}"
                                   + (" (the digits are 8x8; smaller images leave no room for the "
                                      "network's strides)" if name == "image_size" else ""))
    if learning_rate is not None:
        try:
            rate = float(learning_rate)
        except (TypeError, ValueError):
            rate = math.nan
        if not (math.isfinite(rate) and rate > 0):
            raise FitArgumentError("learning_rate", f"learning_rate={learning_rate!r}; expected a finite "
                                   "number > 0 (None: the recipe's)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise FitArgumentError("seed", f"seed={seed!r}; expected an integer in [0, 2**32)")


def _restore(net, run, rows, *, steps_per_epoch) -> list[dict]:
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
        _roll_back(run, rows, epoch, failures)
    return rows[:epoch]


def _roll_back(run, rows, epoch, failures):
    """Discard the history after ``epoch`` and what refers to it (see ``_restore``)."""
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


def _snapshot(net):
    return net.get_weights(), [keras.ops.convert_to_numpy(v) for v in net.optimizer.variables]


def _put_back(net, snapshot):
    weights, optimizer = snapshot
    net.set_weights(weights)
    for variable, value in zip(net.optimizer.variables, optimizer):
        variable.assign(value)


def _repair_best(net, run, rows):
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
        snapshot = _snapshot(net)
        net.load_weights(run.checkpoint_path(best))
        run.save_best(net, best, errors[best - 1])
        _put_back(net, snapshot)
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


def _finish(net, run, rows, best_epoch, val_ds, test_ds, source) -> dict:
    """final.json: the best-on-validation checkpoint's test error, and the last epoch's errors.

    Numbers are written as numbers. A final.json of the same epochs and best epoch keeps its
    best test error (same weights, same data), so re-opening a finished run writes nothing.
    Releases the run directory's lock.
    """
    final = {"epochs": len(rows), "best_epoch": best_epoch}
    if rows:
        last = rows[-1]
        final.update({f"last_{k}": float(last[k]) for k in ("train_error", "val_error", "test_error")
                      if last.get(k) not in (None, "")})
    if best_epoch is not None:
        final["best_val_error"] = float(rows[best_epoch - 1]["val_error"])
        if test_ds is not None:
            previous = _read_final(run)
            if (previous.get("epochs"), previous.get("best_epoch")) == (len(rows), best_epoch) and \
                    isinstance(previous.get("best_test_error"), float):
                final["best_test_error"] = previous["best_test_error"]
            else:
                # best.weights.h5 also holds the optimizer of the best epoch: put back both the
                # last epoch's weights and its optimizer state, so the returned model continues
                # the run where history.csv ends.
                snapshot = _snapshot(net)
                net.load_weights(run.best_weights)
                final["best_test_error"] = _evaluate(net, test_ds, multi_label=source.multi_label)["error"]
                _put_back(net, snapshot)
    run.write_json(run.final_json, final)
    run.release()
    if len(rows) >= CHANCE_EPOCHS and not source.multi_label and source.num_classes > 1:
        chance = 1.0 - 1.0 / source.num_classes
        if final["last_val_error"] >= 0.95 * chance:
            warnings.warn(
                f"{run.root}: validation error {final['last_val_error']:.1%} after {len(rows)} epochs is "
                f"at chance ({chance:.0%} for {source.num_classes} classes): the run learned nothing. "
                "Check the learning rate and the data", ChanceLevelWarning, stacklevel=3)
    return final


def _read_final(run) -> dict:
    try:
        saved = json.loads(run.final_json.read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}
