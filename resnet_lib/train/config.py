"""A run's configuration as data: ``TrainConfig`` = model, recipe, length and seed, with a
``DataConfig`` and a ``RuntimeConfig`` inside; every option of ``fit`` and of the command line
is one field here, typed once, with its default and the reason for it beside it.

- ``TrainConfig.replace(**options)`` sets fields by name, nested ones included
  (``replace(epochs=4, limit=300, jit="off")``); an unknown name raises ``ConfigError`` naming
  it and the closest field.
- ``TrainConfig.check(model=..., data=...)`` is the one validation: it raises ``ConfigError``
  (``.field``: the field's name; ``.flag``: the command line's option) before anything is
  written, for a value that cannot work and for an option that does not apply to the model or
  data it came with.
- ``resolved(...)`` fills the defaults that depend on the recipe and data (the recipe's epochs
  and batch, VOC's label mode, the synthetic VOC's size); ``to_dict()`` is what a run directory's
  ``config.json`` records, ``from_dict()`` reads it back (also the flat form that runs before
  this module wrote), and ``identity()`` is what resume compares: the fields that change the
  numbers a run produces, flattened (``learning_rate``, ``recipe.base_lr``).

The defaults and checks follow He et al. 2015 (Section 4.2 for the CIFAR-10 recipe, Table 1 for
the ImageNet presets); the reasons are in the comments.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing

import numpy as np

from resnet_lib.train.recipes import Recipe, get_recipe

__all__ = ["DATA_NAMES", "VOC_DATA", "DataConfig", "RuntimeConfig", "TrainConfig", "ConfigError",
           "field_names", "flag"]

DATA_NAMES = ("digits", "cifar10", "voc2012", "synthetic-voc")  # the datasets fit opens by name
VOC_DATA = ("voc2012", "synthetic-voc")  # multi-label Pascal VOC, real or drawn by the library
SYNTHETIC_IMAGES = 200  # data="synthetic-voc": images make_synthetic_voc writes by default
MODES = ("auto", "on", "off")


def _field(default, help: str, *, flag: str | None = None, choices=None, compare: bool = True, **kw):
    """A dataclass field with its command-line help, flag (default ``--name-with-dashes``),
    choices, and whether resume compares it (``compare``)."""
    metadata = {"help": help, "flag": flag, "choices": choices, "compare": compare, **kw}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class ConfigError(ValueError):
    """A configuration value is out of range or does not apply. ``field`` is its name (as
    ``fit`` and ``TrainConfig.replace`` spell it), ``flag`` the command line's option."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.argument = field  # the name older code and tests read
        self.flag = flag(field)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What the run trains on (``resnet_lib.train.sources.load_source``)."""

    # A dataset name (DATA_NAMES); fit(data=ImageSplits) records "<ImageSplits name>" here.
    name: str = _field("digits", "dataset", flag="--data", choices=DATA_NAMES)
    # cifar10 only: a local copy (official archive, its folder, an image tree or its .tar.gz);
    # None reads $RESNET_CIFAR10, else downloads (small_images.load_cifar10).
    data_source: str | None = _field(None, "cifar10: a local copy (cifar-10-python.tar.gz, its folder, "
                                     "or an image tree train/<class>/*, test/<class>/*, or its .tar.gz)")
    # Image side: None is the dataset's own (digits 16, VOC 224, synthetic VOC 64, CIFAR 32).
    image_size: int | None = _field(None, "image side (default: the dataset's)", low=8)
    # A fixed random sample of this many images per split (None: all): for quick runs.
    limit: int | None = _field(None, "use a fixed random sample of N images per split", low=1)
    # Cap on the training steps per epoch (None: one pass over the training split).
    steps_per_epoch: int | None = _field(None, "cap the training steps per epoch", low=1)
    # None: the dataset's standard augmentation (CIFAR-10 pad-4 crop and flip, Section 4.2;
    # none for digits, where a flip makes another symbol; VOC's affine jitter). "model": the
    # same preprocessing as layers in front of the network (run on the accelerator).
    augment: bool | str | None = _field(None, "augmentation: the dataset's standard, on, off, or in the model",
                                        flag="--augment")
    # VOC only: "multi" (sigmoid, mAP; VOC is multi-label) or "single" (largest object, softmax).
    label_mode: str | None = _field(None, "VOC only: labels (default multi)", choices=("multi", "single"))
    # synthetic-voc only: how many images make_synthetic_voc draws (default SYNTHETIC_IMAGES).
    synthetic_images: int | None = _field(None, "synthetic-voc only: images to draw (default 200)", low=2)
    # Where VOC is downloaded or drawn (default ./data_cache); where it is does not change a result.
    data_dir: str | None = _field(None, "where VOC is downloaded or generated (default ./data_cache)",
                                  compare=False)


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes (``resnet_lib.train.runtime``): nothing here changes the recipe."""

    # "auto": bf16 (fp16 before Ampere) on a GPU, float32 on a CPU (Micikevicius et al. 2018).
    # The resolved policy is pinned on resume (it changes the numbers).
    mixed_precision: str = _field("auto", "auto: bf16/fp16 on a GPU, float32 on a CPU", choices=MODES,
                                  compare=False)
    # XLA: "auto" compiles on a GPU with TensorFlow; JAX always compiles. Pinned on resume.
    jit: str = _field("auto", "XLA compilation (auto: on a GPU)", choices=MODES, compare=False)
    # "auto": every GPU when there are several; "all": every device, CPUs included; "off": one.
    distribute: str = _field("auto", "auto: all GPUs if several; all: every device incl. CPUs; off: one "
                             "device", choices=("auto", "all", "off"), compare=False)
    # Training steps per compiled call (Model.compile): fewer host round trips on a GPU.
    steps_per_execution: int = _field(1, "training steps per compiled call", low=1, compare=False)
    # TensorBoard event files in <run_dir>/logs, when TensorFlow and TensorBoard are installed.
    tensorboard: bool = _field(True, "write TensorBoard logs", compare=False)
    # Epoch checkpoints kept (full model and optimizer); the best-on-validation one is apart.
    keep_checkpoints: int = _field(2, "epoch checkpoints kept", low=1, compare=False)
    # 0 silent, 1 one line per epoch, 2 adds Keras' progress bar.
    verbose: int = _field(1, "0 silent, 1 a line per epoch, 2 adds Keras' progress bar", choices=(0, 1, 2),
                          compare=False)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run: the model, the recipe and how long, the data, and the runtime."""

    # A preset (resnet20/32/44/56/110/1202, resnet18..152, plain<depth>); fit(model=keras.Model)
    # records "<keras.Model name, N params>" here.
    model: str = _field("resnet20", "preset: resnet20/32/44/56/110/1202, resnet18..152, plain<depth>")
    # "paper-cifar" (Section 4.2), "voc" or "seed" (train/recipes.py), or a Recipe.
    recipe: str | Recipe = _field("paper-cifar", "named recipe (train/recipes.py)",
                                  choices=("paper-cifar", "seed", "voc"))
    # None: the recipe's (paper-cifar: 182, the paper's 64k iterations over 45k images).
    epochs: int | None = _field(None, "epochs (default: the recipe's)", low=1)
    # Global batch; None: the recipe's (paper-cifar: 128). The lr scales with it where the
    # recipe says so (Goyal et al. 2017).
    batch_size: int | None = _field(None, "global batch (default: the recipe's)", low=1)
    # The peak learning rate; None: the recipe's for this batch size.
    learning_rate: float | None = _field(None, "peak learning rate (default: the recipe's)", flag="--lr")
    # None: the recipe's rule (paper-cifar warms ResNet-110 and deeper up at lr 0.01 for 400 of
    # 64k iterations, Section 4.2, scaled to the run); True / False: warm up or not, whatever
    # the depth; a number: warm up for that many iterations (the paper's "about 400"), any depth.
    warmup: bool | int | None = _field(None, "auto: the recipe's rule (paper-cifar: 110 layers and deeper); "
                                       "on, off, or a number of iterations")
    # Seeds the initial weights, every epoch's order and augmentation (train/sources.epoch_seed).
    seed: int = _field(0, "seed of weights, order and augmentation")
    # Also measure test error after each epoch, for the paper's curves (never used to choose).
    test_curve: bool = _field(True, "measure the test error after every epoch (the paper's curves)")
    # Preset options passed to build_model: shortcut "A"/"B"/"C", preact, stride_at, ...
    model_options: dict = _field({}, "preset options, KEY=VALUE (shortcut=B preact=true)")
    # An ImageNet preset (7x7 stem, max pool) on 32 px images is refused unless asked for.
    allow_imagenet_stem: bool = _field(False, "train an ImageNet preset on digits or CIFAR-10 anyway",
                                       compare=False)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    # ------------------------------------------------------------------ building
    def replace(self, **options) -> "TrainConfig":
        """A copy with ``options`` set, each a field name of this class, ``DataConfig`` or
        ``RuntimeConfig`` (``data`` names the dataset, as ``fit``'s argument does)."""
        top, data, runtime = {}, {}, {}
        homes = _homes()
        for name, value in options.items():
            if name == "data" and isinstance(value, DataConfig):
                top["data"] = value
            elif name == "runtime" and isinstance(value, RuntimeConfig):
                top["runtime"] = value
            elif name == "data":
                data["name"] = value
            elif name not in homes:
                close = difflib.get_close_matches(name, list(homes) + ["data"], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(name, f"{name!r} is not an option of a training run{hint} "
                                  f"(the options: {', '.join(sorted(homes))})")
            else:
                {"": top, "data": data, "runtime": runtime}[homes[name]][name] = value
        new = dataclasses.replace(self, **top)
        if data:
            new = dataclasses.replace(new, data=dataclasses.replace(new.data, **data))
        if runtime:
            new = dataclasses.replace(new, runtime=dataclasses.replace(new.runtime, **runtime))
        return new

    def get(self, name: str):
        """A field's value by its name, nested ones included (``get("limit")``)."""
        home = _homes().get(name)
        if home is None:
            raise ConfigError(name, f"{name!r} is not an option of a training run")
        return getattr(getattr(self, home) if home else self, name)

    # ------------------------------------------------------------------ checking
    def check(self, *, model=None, data=None) -> None:
        """Raise ``ConfigError`` for the first field that cannot work or does not apply.

        ``model``, ``data``: the objects ``fit`` got, when they are not names (a built
        ``keras.Model``, an ``ImageSplits``).
        """
        _check(self, model=model, data=data)

    def resolved(self, *, model=None, data=None) -> "TrainConfig":
        """The defaults that depend on the recipe and data filled in: what config.json records."""
        recipe = get_recipe(self.recipe)
        voc = self.data.name in VOC_DATA
        data_cfg = dataclasses.replace(
            self.data,
            label_mode=(self.data.label_mode or "multi") if voc else None,
            synthetic_images=(int(self.data.synthetic_images or SYNTHETIC_IMAGES)
                              if self.data.name == "synthetic-voc" else self.data.synthetic_images),
            data_source=None if self.data.data_source is None else str(self.data.data_source),
            data_dir=None if self.data.data_dir is None else str(self.data.data_dir))
        new = dataclasses.replace(self, recipe=recipe, epochs=int(self.epochs or recipe.epochs),
                                  batch_size=int(self.batch_size or recipe.batch_size), data=data_cfg,
                                  model_options=dict(self.model_options or {}))
        if model is not None and not isinstance(model, str):
            new = dataclasses.replace(new, model=f"<keras.Model {model.name}, {model.count_params()} params>")
        if data is not None and not isinstance(data, str):
            new = new.replace(data=f"<ImageSplits {getattr(data, 'name', '?')}>")
        return new

    # ------------------------------------------------------------------ as data
    def to_dict(self) -> dict:
        """Plain JSON types: the recipe as its dict, ``data`` and ``runtime`` nested."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Recipe):
                value = value.to_dict()
            elif dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, payload: dict) -> "TrainConfig":
        """The config of ``to_dict`` (or of a run directory's config.json written before this
        module, whose data options sit at the top level and whose ``data`` is a name)."""
        payload = dict(payload)
        data = payload.pop("data", None)
        data = dict(data) if isinstance(data, dict) else {"name": data if data is not None else "digits"}
        runtime = dict(payload.pop("runtime", None) or {})
        for name in field_names(DataConfig):
            if name in payload:
                data[name] = payload.pop(name)
        for name in field_names(RuntimeConfig):
            if name in payload:
                runtime[name] = payload.pop(name)
        recipe = payload.pop("recipe", "paper-cifar")
        if isinstance(recipe, dict):
            recipe = Recipe.from_dict(recipe)
        known = set(field_names(cls))
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ConfigError(unknown[0], f"config: unknown option(s) {', '.join(map(repr, unknown))}")
        return cls(recipe=recipe, data=DataConfig(**data), runtime=RuntimeConfig(**runtime),
                   **{k: v for k, v in payload.items()})

    def identity(self) -> dict:
        """What resume compares, flat: every field that changes the numbers a run produces
        (``compare`` in its metadata), the recipe as ``recipe.<field>`` without its prose,
        ``label_mode`` and ``synthetic_images`` only where they apply, a preset name in lower
        case, and a learning rate equal to the recipe's default for the batch as None."""
        flat = {}
        for obj in (self, self.data):
            for f in dataclasses.fields(obj):
                if not f.metadata.get("compare", False):
                    continue
                key = "data" if obj is self.data and f.name == "name" else f.name
                flat[key] = getattr(obj, f.name)
        recipe = get_recipe(self.recipe).to_dict()
        recipe.pop("description", None)
        flat.pop("recipe")
        flat.update({f"recipe.{k}": v for k, v in recipe.items()})
        if flat["data"] not in VOC_DATA:
            flat.pop("label_mode", None)
        if flat["data"] != "synthetic-voc":
            flat.pop("synthetic_images", None)
        if flat.get("data_source") is None:
            flat.pop("data_source", None)
        if isinstance(flat["model"], str) and not flat["model"].startswith("<"):
            flat["model"] = flat["model"].strip().lower()
        lr, batch = flat.get("learning_rate"), flat.get("batch_size")
        if lr is not None and batch:
            if math.isclose(float(lr), get_recipe(self.recipe).learning_rate(int(batch)), rel_tol=1e-12):
                flat["learning_rate"] = None
        return _jsonable(flat)


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))


def field_names(cls) -> list[str]:
    """The option names of a config class, nested ones excluded."""
    return [f.name for f in dataclasses.fields(cls) if f.name not in ("data", "runtime")]


def _homes() -> dict:
    """Option name -> where it lives: "" (TrainConfig), "data" or "runtime"."""
    homes = {name: "" for name in field_names(TrainConfig)}
    homes.update({name: "data" for name in field_names(DataConfig) if name != "name"})
    homes.update({name: "runtime" for name in field_names(RuntimeConfig)})
    return homes


def _metadata(name: str) -> dict:
    """The metadata of the field ``name`` (``data``: the dataset's name, ``DataConfig.name``)."""
    if name == "data":
        return dict(next(f for f in dataclasses.fields(DataConfig) if f.name == "name").metadata)
    for cls in (TrainConfig, DataConfig, RuntimeConfig):
        for f in dataclasses.fields(cls):
            if f.name == name and f.name not in ("data", "runtime", "name"):
                return dict(f.metadata)
    return {}


def flag(name: str) -> str:
    """A field as the command line spells it: ``learning_rate`` -> ``--lr``, ``batch_size`` ->
    ``--batch-size``, ``data`` -> ``--data``; ``recipe.base_lr`` -> ``--recipe (base_lr)``."""
    head, _, rest = name.partition(".")
    if head == "runtime" and "(" in name:  # "runtime.dtype_policy (mixed_precision)"
        return flag(name[name.index("(") + 1:-1])
    meta = _metadata(head)
    spelled = meta.get("flag") or ("--" + head.replace("_", "-") if meta else head)
    return f"{spelled} ({rest})" if rest else spelled


# ---------------------------------------------------------------------- the checks
def _integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check(config: TrainConfig, *, model, data) -> None:
    import keras

    from resnet_lib.models import STAGES, parse_preset

    family = depth = None
    if model is None or isinstance(model, str):
        name = config.model if model is None else model
        try:
            family, _, depth = parse_preset(name)
        except ValueError as err:
            raise ConfigError("model", f"model={name!r}: {err}") from None
    elif not isinstance(model, keras.Model):
        raise ConfigError("model", f"model={model!r}; expected a preset name or a keras.Model")
    try:
        recipe = get_recipe(config.recipe)
    except ValueError as err:
        raise ConfigError("recipe", str(err)) from None
    for cls, obj in ((TrainConfig, config), (DataConfig, config.data), (RuntimeConfig, config.runtime)):
        for f in dataclasses.fields(cls):
            value = getattr(obj, f.name)
            low, choices = f.metadata.get("low"), f.metadata.get("choices")
            label = "data" if cls is DataConfig and f.name == "name" else f.name
            if low is not None and value is not None and (not _integer(value) or value < low):
                extra = (" (the digits are 8x8; smaller images leave no room for the network's strides)"
                         if f.name == "image_size" else "")
                raise ConfigError(label, f"{label}={value!r}; expected an integer >= {low}{extra}")
            if (choices and value is not None and value not in choices and f.name != "recipe"
                    and not (label == "data" and data is not None)):
                if f.name in ("jit", "mixed_precision") and isinstance(value, bool):
                    continue
                raise ConfigError(label, f"{label}={value!r}; expected one of {', '.join(map(repr, choices))}")
    if config.learning_rate is not None:
        try:
            rate = float(config.learning_rate)
        except (TypeError, ValueError):
            rate = math.nan
        if not (math.isfinite(rate) and rate > 0):
            raise ConfigError("learning_rate", f"learning_rate={config.learning_rate!r}; expected a finite "
                              "number > 0 (None: the recipe's)")
    if not _integer(config.seed) or not 0 <= config.seed < 2**32:
        raise ConfigError("seed", f"seed={config.seed!r}; expected an integer in [0, 2**32)")
    augment = config.data.augment
    if augment not in (None, True, False, "model"):
        raise ConfigError("augment", f"augment={augment!r}; expected None, True, False or 'model'")
    if config.warmup not in (None, True, False) and not (_integer(config.warmup) and config.warmup >= 1):
        raise ConfigError("warmup", f"warmup={config.warmup!r}; expected None (the recipe's rule), True, False "
                          "or a number of iterations >= 1")
    if config.warmup not in (None, False) and recipe.warmup_fraction <= 0:
        raise ConfigError("warmup", f"warmup={config.warmup!r}, but recipe {recipe.name!r} has no warm-up "
                          "(Recipe.warmup_fraction is 0)")
    if not isinstance(config.model_options, dict):
        raise ConfigError("model_options", f"model_options={config.model_options!r}; expected a dict")

    # options that do not apply to this model or data
    name = config.data.name if data is None else data
    data_label = name if isinstance(name, str) else type(name).__name__
    voc = name in VOC_DATA
    if config.data.label_mode is not None and not voc:
        raise ConfigError("label_mode", f"label_mode={config.data.label_mode!r} applies to VOC data "
                          f"({', '.join(VOC_DATA)}) only, not data={data_label!r}")
    if config.data.synthetic_images is not None and name != "synthetic-voc":
        raise ConfigError("synthetic_images", f"synthetic_images={config.data.synthetic_images!r} applies to "
                          f"data='synthetic-voc' only, not data={data_label!r}")
    if config.data.data_source is not None and name != "cifar10":
        raise ConfigError("data_source", f"data_source={str(config.data.data_source)!r} applies to "
                          f"data='cifar10' only, not data={data_label!r}")
    if name == "cifar10" and config.data.image_size not in (None, 32):
        raise ConfigError("image_size", f"image_size={config.data.image_size!r}: data='cifar10' has "
                          "32x32 images")
    if config.model_options:
        if model is not None and not isinstance(model, str):
            raise ConfigError("model_options", f"model_options={config.model_options!r} apply to a preset "
                              f"name only; the built model {model.name!r} was built with its options "
                              "(build it with them instead)")
        block = "basic" if family == "cifar" else (STAGES[depth][0] if family == "imagenet" else None)
        if "stride_at" in config.model_options and block == "basic":
            raise ConfigError("model_options", f"model_options: stride_at={config.model_options['stride_at']!r} "
                              f"places the stride of a bottleneck block; {config.model!r} has basic blocks, "
                              "whose single strided 3x3 conv leaves nothing to choose")
    if family == "imagenet" and not voc and not config.allow_imagenet_stem:
        raise ConfigError("model", f"model={config.model if model is None else model!r} has the ImageNet "
                          f"stem (7x7 conv and max pool, Table 1), which shrinks data={data_label!r}'s small "
                          "images 4x before the first stage; Section 4.2 uses the CIFAR nets (resnet20, "
                          "resnet56, ...). Pass allow_imagenet_stem=True to train it anyway")


def annotation_type(cls, name: str):
    """The Python type a field's command-line value is parsed to (int, float, str, bool)."""
    hints = typing.get_type_hints(cls)
    hint = str(hints[name])
    for kind in (bool, int, float):
        if kind.__name__ in hint:
            return kind
    return str
