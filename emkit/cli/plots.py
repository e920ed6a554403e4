"""The figures of ``emkit fit --plot`` and ``emkit select --plot`` (matplotlib, imported late)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.cli.errors import CliError
from emkit.cli.output import check_writable, describe_model
from emkit.em import FitResult
from emkit.selection import Selection
from emkit.tables import Table

__all__ = ["check_plot_target", "save_fit_plot", "save_hmm_plot", "save_selection_plot"]


def check_plot_target(path: str | None) -> None:
    """Before any fit: matplotlib is installed and ``path`` is a writable image name."""
    if path is None:
        return
    check_writable(path, "--plot")
    from emkit.plotting import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise CliError(
            f"--plot {path}: unknown image format {suffix!r}; use one of "
            f"{', '.join(sorted(formats))}"
        )


def save_fit_plot(path: str, result: FitResult[Any], table: Table) -> None:
    """The data coloured by component (or component images) and the log-likelihood curve."""
    from matplotlib.figure import Figure

    from emkit import plotting

    n_features = table.data.shape[1]
    side = math.isqrt(n_features)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    if n_features >= 16 and side * side == n_features:
        panels = fig.subfigures(1, 2, width_ratios=[1.4, 1.0])
        left, right = np.asarray(panels, dtype=object).ravel()
        plotting.plot_component_images(result, fig=left)
        left.suptitle("component means (title: index: weight)")
        plotting.plot_history(result, ax=right.add_subplot())
    else:
        ax_data, ax_history = fig.subplots(1, 2, width_ratios=[1.4, 1.0])
        plotting.plot_mixture(np.asarray(table.data), result, ax=ax_data, feature_names=table.names)
        plotting.plot_history(result, ax=ax_history)
    fig.suptitle(f"{describe_model(result.model)}: {table.source}")
    _save_figure(fig, path)


def save_hmm_plot(path: str, result: FitResult[Any], table: Table, lengths: Array | None) -> None:
    """An HMM's data over time coloured by Viterbi state, its state posteriors, and the
    log-likelihood curve."""
    from matplotlib.figure import Figure

    from emkit import plotting

    fig = Figure(figsize=(13, 6), layout="constrained")
    panels = fig.subfigures(1, 2, width_ratios=[2.2, 1.0])
    left, right = np.asarray(panels, dtype=object).ravel()
    ax_data, ax_posterior = left.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.0])
    plotting.plot_hmm_states(
        result,
        np.asarray(table.data),
        lengths,
        ax=ax_data,
        posterior_ax=ax_posterior,
        feature_name=table.names[0],
    )
    ax_data.set_title(f"{table.names[0]} coloured by decoded (Viterbi) state", fontsize="medium")
    plotting.plot_history(result, ax=right.add_subplot())
    fig.suptitle(f"{describe_model(result.model)}: {table.source}")
    _save_figure(fig, path)


def save_selection_plot(path: str, selection: Selection) -> None:
    """BIC and AIC (BIC and ICL for ``--criterion icl``) against the number of components."""
    from matplotlib.figure import Figure

    from emkit import plotting

    criteria = ("bic", "aic") if selection.criterion != "icl" else ("bic", "icl")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    plotting.plot_selection(selection, criteria, ax=fig.add_subplot())
    _save_figure(fig, path)


def _save_figure(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise CliError(f"--plot {path}: cannot write ({exc.strerror or exc})") from None
