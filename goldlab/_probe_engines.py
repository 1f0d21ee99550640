"""The engines behind :class:`goldlab.monitor.GradientProbe`: the taps on each monitored input, one compiled
backward pass per backend, and the JAX probe in parts (issue 21: kept out of the public module's way).

Nothing here is public API: :mod:`goldlab.monitor` is. The functions take the probe's own pieces (its loss as
a function of the variables' values, its scope, its forward pass, a recorder of what a trace found), not the
probe, so that they read on their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
from keras.src.backend import get_keras_mask, set_keras_mask  # Keras 3 has no public names for them


def is_float(dtype) -> bool:
    return "float" in keras.backend.standardize_dtype(dtype)


def input_label(path: tuple, n: int) -> str:
    return "input" if n == 1 else "input " + "/".join(str(p) for p in path)


class Taps:
    """Adds a zero tensor ("tap") to the input of each monitored part during one forward pass.

    ``make(inputs)`` returns the tap for an input (a backend-specific zero the gradient is taken against).
    Records, in call order, the label and time axis of every tap and the parts that could not be tapped."""

    def __init__(self, make: Callable):
        self.make = make
        self.labels: list[str] = []
        self.axes: list[int] = []
        self.taps: list = []
        self.skipped: dict[str, str] = {}
        self._calls: dict[str, int] = {}

    def add(self, label: str, axis: int, inputs):
        if keras.tree.is_nested(inputs) or not hasattr(inputs, "dtype"):
            self.skipped[label] = "its input is a structure of tensors, not one sequence"
            return inputs
        if not is_float(inputs.dtype) or len(inputs.shape) <= axis:
            self.skipped[label] = (
                f"its input ({inputs.dtype}, rank {len(inputs.shape)}) is not a float sequence"
            )
            return inputs
        calls = self._calls[label] = self._calls.get(label, 0) + 1
        tap = self.make(inputs)
        self.labels.append(label if calls == 1 else f"{label} (call {calls})")
        self.axes.append(axis)
        self.taps.append(tap)
        return inputs + tap


def compile_tf(loss_of: Callable, record: Callable, taps_on: bool):
    """The probe's step under TensorFlow: (loss, ∂L/∂W, ∂L/∂taps) of ``loss_of(weights, others, x, y, w,
    taps)``, one GradientTape; ``record(taps)`` keeps what the trace found."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(weights, others, x, y, w):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            taps = Taps(lambda a: watched_zeros(tape, a)) if taps_on else None
            loss = loss_of(weights, others, x, y, w, taps)
        record(taps)
        made = taps.taps if taps is not None else []
        grads = tape.gradient(loss, [weights, made], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        gw = [tf.convert_to_tensor(g) for g in grads[0]]  # an Embedding's gradient is IndexedSlices
        return loss, gw, list(grads[1])

    return step


def compile_jax(loss_of: Callable, record: Callable, taps_on: bool):
    """The probe's step under JAX (as :func:`compile_tf`), one ``jax.value_and_grad``."""
    import jax

    def loss_with(weights, eps, others, x, y, w):
        return loss_of(weights, others, x, y, w, fed(eps, taps_on))

    @jax.jit
    def step(weights, others, x, y, w):
        eps, _ = jax_taps(taps_on, lambda taps: loss_of(weights, others, x, y, w, taps), record)
        loss, (gw, ge) = jax.value_and_grad(loss_with, argnums=(0, 1))(weights, eps, others, x, y, w)
        return loss, gw, ge

    return step


def jax_taps(taps_on: bool, forward: Callable[[Taps], object], record: Callable) -> tuple[list, list[int]]:
    """Zeros shaped like the taps that ``forward(taps)`` adds, from a trace of it (no computation), whose
    parts and notes go to ``record``; and the taps' time axes. Empty with the taps off. JAX differentiates
    with respect to the zeros."""
    if not taps_on:
        return [], []
    import jax

    shapes = Taps(lambda a: jax.numpy.zeros(a.shape, a.dtype))
    jax.eval_shape(lambda: forward(shapes))
    record(shapes)
    return [jax.numpy.zeros(tap.shape, tap.dtype) for tap in shapes.taps], shapes.axes


def compile_torch(loss_of: Callable, record: Callable, taps_on: bool):
    """The probe's step under PyTorch (as :func:`compile_tf`), eager, one ``torch.autograd.grad``."""
    import torch

    def step(weights, others, x, y, w):
        weights = [v.detach().clone().requires_grad_(True) for v in weights]
        taps = Taps(lambda a: torch.zeros_like(a, requires_grad=True)) if taps_on else None
        loss = loss_of(weights, others, x, y, w, taps)
        record(taps)
        made = taps.taps if taps is not None else []
        grads = torch.autograd.grad(loss, weights + made, allow_unused=True)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, weights + made, strict=True)]
        return loss.detach(), grads[: len(weights)], grads[len(weights) :]

    return step


PART_MIN = 32  # the smallest part :func:`auto_parts` makes: a training batch of the blog's model


def auto_parts(n: int) -> int:
    """Parts for a probe of ``n`` samples: under JAX on a CPU, one per core this process may use, each of
    at least ``PART_MIN`` samples; on an accelerator one (the batch whole): one program fills the device."""
    import jax

    if jax.default_backend() != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, n // PART_MIN))


def batch_size(x) -> int:
    return int(keras.tree.flatten(x)[0].shape[0])


class PartsJax:
    """The JAX probe over ``k`` parts of its batch at once, one thread each (goldlab.monitor's notes say why
    and why it is exact). Raises :class:`Unsplittable` while tracing a model it cannot split exactly;
    the probe then runs the batch whole, the reference."""

    def __init__(
        self, scope: Callable, predict: Callable, loss: Callable, record: Callable, taps_on: bool, k: int
    ):
        """``scope(weights, others)``, ``predict(x, taps)`` and ``loss(x, y, w, y_pred)`` are the probe's
        (its variables' scope, forward pass and loss); ``record(taps)`` keeps what a trace found."""
        import jax

        self.scope, self.predict, self.loss_of, self.record = scope, predict, loss, record
        self.taps_on, self.k = taps_on, k
        self._pool = ThreadPoolExecutor(k, thread_name_prefix="goldlab-probe")
        self._forward = jax.jit(self._forward_part)
        self._loss = jax.jit(self._loss_whole, static_argnums=7)
        self._backward = jax.jit(lambda vjp, cotangent: vjp(cotangent))
        self._join, self._sum = jax.jit(join_parts), jax.jit(sum_parts)
        self._traced: set[tuple[int, tuple[str, ...]]] = set()

    def _forward_part(self, weights, others, x):
        """(ŷ, masks of ŷ, the backward function) of one part."""
        import jax

        forward_taps = lambda taps: self._predict(weights, others, x, taps)  # noqa: E731
        eps, axes = jax_taps(self.taps_on, forward_taps, self.record)
        if 0 in axes:
            raise Unsplittable("a monitored input has its time on axis 0, the axis the parts split")

        def forward(w, e):
            y_pred = self._predict(w, others, x, fed(e, self.taps_on))
            return y_pred, [get_keras_mask(p) for p in keras.tree.flatten(y_pred)]

        y_pred, backward, masks = jax.vjp(forward, weights, eps, has_aux=True)
        return y_pred, masks, backward

    def _predict(self, weights, others, x, taps: Taps | None):
        n = batch_size(x)
        with self.scope(weights, others) as scope:
            y_pred = self.predict(x, taps)
            if scope.losses:
                raise Unsplittable("its forward pass adds losses (add_loss, activity regularisers)")
        if any(len(p.shape) == 0 or p.shape[0] != n for p in keras.tree.flatten(y_pred)):
            raise Unsplittable("an output does not have one row per sample")
        return y_pred

    def _loss_whole(self, weights, others, x, y, w, y_pred, masks, spans):
        """(L, ∂L/∂W from the loss's own terms, ∂L/∂ŷ cut into the parts' ``spans``) on the whole batch."""
        import jax

        def loss(values, preds):
            for p, mask in zip(keras.tree.flatten(preds), masks, strict=True):
                if mask is not None:
                    set_keras_mask(p, mask)
            with self.scope(values, others):
                return self.loss_of(x, y, w, preds)

        value, (gw, gy) = jax.value_and_grad(loss, argnums=(0, 1))(weights, y_pred)
        return value, gw, cut(gy, spans)

    def __call__(self, weights, others, x, y, w):
        import jax

        bounds = np.cumsum([0] + [len(c) for c in np.array_split(np.arange(batch_size(x)), self.k)])
        spans = tuple((int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True))
        dtypes = tuple(str(w.dtype) for w in weights)
        sizes = {(hi - lo, dtypes) for lo, hi in spans}
        # the first call at a part size (and dtype) traces, which patches the model's layers: one at a time
        run = self._pool.map if sizes <= self._traced else map
        ahead = list(run(lambda p: jax.block_until_ready(self._forward(weights, others, p)), cut(x, spans)))
        y_pred, masks = self._join([f[0] for f in ahead], [f[1] for f in ahead])
        loss, gw, cotangents = self._loss(weights, others, x, y, w, y_pred, masks, spans)
        back = list(run(lambda f, c: jax.block_until_ready(self._backward(f[2], c)), ahead, cotangents))
        self._traced |= sizes
        return loss, *self._sum(gw, back)


def cut(tree, spans: tuple[tuple[int, int], ...]) -> list:
    """``tree`` cut along the batch axis into one tree per ``(start, stop)`` span (None stays None)."""
    return [
        keras.tree.map_structure(lambda a, lo=lo, hi=hi: None if a is None else a[lo:hi], tree)
        for lo, hi in spans
    ]


def join_parts(y_preds: list, masks: list) -> tuple:
    """The parts' predictions and masks, put back together along the batch axis."""
    import jax.numpy as jnp

    y_pred = keras.tree.map_structure(lambda *p: jnp.concatenate(p, axis=0), *y_preds)
    joined = [None if m[0] is None else jnp.concatenate(m, axis=0) for m in zip(*masks, strict=True)]
    return y_pred, joined


def sum_parts(gw: list, back: list) -> tuple[list, list]:
    """∂L/∂W: the loss's own terms plus every part's; ∂L/∂taps: the parts' joined along the batch axis."""
    import jax.numpy as jnp

    weights = [g + sum(b[0][i] for b in back) for i, g in enumerate(gw)]
    taps = [jnp.concatenate([b[1][j] for b in back], axis=0) for j in range(len(back[0][1]))]
    return weights, taps


class Unsplittable(Exception):
    """The probe of this model cannot be split into parts exactly (the reason says why)."""


def to_numpy(tree):
    """Every array of ``tree`` as numpy: under JAX in one transfer (one wait for the device, not one per
    array, which is what a record costs on a GPU), else array by array."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.device_get(tree)
    return keras.tree.map_structure(keras.ops.convert_to_numpy, tree)


def fed(eps: list, taps_on: bool) -> Taps | None:
    """Taps that hand out the arrays ``eps`` in call order (see :func:`jax_taps`)."""
    feed = iter(eps)
    return Taps(lambda a: next(feed)) if taps_on else None


def tap_inputs(x, taps: Taps):
    """``x`` with a tap on each float sequence (rank >= 3) among its arrays, labelled by position."""
    paths = [path for path, _ in keras.tree.flatten_with_path(x)]
    leaves = [
        taps.add(input_label(path, len(paths)), 1, a) if len(a.shape) >= 3 else a
        for path, a in zip(paths, keras.tree.flatten(x), strict=True)
    ]
    return keras.tree.pack_sequence_as(x, leaves)


def as_tensor(a: np.ndarray, float_dtype: str):
    if np.issubdtype(a.dtype, np.floating):
        return keras.ops.convert_to_tensor(a.astype(float_dtype, copy=False))
    if np.issubdtype(a.dtype, np.integer):
        return keras.ops.convert_to_tensor(a.astype("int32", copy=False))
    return keras.ops.convert_to_tensor(a)


def watched_zeros(tape, a):
    import tensorflow as tf

    zero = tf.zeros_like(a)
    tape.watch(zero)
    return zero


class tapped:  # noqa: N801 - used as a context manager, like a function
    """Within the block, each recurrent layer's ``call`` adds a tap to its input (restored on exit)."""

    def __init__(self, recurrent: list[tuple[keras.layers.Layer, int]], taps: Taps | None):
        self.recurrent = recurrent if taps is not None else []
        self.taps = taps

    def __enter__(self):
        for layer, axis in self.recurrent:
            object.__setattr__(layer, "call", _tapped_call(layer, layer.call, axis, self.taps))

    def __exit__(self, *exc):
        for layer, _ in self.recurrent:
            object.__delattr__(layer, "call")


def _tapped_call(layer, call, axis: int, taps: Taps):
    def wrapped(inputs, *args, **kwargs):
        return call(taps.add(layer.name, axis, inputs), *args, **kwargs)

    return wrapped
