"""Shared pytest set-up: quiet TensorFlow logs, a deterministic seed per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "one_backend: backend-independent (files, run directories, NumPy data); run "
        "on the TensorFlow pass of `make unit` only, or wherever TensorFlow is absent")


def pytest_collection_modifyitems(config, items):
    """``one_backend`` tests run once: skipped on the JAX pass when TensorFlow is installed
    (``make unit`` runs the suite on both), unless ``RESNET_ALL_BACKENDS=1``."""
    import importlib.util

    if keras.backend.backend() == "tensorflow" or os.environ.get("RESNET_ALL_BACKENDS") == "1":
        return
    if importlib.util.find_spec("tensorflow") is None:
        return
    skip = pytest.mark.skip(reason="backend-independent: runs on the TensorFlow pass")
    for item in items:
        if "one_backend" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture
def randomize_batchnorm():
    """Give every BN layer non-trivial statistics and affine terms, so inference-mode BN is
    really exercised: ``randomize_batchnorm(model, seed=0, beta_std=0.2)``."""

    def randomize(model, seed=0, beta_std=0.2):
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                n = layer.gamma.shape[0]
                layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
                layer.beta.assign(rng.normal(0, beta_std, n).astype("float32"))
                layer.moving_mean.assign(rng.normal(0, 0.2, n).astype("float32"))
                layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype("float32"))

    return randomize
