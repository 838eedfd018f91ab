"""Counting and timing for the chapters: weights as published counts mean them, fair step times."""

from __future__ import annotations

import math

__all__ = ["compare_step_times", "trainable_parameters"]


def trainable_parameters(model) -> int:
    """Trainable weights only: what published counts (and torchvision) mean by "parameters".

    ``model.count_params()`` also counts batch normalization's moving mean and variance.
    """
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def compare_step_times(models: dict, *, batch_size: int, rounds: int = 5, warmup: int = 2,
                       seed: int = 0) -> dict:
    """Median seconds per training step of each model, measured in alternating rounds.

    The method of ``benchmarks/model_step_time.py``: every model gets the same random batch,
    SGD and loss; one step of each per round (A, B, C, A, B, C, ...), so that load on a shared
    machine hits all alike; ``warmup`` rounds (tracing, compilation) are not timed.
    Models must share an input shape and have a softmax head.
    """
    import statistics
    import time

    import keras
    import numpy as np

    if not models or rounds < 1:
        raise ValueError(f"compare_step_times needs models and rounds >= 1; got {len(models)} models, rounds={rounds}")
    shapes = {name: tuple(m.input_shape[1:]) for name, m in models.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"models have different input shapes: {shapes}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch_size, *next(iter(shapes.values())))).astype("float32")
    classes = {m.output_shape[-1] for m in models.values()}
    y = rng.integers(0, min(classes), batch_size)
    for model in models.values():
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
    times = {name: [] for name in models}
    for round_ in range(warmup + rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


# The small-image runs that chapters 2 (Degradation), 3 (Residual learning), 4 (Shortcuts) and
# 8 (Beyond the paper) share: the same names and options give the same run directories, so a
# net trained by one chapter is re-opened, not retrained, by the next. The paper's CIFAR-10
# recipe ("paper-cifar", Section 4.2) throughout; epochs shrink it to the profile's budget.
