"""goldlab.book: the one setup call of every page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (Keras reads KERAS_BACKEND once per process)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "GOLDLAB_PROFILE")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=300
    )


def test_importing_goldlab_book_does_not_import_keras():
    code = "import sys, goldlab, goldlab.book; print('keras' in sys.modules)"
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("env", "backend"), [({}, "tensorflow"), ({"KERAS_BACKEND": "jax"}, "jax")], ids=["default", "jax"]
)
def test_setup_sets_the_backend_before_keras(env, backend, tmp_path):
    code = (
        "import goldlab.book, os; page = goldlab.book.setup()\n"
        "print(os.environ['KERAS_BACKEND'], page.backend, page.profile.name, page.results)"
    )
    done = _python(code, GOLDLAB_PROFILE="full", GOLDLAB_RESULTS=str(tmp_path), **env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    setup_line, values = [line for line in lines if line.startswith("profile ")], lines[-1]
    assert len(setup_line) == 1, done.stdout
    setup_line = setup_line[0]
    assert values.split() == [backend, backend, "full", str(tmp_path / "full")]
    assert setup_line.startswith("profile 'full': 50 epochs x 5 seeds; Keras 3.")
    assert setup_line.endswith(f", backend {backend}")


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_setup_keeps_tensorflow_start_up_lines_off_the_page(backend):
    pytest.importorskip("tensorflow")
    code = (
        "import goldlab.book, sys; goldlab.book.setup('quick')\n"
        "import keras; keras.utils.set_random_seed(0)  # imports TensorFlow under every backend\n"
        "print('tensorflow' in sys.modules)"
    )
    done = _python(code, KERAS_BACKEND=backend)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"
    assert done.stderr == "", done.stderr


def test_warnings_on_a_page_name_their_kind_not_the_machine_path():
    code = (
        "import goldlab.book, warnings; goldlab.book.setup('quick')\n"
        "from goldlab.monitor import GradientWarning\n"
        "warnings.warn('the gradient faded', GradientWarning)"
    )
    done = _python(code, KERAS_BACKEND="jax")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "GradientWarning: the gradient faded"
    assert ".py:" not in done.stderr


def test_setup_sets_pandas_float_display(monkeypatch, tmp_path, capsys):
    import pandas as pd

    import goldlab.book

    monkeypatch.setenv("GOLDLAB_RESULTS", str(tmp_path))
    with pd.option_context("display.float_format", None):
        page = goldlab.book.setup("quick")
        assert pd.options.display.float_format(1 / 3) == "0.3333"
    assert page.profile.name == "quick"
    assert page.results == Path(tmp_path) / "quick"
    assert capsys.readouterr().out.count("\n") == 1


def test_setup_rejects_an_unknown_profile(monkeypatch):
    import goldlab.book

    monkeypatch.setenv("GOLDLAB_PROFILE", "medium")
    with pytest.raises(ValueError, match="GOLDLAB_PROFILE"):
        goldlab.book.setup()


# ------------------------------------------------------------------------------------ the install cell

NOTEBOOKS = sorted([*REPO.glob("notebooks/*.ipynb"), *REPO.glob("book/*.ipynb")])


def test_repository_url_is_read_from_the_config(tmp_path):
    import goldlab.book

    config = tmp_path / "_config.yml"
    config.write_text("title: x\nrepository:\n  url: https://example.org/me/fork  # mine\n  branch: main\n")
    assert goldlab.book.repository_url(config) == "https://example.org/me/fork"
    config.write_text("title: x\n")
    with pytest.raises(ValueError, match="repository.url"):
        goldlab.book.repository_url(config)


def test_install_cell_defaults_to_the_committed_results():
    import goldlab.book

    machine = (REPO / "results" / "full" / "MACHINE.md").read_text()
    backend = re.search(r"Keras [\d.]+ on (\w+)", machine).group(1)
    cell = goldlab.book.install_cell_source(goldlab.book.repository_url(REPO / "_config.yml"))
    assert 'PROFILE = "full"  # @param' in cell
    assert f'BACKEND = "{backend}"  # @param' in cell


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_is_generated_from_the_config(notebook):
    import goldlab.book

    url = goldlab.book.repository_url(REPO / "_config.yml")
    cells = json.loads(notebook.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    assert "".join(first["source"]) == goldlab.book.install_cell_source(url), (
        f"{notebook.name}: its first code cell is not the install cell for {url}; "
        f"run: python -m goldlab.book {notebook.relative_to(REPO)}"
    )


def test_write_install_cell_keeps_the_other_cells(tmp_path):
    import goldlab.book

    original = REPO / "notebooks" / "01_diagnose.ipynb"
    copy = tmp_path / original.name
    copy.write_text(original.read_text())
    assert goldlab.book.write_install_cell(copy, "print('new')") is True
    before, after = json.loads(original.read_text()), json.loads(copy.read_text())
    first = next(i for i, c in enumerate(after["cells"]) if c["cell_type"] == "code")
    assert "".join(after["cells"][first]["source"]) == "print('new')"
    del before["cells"][first], after["cells"][first]
    assert before == after
    assert goldlab.book.write_install_cell(copy, "print('new')") is False


def test_seeds_are_counted_in_words_never_seed_s():
    import goldlab.book

    assert goldlab.book.plural(1, "seed") == "1 seed"
    assert goldlab.book.plural(3, "seed") == "3 seeds"
    assert goldlab.book.plural(0, "run") == "0 runs"


def test_factors_print_without_an_exponent():
    import goldlab.book

    assert [goldlab.book.times(x) for x in (0.069, 2.6, 29.4, 310.2, 5400.0, 4.49e6, 1.1e11)] == [
        "×0.069",
        "×2.6",
        "×29",
        "×310",
        "×5,400",
        "×4.5·10⁶",
        "×1.1·10¹¹",
    ]


def test_tables_show_column_names_in_words_and_a_dash_for_missing_values():
    import numpy as np
    import pandas as pd

    import goldlab.book

    frame = pd.DataFrame(
        {"mae_ratio": [1.5, np.nan], "MAE": [2.0, 3.0]}, index=pd.Index(["a", "b"], name="run_id")
    )
    html = goldlab.book.frame_html(frame)
    assert ">mae ratio<" in html and ">run id<" in html and ">MAE<" in html
    assert "NaN" not in html and f"<td>{goldlab.book.MISSING}</td>" in html
    assert list(frame.columns) == ["mae_ratio", "MAE"] and frame.index.name == "run_id"  # the data unchanged


def test_readable_tables_registers_the_html_of_a_shell():
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    import goldlab.book

    shell = InteractiveShell.instance()
    assert goldlab.book.readable_tables(shell)
    data, _ = shell.display_formatter.format(pd.DataFrame({"test_mse": [float("nan")]}))
    assert ">test mse<" in data["text/html"] and "NaN" not in data["text/html"]
