"""Profiles, one ``compile_and_fit``, the seed ablation of the blog's steps, and walk-forward evaluation.

Every number the book quotes comes from here. A run (one step, seed, horizon and target) trains the step's
model with the :class:`~goldlab.monitor.GradientMonitor` on, scores its test forecasts in USD against the
naive random-walk forecast, and writes a folder of small CSV/JSON files. Folders are written whole or not
at all (a temporary folder renamed into place), so an interrupted ablation resumes where it stopped: runs
whose folder exists are read back, not trained again.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from goldlab import data as gdata
from goldlab import metrics
from goldlab.lab import loops
from goldlab.lab.claims import BASELINES
from goldlab.models import STEPS, build_step
from goldlab.monitor import GradientMonitor, GradientProbe

__all__ = [
    "baseline_forecasts",
    "compile_and_fit",
    "EpochClock",
    "get_profile",
    "load_run",
    "load_runs",
    "load_side",
    "machine_description",
    "Profile",
    "PROFILES",
    "repo_root",
    "results_dir",
    "run_ablation",
    "run_one",
    "run_seeds",
    "save_side",
    "score_forecast",
    "walk_forward",
    "write_table",
    "write_text",
    "write_whole",
]


@dataclass(frozen=True)
class Profile:
    """How much to train: ``quick`` fits a 2-core CPU in minutes, ``full`` is the blog's setup.

    ``epochs`` and ``seeds`` per step (the blog: 50 and 5), forecast ``horizons`` in trading days (the blog:
    30), ``batch_size``, ``probe_size`` (windows in the gradient monitor's probe batch), ``extra_epochs`` (the
    chapters' side experiments), ``epilogue_seeds`` and ``epilogue_epochs`` (the epilogue's return-target
    ablation), ``walk_years``, ``walk_epochs`` and ``walk_train_days`` (walk-forward test years, epochs per
    fold, and training days before each test year: the blog's 1,247).
    """

    name: str
    epochs: int  # epochs per run (the blog: 50)
    seeds: int  # seeds per step (the blog: 5)
    horizons: tuple[int, ...] = (1, 30)  # forecast horizons in trading days (the blog: 30)
    batch_size: int = 32
    probe_size: int = 64  # windows in the gradient monitor's fixed probe batch
    extra_epochs: int = 10  # epochs of the chapters' side experiments
    epilogue_seeds: int = 1  # seeds for the epilogue's stationary-target ablation
    epilogue_epochs: int = 10
    walk_years: tuple[int, ...] = (2017, 2018, 2019)  # walk-forward test years
    walk_epochs: int = 3
    walk_train_days: int = gdata.BLOG_DAYS  # training days before each test year (the blog's sample)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick", epochs=3, seeds=2, extra_epochs=3, epilogue_epochs=3, walk_years=(2018, 2019), walk_epochs=2
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
    ),
}


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


def get_profile(name: str | Profile | None = None) -> Profile:
    """The named profile; by default ``$GOLDLAB_PROFILE``, else ``quick``."""
    if isinstance(name, Profile):
        return name
    name = name or os.environ.get("GOLDLAB_PROFILE", "quick")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} (GOLDLAB_PROFILE)")
    return PROFILES[name]


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
    out: Path, step: str, seed: int, horizon: int, target_kind: str, epochs: int, val_fraction: float
) -> Path:
    """A run's folder; its name holds everything that changes the run, the validation share included."""
    val = f"_val{round(100 * val_fraction)}"
    return out / "runs" / f"{step}_h{horizon}_{target_kind}_e{epochs}{val}_s{seed}"


def write_whole(folder: Path, files: dict[str, pd.DataFrame | dict]) -> None:
    """Write ``files`` into ``folder`` atomically: into a temporary sibling, then renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, content in files.items():
            if isinstance(content, pd.DataFrame):
                content.to_csv(tmp / name, index=False, float_format="%.6g")
            else:
                (tmp / name).write_text(json.dumps(content, indent=1, default=float))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.is_dir():
                raise
            shutil.rmtree(tmp)  # another process wrote the same run first: keep its whole folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def machine_description() -> str:
    """One line naming this machine: CPU model and cores, accelerator if any, Keras backend and versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    backend = keras.backend.backend()
    device = "CPU"
    if backend == "jax":
        import jax

        device = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    elif backend == "torch":
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        device = f"{len(gpus)} GPU(s)" if gpus else "CPU"
    return (
        f"{cpu}, {os.cpu_count()} cores; device: {device}; Keras {keras.__version__} on {backend}; "
        f"Python {platform.python_version()}"
    )


def write_text(text: str, path: Path) -> None:
    """Write a text file atomically: into a temporary sibling, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically (temporary file, then rename)."""
    write_text(df.to_csv(index=False, float_format="%.6g"), path)


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
    is saved under ``out/runs/`` and the table as ``out/ablation_<target_kind>.csv``; runs already saved are
    read back instead of trained (resume), whichever ``loop`` trained them (the ``loop`` column says).
    ``prices`` defaults to :func:`goldlab.data.load_gold` (the blog's 1,247 days); your own prices are used
    whole, with a :class:`~goldlab.data.ShortSeriesWarning` when they hold fewer days.
    ``loop`` is ``"fit"`` (``model.fit``), ``"epoch"``
    (one compiled call per epoch) or ``"stacked"`` (JAX: a step's seeds in one program); see
    :mod:`goldlab.lab.loops`. ``val_fraction`` is the validation share of :func:`goldlab.data.make_windows`:
    the
    loss curves read it, the scores read the test split.
    """
    prof = get_profile(profile)
    seeds = _as_seeds(prof.seeds if seeds is None else seeds)
    epochs = prof.epochs if epochs is None else epochs
    horizons = prof.horizons if horizons is None else tuple(horizons)
    for step in steps:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; choose from {', '.join(STEPS)}")
    loops.check_loop(loop)
    if prices is None:
        prices = gdata.load_gold()
    elif len(prices) < gdata.BLOG_DAYS:
        source = prices.attrs.get("source", "<prices>")
        warnings.warn(
            f"{source}: {len(prices):,} days, fewer than the blog's {gdata.BLOG_DAYS:,}; the ablation trains "
            "on all of them (70 / 10 / 20 % of the rows for training, validation and test)",
            gdata.ShortSeriesWarning,
            stacklevel=2,
        )
    features = gdata.make_features(prices)
    out = Path(out) if out is not None else None
    rows: list[dict] = []
    total, done, trained = len(steps) * len(seeds) * len(horizons), 0, 0
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
            folders = {
                s: _run_dir(out, step, s, h, target_kind, epochs, val_fraction) if out else None
                for s in seeds
            }
            found = {
                s: json.loads((f / "row.json").read_text()) for s, f in folders.items() if f and f.is_dir()
            }
            done += len(found)
            todo = [s for s in seeds if s not in found]
            groups = [todo] if loop == "stacked" and todo else [[s] for s in todo]
            for group in groups:
                start = time.perf_counter()
                runs = run_seeds(step, group, windows, epochs, prof.batch_size, prof.probe_size, loop=loop)
                trained += len(group)
                for seed, run in zip(group, runs, strict=True):
                    done += 1
                    if folders[seed] is not None:
                        tables = {
                            f"{k}.csv": run[k]
                            for k in ("history", "gradients", "time_profile", "predictions")
                        }
                        write_whole(folders[seed], {"row.json": run["row"], **tables})
                    found[seed] = run["row"]
                    if not quiet:
                        print(
                            f"[{done}/{total}] {step:<10} seed {seed} h={h:<2} {target_kind}: "
                            f"MAE {run['row']['mae']:.2f} USD, {run['row']['epochs']} epochs in "
                            f"{time.perf_counter() - start:.0f} s"
                            + (f" ({len(group)} seeds together)" if len(group) > 1 else ""),
                            file=sys.stderr,
                            flush=True,
                        )
            rows.extend(found[s] for s in seeds)
    table = pd.DataFrame(rows)
    if out is not None:
        _merge_table(table, out / f"ablation_{target_kind}.csv")
        if trained:
            stamp = time.strftime("%Y-%m-%d")
            write_text(f"Runs trained on {stamp} by: {machine_description()}\n", out / "MACHINE.md")
    return table


_ROW_KEY = ["step", "seed", "horizon", "target_kind", "epochs"]


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
    write_table(merged, path)


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
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run; run_ablation(..., out={str(out)!r}) makes it")
    tables = {name: pd.read_csv(folder / f"{name}.csv") for name in ("history", "gradients", "time_profile")}
    tables["predictions"] = pd.read_csv(folder / "predictions.csv", parse_dates=["date"])
    return {"row": json.loads((folder / "row.json").read_text()), **tables}


def _side_path(out: str | Path, name: str, epochs: int, val_fraction: float) -> Path:
    return Path(out) / "side" / f"{name}_e{epochs}_val{round(100 * val_fraction)}.csv"


def save_side(
    out: str | Path, name: str, table: pd.DataFrame, epochs: int, val_fraction: float = gdata.VAL_FRACTION
) -> None:
    """Keep a chapter's side experiment beside the ablation, as ``<out>/side/<name>_e<epochs>_val<v>.csv``.

    The chapters train a few runs of their own (say, the blog's learning rate 0.01); what their verdicts
    read is saved here, written whole, so that :mod:`goldlab.lab.ledger` decides those claims too without
    training. The name holds what changes the runs, as a run folder's does.
    """
    write_table(table, _side_path(out, name, epochs, val_fraction))


def load_side(
    out: str | Path, name: str, epochs: int, val_fraction: float = gdata.VAL_FRACTION
) -> pd.DataFrame:
    """A side experiment kept by :func:`save_side`; FileNotFoundError, naming it, where there is none."""
    path = _side_path(out, name, epochs, val_fraction)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such side experiment; the chapter that runs it saves it")
    return pd.read_csv(path)


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
    profile's ``walk_epochs``. With ``out`` the table is saved as ``out/walk_forward.csv`` and reused when it
    already holds every requested row. ``loop`` is as in :func:`compile_and_fit`.
    """
    prof = get_profile(profile)
    epochs = prof.walk_epochs if epochs is None else epochs
    own = prices is not None
    features = gdata.make_features(gdata.load_gold(n_days=None) if prices is None else prices)
    years, train_days = _walk_plan(features, years, train_days, prof, own)
    path = Path(out) / "walk_forward.csv" if out is not None else None
    if path is not None and path.exists():
        saved = pd.read_csv(path)
        wanted = (
            saved["year"].isin(years) & saved["target_kind"].isin(target_kinds) & (saved["epochs"] == epochs)
        )
        if "train_days" in saved.columns:  # tables written before the column existed used the profile's
            wanted &= saved["train_days"] == train_days
        have = saved[wanted]
        if set(years) <= set(have["year"]) and set(steps) <= set(have["model"]):
            return have.reset_index(drop=True)
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
            preds = baseline_forecasts(windows, features["close"])
            for step in steps:
                run = run_one(
                    step,
                    seed,
                    windows,
                    epochs,
                    prof.batch_size,
                    prof.probe_size,
                    monitor_every=epochs,
                    loop=loop,
                )
                preds[step] = run["predictions"]["pred"].to_numpy()
            for model, pred in preds.items():
                rows.append(
                    {
                        "year": year,
                        "model": model,
                        "target_kind": kind,
                        "epochs": epochs,
                        **score_forecast(windows, pred),
                        "train_days": train_days,
                    }
                )
            if not quiet:
                print(f"walk-forward {year} {kind}: done", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    if path is not None:
        write_table(table, path)
    return table
