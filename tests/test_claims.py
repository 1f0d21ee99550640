"""goldlab.claims on a small synthetic ablation-like table (no training)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from goldlab import claims

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("baseline", "clipnorm", "orthogonal", "residual")
# mean test MAE (USD) per step at h=30; the two seeds sit at mean - 1 and mean + 1 (sd = sqrt(2))
MAE30 = {"baseline": 40.0, "clipnorm": 40.5, "orthogonal": 35.0, "residual": 20.0}


@pytest.fixture
def table() -> pd.DataFrame:
    rows = []
    for h, naive_mae in [(1, 9.0), (30, 30.0)]:
        for name, mae in [("naive", naive_mae), ("drift", naive_mae + 0.5), ("linear", naive_mae * 2)]:
            rows.append(
                {
                    "step": name,
                    "seed": -1,
                    "horizon": h,
                    "target_kind": "level",
                    "epochs": 0,
                    "mae": mae,
                    "rmse": mae * 1.2,
                    "mase": mae / naive_mae * 1.3,
                    "directional_accuracy": 0.0 if name == "naive" else 0.5,
                    "dm_stat": 0.0 if name == "naive" else 2.5,
                    "dm_p": 1.0 if name == "naive" else 0.01,
                }
            )
        for k, step in enumerate(STEPS):
            for seed, offset in [(0, -1.0), (1, 1.0)]:
                mae = (MAE30[step] if h == 30 else 20.0) + offset
                grads = {f"grad_lstm_{i}": 0.1 * (1 + k) for i in (1, 2, 3)}
                if step == "residual":
                    grads["grad_lstm_4"] = 0.05
                rows.append(
                    {
                        "step": step,
                        "seed": seed,
                        "horizon": h,
                        "target_kind": "level",
                        "epochs": 3,
                        "nan_loss": False,
                        "final_loss": 0.01,
                        "sec_per_epoch": 2.0 + k,
                        "backend": "tensorflow",
                        "mae": mae,
                        "rmse": mae * 1.2,
                        "mase": mae / 40,
                        "directional_accuracy": 0.40 + 0.1 * k,
                        "dm_stat": 3.0,
                        "dm_p": 0.001 if seed == 0 else 0.2,
                        **grads,
                        "grad_dense": 0.1,
                    }
                )
    return pd.DataFrame(rows)


def test_measure_has_a_row_per_claim(table):
    out = claims.measure(table)
    assert list(out.columns) == ["claim", "blog", "measured", "where"]
    assert list(out.index) == [c.key for c in claims.BLOG_CLAIMS]
    assert out["measured"].map(lambda s: isinstance(s, str) and len(s) > 0).all()


def test_measure_computes_the_figures(table):
    out = claims.measure(table)["measured"]
    # headline MAE at h=30: baseline and residual means (sd over two seeds at ±1: 1.41) and the naive MAE
    assert "baseline 40.00 ± 1.41" in out["mae"] and "residual 20.00 ± 1.41" in out["mae"]
    assert "naive forecast 30.00 USD" in out["mae"]
    assert "baseline 40 ± 0 %" in out["accuracy"] and "residual 70 ± 0 %" in out["accuracy"]
    assert "undefined" in out["accuracy"]
    assert "baseline 0.1" in out["grad_layer3"] and "residual 0.4" in out["grad_layer3"]
    assert (
        "baseline 2.00 ± 0.00 s" in out["time_per_epoch"]
        and "residual 5.00 ± 0.00 s" in out["time_per_epoch"]
    )
    assert "tensorflow" in out["time_per_epoch"]
    assert "+0.50" in out["clip_prevents"] and "within" in out["clip_prevents"]
    assert "beyond" in out["orth_vs_arch"]  # residual − orthogonal: −15 USD against sd 1.41
    assert "×8.0" in out["more_layers"]  # residual: 0.4 / 0.05
    # (2+3+4+5) s x 3 epochs per seed at h=30 = 42 s = 0.7 min
    assert "0.7 min per seed" in out["tutorial_time"]
    assert out["batchnorm"].startswith("not tested")


def test_measure_other_horizon_and_missing_steps(table):
    out = claims.measure(table, horizon=1)["measured"]
    assert "naive forecast 9.00" in out["mae"]
    part = table[~table["step"].isin(["orthogonal", "residual"])]
    out = claims.measure(part)["measured"]
    assert "clipnorm 40.50" in out["mae"]
    assert out["orth_floor"].startswith("see chapter")


def test_every_seed_claim_is_covered():
    keys = {c.key for c in claims.BLOG_CLAIMS}
    assert set(claims.HEADLINE) <= keys
    assert len(keys) == len(claims.BLOG_CLAIMS), "keys are unique"
    text = " ".join(f"{c.claim} {c.blog}" for c in claims.BLOG_CLAIMS)
    # the blog's headline figures and its other claims (SEED_CLAIMS.md)
    for figure in [
        "47.23",
        "12.84",
        "68 %",
        "91 %",
        "8.7 s",
        "11.2 s",
        "3e-06",
        "2.147e-03",
        "20 minutes",
        "37 minutes",
        "0.023",
        "1e-3",
        "doubled",
        "epoch 32",
        "35 epochs",
        "0.01",
        "NaN",
        "stateful",
        "more LSTM layers",
        "architecture",
        "100 steps",
        "TensorBoard",
        "check_numerics",
        "clipnorm=1.0",
        "gain 1.5",
        "3+",
        "widths",
        "10 epochs",
    ]:
        assert figure in text, figure


def test_where_paths_exist():
    for c in claims.BLOG_CLAIMS:
        path = (ROOT / "book" / c.where.split("#")[0]).resolve()
        assert path.exists(), f"{c.key}: {c.where}"


def test_summaries(table):
    s = claims.scores(table)
    assert list(s.index.get_level_values("step")[:7]) == ["naive", "drift", "linear", *STEPS]
    assert s.loc[(30, "residual"), ("mae", "mean")] == pytest.approx(20.0)
    assert s.loc[(30, "residual"), ("mae", "std")] == pytest.approx(np.sqrt(2))
    a = claims.against_naive(table)
    assert "naive" not in a.index.get_level_values("step")
    assert a.loc[(30, "residual"), "beats naive"] and not a.loc[(30, "baseline"), "beats naive"]
    assert a.loc[(30, "baseline"), "share worse"] == pytest.approx(0.5)
    assert a.loc[(30, "baseline"), "share better"] == 0.0
    assert a.loc[(30, "residual"), "mae / naive"] == pytest.approx(20 / 30)


def test_mean_sd():
    assert claims.mean_sd([1.0, 3.0]) == "2.00 ± 1.41"
    assert claims.mean_sd([2.0]) == "2.00"
    assert claims.mean_sd([np.nan]) == "n/a"
    assert re.fullmatch(r"50 ± \d+ %", claims.mean_sd([0.4, 0.6], ".0f", 100, " %"))
