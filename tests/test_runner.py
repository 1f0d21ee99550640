"""Tests of goldlab.lab.runner: a run is trained once, written whole, and read back as it was saved."""

from __future__ import annotations

import pandas as pd
import pytest

from goldlab.lab import runner


def _run() -> dict:
    dates = pd.bdate_range("2020-01-01", periods=3)
    return {
        "row": {"mae": 1.5, "nan_loss": False, "seed": 0},
        "predictions": pd.DataFrame({"date": dates, "pred": [1.0, 2.0, 3.0]}),
    }


def test_cached_trains_once_then_reads_the_folder(tmp_path):
    calls = []

    def train() -> dict:
        calls.append(1)
        return _run()

    folder = tmp_path / "runs" / "a_run"
    first = runner.cached(folder, train)
    assert calls == [1] and first["row"]["mae"] == 1.5
    assert sorted(p.name for p in folder.iterdir()) == ["predictions.csv", "row.json"]
    again = runner.cached(folder, train, dates=("date",))
    assert calls == [1], "a saved run is read back, not trained"
    assert again["row"] == first["row"]
    pd.testing.assert_frame_equal(
        again["predictions"], first["predictions"], check_dtype=False, check_freq=False
    )
    assert runner.cached(folder, train, keys=["row"]).keys() == {"row"}
    assert not [p for p in tmp_path.rglob(".*")], "no temporary folder left behind"


def test_without_a_folder_it_trains_every_time(tmp_path):
    calls = []
    runner.cached(None, lambda: calls.append(1) or _run())
    runner.cached(None, lambda: calls.append(1) or _run())
    assert calls == [1, 1] and not runner.is_saved(None)


def test_a_failed_training_writes_nothing(tmp_path):
    def broken() -> dict:
        raise RuntimeError("NaN everywhere")

    with pytest.raises(RuntimeError):
        runner.cached(tmp_path / "runs" / "a_run", broken)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_read_run_names_a_missing_file(tmp_path):
    runner.write_whole(tmp_path / "r", {"row.json": {"a": 1}})
    with pytest.raises(FileNotFoundError, match="no history"):
        runner.read_run(tmp_path / "r", ["row", "history"])
