"""Tests for goldlab.models: the blog's four steps, the general stacked-LSTM builder, compilation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from goldlab.models import STEPS, build_lstm, build_step, compile_model, lstm_layers, without_cudnn


def _layer_names(model: keras.Model, cls) -> list[str]:
    return [layer.name for layer in model.layers if isinstance(layer, cls)]


def _no_clipping(optimizer) -> bool:
    return optimizer.clipnorm is None and optimizer.global_clipnorm is None and optimizer.clipvalue is None


# ------------------------------------------------------------------------------------------------
# The blog's steps


@pytest.fixture(scope="module")
def steps() -> dict[str, keras.Model]:
    """The four blog models, blog-size, built once (building without training is cheap)."""
    return {name: build_step(name, seed=0) for name in STEPS}


def test_steps_order():
    assert STEPS == ("baseline", "clipnorm", "orthogonal", "residual")


def test_baseline_architecture(steps):
    model = steps["baseline"]
    lstms = lstm_layers(model)
    assert [layer.name for layer in lstms] == ["lstm_1", "lstm_2", "lstm_3"]
    assert [layer.units for layer in lstms] == [128, 64, 32]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    drops = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.name for d in drops] == ["dropout_1", "dropout_2"]
    assert [d.rate for d in drops] == [0.2, 0.2]
    # dropout sits between the LSTMs, in order: lstm_1, dropout_1, lstm_2, dropout_2, lstm_3, dense
    order = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert order == ["lstm_1", "dropout_1", "lstm_2", "dropout_2", "lstm_3", "dense"]
    dense = model.get_layer("dense")
    assert isinstance(dense, keras.layers.Dense) and dense.units == 1
    assert model.layers[-1] is dense
    for layer in lstms:
        assert isinstance(layer.cell.kernel_initializer, keras.initializers.GlorotUniform)
        assert isinstance(layer.cell.recurrent_initializer, keras.initializers.Orthogonal)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert _no_clipping(model.optimizer)


def test_baseline_output_shape(steps):
    x = np.random.default_rng(0).normal(size=(3, 60, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(steps["baseline"](x, training=False))
    assert out.shape == (3, 1)
    assert np.all(np.isfinite(out))


def test_clipnorm_step(steps):
    model, base = steps["clipnorm"], steps["baseline"]
    assert model.optimizer.clipnorm == 1.0
    assert model.optimizer.global_clipnorm is None and model.optimizer.clipvalue is None
    # otherwise as the baseline: same layers, same shapes, same initializers
    assert [layer.name for layer in model.layers] == [layer.name for layer in base.layers]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in base.get_weights()]
    for layer in lstm_layers(model):
        assert isinstance(layer.cell.kernel_initializer, keras.initializers.GlorotUniform)
        assert isinstance(layer.cell.recurrent_initializer, keras.initializers.Orthogonal)


def test_orthogonal_step(steps):
    model = steps["orthogonal"]
    assert model.optimizer.clipnorm == 1.0
    assert [layer.units for layer in lstm_layers(model)] == [128, 64, 32]
    for layer in lstm_layers(model):
        init = layer.cell.kernel_initializer
        assert isinstance(init, keras.initializers.Orthogonal)
        assert init.gain == 1.0
        assert isinstance(layer.cell.recurrent_initializer, keras.initializers.Orthogonal)
    w = keras.ops.convert_to_numpy(model.get_layer("lstm_1").cell.kernel)
    assert w.shape == (5, 4 * 128)
    np.testing.assert_allclose(w @ w.T, np.eye(5), atol=1e-5)
    # a Glorot-uniform kernel of the same shape is far from orthonormal rows
    g = keras.ops.convert_to_numpy(steps["baseline"].get_layer("lstm_1").cell.kernel)
    assert np.abs(g @ g.T - np.eye(5)).max() > 0.1


def test_residual_step(steps):
    model = steps["residual"]
    assert model.name == "blog_residual"  # build_blog_residual's network
    lstms = lstm_layers(model)
    assert [layer.name for layer in lstms] == ["lstm_1", "lstm_2", "lstm_3", "lstm_4"]
    assert [layer.units for layer in lstms] == [128, 128, 128, 64]
    assert _layer_names(model, keras.layers.Add) == ["add_2", "add_3"]
    for layer in lstms[:3]:
        assert isinstance(layer.cell.kernel_initializer, keras.initializers.Orthogonal)
        assert layer.cell.kernel_initializer.gain == 1.0
    assert isinstance(lstms[3].cell.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(lstms[3].cell.recurrent_initializer, keras.initializers.Orthogonal)
    assert model.optimizer.clipnorm == 1.0
    assert model.get_layer("dense").units == 1
    # each Add joins an LSTM's output with that LSTM's input
    for k in (2, 3):
        add = model.get_layer(f"add_{k}")
        lstm_in = model.get_layer(f"lstm_{k}").input
        ins = add.input
        assert any(t is model.get_layer(f"lstm_{k}").output for t in ins)
        assert any(t is lstm_in for t in ins)


@pytest.mark.parametrize("name", STEPS)
def test_every_lstm_is_cudnn_eligible(steps, name):
    lstms = lstm_layers(steps[name])
    assert lstms
    for layer in lstms:
        assert isinstance(layer, keras.layers.LSTM)
        cfg = layer.get_config()
        assert cfg["activation"] == "tanh", layer.name
        assert cfg["recurrent_activation"] == "sigmoid", layer.name
        assert cfg["recurrent_dropout"] == 0, layer.name
        assert cfg["unroll"] is False, layer.name
        assert cfg["use_bias"] is True, layer.name


def test_unknown_step_raises():
    with pytest.raises(ValueError, match="unknown step 'nope'") as err:
        build_step("nope")
    for name in STEPS:
        assert name in str(err.value)


def test_seed_repeats_weights():
    a = build_step("baseline", seed=0, units=(8, 4))
    b = build_step("baseline", seed=0, units=(8, 4))
    c = build_step("baseline", seed=1, units=(8, 4))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    # a different seed gives different kernels (biases are zeros / ones either way)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights(), strict=True))


def test_overrides_are_honoured():
    model = build_step("clipnorm", units=(8, 4), clipnorm=0.5, learning_rate=0.01)
    assert [layer.units for layer in lstm_layers(model)] == [8, 4]
    assert model.optimizer.clipnorm == 0.5
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)

    model = build_step("clipnorm", units=(8, 4), global_clipnorm=2.0)
    assert model.optimizer.clipnorm is None  # the step's own clipnorm is replaced, not added
    assert model.optimizer.global_clipnorm == 2.0

    model = build_step("baseline", units=(8,), clipvalue=0.1, dropout=0.0)
    assert model.optimizer.clipvalue == 0.1
    assert not _layer_names(model, keras.layers.Dropout)
    assert [layer.units for layer in lstm_layers(model)] == [8]

    model = build_step("orthogonal", units=(8, 4), kernel_initializer="glorot_uniform")
    for layer in lstm_layers(model):
        assert isinstance(layer.cell.kernel_initializer, keras.initializers.GlorotUniform)

    model = build_step("orthogonal", units=(8, 4), gain=0.5)
    for layer in lstm_layers(model):
        assert layer.cell.kernel_initializer.gain == 0.5
        assert layer.cell.recurrent_initializer.gain == 0.5


def test_input_shape_override():
    model = build_step("baseline", input_shape=(12, 3), units=(6, 4))
    assert model.input_shape == (None, 12, 3)
    assert model.output_shape == (None, 1)
    assert model.get_layer("lstm_1").cell.kernel.shape == (3, 4 * 6)


# ------------------------------------------------------------------------------------------------
# compile_model


def test_compile_model_defaults():
    model = compile_model(build_lstm((5, 2), units=(4,)))
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert _no_clipping(model.optimizer)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert model.loss == "mse"


@pytest.mark.parametrize(
    "options",
    [
        {"clipnorm": 1.0, "global_clipnorm": 1.0},
        {"clipnorm": 1.0, "clipvalue": 0.5},
        {"global_clipnorm": 1.0, "clipvalue": 0.5},
    ],
)
def test_compile_model_two_clipping_options_raise(options):
    model = build_lstm((5, 2), units=(4,))
    with pytest.raises(ValueError) as err:
        compile_model(model, **options)
    for name in options:
        assert name in str(err.value)


@pytest.mark.parametrize("option", ["clipnorm", "global_clipnorm", "clipvalue"])
def test_compile_model_one_clipping_option(option):
    model = compile_model(build_lstm((5, 2), units=(4,)), **{option: 0.25})
    for name in ("clipnorm", "global_clipnorm", "clipvalue"):
        assert getattr(model.optimizer, name) == (0.25 if name == option else None)


# ------------------------------------------------------------------------------------------------
# build_lstm


@pytest.mark.parametrize(
    "units, projected",
    [
        ((32, 16, 8), ["proj_2", "proj_3"]),
        ((16, 16, 8), ["proj_3"]),
        ((8, 16, 16), ["proj_2"]),
        ((8, 8, 8), []),
    ],
)
def test_residual_projections_where_widths_differ(units, projected):
    model = build_lstm((7, 3), units=units, residual=True, dropout=0.1)
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.startswith("proj_")] == projected
    assert _layer_names(model, keras.layers.Add) == ["add_2", "add_3"]
    for name in projected:
        proj = model.get_layer(name)
        assert isinstance(proj, keras.layers.Dense) and not proj.use_bias
        k = int(name.split("_")[1])
        assert proj.units == units[k - 1]
    assert model.output_shape == (None, 1)
    if units == (32, 16, 8):  # one forward pass suffices to show the projections line up
        x = np.random.default_rng(1).normal(size=(4, 7, 3)).astype("float32")
        out = keras.ops.convert_to_numpy(model(x, training=False))
        assert out.shape == (4, 1) and np.all(np.isfinite(out))


def test_build_lstm_plain_stack():
    model = build_lstm((7, 3), units=(6, 5, 4))
    assert [layer.name for layer in lstm_layers(model)] == ["lstm_1", "lstm_2", "lstm_3"]
    assert [layer.return_sequences for layer in lstm_layers(model)] == [True, True, False]
    assert _layer_names(model, keras.layers.Dropout) == ["dropout_1", "dropout_2"]
    assert not _layer_names(model, keras.layers.Add)
    assert model.name == "stacked_lstm"
    assert build_lstm((7, 3), units=(4, 4), residual=True).name == "residual_lstm"


def test_build_lstm_needs_units():
    with pytest.raises(ValueError, match="at least one"):
        build_lstm(units=())


# ------------------------------------------------------------------------------------------------
# lstm_layers


def test_lstm_layers_in_order(steps):
    model = steps["residual"]
    layers = lstm_layers(model)
    assert [layer.name for layer in layers] == ["lstm_1", "lstm_2", "lstm_3", "lstm_4"]
    assert all(isinstance(layer, keras.layers.LSTM) for layer in layers)
    assert layers == [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]


def test_lstm_layers_any_recurrent_layer():
    model = keras.Sequential(
        [
            keras.Input((6, 2)),
            keras.layers.GRU(4, return_sequences=True, name="gru"),
            keras.layers.Dropout(0.1),
            keras.layers.SimpleRNN(3, return_sequences=True, name="rnn"),
            keras.layers.LSTM(2, name="lstm"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    assert [layer.name for layer in lstm_layers(model)] == ["gru", "rnn", "lstm"]
    dense_only = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert lstm_layers(dense_only) == []


def test_without_cudnn_sets_and_restores_every_recurrent_layer():
    inputs = keras.Input((6, 2))
    hidden = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(inputs)
    hidden = keras.layers.GRU(3)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    layers = [la for la in model._flatten_layers() if hasattr(la, "use_cudnn")]
    assert len(layers) >= 3  # the two directions of the bidirectional LSTM and the GRU
    with without_cudnn(model):
        assert all(la.use_cudnn is False for la in layers)
    assert all(la.use_cudnn == "auto" for la in layers)
    with pytest.raises(RuntimeError), without_cudnn(model):
        raise RuntimeError("restored on error too")
    assert all(la.use_cudnn == "auto" for la in layers)
