"""Training on small images without TensorFlow: NumPy batches, in-model preprocessing, resume.

``make unit`` runs them on the TensorFlow backend and on JAX in an environment with Keras and
JAX but no TensorFlow, where ``test_no_tensorflow.py`` checks that TensorFlow really is absent.
"""

import dataclasses
import shutil

import numpy as np
import pytest

from resnet_lib.data.small_images import ImageSplits, load_digits
from resnet_lib.metrics import read_history
from resnet_lib.train import fit
from resnet_lib.train.sources import load_source
from run_states import interrupt_after

SMALL = dict(batch_size=32, tensorboard=False, verbose=0, test_curve=False)


def _cifar_like(n=256, seed=0):
    """32x32 uint8 images whose class is the colour of a square at a random place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    for i, c in enumerate(y):
        r, s = rng.integers(2, 22, 2)
        x[i, r:r + 8, s:s + 8] = np.array([c * 25, 255 - c * 25, (c * 70) % 256], np.uint8)
    split = lambda a: (a[: n // 2], a[n // 2: 3 * n // 4], a[3 * n // 4:])  # noqa: E731
    (xt, xv, xs), (yt, yv, ys) = split(x), split(y)
    return ImageSplits("cifar10", tuple(str(i) for i in range(10)), xt, yt, xv, yv, xs, ys,
                       (xt.mean(0) / 255).astype(np.float32))


def test_digits_source_is_numpy_and_its_order_depends_on_seed_and_epoch():
    source = load_source("digits", batch_size=32, seed=3)
    a, b, c = source.train(0), source.train(0), source.train(1)
    assert type(a).__name__ == "ImageBatches" and isinstance(a[0][0], np.ndarray)
    np.testing.assert_array_equal(a[0][1], b[0][1])
    assert not np.array_equal(a[0][1], c[0][1])
    assert source.steps_per_epoch == len(a) == int(np.ceil(len(load_digits().y_train) / 32))


def test_resnet_learns_digits_and_a_resumed_run_repeats_an_uninterrupted_one(tmp_path):
    options = dict(epochs=3, seed=1, steps_per_epoch=8, keep_checkpoints=3, **SMALL)
    full = fit("resnet8", "digits", run_dir=tmp_path / "a", **options)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    interrupt_after(tmp_path / "b", 1)  # as a kill after epoch 1 leaves it
    resumed = fit("resnet8", "digits", run_dir=tmp_path / "b", **options)
    assert resumed.history["iteration"].tolist() == [8, 16, 24]
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-4)
    assert full.history["val_error"][-1] < 0.8  # chance: 0.9; measured 0.64 after 24 steps (JAX)


def test_in_model_augmentation_equals_the_host_pipeline_without_augmentation(tmp_path):
    # digits have no augmentation, so only where mean subtraction runs differs: same numbers
    host = fit("resnet8", "digits", epochs=1, steps_per_epoch=4, run_dir=tmp_path / "h", **SMALL)
    model = fit("resnet8", "digits", epochs=1, steps_per_epoch=4, augment="model",
                run_dir=tmp_path / "m", **SMALL)
    assert model.model.layers[1].name == "pixel_mean_subtraction"
    np.testing.assert_allclose(model.history["loss"], host.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(model.history["val_error"], host.history["val_error"], atol=1e-6)


def test_cifar_with_pad_crop_flip_in_the_model_trains_and_resumes(tmp_path):
    data = _cifar_like()
    options = dict(epochs=2, steps_per_epoch=3, augment="model", keep_checkpoints=3, **SMALL)
    full = fit("resnet8", data, run_dir=tmp_path / "a", **options)
    assert full.model.get_layer("augmentation").__class__.__name__ == "PadCropFlip"
    assert full.model.input.dtype == "uint8"
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    interrupt_after(tmp_path / "b", 1)
    resumed = fit("resnet8", data, run_dir=tmp_path / "b", **options)
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-4)
    # the host pipeline augments the same way, but draws other shifts: other losses
    host = fit("resnet8", data, epochs=1, steps_per_epoch=3, run_dir=tmp_path / "c", **SMALL)
    assert not np.isclose(host.history["loss"][0], full.history["loss"][0])


def test_steps_per_execution_trains_the_same_steps(tmp_path):
    one = fit("resnet8", "digits", epochs=1, steps_per_epoch=6, run_dir=tmp_path / "a", **SMALL)
    three = fit("resnet8", "digits", epochs=1, steps_per_epoch=6, steps_per_execution=3,
                run_dir=tmp_path / "b", **SMALL)
    assert read_history(tmp_path / "b")["iteration"].tolist() == [6]
    np.testing.assert_allclose(three.history["val_error"], one.history["val_error"], atol=1e-6)
    with pytest.raises(ValueError, match="steps_per_execution"):  # a FitArgumentError
        fit("resnet8", "digits", steps_per_execution=0, run_dir=tmp_path / "c", **SMALL)


def test_limit_takes_a_sample_of_every_class_even_from_a_class_ordered_split():
    data = _cifar_like()
    ordered = np.argsort(data.y_test, kind="stable")
    by_class = dataclasses.replace(data, x_test=data.x_test[ordered], y_test=data.y_test[ordered])
    source = load_source(by_class, batch_size=64, seed=0, limit=30)
    labels = np.concatenate([b[1] for b in source.test()])
    assert len(labels) == 30 and len(set(labels.tolist())) > 5


def test_data_source_applies_to_cifar10_only(tmp_path):
    with pytest.raises(ValueError, match=r"data_source=.*applies to data=.cifar10. only"):
        fit("resnet8", "digits", data_source=tmp_path, run_dir=tmp_path / "r", **SMALL)
