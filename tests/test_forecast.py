"""goldlab.lab.forecast on small made-up tables: each verdict on both sides of its threshold (no training)."""

import numpy as np
import pandas as pd
import pytest

from goldlab import data
from goldlab.lab import claims, forecast

STEPS = ("baseline", "clipnorm", "orthogonal", "residual")


def predictions(slopes: dict[str, float], offset_above: float = 0.0) -> pd.DataFrame:
    """Stacked predictions: forecast = 100 + slope * (actual - 100) + noise, plus ``offset_above`` above 150;
    the naive forecast is the day before's actual."""
    actual = np.linspace(100.0, 200.0, 61)
    rows = []
    for step, s in slopes.items():
        for seed in (0, 1):
            noise = np.random.default_rng(seed).normal(0.0, 2.0, actual.size)
            pred = 100 + s * (actual - 100) + np.where(actual > 150, offset_above, 0.0) + noise
            naive = np.r_[actual[0], actual[:-1]]
            frame = {"actual": actual, "pred": pred, "naive": naive, "step": step, "seed": seed}
            rows.append(pd.DataFrame(frame))
    return pd.concat(rows, ignore_index=True)


def test_share_above():
    assert forecast.share_above([1, 2, 3, 4], 2.5) == 0.5
    assert np.isnan(forecast.share_above([], 1.0))


def test_shortfall_splits_at_the_training_max():
    pred = pd.DataFrame(
        {"actual": [90.0, 95.0, 110.0, 120.0, 130.0], "pred": [91.0, 96.0, 100.0, 100.0, 100.0]}
    )
    s = forecast.shortfall(pred, train_max=100.0)
    assert s["mean error below max (USD)"] == pytest.approx(1.0)
    assert s["mean error above max (USD)"] == pytest.approx(-20.0)
    assert s["highest forecast (USD)"] == 100.0
    assert s["MZ slope"] > 1  # the forecast moves less than the price


def test_shortfalls_put_the_naive_forecast_first():
    short = forecast.shortfalls({1: predictions({"baseline": 0.5, "residual": 1.0})}, 150.0)
    assert list(dict.fromkeys(short.index.get_level_values("step"))) == ["naive", "baseline", "residual"]
    assert short.loc[(1, "naive", -1), "MZ slope"] == pytest.approx(1.0, abs=0.01)


def test_shortfall_summary_takes_the_median_of_p_values():
    short = forecast.shortfalls({1: predictions({"baseline": 0.5})}, 150.0)
    out = forecast.shortfall_summary(short)
    runs = short.loc[(1, "baseline")]
    assert out.loc[(1, "baseline"), "MZ p (0, 1), median"] == pytest.approx(runs["MZ p (0, 1)"].median())
    assert out.loc[(1, "baseline"), "MZ slope"] == pytest.approx(runs["MZ slope"].mean())
    assert list(out.index.get_level_values("step")) == ["naive", "baseline"]


@pytest.mark.parametrize(("best", "verdict"), [(1.0, claims.SUPPORTED), (0.8, claims.REFUTED)])
def test_follows_price_threshold(best, verdict):
    # slope of forecast on actual 1 (noise only): efficient; 0.8: actual on forecast has slope 1.25
    short = forecast.shortfalls({1: predictions({"baseline": 0.5, "residual": best})}, 150.0)
    v = forecast.follows_price(short, 1)
    assert v.verdict == verdict
    assert v.values["best_slope"] == pytest.approx(1 / best, rel=0.05)
    assert (v.values["best_p"] >= claims.ALPHA) == (verdict == claims.SUPPORTED)
    assert v.values["naive_slope"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(("fixed", "verdict"), [(0.4, claims.SUPPORTED), (0.6, claims.REFUTED)])
def test_fixes_shortfall_threshold(fixed, verdict):
    # baseline falls 100 USD short above the max; the residual step keeps `fixed` of that shortfall
    base = predictions({"baseline": 1.0}, offset_above=-100.0)
    res = predictions({"residual": 1.0}, offset_above=-100.0 * fixed)
    short = forecast.shortfalls({30: pd.concat([base, res])}, 150.0)
    v = forecast.fixes_shortfall(short, 30)
    assert v.verdict == verdict
    assert v.values["removed"] == pytest.approx(1 - fixed, abs=0.02)  # the noise moves it a little


def ablation(dm_stats: list[float], dm_p: float = 0.01, horizon: int = 1) -> pd.DataFrame:
    """Baseline rows and one LSTM run per DM statistic (all with p-value ``dm_p``)."""
    rows = [
        {"step": b, "seed": -1, "horizon": horizon, "mae": 10.0, "dm_stat": 0.0, "dm_p": 1.0}
        for b in ("naive", "drift", "linear")
    ]
    rows += [
        {"step": STEPS[i % 4], "seed": i // 4, "horizon": horizon, "mae": 9.0 + i, "dm_stat": s, "dm_p": dm_p}
        for i, s in enumerate(dm_stats)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("stats", "p", "verdict"),
    [
        ([-3.0, -3.0, 2.0, 2.0], 0.01, claims.SUPPORTED),  # half significantly better: at the threshold
        ([-3.0, 2.0, 2.0, 2.0], 0.01, claims.REFUTED),
        ([-3.0, -3.0, -3.0, -3.0], 0.2, claims.REFUTED),  # better but not significant
    ],
)
def test_beats_naive_threshold(stats, p, verdict):
    v = forecast.beats_naive([ablation(stats, p)])
    assert v.verdict == verdict
    assert v.values["runs"] == 4  # baselines are not counted


def test_versus_naive_table():
    t = forecast.versus_naive(ablation([-3.0, 2.0, 2.0, 2.0]), "level")
    row = t.loc[("level", 1, "baseline")]
    assert row["MAE/naive"] == pytest.approx(0.9)
    assert row["share better"] == 1.0
    assert "naive" not in t.index.get_level_values("step")


def walk(better_folds: int, folds: int = 4) -> pd.DataFrame:
    rows = []
    for year in range(2010, 2010 + folds):
        for kind in ("level", "return"):
            for model, mae in [("naive", 10.0), ("drift", 10.0), ("baseline", 11.0)]:
                good = model == "baseline" and kind == "level" and year - 2010 < better_folds
                stat, p = (-3.0, 0.01) if good else (1.0, 0.3)
                rows.append(
                    {
                        "year": year,
                        "model": model,
                        "target_kind": kind,
                        "mae": mae,
                        "dm_stat": stat,
                        "dm_p": p,
                    }
                )
    return forecast.walk_models(pd.DataFrame(rows))


@pytest.mark.parametrize(("better", "verdict"), [(4, claims.SUPPORTED), (3, claims.REFUTED)])
def test_beats_naive_walk_threshold(better, verdict):
    w = walk(better)  # 8 network folds (2 targets x 4 years); `better` of them significant
    v = forecast.beats_naive_walk(w)
    assert v.values["folds"] == 8
    assert v.verdict == verdict


def test_walk_models_and_summary():
    w = walk(1)
    assert set(w["model"]) == {"naive", "drift", "baseline (level)", "baseline (return)"}
    assert (w.groupby("model").size() == 4).all()  # naive and drift once per year
    s = forecast.walk_summary(w)
    assert s.loc["baseline (level)", "years significantly better"] == 1
    assert s.loc["baseline (level)", "median MAE/naive"] == pytest.approx(1.1)
    assert s.loc["drift", "years below naive"] == 0


def compare(level_spread: float, target_gain: float) -> pd.DataFrame:
    """versus_naive-like table: level MAE/naive 3 .. 3 + spread over steps, return = level - gain."""
    parts = {}
    for kind, shift in [("level", 0.0), ("return", -target_gain)]:
        ratio = 3.0 + shift + np.linspace(0, level_spread, 4)
        idx = pd.MultiIndex.from_product([[kind], [1], STEPS], names=["formulation", "horizon", "step"])
        parts[kind] = pd.DataFrame({"MAE/naive": ratio}, index=idx)
    return pd.concat(parts.values())


@pytest.mark.parametrize(
    ("spread", "gain", "verdict"),
    [(1.0, 0.9, claims.SUPPORTED), (1.0, 2.0, claims.REFUTED), (1.0, -0.5, claims.UNDEFINED)],
)
def test_target_decides_threshold(spread, gain, verdict):
    v = forecast.target_decides(compare(spread, gain), 1)
    assert v.verdict == verdict
    assert v.values["step_effect"] == pytest.approx(spread)


def grad_table(level_sign: float, return_sign: float, n: int = 8) -> pd.DataFrame:
    """Runs of two targets: within each, MAE/naive = level + sign * log(gradient) (rank correlation sign);
    the level runs have larger gradients and far larger errors, so the pooled correlation is positive."""
    g = np.geomspace(0.01, 0.2, n)
    parts = [
        pd.DataFrame(
            {"formulation": "level", "‖∂L/∂W‖ lstm_1": 10 * g, "MAE/naive": 20 + level_sign * np.log(g)}
        ),
        pd.DataFrame(
            {"formulation": "return", "‖∂L/∂W‖ lstm_1": g, "MAE/naive": 2 + return_sign * np.log(g)}
        ),
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize(
    ("signs", "n", "verdict"),  # n: runs per target
    [
        ((-1.0, -1.0), 8, claims.SUPPORTED),  # negative within both targets, positive pooled
        ((1.0, 1.0), 8, claims.REFUTED),
        ((1.0, -1.0), 8, claims.NOT_REPRODUCED),  # one target each way
    ],
)
def test_gradient_decides_threshold(signs, n, verdict):
    t = grad_table(*signs, n=n)
    v = forecast.gradient_decides(t)
    assert v.values["within"] == pytest.approx({"level": signs[0], "return": signs[1]})
    assert v.verdict == verdict
    if signs == (-1.0, -1.0) and n == 8:
        assert v.values["pooled"] > 0  # Simpson's paradox: the pooled correlation has the other sign


def test_gradient_decides_needs_significance_within_each_target():
    t = grad_table(-1.0, -1.0, n=8)
    ret = t["formulation"] == "return"
    # four return runs with rank correlation -0.8: strong enough, but p ~ 0.2 with 4 runs
    small = pd.DataFrame(
        {"formulation": "return", "‖∂L/∂W‖ lstm_1": [0.1, 0.2, 0.3, 0.4], "MAE/naive": [1.4, 1.3, 1.1, 1.2]}
    )
    v = forecast.gradient_decides(pd.concat([t[~ret], small], ignore_index=True))
    assert v.values["within"]["return"] == pytest.approx(-0.8)
    assert v.values["p"]["return"] > claims.ALPHA
    assert v.verdict == claims.NOT_REPRODUCED


def test_step_pairs_pairs_by_seed():
    rows = []
    for seed, base in enumerate([30.0, 29.0, 43.0, 61.0, 43.0]):  # seeds spread widely
        for i, step in enumerate(STEPS):
            rows.append({"step": step, "seed": seed, "horizon": 1, "mae": base - 3.0 * i - 0.1 * seed * i})
    rows.append({"step": "naive", "seed": -1, "horizon": 1, "mae": 10.0})
    pairs = forecast.step_pairs(pd.DataFrame(rows))
    assert list(pairs.index.get_level_values("step")) == [
        "baseline → clipnorm",
        "clipnorm → orthogonal",
        "orthogonal → residual",
    ]
    row = pairs.loc[(1, "orthogonal → residual")]
    assert row["mean change (USD)"] == pytest.approx(-3.2)  # -3 - 0.1 * mean seed (2)
    assert row["paired t p"] < 1e-4 and row["seeds lower"] == "5 of 5"
    assert row["95% low"] < -3.2 < row["95% high"]
    one = forecast.step_pairs(pd.DataFrame(rows).query("seed <= 0"))  # one seed: nothing to pair
    assert one["paired t p"].isna().all() and (one["seeds lower"] == "1 of 1").all()


def test_gradient_vs_error_from_runs():
    row = pd.DataFrame(
        {"step": ["baseline"], "seed": [0], "mae": [20.0], "grad_lstm_1": [0.2], "grad_lstm_2": [0.05]}
    )
    tp = pd.DataFrame(
        {
            "epoch": [0, 0, 3, 3],
            "layer": "lstm_1",
            "t": [1, 2, 1, 2],
            "norm": [1.0, 1.0, 0.01, 1.0],
            "step": "baseline",
            "seed": 0,
        }
    )
    t = forecast.gradient_vs_error({"level": {"row": row, "time_profile": tp}}, naive_mae=10.0)
    (r,) = t.to_dict("records")
    assert r["MAE/naive"] == 2.0 and r["depth spread"] == pytest.approx(4.0)
    assert r["oldest/latest day"] == pytest.approx(0.01)  # the last epoch, not epoch 0


def test_range_facts_on_a_rising_series():
    idx = pd.bdate_range("2000-01-03", periods=200)
    prices = pd.DataFrame({"close": np.linspace(100.0, 300.0, 200)}, index=idx.rename("date"))
    w = data.make_windows(data.make_features(prices), window=10, horizon=1)
    f = forecast.range_facts(w)
    assert f["share of test targets above training max"] == 1.0  # a rising price leaves its training range
    assert f["scaled target, training max"] == pytest.approx(1.0)
    assert f["scaled target, test min"] > 1.0
    assert f["scaled close input, test max"] > 1.0


def test_outside_share():
    idx = pd.bdate_range("2009-01-01", "2011-12-31")
    closes = pd.Series(np.where(idx.year == 2011, 1000.0, 100.0 + np.arange(len(idx)) % 5), index=idx)
    s = forecast.outside_share(closes, [2010, 2011], train_days=200)
    assert s[2010] == 0.0 and s[2011] == 1.0


def test_the_forecast_figures_have_titles_and_labelled_axes():
    import matplotlib

    matplotlib.use("Agg")
    from goldlab import plots

    idx = pd.bdate_range("2020-01-01", periods=30)
    closes = pd.Series(np.linspace(100.0, 130.0, 30), index=idx)
    pred = predictions({"baseline": 0.5, "residual": 0.8})
    grads = pd.DataFrame({"step": "baseline", "layer": ["lstm_1", "lstm_2"], "norm": [0.1, 0.01]})
    mase = pd.DataFrame({"naive": [1.0, 1.2], "baseline (level)": [2.0, 3.0]}, index=[2018, 2019])
    axes = [
        plots.training_range(closes, closes[:20], idx[20]),
        plots.forecasts_vs_range(pred.drop(columns="naive"), 100.0, 150.0),
        plots.ratio_bars(pd.DataFrame({"level": [3.0, 1.1]}, index=["baseline", "linear"])),
        plots.walk_forward(mase),
        plots.by_step(grads, "layer", xlabel="layer", ylabel="norm"),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None
    assert [ax.get_yscale() for ax in axes[2:]] == ["log"] * 3
