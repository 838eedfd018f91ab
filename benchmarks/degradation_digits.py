"""The degradation problem on CPU (He et al. 2015, Section 4.2 and Fig. 1/6), on digits.

Trains plain-20, plain-56, ResNet-20 and ResNet-56 on scikit-learn digits at 16x16 with the
paper's CIFAR recipe scaled to the run ("paper-cifar": SGD 0.9, wd 1e-4, batch 128, lr 0.1
divided by 10 at 50% and 75% of the iterations), for several seeds, and checks the paper's two
claims on each seed:

- degradation: plain-56 ends with a higher training error than plain-20;
- residual learning fixes it: ResNet-56 ends at or below ResNet-20.

Training error is the paper's: the running error over the last epoch's mini-batches
(``train_error`` in history.csv). The final model's error on the whole training set in
inference mode is reported beside it.

    python benchmarks/degradation_digits.py --epochs 8 --seeds 0 1 2 --out runs/degradation_digits

Each run is a resumable ``resnet_lib.train`` run directory under ``--out``: interrupt the
script and start it again to carry on. Results go to ``--json`` and ``--markdown``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

MODELS = ("plain20", "plain56", "resnet20", "resnet56")


def run(models, seeds, *, epochs, image_size, out, batch_size=None, on_result=None):
    import keras

    from resnet_lib.data.small_images import load_digits, make_image_dataset
    from resnet_lib.train import fit

    splits = load_digits(image_size=image_size, seed=0)
    train_ds = make_image_dataset(splits.x_train, splits.y_train, pixel_mean=splits.pixel_mean,
                                  batch_size=256)
    results = []
    for seed in seeds:
        for name in models:
            started = time.time()
            result = fit(name, "digits", recipe="paper-cifar", epochs=epochs, seed=seed,
                         image_size=image_size, batch_size=batch_size,
                         run_dir=Path(out) / f"{name}_seed{seed}", verbose=0, tensorboard=False)
            evaluated = result.model.evaluate(train_ds, verbose=0, return_dict=True)
            last = {k: v[-1] for k, v in result.history.items()}
            row = {
                "model": name, "seed": seed, "epochs": epochs,
                "train_error": float(last["train_error"]),
                "train_error_eval": 1.0 - float(evaluated["accuracy"]),
                "val_error": float(last["val_error"]),
                "test_error": float(last.get("test_error", float("nan"))),
                "seconds": round(time.time() - started, 1),
                "iterations": int(last["iteration"]),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
            if on_result:
                on_result(results)
            keras.backend.clear_session()
    return results


def verdicts(results, seeds):
    """Both claims per seed, judged on two measures of the final training error.

    ``running``: the error over the last epoch's mini-batches (the paper's training curve);
    ``final``: the trained model on the whole training set in inference mode.
    """
    by = {(r["model"], r["seed"]): r for r in results}
    out = []
    for seed in seeds:
        if not all((m, seed) in by for m in MODELS):
            out.append({"seed": seed, "complete": False})
            continue
        row = {"seed": seed, "complete": True}
        for measure, key in (("running", "train_error"), ("final", "train_error_eval")):
            err = {m: by[(m, seed)][key] for m in MODELS}
            row[f"plain56_above_plain20_{measure}"] = err["plain56"] > err["plain20"]
            row[f"resnet56_at_or_below_resnet20_{measure}"] = err["resnet56"] <= err["resnet20"]
        out.append(row)
    return out


def markdown(results, checks, *, epochs, image_size, elapsed, batch_size=128) -> str:
    lines = [
        "# Degradation on digits (CPU)",
        "",
        f"Written by `benchmarks/degradation_digits.py`: scikit-learn digits at {image_size}x{image_size}, "
        f"recipe `paper-cifar` at batch {batch_size} (lr 0.1 x {batch_size}/128) scaled to {epochs} epochs. "
        "`train (running)` = error over the last epoch's mini-batches (the paper's training curve); "
        "`train (final)` = the final model on the whole training set, inference mode. "
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores; "
        f"total wall time {elapsed / 60:.1f} min.",
        "",
        "| seed | model | train (running) | train (final) | val error | test error | iterations | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['seed']} | {r['model']} | {100 * r['train_error']:.2f}% | {100 * r['train_error_eval']:.2f}% | "
            f"{100 * r['val_error']:.2f}% | {100 * r['test_error']:.2f}% | {r['iterations']} | {r['seconds']} |"
        )
    lines += [
        "",
        "| seed | plain-56 > plain-20 (running / final) | ResNet-56 <= ResNet-20 (running / final) |",
        "|---|---|---|",
    ]
    yes = lambda flag: "yes" if flag else "NO"  # noqa: E731
    for c in checks:
        if c["complete"]:
            lines.append(
                f"| {c['seed']} | {yes(c['plain56_above_plain20_running'])} / {yes(c['plain56_above_plain20_final'])} | "
                f"{yes(c['resnet56_at_or_below_resnet20_running'])} / {yes(c['resnet56_at_or_below_resnet20_final'])} |"
            )
        else:
            lines.append(f"| {c['seed']} | not run | not run |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=32,
                   help="32: 8 epochs of 1,259 digits at the recipe's 128 are only 80 iterations; lr scales linearly")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--out", default="runs/degradation_digits")
    p.add_argument("--json", default="benchmarks/degradation_digits.json")
    p.add_argument("--markdown", default="benchmarks/degradation_digits.md")
    args = p.parse_args(argv)
    started = time.time()

    def write(results):  # after every run, so an interrupted sweep still leaves its numbers
        checks = verdicts(results, args.seeds)
        elapsed = time.time() - started
        Path(args.json).write_text(json.dumps({"results": results, "checks": checks, "epochs": args.epochs,
                                               "batch_size": args.batch_size or 128, "image_size": args.image_size,
                                               "seconds": elapsed}, indent=2) + "\n")
        text = markdown(results, checks, epochs=args.epochs, image_size=args.image_size, elapsed=elapsed,
                        batch_size=args.batch_size or 128)
        Path(args.markdown).write_text(text)
        return text

    results = run(args.models, args.seeds, epochs=args.epochs, image_size=args.image_size,
                  out=args.out, batch_size=args.batch_size, on_result=write)
    print(write(results))


if __name__ == "__main__":
    main()
