"""Standard deviation of layer responses (He et al. 2015, Section 4.2, Fig. 7).

"The responses are the outputs of each 3x3 layer, after BN and before other nonlinearity
(ReLU/addition)." The paper finds them smaller for ResNets than for their plain
counterparts, and smaller for deeper ResNets: residual functions are generally closer to zero
than non-residual ones (He et al. 2015, Fig. 7).

Here the responses are the outputs of the BN layers that follow each convolution of the stem
and of the residual branches (``conv1_bn``, ``{block}_1_bn``, ``_2_bn``, and ``_3_bn`` of a
bottleneck), in data-flow order; projection shortcuts (``_0_bn``) are left out. The network
runs in inference mode, so BN uses its moving statistics, as at test time. A bottleneck net
also reports its 1x1 layers; a pre-activation net has no BN right after its last convolution,
so pass ``layers=`` there to choose what to measure.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import keras
import numpy as np

__all__ = ["LayerResponses", "response_layer_names", "response_std"]

_RESPONSE = re.compile(r"(^conv1_bn$)|(_block\d+_[1-9]\d*_bn$)")


@dataclasses.dataclass
class LayerResponses:
    """One network's response std per layer, in data-flow order (Fig. 7, top)."""

    model_name: str
    layer_names: tuple
    std: np.ndarray  # one value per layer

    def sorted(self) -> np.ndarray:
        """The std values in descending order (Fig. 7, bottom)."""
        return np.sort(self.std)[::-1]


def response_layer_names(model, *, include_stem: bool = True) -> list[str]:
    """The BN layers after the stem and branch convolutions, in data-flow order."""
    names = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization) and _RESPONSE.search(layer.name)
    ]
    if not include_stem:
        names = [n for n in names if n != "conv1_bn"]
    if not names:
        raise ValueError(
            f"model {model.name!r}: no BN layer named 'conv1_bn' or '{{block}}_{{i}}_bn' "
            "(i >= 1); pass layers= to choose the responses to measure."
        )
    return names


def _batches(data, batch_size):
    """Yields input batches from an array or from an iterable of x or (x, y) batches."""
    if hasattr(data, "shape"):
        for start in range(0, len(data), batch_size):
            yield data[start : start + batch_size]
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def response_std(
    model,
    data,
    *,
    layers: Sequence[str] | None = None,
    include_stem: bool = True,
    per_channel: bool = False,
    batch_size: int = 128,
    label: str | None = None,
) -> LayerResponses:
    """The standard deviation of each layer's response on ``data``.

    Args:
        model: a functional model (residual or plain, see ``resnet_lib.models``).
        data: input images as an array, or an iterable of ``x`` or ``(x, y)`` batches,
            preprocessed as for training.
        layers: names of the layers whose outputs to measure; default
            ``response_layer_names(model, include_stem=include_stem)``.
        per_channel: ``False`` (default) takes the std over every entry of the response
            (images, positions and channels together); ``True`` takes the std of each channel
            over images and positions, then averages the channels.
        batch_size: images per forward pass when ``data`` is an array.
        label: the name the result carries (``LayerResponses.model_name``, the figures'
            legend); default ``model.name``.
    """
    names = list(layers) if layers is not None else response_layer_names(
        model, include_stem=include_stem
    )
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    total = [0.0] * len(names)  # per-channel sums, float64, accumulated over batches
    total_sq = [0.0] * len(names)
    count = [0] * len(names)
    for x in _batches(data, batch_size):
        outputs = probe.predict_on_batch(x)
        for i, y in enumerate(outputs):
            y = np.asarray(keras.ops.convert_to_numpy(y), np.float64)
            y = y.reshape(-1, y.shape[-1])
            total[i] = total[i] + y.sum(0)
            total_sq[i] = total_sq[i] + (y**2).sum(0)
            count[i] += y.shape[0]
    if not count[0]:
        raise ValueError("data: no images to measure.")
    std = []
    for s, s2, n in zip(total, total_sq, count):
        if per_channel:
            variance = s2 / n - (s / n) ** 2
            std.append(np.sqrt(np.maximum(variance, 0)).mean())
        else:
            entries = n * s.shape[0]
            variance = s2.sum() / entries - (s.sum() / entries) ** 2
            std.append(np.sqrt(max(variance, 0.0)))
    return LayerResponses(model.name if label is None else label, tuple(names), np.array(std))
