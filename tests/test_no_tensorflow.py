"""Where TensorFlow is absent: the small-image path works, the VOC path says what it needs.

``make test``'s JAX pass runs in an environment with Keras and JAX only and sets
``RESNET_EXPECT_NO_TENSORFLOW=1``, so that a TensorFlow pulled in by accident fails here.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

HAS_TF = importlib.util.find_spec("tensorflow") is not None


def test_tensorflow_is_absent_where_expected():
    if os.environ.get("RESNET_EXPECT_NO_TENSORFLOW") == "1":
        assert not HAS_TF, "this environment should not have TensorFlow"
    elif HAS_TF:
        pytest.skip("TensorFlow is installed here; make test's JAX pass checks the rest")


@pytest.mark.skipif(HAS_TF, reason="checks the message shown when TensorFlow is missing")
def test_voc_fails_at_once_saying_how_to_install_tensorflow(tmp_path):
    from resnet_lib.data import voc
    from resnet_lib.train import fit

    with pytest.raises(ImportError, match=r"resnet-lib\[tf\]"):
        fit("resnet8", "synthetic-voc", data_dir=tmp_path / "data", run_dir=tmp_path / "run")
    assert not (tmp_path / "data").exists()  # refused before anything was generated
    with pytest.raises(ImportError, match=r"tf.data.*resnet-lib\[tf\]"):
        voc.make_dataset(tmp_path, "train")


@pytest.mark.skipif(HAS_TF, reason="trains from the command line without TensorFlow")
def test_the_command_line_trains_digits_without_tensorflow(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "resnet_lib.train", "--model", "resnet8", "--data", "digits",
         "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "32", "--no-tensorboard",
         "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "done:" in out.stdout and (tmp_path / "run" / "final.json").exists()
    assert "tensorflow" not in out.stderr.lower().replace("tensorflow or tensorboard", "")
