"""Profiles: how much every experiment of the book trains, one :class:`Profile` per size, and where its
results live.

``quick`` fits a 2-core CPU in minutes (its verdicts show that the code runs, not what holds); ``full`` is the
blog's setup for the ablation and the book's for the rest, and its results are committed under
``results/full``. A profile is one flat, frozen record: the ablation's fields first (the blog's own setup,
read by every page), then one group per experiment, each field named after its experiment (``variant_``,
``memory_``, ``depth_``, ``walk_``, ``epilogue_``). Changing a size changes the names of the run folders it
trains, so saved runs of other sizes are never taken for its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from goldlab import blog

__all__ = ["MEMORY_MODELS", "PROFILES", "Profile", "get_profile", "repo_root", "results_dir"]

#: The long-memory experiment's models (:data:`goldlab.lab.memory.MODELS` builds them), cheapest first.
MEMORY_MODELS: tuple[str, ...] = (
    "simple_rnn",
    "gru",
    "lstm_fb0",
    "lstm_fb1",
    "lstm_chrono",
    "blog_baseline",
    "blog_clipnorm",
    "blog_orthogonal",
    "blog_residual",
    "lstm_x3",
    "lstm_x3_res",
    "lstm_x6",
    "lstm_x6_res",
)
_BLOG_MODELS = ("blog_baseline", "blog_clipnorm", "blog_orthogonal", "blog_residual")


@dataclass(frozen=True)
class Profile:
    """How much each experiment trains.

    The seed ablation of the blog's steps (:mod:`goldlab.lab.experiments`): ``epochs`` and ``seeds`` per step
    (the blog: 50 and 5), forecast ``horizons`` in trading days (the blog: 30), ``batch_size``,
    ``probe_size`` (windows in the gradient monitor's probe batch), ``extra_epochs`` (the chapters' side
    experiments), ``epilogue_seeds`` and ``epilogue_epochs`` (the epilogue's return-target ablation),
    ``walk_years``, ``walk_epochs`` and ``walk_train_days`` (walk-forward test years, epochs per fold, and
    training days before each test year: the blog's 1,247).

    The blog's untested variants (:mod:`goldlab.lab.variants`): ``variant_epochs`` per run
    (``variant_diagnose_epochs`` for the diagnosis, which compares epoch 10 with the end),
    ``variant_seeds``, ``variant_probe_size``, ``variant_clip_batches`` (mini-batches per epoch on which the
    share clipped is measured), ``variant_train_windows`` (the latest training windows used; None: all).

    The depth sweep (:mod:`goldlab.lab.depth`): stacks of ``depth_depths`` LSTM(``depth_units``)s with and
    without skips, ``depth_seeds`` seeds, ``depth_epochs`` epochs, the first-to-last gradient measured on
    ``depth_probe`` training windows.

    The long-memory grid (:mod:`goldlab.lab.memory`), one budget for every run so the models compare fairly:
    every model at length T sees the same stream of fresh training sequences, ``memory_chunk`` a epoch, up
    to ``memory_sequences`` (or until solved), batch ``memory_batch_size``; ``memory_n_val`` /
    ``memory_n_test`` fixed sequences per T, ``memory_probe_size`` for the gradient through time;
    ``memory_lengths`` and ``memory_models`` the grid, ``memory_only_at`` the lengths of models whose cost
    forbids the others on a CPU; ``memory_page_trains``: whether the chapter trains what is missing (quick)
    or only reads the saved runs (full); the gold check's ``memory_gold_windows``, ``memory_gold_seeds`` and
    ``memory_gold_epochs``; ``memory_init_draws`` initialisations of the blog's steps 2 and 3
    for the orthogonal claim (no training); ``memory_note`` says what the budget means, for ``MACHINE.md``.
    """

    name: str
    # the seed ablation of the blog's steps
    epochs: int  # epochs per run (the blog: 50)
    seeds: int  # seeds per step (the blog: 5)
    horizons: tuple[int, ...] = (1, 30)  # forecast horizons in trading days (the blog: 30)
    batch_size: int = 32
    probe_size: int = 64  # windows in the gradient monitor's fixed probe batch
    extra_epochs: int = 10  # epochs of the chapters' side experiments
    epilogue_seeds: int = 1  # seeds for the epilogue's stationary-target ablation
    epilogue_epochs: int = 10
    # the walk-forward evaluation
    walk_years: tuple[int, ...] = (2017, 2018, 2019)  # test years
    walk_epochs: int = 3
    walk_train_days: int = blog.DAYS  # training days before each test year (the blog's sample)
    # the blog's untested variants
    variant_epochs: int = 2
    variant_diagnose_epochs: int = 2
    variant_seeds: int = 1
    variant_probe_size: int = 32
    variant_clip_batches: int = 2
    variant_train_windows: int | None = 256
    # the depth sweep on gold
    depth_depths: tuple[int, ...] = (1, 2, 4)
    depth_seeds: int = 1
    depth_epochs: int = 2
    depth_units: int = 32
    depth_probe: int = 256
    # the long-memory grid on the adding problem
    memory_lengths: tuple[int, ...] = (40,)
    memory_models: tuple[str, ...] = MEMORY_MODELS[:5]
    memory_seeds: int = 1
    memory_sequences: int = 1_024  # the training budget of every run, in fresh sequences
    memory_chunk: int = 256  # fresh sequences per epoch
    memory_n_val: int = 128
    memory_n_test: int = 256
    memory_batch_size: int = 32
    memory_probe_size: int = 128
    memory_only_at: tuple[tuple[str, tuple[int, ...]], ...] = ()
    memory_page_trains: bool = True
    memory_init_draws: int = 0  # initialisations of the blog's steps 2 and 3 for the orthogonal claim
    memory_gold_windows: tuple[int, ...] = (60, 120)
    memory_gold_seeds: int = 1
    memory_gold_epochs: int = 2
    memory_note: str = ""

    def __post_init__(self):
        chunk, budget = self.memory_chunk, self.memory_sequences
        if chunk < 1 or budget < chunk or budget % chunk:
            raise ValueError(
                f"memory_sequences ({budget}) must be a positive multiple of memory_chunk ({chunk}): every "
                "epoch sees the same number of fresh sequences"
            )


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        epochs=3,
        seeds=2,
        extra_epochs=3,
        epilogue_epochs=3,
        walk_years=(2018, 2019),
        walk_epochs=2,
        memory_note="The quick profile: one length, one seed, 1,024 sequences, the one-layer models only.",
    ),
    "full": Profile(
        "full",
        epochs=50,
        seeds=5,
        extra_epochs=20,
        epilogue_seeds=2,
        epilogue_epochs=20,
        walk_years=tuple(range(2008, 2020)),
        walk_epochs=10,
        # short next to the blog's 50 epochs and 5 seeds (say so beside any figure)
        variant_epochs=8,
        variant_diagnose_epochs=20,
        variant_seeds=2,
        variant_clip_batches=4,
        variant_train_windows=None,
        depth_depths=(1, 2, 4, 8),
        depth_seeds=3,
        depth_epochs=20,
        memory_lengths=(50, 100, 200, 400, 1000),
        memory_models=MEMORY_MODELS,
        memory_seeds=3,
        memory_sequences=200_000,
        memory_chunk=5_000,
        memory_n_val=1_000,
        memory_n_test=2_000,
        memory_only_at=tuple((m, (100, 200)) for m in _BLOG_MODELS),
        memory_page_trains=False,
        memory_init_draws=200,
        memory_gold_windows=(60, 120, 250),
        memory_gold_epochs=20,
        memory_note=(
            "2·10^5 fresh sequences per run, the same for every model: more than the 74,000 sequences "
            "Hochreiter & Schmidhuber's LSTM needed at T = 100. The blog's 128-unit networks cost 20 to 50 "
            "times an LSTM(32), so they train at T = 100 and 200 only. T = 1000 is for a GPU "
            "(`benchmarks/gpu_check.sh memory`); a CPU trains T <= 400 (`--lengths 50 100 200 400`)."
        ),
    ),
}


def get_profile(name: str | Profile | None = None) -> Profile:
    """The named profile; by default ``$GOLDLAB_PROFILE``, else ``quick``."""
    if isinstance(name, Profile):
        return name
    name = name or os.environ.get("GOLDLAB_PROFILE", "quick")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} (GOLDLAB_PROFILE)")
    return PROFILES[name]


def repo_root(start: Path | None = None) -> Path | None:
    """The repository root: the nearest folder upwards from ``start`` (the working directory) holding
    ``_toc.yml``, or None outside a repository (as in Colab)."""
    here = (start or Path.cwd()).resolve()
    return next((p for p in (here, *here.parents) if (p / "_toc.yml").exists()), None)


def results_dir(profile: str | Profile | None = None) -> Path:
    """Where a profile's results live: ``$GOLDLAB_RESULTS/<profile>`` if set, else ``results/<profile>``
    under the repository root (the nearest folder upwards holding ``_toc.yml``), else ``results/<profile>``
    under the current folder (as in Colab).

    Outside a repository, a profile whose results ship with the package (``goldlab._results``, the committed
    ``results/full``) starts from a copy of them, so an installed goldlab reproduces the book's numbers
    without retraining; the package's own copy is only read, anything written goes to the current folder.
    """
    name = get_profile(profile).name
    if "GOLDLAB_RESULTS" in os.environ:
        return Path(os.environ["GOLDLAB_RESULTS"]) / name
    root = repo_root()
    if root is not None:
        return root / "results" / name
    folder = Path.cwd().resolve() / "results" / name
    packaged = Path(__file__).resolve().parents[1] / "_results" / name  # in a wheel: goldlab/_results
    if packaged.is_dir() and not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
        shutil.copytree(packaged, tmp, dirs_exist_ok=True)
        tmp.rename(folder)  # whole or not at all
    return folder
