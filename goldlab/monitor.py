"""Measure gradients, not weights: per-weight norms ‖∂L/∂W‖ and the gradient through time ‖∂L/∂x_t‖.

The blog's step-1 "monitor" printed ``tf.norm(layer.kernel)``: the norm of a *weight*, which says nothing
about how much signal reaches that weight, and which a Keras LSTM does not even have (its kernels live in
``layer.cell.kernel``), so for LSTMs it printed nothing. :class:`BlogWeightMonitor` reproduces it as written,
for the book to show what it prints. This module measures the real thing, on any Keras 3 model:

* :func:`gradient_norms`: ‖∂L/∂W‖₂ for every trainable variable, with per-layer totals;
* :func:`gradient_through_time`: ‖∂L/∂a_t‖₂ for every time step ``t`` of the sequence ``a`` that enters each
  recurrent layer. Vanishing gradients show here: how much the loss still depends on step ``t``;
* :class:`GradientMonitor`: a Keras callback recording both during training, with warnings, plots and
  TensorBoard.

**The loss** is the one ``fit`` trains: ``model.compute_loss`` as ``fit`` calls it, so the compiled loss or
losses (list or dict, with ``loss_weights``) plus the model's regularisation losses (weight regularisers and
``add_loss``/activity regularisers), weighted by the probe's sample weights as ``fit`` weights them
(Σ w_i·ℓ_i / n, Keras's ``sum_over_batch_size``); ``loss=`` for a loss that lives in a custom
``train_step``. An uncompiled model gets the mean squared error of each output. A stateful model is measured
in parts of its fixed batch size, from zero states, and its states are left as they were. The gradients are
averaged over the probe batch, in inference mode (dropout off), and nothing is updated: the same weights and
batch give the same figures under TensorFlow, JAX and PyTorch. They are the *raw* gradients: clipping
(``clipnorm`` and friends) acts later, inside the optimizer, on the update. On a GPU, JAX and TensorFlow round
float32 matrix products to TF32 by default (a 10-bit mantissa), so there the figures agree with a CPU's to
about three digits; ``jax.default_matmul_precision("highest")`` restores float32 products.

**The probe** takes every form ``fit`` takes one batch in (``(x, y)``, ``(x, y, sample_weight)``, dicts, a
dataset), and ``class_weight=`` as given to ``fit``. TensorBoard files (``log_dir=``) need
``pip install 'goldlab[tensorboard]'``.

**Recurrent layers** are found anywhere in the model (nested models and custom layers included): any
``keras.layers.RNN`` (LSTM, GRU, SimpleRNN, ``RNN(cell)`` with stacked cells, ConvLSTM1D/2D/3D) or any layer
with a ``cell``, and wrappers around them (``Bidirectional``, ``TimeDistributed``), taken as one unit. The
gradient through time at a layer is the gradient that the layer sends back to its input sequence: a zero
"tap" is added to that input inside the layer's call, and the gradient with respect to the tap is the
gradient with respect to the input along the layer's path (a skip connection around the layer is not
included). Time is axis 1 of the input (axis 2 under a ``TimeDistributed``); the norm is taken over every
other axis. Integer inputs through an ``Embedding`` thus get their profile from the first float sequence,
the embeddings; masked steps get a zero gradient.

**Where a view does not apply** the monitor says so and goes on: a model without recurrent layers gets its
time profile at its float sequence inputs (rank ≥ 3) instead, and an empty one when it has none (an image or
tabular model has no time axis); a recurrent layer whose input is not one float tensor gets no profile. Each
case raises one :class:`GradientWarning` naming the model part and the reason; weight norms are measured for
every model.

One backward pass gives both views (one per part, below). It is compiled once per :class:`GradientProbe` and
input shape (``tf.function`` / ``jax.jit``; eager in PyTorch).

**In parts, under JAX on a CPU.** XLA runs one compiled program on a CPU at about one core's worth of work (a
recurrent layer is a loop of small matrix products), so the probe splits its batch into parts, one per core,
and runs them at once on threads: each part's forward pass, then the compiled loss once on the whole batch's
predictions (their masks and the weight regularisers included), then each part's backward pass from its share
of ∂L/∂ŷ. For a model that treats each sample on its own in inference (as Keras's layers do), the gradients
are the whole batch's to rounding, for any compiled loss, in less wall time (the same work, on more cores). A
loss added inside the forward pass (``add_loss``, activity regularisers) need not be the sum of the parts'
losses, so such a model runs whole (``GradientProbe.parts`` and ``parts_declined``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
from keras.src.backend import compute_output_spec  # Keras 3 has no public name for it
from keras.src.trainers.compile_utils import CompileLoss  # compile's own loss object: its reduction
from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

from goldlab import blog
from goldlab._probe_engines import (
    PartsJax,
    Taps,
    as_tensor,
    auto_parts,
    batch_size,
    compile_jax,
    compile_tf,
    compile_torch,
    cut,
    is_float,
    tap_inputs,
    tapped,
    to_numpy,
)
from goldlab.models import without_cudnn

__all__ = [
    "BlogWeightMonitor",
    "GradientMonitor",
    "GradientProbe",
    "GradientWarning",
    "NotMeasurable",
    "ProbeResult",
    "TIME_VANISH",
    "gradient_norms",
    "gradient_through_time",
    "recurrent_layers",
    "time_ratio",
    "weight_norms",
]

log = logging.getLogger("goldlab.monitor")

_NORM_COLUMNS = ["layer", "weight", "norm"]
_TIME_COLUMNS = ["layer", "t", "norm"]


class NotMeasurable(ValueError):
    """The probe cannot measure this model on this batch (the message says why and what fixes it):
    :class:`GradientMonitor` warns once and lets training go on; the one-call functions raise it."""


class GradientWarning(UserWarning):
    """A gradient norm is below the vanishing threshold, above the exploding one or not finite; or a part of
    the model where a view (the gradient through time) cannot be measured."""


@dataclass(frozen=True)
class ProbeResult:
    """Raw gradients of one probe: per trainable variable and per monitored input sequence."""

    loss: float
    weights: dict[tuple[str, str], np.ndarray]  # (layer, weight) -> gradient
    inputs: dict[str, np.ndarray]  # part (recurrent layer or model input) -> gradient w.r.t. its input
    time_axes: dict[str, int] = field(default_factory=dict)  # part -> axis of time in its input (default 1)

    def norms(self) -> pd.DataFrame:
        """(layer, weight, norm) for every variable, plus one ``weight="total"`` row per layer."""
        rows = [(layer, weight, float(np.linalg.norm(g))) for (layer, weight), g in self.weights.items()]
        squares: dict[str, float] = {}
        for layer, _, norm in rows:
            squares[layer] = squares.get(layer, 0.0) + norm**2
        rows += [(layer, "total", float(np.sqrt(s))) for layer, s in squares.items()]
        return pd.DataFrame(rows, columns=_NORM_COLUMNS)

    def time_profile(self) -> pd.DataFrame:
        """(layer, t, norm): ‖∂L/∂a_t‖ over every axis but time; t = 1 is the first (oldest) step."""
        frames = []
        for layer, g in self.inputs.items():
            axis = self.time_axes.get(layer, 1)
            others = tuple(i for i in range(g.ndim) if i != axis)
            per_t = np.sqrt((g.astype(np.float64) ** 2).sum(axis=others))
            frames.append(pd.DataFrame({"layer": layer, "t": np.arange(1, len(per_t) + 1), "norm": per_t}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_TIME_COLUMNS)


# ------------------------------------------------------------------------------------------------
# Finding the parts of a model


def _time_axis(layer: keras.layers.Layer) -> int | None:
    """Axis of time in ``layer``'s input when it is recurrent (or wraps a recurrent layer), else None."""
    if isinstance(layer, keras.layers.TimeDistributed):
        inner = _time_axis(layer.layer)
        return None if inner is None else inner + 1
    if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)) or hasattr(layer, "cell"):
        return 1
    if isinstance(layer, keras.layers.Wrapper):
        return _time_axis(layer.layer)
    return None


def _sublayers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    return list(layer._flatten_layers(include_self=False, recursive=False))


def recurrent_layers(model: keras.Model) -> list[tuple[keras.layers.Layer, int]]:
    """(layer, time axis) of every outermost recurrent unit of ``model``, at any depth: an RNN or a wrapper
    of one (``Bidirectional(LSTM)`` is one unit, not two). The order is that of the model's layers."""
    found: dict[int, tuple[keras.layers.Layer, int]] = {}

    def visit(layer: keras.layers.Layer) -> None:
        for sub in _sublayers(layer):
            axis = _time_axis(sub)
            if axis is not None:
                found.setdefault(id(sub), (sub, axis))
            else:
                visit(sub)

    visit(model)
    return list(found.values())


def _variable_names(model: keras.Model) -> dict[int, tuple[str, str]]:
    """``id(variable) -> (layer, weight)`` for every trainable variable of ``model``, unique pairs.

    ``layer`` is the top-level layer owning the variable; ``weight`` its short name (``kernel``), or its path
    inside that layer when the short name repeats there (``forward_lstm/lstm_cell/kernel``)."""
    names: dict[int, tuple[str, str]] = {}
    owners = [(layer.name, layer.trainable_variables) for layer in model.layers]
    owners.append((model.name, model.trainable_variables))  # variables of the model itself, if any
    for owner, variables in owners:
        fresh = [v for v in variables if id(v) not in names]
        short = [v.name for v in fresh]
        for v in fresh:
            weight = v.name
            if short.count(v.name) > 1:
                path = getattr(v, "path", v.name)
                weight = path[len(owner) + 1 :] if path.startswith(owner + "/") else path
            names[id(v)] = (owner, weight)
    seen: dict[tuple[str, str], int] = {}
    for key, pair in names.items():  # a last guard: two layers of one name (possible in subclassed models)
        count = seen[pair] = seen.get(pair, 0) + 1
        if count > 1:
            names[key] = (pair[0], f"{pair[1]}#{count}")
    return names


def _no_loss(model: keras.Model) -> str | None:
    """Why the probe has no loss to measure on ``model`` (compiled without a loss, no ``compute_loss`` of its
    own: its loss lives in a custom ``train_step``), or None when it has one."""
    if not getattr(model, "compiled", False) or getattr(model, "_compile_loss", None) is not None:
        return None
    if type(model).compute_loss is not keras.Model.compute_loss:
        return None
    if type(model).train_step is keras.Model.train_step:  # fit's loss is then compute_loss's: model.losses
        return None
    return (
        "it is compiled without a loss (its loss lives in a custom train_step, which the monitor cannot "
        "see): no gradient is measured; pass the loss train_step computes as loss=, e.g. "
        "GradientMonitor(probe, loss=pinball)"
    )


def _stateful_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if getattr(layer, "stateful", False) and getattr(layer, "states", None) is not None
    ]


def _stateful_states(model: keras.Model) -> list:
    """The state variables of every stateful recurrent layer (Keras keeps them out of model.variables)."""
    return [s for layer in _stateful_layers(model) for s in keras.tree.flatten(layer.states)]


def _fixed_batch_size(model: keras.Model) -> int | None:
    """The one batch size a model with stateful layers takes (their states' first axis), else None."""
    sizes = {int(s.shape[0]) for s in _stateful_states(model)}
    sizes |= {
        int(b) for layer in _stateful_layers(model) if (b := getattr(layer, "_expected_batch_size", None))
    }
    if len(sizes) > 1:
        raise ValueError(f"model {model.name!r}: stateful layers of different batch sizes {sorted(sizes)}")
    return sizes.pop() if sizes else None


# ------------------------------------------------------------------------------------------------
# The probe


class GradientProbe:
    """Compiled gradient computation for one model: ``probe(x, y) -> ProbeResult``.

    ``x`` and ``y`` take whatever ``model.fit`` takes as one batch of arrays: one array, a list or a dict,
    integer or float (labels for sparse losses, one-hot rows for ``categorical_crossentropy``, ...). The
    time profile is measured at every recurrent layer's input, or at the model's float sequence inputs when
    it has no recurrent layer (see the module notes). ``notes`` maps each model part whose time profile cannot
    be measured to the reason; :class:`GradientMonitor` turns each into one warning.

    ``loss``: the loss of a model whose loss lives in a custom ``train_step`` (a Keras loss, its name or a
    function ``loss(y_true, y_pred)``), reduced as ``compile(loss=...)`` reduces it, plus the model's
    regularisation losses; without it such a model has nothing to measure (``no_loss`` says why, and
    :meth:`prepare` raises :class:`NotMeasurable`). A stateful model (``batch_size``, its fixed batch) is
    measured in parts of that size, from zero ``states``.

    ``parts`` (JAX only): split the batch into this many parts, run at once on as many threads, with the
    gradients of the whole batch to rounding (see the module notes). ``None``: on a CPU, ``min(cores,
    batch // 32)`` parts; on an accelerator one. ``1`` turns the split off. It saves time, not work: the
    parts keep that many cores busy while they run. Whenever the split cannot apply (the forward pass adds
    losses, an output without one row per sample, any error while tracing it) the batch runs whole from
    then on, and ``parts_declined`` says why (``None`` while the split applies or was never tried).
    """

    def __init__(self, model: keras.Model, parts: int | None = None, loss=None):
        self._check_parts(parts)
        self.model = model
        self.parts = parts
        self.loss = loss
        self._loss_fn = None if loss is None else CompileLoss(loss)
        self.no_loss = _no_loss(model) if loss is None else None  # why there is no loss to measure, or None
        self.states = _stateful_states(model)  # state variables of stateful layers: zero in every probe
        self.batch_size = _fixed_batch_size(model)  # the batch size a stateful model takes, else None
        self.parts_declined: str | None = None  # why the batch runs whole although it could be split
        self._split: PartsJax | None = None
        self.recurrent = recurrent_layers(model)
        self.layer_names = [layer.name for layer, _ in self.recurrent]
        self.notes: dict[str, str] = {}
        self._names: dict[int, tuple[str, str]] = {}  # filled once the model is built
        self._backend = keras.backend.backend()
        self._taps_on = True
        self._labels: list[str] = []
        self._axes: list[int] = []
        self._compiled = None
        self._prepared = False

    @staticmethod
    def _check_parts(parts: int | None) -> None:
        if parts is not None and parts < 1:
            raise ValueError(f"parts must be None or >= 1, not {parts}")
        if parts not in (None, 1) and keras.backend.backend() != "jax":
            raise ValueError(f"parts={parts} needs KERAS_BACKEND=jax; use parts=None or 1 on this backend")

    # -- the loss as a pure function of the variables' values ------------------------------------------

    def _variables(self, model: keras.Model) -> tuple[list, list]:
        trainable = [v for v in model.trainable_variables if is_float(v.dtype)]
        ids = {id(v) for v in trainable}
        return trainable, [v for v in model.variables if id(v) not in ids]

    def _scope(self, weights, others) -> keras.StatelessScope:
        """A scope in which the model's variables take the values ``weights`` (trainable) and ``others``,
        and the states of stateful layers are zero: each probe starts its sequences afresh, and what the
        layers write to their states stays in the scope (training's states are left as they were)."""
        trainable, rest = self._variables(self.model)
        mapping = list(zip(trainable, weights, strict=True)) + list(zip(rest, others, strict=True))
        mapping += [(s, keras.ops.zeros(s.shape, s.dtype)) for s in self.states]
        return keras.StatelessScope(state_mapping=mapping, collect_losses=True)

    def _predict(self, x, taps: Taps | None):
        """The model's prediction on ``x`` in inference mode, with the taps in place (inside a scope)."""
        if taps is not None and not self.recurrent:
            x = tap_inputs(x, taps)
        with tapped(self.recurrent, taps):
            return self.model(x, training=False)

    def _loss_of(self, weights, others, x, y, w, taps: Taps | None):
        """The model's loss on (x, y) with sample weights ``w`` (or None) at ``weights`` (trainable) and
        ``others`` (every other variable)."""
        with self._scope(weights, others):
            return self._loss(x, y, w, self._predict(x, taps))

    def _loss(self, x, y, w, y_pred):
        """The loss ``fit`` trains on one batch: ``loss=`` or the compiled loss(es), each reduced as Keras
        reduces it (``sum_over_batch_size``: Σ w_i·ℓ_i / n over the batch's n samples), plus the model's
        regularisation losses; the mean squared error of each output for an uncompiled model."""
        model = self.model
        if self._loss_fn is not None:
            parts = [self._loss_fn(y, y_pred, w)] + [keras.ops.sum(loss) for loss in model.losses]
        elif getattr(model, "compiled", False):
            # Keras's own wrapper: it also serves a compute_loss override without a training argument
            compute = getattr(model, "_compute_loss", model.compute_loss)
            return compute(x=x, y=y, y_pred=y_pred, sample_weight=w, training=False)
        else:
            weights = keras.tree.flatten(w) if keras.tree.is_nested(w) else [w] * len(keras.tree.flatten(y))
            mse = keras.losses.MeanSquaredError()
            parts = [
                mse(t, p, sample_weight=sw)
                for t, p, sw in zip(keras.tree.flatten(y), keras.tree.flatten(y_pred), weights, strict=True)
            ]
            parts += [keras.ops.sum(loss) for loss in model.losses]
        return parts[0] if len(parts) == 1 else keras.ops.sum(keras.ops.stack(parts))

    # -- one compiled step per backend -------------------------------------------------------------------

    def _compile(self, taps_on: bool):
        engines = {"tensorflow": compile_tf, "jax": compile_jax, "torch": compile_torch}
        if self._backend in engines:
            return engines[self._backend](self._loss_of, self._record, taps_on)
        raise NotImplementedError(f"backend {self._backend!r} is not supported (tensorflow, jax, torch)")

    def _record(self, taps: Taps | None) -> None:
        """Keep what a trace of the forward pass found: the tapped parts, and the notes on the others."""
        if taps is None:
            return
        self._labels, self._axes = taps.labels, taps.axes
        for part, why in taps.skipped.items():
            self.notes.setdefault(part, why + ": no gradient through time there")
        if not self.recurrent and taps.labels:
            inputs = ", ".join(taps.labels)
            why = f"no recurrent layer: gradient through time at its float sequence input ({inputs})"
            self.notes.setdefault("whole model", why)
        elif not self.recurrent:
            why = "no recurrent layer and no float sequence input (rank >= 3): no gradient through time"
            self.notes.setdefault("whole model", why + ", its time profile stays empty")

    # -- calling it --------------------------------------------------------------------------------------

    def prepare(self, x, y, sample_weight=None) -> tuple:
        """(x, y, sample_weight) as backend tensors of the dtypes the model takes; build the model and its
        loss if needed. Raises :class:`NotMeasurable` when there is nothing to measure (no loss, a probe
        smaller than a stateful model's batch).

        Float arrays take the dtype of the model's input when it declares one (a float64 model stays in
        float64), else Keras's ``floatx``; integer arrays (token ids, class labels) become int32; sample
        weights take ``floatx``."""
        if self.no_loss is not None:
            raise NotMeasurable(self.no_loss)
        x_float = self._float_dtype()
        x = keras.tree.map_structure(lambda a: as_tensor(np.asarray(a), x_float), x)
        y = keras.tree.map_structure(lambda a: as_tensor(np.asarray(a), x_float), y)
        if sample_weight is not None:
            floatx = keras.backend.floatx()
            sample_weight = keras.tree.map_structure(
                lambda a: as_tensor(np.asarray(a), floatx), sample_weight
            )
        self._check_batch(batch_size(x))
        with _probing():
            self._ensure_built(x, y, sample_weight)
        return x, y, sample_weight

    def _check_batch(self, n: int) -> None:
        """A stateful model takes batches of its fixed size only: note how the probe is split, or raise."""
        size = self.batch_size
        if size is None or n == size:
            return
        if n < size:
            raise NotMeasurable(
                f"the probe has {n} samples, fewer than the batch of {size} that its stateful layers take: "
                f"give a probe of at least {size} samples"
            )
        k, left = divmod(n, size)
        self.notes.setdefault(
            "probe batch",
            f"its stateful layers take batches of {size}: the probe of {n} samples is measured as {k} "
            f"part(s) of {size}, each from zero states (training's states are left as they are)"
            + (f"; the last {left} sample(s) are left out" if left else ""),
        )

    def _float_dtype(self) -> str:
        try:
            declared = [t.dtype for t in keras.tree.flatten(self.model.inputs)]
        except (AttributeError, ValueError):  # subclassed or Sequential without Input: nothing declared
            declared = []
        floats = {keras.backend.standardize_dtype(d) for d in declared if is_float(d)}
        return floats.pop() if len(floats) == 1 else keras.backend.floatx()

    def _ensure_built(self, x, y, w=None) -> None:
        """Build the model and its compiled loss (as ``fit`` does first), then name its variables."""
        if self._prepared:
            return
        model = self.model
        if self.batch_size is not None:  # a stateful model is built on a batch of its own size
            x, y, w = cut((x, y, w), ((0, self.batch_size),))[0]
        if getattr(model, "compiled", False) and hasattr(model, "_symbolic_build"):
            model._symbolic_build(data_batch=(x, y, w))  # what fit does first: builds the model and its loss
        elif not model.built:
            model(x, training=False)
        if self._loss_fn is not None and not self._loss_fn.built:
            self._loss_fn.build(y, compute_output_spec(model, x, training=False))
        self.states, self.batch_size = _stateful_states(model), _fixed_batch_size(model)
        self._names = _variable_names(model)
        self._prepared = True

    def _same_variables(self, model: keras.Model) -> tuple[list, list]:
        """``model``'s variables, checked to match this probe's model one for one."""
        ours, rest = self._variables(self.model)
        theirs, their_rest = self._variables(model)
        names = _variable_names(model)
        if [(self._names.get(id(v)), tuple(v.shape)) for v in ours] != [
            (names.get(id(v)), tuple(v.shape)) for v in theirs
        ] or len(rest) != len(their_rest):
            raise ValueError(f"model {model.name!r} does not have the variables of {self.model.name!r}")
        return theirs, their_rest

    def __call__(
        self,
        x,
        y,
        model: keras.Model | None = None,
        prepared: bool = False,
        sample_weight=None,
    ) -> ProbeResult:
        """Gradients on (x, y) at the weights of ``model``: by default the probe's own model; another copy
        of the same architecture (say, another seed) reuses this compiled probe. ``sample_weight``: weights
        of the probe's samples, as ``fit`` takes them (the loss is then the weighted one ``fit`` trains).
        ``prepared``: (x, y, sample_weight) come from :meth:`prepare` already (a monitor converts its fixed
        batch once)."""
        with _probing():
            if not prepared:
                x, y, sample_weight = self.prepare(x, y, sample_weight)
            self._ensure_built(x, y, sample_weight)
            own = model is None or model is self.model
            trainable, rest = self._variables(self.model) if own else self._same_variables(model)
            weights = [v.value for v in trainable]
            others = [v.value for v in rest]
            loss, gw, ge = self._run_batches(weights, others, x, y, sample_weight)
        ours = trainable if own else self._variables(self.model)[0]
        return ProbeResult(
            loss=float(loss),
            weights={self._names[id(v)]: g for v, g in zip(ours, gw, strict=True)},
            inputs=dict(zip(self._labels, ge, strict=True)),
            time_axes=dict(zip(self._labels, self._axes, strict=True)),
        )

    def _run_batches(self, weights, others, x, y, w) -> tuple:
        """(loss, ∂L/∂W, ∂L/∂taps) as numpy: of the whole batch, or for a stateful model the mean over its
        parts of the model's batch size (the loss of the parts together: each is a mean over as many
        samples)."""
        n, size = batch_size(x), self.batch_size
        if size is None or n == size:
            return to_numpy(self._run(weights, others, x, y, w))
        self._check_batch(n)
        spans = tuple((lo, lo + size) for lo in range(0, n - size + 1, size))
        runs = [to_numpy(self._run(weights, others, *part)) for part in cut((x, y, w), spans)]
        k = len(runs)
        loss = sum(float(r[0]) for r in runs) / k
        gw = [sum(r[1][i] for r in runs) / k for i in range(len(runs[0][1]))]
        ge = [np.concatenate([r[2][j] for r in runs], axis=0) / k for j in range(len(runs[0][2]))]
        return loss, gw, ge

    def _parts_step(self, x) -> PartsJax | None:
        """The probe split into parts run at once (JAX only), or None to run the batch whole."""
        if self._backend != "jax" or self.parts_declined is not None:
            return None
        if self.batch_size is not None:
            self.parts_declined = "its stateful layers take batches of one size only"
            return None
        n = batch_size(x)
        k = min(n, self.parts if self.parts is not None else auto_parts(n))
        if k <= 1:
            return None
        if self._split is None or (self._split.k, self._split.taps_on) != (k, self._taps_on):
            self._split = PartsJax(self._scope, self._predict, self._loss, self._record, self._taps_on, k)
        return self._split

    def _kernels(self, weights) -> contextlib.AbstractContextManager:
        """Where the probe is traced: JAX cannot differentiate cuDNN's LSTM kernel in float64 (GPU), so a
        probe with float64 ``weights`` (the values it is called with) traces Keras's plain kernel."""
        if self._backend == "jax" and any(str(w.dtype) == "float64" for w in weights):
            return without_cudnn(self.model)
        return contextlib.nullcontext()

    def _run(self, weights, others, x, y, w):
        parts = self._parts_step(x)
        if parts is not None:
            try:
                with self._kernels(weights):
                    return parts(weights, others, x, y, w)
            except Exception as err:  # noqa: BLE001 - the whole batch in one pass is the reference: it decides
                self.parts_declined = f"{type(err).__name__}: {err}"
                log.info("probe of %r runs the batch whole: %s", self.model.name, self.parts_declined)
        if self._compiled is None:
            self._compiled = self._compile(self._taps_on)
        try:
            with self._kernels(weights):
                return self._compiled(weights, others, x, y, w)
        except Exception as err:  # noqa: BLE001 - any failure of the taps: fall back to weight norms
            if not self._taps_on:
                raise ValueError(
                    f"the gradient probe cannot compute the loss of model {self.model.name!r} on its probe "
                    f"batch: {type(err).__name__}: {err}"
                ) from err
            self.notes["whole model"] = (
                f"the gradient through time could not be measured ({type(err).__name__}: {err}); "
                "weight norms only"
            )
            self._taps_on, self._labels, self._axes = False, [], []
            self._compiled = self._compile(False)
            return self._run(weights, others, x, y, w)


_PROBING = 0  # > 0 while a probe computes a loss: its calls of compute_loss are not fit's (_LossWatch)


@contextlib.contextmanager
def _probing():
    global _PROBING
    _PROBING += 1
    try:
        yield
    finally:
        _PROBING -= 1


# ------------------------------------------------------------------------------------------------
# One-call functions


def _probe_once(model: keras.Model, x, y, sample_weight, loss) -> ProbeResult:
    probe = GradientProbe(model, loss=loss)
    result = probe(x, y, sample_weight=sample_weight)
    for part, why in probe.notes.items():
        warnings.warn(f"model {model.name!r}, {part}: {why}", GradientWarning, stacklevel=3)
    return result


def gradient_norms(model: keras.Model, x, y, sample_weight=None, loss=None) -> pd.DataFrame:
    """‖∂L/∂W‖₂ for every trainable variable of ``model`` on one batch, without training.

    Returns columns ``layer``, ``weight``, ``norm``, one row per variable (``weight`` is ``kernel``,
    ``recurrent_kernel``, ``bias``, ...) and one ``weight == "total"`` row per layer (the norm of all that
    layer's gradients together). Raw gradients of the model's loss in inference mode: see the module notes.
    ``sample_weight`` and ``loss`` as for :class:`GradientMonitor`; :class:`NotMeasurable` when there is
    no loss to measure.
    """
    return _probe_once(model, x, y, sample_weight, loss).norms()


def gradient_through_time(model: keras.Model, x, y, sample_weight=None, loss=None) -> pd.DataFrame:
    """‖∂L/∂a_t‖₂ for each time step ``t`` of the sequence entering each recurrent layer.

    Returns columns ``layer``, ``t``, ``norm``; ``t = 1`` is the first (oldest) step of the sequence and
    ``t = T`` the last. For a first recurrent layer fed by the model's input, ``a`` is the input window
    itself. A ratio ``norm(t=1) / norm(t=T)`` far below 1 means the loss barely depends on the early steps:
    the gradient has vanished on its way back through time. Empty, with a :class:`GradientWarning`, for a
    model with neither a recurrent layer nor a float sequence input. ``sample_weight`` and ``loss`` as for
    :class:`GradientMonitor`.
    """
    return _probe_once(model, x, y, sample_weight, loss).time_profile()


def time_ratio(profile: pd.DataFrame, by: Sequence[str] | None = None) -> pd.Series:
    """``norm(t=1) / norm(t=T)`` for each group of a gradient-through-time table: how much of the gradient
    that reaches the latest day of the window still reaches the oldest (1 = all of it).

    ``by``: the groups; by default each layer, and each epoch of a table that has an ``epoch`` column (a
    :class:`GradientMonitor`'s ``time_profile``), so that records of different epochs never mix. Read it for
    a one-directional layer fed real steps at ``t = 1``: a ``Bidirectional`` layer's backward half sends its
    strongest gradient to ``t = 1``, and a masked (padded) first step gets none at all."""
    if by is None:
        by = ["epoch", "layer"] if "epoch" in profile.columns else ["layer"]
    ordered = profile.sort_values("t")
    groups = ordered.groupby(list(by))["norm"]
    return (groups.first() / groups.last()).rename("ratio_first_last")


def weight_norms(model: keras.Model) -> pd.DataFrame:
    """‖W‖₂ of every trainable variable: what the blog's monitor prints, had it found the LSTM kernels."""
    names = _variable_names(model)
    rows = [
        (*names[id(v)], float(np.linalg.norm(keras.ops.convert_to_numpy(v.value))))
        for v in model.trainable_variables
    ]
    return pd.DataFrame(rows, columns=_NORM_COLUMNS)


# ------------------------------------------------------------------------------------------------
# The callback


#: The monitor warns of a gradient vanishing through time where a recurrent layer's input passes under this
#: share of the gradient that reaches its newest step to its oldest one (``‖∂L/∂a_1‖ / ‖∂L/∂a_T‖``,
#: :func:`time_ratio`). It is the book's own bar, which :mod:`goldlab.lab.claims` reads from here: chapter 1's
#: "vanishes through time" verdict and chapter 5's bar for runs that learnt a long-memory task (those end at
#: ratios of order one). Under a tenth of the gradient at the oldest step, the window's early days barely
#: move the weights: the model learns from its last days only, whatever the window's length.
TIME_VANISH = 0.1


class GradientMonitor(keras.callbacks.Callback):
    """Record gradient norms per weight and through time while any Keras model trains.

    Attach it to a model you built, compiled with any loss::

        inputs = keras.Input((None,), dtype="int32")              # token ids
        h = keras.layers.Embedding(5000, 32, mask_zero=True)(inputs)
        h = keras.layers.Bidirectional(keras.layers.LSTM(32))(h)
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
        model.compile("adam", "sparse_categorical_crossentropy")
        monitor = GradientMonitor(probe=(x_train[:64], y_train[:64]))
        model.fit(x_train, y_train, epochs=10, callbacks=[monitor])
        monitor.plot()                                            # norms per layer, gradient through time

    **The probe** is a fixed batch in any form ``fit`` takes as one batch: ``(x, y)``, ``(x, y,
    sample_weight)``, ``(x,)``, arrays, lists or dicts; a ``tf.data.Dataset`` or ``keras.utils.PyDataset``
    gives its first batch. Its cost per record is one forward and backward pass over it, about
    ``len(x) / n_training_samples`` of an epoch's work; under JAX on a CPU of several cores ``parts`` of it
    run at once, which takes less time (see :class:`GradientProbe`). On a GPU a small model's epoch is
    short and the probe's share larger.

    **The loss** is the one ``fit`` trains: the compiled loss(es) with regularisation (see the module
    notes), weighted by the probe's sample weights as Keras weights them (Σ w_i·ℓ_i / n). A callback cannot
    see the ``sample_weight`` or ``class_weight`` given to ``fit``: give the same to the probe (as its third
    element, or ``class_weight=`` here). The monitor watches the loss computation of ``fit``'s first step
    and warns when it is weighted and the probe is not (or the other way round), or when a custom
    ``train_step`` does not compute the compiled loss. A model whose loss lives in its own ``train_step``
    (compiled with an optimizer only) needs ``loss=``: a Keras loss, its name or a function ``loss(y_true,
    y_pred)``, reduced as ``compile(loss=...)`` reduces it, plus the model's regularisation losses; without
    it the monitor warns once and records nothing.

    **Stateful models** (``stateful=True``, a fixed batch size): a probe larger than the model's batch is
    measured as parts of that size (the last ``n % batch`` samples left out), the loss and gradients being
    the mean over the parts, i.e. those of the parts' samples together; each part starts from zero states,
    and training's states are left as they were. It says so once. A probe smaller than the batch cannot be
    measured (a warning, then nothing recorded).

    Every ``every`` epochs, and once before the first epoch of each ``fit`` (epoch 0, or ``fit``'s
    ``initial_epoch``: a monitor kept for a second ``fit`` numbers on when given ``initial_epoch``, and
    repeats the numbers from 0 when not), the monitor computes the raw gradients (see :class:`GradientProbe`
    and the module notes) and appends them to

    * ``history``: columns ``epoch, layer, weight, norm`` (``weight == "total"`` rows are per-layer totals);
    * ``time_profile``: columns ``epoch, layer, t, norm`` (gradient through time at each recurrent layer's
      input; at the model's float sequence inputs for a model without recurrent layers; empty for a model
      with neither, which has no time axis to measure);
    * ``events``: columns ``epoch, layer, kind, norm`` for every warning raised.

    It warns (:class:`GradientWarning` and a log line), naming layer and epoch, when a layer's total norm is
    below ``vanish``, above ``explode``, or NaN/inf (every record); when the gradient through time reaching
    a layer's oldest input step is under ``time_vanish`` (:data:`TIME_VANISH`) of the newest step's (once
    per layer; every record below it is in ``events``, kind ``"vanishing through time"``; ``0`` turns it
    off), or when the oldest step gets no gradient at all (masked or unused); and once per model part it
    cannot measure (``kind == "not measured"``), going on with what it can. Whatever it cannot measure at all
    (no loss, a probe too small for a stateful model) is one warning, and training goes on; a probe batch the
    model cannot take at all is an error, raised before the first epoch.

    With ``log_dir`` it writes, for TensorBoard, a scalar per layer and a histogram per variable of the
    gradients (Keras 3 dropped ``write_grads``), each layer's :func:`time_ratio`, and the time profile of each
    record as a run of its own (``log_dir/time_profile/epoch_0007``: one chart per layer, norm against the
    step ``t``, one line per epoch); that needs TensorBoard (``pip install 'goldlab[tensorboard]'``), whatever
    the backend. ``compiled``: a :class:`GradientProbe` of another model of the same architecture to reuse
    (one compilation for several seeds; it keeps its own ``loss``); ``parts``: passed to the probe it builds
    (``compiled`` keeps its own), and ``parts_declined`` reports back from it.
    """

    def __init__(
        self,
        probe,
        every: int = 1,
        vanish: float = blog.VANISH,
        explode: float = 1e3,
        log_dir=None,
        compiled: GradientProbe | None = None,
        parts: int | None = None,
        loss=None,
        class_weight: dict | None = None,
        time_vanish: float = TIME_VANISH,
    ):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, not {every}")
        if compiled is None:
            GradientProbe._check_parts(parts)
        self.x, self.y, self.sample_weight = _unpack_probe(probe, class_weight)
        self.every, self.vanish, self.explode, self.log_dir = every, vanish, explode, log_dir
        self.time_vanish, self.loss = time_vanish, loss
        self._rows: list[pd.DataFrame] = []
        self._time_rows: list[pd.DataFrame] = []
        self._events: list[tuple[int, str, str, float]] = []
        self._warned: set[str] = set()
        self._shared, self.parts = compiled, parts
        self._starting = False
        self._probe: GradientProbe | None = None
        self._batch = None
        self._writer = None
        self._watch = _LossWatch()
        self._epoch = 0

    @property
    def history(self) -> pd.DataFrame:
        return _concat(self._rows, ["epoch", *_NORM_COLUMNS])

    @property
    def time_profile(self) -> pd.DataFrame:
        return _concat(self._time_rows, ["epoch", *_TIME_COLUMNS])

    @property
    def parts_declined(self) -> str | None:
        """Why the probe runs its batch whole although it could split it (see :class:`GradientProbe`)."""
        return None if self._probe is None else self._probe.parts_declined

    @property
    def events(self) -> pd.DataFrame:
        return pd.DataFrame(self._events, columns=["epoch", "layer", "kind", "norm"])

    def plot(self, axes=None):
        """Per-layer gradient norms over epochs and the gradient through time (first and last record), in
        one figure (log scales); returns the two axes. See :func:`goldlab.plots.gradient_monitor`."""
        from goldlab import plots

        return plots.gradient_monitor(self.history, self.time_profile, axes=axes)

    def on_train_begin(self, logs=None):
        if self._shared is not None:
            self._probe = self._shared
        elif self._probe is None or self._probe.model is not self.model:
            self._probe = GradientProbe(self.model, parts=self.parts, loss=self.loss)
        try:
            self._batch = self._probe.prepare(self.x, self.y, self.sample_weight)
        except NotMeasurable as err:
            self._batch = None
            self._once("whole model", f"nothing is measured: {err}", self._initial_epoch())
        if self.log_dir is not None and self._writer is None:
            self._writer = _summary_writer(self.log_dir)
        self._watch.start(self.model)
        self._starting = True

    def _initial_epoch(self) -> int:
        return int(getattr(self.model, "_initial_epoch", None) or 0)

    def on_train_batch_end(self, batch, logs=None):
        if self._watch.active:  # fit's first step has been traced (or run): compare its loss with ours
            seen = self._watch.stop(self.model)
            for why in _loss_mismatch(self.model, seen, self._probe, self.sample_weight is not None):
                self._once("loss", why, self._epoch)

    def on_train_end(self, logs=None):
        self._watch.stop(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._starting:  # the weights this fit starts from, labelled with its first epoch (initial_epoch)
            self._starting = False
            self._record(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)

    def _record(self, epoch: int) -> None:
        if self._batch is None:
            return
        x, y, w = self._batch
        result = self._probe(x, y, self.model, prepared=True, sample_weight=w)
        self._note(epoch)
        norms = result.norms()
        norms.insert(0, "epoch", epoch)
        self._rows.append(norms)
        profile = result.time_profile()
        profile.insert(0, "epoch", epoch)
        self._time_rows.append(profile)
        totals = norms[norms["weight"] == "total"]
        for layer, norm in zip(totals["layer"], totals["norm"], strict=True):
            self._check(epoch, layer, norm)
        ratios = time_ratio(profile, by=["layer"]) if not profile.empty else pd.Series(dtype=float)
        for layer, ratio in ratios.items():
            self._check_time(epoch, str(layer), float(ratio))
        if self._writer is not None:
            _write_summaries(self._writer, result, norms, epoch, ratios)
            _write_profile(self.log_dir, profile, epoch)

    def _once(self, part: str, why: str, epoch: int, kind: str = "not measured") -> None:
        """One warning (and event) about ``part`` of the model, the first time ``why`` is seen."""
        key = f"{part}: {why}"
        if key in self._warned:
            return
        self._warned.add(key)
        text = f"GradientMonitor on model {self.model.name!r}, {part}: {why}"
        self._events.append((epoch, part, kind, float("nan")))
        log.warning(text)
        warnings.warn(text, GradientWarning, stacklevel=3)

    def _note(self, epoch: int) -> None:
        """One warning per model part whose time profile cannot be measured, the first time it is seen."""
        for part, why in self._probe.notes.items():
            if part in self._warned:
                continue
            self._warned.add(part)
            kind = "probe split" if part == "probe batch" else "not measured"
            text = f"GradientMonitor on model {self.model.name!r}, {part}: {why}"
            self._events.append((epoch, part, kind, float("nan")))
            log.warning(text)
            warnings.warn(text, GradientWarning, stacklevel=3)

    def _check(self, epoch: int, layer: str, norm: float) -> None:
        if not np.isfinite(norm):
            kind, detail = "nonfinite", "is not finite"
        elif norm < self.vanish:
            kind, detail = "vanishing", f"is below {self.vanish:g}"
        elif norm > self.explode:
            kind, detail = "exploding", f"is above {self.explode:g}"
        else:
            return
        text = f"epoch {epoch}: gradient norm of layer {layer} = {norm:.3g} {detail} ({kind})"
        self._events.append((epoch, layer, kind, norm))
        log.warning(text)
        warnings.warn(text, GradientWarning, stacklevel=2)

    def _check_time(self, epoch: int, layer: str, ratio: float) -> None:
        """The through-time view of :meth:`_check`: the oldest step's share of the newest step's gradient."""
        if not np.isfinite(ratio):  # no gradient at the newest step: the totals' checks speak for it
            return
        if ratio == 0:
            kind = "no gradient at t=1"
            detail = "its oldest input step gets no gradient at all (a masked or padded step, or unused)"
        elif ratio < self.time_vanish:
            kind = "vanishing through time"
            detail = (
                f"the gradient through time at its oldest input step is {ratio:.3g} of the newest step's "
                f"(‖∂L/∂a_1‖/‖∂L/∂a_T‖), below {self.time_vanish:g}: vanishing through time"
            )
        else:
            return
        self._events.append((epoch, layer, kind, ratio))
        if (layer, kind) in self._warned:
            return
        self._warned.add((layer, kind))
        text = f"epoch {epoch}: layer {layer}: {detail} (warned once per layer; every record in events)"
        log.warning(text)
        warnings.warn(text, GradientWarning, stacklevel=2)


def _unpack_probe(probe, class_weight: dict | None) -> tuple:
    """(x, y, sample_weight) of a probe given as ``fit`` takes one batch (see :class:`GradientMonitor`)."""
    if isinstance(probe, keras.utils.PyDataset):
        probe = probe[0]
    elif hasattr(probe, "as_numpy_iterator"):  # a tf.data.Dataset
        probe = next(iter(probe.as_numpy_iterator()))
    if isinstance(probe, (tuple, list)) and not 1 <= len(probe) <= 3:
        raise ValueError(
            f"probe: a tuple (x,), (x, y) or (x, y, sample_weight) as fit takes them, not {len(probe)} items "
            "(several model inputs go in one list or dict: probe=([x1, x2], y))"
        )
    x, y, w = keras.utils.unpack_x_y_sample_weight(tuple(probe) if isinstance(probe, list) else probe)
    if class_weight is not None:
        if w is not None:
            raise ValueError("give the probe's sample weights or class_weight=, not both (as fit)")
        if y is None or keras.tree.is_nested(y):
            raise ValueError("class_weight= needs one array of labels y in the probe (as fit)")
        w = class_weight_to_sample_weights(np.asarray(y), class_weight)
    return x, y, w


class _LossWatch:
    """Sees whether ``fit``'s train step computes the model's loss, and with sample weights or without.

    From :meth:`start` until :meth:`stop`, ``model.compute_loss`` is wrapped (once per model, whatever the
    number of monitors watching it), and each call the train step makes while it is traced (or run,
    eagerly) is recorded; a probe's own calls are not (see :func:`_probing`)."""

    def __init__(self):
        self.active = False
        self.seen: list[bool] = []  # one per call: were sample weights given
        self._first = True

    def start(self, model: keras.Model) -> None:
        if not self._first or not hasattr(model, "make_train_function"):
            return  # a second fit reuses its traced step: what the first one saw stands
        self._first = False
        wrapper = vars(model).get("compute_loss")
        if not hasattr(wrapper, "goldlab_watches"):
            wrapper = _watched_compute_loss(model.compute_loss)
            object.__setattr__(model, "compute_loss", wrapper)
        wrapper.goldlab_watches[:] = [w for w in wrapper.goldlab_watches if w.active]  # a fit that failed
        wrapper.goldlab_watches.append(self)
        model.make_train_function(force=True)  # traced anew at the first step, so the watch sees it
        self.active = True

    def stop(self, model: keras.Model) -> list[bool]:
        if self.active:
            self.active = False
            wrapper = vars(model).get("compute_loss")
            watches = getattr(wrapper, "goldlab_watches", [])
            if self in watches:
                watches.remove(self)
            if wrapper is not None and not watches:
                object.__delattr__(model, "compute_loss")
        return self.seen


def _watched_compute_loss(original: Callable) -> Callable:
    """``original`` (a model's ``compute_loss``), telling every watch in ``goldlab_watches`` of each call
    made outside a probe whether it had sample weights."""

    @functools.wraps(original)
    def compute_loss(*args, **kwargs):
        if not _PROBING:
            weights = kwargs.get("sample_weight", args[3] if len(args) > 3 else None)
            for watch in compute_loss.goldlab_watches:
                watch.seen.append(weights is not None)
        return original(*args, **kwargs)

    compute_loss.goldlab_watches = []
    return compute_loss


def _loss_mismatch(model: keras.Model, seen: list[bool], probe: GradientProbe | None, weighted: bool):
    """Why the monitor's loss may not be the one ``fit``'s first step computed (``seen``: its calls of
    ``compute_loss``, with sample weights or not), one sentence each."""
    if probe is None or probe.no_loss is not None:
        return
    custom = type(model).train_step is not keras.Model.train_step
    if not seen:
        if custom and probe.loss is None:
            yield (
                "its train_step does not call compute_loss: the monitor measures the compiled loss, which "
                "may not be the loss it trains; pass that loss as loss="
            )
        return
    if probe.loss is not None and not custom:
        yield (
            "fit trains the compiled loss, but the monitor measures the loss= given to it instead; leave "
            "loss= out to measure the compiled loss"
        )
    if any(seen) and not weighted:
        yield (
            "fit trains a weighted loss (sample_weight or class_weight) but the probe has no sample weights: "
            "the monitor measures the unweighted loss; give probe=(x, y, sample_weight) or class_weight="
        )
    elif weighted and not any(seen):
        yield (
            "the probe has sample weights but fit trains an unweighted loss: the monitor measures a weighted "
            "one; give probe=(x, y) to measure the loss fit trains"
        )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _summary_writer(log_dir):
    try:
        import tensorboard  # noqa: F401 - tf.summary.scalar/histogram live there, not in tensorflow
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            "GradientMonitor(log_dir=...) writes TensorBoard files, which needs the tensorboard package "
            "(and TensorFlow): pip install 'goldlab[tensorboard]'"
        ) from err
    return tf.summary.create_file_writer(str(log_dir))


def _write_summaries(writer, result: ProbeResult, norms: pd.DataFrame, epoch: int, ratios: pd.Series) -> None:
    import tensorflow as tf

    with writer.as_default(step=epoch):
        for row in norms[norms["weight"] == "total"].itertuples():
            tf.summary.scalar(f"gradient_norm/{row.layer}", row.norm)
        for (layer, weight), grad in result.weights.items():
            tf.summary.histogram(f"gradients/{layer}/{weight}", grad)
        for layer, ratio in ratios.items():
            tf.summary.scalar(f"time_ratio/{layer}", ratio)
    writer.flush()


def _write_profile(log_dir, profile: pd.DataFrame, epoch: int) -> None:
    """One record's time profile as a TensorBoard run of its own, ``log_dir/time_profile/epoch_NNNN``: a
    scalar ``gradient_through_time/<layer>`` at step ``t`` (TensorBoard's x axis), so that each layer's
    chart shows the profile of every recorded epoch, one line each."""
    if profile.empty:
        return
    import tensorflow as tf

    writer = tf.summary.create_file_writer(os.path.join(str(log_dir), "time_profile", f"epoch_{epoch:04d}"))
    with writer.as_default():
        for row in profile.itertuples():
            tf.summary.scalar(f"gradient_through_time/{row.layer}", row.norm, step=int(row.t))
    writer.close()


class BlogWeightMonitor(keras.callbacks.Callback):
    """The blog's step-1 "GradientMonitor", ported as written (for the book to show what it prints).

    Every 5 epochs it prints ``norm(layer.kernel)`` for each layer that has a ``kernel`` attribute and warns
    below 1e-5. That is a *weight* norm, not a gradient norm; and Keras LSTMs keep their kernels in
    ``layer.cell``, so it reports only the Dense layer. ``records`` keeps (epoch, layer, norm) of each line.
    """

    def __init__(self, every: int = 5, threshold: float = blog.VANISH, verbose: bool = True):
        super().__init__()
        self.every, self.threshold, self.verbose = every, threshold, verbose
        self.records: list[tuple[int, str, float]] = []

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every != 0:
            return
        for layer in self.model.layers:
            if hasattr(layer, "kernel"):
                norm = float(keras.ops.convert_to_numpy(keras.ops.norm(layer.kernel)))
                self.records.append((epoch, layer.name, norm))
                if self.verbose:
                    print(f"Epoch {epoch}, Layer {layer.name}: gradient norm = {norm:.6f}")
                    if norm < self.threshold:
                        print(f"WARNING: Vanishing gradient detected in {layer.name}")
