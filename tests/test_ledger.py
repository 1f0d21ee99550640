"""goldlab.lab.ledger: every verdict in one table, missing parts reported, keys unique."""

from pathlib import Path

import pandas as pd
import pytest

from goldlab.lab import claims, ledger

ROOT = Path(__file__).resolve().parents[1]


def verdict(key: str) -> claims.Verdict:
    return claims.Verdict(key, "a claim", "its figure", "ours", claims.REFUTED, "because")


def test_ledger_refuses_a_claim_decided_twice():
    table = ledger.ledger([verdict("a"), verdict("b")])
    assert list(table.index) == ["a", "b"] and (table["verdict"] == claims.REFUTED).all()
    with pytest.raises(ValueError, match="decided twice: a"):
        ledger.ledger([verdict("a"), verdict("a")])


def test_the_ledger_is_the_registry_iterated_and_a_missing_part_leaves_rows_not_computed(tmp_path):
    table = pd.read_csv(ROOT / "results" / "full" / "ablation_level.csv")
    table.to_csv(tmp_path / "ablation_level.csv", index=False)  # the ablation's table, none of its runs
    verdicts = ledger.every_verdict(tmp_path, "full")
    assert [v.key for v in verdicts] == [c.key for c in claims.LEDGER]
    assert all(v.measured == "not computed" and v.verdict == claims.NOT_TESTABLE for v in verdicts)
    assert all("long-memory" in v.reason and "memory.csv" in v.reason for v in verdicts)
    mae = verdicts[0]
    assert (mae.claim, mae.where) == (claims.registered("mae").claim, claims.registered("mae").where)


def test_speed_table_from_the_repository(tmp_path):
    speed = ledger.speed_table(ROOT)
    assert speed is not None and {"backend", "loop", "model", "s_per_epoch"} <= set(speed.columns)
    assert ledger.speed_table(tmp_path) is None


def test_benchmark_reads_any_table_of_the_folder(tmp_path):
    (tmp_path / "benchmarks").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "benchmarks" / "run.csv", index=False)
    assert ledger.benchmark("run.csv", tmp_path)["a"].tolist() == [1, 2]
    assert ledger.benchmark("other.csv", tmp_path) is None
    gpu = ledger.benchmark("full_profile_stacked_h200.csv", ROOT)  # the GPU run the results page reads
    assert gpu is not None and (gpu["seed"] >= 0).sum() == 40


def test_every_verdict_needs_the_ablation_table(tmp_path):
    with pytest.raises(FileNotFoundError):
        ledger.every_verdict(tmp_path, "quick")


def test_the_committed_full_results_decide_every_blog_claim():
    verdicts = ledger.every_verdict(ROOT / "results" / "full", "full", speed=ledger.speed_table(ROOT))
    assert [v.key for v in verdicts] == [c.key for c in claims.LEDGER], "one row per claim, in its order"
    assert not [v.reason for v in verdicts if v.measured == "not computed"]
    assert {c.key for c in claims.BLOG_CLAIMS} <= {v.key for v in verdicts}
    for v in verdicts:  # each row decided by its claim's own function (a folded one: by combine)
        assert v.key in claims.decision(v.key).decides and v.claim == claims.registered(v.key).claim


def test_side_experiments_are_run_folders_named_by_what_changes_them(tmp_path):
    from goldlab.lab import experiments

    runs = pd.DataFrame({"run": ["unclipped", "clipped"], "nan": [True, False]})
    trained = []

    def train() -> pd.DataFrame:
        trained.append(1)
        return runs

    pd.testing.assert_frame_equal(experiments.side(tmp_path, "lr_0.01", 10, train), runs)
    pd.testing.assert_frame_equal(experiments.side(tmp_path, "lr_0.01", 10, train), runs)
    assert trained == [1], "trained once, then read back"
    assert [p.name for p in (tmp_path / "side").iterdir()] == ["lr_0.01_e10_val10"]
    pd.testing.assert_frame_equal(experiments.load_side(tmp_path, "lr_0.01", 10), runs)
    with pytest.raises(FileNotFoundError, match="lr_0.01_e20_val10"):
        experiments.load_side(tmp_path, "lr_0.01", 20)
    experiments.save_side(tmp_path, "lr_0.01", runs.iloc[:1], epochs=10)  # a record replaced
    assert experiments.load_side(tmp_path, "lr_0.01", 10)["run"].tolist() == ["unclipped"]
    assert [p.name for p in (tmp_path / "side").iterdir()] == ["lr_0.01_e10_val10"], "no leftovers"
    two = experiments.side(tmp_path, "two", 10, lambda: {"a": runs, "b": runs.iloc[:1]})
    assert list(experiments.load_side(tmp_path, "two", 10)) == list(two) == ["a", "b"]
