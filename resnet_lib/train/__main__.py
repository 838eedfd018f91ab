"""Command line: ``python -m resnet_lib.train --model resnet20 --data digits --epochs 4 --run-dir DIR``.

Every option is a field of ``resnet_lib.train.config.TrainConfig`` (or of its ``DataConfig`` and
``RuntimeConfig``): the parser is generated from the fields, their types, choices and help, so
a new field is a new option. ``--config FILE`` starts from a saved configuration (a
``TrainConfig.to_dict()`` JSON, or a run directory's config.json) and the other options
override it.

Run the same command again after an interruption (even SIGKILL) and it resumes from the last
completed epoch. Exit status: 0 done, 2 bad arguments or configuration mismatch, 3 the loss
became NaN/inf or exploded, 4 the run directory is damaged or in use by another process. Each
error is one line on stderr naming the option (as this command spells it: ``--lr``, not
``fit``'s ``learning_rate``) or the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from resnet_lib.train.config import DataConfig, RuntimeConfig, TrainConfig, annotation_type, flag

__all__ = ["parser", "main", "option_name", "mismatch_message", "config_from_args"]

WARMUP = {"auto": None, "on": True, "off": False}
AUGMENT = {"auto": None, "on": True, "off": False, "model": "model"}


def option_name(key: str) -> str:
    """A configuration key as this command spells it: ``learning_rate`` -> ``--lr``,
    ``recipe.base_lr`` -> ``--recipe (base_lr)``, ``runtime.dtype_policy (mixed_precision)``
    -> ``--mixed-precision``."""
    return flag(key)


def mismatch_message(error) -> str:
    """``ConfigMismatchError`` in this command's words: its options, and ``--run-dir``."""
    detail = "; ".join(f"{option_name(key)}: saved {saved!r}, now {now!r}"
                       for key, (saved, now) in error.differences.items())
    return (f"{error.config_path} was written by a run with a different configuration ({detail}). "
            "Resume with the same options, or use a new --run-dir.")


def _positive(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be a positive integer")
    return number


def _warmup(value: str):
    """``--warmup``: auto, on, off, or a positive number of iterations."""
    if value in WARMUP:
        return WARMUP[value]
    return _positive(value)


def _options(value: str) -> dict:
    """``--model-options shortcut=B preact=true`` (or a JSON object) as a dict."""
    value = value.strip()
    if value.startswith("{"):
        return json.loads(value)
    out = {}
    for item in value.split():
        key, sep, raw = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _add(group, cls, f) -> None:
    """One option for field ``f`` of ``cls``, from its type, default, choices and help."""
    meta = f.metadata
    name = "data" if cls is DataConfig and f.name == "name" else f.name
    option = flag(name)
    default = f.default if f.default is not dataclasses.MISSING else None
    text = meta.get("help", "")
    if name == "warmup":
        group.add_argument(option, dest=name, type=_warmup, default=argparse.SUPPRESS, metavar="{auto,on,off,N}",
                           help=text)
    elif name == "augment":
        aug = group.add_mutually_exclusive_group()
        aug.add_argument("--augment", dest=name, nargs="?", const="on", choices=sorted(AUGMENT),
                         default=argparse.SUPPRESS, help=text + " (auto: the dataset's standard)")
        aug.add_argument("--no-augment", dest=name, action="store_const", const="off", default=argparse.SUPPRESS)
        aug.add_argument("--augment-in-model", dest=name, action="store_const", const="model",
                         default=argparse.SUPPRESS, help="preprocess and augment inside the model (on the "
                         "accelerator), not in the input pipeline")
    elif name == "model_options":
        group.add_argument(option, dest=name, type=_options, default=argparse.SUPPRESS, help=text)
        group.add_argument("--shortcut", dest="shortcut", choices=("A", "B", "C"), default=argparse.SUPPRESS,
                           help="the same as --model-options shortcut=X (CIFAR default A, ImageNet B)")
    elif annotation_type(cls, f.name) is bool:
        group.add_argument(option, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                           help=f"{text} (default: {'on' if default else 'off'})")
    else:
        kind = annotation_type(cls, f.name)
        if kind is int and meta.get("low") == 1:
            kind = _positive
        choices = meta.get("choices")
        group.add_argument(option, dest=name, type=kind, choices=choices, default=argparse.SUPPRESS,
                           help=text + (f" (default: {default})" if default not in (None, "") else ""))
    if name == "learning_rate":
        group.add_argument("--learning-rate", dest=name, type=float, default=argparse.SUPPRESS,
                           help=argparse.SUPPRESS)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m resnet_lib.train", allow_abbrev=False,
        description="Train a resnet_lib model with a named recipe; resumable (He et al. 2015). "
                    "Every option is a field of resnet_lib.train.config.TrainConfig.",
    )
    p.add_argument("--run-dir", required=True, help="config, history.csv, checkpoints, logs go here")
    p.add_argument("--config", help="start from this configuration (JSON of TrainConfig.to_dict(), or a "
                   "run directory's config.json); the other options override it")
    for title, cls in (("run", TrainConfig), ("data", DataConfig), ("runtime", RuntimeConfig)):
        group = p.add_argument_group(title)
        for f in dataclasses.fields(cls):
            if f.name not in ("data", "runtime"):
                _add(group, cls, f)
    return p


def config_from_args(args) -> TrainConfig:
    """The ``TrainConfig`` that parsed arguments ask for (``--config`` first, then the rest)."""
    base = TrainConfig()
    if args.config:
        payload = json.loads(open(args.config).read())
        base = TrainConfig.from_dict(payload.get("config", payload) if "config" in payload and
                                     isinstance(payload["config"], dict) else payload)
    given = {k: v for k, v in vars(args).items() if k not in ("run_dir", "config", "shortcut")}
    if "augment" in given:
        given["augment"] = AUGMENT[given["augment"]]
    if getattr(args, "shortcut", None):
        given["model_options"] = {**given.get("model_options", base.model_options), "shortcut": args.shortcut}
    for key in ("data_source", "data_dir"):
        if given.get(key) is not None:
            given[key] = str(given[key])
    return base.replace(**given)


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    from resnet_lib.train.config import ConfigError
    from resnet_lib.train.fit import TrainingDivergedError, fit
    from resnet_lib.train.rundir import ConfigMismatchError, RunDirError

    try:
        config = config_from_args(args)
    except (OSError, ValueError) as error:
        if isinstance(error, ConfigError):
            print(f"{p.prog}: error: argument {error.flag}: {error}", file=sys.stderr)
        else:
            print(f"{p.prog}: error: argument --config: {args.config}: {error}", file=sys.stderr)
        return 2
    try:
        result = fit(config=config, run_dir=args.run_dir)
    except ConfigError as error:
        print(f"{p.prog}: error: argument {error.flag}: {error}", file=sys.stderr)
        return 2
    except ConfigMismatchError as error:
        print(f"error: {mismatch_message(error)}", file=sys.stderr)
        return 2
    except RunDirError as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    except TrainingDivergedError as error:
        print(f"error: {error.hint('--lr')}", file=sys.stderr)
        return 3
    print(f"[resnet_lib.train] done: {result.final.to_dict()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
