"""resnet_lib.train.torch_layout computes what Keras' own torch backend computes: the same
outputs, gradients and moving statistics, without the layout copies (the fast CPU path of the
recorded runs). Runs on the torch backend only (``make test``'s torch pass)."""

import keras
import numpy as np
import pytest

pytestmark = [pytest.mark.torch,
              pytest.mark.skipif(keras.backend.backend() != "torch", reason="the torch backend's kernels")]


def _grads(model, x, *, patched):
    import torch

    from resnet_lib.train.torch_layout import channels_last_kernels

    for v in model.trainable_weights:
        v.value.grad = None
    with channels_last_kernels(patched) as active:
        out = model(x, training=True)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    assert active == patched
    grads = [v.value.grad.detach().double().numpy().copy() for v in model.trainable_weights]
    return out.detach().double().numpy(), grads, [w.copy() for w in model.get_weights()]


def test_batch_norm_equals_the_textbook_formula_and_keras():
    """Training-mode BN: (x - mean) / sqrt(var + eps) * gamma + beta over N, H, W, the biased
    variance in the moving average, in float64 so that only the formula can differ."""
    import torch

    from resnet_lib.train.torch_layout import channels_last_kernels

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 4, 3)) * 3 + 1
    upstream = rng.normal(size=x.shape)  # an arbitrary gradient from above
    results = {}
    for patched in (False, True):
        bn = keras.layers.BatchNormalization(epsilon=1.001e-5, momentum=0.9, dtype="float64")
        bn.build((None, 5, 4, 3))
        bn.gamma.assign(np.array([0.5, 1.0, 2.0]))
        bn.beta.assign(np.array([-1.0, 0.0, 1.0]))
        xt = torch.tensor(x, requires_grad=True)
        with channels_last_kernels(patched):
            y = bn(xt, training=True)
        (y * torch.tensor(upstream)).sum().backward()
        results[patched] = (y.detach().numpy(), xt.grad.numpy(), bn.moving_mean.numpy(),
                            bn.moving_variance.numpy())
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    textbook = (x - mean) / np.sqrt(var + 1.001e-5) * np.array([0.5, 1.0, 2.0]) + np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(results[True][0], textbook, atol=1e-12)
    np.testing.assert_allclose(results[True][2], 0.1 * mean, atol=1e-12)
    np.testing.assert_allclose(results[True][3], 0.9 + 0.1 * var, atol=1e-12)
    for got, keras_own in zip(results[True], results[False]):  # Keras' own differs by ~1e-6 here
        np.testing.assert_allclose(got, keras_own, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("net", ["resnet8", "plain8"])
def test_a_cifar_net_trains_the_same_with_and_without(net):
    import torch

    from resnet_lib.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(net, num_classes=10, input_shape=(16, 16, 3), classifier_activation=None)
    weights = model.get_weights()
    x = torch.tensor(np.random.default_rng(1).normal(size=(8, 16, 16, 3)).astype("float32"))
    out_a, grads_a, after_a = _grads(model, x, patched=False)
    model.set_weights(weights)
    out_b, grads_b, after_b = _grads(model, x, patched=True)
    np.testing.assert_allclose(out_b, out_a, rtol=1e-4, atol=1e-4)
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_allclose(b, a, atol=2e-3 * max(np.abs(a).max(), 1e-6))
    for a, b in zip(after_a, after_b):  # BN moving statistics after one training call
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_what_it_does_not_handle_falls_through_to_keras():
    """Strided "same" padding (asymmetric in Keras), dilation and inference use Keras' code."""
    import torch

    from resnet_lib.train.torch_layout import channels_last_kernels

    x = torch.tensor(np.random.default_rng(2).normal(size=(2, 9, 9, 3)).astype("float32"))
    for layer in (keras.layers.Conv2D(4, 3, strides=2, padding="same"),
                  keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same"),
                  keras.layers.Conv2D(4, 2, padding="same"),
                  keras.layers.Conv2D(4, 3, padding="valid")):
        reference = layer(x).detach().numpy()
        with channels_last_kernels():
            np.testing.assert_allclose(layer(x).detach().numpy(), reference, rtol=1e-5, atol=1e-5)
    bn = keras.layers.BatchNormalization()
    bn.build((None, 9, 9, 3))
    reference = bn(x, training=False).detach().numpy()
    with channels_last_kernels():
        np.testing.assert_allclose(bn(x, training=False).detach().numpy(), reference, atol=1e-6)


def test_the_patch_is_undone_and_nests():
    from keras.src.backend.torch import nn as torch_nn
    from keras.src.layers.normalization.batch_normalization import BatchNormalization

    from resnet_lib.train.torch_layout import active, channels_last_kernels

    conv, call = torch_nn.conv, BatchNormalization.call
    with channels_last_kernels():
        with channels_last_kernels():
            assert active() and torch_nn.conv is not conv
        assert active() and torch_nn.conv is not conv
    assert not active() and torch_nn.conv is conv and BatchNormalization.call is call
    with pytest.raises(RuntimeError):
        with channels_last_kernels():
            raise RuntimeError("inside")
    assert torch_nn.conv is conv


def test_fit_on_torch_trains_resumes_and_reloads(tmp_path):
    """The recorded runs' path at toy size: fit on torch with the preprocessing in the model,
    killed after an epoch and resumed (here: called again with more epochs refused, the same
    epochs re-opened), and the checkpoint reloads and predicts on the torch backend."""
    from resnet_lib.train import RunDir, fit
    from resnet_lib.train.rundir import ConfigMismatchError

    options = dict(epochs=2, batch_size=32, steps_per_epoch=4, augment="model", tensorboard=False,
                   verbose=0, run_dir=tmp_path / "run")
    first = fit("resnet8", "digits", **options)
    assert len(first.history["epoch"]) == 2 and np.isfinite(first.history["train_error"]).all()
    again = fit("resnet8", "digits", **options)  # finished: re-opened, nothing trained
    np.testing.assert_allclose(again.history["train_error"], first.history["train_error"])
    with pytest.raises(ConfigMismatchError, match="epochs: saved 2, now 1"):
        fit("resnet8", "digits", **{**options, "epochs": 1})
    model = keras.saving.load_model(RunDir(tmp_path / "run").checkpoint_path(2), safe_mode=True)
    images = np.zeros((3, 16, 16, 3), "float32")
    assert model.predict(images, verbose=0).shape == (3, 10)
