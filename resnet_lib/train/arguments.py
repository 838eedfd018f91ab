"""What a model tells about itself: its preset family and its depth as the paper counts it.

``model_depth`` reads a network's depth as the paper counts it (Section 4.2, Table 1): the
weighted layers on the main path, every convolution and fully-connected layer except the
projection shortcuts (the ``*_0_conv`` layers of ``resnet_lib.models`` and
keras.applications). The checks of a run's options live in ``resnet_lib.train.config``.
"""

from __future__ import annotations

import keras

from resnet_lib.train.config import ConfigError

__all__ = ["FitArgumentError", "model_depth", "preset_family"]

FitArgumentError = ConfigError  # the name this error had before TrainConfig


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
