"""fit says what it does: options that do not apply raise, the warm-up follows the model (a
preset name or a built model), fit with a built model, random state and temporary run
directories, checkpoint selection on validation data only, and the typed final.json."""

import dataclasses
import importlib
import json
import random

import h5py
import keras
import numpy as np
import pytest

from resnet_lib.data.small_images import load_digits
from resnet_lib.models import cifar_resnet, imagenet_resnet
from resnet_lib.train import FinalSummary, TrainingDivergedError, fit, get_recipe
from resnet_lib.train.arguments import FitArgumentError, model_depth
from resnet_lib.train.config import TrainConfig

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

fit_module = importlib.import_module("resnet_lib.train.fit")  # the module, not the function

SMALL = dict(batch_size=32, image_size=16, tensorboard=False, verbose=0)
ONE_STEP = dict(epochs=1, steps_per_epoch=1, test_curve=False, **SMALL)


def _digits_net(**options):
    return cifar_resnet(8, num_classes=10, input_shape=(16, 16, 3), **options)


# ------------------------------------------------------------------ options that do not apply
@pytest.mark.parametrize("model,data,options,argument", [
    ("built", "digits", dict(model_options={"shortcut": "B"}), "model_options"),
    ("resnet8", "digits", dict(label_mode="single"), "label_mode"),
    ("resnet8", "cifar10", dict(label_mode="multi"), "label_mode"),
    ("resnet8", "digits", dict(synthetic_images=100), "synthetic_images"),
    ("resnet8", "voc2012", dict(synthetic_images=100), "synthetic_images"),
    ("resnet8", "digits", dict(model_options={"stride_at": "3x3"}), "model_options"),
    ("resnet18", "synthetic-voc", dict(model_options={"stride_at": "3x3"}), "model_options"),
    ("resnet18", "digits", dict(image_size=32), "model"),
    ("resnet50", "cifar10", dict(image_size=None), "model"),
    ("resnet8", "digits", dict(warmup=True, recipe="seed"), "warmup"),
])
def test_options_that_do_not_apply_raise_before_any_write(tmp_path, model, data, options, argument):
    model = _digits_net() if model == "built" else model
    with pytest.raises(FitArgumentError) as info:
        fit(model, data, run_dir=tmp_path / "run", **{**SMALL, **options})
    assert info.value.argument == argument and argument in str(info.value)
    assert not (tmp_path / "run").exists()


def _check(**changes):
    TrainConfig(model="resnet8").replace(**changes).check()


def test_the_same_options_are_accepted_where_they_apply():
    _check(model="resnet50", data="synthetic-voc", model_options={"stride_at": "3x3"}, label_mode="single",
           synthetic_images=100)
    _check(model="resnet18", data="cifar10", allow_imagenet_stem=True)  # asked for explicitly
    _check(model="resnet18", data="voc2012", label_mode="multi")
    _check(model="cifar-resnet50", data="cifar10")  # the 6n+2 CIFAR net of the same depth
    _check(model="resnet8", model_options={"shortcut": "B"})
    with pytest.raises(FitArgumentError, match="allow_imagenet_stem=True"):
        _check(model="imagenet-resnet18", data="digits")


# ------------------------------------------------------------------ warm-up from the model
def test_model_depth_counts_weighted_layers_as_the_paper_does():
    assert model_depth("resnet110") == 110 and model_depth("plain56") == 56 and model_depth("vgg") is None
    assert model_depth(cifar_resnet(110, input_shape=(16, 16, 3))) == 110
    assert model_depth(cifar_resnet(20, shortcut="B", input_shape=(16, 16, 3))) == 20  # projections not counted
    assert model_depth(imagenet_resnet(50, input_shape=(32, 32, 3), num_classes=10)) == 50
    assert model_depth(imagenet_resnet(18, input_shape=(32, 32, 3), num_classes=10)) == 18
    reference = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
    assert model_depth(reference) == 50  # keras.applications names its projections *_0_conv too


def _first_lr(tmp_path, name, model, **options):
    return float(fit(model, "digits", run_dir=tmp_path / name, **{**ONE_STEP, **options}).history["lr"][0])


def test_warmup_follows_the_model_whether_named_or_built(tmp_path):
    # "paper-cifar" with its depth rule lowered to 8, so that a small net shows what
    # ResNet-110 gets: lr 0.01 x 32/128 before the warm-up ends, then 0.1 x 32/128
    paper = get_recipe("paper-cifar")
    shallow = dataclasses.replace(paper, warmup_min_depth=8, warmup_fraction=0.5)
    warm, peak = 0.01 * 32 / 128, 0.1 * 32 / 128
    assert _first_lr(tmp_path, "name", "resnet8", recipe=shallow) == pytest.approx(warm)
    assert _first_lr(tmp_path, "built", _digits_net(classifier_activation=None), recipe=shallow) == \
        pytest.approx(warm)
    deep_only = dataclasses.replace(shallow, warmup_min_depth=110)  # fit(warmup=True) would force it
    assert _first_lr(tmp_path, "shallow", _digits_net(classifier_activation=None), recipe=deep_only) == \
        pytest.approx(peak)
    runtime = json.loads((tmp_path / "built" / "config.json").read_text())["runtime"]
    assert runtime["depth"] == 8 and runtime["warmup_steps"] == 1


# ------------------------------------------------------------------ a built model
def test_fit_trains_a_built_model_as_it_is(tmp_path):
    net = _digits_net()  # softmax output: the loss is computed from probabilities
    result = fit(net, "digits", epochs=3, run_dir=tmp_path, **SMALL)
    assert result.model is net and net.layers[-1].activation.__name__ == "softmax"
    config = json.loads((tmp_path / "config.json").read_text())["config"]
    assert config["model"] == f"<keras.Model resnet8, {net.count_params()} params>"
    history = result.history
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_error"].min() < 0.5  # chance: 0.9 on ten balanced classes
    # the model's own regularizers: none here, where the preset would carry the recipe's L2
    assert not net.losses


# ------------------------------------------------------------------ side effects
def test_fit_puts_back_python_and_numpy_random_state(tmp_path):
    random.seed(5)
    np.random.seed(5)
    fit("resnet8", "digits", run_dir=tmp_path, seed=3, **ONE_STEP)
    after = random.random(), np.random.random()
    random.seed(5)
    np.random.seed(5)
    assert after == (random.random(), np.random.random())


def test_without_run_dir_nothing_is_left_behind_and_a_seed_gives_the_same_run(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    a = fit("resnet8", "digits", seed=3, **ONE_STEP)
    b = fit("resnet8", "digits", seed=3, **ONE_STEP)
    assert a.run_dir is None and list(tmp_path.iterdir()) == []
    assert a.history["loss"].tolist() == b.history["loss"].tolist()
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(TrainingDivergedError, match="temporary run directory"):
        fit("resnet8", "digits", learning_rate=1e30, **{**ONE_STEP, "steps_per_epoch": None})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ checkpoint selection
def test_best_epoch_follows_validation_error_not_test_error(tmp_path, monkeypatch):
    val, test = [0.5, 0.2, 0.4], [0.1, 0.9, 0.0]  # the test split would pick epoch 3 (or 1)
    real, calls = fit_module.evaluate, []

    def scripted(net, dataset, *, multi_label):
        out = real(net, dataset, multi_label=multi_label)
        if len(calls) < 6:  # per epoch: validation, then test
            epoch, split = divmod(len(calls), 2)
            out["error"] = (val if split == 0 else test)[epoch]
        calls.append(out)
        return out

    monkeypatch.setattr(fit_module, "evaluate", scripted)
    result = fit("resnet8", "digits", epochs=3, steps_per_epoch=1, run_dir=tmp_path, keep_checkpoints=3, **SMALL)
    assert result.history["val_error"].tolist() == val and result.history["test_error"].tolist() == test
    assert result.best_epoch == 2 and result.final.best_val_error == 0.2
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 2


def _weights(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                     else None)
    return arrays


def test_changing_the_test_data_cannot_change_the_chosen_checkpoint(tmp_path):
    digits = load_digits(image_size=16)
    rng = np.random.default_rng(0)
    other = dataclasses.replace(digits, y_test=rng.permutation(digits.y_test),
                                x_test=digits.x_test[::-1].copy())
    options = dict(epochs=3, steps_per_epoch=8, seed=1, keep_checkpoints=3, **SMALL)
    a = fit("resnet8", digits, run_dir=tmp_path / "a", **options)
    b = fit("resnet8", other, run_dir=tmp_path / "b", **options)
    assert len(set(a.history["val_error"].tolist())) == 3  # a choice to make (measured on TensorFlow: 0.82, 0.80, 0.75)
    assert not np.allclose(a.history["test_loss"], b.history["test_loss"])  # the test data differ
    np.testing.assert_array_equal(a.history["val_error"], b.history["val_error"])
    assert a.best_epoch == b.best_epoch == int(np.argmin(a.history["val_error"])) + 1
    wa, wb = _weights(tmp_path / "a" / "best.weights.h5"), _weights(tmp_path / "b" / "best.weights.h5")
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


# ------------------------------------------------------------------ final.json
def test_final_summary_reads_old_files_and_writes_the_same_json():
    old = {"epochs": "3", "best_epoch": "2", "best_val_error": "0.25", "last_val_error": 0.3, "extra": 1}
    summary = FinalSummary.from_dict(old)
    assert summary == FinalSummary(epochs=3, best_epoch=2, best_val_error=0.25, last_val_error=0.3)
    assert summary["best_val_error"] == 0.25 and summary.get("best_test_error") is None
    assert summary.to_dict() == {"epochs": 3, "best_epoch": 2, "last_val_error": 0.3, "best_val_error": 0.25}
    assert FinalSummary.from_dict(summary.to_dict()) == summary
    with pytest.raises(KeyError):
        summary["best_test_error"]
    with pytest.raises(ValueError, match="best_val_error"):
        FinalSummary.from_dict({"epochs": 1, "best_val_error": "n/a"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.epochs = 4
