"""Tests of goldlab.lab.variants: each verdict on small tables made to land on each side of its threshold, and
the experiments on a tiny run (8-4 LSTMs on a synthetic random walk, 2 epochs)."""

from __future__ import annotations

import functools
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from goldlab import blog
from goldlab.lab import claims, profiles, variants

# --------------------------------------------------------------------------------------------------
# verdicts on made tables


def diag_table(check: dict, end: dict, epochs: int = 20, seeds: int = 3) -> pd.DataFrame:
    """A diagnose table: ``check`` at epoch ``epochs // 2``, ``end`` at every other epoch."""
    rows = []
    for seed in range(seeds):
        for epoch in range(epochs + 1):
            values = check if epoch == epochs // 2 else end
            rows.append({"variant": "baseline", "seed": seed, "epoch": epoch, **values})
    return pd.DataFrame(rows)


HEALTHY = {"grad_lstm_1": 1e-2, "grad_lstm_2": 1e-2, "ratio_lstm_1": 0.5, "ratio_lstm_2": 0.5}


def test_diagnose_verdict_agreeing_diagnoses_support_the_claim():
    v = variants.diagnose_verdict(diag_table(HEALTHY, {**HEALTHY, "grad_lstm_2": 2e-2}))
    assert v.verdict == claims.SUPPORTED
    assert v.values["check_epoch"] == 10 and v.values["end_epoch"] == 20
    assert v.values["agree"] == 1.0 and v.values["factor"] == pytest.approx(2.0)
    assert v.where == "../notebooks/01_diagnose.ipynb"


@pytest.mark.parametrize(
    "end",
    [
        {
            **HEALTHY,
            "ratio_lstm_1": 0.999 * claims.threshold("diagnose_epochs", "ratio"),
        },  # ratio falls below the threshold
        {**HEALTHY, "grad_lstm_2": 0.999 * blog.VANISH},  # a norm falls below the blog's 1e-5
    ],
)
def test_diagnose_verdict_a_diagnosis_that_changes_refutes_it(end):
    v = variants.diagnose_verdict(diag_table(HEALTHY, end))
    assert v.verdict == claims.REFUTED
    assert v.values["agree"] == pytest.approx(0.5)  # one of the two layers changed, in every seed
    assert v.values["vanishing_end"] == 3
    few = variants.diagnose_verdict(diag_table(HEALTHY, end, seeds=claims.MIN_SEEDS - 1))
    assert few.verdict == claims.BUDGET, "too few seeds for a verdict either way"
    assert f"{claims.MIN_SEEDS - 1} seeds, a verdict needs {claims.MIN_SEEDS}" in few.reason, (
        "the seeds it had"
    )


def test_diagnose_verdict_at_the_threshold_is_not_vanishing():
    at = {**HEALTHY, "ratio_lstm_1": claims.threshold("diagnose_epochs", "ratio"), "grad_lstm_2": blog.VANISH}
    v = variants.diagnose_verdict(diag_table(HEALTHY, at))
    assert v.verdict == claims.SUPPORTED and v.values["vanishing_end"] == 0


def test_diagnose_verdict_checks_at_most_half_the_run():
    v = variants.diagnose_verdict(diag_table(HEALTHY, HEALTHY, epochs=3))
    assert v.values["check_epoch"] == 1 and v.values["end_epoch"] == 3


def clip_table(smallest: dict[float, float], val: dict[float, float], seeds: int = 2) -> pd.DataFrame:
    """A clip table, 2 epochs: the last epoch's smallest LSTM gradient and validation loss per clipnorm."""
    rows = []
    for c in variants.CLIP_VALUES:
        for seed in range(seeds):
            for epoch in range(3):
                last = epoch == 2
                batch_min = 0.3 if epoch == 0 else 1e-3
                rows.append(
                    {
                        "variant": f"clip{c:g}",
                        "seed": seed,
                        "epoch": epoch,
                        "loss": 0.1,
                        "val_loss": val[c] if last else 1.0,
                        "min_lstm_grad": smallest[c] if last else 1.0,
                        "batch_share_clipped": 0.5 if epoch == 0 else 0.0,
                        "batch_min_lstm_grad": batch_min,
                        "batch_min_clipped": min(batch_min, c),
                    }
                )
    return pd.DataFrame(rows)


SAME = {c: 1e-3 for c in variants.CLIP_VALUES}
FLAT = {c: 0.01 for c in variants.CLIP_VALUES}


def test_clip_value_verdict_a_lift_of_the_threshold_supports_it():
    v = variants.clip_value_verdict(clip_table({**SAME, 0.5: claims.threshold("clip_value") * 1e-3}, FLAT))
    assert v.verdict == claims.SUPPORTED and v.values["lift"] == pytest.approx(claims.threshold("clip_value"))
    assert v.where == "../notebooks/02_clip.ipynb"


def test_clip_value_verdict_no_lift_refutes_it():
    v = variants.clip_value_verdict(
        clip_table({**SAME, 0.5: 0.99 * claims.threshold("clip_value") * 1e-3}, FLAT)
    )
    assert v.verdict == claims.REFUTED
    assert v.values["never_raised"]
    # the smallest mini-batch gradient (0.3 before training, then 1e-3) is below every threshold later
    assert v.values["smallest_clipped"] == {c: 0.0 for c in variants.CLIP_VALUES}
    base = clip_table(SAME, FLAT)
    clipnorm = base["variant"].str.slice(4).astype(float)
    above = base.assign(batch_min_lstm_grad=0.7, batch_min_clipped=np.minimum(clipnorm, 0.7))
    touched = variants.clip_value_verdict(above).values["smallest_clipped"]
    assert touched == {0.05: 1.0, 0.1: 1.0, 0.5: 1.0, 1.0: 0.0}


def test_clip_floor_verdict_each_side_of_the_threshold():
    hurt = variants.clip_floor_verdict(
        clip_table(SAME, {**FLAT, 0.05: claims.threshold("clip_floor") * 0.01})
    )
    assert hurt.verdict == claims.SUPPORTED and hurt.values["ratio"] == pytest.approx(
        claims.threshold("clip_floor")
    )
    fine = variants.clip_floor_verdict(
        clip_table(SAME, {**FLAT, 0.05: 0.99 * claims.threshold("clip_floor") * 0.01})
    )
    assert fine.verdict == claims.NOT_REPRODUCED


def gain_table(val: dict[float, list[float]], loss: dict[float, list[float]] | None = None) -> pd.DataFrame:
    """A gain table from per-epoch validation (and training) losses, epochs 1.., one seed."""
    rows = []
    for g, curve in val.items():
        train = (loss or {}).get(g, [1.0 / (e + 1) for e in range(len(curve))])
        rows.append({"variant": f"gain{g:g}", "seed": 0, "epoch": 0, "loss": np.nan, "val_loss": np.nan})
        for e, (v, t) in enumerate(zip(curve, train, strict=True), start=1):
            rows.append({"variant": f"gain{g:g}", "seed": 0, "epoch": e, "loss": t, "val_loss": v})
    return pd.DataFrame(rows)


def test_gain_speed_verdict_one_epoch_sooner_supports_it():
    v = variants.gain_speed_verdict(gain_table({1.0: [1.0, 0.5, 0.2, 0.1], 1.5: [1.0, 0.2, 0.1, 0.1]}))
    assert v.verdict == claims.SUPPORTED and v.values["sooner"] == 1
    assert v.where == "../notebooks/03_orthogonal.ipynb"


def test_gain_speed_verdict_the_same_epoch_does_not():
    # both reach 1.1 x 0.1 at epoch 3
    v = variants.gain_speed_verdict(gain_table({1.0: [1.0, 0.5, 0.1, 0.1], 1.5: [1.0, 0.4, 0.1, 0.09]}))
    assert v.verdict == claims.NOT_REPRODUCED and v.values["sooner"] == 0


def test_gain_stability_verdict_each_side_of_the_rise():
    val = {1.0: [0.5] * 6, 1.5: [0.5] * 6}
    smooth = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    rise = [1.0, 0.9, 0.9 * (1 + 1.01 * claims.threshold("orth_gain_stability", "rise")), 0.7, 0.6, 0.5]
    small = [1.0, 0.9, 0.9 * (1 + 0.99 * claims.threshold("orth_gain_stability", "rise")), 0.7, 0.6, 0.5]
    late = [1.0, 0.9, 0.8, 0.7, 0.6, 0.9]  # a rise at epoch 6: after the first five
    up = variants.gain_stability_verdict(gain_table(val, {1.0: smooth, 1.5: rise}))
    assert up.verdict == claims.SUPPORTED and up.values["extra"] == 1.0
    for other in (small, late):
        v = variants.gain_stability_verdict(gain_table(val, {1.0: smooth, 1.5: other}))
        assert v.verdict == claims.NOT_REPRODUCED and v.values["extra"] == 0.0
    nan = variants.gain_stability_verdict(gain_table(val, {1.0: smooth, 1.5: [1.0, np.nan, *smooth[2:]]}))
    assert nan.verdict == claims.SUPPORTED


def norm_table(ratio: float, nan: bool = False) -> pd.DataFrame:
    rows = []
    for variant, val in (("none", 0.01), ("batchnorm", ratio * 0.01)):
        for epoch in range(3):
            loss = np.nan if epoch == 0 or (nan and variant == "batchnorm" and epoch == 2) else 0.1
            rows.append({"variant": variant, "seed": 0, "epoch": epoch, "loss": loss, "val_loss": val})
    return pd.DataFrame(rows)


def test_batchnorm_verdict_each_side_of_the_threshold():
    assert (
        variants.batchnorm_verdict(norm_table(claims.threshold("batchnorm_plain", "broke"))).verdict
        == claims.SUPPORTED
    )
    below = variants.batchnorm_verdict(norm_table(0.99 * claims.threshold("batchnorm_plain", "broke")))
    assert below.verdict == claims.NOT_REPRODUCED and below.values["ratio"] == pytest.approx(0.99 * 2)
    assert variants.batchnorm_verdict(norm_table(1.0, nan=True)).verdict == claims.SUPPORTED
    assert below.where == "../notebooks/04_residual.ipynb"
    assert below.values["train_ratio"] == 1.0 and np.isnan(below.values["moving_left"])
    steps = 2 * 3  # 2 epochs of 65 windows in batches of 32
    with_sizes = variants.batchnorm_verdict(norm_table(1.0).assign(train_windows=65))
    assert with_sizes.values["moving_left"] == pytest.approx(variants.BN_MOMENTUM**steps)
    assert with_sizes.verdict == claims.BUDGET, "averages still near their start: too short to judge"
    settled = variants.batchnorm_verdict(
        norm_table(claims.threshold("batchnorm_plain", "broke")).assign(train_windows=32 * 250)
    )
    assert (
        settled.values["moving_left"] < claims.threshold("batchnorm_plain", "settled")
        and settled.verdict == claims.SUPPORTED
    )


def test_batchnorm_stateful_is_not_testable():
    v = variants.batchnorm_stateful_verdict()
    assert v.verdict == claims.NOT_TESTABLE and "stateful" in v.reason


def ablation_table(da: tuple[float, float], mae: tuple[float, float]) -> pd.DataFrame:
    rows = [{"step": "naive", "seed": -1, "horizon": 30, "directional_accuracy": 0.5, "mae": 9.0}]
    for seed in (0, 1):
        for step, d, m in (("baseline", da[0], mae[0]), ("clipnorm", 0.0, 0.0), ("residual", da[1], mae[1])):
            rows.append({"step": step, "seed": seed, "horizon": 30, "directional_accuracy": d, "mae": m})
        rows.append({"step": "baseline", "seed": seed, "horizon": 1, "directional_accuracy": 0, "mae": 1})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("da", [(0.5, 0.6), (0.5, 0.4)])
def test_accuracy_verdict_is_undefined_and_computes_each_reading(da):
    v = variants.accuracy_verdict(ablation_table(da, (40.0, 30.0)))
    assert v.verdict == claims.UNDEFINED
    assert v.values["direction_relative"] == pytest.approx(da[1] / da[0] - 1)
    assert v.values["direction_points"] == pytest.approx(da[1] - da[0])
    assert v.values["mae_relative"] == pytest.approx(-0.25)
    assert (v.values["first"], v.values["last"]) == ("baseline", "residual")
    assert round(v.values["blog_relative"], 2) == claims.figure(
        "accuracy_34", "improvement"
    )  # (91 - 68) / 68
    assert v.where == "results.ipynb"


def test_accuracy_verdict_needs_model_rows_at_the_horizon():
    with pytest.raises(ValueError, match="horizon 7"):
        variants.accuracy_verdict(ablation_table((0.5, 0.6), (1.0, 1.0)), horizon=7)


# --------------------------------------------------------------------------------------------------
# the experiments on a tiny run

TINY = replace(
    profiles.PROFILES["quick"],
    variant_epochs=2,
    variant_diagnose_epochs=2,
    variant_seeds=1,
    variant_probe_size=16,
    variant_clip_batches=2,
    variant_train_windows=None,
)


def random_walk(n_days: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2018-01-01", periods=n_days, name="date")
    return pd.DataFrame({"close": 1500.0 + np.cumsum(rng.normal(0.0, 8.0, n_days))}, index=index)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Tiny sizes for the quick profile and 8-4 LSTMs wherever the variants build a model; every experiment
    trained once into one folder. Yields (windows, folder, tables, the seeds ``_train`` was called with)."""
    out = tmp_path_factory.mktemp("variants")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(profiles.PROFILES, "quick", TINY)
        real_step, real_norm, real_train = (
            variants.models.build_step,
            variants.build_batchnorm,
            variants._train,
        )
        mp.setattr(variants.models, "build_step", functools.partial(real_step, units=(8, 4)))
        mp.setattr(variants, "build_batchnorm", functools.partial(real_norm, units=(8, 4)))
        calls: list = []

        def counted(*args, **kwargs):
            calls.append(args[3])  # the seed
            return real_train(*args, **kwargs)

        mp.setattr(variants, "_train", counted)
        windows = variants.load_windows(horizon=5, prices=random_walk())
        tables = {
            "clip": variants.clip_values(windows, "quick", out, quiet=True),
            "diagnose": variants.diagnose(windows, "quick", out, quiet=True),
            "gain": variants.gains(windows, "quick", out, quiet=True),
            "batchnorm": variants.batchnorm(windows, "quick", out, quiet=True),
        }
        yield windows, out, tables, calls


def test_every_model_is_trained_once(tiny):
    _, _, _, calls = tiny
    # 4 clip values, the baseline (shared by diagnose and batchnorm: same model, same epochs), 2 gains, BN
    assert len(calls) == len(variants.CLIP_VALUES) + 1 + len(variants.GAINS) + 1


def test_clip_values_measure_the_share_clipped(tiny):
    table = tiny[2]["clip"]
    assert set(table["clipnorm"]) == set(variants.CLIP_VALUES)
    assert sorted(table["epoch"].unique()) == [0, 1, 2]
    assert table["batch_share_clipped"].between(0, 1).all()
    assert (table["batch_min_clipped"] <= table["batch_min_lstm_grad"]).all()
    assert (table["batch_min_clipped"] <= table["clipnorm"]).all()
    # before training every clipnorm sees the same weights: a lower threshold clips at least as often
    start = table[table["epoch"] == 0].set_index("clipnorm")["batch_share_clipped"].sort_index()
    assert start.is_monotonic_decreasing
    assert table.loc[table["epoch"] > 0, "val_loss"].notna().all()
    assert table.loc[table["epoch"] == 0, "val_loss"].isna().all()


def test_a_lost_run_is_trained_again_alone(tiny):
    windows, out, tables, calls = tiny
    before = len(calls)
    runs = sorted((out / "variants" / "runs").glob("baseline_clip0.5_*"))
    assert len(runs) == 1 and [p.name for p in runs[0].iterdir()] == ["history.csv"]
    shutil.rmtree(runs[0])
    whole = variants.table_path(out, "clip", windows.horizon, TINY.variant_epochs)
    kept = whole.read_text()
    # the whole table holds every run: read back as it is, no run file needed
    again = variants.clip_values(windows, "quick", out, quiet=True)
    assert len(calls) == before
    pd.testing.assert_frame_equal(again, tables["clip"], check_dtype=False, atol=1e-5)
    # without it, the runs are read back and only the lost one is trained again
    whole.unlink()
    again = variants.clip_values(windows, "quick", out, quiet=True)
    assert len(calls) == before + 1
    assert whole.exists() and runs[0].exists()
    saved = variants.read_table(out, "clip", "quick", horizon=5)
    pd.testing.assert_frame_equal(again.drop(columns="clipnorm"), saved, check_dtype=False, atol=1e-5)
    assert len(saved) == len(pd.read_csv(whole)) == len(kept.splitlines()) - 1
    # a saved table of other windows (here: fewer training windows) is not taken for this one
    fewer = variants._latest(windows, len(windows.x_train) - 32)
    variants.clip_values(fewer, "quick", out, quiet=True)
    assert len(calls) == before + 1 + len(variants.CLIP_VALUES)


def test_the_other_experiments(tiny):
    diag, gain, norm = (tiny[2][k] for k in ("diagnose", "gain", "batchnorm"))
    assert {"grad_lstm_1", "grad_lstm_2", "ratio_lstm_1", "ratio_lstm_2", "min_lstm_grad"} <= set(diag)
    assert (diag["min_lstm_grad"] <= diag[["grad_lstm_1", "grad_lstm_2"]].min(axis=1)).all()
    assert (diag[["ratio_lstm_1", "ratio_lstm_2"]] > 0).all().all()
    assert set(gain["gain"]) == set(variants.GAINS)
    assert set(norm["variant"]) == {"none", "batchnorm"}
    assert "grad_batchnorm_1" in norm  # the normalisation layers are there and trained
    base = norm[norm["variant"] == "none"].drop(columns="variant").dropna(axis=1, how="all")
    base = base.reset_index(drop=True)  # the baseline's run, read back: the one diagnose trained
    pd.testing.assert_frame_equal(
        base, diag.drop(columns="variant").reset_index(drop=True), check_dtype=False
    )


def test_verdicts_read_every_table(tiny):
    _, out, _, _ = tiny
    with pytest.raises(FileNotFoundError, match="ablation_level.csv"):
        variants.verdicts(out, "quick", horizon=5)
    ablation = ablation_table((0.5, 0.6), (40.0, 30.0)).assign(horizon=5)
    ablation.to_csv(out / "ablation_level.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(profiles.PROFILES, "quick", TINY)
        found = variants.verdicts(out, "quick", horizon=5)
    keys = [v.key for v in found]
    assert keys == [
        "diagnose_epochs", "clip_value", "clip_floor", "orth_gain", "orth_gain_stability",
        "batchnorm_plain", "batchnorm", "accuracy_34",
    ]  # fmt: skip
    assert all(v.verdict in claims.VERDICTS for v in found)
    assert claims.verdict_table(found).shape[0] == len(found)


def test_read_table_names_the_function_that_makes_a_missing_table(tmp_path, monkeypatch):
    monkeypatch.setitem(profiles.PROFILES, "quick", TINY)
    with pytest.raises(FileNotFoundError, match=r"variants\.gains\("):
        variants.read_table(tmp_path, "gain", "quick")
