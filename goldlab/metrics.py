"""Point-forecast metrics, baseline forecasts and the forecast tests: Diebold-Mariano, Mincer-Zarnowitz,
paired comparisons over seeds.

Everything here is a small pure function on array-likes; inputs are converted to flat float arrays
and checked (equal lengths, non-empty, finite) with a ``ValueError`` that says what is wrong.

References
----------
- Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
  *International Journal of Forecasting* 22(4), 679-688.  (MASE.)
- Hyndman, R. J. & Athanasopoulos, G. *Forecasting: Principles and Practice*, 3rd ed. (FPP3),
  section 5.2 "Some simple forecasting methods".  (Naive and drift forecasts.)
- Diebold, F. X. & Mariano, R. S. (1995). Comparing predictive accuracy.
  *Journal of Business & Economic Statistics* 13(3), 253-263.  (DM test.)
- Harvey, D., Leybourne, S. & Newbold, P. (1997). Testing the equality of prediction mean squared
  errors. *International Journal of Forecasting* 13(2), 281-291.  (Small-sample correction.)
- Newey, W. K. & West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
  autocorrelation consistent covariance matrix. *Econometrica* 55(3), 703-708; and (1994) Automatic lag
  selection in covariance matrix estimation. *Review of Economic Studies* 61(4), 631-653.  (HAC variance.)
- Mincer, J. & Zarnowitz, V. (1969). The evaluation of economic forecasts. In *Economic Forecasts and
  Expectations*, NBER, 3-46.  (Forecast efficiency regression.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "BASELINES",
    "DMResult",
    "MZResult",
    "PairedResult",
    "diebold_mariano",
    "directional_accuracy",
    "drift_forecast",
    "forecast_report",
    "hac_covariance",
    "mae",
    "mase",
    "median_p",
    "mincer_zarnowitz",
    "naive_forecast",
    "newey_west_lags",
    "paired_difference",
    "rmse",
]


# --------------------------------------------------------------------------------------------------
# input checking


def _as_1d(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a flat float array; raise ``ValueError`` if it is empty or not finite."""
    try:
        arr = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric array-like: {exc}") from exc
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN ({int(np.isnan(arr).sum())} of {arr.size} values)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains inf")
    return arr


def _pair(a: ArrayLike, b: ArrayLike, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    """Check two array-likes with :func:`_as_1d` and that they have the same length."""
    x, y = _as_1d(a, name_a), _as_1d(b, name_b)
    if x.size != y.size:
        raise ValueError(f"length mismatch: {name_a} has {x.size} values, {name_b} has {y.size}")
    return x, y


def _positive_int(value: int, name: str) -> int:
    """Return ``value`` as ``int`` if it is an integer >= 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------------
# accuracy measures


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error, ``mean(|y_true - y_pred|)``."""
    t, p = _pair(y_true, y_pred, "y_true", "y_pred")
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error, ``sqrt(mean((y_true - y_pred)**2))``."""
    t, p = _pair(y_true, y_pred, "y_true", "y_pred")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def _naive_mae(y_train: ArrayLike, lag: int = 1) -> float:
    """In-sample MAE of the lag-``lag`` naive forecast: ``mean_t |y_t - y_{t-lag}|``, t = lag..n-1."""
    lag = _positive_int(lag, "lag")
    y = _as_1d(y_train, "y_train")
    if y.size <= lag:
        raise ValueError(f"y_train needs more than lag={lag} values for the naive scale, got {y.size}")
    return float(np.mean(np.abs(y[lag:] - y[:-lag])))


def mase(y_true: ArrayLike, y_pred: ArrayLike, y_train: ArrayLike, lag: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006, eq. for q_t with the in-sample scale).

    ``MASE = MAE(y_true, y_pred) / mean_t |y_t - y_{t-lag}|`` over the training series ``y_train``.
    ``lag=1`` is the one-step random walk of Hyndman & Koehler; for h-step-ahead forecasts use
    ``lag=h`` so that the h-step naive forecast scores about 1. Values below 1 beat the naive scale.

    Raises ``ValueError`` if ``y_train`` has ``lag`` values or fewer, or its naive MAE is 0
    (a constant-at-lag training series gives no scale).
    """
    scale = _naive_mae(y_train, lag)
    if scale == 0.0:
        raise ValueError(f"naive MAE of y_train at lag={lag} is 0; MASE is undefined")
    return mae(y_true, y_pred) / scale


def directional_accuracy(y_true: ArrayLike, y_pred: ArrayLike, y_ref: ArrayLike) -> float:
    """Fraction of cases with ``sign(y_pred - y_ref) == sign(y_true - y_ref)``.

    ``y_ref`` is the last known value at each forecast origin (a scalar is broadcast). Ties:
    cases whose *true* change is exactly 0 are excluded (there is no direction to get right);
    a predicted change of exactly 0 against a non-zero true change counts as wrong.
    Raises ``ValueError`` if no case with a non-zero true change remains.
    """
    t, p = _pair(y_true, y_pred, "y_true", "y_pred")
    r = _as_1d(y_ref, "y_ref")
    if r.size == 1:
        r = np.full_like(t, r[0])
    elif r.size != t.size:
        raise ValueError(f"length mismatch: y_true has {t.size} values, y_ref has {r.size}")
    true_sign = np.sign(t - r)
    keep = true_sign != 0
    if not keep.any():
        raise ValueError("every true change y_true - y_ref is 0; directional accuracy is undefined")
    return float(np.mean(np.sign(p - r)[keep] == true_sign[keep]))


# --------------------------------------------------------------------------------------------------
# baseline forecasts

#: The simple forecasts every model is scored against, by name (the rows with ``seed == -1`` of the
#: ablation's table; :func:`goldlab.lab.experiments.baseline_forecasts` makes them): the random walk, the
#: random walk with drift, and a ridge regression on the model's inputs.
BASELINES: tuple[str, ...] = ("naive", "drift", "linear")


def naive_forecast(history: ArrayLike, horizon: int = 1) -> np.ndarray:
    """Random-walk (naive) forecast, FPP3 §5.2: ``y_hat_{T+h} = y_T`` for h = 1..horizon."""
    horizon = _positive_int(horizon, "horizon")
    y = _as_1d(history, "history")
    return np.full(horizon, y[-1])


def drift_forecast(history: ArrayLike, horizon: int = 1) -> np.ndarray:
    """Drift forecast, FPP3 §5.2: ``y_hat_{T+h} = y_T + h (y_T - y_1) / (T - 1)``, h = 1..horizon.

    Needs at least two values in ``history``.
    """
    horizon = _positive_int(horizon, "horizon")
    y = _as_1d(history, "history")
    if y.size < 2:
        raise ValueError(f"drift forecast needs at least 2 history values, got {y.size}")
    slope = (y[-1] - y[0]) / (y.size - 1)
    return y[-1] + slope * np.arange(1, horizon + 1, dtype=float)


# --------------------------------------------------------------------------------------------------
# long-run (HAC) covariance


def newey_west_lags(n: int, h: int = 1) -> int:
    """The Bartlett bandwidth every test here uses: ``max(floor(4 (n/100)^(2/9)), h - 1)``.

    ``floor(4 (n/100)^(2/9))`` is the rule of Newey & West (1994) (4 lags for 100 to 270 observations);
    an ``h``-step forecast's errors overlap over ``h - 1`` days, so the bandwidth is never below that.
    """
    n, h = _positive_int(n, "n"), _positive_int(h, "h")
    return max(int(np.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))), h - 1)


def hac_covariance(moments: ArrayLike, lags: int) -> np.ndarray:
    """Newey-West long-run covariance of the rows of ``moments`` (``n x k``, each column mean zero).

    ``S = G_0 + sum_{j=1}^{lags} (1 - j/(lags + 1)) (G_j + G_j')``, ``G_j = (1/n) sum_{t>=j} m_t m_{t-j}'``
    (Bartlett weights, so ``S`` is positive semi-definite; Newey & West 1987). Returns a ``k x k`` array.
    """
    m = np.asarray(moments, dtype=float)
    m = m.reshape(len(m), -1)
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ValueError(f"lags must be an integer >= 0, got {lags!r}")
    n = len(m)
    if lags >= n:
        raise ValueError(f"lags={lags} must be smaller than the number of observations n={n}")
    s = m.T @ m / n
    for j in range(1, lags + 1):
        g = m[j:].T @ m[:-j] / n
        s += (1.0 - j / (lags + 1.0)) * (g + g.T)
    return s


# --------------------------------------------------------------------------------------------------
# Diebold-Mariano


class DMResult(NamedTuple):
    """Result of :func:`diebold_mariano`.

    statistic: HLN-corrected DM statistic; positive means model 1 has the larger loss.
    p_value: two-sided p-value from Student's t with ``n - 1`` degrees of freedom.
    mean_diff: mean loss differential ``mean(|e1|**power - |e2|**power)``.
    n: number of paired errors.
    lags: the Bartlett bandwidth of the long-run variance.
    """

    statistic: float
    p_value: float
    mean_diff: float
    n: int
    lags: int = 0


def diebold_mariano(
    e1: ArrayLike, e2: ArrayLike, h: int = 1, power: float = 2, lags: int | None = None
) -> DMResult:
    """Diebold-Mariano test of equal accuracy, Newey-West variance, Harvey-Leybourne-Newbold correction.

    Loss differential ``d_t = |e1_t|**power - |e2_t|**power``, ``d_bar = mean(d)``. Its long-run variance
    ``V`` is :func:`hac_covariance` of ``d_t - d_bar`` with ``lags`` Bartlett lags, by default
    :func:`newey_west_lags` (``n``, ``h``): the rectangular kernel up to ``h - 1`` of Diebold & Mariano
    (1995) assumes the differential uncorrelated beyond that, which a forecast that errs on one side for
    weeks is not. ``DM = d_bar / sqrt(V / n)``; this is the t-value of the regression of ``d`` on a
    constant with a HAC covariance (statsmodels ``OLS(d, 1).fit(cov_type="HAC", cov_kwds={"maxlags":
    lags})``), which a test checks.

    Harvey, Leybourne & Newbold (1997) multiply by ``sqrt((n + 1 - 2h + h(h - 1)/n) / n)`` and compare with
    Student's t on ``n - 1`` degrees of freedom (two-sided p-value). The factor is at most 1, so it only
    makes the test more cautious; at ``h = 1`` it is the ``n / (n - 1)`` degrees-of-freedom correction
    (statsmodels' ``use_correction=True``).

    Degenerate cases: all ``d_t == 0`` gives statistic 0 and p 1; constant non-zero ``d_t``
    (zero variance) gives statistic ``±inf`` and p 0.
    Requires ``n >= 2`` and ``h < n``.
    """
    h = _positive_int(h, "h")
    if not np.isfinite(power) or power <= 0:
        raise ValueError(f"power must be a positive finite number, got {power!r}")
    a, b = _pair(e1, e2, "e1", "e2")
    n = a.size
    if n < 2:
        raise ValueError(f"Diebold-Mariano needs at least 2 paired errors, got {n}")
    if h >= n:
        raise ValueError(f"h={h} must be smaller than the number of errors n={n}")
    lags = min(newey_west_lags(n, h), n - 1) if lags is None else lags

    d = np.abs(a) ** power - np.abs(b) ** power
    d_bar = float(np.mean(d))
    if not np.any(d):
        return DMResult(0.0, 1.0, 0.0, n, lags)
    centred = d - d_bar
    if np.max(np.abs(centred)) <= 64 * np.finfo(float).eps * np.max(np.abs(d)):
        return DMResult(float(np.copysign(np.inf, d_bar)), 0.0, d_bar, n, lags)

    long_run_var = float(hac_covariance(centred, lags)[0, 0])
    dm = d_bar / np.sqrt(long_run_var / n)
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = float(hln * dm)
    p_value = float(2.0 * stats.t.sf(abs(statistic), df=n - 1))
    return DMResult(statistic, p_value, d_bar, n, lags)


# --------------------------------------------------------------------------------------------------
# Mincer-Zarnowitz


class MZResult(NamedTuple):
    """Result of :func:`mincer_zarnowitz`: ``actual = intercept + slope * forecast + u``.

    f_stat and p_value: the joint Wald test of intercept 0 and slope 1 (HAC covariance), as F(2, n - 2);
    slope_p: the HAC t-test of slope 1 alone (t with n - 2 degrees of freedom): a forecast that moves less
    than the price has a slope above 1, a biased one only an intercept.
    """

    intercept: float
    slope: float
    f_stat: float
    p_value: float
    slope_p: float
    n: int
    lags: int


def mincer_zarnowitz(actual: ArrayLike, forecast: ArrayLike, h: int = 1, lags: int | None = None) -> MZResult:
    """Mincer-Zarnowitz (1969) efficiency test: regress ``actual`` on a constant and ``forecast``.

    An efficient (unbiased, not over- or under-reacting) forecast has intercept 0 and slope 1; the joint
    Wald statistic ``W = (b - (0, 1))' C^{-1} (b - (0, 1))`` uses the HAC covariance ``C = (X'X)^{-1} n S
    (X'X)^{-1} n / (n - 2)`` (:func:`hac_covariance` of ``x_t u_t`` with ``lags`` Bartlett lags, by default
    :func:`newey_west_lags`; the ``n / (n - 2)`` small-sample factor), and ``F = W / 2`` is compared with
    F(2, n - 2). This is statsmodels' ``OLS(actual, [1, forecast]).fit(cov_type="HAC", cov_kwds={"maxlags":
    lags, "use_correction": True}).f_test("const = 0, x1 = 1")`` (and ``t_test("x1 = 1")`` for
    ``slope_p``), which a test checks.

    Unlike the slope of forecast on actual, which is below 1 for any forecast with errors (the naive one
    too), the slope of actual on forecast is 1 for an efficient forecast.
    """
    y, f = _pair(actual, forecast, "actual", "forecast")
    n = y.size
    if n < 4 or np.ptp(f) == 0:
        raise ValueError(f"Mincer-Zarnowitz needs at least 4 values and a forecast that varies, got n={n}")
    lags = min(newey_west_lags(n, _positive_int(h, "h")), n - 1) if lags is None else lags
    x = np.column_stack([np.ones(n), f])
    xtx_inv = np.linalg.inv(x.T @ x)
    b = xtx_inv @ x.T @ y
    u = y - x @ b
    cov = xtx_inv @ (n * hac_covariance(x * u[:, None], lags)) @ xtx_inv * n / (n - 2)
    r = b - np.array([0.0, 1.0])
    f_stat = float(r @ np.linalg.solve(cov, r) / 2.0)
    p_value = float(stats.f.sf(f_stat, 2, n - 2))
    slope_p = float(2.0 * stats.t.sf(abs(r[1]) / np.sqrt(cov[1, 1]), n - 2))
    return MZResult(float(b[0]), float(b[1]), f_stat, p_value, slope_p, n, lags)


# --------------------------------------------------------------------------------------------------
# paired comparisons over seeds and the one aggregation of p-values


class PairedResult(NamedTuple):
    """Result of :func:`paired_difference`: ``b - a`` paired by seed.

    mean, low, high: mean paired difference and its two-sided t interval; p_value: paired t-test
    (scipy ``ttest_rel``); wilcoxon_p: exact Wilcoxon signed-rank p; lower: pairs with ``b < a``; n: pairs.
    """

    mean: float
    low: float
    high: float
    p_value: float
    wilcoxon_p: float
    lower: int
    n: int


def paired_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> PairedResult:
    """Compare two steps run on the same seeds (same data, same initial draw): ``b - a`` per seed.

    Seeds are pairs, so the seed-to-seed spread both steps share cancels in the difference; the "two sd
    over seeds" rule ignores that and needs effects far larger than the data can show. Needs 2 pairs or
    more; with differences all equal the interval is a point and p is 0 (or 1 for all zero).
    """
    x, y = _pair(a, b, "a", "b")
    if x.size < 2:
        raise ValueError(f"a paired comparison needs at least 2 pairs, got {x.size}")
    d = y - x
    n, mean = d.size, float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(n))
    if se == 0.0:
        p = 1.0 if mean == 0.0 else 0.0
        return PairedResult(mean, mean, mean, p, p, int((d < 0).sum()), n)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * se
    p = float(stats.ttest_rel(y, x).pvalue)
    w = float(stats.wilcoxon(d).pvalue) if np.any(d) else 1.0
    return PairedResult(mean, mean - half, mean + half, p, w, int((d < 0).sum()), n)


def median_p(p_values: ArrayLike) -> float:
    """The one summary of per-seed p-values on every page: their median.

    Below ``alpha`` exactly when more than half of the seeds are significant at ``alpha``; a mean of
    p-values has no such reading (one seed at 0.04 and one at 0.9 average to 0.47).
    """
    return float(np.median(_as_1d(p_values, "p_values")))


# --------------------------------------------------------------------------------------------------
# convenience


def forecast_report(
    y_true: ArrayLike, y_pred: ArrayLike, y_ref: ArrayLike, y_train: ArrayLike, lag: int = 1
) -> dict[str, float]:
    """MAE, RMSE, MASE (scaled at ``lag``) and directional accuracy in one dict, for tables."""
    return {
        "mae": mae(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mase": mase(y_true, y_pred, y_train, lag=lag),
        "directional_accuracy": directional_accuracy(y_true, y_pred, y_ref),
    }
