"""The models' two parameter-free custom layers, registered Keras serializables.

- ``ZeroPadShortcut``: the shortcut of option A (He et al. 2015, Section 3.3 and 4.2): "The
  shortcut still performs identity mapping, with extra zero entries padded for increasing
  dimensions ... when the shortcuts go across feature maps of two sizes, they are performed
  with a stride of 2."
- ``CaffePreprocessing``: [0, 1] RGB images -> the input that ImageNet weights trained with
  the original Caffe models expect (BGR, 0..255, ImageNet mean subtracted), as
  ``keras.applications.resnet.preprocess_input`` computes it.

Both are layers, never a ``Lambda``, so a model that uses them saves to ``.keras`` and
reloads with ``safe_mode=True``.
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

    Channel order: identity first, zeros after, as in the authors' Torch code
    (fb.resnet.torch ``models/resnet.lua``: ``nn.Concat(2):add(nn.Identity()):add(nn.MulConstant(0))``).
    akamaster/pytorch_resnet_cifar10 (``resnet.py``, ``LambdaLayer``) pads ``(filters - C) / 2``
    zero channels on *both* sides instead, so the identity sits in the middle channels:
    weights trained there load here only after permuting the channels of every layer that
    follows such a shortcut.
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


# ImageNet's mean pixel in BGR order, 0..255: the "caffe" mode of keras.applications'
# imagenet_utils.preprocess_input, which ResNet50/101/152 use.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="resnet_lib")
class CaffePreprocessing(keras.layers.Layer):
    """Map [0, 1] RGB images to Caffe's input: ``255 * x``, RGB -> BGR, ImageNet mean subtracted.

    Equals ``keras.applications.resnet.preprocess_input(255 * x)`` on channels-last images,
    without scaling by a standard deviation. Placed first in a model, it lets ImageNet
    weights from keras.applications (``resnet_lib.pretrained``) see the inputs they were
    trained on while the data pipeline keeps yielding [0, 1] RGB.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                f"{self.name}: expected RGB images (B, H, W, 3), got input shape {tuple(input_shape)}"
            )

    def call(self, inputs):
        bgr = ops.flip(ops.cast(inputs, self.compute_dtype), axis=-1)
        mean = ops.convert_to_tensor(CAFFE_MEAN_BGR, dtype=self.compute_dtype)
        return 255.0 * bgr - mean

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
