"""benchmarks/book_build.py reads chapter times from a build log; the introduction reads them back."""

import importlib.util
import json
import pathlib

import pytest

from resnet_lib.benchmarks import book_build_times

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG = """reading sources... [ 10%] 00_introduction
/x/book/00_introduction.ipynb: Executed notebook in 14.87 seconds [mystnb]
/x/book/02_degradation.ipynb: Executed notebook in 121.08 seconds [mystnb]
"""


def _script():
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "benchmarks" / "book_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_times_are_read_from_the_log_and_recorded(tmp_path):
    script = _script()
    assert script.chapter_times(LOG) == {"00_introduction": 14.87, "02_degradation": 121.08}
    (tmp_path / "_toc.yml").write_text("root: 00_introduction\nparts:\n  - chapters:\n      - file: 02_degradation\n")
    (tmp_path / "book.log").write_text(LOG)
    out = tmp_path / "book_build.json"
    args = [str(tmp_path / "book.log"), "--wall", "140", "--commit", "abc", "--machine", "m",
            "--toc", str(tmp_path / "_toc.yml"), "--json", str(out)]
    assert script.main(args) == 0 and script.main(args) == 0
    runs = json.loads(out.read_text())
    assert len(runs) == 2 and runs[-1]["chapter_s"]["02_degradation"] == 121.08
    assert book_build_times(directory=tmp_path)["wall_s"] == 140


def test_an_incremental_build_is_refused(tmp_path, capsys):
    (tmp_path / "_toc.yml").write_text("root: 00_introduction\n      - file: 01_dataset\n")
    (tmp_path / "book.log").write_text(LOG)
    assert _script().main([str(tmp_path / "book.log"), "--wall", "1", "--commit", "c", "--machine", "m",
                           "--toc", str(tmp_path / "_toc.yml"), "--json", str(tmp_path / "o.json")]) == 1
    assert "01_dataset" in capsys.readouterr().err


def test_the_recorded_build_covers_every_chapter():
    build = book_build_times()
    assert build["profile"] == "cpu" and build["wall_s"] >= sum(build["chapter_s"].values()) * 0.9
    assert {"00_introduction", "02_degradation", "07_training"} <= set(build["chapter_s"])


def test_gpu_training_table_shows_only_measured_cards_and_ranges(tmp_path):
    import json

    from resnet_lib.benchmarks import gpu_training_table

    row = {"model": "resnet50", "augment": False, "image_size": 224, "batch_size": 256, "policy": "float32"}
    runs = [{"device": "gpu Card X", "results": [dict(row, images_per_second=1010)]},
            {"device": "gpu Card X", "results": [dict(row, images_per_second=1290)]},
            {"device": "gpu Card Y", "smoke": True, "results": [dict(row, images_per_second=5)]}]
    (tmp_path / "gpu_training.json").write_text(json.dumps(runs))
    tables = gpu_training_table(directory=tmp_path)
    assert list(tables) == ["Card X"]  # the smoke run, Card Y's only one, is left out
    headers, rows = tables["Card X"]
    assert len(rows) == 1 and rows[0][0] == "resnet50, 224x224" and rows[0][-2:] == ["1,000-1,300", "2"]
