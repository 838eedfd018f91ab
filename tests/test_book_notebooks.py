"""The book's notebooks: Colab link and install cell from pyproject's URL, no outputs, in the toc.

Changing the repository URL is one edit to pyproject.toml (plus book/_config.yml, see
test_project.py) and ``python scripts/sync_notebooks.py``; these tests fail until that is done.
"""

import ast
import json
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

from resnet_lib.project import COLAB_MARKER, colab_badge, colab_install_source, repository_url

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if p.name[:2].isdigit()]  # "00_introduction" ..; not the back matter
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


# Work that belongs in the library, as it shows in a cell's source, and where it goes instead.
LIBRARY_WORK = [
    (r"\.(predict|predict_on_batch|train_on_batch|test_on_batch)\(", "predicts or steps batch by batch",
     "resnet_lib.train (fit, evaluation)"),
    (r"^\s*for\s+\(?\s*x\s*,\s*y\b", "loops over batches", "a resnet_lib function that takes the dataset"),
    (r"\w\(\s*\w+\s*,\s*training\s*=", "calls a model on batches", "resnet_lib.train.evaluation or resnet_lib.analysis"),
    (r"\bFigure\(|\.subplots\(|\bplt\.|\bpyplot\b|matplotlib\.figure", "builds a figure", "resnet_lib.plots"),
    (r"load_cifar10\(\)\s+if|\(32, 32, 3\)\s+if|\(16, 16, 3\)\s+if", "makes a per-profile data choice",
     "resnet_lib.book.small_image_data / small_image_input_shape"),
    (r"resnet_lib\.train\.sources", "reaches into resnet_lib.train.sources", "resnet_lib.book.voc.training_voc_root"),
    (r"\.model\.name\s*=(?!=)|\bmodel\.name\s*=(?!=)", "renames a model to key results",
     "resnet_lib.book.lesions.labelled_lesion_study"),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_leaves_loops_figures_and_profile_choices_to_the_library(path):
    for i, cell in enumerate(_load(path).cells):
        if cell.cell_type != "code":
            continue
        for pattern, what, where in LIBRARY_WORK:
            match = re.search(pattern, cell.source, re.M)
            assert not match, f"{path.name} cell {i} {what} ({match.group(0)!r}); use {where}"


def _reference_numbers():
    """Published numbers of resnet_lib.reference as prose would type them: 5,717 or 28.54."""
    from resnet_lib.reference import entries

    found = set()

    def walk(value):
        if isinstance(value, bool) or isinstance(value, str):
            return
        if isinstance(value, int) and value >= 1000:
            found.add(f"{value:,}")
        elif isinstance(value, float) and "e" not in repr(value) and len(repr(value).split(".")[1]) >= 2:
            found.add(repr(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (tuple, list)):
            for v in value:
                walk(v)

    for cited in entries().values():
        walk(cited.value)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_types_no_number_that_the_reference_holds(path):
    """Cited numbers are printed from resnet_lib.reference by a cell, never typed in the prose."""
    numbers = _reference_numbers()
    assert {"5,717", "22,696,724", "28.54"} <= numbers
    for i, cell in enumerate(_load(path).cells):
        if cell.cell_type != "markdown":
            continue
        typed = sorted(n for n in numbers if re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", cell.source))
        assert not typed, f"{path.name} cell {i} types {typed}; print them from resnet_lib.reference"


def _python(source):
    """A cell's source as Python: IPython's %magics and !shell lines become ``pass``."""
    lines = [line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def borrowed_imports(sources):
    """``[(cell, names)]``: names a code cell uses but leaves to an earlier cell's import."""
    earlier, problems = set(), []
    for i, source in sources:
        tree = _python(source)
        imported = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        bound |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        bound |= {a.arg for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))
                  for a in n.args.args + n.args.kwonlyargs}
        borrowed = sorted((loaded - imported - bound) & earlier)
        if borrowed:
            problems.append((i, borrowed))
        earlier |= imported
    return problems


def test_borrowed_imports_finds_a_name_imported_only_earlier():
    cells = [(0, "import numpy as np\nfrom a import b"), (1, "x = np.zeros(3)\nb()"), (2, "import numpy as np\nnp.ones(1)")]
    assert borrowed_imports(cells) == [(1, ["b", "np"])]
    assert borrowed_imports([(0, "%pip install x\nimport os"), (1, "def f(os):\n    return os")]) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_cell_imports_what_it_uses(path):
    """A reader can re-run any cell alone (after the ones that define its data): no borrowed imports."""
    cells = [(i, c.source) for i, c in enumerate(_load(path).cells) if c.cell_type == "code"]
    problems = borrowed_imports(cells)
    assert not problems, f"{path.name}: cells that use a name imported only in an earlier cell: {problems}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
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
