"""Price files in, one validated daily price table out: nothing misread, dropped or filled silently.

The table
---------
Every price table in goldlab has one shape: a ``DatetimeIndex`` named ``date`` (one row per calendar day,
in ascending order) and a float64 column ``close`` (USD), plus ``open``, ``high``, ``low`` and ``volume``
when the source has them. ``attrs["source"]`` names the source and ``attrs["columns"]`` the source column
behind each output column.

Three steps, each its own small functions
-----------------------------------------
* **parse** (:func:`parse_dates`, :func:`infer_decimal`, :func:`parse_numbers`): text cells to datetimes and
  floats. The date format and the decimal mark are inferred from the whole column (the decimal mark from all
  numeric columns of the file together), never from the first row. Where two readings fit every row
  (``01/02/2020`` day-first and month-first; ``556,148`` with ``,`` as thousands or decimal mark), a
  :class:`DataError` says so and names the option that settles it (``dayfirst=`` / ``date_format=``,
  ``decimal=``).
* **normalise** (:func:`normalise_prices`): sort, refuse duplicated dates, make the table daily (intraday rows
  are refused unless ``resample="1D"`` asks for daily bars) and fill gaps only when ``fill=`` asks.
* **validate** (:func:`check_prices`, :func:`plausibility_warnings`): missing, infinite and non-positive
  prices are errors; a high below its low, a one-day move beyond ``max_move`` and dates in the future are
  warnings (:class:`PriceWarning`) that name the rows.

Every error is a :class:`DataError` (a ``ValueError``) whose message names the source, the column, the row
(1-based data row as read, the first line after the header being row 1) and the date when it is known, and
the option that fixes it, e.g. ``prices.csv: column 'Close', row 17 (2021-03-04): non-numeric value 'abc'``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "check_prices",
    "DataError",
    "fmt_date",
    "infer_decimal",
    "normalise_prices",
    "parse_dates",
    "parse_numbers",
    "plausibility_warnings",
    "PriceWarning",
    "read_prices",
    "validate_prices",
]

PRICE_COLUMNS: tuple[str, ...] = ("close", "open", "high", "low")
OUTPUT_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
FILL_CHOICES: tuple[str | None, ...] = (None, "ffill", "drop")
RESAMPLE_CHOICES: tuple[str | None, ...] = (None, "1D")
MAX_MOVE = 0.5  # default bound on |close_t / close_{t-1} - 1| before a warning

_DATE_NAMES = ("date", "datetime", "observationdate", "timestamp", "gmttime", "localtime", "time", "day")
_TIME_NAMES = ("time",)
_CLOSE_NAMES = ("close", "adjclose", "price", "value", "last", "usdpm", "usd", "usdam")
_FIELD_NAMES = {"open": ("open",), "high": ("high",), "low": ("low",)}
_VOLUME_NAMES = ("volume", "vol", "tickvol", "tickvolume", "realvolume")
_YF_FIELDS = {"open", "high", "low", "close", "adjclose", "volume"}
_MISSING = {"", ".", "-", "--", "n/a", "na", "nan", "null", "none", "#n/a"}
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9}
_SPACES = re.compile(r"(?<=\d)[\s\u00a0\u202f']+(?=\d)")
_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})$")  # after a time
_TIME_CELL = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_PLAIN = re.compile(r"[+-]?\d+(?:\.\d+)?")
_NUMBER_CELL = re.compile(r"^[+-]?(\d[\d\s\u00a0\u202f.,']*)?\d?([.,]\d+)?([eE][+-]?\d+)?[KMBkmb%]?$")
_XLSX_HINT = "pip install 'goldlab[xlsx]' (openpyxl), or save the sheet as CSV"

# Date formats, tried on the whole column. Pairs that differ only in day/month order carry the order.
_UNAMBIGUOUS_DAYS = (
    "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d",
    "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%d %b %y",
)  # fmt: skip
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S", "T%H:%M:%S.%f")


def _date_formats() -> list[tuple[str, str | None]]:
    """(format, order) candidates; order is 'dmy'/'mdy' for the numeric day/month forms, else None."""
    out: list[tuple[str, str | None]] = []
    for day in _UNAMBIGUOUS_DAYS:
        out += [(day + t, None) for t in _TIMES]
    for sep in "/.-":
        for year in "Yy":
            for order, day in (("dmy", f"%d{sep}%m{sep}%{year}"), ("mdy", f"%m{sep}%d{sep}%{year}")):
                out += [(day + t, order) for t in _TIMES if not t.startswith("T")]
    return out


_FORMATS = _date_formats()


class DataError(ValueError):
    """Invalid or ambiguous price data; the message names the source, column, row/date and the fix."""


class PriceWarning(UserWarning):
    """A price table that reads fine but looks implausible (rows named in the message)."""


# --------------------------------------------------------------------------------------------- messages


def fmt_date(value: Any) -> str:
    """Short text for a timestamp: the date alone when the time is midnight."""
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _where(source: str, column: Any = None, row: int | None = None, date: Any = None) -> str:
    """``source: column 'X', row N (date)`` prefix for error messages."""
    parts = []
    if column is not None:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row}" + (f" ({fmt_date(date)})" if date is not None and pd.notna(date) else ""))
    return f"{source}: " + ", ".join(parts) if parts else f"{source}"


def _row_list(rows: np.ndarray, dates: Any = None, limit: int = 5) -> str:
    """``rows 3 (2020-01-02), 9 (2020-01-10) and 4 more`` for messages."""
    shown = []
    for k, r in enumerate(rows[:limit]):
        date = f" ({fmt_date(dates[k])})" if dates is not None and pd.notna(dates[k]) else ""
        shown.append(f"{int(r)}{date}")
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(shown) + more


def _norm(label: Any) -> str:
    """Lower-case alphanumerics of a column label (``'Adj Close'`` -> ``'adjclose'``)."""
    return re.sub(r"[^a-z0-9]", "", str(label).lower())


# --------------------------------------------------------------------------------------------- parse: dates


def _wall_and_offset(raw: list[str]) -> tuple[list[str], np.ndarray | None]:
    """Strip UTC offsets (``+01:00``, ``-0500``, ``Z``); return the wall-clock text and offsets in minutes."""
    if not any(_OFFSET.search(v) for v in raw if v):
        return raw, None
    wall, minutes = [], np.zeros(len(raw))
    for i, v in enumerate(raw):
        m = _OFFSET.search(v)
        if m is None:
            wall.append(v)
            continue
        off = m.group(2)
        if off != "Z":
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            minutes[i] = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        wall.append(v[: m.start()] + m.group(1))
    return wall, minutes


def _sane(parsed: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """NaT for years outside 1800..2200 (a two-digit year read as year 20 is not a reading)."""
    years = parsed.year
    return parsed.where((years >= 1800) & (years <= 2200))


def _try_format(values: pd.Series, fmt: str) -> pd.DatetimeIndex | None:
    """The column read with ``fmt`` (NaT where it does not fit), or None when pandas rejects ``fmt``."""
    try:
        parsed = pd.DatetimeIndex(pd.to_datetime(values, format=fmt, errors="coerce"))
    except (ValueError, TypeError, OverflowError):
        return None
    if parsed.tz is not None:
        parsed = parsed.tz_localize(None)
    return _sane(parsed)


def _candidates(first: str, dayfirst: bool | None, date_format: str | None) -> list[tuple[str, str | None]]:
    """Formats that read the first date (cheap prefilter), restricted by ``dayfirst``/``date_format``."""
    if date_format is not None:
        return [(date_format, None)]
    keep = []
    for fmt, order in _FORMATS:
        if (dayfirst is True and order == "mdy") or (dayfirst is False and order == "dmy"):
            continue
        try:
            dt.datetime.strptime(first, fmt)
        except ValueError:
            continue
        keep.append((fmt, order))
    return keep


def _ambiguous_dates(
    readings: list[tuple[str, pd.DatetimeIndex]], raw: list[str], source: str, label: Any, rows: np.ndarray
) -> DataError:
    """The error for a column that two formats read completely but differently."""
    (fmt_a, a), (fmt_b, b) = readings[:2]
    i = int(np.flatnonzero(a != b)[0])
    return DataError(
        f"{_where(source, label, int(rows[i]))}: every date in the column reads two ways: {raw[i]!r} is "
        f"{fmt_date(a[i])} as {fmt_a!r} and {fmt_date(b[i])} as {fmt_b!r} (day-first or month-first cannot "
        f"be told from the data); pass dayfirst=True or dayfirst=False, or date_format={fmt_a!r}"
    )


def parse_dates(
    values: pd.Series | pd.Index | Sequence[Any],
    source: str,
    label: Any,
    rows: np.ndarray,
    dayfirst: bool | None = None,
    date_format: str | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray | None]:
    """Wall-clock datetimes of a date column and its UTC offsets in minutes (None when it has none).

    The format is inferred from the whole column: every candidate format (ISO, ``2020.01.02``, ``20200102``,
    ``Mar 25, 2020``, ``02-Jan-2020``, ``dd/mm/yyyy`` and ``mm/dd/yyyy`` with ``/``, ``.`` or ``-``, each with
    an optional time) that reads the first date is tried on every row. If two formats read every row to
    different dates, the column is ambiguous and a DataError names ``dayfirst=`` and ``date_format=``. If none
    reads every row, the DataError names the first row that the best one cannot read.
    """
    if isinstance(getattr(values, "dtype", None), pd.DatetimeTZDtype):
        idx = pd.DatetimeIndex(values)
        offsets = np.asarray([ts.utcoffset().total_seconds() / 60 for ts in idx])
        return _no_missing(idx.tz_localize(None), source, label, rows), offsets
    if pd.api.types.is_datetime64_any_dtype(getattr(values, "dtype", None)):
        return _no_missing(pd.DatetimeIndex(values), source, label, rows), None
    raw = pd.Series(np.asarray(values, dtype=object)).map(_cell_text).tolist()
    wall, offsets = _wall_and_offset(raw)
    blank = np.array([v == "" for v in wall])
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise DataError(
            f"{_where(source, label, int(rows[i]))}: missing date; give the row a date or remove it"
        )
    series = pd.Series(wall, dtype=object)
    complete: list[tuple[str, pd.DatetimeIndex]] = []
    best: tuple[str, pd.DatetimeIndex] | None = None
    for fmt, _order in _candidates(wall[0], dayfirst, date_format) + [("ISO8601", None)]:
        parsed = _try_format(series, fmt)
        if parsed is None:
            continue
        if not parsed.isna().any():
            if not any(parsed.equals(other) for _, other in complete):
                complete.append((fmt, parsed))
        elif best is None or parsed.isna().sum() < best[1].isna().sum():
            best = (fmt, parsed)
    if len(complete) > 1:
        raise _ambiguous_dates(complete, raw, source, label, rows)
    if complete:
        return complete[0][1], offsets
    i = 0 if best is None else int(np.flatnonzero(best[1].isna())[0])
    seen = "" if best is None or best[1].notna().sum() == 0 else f" (other rows read as {best[0]!r})"
    raise DataError(
        f"{_where(source, label, int(rows[i]))}: unparseable date {raw[i]!r}{seen}; "
        "pass date_format= (e.g. date_format='%d/%m/%Y') or dayfirst="
    )


def _cell_text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()


def _no_missing(idx: pd.DatetimeIndex, source: str, label: Any, rows: np.ndarray) -> pd.DatetimeIndex:
    if idx.isna().any():
        i = int(np.flatnonzero(idx.isna())[0])
        raise DataError(
            f"{_where(source, label, int(rows[i]))}: missing date; give the row a date or remove it"
        )
    return idx


# --------------------------------------------------------------------------------------------- parse: numbers


def _token(value: Any) -> str:
    """A cell as stripped text with digit-group spaces/apostrophes removed."""
    text = "" if value is None else str(value).strip().strip('"').strip()
    return _SPACES.sub("", text)


def _plain(values: pd.Series) -> list[str] | None:
    """The stripped cells when every one is a plain number (digits, at most one '.'), else None."""
    fits = _PLAIN.fullmatch
    out = []
    for v in values.to_numpy(dtype=object):
        if not isinstance(v, str) or fits(v := v.strip()) is None:
            return None
        out.append(v)
    return out


def _plain_evidence(tokens: list[str]) -> dict[str, int]:
    """First row of each kind of evidence in a plain-number column (see :func:`_evidence`)."""
    found: dict[str, int] = {}
    for i, v in enumerate(tokens):
        head, dot, tail = v.lstrip("+-").partition(".")
        if not dot:
            continue
        kind = "ambiguous" if len(tail) == 3 and len(head) <= 3 and not head.startswith("0") else "."
        found.setdefault(kind, i)
        if len(found) == 2:
            break
    return found


def _evidence(token: str) -> str | None:
    """Decimal mark a token proves ('.' or ','), 'ambiguous' (``556,148``), or None (no separator)."""
    body = re.sub(r"[eE][+-]?\d+$", "", token.lstrip("+-").rstrip("KMBkmb%"))
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return "." if body.rfind(".") > body.rfind(",") else ","
    if not dots and not commas:
        return None
    mark = "." if dots else ","
    if dots + commas > 1:
        return "," if mark == "." else "."  # repeated mark = thousands separator
    head, tail = body.split(mark)
    if len(tail) != 3 or len(head) > 3 or head in ("", "0") or head.startswith("0"):
        return mark
    return "ambiguous"


def infer_decimal(
    columns: dict[Any, pd.Series], source: str, rows: np.ndarray, decimal: str | None = None
) -> str:
    """The decimal mark of a file's numeric columns, from every cell of all of them together.

    A cell proves the mark when both ``.`` and ``,`` occur (the last one is decimal), when one mark repeats
    (thousands), or when a single mark is not followed by exactly three digits after one to three leading
    digits. Cells like ``556,148`` prove nothing. Conflicting proofs, or only unproven cells, raise a
    DataError naming ``decimal=``; with no separators at all the mark is ``.``.
    """
    if decimal is not None:
        if decimal not in (".", ","):
            raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
        return decimal
    found: dict[str, tuple[Any, int, str]] = {}
    for label, values in columns.items():
        if pd.api.types.is_numeric_dtype(values.dtype):
            continue
        plain = _plain(values)
        if plain is not None:  # fast path: digits and one '.' only
            for kind, i in _plain_evidence(plain).items():
                found.setdefault(kind, (label, i, plain[i]))
            continue
        for i, v in enumerate(values.to_numpy(dtype=object)):
            kind = _evidence(_token(v))
            if kind is not None and kind not in found:
                found[kind] = (label, i, str(v))
    if "." in found and "," in found:
        (la, ia, va), (lb, ib, vb) = found["."], found[","]
        raise DataError(
            f"{_where(source, la, int(rows[ia]))}: {va!r} has a decimal point but column '{lb}', row "
            f"{int(rows[ib])} has {vb!r} with a decimal comma; pass decimal='.' or decimal=','"
        )
    if "." in found or "," in found:
        return "." if "." in found else ","
    if "ambiguous" in found:
        label, i, v = found["ambiguous"]
        mark = "," if "," in v else "."
        other = "." if mark == "," else ","
        as_thousands = _token(v).replace(mark, "")
        as_decimal = _token(v).replace(mark, ".")
        raise DataError(
            f"{_where(source, label, int(rows[i]))}: {v!r} reads as {as_thousands} ({mark!r} as thousands "
            f"separator) or {as_decimal} ({mark!r} as decimal mark), and no value in the file tells which; "
            f"pass decimal={mark!r} or decimal={other!r}"
        )
    return "."


def _to_float(token: str, decimal: str, suffixes: bool) -> float | None:
    """Float of a cleaned token under ``decimal``; None when it is not a number."""
    scale = 1.0
    if suffixes and token and token[-1].upper() in _SUFFIX:
        scale, token = _SUFFIX[token[-1].upper()], token[:-1]
    thousands = "," if decimal == "." else "."
    if thousands in token:
        if not re.fullmatch(rf"[+-]?\d{{1,3}}(\{thousands}\d{{3}})+(\{decimal}\d*)?", token):
            return None
        token = token.replace(thousands, "")
    token = token.replace(decimal, ".")
    try:
        return float(token) * scale
    except ValueError:
        return None


def parse_numbers(
    values: pd.Series,
    source: str,
    label: Any,
    rows: np.ndarray,
    dates: pd.DatetimeIndex | None = None,
    decimal: str = ".",
    suffixes: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values of a column and a mask of its missing cells (``''``, ``.``, ``-``, ``n/a``, ``null``).

    ``decimal`` is the file's decimal mark (see :func:`infer_decimal`); the other mark, spaces and
    apostrophes are digit-group separators. ``suffixes`` reads volumes like ``107.50K``. Anything else that
    is not a number raises a DataError naming the row.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        out = values.to_numpy(dtype="float64", na_value=np.nan)
        return out, np.isnan(out)
    plain = _plain(values) if decimal == "." else None
    if plain is not None:  # fast path: digits and one '.' only
        out = np.asarray(plain, dtype="float64")
        return out, np.zeros(len(out), dtype=bool)
    raw = values.to_numpy(dtype=object)
    out = np.full(len(raw), np.nan)
    missing = np.zeros(len(raw), dtype=bool)
    for i, v in enumerate(raw):
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            out[i] = float(v)
            missing[i] = np.isnan(out[i])
            continue
        token = _token(v)
        if token.lower() in _MISSING:
            missing[i] = True
            continue
        number = _to_float(token, decimal, suffixes)
        if number is None:
            date = dates[i] if dates is not None else None
            raise DataError(
                f"{_where(source, label, int(rows[i]), date)}: non-numeric value {v!r} (decimal mark "
                f"{decimal!r}; pass decimal= if that is wrong)"
            )
        out[i] = number
        missing[i] = np.isnan(number)
    return out, missing


# --------------------------------------------------------------------------------------------- normalise


def _check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _refuse_duplicates(dates: pd.DatetimeIndex, row_no: np.ndarray, source: str, label: Any) -> None:
    dup = dates.duplicated(keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        j = int(np.flatnonzero(dates == dates[i])[1])
        raise DataError(
            f"{source}: column '{label}', rows {row_no[i]} and {row_no[j]} ({fmt_date(dates[i])}): "
            "duplicated date; remove one of the rows"
        )


def _daily(
    dates: pd.DatetimeIndex,
    offsets: np.ndarray | None,
    data: dict[str, np.ndarray],
    row_no: np.ndarray,
    source: str,
    label: Any,
    resample: str | None,
) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], np.ndarray, int]:
    """One row per calendar day: daily bars keep their local date; intraday rows are refused or resampled."""
    days = dates.normalize()
    if not days.duplicated().any():
        return days, data, row_no, 0
    if offsets is not None:  # intraday timestamps with offsets: one zone, UTC
        dates = dates - pd.to_timedelta(offsets, unit="min")
        order = np.argsort(dates.to_numpy(), kind="stable")
        dates, row_no = dates[order], row_no[order]
        data = {k: v[order] for k, v in data.items()}
        days = dates.normalize()
    if resample is None:
        i = int(np.flatnonzero(days.duplicated(keep=False))[0])
        j = i + 1
        raise DataError(
            f"{source}: column '{label}', rows {row_no[i]} and {row_no[j]} ({fmt_date(dates[i])} and "
            f"{fmt_date(dates[j])}): several rows on one day (intraday data); goldlab models daily closes: "
            "pass resample='1D' for daily bars (last close, first open, max high, min low, summed volume)"
        )
    frame = pd.DataFrame(data, index=days)
    groups = frame.groupby(level=0, sort=True)
    agg = {"close": "last", "open": "first", "high": "max", "low": "min", "volume": "sum"}
    out = groups.agg({k: agg[k] for k in data})
    last_rows = pd.Series(row_no, index=days).groupby(level=0).last().to_numpy()
    return pd.DatetimeIndex(out.index), {k: out[k].to_numpy() for k in data}, last_rows, len(dates)


def _fill(
    data: dict[str, np.ndarray],
    missing: np.ndarray,
    dates: pd.DatetimeIndex,
    row_no: np.ndarray,
    fill: str,
    source: str,
    labels: dict[str, Any],
) -> tuple[dict[str, np.ndarray], pd.DatetimeIndex, np.ndarray, dict[str, Any]]:
    """Apply ``fill`` ('ffill' or 'drop') to rows with a missing price; warn with the rows it touched."""
    rows = np.flatnonzero(missing)
    if fill == "drop":
        keep = ~missing
        what = f"dropped {len(rows)} row(s) with a missing price"
        report = {"dropped_rows": len(rows)}
        data = {k: v[keep] for k, v in data.items()}
        shown_dates, shown_rows = dates[rows], row_no[rows]
        dates, row_no = dates[keep], row_no[keep]
    else:
        lead = len(missing) if missing.all() else int(np.argmax(~missing))
        if lead:
            col = next(c for c in PRICE_COLUMNS if c in data and np.isnan(data[c][0]))
            raise DataError(
                f"{_where(source, labels.get(col, col), int(row_no[0]), dates[0])}: missing first price "
                f"cannot be forward-filled ({_row_list(row_no[:lead], dates[:lead])} lead the file without "
                "a price); pass fill='drop' to drop rows without a price instead"
            )
        for col in PRICE_COLUMNS:
            if col in data:
                data[col] = pd.Series(data[col]).ffill().to_numpy()
        what = f"forward-filled {len(rows)} row(s) with missing prices"
        report = {"filled_rows": len(rows)}
        shown_dates, shown_rows = dates[rows], row_no[rows]
    if len(rows):
        warnings.warn(f"{source}: {what}: {_row_list(shown_rows, shown_dates)}", PriceWarning, stacklevel=5)
    else:
        warnings.warn(f"{source}: {what}", PriceWarning, stacklevel=5)
    return data, dates, row_no, report


def normalise_prices(
    dates: pd.DatetimeIndex,
    offsets: np.ndarray | None,
    data: dict[str, np.ndarray],
    row_no: np.ndarray,
    source: str,
    labels: dict[str, Any],
    fill: str | None = None,
    resample: str | None = None,
) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
    """Sort by date, refuse duplicates, make the rows daily and apply ``fill``; returns attrs to record.

    Daily bars keep the calendar date of their own clock: offsets such as ``-05:00``/``-04:00`` across a
    daylight-saving change are dropped, so each row stays on the trading day the file gives it (a ``+08:00``
    midnight is not moved to the previous day). Intraday timestamps with offsets are converted to one zone,
    UTC, before ``resample='1D'`` groups them by UTC day; intraday rows without ``resample`` are an error.
    """
    label = labels.get("date", "date")
    instants = dates if offsets is None else dates - pd.to_timedelta(offsets, unit="min")
    _refuse_duplicates(instants, row_no, source, label)  # 01:30-04:00 and 01:30-05:00 are two instants
    order = np.argsort(dates.to_numpy(), kind="stable")
    dates, row_no = dates[order], row_no[order]
    offsets = None if offsets is None else offsets[order]
    data = {k: v[order] for k, v in data.items()}
    dates, data, row_no, intraday_rows = _daily(dates, offsets, data, row_no, source, label, resample)
    attrs: dict[str, Any] = {}
    if intraday_rows:
        attrs["resampled_from_rows"] = intraday_rows
        warnings.warn(
            f"{source}: resampled {intraday_rows} intraday rows to {len(dates)} daily bars",
            PriceWarning,
            stacklevel=4,
        )
    if fill is not None:
        missing = np.zeros(len(dates), dtype=bool)
        for col in PRICE_COLUMNS:
            if col in data:
                missing |= np.isnan(data[col])
        data, dates, row_no, report = _fill(data, missing, dates, row_no, fill, source, labels)
        attrs.update(report)
    return dates, data, row_no, attrs


# --------------------------------------------------------------------------------------------- validate


def check_prices(
    dates: pd.DatetimeIndex, data: dict[str, np.ndarray], row_no: np.ndarray, source: str, labels: dict
) -> None:
    """DataError for missing (all rows named), infinite or non-positive prices, and negative volumes."""
    for col in OUTPUT_COLUMNS:
        if col not in data:
            continue
        values, label = data[col], labels.get(col, col)
        if col != "volume" and np.isnan(values).any():
            idx = np.flatnonzero(np.isnan(values))
            i = int(idx[0])
            raise DataError(
                f"{_where(source, label, int(row_no[i]), dates[i])}: missing price (empty/NaN); "
                f"{len(idx)} missing in all, {_row_list(row_no[idx], dates[idx])}; pass fill='drop' to drop "
                "those rows or fill='ffill' to carry the last price forward"
            )
        checks = [(np.isinf(values), "infinite value")]
        checks.append(
            (values < 0, "negative volume") if col == "volume" else (values <= 0, "non-positive price")
        )
        for mask, problem in checks:
            if mask.any():
                i = int(np.flatnonzero(mask)[0])
                raise DataError(
                    f"{_where(source, label, int(row_no[i]), dates[i])}: {problem} {float(values[i])!r}; "
                    "correct the row in the source (or remove it)"
                )


def plausibility_warnings(
    prices: pd.DataFrame,
    row_no: np.ndarray,
    source: str,
    labels: dict[str, Any],
    max_move: float | None = MAX_MOVE,
    today: pd.Timestamp | None = None,
) -> list[str]:
    """Warn (PriceWarning) about a high below its low, one-day close moves beyond ``max_move`` and dates
    after ``today`` (default: today's UTC date); returns the messages."""
    found = []
    dates = prices.index
    if "high" in prices and "low" in prices:
        bad = np.flatnonzero(prices["high"].to_numpy() < prices["low"].to_numpy())
        if len(bad):
            found.append(
                f"column '{labels.get('high', 'high')}' below column '{labels.get('low', 'low')}' in "
                f"{_row_list(row_no[bad], dates[bad])}"
            )
    if max_move is not None and len(prices) > 1:
        close = prices["close"].to_numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            move = np.abs(close[1:] / close[:-1] - 1.0)
        bad = np.flatnonzero(~(move <= max_move)) + 1
        if len(bad):
            found.append(
                f"column '{labels.get('close', 'close')}': one-day move beyond {max_move:.0%} (max_move=) in "
                f"{_row_list(row_no[bad], dates[bad])}; check for a typo or a unit change"
            )
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() if today is None else today
    bad = np.flatnonzero(dates > today)
    if len(bad):
        found.append(
            f"column '{labels.get('date', 'date')}': date after today ({fmt_date(today)}) in "
            f"{_row_list(row_no[bad], dates[bad])}"
        )
    for text in found:
        warnings.warn(f"{source}: {text}", PriceWarning, stacklevel=4)
    return found


def validate_prices(
    df: pd.DataFrame,
    source_name: str,
    *,
    fill: str | None = None,
    rows: Sequence[int] | None = None,
    labels: dict[str, Any] | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    decimal: str | None = None,
    resample: str | None = None,
    max_move: float | None = MAX_MOVE,
) -> pd.DataFrame:
    """Parse, normalise and check a price table; return it daily, ascending, with a ``date`` index.

    ``df`` has a ``DatetimeIndex`` (or a ``date`` column) and a ``close`` column, optionally ``open``,
    ``high``, ``low``, ``volume``; cells may still be raw text. ``rows`` are the 1-based source row numbers of
    ``df``'s rows (default 1..n) and ``labels`` the source names of the columns, both for messages. Raises
    DataError on: no rows, no price column, unparseable or ambiguous dates, an ambiguous decimal mark,
    non-numeric values, missing/inf or non-positive prices, duplicated dates, intraday rows (unless
    ``resample='1D'``). Missing volumes are allowed (NaN). ``fill='ffill'`` forward-fills missing prices
    (a missing first price stays an error), ``fill='drop'`` drops the rows; both warn naming the rows and
    record ``attrs['filled_rows']`` / ``attrs['dropped_rows']``. ``max_move`` bounds the one-day close move
    before a :class:`goldlab.prices.PriceWarning` (None: no check).
    """
    _check_choice("fill", fill, FILL_CHOICES)
    _check_choice("resample", resample, RESAMPLE_CHOICES)
    labels = dict(labels or {})
    if len(df) == 0:
        raise DataError(f"{source_name}: empty input, no data rows (columns seen: {list(df.columns)})")
    if "close" not in df.columns:
        raise DataError(f"{source_name}: no price column 'close' found (columns seen: {list(df.columns)})")
    row_no = np.arange(1, len(df) + 1) if rows is None else np.asarray(rows, dtype=int)
    if "date" in df.columns:
        date_values, date_label = df["date"], labels.get("date", "date")
    elif isinstance(df.index, pd.DatetimeIndex) or df.index.name is not None:
        date_values, date_label = df.index, labels.get("date", df.index.name or "<index>")
    else:
        raise DataError(f"{source_name}: no date column found (columns seen: {list(df.columns)})")
    labels.setdefault("date", date_label)
    dates, offsets = parse_dates(date_values, source_name, date_label, row_no, dayfirst, date_format)
    present = [c for c in OUTPUT_COLUMNS if c in df.columns]
    columns = {labels.get(c, c): df[c].reset_index(drop=True) for c in present}
    mark = infer_decimal(columns, source_name, row_no, decimal)
    data = {
        c: parse_numbers(columns[labels.get(c, c)], source_name, labels.get(c, c), row_no, dates, mark,
                         suffixes=c == "volume")[0]
        for c in present
    }  # fmt: skip
    dates, data, row_no, attrs = normalise_prices(
        dates, offsets, data, row_no, source_name, labels, fill, resample
    )
    check_prices(dates, data, row_no, source_name, labels)
    out = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="date"))
    found = plausibility_warnings(out, row_no, source_name, labels, max_move)
    out.attrs.update(attrs, source=source_name, decimal=mark, warnings=found)
    out.attrs["columns"] = {c: labels.get(c, c) for c in ("date", *present)}
    return out


# --------------------------------------------------------------------------------------------- load: bytes


def _decode(data: bytes, name: str) -> str:
    """Text of a file's bytes: gzip unpacked; UTF-16 (BOM or NUL pattern), UTF-8 (BOM stripped), cp1252."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{name}: cannot unpack the gzip file ({exc})") from exc
    if data[:4] == b"PK\x03\x04":
        raise DataError(f"{name}: a zip archive or a packed workbook; unpack it, or save the sheet as CSV")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    elif len(data) > 3 and data[1::2].count(0) > 0.4 * len(data[1::2]):
        text = data.decode("utf-16-le", errors="replace")
    elif len(data) > 3 and data[0::2].count(0) > 0.4 * len(data[0::2]):
        text = data.decode("utf-16-be", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff")
    head = text[:4096]
    odd = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n\f")
    if odd > max(2, len(head) // 100) or "\x00" in head:
        raise DataError(
            f"{name}: not a text price file (binary content; legacy .xls, parquet?); save it as CSV, or "
            "read it with pandas and pass the DataFrame"
        )
    return text


def _xlsx_rows(data: bytes, name: str) -> list[list[str]]:
    """Cells of the first sheet of an .xlsx workbook as text (dates ISO, numbers with a '.')."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise DataError(f"{name}: reading an Excel workbook needs openpyxl: {_XLSX_HINT}") from exc
    try:
        grid = pd.read_excel(io.BytesIO(data), header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise DataError(f"{name}: cannot read the workbook ({exc}); save the sheet as CSV") from exc

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            return pd.Timestamp(v).isoformat(sep=" ")
        if isinstance(v, float):
            return repr(v)
        return str(v)

    return [[cell(v) for v in row] for row in grid.itertuples(index=False)]


def _read_source(source: Any) -> tuple[list[list[str]], str]:
    """Rows of text cells and a display name from a path or a file object (text or bytes)."""
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else "<file object>"
        content = source.read()
    else:
        name = str(source)
        try:
            content = Path(source).read_bytes()
        except OSError as exc:
            raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if isinstance(content, bytes):
        if content[:4] == b"PK\x03\x04" and (name.lower().endswith((".xlsx", ".xlsm")) or b"xl/" in content):
            return _xlsx_rows(content, name), name
        content = _decode(content, name)
    return _split_rows(str(content).lstrip("\ufeff")), name


def _split_rows(text: str) -> list[list[str]]:
    """Non-blank CSV rows of stripped cells, with the delimiter that splits the first lines consistently."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and re.fullmatch(r"sep=.", lines[0].strip()):  # Excel's delimiter hint line
        delimiter, lines = lines[0].strip()[4], lines[1:]
        return [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delimiter, skipinitialspace=True)]
    start = next((k for k, ln in enumerate(lines) if any(d in ln for d in "\t;|,")), 0)
    sample = lines[start : start + 20]
    delimiter = ","
    for cand in ("\t", ";", "|", ","):
        if cand not in (sample[0] if sample else ""):
            continue
        counts = {len(r) for r in csv.reader(sample, delimiter=cand, skipinitialspace=True)}
        if len(counts) == 1 and counts != {1}:
            delimiter = cand
            break
    else:
        header = sample[0] if sample else ""
        best = max(("\t", ";", "|", ","), key=header.count)
        delimiter = best if header.count(best) else ","
    return [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delimiter, skipinitialspace=True)]


# --------------------------------------------------------------------------------------------- load: header


def _is_date_cell(cell: str) -> bool:
    wall = _OFFSET.sub(r"\1", cell).strip()
    if not wall or not re.search(r"\d", wall):
        return False
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", wall):
        return True
    return any(_fits(wall, fmt) for fmt, _ in _FORMATS)


def _fits(text: str, fmt: str) -> bool:
    try:
        return 1800 <= dt.datetime.strptime(text, fmt).year <= 2200
    except ValueError:
        return False


def _is_data_row(row: list[str]) -> bool:
    """A row with a date cell and otherwise only numbers, times and missing markers."""
    dates = [i for i, c in enumerate(row) if _is_date_cell(c)]
    if not dates:
        return False
    rest = [c for i, c in enumerate(row) if i != dates[0]]
    return all(c.lower() in _MISSING or _TIME_CELL.match(c) or _NUMBER_CELL.match(c) for c in rest)


_HEADERLESS = {  # number of fields -> names, for headerless exports (MetaTrader 4 history and alike)
    2: ["Date", "Close"],
    5: ["Date", "Open", "High", "Low", "Close"],
    6: ["Date", "Open", "High", "Low", "Close", "Volume"],
}


def _headerless_names(row: list[str], name: str) -> list[str]:
    """Column names for a file whose first row is data: date[, time], open, high, low, close[, volume]."""
    timed = len(row) > 2 and _TIME_CELL.match(row[1]) is not None
    names = _HEADERLESS.get(len(row) - int(timed))
    if names is None or not _is_date_cell(row[0]):
        raise DataError(
            f"{name}: row 1 is data, not a header, and its {len(row)} fields match no known headerless "
            "layout (date[,time],open,high,low,close[,volume] or date,close); add a header line with the "
            "column names (Date,Open,High,Low,Close,Volume)"
        )
    return [names[0], "Time", *names[1:]] if timed else list(names)


def _table_from_rows(rows: list[list[str]], name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A text table from rows: headerless, one header line, or yfinance's Price/Ticker/Date lines."""
    if not rows:
        raise DataError(f"{name}: empty input, no header and no data rows")
    notes: dict[str, Any] = {}
    titles = 0  # leading title lines: one cell, no date, before a wider line (``Gold prices export``)
    filled = [sum(bool(c) for c in r) for r in rows]
    while titles < len(rows) - 1 and filled[titles] <= 1 < filled[titles + 1]:
        if _is_data_row(rows[titles]):
            break
        titles += 1
    if titles:
        notes["title_lines"] = [" ".join(r).strip() for r in rows[:titles]]
        rows = rows[titles:]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    if _is_data_row(rows[0]):
        header, body = _headerless_names(rows[0], name), rows
        notes["headerless"] = True
    elif len(rows) > 1 and _norm(rows[1][0]) == "ticker":
        skip = 3 if len(rows) > 2 and not any(rows[2][1:]) and not _is_data_row(rows[2]) else 2
        date_name = rows[2][0] if skip == 3 else "Date"
        cols = pd.MultiIndex.from_arrays([rows[0][1:], rows[1][1:]])
        frame = pd.DataFrame([r[1:] for r in rows[skip:]], columns=cols, dtype=str)
        frame.insert(0, (date_name, ""), [r[0] for r in rows[skip:]])
        notes["header_lines"] = skip
        return frame, notes
    else:
        header, body = rows[0], rows[1:]
    header = [h if h else f"Unnamed: {i}" for i, h in enumerate(header)]
    return pd.DataFrame(body, columns=header, dtype=str) if body else pd.DataFrame(columns=header), notes


def _flatten_yfinance(df: pd.DataFrame, price_col: Any, source: str) -> tuple[pd.DataFrame, Any]:
    """Reduce (field, ticker) or (ticker, field) MultiIndex columns to one ticker's flat columns."""
    if df.columns.nlevels != 2:
        raise DataError(
            f"{source}: cannot read {df.columns.nlevels}-level columns (columns seen: {list(df.columns)})"
        )
    extra = [c for c in df.columns if c[1] == ""]  # a date column from a CSV header
    body = df.drop(columns=extra)
    level0 = {_norm(v) for v in body.columns.get_level_values(0)}
    field_level = 0 if level0 & _YF_FIELDS else 1
    ticker_level = 1 - field_level
    tickers = list(dict.fromkeys(body.columns.get_level_values(ticker_level)))
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
    flat = body.xs(ticker, axis=1, level=ticker_level)
    for c in extra:
        flat.insert(0, c[0], df[c].to_numpy())
    return flat, price_col


# --------------------------------------------------------------------------------------------- load: columns


def _find(columns: Sequence[Any], names: Sequence[str], used: set[Any]) -> Any:
    """First column (in ``names`` priority order) whose normalised label is one of ``names``."""
    normed: dict[str, Any] = {}
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


def _all_zero(values: pd.Series) -> bool:
    """True when every cell of a (text or numeric) column is 0 or missing."""
    tokens = [_token(v).lower() for v in values.to_numpy(dtype=object)]
    return all(t in _MISSING or re.fullmatch(r"[+-]?0+([.,]0*)?", t) for t in tokens)


def _pick_volume(df: pd.DataFrame, used: set[Any]) -> Any:
    """The volume column; an all-zero one (MetaTrader 5's ``<VOL>`` for CFDs) yields to ``<TICKVOL>``."""
    found = []
    for name in _VOLUME_NAMES:
        hit = _find(list(df.columns), [name], used)
        if hit is not None and hit not in found:
            found.append(hit)
    if not found:
        return None
    return next((c for c in found if not _all_zero(df[c])), found[0])


def _pick_close(df: pd.DataFrame, used: set[Any], source: str) -> list[Any]:
    """The close column; bid/ask mids; else the one remaining column (FRED series ids)."""
    cols = list(df.columns)
    close = _find(cols, _CLOSE_NAMES, used)
    if close is not None:
        return [close]
    pair = _bid_ask(cols, "close", used)
    if pair is not None:
        return pair
    rest = [c for c in cols if c not in used]
    if len(rest) == 1:
        return rest
    raise DataError(f"{source}: no price column found (columns seen: {cols}); pass price_col=")


def _select(
    df: pd.DataFrame, source: str, date_col: Any, price_col: Any
) -> tuple[Any, Any, dict[str, list[Any]]]:
    """Date column (None: the index), a separate time column (or None) and each output's source columns."""
    cols = list(df.columns)
    if date_col is not None:
        date = _lookup(cols, date_col, "date column", source)
    else:
        date = _find(cols, _DATE_NAMES, set())
        index_is_date = isinstance(df.index, pd.DatetimeIndex) or _norm(df.index.name) in _DATE_NAMES
        if date is None and not index_is_date:
            raise DataError(
                f"{source}: no date column found (columns seen: {cols}; index {df.index.name!r}); "
                "pass date_col="
            )
    time = None
    if date is not None and _norm(date) not in _TIME_NAMES:
        cand = _find(cols, _TIME_NAMES, {date})
        if cand is not None and all(
            _TIME_CELL.match(str(v).strip()) for v in df[cand].to_numpy(dtype=object)
        ):
            time = cand
    used = {c for c in (date, time) if c is not None}
    picked: dict[str, list[Any]] = {}
    picked["close"] = (
        [_lookup(cols, price_col, "price column", source)]
        if price_col is not None
        else _pick_close(df, used, source)
    )
    used |= set(picked["close"])
    for out, names in _FIELD_NAMES.items():
        hit = _find(cols, names, used)
        if hit is not None:
            picked[out] = [hit]
        elif len(picked["close"]) == 2:
            pair = _bid_ask(cols, out, used)
            if pair is not None:
                picked[out] = pair
        used |= set(picked.get(out, []))
    volume = _pick_volume(df, used)
    if volume is not None:
        picked["volume"] = [volume]
    return date, time, picked


def _load(source: Any, price_col: Any) -> tuple[pd.DataFrame, str, Any, dict[str, Any]]:
    """A raw table (text cells, or a caller's frame), the display name, price_col and layout notes."""
    if isinstance(source, pd.Series):
        label = source.name if source.name is not None else "close"
        frame = source.to_frame(name=label)
        if frame.index.name is None:
            frame.index.name = "date"
        return frame, "<Series>", label if price_col is None else price_col, {}
    if isinstance(source, pd.DataFrame):
        name = "<DataFrame>"
        if isinstance(source.columns, pd.MultiIndex):
            flat, price_col = _flatten_yfinance(source, price_col, name)
            return flat, name, price_col, {}
        return source, name, price_col, {}
    if not isinstance(source, (str, Path)) and not hasattr(source, "read"):
        raise DataError(
            f"<{type(source).__name__}>: cannot read prices from this object; pass a path, a file object, "
            "a DataFrame or a Series"
        )
    rows, name = _read_source(source)
    table, notes = _table_from_rows(rows, name)
    if isinstance(table.columns, pd.MultiIndex):
        table, price_col = _flatten_yfinance(table, price_col, name)
    table.columns = [str(c).strip() for c in table.columns]
    return table, name, price_col, notes


def read_prices(
    source: str | Path | Any | pd.DataFrame | pd.Series,
    date_col: Any = None,
    price_col: Any = None,
    fill: str | None = None,
    *,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    decimal: str | None = None,
    resample: str | None = None,
    max_move: float | None = MAX_MOVE,
) -> pd.DataFrame:
    """Read daily prices from a file (CSV/TSV, gzip, UTF-8/UTF-16, .xlsx), a file object, a DataFrame or a
    Series into the goldlab price table (see the module docstring).

    Layouts recognised without options: OHLCV files with ``,``/``;``/tab/``|`` delimiters; Investing.com
    exports (BOM, newest first, ``"1,826.20"``, ``107.50K``, ``Mar 25, 2020``); European files
    (``1.826,20``, ``31.12.2020``); MetaTrader 4 headerless history and MetaTrader 5 exports (``<TICKVOL>``
    when ``<VOL>`` is all zero); separate date and time columns (combined); yfinance ``download()`` frames
    and CSVs (Price/Ticker/Date header lines) and ``history()`` CSVs with UTC offsets; Dukascopy
    (``02.01.2020 00:00:00.000``); FRED (``observation_date`` or ``DATE`` plus one series column, ``.`` for
    holidays); LBMA (``USD (PM)``, else ``USD (AM)``); broker bid/ask files (mid prices).

    Options: ``date_col``/``price_col`` name columns that are not recognised; ``dayfirst``/``date_format``
    settle a date column that reads both day- and month-first; ``decimal`` (``'.'`` or ``','``) settles a
    decimal mark the file cannot tell; ``fill`` ('ffill' or 'drop') handles missing prices; ``resample='1D'``
    turns intraday rows into daily bars; ``max_move`` bounds the one-day move before a warning. Daily bars
    keep their local trading date when timestamps carry UTC offsets; intraday timestamps are converted to
    UTC (see :func:`goldlab.prices.normalise_prices`).
    """
    _check_choice("fill", fill, FILL_CHOICES)
    _check_choice("resample", resample, RESAMPLE_CHOICES)
    df, name, price_col, notes = _load(source, price_col)
    if len(df) == 0:
        raise DataError(f"{name}: empty input, no data rows (columns seen: {list(df.columns)})")
    date, time, picked = _select(df, name, date_col, price_col)
    rows = np.arange(1, len(df) + 1)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    labels: dict[str, Any] = {}
    if date is None:
        out["date"], labels["date"] = pd.Series(df.index, index=out.index), df.index.name or "<index>"
    elif time is None:
        out["date"], labels["date"] = df[date].reset_index(drop=True), date
    else:
        joined = df[date].astype(str).str.strip() + " " + df[time].astype(str).str.strip()
        out["date"], labels["date"] = joined.reset_index(drop=True), f"{date}+{time}"
    raw = {s: df[s].reset_index(drop=True) for sources in picked.values() for s in sources}
    mark = infer_decimal(raw, name, rows, decimal)
    for col, sources in picked.items():
        if len(sources) == 1:
            out[col], labels[col] = raw[sources[0]], sources[0]
        else:
            dates = parse_dates(out["date"], name, labels["date"], rows, dayfirst, date_format)[0]
            bid, ask = (parse_numbers(raw[s], name, s, rows, dates, mark)[0] for s in sources)
            out[col], labels[col] = (bid + ask) / 2.0, f"mid of {sources[0]}/{sources[1]}"
    prices = validate_prices(
        out, name, fill=fill, rows=rows, labels=labels, dayfirst=dayfirst, date_format=date_format,
        decimal=mark, resample=resample, max_move=max_move,
    )  # fmt: skip
    prices.attrs.update(notes)
    return prices
