"""The standalone GradientTape monitor of book/practice.ipynb, run from the notebook's own cell.

The page shows a ~15-line monitor a reader on tf.keras 2.15 can paste. This test reads that cell (tagged
``tape-monitor``) out of the notebook, so page and test share one source, and checks its numbers under
Keras 3's TensorFlow backend against two independent computations: the closed-form gradients of a linear
model, and goldlab's own probe (:mod:`goldlab.monitor`) on a recurrent one.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from goldlab import monitor

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow snippet")

PAGE = Path(__file__).resolve().parents[1] / "book" / "practice.ipynb"


def tape_cell() -> str:
    cells = json.loads(PAGE.read_text())["cells"]
    (cell,) = [c for c in cells if "tape-monitor" in c.get("metadata", {}).get("tags", [])]
    return "".join(cell["source"])


@pytest.fixture
def TapeMonitor():
    namespace = {"tf": tf}
    exec(tape_cell(), namespace)  # the page's cell, as a reader would paste it
    return namespace["TapeMonitor"]


def test_the_cell_is_short_and_standalone():
    source = tape_cell()
    lines = source.splitlines()
    assert len(lines) <= 15 and max(map(len, lines)) <= 88
    assert "goldlab" not in source and "import keras" not in source  # tf.keras only


def batch(n=16, t=6, f=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, t, f)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_linear_model_matches_the_closed_form(TapeMonitor, capsys):
    x, y = batch()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    mon = TapeMonitor(x, y)
    model.fit(x, y, epochs=2, batch_size=len(x), verbose=0, callbacks=[mon])
    assert [r["epoch"] for r in mon.log] == [1, 2]  # epochs numbered from 1, as in goldlab
    assert capsys.readouterr().out == ""  # quiet: everything is in .log
    # L = mean(r^2), r = x.w + b - y: dL/dw = 2/n x^T r, dL/db = 2/n sum r, dL/dx_i = 2/n r_i w
    w, b = (np.asarray(v, dtype=np.float64) for v in model.get_weights())
    flat = x.reshape(len(x), -1).astype(np.float64)
    r = flat @ w + b - y
    expect_w, expect_b = 2 / len(x) * flat.T @ r, 2 / len(x) * r.sum()
    per_day = 2 / len(x) * np.linalg.norm(r) * np.linalg.norm(w.reshape(x.shape[1], -1), axis=1)
    got = list(mon.log[-1]["weights"].values())
    assert got == pytest.approx([np.linalg.norm(expect_w), abs(expect_b)], rel=1e-4)
    assert list(mon.log[-1]["per_day"]) == list(range(1, x.shape[1] + 1))  # day 1: the oldest
    assert list(mon.log[-1]["per_day"].values()) == pytest.approx(per_day, rel=1e-4)


def test_float64_data_and_flat_targets_measure_what_fit_trains(TapeMonitor):
    """NumPy's float64 and y of shape (n,): the loss fit trains, not a 64 x 64 broadcast of it."""
    x, y = batch(n=24)
    x64, y_flat = x.astype("float64"), y[:, 0].astype("float64")
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    mon = TapeMonitor(x64, y_flat)
    model.fit(x64, y_flat, epochs=1, verbose=0, callbacks=[mon])
    # reference: float32 probe, y as the (n, 1) column the model predicts, the loss fit reports
    probe = monitor.GradientProbe(model)(x, y)
    expect = [float(np.linalg.norm(g)) for g in probe.weights.values()]
    assert list(mon.log[-1]["weights"].values()) == pytest.approx(expect, rel=1e-4)
    first = probe.time_profile().query("layer == @model.layers[0].name")["norm"].to_numpy()
    assert list(mon.log[-1]["per_day"].values()) == pytest.approx(first, rel=1e-4)
    fitted = model.evaluate(x64, y_flat, batch_size=len(x), verbose=0)
    assert float(probe.loss) == pytest.approx(fitted, rel=1e-4)


def test_recurrent_model_matches_goldlab_probe(TapeMonitor):
    x, y = batch(n=32, t=12)
    keras.utils.set_random_seed(1)
    inputs = keras.Input(x.shape[1:])
    h = keras.layers.LSTM(8, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GRU(4)(h)))
    model.compile(optimizer="adam", loss="mse")
    mon = TapeMonitor(x[:16], y[:16])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[mon])
    probe = monitor.GradientProbe(model)(x[:16], y[:16])
    expect = [float(np.linalg.norm(g)) for g in probe.weights.values()]
    assert list(mon.log[-1]["weights"].values()) == pytest.approx(expect, rel=1e-4)
    profile = probe.time_profile()
    first = profile[profile["layer"] == model.layers[1].name]["norm"].to_numpy()
    assert list(mon.log[-1]["per_day"].values()) == pytest.approx(first, rel=1e-4)
    assert list(mon.log[-1]["weights"])[0].startswith(model.layers[1].name)  # names say the layer


# ------------------------------------------------------------------------------------------- your data


def your_data_cells() -> list[str]:
    cells = json.loads(PAGE.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if "your-data" in c.get("metadata", {}).get("tags", [])]


def run_your_data_cells() -> dict:
    """The page's cells on the reader's series, in order, as the page runs them."""
    import pandas as pd
    from IPython.display import Markdown

    from goldlab import data
    from goldlab.lab import forecast

    namespace = {"data": data, "forecast": forecast, "pd": pd, "Markdown": Markdown}
    for source in your_data_cells():
        exec(source, namespace)
    return namespace


def short_file(path: Path, n_days: int = 300) -> None:
    """A 300-day file with German headers and decimal commas, as a reader might have it."""
    import pandas as pd

    rng = np.random.default_rng(3)
    close = 1300.0 + np.cumsum(rng.normal(0.5, 8.0, n_days))  # drifting up: a test period above training
    days = pd.bdate_range("2021-01-04", periods=n_days)
    rows = [f"{d:%d.%m.%Y};" + f"{c:.2f}".replace(".", ",") for d, c in zip(days, close, strict=True)]
    path.write_text("Datum;Schlusskurs\n" + "\n".join(rows) + "\n")


def test_the_page_speaks_of_a_short_file_of_ones_own(tmp_path, monkeypatch):
    from goldlab import data

    path = tmp_path / "meine_preise.csv"
    short_file(path)
    monkeypatch.setenv("GOLDLAB_PRICES", str(path))
    monkeypatch.setenv("GOLDLAB_PRICES_OPTIONS", '{"date_col": "Datum", "price_col": "Schlusskurs"}')
    with pytest.warns(data.ShortSeriesWarning, match="meine_preise.csv: 300 days"):
        page = run_your_data_cells()
    text = page["text"]
    assert "Your file: " in text and "meine_preise.csv: 300 days" in text
    assert "fewer than the 1,247 days of the blog's sample" in text and "the whole file" in text
    # independent: the share of the file's test targets above its training maximum, from make_windows
    w = data.make_windows(
        data.make_features(data.read_prices(path, date_col="Datum", price_col="Schlusskurs"))
    )
    above = round(float(np.mean(w.y_test_usd > w.train_close.max())), 2)  # the page rounds to 0.01
    assert above > 0
    assert f"There {above:.0%} of the test targets" in text
    assert list(page["changes"].columns) == ["bundled, cut a year earlier", "bundled", "your file"]


def test_the_page_without_a_file_of_ones_own(monkeypatch):
    monkeypatch.delenv("GOLDLAB_PRICES", raising=False)
    monkeypatch.delenv("GOLDLAB_PRICES_OPTIONS", raising=False)
    page = run_your_data_cells()
    assert page["yours"] is None and "Measure it on your data" in page["text"]
    assert "your file" not in page["changes"].columns


# ------------------------------------------------------------------------------------------- the TF 2.15 job


def ci_check():
    """``.ci/tf215_snippet.py``, the check ``make test-tf215`` runs on TensorFlow 2.15, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "tf215_snippet", PAGE.parents[1] / ".ci" / "tf215_snippet.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_lstm(seed: int):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse")
    return model


def test_the_tf215_check_reads_the_page_and_catches_a_monitor_that_broadcasts():
    check = ci_check()
    assert check.snippet(PAGE) == tape_cell()  # the job reads the page's own cell
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 6, 3))  # float64
    y = x[:, -1, 0] + 0.1 * rng.normal(size=64)  # shape (n,)
    page = {"tf": tf}
    exec(tape_cell(), page)
    assert check.case(page["TapeMonitor"], tiny_lstm, x, y, epochs=1) == []
    # the page's cell with y left unshaped: (64,) - (64, 1) broadcasts to 64 x 64, and the check says so
    broken = {"tf": tf}
    exec(tape_cell().replace("tf.reshape(self.y, tf.shape(pred))", "self.y"), broken)
    problems = check.case(broken["TapeMonitor"], tiny_lstm, x, y, epochs=1)
    assert any("||dL/dW|| differs from the reference" in p for p in problems)
