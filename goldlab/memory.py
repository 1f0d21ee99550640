"""The long-memory experiment: which recurrent networks learn the adding problem, at which length ``T``.

On gold prices nothing needs a long memory, so vanishing gradients through time cost little there. The adding
problem (:mod:`goldlab.tasks`) needs one: the target depends on a value seen ``T / 2`` steps or more before
the end. Here each *model* of :data:`MODELS` (plain cells, the LSTM's forget-gate bias at 0, 1 or chrono, the
blog's four steps, stacks of 1, 3 and 6 LSTMs with and without skips) is trained on it for every length ``T``
and seed, with

* the gradient through time ``‖∂L/∂x_1‖ / ‖∂L/∂x_T‖`` of each recurrent layer's input at initialisation and
  after training (:class:`goldlab.monitor.GradientProbe`, on a fixed probe batch of the training set);
* the validation MSE after every epoch (learning curves, epochs to solve), the test MSE once at the end;
* seconds per epoch.

Every run is a folder under ``out/runs/`` written whole or not at all, so an interrupted grid resumes where it
stopped (as :func:`goldlab.experiments.run_ablation` does). Each claim of the blog this experiment speaks to
has a function returning a :class:`goldlab.claims.Verdict`, with its threshold as a constant beside it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from goldlab import claims, loops, metrics, tasks
from goldlab import data as gdata
from goldlab.experiments import (
    EpochClock,
    _score,
    _write_text,
    _write_whole,
    compile_and_fit,
    get_profile,
    machine_description,
    results_dir,
    write_table,
)
from goldlab.models import build_lstm, build_step, compile_model, lstm_layers
from goldlab.monitor import GradientProbe, time_ratio

__all__ = [
    "MEMORY_PROFILES",
    "MODELS",
    "MemoryProfile",
    "build_model",
    "decay_prediction",
    "epochs_to_solve",
    "get_memory_profile",
    "load_grid",
    "memory_dir",
    "phase_table",
    "run_gold",
    "run_grid",
    "train_one",
]

#: Units of every recurrent layer of the non-blog models (the blog's steps keep their own widths).
UNITS = 32


@dataclass(frozen=True)
class MemoryProfile:
    """How much of the grid to train: lengths ``lengths``, models ``models``, ``seeds`` seeds each,
    ``epochs`` at most (a run stops early once its validation MSE is below half the solved threshold),
    ``n_train`` / ``n_val`` / ``n_test`` sequences, and the gold windows of the last section.

    Cuts for time, which the chapter and ``MACHINE.md`` print: ``only_at`` maps a model to the lengths it is
    trained at (default: all); ``heavy`` models get at most ``heavy_seeds`` seeds and ``heavy_epochs``
    epochs; ``note`` says why.
    """

    name: str
    lengths: tuple[int, ...]
    models: tuple[str, ...]
    seeds: int
    epochs: int
    n_train: int
    n_val: int = 500
    n_test: int = 1000
    batch_size: int = 32
    probe_size: int = 128
    only_at: tuple[tuple[str, tuple[int, ...]], ...] = ()
    heavy: tuple[str, ...] = ()
    heavy_seeds: int = 1
    heavy_epochs: int | None = None
    gold_windows: tuple[int, ...] = (60, 120, 250)
    gold_seeds: int = 1
    gold_epochs: int = 20
    note: str = ""

    def lengths_of(self, model: str) -> tuple[int, ...]:
        """The lengths ``model`` is trained at."""
        return dict(self.only_at).get(model, self.lengths)

    def seeds_of(self, model: str) -> int:
        return min(self.seeds, self.heavy_seeds) if model in self.heavy else self.seeds

    def epochs_of(self, model: str) -> int:
        heavy = model in self.heavy and self.heavy_epochs is not None
        return min(self.epochs, self.heavy_epochs) if heavy else self.epochs

    def left_out(self) -> list[str]:
        """What the grid leaves out, in words (one item per cut)."""
        items = [
            f"{m} at T = {', '.join(str(t) for t in self.lengths if t not in ts)}"
            for m, ts in self.only_at
            if m in self.models and set(self.lengths) - set(ts)
        ]
        items += [
            f"{m}: {self.seeds_of(m)} seed(s), at most {self.epochs_of(m)} epochs"
            for m in self.heavy
            if m in self.models
        ]
        items += [f"{m} (not trained)" for m in MODELS if m not in self.models]
        return items


#: model name -> (what it is, builder keyword arguments); "blog_<step>" are the blog's steps.
MODELS: dict[str, tuple[str, dict]] = {
    "simple_rnn": ("SimpleRNN", {"cell": "simple_rnn"}),
    "gru": ("GRU", {"cell": "gru"}),
    "lstm_fb0": ("LSTM, forget bias 0", {"forget_bias": 0}),
    "lstm_fb1": ("LSTM, forget bias 1 (Keras default)", {}),
    "lstm_chrono": ("LSTM, chrono initialisation", {"forget_bias": "chrono"}),
    "blog_baseline": ("blog step 1 (baseline): 3 LSTMs 128-64-32", {"step": "baseline"}),
    "blog_clipnorm": ("blog step 2: + clipnorm 1.0", {"step": "clipnorm"}),
    "blog_orthogonal": ("blog step 3: + orthogonal", {"step": "orthogonal"}),
    "blog_residual": ("blog step 4: residual 128-128-128-64", {"step": "residual"}),
    "lstm_x3": ("3 LSTMs", {"depth": 3}),
    "lstm_x3_res": ("3 LSTMs + skips", {"depth": 3, "residual": True}),
    "lstm_x6": ("6 LSTMs", {"depth": 6}),
    "lstm_x6_res": ("6 LSTMs + skips", {"depth": 6, "residual": True}),
}

_BLOG = ("blog_baseline", "blog_clipnorm", "blog_orthogonal", "blog_residual")
_DEEP = ("lstm_x3", "lstm_x3_res", "lstm_x6", "lstm_x6_res")

MEMORY_PROFILES: dict[str, MemoryProfile] = {
    "quick": MemoryProfile(
        "quick",
        lengths=(40,),
        models=("simple_rnn", "gru", "lstm_fb0", "lstm_fb1", "lstm_chrono"),
        seeds=1,
        epochs=3,
        n_train=256,
        n_val=128,
        n_test=256,
        gold_windows=(60, 120),
        gold_epochs=2,
        note="The quick profile: one length, one seed, three epochs, the one-layer models only.",
    ),
    "full": MemoryProfile(
        "full",
        lengths=(50, 100, 200, 400),
        models=tuple(MODELS),
        seeds=2,
        epochs=30,
        n_train=2000,
        only_at=(
            ("simple_rnn", (50, 100, 200)),
            ("lstm_fb0", (50, 100, 200)),
            *((m, (50,)) for m in _BLOG + _DEEP),
        ),
        heavy=_BLOG,
        heavy_seeds=1,
        heavy_epochs=10,
        note=(
            "Chosen to fit about 45 minutes of a shared 2-core CPU: the blog's 128-unit networks cost 20 to "
            "50 times an LSTM(32) epoch, so they train at T = 50 only, with one seed; the deep stacks at "
            "T = 50."
        ),
    ),
}


def get_memory_profile(profile: str | MemoryProfile | None = None) -> MemoryProfile:
    """The experiment's settings for a goldlab profile (default ``$GOLDLAB_PROFILE``, else quick)."""
    if isinstance(profile, MemoryProfile):
        return profile
    return MEMORY_PROFILES[get_profile(profile).name]


def memory_dir(profile: str | MemoryProfile | None = None) -> Path:
    """``results/<profile>/memory``: where this experiment's runs and tables live."""
    return results_dir(get_memory_profile(profile).name) / "memory"


def build_model(name: str, length: int, seed: int | None = None) -> keras.Model:
    """Model ``name`` of :data:`MODELS` for sequences of ``length`` steps of the adding problem, compiled
    (Adam 1e-3, MSE; the blog's steps as :func:`goldlab.models.build_step` makes them, dropout included).
    ``seed`` seeds Keras first, so the weights repeat."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    options = dict(MODELS[name][1])
    shape = (length, 2)
    if "step" in options:
        return build_step(options["step"], input_shape=shape, seed=seed)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    units = (UNITS,) * options.pop("depth", 1)
    return compile_model(build_lstm(shape, units=units, dropout=0.0, name=name, **options))


class _StopWhenSolved(keras.callbacks.Callback):
    """Stop once the validation MSE is below ``mse``: the task is learnt, more epochs only cost time."""

    def __init__(self, mse: float):
        super().__init__()
        self.mse = mse

    def on_epoch_end(self, epoch, logs=None):
        if logs and logs.get("val_loss", np.inf) < self.mse:
            self.model.stop_training = True


def epochs_to_solve(history: pd.DataFrame, mse: float | None = None) -> float:
    """The first epoch whose *validation* MSE is below ``mse`` (default: the solved threshold), else NaN."""
    mse = tasks.solved_mse() if mse is None else mse
    below = history.loc[history["val_loss"] < mse, "epoch"]
    return float(below.iloc[0]) if len(below) else float("nan")


def _profiles(probe: GradientProbe, model: keras.Model, x: np.ndarray, y: np.ndarray, epoch: int):
    """The probe's gradient through time at ``model``'s weights: (per-layer ratios, first layer's profile)."""
    result = probe(x, y, model).time_profile()
    ratios = time_ratio(result).rename("ratio").reset_index().assign(epoch=epoch)
    first = result[result["layer"] == probe.layer_names[0]].assign(epoch=epoch)
    return ratios, first


def decay_prediction(model: keras.Model, length: int) -> np.ndarray:
    """Predicted ``‖∂L/∂x_t‖ / ‖∂L/∂x_T‖`` for t = 1..T through the first LSTM's cell state at initialisation.

    Along the cell-state path the gradient is multiplied by the forget gate ``f = sigmoid(b_f + ...)`` at
    each step back; counting the bias only, unit ``j`` keeps ``sigmoid(b_f,j)^(T - t)`` of it. Returns the
    mean over units (NaN for a first layer without forget gate).
    """
    cell = lstm_layers(model)[0].cell
    if not isinstance(cell, keras.layers.LSTMCell):
        return np.full(length, np.nan)
    bias = keras.ops.convert_to_numpy(cell.bias).astype(np.float64)
    forget = 1.0 / (1.0 + np.exp(-bias[cell.units : 2 * cell.units]))
    lags = np.arange(length - 1, -1, -1, dtype=np.float64)
    return (forget[None, :] ** lags[:, None]).mean(axis=1)


@dataclass(frozen=True)
class _Data:
    train: tasks.AddingProblem
    val: tasks.AddingProblem
    test: tasks.AddingProblem


def _task_data(length: int, prof: MemoryProfile) -> _Data:
    """The same train / validation / test sequences for every model and seed at this length."""
    return _Data(
        tasks.adding_problem(prof.n_train, length, seed=10 * length + 1),
        tasks.adding_problem(prof.n_val, length, seed=10 * length + 2),
        tasks.adding_problem(prof.n_test, length, seed=10 * length + 3),
    )


def train_one(
    name: str, length: int, seeds: Sequence[int], prof: MemoryProfile, loop: str = "epoch"
) -> list[dict]:
    """Train model ``name`` at ``length`` for each seed (together with ``loop="stacked"``); one dict of
    tables per seed: ``row``, ``history``, ``ratios`` (per layer, epoch 0 and last), ``time_profile``."""
    d = _task_data(length, prof)
    px, py = d.train.x[: prof.probe_size], d.train.y[: prof.probe_size]
    threshold = tasks.solved_mse()
    groups = [list(seeds)] if loop == "stacked" else [[s] for s in seeds]
    runs = []
    for group in groups:
        models = [build_model(name, length, seed=s) for s in group]
        probe = GradientProbe(models[0])
        before = [_profiles(probe, m, px, py, 0) for m in models]
        predicted = [decay_prediction(m, length) for m in models]
        clocks = [EpochClock() for _ in models]
        callbacks = [[keras.callbacks.TerminateOnNaN(), _StopWhenSolved(threshold / 2), c] for c in clocks]
        val = (d.val.x, d.val.y)
        epochs = prof.epochs_of(name)
        histories = loops.train(
            models, d.train.x, d.train.y, epochs, prof.batch_size, val, callbacks, loop, group
        )
        for i, seed in enumerate(group):
            after = _profiles(probe, models[i], px, py, len(histories[i].epoch))
            tables = (before[i], after, predicted[i])
            run = _record(name, length, seed, models[i], d, histories[i], clocks[i], tables)
            run["row"]["max_epochs"] = epochs
            runs.append(run)
    return runs


def _record(name, length, seed, model, d: _Data, hist, clock: EpochClock, tables) -> dict:
    """One trained run's tables (the test set is read here, once, for the final score). ``tables``: the
    probe's (ratios, first-layer profile) before and after training, and the decay prediction."""
    before, after, predicted = tables
    pred = keras.ops.convert_to_numpy(model.predict(d.test.x, batch_size=256, verbose=0))
    test_mse = float(np.mean((pred.reshape(-1) - d.test.y.reshape(-1)) ** 2))
    history = pd.DataFrame(hist.history).assign(epoch=np.arange(1, len(hist.epoch) + 1))
    ratios = pd.concat([before[0], after[0]], ignore_index=True)
    first_layer = ratios["layer"] == ratios["layer"].iloc[0]
    init = ratios[first_layer & (ratios["epoch"] == 0)]["ratio"].iloc[0]
    final = ratios[first_layer & (ratios["epoch"] > 0)]["ratio"].iloc[0]
    seconds = clock.seconds
    row = {
        "model": name,
        "T": length,
        "seed": seed,
        "epochs": len(hist.epoch),
        "n_train": len(d.train.x),
        "test_mse": test_mse if np.isfinite(test_mse) else float("nan"),
        "solved": bool(np.isfinite(test_mse) and test_mse < tasks.solved_mse()),
        "epochs_to_solve": epochs_to_solve(history),
        "ratio_init": float(init),
        "ratio_final": float(final),
        "first_epoch_s": float(seconds[0]) if seconds else float("nan"),
        "sec_per_epoch": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
        "backend": keras.backend.backend(),
    }
    first = before[1].assign(predicted=predicted * before[1]["norm"].iloc[-1])
    profile = pd.concat([first, after[1]], ignore_index=True)
    return {"row": row, "history": history, "ratios": ratios, "time_profile": profile}


def _run_dir(out: Path, name: str, length: int, prof: MemoryProfile, seed: int) -> Path:
    return out / "runs" / f"{name}_T{length}_e{prof.epochs_of(name)}_n{prof.n_train}_s{seed}"


#: The grid's order: a cell's weight × T × seeds, smallest first, so that a run cut short by the clock has
#: the most cells done. The weight is an epoch's cost relative to one LSTM(32) (measured on the CPU), except
#: for the blog's steps 1-3, moved ahead (one seed, few epochs, and three claims rest on them).
_WEIGHT = {"blog_residual": 50.0, "lstm_x3": 3.0, "lstm_x3_res": 3.0, "lstm_x6": 6.0, "lstm_x6_res": 6.0}
_WEIGHT |= {m: 5.0 for m in ("blog_baseline", "blog_clipnorm", "blog_orthogonal")}


def _cells(prof: MemoryProfile, lengths, models) -> list[tuple[str, int]]:
    """(model, T) pairs to train, each model at the lengths the profile gives it, in the order of
    :data:`_WEIGHT`."""
    cells = [(m, t) for t in lengths for m in models if t in prof.lengths_of(m)]
    return sorted(cells, key=lambda c: (_WEIGHT.get(c[0], 1.0) * c[1] * prof.seeds_of(c[0]), c[1]))


def run_grid(
    profile: str | MemoryProfile | None = None,
    out: str | Path | None = None,
    lengths: Iterable[int] | None = None,
    models: Iterable[str] | None = None,
    loop: str = "epoch",
    quiet: bool = False,
) -> pd.DataFrame:
    """Train every (model, T, seed) of the profile not yet saved under ``out`` (default :func:`memory_dir`)
    and return the whole table (``memory.csv``, one row per run). Resumable: saved runs are read back."""
    prof = get_memory_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    lengths = tuple(prof.lengths if lengths is None else lengths)
    models = tuple(prof.models if models is None else models)
    for name in models:
        build_model_check(name)
    loops.check_loop(loop)
    cells = _cells(prof, lengths, models)
    rows, trained = [], 0
    for k, (name, length) in enumerate(cells, start=1):
        folders = {s: _run_dir(out, name, length, prof, s) for s in range(prof.seeds_of(name))}
        found = {s: json.loads((f / "row.json").read_text()) for s, f in folders.items() if f.is_dir()}
        todo = [s for s in folders if s not in found]
        if todo:
            start = time.perf_counter()
            for run in train_one(name, length, todo, prof, loop):
                seed = run["row"]["seed"]
                tables = {f"{key}.csv": run[key] for key in ("history", "ratios", "time_profile")}
                _write_whole(folders[seed], {"row.json": run["row"], **tables})
                found[seed] = run["row"]
            trained += len(todo)
            if not quiet:
                solved = sum(found[s]["solved"] for s in todo)
                print(
                    f"[{k}/{len(cells)}] {name:<16} T={length:<4} {len(todo)} seed(s), {solved} solved, "
                    f"{time.perf_counter() - start:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        rows.extend(found[s] for s in sorted(found))
    table = pd.DataFrame(rows)
    write_table(table, out / "memory.csv")
    if trained:
        _write_machine(out, prof)
    return table


def build_model_check(name: str) -> None:
    """Raise ``ValueError`` for a model name not in :data:`MODELS` (before any training starts)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def _write_machine(out: Path, prof: MemoryProfile) -> None:
    left_out = "; ".join(prof.left_out()) or "nothing"
    text = (
        f"Runs trained on {time.strftime('%Y-%m-%d')} by: {machine_description()}\n\n"
        f"Grid: T in {list(prof.lengths)}, {prof.seeds} seed(s), at most {prof.epochs} epochs of "
        f"{prof.n_train} training sequences (batch {prof.batch_size}), stopping once the validation MSE is "
        f"below half the solved threshold.\n\nLeft out for time: {left_out}.\n\n{prof.note}\n"
    )
    _write_text(text, out / "MACHINE.md")


def load_grid(out: str | Path, table: str = "history", profile: str | MemoryProfile | None = None):
    """The saved ``table`` (``history``, ``ratios`` or ``time_profile``) of every run listed in
    ``out/memory.csv``, stacked, with ``model``, ``T`` and ``seed`` columns."""
    prof = get_memory_profile(profile)
    out = Path(out)
    index = pd.read_csv(out / "memory.csv")
    parts = []
    for row in index.itertuples():
        folder = _run_dir(out, row.model, int(row.T), prof, int(row.seed))
        parts.append(pd.read_csv(folder / f"{table}.csv").assign(model=row.model, T=row.T, seed=row.seed))
    return pd.concat(parts, ignore_index=True)


GOLD_TEST_ROWS = 249  # the blog's 20 % of 1,247 days, the test period for every window length
GOLD_VAL_ROWS = 125  # 10 % of 1,247 days before it, for validation


def gold_windows(window: int, horizon: int) -> gdata.Windows:
    """Gold windows of ``window`` days with the same validation and test days for every window length: the
    blog's 1,247 days plus the extra history a longer window needs before them."""
    n_days = 1247 + max(window - 60, 0)
    features = gdata.make_features(gdata.load_gold(n_days=n_days))
    n = len(features)
    return gdata.make_windows(
        features,
        window=window,
        horizon=horizon,
        train_fraction=(n - GOLD_TEST_ROWS) / n,
        val_fraction=GOLD_VAL_ROWS / n,
    )


def run_gold(profile: str | MemoryProfile | None = None, out: str | Path | None = None) -> pd.DataFrame:
    """The fix for long memory on gold: a chrono LSTM(32) over windows of each profile length, at the blog's
    30-day horizon, against the naive forecast on the same test days. Saved as ``out/gold.csv`` and read back
    when it holds every (window, seed)."""
    prof = get_memory_profile(profile)
    path = (Path(out) if out is not None else memory_dir(prof)) / "gold.csv"
    horizons = (claims.HORIZON,)
    wanted = {(w, h, s) for w in prof.gold_windows for h in horizons for s in range(prof.gold_seeds)}
    if path.exists():
        saved = pd.read_csv(path)
        keys = list(zip(saved["window"], saved["horizon"], saved["seed"], strict=True))
        if wanted <= set(keys) and (saved["epochs"] == prof.gold_epochs).all():
            return saved[[k in wanted for k in keys]].reset_index(drop=True)
    rows = []
    for window, horizon, seed in sorted(wanted):
        windows = gold_windows(window, horizon)
        keras.utils.set_random_seed(seed)
        shape = windows.x_train.shape[1:]
        model = compile_model(build_lstm(shape, units=(UNITS,), dropout=0.0, forget_bias="chrono"))
        hist = compile_and_fit(model, windows, prof.gold_epochs, prof.batch_size, loop="epoch", seed=seed)
        pred = windows.to_usd(model.predict(windows.x_test, verbose=0), "test")
        common = {"window": window, "horizon": horizon, "epochs": prof.gold_epochs}
        naive = _score(windows, windows.base_test)
        rows.append(common | {"model": "naive", "seed": seed} | naive)
        rows.append(common | {"model": "lstm_chrono", "seed": seed} | _score(windows, pred))
        rows[-1]["sec_per_epoch"] = float(np.median(hist.epoch_seconds))
    table = pd.DataFrame(rows)
    write_table(table, path)
    return table


def learning_contrast(table: pd.DataFrame) -> pd.DataFrame:
    """Two runs at one T for the learning-curve figure: the solved run with the lowest test MSE and the
    unsolved run of the same T with the highest (Keras's default LSTM if it is one that fails), at the
    longest T that has both (else at the longest T: its best and worst runs). Columns as in ``table``."""
    both = [t for t, part in table.groupby("T") if part["solved"].any() and not part["solved"].all()]
    length = max(both) if both else int(table["T"].max())
    part = table[table["T"] == length]
    if both:
        good, bad = part[part["solved"]], part[~part["solved"]]
        if (bad["model"] == "lstm_fb1").any():  # Keras's default LSTM, if it is among those that fail
            bad = bad[bad["model"] == "lstm_fb1"]
    else:
        good, bad = part, part
    return pd.concat([good.nsmallest(1, "test_mse"), bad.nlargest(1, "test_mse")], ignore_index=True)


def init_profiles(
    out: str | Path, models: Sequence[str], longest: int | None = None, profile=None
) -> pd.DataFrame:
    """Gradient through time at initialisation (epoch 0, first layer, seed 0) of ``models``, at the longest
    T (up to ``longest``) at which all of them were trained; with the predicted decay (``predicted``) and
    a ``label`` per model."""
    table = pd.read_csv(Path(out) / "memory.csv")
    lengths = [set(table.loc[table["model"] == m, "T"]) for m in models]
    common = {t for t in set.intersection(*lengths) if longest is None or t <= longest} if lengths else set()
    if not common:
        raise ValueError(f"no length (<= {longest}) at which all of {', '.join(models)} were trained")
    length = max(common)
    rows = load_grid(out, "time_profile", profile)
    picked = rows[rows["model"].isin(models) & (rows["T"] == length) & (rows["seed"] == 0)]
    picked = picked[picked["epoch"] == 0].copy()
    picked["label"] = picked["model"].map(lambda m: MODELS[m][0])
    return picked


def speed_table(table: pd.DataFrame) -> pd.DataFrame:
    """Seconds per epoch per (model, T): medians over seeds of each run's median epoch (first excluded) and
    of its first epoch (compilation included), with the seeds, backend and training-set size behind them."""
    grouped = table.groupby(["model", "T"], sort=False)
    return grouped.agg(
        sec_per_epoch=("sec_per_epoch", "median"),
        first_epoch_s=("first_epoch_s", "median"),
        seeds=("seed", "count"),
        n_train=("n_train", "first"),
        backend=("backend", "first"),
    ).reset_index()


def init_order(summary: pd.DataFrame) -> pd.Series:
    """Per T, the Spearman rank correlation across models between the gradient ratio at initialisation and
    the test MSE (negative: models whose gradient reaches further back at the start end with lower error).
    ``summary`` has index (model, T) and columns ``ratio_init`` and ``test_mse``."""
    parts = summary.reset_index().groupby("T")
    return parts.apply(
        lambda d: d["ratio_init"].corr(d["test_mse"], method="spearman") if len(d) > 2 else np.nan,
        include_groups=False,
    ).rename("spearman")


def phase_table(table: pd.DataFrame) -> pd.DataFrame:
    """Fraction of seeds solved, model × T (the phase diagram); NaN where a cell was not trained."""
    order = [m for m in MODELS if m in set(table["model"])]
    frac = table.groupby(["model", "T"])["solved"].mean().unstack("T")
    return frac.reindex(order)


# ------------------------------------------------------------------------------------------------
# The blog's claims, where memory matters: one function each, its threshold beside it.

_WHERE = "../notebooks/05_long_memory.ipynb"  # relative to book/, as goldlab.claims has it


def _solved(table: pd.DataFrame, model: str, lengths: Iterable[int] | None = None) -> pd.Series:
    """Fraction of seeds solved per T for ``model`` (only the lengths given, if any)."""
    rows = table[table["model"] == model]
    if lengths is not None:
        rows = rows[rows["T"].isin(list(lengths))]
    return rows.groupby("T")["solved"].mean()


def _fmt_fracs(fracs: pd.Series) -> str:
    return ", ".join(f"T = {t}: {f:.0%}" for t, f in fracs.items()) or "not trained"


def _verdict(key: str, claim: str, blog: str, measured: str, verdict: str, reason: str, **values):
    return claims.Verdict(key, claim, blog, measured, verdict, reason, _WHERE, dict(values))


def _max_epochs(table: pd.DataFrame, models: Iterable[str]) -> str:
    """'at most N epochs' over the runs of ``models`` (the training budget behind a fraction solved)."""
    if "max_epochs" not in table:
        return "budget unknown"
    epochs = table.loc[table["model"].isin(list(models)), "max_epochs"]
    return f"at most {int(epochs.max())} epochs" if epochs.notna().any() else "budget unknown"


#: "Works" up to 100 steps: the blog's best step solves at least this fraction of seeds at each T <= 100.
UP_TO_100_SOLVED = 0.5
_FIXES = ("blog_clipnorm", "blog_orthogonal", "blog_residual")  # the blog's steps 2-4


def claim_up_to_100(table: pd.DataFrame) -> claims.Verdict:
    """Do the blog's techniques (the best of its steps 2-4 at each T) solve the adding problem at T <= 100?"""
    short = [t for t in table["T"].unique() if t <= 100]
    found = {m: f for m in _FIXES if not (f := _solved(table, m, short)).empty}
    steps = pd.concat(found, axis=1) if found else pd.DataFrame()
    key, claim, blog = "memory_up_to_100", "the techniques work for sequences up to 100 steps", "up to 100"
    if steps.empty:
        reason = "none of the blog's steps 2-4 was trained at any T <= 100 here"
        return _verdict(key, claim, blog, "not trained", claims.NOT_TESTABLE, reason)
    best = steps.max(axis=1)
    worst = float(best.min())
    chrono = _solved(table, "lstm_chrono", best.index)
    verdict = claims.decide(worst, UP_TO_100_SOLVED, claims.SUPPORTED, claims.REFUTED)
    reason = (
        f"on the adding problem the best of the blog's steps ({', '.join(steps.columns)}; "
        f"{_max_epochs(table, found)}) solves {_fmt_fracs(best)} of seeds (works: "
        f"{UP_TO_100_SOLVED:.0%} at every T <= 100); one LSTM(32) with chrono initialisation "
        f"({_max_epochs(table, ['lstm_chrono'])}): {_fmt_fracs(chrono)}"
    )
    measured = f"solved {_fmt_fracs(best)}"
    return _verdict(key, claim, blog, measured, verdict, reason, worst=worst)


#: "Needs a GRU" beyond 100 steps: the GRU solves this much larger a fraction of seeds than every LSTM.
GRU_ADVANTAGE = 0.5
_LSTMS = ("lstm_fb0", "lstm_fb1", "lstm_chrono")


def claim_gru_over_100(table: pd.DataFrame) -> claims.Verdict:
    """Beyond 100 steps, does the GRU solve where no single LSTM (forget bias 0, 1 or chrono) does?"""
    long = sorted(t for t in table["T"].unique() if t > 100)
    gru = _solved(table, "gru", long)
    lstm = pd.concat({m: _solved(table, m, gru.index) for m in _LSTMS}, axis=1).reindex(gru.index)
    key, claim = "memory_gru_over_100", "sequences over 100 steps might need a GRU"
    blog = "over 100 steps: GRU, Transformers or chunks"
    best = lstm.max(axis=1)
    if gru.empty:
        reason = "the GRU was not trained at any T > 100 here"
        return _verdict(key, claim, blog, "not trained", claims.NOT_TESTABLE, reason)
    if gru.max() == 0 and best.max() == 0:
        reason = "neither the GRU nor any LSTM solves the adding problem beyond T = 100 in this budget"
        measured = f"GRU {_fmt_fracs(gru)}"
        return _verdict(key, claim, blog, measured, claims.NOT_TESTABLE, reason)
    advantage = float((gru - best).mean())
    verdict = claims.decide(advantage, GRU_ADVANTAGE, claims.SUPPORTED, claims.REFUTED)
    reason = (
        f"beyond T = 100 the GRU solves {_fmt_fracs(gru)} of seeds, the best single LSTM "
        f"{_fmt_fracs(best)} (needing a GRU: {GRU_ADVANTAGE:.0%} more)"
    )
    measured = f"GRU − best LSTM = {advantage:+.0%} of seeds solved"
    return _verdict(key, claim, blog, measured, verdict, reason, advantage=advantage)


def _mse_ratio(table: pd.DataFrame, a: str, b: str) -> tuple[float, list[int], bool]:
    """Geometric mean over the common T of test MSE(a) / MSE(b) (each the mean over seeds), those T, and
    whether either model solved any seed there."""
    ma = table[table["model"] == a].groupby("T")["test_mse"].mean()
    mb = table[table["model"] == b].groupby("T")["test_mse"].mean()
    common = sorted(set(ma.index) & set(mb.index))
    if not common:
        return float("nan"), [], False
    ratio = float(np.exp(np.mean(np.log(ma[common] / mb[common]))))
    solved = table[table["model"].isin([a, b]) & table["T"].isin(common)]["solved"].any()
    return ratio, common, bool(solved)


#: "Worse" with depth: six stacked LSTMs end with at least this many times one LSTM's test MSE.
DEPTH_WORSE = 2.0


def claim_more_layers(table: pd.DataFrame) -> claims.Verdict:
    """Six stacked LSTM(32)s against one, on the adding problem: is the deeper stack worse?"""
    ratio, common, solved = _mse_ratio(table, "lstm_x6", "lstm_fb1")
    key, claim, blog = "memory_more_layers", "adding more LSTM layers made it worse", "worse with depth"
    where_t = ", ".join(str(t) for t in common)
    if not common:
        reason = "one LSTM and six were not both trained at any T here"
        return _verdict(key, claim, blog, "not trained", claims.NOT_TESTABLE, reason)
    if not solved:
        reason = "neither one LSTM nor six solve the adding problem at any common T in this budget"
        return _verdict(key, claim, blog, "neither solves", claims.NOT_TESTABLE, reason)
    verdict = claims.decide(ratio, DEPTH_WORSE, claims.SUPPORTED, claims.REFUTED)
    one, six = _solved(table, "lstm_fb1", common), _solved(table, "lstm_x6", common)
    reason = (
        f"at T = {where_t} six LSTMs end with ×{ratio:.2f} the test MSE of one (worse: ×{DEPTH_WORSE:g} "
        f"or more); solved: one LSTM {_fmt_fracs(one)}, six {_fmt_fracs(six)}"
    )
    return _verdict(key, claim, blog, f"×{ratio:.2f} test MSE", verdict, reason, ratio=ratio)


#: Skips "help" a stack when they divide its test MSE by at least this factor.
SKIP_GAIN = 2.0


def claim_residual_depth(table: pd.DataFrame) -> claims.Verdict:
    """Do skip connections help stacks of 3 and 6 LSTMs on the adding problem (the blog: with 3+ layers)?"""
    gains = {d: _mse_ratio(table, f"lstm_x{d}", f"lstm_x{d}_res") for d in (3, 6)}
    key, claim, blog = "memory_residual_depth", "residual connections help with 3+ LSTM layers", "3+ layers"
    tested = {d: g for d, g in gains.items() if g[1]}
    if not tested:
        reason = "no stack of 3 or 6 LSTMs was trained both with and without skips here"
        return _verdict(key, claim, blog, "not trained", claims.NOT_TESTABLE, reason)
    if not any(g[2] for g in tested.values()):
        reason = "no stack of 3 or 6 LSTMs, with or without skips, solves the adding problem in this budget"
        return _verdict(key, claim, blog, "none solves", claims.NOT_TESTABLE, reason)
    least = float(min(g[0] for g in tested.values()))
    verdict = claims.decide(least, SKIP_GAIN, claims.SUPPORTED, claims.NOT_REPRODUCED)
    parts = ", ".join(f"×{g[0]:.2g} with {d} LSTMs" for d, g in tested.items())
    reason = f"skips divide the test MSE by {parts} (helping: ×{SKIP_GAIN:g} at every depth of 3 or more)"
    return _verdict(key, claim, blog, parts, verdict, reason, least=least)


def _ratio_gain(table: pd.DataFrame, a: str, b: str, column: str) -> tuple[float, int]:
    """Geometric mean of ``column`` (a gradient-through-time ratio) of model a over model b, matched by T and
    seed; and how many pairs it averages."""
    keys = ["T", "seed"]
    pa = table[table["model"] == a].set_index(keys)[column]
    pb = table[table["model"] == b].set_index(keys)[column]
    common = pa.index.intersection(pb.index)
    if not len(common):
        return float("nan"), 0
    return float(np.exp(np.mean(np.log(pa[common] / pb[common])))), len(common)


#: Clipping "prevents vanishing" if it leaves at least this many times more gradient at the first step.
CLIP_GAIN = 2.0


def claim_clip_prevents(table: pd.DataFrame) -> claims.Verdict:
    """The blog's step 2 against step 1 after training: does clipping keep the gradient reaching x_1?"""
    gain, n = _ratio_gain(table, "blog_clipnorm", "blog_baseline", "ratio_final")
    at_init, _ = _ratio_gain(table, "blog_clipnorm", "blog_baseline", "ratio_init")
    key, claim, blog = "memory_clip_prevents", "clipping prevents vanishing gradients", "“prevents both”"
    if n == 0:
        return _verdict(
            key, claim, blog, "not trained", claims.NOT_TESTABLE, "steps 1 and 2 were not trained"
        )
    verdict = claims.decide(gain, CLIP_GAIN, claims.SUPPORTED, claims.REFUTED)
    reason = (
        f"‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ after training is ×{gain:.2g} with clipping (×{at_init:.2g} at "
        f"initialisation, the same weights); preventing vanishing would need ×{CLIP_GAIN:g}"
    )
    return _verdict(key, claim, blog, f"×{gain:.2g} after training", verdict, reason, gain=gain)


#: "Doubled gradient flow": the orthogonal step's gradient through time at initialisation at least ×2.
ORTH_DOUBLED = 2.0


def claim_orth_doubled(table: pd.DataFrame) -> claims.Verdict:
    """The blog's step 3 against step 2 at initialisation: ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ of orthogonal over Glorot."""
    gain, n = _ratio_gain(table, "blog_orthogonal", "blog_clipnorm", "ratio_init")
    key, claim, blog = (
        "memory_orth_doubled",
        "orthogonal initialisation doubled gradient flow",
        "doubled (2×)",
    )
    if n == 0:
        return _verdict(
            key, claim, blog, "not trained", claims.NOT_TESTABLE, "steps 2 and 3 were not trained"
        )
    verdict = claims.decide(gain, ORTH_DOUBLED, claims.SUPPORTED, claims.NOT_REPRODUCED)
    reason = (
        f"the gradient reaching the first step, relative to the last, is ×{gain:.2g} at initialisation "
        f"with orthogonal input kernels (doubling: ×{ORTH_DOUBLED:g})"
    )
    return _verdict(key, claim, blog, f"×{gain:.2g} through time", verdict, reason, gain=gain)


CLAIMS = (
    claim_up_to_100,
    claim_gru_over_100,
    claim_more_layers,
    claim_residual_depth,
    claim_clip_prevents,
    claim_orth_doubled,
)


def verdicts(results: str | Path) -> list[claims.Verdict]:
    """Every verdict of this experiment from its saved table: ``results`` is a profile's results folder
    (``results/<profile>``) or its ``memory`` folder."""
    folder = Path(results)
    path = folder / "memory.csv" if (folder / "memory.csv").exists() else folder / "memory" / "memory.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no long-memory results; run python -m goldlab memory first")
    table = pd.read_csv(path)
    return [claim(table) for claim in CLAIMS]


#: The fix beats naive on gold when its test MAE is below this fraction of the naive forecast's.
GOLD_BEATS = 1.0


def gold_sentence(gold: pd.DataFrame) -> str:
    """One sentence: does a longer window with the chrono LSTM change the gold forecast against naive?
    (DM p: the median over seeds, :func:`goldlab.metrics.median_p`, as on every page.)"""
    mae = gold.groupby(["horizon", "window", "model"])["mae"].mean().unstack("model")
    dm = gold[gold["model"] == "lstm_chrono"].groupby(["horizon", "window"])["dm_p"].agg(metrics.median_p)
    ratio = (mae["lstm_chrono"] / mae["naive"]).rename("ratio")
    best = ratio.idxmin()
    beats = bool(ratio.min() < GOLD_BEATS and dm[best] < 0.05)
    parts = "; ".join(
        f"{w}-day window, h = {h}: ×{r:.2f} the naive MAE (DM p = {dm[(h, w)]:.2g})"
        for (h, w), r in ratio.items()
    )
    lead = "With chrono initialisation one LSTM(32)"
    if beats:
        return f"{lead} beats the naive forecast with a {best[1]}-day window at h = {best[0]}: {parts}."
    return f"{lead} does not beat the naive forecast at any window length: {parts}."
