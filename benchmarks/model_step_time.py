"""Training-step time of imagenet_resnet(50, use_bias=True) against keras.applications.ResNet50.

Both models get the same batch, optimizer and loss in one process; their steps alternate
(A B, B A, A B, ...) so that machine load and running order hit both alike. The figure of merit is the median of
the per-round ratio ours / keras.applications: 1.0 means the same arithmetic and no overhead
of ours (the goal is <= 1.0 within noise).

    python benchmarks/model_step_time.py --image-size 224 --batch-size 16 --rounds 10

Runs on any Keras 3 backend (KERAS_BACKEND=tensorflow|jax|torch).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from resnet_lib.benchmarks import step_times  # noqa: E402
from resnet_lib.models import imagenet_resnet  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (one step of each model)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds (compilation)")
    args = parser.parse_args(argv)

    shape = (args.image_size, args.image_size, 3)
    models = {
        "keras.applications.ResNet50": keras.applications.ResNet50(weights=None, input_shape=shape),
        "imagenet_resnet(50, use_bias=True)": imagenet_resnet(50, use_bias=True, input_shape=shape),
    }
    counts = {name: m.count_params() for name, m in models.items()}
    assert len(set(counts.values())) == 1, counts

    # the rounds of resnet_lib.benchmarks.step_times: A B, then B A, so that neither model
    # always runs second (warm caches, allocator state)
    times = step_times(models, batch_size=args.batch_size, rounds=args.rounds, warmup=args.warmup)
    reference, ours = (times[name] for name in models)
    ratios = [o / r for o, r in zip(ours, reference)]
    device = ""
    if keras.backend.backend() == "jax":
        import jax

        device = f" device={jax.devices()[0].device_kind}"
    print(f"backend={keras.backend.backend()} machine={platform.processor() or platform.machine()} "
          f"cores={os.cpu_count()}{device}")
    print(f"batch={args.batch_size} image={args.image_size} rounds={args.rounds} params={counts[next(iter(counts))]:,}")
    for name in models:
        median = statistics.median(times[name])
        print(f"{name:38s} median step {median * 1e3:8.1f} ms  ({args.batch_size / median:7.1f} img/s)")
    print(f"median ratio ours / keras.applications = {statistics.median(ratios):.3f}")
    return statistics.median(ratios)


if __name__ == "__main__":
    main()
