"""Per-epoch time of ResNet-20 on digits: the old tf.data pipeline against the NumPy one.

Training on small images used to go through ``tf.data`` (``make_image_dataset`` up to
commit 1338767); it now goes through ``resnet_lib.data.image_batches.ImageBatches``, a
NumPy ``keras.utils.PyDataset``, so that it needs no TensorFlow. This script times one
training epoch of the same compiled ResNet-20 fed by each, in one process, alternating the
order every round, and reports the median epoch time and the ratio new / old.

- ``tf.data (before)``: the removed pipeline, kept below as the reference (shuffle, batch,
  mean subtraction, pad-crop-flip by an integer projective transform); needs TensorFlow;
- ``ImageBatches (after)``: ``make_image_dataset`` today, mean subtraction and
  pad-crop-flip on the host in NumPy, handed to Keras as a PyDataset (what ``fit`` does on
  JAX);
- ``ImageBatches via tf.data (after)``, TensorFlow backend only: the same batches through
  ``ImageBatches.as_tf_dataset`` (what ``fit`` does on TensorFlow);
- ``in-model (after)``: raw batches (through tf.data on TensorFlow, as ``fit`` feeds them),
  mean subtraction and pad-crop-flip as layers in the model (``fit(augment="model")``).

    KERAS_BACKEND=tensorflow python benchmarks/small_image_epoch.py --rounds 5
    KERAS_BACKEND=jax python benchmarks/small_image_epoch.py --rounds 5 --json benchmarks/small_image_epoch.json

Augmentation is on in every variant (the CIFAR-10 recipe's), so that all three do the same
work; digits at 16x16, batch 32, the cpu profile's settings: 40 steps per epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def tf_data_reference(x, y, *, pixel_mean, batch_size, seed, pad=4):
    """The tf.data pipeline that ``make_image_dataset`` was before it moved to NumPy."""
    import tensorflow as tf

    scale = 1 / 255 if x.dtype == np.uint8 else 1.0
    height, width = x.shape[1:3]
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, np.int32)))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def prepare(batch, seed_pair):
        images, labels = batch
        images = tf.cast(images, tf.float32) * scale - pixel_mean
        n = tf.shape(images)[0]
        shifts = tf.random.stateless_uniform([n, 2], seed=seed_pair, minval=-pad,
                                             maxval=pad + 1, dtype=tf.int32)
        flips = tf.random.stateless_uniform([n], seed=seed_pair + 1, maxval=2, dtype=tf.int32)
        sign = tf.cast(1 - 2 * flips, tf.float32)
        dx, dy = tf.cast(shifts[:, 0], tf.float32), tf.cast(shifts[:, 1], tf.float32)
        zeros = tf.zeros_like(sign)
        transforms = tf.stack([sign, zeros, dx + tf.cast(flips, tf.float32) * (width - 1),
                               zeros, zeros + 1, dy, zeros, zeros], axis=1)
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=tf.constant([height, width], tf.int32),
            fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")
        return images, labels

    ds = tf.data.Dataset.zip(ds, seeds).map(tf.autograph.experimental.do_not_convert(prepare),
                                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--json", help="append this run's result to a JSON list here")
    args = p.parse_args(argv)

    import importlib.util

    import keras

    from resnet_lib.data.small_images import load_digits, make_image_dataset
    from resnet_lib.data.image_batches import ImageBatches
    from resnet_lib.models import cifar_resnet
    from resnet_lib.train.network import with_augmentation as _with_augmentation

    splits = load_digits(image_size=args.image_size)
    x, y = splits.x_train, splits.y_train

    def compiled(in_model):
        keras.utils.set_random_seed(0)
        net = cifar_resnet(args.depth, input_shape=splits.input_shape, num_classes=10,
                           classifier_activation=None)
        if in_model:
            net = _with_augmentation(net, seed=0, in_model={
                "pixel_mean": splits.pixel_mean, "scale": 1.0, "augment": True, "pad": 4})
        net.compile(optimizer=keras.optimizers.SGD(0.025, momentum=0.9),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"], jit_compile=keras.backend.backend() == "jax")
        return net

    variants = {}
    if importlib.util.find_spec("tensorflow"):
        variants["tf.data (before)"] = (False, lambda e: tf_data_reference(
            x, y, pixel_mean=splits.pixel_mean, batch_size=args.batch_size, seed=e))
    variants["ImageBatches (after)"] = (False, lambda e: make_image_dataset(
        x, y, pixel_mean=splits.pixel_mean, batch_size=args.batch_size, augment=True,
        shuffle=True, seed=e))
    if keras.backend.backend() == "tensorflow":  # what fit feeds on this backend
        variants["ImageBatches via tf.data (after)"] = (False, lambda e: make_image_dataset(
            x, y, pixel_mean=splits.pixel_mean, batch_size=args.batch_size, augment=True,
            shuffle=True, seed=e).as_tf_dataset())
    from resnet_lib.train.evaluation import feed as _feed  # tf.data transport on TensorFlow, as fit does

    variants["in-model (after)"] = (True, lambda e: _feed(ImageBatches(
        x, y, batch_size=args.batch_size, shuffle=True, seed=e, preprocess=False,
        on_device=True)))

    models = {name: compiled(in_model) for name, (in_model, _) in variants.items()}
    for name, (_, make) in variants.items():  # compile and warm up
        models[name].fit(make(0), epochs=1, verbose=0)
    times = {name: [] for name in variants}
    names = list(variants)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            started = time.perf_counter()
            models[name].fit(variants[name][1](r + 1), epochs=1, verbose=0)
            times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(t) for name, t in times.items()}
    reference = median.get("tf.data (before)")
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "model": f"resnet{args.depth}", "data": f"digits {args.image_size}x{args.image_size}, "
        f"{len(x)} training images", "batch_size": args.batch_size,
        "steps_per_epoch": int(np.ceil(len(x) / args.batch_size)), "rounds": args.rounds,
        "median_epoch_s": {k: round(v, 3) for k, v in median.items()},
        "epoch_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "ratio_vs_tf_data": ({k: round(v / reference, 3) for k, v in median.items()}
                             if reference else None),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        runs = json.load(open(args.json)) if os.path.exists(args.json) else []
        runs.append(result)
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=2)
            f.write("\n")
    return result


if __name__ == "__main__":
    main()
