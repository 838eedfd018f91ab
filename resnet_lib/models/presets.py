"""Named presets: "resnet20", "plain56", "resnet50", ... -> a built model.

ImageNet depths (Table 1: 18, 34, 50, 101, 152) build ``imagenet_resnet``; any other 6n+2
depth builds ``cifar_resnet`` (Section 4.2). Two depths are both: 50 and 152 are also 6n+2,
and the bare names give the ImageNet nets; spell ``cifar-resnet50`` (or ``imagenet-resnet20``
is refused, as 20 is no Table 1 depth) to choose the family explicitly.
"""

from __future__ import annotations

import re

import keras

from resnet_lib.models.cifar import blocks_per_stage, cifar_resnet
from resnet_lib.models.imagenet import STAGES, imagenet_resnet

# The presets the book and the command line advertise; any other 6n+2 depth also works.
CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)
PRESETS = tuple(
    f"{kind}{depth}" for kind in ("resnet", "plain") for depth in (*sorted(STAGES), *CIFAR_DEPTHS)
)
_NAME = re.compile(r"^(?:(?P<family>imagenet|cifar)-)?(?P<kind>resnet|plain)(?P<depth>\d+)$")


def parse_preset(name: str) -> tuple[str, bool, int]:
    """``"plain56"`` -> ``("cifar", False, 56)``: family, residual, depth."""
    match = _NAME.match(str(name).strip().lower())
    if not match:
        raise ValueError(
            f"model name {name!r} is not a preset; expected resnet<depth> or plain<depth> "
            f"(optionally prefixed imagenet- or cifar-), e.g. {', '.join(PRESETS[:8])}"
        )
    depth = int(match["depth"])
    family = match["family"] or ("imagenet" if depth in STAGES else "cifar")
    if family == "imagenet" and depth not in STAGES:
        raise ValueError(f"model name {name!r}: ImageNet depth must be one of {sorted(STAGES)}")
    if family == "cifar":
        blocks_per_stage(depth)  # raises with the allowed depths
    return family, match["kind"] == "resnet", depth


def build_model(name: str, *, num_classes: int, input_shape, **options) -> keras.Model:
    """Build a preset; ``options`` go to ``imagenet_resnet`` or ``cifar_resnet`` unchanged."""
    family, residual, depth = parse_preset(name)
    factory = imagenet_resnet if family == "imagenet" else cifar_resnet
    return factory(
        depth, num_classes=num_classes, input_shape=input_shape, residual=residual, **options
    )
