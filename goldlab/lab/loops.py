"""Training loops: Keras ``fit`` one batch per call, or one compiled call per epoch.

``model.fit`` calls a compiled training step once per batch: 32 calls per epoch of the blog's 997 windows,
each with a host-to-device copy of its batch. On a GPU one batch of these small LSTMs is little work, so the
fixed cost of each call can weigh as much as the work (Keras-JAX ``fit`` was measured at about 2.6 times a
cuDNN bound per epoch). :func:`fit_epochs` removes those calls without changing the model, the optimizer, the
loss or the batches:

* **JAX**: the training set goes to the device once; a whole epoch is one ``jax.jit`` program that
  ``lax.scan``-s Keras's stateless step (``model.stateless_call`` + ``optimizer.stateless_apply``) over the
  batches, in the order of one permutation per epoch;
* **TensorFlow**: ``fit`` with ``steps_per_execution`` equal to the batches per epoch, so one ``tf.function``
  call runs the epoch;
* **PyTorch**: no compiled epoch; use ``model.fit``.

With the same weights, batches and dropout seeds it updates the weights as ``fit`` does (the tests compare the
two with ``shuffle=False``). Callbacks see ``on_epoch_begin``/``on_epoch_end`` with ``loss``, ``mae``,
``val_loss`` and ``val_mae``, and one ``on_train_batch_end`` per epoch carrying the epoch's mean loss, so
:class:`keras.callbacks.TerminateOnNaN` still stops training (after the epoch in which the loss became NaN,
not mid-epoch).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from goldlab.models import without_cudnn

__all__ = ["LOOPS", "check_loop", "fit_epochs", "fit_stacked", "train"]

# keras.Model.fit; one compiled call per epoch (fit_epochs); one call per epoch for all seeds (fit_stacked)
LOOPS = ("fit", "epoch", "stacked")


def fit_epochs(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
    seed: int | None = None,
    verbose: int = 0,
) -> keras.callbacks.History:
    """Train a compiled model for ``epochs`` epochs with one compiled call per epoch; returns the History.

    Under JAX, ``seed`` fixes the batch order (one ``numpy`` permutation per epoch; ``None`` draws it from
    numpy's global generator, which ``keras.utils.set_random_seed`` seeds), and the model must be compiled
    with the MSE loss (as :func:`goldlab.models.compile_model` does) and have no regularisation losses. Under
    TensorFlow the order is ``fit``'s (from the global seed), and the model keeps ``steps_per_execution``.
    """
    _check_inputs(x, y)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _fit_epochs_tf(model, x, y, epochs, batch_size, validation_data, callbacks, shuffle, verbose)
    if backend == "jax":
        return _fit_jax(
            [model], x, y, epochs, batch_size, validation_data, [callbacks], shuffle, [seed], verbose
        )[0]
    raise ValueError(f"loop='epoch' needs the jax or tensorflow backend, not {backend}; use loop='fit'")


def _fit_epochs_tf(model, x, y, epochs, batch_size, validation_data, callbacks, shuffle, verbose):
    """TensorFlow: ``fit`` with every batch of an epoch in one ``tf.function`` call."""
    model.steps_per_execution = -(-len(x) // batch_size)
    model.make_train_function(force=True)
    return _keras_fit(model, x, y, epochs, batch_size, validation_data, callbacks, shuffle, verbose)


def _keras_fit(model, x, y, epochs, batch_size, validation_data, callbacks, shuffle, verbose):
    return model.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=verbose,
        callbacks=list(callbacks),
    )


def check_loop(loop: str) -> None:
    """Raise ``ValueError`` unless ``loop`` is one of ``LOOPS``."""
    if loop not in LOOPS:
        raise ValueError(f"unknown loop {loop!r}; choose one of {', '.join(LOOPS)}")


def train(
    models: Sequence[keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    callbacks: Sequence[Sequence[keras.callbacks.Callback]],
    loop: str,
    seeds: Sequence[int | None],
    verbose: int = 0,
) -> list[keras.callbacks.History]:
    """Train each model (with ``callbacks[i]``, batch order ``seeds[i]``) by ``loop``; one History each.

    ``"fit"`` (shuffled ``model.fit``) and ``"epoch"`` (:func:`fit_epochs`) train the models one after the
    other; ``"stacked"`` trains them together (:func:`fit_stacked`).
    """
    check_loop(loop)
    if loop == "stacked":
        return fit_stacked(models, x, y, epochs, batch_size, validation_data, callbacks, seeds=seeds)
    if loop == "epoch":
        return [
            fit_epochs(m, x, y, epochs, batch_size, validation_data, cbs, seed=seed, verbose=verbose)
            for m, cbs, seed in zip(models, callbacks, seeds, strict=True)
        ]
    return [
        _keras_fit(m, x, y, epochs, batch_size, validation_data, cbs, True, verbose)
        for m, cbs in zip(models, callbacks, strict=True)
    ]


def fit_stacked(
    models: Sequence[keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[Sequence[keras.callbacks.Callback]] | None = None,
    shuffle: bool = True,
    seeds: Sequence[int | None] | None = None,
) -> list[keras.callbacks.History]:
    """Train several copies of one architecture (say, one step's seeds) together, as one program (JAX only).

    The models' weights, optimizer states and dropout seeds are stacked and the epoch of
    :func:`fit_epochs` is ``jax.vmap``-ed over them: one call per epoch trains all of them, each on the same
    windows in its own order (``seeds[i]``), with the same results as training each alone. It is meant
    for a GPU, which one model of this size leaves mostly idle; on a 2-core CPU five stacked models cost 0.9
    (baseline) to 0.7 (residual) times five separate ``fit`` runs (``benchmarks/README.md``).
    ``callbacks[i]`` are model ``i``'s; a model whose callbacks stop training (``TerminateOnNaN``) goes on
    in the stack, but its variables and callbacks are no longer updated. Returns one History per model.
    """
    if keras.backend.backend() != "jax":
        raise ValueError(f"fit_stacked needs the jax backend, not {keras.backend.backend()}")
    _check_inputs(x, y)
    k = len(models)
    callbacks = [[] for _ in models] if callbacks is None else [list(c) for c in callbacks]
    seeds = [None] * k if seeds is None else list(seeds)
    if not k or len(callbacks) != k or len(seeds) != k:
        raise ValueError(
            f"give one list of callbacks and one seed per model: {k} models, {len(callbacks)} "
            f"callback lists, {len(seeds)} seeds"
        )
    return _fit_jax(list(models), x, y, epochs, batch_size, validation_data, callbacks, shuffle, seeds, 0)


def _check_inputs(x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} windows but y has {len(y)}")
    if len(x) == 0:
        raise ValueError("no training windows")


def _check_models(models: Sequence[keras.Model]) -> None:
    """One architecture and optimizer, MSE loss, no regularisation losses: what the JAX loop computes."""

    def optimizer_config(model: keras.Model) -> dict:
        return {k: v for k, v in model.optimizer.get_config().items() if k != "name"}

    shapes = [tuple(v.shape) for v in models[0].variables]
    config = optimizer_config(models[0])
    for i, model in enumerate(models):
        loss = getattr(model, "loss", None)
        if loss not in ("mse", "mean_squared_error") and not isinstance(loss, keras.losses.MeanSquaredError):
            raise ValueError(
                f"the JAX epoch loop trains with the MSE loss; model {i} was compiled with {loss!r}"
            )
        if model.losses:
            raise ValueError(f"the JAX epoch loop adds no regularisation losses, and model {i} has some")
        if [tuple(v.shape) for v in model.variables] != shapes:
            raise ValueError(f"model {i} has another architecture than model 0; stack only copies of one")
        if optimizer_config(model) != config:
            raise ValueError(f"model {i} has another optimizer configuration than model 0")


def _jax_programs(model: keras.Model, n: int, batch_size: int):
    """``epoch(state, x, y, order) -> state, [loss, mae]`` and ``evaluate(state, x, y) -> [loss, mae]``.

    ``state`` is (trainable, non-trainable, optimizer) values; pure functions, to be ``vmap``-ed and jitted.
    """
    import jax
    import jax.numpy as jnp

    optimizer = model.optimizer

    def errors(trainable, non_trainable, xb, yb, training):
        pred, non_trainable = model.stateless_call(trainable, non_trainable, xb, training=training)
        return pred - jnp.reshape(yb, pred.shape).astype(pred.dtype), non_trainable

    def loss_fn(trainable, non_trainable, xb, yb):
        err, non_trainable = errors(trainable, non_trainable, xb, yb, True)
        return jnp.mean(jnp.square(err)), (non_trainable, jnp.mean(jnp.abs(err)))

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def step(state, x, y, idx):
        trainable, non_trainable, opt = state
        (loss, (non_trainable, mae)), grads = grad_fn(trainable, non_trainable, x[idx], y[idx])
        trainable, opt = optimizer.stateless_apply(opt, grads, trainable)
        return (trainable, non_trainable, opt), jnp.stack([loss, mae])

    full, rest = divmod(n, batch_size)

    def epoch(state, x, y, order):
        sums = jnp.zeros(2, jnp.float32)
        if full:
            batches = jnp.reshape(order[: full * batch_size], (full, batch_size))
            state, per_batch = jax.lax.scan(lambda s, idx: step(s, x, y, idx), state, batches)
            sums = sums + batch_size * jnp.sum(per_batch, axis=0)
        if rest:  # the last, smaller batch, as fit has it
            state, last = step(state, x, y, order[full * batch_size :])
            sums = sums + rest * last
        return state, sums / n

    def evaluate(state, x, y):
        err, _ = errors(state[0], state[1], x, y, False)
        return jnp.stack([jnp.mean(jnp.square(err)), jnp.mean(jnp.abs(err))])

    return epoch, evaluate


def _variable_groups(model: keras.Model) -> tuple[list, list, list]:
    """The loop's state, as variables: trainable, non-trainable (dropout seeds included), optimizer."""
    return model.trainable_variables, model.non_trainable_variables, model.optimizer.variables


def _state(model: keras.Model) -> tuple[list, list, list]:
    return tuple([v.value for v in variables] for variables in _variable_groups(model))


def _sync(model: keras.Model, state) -> None:
    """Write the loop's state back into the model's and the optimizer's variables."""
    for variables, values in zip(_variable_groups(model), state, strict=True):
        for v, value in zip(variables, values, strict=True):
            v.assign(value)


def _fit_jax(models, x, y, epochs, batch_size, validation_data, callbacks, shuffle, seeds, verbose):
    """JAX: per epoch one jitted call, ``lax.scan`` over the batches, ``vmap`` over the stacked models."""
    import jax
    import jax.numpy as jnp

    _check_models(models)
    for model in models:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    n, k = len(x), len(models)
    epoch_fn, evaluate_fn = _jax_programs(models[0], n, batch_size)
    run_epoch = _over_models(epoch_fn, models[0], k, (0, None, None, 0))
    evaluate = _over_models(evaluate_fn, models[0], k, (0, None, None))
    unstack = jax.jit(lambda s: [jax.tree.map(lambda a, i=i: a[i], s) for i in range(k)])
    x_dev, y_dev = jax.device_put(np.asarray(x, np.float32)), jax.device_put(np.asarray(y, np.float32))
    val = (
        None
        if validation_data is None
        else [jax.device_put(np.asarray(a, np.float32)) for a in validation_data]
    )
    rngs = [np.random if seed is None else np.random.default_rng(seed) for seed in seeds]
    histories = [keras.callbacks.History() for _ in models]
    lists = [
        keras.callbacks.CallbackList(
            [*cbs, hist], add_progbar=verbose != 0, verbose=verbose, model=model, epochs=epochs, steps=1
        )
        for model, cbs, hist in zip(models, callbacks, histories, strict=True)
    ]
    state = jax.tree.map(lambda *a: jnp.stack(a), *[_state(m) for m in models])

    def orders() -> np.ndarray:
        return np.stack([rng.permutation(n) if shuffle else np.arange(n) for rng in rngs]).astype(np.int32)

    _epochs((run_epoch, evaluate, unstack), state, (x_dev, y_dev), val, orders, models, lists, epochs)
    return histories


def _epochs(programs, state, data, val, orders, models, lists, epochs: int) -> None:
    """The epochs of :func:`_fit_jax`: one call of ``run_epoch`` each, then each model's callbacks."""
    import jax

    run_epoch, evaluate, unstack = programs
    running = list(range(len(models)))
    for i in running:
        models[i].stop_training = False
        lists[i].on_train_begin()
    for epoch in range(epochs):
        for i in running:
            lists[i].on_epoch_begin(epoch)
        state, means = run_epoch(state, *data, jax.device_put(orders()))
        means = np.asarray(means)
        vals = None if val is None else np.asarray(evaluate(state, *val))
        states = unstack(state)
        for i in running:
            logs = {"loss": float(means[i, 0]), "mae": float(means[i, 1])}
            lists[i].on_train_batch_end(0, logs)
            if vals is not None:
                logs |= {"val_loss": float(vals[i, 0]), "val_mae": float(vals[i, 1])}
            _sync(models[i], states[i])
            lists[i].on_epoch_end(epoch, logs)
        for i in [i for i in running if models[i].stop_training]:
            running.remove(i)
            lists[i].on_train_end()
        if not running:
            break
    for i in running:
        lists[i].on_train_end()


def _over_models(fn, model: keras.Model, k: int, in_axes: tuple):
    """``fn`` (a program of ``model``) jitted over ``k`` stacked models: ``vmap``-ed when there are several.

    One model runs without ``vmap`` (its state is unstacked and stacked again), which keeps Keras's cuDNN
    LSTM kernel on a GPU. JAX has no batching rule for that kernel, so the vmapped program is called (and
    so traced) inside :func:`goldlab.models.without_cudnn`.
    """
    import jax

    if k > 1:
        vmapped = jax.jit(jax.vmap(fn, in_axes=in_axes))

        def plain_kernel(*args):
            with without_cudnn(model):
                return vmapped(*args)

        return plain_kernel

    def one(*args):
        pairs = zip(args, in_axes, strict=True)
        args = [jax.tree.map(lambda a: a[0], a) if ax == 0 else a for a, ax in pairs]
        return jax.tree.map(lambda a: a[None], fn(*args))

    return jax.jit(one)
