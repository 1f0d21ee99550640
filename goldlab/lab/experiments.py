"""One ``compile_and_fit``, training one step over seeds, the seed ablation of the blog's steps, the
chapters' side experiments, and walk-forward evaluation: the experiments on gold.

Every number the book quotes comes from here. A run (one step, seed, horizon and target) trains the step's
model with the :class:`~goldlab.monitor.GradientMonitor` on, scores its test forecasts in USD against the
naive random-walk forecast, and is kept as a folder of small CSV/JSON files by the one cached runner
(:func:`goldlab.lab.runner.cached`): an interrupted ablation resumes where it stopped, runs whose folder
exists are read back, not trained again. How much each trains is the profile's
(:mod:`goldlab.lab.profiles`).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from goldlab import data as gdata
from goldlab import metrics
from goldlab.lab import loops, runner
from goldlab.lab.profiles import Profile, get_profile
from goldlab.metrics import BASELINES
from goldlab.models import STEPS, build_step
from goldlab.monitor import GradientMonitor, GradientProbe

__all__ = [
    "baseline_forecasts",
    "compile_and_fit",
    "EpochClock",
    "load_run",
    "load_runs",
    "load_side",
    "run_ablation",
    "run_one",
    "run_seeds",
    "save_side",
    "side",
    "score_forecast",
    "walk_forward",
]


class EpochClock(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch, appended to ``seconds`` (a new list unless one is given).

    Put it last among the callbacks so it includes their epoch-end work.
    """

    def __init__(self, seconds: list[float] | None = None):
        super().__init__()
        self.seconds: list[float] = [] if seconds is None else seconds

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t)


def compile_and_fit(
    model: keras.Model,
    windows: gdata.Windows,
    epochs: int,
    batch_size: int = 32,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    loop: str = "fit",
    seed: int | None = None,
) -> keras.callbacks.History:
    """Fit a compiled model on ``windows`` for a fixed number of epochs, validating on the validation split.

    No early stopping and no model selection: the validation split draws the loss curves (``val_loss``),
    and the test split is never seen here. Training stops on a NaN loss (``TerminateOnNaN``), which the
    history shows.
    ``history.epoch_seconds`` holds each epoch's wall-clock time. ``loop="fit"`` is ``model.fit``;
    ``loop="epoch"`` runs each epoch as one compiled call (:func:`goldlab.lab.loops.fit_epochs`,
    whose batch order
    ``seed`` fixes).
    """
    return _fit([model], windows, epochs, batch_size, [list(callbacks)], loop, [seed], verbose=verbose)[0]


def _fit(
    models: list[keras.Model],
    windows: gdata.Windows,
    epochs: int,
    batch_size: int,
    callbacks: list[list[keras.callbacks.Callback]],
    loop: str,
    seeds: list[int | None],
    verbose: int = 0,
) -> list[keras.callbacks.History]:
    """Train each model with its callbacks (plus TerminateOnNaN and an epoch clock) by ``loop``."""
    clocks = [EpochClock() for _ in models]
    full = [
        [keras.callbacks.TerminateOnNaN(), *cbs, clock] for cbs, clock in zip(callbacks, clocks, strict=True)
    ]
    val = windows.validation
    histories = loops.train(
        models, windows.x_train, windows.y_train, epochs, batch_size, val, full, loop, seeds, verbose
    )
    for history, clock in zip(histories, clocks, strict=True):
        history.epoch_seconds = clock.seconds
    return histories


def score_forecast(windows: gdata.Windows, pred_usd: np.ndarray) -> dict[str, float]:
    """MAE/RMSE (USD), MASE (scaled by the in-sample h-step naive error), direction, DM vs naive."""
    y, base, h = windows.y_test_usd, windows.base_test, windows.horizon
    if not np.all(np.isfinite(pred_usd)):
        return {k: np.nan for k in ("mae", "rmse", "mase", "directional_accuracy", "dm_stat", "dm_p")}
    report = metrics.forecast_report(y, pred_usd, base, windows.train_close.to_numpy(), lag=h)
    if np.array_equal(pred_usd, base):  # identical errors: the DM statistic is 0/0, no evidence either way
        dm_stat, dm_p = 0.0, 1.0
    else:
        dm = metrics.diebold_mariano(pred_usd - y, base - y, h=h)
        dm_stat, dm_p = dm.statistic, dm.p_value
    return {**report, "dm_stat": dm_stat, "dm_p": dm_p}


def baseline_forecasts(
    windows: gdata.Windows, closes: pd.Series, ridge: float = 1.0
) -> dict[str, np.ndarray]:
    """Test forecasts in USD of the simple baselines.

    * ``naive``: the random walk, tomorrow (or in h days) = the origin day's close;
    * ``drift``: the random walk plus the average daily change of all history up to the origin;
    * ``linear``: ridge regression (``ridge`` penalty) of the scaled target on the flattened scaled window,
      the same inputs and target as the LSTMs.
    """
    h = windows.horizon
    position = closes.index.get_indexer(windows.origin_test)
    values = closes.to_numpy()
    drift = np.array([metrics.drift_forecast(values[: i + 1], h)[-1] for i in position])
    xtr = windows.x_train.reshape(len(windows.x_train), -1).astype(np.float64)
    xte = windows.x_test.reshape(len(windows.x_test), -1).astype(np.float64)
    mean = xtr.mean(axis=0)
    a = xtr - mean
    coef = np.linalg.solve(
        a.T @ a + ridge * np.eye(a.shape[1]), a.T @ (windows.y_train[:, 0] - windows.y_train.mean())
    )
    linear = windows.to_usd((xte - mean) @ coef + windows.y_train.mean(), "test")
    return {"naive": windows.base_test.copy(), "drift": drift, "linear": linear}


def _run_dir(
    out: Path | None, step: str, seed: int, horizon: int, target_kind: str, epochs: int, val_fraction: float
) -> Path | None:
    """A run's folder (None without ``out``); its name holds everything that changes the run, the
    validation share included."""
    if out is None:
        return None
    val = f"_val{round(100 * val_fraction)}"
    return out / "runs" / f"{step}_h{horizon}_{target_kind}_e{epochs}{val}_s{seed}"


def run_one(
    step: str,
    seed: int,
    windows: gdata.Windows,
    epochs: int,
    batch_size: int = 32,
    probe_size: int = 64,
    monitor_every: int = 1,
    loop: str = "fit",
    **overrides,
) -> dict:
    """Train one step's model with one seed and score it; returns the run's tables.

    Keys: ``row`` (the summary dict), ``history`` (loss per epoch), ``gradients`` (the monitor's history),
    ``time_profile`` (gradient through time at the first and last recorded epoch), ``predictions``.
    ``loop`` is as in :func:`compile_and_fit`. ``overrides`` go to :func:`~goldlab.models.build_step` (e.g.
    ``learning_rate``).
    """
    (run,) = run_seeds(
        step, [seed], windows, epochs, batch_size, probe_size, monitor_every, loop, **overrides
    )
    return run


def run_seeds(
    step: str,
    seeds: Sequence[int],
    windows: gdata.Windows,
    epochs: int,
    batch_size: int = 32,
    probe_size: int = 64,
    monitor_every: int = 1,
    loop: str = "fit",
    **overrides,
) -> list[dict]:
    """:func:`run_one` for each seed; with ``loop="stacked"`` (JAX) all seeds train together as one program.

    ``"fit"`` and ``"epoch"`` train the seeds one after the other (``"fit"`` builds each model just before
    fitting it, so each seed's batch order is what it would be alone). With ``"stacked"`` each run's
    ``sec_per_epoch`` is the wall-clock time of an epoch of all ``trained_together`` models.
    """
    probe = (windows.x_train[-probe_size:], windows.y_train[-probe_size:])
    shape = windows.x_train.shape[1:]
    runs = []
    groups = [list(seeds)] if loop == "stacked" else [[seed] for seed in seeds]
    for group in groups:
        models = [build_step(step, input_shape=shape, seed=seed, **overrides) for seed in group]
        compiled = GradientProbe(models[0]) if len(models) > 1 else None  # one compilation for the group
        monitors = [
            GradientMonitor(
                probe, every=monitor_every, vanish=0.0, explode=np.inf, time_vanish=0.0, compiled=compiled
            )
            for _ in group
        ]
        histories = _fit(models, windows, epochs, batch_size, [[m] for m in monitors], loop, group)
        for seed, model, monitor, hist in zip(group, models, monitors, histories, strict=True):
            runs.append(_record(step, seed, windows, model, monitor, hist, loop, len(group)))
    return runs


def _record(
    step: str,
    seed: int,
    windows: gdata.Windows,
    model: keras.Model,
    monitor: GradientMonitor,
    hist: keras.callbacks.History,
    loop: str,
    together: int,
) -> dict:
    """A trained run's tables: its summary row, losses, gradients, time profile and test predictions."""
    pred = windows.to_usd(model.predict(windows.x_test, batch_size=256, verbose=0), "test")
    losses = pd.DataFrame(hist.history).assign(epoch=np.arange(1, len(hist.epoch) + 1))
    grads = monitor.history
    last = grads[grads["epoch"] == grads["epoch"].max()]
    totals = last[last["weight"] == "total"].set_index("layer")["norm"]
    profile = monitor.time_profile
    profile = profile[profile["epoch"].isin([0, profile["epoch"].max()])]
    seconds = hist.epoch_seconds
    row = {
        "step": step,
        "seed": seed,
        "horizon": windows.horizon,
        "target_kind": windows.target_kind,
        "epochs": len(hist.epoch),
        "nan_loss": bool(not np.all(np.isfinite(hist.history["loss"]))),
        "final_loss": float(hist.history["loss"][-1]),
        "sec_per_epoch": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
        "backend": keras.backend.backend(),
        "loop": loop,
        "trained_together": together,
        "validation_windows": len(windows.x_val) if windows.x_val is not None else 0,
        "final_val_loss": float(hist.history["val_loss"][-1]) if "val_loss" in hist.history else np.nan,
        **score_forecast(windows, pred),
        **{f"grad_{layer}": float(v) for layer, v in totals.items()},
    }
    predictions = pd.DataFrame(
        {"date": windows.dates_test, "actual": windows.y_test_usd, "pred": pred, "naive": windows.base_test}
    )
    return {
        "row": row,
        "history": losses,
        "gradients": grads,
        "time_profile": profile,
        "predictions": predictions,
    }


def _as_seeds(seeds: int | Iterable[int]) -> list[int]:
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def run_ablation(
    steps: Sequence[str] = STEPS,
    seeds: int | Iterable[int] | None = None,
    epochs: int | None = None,
    horizons: Sequence[int] | None = None,
    profile: str | Profile | None = None,
    out: str | Path | None = None,
    target_kind: str = "level",
    prices: pd.DataFrame | None = None,
    quiet: bool = False,
    loop: str = "fit",
    val_fraction: float = gdata.VAL_FRACTION,
) -> pd.DataFrame:
    """Train every (step, seed, horizon) and score it; one row each, plus the baselines' rows.

    Columns: step, seed, horizon, target_kind, epochs, nan_loss, final_loss, sec_per_epoch, mae, rmse (USD),
    mase, directional_accuracy, dm_stat and dm_p (Diebold-Mariano test against the naive forecast, positive
    when the model's squared errors are larger), grad_<layer> (per-layer gradient norm on the probe batch
    after the last epoch). The baselines (``naive``, ``drift``, ``linear``; see :func:`baseline_forecasts`)
    have ``seed`` -1. ``seeds``, ``epochs`` and ``horizons`` default to the profile's. With ``out`` every run
    is a folder under ``out/runs/`` (:func:`goldlab.lab.runner.cached`) and the table is saved as
    ``out/ablation_<target_kind>.csv``; runs already saved are read back instead of trained (resume),
    whichever ``loop`` trained them (the ``loop`` column says).
    ``prices`` defaults to :func:`goldlab.data.load_gold` (the blog's 1,247 days); your own prices are used
    whole, with a :class:`~goldlab.data.ShortSeriesWarning` when they hold fewer days.
    ``loop`` is ``"fit"`` (``model.fit``), ``"epoch"``
    (one compiled call per epoch) or ``"stacked"`` (JAX: a step's seeds in one program); see
    :mod:`goldlab.lab.loops`. ``val_fraction`` is the validation share of :func:`goldlab.data.make_windows`:
    the loss curves read it, the scores read the test split.
    """
    prof = get_profile(profile)
    seeds = _as_seeds(prof.seeds if seeds is None else seeds)
    epochs = prof.epochs if epochs is None else epochs
    horizons = prof.horizons if horizons is None else tuple(horizons)
    for step in steps:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; choose from {', '.join(STEPS)}")
    loops.check_loop(loop)
    features = gdata.make_features(_ablation_prices(prices))
    out = Path(out) if out is not None else None
    rows: list[dict] = []
    progress = _Progress(len(steps) * len(seeds) * len(horizons), quiet)
    for h in horizons:
        try:
            windows = gdata.make_windows(
                features, horizon=h, target_kind=target_kind, val_fraction=val_fraction
            )
        except gdata.DataError as err:
            raise gdata.DataError(
                f"{err}; run_ablation: pass shorter horizons= (now {tuple(horizons)}), a smaller "
                "val_fraction= or prices= with more days"
            ) from None
        for name, pred in baseline_forecasts(windows, features["close"]).items():
            rows.append(
                {"step": name, "seed": -1, "horizon": h, "target_kind": target_kind, "epochs": 0}
                | score_forecast(windows, pred)
            )
        for step in steps:
            folders = {s: _run_dir(out, step, s, h, target_kind, epochs, val_fraction) for s in seeds}
            rows.extend(_step_rows(step, folders, windows, epochs, prof, loop, progress))
    table = pd.DataFrame(rows)
    if out is not None:
        _merge_table(table, out / f"ablation_{target_kind}.csv")
        if progress.trained:
            stamp = time.strftime("%Y-%m-%d")
            machine = runner.machine_description()
            runner.write_text(f"Runs trained on {stamp} by: {machine}\n", out / "MACHINE.md")
    return table


def _ablation_prices(prices: pd.DataFrame | None) -> pd.DataFrame:
    """The ablation's prices: the blog's days by default; your own whole, with a warning when shorter."""
    if prices is None:
        return gdata.load_gold()
    if len(prices) < gdata.BLOG_DAYS:
        source = prices.attrs.get("source", "<prices>")
        warnings.warn(
            f"{source}: {len(prices):,} days, fewer than the blog's {gdata.BLOG_DAYS:,}; the ablation trains "
            "on all of them (70 / 10 / 20 % of the rows for training, validation and test)",
            gdata.ShortSeriesWarning,
            stacklevel=3,
        )
    return prices


class _Progress:
    """The ablation's count of runs read back and trained, and its progress lines (unless ``quiet``)."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.done, self.trained = total, quiet, 0, 0

    def trained_runs(self, step: str, group: list[int], rows: list[dict], seconds: float) -> None:
        self.trained += len(group)
        for seed, row in zip(group, rows, strict=True):
            self.done += 1
            if not self.quiet:
                print(
                    f"[{self.done}/{self.total}] {step:<10} seed {seed} h={row['horizon']:<2} "
                    f"{row['target_kind']}: MAE {row['mae']:.2f} USD, {row['epochs']} epochs in "
                    f"{seconds:.0f} s" + (f" ({len(group)} seeds together)" if len(group) > 1 else ""),
                    file=sys.stderr,
                    flush=True,
                )


def _step_rows(
    step: str,
    folders: dict[int, Path | None],
    windows: gdata.Windows,
    epochs: int,
    prof: Profile,
    loop: str,
    progress: _Progress,
) -> list[dict]:
    """Each seed's summary row of ``step``: the saved run's where its folder exists, else trained and saved
    by :func:`goldlab.lab.runner.cached` (with ``loop="stacked"`` the missing seeds train together)."""
    todo = [s for s, folder in folders.items() if not runner.is_saved(folder)]
    progress.done += len(folders) - len(todo)
    fresh: dict[int, dict] = {}

    def train(seed: int) -> dict:
        if seed not in fresh:
            group = todo if loop == "stacked" else [seed]
            start = time.perf_counter()
            runs = run_seeds(step, group, windows, epochs, prof.batch_size, prof.probe_size, loop=loop)
            fresh.update(zip(group, runs, strict=True))
            progress.trained_runs(step, group, [r["row"] for r in runs], time.perf_counter() - start)
        return fresh.pop(seed)

    return [runner.cached(f, lambda s=s: train(s), keys=("row",))["row"] for s, f in folders.items()]


_ROW_KEY = ["step", "seed", "horizon", "target_kind", "epochs"]
_RUN_KEYS = ("row", "history", "gradients", "time_profile", "predictions")  # the files of a run


def _merge_table(table: pd.DataFrame, path: Path) -> None:
    """Keep ``path`` the table of every run saved beside it: ``table``'s rows replace the saved rows with
    the same run key, saved rows of other runs stay (a call for some steps keeps the others), baselines
    before steps, by horizon. Nothing is written when the saved table already holds exactly these rows."""
    saved = pd.read_csv(path) if path.exists() else table.iloc[:0]
    keys = table[_ROW_KEY].astype(str).agg("|".join, axis=1)
    others = saved[~saved[_ROW_KEY].astype(str).agg("|".join, axis=1).isin(set(keys))]
    merged = pd.concat([others, table], ignore_index=True) if len(others) else table
    order = {s: i for i, s in enumerate((*BASELINES, *STEPS))}
    merged = merged.sort_values(
        ["horizon", "step", "seed"], key=lambda c: c.map(order) if c.name == "step" else c, kind="stable"
    ).reset_index(drop=True)
    if path.exists() and len(merged) == len(saved):
        same_runs = merged[_ROW_KEY].astype(str).equals(saved[_ROW_KEY].astype(str))
        if same_runs and np.allclose(merged["mae"], saved["mae"], rtol=1e-5, equal_nan=True):
            return  # nothing new: the folder stays as it is
    runner.write_table(merged, path)


def load_run(
    out: str | Path,
    step: str,
    seed: int,
    horizon: int,
    epochs: int,
    target_kind: str = "level",
    val_fraction: float = gdata.VAL_FRACTION,
) -> dict:
    """A saved run's tables (``row``, ``history``, ``gradients``, ``time_profile``, ``predictions``)."""
    folder = _run_dir(Path(out), step, seed, horizon, target_kind, epochs, val_fraction)
    if not runner.is_saved(folder):
        raise FileNotFoundError(f"{folder}: no such run; run_ablation(..., out={str(out)!r}) makes it")
    return runner.read_run(folder, _RUN_KEYS, dates=("date",))


#: The file name of a side experiment's one table (``runs.csv``).
SIDE_TABLE = "runs"


def _side_dir(out: str | Path, name: str, epochs: int, val_fraction: float) -> Path:
    return Path(out) / "side" / f"{name}_e{epochs}_val{round(100 * val_fraction)}"


def side(
    out: str | Path,
    name: str,
    epochs: int,
    train: Callable[[], pd.DataFrame | dict[str, pd.DataFrame]],
    val_fraction: float = gdata.VAL_FRACTION,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """A chapter's side experiment, trained once and kept beside the ablation.

    The chapters train a few runs of their own (say, the blog's learning rate 0.01). ``train()`` returns
    their table, or several by name; they are a run folder ``<out>/side/<name>_e<epochs>_val<v>/`` like
    any other (:func:`goldlab.lab.runner.cached`: written whole, read back instead of trained again), so
    that :mod:`goldlab.lab.ledger` decides those claims too without training. The name holds what changes
    the runs, as a run folder's does. Returns what ``train`` returns, or its saved copy.
    """
    folder = _side_dir(out, name, epochs, val_fraction)
    return _unnamed(runner.cached(folder, lambda: _named(train())))


def save_side(
    out: str | Path,
    name: str,
    tables: pd.DataFrame | dict[str, pd.DataFrame],
    epochs: int,
    val_fraction: float = gdata.VAL_FRACTION,
) -> None:
    """Record a side experiment's table (or tables by name) in its folder, replaced whole: for runs the
    chapter trains every time, where :func:`side` would read an old copy back."""
    files = {f"{k}.csv": v for k, v in _named(tables).items()}
    runner.write_whole(_side_dir(out, name, epochs, val_fraction), files, replace=True)


def load_side(
    out: str | Path, name: str, epochs: int, val_fraction: float = gdata.VAL_FRACTION
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """A saved side experiment's table (its tables by name, where it has several); FileNotFoundError,
    naming it, where there is none."""
    folder = _side_dir(out, name, epochs, val_fraction)
    if not runner.is_saved(folder):
        raise FileNotFoundError(f"{folder}: no such side experiment; the chapter that runs it saves it")
    return _unnamed(runner.read_run(folder))


def _named(tables: pd.DataFrame | dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A side experiment's tables by name: a lone table is :data:`SIDE_TABLE`."""
    return {SIDE_TABLE: tables} if isinstance(tables, pd.DataFrame) else tables


def _unnamed(run: dict[str, pd.DataFrame]) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The inverse of :func:`_named`: a run holding only :data:`SIDE_TABLE` is that table."""
    return run[SIDE_TABLE] if list(run) == [SIDE_TABLE] else run


def load_runs(
    out: str | Path,
    steps: Sequence[str],
    seeds: int | Iterable[int],
    horizon: int,
    epochs: int,
    target_kind: str = "level",
    val_fraction: float = gdata.VAL_FRACTION,
) -> dict[str, pd.DataFrame]:
    """The saved tables of several runs stacked, each with ``step`` and ``seed`` columns added.

    Keys as in :func:`load_run` (``row`` becomes a table with one row per run).
    """
    parts: dict[str, list[pd.DataFrame]] = {}
    for step in steps:
        for seed in _as_seeds(seeds):
            run = load_run(out, step, seed, horizon, epochs, target_kind, val_fraction)
            parts.setdefault("row", []).append(pd.DataFrame([run["row"]]))
            for name in ("history", "gradients", "time_profile", "predictions"):
                parts.setdefault(name, []).append(run[name].assign(step=step, seed=seed))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def _walk_plan(
    features: pd.DataFrame, years: Sequence[int] | None, train_days: int | None, prof: Profile, own: bool
) -> tuple[tuple[int, ...], int]:
    """The test years and training days of a walk-forward, or an error naming the option that fixes it.

    For the bundled series (``own`` False) the defaults are the profile's. For your own prices they come from
    the file: ``train_days`` is the profile's (the blog's 1,247) or, where the file holds fewer days before
    its test years, all it holds (with a :class:`~goldlab.data.ShortSeriesWarning`); ``years`` are the
    file's latest years with ``train_days`` days before them, as many as the profile's ``walk_years``.
    """
    source = features.attrs.get("source", "<prices>")
    per_year = features.index.year.value_counts().sort_index()
    before = (per_year.cumsum() - per_year).astype(int)  # days before each year of the file
    span = f"{source} covers {per_year.index[0]}-{per_year.index[-1]}"
    if years is not None:
        missing = [y for y in years if y not in per_year.index]
        if missing:
            raise ValueError(f"walk-forward years={tuple(years)}: {span}, no days in {missing}; pass years=")
    if train_days is None:
        train_days = prof.walk_train_days
        if own:
            room = int(before[list(years)].min()) if years is not None else int(before.iloc[-1])
            if room < train_days:
                warnings.warn(
                    f"walk-forward: {span} with {room:,} days before its test year(s), fewer than the "
                    f"blog's {train_days:,}; each fold trains on {room:,} (pass train_days= to choose)",
                    gdata.ShortSeriesWarning,
                    stacklevel=3,
                )
                train_days = room
    if years is None:
        years = prof.walk_years
        if own:
            fits = [int(y) for y in per_year.index[1:] if before[y] >= train_days]
            years = tuple(fits[-len(prof.walk_years) :])
            if not years:
                raise ValueError(
                    f"walk-forward: {span}; no year of it has train_days={train_days:,} days before it "
                    f"(at most {int(before.iloc[-1]):,}); pass a smaller train_days="
                )
    short = {y: int(before.get(y, 0)) for y in years if before.get(y, 0) < train_days}
    if short:
        raise ValueError(
            f"walk-forward years={tuple(years)}, train_days={train_days:,}: {span} and has only "
            + ", ".join(f"{d:,} days before {y}" for y, d in short.items())
            + "; pass later years= or a smaller train_days="
        )
    return tuple(int(y) for y in years), int(train_days)


def walk_forward(
    years: Sequence[int] | None = None,
    steps: Sequence[str] = ("baseline",),
    target_kinds: Sequence[str] = ("level", "return"),
    horizon: int = 1,
    seed: int = 0,
    epochs: int | None = None,
    train_days: int | None = None,
    profile: str | Profile | None = None,
    out: str | Path | None = None,
    prices: pd.DataFrame | None = None,
    quiet: bool = False,
    loop: str = "fit",
) -> pd.DataFrame:
    """Rolling-origin evaluation: for each test year, train on the ``train_days`` trading days before it.

    One row per (year, model, target_kind): mae, rmse, mase (scaled by the training part's naive error),
    directional accuracy, DM statistic and p-value against the naive forecast, and the ``train_days`` used.
    Models are the naive, drift and linear baselines and each step in ``steps``. ``prices`` defaults to the
    whole bundled daily series, with the profile's ``walk_years`` and ``walk_train_days``; for your own
    prices the years and training days come from the file (the latest years with the blog's 1,247
    days before them; all the days the file holds before its last year where it holds fewer, with a
    :class:`~goldlab.data.ShortSeriesWarning`), and an error names
    the option (``years=``, ``train_days=``, ``horizon=``) that fixes it. ``epochs`` defaults to the
    profile's ``walk_epochs``. With ``out`` each trained fold is a run folder under ``out/walk/runs/``
    (:func:`goldlab.lab.runner.cached`: saved folds are read back, not trained) and the table is saved as
    ``out/walk_forward.csv``. ``loop`` is as in :func:`compile_and_fit`.
    """
    prof = get_profile(profile)
    epochs = prof.walk_epochs if epochs is None else epochs
    own = prices is not None
    features = gdata.make_features(gdata.load_gold(n_days=None) if prices is None else prices)
    years, train_days = _walk_plan(features, years, train_days, prof, own)
    out = Path(out) if out is not None else None
    rows = []
    for year in years:
        before = int((features.index.year < year).sum())
        in_year = int((features.index.year == year).sum())
        fold = features.iloc[before - train_days : before + in_year]
        for kind in target_kinds:
            try:
                windows = gdata.make_windows(
                    fold, horizon=horizon, train_fraction=train_days / len(fold), target_kind=kind
                )
            except gdata.DataError as err:
                raise gdata.DataError(
                    f"walk-forward year {year}: {err}; pass a larger train_days= (now {train_days}) or a "
                    f"shorter horizon= (now {horizon})"
                ) from None
            fold_key = (year, kind, epochs, train_days)
            for model, pred in baseline_forecasts(windows, features["close"]).items():
                rows.append(_walk_row(fold_key, model, windows, pred))
            for step in steps:
                folder = _walk_dir(out, step, year, kind, horizon, epochs, train_days, seed)
                rows.append(_walk_step(folder, fold_key, step, seed, windows, prof, loop))
            if not quiet:
                print(f"walk-forward {year} {kind}: done", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    if out is not None:
        runner.write_table(table, out / "walk_forward.csv")
    return table


def _walk_row(fold: tuple[int, str, int, int], model: str, windows: gdata.Windows, pred) -> dict:
    """One walk-forward row: the fold (year, target kind, epochs, training days), the model, and its scores
    against the naive forecast."""
    year, kind, epochs, train_days = fold
    scores = score_forecast(windows, np.asarray(pred))
    return {
        "year": year,
        "model": model,
        "target_kind": kind,
        "epochs": epochs,
        **scores,
        "train_days": train_days,
    }


def _walk_step(
    folder: Path | None,
    fold: tuple[int, str, int, int],
    step: str,
    seed: int,
    windows: gdata.Windows,
    prof: Profile,
    loop: str,
) -> dict:
    """A step's walk-forward row on one fold: the saved run's, else trained and saved
    (:func:`goldlab.lab.runner.cached`)."""

    def train() -> dict:
        epochs = fold[2]
        run = run_one(step, seed, windows, epochs, prof.batch_size, prof.probe_size, epochs, loop)
        return {"row": _walk_row(fold, step, windows, run["predictions"]["pred"])}

    return runner.cached(folder, train)["row"]


def _walk_dir(
    out: Path | None, step: str, year: int, kind: str, horizon: int, epochs: int, days: int, seed: int
) -> Path | None:
    """A walk-forward run's folder (None without ``out``), named by everything that changes the run."""
    if out is None:
        return None
    return out / "walk" / "runs" / f"{step}_y{year}_{kind}_h{horizon}_e{epochs}_d{days}_s{seed}"
