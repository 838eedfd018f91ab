"""Timing for the chapters: training steps of several models, timed fairly on a shared machine."""

from __future__ import annotations

__all__ = ["compare_step_times"]


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

