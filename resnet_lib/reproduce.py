"""Table 6 and Fig. 6 of He et al. 2015 on CIFAR-10, at the paper's scale, within a short GPU lease.

    python -m resnet_lib.reproduce table6 --depths 20 56 --plain \\
        --data-source cifar10-jpeg.tar.gz --time-limit 540

Each net (``resnet<d>``, and ``plain<d>`` with ``--plain``) is one ``resnet_lib.train`` run
with the paper's recipe (``"paper-cifar"``, Section 4.2: the 45k/5k split, per-pixel mean,
pad-4 crop and flip, batch 128, SGD 0.9, weight decay 1e-4, lr 0.1 / 10 at 50% and 75% of
64k iterations, 182 epochs; ResNet-110 warms up first), in a run directory of its own under
``--runs`` (default ``runs/table6``, checkpoints: not committed), resumable after any
interruption. On a GPU it trains in mixed precision with
XLA (``fit``'s defaults there), with the images resident on the accelerator and the mean
subtraction and augmentation inside the model (``augment="model"``), and ``--parallel`` nets
at once, each a process of its own, to fill a large GPU with small nets.

``--time-limit`` stops every net at that many seconds (a kill, which each run survives), so
the command fits a lease; the same command later carries on where the runs stopped. The
checkpoint for selection is the epoch with the lowest *validation* error; the test error is
recorded on every epoch for the curves, never used to choose.

Records, small and meant to be committed (CSV and JSON only, no checkpoints), under ``--out``
(default ``resnet_lib/records/table6``, which ships with the package so the book finds it):

- ``<out>/<net>/history.csv``: one row per epoch (``resnet_lib.train``'s);
- ``<out>/<net>/summary.json``: final and best-on-validation test error, training error, wall
  time, images per second, epochs done of the paper's 182;
- ``<out>/provenance.json``: GPU, library versions, git commit, command, dataset source and
  its SHA-256;
- ``<out>/table6.json``: the paper's Table 6 beside this run's (``table6_rows``).

``--smoke`` runs the same path at toy size (2 steps per epoch, 1 epoch, 512 images), for a
CPU; its records say ``"smoke": true`` and are not results.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from resnet_lib.reference import PAPER_EPOCHS, TABLE6, TABLE6_REPRODUCTION

__all__ = ["table6_nets", "run_table6", "write_records", "summarize_run", "table6_rows", "read_records", "main"]

NATIVE_LOG_PREFIXES = ("I0000", "W0000", "WARNING: All log messages", "To enable the following")
SMOKE = {"epochs": 1, "steps_per_epoch": 2, "limit": 512, "batch_size": 32}


def table6_nets(depths, *, plain: bool) -> list[str]:
    """Preset names for ``depths``: ResNets, then (``plain``) their plain counterparts."""
    from resnet_lib.models.cifar import blocks_per_stage

    for d in depths:
        blocks_per_stage(d)  # Section 4.2's nets have 6n+2 layers: a ValueError otherwise
    return [f"resnet{d}" for d in depths] + ([f"plain{d}" for d in depths] if plain else [])


def _child_command(net, run_dir, *, data_source, smoke, steps_per_execution):
    command = [sys.executable, "-m", "resnet_lib.train", "--model", net, "--data", "cifar10",
               "--recipe", "paper-cifar", "--run-dir", str(run_dir), "--augment-in-model",
               "--steps-per-execution", str(steps_per_execution), "--no-tensorboard",
               "--verbose", "1"]
    if data_source:
        command += ["--data-source", str(data_source)]
    if smoke:
        command += ["--epochs", str(SMOKE["epochs"]), "--steps-per-epoch",
                    str(SMOKE["steps_per_epoch"]), "--limit", str(SMOKE["limit"]),
                    "--batch-size", str(SMOKE["batch_size"])]
    return command


def _pump(net, process, log, lock):
    """Print a child's lines prefixed with its net, as they come; keep them in ``log``."""
    for line in process.stdout:
        if not line.startswith(NATIVE_LOG_PREFIXES):  # native libraries' start-up chatter
            with lock:
                print(f"[{net}] {line.rstrip()}", flush=True)
        log.write(line)
        log.flush()


RECORDS = Path(__file__).resolve().parent / "records" / "table6"  # the committed records


def run_table6(*, depths=(20, 56), plain=True, out=RECORDS, runs="runs/table6", data_source=None,
               parallel: int = 4, time_limit: float | None = None, smoke: bool = False,
               steps_per_execution: int = 50, commit: str | None = None) -> dict:
    """Train (or resume) every net, at most ``parallel`` at once, until done or ``time_limit``.

    Returns ``{"nets": {net: summary}, "table6": rows}`` and writes the records (module
    docstring). A net that is not done when the time runs out is left resumable and its
    summary says ``"complete": false``.
    """
    out, runs = Path(out), Path(runs)
    nets = table6_nets(depths, plain=plain)
    data_source = data_source or os.environ.get("RESNET_CIFAR10") or None
    if data_source and not Path(data_source).exists():
        raise FileNotFoundError(f"data_source {data_source}: no such file or folder")
    if parallel < 1:
        raise ValueError(f"parallel={parallel}; expected >= 1")
    runs.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if parallel > 1:  # share the GPU: by default each JAX process would take 75% of it
        env.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{0.9 / parallel:.3f}")
    returncodes = run_children(
        nets, runs, lambda net: _child_command(net, runs / net, data_source=data_source, smoke=smoke,
                                               steps_per_execution=steps_per_execution),
        parallel=parallel, time_limit=time_limit, env=env)
    return write_records(nets=nets, runs=runs, out=out, data_source=data_source, smoke=smoke,
                         commit=commit, wall=time.time() - started, returncodes=returncodes)


def run_children(nets, runs, command, *, parallel: int, time_limit: float | None, env: dict) -> dict:
    """Run ``command(net)`` for every net, at most ``parallel`` at once, each logging to
    ``runs/<net>/train.log``; kill (resumably) whatever still runs after ``time_limit`` seconds.
    Returns ``{net: returncode}`` of the nets that ran."""
    runs = Path(runs)
    deadline = time.time() + time_limit if time_limit else None
    pending, running, lock = list(nets), {}, threading.Lock()
    returncodes = {}
    while pending or running:
        while pending and len(running) < parallel and not _past(deadline):
            net = pending.pop(0)
            run_dir = runs / net
            run_dir.mkdir(parents=True, exist_ok=True)
            log = open(run_dir / "train.log", "a")
            process = subprocess.Popen(command(net), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, env=env)
            pump = threading.Thread(target=_pump, args=(net, process, log, lock), daemon=True)
            pump.start()
            running[net] = (process, pump, log)
        if _past(deadline) and pending:
            pending.clear()  # never started in this call; the next one starts them
        for net, (process, pump, log) in list(running.items()):
            if process.poll() is None and _past(deadline):
                print(f"[reproduce] time limit: stopping {net} (resumable)", flush=True)
                process.send_signal(signal.SIGKILL)
                process.wait()
            if process.poll() is not None:
                pump.join(timeout=10)
                log.close()
                returncodes[net] = process.returncode
                del running[net]
        time.sleep(0.5)
    return returncodes


def write_records(*, nets, runs, out, data_source=None, smoke=False, commit=None, wall=0.0,
                  returncodes=None, table6: bool = True) -> dict:
    """The records (module docstring) of the runs under ``runs``, written into ``out``."""
    runs, out = Path(runs), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for net in nets:
        run_dir = runs / net
        summary = summarize_run(run_dir, net=net, smoke=smoke)
        summary["returncode"] = (returncodes or {}).get(net)
        summaries[net] = summary
        record = out / net
        record.mkdir(parents=True, exist_ok=True)
        if (run_dir / "history.csv").exists():
            shutil.copyfile(run_dir / "history.csv", record / "history.csv")
        (record / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if summary["epochs_done"]:
            print(f"[reproduce] {net}: {summary['epochs_done']}/{summary['epochs']} epochs, "
                  f"test error {_pct(summary['final_test_error'])} (last), "
                  f"{_pct(summary['best_val_test_error'])} (best on validation), "
                  f"{summary['train_images_per_second'] or 0:,.0f} img/s", flush=True)
    provenance = _provenance(runs, nets, data_source=data_source, smoke=smoke, commit=commit,
                             wall=wall)
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    if not table6:
        return {"nets": summaries}
    rows = table6_rows(out)
    (out / "table6.json").write_text(json.dumps(rows, indent=2) + "\n")
    return {"nets": summaries, "table6": rows}


def _past(deadline) -> bool:
    return deadline is not None and time.time() >= deadline


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def summarize_run(run_dir, *, net: str, smoke: bool = False) -> dict:
    """The summary of one net's run directory, read from its history.csv and config.json."""
    run_dir = Path(run_dir)
    rows = []
    if (run_dir / "history.csv").exists():
        with open(run_dir / "history.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    config = {}
    if (run_dir / "config.json").exists():
        config = json.loads((run_dir / "config.json").read_text())
    epochs = int(config.get("config", {}).get("epochs") or (SMOKE["epochs"] if smoke else PAPER_EPOCHS))
    runtime = config.get("runtime", {})
    batch = int(config.get("config", {}).get("batch_size") or 128)

    def value(row, key):
        return float(row[key]) if row.get(key) not in (None, "") else None

    summary = {"net": net, "depth": int("".join(c for c in net if c.isdigit())),
               "residual": net.startswith("resnet"), "smoke": smoke, "epochs": epochs,
               "epochs_done": len(rows), "complete": len(rows) >= epochs,
               "iterations": int(float(rows[-1]["iteration"])) if rows else 0,
               "final_train_error": value(rows[-1], "train_error") if rows else None,
               "final_test_error": value(rows[-1], "test_error") if rows else None,
               "best_epoch": None, "best_val_error": None, "best_val_test_error": None,
               "wall_seconds": round(sum(value(r, "seconds") or 0 for r in rows), 1),
               "train_images_per_second": None, "dtype_policy": runtime.get("dtype_policy"),
               "jit_compile": runtime.get("jit_compile"), "backend": runtime.get("backend")}
    if rows:
        val = [value(r, "val_error") for r in rows]
        best = min(range(len(rows)), key=lambda i: val[i])
        summary.update(best_epoch=best + 1, best_val_error=val[best],
                       best_val_test_error=value(rows[best], "test_error"))
        steps = [int(float(r["iteration"])) for r in rows]
        rates = []
        for i, r in enumerate(rows):  # the first epoch in each process includes compiling
            seconds = value(r, "train_seconds")
            if seconds:
                rates.append((steps[i] - (steps[i - 1] if i else 0)) * batch / seconds)
        if len(rates) > 1:
            rates = rates[1:]
        if rates:
            summary["train_images_per_second"] = round(sorted(rates)[len(rates) // 2], 1)
    return summary


def read_records(out) -> dict:
    """``{net: {"summary": dict, "history": path or None}}`` of the records under ``out``."""
    out = Path(out)
    records = {}
    for summary in sorted(out.glob("*/summary.json")):
        history = summary.parent / "history.csv"
        records[summary.parent.name] = {"summary": json.loads(summary.read_text()),
                                        "history": history if history.exists() else None}
    return records


def table6_rows(out) -> list[dict]:
    """Table 6, the paper's column beside this run's, computed from the records under ``out``.

    One row per depth that has a record: the paper's test error (``reference.TABLE6``), a
    public rerun's (``reference.TABLE6_REPRODUCTION``), and this run's ResNet test error at
    the last epoch and at the epoch chosen on validation, with the plain net's final training
    error where it ran (Fig. 6). Errors are in %.
    """
    records = read_records(out)
    depths = sorted({r["summary"]["depth"] for r in records.values()})
    rows = []
    for d in depths:
        resnet = records.get(f"resnet{d}", {}).get("summary", {})
        plain = records.get(f"plain{d}", {}).get("summary", {})

        def pct(summary, key):
            v = summary.get(key)
            return None if v is None else round(100 * v, 2)

        rows.append({
            "depth": d,
            "paper_test_error": TABLE6[d].value["test_error"] if d in TABLE6 else None,
            "rerun_test_error": TABLE6_REPRODUCTION.value.get(d),
            "resnet_final_test_error": pct(resnet, "final_test_error"),
            "resnet_best_val_test_error": pct(resnet, "best_val_test_error"),
            "resnet_final_train_error": pct(resnet, "final_train_error"),
            "resnet_epochs": f"{resnet.get('epochs_done', 0)}/{resnet.get('epochs', PAPER_EPOCHS)}",
            "plain_final_train_error": pct(plain, "final_train_error"),
            "plain_final_test_error": pct(plain, "final_test_error"),
            "plain_epochs": (f"{plain.get('epochs_done', 0)}/{plain.get('epochs', PAPER_EPOCHS)}"
                             if plain else None),
            "complete": bool(resnet.get("complete")) and (not plain or bool(plain.get("complete"))),
            "sources": {"paper": TABLE6[d].source if d in TABLE6 else None,
                        "rerun": TABLE6_REPRODUCTION.source},
        })
    return rows


def _git_commit(commit):
    if commit:
        return commit
    if os.environ.get("RESNET_GIT_COMMIT"):
        return os.environ["RESNET_GIT_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _provenance(runs, nets, *, data_source, smoke, commit, wall) -> dict:
    import keras
    import numpy

    from resnet_lib.data.cifar10 import CIFAR10_SHA256, sha256_of

    versions = {"python": platform.python_version(), "keras": keras.__version__,
                "numpy": numpy.__version__, "backend": keras.backend.backend()}
    devices = []
    try:
        import jax

        versions["jax"] = jax.__version__
        devices = [f"{d.platform}: {getattr(d, 'device_kind', d)}" for d in jax.devices()]
    except ImportError:
        pass
    dataset = {"name": "CIFAR-10", "source": str(data_source) if data_source else "keras.datasets",
               "sha256": sha256_of(data_source) if data_source else CIFAR10_SHA256}
    for net in nets:  # what each run read, as its config.json records it
        config = Path(runs) / net / "config.json"
        if config.exists():
            data = json.loads(config.read_text()).get("runtime", {}).get("data", {})
            if data:
                dataset.update({k: data[k] for k in ("form", "sha256", "train_images",
                                                      "test_images", "dropped") if k in data})
                dataset["source"] = data.get("source", dataset["source"])
                break
    if data_source and "jpeg" in str(data_source).lower():
        dataset["name"] = "CIFAR-10 (JPEG copy)"
    return {"date": time.strftime("%Y-%m-%d"), "smoke": smoke, "commit": _git_commit(commit),
            "command": " ".join(sys.argv), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "devices": devices, "versions": versions, "dataset": dataset, "nets": nets,
            "wall_seconds_this_call": round(wall, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m resnet_lib.reproduce", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table6", help="Table 6 and Fig. 6: CIFAR-10 ResNets (and plain nets)")
    t.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    t.add_argument("--plain", action="store_true", help="also the plain counterparts (Fig. 6)")
    t.add_argument("--out", default=str(RECORDS), help="records (CSV, JSON) go here")
    t.add_argument("--runs", default="runs/table6", help="run directories (checkpoints) go here")
    t.add_argument("--data-source", help="a local CIFAR-10 copy (default $RESNET_CIFAR10, else download)")
    t.add_argument("--parallel", type=int, default=4, help="nets trained at once (default 4)")
    t.add_argument("--time-limit", type=float, help="seconds; then stop, resumable")
    t.add_argument("--steps-per-execution", type=int, default=50)
    t.add_argument("--commit", help="git commit to record (default: git rev-parse HEAD)")
    t.add_argument("--smoke", action="store_true", help="toy size, for a CPU: records nothing real")
    f = sub.add_parser("fig6", help="Fig. 6 on a CPU: plain-20/56 and ResNet-20/56, a short schedule")
    f.add_argument("--data-source", help="a local CIFAR-10 copy (default $RESNET_CIFAR10, else download)")
    f.add_argument("--epochs", type=int, default=None, help="epochs per net (default: resnet_lib.fig6's)")
    f.add_argument("--depths", type=int, nargs="+", default=[20, 56], help="plain and ResNet at each")
    f.add_argument("--nets", nargs="+", help="instead of --depths: e.g. plain56 resnet56")
    f.add_argument("--out", help="records (CSV, JSON, models) go here (default resnet_lib/records/fig6-cpu)")
    f.add_argument("--runs", default="runs/fig6-cpu", help="run directories (checkpoints) go here")
    f.add_argument("--backend", help="Keras backend of the runs (default $KERAS_BACKEND, else torch if installed)")
    f.add_argument("--time-limit", type=float, help="seconds; then stop, resumable")
    f.add_argument("--no-analyses", dest="analyse", action="store_false",
                   help="records only: no analyses or exported models")
    f.add_argument("--commit", help="git commit to record (default: git rev-parse HEAD)")
    f.add_argument("--smoke", action="store_true", help="toy size (2 steps of 32 images an epoch): not a result")
    args = p.parse_args(argv)
    if args.what == "fig6":
        return _main_fig6(args)
    try:
        result = run_table6(depths=args.depths, plain=args.plain, out=args.out, runs=args.runs,
                            data_source=args.data_source, parallel=args.parallel,
                            time_limit=args.time_limit, smoke=args.smoke,
                            steps_per_execution=args.steps_per_execution, commit=args.commit)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _exit_status(result, runs=args.runs)


def _exit_status(result: dict, *, runs) -> int:
    """0 when every net finished or stopped to resume later (time limit, SIGKILL), 1 otherwise."""
    failed = [n for n, s in result["nets"].items() if s["returncode"] not in (0, None, -signal.SIGKILL)]
    if failed:
        print(f"error: {', '.join(failed)} failed; see {runs}/<net>/train.log", file=sys.stderr)
        return 1
    return 0


def _main_fig6(args) -> int:
    from resnet_lib import fig6

    backend = args.backend or fig6.default_backend()
    os.environ["KERAS_BACKEND"] = backend  # this process reads the records with it too
    try:
        result = fig6.run_fig6(nets=args.nets, depths=args.depths, out=args.out or fig6.RECORDS,
                               epochs=args.epochs or fig6.DEFAULT_EPOCHS, runs=args.runs,
                               data_source=args.data_source, time_limit=args.time_limit,
                               backend=backend, commit=args.commit, analyse=args.analyse,
                               smoke=args.smoke)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _exit_status(result, runs=args.runs)


if __name__ == "__main__":
    sys.exit(main())
