"""Mixed precision (resnet_lib.train.runtime): the policy chosen per device, and a training step.

``gpu_compute_capability`` is replaced by a stub, so every branch of the choice runs on a CPU.
The training step builds a small CIFAR net under each mixed policy and checks what mixed
precision promises (Micikevicius et al. 2018): float32 master weights, half-precision
compute, a float32 classifier output, loss scaling for float16, and weights that move.
"""

import keras
import numpy as np
import pytest

from resnet_lib.models import cifar_resnet
from resnet_lib.train import runtime


@pytest.mark.parametrize(
    "capability, auto, on",
    [(None, "float32", "mixed_bfloat16"), ((7, 5), "mixed_float16", "mixed_float16"),
     ((8, 0), "mixed_bfloat16", "mixed_bfloat16"), ((9, 0), "mixed_bfloat16", "mixed_bfloat16")],
)
def test_policy_follows_the_gpu(monkeypatch, capability, auto, on):
    monkeypatch.setattr(runtime, "gpu_compute_capability", lambda: capability)
    assert runtime.resolve_mixed_precision("auto") == auto
    assert runtime.resolve_mixed_precision("on") == on
    assert runtime.resolve_mixed_precision("off") == "float32"
    for name in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert runtime.resolve_mixed_precision(name) == name
    with pytest.raises(ValueError, match="mixed_precision='fp8'"):
        runtime.resolve_mixed_precision("fp8")


def test_dtype_policy_is_restored_even_after_an_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with runtime.dtype_policy("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == before


@pytest.mark.parametrize("policy, compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_a_mixed_precision_training_step(policy, compute):
    keras.utils.set_random_seed(0)
    with runtime.dtype_policy(policy):
        model = cifar_resnet(8, input_shape=(8, 8, 3), num_classes=3)
    conv = model.get_layer("conv2_block1_1_conv")
    assert conv.compute_dtype == compute and conv.kernel.dtype == "float32"
    assert model.get_layer("predictions").compute_dtype == "float32"
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    if policy == "mixed_float16":  # Keras wraps the optimizer to scale the loss
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 3, 8)
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    before = keras.ops.convert_to_numpy(conv.kernel).copy()
    losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
    after = keras.ops.convert_to_numpy(conv.kernel)
    assert all(np.isfinite(losses)) and after.dtype == np.float32
    assert np.abs(after - before).max() > 0, "no weight moved"
    assert losses[-1] < losses[0], f"three steps on one batch did not lower its loss: {losses}"
