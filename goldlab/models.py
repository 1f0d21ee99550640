"""Model builders: the blog's four steps as cumulative recipes, and a general stacked-LSTM builder.

Every LSTM here keeps Keras's defaults that make it eligible for the fused cuDNN kernel on a GPU:
``activation="tanh"``, ``recurrent_activation="sigmoid"``, ``recurrent_dropout=0``, ``unroll=False``,
``use_bias=True``. Dropout sits *between* layers, as in the blog.

Layer names are stable, from input to output: ``lstm_1``, ``lstm_2``, ...; ``dropout_k`` after ``lstm_k``;
``add_k`` and ``proj_k`` for the residual connection around ``lstm_k``; ``dense`` for the output. The
book's tables use these names.

Keras defaults worth knowing before reading the blog's steps (Keras 3, as in TF 2.15's Keras 2):

* ``LSTM(kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal")``: the recurrent kernel,
  the weight through which gradients flow *back in time*, is orthogonal already. Only the input kernel is
  Glorot-uniform.
* ``Adam(clipnorm=...)`` clips each variable's gradient to that norm separately; ``global_clipnorm`` clips
  the whole gradient vector. Either rescales the gradient *inside the optimizer*, so it bounds the step;
  neither changes the gradient the loss produced, which is what :mod:`goldlab.monitor` measures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import keras
import numpy as np

from goldlab import blog

__all__ = [
    "CELLS",
    "STEPS",
    "ChronoBias",
    "LastStep",
    "build_blog_residual",
    "build_lstm",
    "build_step",
    "compile_model",
    "lstm_layers",
    "without_cudnn",
]

#: The blog's four steps, in order; each includes the changes of the steps before it.
STEPS: tuple[str, ...] = blog.STEPS

#: Recurrent cells :func:`build_lstm` can stack, by name.
CELLS: tuple[str, ...] = ("lstm", "gru", "simple_rnn")

_BLOG_UNITS = (128, 64, 32)
_BLOG_RESIDUAL_UNITS = (128, 128, 128, 64)


@keras.saving.register_keras_serializable(package="goldlab")
class LastStep(keras.layers.Layer):
    """The last time step of a sequence: (batch, time, features) -> (batch, features)."""

    def call(self, x):
        return x[:, -1, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _initializer(spec: str | keras.initializers.Initializer | None, gain: float = 1.0):
    """A fresh initializer per layer (a shared unseeded instance could repeat values)."""
    if spec == "orthogonal":
        return keras.initializers.Orthogonal(gain=gain)
    if isinstance(spec, keras.initializers.Initializer):
        return spec.__class__.from_config(spec.get_config())
    return spec


@keras.saving.register_keras_serializable(package="goldlab")
class ChronoBias(keras.initializers.Initializer):
    """Chrono initialisation of an LSTM's bias (Tallec & Ollivier 2018), for ``LSTM(bias_initializer=...)``.

    A Keras LSTM's bias has four blocks of ``units`` in the order input, forget, cell, output (i, f, c, o).
    Chrono sets the forget block to ``log(u)`` with ``u ~ U(1, max_length - 1)`` per unit, the input block to
    its negative, and the other two to 0. Why: at initialisation the cell state then decays by about
    ``sigmoid(log u) = u / (1 + u)`` per step, a memory of about ``u`` steps, spread over the range of time
    lags the task may need; with a forget bias of 0 every unit forgets half its state each step. Use it with
    ``unit_forget_bias=False``, or Keras overwrites the forget block with ones.
    """

    def __init__(self, max_length: int, seed: int | None = None):
        if max_length < 3:
            raise ValueError(f"max_length must be >= 3 (u ~ U(1, max_length - 1)), got {max_length}")
        self.max_length = int(max_length)
        self.seed = seed

    def __call__(self, shape, dtype=None):
        (size,) = shape
        if size % 4:
            raise ValueError(f"an LSTM bias has 4 blocks (i, f, c, o) of equal size; got shape {shape}")
        units = size // 4
        # unseeded: numpy's global generator, which keras.utils.set_random_seed seeds
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002
        u = np.random.default_rng(seed).uniform(1.0, self.max_length - 1, size=units)
        forget = np.log(u)
        bias = np.concatenate([-forget, forget, np.zeros(2 * units)])
        return keras.ops.convert_to_tensor(bias, dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {"max_length": self.max_length, "seed": self.seed}


def _forget_bias_options(forget_bias: float | str, max_length: int | None) -> dict:
    """LSTM keyword arguments for a forget-gate bias of 1 (Keras's default), 0, or ``"chrono"``."""
    if forget_bias == "chrono":
        if max_length is None:
            raise ValueError("forget_bias='chrono' needs the sequence length: give input_shape=(T, features)")
        return {"bias_initializer": ChronoBias(max_length), "unit_forget_bias": False}
    if forget_bias == 1 or forget_bias == 1.0:
        return {}
    if forget_bias == 0:
        return {"bias_initializer": "zeros", "unit_forget_bias": False}
    raise ValueError(f"forget_bias must be 0, 1 (Keras's default) or 'chrono', not {forget_bias!r}")


def _lstm(
    units: int,
    return_sequences: bool,
    name: str,
    kernel_initializer,
    recurrent_initializer,
    gain=1.0,
    cell: str = "lstm",
    forget_bias: float | str = 1,
    max_length: int | None = None,
):
    options = dict(
        return_sequences=return_sequences,
        kernel_initializer=_initializer(kernel_initializer, gain),
        recurrent_initializer=_initializer(recurrent_initializer, gain),
        name=name,
    )
    if cell == "lstm":
        return keras.layers.LSTM(units, **options, **_forget_bias_options(forget_bias, max_length))
    if forget_bias != 1:
        raise ValueError(f"forget_bias applies to LSTM cells only, not to cell={cell!r}")
    if cell == "gru":
        return keras.layers.GRU(units, **options)
    if cell == "simple_rnn":
        return keras.layers.SimpleRNN(units, **options)
    raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")


def build_lstm(
    input_shape: tuple[int, int] = (60, 5),
    units: Sequence[int] = _BLOG_UNITS,
    dropout: float = 0.2,
    kernel_initializer: str | keras.initializers.Initializer = "glorot_uniform",
    recurrent_initializer: str | keras.initializers.Initializer = "orthogonal",
    residual: bool = False,
    gain: float = 1.0,
    name: str | None = None,
    cell: str = "lstm",
    forget_bias: float | str = 1,
) -> keras.Model:
    """A stack of LSTMs (or GRUs, or SimpleRNNs) with dropout between them, ending in ``Dense(1)``.

    Every LSTM but the last returns sequences. With ``residual=True`` each LSTM after the first adds its
    input back (``Add()``), through a learned linear projection (``Dense(units, use_bias=False)``, named
    ``proj_k``) where the widths differ, so widths never have to match. Around the last LSTM, which returns
    only its final state, the skip path takes the last time step of its input. The defaults are the blog's
    baseline: 128-64-32 units, Glorot-uniform input kernels, orthogonal recurrent kernels (Keras's defaults).
    ``gain`` applies to the initializers given as ``"orthogonal"``. ``cell`` is one of :data:`CELLS` (layers
    are then named ``gru_k`` or ``simple_rnn_k``); an LSTM's ``forget_bias`` is 1 (Keras's
    ``unit_forget_bias=True``), 0, or ``"chrono"`` (:class:`ChronoBias` for the input length ``T``).
    """
    if not units:
        raise ValueError("units must name at least one LSTM layer")
    inputs = keras.Input(shape=input_shape, name="window")
    x = inputs
    last = len(units)
    for k, width in enumerate(units, start=1):
        layer = _lstm(
            width,
            k < last,
            f"{cell}_{k}",
            kernel_initializer,
            recurrent_initializer,
            gain,
            cell,
            forget_bias,
            input_shape[0],
        )
        y = layer(x)
        if residual and k > 1:
            skip = x if k < last else LastStep(name=f"last_step_{k}")(x)
            if x.shape[-1] != width:
                skip = keras.layers.Dense(width, use_bias=False, name=f"proj_{k}")(skip)
            y = keras.layers.Add(name=f"add_{k}")([y, skip])
        x = y
        if k < last and dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{k}")(x)
    outputs = keras.layers.Dense(1, name="dense")(x)
    return keras.Model(inputs, outputs, name=name or ("residual_lstm" if residual else "stacked_lstm"))


def build_blog_residual(
    input_shape: tuple[int, int] = (60, 5), dropout: float = 0.2, gain: float = 1.0
) -> keras.Model:
    """The blog's step-4 network exactly: 128-128-128-64 LSTMs, ``Add()`` around the 2nd and 3rd.

    ``Input -> LSTM(128) -> Dropout -> [LSTM(128), Add] -> Dropout -> [LSTM(128), Add] -> Dropout ->
    LSTM(64) -> Dense(1)``; the three 128-unit LSTMs use ``Orthogonal(gain)`` for both kernels, the last
    LSTM keeps Keras's defaults. Note it is *deeper* than the baseline (four LSTMs instead of three, and
    wider), so comparing it with the baseline changes two things at once.
    """
    inputs = keras.Input(shape=input_shape, name="window")
    x = _lstm(128, True, "lstm_1", "orthogonal", "orthogonal", gain)(inputs)
    x = keras.layers.Dropout(dropout, name="dropout_1")(x)
    for k in (2, 3):
        y = _lstm(128, True, f"lstm_{k}", "orthogonal", "orthogonal", gain)(x)
        x = keras.layers.Add(name=f"add_{k}")([y, x])
        x = keras.layers.Dropout(dropout, name=f"dropout_{k}")(x)
    x = _lstm(64, False, "lstm_4", "glorot_uniform", "orthogonal")(x)
    outputs = keras.layers.Dense(1, name="dense")(x)
    return keras.Model(inputs, outputs, name="blog_residual")


def compile_model(
    model: keras.Model,
    learning_rate: float = 1e-3,
    clipnorm: float | None = None,
    global_clipnorm: float | None = None,
    clipvalue: float | None = None,
) -> keras.Model:
    """Compile with Adam, MSE loss and an MAE metric, as the blog does; returns the model.

    At most one clipping option: ``clipnorm`` (each variable's gradient separately, the blog's choice),
    ``global_clipnorm`` (the whole gradient) or ``clipvalue`` (each element).
    """
    given = {
        k: v for k, v in dict(clipnorm=clipnorm, global_clipnorm=global_clipnorm, clipvalue=clipvalue).items()
    }
    chosen = [k for k, v in given.items() if v is not None]
    if len(chosen) > 1:
        raise ValueError(f"give at most one clipping option, not {' and '.join(chosen)}")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, **{k: given[k] for k in chosen})
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def build_step(
    name: str,
    input_shape: tuple[int, int] = (60, 5),
    learning_rate: float = 1e-3,
    seed: int | None = None,
    **overrides,
) -> keras.Model:
    """The blog's model after step ``name`` (cumulative), compiled.

    * ``"baseline"``: LSTM(128) -> Dropout(0.2) -> LSTM(64) -> Dropout(0.2) -> LSTM(32) -> Dense(1) with
      Keras's defaults (input kernels Glorot-uniform, recurrent kernels already orthogonal); Adam(1e-3), MSE.
    * ``"clipnorm"``: + ``Adam(clipnorm=1.0)``: the optimizer rescales each variable's gradient to norm
      at most 1 before the step; the gradient the loss produced is unchanged.
    * ``"orthogonal"``: + ``Orthogonal(gain=1.0)`` input kernels. The recurrent kernels were orthogonal
      already, so of the blog's two changes only the input kernel's is new.
    * ``"residual"``: the blog's 128-128-128-64 network with ``Add()`` around LSTMs 2 and 3
      (:func:`build_blog_residual`), orthogonal kernels, clipnorm 1.0.

    ``seed`` (if given) calls ``keras.utils.set_random_seed`` first, so weights repeat. ``overrides`` go to
    :func:`compile_model` (``clipnorm``, ``global_clipnorm``, ``clipvalue``) or to the builder (e.g.
    ``units``, ``dropout``, ``gain``), replacing the step's own choice.
    """
    if name not in STEPS:
        raise ValueError(f"unknown step {name!r}; choose one of {', '.join(STEPS)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    level = STEPS.index(name)
    clip_keys = ("clipnorm", "global_clipnorm", "clipvalue")
    clipping = {k: overrides.pop(k) for k in clip_keys if k in overrides}
    if not clipping and level >= STEPS.index("clipnorm"):
        clipping = {"clipnorm": 1.0}
    if name == "residual":
        model = build_blog_residual(input_shape, **overrides)
    else:
        if level >= STEPS.index("orthogonal"):
            overrides.setdefault("kernel_initializer", "orthogonal")
        model = build_lstm(input_shape, name=name, **overrides)
    return compile_model(model, learning_rate=learning_rate, **clipping)


def lstm_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The recurrent layers of ``model`` (anything with a ``cell``: LSTM, GRU, SimpleRNN), input to output."""
    return [layer for layer in model.layers if hasattr(layer, "cell")]


@contextlib.contextmanager
def without_cudnn(model: keras.Model) -> Iterator[None]:
    """Within the block, ``model``'s recurrent layers trace Keras's plain (``lax.scan``) kernel, not cuDNN's.

    Under JAX on a GPU, Keras runs an LSTM through cuDNN's fused kernel, which JAX cannot ``vmap`` (no
    batching rule) and cannot differentiate in float64. Code that needs either traces its functions in
    this block; the layers' own setting (``use_cudnn="auto"``) is restored after it. On a CPU the plain
    kernel is what runs anyway.
    """
    layers = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if getattr(layer, "use_cudnn", None) == "auto"
    ]
    for layer in layers:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer in layers:
            layer.use_cudnn = "auto"
