"""Published numbers the book compares against, as data, each with its source.

He, Zhang, Ren, Sun 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385),
and public reproductions of it. A chapter or a test that quotes one of these imports it from
here, so that each number is typed once, next to where it comes from.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Cited", "TABLE6", "TABLE6_REPRODUCTION", "CIFAR_RECIPE", "PAPER"]

PAPER = "He, Zhang, Ren, Sun 2015, arXiv:1512.03385"


@dataclasses.dataclass(frozen=True)
class Cited:
    """A published value and where it was published."""

    value: object
    source: str


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
