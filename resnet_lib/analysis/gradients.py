"""Per-layer gradient norms, plain vs residual (He et al. 2015, Sections 1 and 4.1).

The paper argues that its plain nets' degradation is *not* vanishing gradients: "these plain
networks are trained with BN, which ensures forward propagated signals to have non-zero
variances. We also verify that the backward propagated gradients exhibit healthy norms with
BN." This module measures those norms: the L2 norm of the loss gradient with respect to each
convolution kernel, in data-flow order, for one batch, at initialisation or at any point of
training (``GradientNormHistory`` records them once per epoch during ``fit``).

Gradients need the backend's autodiff; ``_gradients`` is the one place that knows about
TensorFlow, JAX and PyTorch. The forward pass runs in training mode (BN uses the batch's
statistics, as in a training step) and leaves the model's BN moving averages unchanged.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

__all__ = ["GradientNorms", "GradientNormHistory", "conv_layer_names", "gradient_norms"]


@dataclasses.dataclass
class GradientNorms:
    """Gradient and weight norms of each convolution kernel, in data-flow order."""

    model_name: str
    layer_names: tuple
    gradient_norm: np.ndarray  # ||dL/dW|| per conv layer
    weight_norm: np.ndarray  # ||W|| per conv layer (gradient_norm / weight_norm: relative)
    loss: float


def conv_layer_names(model) -> list[str]:
    """Names of the model's Conv2D layers in data-flow order (shortcut projections included)."""
    names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not names:
        raise ValueError(f"model {model.name!r}: has no Conv2D layer.")
    return names


def _default_loss(model):
    """Cross-entropy on integer labels, from logits or probabilities as the model outputs."""
    activation = getattr(model.layers[-1], "activation", None)
    name = getattr(activation, "__name__", "")
    if name == "softmax":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    if name == "linear" or activation is None:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    raise ValueError(
        f"loss: model {model.name!r} ends in {name or activation!r}; pass loss= explicitly "
        "(e.g. keras.losses.BinaryCrossentropy() for a sigmoid multi-label head)."
    )


def _gradients(model, x, y, loss_fn, variables):
    """d loss / d variables for one batch in training mode, on the current Keras backend.

    BN moving statistics are left as they were: JAX runs ``stateless_call`` and drops the new
    state; TensorFlow and PyTorch restore the non-trainable variables afterwards.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_of(trainable_values):
            y_pred, _ = model.stateless_call(trainable_values, non_trainable, x, training=True)
            return loss_fn(y, y_pred)

        loss, grads = jax.value_and_grad(loss_of)(trainable)
        index = {id(v): i for i, v in enumerate(model.trainable_variables)}
        return float(loss), [grads[index[id(v)]] for v in variables]

    saved = [keras.ops.copy(v.value) for v in model.non_trainable_variables]
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, variables)
        elif backend == "torch":
            import torch

            loss = loss_fn(y, model(keras.ops.convert_to_tensor(x), training=True))
            grads = torch.autograd.grad(loss, [v.value for v in variables])
        else:
            raise NotImplementedError(
                f"gradient_norms: backend {backend!r} is not supported; use KERAS_BACKEND="
                "tensorflow, jax or torch."
            )
    finally:
        for v, value in zip(model.non_trainable_variables, saved):
            v.assign(value)
    return float(keras.ops.convert_to_numpy(loss)), grads


def gradient_norms(model, x, y, *, loss=None, layers=None) -> GradientNorms:
    """The L2 norm of the loss gradient w.r.t. each conv kernel, for one batch ``(x, y)``.

    Args:
        model: a functional Keras model, at initialisation or trained.
        x, y: one batch of inputs and labels (integer labels for the default loss).
        loss: a Keras loss or ``loss(y_true, y_pred)``; default sparse categorical
            cross-entropy, from logits or probabilities as the model's last layer outputs.
        layers: conv layer names; default ``conv_layer_names(model)``.
    """
    names = list(layers) if layers is not None else conv_layer_names(model)
    kernels = [model.get_layer(n).kernel for n in names]
    loss_fn = loss if loss is not None else _default_loss(model)
    x = keras.ops.convert_to_tensor(np.asarray(x, dtype="float32"))
    y = keras.ops.convert_to_tensor(np.asarray(y))
    value, grads = _gradients(model, x, y, loss_fn, kernels)

    def norm(t):
        return float(np.linalg.norm(np.asarray(keras.ops.convert_to_numpy(t), np.float64)))

    return GradientNorms(
        model_name=model.name,
        layer_names=tuple(names),
        gradient_norm=np.array([norm(g) for g in grads]),
        weight_norm=np.array([norm(k.value) for k in kernels]),
        loss=value,
    )


class GradientNormHistory(keras.callbacks.Callback):
    """Records ``gradient_norms`` on a fixed batch before training and after every epoch.

    After ``fit``: ``epochs`` (-1 stands for "before training"), ``layer_names`` and
    ``gradient_norm``, an array of shape ``(len(epochs), len(layer_names))``.
    """

    def __init__(self, x, y, *, loss=None, every: int = 1):
        super().__init__()
        if every < 1:
            raise ValueError(f"every: expected an integer >= 1, got {every!r}.")
        self.x, self.y, self.loss, self.every = x, y, loss, every
        self.epochs, self._norms, self.layer_names = [], [], ()

    def _record(self, epoch):
        result = gradient_norms(self.model, self.x, self.y, loss=self.loss)
        self.layer_names = result.layer_names
        self.epochs.append(epoch)
        self._norms.append(result.gradient_norm)

    def on_train_begin(self, logs=None):
        self._record(-1)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch)

    @property
    def gradient_norm(self) -> np.ndarray:
        return np.array(self._norms)
