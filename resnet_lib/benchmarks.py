"""Benchmark figures the chapters quote, read from the machine-readable results in ``benchmarks/``.

Each benchmark script writes (appends a run to) a JSON list beside its report:
``benchmarks/input_pipeline.json`` (images/s of the input pipelines on a 2-core CPU) and
``benchmarks/gpu_training.json`` (training images/s on one GPU), ``benchmarks/book_build.json``
(each chapter's execution time in ``make book``, read from the build's log). A chapter quotes a range
over the recorded runs (``rate_range``), so no measured figure is typed in the prose. The
folder is part of the repository, not of the installed package: ``benchmark_runs`` raises
``FileNotFoundError`` naming the file where it is missing (e.g. a ``pip install`` from git).

The timing method the benchmarks share lives here too, so that a chapter can time the
reader's own machine the same way (chapter 5, in Colab too): ``step_times`` trains each
model one step at a time in alternating rounds, ``compare_step_times`` takes their medians
(``benchmarks/model_step_time.py`` uses the same rounds for its ratio).
"""

from __future__ import annotations

import json
import os
import pathlib

__all__ = ["BENCHMARKS_ENV", "benchmark_runs", "benchmarks_dir", "book_build_times", "compare_step_times",
           "gpu_training_rates", "gpu_training_table", "pipeline_rates", "rate_range", "step_times"]

BENCHMARKS_ENV = "RESNET_BENCHMARKS"  # another folder of results; default: the repository's benchmarks/


def benchmarks_dir() -> pathlib.Path:
    """``$RESNET_BENCHMARKS``, or ``benchmarks/`` of the repository this library runs from."""
    return pathlib.Path(os.environ.get(BENCHMARKS_ENV) or pathlib.Path(__file__).resolve().parents[1] / "benchmarks")


def benchmark_runs(name: str, *, directory=None) -> list[dict]:
    """The recorded runs of ``benchmarks/<name>.py``: the list in ``<name>.json``, oldest first."""
    path = pathlib.Path(directory or benchmarks_dir()) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no recorded results of benchmark {name!r} "
                                f"(run benchmarks/{name}.py with --json {path})")
    runs = json.loads(path.read_text())
    if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
        raise ValueError(f"{path}: expected a JSON list of runs (objects), got {type(runs).__name__}")
    return runs


def pipeline_rates(pipeline: str, *, steady: bool = False, directory=None) -> list[float]:
    """Images/s of one input pipeline over the runs of ``input_pipeline.json``.

    ``steady=True`` gives the epochs after the counted ones (a long run's later epochs).
    Raises ``KeyError`` naming the pipelines recorded when ``pipeline`` is not one of them.
    """
    key = "steady_images_per_second" if steady else "images_per_second"
    runs = benchmark_runs("input_pipeline", directory=directory)
    rates = [run[key][pipeline] for run in runs if pipeline in run.get(key, {})]
    if not rates:
        known = sorted({name for run in runs for name in run.get(key, {})})
        raise KeyError(f"pipeline={pipeline!r} has no {key} in input_pipeline.json; recorded: {known}")
    return rates


def gpu_training_rates(model: str, *, augment: bool = False, policy: str = "mixed_bfloat16",
                       directory=None) -> list[float]:
    """Training images/s of ``model`` on one GPU over the non-smoke runs of ``gpu_training.json``."""
    rates = [row["images_per_second"] for run in benchmark_runs("gpu_training", directory=directory)
             if not run.get("smoke") for row in run["results"]
             if row["model"] == model and bool(row.get("augment")) == augment and row.get("policy") == policy]
    if not rates:
        raise KeyError(f"gpu_training.json holds no run of model={model!r}, augment={augment}, policy={policy!r}")
    return rates


def rate_range(rates, *, round_to: int = 100) -> str:
    """``"2,100-2,300"``: the lowest and highest of ``rates``, rounded to ``round_to``; one value if equal."""
    low, high = (round(r / round_to) * round_to for r in (min(rates), max(rates)))
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def book_build_times(*, directory=None) -> dict:
    """The newest recorded ``make book`` (``book_build.json``, written by ``benchmarks/book_build.py``).

    A dict with ``date``, ``machine``, ``commit``, ``profile``, ``wall_s`` and ``chapter_s``
    (notebook name -> seconds executing, in build order).
    """
    runs = benchmark_runs("book_build", directory=directory)
    if not runs:
        raise ValueError(f"{pathlib.Path(directory or benchmarks_dir()) / 'book_build.json'}: no run recorded")
    return runs[-1]


def gpu_training_table(*, directory=None) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The measured GPU training throughput, one table per card: ``{card: (headers, rows)}``,
    a row per model, input, batch and precision, with the range of images/s over the recorded
    non-smoke runs and how many runs. Nothing is scaled or estimated: a card that was not
    measured has no table."""
    groups: dict[str, dict[tuple, list[float]]] = {}
    for run in benchmark_runs("gpu_training", directory=directory):
        if run.get("smoke"):
            continue
        card = run.get("device", "?").removeprefix("gpu ")
        for row in run["results"]:
            key = (row["model"], row["image_size"], bool(row.get("augment")), row["batch_size"],
                   row.get("policy", "float32"))
            groups.setdefault(card, {}).setdefault(key, []).append(row["images_per_second"])
    headers = ["model, input", "batch", "precision", "training images/s", "runs"]
    return {card: (headers, [[f"{model}, {size}x{size}" + (", augmented" if augment else ""), str(batch),
                              policy, rate_range(rates, round_to=100 if max(rates) < 100_000 else 1000),
                              str(len(rates))]
                             for (model, size, augment, batch, policy), rates in rows.items()])
            for card, rows in groups.items()}


def step_times(models: dict, *, batch_size: int, rounds: int = 5, warmup: int = 2, seed: int = 0) -> dict:
    """Seconds of each timed training step of each model: ``{name: [seconds per round]}``.

    Every model is compiled with the same SGD and loss and gets the same random batch; each
    round runs one step of each, the order reversed every other round (A B C, C B A, ...), so
    that load on a shared machine, and running first or last, hit all alike. ``warmup`` rounds
    (tracing, compilation) are not timed. Models must share an input shape and have a softmax
    head.
    """
    import time

    import keras
    import numpy as np

    if not models or rounds < 1:
        raise ValueError(f"step_times needs models and rounds >= 1; got {len(models)} models, rounds={rounds}")
    shapes = {name: tuple(m.input_shape[1:]) for name, m in models.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"models have different input shapes: {shapes}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch_size, *next(iter(shapes.values())))).astype("float32")
    y = rng.integers(0, min(m.output_shape[-1] for m in models.values()), batch_size)
    for model in models.values():
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
    times = {name: [] for name in models}
    order = list(models.items())
    for round_ in range(warmup + rounds):
        for name, model in (order if round_ % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def compare_step_times(models: dict, *, batch_size: int, rounds: int = 5, warmup: int = 2,
                       seed: int = 0) -> dict:
    """Median seconds per training step of each model, measured by ``step_times``."""
    import statistics

    times = step_times(models, batch_size=batch_size, rounds=rounds, warmup=warmup, seed=seed)
    return {name: statistics.median(t) for name, t in times.items()}
