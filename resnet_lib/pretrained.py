"""ImageNet weights for our ResNet-50/101/152, copied from keras.applications by layer name.

He et al. 2015 trained ResNet-50/101/152 on ImageNet (Table 3/4); keras.applications ships
weights of that architecture (v1: stride in the first 1x1 of a downsampling bottleneck,
convolutions with bias, BN epsilon 1.001e-5). ``imagenet_resnet(depth, use_bias=True)`` (with
the default ``stride_at="1x1"``, ``shortcut="B"``) has the same layers under the same names, so
the weights transfer one layer at a time by name, and the outputs agree to float tolerance.

The weights expect keras.applications' input preprocessing
(``keras.applications.resnet.preprocess_input``: RGB -> BGR, 0..255, ImageNet mean
subtracted, no scaling), not the [0, 1] images of ``resnet_lib.data``. A model built with
``imagenet_resnet(..., preprocessing="caffe")`` starts with a ``CaffePreprocessing`` layer
that does this conversion, so it takes [0, 1] RGB images and fine-tunes on them as they are;
``load_imagenet_weights`` refuses to put ImageNet weights into a model without it unless told
that the data are already preprocessed.

Downloading the weights needs the internet (Colab has it). Offline, pass a keras.applications
model you already have as ``source_model``.
"""

from __future__ import annotations

import keras

from resnet_lib.models.layers import CaffePreprocessing

__all__ = ["load_imagenet_weights", "imagenet_depth", "has_caffe_preprocessing", "APPLICATIONS"]

APPLICATIONS = {50: "ResNet50", 101: "ResNet101", 152: "ResNet152"}
_CONV4_BLOCKS = {6: 50, 23: 101, 36: 152}  # Table 1: conv4_x has 6 / 23 / 36 bottlenecks


def imagenet_depth(model) -> int:
    """50, 101 or 152, read from the number of conv4 blocks of ``model``."""
    names = {layer.name for layer in model.layers}
    blocks = sum(1 for name in names if name.startswith("conv4_block") and name.endswith("_out"))
    if blocks not in _CONV4_BLOCKS or "conv2_block1_3_conv" not in names:
        raise ValueError(
            f"model {model.name!r} is not an ImageNet bottleneck ResNet-50/101/152 "
            f"(found {blocks} conv4 blocks); build it with imagenet_resnet(50|101|152, use_bias=True)"
        )
    return _CONV4_BLOCKS[blocks]


def _download_source(depth: int, *, include_top: bool):
    factory = getattr(keras.applications, APPLICATIONS[depth])
    try:
        return factory(weights="imagenet", include_top=include_top)
    except Exception as error:  # URLError, OSError, HTTP errors: all mean "no weights here"
        raise RuntimeError(
            f"load_imagenet_weights: could not get keras.applications.{APPLICATIONS[depth]} ImageNet "
            f"weights ({type(error).__name__}: {error}). The download needs the internet (Colab has "
            f"it). Offline, pass source_model=keras.applications.{APPLICATIONS[depth]}(weights=PATH) "
            f"built from a weights file you already have."
        ) from error


def has_caffe_preprocessing(model) -> bool:
    """Whether ``model`` holds a ``CaffePreprocessing`` layer (its input is [0, 1] RGB)."""
    return any(isinstance(layer, CaffePreprocessing) for layer in model.layers)


def load_imagenet_weights(model, *, source_model=None, skip_head=None, require_preprocessing=None) -> dict:
    """Copy ImageNet (or ``source_model``'s) weights into ``model`` by layer name, in place.

    model: ``imagenet_resnet(50|101|152, use_bias=True)`` at any input size, with or without top.
    source_model: a keras.applications ResNet50/101/152 (any input size); default: downloaded
        with ``weights="imagenet"``.
    skip_head: leave "predictions" as initialised; default True when ``model``'s classifier is
        not 1000-way (fine-tuning on another label set), False when it is.
    require_preprocessing: refuse (``ValueError``) a ``model`` without a ``CaffePreprocessing``
        layer, whose inputs would not be what the weights expect; default True when the
        weights are downloaded, False with a ``source_model``. Pass False when the data are
        already ``keras.applications.resnet.preprocess_input``'d.

    Every weighted layer of ``model`` must find a same-named layer with same-shaped weights in
    the source, or ``ValueError`` names the first ones that do not (for instance a model built
    with ``use_bias=False``). Returns {"copied": [...], "skipped": [...]} layer names.
    """
    depth = imagenet_depth(model)
    if require_preprocessing is None:
        require_preprocessing = source_model is None
    if require_preprocessing and not has_caffe_preprocessing(model):
        raise ValueError(
            f"load_imagenet_weights: model {model.name!r} feeds its input to conv1 as it is, but "
            "ImageNet weights expect caffe preprocessing (BGR, 0..255, mean subtracted). Build it "
            "with imagenet_resnet(..., preprocessing='caffe') to train on [0, 1] RGB images, or "
            "pass require_preprocessing=False if the data are already preprocess_input'd."
        )
    names = {layer.name for layer in model.layers}
    has_top = "predictions" in names
    if skip_head is None:
        skip_head = not has_top or model.get_layer("predictions").units != 1000
    if source_model is None:
        source_model = _download_source(depth, include_top=has_top and not skip_head)
    source = {layer.name: layer for layer in source_model.layers if layer.weights}
    copied, skipped, problems = [], [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name == "predictions" and skip_head:
            skipped.append(layer.name)
            continue
        other = source.get(layer.name)
        if other is None:
            problems.append(f"{layer.name}: no such layer in {source_model.name}")
            continue
        ours = [tuple(w.shape) for w in layer.weights]
        theirs = [tuple(w.shape) for w in other.weights]
        if ours != theirs:
            problems.append(f"{layer.name}: shapes {ours} here, {theirs} in {source_model.name}")
            continue
        layer.set_weights(other.get_weights())
        copied.append(layer.name)
    if problems:
        raise ValueError(
            f"load_imagenet_weights: {len(problems)} layer(s) of {model.name!r} do not match "
            f"{source_model.name!r} (was the model built with use_bias=True, stride_at='1x1', "
            f"shortcut='B'?): " + "; ".join(problems[:5])
        )
    return {"copied": copied, "skipped": skipped}
