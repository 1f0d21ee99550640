"""Colab, simulated: goldlab installed from its wheel alone, in a fresh virtual environment, outside the
repository, with a stand-in ``google.colab`` module imported before any cell runs (as Colab does).

The fresh environment borrows the third-party packages of the test's own environment through a ``.pth``
file (keras, jax, pandas, ipykernel: so the test needs no network), but goldlab comes only from the wheel
built here, installed with ``--no-deps``; the source tree is not on its path. Chapter 1 then runs through
its install cell as shipped: the stand-in makes it set the profile and backend from the form fields (full,
jax), and it skips the network install because goldlab is already installed, as it would after a Colab
runtime restart. The cached runs come from the copy of ``results/full`` inside the wheel.

The chapter in the full profile also trains a 20-epoch side run (most of the test's 2 to 4 minutes on 2 busy
cores; the quick profile cannot stand in, its run folders have other names); its figures
depend on the machine and are not compared. Compared with the committed notebook: the outputs of the
``# NBVAL_CHECK_OUTPUT`` cells and of the cells that read the cached results (``RESULTS``), which hold the
results tables' numbers, and the setup line (profile, epochs x seeds, Keras version, backend).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

CHAPTER = REPO / "notebooks" / "01_diagnose.ipynb"
PACKAGED = REPO / "results" / "full"


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """goldlab's wheel, built offline from a copy of the files the build reads (nothing written in REPO)."""
    import shutil

    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "goldlab", src / "goldlab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PACKAGED, src / "results" / "full")
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, src)
    (built,) = dist.glob("goldlab-*.whl")
    return built


@pytest.fixture(scope="module")
def colab(tmp_path_factory, wheel) -> Path:
    """A fresh venv holding goldlab from ``wheel`` only; returns its python."""
    root = tmp_path_factory.mktemp("colab")
    _run(sys.executable, "-m", "venv", "--without-pip", root / "venv")
    python = root / "venv" / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "borrowed-packages.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    return python


def test_wheel_ships_the_committed_full_results(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("goldlab/_results/full/") for n in names if n.startswith("goldlab/_results/")}
    assert "MACHINE.md" in shipped
    assert shipped == _files(PACKAGED)
    assert not [n for n in names if "/quick/" in n or n.endswith(".tmp")]


def test_installed_goldlab_reads_a_copy_of_the_packaged_results(colab, tmp_path):
    code = (
        "import goldlab, goldlab.book, sys\n"
        "from goldlab.lab import profiles\n"
        "print(goldlab.__file__)\n"
        "print(profiles.results_dir('full'))\n"
        "print(profiles.results_dir('quick'))\n"
        "print('keras' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GOLDLAB_RESULTS"}
    done = subprocess.run(
        [colab, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    module, full, quick, _ = done.stdout.strip().splitlines()
    assert Path(module).is_relative_to(colab.parent.parent), f"goldlab imported from {module}, not the wheel"
    assert Path(full) == tmp_path / "results" / "full"
    copied = {p.relative_to(full).as_posix() for p in Path(full).rglob("*") if p.is_file()}
    packaged = Path(module).parent / "_results" / "full"
    assert copied == {p.relative_to(packaged).as_posix() for p in packaged.rglob("*") if p.is_file()}
    assert Path(quick) == tmp_path / "results" / "quick" and not Path(quick).exists()


def test_an_ablation_read_back_whole_writes_nothing(tmp_path, monkeypatch):
    """The packaged results are only read: a chapter whose runs all exist writes no table and no MACHINE.md,
    even for a subset of the steps (which would otherwise overwrite the whole table with a part of it)."""
    from test_experiments import ablation, fake_runs, forbid_training

    from goldlab.lab import experiments as ex
    from goldlab.lab import runner

    monkeypatch.setattr(ex, "run_seeds", fake_runs)
    table = ablation(tmp_path)
    saved = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert tmp_path / "ablation_level.csv" in saved and tmp_path / "MACHINE.md" in saved
    forbid_training(monkeypatch)

    def no_writes(*args, **kwargs):
        raise AssertionError("nothing was trained, yet results were written")

    for name in ("write_table", "write_text", "write_whole"):
        monkeypatch.setattr(runner, name, no_writes)
    assert ablation(tmp_path).equals(table)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == saved


def _texts(cell: dict) -> list[str]:
    """A cell's text outputs (streams and plain-text results), without object addresses."""
    out = []
    for o in cell.get("outputs", []):
        text = o.get("text") or o.get("data", {}).get("text/plain", "")
        out.append(re.sub(r" at 0x[0-9a-f]+", "", "".join(text)))
    return out


def _compared(cells: list[dict]) -> list[int]:
    """Cells whose outputs come from the data or the cached results, not from training on this machine."""
    return [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
        and (
            "# NBVAL_CHECK_OUTPUT" in "".join(c["source"])
            or "nbval-check-output" in c.get("metadata", {}).get("tags", [])
            or "RESULTS" in "".join(c["source"])
        )
    ]


def test_chapter_one_reproduces_in_colab(colab, tmp_path, monkeypatch):
    if not (PACKAGED / "ablation_level.csv").exists():
        pytest.skip("results/full holds no ablation yet (the full profile is being regenerated)")
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    standin = tmp_path / "standin" / "google" / "colab"
    standin.mkdir(parents=True)
    # no google/__init__.py: in Colab ``google`` is a namespace package, shared with google.protobuf
    (standin / "__init__.py").write_text('"""Stand-in for Colab\'s module, which Colab imports first."""\n')
    (standin / "output.py").write_text('"""Stand-in: JAX imports it in Colab (its debugger)."""\n')
    launch = "import google.colab; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    spec = tmp_path / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(colab), "-c", launch, "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "colab", "language": "python"})
    )
    for name in ("GOLDLAB_PROFILE", "GOLDLAB_RESULTS", "KERAS_BACKEND", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "standin"))
    content = tmp_path / "content"  # Colab's working folder
    content.mkdir()

    committed = json.loads(CHAPTER.read_text())
    nb = nbformat.reads(CHAPTER.read_text(), as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="colab", timeout=600, resources={"metadata": {"path": str(content)}}
    )
    client.execute()

    cells = _compared(committed["cells"])
    assert len(cells) >= 3, "too few cells to compare"
    for i in cells:
        assert _texts(nb.cells[i]) == _texts(committed["cells"][i]), f"cell {i} differs from the committed"
    assert _files(content / "results" / "full") == _files(PACKAGED), (
        "the chapter trained or wrote results instead of reading the packaged ones"
    )


def _files(folder: Path) -> set[str]:
    """The results files under ``folder`` (what the wheel ships), as relative paths; hidden folders are
    runs being written (see ``goldlab.lab.experiments``), not results."""
    files = (p.relative_to(folder) for p in folder.rglob("*") if p.suffix in (".csv", ".json", ".md"))
    return {p.as_posix() for p in files if not any(part.startswith(".") for part in p.parts)}
