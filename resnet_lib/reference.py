"""Published numbers the book and the tests compare against, as data, each with its source.

He, Zhang, Ren, Sun 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385),
the standard implementations that reproduce it (keras.applications, torchvision), Pascal
VOC2012, Veit et al. 2016, the seed blog post the book starts from, and the speed anchors the
book quotes. A chapter or a test that quotes one of these imports it from here, so that each
number is typed once, next to where it comes from. Like pycls's model-zoo tables, the values
are plain data; ``entries()`` lists every entry with its source (the book's "Sources of the
numbers" page is generated from it).

Every value is a ``Cited(value, source)``; ``TABLE6`` is a dict of them, one per depth.
Errors and accuracies are in percent, as published.
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "Cited", "PAPER", "entries",
    # He et al. 2015
    "TABLE1", "TABLE2", "TABLE3", "TABLE6", "TABLE6_REPRODUCTION", "CIFAR_RECIPE", "CIFAR_SCHEDULE",
    "PAPER_EPOCHS", "CIFAR_ARCHITECTURE",
    "SHORTCUT_OPTIONS", "PLAIN110_TRAIN_ERROR", "EXACT_V1_MULTIPLY_ADDS",
    # implementations
    "TORCHVISION_PARAMS", "TORCHVISION_GFLOPS", "KERAS_APPLICATIONS_PARAMS", "CIFAR_OPTION_A_PARAMS",
    "V15_TRADE",
    # Veit et al. 2016
    "VEIT_GRADIENT_PATHS",
    # the seed blog
    "SEED_SETUP", "SEED_RESULTS", "SEED_DEFECTS", "SEED_PARAMS",
    # Pascal VOC2012
    "VOC2012_SPLITS", "VOC2012_ARCHIVE", "VOC_CONTEXT_MAP",
    # speed anchors
    "GPU_PEAK_TFLOPS", "MLPERF_RESNET50", "DLE_RESNET50_A100", "TF_TUTORIAL_PIPELINE",
]

PAPER = "He, Zhang, Ren, Sun 2015, arXiv:1512.03385"
PAPER_2016 = "He, Zhang, Ren, Sun 2016, arXiv:1603.05027"
VEIT = "Veit, Wilber, Belongie 2016, arXiv:1605.06431"
SEED = "the seed blog post \"ResNet网络详解与keras实现\" (Keras 2)"
VOC_DEVKIT = "Pascal VOC2012 devkit documentation (Everingham et al. 2010)"


@dataclasses.dataclass(frozen=True)
class Cited:
    """A published value and where it was published."""

    value: object
    source: str


# --- He et al. 2015 ---------------------------------------------------------------------------

# Table 1: the ImageNet family at 224x224; "FLOPs" count one multiply-add as one.
TABLE1 = Cited(
    {
        18: {"block": "basic", "blocks": (2, 2, 2, 2), "flops": 1.8e9},
        34: {"block": "basic", "blocks": (3, 4, 6, 3), "flops": 3.6e9},
        50: {"block": "bottleneck", "blocks": (3, 4, 6, 3), "flops": 3.8e9},
        101: {"block": "bottleneck", "blocks": (3, 4, 23, 3), "flops": 7.6e9},
        152: {"block": "bottleneck", "blocks": (3, 8, 36, 3), "flops": 11.3e9},
    },
    f"{PAPER}, Table 1",
)

# Table 2: ImageNet top-1 error (%), 10-crop testing; ResNets with option A.
TABLE2 = Cited({"plain-18": 27.94, "plain-34": 28.54, "ResNet-18": 27.88, "ResNet-34": 25.03},
               f"{PAPER}, Table 2")

# Table 3: ImageNet (top-1, top-5) error (%), 10-crop testing.
TABLE3 = Cited(
    {
        "plain-34": (28.54, 10.02),
        "ResNet-34 A": (25.03, 7.76),
        "ResNet-34 B": (24.52, 7.46),
        "ResNet-34 C": (24.19, 7.40),
        "ResNet-50": (22.85, 6.71),
        "ResNet-101": (21.75, 6.05),
        "ResNet-152": (21.43, 5.71),
    },
    f"{PAPER}, Table 3",
)

# Table 6: CIFAR-10 test error (%) of the option-A ResNets; parameters in millions.
TABLE6 = {
    20: Cited({"params_m": 0.27, "test_error": 8.75}, f"{PAPER}, Table 6"),
    32: Cited({"params_m": 0.46, "test_error": 7.51}, f"{PAPER}, Table 6"),
    44: Cited({"params_m": 0.66, "test_error": 7.17}, f"{PAPER}, Table 6"),
    56: Cited({"params_m": 0.85, "test_error": 6.97}, f"{PAPER}, Table 6"),
    110: Cited({"params_m": 1.7, "test_error": 6.43, "mean": 6.61, "std": 0.16},
               f"{PAPER}, Table 6 (best of 5 runs; mean 6.61 +- 0.16)"),
    1202: Cited({"params_m": 19.4, "test_error": 7.93}, f"{PAPER}, Table 6"),
}

# An independent rerun of the paper's CIFAR-10 recipe (Torch), test error %.
TABLE6_REPRODUCTION = Cited(
    {20: 8.29, 32: 7.63, 44: 7.14, 56: 6.94, 110: 6.73},
    "gcr/torch-residual-networks (README results table)",
)

CIFAR_RECIPE = Cited(
    "45k/5k train/val split, per-pixel mean subtracted, 4-pixel pad + random 32x32 crop + "
    "horizontal flip, batch 128, SGD momentum 0.9, weight decay 1e-4, lr 0.1 divided by 10 "
    "at 32k and 48k iterations, stop at 64k; ResNet-110 warms up at lr 0.01 until training "
    "error is below 80% (about 400 iterations)",
    f"{PAPER}, Section 4.2",
)

# The same schedule as numbers: the recipes (train/recipes.py) and the records read these.
CIFAR_SCHEDULE = Cited(
    {"iterations": 64_000, "lr_drops": (32_000, 48_000), "batch": 128, "train_images": 45_000,
     "lr": 0.1, "warmup_lr": 0.01, "warmup_iterations": 400},
    f"{PAPER}, Section 4.2",
)
# 64k iterations of 128 images over 45k training images: the paper's run in epochs (182)
PAPER_EPOCHS = round(CIFAR_SCHEDULE.value["iterations"] * CIFAR_SCHEDULE.value["batch"]
                     / CIFAR_SCHEDULE.value["train_images"])

CIFAR_ARCHITECTURE = Cited(
    {"stem": "3x3 conv, 16 filters", "maps": (32, 16, 8), "filters": (16, 32, 64),
     "layers": "6n + 2", "head": "global average pool, 10-way fc"},
    f"{PAPER}, Section 4.2",
)

SHORTCUT_OPTIONS = Cited(
    {"A": "identity; extra channels zero-padded, stride-2 subsampling; no parameters",
     "B": "projection (1x1 conv + BN) where dimensions increase, identity elsewhere",
     "C": "every shortcut a projection"},
    f"{PAPER}, Section 3.3 and Table 3",
)

# Section 4.2: "the 110-layer plain net ... has >60% error" (training error, Fig. 6 left).
PLAIN110_TRAIN_ERROR = Cited(60, f"{PAPER}, Section 4.2 and Fig. 6 (left): above 60% training error")

# Exact multiply-adds of Table 1's v1 layout (stride in the first 1x1 of a bottleneck), 224x224.
EXACT_V1_MULTIPLY_ADDS = Cited(
    {50: 3.858e9, 101: 7.570e9, 152: 11.282e9},
    f"the layer shapes of {PAPER}, Table 1, counted exactly (convolutions and fc, v1 layout)",
)

# --- standard implementations ------------------------------------------------------------------

# Parameters only: BN running statistics are buffers, so these compare with trainable weights.
TORCHVISION_PARAMS = Cited(
    {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808},
    "torchvision.models documentation (resnet18..resnet152, IMAGENET1K_V1 weights, num_params)",
)

# torchvision's ResNets are "v1.5": the stride of a downsampling bottleneck sits in its 3x3.
TORCHVISION_GFLOPS = Cited(
    {18: 1.814, 34: 3.664, 50: 4.089, 101: 7.801},
    "torchvision.models documentation and weights metadata (resnet18..resnet101, IMAGENET1K_V1, GFLOPS)",
)

# weights=None; total weights (BN moving statistics included) unless the key says otherwise.
KERAS_APPLICATIONS_PARAMS = Cited(
    {50: 25_636_712, 101: 44_707_176, 152: 60_419_944, "50 trainable": 25_583_592,
     "50, classes=20": 23_628_692},
    "keras.applications ResNet50/101/152 (keras/src/applications/resnet.py), weights=None, 1000 classes",
)

CIFAR_OPTION_A_PARAMS = Cited(
    {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274},
    f"the option-A CIFAR ResNets of {PAPER}, Section 4.2, counted exactly (Table 6 rounds them)",
)

V15_TRADE = Cited(
    {"top1_gain_pct": 0.5, "throughput_loss_pct": 5},
    "NVIDIA DeepLearningExamples, ResNet-50 v1.5 README (PyTorch/Classification/ConvNets)",
)

# --- Veit et al. 2016 --------------------------------------------------------------------------

VEIT_GRADIENT_PATHS = Cited(
    {"blocks": 54, "shortest": 5, "longest": 17, "share_of_paths_pct": 0.45},
    f"{VEIT}, Section 6: almost all gradient of a 54-block ResNet comes from paths 5-17 blocks long",
)

# --- the seed blog -----------------------------------------------------------------------------

SEED_SETUP = Cited(
    "Keras 2, ResNet-34 (basic blocks) and ResNet-50 (bottleneck) from scratch on VOC2012, "
    "images sorted into 20 class folders, random 8:1:1 split, 224x224, ImageDataGenerator "
    "(shift 0.1, shear 0.1, zoom 0.1, horizontal flip, rescale 1/255), batch 32, Adam, 60 "
    "epochs, accuracy and top-5 accuracy, save/resume from resnet_50.h5",
    f"{SEED}, its code",
)

# Accuracies in %, after 60 epochs of the seed's ResNet-50.
SEED_RESULTS = Cited(
    {"epochs": 60,
     "train": {"loss": 1.85, "accuracy": 39.9, "top5": 85.3},
     "val": {"loss": 2.01, "accuracy": 36.6, "top5": 82.0},
     "test": {"loss": 2.08, "accuracy": 35.7, "top5": 78.1}},
    f"{SEED}, its reported training log",
)

SEED_DEFECTS = Cited(
    {1: "Conv2D(activation='relu') then BatchNormalization: conv -> ReLU -> BN; the residual "
        "branch ends in ReLU + BN and no ReLU follows the addition",
     2: "ResNet-34's projection shortcut uses a 3x3 kernel (the paper's is 1x1)",
     3: "validation and test generators are built like the training generator: evaluated "
        "images are augmented",
     4: "VOC is multi-label; one folder per class drops labels or copies an image into several "
        "folders, which a random split can leak across train and test",
     5: "AveragePooling2D(7x7) + Flatten ties the head to 224x224 input",
     6: "Python 2 prints, fit_generator/evaluate_generator and ImageDataGenerator do not run on "
        "Keras 3 as written",
     7: "Adam with no schedule and no weight decay for 60 epochs: the net underfits",
     8: "resuming from resnet_50.h5 restores the weights but restarts the 60-epoch count"},
    f"{SEED}, its code, read against {PAPER}",
)

# Weights of the seed's networks with 20 classes, counted on the post's Keras code.
SEED_PARAMS = Cited(
    {"ResNet-34": 22_696_724, "ResNet-50": 23_628_692},
    f"{SEED}, its networks built and counted (20 classes); ResNet-50 equals "
    "keras.applications.ResNet50(classes=20)",
)

# --- Pascal VOC2012 ----------------------------------------------------------------------------

VOC2012_SPLITS = Cited(
    {"train": 5_717, "val": 5_823, "trainval": 11_540, "trainval_objects": 27_450,
     "jpeg_images": 17_125, "classes": 20, "test_labels_public": False},
    f"{VOC_DEVKIT}, classification/detection (Main) statistics",
)

VOC2012_ARCHIVE = Cited(
    {"file": "VOCtrainval_11-May-2012.tar", "bytes": 1_999_639_040,
     "md5": "6cd6e144f989b92b3379bac3b3de84fd",
     "url": "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"},
    "Pascal VOC2012 download page (host.robots.ox.ac.uk)",
)

# Multi-label mAP (%) with ImageNet-pretrained ResNets, for scale.
VOC_CONTEXT_MAP = Cited(
    {"ResNet-50 fine-tuned, VOC2007": 86, "VOC2012 leaderboard, best entries": (93, 95)},
    "published VOC2007 fine-tuning results; the VOC2012 classification leaderboard (host.robots.ox.ac.uk)",
)

# --- speed anchors -----------------------------------------------------------------------------

GPU_PEAK_TFLOPS = Cited(
    {"H100 SXM, dense bf16": 989, "A100, dense bf16": 312, "T4, dense fp16": 65},
    "NVIDIA H100, A100 and T4 datasheets",
)

MLPERF_RESNET50 = Cited(
    {"gpus": "8x H100", "minutes": 13.27, "top1_pct": 75.9, "img_per_s_per_gpu": 7_160},
    "MLCommons MLPerf Training v4.0 results, ResNet-50 (MXNet, DALI, fp16)",
)

DLE_RESNET50_A100 = Cited(
    {"TF1 + XLA": 2_375, "PyTorch": 2_470, "MXNet": 3_410},
    "NVIDIA DeepLearningExamples, ResNet-50 v1.5 training throughput, 1x A100, mixed precision (img/s)",
)

# 224x224 images per second from one folder tree, the tutorial's own machine.
TF_TUTORIAL_PIPELINE = Cited(
    {"ImageDataGenerator.flow_from_directory": 410, "tf.data": 1_455, "tf.data, cached in memory": 4_383},
    "TensorFlow tutorial \"Load and preprocess images\" (tensorflow.org)",
)


def entries() -> dict[str, Cited]:
    """Every entry of this module by its name (``TABLE6[20]`` for a depth of Table 6), in order."""
    found = {}
    for name in __all__:
        value = globals()[name]
        if isinstance(value, Cited):
            found[name] = value
        elif isinstance(value, dict) and value and all(isinstance(v, Cited) for v in value.values()):
            found.update({f"{name}[{key}]": cited for key, cited in value.items()})
    return found
