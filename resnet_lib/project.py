"""The project's wiring: the repository URL, the Colab link and install cell built from it, and
the map of resnet_lib's modules.

The repository URL lives in pyproject.toml's ``[project.urls] Repository``;
``scripts/sync_notebooks.py`` writes ``colab_badge`` and ``colab_install_source`` into every
chapter, and ``tests/test_book_notebooks.py`` checks they are current.
"""

from __future__ import annotations

import ast
import os
import pathlib
import re

__all__ = ["BRANCH", "COLAB_MARKER", "colab_badge", "colab_install_source", "colab_url", "module_map",
           "repository_url"]

BRANCH = "main"  # the branch Colab opens; book/_config.yml repository.branch says the same
COLAB_MARKER = 'if "google.colab" in sys.modules:'  # how the install cell is recognized


def _find_pyproject() -> pathlib.Path | None:
    for parent in pathlib.Path(__file__).resolve().parents:
        candidate = parent / "pyproject.toml"
        if candidate.exists():
            return candidate
    return None


def repository_url(pyproject: str | os.PathLike | None = None) -> str:
    """pyproject.toml's ``[project.urls] Repository`` (or the installed package's metadata)."""
    path = pathlib.Path(pyproject) if pyproject else _find_pyproject()
    if path is not None and path.exists():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        with open(path, "rb") as f:
            data = tomllib.load(f)
        try:
            return data["project"]["urls"]["Repository"]
        except KeyError:
            raise KeyError(f"{path} has no [project.urls] Repository entry") from None
    from importlib.metadata import metadata

    for entry in metadata("resnet-lib").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise LookupError("no pyproject.toml above resnet_lib and no Repository URL in the package metadata")


def _github_path(url: str) -> str:
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?/?", url)
    if not match:
        raise ValueError(f"repository URL {url!r}: expected https://github.com/OWNER/REPO")
    return match.group(1)


def colab_url(notebook: str, *, url: str | None = None, branch: str = BRANCH) -> str:
    """The Colab address of ``book/<notebook>`` in the repository at ``url``."""
    repo = _github_path(url or repository_url())
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/book/{notebook}"


def colab_badge(notebook: str, *, url: str | None = None, branch: str = BRANCH) -> str:
    """Markdown for the "Open in Colab" badge of ``notebook``."""
    link = colab_url(notebook, url=url, branch=branch)
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})"


def colab_install_source(*, url: str | None = None) -> str:
    """The first code cell of every chapter: installs resnet_lib in Colab, and only there."""
    url = url or repository_url()
    _github_path(url)
    return (
        "# In Colab (and only there) install resnet_lib from the repository;\n"
        "# elsewhere it is already installed (`pip install -e .` or `make book`).\n"
        "import sys\n"
        "\n"
        f"{COLAB_MARKER}\n"
        f'    %pip install --quiet "git+{url}"'
    )


def module_map(package: str = "resnet_lib") -> list[tuple[str, str]]:
    """(module name, first line of its docstring) for every module of ``package``, not imported."""
    spec_root = pathlib.Path(__file__).resolve().parent
    if package != "resnet_lib":
        import importlib

        spec_root = pathlib.Path(importlib.import_module(package).__file__).parent
    entries = []
    for path in sorted(spec_root.rglob("*.py")):
        relative = path.relative_to(spec_root.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        entries.append((".".join(parts), doc.strip().splitlines()[0] if doc.strip() else ""))
    return entries
