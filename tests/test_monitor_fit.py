"""GradientMonitor on the models people train: every probe form fit takes, sample and class weights, a loss
that lives in a custom train_step, stateful models, the through-time warning and TensorBoard (issue 25).

Each measured figure is checked against an independent computation of the loss ``fit`` trains, written out
by hand here (Σ w_i·ℓ_i / n, Keras's ``sum_over_batch_size``): a plain ``tf.GradientTape`` under TensorFlow,
``jax.grad`` of ``model.stateless_call`` under JAX, to 1e-4 relative. Run under both backends.
"""

from __future__ import annotations

import sys
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from goldlab.lab import claims
from goldlab.monitor import (
    TIME_VANISH,
    GradientMonitor,
    GradientProbe,
    GradientWarning,
    NotMeasurable,
    gradient_norms,
    time_ratio,
)

BACKEND = keras.backend.backend()
RTOL = 1e-4
T, F = 8, 3
pytestmark = pytest.mark.skipif(BACKEND not in ("tensorflow", "jax"), reason="TensorFlow and JAX only")


def _mse(y, pred):
    return keras.ops.mean(keras.ops.square(y - pred), axis=-1)


def pinball(y, pred, q: float = 0.9):
    """The quantile (pinball) loss per sample: a loss a custom train_step computes, compile never sees."""
    e = y - pred
    return keras.ops.mean(keras.ops.maximum(q * e, (q - 1.0) * e), axis=-1)


def _data(n: int, seed: int = 0, t: int = T):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, F)).astype("float32")
    y = (x[:, -3:, 0].sum(axis=1, keepdims=True) + 0.3 * rng.normal(size=(n, 1))).astype("float32")
    return x, y, rng.uniform(0.0, 3.0, size=n).astype("float32")


def _lstm(seed: int = 0, t: int = T, batch: int | None = None, stateful: bool = False) -> keras.Model:
    keras.utils.set_random_seed(seed)
    first = keras.Input(batch_shape=(batch, t, F)) if batch else keras.Input((t, F))
    return keras.Sequential(
        [first, keras.layers.LSTM(5, stateful=stateful, name="lstm"), keras.layers.Dense(1, name="dense")]
    )


def _reference(model: keras.Model, x, y, per_sample=_mse, w=None, seq: str | None = None) -> dict:
    """The loss Σ w_i·ℓ_i / n, ‖∂L/∂W‖ per trainable variable (in model order) and ‖∂L/∂x_t‖ per step of the
    sequence input (``x`` or ``x[seq]``), from a plain GradientTape / jax.grad: nothing of goldlab's."""
    n = len(y)
    w = np.ones(n, "float32") if w is None else np.asarray(w, "float32")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.nest.map_structure(tf.constant, x)
        leaf = xt if seq is None else xt[seq]
        with tf.GradientTape() as tape:
            tape.watch(leaf)
            loss = tf.reduce_sum(per_sample(tf.constant(y), model(xt, training=False)) * w) / n
        *gw, gx = tape.gradient(loss, [*model.trainable_variables, leaf])
    else:
        import jax

        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]

        def f(tv, leaf):
            pred, _ = model.stateless_call(tv, ntv, leaf if seq is None else {**x, seq: leaf}, training=False)
            return jax.numpy.sum(per_sample(y, pred) * w) / n

        loss, (gw, gx) = jax.value_and_grad(f, argnums=(0, 1))(tv, x if seq is None else x[seq])
    gx = np.asarray(gx, dtype=np.float64)
    return {
        "loss": float(loss),
        "norms": np.array([np.linalg.norm(np.asarray(g, dtype=np.float64)) for g in gw]),
        "time": np.sqrt((gx**2).sum(axis=(0, 2))),
    }


def _check(norms: pd.DataFrame, profile: pd.DataFrame, ref: dict, layer: str = "lstm") -> None:
    """A record (per-variable norms, the time profile at ``layer``) against the reference."""
    got = norms[norms["weight"] != "total"]["norm"].to_numpy()
    np.testing.assert_allclose(got, ref["norms"], rtol=RTOL)
    at = profile[profile["layer"] == layer].sort_values("t")
    assert list(at["t"]) == list(range(1, len(ref["time"]) + 1))
    np.testing.assert_allclose(at["norm"].to_numpy(), ref["time"], rtol=RTOL)


def _first_record(monitor: GradientMonitor) -> tuple[pd.DataFrame, pd.DataFrame]:
    h, p = monitor.history, monitor.time_profile
    return h[h["epoch"] == 0].drop(columns="epoch"), p[p["epoch"] == 0].drop(columns="epoch")


def _fit(model, monitor, *args, epochs: int = 1, **kwargs) -> list[str]:
    """Train with the monitor; the texts of the GradientWarnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(*args, epochs=epochs, verbose=0, callbacks=[monitor], **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, GradientWarning)]


# ------------------------------------------------------------------------------------------------
# Sample weights and the forms of a probe


def test_weighted_probe_measures_the_weighted_loss_fit_trains():
    x, y, w = _data(32)
    model = _lstm()
    model.compile("adam", "mse")
    ref = _reference(model, x, y, w=w)
    # Keras's own weighted reduction gives the same loss as the reference's Σ w_i·ℓ_i / n
    assert model.evaluate(x, y, sample_weight=w, batch_size=32, verbose=0) == pytest.approx(ref["loss"], 1e-5)
    result = GradientProbe(model)(x, y, sample_weight=w)
    assert result.loss == pytest.approx(ref["loss"], RTOL)
    _check(result.norms(), result.time_profile(), ref)
    np.testing.assert_allclose(
        gradient_norms(model, x, y, sample_weight=w).query("weight != 'total'")["norm"], ref["norms"], RTOL
    )
    unweighted = _reference(model, x, y)
    assert np.max(np.abs(unweighted["norms"] / ref["norms"] - 1)) > 0.01  # the weights matter here
    if BACKEND == "jax":  # the probe in parts (JAX on a CPU) weights the whole batch's loss alike
        split = GradientProbe(model, parts=2)
        result = split(x, y, sample_weight=w)
        assert split._split is not None and split.parts_declined is None
        assert result.loss == pytest.approx(ref["loss"], RTOL)
        _check(result.norms(), result.time_profile(), ref)

    monitor = GradientMonitor((x, y, w), time_vanish=0)
    texts = _fit(model, monitor, x, y, sample_weight=w, batch_size=16)
    assert texts == []  # fit's loss is the monitor's: nothing to say
    _check(*_first_record(monitor), ref)


def _two_input_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    prices, calendar = keras.Input((T, F), name="prices"), keras.Input((2,), name="calendar")
    h = keras.layers.LSTM(5, name="lstm")(prices)
    out = keras.layers.Dense(1, name="dense")(keras.layers.Concatenate()([h, calendar]))
    return keras.Model({"prices": prices, "calendar": calendar}, out)


def _dataset(x, y, w, n):
    tf = pytest.importorskip("tensorflow")
    return tf.data.Dataset.from_tensor_slices((x, y, w)).batch(n)


@pytest.mark.parametrize("form", ["tuple", "list", "dataset", "pydataset"])
def test_every_probe_form_fit_takes(form):
    xs, y, w = _data(24, seed=1)
    x = {"prices": xs, "calendar": np.random.default_rng(2).normal(size=(24, 2)).astype("float32")}
    model = _two_input_model()
    model.compile("adam", "mse")
    ref = _reference(model, x, y, w=w, seq="prices")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return x, y, w

    probe = {
        "tuple": lambda: (x, y, w),
        "list": lambda: [x, y, w],
        "dataset": lambda: _dataset(x, y, w, 24),
        "pydataset": lambda: Batches(),
    }[form]()
    monitor = GradientMonitor(probe, time_vanish=0)
    assert _fit(model, monitor, x, y, sample_weight=w, batch_size=8) == []
    _check(*_first_record(monitor), ref)


def test_a_probe_of_more_than_three_parts_is_refused():
    x, y, w = _data(8)
    with pytest.raises(ValueError, match=r"\(x, y, sample_weight\)"):
        GradientMonitor((x, x, y, w))


def test_a_probe_that_is_not_weighted_as_fit_is_says_so_once():
    x, y, w = _data(32, seed=3)
    model = _lstm(seed=3)
    model.compile("adam", "mse")
    unweighted = GradientMonitor((x, y), time_vanish=0)
    texts = _fit(model, unweighted, x, y, sample_weight=w, batch_size=16, epochs=2)
    assert len(texts) == 1 and "fit trains a weighted loss" in texts[0] and "sample_weight" in texts[0]
    # the other way round: weights in the probe, none in fit
    weighted = GradientMonitor((x, y, w), time_vanish=0)
    texts = _fit(model, weighted, x, y, batch_size=16)
    assert len(texts) == 1 and "fit trains an unweighted loss" in texts[0]


def test_class_weight_weights_the_probe_as_fit_does():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, T, F)).astype("float32")
    labels = rng.integers(0, 3, size=30).astype("int32")
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(5, name="lstm"), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    weights = {0: 0.5, 1: 2.0, 2: 4.0}
    w = np.array([weights[int(c)] for c in labels], "float32")

    def xent(y, logits):
        return keras.ops.sparse_categorical_crossentropy(y, logits, from_logits=True)

    ref = _reference(model, x, labels, per_sample=xent, w=w)
    monitor = GradientMonitor((x, labels), class_weight=weights, time_vanish=0)
    assert _fit(model, monitor, x, labels, class_weight=weights, batch_size=10) == []
    _check(*_first_record(monitor), ref)
    with pytest.raises(ValueError, match="not both"):
        GradientMonitor((x, labels, w), class_weight=weights)


# ------------------------------------------------------------------------------------------------
# A loss that lives in a custom train_step


class QuantileModel(keras.Model):
    """A model trained on the pinball loss in its own train_step, compiled with an optimizer only."""

    if BACKEND == "jax":

        def train_step(self, state, data):
            import jax

            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data[0], data[1]

            def loss_of(tv):
                pred, ntv = self.stateless_call(tv, non_trainable, x, training=True)
                return keras.ops.mean(pinball(y, pred)), ntv

            (loss, non_trainable), grads = jax.value_and_grad(loss_of, has_aux=True)(trainable)
            trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads, trainable)
            return {"loss": loss}, (trainable, non_trainable, optimizer_vars, metrics_vars)

    else:

        def train_step(self, data):
            import tensorflow as tf

            x, y = data[0], data[1]
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(pinball(y, self(x, training=True)))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            return {"loss": loss}


def _quantile_model(seed: int = 5) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((T, F))
    outputs = keras.layers.Dense(1, name="dense")(keras.layers.LSTM(5, name="lstm")(inputs))
    return QuantileModel(inputs, outputs)


def test_loss_argument_measures_a_train_step_loss():
    x, y, _ = _data(32, seed=5)
    model = _quantile_model()
    model.compile(optimizer="adam")
    ref = _reference(model, x, y, per_sample=pinball)
    monitor = GradientMonitor((x, y), loss=pinball, time_vanish=0)
    assert _fit(model, monitor, x, y, batch_size=16, epochs=2) == []
    assert sorted(set(monitor.history["epoch"])) == [0, 1, 2]
    _check(*_first_record(monitor), ref)


def test_without_loss_a_train_step_model_warns_once_and_trains():
    x, y, _ = _data(32, seed=6)
    model = _quantile_model(seed=6)
    model.compile(optimizer="adam")
    monitor = GradientMonitor((x, y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    texts = [str(w.message) for w in caught if issubclass(w.category, GradientWarning)]
    assert len(texts) == 1 and "loss=" in texts[0] and "train_step" in texts[0]
    assert len(fitted.history["loss"]) == 2  # training went on
    assert monitor.history.empty and list(monitor.events["kind"]) == ["not measured"]
    with pytest.raises(NotMeasurable, match="loss="):
        gradient_norms(model, x, y)


def test_a_train_step_that_ignores_the_compiled_loss_is_named():
    x, y, _ = _data(32, seed=7)
    model = _quantile_model(seed=7)
    model.compile(optimizer="adam", loss="mse")  # compiled, but train_step trains the pinball loss
    texts = _fit(model, GradientMonitor((x, y), time_vanish=0), x, y, batch_size=16)
    assert len(texts) == 1 and "does not call compute_loss" in texts[0] and "loss=" in texts[0]


# ------------------------------------------------------------------------------------------------
# Stateful models


def _states(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(s) for s in model.get_layer("lstm").states]


def test_stateful_model_probe_split_into_its_batches():
    x, y, _ = _data(19, seed=8)
    model = _lstm(seed=8, batch=8, stateful=True)
    model.compile("adam", "mse")
    twin = _lstm(seed=8)  # the same layers without states: zero initial states, any batch
    twin.set_weights(model.get_weights())
    ref = _reference(twin, x[:16], y[:16])  # two parts of 8; the last 3 samples left out
    monitor = GradientMonitor((x, y), time_vanish=0)
    texts = _fit(model, monitor, x[:16], y[:16], batch_size=8, shuffle=False, epochs=2)
    assert len(texts) == 1 and "batches of 8" in texts[0] and "2 part(s)" in texts[0] and "last 3" in texts[0]
    assert list(monitor.events["kind"]) == ["probe split"]
    _check(*_first_record(monitor), ref)

    # the probe starts from zero states and leaves training's states as they are
    rng = np.random.default_rng(8)
    for state in model.get_layer("lstm").states:  # states a sequence mid-way would have
        state.assign(rng.normal(size=state.shape).astype("float32"))
    before = _states(model)
    probe = GradientProbe(model)
    again = probe(x, y)
    for old, new in zip(before, _states(model), strict=True):
        np.testing.assert_array_equal(old, new)
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(
        again.norms().query("weight != 'total'")["norm"], _reference(twin, x[:16], y[:16])["norms"], RTOL
    )


def test_stateful_model_with_too_small_a_probe_warns_and_trains():
    x, y, _ = _data(16, seed=9)
    model = _lstm(seed=9, batch=8, stateful=True)
    model.compile("adam", "mse")
    monitor = GradientMonitor((x[:5], y[:5]))
    texts = _fit(model, monitor, x, y, batch_size=8, epochs=2)
    assert len(texts) == 1 and "at least 8" in texts[0]
    assert monitor.history.empty


# ------------------------------------------------------------------------------------------------
# Vanishing through time


def test_time_threshold_is_the_books():
    assert TIME_VANISH == claims.threshold("time_fade")


def test_through_time_warning_fires_on_a_vanishing_model():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(16, 300, 1)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    keras.utils.set_random_seed(10)
    model = keras.Sequential(
        [keras.Input((300, 1)), keras.layers.SimpleRNN(8, name="rnn"), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    monitor = GradientMonitor((x, y))
    texts = _fit(model, monitor, x, y, batch_size=16, epochs=2)
    ratios = time_ratio(monitor.time_profile)
    assert (ratios < TIME_VANISH).all()  # every record (epochs 0, 1, 2) is below the bar ...
    through = [t for t in texts if "through time" in t]
    assert len(through) == 1  # ... and it says so once, naming the layer and the epoch
    assert through[0].startswith("epoch 0: layer rnn:") and f"{ratios.loc[(0, 'rnn')]:.3g}" in through[0]
    events = monitor.events[monitor.events["kind"] == "vanishing through time"]
    assert list(events["epoch"]) == [0, 1, 2] and set(events["layer"]) == {"rnn"}
    np.testing.assert_allclose(events["norm"], ratios.to_numpy())


def test_through_time_warning_stays_quiet_on_a_healthy_model():
    x, y, _ = _data(32, seed=11, t=4)
    model = _lstm(seed=11, t=4)
    model.compile("adam", "mse")
    monitor = GradientMonitor((x, y))
    texts = _fit(model, monitor, x, y, batch_size=16, epochs=2)
    ratios = time_ratio(monitor.time_profile)
    assert (ratios >= TIME_VANISH).all() and not any("through time" in t for t in texts)
    # the same records against a bar above them do warn: the quiet above is the model's, not the check's
    strict = GradientMonitor((x, y), time_vanish=float(ratios.max()) * 2)
    assert sum("through time" in t for t in _fit(model, strict, x, y, batch_size=16)) == 1


def test_a_padded_oldest_step_is_named_not_called_vanishing():
    x, y, _ = _data(16, seed=13)
    x[:, 0, :] = 0.0  # every window padded at its first step, masked
    keras.utils.set_random_seed(13)
    masked = [keras.Input((T, F)), keras.layers.Masking(0.0), keras.layers.LSTM(5, name="lstm")]
    model = keras.Sequential([*masked, keras.layers.Dense(1)])
    model.compile("adam", "mse")
    monitor = GradientMonitor((x, y))
    texts = _fit(model, monitor, x, y, batch_size=16)
    first = monitor.time_profile.query("t == 1")["norm"]
    assert (first == 0).all() and (monitor.time_profile.query(f"t == {T}")["norm"] > 0).all()
    assert len(texts) == 1 and "layer lstm" in texts[0] and "no gradient at all" in texts[0]
    assert set(monitor.events["kind"]) == {"no gradient at t=1"}


# ------------------------------------------------------------------------------------------------
# TensorBoard


def test_time_profile_written_to_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y, _ = _data(16, seed=12)
    model = _lstm(seed=12)
    model.compile("adam", "mse")
    monitor = GradientMonitor((x, y), log_dir=tmp_path, time_vanish=0)
    _fit(model, monitor, x, y, batch_size=16)
    profile = monitor.time_profile
    for epoch in (0, 1):
        events = EventAccumulator(str(tmp_path / "time_profile" / f"epoch_{epoch:04d}")).Reload()
        written = events.Tensors("gradient_through_time/lstm")
        expected = profile[profile["epoch"] == epoch].sort_values("t")
        assert [e.step for e in written] == list(expected["t"])
        values = [float(tf.make_ndarray(e.tensor_proto)) for e in written]
        np.testing.assert_allclose(values, expected["norm"], rtol=1e-6)
    ratios = EventAccumulator(str(tmp_path)).Reload().Tensors("time_ratio/lstm")
    assert [e.step for e in ratios] == [0, 1]
    np.testing.assert_allclose(
        [float(tf.make_ndarray(e.tensor_proto)) for e in ratios], time_ratio(profile).to_numpy(), rtol=1e-6
    )


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("tensorboard") for r in extras["tensorboard"])
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard now raises ImportError
    x, y, _ = _data(16)
    model = _lstm()
    model.compile("adam", "mse")
    with pytest.raises(ImportError, match=r"pip install 'goldlab\[tensorboard\]'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientMonitor((x, y), log_dir=tmp_path)])
