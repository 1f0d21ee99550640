"""GradientMonitor on a zoo of model shapes a reader may have, each against an independent computation.

Every case is a tiny model trained for two short epochs with the monitor attached. After training, the
monitor's last record (epoch 2) must equal, to 1e-4 relative:

* per variable: ‖∂L/∂W‖ from ``tf.GradientTape`` (TensorFlow) or ``jax.grad`` (JAX) of the model's compiled
  loss as Keras computes it (``model.compute_loss``; under JAX, Keras's own ``compute_loss_and_updates``),
  regularisation losses included;
* per time step: ‖∂L/∂a_t‖ at the input ``a`` of a recurrent layer, from the same autodiff of the loss
  written as ``tail(a)``: the model's layers after that input, called by hand in the test.

The cases without a recurrent layer check the graceful path: weight norms, and one warning, no exception.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
import pytest

from goldlab.monitor import GradientMonitor, GradientWarning

BACKEND = keras.backend.backend()
L = keras.layers
N, T, F = 16, 7, 3
RTOL = 1e-4


@pytest.fixture(autouse=True)
def _full_float32_products():
    """Full float32 matrix products during each test: on a GPU, JAX and TensorFlow round float32 products to
    TF32 by default (about 1e-3 relative), above the 1e-4 this file checks. No effect on a CPU."""
    if BACKEND == "jax":
        import jax

        with jax.default_matmul_precision("highest"):
            yield
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        before = tf.config.experimental.tensor_float_32_execution_enabled()
        tf.config.experimental.enable_tensor_float_32_execution(False)
        yield
        tf.config.experimental.enable_tensor_float_32_execution(before)
    else:
        yield


@dataclass
class Split:
    """The input ``a`` of a monitored part, and the model's prediction as a function of it."""

    label: str
    head: Callable  # x -> a (what enters the part)
    tail: Callable  # a -> y_pred (the part and everything after it, other inputs held fixed)
    axis: int = 1  # the axis of time in a


@dataclass
class Case:
    model: keras.Model
    x: object
    y: object
    loss: object
    splits: list[Split] = field(default_factory=list)
    loss_weights: object = None
    warns: int = 0  # GradientWarnings expected (no recurrent layer: one)


def _rng(seed: int) -> np.random.Generator:
    keras.utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def _seq(rng, shape=(N, T, F)) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def _reg(rng) -> np.ndarray:
    return rng.normal(size=(N, 1)).astype("float32")


def _identity(x):
    return x


# ------------------------------------------------------------------------------------------------
# The zoo: one function per model shape


def sequential_without_input() -> Case:
    rng = _rng(0)
    lstm, gru, dense = L.LSTM(4, return_sequences=True, name="lstm_a"), L.GRU(3, name="gru_b"), L.Dense(1)
    model = keras.Sequential([lstm, gru, dense])
    splits = [Split("lstm_a", _identity, model), Split("gru_b", lstm, lambda a: dense(gru(a)))]
    return Case(model, _seq(rng), _reg(rng), "mse", splits)


def simple_rnn_binary() -> Case:
    rng = _rng(1)
    model = keras.Sequential(
        [keras.Input((T, F)), L.SimpleRNN(4, name="rnn"), L.Dense(1, activation="sigmoid")]
    )
    x = _seq(rng)
    y = (x[:, -1, :1] > 0).astype("float32")
    return Case(model, x, y, "binary_crossentropy", [Split("rnn", _identity, model)])


def embedding_bidirectional_sparse() -> Case:
    rng = _rng(2)
    emb = L.Embedding(20, 4, mask_zero=True, name="emb")
    bidi = L.Bidirectional(L.LSTM(3), name="bidi")
    out = L.Dense(3, activation="softmax")
    tokens = keras.Input((T,), dtype="int32")
    model = keras.Model(tokens, out(bidi(emb(tokens))))
    x = rng.integers(1, 20, size=(N, T)).astype("int32")
    x[: N // 2, :2] = 0  # padding at the start of half the sequences: masked steps
    y = rng.integers(0, 3, size=(N,)).astype("int32")

    def tail(a):
        return out(bidi(a, mask=emb.compute_mask(x)))

    return Case(model, x, y, "sparse_categorical_crossentropy", [Split("bidi", emb, tail)])


class GRUClassifier(keras.Model):
    """A subclassed model, never called before ``fit``."""

    def __init__(self):
        super().__init__(name="gru_classifier")
        self.gru = L.GRU(4, name="gru")
        self.out = L.Dense(3, activation="softmax", name="out")

    def call(self, x):
        return self.out(self.gru(x))


def subclassed_one_hot() -> Case:
    rng = _rng(3)
    model = GRUClassifier()
    y = keras.utils.to_categorical(rng.integers(0, 3, size=N), 3).astype("float32")
    return Case(model, _seq(rng), y, "categorical_crossentropy", [Split("gru", _identity, model)])


def masking_lstm() -> Case:
    rng = _rng(4)
    masking, lstm, dense = L.Masking(0.0, name="masking"), L.LSTM(4, name="lstm"), L.Dense(1)
    model = keras.Sequential([keras.Input((T, F)), masking, lstm, dense])
    x = _seq(rng)
    x[: N // 2, :3] = 0.0  # three masked steps in half the windows

    def tail(a):
        return dense(lstm(a, mask=masking.compute_mask(x)))

    return Case(model, x, _reg(rng), "mse", [Split("lstm", masking, tail)])


def masked_sequence_to_sequence() -> Case:
    # one prediction per step, padded steps masked out of the loss (the mask rides on the prediction)
    rng = _rng(16)
    emb, lstm = L.Embedding(20, 4, mask_zero=True, name="emb"), L.LSTM(4, return_sequences=True, name="lstm")
    dense = L.Dense(1, name="per_step")
    model = keras.Sequential([keras.Input((T,), dtype="int32"), emb, lstm, dense])
    x = rng.integers(1, 20, size=(N, T)).astype("int32")
    x[: N // 2, -2:] = 0  # padding at the end of half the sequences

    def tail(a):
        return dense(lstm(a, mask=emb.compute_mask(x)))

    return Case(model, x, rng.normal(size=(N, T, 1)).astype("float32"), "mse", [Split("lstm", emb, tail)])


def time_distributed_lstm() -> Case:
    rng = _rng(5)
    td = L.TimeDistributed(L.LSTM(3), name="td")
    model = keras.Sequential([keras.Input((2, T, F)), td, L.Flatten(), L.Dense(1)])
    return Case(model, _seq(rng, (N, 2, T, F)), _reg(rng), "mse", [Split("td", _identity, model, axis=2)])


def rnn_of_stacked_cells() -> Case:
    rng = _rng(6)
    rnn = L.RNN([L.LSTMCell(4), L.GRUCell(3)], name="stacked")
    model = keras.Sequential([keras.Input((T, F)), rnn, L.Dense(1)])
    return Case(model, _seq(rng), _reg(rng), "mse", [Split("stacked", _identity, model)])


def conv_lstm_1d() -> Case:
    rng = _rng(7)
    model = keras.Sequential(
        [keras.Input((5, 6, 2)), L.ConvLSTM1D(2, 3, name="clstm1"), L.Flatten(), L.Dense(1)]
    )
    return Case(model, _seq(rng, (N, 5, 6, 2)), _reg(rng), "mse", [Split("clstm1", _identity, model)])


def conv_lstm_2d() -> Case:
    rng = _rng(8)
    model = keras.Sequential(
        [keras.Input((4, 5, 5, 1)), L.ConvLSTM2D(2, 3, name="clstm2"), L.Flatten(), L.Dense(1)]
    )
    return Case(model, _seq(rng, (N, 4, 5, 5, 1)), _reg(rng), "mse", [Split("clstm2", _identity, model)])


def two_inputs_two_outputs_list() -> Case:
    rng = _rng(9)
    seq, tab = keras.Input((T, F), name="seq"), keras.Input((4,), name="tab")
    lstm, side, join = L.LSTM(4, name="lstm"), L.Dense(2, name="side"), L.Concatenate()
    price, up = L.Dense(1, name="price"), L.Dense(1, activation="sigmoid", name="up")
    z = join([lstm(seq), side(tab)])
    model = keras.Model([seq, tab], [price(z), up(z)])
    x = [_seq(rng), rng.normal(size=(N, 4)).astype("float32")]
    y = [_reg(rng), (rng.random((N, 1)) > 0.5).astype("float32")]

    def tail(a):
        z = join([lstm(a), side(x[1])])
        return [price(z), up(z)]

    splits = [Split("lstm", lambda x: x[0], tail)]
    return Case(model, x, y, ["mse", "binary_crossentropy"], splits, loss_weights=[1.0, 0.3])


def dict_inputs_dict_outputs() -> Case:
    rng = _rng(10)
    seq = keras.Input((T, F), name="window")
    gru = L.GRU(4, return_sequences=True, name="gru")
    pool, level, up = L.GlobalAveragePooling1D(), L.Dense(1, name="level"), L.Dense(1, activation="sigmoid")
    h = pool(gru(seq))
    model = keras.Model({"window": seq}, {"level": level(h), "up": up(h)})
    x = {"window": _seq(rng)}
    y = {"level": _reg(rng), "up": (rng.random((N, 1)) > 0.5).astype("float32")}

    def tail(a):
        h = pool(gru(a))
        return {"level": level(h), "up": up(h)}

    losses = {"level": "mae", "up": "binary_crossentropy"}
    splits = [Split("gru", lambda x: x["window"], tail)]
    return Case(model, x, y, losses, splits, loss_weights={"level": 2.0, "up": 0.5})


def regularised_lstm() -> Case:
    rng = _rng(11)
    lstm = L.LSTM(
        4, kernel_regularizer=keras.regularizers.L2(0.1), activity_regularizer=keras.regularizers.L2(0.05)
    )
    model = keras.Sequential(
        [keras.Input((T, F)), lstm, L.Dense(1, kernel_regularizer=keras.regularizers.L1(0.05))]
    )
    return Case(model, _seq(rng), _reg(rng), "mse", [Split(lstm.name, _identity, model)])


def residual_stack() -> Case:
    rng = _rng(12)
    seq = keras.Input((T, F))
    lstm1, lstm2 = (
        L.LSTM(4, return_sequences=True, name="lstm_1"),
        L.LSTM(4, return_sequences=True, name="lstm_2"),
    )
    add, last, dense = L.Add(), L.LSTM(2, name="lstm_3"), L.Dense(1)
    h1 = lstm1(seq)
    model = keras.Model(seq, dense(last(add([h1, lstm2(h1)]))))
    x = _seq(rng)

    def after_2(a):  # the skip around lstm_2 carries lstm_1's output, held fixed: the path through lstm_2
        return dense(last(add([lstm1(x), lstm2(a)])))

    splits = [
        Split("lstm_1", _identity, model),
        Split("lstm_2", lstm1, after_2),
        Split("lstm_3", lambda x: add([lstm1(x), lstm2(lstm1(x))]), lambda a: dense(last(a))),
    ]
    return Case(model, x, _reg(rng), "mse", splits)


def attention_without_recurrence() -> Case:
    rng = _rng(13)
    seq = keras.Input((T, F))
    attn = L.MultiHeadAttention(2, 4)
    model = keras.Model(seq, L.Dense(1)(L.GlobalAveragePooling1D()(attn(seq, seq))))
    return Case(model, _seq(rng), _reg(rng), "mse", [Split("input", _identity, model)], warns=1)


def tabular_dense() -> Case:
    rng = _rng(14)
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu"), L.Dense(1)])
    return Case(model, rng.normal(size=(N, 5)).astype("float32"), _reg(rng), "mse", [], warns=1)


class TokenRNN(keras.layers.Layer):
    """A custom recurrent layer (it has a ``cell``) that takes token ids: no float sequence to tap."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.emb = L.Embedding(20, 4)
        self.cell = L.GRU(3)

    def call(self, tokens):
        return self.cell(self.emb(tokens))


def custom_recurrent_layer_on_tokens() -> Case:
    rng = _rng(15)
    model = keras.Sequential([keras.Input((T,), dtype="int32"), TokenRNN(name="token_rnn"), L.Dense(1)])
    x = rng.integers(0, 20, size=(N, T)).astype("int32")
    return Case(model, x, _reg(rng), "mse", [], warns=1)


ZOO = [
    sequential_without_input,
    simple_rnn_binary,
    embedding_bidirectional_sparse,
    subclassed_one_hot,
    masking_lstm,
    masked_sequence_to_sequence,
    time_distributed_lstm,
    rnn_of_stacked_cells,
    conv_lstm_1d,
    conv_lstm_2d,
    two_inputs_two_outputs_list,
    dict_inputs_dict_outputs,
    regularised_lstm,
    residual_stack,
    attention_without_recurrence,
    tabular_dense,
    custom_recurrent_layer_on_tokens,
]


# ------------------------------------------------------------------------------------------------
# Independent gradients: the model's compiled loss, differentiated by the backend's own autodiff


def _loss(model: keras.Model, x, y, y_pred):
    return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)


def _weight_grads(model: keras.Model, x, y) -> list[np.ndarray]:
    """∂L/∂W for every trainable variable, in ``model.trainable_variables`` order."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = _loss(model, x, y, model(x, training=False))
        grads = tape.gradient(loss, model.trainable_variables)
        return [np.asarray(tf.convert_to_tensor(g)) for g in grads]
    if BACKEND == "jax":
        import jax

        def loss_of(trainable):
            non_trainable = [v.value for v in model.non_trainable_variables]
            metrics = [v.value for v in model.metrics_variables]
            loss, _ = model.compute_loss_and_updates(trainable, non_trainable, metrics, x, y, None)
            return loss

        grads = jax.grad(loss_of)([v.value for v in model.trainable_variables])
        return [np.asarray(g) for g in grads]
    pytest.skip(f"no independent reference written for backend {BACKEND}")


def _input_grad(model: keras.Model, x, y, split: Split) -> np.ndarray:
    """∂L/∂a at the input ``a`` of a monitored part, along the part's path (``split.tail``)."""
    a = keras.ops.convert_to_tensor(split.head(x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(a)
            loss = _loss(model, x, y, split.tail(a))
        return np.asarray(tape.gradient(loss, a))
    import jax

    return np.asarray(jax.grad(lambda a: _loss(model, x, y, split.tail(a)))(a))


def _per_step(g: np.ndarray, axis: int) -> np.ndarray:
    others = tuple(i for i in range(g.ndim) if i != axis)
    return np.sqrt((g.astype(np.float64) ** 2).sum(axis=others))


def _close(got: np.ndarray, expected: np.ndarray, what) -> None:
    # 1e-4 relative. A gradient that is zero in exact arithmetic (an attention key bias, a masked step) is
    # rounding noise on both sides: an absolute tolerance of 1e-6 of the largest covers it.
    atol = 1e-6 * float(np.max(np.abs(expected)))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol, err_msg=str(what))


# ------------------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("build", ZOO, ids=[f.__name__ for f in ZOO])
def test_monitor_on_model(build):
    case = build()
    case.model.compile(optimizer="adam", loss=case.loss, loss_weights=case.loss_weights)
    # the warnings counted are those of parts it cannot measure; the through-time warning (on by default, and
    # due on these random models' longer windows) is tested in test_monitor_fit.py
    monitor = GradientMonitor((case.x, case.y), every=1, time_vanish=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case.model.fit(case.x, case.y, epochs=2, batch_size=8, verbose=0, callbacks=[monitor])
    ours = [w for w in caught if issubclass(w.category, GradientWarning)]
    assert len(ours) == case.warns, [str(w.message) for w in ours]
    history = monitor.history
    assert sorted(set(history["epoch"])) == [0, 1, 2]

    # per variable, against the independent gradient of the compiled loss
    model, x, y = case.model, case.x, case.y
    last = history[(history["epoch"] == 2) & (history["weight"] != "total")]
    assert len(last) == len(model.trainable_variables) > 0
    assert not last.duplicated(["layer", "weight"]).any()
    expected = [float(np.linalg.norm(g)) for g in _weight_grads(model, x, y)]
    _close(last["norm"].to_numpy(float), np.array(expected), (build.__name__, list(last["weight"])))

    # per time step, at each monitored part's input
    profile = monitor.time_profile
    profile = profile[profile["epoch"] == 2] if len(profile) else profile
    assert sorted(set(profile["layer"])) == sorted(s.label for s in case.splits)
    for split in case.splits:
        got = profile[profile["layer"] == split.label].sort_values("t")
        want = _per_step(_input_grad(model, x, y, split), split.axis)
        assert got["t"].tolist() == list(range(1, len(want) + 1)), split.label
        assert want.max() > 0, split.label
        _close(got["norm"].to_numpy(float), want, (build.__name__, split.label))


@pytest.mark.skipif(BACKEND != "jax", reason="the probe is split into parts under JAX only")
@pytest.mark.parametrize("build", ZOO, ids=[f.__name__ for f in ZOO])
def test_probe_in_parts_equals_the_probe_whole(build):
    # two parts on threads give the gradients of one pass over the batch; so do three (uneven: 16 = 6 +
    # 5 + 5), checked on the shapes whose outputs, masks or inputs are structured
    from goldlab.monitor import GradientProbe

    case = build()
    case.model.compile(optimizer="adam", loss=case.loss, loss_weights=case.loss_weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientWarning)
        reference = GradientProbe(case.model, parts=1)
        whole = reference(case.x, case.y)
        uneven = build in (masked_sequence_to_sequence, two_inputs_two_outputs_list, dict_inputs_dict_outputs)
        for k in (2, 3) if uneven else (2,):
            probe = GradientProbe(case.model, parts=k)
            split = probe(case.x, case.y)
            adds_losses = build is regularised_lstm  # an activity regulariser: declined, run whole
            assert (probe.parts_declined is not None) == adds_losses, probe.parts_declined
            assert probe.notes == reference.notes
            np.testing.assert_allclose(split.loss, whole.loss, rtol=1e-5)
            assert split.weights.keys() == whole.weights.keys() and split.inputs.keys() == whole.inputs.keys()
            for got, want in ((split.weights, whole.weights), (split.inputs, whole.inputs)):
                scale = max((float(np.max(np.abs(g))) for g in want.values()), default=0.0)  # zero in exact
                for key in want:  # arithmetic: rounding noise on both sides, bounded by the scale of the rest
                    np.testing.assert_allclose(got[key], want[key], rtol=RTOL, atol=1e-6 * scale, err_msg=key)


@pytest.mark.skipif(BACKEND != "jax", reason="the probe is split into parts under JAX only")
def test_monitor_in_parts_records_what_the_whole_records():
    # two monitors on one fit, one probe in parts and one whole: the same tables, epoch by epoch
    case = residual_stack()
    case.model.compile(optimizer="adam", loss=case.loss)
    monitors = [GradientMonitor((case.x, case.y), parts=k) for k in (2, 1)]
    case.model.fit(case.x, case.y, epochs=2, batch_size=8, verbose=0, callbacks=monitors)
    assert monitors[0]._probe._split is not None and monitors[0].parts_declined is None
    assert monitors[1]._probe._split is None
    for table in ("history", "time_profile"):
        split, whole = (getattr(m, table) for m in monitors)
        assert len(split) == len(whole) > 0
        pd.testing.assert_frame_equal(split.drop(columns="norm"), whole.drop(columns="norm"))
        np.testing.assert_allclose(split["norm"], whole["norm"], rtol=RTOL, atol=1e-9)


def test_parts_need_jax():
    from goldlab.monitor import GradientProbe

    model = keras.Sequential([keras.Input((T, F)), L.LSTM(2), L.Dense(1)])
    if BACKEND == "jax":
        assert GradientProbe(model, parts=2).parts == 2
    else:
        with pytest.raises(ValueError, match="KERAS_BACKEND=jax"):
            GradientProbe(model, parts=2)
    with pytest.raises(ValueError, match="parts must be"):
        GradientProbe(model, parts=0)


def test_regularisation_is_in_the_loss():
    # the same weights with and without an L2(0.5) kernel regulariser: the gradients differ by exactly 2·0.5·W
    from goldlab.monitor import GradientProbe

    rng = _rng(20)
    models = []
    for reg in (None, keras.regularizers.L2(0.5)):
        keras.utils.set_random_seed(20)
        model = keras.Sequential([keras.Input((T, F)), L.LSTM(3, kernel_regularizer=reg), L.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        models.append(model)
    x, y = _seq(rng), _reg(rng)
    plain, regularised = (GradientProbe(m)(x, y) for m in models)
    key = (models[0].layers[0].name, "kernel")
    kernel = keras.ops.convert_to_numpy(models[0].layers[0].cell.kernel)
    np.testing.assert_allclose(
        regularised.weights[(models[1].layers[0].name, "kernel")] - plain.weights[key],
        kernel,
        rtol=1e-4,
        atol=1e-6,
    )
    assert regularised.loss > plain.loss


def test_plot_and_the_practitioners_example():
    # the GradientMonitor docstring's example, run as written (but one epoch), then its one-call plot
    import matplotlib

    matplotlib.use("Agg")
    import goldlab.monitor as gm

    doc = gm.GradientMonitor.__doc__
    example = doc.split("::\n")[1].split("\n\n")[0]
    code = "\n".join(line[8:] for line in example.splitlines())
    assert len(code.splitlines()) <= 10 and "GradientMonitor(probe=" in code and "monitor.plot()" in code
    rng = _rng(21)
    namespace = {
        "keras": keras,
        "GradientMonitor": GradientMonitor,
        "x_train": rng.integers(0, 5000, size=(N, T)).astype("int32"),
        "y_train": rng.integers(0, 3, size=N).astype("int32"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)  # a recurrent model: nothing it cannot measure
        exec(code.replace("epochs=10", "epochs=1"), namespace)  # noqa: S102 - our own docstring
    monitor = namespace["monitor"]
    layers = set(monitor.time_profile["layer"])
    assert len(layers) == 1 and layers.pop().startswith("bidirectional")
    left, right = monitor.plot()
    for ax in (left, right):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_yscale() == "log"
    assert len(right.get_lines()) == 2  # first (epoch 0) and last (epoch 1) record of the one input
