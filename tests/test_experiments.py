"""Tests of goldlab.lab.experiments on a synthetic random walk, with tiny models (a few seconds per run)."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from goldlab import data as gdata
from goldlab import metrics
from goldlab.lab import experiments as ex
from goldlab.lab import profiles, runner

SEEDS = [0, 1]


def random_walk(n_days: int = 400, start: str = "2018-01-01", seed: int = 0) -> pd.DataFrame:
    """A business-day random walk around 1500 USD, as ``load_gold`` returns it (a ``close`` column)."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n_days, name="date")
    return pd.DataFrame({"close": 1500.0 + np.cumsum(rng.normal(0.0, 8.0, n_days))}, index=index)


def small_build_step(real, name: str, *args, learning_rate: float = 1e-3, huge_lr_seed=None, **kwargs):
    """``build_step`` with 8-4 LSTMs; ``learning_rate`` 1e30 for the seed ``huge_lr_seed``."""
    if kwargs.get("seed") == huge_lr_seed:
        learning_rate = 1e30
    return real(name, *args, units=(8, 4), learning_rate=learning_rate, **kwargs)


def use_small_models(mp: pytest.MonkeyPatch, huge_lr_seed: int | None = None) -> None:
    """Make every run of ``goldlab.lab.experiments`` build a tiny model (run_one calls ``ex.build_step``)."""
    mp.setattr(
        ex, "build_step", functools.partial(small_build_step, ex.build_step, huge_lr_seed=huge_lr_seed)
    )


def ablation(out: Path | None, seeds=SEEDS, **kwargs) -> pd.DataFrame:
    """A one-step ablation on a 400-day random walk (shorter than the blog's 1,247 days: it says so)."""
    with pytest.warns(gdata.ShortSeriesWarning, match="400 days, fewer than the blog's 1,247"):
        return ex.run_ablation(
            steps=("baseline",),
            seeds=seeds,
            epochs=1,
            horizons=(1,),
            profile="quick",
            out=out,
            prices=random_walk(),
            quiet=True,
            **kwargs,
        )


def forbid_training(mp: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("a run was trained: a saved result should have been read back")

    mp.setattr(ex, "run_one", fail)
    mp.setattr(ex, "run_seeds", fail)


def fake_run(step: str, seed: int, windows: gdata.Windows, epochs: int, *args, **kwargs) -> dict:
    """What run_one returns, without training: the naive forecast as the model's."""
    pred = windows.base_test
    row = {"step": step, "seed": seed, "horizon": windows.horizon, "target_kind": windows.target_kind}
    row |= {"epochs": epochs, "nan_loss": False, "mae": metrics.mae(windows.y_test_usd, pred)}
    table = pd.DataFrame({"epoch": [1], "loss": [0.5]})
    predictions = pd.DataFrame({"date": windows.dates_test, "actual": windows.y_test_usd, "pred": pred})
    return {
        "row": row,
        "history": table,
        "gradients": table,
        "time_profile": table,
        "predictions": predictions,
    }


def fake_runs(step: str, seeds: list[int], windows: gdata.Windows, epochs: int, *args, **kw) -> list[dict]:
    """What run_seeds returns, without training."""
    return [fake_run(step, seed, windows, epochs) for seed in seeds]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """One real ablation (baseline, seeds 0 and 1, h=1, one epoch, tiny model), saved to a folder."""
    out = tmp_path_factory.mktemp("ablation")
    with pytest.MonkeyPatch.context() as mp:
        use_small_models(mp)
        table = ablation(out)
    return out, table


# ------------------------------------------------------------------------------------------- profiles


def test_get_profile_defaults_to_env(monkeypatch):
    monkeypatch.setenv("GOLDLAB_PROFILE", "full")
    assert profiles.get_profile().name == "full"
    monkeypatch.delenv("GOLDLAB_PROFILE")
    assert profiles.get_profile().name == "quick"
    assert profiles.get_profile(profiles.PROFILES["full"]) is profiles.PROFILES["full"]


def test_get_profile_unknown_names_choices(monkeypatch):
    with pytest.raises(ValueError, match="quick.*full"):
        profiles.get_profile("huge")
    monkeypatch.setenv("GOLDLAB_PROFILE", "huge")
    with pytest.raises(ValueError, match="'huge'"):
        profiles.get_profile()


def test_full_profile_is_the_blogs_setup():
    full = profiles.get_profile("full")
    assert (full.epochs, full.seeds, full.batch_size) == (50, 5, 32)


def test_results_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLDLAB_RESULTS", str(tmp_path))
    assert profiles.results_dir("full") == tmp_path / "full"
    monkeypatch.delenv("GOLDLAB_RESULTS")
    assert profiles.results_dir("quick").parts[-2:] == ("results", "quick")


# ------------------------------------------------------------------------------------------- ablation


def test_ablation_rows(saved):
    _, table = saved
    models = table[table["seed"] >= 0]
    assert sorted(zip(models["step"], models["seed"], models["horizon"], strict=True)) == [
        ("baseline", s, 1) for s in SEEDS
    ]
    baselines = table[table["seed"] == -1]
    assert sorted(baselines["step"]) == ["drift", "linear", "naive"]
    assert np.isfinite(table[["mae", "rmse", "mase"]].to_numpy(dtype=float)).all()
    assert not models["nan_loss"].any()


def test_naive_row_matches_independent_mae(saved):
    _, table = saved
    windows = gdata.make_windows(gdata.make_features(random_walk()), horizon=1)
    naive = table[(table["step"] == "naive") & (table["horizon"] == 1)]
    assert len(naive) == 1
    assert naive["mae"].iloc[0] == pytest.approx(
        metrics.mae(windows.y_test_usd, windows.base_test), rel=1e-12
    )
    assert naive["mase"].iloc[0] == pytest.approx(1.0, abs=0.5)  # the naive forecast scaled by its own kind


def test_saved_files_are_complete(saved):
    out, table = saved
    folders = sorted((out / "runs").iterdir())
    assert [f.name for f in folders] == [f"baseline_h1_level_e1_val10_s{s}" for s in SEEDS]
    for folder in folders:
        row = json.loads((folder / "row.json").read_text())
        assert row["step"] == "baseline" and row["epochs"] == 1
        for name in ("history", "gradients", "time_profile", "predictions"):
            assert len(pd.read_csv(folder / f"{name}.csv")) > 0
        run = ex.load_run(out, "baseline", row["seed"], 1, 1)
        assert len(run["predictions"]) == len(run["predictions"].dropna())
    written = pd.read_csv(out / "ablation_level.csv")
    assert len(written) == len(table)
    np.testing.assert_allclose(written["mae"], table["mae"], rtol=1e-5)
    assert not [p for p in out.rglob(".*")], "temporary files left behind"


def test_resume_trains_nothing(saved, monkeypatch):
    out, table = saved
    forbid_training(monkeypatch)
    again = ablation(out)
    pd.testing.assert_frame_equal(again, table, check_dtype=False)


def test_resume_ignores_half_written_folder(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    half = runs / ".baseline_h1_level_e1_val10_s0.x1y2z3"
    half.mkdir(parents=True)
    (half / "row.json").write_text('{"step": "baseline", "mae": ')
    calls = []
    monkeypatch.setattr(ex, "run_seeds", lambda *a, **k: calls.append(a[:2]) or fake_runs(*a, **k))
    table = ablation(tmp_path, seeds=[0])
    assert calls == [("baseline", [0])]
    assert json.loads((runs / "baseline_h1_level_e1_val10_s0" / "row.json").read_text())["seed"] == 0
    assert len(table) == 4


def test_failed_write_leaves_no_run_folder(tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)  # row.json is written first, then a CSV fails
    folder = tmp_path / "runs" / "baseline_h1_level_e1_val10_s0"
    with pytest.raises(OSError, match="disk full"):
        runner.write_whole(folder, {"row.json": {"mae": 1.0}, "history.csv": pd.DataFrame({"a": [1]})})
    assert list((tmp_path / "runs").iterdir()) == []

    monkeypatch.setattr(ex, "run_seeds", fake_runs)
    with pytest.raises(OSError, match="disk full"):
        ablation(tmp_path, seeds=[0])
    assert list((tmp_path / "runs").iterdir()) == []


def test_same_seed_same_mae(saved, monkeypatch):
    _, table = saved
    use_small_models(monkeypatch)
    windows = gdata.make_windows(gdata.make_features(random_walk()), horizon=1)
    again = ex.run_one("baseline", 0, windows, epochs=1)
    first = table[(table["step"] == "baseline") & (table["seed"] == 0)]["mae"].iloc[0]
    assert again["row"]["mae"] == first


def test_nan_run_is_recorded_and_ablation_goes_on(tmp_path, monkeypatch):
    # 1e6 does not overflow the tiny model within a few epochs; 1e30 reaches an infinite loss in one batch.
    use_small_models(monkeypatch, huge_lr_seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ablation(tmp_path)
    runs = table[table["seed"] >= 0].set_index("seed")
    assert bool(runs.loc[0, "nan_loss"]) and np.isnan(runs.loc[0, "mae"])
    assert not bool(runs.loc[1, "nan_loss"]) and np.isfinite(runs.loc[1, "mae"])
    row = json.loads((tmp_path / "runs" / "baseline_h1_level_e1_val10_s0" / "row.json").read_text())
    assert row["nan_loss"] is True


# ------------------------------------------------------------------------------------------- walk-forward


def test_walk_forward_and_its_cache(tmp_path, monkeypatch):
    use_small_models(monkeypatch)
    prices = random_walk(n_days=600)  # 2018-01-01 to 2020-04: two test years after 150 training days
    kwargs = dict(years=(2019, 2020), epochs=1, train_days=150, target_kinds=("level",), out=tmp_path)
    table = ex.walk_forward(prices=prices, quiet=True, **kwargs)
    assert sorted(set(zip(table["year"], table["model"], strict=True))) == [
        (y, m) for y in (2019, 2020) for m in ("baseline", "drift", "linear", "naive")
    ]
    naive = table[table["model"] == "naive"]
    assert np.isfinite(naive["mase"]).all() and (naive["mase"] > 0).all()
    assert (tmp_path / "walk_forward.csv").exists()
    folds = sorted(p.name for p in (tmp_path / "walk" / "runs").iterdir())
    assert folds == [f"baseline_y{y}_level_h1_e1_d150_s0" for y in (2019, 2020)], (
        "one folder per trained fold"
    )
    forbid_training(monkeypatch)
    again = ex.walk_forward(prices=prices, quiet=True, **kwargs)
    pd.testing.assert_frame_equal(again, table, check_dtype=False, rtol=1e-5)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "walk_forward.csv"), table, check_dtype=False, rtol=1e-5
    )


# ------------------------------------------------------------------------------------------- baselines


def test_baseline_forecasts_on_a_line():
    index = pd.bdate_range("2018-01-01", periods=300, name="date")
    features = gdata.make_features(pd.DataFrame({"close": 1000.0 + 2.0 * np.arange(300)}, index=index))
    windows = gdata.make_windows(features, horizon=3)
    preds = ex.baseline_forecasts(windows, features["close"])
    truth = features["close"].loc[windows.dates_test].to_numpy()
    np.testing.assert_allclose(preds["drift"], truth, rtol=1e-12)
    np.testing.assert_array_equal(preds["naive"], windows.base_test)
    assert np.isfinite(preds["linear"]).all()


def test_a_run_written_twice_keeps_the_first_whole_folder(tmp_path):
    folder = tmp_path / "runs" / "baseline_h1_level_e1_val10_s0"
    runner.write_whole(folder, {"row.json": {"mae": 1.0}})
    runner.write_whole(folder, {"row.json": {"mae": 2.0}})  # e.g. a second process trained it meanwhile
    assert json.loads((folder / "row.json").read_text()) == {"mae": 1.0}
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [folder.name]


def test_a_call_for_some_runs_keeps_the_others_in_the_table(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "run_seeds", fake_runs)
    both = ablation(tmp_path, seeds=[0, 1])
    path = tmp_path / "ablation_level.csv"
    stamp = path.stat().st_mtime_ns
    forbid_training(monkeypatch)
    one = ablation(tmp_path, seeds=[0])  # read back, a subset of the saved runs
    assert len(one) == len(both) - 1
    assert path.stat().st_mtime_ns == stamp, "nothing new: the table is not rewritten"
    saved = pd.read_csv(path)
    assert sorted(saved.loc[saved["seed"] >= 0, "seed"]) == [0, 1], "seed 1's row stays"
    assert list(saved["step"][:3]) == ["naive", "drift", "linear"]


# ------------------------------------------------------------------------------------------- your own file


def test_walk_forward_takes_years_and_training_days_from_a_short_file(monkeypatch):
    """A 300-day file of one's own, no option: the last year is tested on all the days before it."""
    use_small_models(monkeypatch)
    prices = random_walk(n_days=300)  # business days 2018-01-01 to 2019-02-22
    prices.attrs["source"] = "my_300_days.csv"
    with pytest.warns(gdata.ShortSeriesWarning, match=r"my_300_days.csv.*pass train_days="):
        table = ex.walk_forward(prices=prices, quiet=True, profile="quick")
    # independent: 2018's rows after the 20-day feature warm-up, and 2019's naive errors from the closes
    train_days = int((prices.index.year == 2018).sum()) - gdata.WARMUP_ROWS
    assert set(table["year"]) == {2019} and set(table["train_days"]) == {train_days}
    close = prices["close"]
    naive_mae = close.diff().abs()[close.index.year == 2019].mean()
    naive = table[(table["model"] == "naive") & (table["target_kind"] == "level")]
    assert naive["mae"].iloc[0] == pytest.approx(naive_mae, rel=1e-6)  # targets pass through float32
    assert set(table["model"]) == {"naive", "drift", "linear", "baseline"}


def test_walk_forward_errors_name_the_options_that_fix_them(monkeypatch):
    use_small_models(monkeypatch)
    prices = random_walk(n_days=300)
    with pytest.raises(ValueError, match=r"years=\(2018,\).*pass later years= or a smaller train_days="):
        ex.walk_forward(prices=prices, years=(2018,), train_days=200, quiet=True)
    with pytest.raises(ValueError, match=r"no days in \[2021\]; pass years="):
        ex.walk_forward(prices=prices, years=(2021,), quiet=True)
    with pytest.raises(ValueError, match=r"train_days=1,247.*pass a smaller train_days="):
        ex.walk_forward(prices=prices, train_days=1247, quiet=True)
    # the option the last error names: it runs
    table = ex.walk_forward(prices=prices, train_days=200, target_kinds=("level",), quiet=True)
    assert set(table["year"]) == {2019} and set(table["train_days"]) == {200}


def test_walk_forward_on_the_bundled_series_keeps_the_profile():
    """Without prices: the profile's years and the blog's 1,247 training days (what the pages cite)."""
    features = gdata.make_features(gdata.load_gold(n_days=None))
    quick = profiles.get_profile("quick")
    assert ex._walk_plan(features, None, None, quick, own=False) == (quick.walk_years, 1247)
    # the same series passed as one's own: its latest years with 1,247 days before them
    years, days = ex._walk_plan(features, None, None, quick, own=True)
    assert days == 1247 and years == (2019, 2020)


def test_ablation_says_when_a_file_is_shorter_than_the_blogs(monkeypatch):
    monkeypatch.setattr(ex, "run_seeds", fake_runs)
    prices = random_walk(n_days=300)
    prices.attrs["source"] = "my_300_days.csv"
    with pytest.warns(
        gdata.ShortSeriesWarning, match=r"my_300_days.csv: 300 days, fewer than the blog's 1,247"
    ):
        table = ex.run_ablation(
            steps=("baseline",), seeds=[0], epochs=1, horizons=(1,), prices=prices, quiet=True
        )
    assert "baseline" in set(table["step"])
    with (
        pytest.warns(gdata.ShortSeriesWarning),
        pytest.raises(gdata.DataError, match=r"run_ablation: pass shorter horizons="),
    ):
        ex.run_ablation(steps=("baseline",), seeds=[0], epochs=1, horizons=(200,), prices=prices, quiet=True)
