"""The blog's untested variants: short runs that put a measured figure beside each of its side claims.

The blog makes five claims it never shows a number for: that 10 epochs are enough to confirm vanishing
gradients; that ``clipnorm=0.5`` helps if gradients still vanish and values below 0.1 hurt; that an
orthogonal gain of 1.5 trains faster but risks instability in the first 5 epochs; that batch normalisation
between LSTM layers broke (stateful) training; and, in its subtitle, that the fixes "improve accuracy by
34 %". This module measures each one cheaply (few epochs and seeds, sized by the profile's ``variant_*``
fields, :class:`goldlab.lab.profiles.Profile`) and decides a
:class:`goldlab.lab.claims.Verdict` from the measurement
with the threshold its claim declares in the registry :data:`goldlab.lab.claims.CLAIMS`.

Each experiment function (:func:`diagnose`, :func:`clip_values`, :func:`gains`, :func:`batchnorm`) trains
through :func:`goldlab.lab.experiments.compile_and_fit`, which validates on ``windows.validation``: the loss
curves and every choice here read the validation split, never the test split. It returns one long table,
one row per (variant, seed, epoch), epoch 0 being the untrained model:

* ``loss``, ``val_loss``: training and validation loss (MSE on the scaled target) after the epoch;
* ``grad_<layer>``: the layer's gradient norm ‖∂L/∂W‖ on a fixed probe batch (:mod:`goldlab.monitor`);
* ``ratio_<layer>``: its gradient through time, ‖∂L/∂a_1‖ / ‖∂L/∂a_T‖ (oldest over latest day);
* ``min_lstm_grad``: the smallest gradient norm of any single LSTM variable on the probe batch;
* clipping runs also ``batch_share_clipped`` (share of the (mini-batch, variable) gradient norms above
  the clip threshold, i.e. the updates that ``clipnorm`` rescales; measured on a few fixed mini-batches at
  each epoch's end weights with dropout off, so an estimate of the share during the epoch),
  ``batch_min_lstm_grad`` (the smallest LSTM variable's norm over those mini-batches) and
  ``batch_min_clipped`` (the same after clipping).

Results are cached under ``out/variants/`` (``out``: a profile's results folder, e.g. ``results/full``):
each run as a folder ``runs/<run>/`` written whole by :func:`goldlab.lab.runner.cached` (so an interrupted
experiment resumes with the runs it has), each experiment's table as ``<experiment>_h<h>_e<epochs>.csv``,
which is read back as it is when it holds every run. :func:`verdicts` reads those tables and decides every
claim, for the claims table. ``python -m goldlab variants --profile full`` runs all.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from goldlab import blog, models
from goldlab import data as gdata
from goldlab.book import plural
from goldlab.lab import experiments, runner
from goldlab.lab.claims import (
    BUDGET,
    MIN_SEEDS,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REFUTED,
    SUPPORTED,
    UNDEFINED,
    Verdict,
    decide,
    decides,
    figure,
    threshold,
    verdict_for,
)
from goldlab.lab.profiles import Profile, get_profile, results_dir
from goldlab.monitor import GradientMonitor, GradientProbe, time_ratio

__all__ = [
    "CHECK_EPOCH",
    "CLIP_VALUES",
    "GAINS",
    "accuracy_verdict",
    "batchnorm",
    "batchnorm_stateful_verdict",
    "batchnorm_verdict",
    "build_batchnorm",
    "clip_floor_verdict",
    "clip_value_verdict",
    "clip_values",
    "diagnose",
    "diagnose_verdict",
    "gain_speed_verdict",
    "gain_stability_verdict",
    "gains",
    "load_windows",
    "read_table",
    "run_all",
    "BN_MOMENTUM",
    "table_path",
    "verdicts",
]


_BATCH = 32  # the blog's batch size (Keras's default)


def load_windows(horizon: int = blog.HORIZON, prices: pd.DataFrame | None = None) -> gdata.Windows:
    """The blog's windows (60 days × 5 features of its 1,247 days) at ``horizon``, with validation."""
    prices = gdata.load_gold() if prices is None else prices
    return gdata.make_windows(gdata.make_features(prices), horizon=horizon)


# --------------------------------------------------------------------------------------------------
# training one variant


class _BatchNorms(keras.callbacks.Callback):
    """Per-variable gradient norms on a few fixed training mini-batches, before training and after each
    epoch: what ``clipnorm`` compares with its threshold (the weights are those at the epoch's end)."""

    def __init__(self, probe: GradientProbe, batches: list[tuple[np.ndarray, np.ndarray]]):
        super().__init__()
        self.probe, self.batches, self.rows = probe, batches, []

    def _record(self, epoch: int) -> None:
        for k, (x, y) in enumerate(self.batches):
            norms = self.probe(x, y, self.model).norms()
            norms = norms[norms["weight"] != "total"].assign(epoch=epoch, batch=k)
            self.rows.append(norms)

    def on_train_begin(self, logs=None):
        self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        self._record(epoch + 1)


def _fixed_batches(windows: gdata.Windows, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` full mini-batches of the training windows, evenly spread over it."""
    n = len(windows.x_train) // _BATCH
    picks = np.unique(np.linspace(0, n - 1, num=min(count, n)).round().astype(int))
    return [
        (windows.x_train[i * _BATCH : (i + 1) * _BATCH], windows.y_train[i * _BATCH : (i + 1) * _BATCH])
        for i in picks
    ]


def _per_epoch(monitor: GradientMonitor, history: keras.callbacks.History, lstms: list[str]) -> pd.DataFrame:
    """One row per epoch (0 = before training): losses, per-layer gradient norms and time ratios."""
    grads = monitor.history
    totals = grads[grads["weight"] == "total"].pivot(index="epoch", columns="layer", values="norm")
    totals.columns = [f"grad_{c}" for c in totals.columns]
    single = grads[(grads["weight"] != "total") & grads["layer"].isin(lstms)]
    ratios = time_ratio(monitor.time_profile, by=("epoch", "layer")).unstack("layer")
    ratios.columns = [f"ratio_{c}" for c in ratios.columns]
    table = totals.join(ratios).join(single.groupby("epoch")["norm"].min().rename("min_lstm_grad"))
    losses = pd.DataFrame(history.history).reindex(columns=["loss", "val_loss"])
    losses.index = np.arange(1, len(losses) + 1)
    table = table.join(losses, how="left")
    return table.rename_axis("epoch").reset_index()


def _clip_columns(rows: list[pd.DataFrame], clip: float, lstms: list[str]) -> pd.DataFrame:
    """Per epoch: share of mini-batch variable gradients above ``clip``, the smallest LSTM one, clipped."""
    norms = pd.concat(rows, ignore_index=True)
    lstm = norms[norms["layer"].isin(lstms)]
    smallest = lstm.groupby("epoch")["norm"].min()
    return pd.DataFrame(
        {
            "batch_share_clipped": (norms["norm"] > clip).groupby(norms["epoch"]).mean(),
            "batch_min_lstm_grad": smallest,
            "batch_min_clipped": np.minimum(smallest, clip),  # clipnorm: g * min(1, c / |g|)
        }
    ).reset_index()


def _train(
    build: Callable[[int], keras.Model],
    windows: gdata.Windows,
    epochs: int,
    seed: int,
    prof: Profile,
    clip: float | None = None,
) -> pd.DataFrame:
    """Build ``build(seed)``, train it ``epochs`` epochs on ``windows`` and return its per-epoch table."""
    model = build(seed)
    lstms = [layer.name for layer in models.lstm_layers(model)]
    probe = GradientProbe(model)
    x, y = windows.x_train[-prof.variant_probe_size :], windows.y_train[-prof.variant_probe_size :]
    monitor = GradientMonitor((x, y), every=1, vanish=0.0, explode=np.inf, time_vanish=0.0, compiled=probe)
    callbacks: list[keras.callbacks.Callback] = [monitor]
    batch = (
        _BatchNorms(probe, _fixed_batches(windows, prof.variant_clip_batches)) if clip is not None else None
    )
    if batch is not None:
        callbacks.append(batch)
    history = experiments.compile_and_fit(model, windows, epochs, _BATCH, callbacks, seed=seed)
    table = _per_epoch(monitor, history, lstms)
    if batch is not None:
        table = table.merge(_clip_columns(batch.rows, clip, lstms), on="epoch", how="left")
    table["sec_per_epoch"] = float(np.median(history.epoch_seconds)) if history.epoch_seconds else np.nan
    return table.assign(seed=seed)


def _run_dir(out: str | Path | None, key: str, windows: gdata.Windows, epochs: int, seed: int) -> Path | None:
    """A run's folder (None without ``out``), named by everything that changes the run (training and
    validation windows included)."""
    if out is None:
        return None
    n_val = 0 if windows.x_val is None else len(windows.x_val)
    sizes_ = f"tr{len(windows.x_train)}_val{n_val}"
    name = f"{key}_h{windows.horizon}_{windows.target_kind}_e{epochs}_{sizes_}_s{seed}"
    return Path(out) / "variants" / "runs" / name


def _latest(windows: gdata.Windows, n: int | None) -> gdata.Windows:
    """``windows`` with only its latest ``n`` training windows (all of them for None); other splits kept."""
    if n is None or n >= len(windows.x_train):
        return windows
    cut = slice(len(windows.x_train) - n, None)
    fields = ("x_train", "y_train", "dates_train", "origin_train", "base_train", "y_train_usd")
    return dataclasses.replace(windows, **{f: getattr(windows, f)[cut] for f in fields})


def table_path(out: str | Path, experiment: str, horizon: int, epochs: int) -> Path:
    """Where an experiment's whole table is saved under ``out`` (a profile's results folder)."""
    return Path(out) / "variants" / f"{experiment}_h{horizon}_e{epochs}.csv"


def _experiment(
    experiment: str,
    variants: dict[str, tuple[str, Callable[[int], keras.Model], float | None]],
    windows: gdata.Windows,
    epochs: int,
    prof: Profile,
    out: str | Path | None,
    quiet: bool,
) -> pd.DataFrame:
    """Train every (variant, seed), reading back runs already saved; save and return the whole table.

    ``variants`` maps a label to (model key, builder, clip threshold or None); runs are saved by model key,
    so two experiments training the same model the same epochs share its runs. A saved whole table that
    holds every (variant, seed) on the same windows is returned as it is (the run folders need not exist).
    """
    windows = _latest(windows, prof.variant_train_windows)
    seeds = prof.variant_seeds
    n_val = 0 if windows.x_val is None else len(windows.x_val)
    sizes_ = {"train_windows": len(windows.x_train), "val_windows": n_val}
    saved = _saved_table(out, experiment, windows.horizon, epochs, sizes_, set(variants), seeds)
    if saved is not None:
        return saved
    parts, total = [], len(variants) * seeds
    for variant, (key, build, clip) in variants.items():
        for seed in range(seeds):

            def train(build=build, seed: int = seed, clip=clip, variant: str = variant) -> dict:
                start = time.perf_counter()
                run = _train(build, windows, epochs, seed, prof, clip)
                if not quiet:
                    print(
                        f"[{experiment} {len(parts) + 1}/{total}] {variant} seed {seed}: {epochs} epochs in "
                        f"{time.perf_counter() - start:.0f} s, val loss {run['val_loss'].iloc[-1]:.4g}",
                        file=sys.stderr,
                        flush=True,
                    )
                return {"history": run}

            folder = _run_dir(out, key, windows, epochs, seed)
            parts.append(runner.cached(folder, train)["history"].assign(variant=variant))
    table = pd.concat(parts, ignore_index=True).assign(horizon=windows.horizon, epochs=epochs, **sizes_)
    first = ["variant", "seed", "epoch", "loss", "val_loss"]
    table = table[first + [c for c in table.columns if c not in first]]
    if out is not None:
        runner.write_table(table, table_path(out, experiment, windows.horizon, epochs))
    return table


def _saved_table(out, experiment: str, horizon: int, epochs: int, sizes_: dict, labels: set, seeds: int):
    """The saved whole table when it holds every (variant, seed) on windows of these sizes, else None."""
    path = table_path(out, experiment, horizon, epochs) if out is not None else None
    if path is None or not path.exists():
        return None
    table = pd.read_csv(path)
    if any(k not in table or (table[k] != v).any() for k, v in sizes_.items()):
        return None
    wanted = {(label, seed) for label in labels for seed in range(seeds)}
    if not wanted <= set(zip(table["variant"], table["seed"], strict=True)):
        return None
    keep = [(label, seed) in wanted for label, seed in zip(table["variant"], table["seed"], strict=True)]
    return table[keep].reset_index(drop=True)


_MAKERS = {"diagnose": "diagnose", "clip": "clip_values", "gain": "gains", "batchnorm": "batchnorm"}


def read_table(out: str | Path, experiment: str, profile=None, horizon: int = blog.HORIZON) -> pd.DataFrame:
    """A saved experiment table of ``profile``'s size, or a clear error naming the function that makes it."""
    prof = get_profile(profile)
    epochs = prof.variant_diagnose_epochs if experiment == "diagnose" else prof.variant_epochs
    path = table_path(out, experiment, horizon, epochs)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no saved table; goldlab.lab.variants.{_MAKERS[experiment]}(windows, profile, out) "
            "makes it "
            f"(or python -m goldlab variants --profile {prof.name})"
        )
    return pd.read_csv(path)


def _last(table: pd.DataFrame) -> pd.DataFrame:
    """Each (variant, seed)'s last epoch."""
    return table[table["epoch"] == table.groupby(["variant", "seed"])["epoch"].transform("max")]


def _grad_columns(table: pd.DataFrame, prefix: str) -> list[str]:
    return sorted(c for c in table.columns if c.startswith(f"{prefix}lstm_"))


# --------------------------------------------------------------------------------------------------
# claim 1: "10 epochs are enough to confirm it"

#: The epoch the blog says is enough (its step 1); compared with the end of the run.
CHECK_EPOCH = 10


def diagnose(
    windows: gdata.Windows, profile=None, out: str | Path | None = None, quiet=False
) -> pd.DataFrame:
    """The baseline trained ``diagnose_epochs`` epochs, gradients and time ratios recorded every epoch."""
    prof = get_profile(profile)
    shape = windows.x_train.shape[1:]
    build = {"baseline": ("baseline", lambda seed: models.build_step("baseline", shape, seed=seed), None)}
    return _experiment("diagnose", build, windows, prof.variant_diagnose_epochs, prof, out, quiet)


def _diagnosis(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, layer): vanishing (True/False) from the gradient norm (below the blog's own warning
    level, :data:`goldlab.blog.VANISH`) and the time ratio (the claim's ``ratio``)."""
    vanish_ratio = threshold("diagnose_epochs", "ratio")
    layers = [c[5:] for c in _grad_columns(rows, "grad_")]
    out = []
    for _, row in rows.iterrows():
        for layer in layers:
            norm, ratio = row[f"grad_{layer}"], row.get(f"ratio_{layer}", np.nan)
            out.append(
                {
                    "seed": row["seed"],
                    "layer": layer,
                    "norm": norm,
                    "ratio": ratio,
                    "vanishing": bool(norm < blog.VANISH or ratio < vanish_ratio),
                }
            )
    return pd.DataFrame(out).set_index(["seed", "layer"])


def _seeds(table: pd.DataFrame) -> str:
    """How many seeds a variant's runs have, in words ("2 seeds"), for its verdict's reason."""
    return plural(table["seed"].nunique(), "seed")


@decides("diagnose_epochs")
def diagnose_verdict(table: pd.DataFrame, check_epoch: int = CHECK_EPOCH) -> Verdict:
    """Does the diagnosis after ``check_epoch`` epochs (at most half the run) equal the one at the end?
    Fewer seeds than :data:`goldlab.lab.claims.MIN_SEEDS` cannot say: "not tested at a sufficient budget"."""
    needed, ratio = threshold("diagnose_epochs", "agree"), threshold("diagnose_epochs", "ratio")
    end = int(table["epoch"].max())
    check = min(check_epoch, end // 2)
    early, late = _diagnosis(table[table["epoch"] == check]), _diagnosis(table[table["epoch"] == end])
    agree = float((early["vanishing"] == late["vanishing"]).mean())
    factor = float(np.exp(np.abs(np.log(early["norm"] / late["norm"])).max()))
    vanishing = int(late["vanishing"].sum())
    verdict = decide(agree, needed, SUPPORTED, REFUTED)
    if table["seed"].nunique() < MIN_SEEDS:
        verdict = BUDGET
    measured = f"vanishing at epoch {end} in {vanishing} of {len(late)} (seed, LSTM) pairs"
    reason = (
        f"epochs {check} and {end} give the same diagnosis for {agree:.0%} of pairs, needed {needed:.0%} "
        f"(vanishing: norm < {blog.VANISH:g} or time ratio < {ratio:g}; "
        f"{_seeds(table)}, a verdict needs {MIN_SEEDS})"
    )
    values = {"check_epoch": check, "end_epoch": end, "agree": agree, "factor": factor}
    return verdict_for("diagnose_epochs", measured, verdict, reason, **values, vanishing_end=vanishing)


# --------------------------------------------------------------------------------------------------
# claim 2: "if gradients still vanish try clipnorm 0.5, don't go below 0.1"

#: The clip thresholds tried (the blog's 1.0, its advice 0.5, its floor 0.1, and one value below the floor).
CLIP_VALUES: tuple[float, ...] = (1.0, 0.5, 0.1, 0.05)


def clip_values(
    windows: gdata.Windows, profile=None, out: str | Path | None = None, quiet=False
) -> pd.DataFrame:
    """The baseline with ``Adam(clipnorm=c)`` for each c in :data:`CLIP_VALUES` (column ``clipnorm``)."""
    prof = get_profile(profile)
    shape = windows.x_train.shape[1:]

    def builder(c: float) -> Callable[[int], keras.Model]:
        return lambda seed: models.build_step("baseline", shape, seed=seed, clipnorm=c)

    variants = {f"clip{c:g}": (f"baseline_clip{c:g}", builder(c), c) for c in CLIP_VALUES}
    table = _experiment("clip", variants, windows, prof.variant_epochs, prof, out, quiet)
    return table.assign(clipnorm=table["variant"].str.slice(4).astype(float))


def _by_clip(table: pd.DataFrame, column: str) -> pd.Series:
    """``column`` at the last epoch, per clipnorm: geometric mean over seeds."""
    last = _last(table)
    return np.exp(np.log(last[column].astype(float)).groupby(last["clipnorm"]).mean())


@decides("clip_value")
def clip_value_verdict(table: pd.DataFrame) -> Verdict:
    """Does clipnorm 0.5 lift the smallest LSTM gradient (vanishing) above clipnorm 1.0's by the claim's
    threshold?

    Clipping rescales a gradient g to ``g * min(1, c / |g|)``: never up. ``values['smallest_clipped']`` is,
    per clipnorm, the share of records after epoch 0 whose smallest LSTM mini-batch gradient was above the
    threshold at all (so that clipping touched it); ``values['never_raised']`` checks, by that formula,
    clipped <= raw on every record.
    """
    table = (
        table if "clipnorm" in table else table.assign(clipnorm=table["variant"].str.slice(4).astype(float))
    )
    smallest = _by_clip(table, "min_lstm_grad")
    lift = float(smallest[0.5] / smallest[1.0])
    later = table[table["epoch"] > 0]
    touched = (later["batch_min_lstm_grad"] > later["clipnorm"]).groupby(later["clipnorm"]).mean()
    never_raised = bool((table["batch_min_clipped"] <= table["batch_min_lstm_grad"]).all())
    measured = f"{smallest[0.5]:.2g} at clipnorm 0.5, {smallest[1.0]:.2g} at 1.0 (after training)"
    needed = threshold("clip_value")
    verdict = decide(lift, needed, SUPPORTED, REFUTED)
    reason = (
        f"clipnorm 0.5 changes the smallest LSTM gradient by ×{lift:.2f} against 1.0, "
        f"{'at least' if lift >= needed else 'less than'} the "
        f"×{needed:g} a fix would need ({_seeds(table)}, "
        f"{int(table['epoch'].max())} epochs): clipping only scales a gradient down"
    )
    values = {
        "lift": lift,
        "smallest": smallest.to_dict(),
        "smallest_clipped": touched.to_dict(),
        "never_raised": never_raised,
    }
    return verdict_for("clip_value", measured, verdict, reason, **values)


@decides("clip_floor")
def clip_floor_verdict(table: pd.DataFrame) -> Verdict:
    """Does clipnorm 0.05 end with a validation loss the claim's threshold times that of 0.1 or worse?"""
    table = (
        table if "clipnorm" in table else table.assign(clipnorm=table["variant"].str.slice(4).astype(float))
    )
    last = _last(table)
    val = last.groupby("clipnorm")["val_loss"].mean()
    ratio = float(val[0.05] / val[0.1])
    hurt = threshold("clip_floor")
    verdict = decide(ratio, hurt, SUPPORTED, NOT_REPRODUCED)
    measured = f"final validation loss (MSE, scaled) {val[0.05]:.3g} at clipnorm 0.05, {val[0.1]:.3g} at 0.1"
    reason = (
        f"below the floor the validation loss ends ×{ratio:.2f} that at 0.1, "
        f"{'at least' if ratio >= hurt else 'less than'} the ×{hurt:g} that would count as hurting "
        f"({_seeds(table)}, {int(table['epoch'].max())} epochs)"
    )
    return verdict_for("clip_floor", measured, verdict, reason, ratio=ratio, val_loss=val.to_dict())


# --------------------------------------------------------------------------------------------------
# claim 3: "gain 1.5 trains faster but risks instability in the first 5 epochs"

#: The orthogonal gains compared (the blog's 1.0 and the 1.5 it mentions).
GAINS: tuple[float, ...] = (1.0, 1.5)


def gains(windows: gdata.Windows, profile=None, out: str | Path | None = None, quiet=False) -> pd.DataFrame:
    """The orthogonal step (step 3) with ``Orthogonal(gain)`` for each of :data:`GAINS` (column ``gain``)."""
    prof = get_profile(profile)
    shape = windows.x_train.shape[1:]

    def builder(g: float) -> Callable[[int], keras.Model]:
        return lambda seed: models.build_step("orthogonal", shape, seed=seed, gain=g)

    variants = {f"gain{g:g}": (f"orthogonal_gain{g:g}", builder(g), None) for g in GAINS}
    table = _experiment("gain", variants, windows, prof.variant_epochs, prof, out, quiet)
    return table.assign(gain=table["variant"].str.slice(4).astype(float))


def _with_gain(table: pd.DataFrame) -> pd.DataFrame:
    return table if "gain" in table else table.assign(gain=table["variant"].str.slice(4).astype(float))


def _epochs_to_level(table: pd.DataFrame) -> pd.DataFrame:
    """Per seed and gain: the first epoch whose validation loss reaches the common level (the ``level`` of
    claim ``orth_gain``)."""
    trained = _with_gain(table)
    trained = trained[trained["epoch"] > 0]
    best = trained.groupby(["seed", "gain"])["val_loss"].min()
    level = threshold("orth_gain", "level") * best.groupby("seed").max()
    reached = trained[trained["val_loss"] <= trained["seed"].map(level)]
    first = reached.groupby(["seed", "gain"])["epoch"].min().unstack("gain")
    return first


@decides("orth_gain")
def gain_speed_verdict(table: pd.DataFrame) -> Verdict:
    """Does gain 1.5 reach a common validation-loss level the claim's ``epochs`` or more epochs sooner?"""
    first = _epochs_to_level(table)
    sooner = float((first[1.0] - first[1.5]).median())
    level, faster = threshold("orth_gain", "level"), threshold("orth_gain", "epochs")
    verdict = decide(sooner, faster, SUPPORTED, NOT_REPRODUCED)
    median = first.median()
    measured = f"epochs to that level: gain 1.0 {median[1.0]:.1f}, gain 1.5 {median[1.5]:.1f} (medians)"
    reason = (
        f"gain 1.5 reaches a validation loss within ×{level:g} of the worse gain's best {sooner:+.1f} epochs "
        f"sooner, {'at least' if sooner >= faster else 'less than'} the {faster:g} that would count as "
        f"faster (median over {plural(len(first), 'seed')})"
    )
    return verdict_for("orth_gain", measured, verdict, reason, sooner=sooner, epochs_to_level=first.to_dict())


def _unstable_epochs(table: pd.DataFrame) -> pd.Series:
    """Per gain: unstable epochs (NaN or a training-loss rise above the claim's ``rise``) in its first
    ``early`` epochs, per seed (claim ``orth_gain_stability``)."""
    rise, early_epochs = threshold("orth_gain_stability", "rise"), threshold("orth_gain_stability", "early")
    trained = _with_gain(table)
    trained = trained[(trained["epoch"] > 0)].sort_values(["gain", "seed", "epoch"])
    previous = trained.groupby(["gain", "seed"])["loss"].shift()
    bad = ~np.isfinite(trained["loss"]) | (trained["loss"] > (1 + rise) * previous)
    early = trained["epoch"] <= early_epochs
    counts = bad[early].groupby([trained["gain"], trained["seed"]]).sum()
    return counts.groupby("gain").mean()


@decides("orth_gain_stability")
def gain_stability_verdict(table: pd.DataFrame) -> Verdict:
    """Does gain 1.5 have the claim's ``extra`` or more unstable early epochs per seed than gain 1.0?"""
    key = "orth_gain_stability"
    rise, needed = threshold(key, "rise"), threshold(key, "extra")
    unstable = _unstable_epochs(table)
    extra = float(unstable.get(1.5, 0.0) - unstable.get(1.0, 0.0))
    verdict = decide(extra, needed, SUPPORTED, NOT_REPRODUCED)
    last = min(threshold(key, "early"), int(table["epoch"].max()))
    measured = (
        f"unstable epochs 1–{last} per seed: gain 1.0 {unstable.get(1.0, 0.0):.1f}, "
        f"gain 1.5 {unstable.get(1.5, 0.0):.1f}"
    )
    reason = (
        f"gain 1.5 has {extra:+.1f} unstable epochs per seed over gain 1.0, "
        f"{'at least' if extra >= needed else 'less than'} the {needed:g} that would count (unstable: NaN "
        f"or loss up > {rise:.0%}; {_seeds(table)})"
    )
    return verdict_for(key, measured, verdict, reason, extra=extra, unstable=unstable.to_dict())


# --------------------------------------------------------------------------------------------------
# claim 4: "batch normalisation between LSTM layers broke [stateful] training"

#: Keras's default momentum of the moving mean and variance that a BatchNormalization layer predicts with.
BN_MOMENTUM = 0.99


def build_batchnorm(
    input_shape: tuple[int, int] = (60, 5),
    dropout: float = 0.2,
    seed: int | None = None,
    units: tuple[int, ...] = (128, 64, 32),
) -> keras.Model:
    """The blog's baseline with ``BatchNormalization`` after each dropout between LSTMs (not stateful).

    LSTM(128) -> Dropout -> BN -> LSTM(64) -> Dropout -> BN -> LSTM(32) -> Dense(1) (``units``), compiled
    as the baseline (Adam 1e-3, MSE), Keras's default initialisers. ``seed`` calls
    ``keras.utils.set_random_seed`` first.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape, name="window")
    x = inputs
    for k, width in enumerate(units, start=1):
        x = keras.layers.LSTM(width, return_sequences=k < len(units), name=f"lstm_{k}")(x)
        if k < len(units):
            x = keras.layers.Dropout(dropout, name=f"dropout_{k}")(x)
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"batchnorm_{k}")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="dense")(x), name="batchnorm_lstm")
    return models.compile_model(model)


def batchnorm(
    windows: gdata.Windows, profile=None, out: str | Path | None = None, quiet=False
) -> pd.DataFrame:
    """The baseline without and with batch normalisation between its LSTMs (``none``, ``batchnorm``)."""
    prof = get_profile(profile)
    shape = windows.x_train.shape[1:]
    variants = {
        "none": ("baseline", lambda seed: models.build_step("baseline", shape, seed=seed), None),
        "batchnorm": ("baseline_batchnorm", lambda seed: build_batchnorm(shape, seed=seed), None),
    }
    return _experiment("batchnorm", variants, windows, prof.variant_epochs, prof, out, quiet)


@decides("batchnorm_plain")
def batchnorm_verdict(table: pd.DataFrame) -> Verdict:
    """Did batch normalisation (non-stateful) diverge or end at the claim's ``broke`` times the baseline's
    loss? Before the moving averages settle (their start weighs ``settled`` or more), the validation loss
    reads averages still near their initial values, and the run is too short to judge.

    Beside the verdict: the final training-loss ratio (did training itself suffer, or only the validation
    loss, which uses the moving averages) and ``values['moving_left']``, the weight the moving averages still
    give their initial values after the run's updates (``BN_MOMENTUM ** steps``; needs ``train_windows``).
    """
    broke, settled = threshold("batchnorm_plain", "broke"), threshold("batchnorm_plain", "settled")
    last = _last(table)
    val = last.groupby("variant")["val_loss"].mean()
    train = float(last.groupby("variant")["loss"].mean().pipe(lambda s: s["batchnorm"] / s["none"]))
    epochs = int(table["epoch"].max())
    steps = epochs * -(-int(table["train_windows"].iloc[0]) // _BATCH) if "train_windows" in table else None
    left = BN_MOMENTUM**steps if steps is not None else np.nan
    trained = table[(table["variant"] == "batchnorm") & (table["epoch"] > 0)]  # epoch 0 has no loss
    nan = bool(~np.isfinite(trained["loss"]).all())
    ratio = np.inf if nan else float(val["batchnorm"] / val["none"])
    verdict = SUPPORTED if nan else decide(ratio, broke, SUPPORTED, NOT_REPRODUCED)
    if not nan and left > settled:  # NaN (unknown sizes) compares False: judged as it is
        verdict = BUDGET
    measured = f"validation loss {val['none']:.3g} → {val['batchnorm']:.3g}, training loss ×{train:.2f}" + (
        "; NaN loss" if nan else ""
    )
    runs = f"{_seeds(table)}, {epochs} epochs"
    reason = (
        f"the loss goes NaN ({runs})"
        if nan
        else f"the validation loss ends ×{ratio:.2f} the baseline's (broken: ×{broke:g} or more; {runs})"
    )
    if verdict == BUDGET:
        reason += (
            f", but the moving averages still weigh their start by {left:.0%} (settled: under {settled:.0%})"
        )
    values = {
        "ratio": ratio,
        "nan": nan,
        "val_loss": val.to_dict(),
        "train_ratio": train,
        "moving_left": left,
    }
    return verdict_for("batchnorm_plain", measured, verdict, reason, **values)


@decides("batchnorm")
def batchnorm_stateful_verdict() -> Verdict:
    """The stateful half of the claim cannot be tested: the blog trains no stateful model."""
    reason = (
        "the blog's models are not stateful (no stateful=True) and its windows overlap by 59 of 60 days and "
        "are shuffled, so there is no stateful training of the blog's to reproduce"
    )
    return verdict_for("batchnorm", "no stateful model in the blog", NOT_TESTABLE, reason)


# --------------------------------------------------------------------------------------------------
# claim 5: the subtitle's "improve accuracy by 34 %"


@decides("accuracy_34")
def accuracy_verdict(ablation: pd.DataFrame, horizon: int = blog.HORIZON) -> Verdict:
    """What "accuracy +34 %" could mean, computed from the ablation table; the verdict is UNDEFINED.

    A regression has no accuracy; the blog never defines it. Candidates: the relative change of the
    directional accuracy (share of forecasts with the right sign of change) from baseline to the final step,
    and the relative change of the test MAE. ``values['blog_relative']`` is (91 − 68) / 68 from the blog's
    own figures, which is where a "34 %" comes from.
    """
    models_ = ablation[(ablation["seed"] >= 0) & (ablation["horizon"] == horizon)]
    if models_.empty:
        raise ValueError(
            f"the ablation table has no model rows at horizon {horizon}; run_ablation makes them"
        )
    steps = [s for s in models.STEPS if s in set(models_["step"])]
    first, last = steps[0], steps[-1]
    mean = models_.groupby("step")[["directional_accuracy", "mae"]].mean()
    da0, da1 = mean.loc[first, "directional_accuracy"], mean.loc[last, "directional_accuracy"]
    mae0, mae1 = mean.loc[first, "mae"], mean.loc[last, "mae"]
    before, after = figure("accuracy_34", "before"), figure("accuracy_34", "after")
    blog_relative = after / before - 1
    values = {
        "blog_relative": blog_relative,
        "direction_relative": float(da1 / da0 - 1),
        "direction_points": float(da1 - da0),
        "mae_relative": float(mae1 / mae0 - 1),
        "first": first,
        "last": last,
    }
    measured = (
        f"directional accuracy {da0:.1%} → {da1:.1%} ({values['direction_relative']:+.0%}), "
        f"test MAE {mae0:.2f} → {mae1:.2f} USD ({first} → {last}, h={horizon})"
    )
    reason = (
        "a regression has no accuracy and the blog defines none; "
        f"its {100 * figure('accuracy_34', 'improvement'):.0f} % is "
        f"({100 * after:.0f} − {100 * before:.0f}) / {100 * before:.0f} of its own undefined figures"
    )
    return verdict_for("accuracy_34", measured, UNDEFINED, reason, **values)


# --------------------------------------------------------------------------------------------------
# all of them


def verdicts(results_dir: str | Path, profile=None, horizon: int = blog.HORIZON) -> list[Verdict]:
    """Every claim's verdict from the saved tables under ``results_dir`` (trains nothing).

    Reads ``variants/*.csv`` (made by :func:`run_all` or the four experiment functions) and
    ``ablation_level.csv`` (:func:`goldlab.lab.experiments.run_ablation`).
    """
    ablation = Path(results_dir) / "ablation_level.csv"
    if not ablation.exists():
        raise FileNotFoundError(f"{ablation}: no ablation table; experiments.run_ablation(out=...) makes it")
    clip = read_table(results_dir, "clip", profile, horizon)
    gain = read_table(results_dir, "gain", profile, horizon)
    norm = read_table(results_dir, "batchnorm", profile, horizon)
    return [
        diagnose_verdict(read_table(results_dir, "diagnose", profile, horizon)),
        clip_value_verdict(clip),
        clip_floor_verdict(clip),
        gain_speed_verdict(gain),
        gain_stability_verdict(gain),
        batchnorm_verdict(norm),
        batchnorm_stateful_verdict(),
        accuracy_verdict(pd.read_csv(ablation), horizon),
    ]


def run_all(profile=None, out: str | Path | None = None, quiet: bool = False) -> dict[str, pd.DataFrame]:
    """Train (or read back) all four experiments at :data:`goldlab.blog.HORIZON` into ``out`` (the profile's
    results)."""
    out = results_dir(profile) if out is None else Path(out)
    windows = load_windows()
    return {
        "diagnose": diagnose(windows, profile, out, quiet),
        "clip": clip_values(windows, profile, out, quiet),
        "gain": gains(windows, profile, out, quiet),
        "batchnorm": batchnorm(windows, profile, out, quiet),
    }
