"""Tests for goldlab.prices: price files of every supported layout, and errors that name the fix."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

from goldlab.prices import (
    DataError,
    read_prices,
    validate_prices,
)

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
    ("no_price", "Date,Foo,Bar\n2021-01-04,1,2\n", ["prices.csv", "no price column", "Foo", "Bar"]),
    ("no_date", "When,Close\n2021-01-04,1\n", ["prices.csv", "no date column", "When"]),
    (
        "non_numeric",
        GOOD_HEAD + "2021-01-05,abc\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "'abc'"],
    ),
    (
        "nan_empty",
        GOOD_HEAD + "2021-01-05,\n2021-01-06,3\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)"],
    ),
    (
        "nan_word",
        GOOD_HEAD + "2021-01-05,NaN\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "missing"],
    ),
    ("inf", GOOD_HEAD + "2021-01-05,inf\n", ["prices.csv: column 'Close', row 2 (2021-01-05)", "infinite"]),
    (
        "zero",
        GOOD_HEAD + "2021-01-05,0\n",
        ["prices.csv: column 'Close', row 2 (2021-01-05)", "non-positive"],
    ),
    ("negative", GOOD_HEAD + "2021-01-05,-3\n", ["column 'Close', row 2 (2021-01-05)", "non-positive"]),
    (
        "duplicate",
        GOOD_HEAD + "2021-01-05,11\n2021-01-04,12\n",
        ["prices.csv: column 'Date', rows 1 and 3 (2021-01-04)", "duplicated"],
    ),
    (
        "bad_date",
        GOOD_HEAD + "2021-13-45,11\n",
        ["prices.csv: column 'Date', row 2", "'2021-13-45'", "unparseable"],
    ),
    ("missing_date", GOOD_HEAD + ",11\n", ["prices.csv: column 'Date', row 2", "missing date"]),
    (
        "bad_open",
        "Date,Open,Close\n2021-01-04,x,10\n",
        ["prices.csv: column 'Open', row 1 (2021-01-04)", "'x'"],
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
