"""Tests for goldlab.tasks: the adding problem's layout, target, baseline error and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from goldlab.tasks import MEAN_PREDICTOR_MSE, SOLVED_FRACTION, adding_problem, solved_mse


def test_mean_predictor_mse_is_the_variance_of_a_sum_of_two_uniforms():
    assert MEAN_PREDICTOR_MSE == pytest.approx(1 / 6)
    task = adding_problem(200_000, 10, seed=1)
    y = task.y[:, 0].astype(np.float64)
    # predicting the true mean (1.0) scores Var(U1 + U2); the sample agrees within its standard error
    assert np.mean((y - 1.0) ** 2) == pytest.approx(MEAN_PREDICTOR_MSE, abs=0.003)
    assert y.mean() == pytest.approx(1.0, abs=0.005)


@pytest.mark.parametrize("length", [2, 3, 50, 101])
def test_marker_layout_and_target(length):
    task = adding_problem(500, length, seed=3)
    assert task.x.shape == (500, length, 2) and task.x.dtype == np.float32
    assert task.y.shape == (500, 1) and task.length == length
    values, markers = task.x[..., 0], task.x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers.sum(axis=1) == 2).all()
    half = length // 2
    assert (markers[:, :half].sum(axis=1) == 1).all(), "one marker in the first half"
    assert (markers[:, half:].sum(axis=1) == 1).all(), "one marker in the second half"
    first, second = task.marks[:, 0], task.marks[:, 1]
    rows = np.arange(500)
    assert (markers[rows, first] == 1).all() and (markers[rows, second] == 1).all()
    np.testing.assert_allclose(task.y[:, 0], values[rows, first] + values[rows, second], rtol=1e-6)
    assert ((values >= 0) & (values < 1)).all()


def test_markers_cover_each_half():
    """Both markers range over their whole half (the task needs memories up to T - 1 steps)."""
    task = adding_problem(5000, 20, seed=0)
    assert set(task.marks[:, 0]) == set(range(10))
    assert set(task.marks[:, 1]) == set(range(10, 20))


def test_seeded_and_reproducible():
    a, b, c = adding_problem(64, 30, seed=7), adding_problem(64, 30, seed=7), adding_problem(64, 30, seed=8)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(adding_problem(8, 12, seed=g1).x, adding_problem(8, 12, seed=g2).x)


@pytest.mark.parametrize("length", [1, 0, -5, 2.5, "50", True, None])
def test_bad_length_is_a_clear_error(length):
    with pytest.raises(ValueError, match="length must be an integer >= 2"):
        adding_problem(10, length)


@pytest.mark.parametrize("n", [0, -1, 3.0])
def test_bad_count_is_a_clear_error(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        adding_problem(n, 10)


def test_solved_threshold():
    assert solved_mse() == pytest.approx(SOLVED_FRACTION / 6)
    assert solved_mse(0.5) == pytest.approx(1 / 12)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="fraction must be in"):
            solved_mse(bad)
