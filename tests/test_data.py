"""Tests for goldlab.data: the bundled gold series, features and leakage-free windows (the price-file
reader is tested in test_prices.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from goldlab.data import (
    FEATURE_NAMES,
    DataError,
    MinMaxScaler,
    Windows,
    load_gold,
    make_features,
    make_windows,
)

# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    return load_gold()


@pytest.fixture(scope="module")
def gold_all() -> pd.DataFrame:
    return load_gold(n_days=None)


def _synthetic_prices(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1500.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    idx = pd.bdate_range("2015-01-01", periods=n, name="date")
    return pd.DataFrame({"close": close}, index=idx)


# --------------------------------------------------------------------------------------------- load_gold


def test_load_gold_default(gold: pd.DataFrame) -> None:
    assert len(gold) == 1247
    assert isinstance(gold.index, pd.DatetimeIndex) and gold.index.name == "date"
    assert gold.index.is_monotonic_increasing and gold.index.is_unique
    assert list(gold.columns) == ["close"]
    assert gold["close"].dtype == np.float64
    assert gold.index[-1] == pd.Timestamp("2020-03-13")
    assert gold["close"].iloc[-1] == pytest.approx(1562.8)
    assert (gold["close"] > 0).all()


def test_load_gold_whole_daily_part(gold_all: pd.DataFrame) -> None:
    assert len(gold_all) > 1247
    assert gold_all.index[0] == pd.Timestamp("1978-12-29")
    assert gold_all.index[-1] == pd.Timestamp("2020-03-13")
    gaps = gold_all.index.to_series().diff().dt.days.dropna()
    assert gaps.max() <= 7


def test_load_gold_end_cuts_inclusive(gold_all: pd.DataFrame) -> None:
    cut = load_gold(n_days=100, end="2020-03-12")
    assert len(cut) == 100
    assert cut.index[-1] == pd.Timestamp("2020-03-12")
    early = load_gold(n_days=None, end="2000-01-01")
    assert early.index[-1] <= pd.Timestamp("2000-01-01")
    assert len(early) < len(gold_all)


def test_load_gold_too_many_days(gold_all: pd.DataFrame) -> None:
    with pytest.raises(DataError) as err:
        load_gold(n_days=len(gold_all) + 1)
    msg = str(err.value)
    assert "gold_price_data.csv" in msg and str(len(gold_all)) in msg and "Value" in msg
    with pytest.raises(DataError):
        load_gold(n_days=10, end="1970-06-01")


# --------------------------------------------------------------------------------------------- features


def test_make_features_columns_and_warmup(gold: pd.DataFrame) -> None:
    feats = make_features(gold)
    assert tuple(feats.columns) == FEATURE_NAMES and len(FEATURE_NAMES) == 5
    assert len(feats) == len(gold) - 20 and feats.attrs["warmup_rows"] == 20
    assert feats.index[0] == gold.index[20]
    assert not feats.isna().to_numpy().any()
    t = feats.index[5]
    pos = gold.index.get_loc(t)
    close = gold["close"].to_numpy()
    assert feats.loc[t, "close"] == close[pos]
    assert feats.loc[t, "log_return"] == pytest.approx(np.log(close[pos] / close[pos - 1]))
    assert feats.loc[t, "momentum_10"] == pytest.approx(np.log(close[pos] / close[pos - 10]))
    assert feats.loc[t, "ma_ratio_20"] == pytest.approx(close[pos] / close[pos - 19 : pos + 1].mean() - 1)
    rets = np.diff(np.log(close[pos - 20 : pos + 1]))
    assert feats.loc[t, "volatility_20"] == pytest.approx(rets.std(ddof=1))


def test_make_features_no_look_ahead(gold: pd.DataFrame) -> None:
    feats = make_features(gold)
    changed = gold.copy()
    k = 600
    changed.iloc[k, 0] *= 1.5
    feats2 = make_features(changed)
    cut = k - 20  # feature row of raw row k
    pd.testing.assert_frame_equal(feats.iloc[:cut], feats2.iloc[:cut])
    assert not np.allclose(feats.iloc[cut].to_numpy(), feats2.iloc[cut].to_numpy())


def test_make_features_too_short() -> None:
    with pytest.raises(DataError, match="20"):
        make_features(_synthetic_prices(20))


def test_make_features_errors_name_the_source() -> None:
    short = _synthetic_prices(20)
    short.attrs["source"] = "my_prices.csv"
    with pytest.raises(DataError, match=r"^my_prices.csv: column 'close': need more than 20 rows.*got 20"):
        make_features(short)
    with pytest.raises(DataError, match=r"^<prices>: no price column"):  # no source known
        make_features(pd.DataFrame({"open": [1.0]}))


def test_reader_is_reexported() -> None:
    import goldlab.data
    import goldlab.prices

    assert goldlab.data.read_prices is goldlab.prices.read_prices
    assert goldlab.data.validate_prices is goldlab.prices.validate_prices
    assert goldlab.data.DataError is goldlab.prices.DataError


# --------------------------------------------------------------------------------------------- windows


@pytest.fixture(scope="module")
def windows(gold: pd.DataFrame) -> Windows:
    return make_windows(make_features(gold))


def test_windows_shapes_and_dtypes(windows: Windows, gold: pd.DataFrame) -> None:
    w = windows
    n = len(gold) - 20
    assert w.x_train.dtype == np.float32 and w.x_test.dtype == np.float32
    assert w.y_train.dtype == np.float32 and w.y_test.dtype == np.float32
    assert w.x_train.shape[1:] == (60, 5) and w.x_test.shape[1:] == (60, 5)
    assert w.y_train.shape == (len(w.x_train), 1) and w.y_test.shape == (len(w.x_test), 1)
    assert len(w.x_train) + len(w.x_val) + len(w.x_test) == n - 60 - 1 + 1
    assert w.x_val.shape[1:] == (60, 5) and w.y_val.shape == (len(w.x_val), 1)
    for arr in (w.base_train, w.base_test, w.y_train_usd, w.y_test_usd):
        assert arr.dtype == np.float64
    assert w.feature_names == FEATURE_NAMES and w.window == 60 and w.horizon == 1
    assert w.target_kind == "level"
    assert 0.0 <= w.x_train.min() and w.x_train.max() <= 1.0
    assert 0.0 <= w.y_train.min() and w.y_train.max() <= 1.0


def test_windows_split_arithmetic(windows: Windows, gold: pd.DataFrame) -> None:
    w = windows
    feats = make_features(gold)
    n = len(feats)
    n_train = int(round(0.8 * n))  # the blog's 80 %: training and validation
    n_fit = n_train - int(round(0.1 * n))  # validation: the last 10 % of all rows before the test split
    assert (w.n_train_rows, w.n_fit_rows) == (n_train, n_fit)
    assert len(w.y_test) == n - n_train
    assert len(w.y_val) == n_train - n_fit
    assert len(w.y_train) == n_fit - 60 - 1 + 1
    assert w.dates_test[0] == feats.index[n_train] and w.dates_test[-1] == feats.index[-1]
    assert w.dates_val[0] == feats.index[n_fit] and w.dates_val[-1] == feats.index[n_train - 1]
    assert w.dates_train[-1] == feats.index[n_fit - 1] and w.dates_train[0] == feats.index[60]
    assert (w.origin_test == feats.index[n_train - 1 : n - 1]).all()
    assert len(w.train_close) == n_fit
    pd.testing.assert_series_equal(w.train_close, feats["close"].iloc[:n_fit])
    # scalers see the training rows only: the first training sample, rows [0, 60)
    assert np.allclose(w.feature_scaler.transform(feats.iloc[:n_fit].to_numpy()).max(axis=0), 1.0)
    expected = w.feature_scaler.transform(feats.iloc[:60].to_numpy())
    np.testing.assert_allclose(w.x_train[0], expected, rtol=1e-6, atol=1e-7)
    # last test sample ends at the day before the last row
    expected = w.feature_scaler.transform(feats.iloc[n - 61 : n - 1].to_numpy())
    np.testing.assert_allclose(w.x_test[-1], expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(w.to_usd(w.y_val, "val"), w.y_val_usd, rtol=1e-9)
    assert w.validation is not None and w.validation[0] is w.x_val


def test_windows_without_validation(gold: pd.DataFrame) -> None:
    w = make_windows(make_features(gold), val_fraction=0.0)
    assert len(w.x_val) == 0 and w.validation is None
    assert w.n_fit_rows == w.n_train_rows
    with pytest.raises(ValueError, match="val_fraction"):
        make_windows(make_features(gold), val_fraction=0.8)


@pytest.mark.parametrize("kind", ["level", "return"])
def test_windows_no_leakage(gold: pd.DataFrame, kind: str) -> None:
    w = make_windows(make_features(gold), target_kind=kind)
    rng = np.random.default_rng(1)
    changed = gold.copy()
    first_test_raw = 20 + w.n_train_rows  # raw row of the first test target
    rows = rng.choice(np.arange(first_test_raw, len(gold)), size=5, replace=False)
    changed.iloc[np.r_[first_test_raw, rows], 0] *= 1.7
    w2 = make_windows(make_features(changed), target_kind=kind)
    np.testing.assert_array_equal(w.x_train, w2.x_train)
    np.testing.assert_array_equal(w.y_train, w2.y_train)
    np.testing.assert_array_equal(w.y_train_usd, w2.y_train_usd)
    for attr in ("data_min", "data_range"):
        np.testing.assert_array_equal(getattr(w.feature_scaler, attr), getattr(w2.feature_scaler, attr))
        np.testing.assert_array_equal(getattr(w.target_scaler, attr), getattr(w2.target_scaler, attr))
    assert not np.array_equal(w.x_test, w2.x_test)
    assert not np.array_equal(w.y_test, w2.y_test)


@pytest.mark.parametrize("kind", ["level", "return"])
def test_to_usd_round_trip(gold: pd.DataFrame, kind: str) -> None:
    feats = make_features(gold)
    w = make_windows(feats, target_kind=kind)
    np.testing.assert_allclose(w.to_usd(w.y_test, "test"), w.y_test_usd, rtol=1e-9)
    np.testing.assert_allclose(w.to_usd(w.y_train[:, 0], "train"), w.y_train_usd, rtol=1e-9)
    true_test = feats["close"].to_numpy()[w.n_train_rows :]
    np.testing.assert_allclose(w.y_test_usd, true_test, rtol=1e-6)  # float32 targets: ~1e-7 relative
    with pytest.raises(ValueError, match="split"):
        w.to_usd(w.y_test, "valid")


def test_return_target_is_log_return(gold: pd.DataFrame) -> None:
    w = make_windows(make_features(gold), target_kind="return")
    raw = w.target_scaler.inverse_transform(w.y_test)[:, 0]
    np.testing.assert_allclose(raw, np.log(w.y_test_usd / w.base_test), rtol=1e-6, atol=1e-9)


def test_horizon_30_and_base(gold: pd.DataFrame) -> None:
    feats = make_features(gold)
    close = feats["close"]
    w = make_windows(feats, horizon=30)
    assert w.horizon == 30
    origin_pos = feats.index.get_indexer(w.origin_test)
    target_pos = feats.index.get_indexer(w.dates_test)
    assert (target_pos - origin_pos == 30).all()
    np.testing.assert_allclose(w.y_test_usd, close.to_numpy()[origin_pos + 30], rtol=1e-6)
    np.testing.assert_array_equal(w.base_test, close.to_numpy()[origin_pos])
    np.testing.assert_array_equal(w.base_train, close.loc[w.origin_train].to_numpy())
    assert w.dates_test[0] == feats.index[w.n_train_rows]


def test_make_windows_too_few_rows() -> None:
    feats = make_features(_synthetic_prices(90))  # 70 feature rows, 56 for training
    with pytest.raises(DataError) as err:
        make_windows(feats, window=60, horizon=1)
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert "61" in msg and "70" in msg and "'close'" in msg
    w = make_windows(feats, window=10, horizon=1)
    assert w.x_train.shape[1:] == (10, 5)


def test_make_windows_invalid_kind(gold: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="level.*return"):
        make_windows(make_features(gold), target_kind="diff")


def test_min_max_scaler_round_trip() -> None:
    x = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    s = MinMaxScaler().fit(x)
    z = s.transform(x)
    np.testing.assert_allclose(z[:, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(z[:, 1], 0.0)  # constant column
    np.testing.assert_allclose(s.inverse_transform(z), x)
    with pytest.raises(ValueError, match="not fitted"):
        MinMaxScaler().transform(x)


# --------------------------------------------------------------------------------------------- your own file


def _german_csv(path, n: int = 300, seed: int = 1) -> np.ndarray:
    """A semicolon file with German headers, day-first dates and decimal commas; returns its closes."""
    rng = np.random.default_rng(seed)
    close = np.round(1800.0 + np.cumsum(rng.normal(0.0, 9.0, n)), 2)
    days = pd.bdate_range("2018-01-01", periods=n)
    de = [f"{c:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") for c in close]  # 1.826,20
    lines = ["Datum;Eröffnung;Schlusskurs;Volumen"]
    lines += [f"{d:%d.%m.%Y};{v};{v};{100 + i}" for i, (d, v) in enumerate(zip(days, de, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return close


def test_own_prices_reads_german_headers_with_the_options_in_the_environment(tmp_path, monkeypatch):
    from goldlab import data

    path = tmp_path / "gold_de.csv"
    close = _german_csv(path)
    monkeypatch.setenv("GOLDLAB_PRICES", str(path))
    monkeypatch.delenv("GOLDLAB_PRICES_OPTIONS", raising=False)
    with pytest.raises(DataError, match=r"date_col=.*GOLDLAB_PRICES_OPTIONS"):  # names the option, and where
        data.own_prices()
    monkeypatch.setenv("GOLDLAB_PRICES_OPTIONS", '{"date_col": "Datum", "price_col": "Schlusskurs"}')
    prices = data.own_prices()
    # independent reference: the numbers written, and the dates parsed day-first by pandas
    np.testing.assert_allclose(prices["close"].to_numpy(), close, rtol=0, atol=1e-9)
    raw = pd.read_csv(path, sep=";", dtype=str)
    assert list(prices.index) == list(pd.to_datetime(raw["Datum"], format="%d.%m.%Y"))
    assert prices.attrs["columns"]["close"] == "Schlusskurs"


def test_own_prices_errors_name_the_variable_and_the_option(tmp_path, monkeypatch):
    from goldlab import data

    monkeypatch.delenv("GOLDLAB_PRICES", raising=False)
    monkeypatch.delenv("GOLDLAB_PRICES_OPTIONS", raising=False)
    assert data.own_prices() is None
    assert data.own_prices({"GOLDLAB_PRICES": "  "}) is None
    with pytest.raises(DataError, match="GOLDLAB_PRICES_OPTIONS is set but GOLDLAB_PRICES is not"):
        data.own_prices({"GOLDLAB_PRICES_OPTIONS": '{"decimal": ","}'})
    with pytest.raises(DataError, match=r"nope.csv: no such file \(GOLDLAB_PRICES\)"):
        data.own_prices({"GOLDLAB_PRICES": str(tmp_path / "nope.csv")})
    path = tmp_path / "gold_de.csv"
    _german_csv(path)
    env = {"GOLDLAB_PRICES": str(path)}
    with pytest.raises(DataError, match="not JSON"):
        data.own_prices({**env, "GOLDLAB_PRICES_OPTIONS": "date_col=Datum"})
    with pytest.raises(DataError, match=r"unknown option\(s\) \['datecol'\]; read_prices takes \['date_col'"):
        data.own_prices({**env, "GOLDLAB_PRICES_OPTIONS": '{"datecol": "Datum"}'})
    with pytest.raises(DataError, match=r"price column 'Close' not found.*price_col="):
        data.own_prices({**env, "GOLDLAB_PRICES_OPTIONS": '{"date_col": "Datum", "price_col": "Close"}'})


def test_last_days_cuts_or_says_the_file_is_short() -> None:
    from goldlab import data

    long = _synthetic_prices(n=1300)
    long.attrs["source"] = "long.csv"
    cut = data.last_days(long)
    assert len(cut) == 1247 and cut.index[-1] == long.index[-1] and cut.index[0] == long.index[1300 - 1247]
    assert "long.csv: 1,300 days" in cut.attrs["note"] and "its last 1,247 days are used" in cut.attrs["note"]
    short = _synthetic_prices(n=300)
    short.attrs["source"] = "short.csv"
    with pytest.warns(data.ShortSeriesWarning, match=r"short.csv: 300 days.*fewer than the 1,247"):
        whole = data.last_days(short)
    assert len(whole) == 300 and "the whole file" in whole.attrs["note"]


def test_a_german_file_runs_through_walk_forward_from_the_environment(tmp_path, monkeypatch):
    """GOLDLAB_PRICES + options -> walk_forward with no other option (baselines only: no training)."""
    from goldlab import data
    from goldlab.lab import experiments

    path = tmp_path / "gold_de.csv"
    close = pd.Series(_german_csv(path), index=pd.bdate_range("2018-01-01", periods=300))
    env = {
        "GOLDLAB_PRICES": str(path),
        "GOLDLAB_PRICES_OPTIONS": '{"date_col": "Datum", "price_col": "Schlusskurs"}',
    }
    with pytest.warns(data.ShortSeriesWarning, match="pass train_days="):
        table = experiments.walk_forward(prices=data.own_prices(env), steps=(), profile="quick", quiet=True)
    naive = table[(table["model"] == "naive") & (table["target_kind"] == "level")]
    expect = close.diff().abs()[close.index.year == 2019].mean()
    assert naive["year"].tolist() == [2019] and naive["mae"].iloc[0] == pytest.approx(expect, rel=1e-6)


@pytest.mark.parametrize(("name", "sep"), [("investing_gold_2013_2023.csv", ","), ("xau_1d_ohlcv.csv", ";")])
def test_real_files_through_the_environment_and_walk_forward(shared_data_dir, name, sep):
    """The real exports of ../shared/data: read with no option, years and training days from the file."""
    from goldlab import data
    from goldlab.lab import experiments, profiles

    prices = data.own_prices({"GOLDLAB_PRICES": str(shared_data_dir / name)})
    raw = pd.read_csv(shared_data_dir / name, sep=sep, dtype=str, encoding="utf-8-sig")
    assert len(prices) == len(raw)  # every row read, none dropped
    features = data.make_features(prices)
    quick = profiles.get_profile("quick")
    years, days = experiments._walk_plan(features, None, None, quick, own=True)
    # independent: the file's last two years, each with at least 1,247 feature rows before it
    per_year = pd.Series(features.index.year).value_counts().sort_index()
    assert days == 1247 and years == tuple(per_year.index[-2:])
    assert (per_year.cumsum() - per_year)[years[0]] >= 1247
    assert "its last 1,247 days are used" in data.last_days(prices).attrs["note"]
