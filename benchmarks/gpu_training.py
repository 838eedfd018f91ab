"""Training throughput on one accelerator: ResNet-50 at 224 and ResNet-20 at 32, bf16, JAX.

Keras 3 on the JAX backend with no TensorFlow at all (many GPU machines carry only JAX or
PyTorch CUDA stacks): by default the script *blocks* ``import tensorflow``, so it proves on any
machine that nothing on its path needs TF. Data are synthetic and stay on the device, so the
number measured is the model's training step (forward, backward, SGD-momentum update), not an
input pipeline. The step is Keras' stateless API under ``jax.jit`` (``model.stateless_call`` and
``optimizer.stateless_apply``, the pattern of the Keras guide "Writing a training loop from
scratch in JAX"), on a single device.

Model-FLOPs utilisation (MFU) = images/s x 3 x 2 x multiply-adds per image / peak FLOP/s:
forward = 2 FLOPs per multiply-add (``resnet_lib.complexity.multiply_adds``, the paper's
"FLOPs"), backward ~2x forward. Peak: dense bf16 of the card (H100/H200 989 TFLOP/s, A100 312;
NVIDIA's datasheets, ``resnet_lib.reference.GPU_PEAK_TFLOPS``) or ``--peak-tflops``.

    KERAS_BACKEND=jax python benchmarks/gpu_training.py            # both models, full size
    KERAS_BACKEND=jax python benchmarks/gpu_training.py --smoke    # tiny sizes, runs on CPU

Goals on one H100: >= 5,000 img/s ResNet-50 (about 70% of MLPerf's per-GPU rate),
>= 40,000 img/s ResNet-20.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import os
import sys
import time

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "GH200": 989e12, "A100": 312e12, "L4": 121e12,
             "A10G": 70e12, "T4": 65e12, "V100": 125e12}  # dense, no sparsity; T4/V100: fp16

# name, image side, batch, steps (full size) -- and the --smoke sizes
CASES = {"resnet50": (224, 256, 50), "resnet20": (32, 2048, 100)}
SMOKE = {"resnet50": (32, 4, 2), "resnet20": (32, 32, 3)}


class _BlockTensorFlow(importlib.abc.MetaPathFinder):
    """Make ``import tensorflow`` fail as it does where TF is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by gpu_training.py)")
        return None


def card_peak(device_kind: str, override_tflops: float | None):
    if override_tflops:
        return override_tflops * 1e12
    for key in sorted(PEAK_BF16, key=len, reverse=True):
        if key in device_kind:
            return PEAK_BF16[key]
    return None


def benchmark(name, *, image_size, batch_size, steps, warmup, num_classes, policy, augment=False):
    import jax
    import keras
    import numpy as np

    from resnet_lib.complexity import multiply_adds
    from resnet_lib.models import build_model

    keras.config.set_dtype_policy(policy)
    model = build_model(name, num_classes=num_classes, input_shape=(image_size, image_size, 3),
                        classifier_activation=None)
    macs = multiply_adds(model)
    if augment:  # the seed's augmentation inside the model, on the accelerator
        from resnet_lib.data.affine_layer import AffineAugmentation

        inputs = keras.Input((image_size, image_size, 3))
        model = keras.Model(inputs, model(AffineAugmentation(seed=0)(inputs)))
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def compute_loss(trainable, non_trainable, x, y):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, logits), non_trainable

    grad_fn = jax.value_and_grad(compute_loss, has_aux=True)

    def train_step(state, x, y):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), loss

    train_step = jax.jit(train_step, donate_argnums=0)
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    rng = np.random.default_rng(0)
    x = jax.device_put(rng.normal(size=(batch_size, image_size, image_size, 3)).astype("float32"))
    y = jax.device_put(rng.integers(0, num_classes, size=(batch_size,)).astype("int32"))

    compile_start = time.perf_counter()
    for _ in range(warmup):
        state, loss = train_step(state, x, y)
    jax.block_until_ready(loss)
    compile_seconds = time.perf_counter() - compile_start
    start = time.perf_counter()
    for _ in range(steps):
        state, loss = train_step(state, x, y)
    jax.block_until_ready(loss)
    seconds = time.perf_counter() - start
    keras.config.set_dtype_policy("float32")
    return {
        "model": name, "augment": augment, "image_size": image_size, "batch_size": batch_size, "steps": steps,
        "policy": policy, "multiply_adds": int(macs), "images_per_second": batch_size * steps / seconds,
        "step_ms": 1000 * seconds / steps, "warmup_seconds": compile_seconds, "final_loss": float(loss),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--smoke", action="store_true", help="tiny sizes and steps (CPU check)")
    p.add_argument("--batch-size", type=int, help="override the batch of every model")
    p.add_argument("--steps", type=int, help="timed steps (after --warmup)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps, compilation included")
    p.add_argument("--precision", default="mixed_bfloat16", choices=("mixed_bfloat16", "mixed_float16", "float32"))
    p.add_argument("--peak-tflops", type=float, help="the card's peak for --precision, TFLOP/s")
    p.add_argument("--allow-tensorflow", action="store_true", help="do not block `import tensorflow`")
    p.add_argument("--augment", choices=("off", "on", "both"), default="off",
                   help="prepend AffineAugmentation (the seed's augmentation) to the model")
    p.add_argument("--augment-models", nargs="+", default=["resnet50"], choices=list(CASES),
                   help="with --augment both: the models also run with augmentation")
    p.add_argument("--json", help="append this run (a dict with its results) to the JSON list in this file; "
                   "benchmarks/gpu_training.json is the one the book reads")
    args = p.parse_args(argv)

    if not args.allow_tensorflow:
        sys.meta_path.insert(0, _BlockTensorFlow())
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import keras

    if keras.backend.backend() != "jax":
        p.error(f"KERAS_BACKEND={keras.backend.backend()!r}; this benchmark runs on jax")
    device = jax.devices()[0]
    peak = card_peak(device.device_kind, args.peak_tflops)
    print(f"device: {device.platform} {device.device_kind} (x{jax.device_count()}); keras {keras.__version__}, "
          f"jax {jax.__version__}; peak {'unknown' if peak is None else f'{peak / 1e12:.0f} TFLOP/s'}", flush=True)
    results = []
    runs = [(name, args.augment == "on") for name in args.models]
    if args.augment == "both":
        runs += [(name, True) for name in args.models if name in args.augment_models]
    for name, augment in runs:
        image_size, batch_size, steps = (SMOKE if args.smoke else CASES)[name]
        row = benchmark(name, image_size=image_size, batch_size=args.batch_size or batch_size,
                        steps=args.steps or steps, warmup=args.warmup,
                        num_classes=1000 if name == "resnet50" else 10, policy=args.precision,
                        augment=augment)
        flops = 3 * 2 * row["multiply_adds"] * row["images_per_second"]
        row["model_tflops"] = flops / 1e12
        row["mfu"] = None if peak is None else flops / peak
        row["device"] = f"{device.platform} {device.device_kind}"
        results.append(row)
        mfu = "n/a (pass --peak-tflops)" if row["mfu"] is None else f"{100 * row['mfu']:.1f}%"
        print(f"{name}{' +AffineAugmentation' if augment else ''} {image_size}px batch {row['batch_size']}: {row['images_per_second']:,.0f} img/s, "
              f"{row['step_ms']:.1f} ms/step, {row['model_tflops']:.1f} model TFLOP/s, MFU {mfu} "
              f"(warm-up {row['warmup_seconds']:.1f} s, loss {row['final_loss']:.3f})", flush=True)
    tf_loaded = "tensorflow" in sys.modules
    print(f"tensorflow imported: {tf_loaded}")
    if args.json:
        import datetime

        run = {"date": datetime.date.today().isoformat(), "device": f"{device.platform} {device.device_kind}",
               "keras": keras.__version__, "jax": jax.__version__, "command": " ".join(sys.argv),
               "results": results, "tensorflow_imported": tf_loaded, "smoke": args.smoke}
        runs = json.load(open(args.json)) if os.path.exists(args.json) else []
        with open(args.json, "w") as f:
            json.dump(runs + [run], f, indent=2)
    return results


if __name__ == "__main__":
    main()
