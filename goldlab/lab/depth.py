"""Depth with and without skips on gold: at which depth skip connections start to matter (chapter 4).

The blog adds residual ``Add()`` connections between its LSTMs and says they help from three layers on. A
skip connection gives the gradient a path around each layer, so it should matter more the deeper the stack:
in a plain stack the gradient reaching the first layer passes through every layer above it. Here stacks of
the profile's ``depth_depths`` LSTM(32)s, with and without skips (:func:`goldlab.models.build_lstm`), are
trained on the blog's gold windows at its 30-day horizon with the same epochs, batch and seeds, and for each
run we keep

* ``grad_ratio_init`` / ``grad_ratio_final``: ‖∂L/∂W‖ of the first recurrent layer over that of the last
  (all of each layer's weights; :func:`goldlab.monitor.gradient_norms` on the first 256 training windows),
  at initialisation and after training: below 1, less gradient reaches the bottom of the stack;
* ``val_mse``: the validation MSE at the last epoch (scaled target), for choosing;
* ``mae`` and ``naive_mae``: the test MAE in USD of the model and of the naive forecast (the test split is
  read once per run, at the end).

Every run is a folder under ``results/<profile>/depth/runs/`` (:func:`goldlab.lab.runner.cached`), so an
interrupted sweep resumes where it stopped; the table of the profile's runs is ``depth/depth.csv``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from goldlab import blog, metrics
from goldlab import data as gdata
from goldlab.lab import claims, experiments, runner
from goldlab.lab.profiles import Profile, get_profile, results_dir
from goldlab.models import build_lstm, compile_model, lstm_layers
from goldlab.monitor import gradient_norms

__all__ = [
    "claim_residual_depth",
    "depth_table",
    "first_to_last",
    "run_depth",
    "skip_gain",
    "skips_help",
    "verdicts",
]


def first_to_last(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """‖∂L/∂W‖ of ``model``'s first recurrent layer over that of its last, on the batch ``(x, y)``."""
    norms = gradient_norms(model, x, y)
    totals = norms[norms["weight"] == "total"].set_index("layer")["norm"]
    names = [layer.name for layer in lstm_layers(model)]
    return float(totals[names[0]] / totals[names[-1]])


def _train(windows: gdata.Windows, depth: int, skip: bool, seed: int, prof: Profile) -> dict:
    """One run of the sweep: train, then measure what :mod:`goldlab.lab.depth` keeps."""
    keras.utils.set_random_seed(seed)
    shape = windows.x_train.shape[1:]
    model = compile_model(build_lstm(shape, units=(prof.depth_units,) * depth, dropout=0.0, residual=skip))
    x, y = windows.x_train[: prof.depth_probe], windows.y_train[: prof.depth_probe]
    before = first_to_last(model, x, y)
    start = time.perf_counter()
    hist = experiments.compile_and_fit(model, windows, prof.depth_epochs, seed=seed)
    seconds = time.perf_counter() - start
    pred = windows.to_usd(model.predict(windows.x_test, verbose=0), "test")
    truth = windows.y_test_usd
    return {
        "depth": depth,
        "skips": skip,
        "seed": seed,
        "epochs": prof.depth_epochs,
        "grad_ratio_init": before,
        "grad_ratio_final": first_to_last(model, x, y),
        "val_mse": float(hist.history["val_loss"][-1]),
        "mae": metrics.mae(truth, pred.reshape(-1)),
        "naive_mae": metrics.mae(truth, windows.base_test),
        "seconds": seconds,
    }


def _run_dir(out: Path, depth: int, skip: bool, seed: int, prof: Profile) -> Path:
    """A run's folder, named by everything that changes it: depth, skips, units, epochs, probe, seed."""
    stack = f"lstm{prof.depth_units}x{depth}{'_res' if skip else ''}"
    return out / "runs" / f"{stack}_e{prof.depth_epochs}_p{prof.depth_probe}_s{seed}"


def run_depth(
    profile: str | Profile | None = None, out: str | Path | None = None, quiet: bool = False
) -> pd.DataFrame:
    """Train every (depth, skips, seed) of the profile not yet saved under ``out/runs/`` (default
    ``results/<profile>/depth``), each run saved whole as it ends; writes the table of the profile's runs to
    ``out/depth.csv`` and returns it (:func:`depth_table`)."""
    prof = get_profile(profile)
    out = Path(out) if out is not None else results_dir(prof) / "depth"
    windows = gdata.make_windows(gdata.make_features(gdata.load_gold()), horizon=blog.HORIZON)
    wanted = [(d, s, k) for d in prof.depth_depths for s in (False, True) for k in range(prof.depth_seeds)]
    rows = []
    for depth, skip, seed in wanted:
        if depth == 1 and skip:  # one layer has nothing to skip
            continue

        def train(depth: int = depth, skip: bool = skip, seed: int = seed) -> dict:
            row = _train(windows, depth, skip, seed, prof)
            if not quiet:
                print(f"depth {depth} skips {skip} seed {seed}: MAE {row['mae']:.1f}", file=sys.stderr)
            return {"row": row}

        rows.append(runner.cached(_run_dir(out, depth, skip, seed, prof), train)["row"])
    table = pd.DataFrame(rows)
    runner.write_table(table, out / "depth.csv")
    return depth_table(table, prof)


def depth_table(table: pd.DataFrame, profile: str | Profile | None = None) -> pd.DataFrame:
    """The profile's runs of ``table`` in sweep order, with ``mae_ratio`` (model over naive MAE)."""
    prof = get_profile(profile)
    keep = table[table["depth"].isin(prof.depth_depths) & (table["seed"] < prof.depth_seeds)]
    keep = keep[keep["epochs"] == prof.depth_epochs].sort_values(["depth", "skips", "seed"])
    return keep.assign(mae_ratio=keep["mae"] / keep["naive_mae"]).reset_index(drop=True)


def skip_gain(table: pd.DataFrame) -> pd.DataFrame:
    """Per depth (two or more layers), paired over seeds: the geometric mean of the first-to-last gradient
    ratio with skips over without (at initialisation and after training), and the mean paired difference
    in test MAE (without − with, USD; positive: skips help) with the seeds it pairs."""
    rows = []
    for depth, part in table[table["depth"] > 1].groupby("depth"):
        plain = part[~part["skips"].astype(bool)].set_index("seed")
        skip = part[part["skips"].astype(bool)].set_index("seed")
        seeds = plain.index.intersection(skip.index)
        if not len(seeds):
            continue
        gain = {
            w: float(np.exp(np.mean(np.log(skip.loc[seeds, c] / plain.loc[seeds, c]))))
            for w, c in (("init", "grad_ratio_init"), ("trained", "grad_ratio_final"))
        }
        diff = plain.loc[seeds, "mae"] - skip.loc[seeds, "mae"]
        rows.append(
            {
                "depth": depth,
                "gradient_gain_init": gain["init"],
                "gradient_gain_trained": gain["trained"],
                "mae_gain_usd": float(diff.mean()),
                "skip_wins": int((diff > 0).sum()),
                "seeds": len(seeds),
            }
        )
    return pd.DataFrame(rows)


def skips_help(gain: pd.DataFrame) -> pd.Series:
    """Per depth of :func:`skip_gain`: whether the skips lowered the test MAE in every paired seed (a sign
    test's strongest outcome; with 3 seeds its one-sided p is 1/8, so one depth alone proves little)."""
    g = _by_depth(gain)
    return (g["skip_wins"] == g["seeds"]).rename("skips help")


def _by_depth(gain: pd.DataFrame) -> pd.DataFrame:
    """:func:`skip_gain`'s table indexed by depth (as it comes, or already indexed)."""
    return gain.set_index("depth") if "depth" in gain.columns else gain


@claims.decides("depth_residual_depth", "residual_depth")
def claim_residual_depth(gain: pd.DataFrame) -> claims.Verdict:
    """ "Residual connections only help with 3+ LSTM layers", on gold over the sweep's depths: supported
    when the skips lower the error in every seed at each depth of 3 or more (the claim's threshold) and at
    no depth below; refuted when they do so at no depth of 3 or more; mixed otherwise (the depths on each
    side named)."""
    key = "depth_residual_depth"
    from_layers = claims.threshold(key)
    helps = skips_help(gain)
    deep, shallow = helps[helps.index >= from_layers], helps[helps.index < from_layers]
    if deep.empty:
        reason = f"the sweep has no depth of {from_layers} or more layers with skips"
        return claims.verdict_for(key, "not trained", claims.NOT_TESTABLE, reason)
    if deep.all() and not shallow.any():
        verdict = claims.SUPPORTED
    elif not deep.any():
        verdict = claims.REFUTED
    else:
        verdict = claims.MIXED
    g = _by_depth(gain)
    parts = ", ".join(f"{d} layers: {g.loc[d, 'skip_wins']} of {g.loc[d, 'seeds']}" for d in g.index)
    reason = (
        f"skips lower the MAE in {parts} paired seeds (helping: every seed from {from_layers} layers, "
        "none below)"
    )
    if verdict == claims.MIXED and deep.all():
        reason += f"; they help below {from_layers} layers too"
    gains = ", ".join(f"{g.loc[d, 'mae_gain_usd']:+.1f}" for d in g.index)
    measured = f"MAE gain {gains} USD at {', '.join(map(str, g.index))} layers"
    return claims.verdict_for(key, measured, verdict, reason, helps=helps.to_dict())


def verdicts(results: str | Path, profile: str | Profile | None = None) -> list[claims.Verdict]:
    """The sweep's verdict from its saved table under ``results/depth`` (FileNotFoundError without it)."""
    prof = get_profile(profile)
    path = Path(results) / "depth" / "depth.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no depth sweep; chapter 4 runs it (goldlab.lab.depth.run_depth)")
    return [claim_residual_depth(skip_gain(depth_table(pd.read_csv(path), prof)))]
