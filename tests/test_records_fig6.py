"""The committed Fig. 6 record (``python -m resnet_lib.reproduce fig6``, on a CPU, real CIFAR-10):
the paper's shape in its numbers, a complete provenance, and models that give the recorded
test error when loaded (on the JPEG copy of CIFAR-10 in ``../shared/data`` when it is there)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resnet_lib.fig6 import FIG6_NETS, RECORDS
from resnet_lib.fig6_analyses import EXPORTED, MAX_MODEL_BYTES, model_path
from resnet_lib.metrics import read_history
from resnet_lib.reproduce import read_records

pytestmark = pytest.mark.one_backend  # reading records; the models load on any backend

CHANCE = 0.9  # ten classes
SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg.tar.gz"


@pytest.fixture(scope="module")
def records():
    found = read_records(RECORDS)
    if not found and not RECORDS.exists():
        # the record is written by a run of several hours (README, "The CPU record"); until it is
        # committed there is nothing to check, and every test here says so
        pytest.skip(f"{RECORDS}: no Fig. 6 record committed yet")
    if not found:
        pytest.fail(f"{RECORDS}: the folder is there, but holds no net's record")
    return found


@pytest.fixture(scope="module")
def histories(records):
    return {net: read_history(r["history"]) for net, r in records.items()}


def test_every_net_is_recorded_complete(records):
    assert set(FIG6_NETS) <= set(records)
    for net in FIG6_NETS:
        summary = records[net]["summary"]
        assert summary["complete"] and not summary["smoke"], net
        assert summary["epochs_done"] == summary["epochs"] >= 1


def test_provenance_names_machine_backend_commit_data_and_speed(records):
    p = json.loads((RECORDS / "provenance.json").read_text())
    assert p["cpu"]["model"] and p["cpu"]["cores"] >= 1
    assert p["backend"] in ("torch", "jax", "tensorflow") and p["versions"]["keras"]
    assert len(p["trained_at"]["commit"]) == 40 and len(p["commit"]) == 40
    assert p["dataset"]["sha256"] and len(p["dataset"]["sha256"]) == 64
    assert p["dataset"]["name"] == "CIFAR-10 (JPEG copy)" and p["dataset"]["train_images"] == 50_000
    assert 0 < p["fraction_of_paper_schedule"] < 1 and p["epochs"] == records["resnet20"]["summary"]["epochs"]
    for net in FIG6_NETS:
        detail = p["nets_detail"][net]
        assert detail["wall_seconds"] > 0 and detail["train_images_per_second"] > 0, net
        # "each net's run finishes in at most about 90 minutes"
        assert detail["wall_seconds"] < 100 * 60, net


def test_plain56_trained(histories):
    """A net that did not train shows no degradation: plain-56 ends 25 points below chance."""
    assert histories["plain56"]["train_error"][-1] <= CHANCE - 0.25


def test_the_deeper_plain_net_has_the_higher_training_error_at_every_epoch(histories):
    """Fig. 6 (left) and Fig. 1: plain-56 above plain-20, from the first epoch to the last."""
    assert np.all(histories["plain56"]["train_error"] > histories["plain20"]["train_error"])


def test_resnet56_ends_below_plain56(histories):
    for column in ("train_error", "test_error"):
        assert histories["resnet56"][column][-1] < histories["plain56"][column][-1], column


def test_resnet20_learned(histories):
    assert histories["resnet20"]["test_error"][-1] <= CHANCE - 0.45


def test_the_resnet_depth_claim_is_stated_as_it_came_out(records):
    """ResNet-56 at or below ResNet-20 in test error, or the record says it is not at this scale."""
    from resnet_lib.book.recorded import fig6_claims

    claims = fig6_claims(RECORDS)
    deeper_better = (records["resnet56"]["summary"]["final_test_error"]
                     <= records["resnet20"]["summary"]["final_test_error"])
    assert claims["resnet56_at_or_below_resnet20"] == deeper_better
    assert ("not" in claims["resnet_depth_sentence"]) != deeper_better


def test_analyses_are_recorded_from_the_selected_weights(records):
    p = json.loads((RECORDS / "provenance.json").read_text())
    analyses = p["analyses"]
    assert "validation" in analyses["weights"] and len(analyses["commit"]) == 40
    errors = json.loads((RECORDS / "test_error.json").read_text())
    for net in FIG6_NETS:  # the models recompute the record's best-on-validation test error
        assert errors[net]["images"] == 10_000
        assert abs(errors[net]["test_error"] - errors[net]["recorded_best_val_test_error"]) <= 0.002, net
    fig7 = json.loads((RECORDS / "fig7.json").read_text())
    assert set(FIG6_NETS) <= set(fig7["nets"]) and fig7["images"] == 10_000
    for net in FIG6_NETS:
        assert len(fig7["nets"][net]["std"]) == len(fig7["nets"][net]["layers"]) == int(net[-2:]) - 1
    lesion = json.loads((RECORDS / "lesion.json").read_text())
    assert lesion["images"] >= 2000 and set(lesion["nets"]) == {"resnet56", "plain56"}
    assert len(lesion["nets"]["resnet56"]["single_block_error"]) == 27


@pytest.mark.parametrize("net", EXPORTED)
def test_exported_models_are_small_and_named_in_the_provenance(net, records):
    from resnet_lib.data.cifar10 import sha256_of

    path = model_path(RECORDS, net)
    assert path.stat().st_size <= MAX_MODEL_BYTES
    models = json.loads((RECORDS / "provenance.json").read_text())["analyses"]["models"]
    assert models[net]["sha256"] == sha256_of(path)


READER = """
import sys
import numpy as np
import keras
import resnet_lib.models  # registers the library's layers with Keras; nothing else is needed
from resnet_lib.data.small_images import load_cifar10

path, source = sys.argv[1:]
splits = load_cifar10(source=source)
model = keras.saving.load_model(path, safe_mode=True)
predicted = np.argmax(model.predict(splits.x_test, batch_size=500, verbose=0), axis=-1)
print(float(np.mean(predicted != splits.y_test.reshape(-1))))
"""


@pytest.mark.parametrize("net", EXPORTED)
def test_exported_models_give_the_recorded_test_error(net, records):
    """A reader's fresh interpreter: ``import resnet_lib.models``, then
    keras.saving.load_model(path, safe_mode=True).predict(raw uint8 images): the recorded error."""
    source = os.environ.get("RESNET_CIFAR10") or (str(SHARED_CIFAR) if SHARED_CIFAR.exists() else None)
    if source is None:
        pytest.skip("no CIFAR-10 copy here (../shared/data/cifar10-jpeg.tar.gz or $RESNET_CIFAR10)")
    # a new process, so that no layer is registered by what this test session imported before
    done = subprocess.run([sys.executable, "-c", READER, str(model_path(RECORDS, net)), source],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    error = float(done.stdout.strip().splitlines()[-1])
    recorded = json.loads((RECORDS / "test_error.json").read_text())[net]["test_error"]
    assert abs(error - recorded) <= 0.001, (error, recorded)  # 10 of 10,000: other backends' rounding
