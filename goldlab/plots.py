"""The book's figures: each a small function taking a tidy table and an optional Matplotlib axis.

Every figure has a title, labelled axes with units, and a legend when it has more than one line. Gradient
norms span orders of magnitude, so they are drawn on a log scale.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["gradient_history", "predictions", "time_profile", "training_curves"]


def _axis(ax: plt.Axes | None) -> plt.Axes:
    return ax if ax is not None else plt.subplots(figsize=(7, 3.5))[1]


def _log_lines(
    ax: plt.Axes, table: pd.DataFrame, x: str, label: str, marker: str | None = None, **labels
) -> plt.Axes:
    """One line of ``norm`` against ``x`` per layer of ``table``, on a log scale, with ``labels`` set."""
    for layer, part in table.groupby("layer", sort=False):
        ax.plot(part[x], part["norm"], marker=marker, label=label.format(layer=layer))
    ax.set_yscale("log")
    ax.set(**labels)
    ax.legend(fontsize="small")
    return ax


def gradient_history(grads: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Per-layer total gradient norm against epoch, from a monitor's ``history`` (log scale)."""
    return _log_lines(
        _axis(ax),
        grads[grads["weight"] == "total"],
        x="epoch",
        label="{layer}",
        marker=".",
        title=title or "Gradient norm per layer during training",
        xlabel="epoch (0 = before training)",
        ylabel="‖∂L/∂W‖₂ on the probe batch",
    )


def time_profile(profile: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """‖∂L/∂a_t‖ against input day t for each recurrent layer's input (log scale)."""
    return _log_lines(
        _axis(ax),
        profile,
        x="t",
        label="input of {layer}",
        title=title or "Gradient through time",
        xlabel="day t of the 60-day window (1 = oldest, 60 = latest)",
        ylabel="‖∂L/∂a_t‖₂",
    )


def training_curves(history: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Training and validation loss (MSE on the scaled target) against epoch."""
    ax = _axis(ax)
    ax.plot(history["epoch"], history["loss"], label="training")
    if "val_loss" in history:
        ax.plot(history["epoch"], history["val_loss"], label="validation")
    ax.set_yscale("log")
    ax.set(title=title or "Training curves", xlabel="epoch", ylabel="MSE (scaled target)")
    ax.legend(fontsize="small")
    return ax


def predictions(pred: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Actual gold price, the model's forecast and the naive forecast over the test period, in USD."""
    ax = _axis(ax)
    ax.plot(pred["date"], pred["actual"], color="black", lw=1.2, label="actual")
    ax.plot(pred["date"], pred["naive"], color="tab:gray", lw=1, ls="--", label="naive (random walk)")
    ax.plot(pred["date"], pred["pred"], color="tab:orange", lw=1.2, label="model")
    ax.set(title=title or "Test-period forecasts", xlabel="target date", ylabel="gold price (USD/oz)")
    ax.legend(fontsize="small")
    ax.figure.autofmt_xdate()
    return ax
