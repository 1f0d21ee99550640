"""The blog's recipe and figures, declared once: every module and page that needs one imports it from here.

The blog ("Fix Vanishing Gradients in LSTM Gold Models", for TensorFlow 2.15) trains a 3-layer LSTM on 60-day
windows of 5 features over 1,247 daily gold prices, split 80/20, with 5 seeds and 50 epochs, and applies four
cumulative steps. This module holds only constants (it imports nothing), so the command line can read the
steps for ``--help`` without loading Keras. The blog's claims, with their thresholds and decisions, are in
:mod:`goldlab.lab.claims`.
"""

from __future__ import annotations

__all__ = ["DAYS", "HORIZON", "STEPS", "TEST_FRACTION", "VANISH", "WINDOW"]

#: The blog's four cumulative steps, which are the baseline, then + ``clipnorm=1.0``, + orthogonal
#: kernels, + residual ``Add()`` between wider LSTMs.
STEPS: tuple[str, ...] = ("baseline", "clipnorm", "orthogonal", "residual")
#: The blog's forecast horizon in trading days ("30-day-forward").
HORIZON = 30
#: Days of the blog's window.
WINDOW = 60
#: Days in the blog's sample ("5 years of daily gold prices, 1,247 samples").
DAYS = 1247
#: The test share of the blog's 80/20 split.
TEST_FRACTION = 0.2
#: The gradient-norm level below which the blog's monitor warns of vanishing ("< 1e-5").
VANISH = 1e-5
