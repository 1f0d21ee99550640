"""Tests for goldlab.lab.depth: the depth sweep's pairing, its resumable table and the first-to-last ratio."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pandas as pd
import pytest

from goldlab.lab import claims, depth, profiles
from goldlab.models import build_lstm, compile_model
from goldlab.monitor import gradient_norms


def _row(d, skip, seed, init, final, mae):
    return dict(
        depth=d,
        skips=skip,
        seed=seed,
        epochs=2,
        grad_ratio_init=init,
        grad_ratio_final=final,
        val_mse=0.1,
        mae=mae,
        naive_mae=50.5,
        seconds=1.5,
    )


def test_skip_gain_pairs_seeds():
    rows = [_row(1, False, 0, 1, 1, 60)]
    rows += [_row(4, False, s, 0.1, 0.2, 80 + s) for s in range(3)]
    rows += [_row(4, True, s, 0.4, 0.2 * 9, 70 + 2 * s) for s in range(2)]  # seed 2 unpaired
    gain = depth.skip_gain(pd.DataFrame(rows)).set_index("depth")
    assert list(gain.index) == [4], "one layer has nothing to skip"
    assert gain.loc[4, "gradient_gain_init"] == pytest.approx(4.0)
    assert gain.loc[4, "gradient_gain_trained"] == pytest.approx(9.0)
    assert gain.loc[4, "mae_gain_usd"] == pytest.approx(np.mean([80 - 70, 81 - 72]))
    assert gain.loc[4, "seeds"] == 2


def test_run_depth_resumes(tmp_path, monkeypatch):
    quick = profiles.get_profile("quick")
    prof = replace(quick, depth_depths=(1, 2), depth_seeds=2, depth_epochs=2)
    calls = []

    def fake(windows, d, skip, seed, p):
        calls.append((d, skip, seed))
        return _row(d, skip, seed, 0.5, 0.25, 60.5 + d)

    monkeypatch.setattr(depth, "_train", fake)
    table = depth.run_depth(prof, tmp_path, quiet=True)
    assert calls == [(1, False, 0), (1, False, 1), (2, False, 0), (2, False, 1), (2, True, 0), (2, True, 1)]
    np.testing.assert_allclose(table["mae_ratio"], table["mae"] / 50.5)
    calls.clear()
    again = depth.run_depth(prof, tmp_path, quiet=True)
    assert calls == [], "saved runs are read back, not trained again"
    pd.testing.assert_frame_equal(again, table)
    more = depth.run_depth(replace(prof, depth_seeds=3), tmp_path, quiet=True)
    assert calls == [(1, False, 2), (2, False, 2), (2, True, 2)] and len(more) == 9
    assert len(list((tmp_path / "runs").iterdir())) == 9, "one folder per run"
    pd.testing.assert_frame_equal(depth.depth_table(pd.read_csv(tmp_path / "depth.csv"), prof), table)


def test_first_to_last_reads_the_layers_totals():
    keras.utils.set_random_seed(0)
    model = compile_model(build_lstm((8, 3), units=(4, 4, 4), dropout=0.0, residual=True))
    x = np.random.default_rng(0).normal(size=(16, 8, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(16, 1)).astype("float32")
    norms = gradient_norms(model, x, y)
    totals = norms[norms["weight"] == "total"]
    lstm = totals[totals["layer"].str.startswith("lstm")]["norm"].to_numpy()
    assert depth.first_to_last(model, x, y) == pytest.approx(lstm[0] / lstm[-1], rel=1e-6)


def _gain(wins: dict[int, int], seeds: int = 3) -> pd.DataFrame:
    rows = [
        dict(
            depth=d,
            gradient_gain_init=1.0,
            gradient_gain_trained=1.0,
            mae_gain_usd=w - 1.5,
            skip_wins=w,
            seeds=seeds,
        )
        for d, w in wins.items()
    ]
    return pd.DataFrame(rows)


def test_check_names_the_setting_the_decision_returns():
    gain = _gain({2: 1, 4: 3, 8: 3})
    assert claims.check("depth_residual_depth", gain) == depth.claim_residual_depth(gain)
    with pytest.raises(ValueError, match="returned a verdict of 'depth_residual_depth'"):
        claims.check("residual_depth", gain)  # the book's one verdict is combined, not decided here


def test_claim_residual_depth_both_sides_and_split():
    from goldlab.lab import claims

    assert depth.claim_residual_depth(_gain({2: 1, 4: 3, 8: 3})).verdict == claims.SUPPORTED
    assert depth.claim_residual_depth(_gain({2: 3, 4: 1, 8: 2})).verdict == claims.REFUTED
    split = depth.claim_residual_depth(_gain({2: 0, 4: 2, 8: 3}))
    assert split.verdict == claims.MIXED and "4 layers: 2 of 3" in split.reason
    assert depth.claim_residual_depth(_gain({2: 3})).verdict == claims.NOT_TESTABLE
    assert depth.skips_help(_gain({2: 3, 4: 2})).to_dict() == {2: True, 4: False}
