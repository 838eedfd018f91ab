"""resnet_lib.book: profile settings, notices, tables, widgets with static fallbacks, Colab text."""

import pathlib
import sys

import pytest

from resnet_lib import book, project
from resnet_lib.complexity import trainable_parameters

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_by_profile_picks_the_active_profile(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "smoke")
    assert book.by_profile(smoke=1, cpu=2, gpu=3) == 1
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "cpu")
    assert book.by_profile(smoke=1, cpu=2, gpu=3) == 2
    assert book.by_profile(smoke=1, cpu=2, gpu=3, profile="gpu") == 3
    with pytest.raises(ValueError, match="profile"):
        book.by_profile(smoke=1, cpu=2, gpu=3, profile="tpu")


def test_chapter_setup_prints_profile_and_returns_settings(monkeypatch, capsys):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "smoke")
    cfg = book.chapter_setup("Test", smoke={"epochs": 1}, cpu={"epochs": 10}, gpu={"epochs": 100})
    out = capsys.readouterr().out
    assert "Profile: smoke (RESNET_BOOK_PROFILE=smoke)" in out
    import keras

    detected = "found" if cfg.gpu else "none found"
    assert f"GPU: {detected}; Keras {keras.__version__}, backend {keras.backend.backend()}" in out
    assert cfg.profile == "smoke" and cfg.epochs == 1 and cfg.embedded
    with pytest.raises(AttributeError, match="no setting 'depths'"):
        cfg.depths


@pytest.mark.parametrize("found, line", [(True, "GPU: found;"), (False, "GPU: none found;")])
def test_chapter_setup_reports_what_gpu_detection_says(monkeypatch, capsys, found, line):
    from resnet_lib.book import setup

    monkeypatch.setenv("RESNET_BOOK_PROFILE", "gpu")
    monkeypatch.setattr(setup, "gpu_available", lambda: found)
    cfg = book.chapter_setup("Test", smoke={"epochs": 1}, cpu={"epochs": 10}, gpu={"epochs": 100})
    out = capsys.readouterr().out
    assert cfg.gpu is found and line in out
    assert ("runs at paper scale on the CPU" in out) is (not found)


def test_chapter_setup_requires_the_same_keys_in_every_profile(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "cpu")
    with pytest.raises(ValueError, match=r"missing \{'gpu': \['depths'\]\}"):
        book.chapter_setup("Bad", smoke={"depths": 1}, cpu={"depths": 2}, gpu={})


def test_embedded_data_notice_is_visible(capsys):
    book.embedded_data_notice("scikit-learn digits", instead_of="CIFAR-10")
    out = capsys.readouterr().out
    assert "embedded data" in out.lower() and "CIFAR-10" in out and "RESNET_BOOK_PROFILE=gpu" in out


def test_run_dir_is_per_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "smoke")
    assert book.run_dir("plain20") == tmp_path / "smoke" / "plain20"
    assert book.run_dir("plain20", profile="cpu") == tmp_path / "cpu" / "plain20"
    with pytest.raises(ValueError, match="run name"):
        book.run_dir("../escape")


def test_fit_cached_restarts_a_mismatched_run(monkeypatch, tmp_path):
    calls = []

    import resnet_lib.train as train

    def fake_fit(*, run_dir, **options):
        calls.append(options)
        if len(calls) == 1:
            raise train.ConfigMismatchError("differs")
        return run_dir

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    stale = tmp_path / "cpu" / "r"
    stale.mkdir(parents=True)
    (stale / "history.csv").write_text("epoch\n1\n")
    assert book.fit_cached("r", profile="cpu", epochs=2) == stale
    assert calls == [{"epochs": 2}, {"epochs": 2}]
    assert not (stale / "history.csv").exists()
    assert (tmp_path / "cpu" / "r.replaced-1" / "history.csv").read_text() == "epoch\n1\n"  # moved, not deleted


def test_fit_cached_waits_while_another_process_trains_the_run(monkeypatch, tmp_path, capsys):
    import resnet_lib.train as train
    from resnet_lib.train.rundir import RunDirBusyError

    calls, sleeps = [], []

    def fake_fit(*, run_dir, **options):
        calls.append(run_dir)
        if len(calls) < 3:
            raise RunDirBusyError(f"{run_dir} is being written by another process")
        return "finished"

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr("time.sleep", sleeps.append)
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    assert book.fit_cached("r", profile="cpu", epochs=2) == "finished"
    assert len(calls) == 3 and len(sleeps) == 2
    assert capsys.readouterr().out.count("waiting for it") == 1  # said once, not per poll


def test_fit_cached_prints_a_run_at_chance_as_a_note_and_passes_other_warnings(monkeypatch, tmp_path, capsys):
    import warnings

    import resnet_lib.train as train

    def fake_fit(*, run_dir, **options):
        warnings.warn(f"{run_dir}: validation error 88.3% is at chance", train.ChanceLevelWarning)
        warnings.warn("something else", UserWarning)
        return "finished"

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    with pytest.warns(UserWarning, match="something else") as seen:
        assert book.fit_cached("r", profile="cpu", epochs=2) == "finished"
    assert not any(issubclass(w.category, train.ChanceLevelWarning) for w in seen)  # not on stderr
    assert "[resnet_lib.book] note: " in capsys.readouterr().out


def test_progress_is_one_printed_line_when_the_book_is_built(monkeypatch, capsys):
    from resnet_lib.book.runs import STATIC_ENV

    monkeypatch.setenv(STATIC_ENV, "1")
    assert list(book.progress(iter([1, 2, 3]), desc="nets", total=3)) == [1, 2, 3]
    out = capsys.readouterr().out
    assert out.startswith("nets: 3 of 3 done in ") and out.count("\n") == 1
    monkeypatch.delenv(STATIC_ENV)
    bar = book.progress([1, 2], desc="nets")
    assert list(bar) == [1, 2] and hasattr(bar, "close")  # tqdm, a widget in a notebook


@pytest.mark.one_backend
def test_fit_cached_keeps_runs_that_mean_the_same_and_never_deletes_one(monkeypatch, tmp_path, capsys):
    import dataclasses

    from resnet_lib.train import get_recipe

    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    options = dict(data="digits", epochs=1, batch_size=128, steps_per_epoch=1, image_size=16,
                   tensorboard=False, verbose=0)
    first = book.fit_cached("r", profile="smoke", model="resnet8", **options)
    directory = tmp_path / "smoke" / "r"
    (directory / "notes.txt").write_text("mine")
    stamp = (directory / "history.csv").stat().st_mtime_ns
    recipe = get_recipe("paper-cifar")
    same = [dict(model="ResNet8"), dict(model="resnet8", learning_rate=0.1),
            dict(model="resnet8", recipe=dataclasses.replace(recipe, description=recipe.description + "."))]
    for variant in same:  # re-opened, not retrained
        again = book.fit_cached("r", profile="smoke", **options, **variant)
        assert again.history == first.history
    assert (directory / "history.csv").stat().st_mtime_ns == stamp
    assert "moved" not in capsys.readouterr().out
    longer = book.fit_cached("r", profile="smoke", model="resnet8", **dict(options, epochs=2))
    assert len(longer.history["epoch"]) == 2
    note = capsys.readouterr().out
    assert "epochs: 1 -> 2" in note and "r.replaced-1" in note
    assert (tmp_path / "smoke" / "r.replaced-1" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "smoke" / "r.replaced-1" / "checkpoints" / "epoch_0001.keras").exists()


def test_markdown_table():
    text = book.markdown_table(["a", "b"], [[1, "x|y"], [2, 3.5]])
    assert text.splitlines() == ["| a | b |", "|:---|---:|", "| 1 | x\\|y |", "| 2 | 3.5 |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        book.markdown_table(["a", "b"], [[1]])


def test_explorer_shows_the_static_view_then_one_widget_and_returns_nothing(monkeypatch, capsys):
    ipywidgets = pytest.importorskip("ipywidgets", reason="ipywidgets is the book extra's")
    import IPython.display

    monkeypatch.delenv(book.runs.STATIC_ENV, raising=False)
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kw: shown.extend(objects))
    seen = []
    result = book.explorer(lambda depth, kind: seen.append((depth, kind)),
                           static=lambda: print("STATIC"), depth=(18, 152, 1), kind=["basic", "bottleneck"])
    # a returned widget would be displayed a second time as the cell's value
    assert result is None
    assert "STATIC" in capsys.readouterr().out
    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.VBox)
    slider, dropdown = shown[0].children[0].children
    assert isinstance(slider, ipywidgets.IntSlider) and isinstance(dropdown, ipywidgets.Dropdown)
    dropdown.value = "bottleneck"
    assert seen[-1] == (18, "bottleneck")


def test_explorer_in_the_built_book_shows_the_static_view_and_no_widget(monkeypatch, capsys):
    import IPython.display

    monkeypatch.setenv(book.runs.STATIC_ENV, "1")
    shown, seen = [], []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kw: shown.extend(objects))
    assert book.explorer(lambda depth: seen.append(depth), static=lambda: print("STATIC"), depth=(18, 152, 1)) is None
    out = capsys.readouterr().out
    # no widget, not even a rendered first value: the page has no kernel to answer it
    assert shown == [] and seen == []
    assert out.index("STATIC") < out.index("controls for depth appear here")


def test_explorer_needs_its_static_view():
    with pytest.raises(TypeError, match="static"):
        book.explorer(print, x=[1, 2])
    with pytest.raises(TypeError, match="must be a callable"):
        book.explorer(print, static=None, x=[1, 2])


def test_explorer_without_ipywidgets_shows_only_the_static_view(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    assert book.explorer(print, static=lambda: print("STATIC"), x=[1, 2]) is None
    out = capsys.readouterr().out
    assert "STATIC" in out and "ipywidgets is not installed" in out


def test_colab_text_uses_the_repository_url():
    url = project.repository_url(ROOT / "pyproject.toml")
    assert project.repository_url() == url
    assert project.colab_url("02_x.ipynb", url=url) == (
        "https://colab.research.google.com/github/" + url.removeprefix("https://github.com/")
        + "/blob/main/book/02_x.ipynb")
    source = project.colab_install_source(url=url)
    assert project.COLAB_MARKER in source and f'git+{url}"' in source
    with pytest.raises(ValueError, match="OWNER/REPO"):
        project.colab_install_source(url="https://example.com/x")


def test_install_cell_is_valid_ipython_and_skips_outside_colab():
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(project.colab_install_source(url="https://github.com/a/b"))
    namespace = {"get_ipython": lambda: pytest.fail("installed outside Colab")}
    exec(compile(python, "<install cell>", "exec"), namespace)


def test_module_map_reads_docstrings_without_importing():
    entries = dict(project.module_map())
    assert entries["resnet_lib.book"].startswith("What the book's chapters share")
    assert entries["resnet_lib.book.setup"].startswith("The first cell of every chapter")
    assert "resnet_lib.models" in entries and "resnet_lib.book.profiles" in entries
    assert all(name.startswith("resnet_lib") for name in entries)


def test_trainable_parameters_leave_out_batch_norm_statistics():
    import keras

    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(3, 1, use_bias=False)(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization()(x))
    assert trainable_parameters(model) == 2 * 3 + 3 + 3  # kernel, gamma, beta
    assert model.count_params() == trainable_parameters(model) + 6  # + moving mean, variance


def test_compare_step_times_times_each_model():
    from resnet_lib.benchmarks import compare_step_times
    from resnet_lib.models import cifar_resnet

    models = {"resnet8": cifar_resnet(8, input_shape=(16, 16, 3)),
              "plain8": cifar_resnet(8, input_shape=(16, 16, 3), residual=False)}
    times = compare_step_times(models, batch_size=4, rounds=2, warmup=1)
    assert set(times) == {"resnet8", "plain8"} and all(t > 0 for t in times.values())
    with pytest.raises(ValueError, match="different input shapes"):
        compare_step_times({"a": models["resnet8"], "b": cifar_resnet(8, input_shape=(8, 8, 3))},
                                batch_size=2)


def test_compare_step_times_measures_each_models_own_step(monkeypatch):
    """Steps of known length (sleeps) come back as their medians, warm-up rounds not timed."""
    import time

    from resnet_lib.benchmarks import compare_step_times
    from resnet_lib.models import cifar_resnet

    models = {"fast": cifar_resnet(8, input_shape=(8, 8, 3)), "slow": cifar_resnet(8, input_shape=(8, 8, 3))}
    calls = {name: [] for name in models}
    lengths = {"fast": [0.5, 0.02, 0.02, 0.03], "slow": [0.5, 0.12, 0.10, 0.11]}  # first: warm-up

    def stepper(name):
        def step(x, y):
            time.sleep(lengths[name][len(calls[name])])
            calls[name].append(len(x))
        return step

    for name, model in models.items():
        monkeypatch.setattr(model, "train_on_batch", stepper(name))
    times = compare_step_times(models, batch_size=4, rounds=3, warmup=1)
    assert calls == {"fast": [4] * 4, "slow": [4] * 4}
    assert 0.02 <= times["fast"] < 0.08  # the median of 0.02, 0.02, 0.03, plus scheduling
    assert 0.10 <= times["slow"] < 0.2  # the median 0.11; the 0.5 s warm-up is left out


def test_small_image_runs_share_names_and_options(monkeypatch, tmp_path):
    seen = []
    import resnet_lib.book.runs as runs

    monkeypatch.setattr(runs, "fit_cached", lambda name, **kw: seen.append((name, kw)) or name)
    assert book.train_small_image_net("plain20", profile="cpu") == "digits-plain20"
    assert book.train_small_image_net("resnet20", shortcut="B", profile="gpu") == "cifar10-resnet20-B"
    assert book.train_small_image_net("resnet20", shortcut="A", profile="smoke") == "digits-resnet20"
    configs = [kw["config"] for _, kw in seen]
    assert configs[1].model_options == {"shortcut": "B"} and configs[2].model_options == {}
    assert book.train_small_image_net("resnet56", preact=True, profile="cpu") == "digits-resnet56-v2"
    assert seen[3][1]["config"].model_options == {"preact": True}
    assert configs[0].recipe == "paper-cifar" and configs[0].data.name == "digits"
    assert configs[0].model == "plain20" and configs[1].data.name == "cifar10"
    for profile in ("smoke", "cpu", "gpu"):
        assert set(book.SMALL_IMAGE_RUNS[profile]) == set(book.SMALL_IMAGE_RUNS["cpu"])


def test_small_image_runs_train_for_real_at_smoke_scale(monkeypatch, tmp_path):
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    monkeypatch.setitem(book.SMALL_IMAGE_RUNS, "smoke", dict(book.SMALL_IMAGE_RUNS["smoke"], epochs=1, steps_per_epoch=1))
    first = book.train_small_image_net("resnet8", profile="smoke")
    assert len(first.history["train_error"]) == 1
    again = book.train_small_image_net("resnet8", profile="smoke")  # finished: re-opened
    assert again.history == first.history
    assert (tmp_path / "smoke" / "digits-resnet8" / "history.csv").exists()


@pytest.mark.slow
@pytest.mark.one_backend
def test_cpu_profile_plain_nets_train(monkeypatch, tmp_path):
    """The live plain nets of the cpu profile train: plain-44 and plain-56 end at least 25 points
    below chance (90%) in training error, so the degradation chapter compares depths, not a
    failed start (about 6 minutes on 2 cores: run with -m slow)."""
    monkeypatch.setenv("RESNET_BOOK_RUNS", str(tmp_path))
    for depth in (44, 56):
        result = book.train_small_image_net(f"plain{depth}", profile="cpu")
        final = float(result.history["train_error"][-1])
        assert final <= 0.9 - 0.25, (depth, final)
