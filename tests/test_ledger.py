"""goldlab.ledger: every verdict in one table, missing parts reported, keys unique."""

from pathlib import Path

import pytest

from goldlab import claims, ledger

ROOT = Path(__file__).resolve().parents[1]


def verdict(key: str) -> claims.Verdict:
    return claims.Verdict(key, "a claim", "its figure", "ours", claims.REFUTED, "because")


def test_ledger_refuses_a_claim_decided_twice():
    table = ledger.ledger([verdict("a"), verdict("b")])
    assert list(table.index) == ["a", "b"] and (table["verdict"] == claims.REFUTED).all()
    with pytest.raises(ValueError, match="decided twice: a"):
        ledger.ledger([verdict("a"), verdict("a")])


def test_missing_parts_become_rows_not_silence():
    def missing():
        raise FileNotFoundError("results/x/memory.csv")

    out = ledger._gather({"present": lambda: [verdict("a")], "long-memory": missing})
    assert [v.key for v in out] == ["a", "missing_long-memory"]
    assert out[1].verdict == claims.NOT_TESTABLE and "memory.csv" in out[1].reason


def test_speed_table_from_the_repository(tmp_path):
    speed = ledger.speed_table(ROOT)
    assert speed is not None and {"backend", "loop", "model", "s_per_epoch"} <= set(speed.columns)
    assert ledger.speed_table(tmp_path) is None


def test_every_verdict_needs_the_ablation_table(tmp_path):
    with pytest.raises(FileNotFoundError):
        ledger.every_verdict(tmp_path, "quick")
