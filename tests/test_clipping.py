"""goldlab.clipping: clipping counted inside the optimizer, checked against a hand computation."""

import keras
import numpy as np
import pytest

from goldlab import clipping


def _apply(clip: dict, grads: list[list[list[float]]], threshold: float | None = None):
    """Apply each step's gradients (two variables) with a counting SGD; return its shares."""
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.zeros(3))]
    opt = clipping.counting(keras.optimizers.SGD(learning_rate=0.1, **clip), threshold)
    for step in grads:
        opt.apply([keras.ops.convert_to_tensor(np.asarray(g, "float32")) for g in step], variables)
    return clipping.clip_shares(opt), variables


STEPS = [
    [[3.0, 4.0], [0.0, 0.0, 0.5]],  # norms 5 and 0.5, whole 5.02
    [[0.3, 0.4], [0.0, 0.6, 0.8]],  # norms 0.5 and 1.0 (not above), whole 1.12
    [[0.1, 0.1], [2.0, 0.0, 0.0]],  # norms 0.14 and 2, whole 2.005
    [[0.1, 0.0], [0.1, 0.0, 0.0]],  # nothing above 1
]


def _hand(threshold: float):
    norms = np.array([[np.linalg.norm(g) for g in step] for step in STEPS])
    whole = np.sqrt((norms**2).sum(axis=1))
    return (norms > threshold).mean(axis=0), (whole > threshold).mean(), whole.max()


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}, {"clipnorm": 0.4}])
def test_counts_match_a_hand_computation(clip):
    shares, _ = _apply(clip, STEPS)
    per_variable, whole, largest = _hand(next(iter(clip.values())))
    np.testing.assert_allclose(shares["share"].iloc[:2], per_variable)
    assert shares["share"].iloc[-1] == pytest.approx(whole)
    assert list(shares["variable"])[-1] == "global" and (shares["steps"] == 4).all()
    assert shares.attrs["largest_norm"] == pytest.approx(largest, rel=1e-6)


def test_an_unclipped_optimizer_counts_what_a_threshold_would_change():
    shares, _ = _apply({}, STEPS, threshold=1.0)
    per_variable, whole, _ = _hand(1.0)
    np.testing.assert_allclose(shares["share"], [*per_variable, whole])


def test_counting_keeps_the_clipping_it_counts():
    _, counted = _apply({"clipnorm": 1.0}, STEPS)
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.zeros(3))]
    opt = keras.optimizers.SGD(learning_rate=0.1, clipnorm=1.0)
    for step in STEPS:
        opt.apply([keras.ops.convert_to_tensor(np.asarray(g, "float32")) for g in step], variables)
    for a, b in zip(counted, variables, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6)


def test_counts_inside_fit_against_the_hand_gradient():
    """lr 0: the weights never move, so every full-batch step has the same gradient, computed by hand."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[3.0], [-2.0], [1.0]])).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    opt = clipping.counting(keras.optimizers.SGD(learning_rate=0.0, clipnorm=1.0))
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    w, b = (keras.ops.convert_to_numpy(v) for v in model.trainable_variables)
    r = x @ w + b - y
    hand = [np.linalg.norm(2 * x.T @ r / len(x)), np.linalg.norm(2 * r.mean(0))]
    shares = clipping.clip_shares(opt)
    assert (shares["steps"] == 3).all()
    np.testing.assert_array_equal(shares["share"].iloc[:2], [float(n > 1.0) for n in hand])
    assert shares.attrs["largest_norm"] == pytest.approx(np.hypot(*hand), rel=1e-4)


def test_refuses_what_it_cannot_count():
    with pytest.raises(ValueError, match="clipvalue"):
        clipping.counting(keras.optimizers.SGD(clipvalue=1.0))
    with pytest.raises(ValueError, match="nothing to count against"):
        clipping.counting(keras.optimizers.SGD())
    with pytest.raises(TypeError, match="Optimizer"):
        clipping.counting("adam")
    with pytest.raises(ValueError, match="counts nothing"):
        clipping.clip_shares(keras.optimizers.SGD())


def test_explode_runs_table():
    runs, curves = clipping.explode_runs({"none": {}, "global": {"global_clipnorm": 1.0}}, [0], 6, 1, 64)
    assert list(runs["clip"]) == ["none", "global"] and set(curves["clip"]) == {"none", "global"}
    assert runs["share_global"].between(0, 1).all() and (runs["largest_norm"] > 0).all()


def test_clip_runs_figure_counts_the_diverged():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from goldlab import plots

    curves = pd.DataFrame(
        {"clip": ["none", "clip", "clip"], "seed": 0, "epoch": [1, 1, 2], "loss": [np.inf, 3, 1]}
    )
    runs = pd.DataFrame({"clip": ["none", "clip"], "diverged": [True, False]})
    labels = [t.get_text() for t in plots.clip_runs(curves, runs).get_legend().get_texts()]
    assert labels == ["none: 1 of 1 runs diverged", "clip: 0 of 1 runs diverged"]
