"""The command line survives SIGKILL: killed mid-run and started again, it finishes the
requested epochs with none lost or repeated (python -m resnet_lib.train)."""

import csv
import os
import json
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.one_backend  # the command line's behaviour, not the backend's

ARGS = ["--model", "resnet8", "--data", "digits", "--epochs", "4", "--batch-size", "64",
        "--steps-per-epoch", "6", "--image-size", "16", "--seed", "0", "--no-tensorboard"]


def _cli(run_dir, *extra):
    return [sys.executable, "-m", "resnet_lib.train", *ARGS, "--run-dir", str(run_dir), *extra]


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def test_sigkill_then_resume_gives_every_epoch_once(tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(_cli(run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=_env())
    deadline = time.time() + 180
    seen = []
    for line in process.stdout:  # kill as soon as the first epoch is logged
        seen.append(line)
        if "epoch 1/4" in line or time.time() > deadline:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    assert any("epoch 1/4" in line for line in seen), "".join(seen)

    again = subprocess.run(_cli(run_dir), capture_output=True, text=True, env=_env(), timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    resumed = [line for line in again.stdout.splitlines() if "resuming" in line]
    assert resumed and "after epoch" in resumed[0]
    with open(run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [int(r["iteration"]) for r in rows] == [6, 12, 18, 24]  # optimizer state carried over
    assert (run_dir / "final.json").exists()


def test_mismatched_restart_exits_2_naming_the_option(tmp_path, capsys):
    from resnet_lib.train.__main__ import main

    run_dir = str(tmp_path / "run")
    assert main([*ARGS, "--run-dir", run_dir, "--epochs", "1"]) == 0
    capsys.readouterr()
    # 0.05 would be the recipe's own rate at batch 64 (0.1 x 64/128), hence the same run
    assert main([*ARGS, "--run-dir", run_dir, "--epochs", "1", "--lr", "0.02"]) == 2
    err = capsys.readouterr().err
    assert "--lr: saved None, now 0.02" in err and "--run-dir" in err  # the command's own flags
    assert "learning_rate" not in err and "run_dir" not in err


def test_diverging_run_exits_3_naming_the_flag(tmp_path, capsys):
    from resnet_lib.train.__main__ import main

    assert main([*ARGS, "--run-dir", str(tmp_path / "run"), "--epochs", "1", "--lr", "1e30"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Lower the learning rate (--lr)" in err[0], err


def test_option_names_spell_configuration_keys_as_flags():
    from resnet_lib.train.__main__ import option_name

    assert option_name("learning_rate") == "--lr" and option_name("batch_size") == "--batch-size"
    assert option_name("recipe.base_lr") == "--recipe (base_lr)"
    assert option_name("runtime.dtype_policy (mixed_precision)") == "--mixed-precision"


@pytest.mark.parametrize("argv,option", [(["--model", "vgg16"], "--model"), (["--model", "resnet7"], "--model"),
                                         (["--seed", "-5"], "--seed"), (["--image-size", "4"], "--image-size"),
                                         (["--lr", "-0.1"], "--lr"), (["--lr", "0"], "--lr")])
def test_arguments_the_library_refuses_exit_2_with_one_line(tmp_path, argv, option, capsys):
    from resnet_lib.train.__main__ import main

    assert main(["--run-dir", str(tmp_path / "run"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument {option}:" in err[0], err
    assert not (tmp_path / "run").exists()


def test_damaged_run_directory_exits_4_naming_the_file(tmp_path, capsys):
    from resnet_lib.train.__main__ import main

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{not json")
    assert main(["--run-dir", str(tmp_path / "run"), *ARGS, "--epochs", "1"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.json" in err[0]


@pytest.mark.parametrize("argv,message", [(["--epochs", "0"], "positive")])
def test_bad_arguments_are_rejected(argv, message, capsys):
    from resnet_lib.train.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--run-dir", "x", *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_augment_flags_map_to_fit_arguments():
    from resnet_lib.train.__main__ import config_from_args, parser

    def parse(*argv):
        return config_from_args(parser().parse_args(["--run-dir", "x", *argv])).data.augment

    assert (parse(), parse("--augment"), parse("--no-augment")) == (None, True, False)
    assert parse("--augment-in-model") == "model" and parse("--augment", "auto") is None
    with pytest.raises(SystemExit):
        parse("--augment", "--augment-in-model")


def test_every_config_field_is_an_option_and_config_files_are_overridden(tmp_path):
    """The parser is generated from TrainConfig's fields: each has its flag, and --config
    starts from a saved configuration that the other flags override."""
    import dataclasses

    from resnet_lib.train.__main__ import config_from_args, parser
    from resnet_lib.train.config import DataConfig, RuntimeConfig, TrainConfig, flag

    text = parser().format_help()
    for cls in (TrainConfig, DataConfig, RuntimeConfig):
        for f in dataclasses.fields(cls):
            if f.name not in ("data", "runtime"):
                assert flag("data" if f.name == "name" else f.name) in text, f.name
    saved = TrainConfig(model="plain20", epochs=3).replace(limit=100, jit="off")
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"config": saved.to_dict()}))
    args = parser().parse_args(["--run-dir", "x", "--config", str(path), "--epochs", "5", "--shortcut", "B"])
    config = config_from_args(args)
    assert (config.model, config.epochs, config.data.limit, config.runtime.jit) == ("plain20", 5, 100, "off")
    assert config.model_options == {"shortcut": "B"}


def test_an_unknown_option_is_named(capsys):
    from resnet_lib.train import ConfigError, fit

    with pytest.raises(ConfigError, match="'epoch' is not an option.*did you mean 'epochs'"):
        fit("resnet8", "digits", epoch=3)
    from resnet_lib.train.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--run-dir", "x", "--epoch", "3"])
    assert exit_info.value.code == 2
