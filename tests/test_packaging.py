"""environment.yml (conda) and pyproject.toml must install the same packages with the same bounds."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml
from conftest import REPO

tomllib = pytest.importorskip("tomllib", reason="Python < 3.11 has no tomllib")


def _parse(requirement: str) -> tuple[str, str]:
    """``"jax[cpu]>=0.4.30"`` -> ``("jax[cpu]", ">=0.4.30")``; conda's ``"python>=3.10"`` alike."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*?)\s*", requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    name, spec = match.groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return dict(_parse(r) for r in reqs)


def _environment() -> tuple[dict[str, str], str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    reqs, python = [], ""
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs += [r for r in dep["pip"] if not r.startswith("-e")]
        elif dep.startswith("python"):
            python = _parse(dep)[1]
        elif dep != "pip":
            reqs.append(dep)
    return dict(_parse(r) for r in reqs), python


def test_environment_matches_pyproject():
    env, _ = _environment()
    assert env == _pyproject()


def test_python_bound_matches():
    _, python = _environment()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert python == project["requires-python"]


def test_environment_installs_goldlab_itself():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_jupyter_book_stays_on_1x():
    assert _pyproject()["jupyter-book"] == ">=1,<2"


def test_the_package_docstrings_list_every_public_module_and_the_api_page_is_generated_from_them():
    import goldlab
    import goldlab.lab

    for package, folder in ((goldlab, REPO / "goldlab"), (goldlab.lab, REPO / "goldlab" / "lab")):
        on_disk = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
        listed = set(re.findall(r"^(\w+)\s{2,}", package.__doc__.split("-------", 1)[1], flags=re.M))
        assert listed == on_disk, (package.__name__, on_disk - listed, listed - on_disk)
    spec = importlib.util.spec_from_file_location("api_page", REPO / ".ci" / "api_page.py")
    api_page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_page)
    committed = (REPO / "book" / "api.md").read_text()
    assert committed == api_page.page(), "book/api.md is stale: run python .ci/api_page.py"
