"""goldlab.bptt: the chain of Jacobians of a toy recurrent cell."""

import numpy as np
import pytest

from goldlab import bptt


@pytest.mark.parametrize("gain", [0.8, 1.0, 1.2])
def test_linear_cell_is_exactly_geometric(gain):
    norms = bptt.jacobian_chain(gain, 20, cell="linear")
    np.testing.assert_allclose(norms, gain ** np.arange(21), rtol=1e-9)


def test_tanh_cell_stays_under_its_bound_and_vanishes():
    norms = bptt.jacobian_chain(1.0, 60, cell="tanh")
    assert norms[0] == 1.0 and len(norms) == 61
    assert np.all(norms <= 1.0 + 1e-12)
    assert np.all(np.diff(norms) <= 1e-12), "a product of contractions never grows"
    assert norms[-1] < 1e-3 * norms[1], "saturating tanh: the gradient fades through 60 steps"


def test_small_inputs_keep_tanh_near_linear():
    near = bptt.jacobian_chain(1.0, 30, input_scale=0.01)
    far = bptt.jacobian_chain(1.0, 30, input_scale=1.0)
    assert near[-1] > 100 * far[-1]


def test_seeded_and_checked():
    np.testing.assert_array_equal(bptt.jacobian_chain(0.9, 10, seed=3), bptt.jacobian_chain(0.9, 10, seed=3))
    with pytest.raises(ValueError, match="cell must be"):
        bptt.jacobian_chain(1.0, 5, cell="relu")
    with pytest.raises(ValueError, match="gain > 0"):
        bptt.jacobian_chain(0.0, 5)


def test_small_inputs_show_the_exploding_regime_under_its_bound():
    grows = bptt.jacobian_chain(1.1, 60, input_scale=0.01)
    fades = bptt.jacobian_chain(1.1, 60, input_scale=1.0)
    assert grows[-1] > 10 and fades[-1] < 1e-3, "gain 1.1: explodes near-linear, vanishes saturated"
    assert np.all(grows <= 1.1 ** np.arange(61) * (1 + 1e-9)), "gain^k bounds it, it does not fix it"


def test_gate_singular_values_of_a_whole_orthogonal_kernel():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((4 * 16, 4 * 16)))
    whole = q[:16]  # 16 x 64 with orthonormal rows, as Keras's Orthogonal makes the recurrent kernel
    sv = bptt.gate_singular_values(whole)
    assert list(sv["gate"].unique()) == list(bptt.GATES) and len(sv) == 4 * 16
    np.testing.assert_allclose(np.linalg.svd(whole, compute_uv=False), 1.0, atol=1e-9)
    assert sv["value"].max() < 1.0 + 1e-9 and sv["value"].min() < 0.5, "each block shrinks"
    per_gate = np.hstack([np.linalg.qr(rng.standard_normal((16, 16)))[0] for _ in range(4)])
    np.testing.assert_allclose(bptt.gate_singular_values(per_gate)["value"], 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="units x 4"):
        bptt.gate_singular_values(np.ones((16, 60)))


def _linear_rnn(steps: int = 8, units: int = 3):
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((steps, 2)),
            keras.layers.SimpleRNN(units, activation="linear", use_bias=False, name="rnn"),
            keras.layers.Dense(1, use_bias=False, name="dense"),
        ]
    )
    model.compile(loss="mse")
    return model


def _hand_truncated_grad(model, x, y, k):
    """∂L/∂U kept to the last k steps, by hand, for h_t = U x_t + W h_{t-1}, L = mean((v·h_T − y)²)."""
    u, w, v = (np.asarray(a, dtype=float) for a in model.get_weights())  # keras: x @ U, h @ W
    n, steps, _ = x.shape
    hs = [np.zeros((n, w.shape[0]))]
    for t in range(steps):
        hs.append(x[:, t] @ u + hs[-1] @ w)
    delta = 2 * (hs[-1] @ v - y) / n @ v.T  # ∂L/∂h_T, one row per sequence
    grad = np.zeros_like(u)
    for t in range(steps - 1, steps - 1 - k, -1):
        grad += x[:, t].T @ delta
        delta = delta @ w.T
    return grad


@pytest.mark.parametrize("k", [1, 3, 8])
def test_truncated_model_keeps_the_last_k_terms_of_the_sum(k):
    from goldlab import monitor

    model = _linear_rnn()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 8, 2)).astype("float32"), rng.standard_normal((5, 1)).astype("float32")
    twin = bptt.truncated_model(model, k)
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    norms = monitor.gradient_norms(twin, x, y).set_index(["layer", "weight"])["norm"]
    expected = np.linalg.norm(_hand_truncated_grad(model, x.astype(float), y.astype(float), k))
    assert norms[("rnn", "kernel")] == pytest.approx(expected, rel=1e-4)


def test_truncated_model_refuses_what_it_cannot_cut():
    import keras

    with pytest.raises(ValueError, match="between 1 and the window length 8"):
        bptt.truncated_model(_linear_rnn(), 9)
    inputs = keras.Input((8, 2))
    skip = keras.Model(inputs, keras.layers.Add()([inputs, inputs]))
    with pytest.raises(ValueError, match="only chains"):
        bptt.truncated_model(skip, 2)


def test_simple_rnn_inits():
    model = bptt.simple_rnn("identity", 10, units=4, seed=0)
    rnn = model.get_layer("rnn")
    np.testing.assert_array_equal(np.asarray(rnn.cell.recurrent_kernel), np.eye(4))
    assert rnn.cell.activation.__name__ == "relu"
    with pytest.raises(ValueError, match="unknown init"):
        bptt.simple_rnn("zeros", 10)


def test_init_runs_table():
    runs = bptt.init_runs(["orthogonal"], [0], length=6, epochs=2, n_train=64, units=4)
    assert list(runs["epoch"]) == [0, 1, 2] and runs["loss"].isna().tolist() == [True, False, False]
    assert (runs["ratio"] > 0).all() and runs["test_mse"].nunique() == 1


def test_the_chapters_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from goldlab import plots

    chains = {
        "unit": {1.1: bptt.jacobian_chain(1.1, 5)},
        "small": {1.1: bptt.jacobian_chain(1.1, 5, input_scale=0.01)},
    }
    axes = plots.chain_regimes(chains)
    assert [ax.get_title() for ax in axes] == ["Chain of Jacobians, unit", "Chain of Jacobians, small"]
    kept = pd.DataFrame({"layer": ["lstm_1"] * 2, "k": [1, 5], "share": [0.2, 1.0]})
    assert plots.kept_share(kept).get_ylabel().startswith("‖∂L/∂W‖")
    sv = bptt.gate_singular_values(np.hstack([np.eye(3)] * 4))
    assert len(plots.gate_spectra({"identity": sv}).get_lines()) == 4
    runs = pd.DataFrame(
        {"init": "glorot", "seed": 0, "epoch": [0, 1], "ratio": [0.1, 0.2], "val_loss": [np.nan, 0.1]}
    )
    left, right = plots.init_learning(runs, solved=0.0167)
    assert left.get_yscale() == "log" and right.get_xlabel().startswith("epoch")


def test_per_gate_orthogonal_makes_every_gate_orthogonal():
    import keras

    keras.utils.set_random_seed(0)
    kernel = keras.ops.convert_to_numpy(bptt.per_gate_orthogonal((8, 32)))
    np.testing.assert_allclose(bptt.gate_singular_values(kernel)["value"], 1.0, atol=1e-5)
    model = bptt.lstm("orthogonal per gate", 5, units=8, seed=0)
    rec = keras.ops.convert_to_numpy(model.get_layer("rnn").cell.recurrent_kernel)
    np.testing.assert_allclose(bptt.gate_singular_values(rec)["value"], 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="k\\*units"):
        bptt.per_gate_orthogonal((8, 30))
    with pytest.raises(ValueError, match="unknown init"):
        bptt.lstm("identity", 5)


def test_init_runs_trains_an_lstm_too():
    runs = bptt.init_runs(["glorot"], [0], length=6, epochs=1, n_train=64, units=4, cell="lstm")
    assert list(runs["epoch"]) == [0, 1] and runs["test_mse"].notna().all()
