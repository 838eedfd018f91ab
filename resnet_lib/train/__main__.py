"""Command line: ``python -m resnet_lib.train --model resnet20 --data digits --epochs 4 --run-dir DIR``.

Run the same command again after an interruption (even SIGKILL) and it resumes from the last
completed epoch. Exit status: 0 done, 2 bad arguments or configuration mismatch, 3 the loss
became NaN/inf or exploded, 4 the run directory is damaged or in use by another process. Each
error is one line on stderr naming the option (as this command spells it: ``--lr``, not
``fit``'s ``learning_rate``) or the file.
"""

from __future__ import annotations

import argparse
import sys

from resnet_lib.train.recipes import RECIPES


def _positive(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be a positive integer")
    return number


# fit's argument names -> this command's options, for FitArgumentError and ConfigMismatchError
OPTIONS = {"model": "--model", "data": "--data", "recipe": "--recipe", "epochs": "--epochs",
           "batch_size": "--batch-size", "learning_rate": "--lr", "warmup": "--warmup", "seed": "--seed",
           "image_size": "--image-size", "limit": "--limit", "steps_per_epoch": "--steps-per-epoch",
           "synthetic_images": "--synthetic-images", "augment": "--augment", "test_curve": "--no-test-curve",
           "model_options": "--shortcut", "label_mode": "--label-mode", "data_source": "--data-source",
           "data_dir": "--data-dir", "steps_per_execution": "--steps-per-execution",
           "mixed_precision": "--mixed-precision", "jit": "--jit", "distribute": "--distribute",
           "run_dir": "--run-dir", "allow_imagenet_stem": "--allow-imagenet-stem"}
WARMUP = {"auto": None, "on": True, "off": False}


def option_name(key: str) -> str:
    """A configuration key as this command spells it: ``learning_rate`` -> ``--lr``,
    ``recipe.base_lr`` -> ``--recipe (base_lr)``, ``runtime.dtype_policy (mixed_precision)``
    -> ``--mixed-precision``."""
    if key.startswith("runtime.") and key.endswith(")"):
        return OPTIONS.get(key[key.index("(") + 1:-1], key)
    head, _, rest = key.partition(".")
    flag = OPTIONS.get(head, key if not rest else head)
    return f"{flag} ({rest})" if rest else flag


def mismatch_message(error) -> str:
    """``ConfigMismatchError`` in this command's words: its options, and ``--run-dir``."""
    detail = "; ".join(f"{option_name(key)}: saved {saved!r}, now {now!r}"
                       for key, (saved, now) in error.differences.items())
    return (f"{error.config_path} was written by a run with a different configuration ({detail}). "
            "Resume with the same options, or use a new --run-dir.")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m resnet_lib.train",
        description="Train a resnet_lib model with a named recipe; resumable (He et al. 2015).",
    )
    p.add_argument("--model", default="resnet20", help="preset: resnet20/32/44/56/110/1202, resnet18..152, plain<depth>")
    p.add_argument("--data", default="digits", choices=("digits", "cifar10", "voc2012", "synthetic-voc"))
    p.add_argument("--recipe", default="paper-cifar", choices=sorted(RECIPES))
    p.add_argument("--epochs", type=_positive, help="default: the recipe's")
    p.add_argument("--run-dir", required=True, help="config, history.csv, checkpoints, logs go here")
    p.add_argument("--batch-size", type=_positive, help="global batch; default: the recipe's")
    p.add_argument("--lr", type=float, help="peak learning rate; default: the recipe's")
    p.add_argument("--warmup", default="auto", choices=sorted(WARMUP),
                   help="auto: the recipe's rule (paper-cifar: ResNet-110 and deeper, Section 4.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=_positive, help="image side (digits: 16 by default; VOC: 224)")
    p.add_argument("--synthetic-images", type=_positive,
                   help="synthetic-voc only: how many images to generate (default 200)")
    p.add_argument("--limit", type=_positive, help="use only the first N images of each split")
    p.add_argument("--steps-per-epoch", type=_positive, help="cap the training steps per epoch")
    aug = p.add_mutually_exclusive_group()
    aug.add_argument("--augment", dest="augment", action="store_true", default=None)
    aug.add_argument("--no-augment", dest="augment", action="store_false")
    aug.add_argument("--augment-in-model", dest="augment", action="store_const", const="model",
                     help="preprocess and augment inside the model (on the accelerator), not in "
                          "the input pipeline")
    p.add_argument("--no-test-curve", dest="test_curve", action="store_false",
                   help="skip the per-epoch test error (the paper's thin curves)")
    p.add_argument("--mixed-precision", default="auto", choices=("auto", "on", "off"))
    p.add_argument("--jit", default="auto", choices=("auto", "on", "off"))
    p.add_argument("--distribute", default="auto", choices=("auto", "all", "off"),
                   help="auto: all GPUs if several; all: every device incl. CPUs; off: one device")
    p.add_argument("--shortcut", choices=("A", "B", "C"), help="model option (CIFAR default A, ImageNet B)")
    p.add_argument("--label-mode", choices=("multi", "single"), help="VOC only: labels (default multi)")
    p.add_argument("--allow-imagenet-stem", action="store_true",
                   help="train an ImageNet preset (7x7 stem, max pool) on digits or CIFAR-10 anyway")
    p.add_argument("--data-dir", help="where VOC is downloaded or generated (default ./data_cache)")
    p.add_argument("--data-source", help="cifar10: a local copy (cifar-10-python.tar.gz, its "
                   "cifar-10-batches-py folder, or an image tree train/<class>/*, test/<class>/*, "
                   "or a .tar.gz of one); default $RESNET_CIFAR10, else download")
    p.add_argument("--steps-per-execution", type=_positive, default=1,
                   help="training steps per compiled call (default 1)")
    p.add_argument("--no-tensorboard", dest="tensorboard", action="store_false")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="2 adds Keras' progress bar")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    from resnet_lib.train.fit import FitArgumentError, TrainingDivergedError, fit
    from resnet_lib.train.rundir import ConfigMismatchError, RunDirError

    model_options = {"shortcut": args.shortcut} if args.shortcut else None
    try:
        result = fit(
            args.model, args.data, recipe=args.recipe, epochs=args.epochs, run_dir=args.run_dir,
            batch_size=args.batch_size, learning_rate=args.lr, warmup=WARMUP[args.warmup], seed=args.seed,
            image_size=args.image_size, allow_imagenet_stem=args.allow_imagenet_stem,
            synthetic_images=args.synthetic_images,
            limit=args.limit, steps_per_epoch=args.steps_per_epoch, augment=args.augment,
            test_curve=args.test_curve, mixed_precision=args.mixed_precision, jit=args.jit,
            distribute=args.distribute, model_options=model_options, data_dir=args.data_dir,
            label_mode=args.label_mode, tensorboard=args.tensorboard, verbose=args.verbose,
            data_source=args.data_source, steps_per_execution=args.steps_per_execution,
        )
    except FitArgumentError as error:
        option = OPTIONS.get(error.argument, error.argument)
        print(f"{p.prog}: error: argument {option}: {error}", file=sys.stderr)
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
