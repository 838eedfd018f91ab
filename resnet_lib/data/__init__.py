"""Data for the book: Pascal VOC2012, CIFAR-10 and scikit-learn digits (He et al. 2015).

- ``resnet_lib.data.voc``: download, read and pipeline VOC2012 (multi-label, "difficult"
  mask, ``ImageDataGenerator``-style augmentations on ``tf.data``, decoded images cached in memory). A package:
  ``download``, ``annotations``, ``images``, ``labels``, ``pipeline`` (the ``tf.data``
  assembly), ``geometry`` (the crop and affine maths), ``stats`` (the dataset chapter's
  statistics) and ``synthetic`` (a small VOC-format tree of drawn scenes, offline).
- ``resnet_lib.data.affine_layer``: the same augmentation as a Keras layer, run in the model.
- ``resnet_lib.data.small_images``: CIFAR-10 (Section 4.2 protocol) and digits, with
  ``cifar10`` (reading local copies), ``image_batches`` (NumPy batches, no TensorFlow) and
  ``crop_flip_layer`` (mean subtraction and pad-crop-flip in the model) behind it.
- ``resnet_lib.data.splits``: seeded, disjoint random splits.

Submodules are imported on demand; nothing here imports TensorFlow.
"""

import importlib

_SUBMODULES = ("voc", "small_images", "splits", "affine_layer",
               "cifar10", "image_batches", "crop_flip_layer", "seeded_layer")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
