"""scripts/check_book_html.py finds, on a built page, each thing a reader trips on."""

import importlib.util
import pathlib

import numpy as np
import pytest

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

ROOT = pathlib.Path(__file__).resolve().parents[1]
WIDGET = '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "%s"}</script>'


def _checker():
    spec = importlib.util.spec_from_file_location("check_book_html", ROOT / "scripts" / "check_book_html.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(outputs, code="x = 1"):
    return (f'<div class="cell docutils container"><div class="cell_input docutils container"><pre>{code}</pre></div>'
            f'<div class="cell_output docutils container">{outputs}</div></div>')


def _page(folder, name, cells, *, width=600):
    from PIL import Image

    (folder / "_images").mkdir(exist_ok=True)
    Image.fromarray(np.zeros((10, width, 3), np.uint8)).save(folder / "_images" / f"{name}.png")
    (folder / f"{name}.html").write_text("<html><body>" + "".join(cells) + "</body></html>", encoding="utf-8")


def test_a_clean_page_passes(tmp_path, capsys):
    checker = _checker()
    _page(tmp_path, "good", [_cell('<img src="_images/good.png">' + WIDGET % "a"),
                             _cell("<table><tr><th>network</th><th>error</th></tr></table>")])
    assert checker.main([str(tmp_path)]) == 0
    assert "0 problems" in capsys.readouterr().out


def test_each_problem_is_named(tmp_path, capsys):
    checker = _checker()
    wide_table = "<table><tr>" + "".join(f"<td>{'w' * 30}</td>" for _ in range(5)) + "</tr></table>"
    _page(tmp_path, "bad", [
        _cell(WIDGET % "a" + WIDGET % "a" + "<img src='_images/bad.png'>"),  # displayed twice
        _cell(WIDGET % "b"),  # no static view
        _cell('<div class="output stderr"><pre>UserWarning: noise</pre></div>'),
        _cell("<pre>Traceback (most recent call last):\n  boom</pre>"),
        _cell(wide_table, code="y = '" + "z" * 100 + "'"),
    ], width=1400)
    assert checker.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for expected in ("shows 2 widgets", "has a widget but no static figure or table", "stderr in a cell's output",
                     "a traceback", "bad.png is 1400 px wide", "table 1", "a code line of 106 characters"):
        assert expected in out, expected


def test_no_pages_is_an_error(tmp_path, capsys):
    assert _checker().main([str(tmp_path)]) == 2
    assert "build the book first" in capsys.readouterr().err
