"""Fig. 6 of He et al. 2015 recorded on CIFAR-10 on a CPU: plain-20/56 and ResNet-20/56.

    python -m resnet_lib.reproduce fig6 --data-source cifar10-jpeg.tar.gz

Section 4.2's recipe (``"paper-cifar"``: the 45k/5k split, per-pixel mean, pad-4 crop and
flip, batch 128, SGD 0.9, weight decay 1e-4, lr 0.1 divided by 10 at 50% and 75% of the run)
except its length: ``epochs`` (default ``DEFAULT_EPOCHS``) instead of 182, the two drops at the
same fractions of the shorter run, and every net starts with the paper's warm-up, lr 0.01 for
``WARMUP_ITERATIONS`` iterations (Section 4.2 gives it to ResNet-110, "until the training error
is below 80% (about 400 iterations)"). Without it, lr 0.1 blows plain-56's weights up in its
first 50 steps (the L2 term of the loss goes from 0.2 to 51) and the net then learns so slowly
that it is still at 72.9% training error after 4 of 5 epochs; with it, 6 epochs were not
enough either (66.5% after 5 of 6). The default is therefore 8: two more epochs at lr 0.1
before the first drop, and the calibration histories are in ``benchmarks/fig6_schedule``.
The committed record has plain-56 at 60.8% training error after 8 (its test,
``tests/test_records_fig6.py``, asserts 25 points below chance). All four nets get the
warm-up, so they differ in depth and shortcuts only. Each net is one resumable ``resnet_lib.train`` run under
``--runs``, trained one after another (two cores are one net's worth). The checkpoint kept is
the one with the lowest *validation* error; the test error is measured after every epoch for
the curves and never chooses anything.

Records, committed with the package, under ``--out`` (default ``resnet_lib/records/fig6-cpu``),
laid out as Table 6's (``resnet_lib.reproduce``): ``<net>/history.csv``, ``<net>/summary.json``
and ``provenance.json``: the CPU model and cores, the Keras backend and library versions, the
commit that trained, the dataset and its SHA-256, the schedule, and each net's wall time and
images per second. ``resnet_lib.fig6_analyses`` adds, from the validation-selected weights,
the analyses and the exported models.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

__all__ = ["FIG6_NETS", "DEFAULT_EPOCHS", "RECORDS", "fig6_nets", "run_fig6", "cpu_model",
           "fig6_provenance"]

FIG6_NETS = ("plain20", "plain56", "resnet20", "resnet56")
# The committed record: 2 h 39 min of training for the four nets on two AMD EPYC cores, then
# 14 min of analyses (epochs of 140-533 s).
# 6 left plain-56 at 66.5% training error after 5 (benchmarks/fig6_schedule/README.md)
DEFAULT_EPOCHS = 8
WARMUP_ITERATIONS = 400  # Section 4.2: lr 0.01 for "about 400 iterations"
RECORDS = Path(__file__).resolve().parent / "records" / "fig6-cpu"
TRAINED_AT = "trained_at.json"  # in --runs: the commit and command that started the runs


def fig6_nets(*, depths=(20, 56), nets=None) -> list[str]:
    """The nets to train: ``nets`` as given, else plain and ResNet at each of ``depths``."""
    from resnet_lib.models.cifar import blocks_per_stage

    if nets:
        for net in nets:
            kind, digits = net.rstrip("0123456789"), net[len(net.rstrip("0123456789")):]
            if kind not in ("plain", "resnet") or not digits:
                raise ValueError(f"net {net!r}: expected plain<depth> or resnet<depth>, e.g. plain56")
            blocks_per_stage(int(digits))
        return list(dict.fromkeys(nets))
    for d in depths:
        blocks_per_stage(int(d))
    # the deepest first: they take longest, and show soonest whether the schedule trains them
    return [f"{kind}{d}" for d in sorted(depths, reverse=True) for kind in ("plain", "resnet")]


def default_backend() -> str:
    """``$KERAS_BACKEND`` when set, else torch where it is installed (the fastest Keras CPU
    path measured, benchmarks/cpu_training.md), else Keras' default."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    return "torch" if importlib.util.find_spec("torch") else "tensorflow"


def _child_command(net, run_dir, *, data_source, epochs, smoke=False):
    from resnet_lib.reproduce import SMOKE

    command = [sys.executable, "-m", "resnet_lib.train", "--model", net, "--data", "cifar10",
               "--recipe", "paper-cifar", "--epochs", str(epochs), "--warmup", str(WARMUP_ITERATIONS),
               "--run-dir", str(run_dir),
               "--augment-in-model", "--no-tensorboard", "--verbose", "1"]
    if data_source:
        command += ["--data-source", str(data_source)]
    if smoke:
        command += ["--steps-per-epoch", str(SMOKE["steps_per_epoch"]), "--limit", str(SMOKE["limit"]),
                    "--batch-size", str(SMOKE["batch_size"])]
    return command


def run_fig6(*, nets=None, depths=(20, 56), epochs: int = DEFAULT_EPOCHS, out=RECORDS,
             runs="runs/fig6-cpu", data_source=None, time_limit: float | None = None,
             backend: str | None = None, commit: str | None = None, analyse: bool = True,
             smoke: bool = False) -> dict:
    """Train (or resume) the nets one after another, then write the records (module docstring)
    and, once every net is complete and ``analyse``, the analyses and models
    (``resnet_lib.fig6_analyses``). Returns ``{"nets": {net: summary}}``. ``smoke``: the same
    path at toy size (2 steps of 32 images per epoch, 512 images per split); not a result."""
    from resnet_lib.reproduce import _git_commit, run_children, write_records

    out, runs = Path(out), Path(runs)
    nets = fig6_nets(depths=depths, nets=nets)
    if int(epochs) < 1:
        raise ValueError(f"epochs={epochs}; expected >= 1")
    data_source = data_source or os.environ.get("RESNET_CIFAR10") or None
    if data_source and not Path(data_source).exists():
        raise FileNotFoundError(f"data_source {data_source}: no such file or folder")
    backend = backend or default_backend()
    runs.mkdir(parents=True, exist_ok=True)
    trained_at = runs / TRAINED_AT
    if not trained_at.exists():
        trained_at.write_text(json.dumps({"commit": _git_commit(commit), "command": " ".join(sys.argv),
                                          "started": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": backend}
    started = time.time()
    returncodes = run_children(
        nets, runs, lambda net: _child_command(net, runs / net, data_source=data_source, epochs=epochs,
                                          smoke=smoke),
        parallel=1, time_limit=time_limit, env=env)
    result = write_records(nets=nets, runs=runs, out=out, data_source=data_source, commit=commit, smoke=smoke,
                           wall=time.time() - started, returncodes=returncodes, table6=False)
    provenance = fig6_provenance(out, runs=runs, nets=nets, epochs=epochs, backend=backend)
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    result["provenance"] = provenance
    if analyse and all(s["complete"] for s in result["nets"].values()):
        from resnet_lib.fig6_analyses import analyse_records

        result["analyses"] = analyse_records(out=out, runs=runs, data_source=data_source, backend=backend)
    return result


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions(backend: str) -> dict:
    """Library versions as the children ran them (read from installed metadata, not imported)."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("keras", "numpy", {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}.get(backend)):
        if not name:
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def fig6_provenance(out, *, runs, nets, epochs, backend) -> dict:
    """``provenance.json`` of a Fig. 6 record: Table 6's fields (``resnet_lib.reproduce``) and
    the CPU, backend, commit that trained, schedule, and per-net wall time and img/s."""
    from resnet_lib.reproduce import PAPER_EPOCHS, read_records

    out, runs = Path(out), Path(runs)
    provenance = json.loads((out / "provenance.json").read_text())
    trained_at = runs / TRAINED_AT
    trained = json.loads(trained_at.read_text()) if trained_at.exists() else {}
    records = read_records(out)
    per_net = {}
    for net in nets:
        summary = records.get(net, {}).get("summary", {})
        per_net[net] = {k: summary.get(k) for k in ("epochs_done", "epochs", "complete", "wall_seconds",
                                                     "train_images_per_second", "backend")}
    provenance.update({
        "what": "Fig. 6 of He et al. 2015 at CPU scale",
        "cpu": {"model": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine()},
        "backend": backend,
        "versions": {**provenance.get("versions", {}), **_versions(backend), "backend": backend},
        "trained_at": trained,
        "epochs": int(epochs),
        "paper_epochs": PAPER_EPOCHS,
        "fraction_of_paper_schedule": round(int(epochs) / PAPER_EPOCHS, 4),
        "schedule": (f"lr 0.01 for the first {WARMUP_ITERATIONS} iterations (the paper's warm-up), then 0.1, "
                     f"divided by 10 at 50% and 75% of {epochs} epochs (the paper's 32k and 48k of 64k "
                     f"iterations, scaled); batch 128, SGD momentum 0.9, weight decay 1e-4"),
        "warmup_iterations": WARMUP_ITERATIONS,
        "selection": "the epoch with the lowest validation error (5,000 held-out training images)",
        "nets_detail": per_net,
    })
    return provenance
