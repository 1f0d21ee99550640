"""The book's page setup: one call at the top of every notebook, and the text of its Colab install cell.

:func:`setup` chooses the Keras backend before Keras is imported, so this module imports neither Keras nor
any goldlab module that does until :func:`setup` runs. :func:`install_cell_source` writes the first cell of
every notebook from the repository URL in ``_config.yml`` (a test keeps the notebooks equal to it).
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from goldlab.experiments import Profile

__all__ = ["DEFAULT_BACKEND", "Page", "setup"]

DEFAULT_BACKEND = "tensorflow"
"""The Keras backend a page uses unless ``KERAS_BACKEND`` says otherwise."""


@dataclass(frozen=True)
class Page:
    """What a page needs from its setup: the ``profile``, its ``results`` folder and the Keras ``backend``."""

    profile: Profile
    results: Path
    backend: str


def setup(profile: str | None = None, float_format: str = "{:.4g}") -> Page:
    """Set up a book page: the Keras backend, quiet TensorFlow logs, the profile and pandas' float display.

    The backend is ``$KERAS_BACKEND`` if set, else :data:`DEFAULT_BACKEND`; it is set before ``keras`` is
    imported, which is why this runs first on every page. ``profile`` defaults to ``$GOLDLAB_PROFILE`` (see
    :func:`goldlab.experiments.get_profile`) and the results folder is
    :func:`goldlab.experiments.results_dir`. Prints one line naming the profile, its epochs and seeds, the
    Keras version and the backend, so every page says what produced its outputs.
    """
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    wanted = os.environ["KERAS_BACKEND"]
    preloaded = "keras" in sys.modules
    import keras
    import pandas as pd

    from goldlab import experiments

    backend = keras.backend.backend()
    if preloaded and backend != wanted:
        warnings.warn(
            f"keras was imported before goldlab.book.setup() with backend {backend!r}, not KERAS_BACKEND="
            f"{wanted!r}; restart the kernel and run the setup cell first to use {wanted!r}",
            stacklevel=2,
        )
    prof = experiments.get_profile(profile)
    results = experiments.results_dir(prof)
    pd.options.display.float_format = float_format.format
    print(
        f"profile {prof.name!r}: {prof.epochs} epochs x {prof.seeds} seeds; "
        f"Keras {keras.__version__}, backend {backend}"
    )
    return Page(prof, results, backend)
