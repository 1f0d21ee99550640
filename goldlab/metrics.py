"""Point-forecast metrics, baseline forecasts and the Diebold-Mariano test.

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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "DMResult",
    "diebold_mariano",
    "directional_accuracy",
    "drift_forecast",
    "forecast_report",
    "mae",
    "mase",
    "naive_forecast",
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
# Diebold-Mariano


class DMResult(NamedTuple):
    """Result of :func:`diebold_mariano`.

    statistic: HLN-corrected DM statistic; positive means model 1 has the larger loss.
    p_value: two-sided p-value from Student's t with ``n - 1`` degrees of freedom.
    mean_diff: mean loss differential ``mean(|e1|**power - |e2|**power)``.
    n: number of paired errors.
    """

    statistic: float
    p_value: float
    mean_diff: float
    n: int


def diebold_mariano(e1: ArrayLike, e2: ArrayLike, h: int = 1, power: float = 2) -> DMResult:
    """Diebold-Mariano test of equal accuracy with the Harvey-Leybourne-Newbold correction.

    Loss differential ``d_t = |e1_t|**power - |e2_t|**power``, ``d_bar = mean(d)``. The long-run
    variance uses the rectangular kernel of Diebold & Mariano (1995) with autocovariances up to lag
    ``h - 1``: ``V = gamma_0 + 2 * sum_{k=1}^{h-1} gamma_k``, ``gamma_k = (1/n) sum_{t>=k}
    (d_t - d_bar)(d_{t-k} - d_bar)``, and ``DM = d_bar / sqrt(V / n)``. If ``V <= 0`` (possible for
    ``h > 1`` with this kernel) the lag-0 variance ``gamma_0`` is used instead.

    Harvey, Leybourne & Newbold (1997) multiply by ``sqrt((n + 1 - 2h + h(h - 1)/n) / n)`` and
    compare with Student's t on ``n - 1`` degrees of freedom (two-sided p-value).

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

    d = np.abs(a) ** power - np.abs(b) ** power
    d_bar = float(np.mean(d))
    if not np.any(d):
        return DMResult(0.0, 1.0, 0.0, n)
    centred = d - d_bar
    if np.max(np.abs(centred)) <= 64 * np.finfo(float).eps * np.max(np.abs(d)):
        return DMResult(float(np.copysign(np.inf, d_bar)), 0.0, d_bar, n)

    gamma = [float(np.dot(centred[k:], centred[: n - k])) / n for k in range(h)]
    long_run_var = gamma[0] + 2.0 * sum(gamma[1:])
    if long_run_var <= 0:
        long_run_var = gamma[0]
    dm = d_bar / np.sqrt(long_run_var / n)
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = float(hln * dm)
    p_value = float(2.0 * stats.t.sf(abs(statistic), df=n - 1))
    return DMResult(statistic, p_value, d_bar, n)


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
