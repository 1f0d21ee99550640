"""Overhead of ``GradientMonitor(every=1)`` on an epoch of the blog's baseline model, current Keras backend.

    KERAS_BACKEND=jax python benchmarks/monitor_overhead.py --rounds 3 --epochs 3 --repeats 15

Two copies of ``build_step("baseline")`` (same seed) train on the gold windows (1,247 days, 60-day windows
of 5 features, the blog's 80 % training split), batch 32: one plain, one with
``GradientMonitor(probe=(x[:64], y[:64]), every=1)``. The runs are interleaved (plain, then monitored,
``--rounds`` times, each ``--epochs`` epochs) so that drifts in machine load hit both alike. The epoch clock
is the last callback, so a monitored epoch includes the probe at its end. The very first epoch of each model
(compilation) is excluded.

On a machine shared with other work, wall-clock medians are noisy; the script reports, besides them:

* the **minimum** over epochs and over ``--repeats`` timings of one record (the probe's forward and backward
  pass plus the monitor's bookkeeping), each the least disturbed run of the same work;
* the same in **CPU seconds** of this process (``time.process_time``), which other processes on the machine
  do not inflate.

The overhead figure of record is one record over one plain epoch, by minimum and by CPU time. Goal: at most
5 % at ``every=1``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from goldlab import data as gdata  # noqa: E402
from goldlab.models import build_step  # noqa: E402
from goldlab.monitor import GradientMonitor  # noqa: E402

BATCH = 32


class Clocks(keras.callbacks.Callback):
    """Wall-clock and CPU seconds of each epoch; put it last so it includes the other callbacks' work."""

    def __init__(self, wall: list[float], cpu: list[float]):
        super().__init__()
        self.wall, self.cpu = wall, cpu

    def on_epoch_begin(self, epoch, logs=None):
        self._t, self._c = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)


def gold_windows() -> tuple[np.ndarray, np.ndarray]:
    """The blog's training windows (80/20 split, no validation part), 1-day horizon: (n, 60, 5), (n, 1)."""
    windows = gdata.make_windows(gdata.make_features(gdata.load_gold()), horizon=1, val_fraction=0.0)
    return windows.x_train.astype("float32"), windows.y_train.astype("float32").reshape(-1, 1)


def record_seconds(monitor: GradientMonitor, repeats: int) -> tuple[float, float, float]:
    """(min wall, median wall, min CPU) seconds of one full record, measured after the run."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        monitor._record(-1)  # the work of one monitored epoch end: probe, tables, checks
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), statistics.median(wall), min(cpu)


def measure(rounds: int, epochs: int, probe: int, repeats: int, parts: int | None) -> dict[str, float]:
    """Interleaved epoch times with and without the monitor, and the cost of one record."""
    x, y = gold_windows()
    plain, monitored = build_step("baseline", seed=0), build_step("baseline", seed=0)
    monitor = GradientMonitor(probe=(x[:probe], y[:probe]), every=1, parts=parts)
    wall: dict[str, list[float]] = {"plain": [], "monitored": []}
    cpu: dict[str, list[float]] = {"plain": [], "monitored": []}
    fit = dict(epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0)
    for _ in range(rounds):
        plain.fit(x, y, callbacks=[Clocks(wall["plain"], cpu["plain"])], **fit)
        monitored.fit(x, y, callbacks=[monitor, Clocks(wall["monitored"], cpu["monitored"])], **fit)
    med = {k: statistics.median(v[1:]) for k, v in wall.items()}
    low = {k: min(v[1:]) for k, v in wall.items()}
    low_cpu = {k: min(v[1:]) for k, v in cpu.items()}
    rec_min, rec_med, rec_cpu = record_seconds(monitor, repeats)
    split = monitor._probe._split
    return {
        "parts": split.k if split is not None and monitor.parts_declined is None else 1,
        "cores": len(os.sched_getaffinity(0)),
        "windows": len(x),
        "plain_med": med["plain"],
        "monitored_med": med["monitored"],
        "interleaved_med_pct": 100.0 * (med["monitored"] / med["plain"] - 1.0),
        "plain_min": low["plain"],
        "monitored_min": low["monitored"],
        "interleaved_min_pct": 100.0 * (low["monitored"] / low["plain"] - 1.0),
        "record_min": rec_min,
        "record_med": rec_med,
        "record_pct": 100.0 * rec_min / low["plain"],
        "plain_cpu": low_cpu["plain"],
        "record_cpu": rec_cpu,
        "record_cpu_pct": 100.0 * rec_cpu / low_cpu["plain"],
        "epochs_timed": len(wall["plain"]) - 1,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (plain, then monitored)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit in each round")
    parser.add_argument("--probe", type=int, default=64, help="windows in the monitor's probe batch")
    parser.add_argument("--repeats", type=int, default=15, help="timings of one record after the run")
    parser.add_argument(
        "--parts", type=int, default=None, help="the probe's parts (JAX); default: the monitor's own choice"
    )
    args = parser.parse_args(argv)
    if args.rounds * args.epochs < 2:
        parser.error("need at least 2 epochs in all: the first is excluded as warm-up")
    r = measure(args.rounds, args.epochs, args.probe, args.repeats, args.parts)
    print(
        f"backend {keras.backend.backend()}, {r['windows']} gold training windows, probe {args.probe} "
        f"in {r['parts']} part(s) on {r['cores']} CPU core(s)"
    )
    print(
        f"epoch wall s: plain median {r['plain_med']:.3f} / min {r['plain_min']:.3f}; monitored median "
        f"{r['monitored_med']:.3f} / min {r['monitored_min']:.3f} (interleaved overhead "
        f"{r['interleaved_med_pct']:+.1f} % by medians, {r['interleaved_min_pct']:+.1f} % by minima)"
    )
    print(
        f"one record: {r['record_min'] * 1000:.0f} ms min ({r['record_med'] * 1000:.0f} ms median) = "
        f"{r['record_pct']:.1f} % of the fastest plain epoch; CPU {r['record_cpu'] * 1000:.0f} ms of "
        f"{r['plain_cpu']:.3f} s = {r['record_cpu_pct']:.1f} % (goal <= 5 %)"
    )
    print(f"{r['epochs_timed']} epochs timed per model, first excluded; load average {r['load']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
