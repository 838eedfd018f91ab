"""resnet_lib.book.estimates: the gpu profile's time on Colab cards, scaled from the H100 measurement."""

import ast
import dataclasses
import json
import pathlib
import time

import pytest

from resnet_lib import book
from resnet_lib.book import estimates
from resnet_lib.book.benchmarks import BENCHMARKS_ENV, gpu_training_rates
from resnet_lib.book.estimates import CARDS, CHAPTER_TITLES, H100, chapter_gpu_runs, training_seconds
from resnet_lib.book.runs import SMALL_IMAGE_RUNS
from resnet_lib.reference import VOC2012_SPLITS

# arithmetic and files: the counts are the same on every backend, so the TensorFlow pass runs them
pytestmark = pytest.mark.one_backend

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
GPU = SMALL_IMAGE_RUNS["gpu"]
RESNET56 = dict(input_shape=(32, 32, 3), num_classes=10)


def _every_run():
    return [run for title in CHAPTER_TITLES for run in chapter_gpu_runs(title)]


def _chapter_setup_call(path):
    """The ``chapter_setup(...)`` call of a notebook's code cells, as an ``ast.Call``."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code" or "chapter_setup(" not in "".join(cell["source"]):
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "chapter_setup":
                return node
    raise AssertionError(f"{path.name}: no chapter_setup(...) call")


def _literal_gpu_settings(call):
    """The keywords of ``gpu=dict(...)`` whose values are literals."""
    (gpu,) = [k.value for k in call.keywords if k.arg == "gpu"]
    settings = {}
    for keyword in gpu.keywords:
        try:
            settings[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            pass
    return settings


# --- the arithmetic ---------------------------------------------------------------------------

def test_estimate_scales_linearly_in_epochs_and_images():
    one = training_seconds("resnet56", images=1000, epochs=1, card="T4", **RESNET56)
    assert one > 0
    assert training_seconds("resnet56", images=1000, epochs=7, card="T4", **RESNET56) == pytest.approx(7 * one)
    assert training_seconds("resnet56", images=3000, epochs=1, card="T4", **RESNET56) == pytest.approx(3 * one)
    # an evaluated image is a forward pass: a third of a trained one
    with_eval = training_seconds("resnet56", images=1000, epochs=1, card="T4", eval_images=3000, **RESNET56)
    assert with_eval == pytest.approx(2 * one)


def test_a100_is_faster_than_t4_by_the_peak_ratio():
    t4, a100 = (training_seconds("resnet50", input_shape=(224, 224, 3), num_classes=20, images=5000, epochs=2,
                                 card=card) for card in ("T4", "A100"))
    assert t4 / a100 == pytest.approx(CARDS["A100"].peak_tflops / CARDS["T4"].peak_tflops)
    assert t4 > a100


@pytest.mark.parametrize("model, size, classes", [("resnet20", 32, 10), ("resnet50", 224, 1000)])
def test_an_h100_card_reproduces_the_measured_rate(model, size, classes):
    """The MFU is derived, not typed in: applied back to the H100 it gives the measured img/s."""
    measured = gpu_training_rates(model)
    seconds = training_seconds(model, input_shape=(size, size, 3), num_classes=classes, images=100_000,
                               epochs=1, card=H100)
    assert 100_000 / seconds == pytest.approx(sum(measured) / len(measured), rel=0.01)
    assert min(measured) * 0.99 <= 100_000 / seconds <= max(measured) * 1.01


def test_mfu_matches_the_benchmark_report():
    """gpu_training.md: ResNet-50 13.3%, ResNet-20 4.6-4.7% of the H100's dense bf16 peak."""
    assert estimates.measured_mfu("imagenet") == pytest.approx(0.133, abs=0.001)
    assert 0.045 < estimates.measured_mfu("cifar") < 0.048


@pytest.mark.parametrize("name", CARDS)
def test_card_policy_is_what_keras_picks_there(monkeypatch, name):
    from resnet_lib.train import runtime

    card = CARDS[name]
    monkeypatch.setattr(runtime, "gpu_compute_capability", lambda: card.compute_capability)
    assert runtime.resolve_mixed_precision("auto") == card.policy
    assert card.source and card.peak_tflops > 0


@pytest.mark.one_backend  # builds the nets; the count does not depend on the backend
@pytest.mark.parametrize("run", sorted({(r.model, r.input_shape, r.num_classes, r.options) for r in _every_run()}
                                       | {("resnet20", (32, 32, 3), 10, ()), ("resnet50", (224, 224, 3), 1000, ()),
                                          ("resnet20", (16, 16, 3), 10, (("shortcut", "C"),)),
                                          ("resnet34", (96, 96, 3), 10, (("shortcut", "C"),)),
                                          ("resnet50", (97, 97, 3), 10, (("stride_at", "3x3"),)),
                                          ("plain18", (64, 64, 3), 10, ())}),
                         ids=str)
def test_closed_form_multiply_adds_equal_the_count_on_the_built_model(run):
    from resnet_lib.complexity import multiply_adds
    from resnet_lib.models import build_model

    model, input_shape, num_classes, options = run
    built = build_model(model, num_classes=num_classes, input_shape=input_shape, **dict(options))
    assert estimates._closed_form_multiply_adds(model, input_shape, num_classes, dict(options)) == multiply_adds(built)


# --- the chapters' runs -----------------------------------------------------------------------

def test_each_run_counts_once_in_the_chapter_that_first_trains_it():
    runs = _every_run()
    assert len(runs) == len(set(runs)), "a run counted in two chapters"
    assert [r.model for r in chapter_gpu_runs("Degradation")] == [f"plain{d}" for d in GPU["depths"]]
    assert [r.model for r in chapter_gpu_runs("Residual learning")] == [f"resnet{d}" for d in GPU["depths"]]
    deepest = max(GPU["depths"])
    assert [r.name for r in chapter_gpu_runs("Shortcuts")] == [f"cifar10-resnet{deepest}-{o}" for o in "BC"]
    assert all(r.epochs == GPU["epochs"] and r.train_images == 45_000 and r.eval_images == 15_000
               for r in runs if r.name.startswith("cifar10-"))
    for title in ("Introduction", "The dataset", "Bottlenecks", "Table 1"):
        assert chapter_gpu_runs(title) == ()
        assert set(book.gpu_time_estimate(title).values()) == {0}


def test_training_counts_its_three_voc_runs_and_reopens_the_cifar_ones():
    runs = chapter_gpu_runs("Training")
    assert [r.epochs for r in runs] == [60, 90, 90]
    splits = VOC2012_SPLITS.value
    for run in runs:
        assert (run.model, run.input_shape, run.num_classes) == ("resnet50", (224, 224, 3), 20)
        assert run.train_images == round(0.9 * splits["train"])  # 10% of train held out to choose checkpoints
        assert run.train_images + run.eval_images == splits["train"] + splits["val"]
    beyond = {r.name: r for r in chapter_gpu_runs("Beyond the paper")}
    assert set(beyond) == {"cifar10-resnet56-v2", "voc2012-resnet50-imagenet"}
    assert beyond["voc2012-resnet50-imagenet"].epochs == 15


def test_unknown_titles_raise_key_error_naming_the_chapters():
    for function in (chapter_gpu_runs, book.gpu_time_estimate, book.gpu_estimate_line):
        with pytest.raises(KeyError, match="Residual learning"):
            function("Chapter 9")


def test_titles_and_gpu_settings_are_those_of_the_notebooks():
    calls = {path.name: _chapter_setup_call(path) for path in CHAPTERS}
    assert tuple(ast.literal_eval(call.args[0]) for call in calls.values()) == CHAPTER_TITLES
    training = _literal_gpu_settings(calls["07_training.ipynb"])
    assert {k: training[k] for k in estimates.TRAINING_GPU} == estimates.TRAINING_GPU
    beyond = _literal_gpu_settings(calls["08_beyond.ipynb"])
    assert {k: beyond[k] for k in estimates.BEYOND_GPU} == estimates.BEYOND_GPU


# --- what the book shows ----------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [(0, "0"), (30, "<1 min"), (600, "~10 min"), (3599, "~60 min"),
                                           (9.5 * 3600, "~9.5 h")])
def test_durations_are_rounded_to_minutes_then_hours(seconds, text):
    assert estimates.format_duration(seconds) == text


def test_the_line_names_every_card_and_says_it_is_an_estimate():
    line = book.gpu_estimate_line("Degradation")
    assert line.startswith("Estimated GPU time, gpu profile") and "H100 measurement" in line
    assert all(f"{name} ~" in line for name in CARDS)
    assert "re-opens" not in line and "re-opens" in book.gpu_estimate_line("Shortcuts")
    assert book.gpu_estimate_line("Table 1").endswith("0, this chapter trains nothing")


def test_the_table_has_a_row_per_chapter_and_the_whole_book():
    rows = book.gpu_estimate_table()
    assert [row[0] for row in rows[:-1]] == list(CHAPTER_TITLES) and rows[-1][0].startswith("whole book")
    assert all(len(row) == len(book.GPU_ESTIMATE_HEADERS) for row in rows)
    total = {name: sum(book.gpu_time_estimate(t)[name] for t in CHAPTER_TITLES) for name in CARDS}
    assert rows[-1][1:] == [estimates.format_duration(s) for s in total.values()]
    assert "Estimated, not measured" in book.gpu_estimate_caption()
    book.markdown_table(list(book.GPU_ESTIMATE_HEADERS), rows)  # the introduction's call


def test_without_the_measurement_the_line_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(BENCHMARKS_ENV, str(tmp_path))  # no gpu_training.json there
    with pytest.raises(FileNotFoundError):
        book.gpu_estimate_table()
    line = book.gpu_estimate_line("Degradation")
    assert "no measured GPU throughput is available" in line and "gpu_training.json" in line
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "cpu")
    book.chapter_setup("Degradation", smoke={"epochs": 1}, cpu={"epochs": 2}, gpu={"epochs": 3})
    assert line in capsys.readouterr().out


def test_a_measurement_of_another_kind_only_gives_no_estimate(monkeypatch, tmp_path):
    runs = [{"device": "gpu NVIDIA H100 80GB HBM3", "results": [
        {"model": "resnet50", "augment": True, "image_size": 224, "policy": "mixed_bfloat16",
         "images_per_second": 5000}]}]
    (tmp_path / "gpu_training.json").write_text(json.dumps(runs))
    monkeypatch.setenv(BENCHMARKS_ENV, str(tmp_path))
    assert "no measured GPU throughput" in book.gpu_estimate_line("Training")


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_chapter_setup_prints_the_estimate_in_every_profile(monkeypatch, capsys, profile):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", profile)
    book.chapter_setup("Residual learning", smoke={"epochs": 1}, cpu={"epochs": 2}, gpu={"epochs": 3})
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == book.gpu_estimate_line("Residual learning")
    assert out[-2].startswith("Settings: ")


@pytest.mark.parametrize("title", ["Degradation", "Training", "Beyond the paper"])
def test_the_line_is_fast_enough_for_chapter_setup(title):
    """No net is built to count it (measured: under 0.1 s; building them took 2-18 s)."""
    estimates._multiply_adds.cache_clear()
    started = time.monotonic()
    book.gpu_estimate_line(title)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("title", ["Bottlenecks", "Introduction", "Test chapter"])
def test_chapter_setup_prints_no_estimate_where_nothing_trains(monkeypatch, capsys, title):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "smoke")
    book.chapter_setup(title)
    assert "Estimated GPU time" not in capsys.readouterr().out


def test_a_run_is_hashable_and_frozen():
    run = chapter_gpu_runs("Shortcuts")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.epochs = 1
    assert run.seconds("L4") == pytest.approx(
        training_seconds(run.model, input_shape=run.input_shape, images=run.train_images, epochs=run.epochs,
                         card=CARDS["L4"], num_classes=run.num_classes, eval_images=run.eval_images,
                         model_options=dict(run.options)))
