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
stopped (:func:`goldlab.lab.runner.cached`, as for every experiment). How much is trained is the profile's
``memory_*`` fields (:class:`goldlab.lab.profiles.Profile`).
Each claim of the blog this experiment speaks to
has a function returning a :class:`goldlab.lab.claims.Verdict`; the claim, its text and its threshold are
declared in the registry :data:`goldlab.lab.claims.CLAIMS`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from scipy import stats

from goldlab import blog, metrics, tasks
from goldlab import data as gdata
from goldlab.book import plural, times
from goldlab.lab import claims, runner
from goldlab.lab.experiments import compile_and_fit, score_forecast
from goldlab.lab.profiles import Profile, get_profile, results_dir
from goldlab.models import build_lstm, build_step, compile_model, lstm_layers
from goldlab.monitor import GradientProbe, time_ratio

__all__ = [
    "MODELS",
    "build_model",
    "cells",
    "collect",
    "cost_table",
    "decay_prediction",
    "epochs_to_solve",
    "epochs",
    "grid_table",
    "init_order",
    "learning_contrast",
    "left_out",
    "lengths_of",
    "load_grid",
    "matched_ratios",
    "init_draws",
    "init_gains",
    "clip_learning",
    "memory_dir",
    "missing",
    "cost_growth",
    "mse_ratio_table",
    "phase_boundary",
    "phase_table",
    "seed_counts",
    "published_figures",
    "beside_published",
    "sanity_check",
    "seeds_saved",
    "solve_cost",
    "run_gold",
    "run_grid",
    "sequences_to_solve",
    "still_improving",
    "train_one",
    "training_chunk",
]

#: Units of every recurrent layer of the non-blog models (the blog's steps keep their own widths).
UNITS = 32


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


def epochs(prof: Profile) -> int:
    """Epochs of ``memory_chunk`` fresh sequences that make up a run's budget."""
    return prof.memory_sequences // prof.memory_chunk


def lengths_of(prof: Profile, model: str) -> tuple[int, ...]:
    """The lengths ``model`` is trained at."""
    lengths = prof.memory_lengths
    return tuple(t for t in dict(prof.memory_only_at).get(model, lengths) if t in lengths)


def cells(prof: Profile) -> list[tuple[str, int]]:
    """Every (model, T) of the grid."""
    return [(m, t) for m in prof.memory_models for t in lengths_of(prof, m)]


def left_out(prof: Profile) -> list[str]:
    """What the grid leaves out, in words (one item per cut)."""
    lengths = prof.memory_lengths
    items = [
        f"{m} at T = {', '.join(str(t) for t in lengths if t not in ts)}"
        for m, ts in prof.memory_only_at
        if m in prof.memory_models and set(lengths) - set(ts)
    ]
    return items + [f"{m} (not trained)" for m in MODELS if m not in prof.memory_models]


def memory_dir(profile: str | Profile | None = None) -> Path:
    """``results/<profile>/memory``: where this experiment's runs and tables live."""
    return results_dir(profile) / "memory"


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


def epochs_to_solve(history: pd.DataFrame, mse: float | None = None) -> float:
    """The first epoch whose *validation* MSE is below ``mse`` (default: the solved threshold), else NaN."""
    mse = tasks.solved_mse() if mse is None else mse
    below = history.loc[history["val_loss"] < mse, "epoch"]
    return float(below.iloc[0]) if len(below) else float("nan")


def sequences_to_solve(history: pd.DataFrame, mse: float | None = None) -> float:
    """Training sequences seen when the validation MSE first fell below ``mse`` (default: the solved bar),
    else NaN: the cost of learning the task, comparable across models and lengths."""
    mse = tasks.solved_mse() if mse is None else mse
    below = history.loc[history["val_loss"] < mse, "sequences_seen"]
    return float(below.iloc[0]) if len(below) else float("nan")


def still_improving(history: pd.DataFrame, share: float = 0.25, gain: float = 0.9) -> bool:
    """Whether the validation MSE was still falling when the budget ran out: the best of the last ``share``
    of epochs is below ``gain`` × the best before them. A run that fails *and* still improves failed for
    its budget, not for good."""
    val = history["val_loss"].to_numpy()
    last = max(1, int(round(share * len(val))))
    if len(val) <= last:
        return False
    return bool(np.nanmin(val[-last:]) < gain * np.nanmin(val[:-last]))


def training_chunk(length: int, epoch: int, n: int) -> tasks.AddingProblem:
    """Epoch ``epoch``'s ``n`` fresh training sequences at ``length``: the same for every model and seed,
    and never seen in another epoch (validation and test draw from other seeds)."""
    return tasks.adding_problem(n, length, seed=np.random.default_rng([length, epoch, 7]))


@dataclass(frozen=True)
class _Data:
    probe: tasks.AddingProblem
    val: tasks.AddingProblem
    test: tasks.AddingProblem


def _task_data(length: int, prof: Profile) -> _Data:
    """The same probe, validation and test sequences for every model and seed at this length."""
    return _Data(
        tasks.adding_problem(prof.memory_probe_size, length, seed=10 * length + 1),
        tasks.adding_problem(prof.memory_n_val, length, seed=10 * length + 2),
        tasks.adding_problem(prof.memory_n_test, length, seed=10 * length + 3),
    )


def _mse(model: keras.Model, problem: tasks.AddingProblem) -> float:
    pred = keras.ops.convert_to_numpy(model.predict(problem.x, batch_size=500, verbose=0))
    mse = float(np.mean((pred.reshape(-1).astype(np.float64) - problem.y.reshape(-1)) ** 2))
    return mse if np.isfinite(mse) else float("nan")


def train_one(
    name: str, length: int, seed: int, prof: Profile, report: Callable[[str], None] | None = None
) -> dict:
    """Train model ``name`` at ``length`` from ``seed`` on the profile's stream of fresh sequences; returns
    the run's tables: ``row``, ``history`` (per epoch: sequences seen, training and validation MSE, the
    first layer's gradient ratio, seconds), ``ratios`` (per layer and epoch) and ``time_profile`` (the first
    layer's ‖∂L/∂x_t‖ at initialisation, with the decay prediction, and at the end). ``report``, if given,
    receives a line after every epoch (a run at T = 400 can take half an hour)."""
    d = _task_data(length, prof)
    model = build_model(name, length, seed=seed)
    probe = GradientProbe(model)
    predicted = decay_prediction(model, length)  # from the forget biases at initialisation
    ratios, before = _profiles(probe, model, d.probe.x, d.probe.y, 0)
    parts, rows, ratio_init = [ratios], [], _first_ratio(ratios, probe)
    for epoch in range(1, epochs(prof) + 1):
        chunk = training_chunk(length, epoch, prof.memory_chunk)
        start = time.perf_counter()
        hist = model.fit(chunk.x, chunk.y, batch_size=prof.memory_batch_size, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
        ratios, last = _profiles(probe, model, d.probe.x, d.probe.y, epoch)
        parts.append(ratios)
        seen = (rows[-1]["sequences_seen"] if rows else 0) + len(chunk.x)
        loss, val = float(hist.history["loss"][-1]), _mse(model, d.val)
        first_ratio = _first_ratio(ratios, probe)
        rows.append(
            dict(
                epoch=epoch, sequences_seen=seen, loss=loss, val_loss=val, ratio=first_ratio, seconds=seconds
            )
        )
        if report is not None:
            report(
                f"  epoch {epoch}/{epochs(prof)}: {seen:,} sequences, validation MSE {val:.4f}, "
                f"‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ {first_ratio:.2g}, {seconds:.0f} s"
            )
        if not np.isfinite(loss) or val < tasks.solved_mse() / 2:
            break
    history = pd.DataFrame(rows)
    first_profile = before.assign(predicted=predicted * before["norm"].iloc[-1])
    tables = {"history": history, "ratios": pd.concat(parts, ignore_index=True)}
    tables["time_profile"] = pd.concat([first_profile, last], ignore_index=True)
    history.attrs["ratio_init"] = ratio_init
    return {"row": _row(name, length, seed, prof, history, _mse(model, d.test)), **tables}


def _first_ratio(ratios: pd.DataFrame, probe: GradientProbe) -> float:
    """The model input's ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ (the first recurrent layer's) from a per-layer table."""
    return float(ratios.loc[ratios["layer"] == probe.layer_names[0], "ratio"].iloc[0])


def _row(name: str, length: int, seed: int, prof: Profile, history: pd.DataFrame, test_mse: float):
    """One run's summary: its budget and what it used of it, the test score (the test set is read here,
    once), the gradient ratio at the start and the end, and its cost."""
    seconds = history["seconds"].to_numpy()
    steady = seconds[1:] if len(seconds) > 1 else seconds  # the first epoch includes compilation
    per_1000 = 1000 * steady / np.diff(np.r_[0, history["sequences_seen"].to_numpy()])[-len(steady) :]
    ratios = history["ratio"].to_numpy()
    solved = bool(np.isfinite(test_mse) and test_mse < tasks.solved_mse())
    return {
        "model": name,
        "T": length,
        "seed": seed,
        "budget": prof.memory_sequences,
        "chunk": prof.memory_chunk,
        "batch_size": prof.memory_batch_size,
        "epochs": len(history),
        "sequences_seen": int(history["sequences_seen"].iloc[-1]),
        "sequences_to_solve": sequences_to_solve(history),
        "test_mse": test_mse,
        "mse_ratio": test_mse / tasks.MEAN_PREDICTOR_MSE,
        "solved": solved,
        "still_improving": (not solved) and still_improving(history),
        "ratio_init": float(history.attrs.get("ratio_init", np.nan)),
        "ratio_final": float(ratios[-1]),
        "sec_per_1000": float(np.median(per_1000)),
        "first_epoch_s": float(seconds[0]),
        "backend": keras.backend.backend(),
        "machine": runner.machine_description(),
    }


def _run_dir(out: Path, name: str, length: int, prof: Profile, seed: int) -> Path:
    """A run's folder, named by everything that changes what it learns: model, T, budget, chunk, batch,
    seed (so runs of another budget never pass for this one's)."""
    return _folder(out, name, length, prof.memory_sequences, prof.memory_chunk, prof.memory_batch_size, seed)


def _folder(out: Path, name: str, length: int, budget: int, chunk: int, batch: int, seed: int) -> Path:
    """The one naming of a run's folder, from a profile (:func:`_run_dir`) or from a saved row."""
    return out / "runs" / f"{name}_T{length}_n{budget}_c{chunk}_b{batch}_s{seed}"


#: An epoch's cost relative to one LSTM(32) (measured on the CPU): the grid trains cheap cells first, so a
#: sitting cut short by the clock has the most cells done.
_WEIGHT = {"blog_residual": 50.0, "lstm_x3": 3.0, "lstm_x3_res": 3.0, "lstm_x6": 6.0, "lstm_x6_res": 6.0}
_WEIGHT |= {m: 20.0 for m in ("blog_baseline", "blog_clipnorm", "blog_orthogonal")}


def _cells(prof: Profile, lengths, models) -> list[tuple[str, int]]:
    """(model, T) pairs to train, each model at the lengths the profile gives it, cheapest first."""
    todo = [(m, t) for m, t in cells(prof) if m in models and t in lengths]
    return sorted(todo, key=lambda c: (_WEIGHT.get(c[0], 1.0) * c[1], c[1]))


def collect(profile: str | Profile | None = None, out: str | Path | None = None) -> pd.DataFrame:
    """Every saved run of the profile's grid under ``out`` (default :func:`memory_dir`), one row each, in
    the grid's order; also written to ``out/memory.csv``. Reads only: trains nothing."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    rows = []
    for name, length in cells(prof):
        for seed in range(prof.memory_seeds):
            folder = _run_dir(out, name, length, prof, seed)
            if runner.is_saved(folder):
                rows.append(runner.read_run(folder, ["row"])["row"])
    table = pd.DataFrame(rows)
    if rows:
        runner.write_table(table, out / "memory.csv")
    return table


def seeds_saved(profile: str | Profile | None = None, out: str | Path | None = None) -> pd.DataFrame:
    """How many seeds of each (model, T) of the profile's grid are saved under ``out``, model × T, in the
    grid's order (NaN where the grid has no such cell): the grid's progress at a glance."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    done = {
        (name, length): sum(
            runner.is_saved(_run_dir(out, name, length, prof, s)) for s in range(prof.memory_seeds)
        )
        for name, length in cells(prof)
    }
    table = pd.Series(done, dtype=float).unstack()
    return table.reindex(
        index=list(dict.fromkeys(m for m, _ in cells(prof))), columns=list(prof.memory_lengths)
    )


def missing(profile: str | Profile | None = None, out: str | Path | None = None) -> list[str]:
    """The (model, T) cells of the profile's grid with fewer saved seeds than it asks for, in words."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    saved, seeds = seeds_saved(prof, out), prof.memory_seeds
    done = {(name, length): int(saved.loc[name, length]) for name, length in cells(prof)}
    return [f"{m} at T = {t} ({k} of {seeds} seeds)" for (m, t), k in done.items() if k < seeds]


def run_grid(
    profile: str | Profile | None = None,
    out: str | Path | None = None,
    lengths: Iterable[int] | None = None,
    models: Iterable[str] | None = None,
    quiet: bool = False,
    seeds: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Train every (model, T, seed) of the profile not yet saved under ``out`` (default :func:`memory_dir`)
    and return :func:`collect`'s table. Resumable, and safe to run in several processes on disjoint
    ``models`` or ``seeds`` at once: each run is a folder written whole (:func:`goldlab.lab.runner.cached`),
    and ``memory.csv`` is rebuilt from all of them. ``seeds`` (default: all the profile's) must be among
    the profile's ``0 .. memory_seeds - 1``, the seeds :func:`collect` reads."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    lengths = tuple(prof.memory_lengths if lengths is None else lengths)
    models = tuple(prof.memory_models if models is None else models)
    for name in models:
        build_model_check(name)
    seeds = tuple(range(prof.memory_seeds) if seeds is None else seeds)
    if not set(seeds) <= set(range(prof.memory_seeds)):
        raise ValueError(f"seeds {list(seeds)}: the profile's grid has seeds 0 to {prof.memory_seeds - 1}")
    todo = _cells(prof, lengths, models)
    for k, (name, length) in enumerate(todo, start=1):
        for seed in seeds:

            def train(name: str = name, length: int = length, seed: int = seed, k: int = k) -> dict:
                start = time.perf_counter()
                run = train_one(name, length, seed, prof, report=None if quiet else _to_stderr)
                if not quiet:
                    row = run["row"]
                    print(
                        f"[{k}/{len(todo)}] {name:<16} T={length:<4} seed {seed}: test MSE "
                        f"{row['test_mse']:.4f}, {row['sequences_seen']:,} sequences, "
                        f"{time.perf_counter() - start:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                return run

            folder = _run_dir(out, name, length, prof, seed)
            if not runner.is_saved(folder):
                runner.cached(folder, train, keys=["row"])
                _write_machine(out, prof)
    return collect(prof, out)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


#: The blog's steps 3 and 2 (orthogonal and Glorot input kernels), compared at initialisation.
ORTH_STEPS = ("blog_orthogonal", "blog_clipnorm")
_DRAWS_FILE = "init_draws.csv"  # :func:`init_draws`' table, in the memory folder


def init_draws(
    profile: str | Profile | None = None, out: str | Path | None = None, draws: int | None = None
) -> pd.DataFrame:
    """``ratio_init`` of the blog's steps 2 and 3 over many initialisations (seeds 0 .. draws - 1), at the
    lengths the grid trains them, on the grid's probe batch (seeds 0-2 repeat the grid's own runs).

    "Orthogonal doubled gradient flow" is a claim about initialisation, which needs no training, so it is
    decided on far more draws than the grid has seeds. ``draws`` defaults to the profile's
    ``memory_init_draws`` (0: none). Saved whole as ``init_draws.csv`` in ``out`` (default
    :func:`memory_dir`) and read back when it holds the draws asked for; columns ``model``, ``T``,
    ``seed``, ``ratio_init``."""
    prof = get_profile(profile)
    n = prof.memory_init_draws if draws is None else draws
    path = (Path(out) if out is not None else memory_dir(prof)) / _DRAWS_FILE
    todo = [(m, t) for m in ORTH_STEPS if m in prof.memory_models for t in lengths_of(prof, m)]
    if path.exists():
        saved = pd.read_csv(path)
        counts = saved.groupby(["model", "T"])["seed"].nunique()
        if all(counts.get(c, 0) >= n for c in todo):
            return saved[saved["seed"] < n].reset_index(drop=True)
    rows = [row for name, length in todo for row in _draw(name, length, n, prof)]
    table = pd.DataFrame(rows, columns=["model", "T", "seed", "ratio_init"])
    if n:
        runner.write_table(table, path)
    return table


def _draw(name: str, length: int, n: int, prof: Profile) -> list[dict]:
    """``n`` initialisations of model ``name`` at ``length``: one probe compiled once, fresh weights per
    seed (each seed's model built as :func:`train_one` builds it)."""
    d, rows = _task_data(length, prof), []
    model = build_model(name, length, seed=0)
    probe = GradientProbe(model)
    for seed in range(n):
        model.set_weights(build_model(name, length, seed=seed).get_weights())
        ratios, _ = _profiles(probe, model, d.probe.x, d.probe.y, 0)
        rows.append(dict(model=name, T=length, seed=seed, ratio_init=_first_ratio(ratios, probe)))
        if (seed + 1) % 50 == 0 or seed + 1 == n:
            _to_stderr(f"  {name} at T = {length}: {seed + 1} of {n} initialisations")
    return rows


def init_gains(draws: pd.DataFrame, level: float = 1 - claims.ALPHA) -> pd.DataFrame:
    """Per T, orthogonal over Glorot at initialisation from :func:`init_draws`: the ratio of the geometric
    means of ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ (``gain``) and its ``level`` interval (``low``, ``high``) from Welch's t
    test on the logs (the draws are independent, not paired: the two initialisers draw different
    weights), and the draws of each (``draws``). Draws whose ratio underflowed to 0 are counted in
    ``zeros`` and cannot enter the logs, so a T with any is left without a gain."""
    rows = {}
    for length, part in draws.groupby("T"):
        a, b = (part.loc[part["model"] == m, "ratio_init"].to_numpy(float) for m in ORTH_STEPS)
        zeros = int((a <= 0).sum() + (b <= 0).sum())
        gain = low = high = float("nan")
        if min(len(a), len(b)) > 1 and not zeros:
            test = stats.ttest_ind(np.log(a), np.log(b), equal_var=False)
            ci = test.confidence_interval(level)
            gain, low, high = np.exp([np.log(a).mean() - np.log(b).mean(), ci.low, ci.high])
        rows[length] = dict(gain=gain, low=low, high=high, draws=min(len(a), len(b)), zeros=zeros)
    columns = ["gain", "low", "high", "draws", "zeros"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("T")


def grid_table(profile: str | Profile | None = None, out: str | Path | None = None) -> pd.DataFrame:
    """What the chapter shows: :func:`run_grid` where the profile's page trains (quick), else
    :func:`collect`, the saved runs only (full: trained beforehand by ``python -m goldlab memory``)."""
    prof = get_profile(profile)
    return run_grid(prof, out, quiet=True) if prof.memory_page_trains else collect(prof, out)


def build_model_check(name: str) -> None:
    """Raise ``ValueError`` for a model name not in :data:`MODELS` (before any training starts)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


_SITTINGS = "How it ran:"  # where MACHINE.md's hand-written account of each sitting starts


def _write_machine(out: Path, prof: Profile) -> None:
    """``MACHINE.md``: the grid's budget and cuts, and one line per machine and backend that trained runs.
    The account of the sittings (from the first paragraph starting "How it ran:") is kept as it was,
    since no run records the commands, the load or the hours it ran in."""
    runs = sorted(p.parent for p in (out / "runs").glob("*/row.json"))
    made = {}
    for folder in runs:
        row = runner.read_run(folder, ["row"])["row"]
        made.setdefault(row.get("machine", f"unknown machine, Keras on {row['backend']}"), []).append(1)
    machines = "\n".join(f"- {m}: {len(n)} run{'s' * (len(n) != 1)}" for m, n in made.items())
    cuts = "; ".join(left_out(prof)) or "nothing"
    text = (
        f"Grid: T in {list(prof.memory_lengths)}, {prof.memory_seeds} seeds, {prof.memory_sequences:,} fresh "
        f"training sequences per run ({epochs(prof)} epochs of {prof.memory_chunk:,}, batch "
        f"{prof.memory_batch_size}, Adam 1e-3), stopping once the validation MSE is below half the solved "
        f"threshold.\n\nLeft out by design: {cuts}.\n\n{prof.memory_note}\n\n"
        f"Machines (updated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}):\n{machines}\n"
    )
    path = out / "MACHINE.md"
    before = path.read_text() if path.exists() else ""
    kept = before.find(_SITTINGS)
    runner.write_text(text + ("\n" + before[kept:] if kept >= 0 else ""), path)


def load_grid(out: str | Path, table: str = "history", profile: str | Profile | None = None):
    """The saved ``table`` (``history``, ``ratios`` or ``time_profile``) of every run listed in
    ``out/memory.csv``, stacked, with ``model``, ``T`` and ``seed`` columns."""
    prof = get_profile(profile)
    out = Path(out)
    index = pd.read_csv(out / "memory.csv")
    parts = []
    for row in index.itertuples():
        folder = _run_dir(out, row.model, int(row.T), prof, int(row.seed))
        part = runner.read_run(folder, [table])[table]
        parts.append(part.assign(model=row.model, T=row.T, seed=row.seed))
    return pd.concat(parts[1:] or parts, ignore_index=True)


GOLD_TEST_ROWS = int(blog.TEST_FRACTION * blog.DAYS)  # the blog's 20 %, the test days for every window
GOLD_VAL_ROWS = round(gdata.VAL_FRACTION * blog.DAYS)  # 10 % of the blog's days before them, for validation


def gold_windows(window: int, horizon: int) -> gdata.Windows:
    """Gold windows of ``window`` days with the same validation and test days for every window length: the
    blog's 1,247 days plus the extra history a longer window needs before them."""
    n_days = blog.DAYS + max(window - blog.WINDOW, 0)
    features = gdata.make_features(gdata.load_gold(n_days=n_days))
    n = len(features)
    return gdata.make_windows(
        features,
        window=window,
        horizon=horizon,
        train_fraction=(n - GOLD_TEST_ROWS) / n,
        val_fraction=GOLD_VAL_ROWS / n,
    )


def run_gold(profile: str | Profile | None = None, out: str | Path | None = None) -> pd.DataFrame:
    """The fix for long memory on gold: a chrono LSTM(32) over windows of each profile length, at the blog's
    30-day horizon, against the naive forecast on the same test days. Each (window, seed) is a run folder
    under ``out/gold/`` (:func:`goldlab.lab.runner.cached`: written whole, read back, resumable), and
    ``out/gold.csv`` is rebuilt from them."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else memory_dir(prof)
    parts = []
    for window in sorted(prof.memory_gold_windows):
        for seed in range(prof.memory_gold_seeds):
            folder = _gold_dir(out, window, blog.HORIZON, prof.memory_gold_epochs, seed)

            def train(window: int = window, seed: int = seed) -> dict:
                return {"scores": _train_gold(window, blog.HORIZON, seed, prof)}

            parts.append(runner.cached(folder, train, keys=["scores"])["scores"])
    table = pd.concat(parts, ignore_index=True)
    runner.write_table(table, out / "gold.csv")
    return table


def _gold_dir(out: Path, window: int, horizon: int, epochs: int, seed: int) -> Path:
    """The run folder of one gold run: what changes it is in its name, as for the grid's runs."""
    return out / "gold" / f"chrono_w{window}_h{horizon}_e{epochs}_s{seed}"


def _train_gold(window: int, horizon: int, seed: int, prof: Profile) -> pd.DataFrame:
    """One gold run of :func:`run_gold`: its chrono LSTM's scores and the naive forecast's, one row each."""
    windows = gold_windows(window, horizon)
    keras.utils.set_random_seed(seed)
    model = compile_model(
        build_lstm(windows.x_train.shape[1:], units=(UNITS,), dropout=0.0, forget_bias="chrono")
    )
    hist = compile_and_fit(
        model, windows, prof.memory_gold_epochs, prof.memory_batch_size, loop="epoch", seed=seed
    )
    pred = windows.to_usd(model.predict(windows.x_test, verbose=0), "test")
    common = {"window": window, "horizon": horizon, "epochs": prof.memory_gold_epochs}
    naive = common | {"model": "naive", "seed": seed} | score_forecast(windows, windows.base_test)
    lstm = common | {"model": "lstm_chrono", "seed": seed} | score_forecast(windows, pred)
    lstm["sec_per_epoch"] = float(np.median(hist.epoch_seconds))
    return pd.DataFrame([naive, lstm])


def learning_contrast(table: pd.DataFrame) -> pd.DataFrame:
    """Two runs for the learning-curve figure, one that escapes the plateau and one that does not, as alike
    as the grid allows: one model at one T whose seeds split (the longest such T; there, the model whose
    failing run ends worst), its solved run with the lowest test MSE and its unsolved run with the highest.
    Where no model splits, two models at the longest T that has both outcomes; else that T's best and worst
    runs. Columns as in ``table``."""
    solved = table.groupby(["model", "T"])["solved"]
    split = [(m, t) for (m, t), share in solved.mean().items() if 0 < share < 1]
    if split:
        length = max(t for _, t in split)
        part = table[table["T"] == length]
        worst = part[~part["solved"] & part["model"].isin([m for m, t in split if t == length])]
        part = part[part["model"] == worst.loc[worst["test_mse"].idxmax(), "model"]]
    else:
        both = [t for t, rows in table.groupby("T") if rows["solved"].any() and not rows["solved"].all()]
        part = table[table["T"] == (max(both) if both else int(table["T"].max()))]
    good, bad = part[part["solved"]], part[~part["solved"]]
    if good.empty or bad.empty:
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


def cost_table(table: pd.DataFrame) -> pd.DataFrame:
    """Seconds of training per 1,000 sequences per (model, T): the median over seeds of each run's median
    epoch (the first, which compiles, excluded), with the runs, backend and machine behind it."""
    grouped = table.groupby(["model", "T"], sort=False)
    return grouped.agg(
        sec_per_1000=("sec_per_1000", "median"),
        runs=("seed", "count"),
        backend=("backend", "first"),
        machine=("machine", "first"),
    ).reset_index()


def init_order(summary: pd.DataFrame) -> pd.DataFrame:
    """Per T, the Spearman rank correlation across models between the gradient ratio at initialisation and
    the test MSE (negative: models whose gradient reaches further back at the start end with lower error),
    with its two-sided p-value (scipy's ``spearmanr``; ties share their mean rank) and the number of
    models. ``summary`` has index (model, T) and columns ``ratio_init`` and ``test_mse``; lengths with
    fewer than 3 models get NaN."""
    rows = {}
    for t, d in summary.reset_index().groupby("T"):
        rho, p = stats.spearmanr(d["ratio_init"], d["test_mse"]) if len(d) > 2 else (np.nan, np.nan)
        rows[t] = {"spearman": float(rho), "p": float(p), "models": len(d)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("T")


def _model_order(table: pd.DataFrame) -> list[str]:
    """The models of ``table`` in :data:`MODELS`' order: the rows of every model × T table."""
    return [m for m in MODELS if m in set(table["model"])]


def phase_table(table: pd.DataFrame) -> pd.DataFrame:
    """Fraction of seeds solved, model × T (the phase diagram); NaN where a cell was not trained."""
    order = _model_order(table)
    frac = table.groupby(["model", "T"])["solved"].mean().unstack("T")
    return frac.reindex(order)


def seed_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Seeds trained per cell, model × T in :func:`phase_table`'s order; NaN where none was."""
    order = _model_order(table)
    return table.groupby(["model", "T"])["seed"].count().unstack("T").reindex(order)


def mse_ratio_table(table: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds of test MSE ÷ the mean predictor's (1/6), model × T: a continuous outcome beside
    the pass mark (1: learnt nothing; the solved bar is :data:`goldlab.tasks.SOLVED_FRACTION`)."""
    order = _model_order(table)
    ratio = table["test_mse"] / tasks.MEAN_PREDICTOR_MSE
    return table.assign(ratio=ratio).groupby(["model", "T"])["ratio"].median().unstack("T").reindex(order)


def solve_cost(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and T, the median over seeds of the training sequences seen until the validation MSE first
    fell below the solved bar, a seed that never did counting as infinite (so NaN when most seeds fail):
    columns ``model``, ``label``, ``T``, ``sequences``, ``seeds``."""
    seen = table["sequences_to_solve"].fillna(np.inf)
    grouped = table.assign(seen=seen).groupby(["model", "T"], sort=False)
    cost = grouped.agg(sequences=("seen", "median"), seeds=("seed", "count")).reset_index()
    cost["sequences"] = cost["sequences"].replace(np.inf, np.nan)
    cost["label"] = cost["model"].map(lambda m: MODELS[m][0])
    order = {m: i for i, m in enumerate(MODELS)}
    return cost.sort_values(["model", "T"], key=lambda c: c.map(order) if c.name == "model" else c)


def cost_growth(cost: pd.DataFrame, per: int = 100, lengths: tuple[int, int] | None = None) -> pd.Series:
    """Per model, the factor by which the sequences needed to solve multiply for every ``per`` more steps:
    exp(slope × per) of a least-squares line of log(sequences) on T over the lengths it solved (left out
    with fewer than two). Vanishing through time predicts a cost exponential in T, a factor well above 1.

    ``lengths=(lo, hi)`` fits only lengths in that closed range, so that factors from different grids
    (the 1997 paper's T = 100 to 1,000, ours 50 to 400) can be compared over the same span."""
    solved = cost.dropna(subset=["sequences"])
    if lengths is not None:
        solved = solved[solved["T"].between(*lengths)]
    rows = {}
    for model, part in solved.groupby("model", sort=False):
        if part["T"].nunique() >= 2:
            slope = np.polyfit(part["T"], np.log(part["sequences"]), 1)[0]
            rows[model] = float(np.exp(slope * per))
    return pd.Series(rows, name=f"× per {per} steps", dtype=float)


def phase_boundary(table: pd.DataFrame) -> pd.Series:
    """Per model, the longest T it solves in most (more than half) of its seeds; NaN if none."""
    phase = phase_table(table)
    return phase.apply(lambda r: max((t for t, f in r.items() if f > 0.5), default=np.nan), axis=1)


#: What the papers report on the adding problem, read from their own text (the reference list has them):
#: the paper, the network, T, the training it needed in sequences seen (iterations × batch where the
#: paper gives those), what it reached, and how its task or bar differs from ours.
#: Only figures read in the papers' own text are listed; Le et al. (2015) is cited, its figures are not.
_HS = (
    "X1 in the first 10 steps (a lag of about T; ours T/2 to T), X2 in the first half; lengths T to 1.1 T;"
    " values in [−1, 1], target 0.5 + (X1 + X2)/4; every one of the last sequences within 0.04 (0.16 on"
    " the sum), where our bar bounds the mean squared error; online learning (batch 1), lr 0.5"
)
_AR = "RMSProp lr 1e-3, clipping at 1, 128 units, batch 20 or 50; iterations not stated"
PUBLISHED: tuple[dict, ...] = (
    *(
        {
            "paper": "Hochreiter & Schmidhuber 1997, Table 7",
            "network": "LSTM (1997, no forget gate), 93 weights",
            "T": t,
            "sequences": n,
            "reached": "|error| < 0.04 on the last 2,000 sequences (mean of 10 trials)",
            "differs from ours": _HS,
        }
        for t, n in ((100, 74_000), (500, 209_000), (1000, 853_000))
    ),
    {
        "paper": "Arjovsky, Shah & Bengio 2016, §4.2",
        "network": "LSTM, 128 units",
        "T": 400,
        "sequences": float("nan"),
        "reached": "“convincingly beat the baseline up to T=400”; not close to 0 at T = 750",
        "differs from ours": _AR,
    },
    {
        "paper": "Tallec & Ollivier 2018, adding task",
        "network": "LSTM, chrono vs forget bias 1",
        "T": 750,
        "sequences": float("nan"),
        "reached": "chrono “converges 7 times faster for T = 750”",
        "differs from ours": "RMSProp lr 1e-3, no clipping, 128 units; iterations not stated",
    },
)


def published_figures() -> pd.DataFrame:
    """``PUBLISHED`` as a table, one row per reported result."""
    columns = ["paper", "network", "T", "sequences", "reached", "differs from ours"]
    return pd.DataFrame(list(PUBLISHED), columns=columns)


#: The models a published row is set beside (one layer of 32 each), with their short names.
_BESIDE = {"lstm_fb1": "default LSTM", "lstm_chrono": "chrono LSTM", "gru": "GRU"}


def beside_published(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`published_figures` with a column ``ours``: at each row's T, the share of seeds the default
    LSTM, chrono and the GRU solved and their median sequences to solve (:func:`solve_cost`), or that the
    length was not trained here."""
    cost = solve_cost(table).set_index(["model", "T"])
    solved = table.groupby(["model", "T"])["solved"].agg(["sum", "count"])

    def ours(length: int) -> str:
        found = [m for m in _BESIDE if (m, length) in solved.index]
        if not found:
            return f"not trained at T = {length}"
        parts = []
        for m in found:
            k, n = solved.loc[(m, length)]
            seqs = cost.loc[(m, length), "sequences"]
            median = f", median {seqs:,.0f} sequences" if np.isfinite(seqs) else ""
            parts.append(f"{_BESIDE[m]}: {k} of {n} solved{median}")
        return "; ".join(parts)

    published = published_figures()
    return published.assign(ours=published["T"].map(ours))


#: The sanity check against the literature: Keras's default LSTM solves T = 100 in at least this share of
#: seeds (Hochreiter & Schmidhuber 1997 solved T = 100 with fewer sequences than this budget).
SANITY_SOLVED = 0.5


def sanity_check(table: pd.DataFrame, model: str = "lstm_fb1", length: int = 100) -> float:
    """The share of seeds in which ``model`` solves T = ``length`` (NaN if it was not trained there)."""
    rows = table[(table["model"] == model) & (table["T"] == length)]
    return float(rows["solved"].mean()) if len(rows) else float("nan")


# ------------------------------------------------------------------------------------------------
# The blog's claims, where memory matters: one function each, its claim declared in goldlab.lab.claims.


def _solved(table: pd.DataFrame, model: str, lengths: Iterable[int] | None = None) -> pd.Series:
    """Fraction of seeds solved per T for ``model`` (only the lengths given, if any)."""
    rows = table[table["model"] == model]
    if lengths is not None:
        rows = rows[rows["T"].isin(list(lengths))]
    return rows.groupby("T")["solved"].mean()


def _fmt_shares(fracs: pd.Series) -> str:
    """ "100%, 67%": the shares solved, in the order of their lengths."""
    return ", ".join(f"{f:.0%}" for f in fracs)


def _fmt_fracs(fracs: pd.Series) -> str:
    return ", ".join(f"T = {t}: {f:.0%}" for t, f in fracs.items()) or "not trained"


def _budget(table: pd.DataFrame, models: Iterable[str]) -> str:
    """'N sequences per run' over the runs of ``models`` (the training budget behind a fraction solved)."""
    if "budget" not in table:
        return "budget unknown"
    budget = table.loc[table["model"].isin(list(models)), "budget"]
    return f"{int(budget.max()):,} sequences per run" if budget.notna().any() else "budget unknown"


def _budget_limited(table: pd.DataFrame, models: Iterable[str], lengths: Iterable[int]) -> bool:
    """Whether any unsolved run of ``models`` at ``lengths`` was still improving when its budget ran out."""
    rows = table[table["model"].isin(list(models)) & table["T"].isin(list(lengths)) & ~table["solved"]]
    return bool("still_improving" in rows and rows["still_improving"].fillna(False).astype(bool).any())


_FIXES = ("blog_clipnorm", "blog_orthogonal", "blog_residual")  # the blog's steps 2-4


@claims.decides("memory_up_to_100")
def claim_up_to_100(table: pd.DataFrame) -> claims.Verdict:
    """Do the blog's techniques (the best of its steps 2-4 at each T) solve the adding problem at T <= 100?"""
    short = [t for t in table["T"].unique() if t <= 100]
    found = {m: f for m in _FIXES if not (f := _solved(table, m, short)).empty}
    steps = pd.concat(found, axis=1) if found else pd.DataFrame()
    key, solved = "memory_up_to_100", claims.threshold("memory_up_to_100")
    if steps.empty:
        reason = "none of the blog's steps 2-4 was trained at any T <= 100 here"
        return claims.verdict_for(key, "not trained", claims.NOT_TESTABLE, reason)
    best = steps.max(axis=1)
    worst = float(best.min())
    chrono = _solved(table, "lstm_chrono", best.index)
    verdict = claims.decide(worst, solved, claims.SUPPORTED, claims.REFUTED)
    if verdict == claims.REFUTED and _budget_limited(table, _FIXES, best.index):
        verdict = claims.BUDGET
    tried = table[table["model"].isin(list(found)) & table["T"].isin(short)]
    seeds = int(tried.groupby(["model", "T"])["seed"].count().min())  # at the lengths the claim is about
    if seeds < claims.MIN_SEEDS:
        verdict = claims.BUDGET
    reason = (
        f"working means the best of the blog's steps 2-4 solves {solved:.0%} of seeds at every T <= 100"
        f" trained ({plural(seeds, 'seed')}, a verdict needs {claims.MIN_SEEDS}; {_budget(table, found)})"
    )
    measured = f"solved {_fmt_fracs(best)}; one chrono LSTM(32): {_fmt_fracs(chrono)}"
    return claims.verdict_for(key, measured, verdict, reason, worst=worst)


_LSTMS = ("lstm_fb0", "lstm_fb1", "lstm_chrono")


@claims.decides("memory_gru_over_100")
def claim_gru_over_100(table: pd.DataFrame) -> claims.Verdict:
    """Beyond 100 steps, does the GRU solve where an LSTM does not? Against Keras's default LSTM (forget
    bias 1, what the blog's reader trains) and against the best single LSTM (forget bias 0, 1 or chrono):
    needed against both is supported, against the default only is mixed (an LSTM can do without)."""
    every = ("gru", *_LSTMS)  # a length counts only where all four were trained
    trained = table[table["model"].isin(every)].groupby("T")["model"].nunique()
    long = sorted(t for t in table["T"].unique() if t > 100 and trained.get(t, 0) == len(every))
    gru = _solved(table, "gru", long)
    lstm = pd.concat({m: _solved(table, m, gru.index) for m in _LSTMS}, axis=1).reindex(gru.index)
    key, needed = "memory_gru_over_100", claims.threshold("memory_gru_over_100")
    if gru.empty:
        reason = "the GRU was not trained at any T > 100 here"
        return claims.verdict_for(key, "not trained", claims.NOT_TESTABLE, reason)
    best, default = lstm.max(axis=1), lstm["lstm_fb1"]
    at = ", ".join(map(str, gru.index))
    shares = {"GRU": gru, "default LSTM": default, "best LSTM": best}
    measured = f"solved at T = {at}: " + "; ".join(f"{n} {_fmt_shares(x)}" for n, x in shares.items())
    if gru.max() == 0 and best.max() == 0:
        limited = _budget_limited(table, every, gru.index)
        verdict = claims.BUDGET if limited else claims.NOT_TESTABLE
        reason = "neither the GRU nor any LSTM solves the adding problem beyond T = 100 in this budget"
        return claims.verdict_for(key, measured, verdict, reason)
    over_best, over_default = float((gru - best).mean()), float((gru - default).mean())
    verdict = claims.decide(over_best, needed, claims.SUPPORTED, claims.REFUTED)
    if verdict == claims.REFUTED and over_default >= needed:
        verdict = claims.MIXED
    reason = (
        f"needing a GRU means it solves {needed:.0%} more seeds beyond T = 100 (mean over T): "
        f"{over_default:+.0%} over Keras's default LSTM, {over_best:+.0%} over the best LSTM"
    )
    return claims.verdict_for(key, measured, verdict, reason, advantage=over_best, over_default=over_default)


def _case_verdicts(gains: pd.Series, threshold: float, below: str) -> pd.DataFrame:
    """Per T of per-seed ``gains`` (index (T, seed)): the geometric mean, the pairs at or over
    ``threshold``, the pairs in all, and :func:`_paired`'s verdict (so one failed seed splits a length
    rather than deciding it)."""
    rows = {
        t: dict(
            gain=_geometric_mean(g),
            over=int((g >= threshold).sum()),
            pairs=len(g),
            verdict=_paired(g, threshold, below),
        )
        for t, g in gains.groupby(level="T")
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("T")


def _mse_cases(table: pd.DataFrame, a: str, b: str, threshold: float, below: str) -> pd.DataFrame:
    """:func:`_case_verdicts` of a's test MSE over b's, paired by seed, at each T where both have
    their seeds in and either solved a seed (two runs on the plateau say nothing about a or b)."""
    gains = _pair_gains(table, a, b, "test_mse")[0]
    solved = table[table["model"].isin([a, b])].groupby("T")["solved"].any()
    keep = gains.index.get_level_values("T").isin(solved[solved].index)
    return _case_verdicts(gains[keep], threshold, below)


def _overall(verdicts: pd.Series, above: str, below: str) -> str:
    """``above`` if every case is, ``below`` if every case is, else ``goldlab.lab.claims.MIXED``."""
    return above if (verdicts == above).all() else below if (verdicts == below).all() else claims.MIXED


def _fmt_cases(cases: pd.DataFrame) -> str:
    """ "×a, ×b at T = 50, 100" (the geometric means of :func:`_case_verdicts`)."""
    gains = ", ".join(f"×{g:.2g}" for g in cases["gain"])
    return f"{gains} at T = " + ", ".join(map(str, cases.index))


def _fmt_over(cases: pd.DataFrame) -> str:
    """ "0, 1 of 3": the seeds at or over the threshold at each T of :func:`_case_verdicts`."""
    return ", ".join(map(str, cases["over"])) + " of " + "/".join(map(str, dict.fromkeys(cases["pairs"])))


@claims.decides("memory_more_layers")
def claim_more_layers(table: pd.DataFrame) -> claims.Verdict:
    """Six stacked LSTM(32)s against one, on the adding problem: is the deeper stack worse, at each T?
    Each seed's test MSE of six over one's; a length is worse where their geometric mean and most
    seeds reach the threshold, and split (mixed) where one failed seed lifts the mean alone."""
    key, worse = "memory_more_layers", claims.threshold("memory_more_layers")
    cases = _mse_cases(table, "lstm_x6", "lstm_fb1", worse, claims.REFUTED)
    if cases.empty:
        reason = (
            f"one LSTM and six were not both trained on {claims.MIN_SEEDS} seeds, with either "
            "solving, at any T here"
        )
        return claims.verdict_for(key, "not compared", claims.NOT_TESTABLE, reason)
    verdict = _overall(cases["verdict"], claims.SUPPORTED, claims.REFUTED)
    one, six = _solved(table, "lstm_fb1", cases.index), _solved(table, "lstm_x6", cases.index)
    reason = (
        f"worse: ×{worse:g} or more one LSTM's test MSE (geometric mean, and most seeds: "
        f"{_fmt_over(cases)}); solved by six {_fmt_shares(six)}, by one {_fmt_shares(one)}"
    )
    speed = _solve_ratios(table, "lstm_x6", "lstm_fb1", cases.index)
    quicker = ", ".join(times(g) if np.isfinite(g) else "–" for g in speed)
    measured = (
        f"six LSTMs' test MSE over one's: {_fmt_cases(cases)}; their sequences to solve, where both"
        f" solved: {quicker}"
    )
    return claims.verdict_for(key, measured, verdict, reason, ratio=float(cases["gain"].max()))


def _solve_ratios(table: pd.DataFrame, a: str, b: str, lengths: Iterable[int]) -> pd.Series:
    """Per T of ``lengths``: the geometric mean, over the seeds both solved, of a's sequences to solve over
    b's (NaN where no seed did): how fast each learnt, which a pass mark and a stopped run's test MSE hide."""
    lengths = list(lengths)
    if "sequences_to_solve" not in table:
        return pd.Series(np.nan, index=lengths)
    gains, _ = _pair_gains(table[table["solved"]], a, b, "sequences_to_solve", min_pairs=1)
    return gains.groupby(level="T").apply(_geometric_mean).reindex(lengths)


@claims.decides("memory_residual_depth")
def claim_residual_depth(table: pd.DataFrame) -> claims.Verdict:
    """Do skip connections help stacks of 3 and 6 LSTMs on the adding problem (the blog: with 3+ layers)?
    Decided per (depth, T) case on each seed's test MSE without skips over with them
    (:func:`_mse_cases`); split evidence is "mixed", with the cases on each side named. A case where
    skips do not help while a failing run of the pair was still improving at the end of its budget is
    left out as budget-limited (and named); with every case so, the verdict is "not tested at a
    sufficient budget"."""
    key, helping = "memory_residual_depth", claims.threshold("memory_residual_depth")
    found = {
        d: _mse_cases(table, f"lstm_x{d}", f"lstm_x{d}_res", helping, claims.NOT_REPRODUCED) for d in (3, 6)
    }
    found = {d: c for d, c in found.items() if len(c)}
    if not found:
        reason = (
            f"no stack of 3 or 6 LSTMs was trained on {claims.MIN_SEEDS} seeds both with and without "
            "skips, with either solving"
        )
        return claims.verdict_for(key, "not compared", claims.NOT_TESTABLE, reason)
    cases = pd.concat(found, names=["depth", "T"])
    limited = [
        (d, t)
        for (d, t), v in cases["verdict"].items()
        if v != claims.SUPPORTED and _budget_limited(table, (f"lstm_x{d}", f"lstm_x{d}_res"), [t])
    ]
    settled = cases["verdict"].drop(limited)
    verdict = _overall(settled, claims.SUPPORTED, claims.NOT_REPRODUCED) if len(settled) else claims.BUDGET

    def named(keys: Iterable[tuple[int, int]]) -> str:
        return ", ".join(f"{d} LSTMs at T = {t}" for d, t in keys) or "none"

    def where(v: str) -> str:
        return named(k for k, x in settled.items() if x == v)

    reason = (
        f"helping: skips divide the test MSE by ×{helping:g} or more (geometric mean, and most "
        f"seeds): helped in {where(claims.SUPPORTED)}; seeds split: {where(claims.MIXED)}"
    )
    if limited:
        reason += f"; budget-limited: {named(limited)}"
    measured = "; ".join(f"{d} LSTMs {_fmt_cases(c)}" for d, c in found.items())
    return claims.verdict_for(key, measured, verdict, reason, least=float(cases["gain"].min()))


def _pair_gains(
    table: pd.DataFrame, a: str, b: str, column: str, min_pairs: int = claims.MIN_SEEDS
) -> tuple[pd.Series, str]:
    """``column`` (a gradient-through-time ratio, a test MSE, sequences to solve) of model a over model b,
    one value per (T, seed) both ran, at the lengths with at least ``min_pairs`` such pairs
    (:data:`goldlab.lab.claims.MIN_SEEDS`); and the lengths left waiting for their seeds, as text ("" if
    none). The ratio compounds with T, so one pair at a new length would outweigh the rest: a length
    counts once its seeds are in."""
    keys = ["T", "seed"]
    pa = table[table["model"] == a].set_index(keys)[column]
    pb = table[table["model"] == b].set_index(keys)[column]
    common = pa.index.intersection(pb.index)
    per_t = pd.Series(common.get_level_values("T")).value_counts().sort_index()
    short = per_t[per_t < min_pairs]
    waiting = ", ".join(f"T = {t}: {plural(int(k), 'pair')}" for t, k in short.items())
    common = common[~common.get_level_values("T").isin(short.index)].sort_values()
    return (pa[common] / pb[common]).astype(float).rename("gain"), waiting


def _geometric_mean(gains: pd.Series) -> float:
    return float(np.exp(np.mean(np.log(gains)))) if len(gains) else float("nan")


def _waiting(lengths: str) -> str:
    """The lengths a paired gain leaves out until their seeds are in, for a verdict's reason."""
    return f"; not yet counted, too few seeds: {lengths}" if lengths else ""


def _paired(gains: pd.Series, threshold: float, below: str) -> str:
    """The verdict of a blog step's gains over the step before, one per run pair (T, seed): supported
    where their geometric mean and most pairs reach ``threshold``, ``below`` where the mean and most pairs
    fall under it, "mixed" where the seeds split (the mean and the majority disagree, or half the pairs
    lie on each side), and "not tested at a sufficient budget" with fewer than
    :data:`goldlab.lab.claims.MIN_SEEDS` pairs."""
    if len(gains) < claims.MIN_SEEDS:
        return claims.BUDGET
    mean, over = _geometric_mean(gains), float((gains >= threshold).mean())
    if mean >= threshold and over > 0.5:
        return claims.SUPPORTED
    if mean < threshold and over < 0.5:
        return below
    return claims.MIXED


#: The blog's steps 1 and 2 (no clipping, clipnorm=1.0), compared after training.
CLIP_STEPS = ("blog_clipnorm", "blog_baseline")


def matched_ratios(history: pd.DataFrame, models: Sequence[str] = CLIP_STEPS) -> pd.DataFrame:
    """The first layer's ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ of each run of ``models`` at the last epoch that every one of
    them ran at its (T, seed), so runs are compared after the same training (a run that solves stops
    early, and the ratio rises as a network learns), with the run's validation MSE then, which says
    whether it had solved by that epoch. ``history`` is :func:`load_grid`'s stacked ``history``; returns
    columns ``model``, ``T``, ``seed``, ``epoch``, ``ratio_matched``, ``val_matched``."""
    runs = history[history["model"].isin(list(models))]
    columns = ["model", "T", "seed", "epoch", "ratio_matched", "val_matched"]
    if runs.empty:
        types = {"T": int, "seed": int, "ratio_matched": float, "val_matched": float}
        return pd.DataFrame(columns=columns).astype(types)
    if "val_loss" not in runs:
        runs = runs.assign(val_loss=np.nan)
    last = runs.groupby(["model", "T", "seed"])["epoch"].max().unstack("model")
    last = last.reindex(columns=list(models)).dropna()  # the (T, seed) every model ran
    common = last.min(axis=1).rename("epoch").reset_index()
    picked = runs.merge(common, on=["T", "seed", "epoch"])
    return picked.rename(columns={"ratio": "ratio_matched", "val_loss": "val_matched"})[columns]


_RATIO = "‖∂L/∂x_1‖ / ‖∂L/∂x_T‖"


def clip_learning(table: pd.DataFrame) -> dict:
    """How often the blog's network solved with clipping and without, over the (T, seed) pairs both ran:
    ``solved_clipped``, ``solved_baseline``, ``pairs``, and ``sign_p``, the exact McNemar test (a two-sided
    sign test on the pairs where one run solved and the other did not)."""
    keys = ["T", "seed"]
    runs = table[table["model"].isin(CLIP_STEPS)].pivot_table(index=keys, columns="model", values="solved")
    both = runs.reindex(columns=list(CLIP_STEPS)).dropna().astype(bool)
    clipped, baseline = both[CLIP_STEPS[0]], both[CLIP_STEPS[1]]
    wins, losses = int((clipped & ~baseline).sum()), int((baseline & ~clipped).sum())
    p = stats.binomtest(wins, wins + losses).pvalue if wins + losses else float("nan")
    return dict(
        solved_clipped=int(clipped.sum()),
        solved_baseline=int(baseline.sum()),
        pairs=len(both),
        sign_p=float(p),
    )


@claims.decides("memory_clip_prevents")
def claim_clip_prevents(table: pd.DataFrame, history: pd.DataFrame) -> claims.Verdict:
    """The blog's step 2 against step 1 during training: does clipping keep the gradient reaching x_1?

    Paired by (T, seed) and compared at the last epoch both runs trained (:func:`matched_ratios` of
    ``history``, the stacked per-epoch tables), counting only the pairs in which neither run had solved by
    then: a network that has learnt the task passes gradient to x_1 because it uses x_1, so there a gain
    measures learning, not clipping keeping the gradient alive (at given weights clipping changes no
    gradient; it rescales the update). Fewer than :data:`goldlab.lab.claims.MIN_SEEDS` such pairs at a
    length are "not tested at a sufficient budget". ``values`` also carry :func:`clip_learning`."""
    key, needed = "memory_clip_prevents", claims.threshold("memory_clip_prevents")
    matched = matched_ratios(history, CLIP_STEPS)
    pairs = pd.MultiIndex.from_frame(matched[["T", "seed"]])
    solved = matched.loc[matched["val_matched"] < tasks.solved_mse(), ["T", "seed"]]
    learnt = pairs.isin(pd.MultiIndex.from_frame(solved))
    gains, waiting = _pair_gains(matched[~learnt], *CLIP_STEPS, "ratio_matched")
    every, _ = _pair_gains(matched[~learnt], *CLIP_STEPS, "ratio_matched", min_pairs=1)
    n_out, n_all = len(solved.drop_duplicates()), len(pairs.unique())
    reason = (
        f"preventing vanishing needs clipping to raise {_RATIO} ×{needed:g} before either run solves;"
        f" in {n_out} of {plural(n_all, 'pair')} a run had solved by then, which measures learning"
    )
    by_t = every.groupby(level="T")
    each = "; ".join(f"T = {t}: " + ", ".join(map(times, g)) for t, g in by_t)
    if len(gains):
        reason += _waiting(waiting)  # counted lengths beside waiting ones: say which wait
        over = int((gains >= needed).sum())
        measured = (
            f"{times(_geometric_mean(gains))} before either solved, {over} of {len(gains)} pairs ×{needed:g}"
        )
    else:
        measured = (
            f"{plural(len(every), 'pair')} before either solved; a verdict needs {claims.MIN_SEEDS} at one T"
        )
    measured += f" (per pair: {each or 'none'})"
    verdict = _paired(gains, needed, claims.REFUTED) if n_all else claims.NOT_TESTABLE
    if not n_all:
        reason, measured = "steps 1 and 2 were not trained", "not trained"
    return claims.verdict_for(
        key, measured, verdict, reason, gain=_geometric_mean(gains), **clip_learning(table)
    )


@claims.decides("memory_orth_doubled")
def claim_orth_doubled(draws: pd.DataFrame) -> claims.Verdict:
    """The blog's step 3 against step 2 at initialisation, on :func:`init_draws`: ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ of
    orthogonal over Glorot input kernels, judged by the book's one threshold for "doubled" (that of the
    registered claim ``orth_doubled``). Per T (:func:`init_gains`, level 1 - ``claims.ALPHA``): supported
    where the gain reaches the threshold and its interval lies above ×1, not reproduced where the interval
    lies below the threshold, and "not tested at a sufficient budget" where the draws are too few to
    tell. Over T: the lengths' common verdict, or "mixed"."""
    key, needed = "memory_orth_doubled", claims.threshold("orth_doubled")
    gains = init_gains(draws) if len(draws) else pd.DataFrame()
    if gains.empty:
        return claims.verdict_for(key, "not drawn", claims.NOT_TESTABLE, "steps 2 and 3 were not drawn")
    each = {t: _doubling(g, needed) for t, g in gains.iterrows()}
    found = set(each.values()) - {claims.BUDGET}
    verdict = claims.BUDGET if not found else found.pop() if len(found) == 1 else claims.MIXED
    measured = "; ".join(
        f"T = {t}: {times(g.gain)} ({times(g.low)} to {times(g.high)})" for t, g in gains.iterrows()
    )
    reason = (
        f"doubling needs orthogonal input kernels to raise {_RATIO} at initialisation ×{needed:g},"
        f" its {1 - claims.ALPHA:.0%} interval above ×1 ({int(gains['draws'].min())} draws of each per T,"
        " Welch on the logs)"
    )
    return claims.verdict_for(key, measured, verdict, reason, gain=float(gains["gain"].min()))


def _doubling(g: pd.Series, needed: float) -> str:
    """One length's verdict on "doubled" from its gain and interval (:func:`init_gains`'s row)."""
    if not np.isfinite(g["gain"]):
        return claims.BUDGET
    if g["gain"] >= needed and g["low"] > 1:
        return claims.SUPPORTED
    if g["high"] < needed:
        return claims.NOT_REPRODUCED
    return claims.BUDGET


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
    drawn = path.parent / _DRAWS_FILE
    inputs = {
        claim_clip_prevents: (table, _histories(path.parent, table, CLIP_STEPS)),
        claim_orth_doubled: (pd.read_csv(drawn) if drawn.exists() else pd.DataFrame(),),
    }
    return [claim(*inputs.get(claim, (table,))) for claim in CLAIMS]


def _histories(out: Path, table: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """The saved per-epoch ``history`` of every run of ``models`` in ``table``, stacked with ``model``,
    ``T`` and ``seed`` columns; each run's folder is named from its own row (budget, chunk, batch)."""
    parts = [pd.DataFrame(columns=["model", "T", "seed", "epoch", "ratio"])]  # none: an empty table
    for row in table[table["model"].isin(list(models))].itertuples():
        folder = _folder(out, row.model, row.T, row.budget, row.chunk, row.batch_size, row.seed)
        part = runner.read_run(folder, ["history"])["history"]
        parts.append(part.assign(model=row.model, T=row.T, seed=row.seed))
    return pd.concat(parts[1:] or parts, ignore_index=True)


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
