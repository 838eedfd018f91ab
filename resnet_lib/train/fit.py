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
schedule) and carries on, so the run ends with exactly the requested epochs.

Training error is the running error over the epoch's mini-batches (training-mode BN, with
augmentation), which is what the paper's training curves show (Fig. 1, 4, 6).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import tempfile
import time

import keras
import numpy as np

from resnet_lib.metrics import mean_average_precision, read_history
from resnet_lib.train.recipes import Recipe, get_recipe
from resnet_lib.train.rundir import RunDir
from resnet_lib.train.runtime import distribution, dtype_policy, resolve_jit, resolve_mixed_precision
from resnet_lib.train.sources import first_batch, load_source

__all__ = ["fit", "FitResult", "TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Like ``keras.callbacks.TerminateOnNaN``, and remembers where the loss went bad."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.bad = None  # (epoch 1-based, step 1-based, loss)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.bad is None:
            self.bad = (self.epoch + 1, batch + 1, float(loss))
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


def _compile(model, *, recipe, source, total_steps, batch_size, depth, learning_rate, jit,
             steps_per_execution=1):
    logits = _from_logits(model)
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


def _evaluate(model, dataset, *, multi_label) -> dict:
    """loss, error (1 - accuracy, or 1 - mAP for multi-label) and top5_error where defined."""
    if not multi_label:
        logs = model.evaluate(dataset, verbose=0, return_dict=True)
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
    Raises ``TrainingDivergedError`` naming the epoch and step when the loss stops being finite.
    """
    recipe: Recipe = get_recipe(recipe)
    if augment not in (None, True, False, "model"):
        raise ValueError(f"augment={augment!r}; expected None, True, False or 'model'")
    in_model = augment == "model"
    if int(steps_per_execution) < 1:
        raise ValueError(f"steps_per_execution={steps_per_execution}; expected >= 1")
    epochs = int(epochs or recipe.epochs)
    batch_size = int(batch_size or recipe.batch_size)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs={epochs} and batch_size={batch_size} must both be >= 1")
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
            _restore(net, run, done, expected_iterations=done * source.steps_per_epoch)
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
            logs = net.fit(source.train(epoch), initial_epoch=epoch, epochs=epoch + 1,
                           callbacks=callbacks, shuffle=False, verbose=1 if verbose >= 2 else 0).history
            train_seconds = time.time() - started
            if guard.bad is not None:
                e, step, loss = guard.bad
                raise TrainingDivergedError(
                    f"training loss became {loss} at epoch {e}, step {step} of run {run.root}; "
                    f"the last good checkpoint is epoch {done or 'none'}. Lower the learning rate "
                    f"(--lr) or check the data for NaN/inf."
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


def _restore(net, run, epoch, *, expected_iterations):
    """Load weights and optimizer state of the epoch-``epoch`` checkpoint into ``net``."""
    path = run.checkpoint_path(epoch)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing although {run.history_path} records epoch {epoch}")
    net.optimizer.build(net.trainable_variables)
    net.load_weights(path)
    iterations = int(keras.ops.convert_to_numpy(net.optimizer.iterations))
    if iterations != expected_iterations:
        raise RuntimeError(
            f"{path}: optimizer is at iteration {iterations}, expected {expected_iterations} "
            f"({epoch} epochs); the checkpoint does not match this run's steps per epoch"
        )


def _repair_best(net, run, rows):
    """Best epoch per history; re-save it if a kill fell between history commit and best save."""
    if not rows:
        return None
    errors = [float(r["val_error"]) for r in rows]
    best = int(np.argmin(errors)) + 1
    if run.best_epoch() != best:
        if best != len(rows):
            raise RuntimeError(f"{run.best_json} does not match {run.history_path} (best epoch {best})")
        run.save_best(net, best, errors[best - 1])  # net holds the last epoch, which is the best
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
    """final.json: the best-on-validation checkpoint's test error, and the last epoch's errors."""
    final = {"epochs": len(rows), "best_epoch": best_epoch}
    if rows:
        last = rows[-1]
        final.update({f"last_{k}": last[k] for k in ("train_error", "val_error", "test_error") if k in last})
    if best_epoch is not None:
        final["best_val_error"] = float(rows[best_epoch - 1]["val_error"])
        if test_ds is not None:
            # best.weights.h5 also holds the optimizer of the best epoch: put back both the
            # last epoch's weights and its optimizer state, so the returned model continues
            # the run where history.csv ends.
            last_weights = net.get_weights()
            last_optimizer = [keras.ops.convert_to_numpy(v) for v in net.optimizer.variables]
            net.load_weights(run.best_weights)
            final["best_test_error"] = _evaluate(net, test_ds, multi_label=source.multi_label)["error"]
            net.set_weights(last_weights)
            for variable, value in zip(net.optimizer.variables, last_optimizer):
                variable.assign(value)
    run.write_json(run.final_json, final)
    return final
