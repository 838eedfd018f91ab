"""Input-pipeline throughput: make_dataset against the seed's ImageDataGenerator and others.

Issue 3's benchmark. All pipelines read the same generated 500x375 JPEGs (make_synthetic_voc),
produce 224x224 batches of 32, run two epochs, and are timed from construction (set-up
counted) to the last batch. Prints images/s and ratios; results go in input_pipeline.md, and
machine-readable in input_pipeline.json (``--json``: this run is appended to the list there),
which the book reads (``resnet_lib.benchmarks``).

    python benchmarks/input_pipeline.py [--images 3000] [--epochs 2] [--workdir DIR] \
        [--json benchmarks/input_pipeline.json]

Pipelines:
- seed: keras' legacy ImageDataGenerator(rescale=1/255, shear 0.1, zoom 0.1, shift 0.1,
  horizontal flip).flow_from_directory, the seed blog's pipeline, one class folder
  per image (hard links to the same JPEGs);
- bare decode: tf.data read + decode_jpeg + batch, parallel and prefetched (the ceiling);
- image_dataset_from_directory: keras.utils, decode + resize, no augmentation;
- make_dataset augment=True / augment=False: resnet_lib.data.voc, each without and with
  ``cache=True`` (decoded images kept in memory; the first pass decodes, counted).
For make_dataset, two more epochs of the same dataset are timed after the counted ones and
reported apart (the steady state of a long training run).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SIZE, BATCH = (224, 224), 32


def prepare(workdir: Path, num_images: int) -> tuple[Path, Path]:
    from resnet_lib.data.voc.synthetic import make_synthetic_voc
    from resnet_lib.data.voc import VOC_CLASSES, read_split, single_labels

    voc = make_synthetic_voc(workdir, num_images=num_images, seed=0, image_size=(500, 375),
                             vary_aspect=False, val_fraction=0.0001)
    folders = workdir / "by_class"  # the seed's layout, hard links to the same files
    if not folders.exists():
        records = read_split(voc, "trainval")
        for record, label in zip(records, single_labels(records)):
            target = folders / VOC_CLASSES[label] / record.image_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(record.image_path, target)
    return voc, folders


def consume(iterable, steps=None) -> int:
    n = 0
    for step, batch in enumerate(iterable):
        if steps is not None and step >= steps:
            break
        n += int(batch[0].shape[0])
    return n


def seed_pipeline(voc, folders, epochs):
    try:  # Keras 3 keeps the legacy class under the tf.keras namespace
        from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator
    except ImportError:  # Keras 2 / tf.keras
        from tensorflow.keras.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(rescale=1 / 255, shear_range=0.1, zoom_range=0.1,
                             width_shift_range=0.1, height_shift_range=0.1,
                             horizontal_flip=True).flow_from_directory(
        folders, target_size=SIZE, batch_size=BATCH, class_mode="categorical")
    return sum(consume(gen, len(gen)) for _ in range(epochs))


def bare_decode(voc, folders, epochs):
    import tensorflow as tf

    files = sorted(str(p) for p in (voc / "JPEGImages").glob("*.jpg"))
    ds = (tf.data.Dataset.from_tensor_slices(files)
          .map(lambda f: (tf.io.decode_jpeg(tf.io.read_file(f), channels=3),),
               num_parallel_calls=tf.data.AUTOTUNE)
          .batch(BATCH).prefetch(tf.data.AUTOTUNE))
    return sum(consume(ds) for _ in range(epochs))


def keras_from_directory(voc, folders, epochs):
    import keras

    ds = keras.utils.image_dataset_from_directory(folders, image_size=SIZE, batch_size=BATCH,
                                                  verbose=False)
    return sum(consume(ds) for _ in range(epochs))


STEADY = {}  # pipeline name -> img/s of the epochs after the timed ones (same dataset)
SPLIT = {}  # pipeline name -> seconds of set-up, epoch 1, epoch 2, ...


def make_dataset_pipeline(augment, cache=False, name=None):
    def run(voc, folders, epochs):
        from resnet_lib.data.voc import make_dataset

        start = time.perf_counter()
        ds = make_dataset(voc, "trainval", image_size=SIZE, batch_size=BATCH, augment=augment,
                          seed=0, cache=cache)
        times = [time.perf_counter() - start]
        n = 0
        for _ in range(epochs):
            start = time.perf_counter()
            n += consume(ds)
            times.append(time.perf_counter() - start)
        SPLIT[name] = times
        start = time.perf_counter()  # not counted: two more epochs, for the steady state
        STEADY[name] = sum(consume(ds) for _ in range(2)) / (time.perf_counter() - start)
        return n
    return run


def _ours(augment, cache=False):
    name = f"make_dataset augment={augment}" + (", cache=True" if cache else "")
    return name, make_dataset_pipeline(augment, cache, name)


PIPELINES = dict([
    ("seed ImageDataGenerator (augmented)", seed_pipeline),
    ("bare JPEG decode (tf.data)", bare_decode),
    ("keras image_dataset_from_directory", keras_from_directory),
    _ours(True), _ours(False), _ours(True, cache=True), _ours(False, cache=True),
])


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except Exception:
        return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # VOC2012's trainval has 11,540 images; 3,000 keep the run to a few minutes while the
    # fixed set-up costs (checks, tracing) weigh about as little as they do on the real data.
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, help="append this run's figures to the JSON list in this file")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.gettempdir()) / "resnet_input_pipeline_bench"
    voc, folders = prepare(workdir, args.images)
    import tensorflow as tf

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}; "
          f"{args.images} JPEGs 500x375 -> {SIZE[0]}x{SIZE[1]}, batch {BATCH}, "
          f"{args.epochs} epochs, set-up counted")
    results = {}
    for name, pipeline in PIPELINES.items():
        start = time.perf_counter()
        n = pipeline(voc, folders, args.epochs)
        # make_dataset's rows time their own set-up and epochs, leaving out the steady state
        seconds = sum(SPLIT[name]) if name in SPLIT else time.perf_counter() - start
        results[name] = n / seconds
        print(f"{name:40s} {n:6d} images {seconds:7.2f} s {results[name]:8.0f} img/s", flush=True)
    seed, bare = results[next(iter(PIPELINES))], results["bare JPEG decode (tf.data)"]
    for name, rate in results.items():
        if name.startswith("make_dataset"):
            print(f"{name:40s} vs seed {rate / seed:5.1f}x (goal >= 8x), vs bare decode "
                  f"{rate / bare:4.0%} (goal >= 75%); epochs {args.epochs + 1}-{args.epochs + 2} "
                  f"of the same dataset: {STEADY[name]:6.0f} img/s")
            print(f"{'':40s} seconds: set-up " + ", ".join(
                f"{t:.2f}" if i == 0 else f"epoch {i} {t:.2f}" for i, t in enumerate(SPLIT[name])))
    if args.json:
        run = {"date": datetime.date.today().isoformat(), "machine": f"{cpu_name()}, {os.cpu_count()} cores",
               "tensorflow": tf.__version__, "images": args.images, "epochs": args.epochs,
               "image_size": list(SIZE), "batch_size": BATCH,
               "images_per_second": {name: round(rate) for name, rate in results.items()},
               "steady_images_per_second": {name: round(rate) for name, rate in STEADY.items()}}
        runs = json.loads(args.json.read_text()) if args.json.exists() else []
        args.json.write_text(json.dumps(runs + [run], indent=2) + "\n")


if __name__ == "__main__":
    main()
