"""The book's readers of a Fig. 6 record (resnet_lib.book.recorded), on a record written here:
the claims are computed from the numbers, the label from the provenance, Table 6's rows from
the summaries, and the lesion study survives its JSON round trip."""

import json

import numpy as np
import pytest

from resnet_lib.analysis.lesion_study import LesionResult
from resnet_lib.book import recorded

pytestmark = pytest.mark.one_backend

TRAIN = {"plain20": [0.70, 0.50, 0.40], "plain56": [0.85, 0.75, 0.70],
         "resnet20": [0.65, 0.45, 0.30], "resnet56": [0.80, 0.55, 0.35]}
TEST = {"plain20": [0.65, 0.48, 0.38], "plain56": [0.84, 0.66, 0.55],
        "resnet20": [0.60, 0.42, 0.31], "resnet56": [0.78, 0.50, 0.29]}


def _write_record(root, train=TRAIN, test=TEST):
    for net in train:
        (root / net).mkdir(parents=True)
        rows = ["epoch,iteration,train_error,test_error"] + [
            f"{e + 1},{100 * (e + 1)},{tr},{te}" for e, (tr, te) in enumerate(zip(train[net], test[net]))]
        (root / net / "history.csv").write_text("\n".join(rows) + "\n")
        depth = int(net.lstrip("plainresnet"))
        (root / net / "summary.json").write_text(json.dumps({
            "depth": depth, "epochs": 3, "epochs_done": 3, "complete": True, "final_train_error": train[net][-1],
            "final_test_error": test[net][-1], "best_val_test_error": test[net][-2]}))
    (root / "provenance.json").write_text(json.dumps({
        "cpu": {"model": "Test CPU", "cores": 2}, "date": "2026-12-07", "commit": "a" * 40,
        "trained_at": {"commit": "b" * 40}, "dataset": {"name": "CIFAR-10 (JPEG copy)"}, "epochs": 3,
        "fraction_of_paper_schedule": 3 / 182}))
    return root


def test_nothing_recorded_gives_none(tmp_path):
    assert recorded.fig6_provenance(tmp_path) is None and recorded.fig6_label(tmp_path) is None
    assert recorded.fig6_table6_rows(tmp_path / "absent") is None
    assert recorded.recorded_fig7(tmp_path) is None and recorded.recorded_lesion(tmp_path) is None


def test_claims_are_computed_from_the_record(tmp_path):
    claims = recorded.fig6_claims(_write_record(tmp_path / "a"))
    assert claims["epochs"] == 3 and claims["last"]["plain56"]["train_error"] == pytest.approx(0.70)
    assert claims["plain56_trained"] is False  # 70% is less than 25 points below chance (90%)
    assert claims["plain56_above_plain20_every_epoch"] and claims["resnet56_below_plain56"]
    assert claims["resnet20_learned"] and claims["resnet56_at_or_below_resnet20"]
    assert "29.00%" in claims["resnet_depth_sentence"] and "the deeper ResNet is the better one" in claims[
        "resnet_depth_sentence"]

    train = dict(TRAIN, plain56=[0.60, 0.45, 0.55])  # below plain-20 after epoch 2
    test = dict(TEST, resnet56=[0.78, 0.50, 0.40])  # ResNet-56 behind ResNet-20
    claims = recorded.fig6_claims(_write_record(tmp_path / "b", train, test))
    assert claims["plain56_trained"] and not claims["plain56_above_plain20_every_epoch"]
    assert not claims["resnet56_at_or_below_resnet20"]
    assert "has not yet overtaken" in claims["resnet_depth_sentence"]


def test_label_and_table6_rows_read_the_record(tmp_path):
    root = _write_record(tmp_path)
    label = recorded.fig6_label(root)
    assert label == ("recorded on Test CPU, 2 cores, 2026-12-07, commit bbbbbbbbbb, CIFAR-10 (JPEG copy), "
                     "3 epochs = 1.6% of the paper's schedule")
    rows = recorded.fig6_table6_rows(root)
    assert [r["depth"] for r in rows] == [20, 56]
    assert rows[1]["resnet_final_test_error"] == 29.0 and rows[1]["resnet_best_val_test_error"] == 50.0
    assert rows[0]["paper_test_error"] == 8.75


def test_lesion_result_round_trips_through_json(tmp_path):
    result = LesionResult(label="ResNet-56", residual=True, baseline_error=0.1, block_names=("b1", "b2"),
                          single_block_error=np.array([0.2, np.nan]), deleted_counts=np.array([1]),
                          deleted_error=np.array([[0.3, 0.4]]), swapped_counts=np.array([1]),
                          swapped_error=np.array([[0.5, 0.6]]))
    (tmp_path / "lesion.json").write_text(json.dumps({"images": 2000, "nets": {"resnet56": result.to_json()}}))
    results, images = recorded.recorded_lesion(tmp_path)
    back = results["resnet56"]
    assert images == 2000 and back.label == "ResNet-56" and back.block_names == ("b1", "b2")
    np.testing.assert_array_equal(back.single_block_error, result.single_block_error)  # NaN kept
    np.testing.assert_array_equal(back.deleted_error, result.deleted_error)
    assert back.swapped_counts.dtype.kind == "i"
