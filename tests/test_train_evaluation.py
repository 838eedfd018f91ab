"""resnet_lib.train.evaluation.evaluate_multilabel against independent computations: NumPy's
binary cross-entropy and the VOC AP of resnet_lib.metrics on the model's own predictions."""

import keras
import numpy as np
import pytest

from resnet_lib.metrics import mean_average_precision
from resnet_lib.train import MultiLabelEvaluation, evaluate_multilabel


def _data(seed=0, n=24, classes=4, batch=8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (rng.random((n, classes)) < 0.4).astype(np.float32)
    y[:, -1] = 0  # the last class has no positive image: its AP is NaN
    mask = (rng.random((n, classes)) > 0.15).astype(np.float32)  # 0: only "difficult"
    batches = [(x[i:i + batch], y[i:i + batch], mask[i:i + batch]) for i in range(0, n, batch)]
    return x, y, mask, batches


def _model(activation=None, classes=4):
    inputs = keras.Input((5,))
    return keras.Model(inputs, keras.layers.Dense(classes, activation=activation, name="predictions")(inputs))


def _bce(y, p):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


@pytest.mark.parametrize("activation", [None, "sigmoid"])
def test_evaluate_multilabel_matches_an_independent_computation(activation):
    x, y, mask, batches = _data()
    model = _model(activation)
    result = evaluate_multilabel(model, batches)
    assert isinstance(result, MultiLabelEvaluation)
    scores = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(result.scores, scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(result.labels, y)
    assert result.difficult.dtype == bool and np.array_equal(result.difficult, mask == 0)
    probabilities = 1 / (1 + np.exp(-scores.astype(np.float64))) if activation is None else scores
    assert result.loss == pytest.approx(_bce(y, probabilities), rel=1e-4)
    expected_map, expected_ap = mean_average_precision(y, scores, difficult=mask == 0)
    assert result.mean_ap == pytest.approx(expected_map)
    np.testing.assert_allclose(result.per_class_ap, expected_ap)
    assert result.per_class_ap.shape == (4,) and np.isnan(result.per_class_ap[-1])
    assert not np.isnan(result.per_class_ap[:-1]).any()


def test_difficult_images_are_ignored_and_a_perfect_ranking_scores_one():
    # scores equal to the labels rank every positive first: AP 1 for every class with a positive
    x, y, mask, _ = _data(classes=3)
    identity = keras.Sequential([keras.Input((3,)), keras.layers.Identity()])
    scores = y * 2 - 1
    flipped = y.copy()
    flipped[mask == 0] = 1 - flipped[mask == 0]  # wrong only where the label is "difficult"
    result = evaluate_multilabel(identity, [(scores, flipped, mask)])
    assert result.mean_ap == pytest.approx(1.0)
    unmasked = evaluate_multilabel(identity, [(scores, flipped, np.ones_like(mask))])
    assert unmasked.mean_ap < 0.99  # the same errors, counted, lower it


def test_batches_without_a_mask_are_refused():
    x, y, _, _ = _data()
    with pytest.raises(ValueError, match=r"\(images, labels, mask\)"):
        evaluate_multilabel(_model(), [(x, y)])
