"""Parameter-free shortcut of option A (He et al. 2015, Section 3.3 and 4.2).

"The shortcut still performs identity mapping, with extra zero entries padded for
increasing dimensions ... when the shortcuts go across feature maps of two sizes, they are
performed with a stride of 2." Written as a registered Keras layer (never a ``Lambda``), so a
model that uses it saves to ``.keras`` and reloads with ``safe_mode=True``.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="resnet_lib")
class ZeroPadShortcut(keras.layers.Layer):
    """Identity shortcut that subsamples by ``stride`` and zero-pads channels to ``filters``.

    Input ``(N, H, W, C)`` -> output ``(N, ceil(H/stride), ceil(W/stride), filters)``: the
    first ``C`` channels are the subsampled input, the remaining ``filters - C`` are zeros.
    ``ceil`` matches the spatial size of the stride-2 convolutions on the residual branch.
    """

    def __init__(self, filters: int, *, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        if int(filters) < 1 or int(stride) < 1:
            raise ValueError(
                f"ZeroPadShortcut needs filters >= 1 and stride >= 1; got filters={filters!r}, "
                f"stride={stride!r}"
            )
        self.filters = int(filters)
        self.stride = int(stride)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels > self.filters:
            raise ValueError(
                f"{self.name}: option A can only add channels; input has {channels}, "
                f"filters={self.filters}"
            )

    def call(self, inputs):
        x = inputs[:, :: self.stride, :: self.stride, :] if self.stride > 1 else inputs
        extra = self.filters - x.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return x

    def compute_output_shape(self, input_shape):
        def sub(size):
            return None if size is None else -(-size // self.stride)

        n, h, w, _ = input_shape
        return (n, sub(h), sub(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}
