"""Keep every chapter's Colab link and install cell in step with pyproject.toml; strip outputs.

The repository URL lives in one place, pyproject.toml's ``[project.urls] Repository``. Each
chapter notebook (``book/*.ipynb``) opens with

1. a Markdown cell: the chapter's title, then the "Open in Colab" badge pointing at
   ``https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/book/<notebook>``;
2. a code cell that installs resnet_lib from that URL in Colab, and only there
   (``resnet_lib.project.colab_install_source``).

Changing the repository is one edit to pyproject.toml, then (this also rewrites
book/_config.yml's repository.url, which tests/test_project.py checks)::

    python scripts/sync_notebooks.py          # rewrite badges and install cells, strip outputs
    python scripts/sync_notebooks.py --check  # exit 1 and list notebooks that are out of step

Notebooks are committed without outputs; the same run strips outputs, execution counts and
saved widget state.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_lib.project import (  # noqa: E402
    BRANCH, COLAB_MARKER, colab_badge, colab_install_source, repository_url,
)

BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def book_branch(config: pathlib.Path) -> str:
    """``repository.branch`` of book/_config.yml (the branch Colab opens), else ``BRANCH``."""
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+branch:\s*(\S+)", text, re.M)
    return match.group(1) if match else BRANCH


def notebooks(book: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in book.glob("*.ipynb") if not p.name.startswith("."))


def strip_outputs(nb) -> None:
    """Remove outputs, execution counts and saved widget state, in place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)


def sync_header(nb, name: str, *, url: str, branch: str) -> None:
    """Put the badge in the first (Markdown) cell and the install cell second, in place."""
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.lstrip().startswith("# "):
        raise ValueError(f"book/{name}: the first cell must be Markdown starting with the chapter's '# title'")
    badge = colab_badge(name, url=url, branch=branch)
    first = nb.cells[0]
    if BADGE.search(first.source):
        first.source = BADGE.sub(lambda _: badge, first.source)
    else:
        title, _, rest = first.source.partition("\n")
        first.source = f"{title}\n\n{badge}\n" + (f"\n{rest.lstrip(chr(10))}" if rest.strip() else "")
    install = colab_install_source(url=url)
    second = nb.cells[1] if len(nb.cells) > 1 else None
    if second is not None and second.cell_type == "code" and COLAB_MARKER in second.source:
        second.source = install
    else:
        nb.cells.insert(1, nbformat.v4.new_code_cell(install))
    tags = nb.cells[1].metadata.setdefault("tags", [])
    if "colab-install" not in tags:
        tags.append("colab-install")


def normalize(nb) -> None:
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    for cell in nb.cells:
        cell.pop("id", None)  # cell ids churn on every save; nbformat 4.4 needs none
    nb.nbformat, nb.nbformat_minor = 4, 4


def synced_text(path: pathlib.Path, *, url: str, branch: str) -> str:
    nb = nbformat.read(path, as_version=4)
    sync_header(nb, path.name, url=url, branch=branch)
    strip_outputs(nb)
    normalize(nb)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of step")
    parser.add_argument("--book", default=str(ROOT / "book"), help="the book folder (default: book/)")
    args = parser.parse_args(argv)
    book = pathlib.Path(args.book)
    url = repository_url(ROOT / "pyproject.toml")
    branch = book_branch(book / "_config.yml")
    stale = []
    config = book / "_config.yml"  # its repository.url (launch and repository buttons) too
    config_text = config.read_text(encoding="utf-8")
    synced_config = re.sub(r"(?m)^(repository:\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*).*$",
                           lambda m: m.group(1) + url, config_text, count=1)
    if synced_config != config_text:
        stale.append(config)
        if not args.check:
            config.write_text(synced_config, encoding="utf-8")
    for path in notebooks(book):
        text = synced_text(path, url=url, branch=branch)
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    verb = "out of step" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(book.parent) if book.parent in path.parents else path}: {verb}")
    if args.check and stale:
        print(f"run: python scripts/sync_notebooks.py  (repository {url}, branch {branch})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
