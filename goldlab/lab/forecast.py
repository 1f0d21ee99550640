"""The forecast's diagnosis: where the test prices lie, how far the forecasts fall short, what beats what.

The four chapters measure the blog's fixes on the gradients; this module measures the *forecast* they give.
A network trained on a min-max-scaled price level has bounded LSTM states (``tanh`` and sigmoid gates) and a
``Dense(1)`` head fitted on targets in [0, 1]: it can output more, but nothing in training asks it to. The
functions here measure what that does on the test period (:func:`range_facts`, :func:`shortfalls` with
the Mincer–Zarnowitz test), put every model beside the naive forecast (:func:`versus_naive`,
:func:`walk_summary`), compare each step with the one before it over the same seeds (:func:`step_pairs`),
relate the gradient figures of each run to its error within each target (:func:`gradient_vs_error`), and
decide the claims the two pages "Why the forecast fails" and "What decides the forecast" state, as
:class:`goldlab.lab.claims.Verdict` objects.
Each verdict's claim, text and threshold are declared in the registry :data:`goldlab.lab.claims.CLAIMS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from goldlab import blog, metrics
from goldlab.lab.claims import (
    ALPHA,
    NOT_REPRODUCED,
    REFUTED,
    SUPPORTED,
    UNDEFINED,
    Verdict,
    decide,
    decides,
    threshold,
    verdict_for,
)
from goldlab.metrics import BASELINES

__all__ = [
    "beats_naive",
    "beats_naive_walk",
    "fixes_shortfall",
    "follows_price",
    "gradient_decides",
    "gradient_vs_error",
    "last_epoch",
    "outside_share",
    "range_facts",
    "share_above",
    "shortfall",
    "shortfall_summary",
    "shortfalls",
    "step_pairs",
    "target_decides",
    "versus_naive",
    "walk_models",
    "walk_summary",
]


# --------------------------------------------------------------------------------------------------
# where the test prices lie


def share_above(values: Sequence[float] | np.ndarray, limit: float) -> float:
    """The share of ``values`` strictly above ``limit`` (NaN for no values)."""
    v = np.asarray(values, dtype=float)
    return float((v > limit).mean()) if v.size else float("nan")


def range_facts(windows) -> pd.Series:
    """The training and test ranges of a :class:`goldlab.data.Windows` with a level target.

    USD: the training closes' range and the test targets' range; the share of test targets above the
    highest training close; scaled: the targets' range per split and the largest scaled ``close`` input
    (feature 0) in the test windows. A min-max scaler maps the training range to [0, 1], so a scaled value
    above 1 is a price the network never saw.
    """
    train_max = float(windows.train_close.max())
    return pd.Series(
        {
            "training min (USD)": float(windows.train_close.min()),
            "training max (USD)": train_max,
            "test min (USD)": float(windows.y_test_usd.min()),
            "test max (USD)": float(windows.y_test_usd.max()),
            "share of test targets above training max": share_above(windows.y_test_usd, train_max),
            "scaled target, training max": float(windows.y_train.max()),
            "scaled target, test min": float(windows.y_test.min()),
            "scaled target, test max": float(windows.y_test.max()),
            "scaled close input, test max": float(windows.x_test[..., 0].max()),
        }
    )


# --------------------------------------------------------------------------------------------------
# how far the forecasts fall short


def shortfall(pred: pd.DataFrame, train_max: float, horizon: int = 1) -> pd.Series:
    """One run's forecast (``predictions``: ``actual``, ``pred``) beside the price, in USD and by test.

    The mean forecast error (forecast − actual) on test days below and above ``train_max``, the
    Mincer–Zarnowitz regression of actual on forecast (:func:`goldlab.metrics.mincer_zarnowitz` at
    ``horizon``: its slope, 1 for a forecast that moves with the price and above 1 for one that moves
    less; the joint test's p of intercept 0 and slope 1, and the slope test's p), and the highest forecast.
    """
    err = pred["pred"] - pred["actual"]
    high = pred["actual"] > train_max
    mz = metrics.mincer_zarnowitz(pred["actual"], pred["pred"], h=horizon)
    return pd.Series(
        {
            "mean error below max (USD)": float(err[~high].mean()) if (~high).any() else np.nan,
            "mean error above max (USD)": float(err[high].mean()) if high.any() else np.nan,
            "MZ slope": mz.slope,
            "MZ p (0, 1)": mz.p_value,
            "MZ p (slope 1)": mz.slope_p,
            "highest forecast (USD)": float(pred["pred"].max()),
        }
    )


def shortfalls(predictions: Mapping[int, pd.DataFrame], train_max: float) -> pd.DataFrame:
    """:func:`shortfall` per (horizon, step, seed) of stacked ``predictions`` tables keyed by horizon, with
    the naive forecast (their ``naive`` column; step ``naive``, seed −1) first at each horizon."""
    parts = {}
    for h, pred in predictions.items():
        first = pred[pred["seed"] == pred["seed"].iloc[0]]
        first = first[first["step"] == first["step"].iloc[0]]
        naive = first.assign(pred=first["naive"], step="naive", seed=-1)
        both = pd.concat([naive, pred], ignore_index=True)
        g = both.groupby(["step", "seed"], sort=False)[["actual", "pred"]]
        parts[h] = g.apply(shortfall, train_max, h)
    return pd.concat(parts, names=["horizon"])


def shortfall_summary(short: pd.DataFrame) -> pd.DataFrame:
    """:func:`shortfalls` per (horizon, step): means over seeds, and the tests' p-values summarised by
    :func:`goldlab.metrics.median_p` (a mean of p-values is no p-value)."""
    pcols = [c for c in short.columns if " p " in f" {c} "]
    how = {c: (metrics.median_p if c in pcols else "mean") for c in short.columns}
    out = short.groupby(["horizon", "step"], sort=False).agg(how)
    return out.rename(columns={c: f"{c}, median" for c in pcols})


def _networks(short: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The rows of :func:`shortfalls` at ``horizon`` without the simple forecasts."""
    part = short.loc[horizon]
    return part[~part.index.get_level_values("step").isin(BASELINES)]


@decides("follows_price")
def follows_price(short: pd.DataFrame, horizon: int, alpha: float = ALPHA) -> Verdict:
    """Does any step's level-target forecast follow the price at ``horizon``? The Mincer–Zarnowitz test
    (:func:`shortfall`): the step whose median p over seeds (:func:`goldlab.metrics.median_p`) is the
    largest, against ``alpha``; the naive forecast's test and the mean errors beside it."""
    runs = _networks(short, horizon)
    per_step = runs.groupby("step", sort=False).agg(
        {"MZ p (0, 1)": metrics.median_p, "MZ slope": "median", "mean error above max (USD)": "mean"}
    )
    best = per_step["MZ p (0, 1)"].idxmax()
    p, slope_ = per_step.loc[best, "MZ p (0, 1)"], per_step.loc[best, "MZ slope"]
    naive = short.loc[(horizon, "naive")].iloc[0]
    below = runs["mean error below max (USD)"].mean()
    above = runs["mean error above max (USD)"].mean()
    verdict = decide(p, alpha, SUPPORTED, REFUTED)
    return verdict_for(
        "follows_price",
        f"{best}, h = {horizon}: slope {slope_:.2f}, p = {p:.1g}",
        verdict,
        f"a Mincer–Zarnowitz F test (intercept 0, slope 1, Newey–West) "
        f"{'accepts' if verdict == SUPPORTED else 'rejects'} the best step at {alpha:.0%}, "
        "median p over seeds",
        best_p=p,
        best_slope=slope_,
        naive_slope=naive["MZ slope"],
        naive_p=naive["MZ p (0, 1)"],
        error_below=below,
        error_above=above,
    )


@decides("fixes_shortfall")
def fixes_shortfall(short: pd.DataFrame, horizon: int, first: str = "baseline") -> Verdict:
    """Do the gradient fixes remove the shortfall above the training maximum? The share of the ``first``
    step's mean error above the maximum that the best other step removes, against the claim's
    threshold."""
    above = _networks(short, horizon).groupby("step", sort=False)["mean error above max (USD)"].mean()
    base = above.get(first, np.nan)
    others = above.drop(first, errors="ignore")
    best = others.loc[others.abs().idxmin()] if len(others) else np.nan
    removed = 1 - abs(best) / abs(base) if len(others) and base else np.nan
    needed = threshold("fixes_shortfall")
    verdict = decide(removed, needed, SUPPORTED, REFUTED)
    cmp = "at least" if verdict == SUPPORTED else "less than"
    return verdict_for(
        "fixes_shortfall",
        f"mean error above the training maximum at h = {horizon}: {first} {base:+.0f} USD, best "
        f"other step {best:+.0f} USD ("
        + (f"{removed:.1%} of it removed)" if removed >= 0 else f"{-removed:.1%} larger)"),
        verdict,
        f"the best fix removes {cmp} {needed:.0%} of the {first}'s shortfall",
        baseline_error_above=base,
        removed=removed,
    )


# --------------------------------------------------------------------------------------------------
# what beats what


def versus_naive(table: pd.DataFrame, formulation: str, alpha: float = ALPHA) -> pd.DataFrame:
    """Each model of an ablation table beside the naive forecast, per (formulation, horizon, step).

    Columns: ``MAE`` (mean over seeds), ``naive MAE``, ``MAE/naive``, ``dm stat`` (mean; positive when the
    model's squared errors are the larger), ``dm p (median)`` (:func:`goldlab.metrics.median_p`), ``runs``
    and ``share better`` (runs whose Diebold–Mariano test says significantly better than naive at
    ``alpha``).
    """
    naive = table[table["step"] == "naive"].groupby("horizon")["mae"].first()
    t = table[table["step"] != "naive"]
    t = t.assign(better=(t["dm_stat"] < 0) & (t["dm_p"] < alpha))
    g = t.groupby(["horizon", "step"], sort=False)
    out = pd.DataFrame(
        {
            "MAE": g["mae"].mean(),
            "dm stat": g["dm_stat"].mean(),
            "dm p (median)": g["dm_p"].agg(metrics.median_p),
            "runs": g.size(),
            "share better": g["better"].mean(),
        }
    )
    out.insert(1, "naive MAE", out.index.get_level_values("horizon").map(naive).to_numpy())
    out.insert(2, "MAE/naive", out["MAE"] / out["naive MAE"])
    out = out.sort_index(level="horizon", sort_remaining=False)
    return pd.concat({formulation: out}, names=["formulation"])


def _beats(runs: pd.DataFrame, alpha: float) -> tuple[float, int, int]:
    better = ((runs["dm_stat"] < 0) & (runs["dm_p"] < alpha)).to_numpy()
    return (float(better.mean()) if better.size else np.nan), int(better.sum()), int(better.size)


@decides("beats_naive")
def beats_naive(tables: Sequence[pd.DataFrame], alpha: float = ALPHA) -> Verdict:
    """Do the blog's networks beat the naive forecast? The share of LSTM runs in the ablation ``tables``
    (any step, target and horizon) significantly better than naive, against the claim's threshold."""
    runs = pd.concat([t[~t["step"].isin(BASELINES)] for t in tables], ignore_index=True)
    share, n_better, n = _beats(runs, alpha)
    needed = threshold("beats_naive")
    verdict = decide(share, needed, SUPPORTED, REFUTED)
    return verdict_for(
        "beats_naive",
        f"{n_better} of {n} LSTM runs better than naive",
        verdict,
        f"{share:.0%} of the runs have significantly smaller squared errors than naive (Diebold–Mariano, "
        f"p < {alpha:g}), against the {needed:.0%} the claim needs",
        share=share,
        better=n_better,
        runs=n,
    )


def walk_models(walk: pd.DataFrame) -> pd.DataFrame:
    """A :func:`goldlab.lab.experiments.walk_forward` table with ``model`` naming the target of the models
    that have one (``linear (level)``), naive and drift once per year, and ``MAE/naive`` per year."""
    plain = walk["model"].isin(["naive", "drift"])
    w = walk.assign(model=np.where(plain, walk["model"], walk["model"] + " (" + walk["target_kind"] + ")"))
    w = w.drop_duplicates(["year", "model"]).reset_index(drop=True)
    naive = w[w["model"] == "naive"].set_index("year")["mae"]
    return w.assign(**{"MAE/naive": w["mae"] / w["year"].map(naive)})


def walk_summary(walk: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Per model of :func:`walk_models`: test years, median MAE/naive, years with a lower MAE than naive,
    years significantly better (Diebold–Mariano at ``alpha``)."""
    w = walk[walk["model"] != "naive"]
    w = w.assign(better=(w["dm_stat"] < 0) & (w["dm_p"] < alpha), lower=w["MAE/naive"] < 1)
    g = w.groupby("model", sort=False)
    return pd.DataFrame(
        {
            "years": g.size(),
            "median MAE/naive": g["MAE/naive"].median(),
            "years below naive": g["lower"].sum().astype(int),
            "years significantly better": g["better"].sum().astype(int),
        }
    )


@decides("beats_naive_walk")
def beats_naive_walk(walk: pd.DataFrame, alpha: float = ALPHA) -> Verdict:
    """The same claim as :func:`beats_naive` over the walk-forward years: the share of the networks'
    (model, year) folds of :func:`walk_models` significantly better than naive, against the threshold of
    :func:`beats_naive`'s claim."""
    nets = walk[~walk["model"].str.split(" ").str[0].isin(BASELINES)]
    share, n_better, n = _beats(nets, alpha)
    needed = threshold("beats_naive")
    verdict = decide(share, needed, SUPPORTED, REFUTED)
    return verdict_for(
        "beats_naive_walk",
        f"{n_better} of {n} walk-forward folds better than naive",
        verdict,
        f"{share:.0%} of the folds have significantly smaller squared errors than naive (Diebold–Mariano, "
        f"p < {alpha:g}, as scored in training), against the {needed:.0%} the claim needs",
        share=share,
        better=n_better,
        folds=n,
    )


def outside_share(closes: pd.Series, years: Sequence[int], train_days: int) -> pd.Series:
    """Per test year, the share of its closes outside the range of the ``train_days`` closes before it."""
    out = {}
    for year in years:
        before = int((closes.index.year < year).sum())
        train = closes.iloc[max(before - train_days, 0) : before]
        test = closes[closes.index.year == year]
        out[year] = float(((test > train.max()) | (test < train.min())).mean())
    return pd.Series(out, name="share outside the training range").rename_axis("year")


# --------------------------------------------------------------------------------------------------
# target or gradient: what moves the error


@decides("target_decides")
def target_decides(compare: pd.DataFrame, horizon: int = 1) -> Verdict:
    """Steps or target: which moves the error more? ``compare`` is :func:`versus_naive` of both targets.

    Step effect: the largest minus the smallest level-target MAE/naive across the blog's steps. Target
    effect: the mean over steps of (level − return) MAE/naive. Their ratio against the claim's threshold.
    """
    lv = compare.loc[("level", horizon), "MAE/naive"].drop(list(BASELINES), errors="ignore")
    rt = compare.loc[("return", horizon), "MAE/naive"].drop(list(BASELINES), errors="ignore")
    steps = lv.index.intersection(rt.index)
    step_effect = float(lv.max() - lv.min())
    target_effect = float((lv[steps] - rt[steps]).mean())
    ratio = step_effect / target_effect if target_effect > 0 else np.nan
    needed = threshold("target_decides")
    verdict = decide(ratio, needed, SUPPORTED, REFUTED) if target_effect > 0 else UNDEFINED
    return verdict_for(
        "target_decides",
        f"at h = {horizon} the steps move MAE/naive by {step_effect:.2f}, the target (level → return) by "
        f"{target_effect:.2f} on average",
        verdict,
        f"the steps' effect is {ratio:.2f} times the target's (the claim needs {needed:g} or more)",
        step_effect=step_effect,
        target_effect=target_effect,
        ratio=ratio,
    )


def last_epoch(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of each (step, seed) run's last recorded epoch."""
    last = table.groupby(["step", "seed"])["epoch"].transform("max")
    return table[table["epoch"] == last]


def gradient_vs_error(runs: Mapping[str, Mapping[str, pd.DataFrame]], naive_mae: float) -> pd.DataFrame:
    """One row per (formulation, step, seed): MAE/naive beside three gradient figures after training.

    ``runs`` maps a target kind to :func:`goldlab.lab.experiments.load_runs` tables at one horizon whose naive
    MAE is ``naive_mae``. Gradient figures: ``‖∂L/∂W‖ lstm_1``, ``depth spread`` (largest over smallest
    LSTM gradient norm) and ``oldest/latest day`` (‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ into ``lstm_1``).
    """
    parts = []
    for kind, r in runs.items():
        row = r["row"].set_index(["step", "seed"])
        lstm = row[[c for c in row.columns if c.startswith("grad_lstm")]]
        tp = last_epoch(r["time_profile"]).query("layer == 'lstm_1'").sort_values("t")
        g = tp.groupby(["step", "seed"])["norm"]
        frame = pd.DataFrame(
            {
                "MAE/naive": row["mae"] / naive_mae,
                "‖∂L/∂W‖ lstm_1": lstm["grad_lstm_1"],
                "depth spread": lstm.max(axis=1) / lstm.min(axis=1),
                "oldest/latest day": g.first() / g.last(),
            }
        )
        parts.append(frame.assign(formulation=kind).reset_index())
    return pd.concat(parts, ignore_index=True)


def _spearman(t: pd.DataFrame) -> tuple[float, float]:
    if len(t) <= 2:
        return np.nan, np.nan
    res = stats.spearmanr(t["‖∂L/∂W‖ lstm_1"], t["MAE/naive"])
    return float(res.statistic), float(res.pvalue)


@decides("gradient_decides")
def gradient_decides(table: pd.DataFrame, alpha: float = ALPHA) -> Verdict:
    """Do larger gradients go with lower errors? Spearman's rank correlation of ``‖∂L/∂W‖ lstm_1`` and
    ``MAE/naive`` over the runs of :func:`gradient_vs_error`, within each target kind (``formulation``):
    pooled, the level runs' larger errors and the return runs' smaller gradients make a correlation
    neither kind has (Simpson's paradox). Supported where every kind has ρ ≤ −rho (the claim's threshold)
    with p < ``alpha``; refuted where no kind comes to −rho; otherwise not reproduced."""
    rho_needed = threshold("gradient_decides")
    t = table.dropna(subset=["‖∂L/∂W‖ lstm_1", "MAE/naive"])
    kinds = t["formulation"] if "formulation" in t else pd.Series("all", index=t.index)
    within = {k: (*_spearman(part), len(part)) for k, part in t.groupby(kinds, sort=False)}
    pooled, _ = _spearman(t)
    holds = [rho <= -rho_needed and p < alpha for rho, p, _ in within.values()]
    near = [rho <= -rho_needed for rho, _, _ in within.values()]
    if not within or any(np.isnan(rho) for rho, _, _ in within.values()):
        verdict = UNDEFINED
    else:
        verdict = SUPPORTED if all(holds) else REFUTED if not any(near) else NOT_REPRODUCED
    parts = "; ".join(f"{k} {rho:+.2f} (p {p:.2g}, {n} runs)" for k, (rho, p, n) in within.items())
    return verdict_for(
        "gradient_decides",
        f"ρ {parts}",
        verdict,
        f"the Spearman correlation of lstm_1's gradient norm and MAE/naive must reach ρ ≤ −{rho_needed:g} "
        f"with p < {alpha:g} within every target",
        within={k: rho for k, (rho, _, _) in within.items()},
        pooled=pooled,
        runs=len(t),
        p={k: p for k, (_, p, _) in within.items()},
    )


def step_pairs(table: pd.DataFrame, steps: Sequence[str] = blog.STEPS) -> pd.DataFrame:
    """Each of the blog's steps against the step before it, paired over seeds, per horizon.

    The steps of an ablation train on the same seeds and data, so seed ``s`` of one step is compared with
    seed ``s`` of the next (:func:`goldlab.metrics.paired_difference` of test MAE, USD): the mean paired
    change, its 95 % t interval, the paired t-test's p, the Wilcoxon signed-rank p and the seeds whose
    MAE fell. With fewer than two seeds in common the test columns are NaN.
    """
    rows = {}
    for h, part in table[table["seed"] >= 0].groupby("horizon"):
        mae = part.pivot_table(index="seed", columns="step", values="mae")
        for before, after in zip(steps[:-1], steps[1:], strict=True):
            both = mae[[before, after]].dropna()
            if len(both) < 2:  # one seed: nothing to pair, said as NaN rather than guessed
                r = metrics.PairedResult(*[np.nan] * 5, int((both[after] < both[before]).sum()), len(both))
            else:
                r = metrics.paired_difference(both[before], both[after])
            rows[(h, f"{before} → {after}")] = {
                "mean change (USD)": r.mean,
                "95% low": r.low,
                "95% high": r.high,
                "paired t p": r.p_value,
                "Wilcoxon p": r.wilcoxon_p,
                "seeds lower": f"{r.lower} of {r.n}",
            }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["horizon", "step"])
