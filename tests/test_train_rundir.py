"""The run directory under faults and misuse: nothing is lost or overwritten, every stop names
its file and a way forward, and nothing wrong is recorded silently (resnet_lib.train.fit)."""

import errno
import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from resnet_lib.train import ConfigMismatchError, TrainingDivergedError, fit
from resnet_lib.train import rundir as rundir_module
from resnet_lib.train.fit import ChanceLevelWarning, FitArgumentError
from resnet_lib.train.rundir import RunDir, RunDirBusyError, RunDirError

pytestmark = pytest.mark.one_backend

OPTIONS = dict(epochs=2, batch_size=64, image_size=16, steps_per_epoch=2, seed=0, tensorboard=False,
               verbose=0)


def run(run_dir, **changes):
    return fit("resnet8", "digits", run_dir=run_dir, **{**OPTIONS, **changes})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-epoch run (both checkpoints kept) and its result; tests work on copies."""
    root = tmp_path_factory.mktemp("finished") / "run"
    result = run(root)
    keras.backend.clear_session()
    return root, result


@pytest.fixture
def copy(finished, tmp_path):
    root, _ = finished
    target = tmp_path / "run"
    shutil.copytree(root, target)
    return target


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["empty", "missing", "header-cut"])
def test_checkpoints_without_history_stop_the_run_and_are_kept(copy, damage):
    history = copy / "history.csv"
    if damage == "missing":
        history.unlink()
    else:
        history.write_text("" if damage == "empty" else "epo")
    before = {k: v for k, v in _files(copy).items() if k != "history.csv"}
    with pytest.raises(RunDirError, match=r"history\.csv.*epoch_0002\.keras.*refusing to train over them"):
        run(copy)
    after = {k: v for k, v in _files(copy).items() if k != "history.csv"}
    assert after == before  # no checkpoint or best record overwritten


def test_history_cut_mid_row_names_the_file(copy):
    history = copy / "history.csv"
    history.write_text(history.read_text()[:-40])
    with pytest.raises(RunDirError, match=r"history\.csv, line 3: the row is cut"):
        run(copy)


@pytest.mark.parametrize("text", ["{\"config\": {", "[]"])
def test_corrupt_config_names_the_file(copy, text):
    (copy / "config.json").write_text(text)
    with pytest.raises(RunDirError, match=r"config\.json"):
        run(copy)


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(copy, finished, damage):
    newest = copy / "checkpoints" / "epoch_0002.keras"
    data = bytearray(newest.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3: len(data) // 3 + 64] = bytes(64)
    newest.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match=r"epoch_0002\.keras does not load.*discarded the history rows of epochs 2\.\.2"):
        again = run(copy)
    assert (copy / "checkpoints" / "epoch_0002.keras.damaged").exists()
    assert again.history["epoch"].tolist() == [1, 2]  # epoch 2 trained again, from epoch 1
    np.testing.assert_allclose(again.history["loss"], finished[1].history["loss"], rtol=1e-4)
    assert again.final["best_epoch"] == finished[1].final["best_epoch"]


def test_checkpoints_are_fsynced_before_the_history_row(tmp_path, monkeypatch):
    order = []
    monkeypatch.setattr(rundir_module, "_fsync_file", lambda path: order.append(path.name))
    real = rundir_module.atomic_write_text
    monkeypatch.setattr(rundir_module, "atomic_write_text",
                        lambda path, text: order.append(path.name) or real(path, text))
    run(tmp_path, epochs=1, steps_per_epoch=1)
    checkpoint = next(i for i, name in enumerate(order) if name.endswith("epoch_0001.keras"))
    assert checkpoint < order.index("history.csv")


def test_missing_best_weights_are_rebuilt_from_the_history(copy, finished):
    (copy / "best.weights.h5").unlink()
    with pytest.warns(RuntimeWarning, match=r"best\.weights\.h5 missing; rebuilt the best record"):
        again = run(copy)
    assert (copy / "best.weights.h5").exists()
    assert again.final == finished[1].final


def test_missing_best_weights_that_cannot_be_rebuilt_are_named(copy, finished):
    lines = (copy / "history.csv").read_text().splitlines()
    column = lines[0].split(",").index("val_error")
    cells = lines[1].split(",")
    cells[column] = "0.0"  # epoch 1 is the best, and not the last (whose model is at hand)
    (copy / "history.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    (copy / "best.weights.h5").unlink()
    (copy / "checkpoints" / "epoch_0001.keras").unlink()
    with pytest.raises(RunDirError, match=r"best\.weights\.h5 missing.*epoch_0001\.keras is no longer kept"):
        run(copy)


def test_finished_run_reopens_without_writing_and_keeps_numbers(copy, finished, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EROFS, "read-only file system")

    before = _files(copy)
    monkeypatch.setattr(rundir_module, "atomic_write_text", refuse)
    monkeypatch.setattr(RunDir, "_save", refuse)
    again = run(copy)
    assert again.final == finished[1].final
    assert _files(copy) == before
    monkeypatch.undo()
    (copy / "final.json").unlink()
    run(copy)
    final = json.loads((copy / "final.json").read_text())
    assert all(isinstance(final[k], float) for k in ("last_val_error", "last_test_error", "best_val_error"))


def test_mistyped_model_writes_nothing_and_a_failed_start_does_not_lock(tmp_path):
    with pytest.raises(FitArgumentError, match="resnet7") as info:
        fit("resnet7", "digits", run_dir=tmp_path / "run", **OPTIONS)
    assert info.value.argument == "model" and not (tmp_path / "run").exists()
    # a config.json with no epoch on disk (a start that failed later) is replaced
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"config": {"model": "plain8"}}))
    assert run(tmp_path / "run", epochs=1, steps_per_epoch=1).history["epoch"].tolist() == [1]


@pytest.mark.parametrize("argument,value", [("learning_rate", -0.1), ("learning_rate", 0), ("seed", -5),
                                            ("image_size", 4), ("epochs", 0), ("model", "vgg16")])
def test_bad_arguments_are_refused_before_any_write(tmp_path, argument, value):
    with pytest.raises(FitArgumentError, match=argument) as info:
        run(tmp_path / "run", **{argument: value}) if argument != "model" else \
            fit(value, "digits", run_dir=tmp_path / "run", **OPTIONS)
    assert info.value.argument == argument and not (tmp_path / "run").exists()


@pytest.mark.parametrize("change", [dict(mixed_precision="on"), dict(jit="on")])
def test_precision_or_jit_change_on_resume_is_a_mismatch(tmp_path, change):
    run(tmp_path, epochs=1, steps_per_epoch=1, mixed_precision="off", jit="off")
    key = "dtype_policy" if "mixed_precision" in change else "jit_compile"
    with pytest.raises(ConfigMismatchError, match=key):
        run(tmp_path, epochs=1, steps_per_epoch=1, **{"mixed_precision": "off", "jit": "off", **change})


def test_second_writer_is_refused(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(tmp_path / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'4242'); print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirBusyError, match="in use by another process"):
            run(tmp_path, epochs=1, steps_per_epoch=1)
        assert not (tmp_path / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
    assert run(tmp_path, epochs=1, steps_per_epoch=1).history["epoch"].tolist() == [1]


def test_temporaries_left_by_a_kill_are_removed(copy):
    strays = [copy / ".history.csv.tmp1234", copy / ".tmp1234.weights.h5", copy / ".best.json.tmp99",
              copy / "checkpoints" / ".tmp1234_epoch_0003.keras"]
    for path in strays:
        path.write_bytes(b"partial")
    run(copy)
    assert not any(path.exists() for path in strays)


def test_full_disk_raises_oserror_naming_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    monkeypatch.setattr(rundir_module, "_free_bytes", lambda directory: 1000)
    directory = RunDir(tmp_path)
    with pytest.raises(OSError) as info:
        directory.save_best(model, 1, 0.5)
    assert info.value.errno == errno.ENOSPC and info.value.filename.endswith("best.weights.h5")
    assert list(tmp_path.iterdir()) == []


def test_exploding_loss_stops_the_run(tmp_path):
    with pytest.raises(TrainingDivergedError, match=r"more than 100x its starting value"):
        run(tmp_path, learning_rate=30, steps_per_epoch=None)
    assert not (tmp_path / "history.csv").exists()


def test_a_run_left_at_chance_is_warned_about(tmp_path):
    with pytest.warns(ChanceLevelWarning, match="at chance"):
        run(tmp_path, epochs=3, steps_per_epoch=1, learning_rate=1e-9)


def test_learning_rate_is_scaled_to_the_batch_actually_used(tmp_path):
    with pytest.warns(RuntimeWarning, match=r"batch_size=100000 is more than the \d+ training images"):
        result = run(tmp_path, epochs=1, batch_size=100000, steps_per_epoch=None)
    n = result.history["iteration"][0]
    assert n == 1
    assert result.history["lr"][0] == pytest.approx(0.1 * 1257 / 128, rel=0.01)


def test_a_run_written_before_newer_config_keys_still_resumes(copy, finished):
    # config.json of an older version: no "warmup" key, and label_mode recorded for digits too
    saved = json.loads((copy / "config.json").read_text())
    del saved["config"]["warmup"]
    saved["config"]["label_mode"] = "multi"
    (copy / "config.json").write_text(json.dumps(saved))
    assert run(copy).final == finished[1].final
