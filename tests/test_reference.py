"""resnet_lib.reference: every entry carries a source, the tables agree with each other, and
the book's "Sources of the numbers" page lists every entry; the benchmark figures the chapters
quote are read from benchmarks/*.json."""

import json
import math
import pathlib

import nbformat
import pytest

from resnet_lib import reference
from resnet_lib.benchmarks import benchmark_runs, gpu_training_rates, pipeline_rates, rate_range
from resnet_lib.book.sources import SOURCES_PAGE, format_value, sources_markdown

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def test_every_entry_is_cited_with_a_source():
    found = reference.entries()
    assert {"TABLE1", "TABLE3", "TABLE6[110]", "TORCHVISION_PARAMS", "SEED_PARAMS", "VOC2012_SPLITS"} <= set(found)
    for name, cited in found.items():
        assert isinstance(cited, reference.Cited), name
        assert len(cited.source) > 10 and ".md" not in cited.source, (name, cited.source)  # an original source, not notes


def test_entries_lists_every_cited_name_of_the_module():
    names = {n for n, v in vars(reference).items() if isinstance(v, reference.Cited)}
    assert names <= set(reference.entries()), names - set(reference.entries())


def test_tables_agree_with_each_other():
    voc = reference.VOC2012_SPLITS.value
    assert voc["train"] + voc["val"] == voc["trainval"]
    for depth, cited in reference.TABLE6.items():  # Table 6 rounds the exact option-A counts
        exact = reference.CIFAR_OPTION_A_PARAMS.value[depth]
        digits = 1 if depth >= 110 else 2
        assert round(exact / 1e6, digits) == cited.value["params_m"], depth
        assert (depth - 2) % 6 == 0  # 6n + 2 layers
    table1 = reference.TABLE1.value
    for depth, row in table1.items():  # weighted layers: 2 per basic block, 3 per bottleneck, + conv1 + fc
        per_block = 2 if row["block"] == "basic" else 3
        assert per_block * sum(row["blocks"]) + 2 == depth
    for depth, exact in reference.EXACT_V1_MULTIPLY_ADDS.value.items():
        assert exact == pytest.approx(table1[depth]["flops"], rel=0.02)  # Table 1 rounds to two digits
    assert reference.TABLE2.value["ResNet-34"] == reference.TABLE3.value["ResNet-34 A"][0]
    assert reference.TABLE2.value["plain-34"] == reference.TABLE3.value["plain-34"][0]
    assert reference.SEED_PARAMS.value["ResNet-50"] == reference.KERAS_APPLICATIONS_PARAMS.value["50, classes=20"]
    assert sorted(reference.SEED_DEFECTS.value) == list(range(1, 9))


def test_format_value():
    assert format_value(22_696_724) == "22,696,724"
    assert format_value(11.282e9) == "11.282e9" and format_value(3.858e9) == "3.858e9"
    assert format_value({"a": (1, 2), "b": {"c": 0.45}}) == "a: 1, 2; b: (c: 0.45)"
    assert format_value(False) == "no"
    assert format_value({"url": "http://host/x/VOC.tar"}) == "url: [VOC.tar](http://host/x/VOC.tar)"


def test_sources_page_lists_every_entry_with_its_source():
    page = sources_markdown()
    for name, cited in reference.entries().items():
        row = next((line for line in page.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} missing from the Sources page"
        assert cited.source.replace("|", "\\|") in row, name
        assert format_value(cited.value).replace("|", "\\|") in row, name


def test_sources_page_is_a_notebook_in_the_back_matter_that_renders_the_reference():
    nb = nbformat.read(BOOK / SOURCES_PAGE, as_version=4)
    assert nb.cells[0].source.startswith("# Sources of the numbers")
    assert any(c.cell_type == "code" and "show_sources()" in c.source for c in nb.cells)
    toc = (BOOK / "_toc.yml").read_text()
    back = toc[toc.index("caption: Back matter"):]
    assert f"file: {pathlib.Path(SOURCES_PAGE).stem}" in back


def test_chapters_that_cite_link_to_the_sources_page():
    for path in sorted(BOOK.glob("0[1-8]_*.ipynb")):
        markdown = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        if "cited" in markdown:
            assert f"]({SOURCES_PAGE})" in markdown, f"{path.name} cites a fact without linking {SOURCES_PAGE}"


def test_benchmark_results_are_lists_of_runs_beside_each_report():
    for name in ("input_pipeline", "gpu_training", "small_image_epoch"):
        assert (ROOT / "benchmarks" / f"{name}.md").exists()
        runs = benchmark_runs(name)
        assert runs and all("date" in run for run in runs), name


def test_benchmark_rates_and_ranges(tmp_path):
    runs = [{"date": "d", "images_per_second": {"p": 1949.0}, "steady_images_per_second": {"p": 5001.0}},
            {"date": "d", "images_per_second": {"p": 2251.0, "q": 10.0}, "steady_images_per_second": {}}]
    (tmp_path / "input_pipeline.json").write_text(json.dumps(runs))
    assert pipeline_rates("p", directory=tmp_path) == [1949.0, 2251.0]
    assert pipeline_rates("p", steady=True, directory=tmp_path) == [5001.0]
    assert rate_range([1949.0, 2251.0]) == "1,900-2,300"
    assert rate_range([5001.0]) == "5,000"
    with pytest.raises(KeyError, match="recorded: \\['p', 'q'\\]"):
        pipeline_rates("r", directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="gpu_training"):
        benchmark_runs("gpu_training", directory=tmp_path)
    gpu = [{"date": "d", "smoke": True, "results": [{"model": "m", "policy": "mixed_bfloat16", "images_per_second": 9.0}]},
           {"date": "d", "results": [{"model": "m", "augment": True, "policy": "mixed_bfloat16", "images_per_second": 7.0},
                                     {"model": "m", "augment": False, "policy": "mixed_bfloat16", "images_per_second": 8.0}]}]
    (tmp_path / "gpu_training.json").write_text(json.dumps(gpu))
    assert gpu_training_rates("m", directory=tmp_path) == [8.0]
    assert gpu_training_rates("m", augment=True, directory=tmp_path) == [7.0]
    assert math.isclose(max(gpu_training_rates("resnet50")), 5685)  # the H100 figure of gpu_training.md
