"""Overhead of ``GradientMonitor(every=1)`` on an epoch of the blog's baseline model, current Keras backend.

    KERAS_BACKEND=jax python benchmarks/monitor_overhead.py --rounds 3 --epochs 3

Two copies of ``build_step("baseline")`` (same seed) train on 997 random windows (60, 5), batch 32: one
plain, one with ``GradientMonitor(probe=(x[:64], y[:64]), every=1)``. The runs are interleaved (plain, then
monitored, ``--rounds`` times, each ``--epochs`` epochs) so that drifts in machine load hit both alike. The
epoch clock is the last callback, so a monitored epoch includes the probe at its end. The very first epoch of
each model (compilation) is excluded; the figure is the median of the others. Goal: at most 5 % at every=1.
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

from goldlab.experiments import EpochClock  # noqa: E402
from goldlab.models import build_step  # noqa: E402
from goldlab.monitor import GradientMonitor  # noqa: E402

N_WINDOWS, WINDOW, FEATURES, BATCH = 997, 60, 5, 32


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """997 seeded random windows (60, 5) and targets (n, 1), float32."""
    rng = np.random.default_rng(seed)
    return (
        rng.random((N_WINDOWS, WINDOW, FEATURES), dtype=np.float32),
        rng.random((N_WINDOWS, 1), dtype=np.float32),
    )


def probe_seconds(monitor: GradientMonitor, repeats: int = 5) -> float:
    """Median seconds of one probe (what every=1 adds per epoch), measured after the run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        monitor._probe(monitor.x, monitor.y)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times))


def measure(rounds: int, epochs: int, probe: int = 64) -> dict[str, float]:
    """Interleaved epoch times with and without the monitor; returns medians and the overhead in %."""
    x, y = make_data()
    plain, monitored = build_step("baseline", seed=0), build_step("baseline", seed=0)
    monitor = GradientMonitor(probe=(x[:probe], y[:probe]), every=1)
    times: dict[str, list[float]] = {"plain": [], "monitored": []}
    fit = dict(epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0)
    for _ in range(rounds):
        plain.fit(x, y, callbacks=[EpochClock(times["plain"])], **fit)
        monitored.fit(x, y, callbacks=[monitor, EpochClock(times["monitored"])], **fit)
    med = {k: float(statistics.median(v[1:])) for k, v in times.items()}
    return {
        "plain_s": med["plain"],
        "monitored_s": med["monitored"],
        "overhead_pct": 100.0 * (med["monitored"] / med["plain"] - 1.0),
        "probe_s": probe_seconds(monitor),
        "epochs_timed": len(times["plain"]) - 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (plain, then monitored)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit in each round")
    parser.add_argument("--probe", type=int, default=64, help="windows in the monitor's probe batch")
    args = parser.parse_args(argv)
    if args.rounds * args.epochs < 2:
        parser.error("need at least 2 epochs in all: the first is excluded as warm-up")
    r = measure(args.rounds, args.epochs, args.probe)
    backend, share = keras.backend.backend(), 100 * r["probe_s"] / r["plain_s"]
    print(f"backend {backend}: {r['plain_s']:.3f} s/epoch plain, {r['monitored_s']:.3f} s/epoch monitored")
    print(
        f"GradientMonitor(every=1, probe of {args.probe} windows) overhead: "
        f"{r['overhead_pct']:+.1f} % (goal <= 5 %)"
    )
    print(f"one probe: {r['probe_s'] * 1000:.0f} ms = {share:.1f} % of a plain epoch")
    print(f"medians of {r['epochs_timed']} epochs each, first epoch excluded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
