"""The blog's claims, each decided by a computation: one small function per claim returns a :class:`Verdict`.

:data:`CLAIMS` is the one registry of every claim the book decides: each :class:`Claim` declared once with
its key, its text, the blog's figure, the page that measures it, its threshold(s) and the dotted name of its
decision function. :data:`BLOG_CLAIMS` are those of the blog post "Fix Vanishing Gradients in LSTM Gold
Models – TensorFlow 2.15 Guide" (see ``SEED_CLAIMS.md``). Each decision function (:func:`mae_headline`,
:func:`grad_layer3`, :func:`clip_prevents`, ..., and those of :mod:`goldlab.lab.variants`,
:mod:`goldlab.lab.memory`, :mod:`goldlab.lab.depth` and :mod:`goldlab.lab.forecast`) takes the results a
chapter computed, compares our figure with its claim's :func:`threshold`, and builds its :class:`Verdict`
through :func:`verdict_for`, which reads the text, figure and page from the registry; a verdict is one of a
fixed vocabulary (supported, refuted, not reproduced, undefined, not testable here, mixed, not tested at a
sufficient budget) with a one-line reason rendered from the numbers. Chapters render the verdicts as Markdown
(:func:`render`) and assert on the same verdicts, so a sentence, a table row and an assert are one thing.

:func:`scores` and :func:`against_naive` are the summaries the results page shows: mean ± sd over seeds per
step and horizon, and each step against the naive (random-walk) forecast.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from goldlab import blog
from goldlab.book import plural
from goldlab.metrics import BASELINES, PairedResult, median_p, paired_difference
from goldlab.monitor import TIME_VANISH

__all__ = [
    "NOT_REPRODUCED",
    "NOT_TESTABLE",
    "REFUTED",
    "SUPPORTED",
    "UNDEFINED",
    "VERDICTS",
    "Verdict",
    "ALPHA",
    "CLAIMS",
    "FINAL_STEP",
    "LEDGER",
    "MIN_SEEDS",
    "SEED_SDS",
    "SAME_CLAIM",
    "check",
    "combine",
    "decides",
    "decision",
    "figure",
    "not_computed",
    "registered",
    "threshold",
    "verdict_for",
    "decide",
    "page_name",
    "render",
    "verdict_table",
    "BLOG_CLAIMS",
    "HEADLINE",
    "Claim",
    "FIX_CLAIMS",
    "against_naive",
    "mean_sd",
    "accuracy",
    "blog_monitor",
    "clip_counted",
    "clip_high_lr",
    "clip_rescue",
    "clip_prevents",
    "depth_direction",
    "depth_fall",
    "gate_orthogonal",
    "grad_layer3",
    "init_memory",
    "loss_flattening",
    "lr_divergence",
    "mae_headline",
    "more_layers",
    "orth_doubled",
    "orth_floor",
    "orth_vs_arch",
    "residual_convergence",
    "residual_widths",
    "table_verdicts",
    "tensorboard",
    "time_fade",
    "time_per_epoch",
    "tutorial_time",
    "scores",
    "settle_epoch",
    "step_mae",
    "sum_over_time",
    "toy_explode",
]

#: The verdict vocabulary. Every claim gets exactly one of these, decided by a computation.
SUPPORTED = "supported"  # our measurement agrees with the blog's claim
REFUTED = "refuted"  # our measurement contradicts it
NOT_REPRODUCED = "not reproduced"  # the blog's effect does not appear in our measurement
UNDEFINED = "undefined"  # the claim has no meaning as stated (e.g. "accuracy" of a regression)
NOT_TESTABLE = "not testable here"  # the book has no measurement that can speak to it (reason given)
MIXED = "mixed"  # the evidence is split: it holds under one condition and not another (both named)
BUDGET = "not tested at a sufficient budget"  # the runs that fail were still improving when training ended
VERDICTS: tuple[str, ...] = (SUPPORTED, REFUTED, NOT_REPRODUCED, UNDEFINED, NOT_TESTABLE, MIXED, BUDGET)


@dataclass(frozen=True)
class Verdict:
    """One claim of the blog beside our measurement and the verdict a threshold decided.

    ``measured`` is our figure as text, ``reason`` one line saying which computed comparison decided the
    verdict (rendered from the numbers, never typed), ``values`` the raw numbers behind both, for asserts.
    """

    key: str
    claim: str
    blog: str
    measured: str
    verdict: str
    reason: str
    where: str = ""
    values: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def sentence(self) -> str:
        """The verdict as Markdown: the claim in bold, the blog's figure, the verdict, why, and our figure."""
        claim = self.claim[:1].upper() + self.claim[1:]
        return (
            f"**{claim}** (the blog: {self.blog}): **{self.verdict}**. "
            f"{self.reason[:1].upper() + self.reason[1:]}. Ours: {self.measured}."
        )

    def _repr_markdown_(self) -> str:
        return self.sentence()


def decide(value: float, threshold: float, above: str, below: str) -> str:
    """``above`` when ``value >= threshold``, ``below`` when it is smaller, ``UNDEFINED`` for NaN."""
    if value is None or not np.isfinite(value):
        return UNDEFINED
    return above if value >= threshold else below


def render(verdicts: Sequence[Verdict]) -> str:
    """Markdown: one bullet per verdict sentence (for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {v.sentence()}" for v in verdicts)


def page_name(where: str) -> str:
    """A page of the book as a reader names it: ``../notebooks/05_long_memory.ipynb`` is "chapter 5".

    Tables show it as text, since a link in a table output resolves neither in Jupyter and the built
    site alike; ``""`` stays ``""``.
    """
    stem = Path(where.split("#")[0]).stem
    if number := re.fullmatch(r"0*(\d+)_.*", stem):
        return f"chapter {number.group(1)}"
    return {"api": "API reference", "what_decides": "what decides the forecast"}.get(
        stem, stem.replace("_", " ")
    )


def verdict_table(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """The claims table: claim, the blog's figure, ours, the verdict and the page that measures it."""
    rows = [
        {
            "claim": v.claim,
            "blog": v.blog,
            "measured": v.measured,
            "verdict": v.verdict,
            "where": page_name(v.where),
        }
        for v in verdicts
    ]
    return pd.DataFrame(rows, index=pd.Index([v.key for v in verdicts], name="key"))


_METRICS: tuple[str, ...] = ("mae", "rmse", "mase", "directional_accuracy")
#: The step-4 network is the blog's final model; the headline compares it with the baseline.
FINAL_STEP = "residual"
#: Significance level of every test a verdict reads (the paired comparisons of two steps over seeds, the
#: Diebold–Mariano test against the naive forecast, the Mincer–Zarnowitz and Spearman tests).
ALPHA = 0.05
#: The book's least number of seeds (or runs paired by seed) for a verdict; fewer are "not tested at a
#: sufficient budget".
MIN_SEEDS = 3
#: The spread bar, in sd over seeds, that an effect must exceed where there is nothing to pair (the
#: threshold of the chapters' checks of a step's MAE change).
SEED_SDS = 2.0


@dataclass(frozen=True)
class Claim:
    """One claim the book decides, declared once: everything a verdict of it shows or compares with.

    ``key`` names it everywhere; ``claim`` is the claim in the book's words and ``blog`` the blog's figure
    (or its nearest statement) as text; ``where`` is the page that measures it, a document path relative to
    the ``book/`` folder (e.g. ``../notebooks/01_diagnose.ipynb``); ``decision`` the dotted name
    (``module:function``) of the function that decides it, resolved lazily by :func:`decision`;
    ``threshold`` the number the decision compares with, or a small mapping of named numbers when it has
    several (:func:`threshold`); ``figures`` the blog's own numbers the decision reads (:func:`figure`).
    ``kind`` groups the claims (``blog``: the blog's own; ``variant``, ``step``, ``fix``, ``memory``,
    ``depth``, ``forecast``: the book's tests around them); ``ledger`` is whether the claims table of the
    results page has a row for it; ``same_as`` names the claim a setting's verdict speaks to (see
    :func:`combine`).
    """

    key: str
    claim: str
    blog: str
    where: str
    decision: str
    threshold: float | Mapping[str, float] | None = None
    figures: Mapping[str, float] = field(default_factory=dict)
    kind: str = "blog"
    ledger: bool = True
    same_as: str = ""


_CH1, _CH2 = "../notebooks/01_diagnose.ipynb", "../notebooks/02_clip.ipynb"
_CH3, _CH4 = "../notebooks/03_orthogonal.ipynb", "../notebooks/04_residual.ipynb"
_CH5 = "../notebooks/05_long_memory.ipynb"
_RESULTS, _API = "results.ipynb", "api.md"
_WHY_FAILS, _WHAT_DECIDES = "why_fails.ipynb", "what_decides.ipynb"
_C, _V, _M = "goldlab.lab.claims:", "goldlab.lab.variants:", "goldlab.lab.memory:"
_F, _D = "goldlab.lab.forecast:", "goldlab.lab.depth:"
# the blog's statements that more than one claim quotes, written once
_DEPTH_FIGURES = "0.023 (early layers) → 0.000002 (deeper layers)"
_PREVENTS_BOTH, _PREVENTS_EXPLODING = "“prevents both”", "“prevents … exploding”"
_DOUBLED, _THREE_PLUS, _WORSE = "doubled (2×)", "3+ layers", "worse with depth"

#: Every claim the book decides, in the order of the claims table (:func:`goldlab.lab.ledger.every_verdict`
#: iterates it): the blog's headline results, its four steps' claims and its other claims, its untested
#: variants, the long-memory claims, the walk-forward; then the claims only a chapter decides.
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "mae",
        "test MAE of the 30-day-forward forecast, baseline → final model",
        "47.23 → 12.84 USD (−73 %)",
        _RESULTS,
        _C + "mae_headline",
        threshold=0.5,  # a drop of at least this share reproduces the headline
    ),
    Claim(
        "accuracy",
        "“model accuracy” on the test set, baseline → clipping → orthogonal/residual",
        "68 % → 83 % → 91 %",
        _RESULTS,
        _C + "accuracy",
    ),
    Claim(
        "grad_layer3",
        "gradient norm of layer 3, baseline → final model",
        "3e-06 → 2.147e-03 (716×)",
        _CH1,
        _C + "grad_layer3",
        threshold=blog.VANISH,  # the blog's monitor warns below it: above it, not vanishing by its own test
        figures={"layer3": 3e-6},  # the blog's layer-3 gradient norm of the baseline
    ),
    Claim(
        "depth_fall",
        "step 1: gradient norms fall with depth, layer 3 “near zero”",
        _DEPTH_FIGURES,
        _CH1,
        _C + "depth_fall",
        threshold=10.0,  # vanishing across depth: the first LSTM's gradient at least this times the last's
    ),
    Claim(
        "loss_flattening",
        "step 2: with clipping the loss declines steadily instead of flattening after 3 epochs",
        "flat after 3 epochs → steady decline",
        _CH2,
        _C + "loss_flattening",
        threshold=0.1,  # "flat": the loss falls by less than this share from the blog's epoch to the end
        figures={"epoch": 3},  # the blog's loss flattens after this epoch
    ),
    Claim(
        "orth_floor",
        "step 3: orthogonal init keeps deep-layer gradient norms above 1e-3",
        "> 1e-3",
        _CH3,
        _C + "orth_floor",
        threshold=1e-3,  # the blog's floor
    ),
    Claim(
        "orth_doubled",
        "step 3: orthogonal initialisation “doubled gradient flow”",
        _DOUBLED,
        _CH3,
        _C + "orth_doubled",
        threshold=1.5,  # "doubled": the orthogonal/clipnorm gradient-norm ratio must reach this
    ),
    Claim(
        "orth_vs_arch",
        "orthogonal initialisation matters more than architecture",
        "“matters more than architecture”",
        _CH4,
        _C + "orth_vs_arch",
    ),
    Claim(
        "residual_convergence",
        "step 4: the residual model converges sooner",
        "converges at epoch 32; 35 epochs instead of 50+",
        _CH4,
        _C + "residual_convergence",
        threshold=0.1,  # sooner: the median settling epoch earlier by at least this share of the epochs
    ),
    Claim(
        "residual_widths",
        "step 4: Add() needs matching widths, or a Dense projection",
        "widths must match",
        _CH4,
        _C + "residual_widths",
    ),
    Claim(
        "more_layers",
        "more LSTM layers made vanishing worse",
        _WORSE,
        _CH1,
        _C + "more_layers",  # vanishing needs the factor of depth_fall
    ),
    Claim(
        "tutorial_time",
        "time to run the whole tutorial",
        "20 minutes; 91 % in 37 minutes total",
        _RESULTS,
        _C + "tutorial_time",
    ),
    Claim(
        "tensorboard",
        "TensorBoard tracks gradient distributions; tf.debugging.check_numerics catches problems early",
        "tensorboard --logdir=logs/",
        _API,
        _C + "tensorboard",
    ),
    Claim(
        "time_fade",
        "the gradient vanishes across depth, in the deep layers",
        "layer 3 “near zero”",
        _CH1,
        _C + "time_fade",
        threshold=TIME_VANISH,  # vanishing through time: under this share of the gradient at the oldest day
    ),
    Claim(
        "blog_monitor",
        "step 1: a callback printing tf.norm(layer.kernel) every 5 epochs diagnoses vanishing in 10 epochs",
        "warns below 1e-5",
        _CH1,
        _C + "blog_monitor",
    ),
    Claim(
        "beats_naive",
        "the fixed networks forecast gold better than before, i.e. better than a trivial forecast",
        "MAE 47.23 → 12.84; no naive forecast reported",
        _WHAT_DECIDES,
        _F + "beats_naive",
        threshold=0.5,  # at least this share of the runs significantly better than naive (DM at ALPHA)
        kind="forecast",
    ),
    Claim(
        "time_per_epoch",
        "training time per epoch, baseline → residual",
        "8.7 s → 11.2 s per epoch (GPU)",
        _CH4,
        _C + "time_per_epoch",
        threshold=1.5,  # the residual/baseline epoch-time ratio within this factor of the blog's
        figures={"baseline": 8.7, "residual": 11.2},  # the blog's seconds per epoch (TF 2.15, a GPU)
    ),
    Claim(
        "lr_divergence",
        "learning rate 0.01 diverges after epoch 4 with NaN losses",
        "NaN after epoch 4",
        _CH2,
        _C + "lr_divergence",
    ),
    Claim(
        "clip_prevents",
        "step 2: clipnorm=1.0 prevents gradients from vanishing or exploding",
        _PREVENTS_BOTH,
        _CH2,
        _C + "clip_prevents",
        threshold=0.05,  # clipping is idle below this share of the training updates changed
    ),
    Claim(
        "residual_depth",
        "step 4: residual connections only help with 3+ LSTM layers",
        _THREE_PLUS,
        _CH4,
        _D + "claim_residual_depth",  # decided on gold by the depth sweep's seeds, paired (chapter 4)
    ),
    Claim(
        "diagnose_epochs",
        "10 epochs are enough to confirm vanishing gradients",
        "10 epochs",
        _CH1,
        _V + "diagnose_verdict",
        # share of (seed, layer) diagnoses at the check epoch equal to the end's; a layer also vanishes when
        # less than ``ratio`` of the gradient at the latest day reaches the oldest day of the window
        threshold={"agree": 1.0, "ratio": 1e-2},
        kind="variant",
    ),
    Claim(
        "clip_value",
        "if gradients still vanish, clipnorm 0.5 helps",
        "try clipnorm=0.5",
        _CH2,
        _V + "clip_value_verdict",
        threshold=2.0,  # clipnorm 0.5 helps when it raises the smallest LSTM gradient by this factor
    ),
    Claim(
        "clip_floor",
        "clipnorm below 0.1 hurts training",
        "never below 0.1",
        _CH2,
        _V + "clip_floor_verdict",
        threshold=1.1,  # hurts: the final validation loss at 0.05 at least this multiple of that at 0.1
        kind="variant",
    ),
    Claim(
        "orth_gain",
        "orthogonal gain 1.5 trains faster",
        "gain 1.5: faster",
        _CH3,
        _V + "gain_speed_verdict",
        # the level both gains must reach, as a multiple of the larger of their best validation losses;
        # faster: gain 1.5 reaches it at least ``epochs`` sooner (median over seeds)
        threshold={"level": 1.1, "epochs": 1},
    ),
    Claim(
        "orth_gain_stability",
        "orthogonal gain 1.5 risks instability in the first 5 epochs",
        "gain 1.5: unstable early",
        _CH3,
        _V + "gain_stability_verdict",
        # the blog's first ``early`` epochs; unstable: a NaN loss or a training loss more than ``rise`` above
        # the epoch before; risky: at least ``extra`` more unstable epochs per seed than gain 1.0
        threshold={"early": 5, "rise": 0.05, "extra": 1.0},
        kind="variant",
    ),
    Claim(
        "batchnorm_plain",
        "batch normalisation between LSTM layers breaks training (non-stateful, as the blog's models are)",
        "“broke training”",
        _CH4,
        _V + "batchnorm_verdict",
        # broke: a NaN loss or a final validation loss at least ``broke`` times the baseline's; the moving
        # averages have settled once they weigh their start by less than ``settled``
        threshold={"broke": 2.0, "settled": 0.01},
        kind="variant",
    ),
    Claim(
        "batchnorm",
        "batch normalisation between LSTMs broke stateful training",
        "“broke stateful training”",
        _CH4,
        _V + "batchnorm_stateful_verdict",
    ),
    Claim(
        "accuracy_34",
        "the fixes “improve accuracy by 34 %” (subtitle)",
        "+34%",
        _RESULTS,
        _V + "accuracy_verdict",
        figures={"before": 0.68, "after": 0.91, "improvement": 0.34},  # the blog's "accuracy", its subtitle
        kind="variant",
    ),
    Claim(
        "memory_up_to_100",
        "the fixes work for sequences up to 100 steps",
        "up to 100 steps",
        _CH5,
        _M + "claim_up_to_100",
        threshold=0.5,  # works: the best of the blog's steps 2-4 solves this share of seeds at each T <= 100
    ),
    Claim(
        "memory_gru_over_100",
        "sequences over 100 steps might need a GRU",
        "over 100 steps: GRU, Transformers or chunks",
        _CH5,
        _M + "claim_gru_over_100",
        threshold=0.5,  # needs a GRU: it solves this much larger a share of seeds than every LSTM
        kind="memory",
    ),
    Claim(
        "beats_naive_walk",
        "the network forecasts gold better than a trivial forecast in other years too",
        "one test period, no naive forecast reported",
        _WHAT_DECIDES,
        _F + "beats_naive_walk",  # the share of beats_naive
        kind="forecast",
    ),
    # --- decided in another setting too, folded into the claim it speaks to (combine)
    Claim(
        "memory_more_layers",
        "adding more LSTM layers made it worse",
        _WORSE,
        _CH5,
        _M + "claim_more_layers",
        threshold=2.0,  # worse: six stacked LSTMs end with at least this times one LSTM's test MSE
        kind="memory",
        ledger=False,
        same_as="more_layers",
    ),
    Claim(
        "memory_residual_depth",
        "residual connections help with 3+ LSTM layers",
        _THREE_PLUS,
        _CH5,
        _M + "claim_residual_depth",
        threshold=2.0,  # skips help when they divide a stack's test MSE by at least this
        kind="memory",
        ledger=False,
        same_as="residual_depth",
    ),
    Claim(
        "memory_orth_doubled",
        "orthogonal initialisation doubled gradient flow",
        _DOUBLED,
        _CH5,
        _M + "claim_orth_doubled",  # "doubled" as orth_doubled has it
        kind="memory",
        ledger=False,
        same_as="orth_doubled",
    ),
    Claim(
        "memory_clip_prevents",
        "clipping prevents vanishing gradients",
        _PREVENTS_BOTH,
        _CH5,
        _M + "claim_clip_prevents",
        threshold=2.0,  # prevents vanishing: at least this times more gradient at the first step
        kind="memory",
        ledger=False,
        same_as="clip_prevents",
    ),
    Claim(
        "depth_residual_depth",
        "residual connections only help with 3+ LSTM layers",
        "3+",
        _CH4,
        _D + "claim_residual_depth",
        threshold=3,  # the number of LSTM layers from which on, and not below, the blog says skips help
        kind="depth",
        ledger=False,
        same_as="residual_depth",
    ),
    # --- decided on a chapter's page only
    Claim(
        "mae_clipnorm",
        "step 2: clipping improves the forecast",
        "“accuracy” 68 % → 83 %",
        _CH2,
        _C + "step_mae",
        kind="step",
        ledger=False,
    ),
    Claim(
        "mae_orthogonal",
        "step 3: orthogonal initialisation improves the forecast",
        "“accuracy” → 91 %",
        _CH3,
        _C + "step_mae",
        kind="step",
        ledger=False,
    ),
    Claim(
        "mae_residual",
        "step 4: the residual network improves the forecast",
        "MAE 47.23 → 12.84 USD",
        _CH4,
        _C + "step_mae",
        kind="step",
        ledger=False,
    ),
    Claim(
        "clip_high_lr",
        "clipping is the fix for a learning rate that diverges",
        _PREVENTS_EXPLODING,
        _CH2,
        _C + "clip_high_lr",
        threshold=0.1,  # rescues: it lowers the final training loss by at least this share
        kind="step",
        ledger=False,
    ),
    # the book's findings on where each fix works (chapters 1 to 3); their "blog" figure is the blog's
    # nearest statement
    Claim(
        "sum_over_time",
        "a layer's ‖∂L/∂W‖ sums the days of the window, and the recent days alone give nearly all of it",
        "one gradient norm per layer decides the diagnosis",
        _CH1,
        _C + "sum_over_time",
        threshold={"days": 30, "share": 0.9},  # nearly all: the last ``days`` days give ``share`` or more
        kind="fix",
        ledger=False,
    ),
    Claim(
        "toy_explode",
        "a recurrent gain above 1 explodes the gradient through time where tanh stays near linear",
        "“prevents gradients from vanishing or exploding”",
        _CH1,
        _C + "toy_explode",
        threshold={"factor": 10.0, "steps": 60},  # explodes: ×``factor`` or more after ``steps`` steps back
        kind="fix",
        ledger=False,
    ),
    Claim(
        "depth_direction",
        "the blog's depth figures describe a gradient vanishing across depth",
        _DEPTH_FIGURES,
        _CH1,
        _C + "depth_direction",
        figures={"early": 0.023, "deep": 0.000002},  # the blog's depth figures
        kind="fix",
        ledger=False,
    ),
    Claim(
        "clip_rescue",
        "clipping rescues a run whose gradient explodes",
        _PREVENTS_EXPLODING,
        _CH2,
        _C + "clip_rescue",
        kind="fix",
        ledger=False,
    ),
    Claim(
        "clip_counted",
        "clipnorm=1.0 changes few training updates on gold and most of them where the gradient explodes",
        "“the fastest fix that prevents both”",
        _CH2,
        _C + "clip_counted",
        threshold=0.5,  # acts on most updates: at least this share changed (idle: as clip_prevents has it)
        kind="fix",
        ledger=False,
    ),
    Claim(
        "gate_orthogonal",
        "Keras's orthogonal recurrent kernel is orthogonal for each gate of an LSTM",
        "Orthogonal(gain=1.0) as recurrent_initializer",
        _CH3,
        _C + "gate_orthogonal",
        threshold={
            "share": 0.99,
            "within": 0.1,
        },  # orthogonal: ``share`` of its singular values within 1 ± ``within``
        kind="fix",
        ledger=False,
    ),
    Claim(
        "init_memory",
        "on a task that needs memory, the recurrent initialisation decides whether a SimpleRNN learns",
        "“orthogonal initialisation matters more than architecture”",
        _CH3,
        _C + "init_memory",
        threshold=2 / 3,  # decides: the share of seeds solving differs by this much between two inits
        kind="fix",
        ledger=False,
    ),
    # the forecast's claims (the pages "Why the forecast fails" and "What decides the forecast")
    Claim(
        "follows_price",
        "the network trained on the min-max-scaled price level forecasts the test period's prices",
        "implied by its MAE 47.23 → 12.84 on a test period “spanning 2024 price movements”",
        _WHY_FAILS,
        _F + "follows_price",
        kind="forecast",
        ledger=False,
    ),
    Claim(
        "fixes_shortfall",
        "clipping, orthogonal initialisation and residual connections fix the forecast",
        "MAE 47.23 → 12.84 (−73 %)",
        _WHY_FAILS,
        _F + "fixes_shortfall",
        threshold=0.5,  # the best step removes at least this share of the error above the training maximum
        kind="forecast",
        ledger=False,
    ),
    Claim(
        "target_decides",
        "the gradient fixes are what moves the forecast error",
        "MAE 47.23 → 12.84 from the fixes alone",
        _WHAT_DECIDES,
        _F + "target_decides",
        threshold=1.0,  # the steps' spread of MAE/naive at least this multiple of the target's change
        kind="forecast",
        ledger=False,
    ),
    Claim(
        "gradient_decides",
        "more gradient reaching the layers gives a better forecast",
        "layer-3 gradient 3e-06 → 2.147e-03 beside MAE 47.23 → 12.84",
        _WHAT_DECIDES,
        _F + "gradient_decides",
        threshold=0.5,  # within each target, Spearman's rho of lstm_1's gradient and MAE/naive at most −this
        kind="forecast",
        ledger=False,
    ),
)

_BY_KEY: dict[str, Claim] = {c.key: c for c in CLAIMS}
#: The blog's own claims (its headline table, its four steps, its other claims), as the intro restates them.
BLOG_CLAIMS: tuple[Claim, ...] = tuple(c for c in CLAIMS if c.kind == "blog")
#: The book's findings on where each fix works; rendered and asserted in chapters 1 to 3.
FIX_CLAIMS: tuple[Claim, ...] = tuple(c for c in CLAIMS if c.kind == "fix")
#: The claims of the claims table, in its order (:func:`goldlab.lab.ledger.every_verdict`).
LEDGER: tuple[Claim, ...] = tuple(c for c in CLAIMS if c.ledger)
#: Keys of the blog's headline results (its before/after table).
HEADLINE: tuple[str, ...] = ("mae", "accuracy", "grad_layer3", "time_per_epoch", "tutorial_time")
#: For claims the book tests in more than one setting, the key of a setting's verdict mapped to the key of
#: the one registered claim it speaks to; :func:`combine` folds them, so every page shows one verdict.
SAME_CLAIM: dict[str, str] = {c.key: c.same_as for c in CLAIMS if c.same_as}


def registered(key: str) -> Claim:
    """The registered claim ``key``: its one text, blog figure, page, threshold and decision (KeyError for
    a key :data:`CLAIMS` does not declare)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no registered claim {key!r}; declare it in goldlab.lab.claims.CLAIMS") from None


def threshold(key: str, name: str | None = None) -> float:
    """The threshold of claim ``key`` (``name``: one of several, for a claim that has a mapping)."""
    value = registered(key).threshold
    if name is not None:
        return value[name]
    if not isinstance(value, (int, float)):
        raise KeyError(f"claim {key!r} has thresholds {value!r}: name one")
    return value


def figure(key: str, name: str) -> float:
    """The blog's figure ``name`` that claim ``key`` compares with (``figure("grad_layer3", "layer3")``)."""
    return registered(key).figures[name]


def decision(key: str) -> Callable[..., Verdict]:
    """The function that decides claim ``key``, imported when asked (the modules import this one)."""
    module, name = registered(key).decision.split(":")
    return getattr(importlib.import_module(module), name)


def decides(*keys: str) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Mark a function as the decision of the registered claims ``keys``: it keeps them as ``decides`` and
    refuses to return a verdict of any other claim."""
    for key in keys:
        registered(key)

    def mark(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        @functools.wraps(fn)
        def checked(*args, **kwargs) -> Verdict:
            v = fn(*args, **kwargs)
            if v.key not in keys:
                raise ValueError(f"{fn.__qualname__} decides {', '.join(keys)}, not {v.key!r}")
            return v

        checked.decides = keys
        return checked

    return mark


def check(key: str, /, *evidence, **options) -> Verdict:
    """Decide registered claim ``key`` from ``evidence``: the one call a page makes for a verdict.

    It runs the claim's decision function (:func:`decision`) on the numbers the page computed, so the
    page names the claim whose text, blog figure and threshold :data:`CLAIMS` declares, e.g.
    ``claims.check("clip_prevents", counts)``; a decision that returns another claim's verdict is an
    error."""
    v = decision(key)(*evidence, **options)
    if v.key != key:
        raise ValueError(f"the decision of {key!r} returned a verdict of {v.key!r}")
    return v


def verdict_for(key: str, measured: str, verdict: str, reason: str, /, **values) -> Verdict:
    """The :class:`Verdict` of registered claim ``key``: its text, the blog's figure and its page come
    from :data:`CLAIMS`; ``measured``, ``verdict``, ``reason`` and ``values`` from the decision. Every
    verdict of the book is built here."""
    c = registered(key)
    return Verdict(key, c.claim, c.blog, measured, verdict, reason, c.where, dict(values))


def not_computed(key: str, reason: str) -> Verdict:
    """The verdict of a registered claim that nothing computed here (``reason`` says why)."""
    return verdict_for(key, "not computed", NOT_TESTABLE, reason)


# --------------------------------------------------------------------------------------------------
# summaries of a results table


def mean_sd(values: Sequence[float] | pd.Series, fmt: str = ".2f", scale: float = 1.0, unit: str = "") -> str:
    """``"m ± s"`` of the finite values (``"m"`` for one value, ``"n/a"`` for none), times ``scale``."""
    v = np.asarray(values, dtype=float) * scale
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "n/a"
    text = f"{v.mean():{fmt}}" if v.size == 1 else f"{v.mean():{fmt}} ± {v.std(ddof=1):{fmt}}"
    return text + unit


def _order(table: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(table["step"]))
    return [s for s in (*BASELINES, *blog.STEPS) if s in present] + [
        s for s in present if s not in BASELINES + blog.STEPS
    ]


def _in_order(out: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a (horizon, step)-indexed frame by horizon, then baselines before steps (:func:`_order`)."""
    order = _order(table)
    key = out.index.get_level_values("step").map(order.index)
    return out.iloc[np.lexsort((key, out.index.get_level_values("horizon")))]


def scores(table: pd.DataFrame, metrics: Sequence[str] = _METRICS) -> pd.DataFrame:
    """Mean and sd over seeds of ``metrics`` per (horizon, step), baselines first (their sd is NaN)."""
    out = table.groupby(["horizon", "step"])[list(metrics)].agg(["mean", "std"])
    out["seeds"] = table.groupby(["horizon", "step"]).size()
    return _in_order(out, table)


def against_naive(table: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Each model against the naive forecast, per (horizon, step).

    Columns: ``mae`` (mean over seeds), ``naive mae``, ``mae / naive`` (below 1: more accurate than naive),
    ``dm stat`` (mean Diebold–Mariano statistic; positive when the model's squared errors are larger, i.e.
    worse than naive), ``dm p (median)`` over seeds, ``runs``,
    ``share p<alpha``, ``share worse`` and ``share better`` (seeds significantly worse /
    better than naive at level ``alpha``), and ``beats naive`` (mean MAE below the naive MAE).
    """
    t = table[table["step"] != "naive"].copy()
    naive = table[table["step"] == "naive"].groupby("horizon")["mae"].first()
    sig = t["dm_p"] < alpha
    t = t.assign(sig=sig, worse=sig & (t["dm_stat"] > 0), better=sig & (t["dm_stat"] < 0))
    g = t.groupby(["horizon", "step"])
    out = pd.DataFrame(
        {
            "mae": g["mae"].mean(),
            "dm stat": g["dm_stat"].mean(),
            "dm p (median)": g["dm_p"].agg(median_p),
            "runs": g.size(),
            f"share p<{alpha:g}": g["sig"].mean(),
            "share worse": g["worse"].mean(),
            "share better": g["better"].mean(),
        }
    )
    out.insert(1, "naive mae", out.index.get_level_values("horizon").map(naive).to_numpy())
    out.insert(2, "mae / naive", out["mae"] / out["naive mae"])
    out["beats naive"] = out["mae"] < out["naive mae"]
    return _in_order(out, table)


# --------------------------------------------------------------------------------------------------
# our figure for each claim


def _rows(table: pd.DataFrame, step: str, horizon: int) -> pd.DataFrame:
    return table[(table["step"] == step) & (table["horizon"] == horizon)]


def settle_epoch(history: pd.DataFrame) -> int:
    """First epoch whose validation loss is within 10 % of its best (the "converges at epoch" figure)."""
    best = history["val_loss"].min()
    return int(history.loc[history["val_loss"] <= 1.1 * best, "epoch"].iloc[0])


#: How :func:`combine` names the setting of a verdict, from the prefix of its key: where it was measured,
#: and the short name its figure goes by.
_SETTINGS = {
    "memory_": ("on the adding problem (chapter 5)", "adding problem"),
    "depth_": ("on gold, by depth (chapter 4)", "gold, by depth"),
}
_GOLD = ("on gold prices", "gold")


def _setting(v: Verdict) -> tuple[str, str]:
    return next((names for prefix, names in _SETTINGS.items() if v.key.startswith(prefix)), _GOLD)


def combine(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """One verdict per claim: verdicts of one registered claim decided in several settings (see
    ``SAME_CLAIM``) become one, with the registry's text. It keeps the settings' common verdict when they
    agree, ignoring settings that could not test it, or not at a sufficient budget; where they disagree it
    is ``MIXED``. The reason names each setting's verdict and the measurement names its figure; each
    setting's own reasoning is on the page that measures it (kept short so the sentence reads as one).
    Other verdicts pass through in order."""
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(SAME_CLAIM.get(v.key, v.key), []).append(v)
    out = []
    for key, parts in groups.items():
        if len(parts) == 1 and parts[0].key == key:
            out.append(parts[0])
            continue
        tested = [v for v in parts if v.verdict not in (NOT_TESTABLE, UNDEFINED, BUDGET)] or parts
        found = {v.verdict for v in tested}
        verdict = found.pop() if len(found) == 1 else MIXED
        reason = ", ".join(f"{v.verdict} {_setting(v)[0]}" for v in parts)
        measured = "; ".join(f"{_setting(v)[1]}: {v.measured}" for v in parts)
        values = {f"{v.key}.{k}": x for v in parts for k, x in v.values.items()}
        out.append(verdict_for(key, measured, verdict, reason, **values))
    return out


def _horizon(table: pd.DataFrame, horizon: int | None) -> int:
    """``horizon``, else the blog's (:data:`goldlab.blog.HORIZON`) when the table has it, else its longest."""
    hs = sorted(int(h) for h in table["horizon"].dropna().unique())
    return horizon if horizon is not None else (blog.HORIZON if blog.HORIZON in hs else hs[-1])


def _mean(table: pd.DataFrame, step: str, h: int, col: str) -> float:
    v = _rows(table[table["seed"] >= 0], step, h)[col]
    return float(v.mean()) if len(v) else np.nan


def _lstm_grads(table: pd.DataFrame, step: str, h: int) -> pd.DataFrame:
    """Per-seed gradient norms of each LSTM after training (columns ``grad_lstm_<i>``)."""
    rows = _rows(table[table["seed"] >= 0], step, h)
    return rows[sorted(c for c in rows.columns if c.startswith("grad_lstm_"))].dropna(axis=1, how="all")


@decides("mae")
def mae_headline(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """The blog's headline MAE drop, baseline → final model, beside the naive forecast's MAE."""
    h = _horizon(table, horizon)
    base, final = _mean(table, "baseline", h, "mae"), _mean(table, FINAL_STEP, h, "mae")
    naive = float(_rows(table, "naive", h)["mae"].iloc[0])
    drop = 1 - final / base
    needed = threshold("mae")
    verdict = decide(drop, needed, SUPPORTED, NOT_REPRODUCED)
    reason = (
        f"the mean test MAE changes by {-drop:+.0%}, {'at least' if drop >= needed else 'less than'} "
        f"the {needed:.0%} drop taken to reproduce it; the naive forecast's MAE is {naive:.2f} USD"
    )
    measured = f"{base:.2f} → {final:.2f} USD (h={h}, mean over seeds)"
    return verdict_for("mae", measured, verdict, reason, baseline=base, final=final, naive=naive, drop=drop)


@decides("accuracy")
def accuracy(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """ "Accuracy" of a price regression: undefined; the directional accuracy and MASE stand beside it."""
    h = _horizon(table, horizon)
    da = {s: _mean(table, s, h, "directional_accuracy") for s in ("baseline", FINAL_STEP)}
    mase = {s: _mean(table, s, h, "mase") for s in ("baseline", FINAL_STEP)}
    measured = (
        f"directional accuracy {da['baseline']:.0%} → {da[FINAL_STEP]:.0%}; "
        f"MASE {mase['baseline']:.2f} → {mase[FINAL_STEP]:.2f} (h={h})"
    )
    reason = "a forecast of a price has errors, not a hit rate, and the blog defines no threshold"
    return verdict_for("accuracy", measured, UNDEFINED, reason, **{f"da_{k}": v for k, v in da.items()})


@decides("grad_layer3")
def grad_layer3(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """The baseline's layer-3 gradient after training against the blog's 3e-06 and its 1e-5 warning."""
    h = _horizon(table, horizon)
    g = _lstm_grads(table, "baseline", h)["grad_lstm_3"]
    lo, vanish, layer3 = float(g.min()), threshold("grad_layer3"), figure("grad_layer3", "layer3")
    verdict = decide(lo, vanish, REFUTED, SUPPORTED)
    reason = (
        f"the smallest over seeds is {lo / layer3:,.0f} times the blog's figure and "
        f"{'above' if lo >= vanish else 'below'} its own warning level {vanish:g}"
    )
    measured = f"{lo:.2g} to {g.max():.2g} (lstm_3 after training, h={h}, every seed)"
    return verdict_for("grad_layer3", measured, verdict, reason, smallest=lo, ratio=lo / layer3)


@decides("depth_fall")
def depth_fall(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """Whether the LSTM gradients fall with depth: the largest first-to-deepest ratio over seeds."""
    h = _horizon(table, horizon)
    g = _lstm_grads(table, "baseline", h)
    ratio = float((g.iloc[:, 0] / g.iloc[:, -1]).max())
    factor = threshold("depth_fall")
    verdict = decide(ratio, factor, SUPPORTED, REFUTED)
    reason = (
        f"the first LSTM's gradient is at most {ratio:.2g} times the deepest one's, "
        f"{'at least' if ratio >= factor else 'under'} the factor {factor:g} a fall would need"
    )
    measured = f"lstm_1 / lstm_3 gradient ratio up to {ratio:.2g} (baseline, after training, h={h})"
    return verdict_for("depth_fall", measured, verdict, reason, ratio=ratio)


@decides("blog_monitor")
def blog_monitor(model) -> Verdict:
    """The blog's callback looks for ``layer.kernel``: which layers of ``model`` would it report?"""
    seen = [layer.name for layer in model.layers if hasattr(layer, "kernel")]
    recurrent = [layer.name for layer in model.layers if hasattr(layer, "cell")]
    missed = [name for name in recurrent if name not in seen]
    verdict = REFUTED if missed else SUPPORTED
    reason = (
        f"it reports {', '.join(seen) or 'no layer'} and misses {len(missed)} of {len(recurrent)} recurrent "
        "layers; what it prints is a weight norm, not a gradient"
    )
    return verdict_for("blog_monitor", f"reports: {', '.join(seen)}", verdict, reason, missed=len(missed))


@decides("clip_prevents")
def clip_prevents(counts: pd.DataFrame, clipnorm: float = 1.0) -> Verdict:
    """Share of the training updates that ``clipnorm`` changed, counted inside the optimizer while it
    trained (:func:`goldlab.clipping.clip_shares` of :func:`goldlab.clipping.counting`: columns
    ``variable``, ``steps``, ``clipped``, one row per variable and seed, plus ``global`` rows for the whole
    gradient, left out here since ``clipnorm`` judges each variable on its own).

    Clipping only ever scales a gradient down, so it cannot lift a vanishing one; where it is also idle
    during training, it prevents nothing.
    """
    per_variable = counts[counts["variable"] != "global"]
    steps = int(per_variable["steps"].sum())
    share = float(per_variable["clipped"].sum() / steps) if steps else float("nan")
    idle = threshold("clip_prevents")
    verdict = decide(share, idle, NOT_REPRODUCED, REFUTED)
    reason = (
        f"clipping only shrinks a gradient; idle means under {idle:.0%} of {steps:,} variable updates "
        "clipped, counted in the optimizer"
    )
    measured = f"{share:.1%} of training updates clipped at clipnorm={clipnorm:g}"
    return verdict_for("clip_prevents", measured, verdict, reason, share=share)


@decides("loss_flattening")
def loss_flattening(history: pd.DataFrame) -> Verdict:
    """Does the baseline's training loss flatten after 3 epochs? ``history``: step, seed, epoch, loss."""
    base = history[history["step"] == "baseline"].groupby("epoch")["loss"].mean()
    after = figure("loss_flattening", "epoch")
    fall = (
        float(1 - base.iloc[-1] / base.loc[after])
        if after in base.index and base.index.max() > after
        else np.nan
    )
    flat = threshold("loss_flattening")
    verdict = decide(fall, flat, REFUTED, SUPPORTED)
    reason = (
        f"without clipping the mean training loss falls by {fall:.0%} from epoch {after} to epoch "
        f"{base.index.max()}"
        f" (flat would be under {flat:.0%})"
        if np.isfinite(fall)
        else "the runs have no epoch after the third"
    )
    measured = (
        f"runs of {after} epochs"
        if not np.isfinite(fall)
        else f"baseline loss {-fall:+.0%} after epoch {after}"
    )
    return verdict_for("loss_flattening", measured, verdict, reason, fall=fall)


@decides("lr_divergence")
def lr_divergence(nan_losses: dict[str, bool]) -> Verdict:
    """The blog's NaN losses at learning rate 0.01: ``nan_losses`` maps each run's name to a NaN flag."""
    nans = [name for name, nan in nan_losses.items() if nan]
    verdict = SUPPORTED if nans else NOT_REPRODUCED
    reason = f"{len(nans)} of {len(nan_losses)} runs at learning rate 0.01 reached a NaN loss"
    return verdict_for("lr_divergence", f"NaN in {len(nans)} of {len(nan_losses)} runs", verdict, reason)


@decides("orth_floor")
def orth_floor(table: pd.DataFrame) -> Verdict:
    """Smallest LSTM gradient after training, with step 3 (orthogonal) and without (clipnorm)."""
    lows = {s: float(table.loc[table["step"] == s, _grad_cols(table)].min().min()) for s in _PAIR3}
    with_, without, floor = lows["orthogonal"], lows["clipnorm"], threshold("orth_floor")
    if with_ < floor:
        verdict = REFUTED
    else:
        verdict = decide(without, floor, NOT_REPRODUCED, SUPPORTED)
    stays = f"the smallest LSTM gradient stays above the blog's floor, {floor:g},"
    reason = {
        REFUTED: f"with orthogonal initialisation the smallest LSTM gradient falls below {floor:g}",
        NOT_REPRODUCED: f"{stays} without orthogonal initialisation too, so it is not orthogonal's doing",
        SUPPORTED: f"{stays} only with orthogonal initialisation",
    }[verdict]
    return verdict_for("orth_floor", f"{with_:.2g} with, {without:.2g} without", verdict, reason, **lows)


_PAIR3 = ("clipnorm", "orthogonal")


def _grad_cols(table: pd.DataFrame) -> list[str]:
    return sorted(c for c in table.columns if c.startswith("grad_lstm_"))


@decides("orth_doubled")
def orth_doubled(gradients: pd.DataFrame) -> Verdict:
    """Orthogonal / clipnorm gradient norm of each LSTM at initialisation (mean over seeds and horizons).

    ``gradients``: monitor records of both steps (columns step, epoch, layer, weight, norm).
    """
    g = gradients[(gradients["epoch"] == 0) & (gradients["weight"] == "total")]
    g = g[g["layer"].str.startswith("lstm")]
    m = g.pivot_table(index="layer", columns="step", values="norm", aggfunc="mean")
    ratio = m["orthogonal"] / m["clipnorm"]
    lo, hi = float(ratio.min()), float(ratio.max())
    doubled = threshold("orth_doubled")
    verdict = decide(hi, doubled, SUPPORTED, NOT_REPRODUCED)
    reason = (
        f"doubling needs ×{doubled:g} or more in some LSTM: its gradient norm at initialisation, orthogonal "
        "over Glorot"
    )
    return verdict_for(
        "orth_doubled", f"×{lo:.2f} to ×{hi:.2f} across LSTMs", verdict, reason, low=lo, high=hi
    )


def _effect(table: pd.DataFrame, a: str, b: str, h: int) -> tuple[PairedResult, float]:
    """Test MAE of step ``b`` minus step ``a`` paired over seeds (same seed, same data), and the larger sd
    over seeds of the two steps' MAE (what the paired test removes)."""
    ma = _rows(table, a, h).set_index("seed")["mae"]
    mb = _rows(table, b, h).set_index("seed")["mae"]
    both = pd.concat({a: ma, b: mb}, axis=1).dropna()
    sd = float(max(ma.std(ddof=1), mb.std(ddof=1)))
    return paired_difference(both[a], both[b]), sd


@decides("orth_vs_arch")
def orth_vs_arch(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """Does step 3 (initialisation) lower the MAE, paired over seeds, and by more than step 4 (architecture)
    changes it?"""
    h = _horizon(table, horizon)
    (r3, sd3), (r4, sd4) = (
        _effect(table, "clipnorm", "orthogonal", h),
        _effect(table, "orthogonal", FINAL_STEP, h),
    )
    real3 = r3.p_value < ALPHA and r3.mean < 0
    verdict = SUPPORTED if real3 and abs(r3.mean) > abs(r4.mean) else NOT_REPRODUCED
    reason = (
        f"the claim needs a fall at step 3 significant at {ALPHA:g} and larger than step 4's change; "
        f"paired t-test over {plural(r3.n, 'seed')}: p = {r3.p_value:.2g} (step 3), {r4.p_value:.2g} (step 4)"
    )
    measured = f"MAE {r3.mean:+.2f} USD at step 3 (init), {r4.mean:+.2f} USD at step 4 (architecture), h={h}"
    values = {"init": r3.mean, "arch": r4.mean, "p_init": r3.p_value, "p_arch": r4.p_value}
    return verdict_for("orth_vs_arch", measured, verdict, reason, sd_init=sd3, sd_arch=sd4, **values)


@decides("residual_convergence")
def residual_convergence(history: pd.DataFrame) -> Verdict:
    """Median epoch at which the validation loss settles (:func:`settle_epoch`), orthogonal vs residual."""
    settle = history.groupby(["step", "seed"])[["epoch", "val_loss"]].apply(settle_epoch)
    med = settle.groupby("step").median()
    before, after = float(med["orthogonal"]), float(med[FINAL_STEP])
    epochs = int(history["epoch"].max())
    gain = (before - after) / epochs
    sooner = threshold("residual_convergence")
    verdict = decide(gain, sooner, SUPPORTED, NOT_REPRODUCED)
    reason = f"sooner means by at least {sooner:.0%} of the {epochs} epochs (median over seeds)"
    measured = f"the validation loss settles at epoch {after:g} with skips, {before:g} without"
    return verdict_for("residual_convergence", measured, verdict, reason, gain=gain)


@decides("residual_widths")
def residual_widths() -> Verdict:
    """Keras ``Add()`` on a 128- and a 64-wide sequence: does it refuse, as the blog says?"""
    import keras

    a, b = keras.Input((60, 128)), keras.Input((60, 64))
    try:
        keras.layers.Add()([a, b])
        failed, message = False, "it accepts them"
    except ValueError as err:
        failed, message = True, str(err).splitlines()[0][:80]
    verdict = SUPPORTED if failed else REFUTED
    reason = f"Keras's Add() on widths 128 and 64 {'raises' if failed else 'does not raise'}: {message}"
    return verdict_for("residual_widths", "Add() raises" if failed else "Add() accepts", verdict, reason)


@decides("more_layers")
def more_layers(table: pd.DataFrame, horizon: int | None = None) -> Verdict:
    """Is vanishing across depth worse with four LSTMs (step 4) than with three (baseline)?"""
    h = _horizon(table, horizon)
    spread = {}
    for step in ("baseline", FINAL_STEP):
        g = _lstm_grads(table, step, h)
        spread[step] = float((g.max(axis=1) / g.min(axis=1)).max())
    factor = threshold("depth_fall")
    worse = spread[FINAL_STEP] >= factor and spread[FINAL_STEP] > spread["baseline"]
    verdict = SUPPORTED if worse else REFUTED
    reason = (
        f"worse means the largest over the smallest LSTM gradient reaches ×{factor:g} with four LSTMs "
        "and exceeds that with three"
    )
    measured = f"×{spread['baseline']:.1f} with three LSTMs, ×{spread[FINAL_STEP]:.1f} with four (h={h})"
    return verdict_for("more_layers", measured, verdict, reason, **spread)


def _speed_device(rows: pd.DataFrame, device: str | None) -> tuple[pd.DataFrame, str]:
    """The rows of one machine: ``device``'s, by default a GPU's (the blog timed one), else the CPU's.

    Of several GPUs, the one the table holds most rows for (the newest on a tie); returns its rows and
    its name as the reason states it.
    """
    if device is None:
        device = "cuda" if (rows["device"] == "cuda").any() else "cpu"
    rows = rows[rows["device"] == device]
    if device != "cuda" or "gpu" not in rows or rows["gpu"].isna().all():
        return rows, "a GPU" if device == "cuda" else "the CPU"
    counts = rows["gpu"].value_counts(sort=False)
    newest = {g: i for i, g in enumerate(rows["gpu"])}  # last row of each GPU
    gpu = max(counts.index, key=lambda g: (counts[g], newest[g]))
    return rows[rows["gpu"] == gpu], str(gpu)


@decides("time_per_epoch")
def time_per_epoch(
    speed: pd.DataFrame, backend: str = "jax", loop: str | None = None, device: str | None = None
) -> Verdict:
    """Residual / baseline seconds per epoch from the speed benchmark (``benchmarks/results.csv``).

    The rows of one machine (``device`` ``"cuda"`` or ``"cpu"``; by default the GPU the table holds most
    rows for, since the blog timed a GPU, else the CPU) and ``backend``, of ``loop`` or by default of
    every training loop timed there; of several rows for one model and loop, the last (newest) counts.
    Reproduced when the largest ratio over those loops is within the claim's threshold of the blog's.
    """
    rows, where = _speed_device(speed[speed["backend"] == backend], device)
    if loop is not None:
        rows = rows[rows["loop"] == loop]
    per = rows.groupby(["loop", "model"], sort=False)["s_per_epoch"].last().unstack("model")
    per = per.dropna(subset=[m for m in ("baseline", "residual") if m in per])
    if not {"baseline", "residual"} <= set(per.columns) or per.empty:
        loops = loop or "/".join(speed["loop"].unique())
        raise ValueError(
            f"the speed benchmark has no Keras-{backend} {loops} rows for both models on {where}"
        )
    ratios = (per["residual"] / per["baseline"]).to_dict()
    ours = max(ratios.values())
    blog = figure("time_per_epoch", "residual") / figure("time_per_epoch", "baseline")
    tolerance = threshold("time_per_epoch")
    verdict = decide(ours / blog, tolerance, NOT_REPRODUCED, SUPPORTED)
    span = ", ".join(f"×{r:.2f} ({lp})" for lp, r in sorted(ratios.items(), key=lambda kv: kv[1]))
    named = where not in ("a GPU", "the CPU")
    which = f"{where}, the GPU with most benchmark rows" if named else where
    reason = (
        f"the residual network's epoch takes {span} the baseline's, against the blog's ×{blog:.2f}; "
        f"reproduced within ×{tolerance:g} of it"
    )
    times = ", ".join(f"{r.baseline:.3g} → {r.residual:.3g} s ({lp})" for lp, r in per.iterrows())
    measured = f"{times}, Keras-{backend} on {which}"
    return verdict_for(
        "time_per_epoch", measured, verdict, reason, ratio=ours, blog_ratio=blog, ratios=ratios
    )


@decides("tutorial_time")
def tutorial_time(
    table: pd.DataFrame, machine: str = "the machine named in these results' MACHINE.md"
) -> Verdict:
    """The whole tutorial's time: machine-dependent; ours is the ablation's time in training epochs.

    The one source of the ablation's time on every page: the sum over runs of seconds per epoch times
    epochs (an epoch of seeds trained together counted once), named with ``machine``, the backend and the
    training loop. It leaves out compilation, probes and validation, which a wall clock adds.
    """
    models = table[table["seed"] >= 0]
    together = models["trained_together"] if "trained_together" in models else 1  # seeds in one program
    minutes = float((models["sec_per_epoch"] * models["epochs"] / together).sum() / 60)
    how = ", ".join(
        before + str(models[col].iloc[0]) + after
        for col, before, after in (("backend", "Keras-", ""), ("loop", "", " loop"))
        if col in models and models[col].notna().any()
    )
    reason = "it depends on the machine more than on the recipe; the blog names no comparable setup"
    measured = f"{minutes:.0f} min of training epochs on {machine}" + (f" ({how})" if how else "")
    return verdict_for("tutorial_time", measured, NOT_TESTABLE, reason, minutes=minutes)


@decides("tensorboard")
def tensorboard() -> Verdict:
    """TensorBoard and ``check_numerics``: tools, not a claim about the model."""
    reason = (
        "it describes tools rather than a measurable effect; "
        "GradientMonitor(log_dir=...) writes such histograms"
    )
    return verdict_for("tensorboard", "see the API page", NOT_TESTABLE, reason)


@decides("mae_clipnorm", "mae_orthogonal", "mae_residual")
def step_mae(table: pd.DataFrame, step: str, horizon: int | None = None) -> Verdict:
    """Does ``step`` change the test MAE of the step before it, paired over seeds (paired t-test)?

    Supported for a significant fall at ``ALPHA``, refuted for a significant rise, else not
    reproduced.
    """
    if step not in blog.STEPS[1:]:
        raise ValueError(f"step must be one of {', '.join(blog.STEPS[1:])}, got {step!r}")
    h = _horizon(table, horizon)
    before = blog.STEPS[blog.STEPS.index(step) - 1]
    r, sd = _effect(table, before, step, h)
    beyond = r.p_value < ALPHA
    verdict = (SUPPORTED if r.mean < 0 else REFUTED) if beyond else NOT_REPRODUCED
    reason = (
        f"the change from {before} is {'' if beyond else 'not '}significant at {ALPHA:g} (paired t-test over "
        f"{plural(r.n, 'seed')}, p = {r.p_value:.2g})"
    )
    values = {"change": r.mean, "sd": sd, "p": r.p_value, "low": r.low, "high": r.high}
    measured = f"test MAE {r.mean:+.2f} USD (95 % interval {r.low:+.2f} to {r.high:+.2f}, h={h})"
    return verdict_for(f"mae_{step}", measured, verdict, reason, **values)


@decides("clip_high_lr")
def clip_high_lr(final_loss: dict[str, float]) -> Verdict:
    """Final training loss at learning rate 0.01, ``{"unclipped": loss, "clipped": loss}`` (NaN: diverged)."""
    free, clipped = float(final_loss["unclipped"]), float(final_loss["clipped"])
    gain = 1 - clipped / free if np.isfinite(free) else (1.0 if np.isfinite(clipped) else np.nan)
    rescue = threshold("clip_high_lr")
    verdict = decide(gain, rescue, SUPPORTED, NOT_REPRODUCED)
    reason = (
        f"at learning rate 0.01 clipnorm=1.0 changes the final training loss by {-gain:+.0%} "
        f"(rescue: a fall of {rescue:.0%} or more)"
    )
    measured = f"training loss {free:.3g} → {clipped:.3g} with clipping"
    return verdict_for("clip_high_lr", measured, verdict, reason, gain=gain)


@decides("time_fade")
def time_fade(through_time: pd.DataFrame) -> Verdict:
    """Where the gradient vanishes: across depth (the blog) or through time (the oldest day's share).

    ``through_time`` is indexed by (horizon, layer) with a ``median`` column: the median over seeds of
    ‖∂L/∂a_1‖ / ‖∂L/∂a_T‖ after training (:func:`goldlab.monitor.time_ratio`). The verdict reads the
    shortest horizon: the blog's diagnosis is refuted where every layer's input keeps under
    the claim's threshold (:data:`goldlab.monitor.TIME_VANISH`) of the gradient for its oldest day.
    """
    short = int(through_time.index.get_level_values("horizon").min())
    shares = through_time.xs(short, level="horizon")["median"]
    top = float(shares.max())
    vanish = threshold("time_fade")
    verdict = decide(top, vanish, NOT_REPRODUCED, REFUTED)
    per_h = "; ".join(
        f"h={h}: " + ", ".join(f"{layer} {v:.2g}" for layer, v in part.droplevel(0)["median"].items())
        for h, part in through_time.groupby(level="horizon")
    )
    reason = (
        f"what vanishes is the gradient through time: at h={short} every LSTM input passes under {vanish:g} "
        "of it to the oldest day"
        if verdict == REFUTED
        else f"at h={short} an LSTM input passes {vanish:g} or more of the gradient to the oldest day"
    )
    return verdict_for(
        "time_fade", f"oldest-day share (median over seeds): {per_h}", verdict, reason, top=top
    )


def table_verdicts(
    table: pd.DataFrame, runs: dict[str, pd.DataFrame], horizon: int | None = None
) -> list[Verdict]:
    """Every verdict the ablation decides.

    ``table`` comes from :func:`~goldlab.lab.experiments.run_ablation`, ``runs`` from
    :func:`~goldlab.lab.experiments.load_runs` over all four steps at one horizon.
    """
    grads = runs["gradients"]
    return [
        mae_headline(table, horizon),
        accuracy(table, horizon),
        grad_layer3(table, horizon),
        depth_fall(table, horizon),
        loss_flattening(runs["history"]),
        orth_floor(table),
        orth_doubled(grads),
        orth_vs_arch(table, horizon),
        residual_convergence(runs["history"]),
        residual_widths(),
        more_layers(table, horizon),
        tutorial_time(table),
        tensorboard(),
    ]


# --------------------------------------------------------------------------------------------------
# Each fix where it works: the book's own findings (not the blog's), declared in CLAIMS with the others.


@decides("sum_over_time")
def sum_over_time(kept: pd.DataFrame, window: int) -> Verdict:
    """Each LSTM's ‖∂L/∂W‖ when the gradient flows back only the claim's recent ``days``, over the whole
    window's.

    ``kept``: columns ``layer``, ``k``, ``share`` (‖∂L/∂W‖ of the last k days over the whole window's,
    :func:`goldlab.bptt.truncated_model`), for LSTM layers and k including those days. A ratio above 1
    is possible: the older days' terms can point against the recent ones.
    """
    days, share = threshold("sum_over_time", "days"), threshold("sum_over_time", "share")
    at = kept[kept["k"] == days].set_index("layer")["share"]
    lo = float(at.min())
    verdict = decide(lo, share, SUPPORTED, REFUTED)
    parts = ", ".join(f"{layer} {v:.0%}" for layer, v in at.items())
    reason = (
        f"nearly all means {share:.0%} or more of every LSTM's whole-window gradient norm from the last "
        f"{days} of {window} days"
    )
    return verdict_for("sum_over_time", f"last {days} days: {parts}", verdict, reason, lowest=lo)


@decides("toy_explode")
def toy_explode(near_linear: np.ndarray, saturated: np.ndarray, gain: float) -> Verdict:
    """The toy chain at one gain above 1, with small inputs (``near_linear``) and unit ones (``saturated``):
    norms ‖∂h_T/∂h_(T−k)‖ for k = 0 … at least the claim's ``steps`` (:func:`goldlab.bptt.jacobian_chain`)."""
    steps, factor = threshold("toy_explode", "steps"), threshold("toy_explode", "factor")
    grown, faded = float(near_linear[steps]), float(saturated[steps])
    verdict = decide(grown, factor, SUPPORTED, REFUTED) if gain > 1 else NOT_TESTABLE
    reason = (
        f"at gain {gain:g} the chain's norm after {steps} steps with small inputs "
        f"{'reaches' if grown >= factor else 'stays under'} the ×{factor:g} of exploding; the bound "
        f"{gain:g}^{steps} is ×{gain**steps:.3g}"
    )
    measured = f"×{grown:.3g} near linear (small inputs), ×{faded:.2g} saturated (unit inputs)"
    return verdict_for("toy_explode", measured, verdict, reason, grown=grown, faded=faded)


@decides("depth_direction")
def depth_direction(lstm_grads: pd.DataFrame) -> Verdict:
    """Which way the blog's depth figures run, beside ours: a gradient vanishing across depth shrinks on its
    way back from the loss, so the layer nearest the loss (the deepest) would get the largest one.

    ``lstm_grads``: columns ``grad_lstm_1`` … ``grad_lstm_n`` (one row per run), ours.
    """
    early, deep = figure("depth_direction", "early"), figure("depth_direction", "deep")
    blog = early / deep  # above 1: it falls towards the loss
    cols = sorted(c for c in lstm_grads.columns if c.startswith("grad_lstm_"))
    ours = lstm_grads[cols[0]] / lstm_grads[cols[-1]]
    verdict = decide(1 / blog, 1.0, SUPPORTED, REFUTED)
    reason = (
        "vanishing across depth gives the deepest layer, nearest the loss, the largest gradient, "
        "so early / deep would be under ×1"
    )
    measured = f"early / deep ×{blog:,.0f} (blog), ×{ours.min():.1f} to ×{ours.max():.1f} (ours, LSTMs)"
    return verdict_for("depth_direction", measured, verdict, reason, blog=blog, ours=float(ours.median()))


@decides("clip_rescue")
def clip_rescue(runs: pd.DataFrame) -> Verdict:
    """``runs`` of :func:`goldlab.clipping.explode_runs` (``clip``, ``seed``, ``diverged``; ``none``: no
    clipping): rescued when every unclipped seed diverges and no clipped one does."""
    free = runs[runs["clip"] == "none"]
    clipped = runs[runs["clip"] != "none"]
    lost, kept = int(free["diverged"].sum()), int((~clipped["diverged"]).sum())
    if lost < len(free):
        verdict = NOT_REPRODUCED  # no explosion to rescue
    else:
        verdict = SUPPORTED if kept == len(clipped) else REFUTED
    reason = (
        f"without clipping {lost} of {len(free)} runs diverge; with it {kept} of {len(clipped)} train to the "
        f"end ({', '.join(dict.fromkeys(clipped['clip']))})"
    )
    measured = f"diverged: {lost}/{len(free)} unclipped, {len(clipped) - kept}/{len(clipped)} clipped"
    return verdict_for("clip_rescue", measured, verdict, reason, lost=lost, kept=kept, clipped=len(clipped))


@decides("clip_counted")
def clip_counted(gold: float, exploding: float) -> Verdict:
    """Share of training updates (per variable, as ``clipnorm`` decides) that clipping changed, counted in
    the optimizer (:mod:`goldlab.clipping`): on gold, against the idle share of ``clip_prevents``; in the
    exploding case, against this claim's "most"."""
    idle_below, most = threshold("clip_prevents"), threshold("clip_counted")
    idle, busy = gold < idle_below, exploding >= most
    verdict = SUPPORTED if idle and busy else REFUTED if not idle and not busy else NOT_REPRODUCED
    reason = (
        f"of the variables' training updates, counted in the optimizer, idle means under {idle_below:.0%} "
        f"and most {most:.0%} or more"
    )
    measured = f"clipnorm=1.0 rescaled {gold:.1%} on gold, {exploding:.0%} in the exploding case"
    return verdict_for("clip_counted", measured, verdict, reason, gold=gold, exploding=exploding)


@decides("gate_orthogonal")
def gate_orthogonal(values: pd.DataFrame) -> Verdict:
    """Per-gate singular values of a Keras ``Orthogonal`` recurrent kernel (from
    :func:`goldlab.bptt.gate_singular_values`, columns gate and value): orthogonal per gate only if they
    all sit near 1."""
    needed, within = threshold("gate_orthogonal", "share"), threshold("gate_orthogonal", "within")
    near = float(((values["value"] - 1).abs() <= within).mean())
    rms = float(np.sqrt((values["value"] ** 2).mean()))
    verdict = decide(near, needed, SUPPORTED, REFUTED)
    lo, hi = float(values["value"].min()), float(values["value"].max())
    reason = (
        f"{near:.0%} of the gates' singular values lie within {100 * within:g} % of 1 ({needed:.0%} would "
        "make each gate orthogonal)"
    )
    measured = f"per-gate singular values {lo:.2g} to {hi:.2f}, RMS {rms:.2f}"
    return verdict_for("gate_orthogonal", measured, verdict, reason, near=near, rms=rms, low=lo, high=hi)


@decides("init_memory")
def init_memory(runs: pd.DataFrame, solved: float) -> Verdict:
    """Share of seeds whose test MSE is below ``solved`` for each init (``runs`` of
    :func:`goldlab.bptt.init_runs`: init, seed, test_mse), the largest minus the smallest against the
    claim's threshold."""
    share = runs.groupby(["init", "seed"])["test_mse"].first().lt(solved).groupby("init").mean()
    spread = float(share.max() - share.min())
    spread_needed = threshold("init_memory")
    verdict = decide(spread, spread_needed, SUPPORTED, NOT_REPRODUCED)
    parts = ", ".join(f"{init} {v:.0%}" for init, v in share.items())
    reason = (
        f"the share of seeds solving the adding problem (test MSE under {solved:.3g}) spreads {spread:.0%} "
        f"between inits (deciding: {spread_needed:.0%} or more; same data, budget and seeds)"
    )
    return verdict_for("init_memory", f"solved: {parts}", verdict, reason, spread=spread, **share.to_dict())
