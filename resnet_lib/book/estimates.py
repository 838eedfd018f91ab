"""How long each chapter's gpu profile trains on a Colab GPU: an estimate, never a measurement.

The gpu profile trains at paper scale (182 epochs of CIFAR-10 per net, 90 of VOC2012 for
ResNet-50), so a reader should know the cost before pressing "run all". Nobody here has timed
the chapters on Colab; what is measured is training throughput on one H100
(``benchmarks/gpu_training.json``). This module scales that measurement to the Colab cards:

1. ``measured_mfu(family)``: the model-FLOPs utilisation of the measured run, images/s x 3 x 2 x
   multiply-adds per image / the H100's dense peak (the definition of ``gpu_training.md``),
   from ResNet-20 at 32x32 for CIFAR-style nets and ResNet-50 at 224x224 for ImageNet-style
   ones. Computed when called, from the JSON and the nets' multiply-adds (those of
   ``resnet_lib.complexity.multiply_adds``, in closed form so that no net is built).
2. ``training_seconds(...)``: a run's arithmetic (3 x 2 multiply-adds per training image, 2 per
   evaluated one) over that MFU times the card's peak (``CARDS``: T4, L4, A100).
3. ``chapter_gpu_runs(title)``: the runs a chapter trains in the gpu profile, from
   ``SMALL_IMAGE_RUNS["gpu"]`` and the chapters' gpu settings. Chapters run in order and a
   run re-opened from an earlier chapter (``fit_cached``) is free, so a run counts only in the
   chapter that first trains it.
4. ``gpu_time_estimate(title)``, ``gpu_estimate_line(title)`` (what ``chapter_setup``
   prints) and ``gpu_estimate_table()`` (the introduction's table).

What the estimate leaves out, so read it as a lower bound to the order of magnitude: the
input pipeline (the measurement fed the GPU synthetic data), compilation, checkpoints, the
lesion study's evaluations, and small batches. The measurement ran at batch 2048 (ResNet-20)
and 256 (ResNet-50); the chapters train at 128 (CIFAR) and 64 or 32 (VOC), where the per-step
overhead weighs more. It also assumes the MFU carries over from card to card: nets this small
are limited by memory bandwidth as much as by arithmetic, and the L4 has about an eleventh of
the H100's bandwidth for an eighth of its peak, so it may fall further behind than its peak says.

``benchmarks/`` is part of the repository, not of the installed package: without
``gpu_training.json`` the estimates raise ``FileNotFoundError`` and ``gpu_estimate_line`` says
that no measurement is available.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

from resnet_lib.book.benchmarks import benchmark_runs
from resnet_lib.book.runs import SMALL_IMAGE_RUNS
from resnet_lib.reference import GPU_PEAK_TFLOPS, VOC2012_SPLITS

__all__ = ["CARDS", "CHAPTER_TITLES", "Card", "GPU_ESTIMATE_HEADERS", "GpuRun", "H100", "chapter_gpu_runs",
           "format_duration", "gpu_estimate_caption", "gpu_estimate_line", "gpu_estimate_table",
           "gpu_time_estimate", "measured_mfu", "training_seconds"]


@dataclasses.dataclass(frozen=True)
class Card:
    """A GPU: its dense tensor-core peak at the precision Keras picks on it (``policy``)."""

    name: str
    peak_tflops: float
    policy: str  # what resolve_mixed_precision("auto") picks: bf16 from compute capability 8.0
    compute_capability: tuple[int, int]
    source: str


_PEAKS = GPU_PEAK_TFLOPS.value
H100 = Card("H100", _PEAKS["H100 SXM, dense bf16"], "mixed_bfloat16", (9, 0),
            f"{GPU_PEAK_TFLOPS.source} (H100 SXM, dense bf16)")  # the card of gpu_training.json
CARDS = {  # the GPUs a Colab runtime offers
    "T4": Card("T4", _PEAKS["T4, dense fp16"], "mixed_float16", (7, 5),
               f"{GPU_PEAK_TFLOPS.source} (T4, dense fp16: no bf16 on this card)"),
    "L4": Card("L4", 121, "mixed_bfloat16", (8, 9),
               "NVIDIA L4 datasheet (121 TFLOP/s dense fp16/bf16; 242 with sparsity)"),
    "A100": Card("A100", _PEAKS["A100, dense bf16"], "mixed_bfloat16", (8, 0),
                 f"{GPU_PEAK_TFLOPS.source} (A100, dense bf16)"),
}
_MEASURING_CARDS = {"H100": H100, "H200": H100, **CARDS}  # device name in the JSON -> its card (H200: H100 compute)

# The nets of gpu_training.json, as benchmarks/gpu_training.py builds them: family -> (preset, classes).
MEASURED_NETS = {"cifar": ("resnet20", 10), "imagenet": ("resnet50", 1000)}

CHAPTER_TITLES = ("Introduction", "The dataset", "Degradation", "Residual learning", "Shortcuts",
                  "Bottlenecks", "Table 1", "Training", "Beyond the paper")  # as passed to chapter_setup, in order

# The gpu settings of the chapters that train more than SMALL_IMAGE_RUNS, as their chapter_setup
# cells set them (book/07_training.ipynb, book/08_beyond.ipynb; tests/test_estimates.py compares).
TRAINING_GPU = dict(voc="voc2012", model="resnet50", image_size=224, epochs=90, seed_epochs=60)
BEYOND_GPU = dict(lesion_depth=56, v2_depth=56, transfer_epochs=15)

GPU_ESTIMATE_HEADERS = ("chapter", *(f"Colab {name} (estimated)" for name in CARDS))


@dataclasses.dataclass(frozen=True)
class GpuRun:
    """One training run of the gpu profile: what its arithmetic depends on.

    ``eval_images``: the images evaluated after every epoch (validation and test, forward only).
    """

    name: str  # its run directory (``run_dir(name)``)
    model: str  # a preset of resnet_lib.models.build_model
    input_shape: tuple
    num_classes: int
    train_images: int
    eval_images: int
    epochs: int
    options: tuple = ()  # build_model options, as (name, value) pairs

    def seconds(self, card: Card | str, *, directory=None) -> float:
        """The estimated seconds of this run on ``card`` (see ``training_seconds``)."""
        return training_seconds(self.model, input_shape=self.input_shape, images=self.train_images,
                                epochs=self.epochs, card=card, num_classes=self.num_classes,
                                eval_images=self.eval_images, model_options=dict(self.options),
                                directory=directory)


# --- the arithmetic ---------------------------------------------------------------------------

def measured_mfu(family: str, *, directory=None) -> float:
    """The MFU of the H100 measurement of ``family`` ("cifar" or "imagenet"), mean over its runs.

    Images/s x 3 x 2 x multiply-adds per image / the measuring card's peak, for the
    non-smoke, unaugmented mixed_bfloat16 rows of ``gpu_training.json`` of ``MEASURED_NETS[family]``
    on a card of known peak. Raises ``FileNotFoundError`` without the file, ``KeyError`` when it
    holds no such row.
    """
    model, num_classes = MEASURED_NETS[family]
    rows = [(card, row) for run in benchmark_runs("gpu_training", directory=directory)
            if not run.get("smoke") and (card := _measuring_card(run.get("device", ""))) for row in run["results"]
            if row["model"] == model and not row.get("augment") and row.get("policy") == "mixed_bfloat16"]
    if not rows:
        raise KeyError(f"gpu_training.json holds no unaugmented mixed_bfloat16 run of {model!r} on a card "
                       f"of known peak ({', '.join(_MEASURING_CARDS)})")
    mfus = []
    for card, row in rows:
        macs = _multiply_adds(model, (row["image_size"], row["image_size"], 3), num_classes, ())
        mfus.append(row["images_per_second"] * 3 * 2 * macs / (card.peak_tflops * 1e12))
    return sum(mfus) / len(mfus)


def training_seconds(model_name: str, *, input_shape, images: int, epochs: int, card: Card | str,
                     num_classes: int = 10, eval_images: int = 0, model_options: dict | None = None,
                     directory=None) -> float:
    """Estimated seconds to train ``model_name`` for ``epochs`` epochs of ``images`` on ``card``.

    epochs x (3 x 2 x multiply-adds x images + 2 x multiply-adds x eval_images) / (MFU x peak),
    with the MFU measured on an H100 for the same family of net (``measured_mfu``) and the
    card's peak at its precision. Arithmetic only: see the module docstring for what it leaves out.
    """
    from resnet_lib.models.presets import parse_preset

    card = CARDS[card] if isinstance(card, str) else card
    family = parse_preset(model_name)[0]
    macs = _multiply_adds(model_name, tuple(input_shape), int(num_classes),
                          tuple(sorted((model_options or {}).items())))
    flops = epochs * macs * (3 * 2 * images + 2 * eval_images)
    return flops / (measured_mfu(family, directory=directory) * card.peak_tflops * 1e12)


@functools.cache
def _multiply_adds(model_name: str, input_shape: tuple, num_classes: int, options: tuple) -> int:
    """``resnet_lib.complexity.multiply_adds`` of the preset, without building it where possible.

    Building a net only to count it costs seconds (ResNet-50: 2 s with TensorFlow, more with
    JAX, which compiles an initializer per weight shape), too slow for ``chapter_setup``. The
    presets' arithmetic has a closed form (``_closed_form_multiply_adds``), equal to the count
    on the built model for every run this module estimates (tests/test_estimates.py compares);
    other options are counted on the built model.
    """
    counted = _closed_form_multiply_adds(model_name, input_shape, num_classes, dict(options))
    if counted is not None:
        return counted
    from resnet_lib.complexity import multiply_adds
    from resnet_lib.models import build_model

    return multiply_adds(build_model(model_name, num_classes=num_classes, input_shape=input_shape, **dict(options)))


# build options that change no convolution or classifier (preact reorders BN and ReLU only)
_NEUTRAL_OPTIONS = {"use_bias", "preprocessing", "preact", "weight_decay", "bn_momentum", "zero_init_residual",
                    "classifier_activation", "name"}


def _closed_form_multiply_adds(model_name: str, input_shape: tuple, num_classes: int, options: dict):
    """Multiply-adds of ``cifar_resnet`` / ``imagenet_resnet`` from their layout; None if not covered.

    A convolution costs out_h x out_w x k x k x c_in x c_out (``resnet_lib.complexity``); every
    stride-2 step (strided convolution, the stem's max pool) maps a side n to ceil(n / 2).
    """
    from resnet_lib.models.cifar import WIDTHS as CIFAR_WIDTHS
    from resnet_lib.models.cifar import blocks_per_stage
    from resnet_lib.models.imagenet import STAGES, WIDTHS
    from resnet_lib.models.presets import parse_preset

    if set(options) - _NEUTRAL_OPTIONS - {"shortcut", "stride_at"}:
        return None
    family, residual, depth = parse_preset(model_name)
    height, width = input_shape[:2]
    if family == "cifar":
        shortcut = options.get("shortcut", "A")
        block, stages, widths = "basic", (blocks_per_stage(depth),) * 3, CIFAR_WIDTHS
        macs, channels = height * width * 3 * 3 * input_shape[2] * widths[0], widths[0]  # conv1, stride 1
    else:
        shortcut = options.get("shortcut", "B")
        (block, stages), widths = STAGES[depth], WIDTHS
        height, width = -(-height // 2), -(-width // 2)
        macs, channels = height * width * 7 * 7 * input_shape[2] * 64, 64  # conv1, stride 2
        height, width = -(-height // 2), -(-width // 2)  # the max pool
    stride_at = options.get("stride_at", "1x1")
    for index, (filters, blocks) in enumerate(zip(widths, stages)):
        for i in range(blocks):
            stride = 2 if index and i == 0 else 1
            out_h, out_w = -(-height // stride), -(-width // stride)
            if block == "basic":
                convs = [(3, channels, filters, out_h * out_w), (3, filters, filters, out_h * out_w)]
                out = filters
            else:
                first = height * width if stride_at == "3x3" else out_h * out_w
                convs = [(1, channels, filters, first), (3, filters, filters, out_h * out_w),
                         (1, filters, 4 * filters, out_h * out_w)]
                out = 4 * filters
            macs += sum(positions * k * k * c_in * c_out for k, c_in, c_out, positions in convs)
            if residual and (shortcut == "C" or (shortcut == "B" and (stride != 1 or channels != out))):
                macs += out_h * out_w * channels * out  # the 1x1 projection
            height, width, channels = out_h, out_w, out
    return macs + channels * num_classes  # the classifier after global average pooling


def _measuring_card(device: str) -> Card | None:
    """The card of a ``gpu_training.json`` device ("gpu NVIDIA H100 80GB HBM3" -> ``H100``); None if unknown."""
    for name in sorted(_MEASURING_CARDS, key=len, reverse=True):
        if name in device:
            return _MEASURING_CARDS[name]
    return None


# --- the chapters' runs -----------------------------------------------------------------------

def chapter_gpu_runs(title: str) -> tuple[GpuRun, ...]:
    """The runs the chapter ``title`` trains in the gpu profile, in its order; () if none.

    Chapters run in the order of ``CHAPTER_TITLES``; a run an earlier chapter trained is
    re-opened for free (``fit_cached``) and counts there only. Raises ``KeyError`` naming the
    titles for a title that is not one of them.
    """
    if title not in CHAPTER_TITLES:
        raise KeyError(f"no chapter {title!r}; the chapters: {', '.join(CHAPTER_TITLES)}")
    trained = set()
    for chapter in CHAPTER_TITLES:
        fresh = tuple(run for run in dict.fromkeys(_chapter_uses(chapter)) if run not in trained)
        if chapter == title:
            return fresh
        trained.update(fresh)
    raise AssertionError("unreachable")


def _chapter_uses(title: str) -> list[GpuRun]:
    """Every run the chapter trains or re-opens in the gpu profile."""
    depths = SMALL_IMAGE_RUNS["gpu"]["depths"]
    deepest = max(depths)
    if title == "Degradation":
        return [_cifar_run(f"plain{d}") for d in depths]
    if title == "Residual learning":
        return [_cifar_run(f"{kind}{d}") for kind in ("plain", "resnet") for d in depths]
    # options A, B, C (and the plain net) at the depth where the plain nets degrade
    # (claims.degradation_depth): the deepest, 56, at paper scale
    if title == "Shortcuts":
        return [_cifar_run(f"plain{deepest}")] + [_cifar_run(f"resnet{deepest}", shortcut=o) for o in "ABC"]
    if title == "Training":
        voc = TRAINING_GPU
        plans = {"single, seed recipe": voc["seed_epochs"], "single, voc recipe": voc["epochs"],
                 "multi, voc recipe": voc["epochs"]}
        runs = [_voc_run(f"{voc['voc']}-{voc['model']}-{label.replace(', ', '-').replace(' ', '_')}",
                         epochs=epochs) for label, epochs in plans.items()]
        return runs + [_cifar_run(f"resnet{d}") for d in depths]  # its CIFAR table
    if title == "Beyond the paper":
        beyond = BEYOND_GPU
        runs = [_cifar_run(f"resnet{beyond['lesion_depth']}"), _cifar_run(f"plain{beyond['lesion_depth']}"),
                _cifar_run(f"resnet{beyond['v2_depth']}"), _cifar_run(f"resnet{beyond['v2_depth']}", preact=True)]
        if beyond["transfer_epochs"]:  # ImageNet-initialised ResNet-50 (caffe input, biases), multi-label
            runs.append(_voc_run("voc2012-resnet50-imagenet", epochs=beyond["transfer_epochs"],
                                 options=(("preprocessing", "caffe"), ("use_bias", True))))
        return runs
    return []  # no training: the introduction, the dataset, bottlenecks (a few timed steps), Table 1


def _cifar_run(model: str, *, shortcut: str = "A", preact: bool = False) -> GpuRun:
    """A run of ``train_small_image_net`` in the gpu profile (its run name, CIFAR-10's splits)."""
    from resnet_lib.data.cifar10 import CIFAR10_CLASSES, EXPECTED_COUNTS, IMAGE_SHAPE
    from resnet_lib.data.small_images import load_cifar10

    settings = SMALL_IMAGE_RUNS["gpu"]
    if settings["data"] != "cifar10":
        raise ValueError(f"SMALL_IMAGE_RUNS['gpu'] trains on {settings['data']!r}; this estimate knows cifar10")
    options = ((("shortcut", shortcut),) if shortcut != "A" else ()) + ((("preact", True),) if preact else ())
    name = f"{settings['data']}-{model}" + (f"-{shortcut}" if shortcut != "A" else "") + ("-v2" if preact else "")
    validation = _default(load_cifar10, "validation_size")
    return GpuRun(name, model, tuple(IMAGE_SHAPE), len(CIFAR10_CLASSES),
                  train_images=EXPECTED_COUNTS["train"] - validation,
                  eval_images=validation + EXPECTED_COUNTS["test"], epochs=settings["epochs"], options=options)


def _voc_run(name: str, *, epochs: int, options: tuple = ()) -> GpuRun:
    """A ResNet-50 run on VOC2012 at 224x224: ``train`` less the held-out minival; ``val`` as test."""
    from resnet_lib.data.splits import split_sizes
    from resnet_lib.train.sources import voc_source

    splits = VOC2012_SPLITS.value
    holdout = _default(voc_source, "holdout")
    train, minival = (int(n) for n in split_sizes(splits["train"], (1 - holdout, holdout)))
    size = TRAINING_GPU["image_size"]
    return GpuRun(name, TRAINING_GPU["model"], (size, size, 3), splits["classes"], train_images=train,
                  eval_images=minival + splits["val"], epochs=epochs, options=options)


def _default(function, parameter: str):
    """The default of ``function``'s ``parameter``: the library's own split sizes, not a copy."""
    return inspect.signature(function).parameters[parameter].default


# --- what the book shows ----------------------------------------------------------------------

def gpu_time_estimate(title: str, *, directory=None) -> dict[str, float]:
    """Estimated seconds of the chapter's gpu-profile training on each of ``CARDS``; 0 if none.

    Raises ``KeyError`` for an unknown title, ``FileNotFoundError`` without gpu_training.json.
    """
    runs = chapter_gpu_runs(title)
    return {name: sum(run.seconds(card, directory=directory) for run in runs) for name, card in CARDS.items()}


def format_duration(seconds: float) -> str:
    """"0", "<1 min", "~40 min" under an hour, "~9.5 h" above."""
    if seconds <= 0:
        return "0"
    if seconds < 60:
        return "<1 min"
    if seconds < 3600:
        return f"~{round(seconds / 60)} min"
    return f"~{seconds / 3600:.1f} h"


def gpu_estimate_line(title: str, *, directory=None) -> str:
    """One line: the chapter's estimated gpu-profile time per card, or why there is none.

    Without gpu_training.json (an installed package) the line says no measurement is
    available; an unknown title raises ``KeyError``.
    """
    prefix = "Estimated GPU time, gpu profile"
    try:
        seconds = gpu_time_estimate(title, directory=directory)
    except (FileNotFoundError, KeyError) as err:
        if title not in CHAPTER_TITLES:
            raise
        return f"{prefix}: none, no measured GPU throughput is available here ({err})"
    if not any(seconds.values()):
        return f"{prefix}: 0, this chapter trains nothing"
    times = ", ".join(f"{name} {format_duration(s)}" for name, s in seconds.items())
    reopened = "; the runs it re-opens from earlier chapters not counted" \
        if set(_chapter_uses(title)) - set(chapter_gpu_runs(title)) else ""
    return f"{prefix} (an H100 measurement scaled by peak throughput; a lower bound): Colab {times}{reopened}"


def gpu_estimate_table(*, directory=None) -> list[list[str]]:
    """Rows (chapter, one estimate per card in ``CARDS``), then the whole book; ``GPU_ESTIMATE_HEADERS``.

    Raises ``FileNotFoundError`` without gpu_training.json.
    """
    rows, total = [], dict.fromkeys(CARDS, 0.0)
    for title in CHAPTER_TITLES:
        seconds = gpu_time_estimate(title, directory=directory)
        rows.append([title, *(format_duration(s) for s in seconds.values())])
        total = {name: total[name] + s for name, s in seconds.items()}
    rows.append(["whole book, in order", *(format_duration(s) for s in total.values())])
    return rows


def gpu_estimate_caption() -> str:
    """What ``gpu_estimate_table`` is: estimated from a measurement, and what it leaves out."""
    return ("Estimated, not measured: the H100's measured training throughput (benchmarks/gpu_training.json) "
            "as a fraction of its peak, applied to each card's peak (" +
            ", ".join(f"{c.name} {c.peak_tflops:g} TFLOP/s {c.policy.replace('mixed_', '')}" for c in CARDS.values()) +
            "; NVIDIA datasheets). Training arithmetic and the per-epoch evaluations only: no input-pipeline "
            "stalls, compilation, checkpoints or small-batch overhead, so a lower bound to the order of magnitude. "
            "A chapter counts the runs it trains first; runs re-opened from earlier chapters are free.")
