"""resnet_lib.models against published parameter counts and independent implementations.

Oracles (``resnet_lib.reference``, each with its source): torchvision's trainable counts,
keras.applications' totals, the CIFAR option-A counts of He et al. 2015 Table 6, the seed
blog's ResNet-50, and keras.applications.ResNet50 itself.
"""

import numpy as np
import pytest

import keras

from resnet_lib.complexity import trainable_parameters
from resnet_lib.models import (
    STAGES,
    ZeroPadShortcut,
    build_model,
    cifar_resnet,
    imagenet_resnet,
    parse_preset,
)
from resnet_lib.reference import CIFAR_OPTION_A_PARAMS, KERAS_APPLICATIONS_PARAMS, SEED_PARAMS, TORCHVISION_PARAMS


TORCHVISION = TORCHVISION_PARAMS.value
KERAS_APPLICATIONS = {d: n for d, n in KERAS_APPLICATIONS_PARAMS.value.items() if isinstance(d, int)}
CIFAR_OPTION_A = {d: n for d, n in CIFAR_OPTION_A_PARAMS.value.items() if d <= 110}  # 1202 is slow to build


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize("depth", sorted(TORCHVISION))
def test_trainable_parameters_equal_torchvision(depth):
    model = imagenet_resnet(depth, stride_at="3x3")
    assert trainable_parameters(model) == TORCHVISION[depth]


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize("depth", sorted(KERAS_APPLICATIONS))
def test_total_parameters_equal_keras_applications(depth):
    model = imagenet_resnet(depth, use_bias=True)
    assert model.count_params() == KERAS_APPLICATIONS[depth]


@pytest.mark.one_backend  # structure and counts, not numerics
def test_resnet50_with_20_classes_matches_the_seed_count():
    # the blog's ResNet-50 and keras.applications.ResNet50(classes=20) have the same weights
    cited = SEED_PARAMS.value["ResNet-50"]
    assert cited == KERAS_APPLICATIONS_PARAMS.value["50, classes=20"]
    assert imagenet_resnet(50, use_bias=True, num_classes=20).count_params() == cited


def _randomize(model, rng):
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w in weights:
            if isinstance(layer, keras.layers.BatchNormalization):
                new.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))  # keep variances > 0
            else:
                new.append((rng.standard_normal(w.shape) * 0.05).astype(w.dtype))
        layer.set_weights(new)


@pytest.mark.one_backend  # both nets run the same layers on the same backend: the check is names and wiring
def test_keras_applications_weights_transfer_by_name_and_give_the_same_features():
    shape = (64, 64, 3)
    reference = keras.applications.ResNet50(weights=None, include_top=False, input_shape=shape)
    ours = imagenet_resnet(50, use_bias=True, include_top=False, input_shape=shape)
    _randomize(reference, np.random.default_rng(1))
    copied = 0
    for layer in reference.layers:
        if layer.get_weights():
            ours.get_layer(layer.name).set_weights(layer.get_weights())
            copied += 1
    ours_with_weights = [layer for layer in ours.layers if layer.get_weights()]
    assert copied == len(ours_with_weights) == 106  # 53 convolutions + 53 BN layers
    x = np.random.default_rng(2).uniform(0, 1, (2, *shape)).astype("float32")
    expected = keras.ops.convert_to_numpy(reference(x, training=False))
    got = keras.ops.convert_to_numpy(ours(x, training=False))
    assert got.shape == expected.shape == (2, 2, 2, 2048)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize("depth", sorted(CIFAR_OPTION_A))
def test_cifar_option_a_and_plain_counts(depth):
    assert trainable_parameters(cifar_resnet(depth)) == CIFAR_OPTION_A[depth]
    assert trainable_parameters(cifar_resnet(depth, residual=False)) == CIFAR_OPTION_A[depth]


def _projection_weights(c_in, c_out):
    return c_in * c_out + 2 * c_out  # 1x1 kernel + BN gamma and beta


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize("depth", [20, 32])
def test_options_b_and_c_add_exactly_the_projection_weights(depth):
    n = (depth - 2) // 6
    base = trainable_parameters(cifar_resnet(depth, shortcut="A"))
    # B: projections only where the shape changes: conv3_block1 (16->32), conv4_block1 (32->64).
    b_extra = _projection_weights(16, 32) + _projection_weights(32, 64)
    assert trainable_parameters(cifar_resnet(depth, shortcut="B")) == base + b_extra
    # C: every block gets one.
    c_extra = n * _projection_weights(16, 16) + b_extra
    c_extra += (n - 1) * (_projection_weights(32, 32) + _projection_weights(64, 64))
    assert trainable_parameters(cifar_resnet(depth, shortcut="C")) == base + c_extra


@pytest.mark.one_backend  # structure and counts, not numerics
def test_layer_names_follow_keras_applications():
    model = imagenet_resnet(50, input_shape=(64, 64, 3))
    names = {layer.name for layer in model.layers}
    for suffix in ("0_conv", "0_bn", "1_conv", "1_bn", "1_relu", "2_conv", "2_bn", "2_relu", "3_conv", "3_bn", "add", "out"):
        assert f"conv2_block1_{suffix}" in names
    assert {"conv1_conv", "conv1_bn", "conv1_relu", "pool1_pool", "avg_pool", "predictions"} <= names
    assert "conv2_block2_0_conv" not in names  # identity shortcut inside a stage
    assert "conv5_block3_out" in names and "conv5_block4_out" not in names


def _inbound(model, name):
    node = model.get_layer(name)._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


@pytest.mark.one_backend  # structure and counts, not numerics
def test_post_activation_order_and_addition_before_the_last_relu():
    model = imagenet_resnet(18, input_shape=(64, 64, 3))
    assert _inbound(model, "conv2_block1_1_bn") == ["conv2_block1_1_conv"]
    assert _inbound(model, "conv2_block1_1_relu") == ["conv2_block1_1_bn"]
    assert _inbound(model, "conv2_block1_2_conv") == ["conv2_block1_1_relu"]
    assert _inbound(model, "conv2_block1_add") == ["pool1_pool", "conv2_block1_2_bn"]
    assert _inbound(model, "conv2_block1_out") == ["conv2_block1_add"]
    assert _inbound(model, "conv3_block1_add") == ["conv3_block1_0_bn", "conv3_block1_2_bn"]
    assert model.get_layer("conv2_block1_1_conv").use_bias is False


@pytest.mark.one_backend  # structure and counts, not numerics
def test_plain_nets_have_the_same_layers_and_no_shortcuts():
    plain = cifar_resnet(20, residual=False)
    residual = cifar_resnet(20)
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.Add) for layer in residual.layers) == 9
    conv_names = lambda m: [l.name for l in m.layers if isinstance(l, keras.layers.Conv2D)]  # noqa: E731
    assert conv_names(plain) == conv_names(residual)
    assert _inbound(plain, "conv2_block1_out") == ["conv2_block1_2_bn"]


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize("stride_at, strided", [("1x1", "conv3_block1_1_conv"), ("3x3", "conv3_block1_2_conv")])
def test_stride_at_moves_the_downsampling(stride_at, strided):
    model = imagenet_resnet(50, input_shape=(64, 64, 3), stride_at=stride_at)
    strides = {l.name: l.strides for l in model.layers if isinstance(l, keras.layers.Conv2D)}
    assert strides[strided] == (2, 2)
    other = "conv3_block1_2_conv" if stride_at == "1x1" else "conv3_block1_1_conv"
    assert strides[other] == (1, 1)
    assert model.get_layer("conv3_block1_out").output.shape[1:3] == (8, 8)


def test_zero_pad_shortcut_subsamples_and_pads_with_zeros():
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(ZeroPadShortcut(8, stride=2)(x))
    assert y.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(y[..., 3:], 0)


@pytest.mark.one_backend  # structure and counts, not numerics
def test_option_a_uses_the_registered_layer_not_lambda():
    model = cifar_resnet(20)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "ZeroPadShortcut" in kinds and "Lambda" not in kinds
    assert model.get_layer("conv3_block1_0_pad").output.shape[1:] == (16, 16, 32)


def test_zero_init_residual_zeroes_only_the_last_bn_of_each_branch():
    model = imagenet_resnet(50, input_shape=(32, 32, 3), zero_init_residual=True)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma = keras.ops.convert_to_numpy(layer.gamma)
            expected = 0.0 if layer.name.endswith("_3_bn") else 1.0
            assert np.all(gamma == expected), layer.name
    # Every block starts as the identity: a non-downsampling block returns ReLU(x) = x.
    probe = keras.Model(model.input, [model.get_layer("conv2_block1_out").output, model.get_layer("conv2_block2_out").output])
    x = np.random.default_rng(0).uniform(size=(1, 32, 32, 3)).astype("float32")
    a, b = (keras.ops.convert_to_numpy(t) for t in probe(x, training=False))
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.one_backend  # structure and counts, not numerics
def test_preact_block_structure():
    model = cifar_resnet(20, preact=True)
    names = {layer.name for layer in model.layers}
    assert {"conv2_block1_preact_bn", "conv2_block1_preact_relu", "post_bn", "post_relu"} <= names
    assert isinstance(model.get_layer("conv2_block1_out"), keras.layers.Add)
    assert "conv2_block1_2_bn" not in names and "conv1_bn" not in names
    assert trainable_parameters(model) == trainable_parameters(cifar_resnet(20, preact=True, residual=False))


@pytest.mark.parametrize("shape, spatial", [((32, 32, 3), (1, 1)), ((96, 64, 3), (3, 2))])
def test_any_input_of_32_or_more(shape, spatial):
    model = imagenet_resnet(18, input_shape=shape, num_classes=7)
    assert model.output.shape[1:] == (7,)
    features = imagenet_resnet(18, input_shape=shape, include_top=False)
    assert features.output.shape[1:] == (*spatial, 512)


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize(
    "build, received, allowed",
    [
        (lambda: imagenet_resnet(19), "19", "[18, 34, 50, 101, 152]"),
        (lambda: cifar_resnet(21), "21", "6n+2"),
        (lambda: cifar_resnet(20, shortcut="D"), "'D'", "('A', 'B', 'C')"),
        (lambda: imagenet_resnet(50, stride_at="2x2"), "'2x2'", "('1x1', '3x3')"),
        (lambda: imagenet_resnet(18, input_shape=(16, 16, 3)), "(16, 16, 3)", ">= 32"),
        (lambda: cifar_resnet(20, residual=False, zero_init_residual=True), "zero_init_residual", "residual=True"),
        (lambda: build_model("resnet21", num_classes=10, input_shape=(32, 32, 3)), "21", "6n+2"),
        (lambda: build_model("vgg16", num_classes=10, input_shape=(32, 32, 3)), "vgg16", "resnet<depth>"),
    ],
)
def test_invalid_arguments_name_what_was_received_and_allowed(build, received, allowed):
    with pytest.raises(ValueError) as info:
        build()
    assert received in str(info.value) and allowed in str(info.value)


@pytest.mark.one_backend  # structure and counts, not numerics
def test_presets():
    assert parse_preset("plain56") == ("cifar", False, 56)
    assert parse_preset("resnet50") == ("imagenet", True, 50)
    assert parse_preset("cifar-resnet50") == ("cifar", True, 50)
    model = build_model("plain20", num_classes=3, input_shape=(16, 16, 3))
    assert model.name == "plain20" and model.output.shape[1:] == (3,)
    assert set(STAGES) == {18, 34, 50, 101, 152}


def test_weight_decay_is_an_l2_penalty_with_the_papers_gradient():
    model = cifar_resnet(8, input_shape=(16, 16, 3), weight_decay=1e-4)
    kernels = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(model.losses) == len(kernels) == 8  # 7 convolutions + the classifier
    expected = sum(0.5e-4 * float(np.sum(keras.ops.convert_to_numpy(l.kernel) ** 2)) for l in kernels)
    got = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cifar_resnet(8, input_shape=(16, 16, 3), weight_decay=1e-4),
        lambda: cifar_resnet(8, input_shape=(16, 16, 3), preact=True, shortcut="B"),
        lambda: imagenet_resnet(18, input_shape=(32, 32, 3), num_classes=5, shortcut="C"),
    ],
)
def test_save_and_reload_with_safe_mode(tmp_path, build):
    model = build()
    x = np.random.default_rng(0).uniform(size=(2, *model.input.shape[1:])).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(reloaded(x, training=False)),
    )


def test_resnet20_overfits_a_small_batch():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 10, size=16)
    model = cifar_resnet(20, input_shape=(16, 16, 3))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    start = model.evaluate(x, y, verbose=0)
    model.optimizer.build(model.trainable_variables)  # else TensorFlow traces the step twice
    # 40 steps on the same batch, as one epoch of 40 copies (an epoch each costs more in Keras' loop)
    model.fit(np.tile(x, (40, 1, 1, 1)), np.tile(y, 40), batch_size=16, shuffle=False, epochs=1, verbose=0)
    end = model.evaluate(x, y, verbose=0)
    assert end < 0.1 * start, (start, end)


@pytest.mark.one_backend  # structure and counts, not numerics
@pytest.mark.parametrize(
    "kwargs, wrong",
    [
        ({"depth": 34, "use_bias": True}, "depth=34"),
        ({"depth": 50}, "use_bias=False"),
        ({"depth": 50, "use_bias": True, "stride_at": "3x3"}, "stride_at='3x3'"),
        ({"depth": 101, "use_bias": True, "shortcut": "A"}, "shortcut='A'"),
    ],
)
def test_imagenet_weights_need_the_keras_applications_layout(kwargs, wrong):
    depth = kwargs.pop("depth")
    with pytest.raises(ValueError, match="weights='imagenet'") as info:
        imagenet_resnet(depth, weights="imagenet", **kwargs)
    assert wrong in str(info.value)


def test_weights_from_a_file(tmp_path):
    source = imagenet_resnet(18, input_shape=(32, 32, 3), num_classes=4)
    path = tmp_path / "r18.weights.h5"
    source.save_weights(path)
    loaded = imagenet_resnet(18, input_shape=(32, 32, 3), num_classes=4, weights=str(path))
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
