"""Keras on PyTorch without layout copies: channels-last convolutions and fused batch norm.

Our models are channels-last (NHWC), as Keras defaults. PyTorch's CPU convolutions (oneDNN)
are fastest on channels-last memory too, which a permuted NHWC tensor already is. Keras 3's
torch backend does not use that: its ``conv`` permutes the input to NCHW *and copies it*
(``.contiguous()``), then copies it again into channels-last memory, and its
``BatchNormalization`` computes the moments and the normalization as half a dozen separate
element-wise passes. On the two CPU cores this project trains on, those copies and passes
cost about a quarter of a ResNet-20 training step (benchmarks/cpu_training.md).

``channels_last_kernels()`` replaces both, for as long as it is active and on the torch
backend only, with the same mathematics:

- a 2-D convolution is ``torch.nn.functional.conv2d`` on ``x.permute(0, 3, 1, 2)`` (a view:
  no copy) with symmetric "same" padding where Keras' would be symmetric too (odd kernels,
  stride 1), otherwise Keras' own code runs;
- a training-mode ``BatchNormalization`` over the last axis of a 4-D input, without mask or
  renorm, is ``torch.native_batch_norm`` (one fused pass, its own backward), and its moving
  statistics are updated exactly as Keras updates them (the biased batch variance,
  ``momentum`` the weight of the old value).

Anything else (other ranks, dilations, masks, inference) falls through to Keras unchanged.
The weights and saved models are untouched: a model trained under it loads and predicts on
any backend. ``tests/test_torch_layout.py`` checks outputs, gradients and moving statistics
against Keras' own code.
"""

from __future__ import annotations

import contextlib

import keras

__all__ = ["channels_last_kernels", "active"]

_state = {"depth": 0}


def active() -> bool:
    """Whether ``channels_last_kernels`` is in effect now."""
    return _state["depth"] > 0


def _fast_conv(original):
    import torch

    from keras.src.backend.torch.core import convert_to_tensor

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        kernel = convert_to_tensor(kernel)
        strides_ = (strides,) * 2 if isinstance(strides, int) else tuple(strides)
        dilation = (dilation_rate,) * 2 if isinstance(dilation_rate, int) else tuple(dilation_rate)
        channels_last = (data_format or keras.config.image_data_format()) == "channels_last"
        k = tuple(kernel.shape[:2]) if kernel.ndim == 4 else None
        same_is_symmetric = k is not None and k[0] % 2 == 1 and k[1] % 2 == 1 and strides_ == (1, 1)
        if (not channels_last or kernel.ndim != 4 or dilation != (1, 1)
                or (padding == "same" and not same_is_symmetric) or padding not in ("same", "valid")):
            return original(inputs, kernel, strides, padding, data_format, dilation_rate)
        x = convert_to_tensor(inputs).permute(0, 3, 1, 2)  # NCHW view of NHWC memory
        w = kernel.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)  # HWIO -> OIHW
        pad = (k[0] // 2, k[1] // 2) if padding == "same" else (0, 0)
        y = torch.nn.functional.conv2d(x, w, stride=strides_, padding=pad)
        return y.permute(0, 2, 3, 1)

    return conv


def _fast_batch_norm_call(original):
    import torch

    from keras import ops

    def call(self, inputs, training=None, mask=None):
        if (not training or not self.trainable or mask is not None or self.renorm
                or len(inputs.shape) != 4 or self.axis not in (-1, 3) or inputs.dtype not in (torch.float32, torch.float64)
                or not (self.scale and self.center)):
            return original(self, inputs, training=training, mask=mask)
        x = inputs.permute(0, 3, 1, 2)
        out, mean, invstd = torch.native_batch_norm(x, self.gamma.value, self.beta.value, None, None,
                                                    True, 0.0, self.epsilon)
        with torch.no_grad():
            variance = invstd.pow(-2) - self.epsilon  # the biased batch variance, as Keras uses
            self.moving_mean.assign(self.moving_mean.value * self.momentum
                                    + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance.value * self.momentum
                                        + variance * (1.0 - self.momentum))
        return ops.cast(out.permute(0, 2, 3, 1), self.compute_dtype)

    return call


@contextlib.contextmanager
def channels_last_kernels(enabled: bool = True):
    """Within this block, Keras' torch backend convolves and batch-normalizes without layout
    copies (module docstring). A no-op on other backends or with ``enabled=False``."""
    if not enabled or keras.backend.backend() != "torch":
        yield False
        return
    from keras.src.backend.torch import nn as torch_nn
    from keras.src.layers.normalization.batch_normalization import BatchNormalization

    _state["depth"] += 1
    if _state["depth"] > 1:  # nested: the outer block has patched already
        try:
            yield True
        finally:
            _state["depth"] -= 1
        return
    conv, call = torch_nn.conv, BatchNormalization.call
    torch_nn.conv = _fast_conv(conv)
    BatchNormalization.call = _fast_batch_norm_call(call)
    try:
        yield True
    finally:
        torch_nn.conv, BatchNormalization.call = conv, call
        _state["depth"] -= 1
