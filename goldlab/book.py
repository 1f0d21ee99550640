"""The book's page setup: one call at the top of every notebook, and the text of its Colab install cell.

:func:`setup` chooses the Keras backend before Keras is imported, so this module imports neither Keras nor
any goldlab module that does until :func:`setup` runs. :func:`install_cell_source` writes the first cell of
every notebook from the repository URL in ``_config.yml`` (a test keeps the notebooks equal to it); after
changing the URL, rewrite them with ``python -m goldlab.book notebooks/*.ipynb book/*.ipynb``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from goldlab.lab.profiles import Profile

__all__ = [
    "DEFAULT_BACKEND",
    "MISSING",
    "Page",
    "frame_html",
    "install_cell_source",
    "plural",
    "readable_tables",
    "repository_url",
    "setup",
    "times",
    "write_install_cell",
]

DEFAULT_BACKEND = "tensorflow"
"""The Keras backend a page uses unless ``KERAS_BACKEND`` says otherwise."""


@dataclass(frozen=True)
class Page:
    """What a page needs from its setup: the ``profile``, its ``results`` folder and the Keras ``backend``."""

    profile: Profile
    results: Path
    backend: str


def _quiet_tensorflow() -> None:
    """Import TensorFlow now, if it is installed, with its C++ start-up lines kept off the page.

    Keras imports it under every backend (``keras.utils.set_random_seed`` seeds it too), and the lines that
    absl, CUDA and oneDNN print while it loads ignore ``TF_CPP_MIN_LOG_LEVEL``; so the import runs with the
    process's standard error (the file descriptor, which the notebook kernel forwards) sent to /dev/null.
    A TensorFlow that fails to import is left as Keras leaves it: Keras then runs without it (and under
    the TensorFlow backend ``import keras`` reports the error itself).
    """
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def plural(n: int, noun: str) -> str:
    """A count with its noun, "1 seed" or "3 seeds": pages and verdicts print a count with its noun in
    the number it needs, never one noun with a bracketed plural."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def times(factor: float) -> str:
    """A factor as pages and verdicts print it, to two significant figures ("×0.23", "×29", "×310",
    "×4.5·10⁶"): a ratio of gradients can span decades, and "×3.1e+02" reads badly."""
    if abs(factor) >= 1e6:
        mantissa, exponent = f"{factor:.1e}".split("e")
        return f"×{mantissa}·10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return f"×{float(f'{factor:.2g}'):,.0f}" if abs(factor) >= 100 else f"×{factor:.2g}"


#: Matplotlib settings for the book's pages: the rendered page scales a figure to its width, so a two- or
#: four-panel figure needs larger type, not only more pixels, to keep its ticks and legends readable.
FIGURE_STYLE: dict[str, float] = {
    "figure.dpi": 120,
    "savefig.dpi": 120,
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "legend.fontsize": 10,
}


def _readable_figures() -> None:
    """Apply :data:`FIGURE_STYLE` (matplotlib is imported here, after the backend is set)."""
    import matplotlib

    matplotlib.rcParams.update(FIGURE_STYLE)


#: What a page's table shows where pandas would show ``NaN``, ``<NA>``, ``NaT`` or ``None``: a value that does
#: not apply to that row (the seed spread of a one-run baseline, a column a model lacks).
MISSING = "–"
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_EMPTY_CELL = re.compile(r"<td>(?:NaN|nan|&lt;NA&gt;|NaT|None)</td>")


def _words(label: object) -> object:
    """A snake_case label in words (``"mae_ratio"`` -> ``"mae ratio"``); any other label as it is."""
    return label.replace("_", " ") if isinstance(label, str) and _SNAKE.fullmatch(label) else label


def frame_html(frame) -> str:
    """The HTML a page shows for a DataFrame: pandas' own (same truncation, float format and classes), with
    snake_case column labels and index names in words and :data:`MISSING` in the cells pandas shows as
    ``NaN``. Only the rendering changes: the frame, its column names and its values stay as they are."""
    shown = frame.rename(columns=_words)
    shown.columns = shown.columns.set_names([_words(n) for n in shown.columns.names])
    shown.index = shown.index.set_names([_words(n) for n in shown.index.names])
    return _EMPTY_CELL.sub(f"<td>{MISSING}</td>", shown._repr_html_())


def readable_tables(shell=None) -> bool:
    """Make the IPython ``shell`` (default: the running one) show DataFrames with :func:`frame_html`, and
    Stylers with :data:`MISSING` for missing values; ``False`` when there is no shell (a plain script)."""
    import pandas as pd

    pd.set_option("styler.format.na_rep", MISSING)
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    return True


def _page_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as a page shows it: its kind and message, without the file path and line of the machine
    that ran the page (``warnings``' default puts both first)."""
    return f"{category.__name__}: {message}\n"


def setup(profile: str | None = None, float_format: str = "{:.4g}") -> Page:
    """Set up a book page: the Keras backend, quiet TensorFlow logs, the profile and pandas' float display.

    The backend is ``$KERAS_BACKEND`` if set, else :data:`DEFAULT_BACKEND`; it is set before ``keras`` is
    imported, which is why this runs first on every page. ``profile`` defaults to ``$GOLDLAB_PROFILE`` (see
    :func:`goldlab.lab.profiles.get_profile`) and the results folder is
    :func:`goldlab.lab.profiles.results_dir`. Prints one line naming the profile, its epochs and seeds, the
    Keras version and the backend, so every page says what produced its outputs. Warnings print as their
    kind and message only, without the path of the file that raised them; tables show their column names
    in words and a dash where a value is missing (:func:`readable_tables`).
    """
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    wanted = os.environ["KERAS_BACKEND"]
    preloaded = "keras" in sys.modules
    _quiet_tensorflow()
    import keras
    import pandas as pd

    from goldlab.lab import profiles

    backend = keras.backend.backend()
    if preloaded and backend != wanted:
        warnings.warn(
            f"keras was imported before goldlab.book.setup() with backend {backend!r}, not KERAS_BACKEND="
            f"{wanted!r}; restart the kernel and run the setup cell first to use {wanted!r}",
            stacklevel=2,
        )
    prof = profiles.get_profile(profile)
    results = profiles.results_dir(prof)
    pd.options.display.float_format = float_format.format
    _readable_figures()
    readable_tables()
    warnings.formatwarning = _page_warning
    print(
        f"profile {prof.name!r}: {prof.epochs} epochs x {prof.seeds} seeds; "
        f"Keras {keras.__version__}, backend {backend}"
    )
    return Page(prof, results, backend)


def repository_url(config: str | Path = "_config.yml") -> str:
    """``repository.url`` of the book's ``_config.yml``: the one place the repository's address is written."""
    text = Path(config).read_text()
    block = re.search(r"^repository:\n((?:[ \t]+.*\n?)+)", text, re.M)
    url = re.search(r"^[ \t]+url:[ \t]*[\"']?([^\"'\s#]+)", block.group(1), re.M) if block else None
    if url is None:
        raise ValueError(f"{config}: no repository.url (the install cells are written from it)")
    return url.group(1)


def install_cell_source(url: str, profile: str = "full", backend: str = "jax") -> str:
    """The first cell of every notebook: in Colab, install goldlab from ``url`` unless it is installed, and
    set the profile and Keras backend from two form fields.

    The defaults are those of the committed results (``results/full/MACHINE.md`` names the backend), which
    the package ships, so a Colab reader sees the page's numbers without retraining. Elsewhere the cell does
    nothing: the environment variables and :func:`setup` decide.
    """
    return "\n".join(
        [
            "# Colab: pick the profile and Keras backend, install goldlab (no effect elsewhere).",
            "import importlib.util",
            "import os",
            "import sys",
            "",
            f'PROFILE = "{profile}"  # @param ["full", "quick"]',
            f'BACKEND = "{backend}"  # @param ["jax", "tensorflow", "torch"]',
            'if "google.colab" in sys.modules:',
            '    os.environ["GOLDLAB_PROFILE"], os.environ["KERAS_BACKEND"] = PROFILE, BACKEND',
            '    if importlib.util.find_spec("goldlab") is None:',
            f'        %pip install -q "goldlab @ git+{url}"',
        ]
    )


def write_install_cell(notebook: str | Path, source: str) -> bool:
    """Make ``source`` the first code cell of ``notebook`` (its outputs cleared); True if it changed."""
    path = Path(notebook)
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    if "".join(cell["source"]) == source:
        return False
    cell["source"] = source.splitlines(keepends=True)
    cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return True


if __name__ == "__main__":  # python -m goldlab.book NOTEBOOK...: rewrite their install cells
    cell = install_cell_source(repository_url())
    for name in sys.argv[1:]:
        print(f"{name}: {'rewritten' if write_install_cell(name, cell) else 'unchanged'}")
