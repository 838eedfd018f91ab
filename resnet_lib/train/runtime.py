"""Where a run executes: precision policy, XLA, and data-parallel replicas.

- Mixed precision (Micikevicius et al. 2018): on a GPU, ``"auto"`` trains in bfloat16 where
  the card supports it (compute capability 8.0 and up: A100, H100, L4...) and in float16 with
  loss scaling on older cards (T4, V100); float32 on CPU. The classifier stays float32.
- XLA (``jit_compile``): on by default on a GPU with TensorFlow, off on CPU where compiling costs
  more than it saves on small models; the JAX backend always compiles (its "eager" mode is a
  debugging aid, orders of magnitude slower).
- Several accelerators: ``tf.distribute.MirroredStrategy`` on the TensorFlow backend and
  ``keras.distribution.DataParallel`` on JAX, both synchronous data parallelism with the
  global batch split across replicas. Nothing here writes its own parallel loop.

Nothing in this module imports TensorFlow unless the Keras backend is TensorFlow.
"""

from __future__ import annotations

import contextlib

import keras

__all__ = [
    "gpu_compute_capability",
    "resolve_mixed_precision",
    "resolve_jit",
    "dtype_policy",
    "distribution",
]

MODES = ("auto", "on", "off")


def gpu_compute_capability():
    """(major, minor) of the first GPU the Keras backend sees, or None without a GPU."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if not gpus:
                return None
            cc = getattr(gpus[0], "compute_capability", None)
            return tuple(int(p) for p in str(cc).split(".")[:2]) if cc else (0, 0)
        if backend == "torch":
            import torch

            return tuple(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return tuple(cc) if cc else (0, 0)
    except (ImportError, RuntimeError):
        return None


def resolve_mixed_precision(mode: str = "auto") -> str:
    """Map "auto" | "on" | "off" (or a policy name) to a Keras dtype policy name.

    "auto": mixed_bfloat16 on GPUs of compute capability >= 8.0, mixed_float16 below (T4-class),
    float32 without a GPU. "on" is "auto" but bf16 also on CPU. "off": float32.
    """
    if mode in ("float32", "mixed_bfloat16", "mixed_float16"):
        return mode
    if mode not in MODES:
        raise ValueError(f"mixed_precision={mode!r}; expected one of {MODES} or a Keras policy name")
    if mode == "off":
        return "float32"
    cc = gpu_compute_capability()
    if cc is None:
        return "mixed_bfloat16" if mode == "on" else "float32"
    return "mixed_bfloat16" if cc >= (8, 0) else "mixed_float16"


def resolve_jit(mode="auto") -> bool:
    """``jit_compile`` for ``Model.compile``: see the module docstring for the defaults."""
    if isinstance(mode, bool):
        return mode
    if mode not in MODES:
        raise ValueError(f"jit={mode!r}; expected one of {MODES}")
    if mode != "auto":
        return mode == "on"
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend == "tensorflow":
        return gpu_compute_capability() is not None
    return False


@contextlib.contextmanager
def dtype_policy(policy: str):
    """Build layers under ``policy``; the previous global policy is restored on exit."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def distribution(mode: str = "auto"):
    """Context in which to build, compile and fit a model data-parallel; yields the replica count.

    mode: "auto" uses every GPU when there are two or more, else one device; "all" uses every
    device of the default platform (also CPU devices: this is how the tests run two logical
    CPUs); "off" uses one device.
    """
    if mode not in ("auto", "all", "off"):
        raise ValueError(f"distribute={mode!r}; expected auto, all or off")
    if mode == "off":
        yield 1
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU")
        cross_device_ops = None
        if mode == "all" and len(devices) < 2:
            devices = tf.config.list_logical_devices("CPU")
            cross_device_ops = tf.distribute.ReductionToOneDevice()  # NCCL needs GPUs
        if len(devices) < 2:
            yield 1
            return
        strategy = tf.distribute.MirroredStrategy(
            devices=[d.name for d in devices], cross_device_ops=cross_device_ops
        )
        with strategy.scope():
            yield strategy.num_replicas_in_sync
        return
    if backend == "jax":
        devices = keras.distribution.list_devices("gpu") if _jax_has_gpu() else []
        if mode == "all" and len(devices) < 2:
            devices = keras.distribution.list_devices()
        if len(devices) < 2:
            yield 1
            return
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield len(devices)
        finally:
            keras.distribution.set_distribution(previous)
        return
    if mode == "all":
        raise ValueError(f"distribute='all' is not supported on the {backend!r} backend")
    yield 1


def _jax_has_gpu() -> bool:
    import jax

    return any(d.platform == "gpu" for d in jax.devices())
