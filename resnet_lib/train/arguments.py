"""The arguments of ``fit``, checked before anything is written, and what a model tells about itself.

``check_arguments`` raises ``FitArgumentError`` (naming the Python argument) for a value that
cannot work, and for an option that does not apply to the model or data it came with, rather
than ignore it:

- ``model_options`` with a built model (its options were fixed when it was built);
- ``label_mode`` outside VOC, ``synthetic_images`` outside "synthetic-voc";
- ``stride_at`` in ``model_options`` of a basic-block net (it places the stride of a
  bottleneck block, Table 1; basic blocks have one 3x3 conv that strides);
- an ImageNet preset (7x7 stem and max pool, Table 1) on small images (digits, CIFAR-10),
  unless ``allow_imagenet_stem=True`` asks for it: Section 4.2 builds CIFAR nets with a 3x3
  stem instead, since the ImageNet stem shrinks a 32 px image to 8 px before the first stage;
- ``warmup=True`` with a recipe that has no warm-up.

``model_depth`` reads a network's depth as the paper counts it (Section 4.2, Table 1): the
weighted layers on the main path, every convolution and fully-connected layer except the
projection shortcuts (the ``*_0_conv`` layers of ``resnet_lib.models`` and
keras.applications).
"""

from __future__ import annotations

import math

import keras
import numpy as np

__all__ = ["FitArgumentError", "check_arguments", "model_depth", "preset_family"]

VOC_DATA = ("voc2012", "synthetic-voc")


class FitArgumentError(ValueError):
    """An argument of ``fit`` is out of range or does not apply; ``argument`` is its name."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


def preset_family(name: str):
    """``(family, residual, depth)`` of a preset name (``resnet_lib.models.parse_preset``)."""
    from resnet_lib.models import parse_preset

    return parse_preset(name)


def model_depth(model) -> int | None:
    """The depth of ``model``: a preset name's depth, or a built model's weighted layers.

    A built model counts its ``Conv2D`` and ``Dense`` layers, nested models included, except
    projection shortcuts (layer names ending in ``_0_conv``): ``cifar_resnet(110)`` gives 110,
    ``imagenet_resnet(50)`` 50. None for a name that is not a preset.
    """
    if isinstance(model, str):
        try:
            return preset_family(model)[2]
        except ValueError:
            return None
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += model_depth(layer) or 0
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and not layer.name.endswith("_0_conv"):
            count += 1
    return count


def _block(family: str, depth: int) -> str:
    if family == "cifar":
        return "basic"
    from resnet_lib.models import STAGES

    return STAGES[depth][0]


def _data_name(data) -> str:
    return data if isinstance(data, str) else type(data).__name__


def check_arguments(*, model, data, recipe, epochs, batch_size, learning_rate, seed, image_size,
                    limit, steps_per_epoch, keep_checkpoints, synthetic_images, label_mode,
                    model_options, data_source, augment, steps_per_execution, warmup,
                    allow_imagenet_stem) -> None:
    """Raise ``FitArgumentError`` for the first argument of ``fit`` that cannot work or does not
    apply (see the module docstring)."""
    from resnet_lib.train.recipes import get_recipe

    family = None
    if isinstance(model, str):
        try:
            family, _, depth = preset_family(model)
        except ValueError as err:
            raise FitArgumentError("model", f"model={model!r}: {err}") from None
    elif not isinstance(model, keras.Model):
        raise FitArgumentError("model", f"model={model!r}; expected a preset name or a keras.Model")
    try:
        recipe = get_recipe(recipe)
    except ValueError as err:
        raise FitArgumentError("recipe", str(err)) from None
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("limit", limit, 1),
                             ("steps_per_epoch", steps_per_epoch, 1), ("image_size", image_size, 8),
                             ("keep_checkpoints", keep_checkpoints, 1), ("synthetic_images", synthetic_images, 2),
                             ("steps_per_execution", steps_per_execution, 1)):
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
    if augment not in (None, True, False, "model"):
        raise FitArgumentError("augment", f"augment={augment!r}; expected None, True, False or 'model'")
    if warmup not in (None, True, False):
        raise FitArgumentError("warmup", f"warmup={warmup!r}; expected None (the recipe's rule), True or False")
    if warmup is True and recipe.warmup_fraction <= 0:
        raise FitArgumentError("warmup", f"warmup=True, but recipe {recipe.name!r} has no warm-up "
                               "(Recipe.warmup_fraction is 0)")

    # options that do not apply to this model or data
    voc = data in VOC_DATA
    if label_mode is not None:
        if not voc:
            raise FitArgumentError("label_mode", f"label_mode={label_mode!r} applies to VOC data "
                                   f"({', '.join(VOC_DATA)}) only, not data={_data_name(data)!r}")
        if label_mode not in ("multi", "single"):
            raise FitArgumentError("label_mode", f"label_mode={label_mode!r}; expected 'multi' or 'single'")
    if synthetic_images is not None and data != "synthetic-voc":
        raise FitArgumentError("synthetic_images", f"synthetic_images={synthetic_images!r} applies to "
                               f"data='synthetic-voc' only, not data={_data_name(data)!r}")
    if data_source is not None and data != "cifar10":
        raise FitArgumentError("data_source", f"data_source={str(data_source)!r} applies to data='cifar10' "
                               f"only, not data={_data_name(data)!r}")
    if data == "cifar10" and image_size not in (None, 32):
        raise FitArgumentError("image_size", f"image_size={image_size!r}: data='cifar10' has 32x32 images")
    if model_options:
        if not isinstance(model, str):
            raise FitArgumentError("model_options", f"model_options={model_options!r} apply to a preset name "
                                   f"only; the built model {model.name!r} was built with its options "
                                   "(build it with them instead)")
        if "stride_at" in model_options and _block(family, depth) == "basic":
            raise FitArgumentError("model_options", f"model_options: stride_at={model_options['stride_at']!r} "
                                   f"places the stride of a bottleneck block; {model!r} has basic blocks, "
                                   "whose single strided 3x3 conv leaves nothing to choose")
    if family == "imagenet" and not voc and not allow_imagenet_stem:
        raise FitArgumentError("model", f"model={model!r} has the ImageNet stem (7x7 conv and max pool, "
                               f"Table 1), which shrinks data={_data_name(data)!r}'s small images 4x "
                               "before the first stage; Section 4.2 uses the CIFAR nets (resnet20, "
                               "resnet56, ...). Pass allow_imagenet_stem=True to train it anyway")
