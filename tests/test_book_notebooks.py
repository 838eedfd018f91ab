"""The book's notebooks: Colab link and install cell from pyproject's URL, no outputs, in the toc.

Changing the repository URL is one edit to pyproject.toml (plus book/_config.yml, see
test_project.py) and ``python scripts/sync_notebooks.py``; these tests fail until that is done.
"""

import json
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

from resnet_lib.book import COLAB_MARKER, colab_badge, colab_install_source, repository_url

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
URL = repository_url(ROOT / "pyproject.toml")


def _load(path):
    return nbformat.read(path, as_version=4)


def _toc_files():
    names = []
    for line in (BOOK / "_toc.yml").read_text().splitlines():
        line = line.strip()
        if line.startswith(("root:", "- file:", "file:")):
            names.append(line.split(":", 1)[1].strip())
    return names


def test_there_are_chapters():
    assert NOTEBOOKS, "book/ has no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cells_carry_colab_link_and_install_cell(path):
    nb = _load(path)
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# "), f"{path.name}: title first"
    assert colab_badge(path.name, url=URL) in first.source, f"{path.name}: Colab badge missing or stale"
    assert second.cell_type == "code"
    assert second.source == colab_install_source(url=URL), f"{path.name}: install cell stale"
    assert f'%pip install --quiet "git+{URL}"' in second.source
    assert COLAB_MARKER in second.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = _load(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {i} has outputs"
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_the_install_cell_installs(path):
    for i, cell in enumerate(_load(path).cells[2:], start=2):
        if cell.cell_type == "code":
            assert "pip install" not in cell.source, f"{path.name} cell {i}: installs outside the Colab cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_calls_the_library_instead_of_defining_models(path):
    """Models, loaders and loops live in resnet_lib: no layers or classes built in a chapter."""
    for i, cell in enumerate(_load(path).cells):
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*class\s", cell.source, re.M), f"{path.name} cell {i} defines a class"
        assert not re.search(r"layers\.(Conv2D|Dense|BatchNormalization|Add)\(", cell.source), (
            f"{path.name} cell {i} builds layers; put the model in resnet_lib.models"
        )
        assert ".fit(" not in cell.source.replace("fit_cached(", ""), f"{path.name} cell {i}: train via resnet_lib.train"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_sets_up_its_profile_and_has_exercises(path):
    nb = _load(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "chapter_setup(" in code, f"{path.name}: prints the profile and GPU via chapter_setup"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^## Exercises", markdown, re.M), f"{path.name}: ends with exercises"


def test_every_notebook_is_in_the_toc_and_every_entry_exists():
    toc = _toc_files()
    for path in NOTEBOOKS:
        assert path.stem in toc, f"{path.name} is not in book/_toc.yml"
    for name in toc:
        assert any((BOOK / f"{name}{ext}").exists() for ext in (".ipynb", ".md")), name


def test_cited_keys_exist_in_the_bibliography():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (BOOK / "references.bib").read_text(), re.M))
    sources = [c.source for p in NOTEBOOKS for c in _load(p).cells if c.cell_type == "markdown"]
    sources += [p.read_text() for p in BOOK.glob("*.md")]
    cited = {k.strip() for s in sources for group in re.findall(r"\{cite:[a-z]+\}`([^`]+)`", s)
             for k in group.split(",")}
    assert cited, "no citations found"
    assert cited <= keys, f"unknown bibliography keys: {sorted(cited - keys)}"


def test_sync_script_check_passes():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "sync_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sync_script_rewrites_a_changed_url(tmp_path):
    """One edit to the URL + the script updates badge and install cell; outputs are stripped."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_notebooks
    finally:
        sys.path.pop(0)
    src = NOTEBOOKS[0]
    nb = _load(src)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells[1].execution_count = 3
    path = tmp_path / src.name
    nbformat.write(nb, path)
    new_url = "https://github.com/someone-else/fork"
    text = sync_notebooks.synced_text(path, url=new_url, branch="dev")
    data = json.loads(text)
    assert f"github/someone-else/fork/blob/dev/book/{src.name}" in "".join(data["cells"][0]["source"])
    assert "".join(data["cells"][1]["source"]) == colab_install_source(url=new_url)
    assert data["cells"][1]["outputs"] == [] and data["cells"][1]["execution_count"] is None
    assert sum(COLAB_MARKER in "".join(c["source"]) for c in data["cells"]) == 1


def test_config_branch_matches_the_colab_links():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_notebooks
    finally:
        sys.path.pop(0)
    assert sync_notebooks.book_branch(BOOK / "_config.yml") == "main"
    config = (BOOK / "_config.yml").read_text()
    assert 'colab_url: "https://colab.research.google.com"' in config
