"""Data-parallel training on two logical CPU devices, through the frameworks' own machinery:
tf.distribute.MirroredStrategy (TensorFlow backend) and keras.distribution.DataParallel (JAX).

Each case runs in a subprocess, because the device count must be fixed before TensorFlow or
JAX initialises.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.one_backend  # each case picks its backend in its own subprocess

RUN = textwrap.dedent(
    """
    import json, sys
    {setup}
    from resnet_lib.train import fit
    result = fit("resnet8", "digits", epochs=2, batch_size=64, steps_per_epoch=3, image_size=16,
                 distribute="all", run_dir=sys.argv[1], tensorboard=False, verbose=0)
    runtime = json.load(open(sys.argv[1] + "/config.json"))["runtime"]
    print("RESULT", json.dumps({{"replicas": runtime["replicas"],
                                "epochs": result.history["epoch"].tolist(),
                                "iterations": result.history["iteration"].tolist(),
                                "loss": result.history["loss"].tolist()}}))
    """
)

TF_SETUP = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""


def _run(tmp_path, *, backend, setup, extra_env=None):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **(extra_env or {})}
    code = RUN.format(setup=setup)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _check(result):
    assert result["replicas"] == 2
    assert result["epochs"] == [1, 2] and result["iterations"] == [3, 6]
    assert all(loss == loss and loss < 10 for loss in result["loss"])  # finite, sane


@pytest.mark.tensorflow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    _check(_run(tmp_path, backend="tensorflow", setup=TF_SETUP))


def test_jax_data_parallel_on_two_host_devices(tmp_path):
    pytest.importorskip("jax")
    flags = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    _check(_run(tmp_path, backend="jax", setup="", extra_env={"XLA_FLAGS": flags}))
