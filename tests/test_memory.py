"""Tests for goldlab.lab.memory (the long-memory experiment) and the chrono initialisation it relies on.

The bias-layout tests run under TensorFlow and, through ``make test-jax``, under JAX.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from goldlab import tasks
from goldlab.lab import claims, memory, profiles
from goldlab.models import ChronoBias, build_lstm, lstm_layers

# ------------------------------------------------------------------------------------------------
# Chrono initialisation: Keras's LSTM bias is [input | forget | cell | output], `units` each.


def _blocks(model: keras.Model, layer: int = 0) -> np.ndarray:
    cell = lstm_layers(model)[layer].cell
    return keras.ops.convert_to_numpy(cell.bias).reshape(4, cell.units)


@pytest.mark.parametrize("length", [3, 50, 400])
def test_chrono_bias_layout(length):
    keras.utils.set_random_seed(0)
    model = build_lstm((length, 2), units=(64, 16), dropout=0.0, forget_bias="chrono")
    for layer in (0, 1):
        i, f, c, o = _blocks(model, layer)
        assert np.all(f >= 0.0) and np.all(f <= np.log(length - 1) + 1e-6), "forget: log U(1, T - 1)"
        np.testing.assert_allclose(i, -f, rtol=1e-6)
        assert not c.any() and not o.any()
    if length > 3:
        assert np.ptp(_blocks(model)[1]) > 0, "one draw per unit, not one for all"


def test_chrono_is_log_uniform():
    values = keras.ops.convert_to_numpy(ChronoBias(101, seed=1)((4 * 20_000,)))
    forget = values[20_000:40_000]
    u = np.exp(forget)
    assert u.min() >= 1.0 and u.max() <= 100.0
    assert u.mean() == pytest.approx(50.5, rel=0.02), "u ~ U(1, T - 1) has mean T / 2"


def test_chrono_repeats_under_a_seed():
    a = keras.ops.convert_to_numpy(ChronoBias(30, seed=4)((16,)))
    b = keras.ops.convert_to_numpy(ChronoBias(30, seed=4)((16,)))
    np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(3)
    c = _blocks(build_lstm((30, 2), units=(8,), dropout=0.0, forget_bias="chrono"))
    keras.utils.set_random_seed(3)
    d = _blocks(build_lstm((30, 2), units=(8,), dropout=0.0, forget_bias="chrono"))
    np.testing.assert_array_equal(c, d)


def test_forget_bias_zero_and_default():
    zero = _blocks(build_lstm((20, 2), units=(8,), dropout=0.0, forget_bias=0))
    default = _blocks(build_lstm((20, 2), units=(8,), dropout=0.0))
    assert not zero.any()
    np.testing.assert_array_equal(default[1], np.ones(8))
    assert not default[[0, 2, 3]].any()


def test_chrono_errors():
    with pytest.raises(ValueError, match="max_length must be >= 3"):
        ChronoBias(2)
    with pytest.raises(ValueError, match="4 blocks"):
        ChronoBias(10)((10,))
    with pytest.raises(ValueError, match="forget_bias must be 0, 1"):
        build_lstm((20, 2), units=(8,), forget_bias=0.5)
    with pytest.raises(ValueError, match="LSTM cells only"):
        build_lstm((20, 2), units=(8,), cell="gru", forget_bias="chrono")
    with pytest.raises(ValueError, match="unknown cell"):
        build_lstm((20, 2), units=(8,), cell="transformer")


def test_cells_and_names():
    gru = build_lstm((20, 2), units=(8, 8), cell="gru", dropout=0.0)
    rnn = build_lstm((20, 2), units=(8,), cell="simple_rnn", dropout=0.0)
    assert [layer.name for layer in lstm_layers(gru)] == ["gru_1", "gru_2"]
    assert isinstance(lstm_layers(rnn)[0], keras.layers.SimpleRNN)


# ------------------------------------------------------------------------------------------------
# The decay prediction, epochs to solve, the phase table


def test_decay_prediction_is_geometric_in_the_forget_gate():
    model = build_lstm((12, 2), units=(4,), dropout=0.0, forget_bias=0)
    pred = memory.decay_prediction(model, 12)
    np.testing.assert_allclose(pred, 0.5 ** np.arange(11, -1, -1), rtol=1e-6)
    default = memory.decay_prediction(build_lstm((12, 2), units=(4,), dropout=0.0), 12)
    assert default[0] == pytest.approx((1 / (1 + np.exp(-1.0))) ** 11, rel=1e-5)
    gru = build_lstm((12, 2), units=(4,), cell="gru", dropout=0.0)
    assert np.isnan(memory.decay_prediction(gru, 12)).all()


def test_epochs_to_solve_reads_validation():
    t = tasks.solved_mse()
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.0, 0.0, 0.0], "val_loss": [0.2, t * 0.9, 0.01]})
    assert memory.epochs_to_solve(history) == 2
    assert np.isnan(memory.epochs_to_solve(history.assign(val_loss=0.2)))


def _row(model, T, seed=0, solved=False, mse=0.17, init=1e-3, final=1e-3, budget=200_000):
    return dict(
        model=model,
        T=T,
        seed=seed,
        solved=solved,
        test_mse=mse,
        ratio_init=init,
        ratio_final=final,
        budget=budget,
        still_improving=False,
    )


def test_learning_contrast_prefers_one_model_whose_seeds_split():
    rows = [_row("gru", 200, 0, True, 0.004), _row("lstm_fb1", 200, 0, False, 0.17)]
    rows += [_row("lstm_x3", 100, 0, True, 0.006), _row("lstm_x3", 100, 1, False, 0.16)]
    rows += [_row("lstm_x3", 100, 2, True, 0.003), _row("gru", 100, 0, True, 0.002)]
    pair = memory.learning_contrast(pd.DataFrame(rows))
    assert pair["model"].tolist() == ["lstm_x3", "lstm_x3"] and pair["seed"].tolist() == [2, 1]
    no_split = pd.DataFrame(rows[:2] + [_row("gru", 100, 0, True)])
    pair = memory.learning_contrast(no_split)
    assert pair["model"].tolist() == ["gru", "lstm_fb1"], "two models at the longest T with both"
    none_solve = memory.learning_contrast(pd.DataFrame([_row("gru", 50, 0), _row("gru", 50, 1, mse=0.2)]))
    assert none_solve["test_mse"].tolist() == [0.17, 0.2], "the best and the worst run"


def test_init_order_is_scipys_spearman_per_length():
    rows = [_row(m, 50, init=r, mse=e) for m, r, e in (("a", 1, 0.3), ("b", 2, 0.2), ("c", 3, 0.1))]
    rows += [_row(m, 100, init=r, mse=e) for m, r, e in (("a", 1, 0.1), ("b", 2, 0.3), ("c", 3, 0.2))]
    rows += [_row("a", 200), _row("b", 200)]
    summary = pd.DataFrame(rows).set_index(["model", "T"])[["ratio_init", "test_mse"]]
    order = memory.init_order(summary)
    assert order.loc[50, "spearman"] == pytest.approx(-1.0) and order.loc[50, "models"] == 3
    rho, p = stats.spearmanr([1, 2, 3], [0.1, 0.3, 0.2])
    assert order.loc[100, "spearman"] == pytest.approx(rho) and order.loc[100, "p"] == pytest.approx(p)
    assert np.isnan(order.loc[200, "spearman"]), "two models give no rank correlation"


def test_beside_published_sets_our_runs_at_each_papers_length():
    rows = [_row("lstm_fb1", 100, k, k < 2) | {"sequences_to_solve": 9e4} for k in range(3)]
    rows += [_row("gru", 400, 0, True) | {"sequences_to_solve": 1e5}, _row("lstm_fb1", 400, 0)]
    table = memory.beside_published(pd.DataFrame(rows)).set_index("T")
    assert table.loc[100, "ours"] == "default LSTM: 2 of 3 solved, median 90,000 sequences"
    assert (
        table.loc[400, "ours"] == "default LSTM: 0 of 1 solved; GRU: 1 of 1 solved, median 100,000 sequences"
    )
    assert table.loc[500, "ours"] == "not trained at T = 500"
    assert list(table.columns[:-1]) == list(memory.published_figures().set_index("T").columns)


def test_phase_table():
    table = pd.DataFrame(
        [_row("gru", 50, 0, True), _row("gru", 50, 1, False), _row("lstm_fb1", 100, 0, True)]
    )
    phase = memory.phase_table(table)
    assert list(phase.index) == ["gru", "lstm_fb1"]
    assert phase.loc["gru", 50] == 0.5 and phase.loc["lstm_fb1", 100] == 1.0
    assert np.isnan(phase.loc["gru", 100])
    seeds = memory.seed_counts(table)
    assert seeds.loc["gru", 50] == 2 and seeds.loc["lstm_fb1", 100] == 1
    assert np.isnan(seeds.loc["gru", 100]) and seeds.index.equals(phase.index)


def test_phase_diagram_writes_solved_of_seeds_where_counts_are_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from goldlab import plots

    phase = pd.DataFrame([[2 / 3, 1.0], [0.0, np.nan]], index=["GRU", "RNN"], columns=[50, 100])
    seeds = pd.DataFrame([[3, 1], [3, np.nan]], index=["GRU", "RNN"], columns=[50, 100])
    texts = [t.get_text() for t in plots.phase_diagram(phase, seeds=seeds).texts]
    assert texts == ["2/3", "1/1", "0/3", "–"]
    assert [t.get_text() for t in plots.phase_diagram(phase).texts] == ["67%", "100%", "0%", "–"]
    plt.close("all")


def test_solve_cost_is_the_median_with_failures_infinite():
    rows = [_row("gru", 50, k, True) | {"sequences_to_solve": n} for k, n in enumerate((4e4, 6e4, 9e4))]
    rows += [
        _row("gru", 100, k, k == 0) | {"sequences_to_solve": 5e4 if k == 0 else np.nan} for k in range(3)
    ]
    rows += [_row("gru", 200, k, k < 2) | {"sequences_to_solve": 7e4 if k < 2 else np.nan} for k in range(3)]
    cost = memory.solve_cost(pd.DataFrame(rows)).set_index("T")
    assert cost.loc[50, "sequences"] == 6e4 and cost.loc[50, "seeds"] == 3
    assert np.isnan(cost.loc[100, "sequences"]), "two of three seeds never solved"
    assert cost.loc[200, "sequences"] == 7e4, "the median counts the failed seed as the largest"
    assert cost["label"].eq(memory.MODELS["gru"][0]).all()


def test_cost_growth_is_the_exponential_slope_over_the_lengths_asked():
    lengths = np.array([50, 100, 200, 400])
    seqs = 1e4 * 2.0 ** (lengths / 100)  # doubles every 100 steps
    cost = pd.DataFrame({"model": "a", "T": lengths, "sequences": seqs})
    kinked = cost.assign(model="b", sequences=np.where(lengths > 200, seqs * 10, seqs))
    one = pd.DataFrame({"model": ["c", "c"], "T": [50, 100], "sequences": [1e4, np.nan]})
    growth = memory.cost_growth(pd.concat([cost, kinked, one]))
    assert growth["a"] == pytest.approx(2.0) and growth["b"] > 2.5
    assert "c" not in growth.index, "one solved length fits no line"
    short = memory.cost_growth(pd.concat([cost, kinked]), per=50, lengths=(50, 200))
    assert short.tolist() == pytest.approx([2**0.5, 2**0.5]), "the kink lies outside 50-200"
    assert memory.cost_growth(cost, lengths=(300, 1000)).empty


# ------------------------------------------------------------------------------------------------
# Each claim lands on both sides of its threshold


def _seeds(rows: list[dict], n: int = claims.MIN_SEEDS) -> pd.DataFrame:
    return pd.DataFrame([{**r, "seed": k} for k in range(n) for r in rows])


def test_claim_up_to_100():
    works = _seeds([_row("blog_residual", 50, 0, True), _row("blog_orthogonal", 100, 0, True)])
    fails = works.assign(solved=works["model"] == "blog_residual")
    assert memory.claim_up_to_100(works).values["worst"] == 1.0
    assert "200,000 sequences per run" in memory.claim_up_to_100(works).reason
    assert memory.claim_up_to_100(works).verdict == claims.SUPPORTED
    assert memory.claim_up_to_100(fails).verdict == claims.REFUTED
    improving = fails.assign(still_improving=~fails["solved"])
    assert memory.claim_up_to_100(improving).verdict == claims.BUDGET, "failed, but still learning"
    one_seed = memory.claim_up_to_100(works[works["seed"] == 0])
    assert one_seed.verdict == claims.BUDGET, "one seed is not a verdict"
    longer = pd.concat([works, pd.DataFrame([_row("blog_orthogonal", 200, 0, False)])])
    assert memory.claim_up_to_100(longer).verdict == claims.SUPPORTED, "one seed at T = 200 is not T <= 100"
    assert memory.claim_up_to_100(works[works["T"] > 100]).verdict == claims.NOT_TESTABLE
    assert claims.threshold("memory_up_to_100") == 0.5


def test_claim_gru_over_100():
    lstms = [_row(m, 200, 0, False) for m in ("lstm_fb0", "lstm_fb1", "lstm_chrono")]
    gru_only = pd.DataFrame([_row("gru", 200, 0, True), *lstms])
    both = gru_only.assign(solved=gru_only["model"].isin(["gru", "lstm_chrono"]))
    neither = gru_only.assign(solved=False)
    assert memory.claim_gru_over_100(gru_only).verdict == claims.SUPPORTED
    mixed = memory.claim_gru_over_100(both)
    assert mixed.verdict == claims.MIXED, "needed against the default LSTM, not against chrono"
    assert "+100% over Keras's default LSTM, +0% over the best LSTM" in mixed.reason
    assert mixed.measured == "solved at T = 200: GRU 100%; default LSTM 0%; best LSTM 100%"
    every = gru_only.assign(solved=True)
    assert memory.claim_gru_over_100(every).verdict == claims.REFUTED
    assert memory.claim_gru_over_100(neither).verdict == claims.NOT_TESTABLE
    no_chrono = gru_only[gru_only["model"] != "lstm_chrono"]
    assert memory.claim_gru_over_100(no_chrono).verdict == claims.NOT_TESTABLE, "only where all trained"


def test_claim_more_layers():
    k = claims.threshold("memory_more_layers")
    one = _row("lstm_fb1", 50, 0, True, 0.005)
    worse = _seeds([one, _row("lstm_x6", 50, 0, False, 0.005 * k * 1.01)])
    fine = _seeds([one, _row("lstm_x6", 50, 0, True, 0.005 * k * 0.99)])
    assert memory.claim_more_layers(worse).verdict == claims.SUPPORTED
    assert memory.claim_more_layers(fine).verdict == claims.REFUTED
    assert memory.claim_more_layers(worse.assign(solved=False)).verdict == claims.NOT_TESTABLE
    assert memory.claim_more_layers(worse[worse["seed"] < 2]).verdict == claims.NOT_TESTABLE
    split = pd.concat([worse, fine.assign(T=100)], ignore_index=True)
    mixed = memory.claim_more_layers(split)
    assert mixed.verdict == claims.MIXED and "over one's: ×2, ×2 at T = 50, 100;" in mixed.measured
    one_failed = fine.copy()
    one_failed.loc[(one_failed["model"] == "lstm_x6") & (one_failed["seed"] == 0), "test_mse"] = 0.17
    split_seeds = memory.claim_more_layers(one_failed)
    assert split_seeds.verdict == claims.MIXED, "one failed seed of three splits the length"
    assert "most seeds: 1 of 3" in split_seeds.reason
    quick = one_failed.assign(sequences_to_solve=np.where(one_failed["model"] == "lstm_x6", 3e4, 6e4))
    assert memory.claim_more_layers(quick).measured.endswith("where both solved: ×0.5"), "seeds 1-2"
    assert memory.claim_more_layers(one_failed).measured.endswith("where both solved: –")


def test_claim_residual_depth():
    g = claims.threshold("memory_residual_depth")

    def table(gain):
        rows = []
        for d in (3, 6):
            rows += [_row(f"lstm_x{d}", 50, 0, False, 0.1), _row(f"lstm_x{d}_res", 50, 0, True, 0.1 / gain)]
        return _seeds(rows)

    assert memory.claim_residual_depth(table(g * 1.01)).verdict == claims.SUPPORTED
    only_six = table(g * 1.01)
    only_six.loc[only_six["model"] == "lstm_x3_res", "test_mse"] = 0.1
    only_six_v = memory.claim_residual_depth(only_six)
    assert only_six_v.verdict == claims.MIXED and "in 6 LSTMs at T = 50;" in only_six_v.reason
    assert memory.claim_residual_depth(table(g * 0.99)).verdict == claims.NOT_REPRODUCED
    assert memory.claim_residual_depth(table(1.0).assign(solved=False)).verdict == claims.NOT_TESTABLE
    one_seed = table(g * 1.01)
    one_seed = one_seed[one_seed["seed"] == 0]
    assert memory.claim_residual_depth(one_seed).verdict == claims.NOT_TESTABLE, "needs its seeds"
    improving = table(g * 0.99).assign(still_improving=lambda t: ~t["solved"])
    limited = memory.claim_residual_depth(improving)
    assert limited.verdict == claims.BUDGET and "budget-limited: 3 LSTMs at T = 50, 6" in limited.reason
    one_limited = pd.concat([table(g * 1.01), improving.assign(T=100)], ignore_index=True)
    mixed = memory.claim_residual_depth(one_limited)
    assert mixed.verdict == claims.SUPPORTED, "the budget-limited T = 100 cases are left out"
    assert "budget-limited" in mixed.reason and "3 LSTMs at T = 100" in mixed.reason
    split = table(g * 1.01)  # skips fail in two seeds of 3 LSTMs, and the third gains ×100
    skips = split["model"] == "lstm_x3_res"
    split.loc[skips, "test_mse"] = np.where(split.loc[skips, "seed"] == 0, 0.1 / 100, 0.1)
    seeds_split = memory.claim_residual_depth(split)
    assert seeds_split.verdict == claims.MIXED and "split: 3 LSTMs at T = 50" in seeds_split.reason


def _pair(before: str, after: str, column: str, gain: float, seeds: int) -> pd.DataFrame:
    """Two of the blog's steps at T = 100 over ``seeds`` seeds, ``after``'s ratio ``gain`` × ``before``'s."""
    rows = [_row(before, 100, **{column: 1e-5}), _row(after, 100, **{column: 1e-5 * gain})]
    return _seeds(rows, seeds)


def _history(table: pd.DataFrame, epochs: dict[str, int] | None = None) -> pd.DataFrame:
    """Per-epoch histories for ``table``'s runs: ``epochs[model]`` epochs (default 1), the ratio rising
    tenfold an epoch to the run's ``ratio_final`` at its last."""
    rows = []
    for r in table.itertuples():
        n = (epochs or {}).get(r.model, 1)
        rows += [
            dict(model=r.model, T=r.T, seed=r.seed, epoch=e, ratio=r.ratio_final / 10 ** (n - e))
            for e in range(1, n + 1)
        ]
    return pd.DataFrame(rows)


def _clip(table: pd.DataFrame, epochs: dict[str, int] | None = None) -> claims.Verdict:
    return memory.claim_clip_prevents(table, _history(table, epochs))


def test_claim_clip_prevents():
    def table(gain, seeds=claims.MIN_SEEDS):
        return _pair("blog_baseline", "blog_clipnorm", "final", gain, seeds)

    needed = claims.threshold("memory_clip_prevents")
    assert _clip(table(needed * 1.01)).verdict == claims.SUPPORTED
    assert _clip(table(needed * 0.99)).verdict == claims.REFUTED
    assert _clip(table(1.0).iloc[:1]).verdict == claims.NOT_TESTABLE
    one = _clip(table(needed * 10, seeds=1))
    assert one.verdict == claims.BUDGET, "one pair of runs is not a verdict"
    assert one.measured.startswith("1 pair before either solved; a verdict needs 3 at one T")
    assert "T = 100: ×20" in one.measured
    enough = table(needed * 1.01)
    outlier = _pair("blog_baseline", "blog_clipnorm", "final", 1e9, 1).assign(T=200)
    both = _clip(pd.concat([enough, outlier]))
    assert both.values["gain"] == pytest.approx(_clip(enough).values["gain"])
    assert "T = 200: ×1.0·10⁹" in both.measured, "a length waiting for its seeds is shown"
    assert "not yet counted, too few seeds: T = 200: 1 pair" in both.reason, "and not counted"


def test_claim_clip_prevents_compares_runs_after_equal_training():
    same_end = _pair("blog_baseline", "blog_clipnorm", "final", 1.0, claims.MIN_SEEDS)
    assert _clip(same_end).verdict == claims.REFUTED, "the same ratio at the end"
    # the clipped runs solve and stop after 2 epochs; the baseline trains 4 and its ratio rises 10x each
    early = _clip(same_end, {"blog_clipnorm": 2, "blog_baseline": 4})
    assert early.values["gain"] == pytest.approx(100.0), "compared at epoch 2, where both ran"
    assert early.verdict == claims.SUPPORTED and "before either solved" in early.measured
    history = _history(same_end, {"blog_clipnorm": 2, "blog_baseline": 4})
    matched = memory.matched_ratios(history)
    assert set(matched["epoch"]) == {2} and len(matched) == 2 * claims.MIN_SEEDS


def test_claim_clip_prevents_leaves_out_pairs_in_which_a_run_had_solved():
    table = _pair("blog_baseline", "blog_clipnorm", "final", 1e4, claims.MIN_SEEDS + 1)
    history = _history(table, {"blog_clipnorm": 2, "blog_baseline": 4})
    solved = (history["model"] == "blog_clipnorm") & (history["seed"] == 0) & (history["epoch"] == 2)
    history["val_loss"] = np.where(solved, tasks.solved_mse() / 2, 0.16)
    v = memory.claim_clip_prevents(table, history)
    assert v.verdict == claims.SUPPORTED and "in 1 of 4 pairs a run had solved" in v.reason
    assert "3 of 3 pairs" in v.measured and v.values["gain"] == pytest.approx(1e4 * 100)
    history["val_loss"] = np.where(history["model"] == "blog_clipnorm", 0.001, 0.16)
    learnt = memory.claim_clip_prevents(table, history)
    assert learnt.verdict == claims.BUDGET and "per pair: none" in learnt.measured, "all learnt"


def test_clip_learning_is_the_exact_mcnemar_test_over_pairs():
    rows = [_row("blog_clipnorm", 100, k, k < 5) for k in range(6)]
    rows += [_row("blog_baseline", 100, k, k in (0, 5)) for k in range(6)]
    rows += [_row("blog_clipnorm", 200, 0, True)]  # no baseline to pair with
    found = memory.clip_learning(pd.DataFrame(rows))
    assert found["solved_clipped"] == 5 and found["solved_baseline"] == 2 and found["pairs"] == 6
    assert found["sign_p"] == pytest.approx(stats.binomtest(4, 5).pvalue), "4 wins, 1 loss"
    tie = memory.clip_learning(pd.DataFrame(rows[:1] + rows[6:7]))
    assert np.isnan(tie["sign_p"]), "no discordant pair: no test"


def _draws(gain: float, n: int, spread: float = 1.0, lengths=(100,), seed: int = 0) -> pd.DataFrame:
    """``n`` log-normal starting ratios of each of the blog's steps 2 and 3 per T, step 3's ``gain`` ×."""
    rng, rows = np.random.default_rng(seed), []
    for t in lengths:
        for model, scale in (("blog_clipnorm", 1.0), ("blog_orthogonal", gain)):
            logs = np.log(1e-5 * scale) + spread * rng.standard_normal(n)
            rows += [dict(model=model, T=t, seed=k, ratio_init=r) for k, r in enumerate(np.exp(logs))]
    return pd.DataFrame(rows)


def test_init_gains_is_welchs_interval_on_the_logs():
    draws = _draws(3.0, 40)
    g = memory.init_gains(draws).loc[100]
    a, b = (np.log(draws.loc[draws["model"] == m, "ratio_init"]) for m in memory.ORTH_STEPS)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert g["gain"] == pytest.approx(np.exp(a.mean() - b.mean()))
    assert (g["low"], g["high"]) == pytest.approx((np.exp(ci.low), np.exp(ci.high)))
    assert g["draws"] == 40 and g["zeros"] == 0
    under = draws.assign(ratio_init=np.where(draws["seed"] == 0, 0.0, draws["ratio_init"]))
    assert np.isnan(memory.init_gains(under).loc[100, "gain"]), "an underflowed 0 has no log"


def test_claim_orth_doubled_on_draws():
    needed = claims.threshold("orth_doubled")
    assert memory.claim_orth_doubled(_draws(4 * needed, 200)).verdict == claims.SUPPORTED
    assert memory.claim_orth_doubled(_draws(1.0, 200)).verdict == claims.NOT_REPRODUCED
    few = memory.claim_orth_doubled(_draws(1.0, 3, spread=2.0))
    assert few.verdict == claims.BUDGET, "three wide draws cannot tell ×1 from ×1.5"
    both = pd.concat([_draws(4 * needed, 200), _draws(1.0, 200, lengths=(200,))])
    split = memory.claim_orth_doubled(both)
    assert split.verdict == claims.MIXED and "T = 100: ×" in split.measured and "T = 200" in split.measured
    assert "200 draws of each per T" in split.reason
    assert memory.claim_orth_doubled(pd.DataFrame()).verdict == claims.NOT_TESTABLE


def test_init_draws_repeat_the_runs_start_and_are_read_back(tmp_path, monkeypatch):
    base = dict(models=("blog_clipnorm", "blog_orthogonal"), lengths=(8,), init_draws=2)
    prof = _tiny(**base)
    draws = memory.init_draws(prof, tmp_path)
    assert len(draws) == 4 and (tmp_path / "init_draws.csv").exists()
    run = memory.train_one("blog_orthogonal", 8, 1, prof)["row"]  # the grid's own run, seed 1
    one = draws[(draws["model"] == "blog_orthogonal") & (draws["seed"] == 1)]["ratio_init"]
    assert one.iloc[0] == pytest.approx(run["ratio_init"], rel=1e-5)
    monkeypatch.setattr(memory, "_draw", lambda *a: pytest.fail("drew again"))
    assert len(memory.init_draws(prof, tmp_path, draws=1)) == 2, "fewer draws: read from the file"


def test_gold_sentence_both_ways():
    def gold(model_mae, p):
        rows = []
        for w in (60, 120):
            rows.append(dict(window=w, horizon=1, model="naive", seed=0, mae=10.0, dm_p=1.0))
            rows.append(dict(window=w, horizon=1, model="lstm_chrono", seed=0, mae=model_mae, dm_p=p))
        return pd.DataFrame(rows)

    assert "does not beat" in memory.gold_sentence(gold(12.0, 0.01))
    assert "does not beat" in memory.gold_sentence(gold(9.0, 0.5)), "better but not significantly"
    assert " beats the naive forecast with a 60-day window" in memory.gold_sentence(gold(9.0, 0.01))


# ------------------------------------------------------------------------------------------------
# The runner: a tiny grid, saved whole, resumed without training again


def _tiny(**changes) -> profiles.Profile:
    base = dict(lengths=(6,), models=("lstm_chrono",), sequences=64, chunk=32, n_val=16, n_test=16)
    fields = {f"memory_{k}": v for k, v in (base | changes).items()}
    return replace(profiles.get_profile("quick"), memory_probe_size=8, **fields)


def test_training_stream_is_fresh_and_shared():
    a, b = memory.training_chunk(20, 1, 8), memory.training_chunk(20, 2, 8)
    np.testing.assert_array_equal(a.x, memory.training_chunk(20, 1, 8).x)  # every model sees the same
    assert not np.isin(a.x[..., 0], b.x[..., 0]).any(), "each epoch draws new sequences"
    with pytest.raises(ValueError, match="multiple of memory_chunk"):
        _tiny(sequences=50)


def test_sequences_to_solve_and_still_improving():
    t = tasks.solved_mse()
    history = pd.DataFrame({"sequences_seen": [10, 20, 30, 40], "val_loss": [0.2, 0.17, t * 0.9, 0.001]})
    assert memory.sequences_to_solve(history) == 30
    assert np.isnan(memory.sequences_to_solve(history.assign(val_loss=0.2)))
    assert memory.still_improving(history.assign(val_loss=[0.17, 0.17, 0.17, 0.10]))
    assert not memory.still_improving(history.assign(val_loss=[0.17, 0.16, 0.17, 0.168]))


def test_the_grid_of_a_profile():
    full = profiles.get_profile("full")
    assert tuple(memory.MODELS) == profiles.MEMORY_MODELS
    assert memory.epochs(full) == 40 and memory.lengths_of(full, "blog_residual") == (100, 200)
    assert len(memory.cells(full)) == 9 * 5 + 4 * 2
    assert memory.left_out(full) == [
        f"{m} at T = 50, 400, 1000" for m in memory.MODELS if m.startswith("blog")
    ]
    quick = profiles.get_profile("quick")
    assert memory.cells(quick) == [(m, 40) for m in profiles.MEMORY_MODELS[:5]]
    assert "gru (not trained)" not in memory.left_out(quick) and "lstm_x6 (not trained)" in memory.left_out(
        quick
    )


def test_run_grid_saves_and_resumes(tmp_path, monkeypatch):
    prof = _tiny()
    table = memory.run_grid(prof, tmp_path, quiet=True)
    assert list(table["model"]) == ["lstm_chrono"] and table["T"].tolist() == [6]
    row = json.loads(next((tmp_path / "runs").glob("lstm_chrono_T6_*/row.json")).read_text())
    assert row["solved"] == (row["test_mse"] < tasks.solved_mse())
    assert row["sequences_seen"] == 64 and row["budget"] == 64 and row["epochs"] == 2
    assert 0 < row["ratio_init"] and np.isfinite(row["ratio_final"]) and row["sec_per_1000"] > 0
    history = memory.load_grid(tmp_path, "history", prof)
    assert history["sequences_seen"].tolist() == [32, 64] and history["ratio"].notna().all()
    ratios = memory.load_grid(tmp_path, "ratios", prof)
    assert sorted(set(ratios["epoch"])) == [0, 1, 2], "the gradient through time after every epoch"
    profile = memory.load_grid(tmp_path, "time_profile", prof)
    assert set(profile["epoch"]) == {0, 2} and profile["predicted"].notna().sum() == 6
    assert ": 1 run\n" in (tmp_path / "MACHINE.md").read_text()
    assert memory.missing(prof, tmp_path) == []
    assert memory.missing(_tiny(seeds=2), tmp_path) == ["lstm_chrono at T = 6 (1 of 2 seeds)"]
    saved = memory.seeds_saved(_tiny(seeds=2), tmp_path)
    assert saved.loc["lstm_chrono", 6] == 1 and saved.shape == (1, 1)

    def no_training(*args, **kwargs):
        raise AssertionError("a saved run was trained again")

    monkeypatch.setattr(memory, "train_one", no_training)
    again = memory.run_grid(prof, tmp_path, quiet=True)
    pd.testing.assert_frame_equal(again, table)
    pd.testing.assert_frame_equal(memory.collect(prof, tmp_path), table)
    with pytest.raises(ValueError, match="unknown model"):
        memory.run_grid(prof, tmp_path, models=["lstm_huge"])
    with pytest.raises(ValueError, match="seeds 0 to 0"):
        memory.run_grid(prof, tmp_path, seeds=[1])


def test_run_grid_trains_only_the_seeds_asked_for(tmp_path):
    table = memory.run_grid(_tiny(seeds=3), tmp_path, quiet=True, seeds=[2])
    assert table["seed"].tolist() == [2], "another process can train seeds 0 and 1 beside it"


def test_machine_md_keeps_the_account_of_the_sittings(tmp_path, capsys):
    memory.run_grid(_tiny(), tmp_path)
    err = capsys.readouterr().err
    assert "epoch 1/2: 32 sequences" in err and "epoch 2/2: 64 sequences" in err, "progress per epoch"
    assert "lstm_chrono      T=6    seed 0: test MSE" in err, "and a line per run"
    machine = tmp_path / "MACHINE.md"
    assert ": 1 run\n" in machine.read_text()
    machine.write_text(machine.read_text() + "\nHow it ran: by hand, on a Tuesday.\n")
    memory.run_grid(_tiny(seeds=2), tmp_path, quiet=True)  # trains seed 1, rewrites MACHINE.md
    assert "2 runs" in machine.read_text(), "the machine lines count the new run"
    assert machine.read_text().endswith("How it ran: by hand, on a Tuesday.\n"), "the account is kept"


def test_run_gold_keeps_one_folder_per_run_and_resumes(tmp_path, monkeypatch):
    prof = _tiny(gold_windows=(10,), gold_seeds=2, gold_epochs=1)
    table = memory.run_gold(prof, tmp_path)
    assert table["model"].tolist() == ["naive", "lstm_chrono"] * 2 and table["seed"].tolist() == [0, 0, 1, 1]
    folders = sorted(p.name for p in (tmp_path / "gold").iterdir())
    assert folders == ["chrono_w10_h30_e1_s0", "chrono_w10_h30_e1_s1"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "gold.csv"), table, check_dtype=False)
    trained = []

    def count(window, horizon, seed, prof):
        trained.append(seed)
        raise RuntimeError("trained")

    monkeypatch.setattr(memory, "_train_gold", count)
    pd.testing.assert_frame_equal(memory.run_gold(prof, tmp_path), table, check_dtype=False)
    assert trained == [], "saved runs are read back"
    shutil.rmtree(tmp_path / "gold" / folders[1])
    with pytest.raises(RuntimeError, match="trained"):
        memory.run_gold(prof, tmp_path)
    assert trained == [1], "only the missing run trains again"


def test_verdicts_reads_a_results_folder(tmp_path):
    (tmp_path / "memory").mkdir()
    pd.DataFrame([_row("gru", 50)]).to_csv(tmp_path / "memory" / "memory.csv", index=False)
    found = memory.verdicts(tmp_path)
    assert [v.key for v in found] == [f.__name__.replace("claim_", "memory_") for f in memory.CLAIMS]
    assert all(v.where.endswith("05_long_memory.ipynb") for v in found)
    with pytest.raises(FileNotFoundError, match="no long-memory results"):
        memory.verdicts(tmp_path / "nowhere")


def test_the_long_memory_figures_have_titles_labels_and_log_scales():
    import matplotlib

    matplotlib.use("Agg")
    from goldlab import plots

    grid = pd.DataFrame([[1.0, 0.5], [0.0, np.nan]], index=["GRU", "SimpleRNN"], columns=[50, 100])
    cost = pd.DataFrame(
        {"label": ["GRU", "GRU", "SimpleRNN"], "T": [50, 100, 50], "sequences": [5e3, 2e4, np.nan]}
    )
    history = pd.DataFrame({"sequences_seen": [0, 5000], "val_loss": [np.nan, 0.1], "ratio": [1e-9, 1e-3]})
    profile = pd.DataFrame({"label": "LSTM", "t": [1, 2], "norm": [1e-4, 1e-2], "predicted": [1e-4, 1e-2]})
    axes = [
        plots.phase_diagram(grid),
        plots.mse_heatmap(grid.fillna(0.5)),
        plots.cost_to_solve(cost, 2e5),
        *plots.memory_curves({"GRU, seed 0": history}, 1 / 60),
        plots.time_decay(profile),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
    cost_ax, curves = axes[2], axes[3:5]
    assert cost_ax.get_yscale() == "log" and cost_ax.get_xscale() == "linear", "exponential in T: straight"
    assert all(ax.get_yscale() == "log" for ax in [*curves, axes[5]]), "values that span decades"
    assert cost_ax.get_legend() is not None and curves[0].get_legend() is not None


def test_mse_heatmap_marks_the_solved_bar_on_its_colour_bar():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from goldlab import plots

    grid = pd.DataFrame([[0.05, 1.0]], index=["GRU"], columns=[50, 100])
    colour_bar = plots.mse_heatmap(grid, bar=0.1).figure.axes[-1]
    assert [list(line.get_ydata()) for line in colour_bar.lines] == [[0.1, 0.1]]
    assert not plots.mse_heatmap(grid).figure.axes[-1].lines, "no bar, no line"
    plt.close("all")
