"""Benchmark figures the chapters quote, read from the machine-readable results in ``benchmarks/``.

Each benchmark script writes (appends a run to) a JSON list beside its report:
``benchmarks/input_pipeline.json`` (images/s of the input pipelines on a 2-core CPU) and
``benchmarks/gpu_training.json`` (training images/s on one GPU), ``benchmarks/book_build.json``
(each chapter's execution time in ``make book``, read from the build's log). A chapter quotes a range
over the recorded runs (``rate_range``), so no measured figure is typed in the prose. The
folder is part of the repository, not of the installed package: ``benchmark_runs`` raises
``FileNotFoundError`` naming the file where it is missing (e.g. a ``pip install`` from git).
"""

from __future__ import annotations

import json
import os
import pathlib

__all__ = ["BENCHMARKS_ENV", "benchmark_runs", "benchmarks_dir", "book_build_times", "gpu_training_rates",
           "gpu_training_table", "pipeline_rates", "rate_range"]

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
