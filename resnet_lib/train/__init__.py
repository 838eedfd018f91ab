"""Training: the paper's recipes, resumable runs, mixed precision and data parallelism.

He et al. 2015, Section 3.4 (ImageNet) and Section 4.2 (CIFAR-10) give the recipes; this
package runs them on any resnet_lib model and dataset:

- ``recipes``: "paper-cifar", "voc", "seed" as ``Recipe`` data, schedules scaled to the run.
- ``config``: ``TrainConfig`` (with ``DataConfig``, ``RuntimeConfig``): a run's configuration as
  data, checked once, recorded in config.json, compared on resume.
- ``fit``: the per-epoch loop around ``keras.Model.fit`` with checkpoints and resume.
- ``arguments``: a model's preset family and depth.
- ``network``: the model a run trains, built or given, compiled with the recipe.
- ``evaluation``: single-label error and multi-label VOC mAP (``evaluate_multilabel``).
- ``resume``: reloading the last committed epoch, and the best record kept in step.
- ``summary``: final.json as ``FinalSummary``.
- ``rundir``: the run directory's files, written atomically, locked, checked on resume.
- ``runtime``: precision policy, XLA, MirroredStrategy / DataParallel.
- ``sources``: resnet_lib.data datasets behind one interface.
- ``torch_layout``: Keras' torch backend without layout copies (the fast CPU path).

Command line: ``python -m resnet_lib.train --model resnet20 --data digits --epochs 4 --run-dir DIR``.
"""

from resnet_lib.train.config import ConfigError, DataConfig, RuntimeConfig, TrainConfig
from resnet_lib.train.evaluation import MultiLabelEvaluation, evaluate_multilabel
from resnet_lib.train.fit import (ChanceLevelWarning, FinalSummary, FitArgumentError, FitResult,
                                  TrainingDivergedError, fit)
from resnet_lib.train.recipes import RECIPES, Recipe, get_recipe
from resnet_lib.train.rundir import ConfigMismatchError, RunDir, RunDirBusyError, RunDirError

__all__ = [
    "ChanceLevelWarning",
    "ConfigError",
    "ConfigMismatchError",
    "DataConfig",
    "FinalSummary",
    "FitArgumentError",
    "FitResult",
    "MultiLabelEvaluation",
    "RECIPES",
    "Recipe",
    "RunDir",
    "RunDirBusyError",
    "RunDirError",
    "RuntimeConfig",
    "TrainConfig",
    "TrainingDivergedError",
    "evaluate_multilabel",
    "fit",
    "get_recipe",
]
