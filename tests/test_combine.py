"""One verdict per claim: goldlab.lab.claims.combine folds a claim tested in several settings into one."""

from __future__ import annotations

from goldlab.lab import claims


def _v(key, verdict, where="../notebooks/04_residual.ipynb", **values):
    return claims.Verdict(key, "text", "blog", f"{key} measured", verdict, f"{key} reason", where, values)


CH5 = "../notebooks/05_long_memory.ipynb"


def test_agreeing_settings_keep_their_verdict_and_the_registry_text():
    gold, task = (
        _v("more_layers", claims.REFUTED, x=1.0),
        _v("memory_more_layers", claims.REFUTED, CH5, x=2.0),
    )
    (one,) = claims.combine([gold, task])
    known = claims.registered("more_layers")
    assert (one.key, one.claim, one.blog) == ("more_layers", known.claim, known.blog)
    assert one.verdict == claims.REFUTED
    assert (
        "refuted on gold prices" in one.reason and "refuted on the adding problem (chapter 5)" in one.reason
    )
    assert one.values == {"more_layers.x": 1.0, "memory_more_layers.x": 2.0}


def test_split_settings_are_mixed_and_untested_ones_do_not_count():
    split = claims.combine(
        [_v("orth_doubled", claims.NOT_REPRODUCED), _v("memory_orth_doubled", claims.SUPPORTED, CH5)]
    )
    assert [v.verdict for v in split] == [claims.MIXED]
    untested = claims.combine(
        [_v("clip_prevents", claims.REFUTED), _v("memory_clip_prevents", claims.NOT_TESTABLE, CH5)]
    )
    assert [v.verdict for v in untested] == [claims.REFUTED]
    assert "not testable here" in untested[0].reason, "the untested setting is still named"
    short = claims.combine(
        [_v("orth_doubled", claims.NOT_REPRODUCED), _v("memory_orth_doubled", claims.BUDGET, CH5)]
    )
    assert [v.verdict for v in short] == [claims.NOT_REPRODUCED], "too small a budget splits nothing"


def test_other_verdicts_pass_through_in_order():
    a, b = _v("mae", claims.REFUTED), _v("memory_up_to_100", claims.BUDGET, CH5)
    assert claims.combine([a, b]) == [a, b]
    assert {claims.MIXED, claims.BUDGET} <= set(claims.VERDICTS)
