"""Evaluating a model on a dataset: single-label error, and multi-label VOC mAP.

- Single-label: Keras' ``Model.evaluate`` with the compiled loss and accuracy; error is
  1 - accuracy (top-1, Table 6) and top-5 error where the model was compiled with it.
- Multi-label (Pascal VOC classification): ``evaluate_multilabel`` predicts every batch in
  inference mode, concatenates, and scores the result as the VOC2010+ devkit does
  (``resnet_lib.metrics.mean_average_precision``): an image whose only instances of a class
  are "difficult" is ignored for that class.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from resnet_lib.metrics import mean_average_precision

__all__ = ["MultiLabelEvaluation", "evaluate_multilabel", "evaluate", "from_logits"]


def from_logits(model) -> bool:
    """Whether ``model`` outputs logits: its last layer (inside nested models) has no activation."""
    last = model.layers[-1]
    while isinstance(last, keras.Model):  # e.g. a network behind in-model augmentation
        last = last.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "linear") == "linear"


def feed(dataset):
    """What ``Model.fit`` / ``evaluate`` get: on the TensorFlow backend, NumPy batches go
    through ``tf.data`` (made ahead, in its threads); elsewhere they go as they are."""
    if keras.backend.backend() == "tensorflow" and hasattr(dataset, "as_tf_dataset"):
        return dataset.as_tf_dataset()
    return dataset


@dataclasses.dataclass(frozen=True)
class MultiLabelEvaluation:
    """A multi-label model scored on a dataset (``evaluate_multilabel``).

    ``labels`` (N, C) multi-hot, ``scores`` (N, C) the model's outputs (logits or
    probabilities: AP depends only on their order), ``difficult`` (N, C) bool, True where an
    image holds the class only as "difficult" (ignored for that class).
    """

    loss: float  # binary cross-entropy over all N x C labels
    mean_ap: float  # mean of per_class_ap over the classes with a positive image
    per_class_ap: np.ndarray  # (C,) VOC AP per class, NaN where a class has no positive
    labels: np.ndarray
    scores: np.ndarray
    difficult: np.ndarray


def evaluate_multilabel(model, dataset) -> MultiLabelEvaluation:
    """Score ``model`` on ``dataset``, which yields ``(images, multi_hot_labels, mask)`` batches.

    ``mask`` is 0 where the image holds the class only as "difficult" (the devkit's label 0),
    else 1 (``resnet_lib.data.voc.make_dataset(..., with_mask=True)``). The model runs in
    inference mode (``training=False``); the loss is binary cross-entropy, from logits when the
    model's last layer has no activation (``from_logits``). AP per class as in the VOC2010+
    devkit (``resnet_lib.metrics.average_precision``).
    """
    scores, labels, masks = [], [], []
    for batch in dataset:
        if len(batch) != 3:
            raise ValueError(f"evaluate_multilabel: dataset batches must be (images, labels, mask); got a "
                             f"batch of {len(batch)} elements")
        x, y, mask = batch
        scores.append(keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float32))
        labels.append(np.asarray(y))
        masks.append(np.asarray(mask))
    if not scores:
        raise ValueError("evaluate_multilabel: dataset yielded no batch")
    scores, labels, masks = np.concatenate(scores), np.concatenate(labels), np.concatenate(masks)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=from_logits(model))
    loss = float(keras.ops.convert_to_numpy(loss_fn(labels, scores)))
    difficult = masks == 0
    mean_ap, per_class = mean_average_precision(labels, scores, difficult=difficult)
    return MultiLabelEvaluation(loss=loss, mean_ap=float(mean_ap), per_class_ap=per_class, labels=labels,
                                scores=scores, difficult=difficult)


def evaluate(model, dataset, *, multi_label: bool) -> dict:
    """``loss``, ``error`` (1 - accuracy, or 1 - mAP for multi-label), and ``top5_error`` or
    ``mAP`` where defined: the columns ``fit`` writes to ``history.csv`` per split."""
    if multi_label:
        result = evaluate_multilabel(model, dataset)
        return {"loss": result.loss, "error": 1.0 - result.mean_ap, "mAP": result.mean_ap}
    logs = model.evaluate(feed(dataset), verbose=0, return_dict=True)
    out = {"loss": float(logs["loss"]), "error": 1.0 - float(logs["accuracy"])}
    if "top5" in logs:
        out["top5_error"] = 1.0 - float(logs["top5"])
    return out
