"""Per-layer gradient norms at initialisation, plain vs residual."""

import keras
import numpy as np

from resnet_lib.analysis.gradients import GradientNormHistory, conv_layer_names, gradient_norms
from resnet_lib.models import cifar_resnet

SHAPE = (16, 16, 3)


def _batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *SHAPE)).astype("float32"), rng.integers(0, 3, n)


def test_one_positive_finite_norm_per_conv_and_bn_state_untouched():
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3, shortcut="B")
    x, y = _batch()
    before = [np.array(v) for v in model.non_trainable_weights]
    result = gradient_norms(model, x, y)
    names = conv_layer_names(model)
    assert result.layer_names == tuple(names)
    assert len(names) == 1 + 6 + 2  # stem, two per block, two projections
    assert np.isfinite(result.gradient_norm).all() and (result.gradient_norm > 0).all()
    assert np.isfinite(result.loss) and result.loss > 0
    for v, old in zip(model.non_trainable_weights, before):
        np.testing.assert_array_equal(np.array(v), old)  # BN moving stats unchanged


def test_first_layer_norm_matches_a_finite_difference():
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3, classifier_activation=None)
    x, y = _batch(8)
    result = gradient_norms(model, x, y)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernel = model.get_layer("conv1_conv").kernel
    w = np.array(kernel)
    direction = np.random.default_rng(2).normal(size=w.shape).astype("float32")
    direction /= np.linalg.norm(direction)
    eps = 1e-2

    def loss_at(weights):
        kernel.assign(weights)
        return float(loss(y, model(x, training=True)))

    slope = (loss_at(w + eps * direction) - loss_at(w - eps * direction)) / (2 * eps)
    kernel.assign(w)
    # a directional derivative never exceeds the gradient's norm, and is not negligible
    assert abs(slope) <= result.gradient_norm[0] * 1.01
    assert abs(slope) > 1e-3 * result.gradient_norm[0]


def test_plain_net_at_init_has_larger_early_gradients_than_resnet():
    # With BN, a deep plain net's early-layer gradients at initialisation *grow* with depth
    # (measured here: plain-56 ~1000x the ResNet's first-layer norm at 16 px); the residual
    # counterpart keeps them within a few times the last layer's.
    x, y = _batch(16)
    keras.utils.set_random_seed(0)
    resnet = gradient_norms(cifar_resnet(32, input_shape=SHAPE, num_classes=3), x, y)
    keras.utils.set_random_seed(0)
    plain = gradient_norms(
        cifar_resnet(32, input_shape=SHAPE, num_classes=3, residual=False), x, y
    )
    assert plain.gradient_norm[0] > 3 * resnet.gradient_norm[0]
    plain_spread = plain.gradient_norm[0] / plain.gradient_norm[-1]
    resnet_spread = resnet.gradient_norm[0] / resnet.gradient_norm[-1]
    assert plain_spread > 3 * resnet_spread


def test_history_callback_records_before_and_after_epochs():
    model = cifar_resnet(8, input_shape=SHAPE, num_classes=3)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    x, y = _batch(16)
    history = GradientNormHistory(x[:8], y[:8])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[history])
    assert history.epochs == [-1, 0, 1]
    assert history.gradient_norm.shape == (3, len(conv_layer_names(model)))
    assert np.isfinite(history.gradient_norm).all()
    # the weights moved, so the measured gradients changed
    assert not np.allclose(history.gradient_norm[0], history.gradient_norm[2])
