"""Plain and residual networks of He et al. 2015, backend-neutral Keras 3.

- ``imagenet_resnet(depth, ...)``: Table 1, depths 18/34/50/101/152.
- ``cifar_resnet(depth, ...)``: Section 4.2, depths 6n+2.
- ``build_model(name, ...)``: presets such as "resnet20", "plain56", "resnet50".
- ``blocks``: ``basic_block``, ``bottleneck_block`` and ``BlockOptions``.
- ``ZeroPadShortcut``: the parameter-free option-A shortcut, a registered Keras layer.
- ``CaffePreprocessing``: [0, 1] RGB -> the input keras.applications' ImageNet weights expect.

Importing this package registers every layer a saved model of the library is made of,
Section 4.2's ``PixelMeanSubtraction`` and ``PadCropFlip`` (``resnet_lib.data.crop_flip_layer``)
included, so that after ``import resnet_lib.models`` a saved model, e.g. a recorded Fig. 6 net,
loads with ``keras.saving.load_model(path, safe_mode=True)``. Keras imports no module of a
custom layer by itself: without the import, loading fails with "Could not locate class".
"""

import resnet_lib.data.crop_flip_layer  # noqa: F401  (registers the preprocessing layers)

from resnet_lib.models.blocks import BlockOptions, basic_block, bottleneck_block
from resnet_lib.models.cifar import cifar_resnet
from resnet_lib.models.imagenet import STAGES, imagenet_resnet
from resnet_lib.models.layers import CaffePreprocessing, ZeroPadShortcut
from resnet_lib.models.presets import PRESETS, build_model, parse_preset

__all__ = [
    "BlockOptions",
    "CaffePreprocessing",
    "PRESETS",
    "STAGES",
    "ZeroPadShortcut",
    "basic_block",
    "bottleneck_block",
    "build_model",
    "cifar_resnet",
    "imagenet_resnet",
    "parse_preset",
]
