"""resnet_lib.train.fit at smoke scale: it learns, it stops on NaN, it refuses a changed run
(resuming is tested in test_train_small_images.py, on every backend)."""

import dataclasses
import json

import numpy as np
import pytest

from resnet_lib.data.small_images import load_digits
from resnet_lib.metrics import read_history
from resnet_lib.train import ConfigMismatchError, TrainingDivergedError, fit
from run_states import interrupt_after

SMALL = dict(batch_size=64, image_size=16, tensorboard=False, verbose=0)


def test_resnet_learns_digits_well_above_chance(tmp_path):
    result = fit("resnet8", "digits", recipe="paper-cifar", epochs=3, seed=0, run_dir=tmp_path, **SMALL)
    history = read_history(tmp_path)
    assert history["epoch"].tolist() == [1, 2, 3]
    assert np.all(np.diff(history["iteration"]) == history["iteration"][0])
    # chance is 90% error on 10 balanced classes
    assert history["val_error"][-1] < 0.4 and history["test_error"][-1] < 0.4
    assert history["train_error"][-1] < history["train_error"][0]
    assert result.final["best_epoch"] == int(np.argmin(history["val_error"])) + 1
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == result.best_epoch
    # the returned model continues where history.csv ends, optimizer included
    assert int(np.asarray(result.model.optimizer.iterations)) == history["iteration"][-1]
    assert (tmp_path / "checkpoints" / "epoch_0003.keras").exists()
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["recipe"]["name"] == "paper-cifar"
    assert config["runtime"]["dtype_policy"] == "float32"  # CPU: no mixed precision by default


def test_changed_configuration_is_refused(tmp_path):
    fit("resnet8", "digits", epochs=1, steps_per_epoch=2, run_dir=tmp_path, **SMALL)
    with pytest.raises(ConfigMismatchError, match="seed: saved 0, now 3"):
        fit("resnet8", "digits", epochs=1, steps_per_epoch=2, seed=3, run_dir=tmp_path, **SMALL)


def test_nan_loss_stops_with_epoch_and_step(tmp_path):
    digits = load_digits(image_size=16)
    x = digits.x_train.copy()
    x[200:] = np.nan  # batches of 64: the first NaN image is in step 4
    poisoned = dataclasses.replace(digits, x_train=x)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step \d"):
        fit("resnet8", poisoned, epochs=2, run_dir=tmp_path, **SMALL)
    assert not (tmp_path / "history.csv").exists()  # no epoch was committed


def test_huge_learning_rate_diverges_with_a_clear_message(tmp_path):
    with pytest.raises(TrainingDivergedError, match="Lower the learning rate"):
        fit("resnet8", "digits", epochs=2, learning_rate=1e30, run_dir=tmp_path, **SMALL)


@pytest.mark.tensorflow
@pytest.mark.parametrize("label_mode", ["multi", "single"])
def test_synthetic_voc_trains_and_reports_map(tmp_path, label_mode):
    result = fit("resnet8", "synthetic-voc", recipe="voc", epochs=1, batch_size=16, image_size=32,
                 label_mode=label_mode, data_dir=tmp_path / "data", run_dir=tmp_path / "run",
                 tensorboard=False, verbose=0)
    history = read_history(tmp_path / "run")
    assert history["epoch"].tolist() == [1]
    if label_mode == "multi":
        assert 0 <= history["val_mAP"][0] <= 1 and history["val_error"][0] == pytest.approx(1 - history["val_mAP"][0])
    assert "best_test_error" in result.final


def test_tensorboard_logs_are_written(tmp_path):
    pytest.importorskip("tensorboard")
    fit("resnet8", "digits", recipe="paper-cifar", epochs=1, seed=0, run_dir=tmp_path,
        steps_per_epoch=2, batch_size=32, image_size=16, tensorboard=True, verbose=0)
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)


@pytest.mark.tensorflow
def test_augmentation_in_the_model_trains_and_resumes(tmp_path):
    # augment="model": the pipeline only decodes; AffineAugmentation, inside the network, draws
    # from a seed generator whose state is checkpointed, so a resumed run repeats the batches.
    options = dict(recipe="voc", epochs=2, batch_size=16, image_size=32, steps_per_epoch=4,
                   augment="model", data_dir=tmp_path / "data", tensorboard=False, verbose=0,
                   keep_checkpoints=3, test_curve=False)
    full = fit("resnet8", "synthetic-voc", run_dir=tmp_path / "a", **options)
    assert full.model.get_layer("augmentation").__class__.__name__ == "AffineAugmentation"
    fit("resnet8", "synthetic-voc", run_dir=tmp_path / "b", **options)
    interrupt_after(tmp_path / "b", 1)
    resumed = fit("resnet8", "synthetic-voc", run_dir=tmp_path / "b", **options)
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-4)
