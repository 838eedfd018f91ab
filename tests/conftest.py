"""Shared pytest set-up: quiet TensorFlow logs, JAX's compilation cache, markers, a
deterministic seed per test."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# JAX's persistent compilation cache: the tests compile the same small train steps again and
# again (measured: the small-image and fit tests on JAX in 71 s instead of 130 s, from an empty
# cache). One folder per pytest-xdist worker, so no two processes write one cache at once.
_JAX_CACHE = pathlib.Path(__file__).resolve().parents[1] / ".cache" / "jax-tests" / os.environ.get(
    "PYTEST_XDIST_WORKER", "main")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_JAX_CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # two workers on two cores: one intra-op thread each instead of two threads per worker
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "one_backend: backend-independent (files, run directories, subprocesses that "
        "pick their own backend); skipped where RESNET_ONE_BACKEND_DONE=1, which `make unit` sets "
        "on the passes after the TensorFlow one")
    config.addinivalue_line(
        "markers", "torch: the torch backend's own path (resnet_lib.train.torch_layout, the recorded "
        "runs' backend); `make unit-torch` runs these with KERAS_BACKEND=torch")
    config.addinivalue_line(
        "markers", "tensorflow: needs TensorFlow installed (the tf.data VOC pipeline, "
        "tf.distribute); skipped where it is absent")


def pytest_collection_modifyitems(config, items):
    """Skip ``one_backend`` tests on the passes after the first (``RESNET_ONE_BACKEND_DONE=1``)
    and ``tensorflow`` tests where TensorFlow is not installed, each with its reason."""
    import importlib.util

    done = os.environ.get("RESNET_ONE_BACKEND_DONE") == "1"
    has_tf = importlib.util.find_spec("tensorflow") is not None
    skip_done = pytest.mark.skip(reason="backend-independent: ran on the TensorFlow pass")
    skip_tf = pytest.mark.skip(reason="needs TensorFlow: pip install 'resnet-lib[tf]'")
    for item in items:
        if done and "one_backend" in item.keywords:
            item.add_marker(skip_done)
        elif not has_tf and "tensorflow" in item.keywords:
            item.add_marker(skip_tf)


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
