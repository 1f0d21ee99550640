"""Clipping counted where it happens: how many of the training updates did ``clipnorm`` really change?

A gradient monitor reads gradients on a probe batch after an epoch; the optimizer clips the gradient of every
mini-batch during it. The two can disagree, so this module counts inside the optimizer itself.
:func:`counting` returns a copy of any Keras optimizer whose gradient clipping also records, at every
training step, the norm of each variable's gradient *before* clipping (``clipnorm`` compares each one with the
threshold on its own) and of the whole gradient (``global_clipnorm`` compares that one). The counts live in
the optimizer's own variables, so they are kept by ``model.fit`` under every backend (under JAX too, where
the optimizer's variables are threaded through the compiled step). :func:`clip_shares` turns them into the
share of training updates that clipping changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import pandas as pd

__all__ = ["clip_shares", "counting", "explode_runs"]


class _Counting:
    """Mixin for a Keras optimizer: count, per variable and whole, the steps whose gradient exceeds the
    threshold, before ``_clip_gradients`` rescales it (the counts exist whether or not clipping is on)."""

    def build(self, variables):
        super().build(variables)
        n = len(variables)
        self.clip_steps = self.add_variable((), name="clip_steps")
        self.clip_over = self.add_variable((n,), name="clip_over")  # ‖g_i‖ > clipnorm
        self.clip_over_global = self.add_variable((), name="clip_over_global")  # ‖g‖ > global
        self.clip_largest = self.add_variable((), name="clip_largest")  # largest ‖g‖ so far
        self._clip_names = [v.path for v in variables]

    def _clip_gradients(self, grads):
        threshold = self.clip_threshold
        norms = [keras.ops.sqrt(keras.ops.sum(keras.ops.square(g))) for g in grads]
        whole = keras.ops.sqrt(sum(keras.ops.square(n) for n in norms))
        per = keras.ops.stack(norms)
        self.clip_steps.assign_add(1.0)
        self.clip_over.assign_add(keras.ops.cast(per > threshold, "float32"))
        self.clip_over_global.assign_add(keras.ops.cast(whole > threshold, "float32"))
        finite = keras.ops.where(keras.ops.isfinite(whole), whole, 0.0)  # a NaN step ends training
        self.clip_largest.assign(keras.ops.maximum(self.clip_largest, finite))
        return super()._clip_gradients(grads)


def counting(
    optimizer: keras.optimizers.Optimizer, threshold: float | None = None
) -> keras.optimizers.Optimizer:
    """A fresh copy of ``optimizer`` (same class and configuration, not yet built) that counts clipping.

    Pass it to ``model.compile``; after training, :func:`clip_shares` reads the counts. It counts against
    ``threshold``, by default the optimizer's ``clipnorm`` or ``global_clipnorm`` (whichever is set); give
    one to an optimizer that does not clip to count the updates a threshold *would* have changed. Raises
    ValueError for ``clipvalue``, which clips elements, not norms, and for no threshold at all.
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"need a keras.optimizers.Optimizer, got {type(optimizer).__name__}")
    if optimizer.clipvalue:
        raise ValueError("clipvalue clips each element, not a norm; count clipnorm or global_clipnorm")
    threshold = threshold or optimizer.clipnorm or optimizer.global_clipnorm
    if not threshold or threshold <= 0:
        raise ValueError("nothing to count against: the optimizer does not clip; pass threshold=...")
    cls = type(optimizer)
    counted = type(f"Counting{cls.__name__}", (_Counting, cls), {})
    fresh = counted.from_config(optimizer.get_config())
    fresh.clip_threshold = float(threshold)
    return fresh


def clip_shares(optimizer: keras.optimizers.Optimizer) -> pd.DataFrame:
    """Share of training steps at which each variable's gradient, and the whole gradient, exceeded the
    threshold (so ``clipnorm``, respectively ``global_clipnorm``, rescaled it).

    One row per variable (``variable``: its path, ``steps``, ``clipped``, ``share``) and a last row
    ``variable == "global"`` for the whole gradient; ``share`` is what the optimizer's own rule changed
    (per variable for ``clipnorm``, the global row for ``global_clipnorm``). ``attrs["largest_norm"]`` is
    the largest whole-gradient norm of any step.
    """
    if not hasattr(optimizer, "clip_steps"):
        raise ValueError(
            "this optimizer counts nothing: make it with goldlab.clipping.counting(...)"
            " and train before reading its counts"
        )
    steps = float(keras.ops.convert_to_numpy(optimizer.clip_steps))
    over = keras.ops.convert_to_numpy(optimizer.clip_over).astype(float)
    glob = float(keras.ops.convert_to_numpy(optimizer.clip_over_global))
    rows = pd.DataFrame({"variable": optimizer._clip_names, "steps": steps, "clipped": over})
    rows.loc[len(rows)] = ["global", steps, glob]
    rows["share"] = rows["clipped"] / steps if steps else float("nan")
    rows.attrs["largest_norm"] = float(keras.ops.convert_to_numpy(optimizer.clip_largest))
    return rows


def explode_runs(
    clips: dict[str, dict],
    seeds: Sequence[int],
    length: int,
    epochs: int,
    n_train: int,
    lr: float = 0.01,
    threshold: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An IRNN (:func:`goldlab.bptt.simple_rnn`, ``"identity"``) trained by plain SGD at ``lr`` on the
    adding problem, once per clipping option of ``clips`` (name → ``{"clipnorm": 1.0}``, ``{}``, ...)
    and seed.

    Plain SGD steps by the gradient itself, so one large gradient is one large step: the case clipping is
    for. Returns ``(runs, curves)``: one row per run (``clip``, ``seed``, ``epochs`` trained, ``final_loss``,
    ``val_mse``, ``diverged``, ``share_variable`` (mean over variables of the share of steps whose gradient
    exceeded the threshold, what ``clipnorm`` rescales), ``share_global`` (the whole gradient's, what
    ``global_clipnorm`` rescales), ``largest_norm``), and the training loss per epoch (``clip``, ``seed``,
    ``epoch``, ``loss``). Training stops at a NaN loss; a run "diverged" when its last training loss or its
    validation MSE is not finite. Unclipped runs are counted against ``threshold``:
    the share of their updates that clipping at it would have changed.
    """
    from goldlab import bptt, tasks

    train, val, _ = tasks.adding_splits(n_train, length)
    runs, curves = [], []
    for name, clip in clips.items():
        for seed in seeds:
            sgd = keras.optimizers.SGD(learning_rate=lr, **clip)
            opt = counting(sgd, threshold=None if clip else threshold)
            model = bptt.simple_rnn("identity", length, optimizer=opt, seed=seed)
            hist = model.fit(
                train.x,
                train.y,
                batch_size=32,
                epochs=epochs,
                verbose=0,
                callbacks=[keras.callbacks.TerminateOnNaN()],
            )
            loss = np.asarray(hist.history["loss"], dtype=float)
            val_mse = float(model.evaluate(val.x, val.y, verbose=0))
            shares = clip_shares(opt)
            runs.append(
                {
                    "clip": name,
                    "seed": seed,
                    "epochs": len(loss),
                    "final_loss": loss[-1],
                    "val_mse": val_mse,
                    "diverged": not np.isfinite([loss[-1], val_mse]).all(),
                    "share_variable": float(shares["share"].iloc[:-1].mean()),
                    "share_global": float(shares["share"].iloc[-1]),
                    "largest_norm": shares.attrs["largest_norm"],
                }
            )
            curves.append(
                pd.DataFrame({"clip": name, "seed": seed, "epoch": np.arange(1, len(loss) + 1), "loss": loss})
            )
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)
