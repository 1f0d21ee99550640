"""Seconds per epoch of the blog's models under the current Keras backend, beside a plain PyTorch bound.

Run once per backend::

    KERAS_BACKEND=tensorflow python benchmarks/epoch_speed.py --epochs 3
    KERAS_BACKEND=jax        python benchmarks/epoch_speed.py --epochs 3
    KERAS_BACKEND=torch      python benchmarks/epoch_speed.py --epochs 3

Each model trains on 997 random windows of shape (60, 5) (seeded), batch 32, shuffled, by one of goldlab's
training loops (``--loop``: ``fit``, ``epoch`` or ``stacked``; see goldlab.lab.loops). The first epoch
(compilation, tracing, cuDNN autotuning) is excluded; the figure is the median of the others. The *bound*
is a hand-written PyTorch network of the same shape (nn.LSTM layers, dropout 0.2, the residual Adds where the
model has them, Linear(., 1), Adam, MSE) trained the same way on the same device in the same process: cuDNN
on a GPU. It is skipped, with a note, where torch is not importable. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from goldlab.lab.experiments import EpochClock  # noqa: E402
from goldlab.lab.loops import LOOPS, fit_epochs, fit_stacked  # noqa: E402
from goldlab.lab.runner import write_table  # noqa: E402
from goldlab.models import build_step  # noqa: E402

N_WINDOWS, WINDOW, FEATURES, BATCH = 997, 60, 5, 32


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """997 seeded random windows (60, 5) and targets (n, 1), float32 in [0, 1) like scaled prices."""
    rng = np.random.default_rng(seed)
    x = rng.random((N_WINDOWS, WINDOW, FEATURES), dtype=np.float32)
    y = rng.random((N_WINDOWS, 1), dtype=np.float32)
    return x, y


def median_after_warmup(seconds: list[float]) -> float:
    """Median of the epochs after the first (compilation); the only epoch when there is just one."""
    return float(statistics.median(seconds[1:] if len(seconds) > 1 else seconds))


# ------------------------------------------------------------------------------------------- devices


def resolve_device(requested: str) -> str:
    """``cpu`` or ``cuda``: ``auto`` picks ``cuda`` when the Keras backend sees a GPU."""
    if requested != "auto":
        return requested
    return "cuda" if keras_sees_gpu() else "cpu"


def keras_sees_gpu() -> bool:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def keras_device_scope(device: str):
    """A ``keras.device`` scope for ``cpu``/``cuda``; none under the torch backend.

    Keras 3.15's torch backend fails to build a Dropout layer inside ``keras.device`` (its integer seed
    variable becomes a ``Parameter``), so there the model goes to torch's default device: the GPU when
    one is visible (hide it with ``CUDA_VISIBLE_DEVICES=`` to time the CPU).
    """
    if keras.backend.backend() == "torch":
        if device != resolve_device("auto"):
            raise SystemExit(f"torch backend: cannot force {device}; set CUDA_VISIBLE_DEVICES instead")
        return contextlib.nullcontext()
    return keras.device("cpu:0" if device == "cpu" else "gpu:0")


def gpu_name() -> str:
    """The first GPU's name, or ``""``."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    if keras.backend.backend() == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus:
            return gpus[0].device_kind
    return ""


# ------------------------------------------------------------------------------------------- Keras


def keras_epochs(step: str, x, y, epochs: int, device: str, loop: str, together: int) -> list[float]:
    """Seconds of each epoch of ``build_step(step)`` trained on (x, y) by ``loop``.

    With ``loop="stacked"``, ``together`` seeds of the model train as one program and each figure is the
    time of one epoch of all of them.
    """
    with keras_device_scope(device):
        models = [build_step(step, input_shape=x.shape[1:], seed=s) for s in range(together)]
        clock = EpochClock()
        if loop == "stacked":
            callbacks = [[] for _ in models[1:]] + [[clock]]  # the last model's epoch ends last
            fit_stacked(models, x, y, epochs, BATCH, callbacks=callbacks, seeds=range(together))
        elif loop == "epoch":
            fit_epochs(models[0], x, y, epochs, BATCH, callbacks=[clock], seed=0)
        else:
            models[0].fit(x, y, epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0, callbacks=[clock])
    return clock.seconds


# ------------------------------------------------------------------------------------------- PyTorch bound


def set_torch_threads(n: int | None) -> int | None:
    """Set torch's intra-op threads (the bound's, and Keras's under the torch backend); returns the count.

    On a CPU shared with another job, torch's default (one thread per core) can oversubscribe the cores
    and run many times slower: pass 1 there.
    """
    try:
        import torch
    except ImportError:
        return None
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def torch_epochs(step: str, x: np.ndarray, y: np.ndarray, epochs: int, device: str) -> list[float] | None:
    """Seconds of each epoch of the plain PyTorch network shaped as ``step``; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    dev = torch.device(device)
    model = TorchStack(torch, residual=step == "residual").to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(xt), device=dev)
        for i in range(0, len(xt), BATCH):
            idx = order[i : i + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
        loss.detach().item()  # waits for the device, as Keras's epoch end does
        if dev.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def TorchStack(torch, residual: bool = False):  # noqa: N802 - a class factory: torch stays optional
    """The baseline: nn.LSTM 5->128->64->32, Dropout(0.2) between, Linear(32, 1) on the last step.

    ``residual=True``: the blog's step 4, LSTMs 5->128->128->128->64 with ``x + lstm(x)`` around the 2nd
    and 3rd, Dropout(0.2) after the first three, Linear(64, 1).
    """
    nn = torch.nn
    sizes = (
        ((FEATURES, 128), (128, 128), (128, 128), (128, 64))
        if residual
        else ((FEATURES, 128), (128, 64), (64, 32))
    )
    skips = (False, True, True, False) if residual else (False, False, False)

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstms = nn.ModuleList(nn.LSTM(i, o, batch_first=True) for i, o in sizes)
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(sizes[-1][1], 1)

        def forward(self, x):
            for k, (lstm, skip) in enumerate(zip(self.lstms, skips, strict=True)):
                out, _ = lstm(x)
                x = out + x if skip else out
                if k < len(self.lstms) - 1:
                    x = self.drop(x)
            return self.head(x[:, -1, :])

    return Stack()


# ------------------------------------------------------------------------------------------- output


def append_csv(rows: pd.DataFrame, path: Path) -> None:
    """Append ``rows`` to the CSV at ``path``; the whole file is rewritten atomically."""
    table = pd.concat([pd.read_csv(path), rows], ignore_index=True) if path.exists() else rows
    write_table(table, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per model, the first excluded (>= 2)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--loop", choices=LOOPS, default="fit", help="goldlab's training loop (goldlab.lab.loops)"
    )
    parser.add_argument(
        "--together", type=int, default=5, help="--loop stacked: seeds trained as one program (default 5)"
    )
    parser.add_argument("--models", nargs="+", default=["baseline", "residual"], help="goldlab steps to time")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)"
    )
    parser.add_argument("--no-bound", action="store_true", help="skip the PyTorch bound")
    parser.add_argument("--out", type=Path, default=None, help="CSV to append the rows to")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is excluded as warm-up")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    threads = set_torch_threads(args.torch_threads)
    x, y = make_data()
    together = args.together if args.loop == "stacked" else 1
    rows = []
    for step in args.models:
        bound_seconds = None if args.no_bound else torch_epochs(step, x, y, args.epochs, device)
        if bound_seconds is None and not args.no_bound:
            print("note: torch is not importable; no PyTorch bound", file=sys.stderr)
        bound = median_after_warmup(bound_seconds) if bound_seconds else float("nan")
        seconds = keras_epochs(step, x, y, args.epochs, device, args.loop, together)
        call = median_after_warmup(seconds)
        sec = call / together
        rows.append(
            {
                "backend": keras.backend.backend(),
                "model": step,
                "device": device,
                "gpu": gpu_name() if device == "cuda" else "",
                "cpu_count": os.cpu_count(),
                "host": platform.node(),
                "loop": args.loop,
                "together": together,
                "torch_threads": threads,
                "epochs": args.epochs,
                "s_per_epoch": sec,
                "call_s_per_epoch": call,
                "first_epoch_s": seconds[0],
                "bound_s_per_epoch": bound,
                "ratio": sec / bound if bound == bound else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    if device == "cuda":
        print(f"GPU: {table['gpu'].iloc[0] or 'unknown'}")
    shown = ["backend", "model", "device", "loop", "together", "s_per_epoch", "bound_s_per_epoch", "ratio"]
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out is not None:
        append_csv(table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
