"""Backpropagation through time: the chain of Jacobians, the weight gradient as a sum over steps, and inits.

A recurrent layer reads days x_1 … x_T into states h_1 … h_T, and the loss L sees day t only through the
chain h_t → h_{t+1} → … → h_T. By the chain rule

    ∂L/∂x_t = ∂L/∂h_T · J_T · J_{T−1} ⋯ J_{t+1} · ∂h_t/∂x_t,   with J_k = ∂h_k/∂h_{k−1}.

For the tanh cell h_k = tanh(W h_{k−1} + U x_k) each factor is J_k = diag(tanh′(·)) W, so
‖J_k‖ ≤ max tanh′ · ‖W‖ ≤ ‖W‖: the product of T − t of them can shrink like ‖W‖^(T−t), geometrically in the
distance back in time. An LSTM's cell state has the factor diag(f_k) instead (its forget gate, between 0 and
1), which is why the forget gate's bias decides how far back its gradient reaches. :func:`jacobian_chain`
computes ‖J_T ⋯ J_{T−k+1}‖ for a random cell, so the book can draw the decay beside its bound.

The same chain makes a weight's gradient a sum over steps, ∂L/∂W = Σ_t ∂L/∂h_t · ∂⁺h_t/∂W, whose old
terms are the ones the chain shrinks: :func:`truncated_model` keeps only the last k terms of a Keras model's
sum, so a chapter can measure how much of a layer's ‖∂L/∂W‖ the recent steps make. Where the recurrent
matrix W is the whole chain (a SimpleRNN), its start decides how much survives: :func:`gate_singular_values`
shows what Keras's orthogonal LSTM kernel gives each gate, and :func:`init_runs` trains a SimpleRNN from
each start of :data:`INITS` on the adding problem.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CELLS",
    "GATES",
    "INITS",
    "LSTM_INITS",
    "gate_singular_values",
    "init_runs",
    "jacobian_chain",
    "lstm",
    "per_gate_orthogonal",
    "simple_rnn",
    "truncated_model",
]

CELLS: tuple[str, ...] = ("linear", "tanh")


def _orthogonal(units: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((units, units)))
    return q * np.sign(np.diag(r))


def jacobian_chain(
    gain: float, steps: int, units: int = 32, cell: str = "tanh", input_scale: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Spectral norms ‖J_T ⋯ J_{T−k+1}‖₂ for k = 0 … ``steps`` (k = 0 is the identity, norm 1).

    The cell is h_k = φ(W h_{k−1} + x_k) with W = ``gain`` × a random orthogonal matrix, x_k standard normal
    inputs times ``input_scale``, and φ the identity (``cell="linear"``: the norms are exactly gain^k) or
    tanh (``"tanh"``: at most gain^k, smaller where tanh saturates). Seeded: the same arguments give the
    same curve.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if steps < 0 or units < 1 or gain <= 0:
        raise ValueError(f"need steps >= 0, units >= 1 and gain > 0; got {steps}, {units}, {gain}")
    rng = np.random.default_rng(seed)
    w = gain * _orthogonal(units, rng)
    h = np.zeros(units)
    jacobians = []
    for _ in range(steps):
        pre = w @ h + input_scale * rng.standard_normal(units)
        h = pre if cell == "linear" else np.tanh(pre)
        slope = np.ones(units) if cell == "linear" else 1.0 - h**2
        jacobians.append(slope[:, None] * w)
    norms = [1.0]
    product = np.eye(units)
    for jac in reversed(jacobians):  # from the last step backwards: J_T, J_T J_{T-1}, ...
        product = product @ jac
        norms.append(float(np.linalg.norm(product, 2)))
    return np.asarray(norms)


# --------------------------------------------------------------------------------------------------
# The weight gradient as a sum over time steps, on a real Keras model

#: Layers a truncated twin can copy as they are (anything else but a recurrent layer is refused).
_PLAIN: tuple[str, ...] = ("InputLayer", "Dropout", "Dense")


def _cut_recurrent(layer, x, k: int, steps: int):
    """``layer`` re-run on ``x`` with the state ``k`` steps before the end held fixed (no gradient back)."""
    import keras

    config = layer.get_config() | {"return_sequences": True, "return_state": True}
    twin = type(layer).from_config(config)
    early, *states = twin(x[:, : steps - k])
    states = [keras.ops.stop_gradient(s) for s in states]
    late = twin(x[:, steps - k :], initial_state=states)[0]
    twin.set_weights(layer.get_weights())
    if layer.return_sequences:
        return keras.ops.concatenate([keras.ops.stop_gradient(early), late], axis=1)
    return late[:, -1]


def truncated_model(model, k: int):
    """A copy of ``model`` (same weights) whose gradient flows back only through the last ``k`` steps.

    In every recurrent layer the state ``k`` steps before the end is held fixed, so ∂L/∂W of the copy keeps
    only the terms of the last ``k`` steps of the sum ∂L/∂W = Σ_t ∂L/∂h_t · ∂⁺h_t/∂W: the gradient that
    reaches step t > T − k is the same as in the whole model, since it flows backwards in time. With
    ``k = T`` the copy's gradient is the whole model's. ``model``: a chain of recurrent, Dense and Dropout
    layers, like the blog's networks before step 4 (ValueError for anything else, say a skip connection).
    """
    import keras

    steps = int(model.input_shape[1])
    if not 1 <= k <= steps:
        raise ValueError(f"k must be between 1 and the window length {steps}, got {k}")
    inputs = keras.Input(model.input_shape[1:])
    x = inputs
    for layer in model.layers:
        name = type(layer).__name__
        if hasattr(layer, "cell"):
            x = _cut_recurrent(layer, x, k, steps) if k < steps else layer(x)
        elif name in _PLAIN:
            x = layer(x) if name != "InputLayer" else x
        else:
            raise ValueError(f"layer {layer.name!r} ({name}): only chains of recurrent, {_PLAIN} layers")
    return keras.Model(inputs, x, name=f"{model.name}_last_{k}")


# --------------------------------------------------------------------------------------------------
# What the recurrent matrix starts as: per-gate singular values, and three initialisations compared

#: The gates of a Keras LSTM's kernels, in the order of their column blocks.
GATES: tuple[str, ...] = ("input", "forget", "cell", "output")


def gate_singular_values(kernel: np.ndarray, gates: Sequence[str] = GATES) -> pd.DataFrame:
    """Singular values of each gate's square block of a recurrent kernel (units × len(gates)·units).

    Keras's ``Orthogonal`` initializer makes the *whole* kernel orthogonal (orthonormal rows), which leaves
    each gate's units × units block, the matrix the gradient meets step after step along that gate's path,
    with singular values spread below 1. Returns columns ``gate``, ``rank`` (0 = largest) and ``value``.
    """
    kernel = np.asarray(kernel, dtype=float)
    units = kernel.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != len(gates) * units:
        raise ValueError(f"need a units x {len(gates)}*units kernel, got shape {kernel.shape}")
    rows = []
    for g, gate in enumerate(gates):
        s = np.linalg.svd(kernel[:, g * units : (g + 1) * units], compute_uv=False)
        rows += [{"gate": gate, "rank": r, "value": float(v)} for r, v in enumerate(s)]
    return pd.DataFrame(rows)


#: The recurrent initialisations of a SimpleRNN, each with the activation it goes with, are
#: Glorot-uniform (Keras's default input kernel, here as the recurrent one), orthogonal (Keras's default
#: recurrent kernel) and the identity with ReLU (the IRNN of Le, Jaitly & Hinton 2015).
INITS: dict[str, tuple[str, str]] = {
    "glorot": ("tanh", "glorot_uniform"),
    "orthogonal": ("tanh", "orthogonal"),
    "identity": ("relu", "identity"),
}


def simple_rnn(init: str, length: int, units: int = 64, optimizer=None, seed: int | None = None):
    """SimpleRNN(``units``) → Dense(1) on (``length``, 2) sequences, recurrent matrix from :data:`INITS`,
    compiled with ``optimizer`` (default Adam(1e-3, global_clipnorm=1.0), the same for every init) and MSE."""
    import keras

    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    activation, recurrent = INITS[init]
    model = keras.Sequential(
        [
            keras.Input((length, 2), name="sequence"),
            keras.layers.SimpleRNN(units, activation=activation, recurrent_initializer=recurrent, name="rnn"),
            keras.layers.Dense(1, name="dense"),
        ],
        name=f"rnn_{init}",
    )
    optimizer = optimizer or keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def per_gate_orthogonal(shape, dtype=None):
    """A recurrent-kernel initializer orthogonal *per gate*: each units × units block of the
    (units, k·units) kernel its own orthogonal matrix, so every gate's block has all singular values 1
    (Keras's ``Orthogonal`` makes only the whole kernel orthogonal; :func:`gate_singular_values`)."""
    import keras

    units, width = int(shape[0]), int(shape[1])
    if width % units:
        raise ValueError(f"need a (units, k*units) kernel, got shape {tuple(shape)}")
    blocks = [keras.initializers.Orthogonal()((units, units), dtype=dtype) for _ in range(width // units)]
    return keras.ops.concatenate(blocks, axis=1)


#: The recurrent initialisations of an LSTM are Glorot-uniform, Keras's ``Orthogonal`` (the default;
#: orthogonal over the whole kernel) and :func:`per_gate_orthogonal`.
LSTM_INITS: dict[str, object] = {
    "glorot": "glorot_uniform",
    "orthogonal": "orthogonal",
    "orthogonal per gate": per_gate_orthogonal,
}


def lstm(init: str, length: int, units: int = 64, seed: int | None = None):
    """LSTM(``units``) → Dense(1) on (``length``, 2) sequences, recurrent kernel from :data:`LSTM_INITS`,
    compiled as :func:`simple_rnn` is (Adam(1e-3, global_clipnorm=1.0), MSE)."""
    import keras

    if init not in LSTM_INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(LSTM_INITS)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    layer = keras.layers.LSTM(units, recurrent_initializer=LSTM_INITS[init], name="rnn")
    model = keras.Sequential(
        [keras.Input((length, 2), name="sequence"), layer, keras.layers.Dense(1, name="dense")],
        name=f"lstm_{init.replace(' ', '_')}",
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0), loss="mse")
    return model


def init_runs(
    inits: Sequence[str],
    seeds: Sequence[int],
    length: int,
    epochs: int,
    n_train: int,
    units: int = 64,
    cell: str = "simple_rnn",
) -> pd.DataFrame:
    """Train :func:`simple_rnn` (or, with ``cell="lstm"``, :func:`lstm`) with each init and seed on the
    adding problem, the same data and budget.

    One row per run and epoch (0 = initialisation): ``init``, ``seed``, ``epoch``, ``loss``, ``val_loss``
    (validation MSE), ``ratio`` (‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ on a fixed probe batch,
    :func:`goldlab.monitor.time_ratio`) and, on every row of a run, ``test_mse`` after the last epoch (the
    test set, read once).
    """
    from goldlab import monitor, tasks

    train, val, test = tasks.adding_splits(n_train, length)
    frames = []
    for init in inits:
        for seed in seeds:
            build = lstm if cell == "lstm" else simple_rnn
            model = build(init, length, units, seed=seed)
            probe = (train.x[:64], train.y[:64])  # records only: no warnings on the way
            mon = monitor.GradientMonitor(probe, vanish=0.0, explode=np.inf)
            hist = model.fit(
                train.x,
                train.y,
                batch_size=32,
                epochs=epochs,
                verbose=0,
                validation_data=(val.x, val.y),
                callbacks=[mon],
            )
            ratio = monitor.time_ratio(mon.time_profile).droplevel("layer")
            curve = pd.DataFrame(hist.history).assign(epoch=np.arange(1, len(hist.epoch) + 1))
            run = pd.DataFrame({"epoch": ratio.index, "ratio": ratio.to_numpy()}).merge(curve, how="left")
            test_mse = float(model.evaluate(test.x, test.y, verbose=0))
            frames.append(run.assign(init=init, seed=seed, test_mse=test_mse))
    return pd.concat(frames, ignore_index=True)
