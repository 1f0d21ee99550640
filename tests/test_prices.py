"""Tests for goldlab.prices: price files of every supported layout, and errors that name the fix."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import importlib.util
import io
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from goldlab.data import load_gold
from goldlab.prices import DataError, PriceWarning, read_prices, validate_prices

# --------------------------------------------------------------------------------------------- fixtures


def _write(tmp_path, text: str, name: str = "prices.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _synthetic_prices(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1500.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    idx = pd.bdate_range("2015-01-01", periods=n, name="date")
    return pd.DataFrame({"close": close}, index=idx)


# --------------------------------------------------------------------------------------------- real files


def test_read_xau_semicolon_file(shared_data_dir) -> None:
    df = read_prices(shared_data_dir / "xau_1d_ohlcv.csv")
    assert len(df) == 5295
    assert df.index[0] == pd.Timestamp("2004-06-11") and df.index[-1] == pd.Timestamp("2025-02-03")
    assert df.index.is_monotonic_increasing and df.index.name == "date"
    assert list(df.columns) == ["close", "open", "high", "low", "volume"]
    assert df.loc["2004-06-11", "close"] == pytest.approx(384.1)
    assert df.loc["2025-02-03", "close"] == pytest.approx(2794.41)
    assert df.loc["2004-06-14", "volume"] == 1902
    assert all(df[c].dtype == np.float64 for c in df.columns)
    assert df.attrs["columns"]["volume"] == "Volume" and df.attrs["decimal"] == "."
    assert df.attrs["warnings"] == []  # 21 years of real bars: nothing implausible


def test_read_investing_export(shared_data_dir) -> None:
    df = read_prices(shared_data_dir / "investing_gold_2013_2023.csv")
    assert len(df) == 2583
    assert df.index[0] == pd.Timestamp("2013-01-02") and df.index[-1] == pd.Timestamp("2022-12-30")
    assert df.index.is_monotonic_increasing
    assert "change" not in "".join(df.columns)
    assert df.loc["2022-12-30", "close"] == pytest.approx(1826.20)
    assert df.loc["2022-12-30", "open"] == pytest.approx(1821.80)
    assert df.loc["2022-12-30", "volume"] == pytest.approx(107_500)
    assert df.loc["2013-01-03", "volume"] == pytest.approx(190)
    assert df["volume"].isna().sum() == 5
    assert pd.Timestamp("2022-09-04") in df.index  # the Sunday row is kept
    assert df[["close", "open", "high", "low"]].notna().all().all()
    assert df.attrs["columns"]["close"] == "Close" and df.attrs["columns"]["volume"] == "Vol."
    assert df.attrs["warnings"] == []


# --------------------------------------------------------------------------------------------- layouts

COMMA_OHLCV = """Date,Open,High,Low,Close,Volume
2021-03-01,1720.5,1730.0,1715.2,1725.1,1000
2021-03-02,1725.0,1740.0,1720.0,1735.4,1200
2021-03-03,1735.0,1736.0,1700.0,1711.0,900
"""


def test_read_comma_ohlcv_path_and_file_object(tmp_path) -> None:
    from_path = read_prices(_write(tmp_path, COMMA_OHLCV))
    from_str = read_prices(str(tmp_path / "prices.csv"))
    from_obj = read_prices(io.StringIO(COMMA_OHLCV))
    from_bytes = read_prices(io.BytesIO(("\ufeff" + COMMA_OHLCV).encode("utf-8")))
    for df in (from_path, from_str, from_obj, from_bytes):
        assert list(df.columns) == ["close", "open", "high", "low", "volume"]
        assert df.index.tolist() == list(pd.to_datetime(["2021-03-01", "2021-03-02", "2021-03-03"]))
        assert df["close"].tolist() == [1725.1, 1735.4, 1711.0]
        assert df["volume"].tolist() == [1000.0, 1200.0, 900.0]


def test_read_alternative_names_and_us_dates() -> None:
    text = "timestamp;Adj Close\n12/30/2022;1826.2\n12/29/2022;1826.0\n01/03/2022;1800.5\n"
    df = read_prices(io.StringIO(text))
    assert list(df.columns) == ["close"]
    assert df.index[0] == pd.Timestamp("2022-01-03") and df.index[-1] == pd.Timestamp("2022-12-30")
    assert df["close"].iloc[-1] == 1826.2
    price = read_prices(io.StringIO("Datetime,PRICE\n2021.03.04 00:00,10\n2021.03.05 00:00,11\n"))
    assert price["close"].tolist() == [10.0, 11.0]


def test_read_explicit_columns() -> None:
    text = "day|gold_usd|other\n2021-03-04|10.5|x\n2021-03-05|11.5|y\n"
    df = read_prices(io.StringIO(text), date_col="day", price_col="gold_usd")
    assert df["close"].tolist() == [10.5, 11.5]
    assert df.index[0] == pd.Timestamp("2021-03-04")
    with pytest.raises(DataError, match="'nope' not found"):
        read_prices(io.StringIO(text), date_col="day", price_col="nope")


def test_read_investing_style_string() -> None:
    text = (
        "\ufeffDate,Price,Open,High,Low,Vol.,Change %\n"
        '01/05/2021,"1,950.10","1,940.00","1,960.00","1,930.00",1.2M,0.50%\n'
        '01/04/2021,"1,940.40","1,900.00","1,945.00","1,899.00",,2.10%\n'
    )
    with pytest.raises(DataError, match="dayfirst=") as err:  # 01/05 and 01/04: both orders fit
        read_prices(io.StringIO(text))
    assert "<file object>: column 'Date', row 1" in str(err.value)
    df = read_prices(io.StringIO(text), dayfirst=False)
    assert df.index.tolist() == list(pd.to_datetime(["2021-01-04", "2021-01-05"]))
    assert list(df.columns) == ["close", "open", "high", "low", "volume"]
    assert df["close"].tolist() == [1940.40, 1950.10]
    assert np.isnan(df["volume"].iloc[0]) and df["volume"].iloc[1] == pytest.approx(1.2e6)


def test_read_broker_bid_ask() -> None:
    text = (
        "Date,BidOpen,BidHigh,BidLow,BidClose,AskOpen,AskHigh,AskLow,AskClose,Volume\n"
        "2021-03-04,100,110,90,104,102,112,92,106,5\n"
        "2021-03-05,104,108,100,106,106,110,102,108,6\n"
    )
    df = read_prices(io.StringIO(text))
    assert df["close"].tolist() == [105.0, 107.0]
    assert df["open"].tolist() == [101.0, 105.0]
    assert df["high"].tolist() == [111.0, 109.0]
    assert df["low"].tolist() == [91.0, 101.0]
    assert df["volume"].tolist() == [5.0, 6.0]
    spaced = "Time;Open Bid;Close Bid;Open Ask;Close Ask\n2021-03-04;1;2;3;4\n"
    other = read_prices(io.StringIO(spaced))
    assert other["close"].tolist() == [3.0] and other["open"].tolist() == [2.0]


def test_broker_bad_value_names_source_column() -> None:
    text = "Date,BidClose,AskClose\n2021-03-04,1,2\n2021-03-05,abc,2\n"
    with pytest.raises(DataError) as err:
        read_prices(io.StringIO(text))
    assert "<file object>: column 'BidClose', row 2 (2021-03-05)" in str(err.value)


def _yf_frame(tickers: list[str]) -> pd.DataFrame:
    idx = pd.DatetimeIndex(pd.to_datetime(["2024-01-03", "2024-01-02", "2024-01-04"]), name="Date")
    fields = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
    cols = pd.MultiIndex.from_product([fields, tickers], names=["Price", "Ticker"])
    data = np.empty((3, len(cols)))
    for j, (fld, tic) in enumerate(cols):
        base = 2000.0 if tic == "GC=F" else 20.0
        data[:, j] = (
            base + np.array([2.0, 1.0, 3.0]) + (100 if fld == "Volume" else 0) + (0.5 if fld == "High" else 0)
        )
    return pd.DataFrame(data, index=idx, columns=cols)


def test_read_yfinance_multiindex() -> None:
    df = read_prices(_yf_frame(["GC=F"]))
    assert list(df.columns) == ["close", "open", "high", "low", "volume"]
    assert df.index.tolist() == list(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]))
    assert df["close"].tolist() == [2001.0, 2002.0, 2003.0]
    assert df["high"].tolist() == [2001.5, 2002.5, 2003.5]
    assert df.index.name == "date"


def test_read_yfinance_several_tickers() -> None:
    frame = _yf_frame(["GC=F", "SI=F"])
    with pytest.raises(DataError) as err:
        read_prices(frame)
    assert "GC=F" in str(err.value) and "SI=F" in str(err.value) and "<DataFrame>" in str(err.value)
    silver = read_prices(frame, price_col="SI=F")
    assert silver["close"].tolist() == [21.0, 22.0, 23.0]
    adj = read_prices(frame, price_col=("Adj Close", "GC=F"))
    assert adj["close"].tolist() == [2001.0, 2002.0, 2003.0]


def test_read_yfinance_flat_and_ticker_first() -> None:
    flat = _yf_frame(["GC=F"]).droplevel("Ticker", axis=1)
    assert read_prices(flat)["close"].tolist() == [2001.0, 2002.0, 2003.0]
    swapped = _yf_frame(["GC=F"]).swaplevel(axis=1)
    assert read_prices(swapped)["open"].tolist() == [2001.0, 2002.0, 2003.0]


def test_read_dataframe_with_date_column() -> None:
    frame = pd.DataFrame(
        {"Date": ["2021-03-05", "2021-03-04"], "Close": ["11.5", "10.5"], "Note": ["a", "b"]}
    )
    df = read_prices(frame)
    assert list(df.columns) == ["close"]
    assert df["close"].tolist() == [10.5, 11.5]
    assert frame["Close"].tolist() == ["11.5", "10.5"]  # input untouched


def test_validate_prices_accepts_standard_frame() -> None:
    prices = _synthetic_prices(30)
    out = validate_prices(prices.iloc[::-1], "<DataFrame>")
    pd.testing.assert_series_equal(out["close"], prices["close"], check_freq=False)


# --------------------------------------------------------------------------------------------- bad input

GOOD_HEAD = "Date,Close\n2021-01-04,10\n"

BAD_CASES = [
    ("empty", "", ["prices.csv", "empty"]),
    ("header_only", "Date,Close\n", ["prices.csv", "empty", "Close"]),
    (
        "no_price",
        "Date,Foo,Bar\n2021-01-04,1,2\n",
        ["prices.csv", "no price column", "Foo", "Bar", "price_col="],
    ),
    ("no_date", "When,Close\n2021-01-04,1\n", ["prices.csv", "no date column", "When", "date_col="]),
    (
        "non_numeric",
        GOOD_HEAD + "2021-01-05,abc\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "'abc'", "decimal="],
    ),
    (
        "nan_empty",
        GOOD_HEAD + "2021-01-05,\n2021-01-06,3\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "fill='drop'", "fill='ffill'"],
    ),
    (
        "nan_word",
        GOOD_HEAD + "2021-01-05,NaN\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "missing", "fill="],
    ),
    (
        "inf",
        GOOD_HEAD + "2021-01-05,inf\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "infinite", "correct the row"],
    ),
    (
        "zero",
        GOOD_HEAD + "2021-01-05,0\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "non-positive", "correct the row"],
    ),
    ("negative", GOOD_HEAD + "2021-01-05,-3\n", ["column 'Close', row 2 (2021-01-05)", "non-positive"]),
    (
        "duplicate",
        GOOD_HEAD + "2021-01-05,11\n2021-01-04,12\n",
        ["prices.csv: column 'Date', rows 1 and 3 (2021-01-04)", "duplicated", "remove one"],
    ),
    (
        "bad_date",
        GOOD_HEAD + "2021-13-45,11\n",
        ["prices.csv: column 'Date', row 2", "'2021-13-45'", "unparseable", "date_format=", "dayfirst="],
    ),
    (
        "missing_date",
        GOOD_HEAD + ",11\n",
        ["prices.csv: column 'Date', row 2", "missing date", "give the row a date"],
    ),
    (
        "bad_open",
        "Date,Open,Close\n2021-01-04,x,10\n",
        ["prices.csv: column 'Open', row 1 (2021-01-04)", "'x'", "decimal="],
    ),
    ("bad_volume", "Date,Close,Vol.\n2021-01-04,10,lots\n", ["column 'Vol.', row 1 (2021-01-04)", "'lots'"]),
]


@pytest.mark.parametrize(("case", "text", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_raises_data_error(tmp_path, case: str, text: str, expected: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_prices(path)
    assert isinstance(err.value, ValueError)
    msg = str(err.value)
    for part in expected:
        assert part in msg, f"{case}: {part!r} not in {msg!r}"


def test_bad_dataframe_names_dataframe_and_index_dates() -> None:
    idx = pd.DatetimeIndex(pd.to_datetime(["2021-01-04", "2021-01-05"]), name="Date")
    frame = pd.DataFrame({"Close": [10.0, -1.0]}, index=idx)
    with pytest.raises(DataError, match=r"<DataFrame>: column 'Close', row 2 \(2021-01-05\): non-positive"):
        read_prices(frame)
    with pytest.raises(DataError, match="<DataFrame>: empty input"):
        read_prices(frame.iloc[:0])


def test_newest_first_error_reports_file_row(tmp_path) -> None:
    text = "Date,Close\n2021-01-06,12\n2021-01-05,\n2021-01-04,10\n"
    with pytest.raises(DataError, match=r"row 2 \(2021-01-05\)"):
        read_prices(_write(tmp_path, text))


def test_fill_ffill_warns_and_counts(tmp_path) -> None:
    text = "Date,Close,Open\n2021-01-07,13,13\n2021-01-06,,\n2021-01-05,,11\n2021-01-04,10,10\n"
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=r"column 'Close', row 3 \(2021-01-05\)"):
        read_prices(path)
    with pytest.warns(UserWarning, match="forward-filled 2 row"):
        df = read_prices(path, fill="ffill")
    assert df["close"].tolist() == [10.0, 10.0, 10.0, 13.0]
    assert df["open"].tolist() == [10.0, 11.0, 11.0, 13.0]
    assert df.attrs["filled_rows"] == 2


def test_fill_does_not_fill_first_row_or_accept_other_modes(tmp_path) -> None:
    path = _write(tmp_path, "Date,Close\n2021-01-04,\n2021-01-05,11\n")
    with pytest.raises(DataError, match=r"prices.csv: column 'Close', row 1 \(2021-01-04\)"):
        read_prices(path, fill="ffill")
    with pytest.raises(ValueError, match="fill"):
        read_prices(path, fill="bfill")


def test_no_warning_without_fill(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_prices(_write(tmp_path, COMMA_OHLCV))
    assert "filled_rows" not in df.attrs


# --------------------------------------------------------------------------------------------- source layouts

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "prices"
OHLCV = ["close", "open", "high", "low", "volume"]


@pytest.fixture(scope="module")
def jan() -> pd.DataFrame:
    """What every January-2020 fixture holds: the bundled real closes, and open/high/low/volume derived from
    them by the rule in fixtures/prices/make_fixtures.py."""
    return _derived_bars("2020-01-02", "2020-01-31")


def _derived_bars(start: str, end: str) -> pd.DataFrame:
    gold = load_gold(n_days=None)["close"]
    close = gold.loc[start:end]
    close = close[close.index.day_of_week < 5]
    opens = gold.shift(1).loc[close.index]
    out = pd.DataFrame({"close": close, "open": opens})
    out["high"] = np.maximum(out["open"], out["close"]) + 3.2
    out["low"] = np.minimum(out["open"], out["close"]) - 2.7
    out["volume"] = 1000.0 + 37 * np.arange(len(out))
    return out.round(2)


def _same(df: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    """Same dates in ascending order, same columns in order, same values (to the file's 2-3 decimals)."""
    assert list(df.columns) == columns
    assert df.index.name == "date" and df.index.is_monotonic_increasing
    assert df.index.tolist() == expected.index.tolist()
    for col in columns:
        np.testing.assert_allclose(
            df[col].to_numpy(), expected[col].to_numpy(), rtol=0, atol=1e-9, err_msg=col
        )


LAYOUTS = [  # fixture, attrs["columns"] (source column of each output column), output columns
    ("mt4_history.csv", {"date": "Date+Time", "close": "Close", "volume": "Volume"}, OHLCV),
    ("mt5_export_utf16.csv", {"date": "<DATE>+<TIME>", "close": "<CLOSE>", "volume": "<TICKVOL>"}, OHLCV),
    ("yfinance_download.csv", {"date": "Date", "close": "Close", "open": "Open"}, OHLCV),
    ("investing_text_months.csv", {"date": "Date", "close": "Price", "volume": "Vol."}, OHLCV),
    ("european_semicolon.csv", {"date": "Date", "close": "Close", "volume": "Volume"}, OHLCV),
    ("uk_daily_dashes.csv", {"date": "Date", "close": "Close"}, ["close"]),
    ("lbma_gold_fixes.csv", {"date": "Date", "close": "USD (PM)"}, ["close"]),
    ("dukascopy.csv", {"date": "Gmt time", "close": "Close", "volume": "Volume"}, OHLCV),
]


@pytest.mark.parametrize(("name", "sources", "columns"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_layout_reads_without_options(jan, name: str, sources: dict, columns: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fill, no resample, nothing implausible: no warning either
        df = read_prices(FIXTURES / name)
    expected = jan.copy()
    if name == "dukascopy.csv":
        expected["volume"] = (expected["volume"] * 0.01).round(4)
    if name == "investing_text_months.csv":  # volumes in thousands with 2 decimals: "1.04K"
        expected["volume"] = [float(f"{v / 1000:.2f}") * 1000 for v in expected["volume"]]
    _same(df, expected, columns)
    assert len(df) == 22 and df.index[0] == pd.Timestamp("2020-01-02")
    assert df.attrs["source"] == str(FIXTURES / name)
    for out, source in sources.items():
        assert df.attrs["columns"][out] == source


def test_mt4_headerless_keeps_the_first_row(jan) -> None:
    text = (FIXTURES / "mt4_history.csv").read_text()
    assert text.startswith("2020.01.02,00:00,1514.75,")  # no header line: row 1 is data
    df = read_prices(FIXTURES / "mt4_history.csv")
    assert df.attrs["headerless"] is True
    assert df.index[0] == pd.Timestamp("2020-01-02") and df["close"].iloc[0] == 1527.10
    assert len(df) == len(text.splitlines())


def test_mt5_takes_tick_volume_over_all_zero_volume(jan) -> None:
    df = read_prices(FIXTURES / "mt5_export_utf16.csv")
    assert df["volume"].tolist() == jan["volume"].tolist()  # <TICKVOL>, not the all-zero <VOL>
    utf8 = (FIXTURES / "mt5_export_utf16.csv").read_text(encoding="utf-16").replace("\t0\t35", "\t7\t35")
    real = read_prices(io.StringIO(utf8))  # a real-volume <VOL> is kept (first in priority)
    assert real.attrs["columns"]["volume"] == "<VOL>" and (real["volume"] == 7).all()


def test_yfinance_history_across_daylight_saving_keeps_trading_days() -> None:
    df = read_prices(FIXTURES / "yfinance_history_dst.csv")
    expected = _derived_bars("2020-03-02", "2020-03-13")
    _same(df, expected, OHLCV)  # -05:00 then -04:00: each row stays on its own local date
    assert "Dividends" not in df.attrs["columns"].values()


def test_uk_monthly_day_first_is_not_guessed() -> None:
    path = FIXTURES / "uk_monthly_ddmm.csv"
    with pytest.raises(DataError) as err:
        read_prices(path)
    msg = str(err.value)
    for part in (str(path), "column 'Date'", "row 2", "'01/02/2019'", "dayfirst=True", "date_format="):
        assert part in msg, part
    firsts = pd.date_range("2019-01-01", periods=12, freq="MS")
    for kwargs in ({"dayfirst": True}, {"date_format": "%d/%m/%Y"}):
        df = read_prices(path, **kwargs)
        assert df.index.tolist() == firsts.tolist()
        assert df["close"].iloc[0] == 1279.00 and df["close"].iloc[1] == 1318.70
    month_first = read_prices(path, dayfirst=False)  # what the old reader returned silently
    assert month_first.index[1] == pd.Timestamp("2019-01-02")


def test_decimal_comma_with_three_decimals_is_not_guessed(jan) -> None:
    path = FIXTURES / "gram_eur_3dp.csv"
    with pytest.raises(DataError) as err:
        read_prices(path)
    msg = str(err.value)
    for part in (str(path), "column 'Close'", "row 1", "'44,232'", "44232", "44.232", "decimal=','"):
        assert part in msg, part
    df = read_prices(path, decimal=",")
    assert len(df) == 22 and df.index.tolist() == jan.index.tolist()
    np.testing.assert_allclose(df["close"], (jan["close"] / 31.1034768 / 1.11).round(3), atol=1e-9)
    assert df.attrs["decimal"] == ","


@pytest.mark.parametrize("name", ["fred_goldamgbd228nlbm.csv", "fred_observation_date.csv"])
def test_fred_holidays_are_missing_values(jan, name: str) -> None:
    path = FIXTURES / name
    series = "GOLDAMGBD228NLBM" if "goldam" in name else "GOLDPMGBD228NLBM"
    with pytest.raises(DataError) as err:
        read_prices(path)
    msg = str(err.value)
    for part in (str(path), f"column '{series}'", "row 1 (2020-01-01)", "missing price", "fill='drop'"):
        assert part in msg, part
    with pytest.raises(DataError) as err:  # the file starts on a holiday: nothing to carry forward
        read_prices(path, fill="ffill")
    msg = str(err.value)
    for part in (str(path), f"column '{series}'", "row 1 (2020-01-01)", "forward-filled", "fill='drop'"):
        assert part in msg, part
    with pytest.warns(PriceWarning, match=r"dropped 1 row\(s\) with a missing price: row 1 \(2020-01-01\)"):
        df = read_prices(path, fill="drop")
    assert df.attrs["dropped_rows"] == 1 and df.attrs["columns"]["close"] == series
    _same(df, jan, ["close"])


def test_fred_mid_file_holiday_forward_filled() -> None:
    text = "DATE,GOLDPMGBD228NLBM\n2020-04-09,1680.5\n2020-04-10,.\n2020-04-13,.\n2020-04-14,1727.25\n"
    with pytest.raises(DataError, match=r"row 2 \(2020-04-10\).*2 missing in all, rows 2 \(2020-04-10\), 3"):
        read_prices(io.StringIO(text))
    with pytest.warns(
        PriceWarning, match=r"forward-filled 2 row\(s\).*rows 2 \(2020-04-10\), 3 \(2020-04-13\)"
    ):
        df = read_prices(io.StringIO(text), fill="ffill")
    assert df["close"].tolist() == [1680.5, 1680.5, 1680.5, 1727.25] and df.attrs["filled_rows"] == 2


@pytest.mark.parametrize("marker", [".", "-", "n/a", "null", "", "NaN"])
def test_missing_markers(marker: str) -> None:
    text = f"Date,Close\n2020-01-02,10.5\n2020-01-03,{marker}\n2020-01-06,11.5\n"
    with pytest.raises(DataError, match=r"<file object>: column 'Close', row 2 \(2020-01-03\).*fill="):
        read_prices(io.StringIO(text))
    with pytest.warns(PriceWarning, match=r"dropped 1 row\(s\) with a missing price: row 2 \(2020-01-03\)"):
        df = read_prices(io.StringIO(text), fill="drop")
    assert df["close"].tolist() == [10.5, 11.5]


def test_hourly_data_refused_or_resampled_when_asked() -> None:
    path = FIXTURES / "hourly_h1.csv"
    with pytest.raises(DataError) as err:
        read_prices(path)
    msg = str(err.value)
    for part in (str(path), "column 'Date+Time'", "rows 1 and 2", "intraday", "resample='1D'"):
        assert part in msg, part
    raw = pd.read_csv(path)
    with pytest.warns(PriceWarning, match="resampled 48 intraday rows to 2 daily bars"):
        df = read_prices(path, resample="1D")
    assert df.index.tolist() == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]
    day1, day2 = raw.iloc[:24], raw.iloc[24:]
    assert df["close"].tolist() == [day1["Close"].iloc[-1], day2["Close"].iloc[-1]]
    assert df["open"].tolist() == [day1["Open"].iloc[0], day2["Open"].iloc[0]]
    assert df["high"].tolist() == [day1["High"].max(), day2["High"].max()]
    assert df["low"].tolist() == [day1["Low"].min(), day2["Low"].min()]
    assert df["volume"].tolist() == [day1["Volume"].sum(), day2["Volume"].sum()]
    with pytest.raises(ValueError, match="resample"):
        read_prices(path, resample="1h")


def test_intraday_with_offsets_resampled_in_utc() -> None:
    text = (
        "Datetime,Close\n2020-01-02 22:00:00-05:00,10\n2020-01-02 23:00:00-05:00,11\n"
        "2020-01-03 09:00:00-05:00,12\n"
    )
    with pytest.warns(PriceWarning, match="resampled"):
        df = read_prices(io.StringIO(text), resample="1D")
    # 22:00 and 23:00 New York are 03:00 and 04:00 UTC on 2020-01-03: one UTC day, last close 12
    assert df.index.tolist() == [pd.Timestamp("2020-01-03")] and df["close"].tolist() == [12.0]
    fall_back = (  # the same wall-clock hour twice on 2020-11-01, New York: two instants, not a duplicate
        "Datetime,Close\n2020-11-01 01:30:00-04:00,10\n2020-11-01 01:30:00-05:00,11\n"
        "2020-11-02 01:30:00-05:00,12\n"
    )
    with pytest.warns(PriceWarning, match="resampled 3 intraday rows to 2 daily bars"):
        df = read_prices(io.StringIO(fall_back), resample="1D")
    assert df["close"].tolist() == [11.0, 12.0]
    with pytest.raises(DataError, match=r"column 'Datetime', rows 1 and 2 .*duplicated"):
        read_prices(io.StringIO(fall_back.replace("-05:00,11", "-04:00,11")), resample="1D")


def test_gzip_utf16_and_bom(tmp_path, jan) -> None:
    euro = (FIXTURES / "european_semicolon.csv").read_bytes()
    gz = tmp_path / "prices.csv.gz"
    gz.write_bytes(gzip.compress(euro))
    _same(read_prices(gz), jan, OHLCV)
    text = euro.decode("utf-8")
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"):
        path = tmp_path / f"prices-{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        df = read_prices(path)
        assert list(df.columns) == OHLCV, encoding  # no garbled column names
        _same(df, jan, OHLCV)


def test_xlsx_with_openpyxl(tmp_path, jan) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "prices.xlsx"
    sheet = jan.rename(columns=str.title).rename_axis("Date").reset_index()
    sheet.to_excel(path, index=False, engine="openpyxl")
    df = read_prices(path)
    _same(df, jan, ["close", "open", "high", "low", "volume"])
    assert df.attrs["source"] == str(path)


def test_xlsx_without_openpyxl_names_the_extra(tmp_path, monkeypatch) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "prices.xlsx"
    pd.DataFrame({"Date": ["2020-01-02"], "Close": [1.0]}).to_excel(path, index=False, engine="openpyxl")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now raises ImportError
    with pytest.raises(DataError) as err:
        read_prices(path)
    assert str(path) in str(err.value) and "goldlab[xlsx]" in str(err.value)


@pytest.mark.parametrize(
    "payload",
    [
        bytes(range(256)) * 4,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        b"PAR1\x15\x04\x00\x00" * 50,
    ],
    ids=["random", "legacy-xls", "parquet"],
)
def test_binary_files_name_the_file(tmp_path, payload: bytes) -> None:
    path = tmp_path / "prices.bin"
    path.write_bytes(payload)
    with pytest.raises(DataError) as err:
        read_prices(path)
    assert str(path) in str(err.value) and "save it as CSV" in str(err.value)


def test_unreadable_sources_name_themselves(tmp_path) -> None:
    with pytest.raises(DataError, match="nope.csv: cannot read the file"):
        read_prices(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="<int>: cannot read prices"):
        read_prices(42)
    bad_gz = tmp_path / "x.csv.gz"
    bad_gz.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(DataError, match="x.csv.gz: cannot unpack"):
        read_prices(bad_gz)


def test_series_input(jan) -> None:
    series = jan["close"].iloc[::-1].rename("GC=F")
    df = read_prices(series)
    _same(df, jan, ["close"])
    assert df.attrs["source"] == "<Series>" and df.attrs["columns"]["close"] == "GC=F"
    text_index = pd.Series([10.0, 11.0], index=["2020-01-03", "2020-01-02"])
    assert read_prices(text_index)["close"].tolist() == [11.0, 10.0]
    with pytest.raises(DataError, match=r"<Series>: column 'close', row 2 \(2020-01-02\): non-positive"):
        read_prices(pd.Series([10.0, -1.0], index=pd.to_datetime(["2020-01-03", "2020-01-02"])))


def test_headerless_widths() -> None:
    two = read_prices(io.StringIO("2020-01-02,10.5\n2020-01-03,11\n"))
    assert two["close"].tolist() == [10.5, 11.0] and two.attrs["headerless"] is True
    six = read_prices(io.StringIO("02/01/2020;1,5;2,5;0,5;2,0;7\n03/01/2020;2;3;1;2,5;8\n"), dayfirst=True)
    assert six.index[1] == pd.Timestamp("2020-01-03") and six["close"].tolist() == [2.0, 2.5]
    with pytest.raises(DataError) as err:
        read_prices(io.StringIO("2020-01-02,1,2,3\n"))
    assert (
        "<file object>" in str(err.value)
        and "row 1" in str(err.value)
        and "add a header line" in str(err.value)
    )


def test_title_line_excel_sep_hint_and_two_digit_years() -> None:
    df = read_prices(io.StringIO("Gold prices export\nDate;Close\n2020-01-02;1,5\n2020-01-03;1,6\n"))
    assert df["close"].tolist() == [1.5, 1.6] and df.attrs["title_lines"] == ["Gold prices export"]
    df = read_prices(io.StringIO("sep=;\nDate;Close\n2020-01-02;1,5\n2020-01-03;1,6\n"))
    assert df["close"].tolist() == [1.5, 1.6] and len(df) == 2
    df = read_prices(io.StringIO("Date,Close\n13/01/20,1\n14/01/20,1.1\n"))
    assert df.index.tolist() == [pd.Timestamp("2020-01-13"), pd.Timestamp("2020-01-14")]
    with pytest.raises(DataError, match=r"<file object>: no date column found \(columns seen: \['Close'\]"):
        read_prices(io.StringIO("Close\n1\n"))  # a one-column header is not a title line


def test_decimal_marks_from_the_whole_column() -> None:
    text = "Date;Close\n2020-01-02;1 826,20\n2020-01-03;1 830\n2020-01-06;1 790,5\n"
    assert read_prices(io.StringIO(text))["close"].tolist() == [1826.2, 1830.0, 1790.5]
    text = "Date;Close\n2020-01-02;556,148\n2020-01-03;557,02\n"  # 557,02 settles it: a decimal comma
    assert read_prices(io.StringIO(text))["close"].tolist() == [556.148, 557.02]
    text = 'Date,Close\n2020-01-02,"1,826"\n2020-01-03,"1,830,000.5"\n'  # repeated ',': thousands
    assert read_prices(io.StringIO(text), max_move=None)["close"].tolist() == [1826.0, 1830000.5]


def test_conflicting_decimal_marks_name_both_columns() -> None:
    text = 'Date,Open,Close\n2020-01-02,"1.826,20","1,826.20"\n'
    with pytest.raises(DataError) as err:
        read_prices(io.StringIO(text))
    msg = str(err.value)
    for part in (
        "<file object>",
        "column 'Open', row 1",
        "column 'Close', row 1",
        "decimal='.'",
        "decimal=','",
    ):
        assert part in msg, part
    assert read_prices(io.StringIO(text.replace('"1.826,20"', "1826.2")))["open"].tolist() == [1826.2]


def test_unparseable_date_names_the_option() -> None:
    with pytest.raises(DataError) as err:
        read_prices(io.StringIO("Date,Close\n2020-01-02,1\n2020-01-03,2\n3rd Jan,3\n"))
    msg = str(err.value)
    for part in ("<file object>", "column 'Date'", "row 3", "'3rd Jan'", "date_format="):
        assert part in msg, part
    text = "Date,Close\n02 01 2020,1\n03 01 2020,1.1\n"
    assert read_prices(io.StringIO(text), date_format="%d %m %Y").index[1] == pd.Timestamp("2020-01-03")


# --------------------------------------------------------------------------------------------- plausibility


def _plausibility_frame() -> pd.DataFrame:
    idx = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])
    return pd.DataFrame(
        {
            "Close": [1527.1, 152710.0, 1573.1, 1567.85],
            "High": [1530, 152720, 1576, 1560],
            "Low": [1520, 1520, 1570, 1565],
        },
        index=pd.DatetimeIndex(idx, name="Date"),
    )


def test_plausibility_warnings_name_rows() -> None:
    with pytest.warns(PriceWarning) as record:
        df = read_prices(_plausibility_frame())
    messages = [str(w.message) for w in record]
    assert any("column 'High' below column 'Low' in row 4 (2020-01-07)" in m for m in messages)
    move = next(m for m in messages if "one-day move" in m)
    assert "<DataFrame>: column 'Close'" in move and "rows 2 (2020-01-03), 3 (2020-01-06)" in move
    assert "max_move=" in move
    assert len(df.attrs["warnings"]) == 2 and df["close"].iloc[1] == 152710.0  # warned, not changed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_prices(_plausibility_frame().drop(columns=["High", "Low"]), max_move=None)


def test_huge_and_future_values_warn() -> None:
    tomorrow = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2)
    text = f"Date,Close\n2020-01-02,1527.1\n2020-01-03,1e308\n{tomorrow:%Y-%m-%d},1530\n"
    with pytest.warns(PriceWarning) as record:
        read_prices(io.StringIO(text))
    messages = " | ".join(str(w.message) for w in record)
    assert "one-day move" in messages and "rows 2 (2020-01-03), 3" in messages
    assert "date after today" in messages and f"row 3 ({tomorrow:%Y-%m-%d})" in messages


def test_real_series_raise_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriceWarning)
        prices = load_gold(n_days=None)
    assert prices.attrs["warnings"] == []


# --------------------------------------------------------------------------------------------- property

DATE_FORMATS = ["%Y-%m-%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%b %d, %Y", "%d-%b-%Y",
                "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y"]  # fmt: skip
HAVE_OPENPYXL = importlib.util.find_spec("openpyxl") is not None
DAY_MONTH_FORMATS = {"%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y"}


@st.composite
def price_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, int]:
    """A daily price frame (2..25 rows, 2 or 3 decimals, close / OHLC / OHLCV) and its decimals."""
    n = draw(st.integers(2, 25))
    start = pd.Timestamp(draw(st.dates(dt.date(1990, 1, 1), dt.date(2020, 12, 31))))
    gaps = draw(st.lists(st.integers(1, 4), min_size=n - 1, max_size=n - 1))
    dates = pd.DatetimeIndex([start + pd.Timedelta(days=int(d)) for d in np.cumsum([0, *gaps])], name="date")
    ndp = draw(st.sampled_from([2, 3]))
    level = draw(st.floats(20.0, 4000.0))
    moves = np.array(draw(st.lists(st.floats(-0.04, 0.04), min_size=n, max_size=n)))
    close = np.round(level * np.exp(np.cumsum(moves)), ndp)
    frame = pd.DataFrame({"close": close}, index=dates)
    kind = draw(st.sampled_from(["close", "ohlc", "ohlcv"]))
    if kind != "close":
        frame["open"] = np.round(close * (1 + np.roll(moves, 1) / 2), ndp)
        frame["high"] = np.round(np.maximum(frame["open"], close) * 1.01, ndp)
        frame["low"] = np.round(np.minimum(frame["open"], close) * 0.99, ndp)
    if kind == "ohlcv":
        frame["volume"] = np.array(draw(st.lists(st.integers(0, 3_000_000), min_size=n, max_size=n)), float)
    return frame, ndp


def _number(x: float, ndp: int, decimal: str, thousands: str) -> str:
    text = f"{x:,.{ndp}f}" if ndp else f"{int(x):,}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _write_variant(frame: pd.DataFrame, ndp: int, v: dict[str, Any]) -> bytes:
    """The frame as a file in one writer variant (delimiter, decimal, thousands, date format, order,
    header form, time column, encoding)."""
    cols = [c for c in ("open", "high", "low", "close", "volume") if c in frame]
    rows = frame.iloc[::-1] if v["order"] == "desc" else frame
    timed = v["time"] and "%H" not in v["date_format"]
    body = []
    for date, rec in rows.iterrows():
        cells = [date.strftime(v["date_format"])] + (["00:00"] if timed else [])
        cells += [_number(rec[c], 0 if c == "volume" else ndp, v["decimal"], v["thousands"]) for c in cols]
        body.append(cells)
    names = [c.title() for c in cols]
    if v["header"] == "names":
        header = [["Date", *(["Time"] if timed else []), *names]]
    elif v["header"] == "metatrader5":
        header = [["<DATE>", *(["<TIME>"] if timed else []), *[f"<{c.upper()}>" for c in cols]]]
    elif v["header"] == "yfinance":
        body = [[c[0], *c[2:]] if timed else c for c in body]
        header = [["Price", *names], ["Ticker", *["GC=F"] * len(cols)], ["Date", *[""] * len(cols)]]
    else:  # headerless (MetaTrader 4 history and alike): date[, time], open, high, low, close[, volume]
        header = []
    buf = io.StringIO()
    csv.writer(buf, delimiter=v["delimiter"], lineterminator="\r\n" if v["crlf"] else "\n").writerows(
        header + body
    )
    text = buf.getvalue()
    if v["encoding"] == "xlsx":  # the same cells as text in the first sheet of a workbook
        import openpyxl

        book = openpyxl.Workbook()
        for row in header + body:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    if v["encoding"] == "gzip":
        return gzip.compress(text.encode("utf-8"))
    return text.encode(v["encoding"])


WRITERS = {
    "delimiter": st.sampled_from([",", ";", "\t", "|"]),
    "decimal": st.sampled_from([".", ","]),
    "thousands": st.sampled_from(["", "sep", " "]),
    "date_format": st.sampled_from(DATE_FORMATS),
    "order": st.sampled_from(["asc", "desc"]),
    "header": st.sampled_from(["names", "metatrader5", "yfinance", "headerless"]),
    "time": st.booleans(),
    "crlf": st.booleans(),
    "encoding": st.sampled_from(
        ["utf-8", "utf-8-sig", "utf-16", "gzip"] + (["xlsx"] if HAVE_OPENPYXL else [])
    ),
}


_SHORT = pd.DataFrame(
    {"close": [556.148, 557.02, 555.5]}, index=pd.DatetimeIndex(["2020-01-02", "2020-02-03", "2020-03-04"])
)
_VARIANT = {"delimiter": ";", "decimal": ",", "thousands": "", "date_format": "%d.%m.%Y", "order": "asc",
            "header": "names", "time": False, "crlf": False, "encoding": "utf-8"}  # fmt: skip


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(price_frames(), st.fixed_dictionaries(WRITERS))
@example((_SHORT, 3), _VARIANT)  # both ambiguous: dates (days <= 12) and decimals (three decimals, < 1000)
@example((_SHORT.iloc[[0, 2]], 3), {**_VARIANT, "date_format": "%Y-%m-%d", "header": "headerless"})
def test_every_writer_variant_reads_back_or_refuses(
    drawn: tuple[pd.DataFrame, int], v: dict[str, Any]
) -> None:
    frame, ndp = drawn
    if v["thousands"] == "sep":
        v["thousands"] = "," if v["decimal"] == "." else "."
    payload = _write_variant(frame, ndp, v)
    days = frame.index
    dates_ambiguous = (
        v["date_format"] in DAY_MONTH_FORMATS and (days.day <= 12).all() and (days.day != days.month).any()
    )
    prices = frame.drop(columns="volume", errors="ignore")
    big_grouped_volume = "volume" in frame and v["thousands"] in (",", ".") and frame["volume"].max() >= 1e6
    decimal_ambiguous = ndp == 3 and prices.to_numpy().max() < 1000 and not big_grouped_volume
    try:
        df = read_prices(io.BytesIO(payload))
    except DataError as err:
        msg = str(err)
        event("refused: " + ("dayfirst" if "dayfirst=" in msg else "decimal"))
        assert dates_ambiguous or decimal_ambiguous, msg  # refused only where two readings fit
        assert "<file object>: column '" in msg and "row " in msg
        assert ("dayfirst=" in msg and dates_ambiguous) or ("decimal=" in msg and decimal_ambiguous), msg
        options = {"decimal": v["decimal"]} if decimal_ambiguous else {}
        if dates_ambiguous:
            options["dayfirst"] = v["date_format"].startswith("%d")
        df = read_prices(io.BytesIO(payload), **options)  # the option the error names settles it
    else:
        assert not dates_ambiguous, "a day/month-ambiguous date column was read without a word"
    expected = frame[[c for c in ("close", "open", "high", "low", "volume") if c in frame]]
    assert list(df.columns) == list(expected.columns)
    assert df.index.tolist() == expected.index.tolist()
    np.testing.assert_allclose(df.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=0)
