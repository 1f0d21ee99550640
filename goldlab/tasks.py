"""Synthetic memory tasks: the adding problem, where only a long memory can lower the error.

The adding problem (Hochreiter & Schmidhuber 1997; used again by Le et al. 2015 and Arjovsky et al. 2016) is
a sequence of ``T`` steps with two input channels: a *value* drawn from U(0, 1) and a *marker* that is 1 at
exactly two steps, one in each half of the sequence, and 0 elsewhere. The target is the sum of the two marked
values. A network that remembers nothing better than the target's mean scores the variance of a sum of two
independent U(0, 1) values, 2 × 1/12 = 1/6 (:data:`MEAN_PREDICTOR_MSE`); to do better it must carry the first
marked value across at least ``T / 2`` steps, so the gradient has to flow back that far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MEAN_PREDICTOR_MSE",
    "SOLVED_FRACTION",
    "AddingProblem",
    "adding_problem",
    "adding_splits",
    "solved_mse",
]

#: The MSE of always predicting the target's mean, Var(U1 + U2) = 2 × 1/12 for independent U(0, 1) values.
MEAN_PREDICTOR_MSE: float = 2.0 / 12.0
#: "Solved" means a test MSE below this fraction of :data:`MEAN_PREDICTOR_MSE`.
SOLVED_FRACTION: float = 0.1


def solved_mse(fraction: float = SOLVED_FRACTION) -> float:
    """The MSE below which the adding problem counts as solved: ``fraction`` × the mean predictor's MSE."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    return fraction * MEAN_PREDICTOR_MSE


@dataclass(frozen=True)
class AddingProblem:
    """One sample of the adding problem: ``x`` (n, T, 2) float32 [value, marker], ``y`` (n, 1) float32,
    and ``marks`` (n, 2), the two marked steps (0-based; the first in ``[0, T//2)``, the second in
    ``[T//2, T)``)."""

    x: np.ndarray
    y: np.ndarray
    marks: np.ndarray

    @property
    def length(self) -> int:
        return int(self.x.shape[1])


def adding_problem(n: int, length: int, seed: int | np.random.Generator = 0) -> AddingProblem:
    """``n`` sequences of the adding problem of length ``length``, drawn from ``seed`` (reproducible).

    The first marker falls uniformly in the first half, the second uniformly in the second half, so every
    sequence needs a memory of at least one step and on average of about ``length / 2``.
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length must be an integer >= 2 (one marker in each half), got {length!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer number of sequences, got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=(n, length))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return AddingProblem(x=x, y=target[:, None].astype(np.float32), marks=np.stack([first, second], axis=1))


def adding_splits(n_train: int, length: int) -> tuple[AddingProblem, AddingProblem, AddingProblem]:
    """Training, validation and test sets of the adding problem for the chapters' small experiments:
    ``n_train`` sequences, and a quarter as many (at least 64) for each of the other two, from fixed seeds
    (1, 2, 3), so every model of an experiment sees the same data."""
    held_out = max(n_train // 4, 64)
    return (
        adding_problem(n_train, length, seed=1),
        adding_problem(held_out, length, seed=2),
        adding_problem(held_out, length, seed=3),
    )
