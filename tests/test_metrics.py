"""Tests for goldlab.metrics against hand arithmetic and independent re-implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from goldlab.metrics import (
    DMResult,
    MZResult,
    PairedResult,
    diebold_mariano,
    directional_accuracy,
    drift_forecast,
    forecast_report,
    hac_covariance,
    mae,
    mase,
    median_p,
    mincer_zarnowitz,
    naive_forecast,
    newey_west_lags,
    paired_difference,
    rmse,
)

# ------------------------------------------------------------------------------------------------
# MAE / RMSE


def test_mae_rmse_hand_example():
    # errors y - p = [1-2, 2-2, 3-2] = [-1, 0, 1]
    # MAE  = (1 + 0 + 1) / 3 = 2/3
    # RMSE = sqrt((1 + 0 + 1) / 3) = sqrt(2/3)
    y, p = [1, 2, 3], [2, 2, 2]
    assert mae(y, p) == pytest.approx(2 / 3)
    assert rmse(y, p) == pytest.approx(math.sqrt(2 / 3))
    assert isinstance(mae(y, p), float) and isinstance(rmse(y, p), float)


def test_perfect_forecast_scores_zero():
    y = np.array([1.5, -2.0, 3.25])
    assert mae(y, y) == 0.0
    assert rmse(y, y) == 0.0


def test_column_vectors_are_flattened():
    y = np.array([[1.0], [2.0], [3.0]])
    assert mae(y, [2, 2, 2]) == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------------------------
# MASE


def test_mase_hand_example_lag1_and_lag2():
    y_train = [1, 3, 2, 5]
    # lag 1: |3-1|, |2-3|, |5-2| = 2, 1, 3 -> scale 6/3 = 2
    # lag 2: |2-1|, |5-3|       = 1, 2    -> scale 3/2 = 1.5
    # forecast errors: [6-5, 8-7] = [1, 1] -> MAE 1
    y_true, y_pred = [6, 8], [5, 7]
    assert mase(y_true, y_pred, y_train) == pytest.approx(1 / 2)
    assert mase(y_true, y_pred, y_train, lag=2) == pytest.approx(1 / 1.5)


@pytest.mark.parametrize("lag", [1, 3, 7])
def test_mase_of_naive_forecast_on_training_data_is_one(lag):
    y_train = np.cumsum(np.random.default_rng(0).normal(size=50)) + 100.0
    # the lag-step naive forecast of y_t is y_{t-lag}
    y_pred, y_true = y_train[:-lag], y_train[lag:]
    assert mase(y_true, y_pred, y_train, lag=lag) == 1.0


def test_mase_errors():
    with pytest.raises(ValueError, match="more than lag"):
        mase([1, 2], [1, 2], [5], lag=1)
    with pytest.raises(ValueError, match="more than lag"):
        mase([1, 2], [1, 2], [5, 6, 7], lag=3)
    with pytest.raises(ValueError, match="naive MAE .* is 0"):
        mase([1, 2], [1, 2], [4, 4, 4])
    with pytest.raises(ValueError, match="lag"):
        mase([1, 2], [1, 2], [1, 2, 3], lag=0)


# ------------------------------------------------------------------------------------------------
# directional accuracy


def test_directional_accuracy_hand_example():
    y_ref = [10, 10, 10, 10, 10]
    y_true = [11, 9, 10, 12, 8]  # true changes  +1 -1  0 +2 -2
    y_pred = [12, 11, 9, 10, 7]  # pred changes  +2 +1 -1  0 -3
    # case 3 has a zero true change -> excluded; of the other four:
    # +/+ right, -/+ wrong, +/0 wrong, -/- right -> 2/4
    assert directional_accuracy(y_true, y_pred, y_ref) == pytest.approx(0.5)
    # a scalar origin is broadcast
    assert directional_accuracy(y_true, y_pred, 10) == pytest.approx(0.5)


def test_directional_accuracy_per_origin_reference():
    y_ref = [1, 5, 3]
    y_true = [2, 4, 3.5]  # +, -, +
    y_pred = [3, 6, 4]  # +, +, +  -> right, wrong, right
    assert directional_accuracy(y_true, y_pred, y_ref) == pytest.approx(2 / 3)


def test_directional_accuracy_all_ties_errors():
    with pytest.raises(ValueError, match="every true change"):
        directional_accuracy([1, 2], [3, 4], [1, 2])
    with pytest.raises(ValueError, match="y_ref"):
        directional_accuracy([1, 2, 3], [1, 2, 3], [1, 2])


# ------------------------------------------------------------------------------------------------
# baseline forecasts


def test_naive_forecast_repeats_last_value():
    out = naive_forecast([1, 5, 7], horizon=3)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [7.0, 7.0, 7.0])
    np.testing.assert_array_equal(naive_forecast([4.5]), [4.5])


def test_drift_forecast_hand_example():
    # slope = (2 - 1) / (3 - 1) = 0.5 -> 2 + 0.5 h for h = 1, 2, 3
    np.testing.assert_allclose(drift_forecast([1, 4, 2], horizon=3), [2.5, 3.0, 3.5])


def test_drift_forecast_continues_a_line_exactly():
    t = np.arange(10)
    history = 3.0 + 2.0 * t  # 3, 5, ..., 21
    np.testing.assert_array_equal(drift_forecast(history, horizon=4), [23.0, 25.0, 27.0, 29.0])


def test_baseline_forecast_errors():
    with pytest.raises(ValueError, match="at least 2"):
        drift_forecast([1.0])
    with pytest.raises(ValueError, match="empty"):
        naive_forecast([])
    with pytest.raises(ValueError, match="horizon"):
        naive_forecast([1, 2], horizon=0)
    with pytest.raises(ValueError, match="horizon"):
        drift_forecast([1, 2], horizon=1.5)


# ------------------------------------------------------------------------------------------------
# Diebold-Mariano


def _dm_loop(e1, e2, h, lags, power=2.0):
    """Independent reference: the DM/HLN formulas with Bartlett weights, written out as Python loops."""
    n = len(e1)
    d = [abs(a) ** power - abs(b) ** power for a, b in zip(e1, e2, strict=True)]
    d_bar = sum(d) / n
    v = 0.0
    for k in range(lags + 1):
        s = 0.0
        for t in range(k, n):
            s += (d[t] - d_bar) * (d[t - k] - d_bar)
        v += (1.0 if k == 0 else 2.0 * (1 - k / (lags + 1))) * s / n
    dm = d_bar / math.sqrt(v / n)
    stat = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return stat, 2.0 * stats.t.sf(abs(stat), n - 1), d_bar


def test_dm_h1_hand_computation():
    e1 = np.array([1.0, 2.0, 3.0, 4.0])
    e2 = np.array([1.0, 1.0, 1.0, 1.0])
    n = 4
    # d = e1^2 - e2^2 = [0, 3, 8, 15]
    d = e1**2 - e2**2
    np.testing.assert_array_equal(d, [0, 3, 8, 15])
    # mean = 26 / 4 = 6.5
    d_bar = d.sum() / n
    assert d_bar == 6.5
    # deviations -6.5, -3.5, 1.5, 8.5; squares 42.25 + 12.25 + 2.25 + 72.25 = 129 -> gamma_0 = 32.25
    gamma0 = np.sum((d - d_bar) ** 2) / n
    assert gamma0 == 32.25
    # DM = 6.5 / sqrt(32.25 / 4) = 6.5 / sqrt(8.0625) ~ 2.28917
    dm = d_bar / np.sqrt(gamma0 / n)
    # HLN factor with h = 1: sqrt((4 + 1 - 2 + 0) / 4) = sqrt(3/4)
    hln = np.sqrt(3 / 4)
    expected = dm * hln  # ~ 1.98248
    assert expected == pytest.approx(1.98248, abs=1e-5)
    expected_p = 2 * stats.t.sf(expected, df=n - 1)

    res = diebold_mariano(e1, e2, h=1, lags=0)  # no autocovariance: the variance is gamma_0
    assert isinstance(res, DMResult)
    assert res.statistic == pytest.approx(expected)
    assert res.p_value == pytest.approx(expected_p)
    assert res.mean_diff == pytest.approx(6.5)
    assert res.n == 4


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_dm_h3_matches_loop_implementation(power):
    rng = np.random.default_rng(42)
    e1 = rng.normal(0.0, 1.2, 40)
    # serially correlated errors, as from overlapping 3-step forecasts
    e2 = np.convolve(rng.normal(0.0, 1.0, 42), [1.0, 0.6, 0.3], mode="valid")
    res = diebold_mariano(e1, e2, h=3, power=power)
    # n = 40: floor(4 * 0.4 ** (2/9)) = floor(3.26) = 3 lags, more than h - 1 = 2
    assert res.lags == 3
    stat, p, d_bar = _dm_loop(e1.tolist(), e2.tolist(), h=3, lags=3, power=power)
    assert res.statistic == pytest.approx(stat, rel=1e-10)
    assert res.p_value == pytest.approx(p, rel=1e-10)
    assert res.mean_diff == pytest.approx(d_bar, rel=1e-10)
    assert res.n == 40


@pytest.mark.parametrize(
    ("n", "h", "lags"), [(40, 1, 3), (100, 1, 4), (245, 1, 4), (245, 30, 29), (600, 1, 5)]
)
def test_newey_west_lags_rule(n, h, lags):
    # floor(4 (n/100)^(2/9)): 3.26, 4, 4.88, 4.88, 5.96; never below h - 1
    assert newey_west_lags(n, h) == lags


def _differential(seed, n=250, rho=0.6):
    """Two error series whose squared-loss differential is AR(1) with coefficient ``rho``, mean > 0."""
    rng = np.random.default_rng(seed)
    u = np.zeros(n)
    for t in range(1, n):
        u[t] = rho * u[t - 1] + rng.normal()
    e2 = rng.normal(0.0, 1.0, n)
    e1 = np.sqrt(np.maximum(e2**2 + 0.3 + u, 0.0))
    return e1, e2


@pytest.mark.parametrize(("h", "lags"), [(1, 0), (1, 4), (1, 12), (5, 4), (5, 20)])
def test_dm_agrees_with_statsmodels_hac_t_test(h, lags):
    """DM without the HLN factor is the HAC t-value of the differential on a constant (statsmodels)."""
    sm = pytest.importorskip("statsmodels.api")
    e1, e2 = _differential(h + lags)
    d = e1**2 - e2**2
    n = d.size
    fit = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})
    res = diebold_mariano(e1, e2, h=h, lags=lags)
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert res.statistic / hln == pytest.approx(fit.tvalues[0], rel=1e-8)
    assert res.lags == lags
    if h == 1:  # at h = 1 the HLN factor is statsmodels' n / (n - 1) correction of the variance
        fit_c = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
        assert res.statistic == pytest.approx(fit_c.tvalues[0], rel=1e-8)


def test_dm_newey_west_is_more_cautious_under_autocorrelation():
    # a positively autocorrelated differential: the lag-0 variance understates the mean's uncertainty
    e1, e2 = _differential(0, rho=0.9)
    assert diebold_mariano(e1, e2, lags=0).p_value < diebold_mariano(e1, e2).p_value


def test_hac_covariance_hand_example():
    # m = [1, -1, 2, -2] (mean 0): G0 = 10/4; G1 = (-1 - 2 - 4)/4 = -7/4; one lag has weight 1/2
    m = np.array([1.0, -1.0, 2.0, -2.0])
    assert hac_covariance(m, 0)[0, 0] == pytest.approx(2.5)
    assert hac_covariance(m, 1)[0, 0] == pytest.approx(2.5 + 2 * 0.5 * -1.75)
    with pytest.raises(ValueError, match="smaller than"):
        hac_covariance(m, 4)
    with pytest.raises(ValueError, match="lags"):
        hac_covariance(m, -1)


def test_dm_identical_errors():
    e = np.random.default_rng(1).normal(size=20)
    res = diebold_mariano(e, e)
    assert res.statistic == 0.0
    assert res.p_value == 1.0
    assert res.mean_diff == 0.0
    # same absolute errors with different signs are identical losses too
    assert diebold_mariano(e, -e, h=2).p_value == 1.0


def test_dm_constant_nonzero_differential():
    res = diebold_mariano([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    assert res.statistic == math.inf and res.p_value == 0.0 and res.mean_diff == pytest.approx(3.0)
    res = diebold_mariano([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert res.statistic == -math.inf and res.p_value == 0.0


@pytest.mark.parametrize("h", [1, 2, 4])
def test_dm_swap_flips_sign_keeps_p(h):
    rng = np.random.default_rng(7)
    e1, e2 = rng.normal(0, 1.0, 60), rng.normal(0, 1.3, 60)
    a, b = diebold_mariano(e1, e2, h=h), diebold_mariano(e2, e1, h=h)
    assert a.statistic == pytest.approx(-b.statistic)
    assert a.p_value == pytest.approx(b.p_value)
    assert a.mean_diff == pytest.approx(-b.mean_diff)


def test_dm_clearly_better_forecast_has_small_p():
    rng = np.random.default_rng(3)
    worse, better = rng.normal(0, 2.0, 250), rng.normal(0, 1.0, 250)
    res = diebold_mariano(worse, better)
    assert res.statistic > 0  # model 1 has the larger loss
    assert res.p_value < 1e-6


def test_dm_errors():
    with pytest.raises(ValueError, match="length mismatch"):
        diebold_mariano([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        diebold_mariano([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        diebold_mariano([], [])
    with pytest.raises(ValueError, match="at least 2"):
        diebold_mariano([1.0], [2.0])
    with pytest.raises(ValueError, match="smaller than"):
        diebold_mariano([1, 2, 3], [3, 2, 1], h=3)
    with pytest.raises(ValueError, match="power"):
        diebold_mariano([1, 2, 3], [3, 2, 1], power=0)


# ------------------------------------------------------------------------------------------------
# Mincer-Zarnowitz


@pytest.mark.parametrize("lags", [0, 4, 10])
def test_mincer_zarnowitz_agrees_with_statsmodels(lags):
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(lags)
    f = np.cumsum(rng.normal(size=200)) + 100.0
    y = 3.0 + 0.95 * f + np.convolve(rng.normal(size=203), [1.0, 0.5, 0.3, 0.2], mode="valid")
    fit = sm.OLS(y, sm.add_constant(f)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
    )
    joint = fit.f_test("const = 0, x1 = 1")
    res = mincer_zarnowitz(y, f, lags=lags)
    assert isinstance(res, MZResult)
    assert (res.intercept, res.slope) == pytest.approx(tuple(fit.params), rel=1e-10)
    assert res.f_stat == pytest.approx(float(joint.fvalue), rel=1e-8)
    assert res.p_value == pytest.approx(float(joint.pvalue), rel=1e-8)
    slope = fit.t_test("x1 = 1")
    assert res.slope_p == pytest.approx(float(np.squeeze(slope.pvalue)), rel=1e-8)
    assert res.lags == lags and res.n == 200


def test_mincer_zarnowitz_accepts_the_naive_forecast_of_a_random_walk():
    # the naive forecast of a random walk is efficient: slope of actual on forecast ~ 1, not rejected,
    # although the slope of forecast on actual is below 1 (the rule this test replaces)
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.normal(size=1001)) + 500.0
    actual, naive = walk[1:], walk[:-1]
    res = mincer_zarnowitz(actual, naive)
    assert res.slope == pytest.approx(1.0, abs=0.02)
    assert res.p_value > 0.05
    assert np.polyfit(actual, naive, 1)[0] < 1.0
    # a forecast shrunk towards the mean is rejected
    shrunk = 500.0 + 0.5 * (naive - 500.0)
    assert mincer_zarnowitz(actual, shrunk).p_value < 1e-6


def test_mincer_zarnowitz_errors():
    with pytest.raises(ValueError, match="varies"):
        mincer_zarnowitz([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="length mismatch"):
        mincer_zarnowitz([1.0, 2.0, 3.0, 4.0], [1.0, 2.0])


# ------------------------------------------------------------------------------------------------
# paired comparisons over seeds, the aggregation of p-values


def test_paired_difference_against_scipy_and_hand_arithmetic():
    a = np.array([30.0, 29.0, 43.0, 61.0, 43.0])  # one step's MAE per seed
    b = a - np.array([4.0, 10.0, 5.0, 7.0, 12.0])  # the next step lowers every seed's MAE
    res = paired_difference(a, b)
    assert isinstance(res, PairedResult)
    d = b - a  # -4, -10, -5, -7, -12: mean -7.6
    assert res.mean == pytest.approx(-7.6)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert (res.low, res.high) == pytest.approx((-7.6 - half, -7.6 + half))
    assert res.p_value == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert res.wilcoxon_p == pytest.approx(1 / 16)  # all 5 signs alike: 2 / 2**5 exactly
    assert res.lower == 5 and res.n == 5


def test_paired_difference_sees_what_two_sd_over_seeds_misses():
    # seeds spread widely (sd ~ 12) but each seed falls by about 3: a paired effect the 2-sd rule misses
    a = np.array([30.0, 29.0, 43.0, 61.0, 43.0])
    b = a - np.array([3.0, 2.5, 3.5, 3.0, 2.8])
    assert abs(b.mean() - a.mean()) < 2 * a.std(ddof=1)
    assert paired_difference(a, b).p_value < 0.001


def test_paired_difference_degenerate_and_errors():
    assert paired_difference([1.0, 2.0], [1.0, 2.0]).p_value == 1.0
    res = paired_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert res.p_value == 0.0 and res.low == res.high == 1.0
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="length mismatch"):
        paired_difference([1.0, 2.0], [2.0])


def test_median_p():
    assert median_p([0.04, 0.9, 0.01]) == 0.04
    assert median_p([0.01, 0.03, 0.2, 0.5]) == pytest.approx(0.115)
    with pytest.raises(ValueError, match="NaN"):
        median_p([0.1, np.nan])


# ------------------------------------------------------------------------------------------------
# report and shared validation


def test_forecast_report_matches_individual_metrics():
    y_train = [1, 3, 2, 5]
    y_true, y_pred, y_ref = [6, 8], [5, 7], [5, 6]
    rep = forecast_report(y_true, y_pred, y_ref, y_train, lag=2)
    assert set(rep) == {"mae", "rmse", "mase", "directional_accuracy"}
    assert rep["mae"] == pytest.approx(1.0)
    assert rep["rmse"] == pytest.approx(1.0)
    assert rep["mase"] == pytest.approx(1 / 1.5)
    # true changes +1, +2; predicted changes 0, +1 -> wrong, right
    assert rep["directional_accuracy"] == pytest.approx(0.5)
    assert all(isinstance(v, float) for v in rep.values())


@pytest.mark.parametrize(
    "fn", [mae, rmse, lambda t, p: mase(t, p, [1, 2, 4]), lambda t, p: directional_accuracy(t, p, 0)]
)
def test_input_validation(fn):
    with pytest.raises(ValueError, match="length mismatch"):
        fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        fn([1, 2, np.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        fn([1, 2, 3], [np.nan, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="inf"):
        fn([1, 2, np.inf], [1, 2, 3])


def test_nan_in_training_or_reference_rejected():
    with pytest.raises(ValueError, match="y_train contains NaN"):
        mase([1, 2], [1, 2], [1, np.nan, 3])
    with pytest.raises(ValueError, match="y_ref contains NaN"):
        directional_accuracy([1, 2], [1, 2], [0, np.nan])
