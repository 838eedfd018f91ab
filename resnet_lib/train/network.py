"""The network a run trains, compiled for the run.

A preset name is built with the recipe's weight decay (coupled L2 on the kernels, see
``resnet_lib.train.recipes``), ``model_options`` and a logits output; a built model is taken
as it is. With ``fit(augment="model")`` the data's preprocessing runs as layers in front of it.
It is compiled with the recipe's optimizer and learning-rate schedule (warm-up included) and
the loss of the task: softmax cross-entropy for one label per image (with label smoothing
where the recipe has it), sigmoid cross-entropy for multi-label VOC.
"""

from __future__ import annotations

import warnings

import keras

from resnet_lib.train.evaluation import from_logits
from resnet_lib.train.sources import first_batch

__all__ = ["build_network", "with_augmentation", "compile_network"]


def build_network(model, source, *, recipe, model_options):
    """``model`` if it is a built ``keras.Model``, else the preset it names, for ``source``."""
    if isinstance(model, keras.Model):
        return model
    from resnet_lib.models import build_model

    options = dict(model_options or {})
    options.setdefault("weight_decay", recipe.weight_decay)
    options.setdefault("classifier_activation", None)  # logits
    return build_model(model, num_classes=source.num_classes, input_shape=source.input_shape, **options)


def with_augmentation(net, *, seed: int, in_model: dict | None = None):
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


def _batch_used(source, batch_size: int) -> int:
    """The images in a training step: ``batch_size``, or fewer when the training set is smaller
    (then there is a single step per epoch, which is the only case that is checked)."""
    if source.steps_per_epoch != 1:
        return batch_size
    images = first_batch(source.train(0))[0]
    return min(batch_size, int(images.shape[0]))


def compile_network(model, *, config, jit: bool, source, total_steps, depth):
    """Compile ``model`` for a run of ``total_steps`` (``config``: the run's resolved
    ``TrainConfig``; ``jit``: XLA as ``runtime.resolve_jit`` decided)."""
    logits = from_logits(model)
    recipe, batch_size, learning_rate = config.recipe, config.batch_size, config.learning_rate
    used = _batch_used(source, batch_size)
    if used < batch_size:
        scaled = " (the recipe's learning rate is scaled to it)" if learning_rate is None else ""
        warnings.warn(f"batch_size={batch_size} is more than the {used} training images: each epoch is one "
                      f"step of {used} images{scaled}", RuntimeWarning, stacklevel=4)
        batch_size = used
    optimizer = recipe.make_optimizer(total_steps, batch_size=batch_size, depth=depth, learning_rate=learning_rate,
                                      warmup=config.warmup)
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
                  steps_per_execution=config.runtime.steps_per_execution)


