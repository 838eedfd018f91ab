"""The book's execution profile, read in one place.

``RESNET_BOOK_PROFILE`` selects how much work a chapter does:

- ``smoke``: seconds per chapter, for nbval in CI (tiny models, a few steps).
- ``cpu``: minutes per chapter on 2 cores, on embedded data (scikit-learn digits,
  synthetic VOC). The default when no GPU is visible.
- ``gpu``: paper scale on the real datasets (CIFAR-10, VOC2012), downloaded on first use.
  The default when a GPU is visible.
"""

from __future__ import annotations

import os

PROFILES = ("smoke", "cpu", "gpu")
ENV_VAR = "RESNET_BOOK_PROFILE"


def gpu_available() -> bool:
    """True when the active Keras backend (or, failing that, any framework) sees a GPU.

    Checked without importing TensorFlow when the backend is JAX or PyTorch, so that the
    answer is cheap on GPU machines that carry only those stacks.
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    except Exception:  # a missing or broken framework means no usable GPU
        return False


def get_profile() -> str:
    """Return the active profile: ``$RESNET_BOOK_PROFILE`` or the default for this machine.

    Raises ``ValueError`` naming the variable when it holds anything but smoke/cpu/gpu.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return "gpu" if gpu_available() else "cpu"
    if value not in PROFILES:
        raise ValueError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a profile; expected one of {PROFILES}"
        )
    return value
