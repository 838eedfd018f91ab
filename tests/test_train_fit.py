"""resnet_lib.train.fit at smoke scale: it learns, it stops on NaN, it refuses a changed run
(resuming is tested in test_train_small_images.py, on every backend)."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest

from resnet_lib.data.small_images import load_digits
from resnet_lib.metrics import mean_average_precision, read_history, top1_error
from resnet_lib.train import ConfigMismatchError, TrainingDivergedError, fit
from resnet_lib.train.sources import load_source
from run_states import interrupt_after

SMALL = dict(batch_size=64, image_size=16, tensorboard=False, verbose=0)


@pytest.mark.one_backend  # the run's records; learning on each backend: test_train_small_images.py
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
    with pytest.raises(ConfigMismatchError, match="seed: saved 0, now 3") as info:
        fit("resnet8", "digits", epochs=1, steps_per_epoch=2, seed=3, run_dir=tmp_path, **SMALL)
    # raised from Python, the message names Python arguments, not the command line's flags
    assert "run_dir" in str(info.value) and "--" not in str(info.value)
    assert info.value.differences == {"seed": (0, 3)}


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
# single-label on the TensorFlow pass only: the JAX-on-tf.data pass runs the same feed with [multi]
@pytest.mark.parametrize("label_mode", ["multi", pytest.param("single", marks=pytest.mark.one_backend)])
def test_synthetic_voc_reports_what_the_saved_model_scores(tmp_path, label_mode):
    # the recorded validation mAP (or error) must equal one computed here, independently of
    # fit's evaluation, from the saved checkpoint's predictions on the same validation split
    result = fit("resnet8", "synthetic-voc", recipe="voc", epochs=1, batch_size=16, image_size=32,
                 label_mode=label_mode, data_dir=tmp_path / "data", run_dir=tmp_path / "run",
                 tensorboard=False, verbose=0)
    history = read_history(tmp_path / "run")
    assert history["epoch"].tolist() == [1]
    saved = keras.saving.load_model(tmp_path / "run" / "checkpoints" / "epoch_0001.keras")
    source = load_source("synthetic-voc", batch_size=16, seed=0, image_size=32, data_dir=tmp_path / "data",
                         label_mode=label_mode, one_hot=label_mode == "single")
    batches = [tuple(np.asarray(t) for t in batch) for batch in source.val()]
    scores = np.concatenate([np.asarray(saved(b[0], training=False)) for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    if label_mode == "multi":
        difficult = np.concatenate([b[2] for b in batches]) == 0
        expected, _ = mean_average_precision(labels, scores, difficult=difficult)
        assert history["val_mAP"][0] == pytest.approx(expected, abs=1e-5)
        assert history["val_error"][0] == pytest.approx(1 - expected, abs=1e-5)
    else:
        assert history["val_error"][0] == pytest.approx(top1_error(labels.argmax(-1), scores), abs=1e-6)
    assert "best_test_error" in result.final.to_dict()


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
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same run, then cut back to epoch 1
    interrupt_after(tmp_path / "b", 1)
    resumed = fit("resnet8", "synthetic-voc", run_dir=tmp_path / "b", **options)
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-4)
