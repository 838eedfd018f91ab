"""Tests for resnet_lib.metrics against independent references (scikit-learn, hand counts)."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, top_k_accuracy_score

from resnet_lib import metrics

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def test_top_k_error_matches_sklearn():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 10))
    labels = rng.integers(0, 10, size=200)
    for k in (1, 5):
        expected = 1.0 - top_k_accuracy_score(labels, scores, k=k, labels=np.arange(10))
        assert metrics.top_k_error(labels, scores, k=k) == pytest.approx(expected)
    assert metrics.top1_error(labels, scores) == pytest.approx(
        np.mean(scores.argmax(1) != labels)
    )


def test_top_k_error_rejects_bad_k():
    with pytest.raises(ValueError, match="k=11"):
        metrics.top_k_error([0], np.zeros((1, 10)), k=11)


# A ranking where precision at each positive never rises further down the list:
# ranks P P N P N N -> precision at positives 1, 1, 3/4. The devkit's envelope changes
# nothing, so its AP equals scikit-learn's step-sum AP: (1 + 1 + 3/4) / 3.
MONOTONE_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
MONOTONE_LABELS = np.array([1, 1, 0, 1, 0, 0])


def test_ap_equals_sklearn_where_precision_is_monotone():
    ours = metrics.average_precision(MONOTONE_LABELS, MONOTONE_SCORES)
    theirs = average_precision_score(MONOTONE_LABELS, MONOTONE_SCORES)
    assert ours == pytest.approx(theirs)
    assert ours == pytest.approx((1 + 1 + 0.75) / 3)


def test_ap_envelope_differs_from_sklearn_step_sum():
    # ranks N P P: precision at the positives 1/2 then 2/3. The devkit's envelope lifts the
    # first to 2/3: AP = 2/3. scikit-learn's step sum: (1/2 + 2/3) / 2 = 7/12.
    scores = np.array([0.9, 0.8, 0.7])
    labels = np.array([0, 1, 1])
    assert average_precision_score(labels, scores) == pytest.approx(7 / 12)
    assert metrics.average_precision(labels, scores) == pytest.approx(2 / 3)


def test_ap_envelope_is_never_below_step_sum():
    rng = np.random.default_rng(1)
    for _ in range(20):
        labels = rng.integers(0, 2, size=50)
        labels[0] = 1
        scores = rng.random(50)  # continuous: no ties
        assert metrics.average_precision(labels, scores) >= average_precision_score(labels, scores) - 1e-12


def test_difficult_images_are_ignored_per_class():
    # Insert two difficult images at the top of the ranking: one positive, one negative.
    # Ignored, they leave the AP of the monotone example unchanged; counted, they would not.
    scores = np.concatenate(([0.99, 0.95], MONOTONE_SCORES))
    labels = np.concatenate(([1, 0], MONOTONE_LABELS))
    difficult = np.array([True, True] + [False] * 6)
    masked = metrics.average_precision(labels, scores, difficult=difficult)
    assert masked == pytest.approx(average_precision_score(MONOTONE_LABELS, MONOTONE_SCORES))
    assert metrics.average_precision(labels, scores) != pytest.approx(masked)


def test_devkit_labels_and_mean_ap():
    # two classes in devkit notation: 1 present, -1 absent, 0 difficult-only
    gt = np.array([[1, -1], [0, 1], [-1, 1], [1, 0], [-1, -1], [1, -1]])
    labels, difficult = metrics.labels_from_devkit(gt)
    assert labels.tolist() == [[1, 0], [0, 1], [0, 1], [1, 0], [0, 0], [1, 0]]
    assert difficult[1, 0] and difficult[3, 1] and difficult.sum() == 2
    rng = np.random.default_rng(2)
    scores = rng.random(gt.shape)
    mean, per_class = metrics.mean_average_precision(labels, scores, difficult=difficult)
    for c in range(2):
        keep = gt[:, c] != 0
        assert per_class[c] == pytest.approx(
            metrics.average_precision(labels[keep, c], scores[keep, c])
        )
    assert mean == pytest.approx(per_class.mean())
    with pytest.raises(ValueError, match="expected only -1, 0, 1"):
        metrics.labels_from_devkit([[2]])


def test_class_without_positives_is_nan_and_left_out_of_mean():
    labels = np.array([[1, 0], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.1, 0.9]])
    mean, per_class = metrics.mean_average_precision(labels, scores)
    assert np.isnan(per_class[1]) and mean == pytest.approx(1.0)


def test_read_history_and_error_curves(tmp_path):
    (tmp_path / "history.csv").write_text(
        "epoch,iteration,train_error,val_error,test_error,lr\n"
        "1,10,0.5,0.6,0.61,0.1\n2,20,0.3,0.4,,0.1\n"
    )
    h = metrics.read_history(tmp_path)
    assert h["epoch"].tolist() == [1, 2] and h["iteration"].dtype == np.int64
    assert np.isnan(h["test_error"][1])
    curves = metrics.error_curves(tmp_path)
    assert set(curves) == {"epoch", "iteration", "train_error", "val_error", "test_error"}
    assert curves["train_error"].tolist() == [0.5, 0.3]
    with pytest.raises(FileNotFoundError, match="history.csv"):
        metrics.read_history(tmp_path / "missing")


def test_two_standard_errors_of_one_rate_and_of_a_difference():
    from resnet_lib.metrics import two_standard_errors

    assert two_standard_errors(0.5, 100) == pytest.approx(0.1)  # 2 * sqrt(0.25 / 100)
    assert two_standard_errors(0.5, 100, rates=2) == pytest.approx(0.1 * 2 ** 0.5)
    assert two_standard_errors(0.0, 300) == 0.0
    assert two_standard_errors(0.034, 179) == pytest.approx(0.0271, abs=1e-4)
    with pytest.raises(ValueError, match="fraction"):
        two_standard_errors(3.4, 179)  # a percentage, not a fraction
    with pytest.raises(ValueError, match="positive"):
        two_standard_errors(0.1, 0)
