"""Project wiring: the repository URL lives in pyproject.toml and the book agrees with it."""

import pathlib

import pytest

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def repository_url():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def test_repository_url_is_one_value():
    url = repository_url()
    assert url.startswith("https://github.com/")
    config = (ROOT / "book" / "_config.yml").read_text()
    assert f"url: {url}\n" in config, "book/_config.yml repository.url differs from pyproject.toml"


def test_toc_files_exist():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for line in toc.splitlines():
        line = line.strip()
        if line.startswith(("root:", "- file:", "file:")):
            name = line.split(":", 1)[1].strip()
            assert any((ROOT / "book" / f"{name}{ext}").exists() for ext in (".md", ".ipynb")), name


def _requirement_names(requirements):
    import re

    return {re.split(r"[<>=;\[ ]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_installs_what_pyproject_declares():
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project["optional-dependencies"]
    declared = set(project["dependencies"])
    # the extras that dev gathers: "resnet-lib[tf,jax,...]"
    (dev,) = extras["dev"]
    for extra in dev.split("[", 1)[1].rstrip("]").split(","):
        declared |= {r for r in extras[extra] if "python_version" not in r}
    names = _requirement_names(declared) - {"tensorflow"}  # the CPU build stands in for it
    env_lines = (ROOT / "environment.yml").read_text().split("- pip:")[1].splitlines()
    env = _requirement_names(line.strip()[2:] for line in env_lines if line.strip().startswith("- "))
    assert env == names
