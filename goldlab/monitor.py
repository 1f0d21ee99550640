"""Measure gradients, not weights: per-weight norms ‖∂L/∂W‖ and the gradient through time ‖∂L/∂x_t‖.

The blog's step-1 "monitor" printed ``tf.norm(layer.kernel)``: the norm of a *weight*, which says nothing
about how much signal reaches that weight, and which a Keras LSTM does not even have (its kernels live in
``layer.cell.kernel``), so for LSTMs it printed nothing. :class:`BlogWeightMonitor` reproduces it as written,
for the book to show what it prints. This module measures the real thing:

* :func:`gradient_norms`: ‖∂L/∂W‖₂ for every trainable variable, with per-layer totals;
* :func:`gradient_through_time`: ‖∂L/∂a_t‖₂ for every time step ``t`` of the sequence ``a`` that enters each
  recurrent layer (for the first, the model's input window). Vanishing gradients show here: how much the
  loss still depends on day ``t`` of the window;
* :class:`GradientMonitor`: a Keras callback recording both during training, with warnings and TensorBoard.

All gradients are of the model's compiled loss (MSE when the model is not compiled), averaged over the probe
batch, in inference mode (dropout off), without updating anything: the same weights and batch give the same
figures. They are the *raw* gradients the loss produces. Clipping (``clipnorm`` and friends) acts later,
inside the optimizer, on the update; it never changes what is measured here.

One backward pass gives both views: a zero tensor is added to the input of each recurrent layer, and the
gradient with respect to that zero is the gradient with respect to the layer's input. It works the same under
the TensorFlow, JAX and PyTorch backends of Keras 3, and is compiled once per :class:`GradientProbe`
(``tf.function`` / ``jax.jit``; eager in PyTorch).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from goldlab.models import lstm_layers

__all__ = [
    "BlogWeightMonitor",
    "GradientMonitor",
    "GradientProbe",
    "GradientWarning",
    "gradient_norms",
    "gradient_through_time",
    "time_ratio",
    "weight_norms",
]

log = logging.getLogger("goldlab.monitor")


class GradientWarning(UserWarning):
    """A gradient norm fell below the vanishing threshold, rose above the exploding one, or is not finite."""


@dataclass(frozen=True)
class ProbeResult:
    """Raw gradients of one probe: per trainable variable and per recurrent layer's input sequence."""

    loss: float
    weights: dict[tuple[str, str], np.ndarray]  # (layer, weight) -> gradient
    inputs: dict[str, np.ndarray]  # recurrent layer name -> gradient w.r.t. its input, (batch, T, features)

    def norms(self) -> pd.DataFrame:
        """(layer, weight, norm) for every variable, plus one ``weight="total"`` row per layer."""
        rows = [(*key, float(np.linalg.norm(g))) for key, g in self.weights.items()]
        df = pd.DataFrame(rows, columns=["layer", "weight", "norm"])
        totals = df.groupby("layer", sort=False)["norm"].apply(lambda s: float(np.sqrt((s**2).sum())))
        total_rows = pd.DataFrame({"layer": totals.index, "weight": "total", "norm": totals.to_numpy()})
        return pd.concat([df, total_rows], ignore_index=True)

    def time_profile(self) -> pd.DataFrame:
        """(layer, t, norm): ‖∂L/∂a_t‖ over batch and features; t = 1 is the oldest day, T the latest."""
        frames = []
        for layer, g in self.inputs.items():
            per_t = np.sqrt((g.astype(np.float64) ** 2).sum(axis=(0, 2)))
            frames.append(pd.DataFrame({"layer": layer, "t": np.arange(1, len(per_t) + 1), "norm": per_t}))
        return pd.concat(frames, ignore_index=True)


def _variable_names(model: keras.Model) -> dict[int, tuple[str, str]]:
    """``id(variable) -> (layer name, weight name)`` for the trainable variables of ``model``'s layers."""
    return {id(v): (layer.name, v.name) for layer in model.layers for v in layer.trainable_variables}


def _loss_function(model: keras.Model):
    """The model's compiled loss reduced to a scalar mean, or MSE when it has none."""
    loss = getattr(model, "loss", None)
    fn = keras.losses.get(loss) if loss is not None else keras.losses.mean_squared_error
    return lambda y, pred: keras.ops.mean(fn(y, pred))


class GradientProbe:
    """Compiled gradient computation for one model: ``probe(x, y) -> ProbeResult``.

    Builds sub-models between the inputs of consecutive recurrent layers, so each recurrent layer's input
    must be a cut of the graph (every path from the model's input to its output passes through it), as in
    all goldlab models and any plain or residual stack.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        rnns = lstm_layers(model)
        if not rnns:
            raise ValueError(f"model {model.name!r} has no recurrent layer to monitor")
        self.layer_names = [layer.name for layer in rnns]
        cuts = [layer.input for layer in rnns]
        self._pre = None if cuts[0] is model.inputs[0] else keras.Model(model.inputs[0], cuts[0])
        try:
            self._mids = [keras.Model(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            self._post = keras.Model(cuts[-1], model.outputs[0])
        except ValueError as err:
            raise ValueError(f"the input of each recurrent layer must be a cut of the graph: {err}") from err
        self._cut_shapes = [tuple(c.shape[1:]) for c in cuts]
        self._loss = _loss_function(model)
        self._variables = list(model.trainable_variables)
        self._names = _variable_names(model)
        self._backend = keras.backend.backend()
        self._compiled = self._compile()

    # The loss as a pure function of (weights, zero perturbations, x, y): differentiable under every backend.
    def _loss_of(self, weights, eps, x, y):
        with keras.StatelessScope(state_mapping=list(zip(self._variables, weights, strict=True))):
            a = x if self._pre is None else self._pre(x, training=False)
            a = a + eps[0]
            for mid, e in zip(self._mids, eps[1:], strict=True):
                a = mid(a, training=False) + e
            return self._loss(y, self._post(a, training=False))

    def _same_variables(self, model: keras.Model) -> list:
        """``model``'s trainable variables, checked to match this probe's model one for one."""
        variables = list(model.trainable_variables)
        theirs = [(self._names.get(id(v)), tuple(v.shape)) for v in self._variables]
        names = _variable_names(model)
        ours = [(names.get(id(v)), tuple(v.shape)) for v in variables]
        if ours != theirs:
            raise ValueError(f"model {model.name!r} does not have the variables of {self.model.name!r}")
        return variables

    def _compile(self):
        if self._backend == "tensorflow":
            import tensorflow as tf

            @tf.function(reduce_retracing=True)
            def step(weights, eps, x, y):
                with tf.GradientTape() as tape:
                    tape.watch(weights)
                    tape.watch(eps)
                    loss = self._loss_of(weights, eps, x, y)
                gw, ge = tape.gradient(loss, [weights, eps])
                return loss, gw, ge

            return step
        if self._backend == "jax":
            import jax

            grad = jax.value_and_grad(self._loss_of, argnums=(0, 1))

            @jax.jit
            def step(weights, eps, x, y):
                loss, (gw, ge) = grad(weights, eps, x, y)
                return loss, gw, ge

            return step
        if self._backend == "torch":
            import torch

            def step(weights, eps, x, y):
                weights = [w.detach().clone().requires_grad_(True) for w in weights]
                eps = [e.requires_grad_(True) for e in eps]
                loss = self._loss_of(weights, eps, x, y)
                grads = torch.autograd.grad(loss, weights + eps)
                return loss.detach(), grads[: len(weights)], grads[len(weights) :]

            return step
        raise NotImplementedError(f"backend {self._backend!r} is not supported (tensorflow, jax, torch)")

    def __call__(self, x: np.ndarray, y: np.ndarray, model: keras.Model | None = None) -> ProbeResult:
        """Gradients on (x, y) at the weights of ``model``: by default the probe's own model; another copy
        of the same architecture (say, another seed) reuses this compiled probe."""
        own = model is None or model is self.model
        variables = self._variables if own else self._same_variables(model)
        x = keras.ops.convert_to_tensor(np.asarray(x, dtype=self.model.inputs[0].dtype))
        y = keras.ops.convert_to_tensor(np.asarray(y, dtype=self.model.outputs[0].dtype).reshape(-1, 1))
        n = x.shape[0]
        eps = [keras.ops.zeros((n, *shape), dtype=x.dtype) for shape in self._cut_shapes]
        weights = [keras.ops.convert_to_tensor(v.value) for v in variables]
        loss, gw, ge = self._compiled(weights, eps, x, y)
        return ProbeResult(
            loss=float(keras.ops.convert_to_numpy(loss)),
            weights={
                self._names[id(v)]: keras.ops.convert_to_numpy(g)
                for v, g in zip(self._variables, gw, strict=True)
            },
            inputs={
                name: keras.ops.convert_to_numpy(g) for name, g in zip(self.layer_names, ge, strict=True)
            },
        )


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """‖∂L/∂W‖₂ for every trainable variable of ``model`` on one batch, without training.

    Returns columns ``layer``, ``weight``, ``norm``, one row per variable (``weight`` is ``kernel``,
    ``recurrent_kernel``, ``bias``, ...) and one ``weight == "total"`` row per layer (the norm of all that
    layer's gradients together). Raw gradients of the compiled loss in inference mode: see the module notes.
    """
    return GradientProbe(model)(x, y).norms()


def gradient_through_time(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """‖∂L/∂a_t‖₂ for each time step ``t`` of the sequence entering each recurrent layer.

    Returns columns ``layer``, ``t``, ``norm``; ``t = 1`` is the oldest day of the window and ``t = T`` the
    most recent. For the first recurrent layer ``a`` is the model's input window itself. A ratio
    ``norm(t=1) / norm(t=T)`` far below 1 means the loss barely depends on the window's early days: the
    gradient has vanished on its way back through time.
    """
    return GradientProbe(model)(x, y).time_profile()


def time_ratio(profile: pd.DataFrame, by: Sequence[str] = ("layer",)) -> pd.Series:
    """``norm(t=1) / norm(t=T)`` for each group of a gradient-through-time table: how much of the gradient
    that reaches the latest day of the window still reaches the oldest (1 = all of it)."""
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
    return pd.DataFrame(rows, columns=["layer", "weight", "norm"])


class GradientMonitor(keras.callbacks.Callback):
    """Record gradient norms per weight and through time while a model trains.

    ``probe=(x, y)`` is a fixed batch; its cost per record is one forward and backward pass over it, about
    ``len(x) / n_training_windows`` of an epoch (32 windows: ~3 % of the blog's epoch). Every ``every``
    epochs, and once before training (epoch 0), the monitor computes its raw gradients (see
    :class:`GradientProbe`) and appends them to

    * ``history``: columns ``epoch, layer, weight, norm`` (``weight == "total"`` rows are per-layer totals);
    * ``time_profile``: columns ``epoch, layer, t, norm`` (gradient through time per recurrent layer input);
    * ``events``: columns ``epoch, layer, kind, norm`` for every warning raised.

    It warns (:class:`GradientWarning` and a log line), naming layer and epoch, when a layer's total norm is
    below ``vanish``, above ``explode``, or NaN/inf. With ``log_dir`` it writes, for TensorBoard, a scalar
    per layer and a histogram per variable of the gradients (Keras 3 dropped ``write_grads``); that needs
    TensorFlow and TensorBoard installed, whatever the backend. ``compiled``: a :class:`GradientProbe` of
    another model of the same architecture to reuse (one compilation for several seeds).
    """

    def __init__(
        self,
        probe,
        every: int = 1,
        vanish: float = 1e-5,
        explode: float = 1e3,
        log_dir=None,
        compiled: GradientProbe | None = None,
    ):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, not {every}")
        self.x, self.y = probe
        self.every, self.vanish, self.explode, self.log_dir = every, vanish, explode, log_dir
        self._rows: list[pd.DataFrame] = []
        self._time_rows: list[pd.DataFrame] = []
        self._events: list[tuple[int, str, str, float]] = []
        self._shared = compiled
        self._probe: GradientProbe | None = None
        self._writer = None

    @property
    def history(self) -> pd.DataFrame:
        return _concat(self._rows, ["epoch", "layer", "weight", "norm"])

    @property
    def time_profile(self) -> pd.DataFrame:
        return _concat(self._time_rows, ["epoch", "layer", "t", "norm"])

    @property
    def events(self) -> pd.DataFrame:
        return pd.DataFrame(self._events, columns=["epoch", "layer", "kind", "norm"])

    def on_train_begin(self, logs=None):
        if self._shared is not None:
            self._probe = self._shared
        elif self._probe is None or self._probe.model is not self.model:
            self._probe = GradientProbe(self.model)
        if self.log_dir is not None and self._writer is None:
            self._writer = _summary_writer(self.log_dir)
        self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)

    def _record(self, epoch: int) -> None:
        result = self._probe(self.x, self.y, self.model)
        norms = result.norms().assign(epoch=epoch)
        self._rows.append(norms[["epoch", "layer", "weight", "norm"]])
        self._time_rows.append(result.time_profile().assign(epoch=epoch)[["epoch", "layer", "t", "norm"]])
        for row in norms[norms["weight"] == "total"].itertuples():
            self._check(epoch, row.layer, row.norm)
        if self._writer is not None:
            _write_summaries(self._writer, result, norms, epoch)

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


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _summary_writer(log_dir):
    try:
        import tensorboard  # noqa: F401 - tf.summary.scalar/histogram live there, not in tensorflow
        import tensorflow as tf
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise ImportError(
            "GradientMonitor(log_dir=...) writes TensorBoard files with TensorFlow and TensorBoard; "
            "install both (pip install tensorflow tensorboard)"
        ) from err
    return tf.summary.create_file_writer(str(log_dir))


def _write_summaries(writer, result: ProbeResult, norms: pd.DataFrame, epoch: int) -> None:
    import tensorflow as tf

    with writer.as_default(step=epoch):
        for row in norms[norms["weight"] == "total"].itertuples():
            tf.summary.scalar(f"gradient_norm/{row.layer}", row.norm)
        for (layer, weight), grad in result.weights.items():
            tf.summary.histogram(f"gradients/{layer}/{weight}", grad)
    writer.flush()


class BlogWeightMonitor(keras.callbacks.Callback):
    """The blog's step-1 "GradientMonitor", ported as written (for the book to show what it prints).

    Every 5 epochs it prints ``norm(layer.kernel)`` for each layer that has a ``kernel`` attribute and warns
    below 1e-5. That is a *weight* norm, not a gradient norm; and Keras LSTMs keep their kernels in
    ``layer.cell``, so it reports only the Dense layer. ``records`` keeps (epoch, layer, norm) of each line.
    """

    def __init__(self, every: int = 5, threshold: float = 1e-5, verbose: bool = True):
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
