"""Tests for goldlab.lab.loops: the compiled-epoch loop and stacked seeds train exactly as ``model.fit`` does.

Run under TensorFlow (CI's main run) and again under JAX (``make test-jax``); the stacked loop is JAX-only.
"""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest
from test_experiments import SEEDS, ablation, use_small_models

from goldlab.lab import loops
from goldlab.models import build_lstm, build_step, compile_model, without_cudnn

JAX = keras.backend.backend() == "jax"
needs_jax = pytest.mark.skipif(not JAX, reason="the stacked loop runs under the jax backend")
needs_compiled_epoch = pytest.mark.skipif(
    keras.backend.backend() not in ("jax", "tensorflow"), reason="no compiled epoch under this backend"
)


def on_cpu() -> bool:
    import jax

    return jax.default_backend() == "cpu"


def data(n: int, seed: int = 0, steps: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, steps, 5)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def small(step: str = "baseline", seed: int = 0) -> keras.Model:
    """The blog's step on 12-day windows, with 8-4 LSTMs except for the blog's fixed residual network."""
    small_units = {} if step == "residual" else {"units": (8, 4)}
    return build_step(step, input_shape=(12, 5), seed=seed, **small_units)


def max_weight_diff(a: keras.Model, b: keras.Model) -> float:
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights(), strict=True))


@needs_compiled_epoch
@pytest.mark.parametrize("step", ["baseline", "clipnorm"])
@pytest.mark.parametrize("n", [96, 100])  # whole batches only; and a last batch of 4
def test_epoch_loop_trains_as_fit_does(step, n):
    x, y = data(n)
    val = data(40, seed=1)
    a, b = small(step), small(step)
    ha = a.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0, validation_data=val)
    hb = loops.fit_epochs(b, x, y, 2, 32, val, shuffle=False)
    assert max_weight_diff(a, b) <= 1e-6
    assert set(hb.history) == set(ha.history) == {"loss", "mae", "val_loss", "val_mae"}
    for key in ha.history:
        np.testing.assert_allclose(hb.history[key], ha.history[key], rtol=1e-5)
    assert hb.epoch == [0, 1]


@needs_compiled_epoch
def test_epoch_loop_seed_fixes_the_batch_order():
    x, y = data(100)
    models = [small(seed=3) for _ in range(3)]
    for model, seed in zip(models, (7, 7, 8), strict=True):
        keras.utils.set_random_seed(seed)  # TensorFlow's shuffle follows the global seed, JAX's the argument
        loops.fit_epochs(model, x, y, 1, 32, seed=seed)
    assert max_weight_diff(models[0], models[1]) == 0.0
    assert max_weight_diff(models[0], models[2]) > 1e-6


@needs_compiled_epoch
def test_epoch_loop_stops_on_nan_after_the_epoch():
    x, y = data(64)
    model = small()
    history = loops.fit_epochs(model, x, y * 1e30, 3, 32, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1
    assert not np.isfinite(history.history["loss"][0])


def test_epoch_loop_checks_its_inputs():
    x, y = data(10)
    with pytest.raises(ValueError, match="x has 10 windows but y has 9"):
        loops.fit_epochs(small(), x, y[:9], 1)
    with pytest.raises(ValueError, match="no training windows"):
        loops.fit_epochs(small(), x[:0], y[:0], 1)


@needs_jax
def test_jax_epoch_loop_needs_mse():
    model = build_lstm(input_shape=(12, 5), units=(4,))
    model.compile(optimizer="adam", loss="mae")
    with pytest.raises(ValueError, match="MSE loss"):
        loops.fit_epochs(model, *data(10), 1)


@needs_jax
@pytest.mark.parametrize("step", ["clipnorm", "residual"])
def test_stacked_seeds_train_as_each_alone(step):
    x, y = data(100)
    val = data(40, seed=1)
    alone = [small(step, seed) for seed in range(2)]
    together = [small(step, seed) for seed in range(2)]
    histories = []
    for i, m in enumerate(alone):
        # the kernel the stack runs: on a GPU a lone LSTM would run cuDNN's, which rounds otherwise
        with without_cudnn(m):
            histories.append(loops.fit_epochs(m, x, y, 2, 32, val, seed=10 + i))
    stacked = loops.fit_stacked(together, x, y, 2, 32, val, seeds=[10, 11])
    # Same kernels, same numbers: to float32 rounding on a CPU. A GPU rounds a batched (vmap) matrix
    # product otherwise than a lone one, and Adam carries that through the epochs (measured there: 5e-5).
    weights, rtol = (1e-6, 1e-5) if on_cpu() else (2e-4, 1e-4)
    for a, b, ha, hb in zip(alone, together, histories, stacked, strict=True):
        assert max_weight_diff(a, b) <= weights
        for key in ha.history:
            np.testing.assert_allclose(hb.history[key], ha.history[key], rtol=rtol)
    assert max_weight_diff(together[0], together[1]) > 1e-3  # the seeds differ


@needs_jax
def test_stacked_nan_model_stops_alone():
    x, y = data(64)
    models = [small(seed=s) for s in range(2)]
    models[0].set_weights([np.full_like(w, np.nan) for w in models[0].get_weights()])
    clean = models[1].get_weights()
    callbacks = [[keras.callbacks.TerminateOnNaN()] for _ in models]
    histories = loops.fit_stacked(models, x, y, 3, 32, callbacks=callbacks, seeds=[0, 1])
    assert len(histories[0].epoch) == 1 and not np.isfinite(histories[0].history["loss"][0])
    assert len(histories[1].epoch) == 3 and np.all(np.isfinite(histories[1].history["loss"]))
    assert max(float(np.max(np.abs(w - c))) for w, c in zip(models[1].get_weights(), clean, strict=True)) > 0


@needs_jax
def test_stacked_rejects_mixed_models():
    x, y = data(10)
    with pytest.raises(ValueError, match="another architecture"):
        loops.fit_stacked([small("baseline"), small("residual")], x, y, 1)
    other = compile_model(small(seed=1), learning_rate=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        loops.fit_stacked([small("baseline"), other], x, y, 1)
    with pytest.raises(ValueError, match="one seed per model"):
        loops.fit_stacked([small(), small()], x, y, 1, seeds=[0])


@pytest.mark.skipif(JAX, reason="checks the message other backends get")
def test_stacked_needs_jax():
    with pytest.raises(ValueError, match="needs the jax backend"):
        loops.fit_stacked([small()], *data(10), 1)


# ------------------------------------------------------------------------------------------ in the ablation


@needs_jax
def test_stacked_ablation_equals_the_epoch_loop(tmp_path, monkeypatch):
    use_small_models(monkeypatch)
    one = ablation(None, loop="epoch").query("seed >= 0").set_index("seed")
    both = ablation(tmp_path, loop="stacked").query("seed >= 0").set_index("seed")
    assert (one["trained_together"] == 1).all() and (both["trained_together"] == len(SEEDS)).all()
    assert list(both["loop"]) == ["stacked"] * len(SEEDS)
    np.testing.assert_allclose(both["mae"], one["mae"], rtol=1e-6)
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == [f"baseline_h1_level_e1_val10_s{s}" for s in SEEDS]
    # Resume: a lost run is trained again, alone, to the same numbers.
    shutil.rmtree(tmp_path / "runs" / folders[-1])
    again = ablation(tmp_path, loop="stacked").query("seed >= 0").set_index("seed")
    assert again.loc[SEEDS[-1], "trained_together"] == 1
    np.testing.assert_allclose(again["mae"], both["mae"], rtol=1e-6)


def test_unknown_loop_is_rejected():
    from goldlab.lab import experiments

    with pytest.raises(ValueError, match="unknown loop 'scan'"):  # before any data is read
        experiments.run_ablation(steps=("baseline",), profile="quick", loop="scan")
