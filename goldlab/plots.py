"""The book's figures: each a small function taking a tidy table and an optional Matplotlib axis.

Every figure has a title, labelled axes with units, and a legend when it has more than one line. Gradient
norms span orders of magnitude, so they are drawn on a log scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

__all__ = [
    "against_threshold",
    "by_step",
    "chain_regimes",
    "clip_runs",
    "cost_to_solve",
    "depth_sweep",
    "forecasts_vs_range",
    "gate_spectra",
    "gradient_history",
    "gradient_monitor",
    "init_learning",
    "jacobian_chain",
    "kept_share",
    "loss_curves",
    "memory_curves",
    "mse_heatmap",
    "phase_diagram",
    "predictions",
    "ratio_bars",
    "reference_line",
    "time_decay",
    "time_profile",
    "training_range",
    "walk_forward",
]

#: The widest figure, in inches. The book's figures are drawn at 120 dpi (``goldlab.book.FIGURE_STYLE``) and
#: shown in a text column of 784 px on a desktop: 10.5 in (1,260 px) is shown at 62 % of its size, which keeps
#: ticks and legends readable (``.ci/screenshots.py`` flags a figure shown below 60 %).
WIDE = 10.5


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


def gradient_monitor(
    history: pd.DataFrame, profile: pd.DataFrame, axes: Sequence[plt.Axes] | None = None
) -> list[plt.Axes]:
    """A :class:`~goldlab.monitor.GradientMonitor`'s two views side by side, for any model (log scales).

    Left, each layer's total gradient norm against epoch; right, the gradient through time at each monitored
    input, at the first record (dotted) and the last (solid). Zero norms (masked steps) are left out of the
    log scale; a model without a time axis gets a note instead of the right-hand lines."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(WIDE, 4))[1]
    left, right = axes
    gradient_history(history, ax=left)
    right.set(
        yscale="log",
        title="Gradient through time, first (dotted) and last (solid) record",
        xlabel="time step t of the input sequence (1 = first / oldest)",
        ylabel="‖∂L/∂a_t‖₂ on the probe batch",
    )
    if profile.empty:
        right.text(0.5, 0.5, "no time axis measured\n(see the monitor's warning)", ha="center", va="center")
        return [left, right]
    first, last = profile["epoch"].min(), profile["epoch"].max()
    for i, (layer, part) in enumerate(profile[profile["norm"] > 0].groupby("layer", sort=False)):
        for epoch, style in [(first, ":"), (last, "-")] if first != last else [(last, "-")]:
            rows = part[part["epoch"] == epoch]
            right.plot(
                rows["t"], rows["norm"], ls=style, color=f"C{i}", label=f"{layer} input, epoch {epoch}"
            )
    right.legend(fontsize="x-small")
    return [left, right]


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


def _plain_log_ticks(ax: plt.Axes) -> None:
    """Tick labels such as 0.5, 2, 6 on a log axis whose values span less than a decade or two."""
    plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)


def training_range(
    closes: pd.Series, train_close: pd.Series, split, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """The daily close with the training rows' price range shaded and the start of the test split marked."""
    ax = _axis(ax)
    ax.plot(closes.index, closes.to_numpy(), color="black", lw=1, label="daily close")
    ax.axhspan(train_close.min(), train_close.max(), color="tab:blue", alpha=0.15, label="training range")
    ax.axvline(split, color="tab:red", ls="--", label="start of the test split")
    ax.set(title=title or "Gold price and the training range", xlabel="date", ylabel="gold price (USD/oz)")
    ax.legend(fontsize="small", loc="upper left")
    ax.figure.autofmt_xdate()
    return ax


def forecasts_vs_range(
    pred: pd.DataFrame, low: float, high: float, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """Forecast against actual price, one colour per ``step``, the training price range [low, high] shaded
    on both axes and the line forecast = actual: a forecast that cannot leave the range flattens above it."""
    ax = _axis(ax)
    for step, part in pred.groupby("step", sort=False):
        ax.scatter(part["actual"], part["pred"], s=6, alpha=0.6, label=step)
    ax.axhspan(low, high, color="tab:blue", alpha=0.1, label="training range")
    ax.axvspan(low, high, color="tab:blue", alpha=0.1)
    lims = [min(pred["actual"].min(), pred["pred"].min()), max(pred["actual"].max(), pred["pred"].max())]
    ax.plot(lims, lims, color="black", lw=1, ls=":", label="forecast = actual")
    ax.set(
        title=title or "Forecast against actual price",
        xlabel="actual gold price (USD/oz)",
        ylabel="forecast (USD/oz)",
    )
    ax.legend(fontsize="x-small", loc="upper left", markerscale=2)
    return ax


def ratio_bars(ratios: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Grouped bars of MAE / naive MAE: one group per row (model), one bar per column (e.g. target), log
    scale, with the naive forecast's 1 marked."""
    ax = _axis(ax)
    width = 0.8 / max(len(ratios.columns), 1)
    x = np.arange(len(ratios))
    for k, col in enumerate(ratios.columns):
        ax.bar(x + (k - (len(ratios.columns) - 1) / 2) * width, ratios[col].to_numpy(), width, label=str(col))
    ax.axhline(1.0, color="black", ls="--", lw=1, label="naive forecast")
    ax.set_xticks(x, [str(i) for i in ratios.index], rotation=20)
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set(title=title or "Test MAE relative to the naive forecast", xlabel="model", ylabel="MAE / naive MAE")
    ax.legend(fontsize="small")
    return ax


def walk_forward(mase: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """MASE per test year (rows) for each model (columns), log scale, MASE = 1 marked."""
    ax = _axis(ax)
    for model in mase.columns:
        dashed = str(model) in ("naive", "drift")
        ax.plot(mase.index, mase[model], marker="o", ls="--" if dashed else "-", label=str(model))
    ax.axhline(1.0, color="black", lw=1, ls=":", label="MASE = 1")
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set(title=title or "Walk-forward MASE per test year", xlabel="test year", ylabel="MASE")
    ax.set_xticks(list(mase.index))
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def by_step(
    table: pd.DataFrame, x: str, ax: plt.Axes | None = None, title: str | None = None, **labels
) -> plt.Axes:
    """``norm`` against ``x`` (mean over seeds), one line per ``step``, log scale; ``labels`` go to
    ``ax.set`` (e.g. ``xlabel``, ``ylabel``). For per-layer gradient norms or a gradient through time."""
    ax = _axis(ax)
    for step, part in table.groupby("step", sort=False):
        mean = part.groupby(x, sort=False)["norm"].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o" if len(mean) < 10 else None, label=step)
    ax.set_yscale("log")
    ax.set(title=title or "Gradient norm by step", **labels)
    ax.legend(fontsize="x-small")
    return ax


def jacobian_chain(chains: dict[float, np.ndarray], ax: plt.Axes | None = None) -> plt.Axes:
    """‖J_T ⋯ J_{T−k+1}‖ against k for each recurrent gain (solid) beside its bound gain^k (dotted)."""
    ax = _axis(ax)
    for i, (gain, norms) in enumerate(chains.items()):
        k = np.arange(len(norms))
        ax.plot(k, norms, color=f"C{i}", label=f"tanh cell, gain {gain:g}")
        ax.plot(k, float(gain) ** k, color=f"C{i}", ls=":", label=f"bound {gain:g}^k")
    ax.set_yscale("log")
    ax.set(
        title="Backpropagation through time: the chain of Jacobians",
        xlabel="steps back in time k",
        ylabel="‖∂h_T/∂h_(T−k)‖₂ (spectral norm)",
    )
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def loss_curves(history: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Training (dotted) and validation (solid) loss per ``step``, mean over seeds, against epoch."""
    ax = _axis(ax)
    for step, part in history.groupby("step", sort=False):
        mean = part.groupby("epoch")[["loss", "val_loss"]].mean()
        line = ax.plot(mean.index, mean["val_loss"], marker=".", label=f"{step} (validation)")[0]
        ax.plot(mean.index, mean["loss"], ls=":", color=line.get_color(), label=f"{step} (training)")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))  # epochs are whole
    ax.set(title=title or "Loss curves, mean over seeds", xlabel="epoch", ylabel="MSE (scaled target)")
    ax.legend(fontsize="x-small")
    return ax


def against_threshold(
    grads: pd.DataFrame, threshold: float, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """Largest per-weight gradient norm of each layer against epoch, with a threshold (e.g. a clipnorm)
    dashed; ``grads``: monitor records (epoch, layer, weight, norm) of one or more runs."""
    ax = _axis(ax)
    per_weight = grads[grads["weight"] != "total"]
    for layer, part in per_weight.groupby("layer", sort=False):
        top = part.groupby("epoch")["norm"].max()
        ax.plot(top.index, top.to_numpy(), marker=".", label=f"{layer} (largest weight)")
    ax.axhline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))  # epochs are whole
    ax.set(
        title=title or "Per-weight gradient norms against a threshold",
        xlabel="epoch (0 = before training)",
        ylabel="‖∂L/∂W‖₂, max over weights and runs",
    )
    ax.legend(fontsize="x-small")
    return ax


def reference_line(ax: plt.Axes, value: float, label: str) -> plt.Axes:
    """A dashed horizontal reference (e.g. the blog's threshold) on ``ax``, added to its legend."""
    ax.axhline(value, color="black", ls="--", lw=1, label=label)
    ax.legend(fontsize="x-small")
    return ax


def _ink(image, value: float) -> str:
    """Black or white, whichever reads on the cell colour ``image`` gives ``value`` (grey if NaN)."""
    if np.isnan(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _model_grid(
    table: pd.DataFrame,
    ax: plt.Axes | None,
    cmap: str,
    fmt: str,
    texts: pd.DataFrame | None = None,
    **scale,
):
    """``table`` (model rows × T columns) as coloured cells, each value written in it with ``fmt`` (or
    the cell of ``texts``, same shape, where given) and NaN (not trained) grey; ``scale`` passes
    ``vmin``/``vmax`` or ``norm`` to ``imshow``. Returns the axis and the image (for a colour bar)."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 0.35 * len(table) + 1.5))[1]
    values = table.to_numpy(dtype=float)
    colours = plt.get_cmap(cmap).with_extremes(bad="lightgrey")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, aspect="auto", **scale)
    for (i, j), v in np.ndenumerate(values):
        text = format(v, fmt) if texts is None else texts.iat[i, j]
        text = "–" if np.isnan(v) else text
        ax.text(j, i, text, ha="center", va="center", fontsize="small", color=_ink(image, v))
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index])
    ax.set(xlabel="sequence length T (steps)", ylabel="model")
    return ax, image


def phase_diagram(
    phase: pd.DataFrame,
    ax: plt.Axes | None = None,
    title: str | None = None,
    seeds: pd.DataFrame | None = None,
) -> plt.Axes:
    """Fraction of seeds solving the task, model (rows) × sequence length T (columns); grey: not trained.

    With ``seeds`` (the number of seeds per cell, same rows and columns) each cell reads "solved/seeds",
    so a share from one seed is not mistaken for one from three."""
    texts = None
    if seeds is not None:
        seeds = seeds.reindex_like(phase)
        texts = (phase * seeds).round().map("{:.0f}".format) + "/" + seeds.map("{:.0f}".format)
    ax, image = _model_grid(phase, ax, "cividis", ".0%", texts, vmin=0, vmax=1)
    ax.set_title(title or "Who learns the adding problem")
    ax.figure.colorbar(image, ax=ax, label="fraction of seeds solved")
    return ax


def time_decay(profile: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """‖∂L/∂x_t‖ against input step t at initialisation, one line per ``label``, with each one's predicted
    geometric decay (column ``predicted``) dashed in the same colour (log scale)."""
    ax = _axis(ax)
    for label, part in profile.groupby("label", sort=False):
        (line,) = ax.plot(part["t"], part["norm"], label=f"{label}: measured")
        if part["predicted"].notna().any():
            ax.plot(
                part["t"], part["predicted"], ls="--", color=line.get_color(), label=f"{label}: predicted"
            )
    ax.set_yscale("log")
    ax.set(
        title=title or "Gradient through time at initialisation",
        xlabel="input step t (1 = first, T = last)",
        ylabel="‖∂L/∂x_t‖₂ on the probe batch",
    )
    ax.legend(fontsize="x-small")
    return ax


def memory_curves(
    histories: dict[str, pd.DataFrame],
    solved: float,
    axes: Sequence[plt.Axes] | None = None,
    title: str | None = None,
) -> Sequence[plt.Axes]:
    """Two panels against training sequences seen, one line per named history: the validation MSE (the
    solved threshold dashed) and the first layer's gradient through time ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ (column
    ``ratio``), both on log scales, so a plateau, its escape and what the gradient did meanwhile line up."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(WIDE, 3.8), constrained_layout=True)[1]
    mse_ax, ratio_ax = axes
    for label, history in histories.items():
        mse_ax.plot(history["sequences_seen"], history["val_loss"], label=label)
        ratio_ax.plot(history["sequences_seen"], history["ratio"], label=label)
    mse_ax.axhline(solved, color="black", ls="--", lw=1, label=f"solved: MSE < {solved:.3g}")
    for ax in axes:
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.legend(fontsize="small")
    mse_ax.set(title=title or "Learning curves", xlabel="training sequences seen", ylabel="validation MSE")
    ratio_ax.set(
        title="Gradient through time during training",
        xlabel="training sequences seen",
        ylabel="‖∂L/∂x₁‖ / ‖∂L/∂x_T‖ (probe batch)",
    )
    return axes


def mse_heatmap(
    ratios: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None, bar: float | None = None
) -> plt.Axes:
    """Test MSE over the mean predictor's, model (rows) × T (columns), on a log colour scale from 0.01 to 1
    (1: learnt nothing); ``bar``, the solved threshold on that scale, is marked on the colour bar; grey:
    not trained."""
    from matplotlib.colors import LogNorm

    ax, image = _model_grid(ratios, ax, "cividis_r", ".2g", norm=LogNorm(vmin=1e-2, vmax=1.0, clip=True))
    ax.set_title(title or "Test MSE / mean predictor's")
    colour_bar = ax.figure.colorbar(image, ax=ax, label="test MSE ÷ 1/6 (log scale)")
    if bar is not None:
        colour_bar.ax.axhline(bar, color="crimson", lw=2)
        colour_bar.ax.text(
            -0.6,
            bar,
            "solved",
            color="crimson",
            ha="right",
            va="center",
            transform=colour_bar.ax.get_yaxis_transform(),
            fontsize="small",
        )
    return ax


def cost_to_solve(
    cost: pd.DataFrame, budget: float, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """Median training sequences to solve against T, one line per ``label`` (columns ``label``, ``T``,
    ``sequences``; NaN: no seed solved, drawn as a cross at the ``budget``), on a log scale against a
    linear T: a straight rising line is a cost that grows exponentially in T, the mark of vanishing
    through time (on log-log axes it would be a power law)."""
    ax = _axis(ax)
    colours = plt.get_cmap("tab20").colors  # a colour each: more models than the default cycle has
    for k, (label, part) in enumerate(cost.groupby("label", sort=False)):
        style = {"color": colours[k % len(colours)], "marker": "osD^v<>"[k % 7]}
        ax.plot(part["T"], part["sequences"], label=label, **style)
        failed = part[part["sequences"].isna()]
        ax.plot(failed["T"], np.full(len(failed), budget), "x", color=style["color"], ms=9)
    ax.axhline(budget, color="black", ls="--", lw=1, label=f"budget ({budget:,.0f}); ×: not solved")
    ax.set_yscale("log")
    ax.set_xticks(sorted(cost["T"].unique()), [str(t) for t in sorted(cost["T"].unique())])
    ax.set(
        title=title or "Training needed to solve",
        xlabel="sequence length T (steps)",
        ylabel="sequences seen to solve (median)",
    )
    ax.legend(fontsize="x-small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))  # off the data
    return ax


def depth_sweep(sweep: pd.DataFrame, axes: Sequence[plt.Axes] | None = None) -> Sequence[plt.Axes]:
    """Two panels against the number of LSTMs (:mod:`goldlab.lab.depth`), with and without skips, medians over
    seeds: the gradient reaching the first LSTM over the last at initialisation (dashed) and after training
    (solid), on a log scale; and the test MAE over the naive forecast's (1, dotted: no better than naive)."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(WIDE, 3.8), constrained_layout=True)[1]
    grad_ax, mae_ax = axes
    med = sweep.groupby(["skips", "depth"])[["grad_ratio_init", "grad_ratio_final", "mae_ratio"]].median()
    for skips, part in med.groupby(level="skips"):
        d = part.index.get_level_values("depth")
        name = "with skips" if skips else "without skips"
        (line,) = grad_ax.plot(d, part["grad_ratio_final"], marker="o", label=f"{name}, trained")
        grad_ax.plot(d, part["grad_ratio_init"], ls="--", color=line.get_color(), label=f"{name}, at init")
        mae_ax.plot(d, part["mae_ratio"], marker="o", color=line.get_color(), label=name)
    mae_ax.axhline(1.0, color="black", ls=":", lw=1, label="naive forecast")
    grad_ax.set_yscale("log")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(sweep["depth"].unique()), [str(d) for d in sorted(sweep["depth"].unique())])
        ax.legend(fontsize="x-small")
    grad_ax.set(
        title="Gradient reaching the first LSTM", xlabel="LSTM layers", ylabel="‖∂L/∂W₁‖ / ‖∂L/∂W_last‖"
    )
    mae_ax.set(title="Test error on gold (h = 30)", xlabel="LSTM layers", ylabel="test MAE ÷ naive MAE")
    return axes


# --------------------------------------------------------------------------------------------------
# Each fix where it works (chapters 1 to 3)


def chain_regimes(regimes: dict[str, dict[float, np.ndarray]], axes: Sequence[plt.Axes] | None = None):
    """One :func:`jacobian_chain` panel per input regime (say, unit inputs and small ones), sharing y."""
    if axes is None:
        axes = plt.subplots(1, len(regimes), figsize=(min(6 * len(regimes), WIDE), 3.8), sharey=True)[1]
    for ax, (regime, chains) in zip(np.atleast_1d(axes), regimes.items(), strict=True):
        jacobian_chain(chains, ax)
        ax.set_title(f"Chain of Jacobians, {regime}")
    return axes


def kept_share(kept: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Share of each layer's ‖∂L/∂W‖ kept when the gradient flows back only the last k days, against k
    (``kept``: layer, k, share)."""
    ax = _axis(ax)
    for layer, part in kept.groupby("layer", sort=False):
        ax.plot(part["k"], part["share"], marker="o", label=layer)
    ax.axhline(1.0, color="black", lw=0.8, ls=":")
    ax.set(
        title=title or "How much of ‖∂L/∂W‖ the last k days make",
        xlabel="days kept, counted back from the window's last (k)",
        ylabel="‖∂L/∂W‖ of the last k days / whole",
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="x-small")
    return ax


def clip_runs(
    curves: pd.DataFrame, runs: pd.DataFrame, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Axes:
    """Training loss per epoch of every run (``curves``: clip, seed, epoch, loss), one colour per clipping
    option; the legend counts the runs that diverged (``runs``: clip, diverged). A run's non-finite losses
    are left out, so a run that diverged in its first epoch shows only in the legend."""
    ax = _axis(ax)
    for i, (clip, part) in enumerate(curves.groupby("clip", sort=False)):
        lost = runs[runs["clip"] == clip]["diverged"]
        label = f"{clip}: {int(lost.sum())} of {len(lost)} runs diverged"
        for j, (_, run) in enumerate(part.groupby("seed")):
            finite = run[np.isfinite(run["loss"])]
            ax.plot(
                finite["epoch"], finite["loss"], color=f"C{i}", marker=".", label=label if j == 0 else None
            )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.set(title=title or "Training loss by clipping option", xlabel="epoch", ylabel="training MSE")
    ax.legend(fontsize="x-small")
    return ax


def gate_spectra(values: dict[str, pd.DataFrame], ax: plt.Axes | None = None, title: str | None = None):
    """Singular values of each gate's recurrent block, largest first, per kernel (``values``: name ->
    a table of :func:`goldlab.bptt.gate_singular_values`); one line style per kernel."""
    ax = _axis(ax)
    for style, (name, table) in zip(("-", "--", ":"), values.items(), strict=False):
        for i, (gate, part) in enumerate(table.groupby("gate", sort=False)):
            ax.plot(part["rank"], part["value"], ls=style, color=f"C{i}", label=f"{name}, {gate} gate")
    ax.set_yscale("log")
    ax.set(
        title=title or "Singular values of each gate's recurrent block",
        xlabel="rank (0 = largest)",
        ylabel="singular value",
    )
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def init_learning(runs: pd.DataFrame, solved: float, axes: Sequence[plt.Axes] | None = None):
    """Left: validation MSE per epoch, right: ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ per epoch (0 = initialisation), one
    colour per ``init``, one thin line per seed (``runs`` of :func:`goldlab.bptt.init_runs`)."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(WIDE, 3.8))[1]
    for i, (init, part) in enumerate(runs.groupby("init", sort=False)):
        for j, (_, run) in enumerate(part.groupby("seed")):
            label = init if j == 0 else None
            axes[0].plot(run["epoch"], run["val_loss"], color=f"C{i}", lw=1, label=label)
            axes[1].plot(run["epoch"], run["ratio"], color=f"C{i}", lw=1, label=label)
    axes[0].axhline(solved, color="black", ls="--", lw=1, label="solved")
    axes[0].set(title="Learning the adding problem", xlabel="epoch", ylabel="validation MSE")
    axes[1].set(
        title="Gradient reaching the first step",
        xlabel="epoch (0 = initialisation)",
        ylabel="‖∂L/∂x_1‖ / ‖∂L/∂x_T‖",
    )
    for ax in axes:
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        ax.legend(fontsize="x-small")
    return axes
