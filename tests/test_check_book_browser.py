"""scripts/check_book_browser.py: pages laid out by headless Chromium, each reader's problem named."""

import importlib.util
import pathlib

import numpy as np
import pytest

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLUMN = '<main style="max-width: 700px">%s</main>'


def _checker():
    spec = importlib.util.spec_from_file_location("check_book_browser", ROOT / "scripts" / "check_book_browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(inner_input="<pre>x = 1</pre>", outputs=""):
    return (f'<div class="cell"><div class="cell_input">{inner_input}</div>'
            f'<div class="cell_output">{outputs}</div></div>')


def _measured(**overrides):
    base = dict(pageWidth=1280, windowWidth=1280, wide=[], code=[], output=[], images=[], tables=[], widgets=[],
                streams=[], errors=[], missing=[], offline=[])
    base.update(overrides)
    return base


def test_clean_measurements_have_no_problems():
    assert _checker().problems_of(_measured(offline=["https://cdn.example/x.js"]), width=1280) == []


def test_each_measured_problem_is_named():
    problems = _checker().problems_of(_measured(
        pageWidth=464, windowWidth=390, wide=["code.literal ends at 464 px"],
        code=[{"cell": 2, "width": 900, "shown": 684, "line": "x = " + "1" * 100}],
        output=[{"cell": 3, "width": 800, "shown": 688, "line": "a long print"}],
        images=[{"cell": 4, "drawn": 1400, "shown": 690}],
        tables=[{"width": 900, "column": 700, "head": "network error"}],
        widgets=[{"cell": 5, "widgets": 2, "statics": 0}], streams=[6, 6],
        errors=["Identifier 'THEBE_JS_URL' has already been declared"], missing=["/_static/x.css"]), width=390)
    text = "\n".join(problems)
    for expected in ("THEBE_JS_URL", "missing local file: /_static/x.css", "464 px wide in a 390 px window",
                     "cell 2: code clipped", "cell 3: output clipped", "shown at 690 px (49%)",
                     "table 'network error' is 900 px wide", "2 widgets in one cell",
                     "a widget without its static view", "cell 6: stderr"):
        assert expected in text, expected
    assert text.count("cell 6: stderr") == 1  # one line per cell


def test_bad_widths_are_an_argument_error(tmp_path):
    with pytest.raises(SystemExit):
        _checker().main([str(tmp_path), "--widths", "wide"])


def test_without_a_browser_if_browser_skips_with_a_reason(tmp_path, monkeypatch, capsys):
    checker = _checker()
    monkeypatch.setattr(checker.shutil, "which", lambda name: None)
    monkeypatch.delenv("RESNET_BROWSER", raising=False)
    assert checker.main([str(tmp_path), "--if-browser"]) == 0
    assert "skipped, no Chromium found" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="install_browser.sh"):
        checker.find_browser()


def test_no_pages_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the book first"):
        _checker().book_pages(tmp_path)


@pytest.fixture
def chromium():
    pytest.importorskip("playwright", reason="the browser extra's: pip install 'resnet-lib[browser]'")
    checker = _checker()
    try:
        return checker.find_browser()
    except FileNotFoundError as err:
        pytest.skip(str(err))


def test_real_pages_in_chromium(tmp_path, chromium, capsys):
    from PIL import Image

    checker = _checker()
    (tmp_path / "_images").mkdir()
    Image.fromarray(np.zeros((10, 1400, 3), np.uint8)).save(tmp_path / "_images" / "wide.png")
    Image.fromarray(np.zeros((10, 300, 3), np.uint8)).save(tmp_path / "_images" / "small.png")
    (tmp_path / "good.html").write_text("<html><body>" + COLUMN % (
        _cell(outputs='<img src="_images/small.png">') + _cell(outputs="<table><tr><td>1</td></tr></table>"))
        + "</body></html>")
    (tmp_path / "bad.html").write_text("<html><body>" + COLUMN % (
        _cell("<pre style='overflow: auto'>" + "y = " + "z" * 200 + "</pre>")
        + _cell(outputs='<img style="max-width: 100%" src="_images/wide.png">')
        + _cell(outputs='<div class="output stderr"><pre>UserWarning</pre></div>')
        + '<div style="width: 2000px">wide</div>'
        + '<link rel="stylesheet" href="_static/missing.css">')
        + "<script>const A = 1;</script><script>const A = 2;</script></body></html>")
    assert checker.main([str(tmp_path), "--browser", chromium]) == 1
    out = capsys.readouterr().out
    assert "good.html" not in out
    for expected in ("bad.html @ 1280 px: JavaScript error", "missing local file: /_static/missing.css",
                     "cell 1: code clipped", "figure drawn 1400 px wide", "cell 3: stderr",
                     "bad.html @ 390 px: page is"):
        assert expected in out, expected
    # the phone width lays out but does not judge code or figure sizes
    assert "bad.html @ 390 px: cell 1: code clipped" not in out
