"""The practice page's pasted ``TapeMonitor`` on the blog's own stack: TensorFlow 2.15, tf.keras (Keras 2).

``make test-tf215`` runs this file in a separate virtual environment holding only ``tensorflow-cpu==2.15.*``
(no goldlab, no Keras 3), so the page's promise that the snippet works on the blog's TensorFlow is tested,
not stated. The snippet is read from the notebook itself (the code cell tagged ``tape-monitor``), never
from a copy. It is pasted on the blog's networks (three LSTMs 128-64-32 with dropout and ``clipnorm=1.0``;
the residual step-4 stack) and compared, after ``fit``, with an independent ``tf.GradientTape`` computation
of the loss ``fit`` trains on (checked against ``model.evaluate``), for float32 probes and for NumPy's
default float64 with targets of shape ``(n,)``. The output ends in ``N passed, M failed``; any failure exits
with status 1.

Usage: ``python .ci/tf215_snippet.py [book/practice.ipynb] [--any-tf]`` (``--any-tf`` skips the version check,
to run the same checks under another TensorFlow).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import tensorflow as tf

TAG = "tape-monitor"
RTOL = 1e-4  # largest relative difference allowed between the snippet and the reference


def snippet(notebook: Path) -> str:
    """The source of the notebook's one code cell tagged ``tape-monitor``."""
    cells = json.loads(notebook.read_text())["cells"]
    tagged = [c for c in cells if TAG in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise SystemExit(f"{notebook}: expected one cell tagged {TAG!r}, found {len(tagged)}")
    return "".join(tagged[0]["source"])


def blog_baseline(seed: int) -> tf.keras.Model:
    """The blog's network: LSTM(128) - Dropout - LSTM(64) - Dropout - LSTM(32) - Dense(1), Adam clipnorm=1."""
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((60, 5)),
            tf.keras.layers.LSTM(128, return_sequences=True),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.LSTM(64, return_sequences=True),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.LSTM(32),
            tf.keras.layers.Dense(1),
        ]
    )
    model.compile(tf.keras.optimizers.Adam(0.001, clipnorm=1.0), loss="mse", metrics=["mae"])
    return model


def blog_residual(seed: int) -> tf.keras.Model:
    """The blog's step 4: three orthogonal LSTM(128)s joined by Add(), then LSTM(64) and Dense(1)."""
    tf.keras.utils.set_random_seed(seed)
    orth = {"kernel_initializer": "orthogonal", "recurrent_initializer": "orthogonal"}
    inputs = tf.keras.Input((60, 5))
    h = tf.keras.layers.Dropout(0.2)(tf.keras.layers.LSTM(128, return_sequences=True, **orth)(inputs))
    for _ in range(2):
        skip = tf.keras.layers.LSTM(128, return_sequences=True, **orth)(h)
        h = tf.keras.layers.Dropout(0.2)(tf.keras.layers.Add()([h, skip]))
    outputs = tf.keras.layers.Dense(1)(tf.keras.layers.LSTM(64)(h))
    model = tf.keras.Model(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(0.001, clipnorm=1.0), loss="mse")
    return model


def reference(model: tf.keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, list[float], np.ndarray]:
    """Independent of the snippet: the MSE on ``(x, y)`` with ``y`` as an (n, 1) column, dropout off, and
    its gradient norms per trainable variable and per day of the window (over batch and features)."""
    xt = tf.constant(np.asarray(x, dtype=np.float32))
    yt = tf.constant(np.asarray(y, dtype=np.float32).reshape(-1, 1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        loss = tf.keras.losses.MeanSquaredError()(yt, model(xt, training=False))
    g_w = tape.gradient(loss, model.trainable_variables)
    g_x = tape.gradient(loss, xt).numpy().astype(np.float64)
    per_day = np.sqrt((g_x**2).sum(axis=(0, 2)))
    return float(loss), [float(np.linalg.norm(g.numpy())) for g in g_w], per_day


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference of ``a`` from ``b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))


def case(monitor_class: type, build, x: np.ndarray, y: np.ndarray, epochs: int = 2) -> list[str]:
    """Fit ``build(0)`` on ``(x, y)`` with the snippet on; the problems found (empty: it agrees)."""
    model = build(0)
    mon = monitor_class(x[:64], y[:64])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[mon])
    problems = []
    if printed.getvalue():
        problems.append(f"printed {len(printed.getvalue().splitlines())} lines with fit(verbose=0)")
    if [r["epoch"] for r in mon.log] != list(range(1, epochs + 1)):
        problems.append(f"epochs logged {[r['epoch'] for r in mon.log]}, not 1..{epochs}")
    loss, weights, per_day = reference(model, x[:64], y[:64])
    y_col = np.asarray(y[:64]).reshape(-1, 1)
    evaluated = model.evaluate(x[:64], y_col, batch_size=64, verbose=0, return_dict=True)["loss"]
    if relative(loss, evaluated) > RTOL:
        problems.append(f"reference loss {loss:.6g} is not the loss fit trains ({evaluated:.6g})")
    last = mon.log[-1]
    names = [getattr(v, "path", v.name) for v in model.trainable_variables]
    if list(last["weights"]) != names:
        problems.append(f"variables {list(last['weights'])[:3]}... are not the model's {names[:3]}...")
    if (d := relative(list(last["weights"].values()), weights)) > RTOL:
        problems.append(f"||dL/dW|| differs from the reference by up to {d:.1e} (relative)")
    if list(last["per_day"]) != list(range(1, x.shape[1] + 1)):
        problems.append(f"days numbered {list(last['per_day'])[:3]}..., not 1..{x.shape[1]}")
    elif (d := relative(list(last["per_day"].values()), per_day)) > RTOL:
        problems.append(f"||dL/dx_t|| differs from the reference by up to {d:.1e} (relative)")
    return problems


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    args = [a for a in argv if not a.startswith("--")]
    notebook = Path(args[0] if args else "book/practice.ipynb")
    print(f"TensorFlow {tf.__version__}, Keras {metadata.version('keras')}; snippet from {notebook}")
    if "--any-tf" not in argv and not tf.__version__.startswith("2.15."):
        print(f"FAIL: this check is for TensorFlow 2.15, found {tf.__version__}\n0 passed, 1 failed")
        return 1
    namespace: dict = {"tf": tf}
    exec(snippet(notebook), namespace)  # the page's cell, as a reader pastes it
    monitor_class = namespace["TapeMonitor"]
    rng = np.random.default_rng(0)
    x64 = rng.random((128, 60, 5))  # NumPy's default float64
    y64 = x64[:, -5:, 0].mean(axis=1) + 0.01 * rng.normal(size=128)  # shape (n,)
    cases = {
        "blog baseline (128-64-32, clipnorm), float32, y (n, 1)": (
            blog_baseline,
            x64.astype(np.float32),
            y64.astype(np.float32).reshape(-1, 1),
        ),
        "blog baseline (128-64-32, clipnorm), float64, y (n,)": (blog_baseline, x64, y64),
        "blog step 4 (residual 128-128-128-64), float32, y (n,)": (
            blog_residual,
            x64.astype(np.float32),
            y64.astype(np.float32),
        ),
    }
    passed = failed = 0
    for name, (build, x, y) in cases.items():
        try:
            problems = case(monitor_class, build, x, y)
        except Exception as exc:  # a crash of the snippet is a failure of this case, reported as such
            problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"PASS {name}")
    print(f"{passed} passed, {failed} failed in {time.perf_counter() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
