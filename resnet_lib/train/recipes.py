"""Named training recipes: optimizer, learning-rate schedule, weight decay, batch size.

- ``"paper-cifar"``: He et al. 2015, Section 4.2. SGD, momentum 0.9, weight decay 1e-4,
  batch 128, lr 0.1 divided by 10 at 32k and 48k iterations, stop at 64k. A shorter run keeps
  the shape: the drops fall at 50% and 75% of its iterations. Another batch size scales the
  lr linearly, 0.1 x batch / 128 (Goyal et al. 2017): on digits, batch 32 at lr 0.1 (four
  times the paper's lr per image) left ResNet-56 at 6-36% training error after 8 epochs, while
  lr 0.025 brought it to 0.0% (benchmarks/degradation_digits.md). ResNet-110 (and deeper) first
  warms up at lr 0.01 "until the training error is below 80% (about 400 iterations)"; here the
  warm-up is the iteration count, 400/64k of the run (at least one step), so that it is part
  of the schedule and survives a resume. Which nets warm up is ``Recipe.warmup_min_depth``
  (110), applied to the model's depth however it is given (``fit`` reads it from a preset
  name or counts a built model's weighted layers, ``resnet_lib.train.arguments.model_depth``);
  ``fit(warmup=True / False)`` overrides the rule (``Recipe.warms_up``).
- ``"voc"``: a from-scratch recipe for Pascal VOC (no paper gives one): SGD with Nesterov
  momentum, lr 0.1 per 256 images with linear warm-up over 5% of the run, then cosine decay to
  zero (Goyal et al. 2017; Loshchilov and Hutter 2017); weight decay 1e-4; label smoothing 0.1
  when each image has a single label (Szegedy et al. 2016).
- ``"seed"``: the recipe of the blog post the book starts from, kept to replicate its
  underfitting: Adam at Keras' default lr 1e-3, no schedule, no weight decay, batch 32, 60 epochs.

Weight decay as the paper means it
----------------------------------
The paper (and Caffe, where it was trained) adds ``weight_decay * w`` to the gradient of every
weight before the momentum update: an L2 penalty ``weight_decay / 2 * ||w||^2`` in the loss.
``Recipe.weight_decay`` is that coefficient and goes to the model, whose kernels carry
``keras.regularizers.L2(weight_decay / 2)`` (``build_model(..., weight_decay=...)``); BN scale
and shift are not decayed. Keras optimizers' own ``weight_decay=`` argument is different: it
is *decoupled* (Loshchilov and Hutter, "AdamW"): each step shrinks ``w <- w - lr * wd * w``
beside the update, so momentum and adaptive scaling never see it, and it decays every variable
(BN included) unless told otherwise. With SGD and momentum ``m`` the coupled term passes
through the momentum buffer, which in steady state multiplies it by ``1 / (1 - m)``: the
paper's 1e-4 at m = 0.9 acts roughly like a decoupled ``wd`` of 1e-3, exactly only while the
weights change slowly. With Adam the two differ in kind (the coupled term is divided by the
gradient's running scale), which is why AdamW exists. The recipes never set the optimizer's
decoupled ``weight_decay``.
"""

from __future__ import annotations

import dataclasses
import math

import keras

from resnet_lib.reference import CIFAR_SCHEDULE, PAPER_EPOCHS

__all__ = ["Recipe", "RECIPES", "PAPER_EPOCHS", "get_recipe", "PaperStepSchedule", "WarmupCosineSchedule"]

_PAPER = CIFAR_SCHEDULE.value  # Section 4.2, as numbers (resnet_lib.reference)
PAPER_ITERATIONS = _PAPER["iterations"]  # "terminate training at 64k iterations"
PAPER_WARMUP_ITERATIONS = _PAPER["warmup_iterations"]  # "about 400 iterations" at lr 0.01 for ResNet-110


@keras.saving.register_keras_serializable(package="resnet_lib")
class PaperStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Step schedule with an optional constant warm-up: the paper's CIFAR schedule.

    ``lr(step) = warmup_lr`` for ``step < warmup_steps``, else ``base_lr * factor**k`` with k
    the number of ``boundaries`` (iterations) already passed.
    """

    def __init__(self, base_lr, boundaries, *, factor=0.1, warmup_lr=None, warmup_steps=0):
        self.base_lr = float(base_lr)
        self.boundaries = [int(b) for b in boundaries]
        self.factor = float(factor)
        self.warmup_lr = None if warmup_lr is None else float(warmup_lr)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        k = keras.ops.zeros((), "float32")
        for boundary in self.boundaries:
            k = k + keras.ops.cast(step >= boundary, "float32")
        lr = self.base_lr * keras.ops.power(self.factor, k)
        if self.warmup_lr is not None and self.warmup_steps > 0:
            lr = keras.ops.where(step < self.warmup_steps, self.warmup_lr, lr)
        return lr

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "boundaries": self.boundaries,
            "factor": self.factor,
            "warmup_lr": self.warmup_lr,
            "warmup_steps": self.warmup_steps,
        }


@keras.saving.register_keras_serializable(package="resnet_lib")
class WarmupCosineSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``base_lr`` over ``warmup_steps``, then cosine decay to 0."""

    def __init__(self, base_lr, total_steps, *, warmup_steps=0):
        self.base_lr = float(base_lr)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.base_lr * (step + 1.0) / max(self.warmup_steps, 1)
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = keras.ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        cosine = 0.5 * self.base_lr * (1.0 + keras.ops.cos(math.pi * progress))
        return keras.ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return {"base_lr": self.base_lr, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything about a training run that is not the model or the data."""

    name: str
    optimizer: str  # "sgd" | "adam"
    base_lr: float  # peak learning rate (at lr_batch images per step when lr_scaling="linear")
    batch_size: int  # the recipe's mini-batch (global, over all replicas)
    epochs: int  # default run length when the caller gives none
    momentum: float = 0.0  # SGD momentum
    nesterov: bool = False
    weight_decay: float = 0.0  # coupled L2 coefficient, applied by the model (see module doc)
    schedule: str = "constant"  # "step" | "cosine" | "constant"
    boundaries: tuple = ()  # for "step": fractions of the run where lr *= factor
    factor: float = 0.1
    warmup_lr: float | None = None  # for "step": constant lr before warmup_fraction of the run
    warmup_fraction: float = 0.0  # for "step" and "cosine": share of the run spent warming up
    warmup_min_depth: int | None = None  # warm up only nets at least this deep (None: every net)
    label_smoothing: float = 0.0  # single-label only
    lr_scaling: str = "none"  # "linear": base_lr * batch_size / lr_batch (Goyal et al. 2017)
    lr_batch: int = 256  # the batch size that base_lr is quoted for, when lr_scaling="linear"
    augment: bool = True  # the dataset's standard augmentation, where it has one
    description: str = ""

    def learning_rate(self, batch_size: int) -> float:
        """The peak learning rate for ``batch_size`` images per step."""
        if self.lr_scaling == "linear":
            return self.base_lr * batch_size / self.lr_batch
        return self.base_lr

    def warms_up(self, *, depth: int | None = None, warmup: bool | None = None) -> bool:
        """Whether a run warms up: ``warmup`` when given (True needs a recipe with a warm-up),
        else the recipe's rule: always, or, with ``warmup_min_depth``, for nets at least that
        deep (ResNet-110 and deeper in "paper-cifar"; ``depth`` None is not deep enough)."""
        if self.warmup_fraction <= 0:
            if warmup:
                raise ValueError(f"recipe {self.name!r} has no warm-up (warmup_fraction is 0); warmup=True "
                                 "cannot apply")
            return False
        if warmup is not None:
            return bool(warmup)
        return self.warmup_min_depth is None or (depth is not None and depth >= self.warmup_min_depth)

    def warmup_steps(self, total_steps: int, *, depth: int | None = None, warmup: bool | int | None = None) -> int:
        """Warm-up iterations for a run of ``total_steps`` (``warms_up``); 0 without one.

        ``warmup`` a whole number (not a bool): warm up for that many iterations, whatever the
        depth, as Section 4.2 states it ("about 400 iterations") rather than as a fraction of
        the run; a short run of deep nets needs the absolute length (``resnet_lib.fig6``).
        """
        if not self.warms_up(depth=depth, warmup=warmup):
            return 0
        if not isinstance(warmup, bool) and isinstance(warmup, int):
            return min(int(warmup), int(total_steps))
        return max(1, round(self.warmup_fraction * total_steps))

    def schedule_for(self, total_steps: int, *, batch_size: int, depth: int | None = None,
                     learning_rate: float | None = None, warmup: bool | None = None):
        """The learning rate (a float or a LearningRateSchedule) for a run of ``total_steps``.

        ``learning_rate`` overrides the recipe's peak rate (for experiments and tests);
        ``depth`` and ``warmup`` decide the warm-up (``warms_up``).
        """
        if total_steps < 1:
            raise ValueError(f"recipe {self.name!r}: total_steps={total_steps} must be >= 1")
        lr = self.learning_rate(batch_size) if learning_rate is None else float(learning_rate)
        warmup = self.warmup_steps(total_steps, depth=depth, warmup=warmup)
        if self.schedule == "constant":
            return lr
        if self.schedule == "step":
            boundaries = [max(1, round(f * total_steps)) for f in self.boundaries]
            # The warm-up keeps its ratio to the peak (0.01 / 0.1 in the paper) when lr scales.
            warmup_lr = self.warmup_lr * lr / self.base_lr if warmup else None
            return PaperStepSchedule(
                lr, boundaries, factor=self.factor, warmup_lr=warmup_lr, warmup_steps=warmup,
            )
        if self.schedule == "cosine":
            return WarmupCosineSchedule(lr, total_steps, warmup_steps=warmup)
        raise ValueError(f"recipe {self.name!r}: schedule={self.schedule!r}; expected step, cosine or constant")

    def make_optimizer(self, total_steps: int, *, batch_size: int, depth: int | None = None,
                       learning_rate: float | None = None, warmup: bool | None = None
                       ) -> keras.optimizers.Optimizer:
        """A fresh optimizer with this recipe's schedule; weight decay is *not* set here."""
        lr = self.schedule_for(total_steps, batch_size=batch_size, depth=depth, learning_rate=learning_rate,
                               warmup=warmup)
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate=lr, momentum=self.momentum, nesterov=self.nesterov)
        if self.optimizer == "adam":
            return keras.optimizers.Adam(learning_rate=lr)
        raise ValueError(f"recipe {self.name!r}: optimizer={self.optimizer!r}; expected sgd or adam")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, payload: dict) -> "Recipe":
        """The recipe of ``to_dict`` (as config.json records it)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in payload.items() if k in known}
        if "boundaries" in values:
            values["boundaries"] = tuple(values["boundaries"])
        return cls(**values)


RECIPES = {
    "paper-cifar": Recipe(
        name="paper-cifar",
        optimizer="sgd",
        base_lr=_PAPER["lr"],
        batch_size=_PAPER["batch"],
        epochs=PAPER_EPOCHS,  # 64k iterations of 128 images over 45k: ~182 epochs
        momentum=0.9,
        weight_decay=1e-4,
        schedule="step",
        boundaries=tuple(drop / PAPER_ITERATIONS for drop in _PAPER["lr_drops"]),
        factor=0.1,
        warmup_lr=_PAPER["warmup_lr"],
        warmup_fraction=PAPER_WARMUP_ITERATIONS / PAPER_ITERATIONS,
        warmup_min_depth=110,
        lr_scaling="linear",
        lr_batch=_PAPER["batch"],
        description="He et al. 2015 Sec. 4.2: SGD 0.9, wd 1e-4, lr 0.1 x batch/128, /10 at 50% and 75% of the run",
    ),
    "voc": Recipe(
        name="voc",
        optimizer="sgd",
        base_lr=0.1,
        batch_size=64,
        epochs=90,
        momentum=0.9,
        nesterov=True,
        weight_decay=1e-4,
        schedule="cosine",
        warmup_fraction=0.05,
        label_smoothing=0.1,
        lr_scaling="linear",
        description="from scratch on VOC: SGD-Nesterov, lr 0.1 x batch/256, 5% warm-up, cosine, wd 1e-4, smoothing 0.1",
    ),
    "seed": Recipe(
        name="seed",
        optimizer="adam",
        base_lr=1e-3,
        batch_size=32,
        epochs=60,
        description="the source blog: Adam 1e-3, constant, no weight decay, batch 32, 60 epochs",
    ),
}


def get_recipe(recipe) -> Recipe:
    """A ``Recipe`` from its name (see ``RECIPES``) or the recipe itself."""
    if isinstance(recipe, Recipe):
        return recipe
    try:
        return RECIPES[str(recipe)]
    except KeyError:
        raise ValueError(f"recipe={recipe!r} is unknown; expected one of {sorted(RECIPES)} or a Recipe") from None
