"""Shared training runs: chapters that train the same nets re-open one run directory.

``resnet_lib.train.fit`` resumes a run directory and returns at once when it is finished, so
chapters 2 (Degradation), 3 (Residual learning), 4 (Shortcuts) and 8 (Beyond the paper) call
``train_small_image_net`` with one set of per-profile settings and share their runs, kept
per profile under ``runs/`` beside the notebooks (``$RESNET_BOOK_RUNS`` to move them).
Datasets that are generated or downloaded go under ``data_cache/`` (``$RESNET_BOOK_DATA``).
"""

from __future__ import annotations

import os
import pathlib
import re

from resnet_lib.book.profiles import get_profile
from resnet_lib.reference import PAPER_EPOCHS

__all__ = ["SMALL_IMAGE_RUNS", "data_dir", "fit_cached", "progress", "run_dir", "small_image_config",
           "small_image_data", "small_image_input_shape", "small_image_runs", "train_small_image_net"]

RUNS_ENV = "RESNET_BOOK_RUNS"  # where shared run directories go; default ./runs
DATA_ENV = "RESNET_BOOK_DATA"  # where datasets are generated or downloaded; default ./data_cache


def run_dir(name: str, *, profile: str | None = None) -> pathlib.Path:
    """``$RESNET_BOOK_RUNS/<profile>/<name>`` (default ``./runs``, i.e. ``book/runs`` in the book).

    One directory per profile, so a smoke run never stands in for a cpu one.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(f"run name {name!r}: use letters, digits, '.', '_' and '-' only")
    root = pathlib.Path(os.environ.get(RUNS_ENV) or "runs")
    return root / (profile or get_profile()) / name


def data_dir() -> pathlib.Path:
    """``$RESNET_BOOK_DATA`` or ``./data_cache``: generated and downloaded datasets."""
    return pathlib.Path(os.environ.get(DATA_ENV) or "data_cache")


def fit_cached(name: str, *, profile: str | None = None, **fit_options):
    """``resnet_lib.train.fit(..., run_dir=run_dir(name))``: resumed, or free when finished.

    Chapters that need the same run (plain-56 on digits in "Degradation" and "Residual
    learning") call this with the same ``name`` and options. Options that mean the same (the
    recipe's description, an explicit default learning rate, the case of a preset name) do not
    count as a change (``resnet_lib.train.rundir.comparable_config``). A directory left by a run
    with other options (an edited chapter) is never deleted: it is moved aside to
    ``<name>.replaced-<n>``, with a printed note listing every differing option, and the run is
    trained again.
    """
    from resnet_lib.train import ConfigMismatchError

    directory = run_dir(name, profile=profile)
    try:
        return _fit_when_free(directory, fit_options)
    except ConfigMismatchError as err:
        aside = _free_name(directory)
        os.replace(directory, aside)
        changes = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in err.differences.items()) \
            or str(err)
        print(f"[resnet_lib.book] {directory} held a run with other options ({changes}); "
              f"moved it to {aside} and training again")
        return _fit_when_free(directory, fit_options)


def _fit_when_free(directory: pathlib.Path, fit_options: dict, *, poll_seconds: float = 2.0):
    """``fit(run_dir=directory)``; while another process (a second notebook, a parallel test
    worker) trains the same shared run, wait for it, then re-open what it finished."""
    import time

    from resnet_lib.train import fit
    from resnet_lib.train.rundir import RunDirBusyError

    waited = False
    while True:
        try:
            return _fit_noting_chance(directory, fit_options)
        except RunDirBusyError:
            if not waited:
                print(f"[resnet_lib.book] another process is training {directory}; waiting for it")
                waited = True
            time.sleep(poll_seconds)


def _fit_noting_chance(directory: pathlib.Path, fit_options: dict):
    """``fit``, with its ``ChanceLevelWarning`` printed as a note in the chapter's output.

    A run left at chance is a result the chapter discusses, not an error: the note goes to
    stdout with the rest of the chapter's output instead of a stderr traceback line. Other
    warnings pass through unchanged.
    """
    import warnings

    from resnet_lib.train import ChanceLevelWarning, fit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChanceLevelWarning)
        result = fit(run_dir=directory, **fit_options)
    for w in caught:
        if issubclass(w.category, ChanceLevelWarning):
            print(f"[resnet_lib.book] note: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _free_name(directory: pathlib.Path) -> pathlib.Path:
    """``<directory>.replaced-<n>`` with the smallest n that does not exist yet."""
    n = 1
    while (candidate := directory.with_name(f"{directory.name}.replaced-{n}")).exists():
        n += 1
    return candidate


# warmup: None is the recipe's rule (paper-cifar: nets of 110 layers and more), N warms every
# net up for N iterations at a tenth of the rate, the paper's means for a net that does not
# start (Section 4.2, ResNet-110: lr 0.01 "until the training error is below 80% (about 400
# iterations)"). Measured on digits in the cpu profile (batch 32, 16 epochs, TensorFlow, 2
# cores): without it plain-56 ends at 74.6% training error, with 80 iterations (about two
# epochs of digits) at 43.1%, and plain-44 at 1.3%; with 8 epochs and 80 it ended at 72.8%.
SMALL_IMAGE_RUNS = {
    "smoke": dict(data="digits", depths=(8, 14), epochs=2, batch_size=None, steps_per_epoch=2,
                  augment=None, warmup=None),
    "cpu": dict(data="digits", depths=(20, 32, 44, 56), epochs=16, batch_size=32, steps_per_epoch=None,
                augment=None, warmup=80),
    # CIFAR-10 from $RESNET_CIFAR10 (a local copy) or downloaded; preprocessing on the GPU
    "gpu": dict(data="cifar10", depths=(20, 32, 44, 56), epochs=PAPER_EPOCHS, batch_size=None,
                steps_per_epoch=None, augment="model", warmup=None),
}


def small_image_runs(profile: str | None = None) -> dict:
    """The shared small-image settings of the active profile (a copy of ``SMALL_IMAGE_RUNS``)."""
    return dict(SMALL_IMAGE_RUNS[profile or get_profile()])


def small_image_data(profile: str | None = None):
    """The ``ImageSplits`` the profile's small-image runs train on: CIFAR-10 (gpu) or digits at 16x16.

    The same data and preprocessing as ``train_small_image_net`` (``fit(data=...)``), for a
    chapter that measures the trained nets on their test images.
    """
    from resnet_lib.data.small_images import load_cifar10, load_digits

    data = small_image_runs(profile)["data"]
    return load_cifar10() if data == "cifar10" else load_digits()


def small_image_input_shape(profile: str | None = None) -> tuple[int, int, int]:
    """The input shape of the profile's small-image nets: (32, 32, 3) on CIFAR-10, (16, 16, 3) on digits."""
    if small_image_runs(profile)["data"] == "cifar10":
        from resnet_lib.data.cifar10 import IMAGE_SHAPE

        return tuple(IMAGE_SHAPE)
    from resnet_lib.data.small_images import load_digits

    return load_digits().input_shape  # 1,797 small images: cheap


def train_small_image_net(model: str, *, shortcut: str | None = None, preact: bool = False,
                          profile: str | None = None, verbose: int | None = None):
    """Train (or re-open) ``model`` ("plain56", "resnet20", ...) with the shared settings.

    ``shortcut`` ("A", "B", "C") and ``preact`` (the pre-activation "v2" unit of He et al.
    2016) are passed to ``cifar_resnet``; the defaults are the paper's (A, post-activation).
    Returns ``resnet_lib.train.FitResult``; the run lives in ``run_dir("<data>-<model>[-B][-v2]")``.
    """
    profile = profile or get_profile()
    settings = small_image_runs(profile)
    options = {}
    if shortcut and shortcut != "A":
        options["shortcut"] = shortcut
    if preact:
        options["preact"] = True
    name = f"{settings['data']}-{model}" + "".join(
        f"-{options[k]}" if k == "shortcut" else "-v2" for k in options)
    return fit_cached(name, profile=profile, config=small_image_config(model, profile=profile, options=options,
                                                                       verbose=verbose))


def small_image_config(model: str, *, profile: str | None = None, options: dict | None = None,
                       verbose: int | None = None):
    """The ``TrainConfig`` of ``model`` in the profile's shared small-image runs: the paper's
    CIFAR recipe (Section 4.2) at the profile's length, data, batch and warm-up."""
    from resnet_lib.train import DataConfig, RuntimeConfig, TrainConfig

    profile = profile or get_profile()
    settings = small_image_runs(profile)
    return TrainConfig(
        model=model, recipe="paper-cifar", epochs=settings["epochs"], batch_size=settings["batch_size"],
        warmup=settings["warmup"], model_options=dict(options or {}),
        data=DataConfig(name=settings["data"], steps_per_epoch=settings["steps_per_epoch"],
                        augment=settings["augment"]),
        runtime=RuntimeConfig(tensorboard=profile == "gpu",
                              verbose=(1 if profile == "gpu" else 0) if verbose is None else verbose))


STATIC_ENV = "RESNET_BOOK_STATIC"  # set by `make book`: the pages are read without a kernel


def progress(iterable, *, desc: str, total: int | None = None):
    """A progress bar over ``iterable`` (tqdm: a widget in Jupyter and Colab, text elsewhere).

    With ``$RESNET_BOOK_STATIC`` set (``make book``) there is no bar: a widget would be blank on
    the built page. One line is printed when the loop ends instead: how many items, how long.
    """
    if os.environ.get(STATIC_ENV):
        return _one_line_progress(iterable, desc=desc, total=total)
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=True)


def _one_line_progress(iterable, *, desc: str, total: int | None):
    import time

    start, done = time.monotonic(), 0
    for item in iterable:
        yield item
        done += 1
    of = f" of {total}" if total is not None else ""
    print(f"{desc}: {done}{of} done in {time.monotonic() - start:.0f} s")
