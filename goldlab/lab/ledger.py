"""The ledger of the blog's claims: every verdict the book reaches, gathered from the saved results.

Each chapter decides its claims from its own cells; the intro and the results page show them all in one
table. :func:`every_verdict` computes each verdict again from the same saved results (it trains nothing),
through the same functions and thresholds the chapters assert on, so the table and the chapters cannot
disagree. The table is the registry :data:`goldlab.lab.claims.LEDGER` iterated: one row per claim, in its
order. A claim whose part has no saved results here (e.g. the long-memory runs not made yet) keeps its row,
with a "not computed" verdict that names what is missing, rather than being skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from goldlab import blog, models, monitor
from goldlab.lab import claims, depth, experiments, forecast, memory, profiles, variants
from goldlab.lab.claims import Verdict

__all__ = ["benchmark", "every_verdict", "ledger", "oldest_share", "settled", "speed_table"]


def benchmark(name: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """The table ``benchmarks/<name>`` under the repository ``root``, or None without it (as in Colab).

    ``root`` defaults to the nearest folder upwards from the working directory holding ``_toc.yml``.
    """
    root = Path(root) if root is not None else profiles.repo_root()
    path = None if root is None else root / "benchmarks" / name
    return pd.read_csv(path) if path is not None and path.exists() else None


def speed_table(root: str | Path | None = None) -> pd.DataFrame | None:
    """The speed benchmark (``benchmarks/results.csv``, see :func:`benchmark`), or None without it."""
    return benchmark("results.csv", root)


def oldest_share(
    results: str | Path, profile: str | profiles.Profile | None = None, step: str = "baseline"
) -> pd.DataFrame:
    """‖∂L/∂a_1‖ / ‖∂L/∂a_T‖ after training for each horizon and LSTM input of ``step``'s saved runs.

    Indexed by (horizon, layer), columns ``median`` and ``max`` over seeds: the share of the gradient that
    reaches the oldest day of the window (:func:`goldlab.monitor.time_ratio`), the input of
    :func:`goldlab.lab.claims.time_fade`.
    """
    prof = profiles.get_profile(profile)
    parts = {}
    for h in prof.horizons:
        runs = experiments.load_runs(results, [step], prof.seeds, h, prof.epochs)
        last = runs["time_profile"].query("epoch == epoch.max()")
        ratio = monitor.time_ratio(last, by=["seed", "layer"])
        parts[h] = ratio.groupby("layer").agg(["median", "max"])
    return pd.concat(parts, names=["horizon"])


def _gather(parts: dict[str, Callable[[], list[Verdict]]]) -> tuple[list[Verdict], list[str]]:
    """The verdicts of every part that has its saved results, and one line per part that has not."""
    out: list[Verdict] = []
    missing: list[str] = []
    for part, make in parts.items():
        try:
            out.extend(make())
        except FileNotFoundError as err:
            missing.append(f"{part} ({type(err).__name__}: {str(err)[:120]})")
    return out, missing


def _by_registry(verdicts: list[Verdict], missing: list[str]) -> list[Verdict]:
    """One verdict per claim of :data:`goldlab.lab.claims.LEDGER`, in its order: the computed one, else a
    "not computed" verdict naming the parts whose saved results are missing here."""
    found = {v.key: v for v in verdicts}
    why = (
        f"its saved results are missing here: {'; '.join(missing)}"
        if missing
        else "no part of the ledger computed it"
    )
    rows = [found.pop(c.key, None) or claims.not_computed(c.key, why) for c in claims.LEDGER]
    return rows + list(found.values())  # a verdict of a claim off the table still shows


def every_verdict(
    results: str | Path, profile: str | profiles.Profile | None = None, speed: pd.DataFrame | None = None
) -> list[Verdict]:
    """Every claim's verdict from the results folder of ``profile`` (see the module docstring).

    ``speed`` is the speed benchmark (:func:`speed_table`); without it the speed claim says it is not
    testable here.
    """
    prof = profiles.get_profile(profile)
    results = Path(results)
    table = pd.read_csv(results / "ablation_level.csv")
    steps = list(blog.STEPS)

    def ablation() -> list[Verdict]:
        runs = experiments.load_runs(results, steps, prof.seeds, blog.HORIZON, prof.epochs)
        watch = claims.blog_monitor(models.build_step("baseline", seed=0))
        fade = claims.time_fade(oldest_share(results, prof))
        both = [table, *([pd.read_csv(ret)] if (ret := results / "ablation_return.csv").exists() else [])]
        return [*claims.table_verdicts(table, runs), fade, watch, forecast.beats_naive(both)]

    def speed_claim() -> list[Verdict]:
        if speed is None:
            raise FileNotFoundError("benchmarks/results.csv")
        return [claims.time_per_epoch(speed)]

    def high_lr() -> list[Verdict]:  # chapter 2's runs at the blog's learning rate of 0.01
        runs = experiments.load_side(results, "lr_0.01", prof.extra_epochs)
        return [claims.lr_divergence(dict(zip(runs["run"], runs["nan"].astype(bool), strict=True)))]

    def clip_counts() -> list[Verdict]:  # chapter 2's clipping counted in the optimizer, on gold
        return [claims.clip_prevents(experiments.load_side(results, "clip_counts_gold", prof.extra_epochs))]

    def walk() -> list[Verdict]:
        return [forecast.beats_naive_walk(pd.read_csv(results / "walk_forward.csv"))]

    found, missing = _gather(
        {
            "ablation": ablation,
            "speed": speed_claim,
            "high learning rate": high_lr,
            "clip counts": clip_counts,
            "variants": lambda: variants.verdicts(results, prof),
            "long-memory": lambda: memory.verdicts(results),
            "depth sweep": lambda: depth.verdicts(results, prof),
            "walk-forward": walk,
        }
    )
    return _by_registry(claims.combine(found), missing)


def settled(
    verdicts: list[Verdict], results: str | Path, profile: str | profiles.Profile | None = None
) -> list[Verdict]:
    """The book's one verdict for each claim a page decided: where a claim is also tested elsewhere
    (:data:`goldlab.lab.claims.SAME_CLAIM`), the page's own verdict is replaced by the combined one that
    :func:`every_verdict` gives, so every page and the results table say the same."""
    book = {v.key: v for v in every_verdict(results, profile, speed_table())}
    out, seen = [], set()
    for v in verdicts:
        key = claims.SAME_CLAIM.get(v.key, v.key)
        if key in seen:
            continue
        seen.add(key)
        out.append(book.get(key, v) if key != v.key or key in claims.SAME_CLAIM.values() else v)
    return out


def ledger(verdicts: list[Verdict]) -> pd.DataFrame:
    """The claims table (:func:`goldlab.lab.claims.verdict_table`), one row per claim key, checked unique."""
    keys = [v.key for v in verdicts]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"claims decided twice: {', '.join(repeated)}")
    return claims.verdict_table(verdicts)
