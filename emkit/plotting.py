"""Figures of fitted mixtures (needs the optional ``plot`` extra: ``pip install 'emkit[plot]'``).

Every function draws on a matplotlib ``Axes`` (or ``Figure`` for a grid of images) that you may
pass in, and returns what it drew on, so figures compose::

    import matplotlib.pyplot as plt
    from emkit import plotting

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plotting.plot_mixture(X, result, ax=left)
    plotting.plot_history(result, ax=right)

* [`plot_mixture`][emkit.plotting.plot_mixture]: the data coloured by most probable component,
  component means marked, and, for components whose family states its covariances
  (``FamilyCovariances``: the Gaussian, or a plugin), the 1- and 2-sigma covariance ellipses of a
  chosen pair of features (one feature: a histogram with the weighted component densities);
* [`plot_history`][emkit.plotting.plot_history]: the EM objective by iteration;
* [`plot_component_images`][emkit.plotting.plot_component_images]: component means as small images
  (8x8 digits);
* [`plot_selection`][emkit.plotting.plot_selection]: BIC / AIC / ICL against the number of
  components;
* [`plot_hmm_states`][emkit.plotting.plot_hmm_states]: a hidden Markov model's decoded (Viterbi)
  states over time, coloured, with the state means, and the state posteriors as stacked areas.

matplotlib is imported only when a function is called, so ``import emkit.plotting`` works
without it; a call then raises ``ImportError`` saying how to install it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array
from emkit.em import FitResult
from emkit.hmm.model import HiddenMarkovModel, HMMParams
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.protocols import FamilyCovariances
from emkit.selection import CRITERIA, Selection

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure, SubFigure

__all__ = [
    "plot_component_images",
    "plot_history",
    "plot_hmm_states",
    "plot_mixture",
    "plot_selection",
    "require_matplotlib",
]

INSTALL_HINT = "pip install 'emkit[plot]'"

#: Grid points of the density curves of a one-feature continuous mixture.
_DENSITY_POINTS = 400

#: Sequences up to this many get a dotted line at each boundary in ``plot_hmm_states``; more
#: would hide the data.
_MAX_BOUNDARY_LINES = 100

#: Line styles of the criteria in ``plot_selection``, in the order of ``CRITERIA``.
_CRITERION_STYLES = {"bic": "-", "aic": "--", "icl": ":"}


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install command if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"plotting needs matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        ) from exc


def _new_axes() -> Axes:
    require_matplotlib()
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _colors(n_components: int) -> list[Any]:
    """One colour per component: tab10 up to 10 components, tab20 beyond (then repeating)."""
    import matplotlib as mpl

    cmap: Colormap = mpl.colormaps["tab10" if n_components <= 10 else "tab20"]
    n_colors = int(getattr(cmap, "N", 10))
    return [cmap(k % n_colors) for k in range(n_components)]


def _fitted_result(obj: Any) -> FitResult[Any] | None:
    """``obj`` itself if it is a FitResult, the ``result_`` of a fitted emkit estimator."""
    if isinstance(obj, FitResult):
        return obj
    result = getattr(obj, "result_", None)
    return result if isinstance(result, FitResult) else None


_ACCEPTED = "a FitResult, a fitted emkit estimator (e.g. GaussianMixture) or MixtureParams"


def _model_and_params(
    result_or_params: Any, model: FiniteMixture[Any, Any] | None
) -> tuple[FiniteMixture[Any, Any], MixtureParams[Any]]:
    result = _fitted_result(result_or_params)
    if result is not None:
        if not isinstance(result.model, FiniteMixture):
            raise TypeError(
                f"these figures show finite mixtures; the fit is of a {type(result.model).__name__}"
            )
        return result.model, result.params
    if isinstance(result_or_params, MixtureParams):
        if model is None:
            raise TypeError(
                "`model` is required with MixtureParams (e.g. FiniteMixture(Gaussian(), K)); "
                "or pass the FitResult instead"
            )
        return model, result_or_params
    raise TypeError(
        f"`result_or_params` must be {_ACCEPTED}; got {type(result_or_params).__name__}"
    )


def _component_means(params: MixtureParams[Any], model: FiniteMixture[Any, Any] | None) -> Array:
    if model is not None:
        return np.asarray(model.family.mean(params.components))
    components = params.components
    for name in ("means", "mean"):
        if hasattr(components, name):
            return np.asarray(getattr(components, name))
    raise TypeError(f"cannot find the component means of {type(components).__name__}; pass `model`")


def _ellipse_geometry(cov: Array, n_std: float) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the contour at Mahalanobis distance ``n_std``.

    ``(x - mu)^T S^-1 (x - mu) = n^2`` is an ellipse whose semi-axes point along the eigenvectors
    of ``S`` with lengths ``n sqrt(lambda)``. In two dimensions the 1- and 2-sigma contours hold
    about 39% and 86% of a component's mass.
    """
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 0.0)
    angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
    width = 2.0 * n_std * float(np.sqrt(values[1]))
    height = 2.0 * n_std * float(np.sqrt(values[0]))
    return width, height, angle


def _check_pair(features: Sequence[int], n_features: int) -> tuple[int, int]:
    pair = tuple(int(f) for f in features)
    if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= f < n_features for f in pair):
        raise ValueError(
            f"`features` must be two different column indices in [0, {n_features}); "
            f"got {tuple(features)!r}"
        )
    return pair[0], pair[1]


def plot_mixture(
    X: Any,
    result_or_params: Any,
    model: FiniteMixture[Any, Any] | None = None,
    ax: Axes | None = None,
    features: Sequence[int] = (0, 1),
    *,
    n_std: Sequence[float] = (1.0, 2.0),
    feature_names: Sequence[str] | None = None,
    point_size: float = 10.0,
    alpha: float = 0.6,
) -> Axes:
    """Scatter the data coloured by component, with means and Gaussian covariance ellipses.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    result_or_params : FitResult, fitted emkit estimator, or MixtureParams
        A fitted mixture (``emkit.fit``'s result, or e.g. a fitted ``GaussianMixture``); with
        bare parameters, ``model`` is required.
    model : FiniteMixture, optional
        The model of ``result_or_params`` when it holds parameters only.
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).
    features : pair of int, default (0, 1)
        Columns of ``X`` on the x and y axes. Ellipses use the 2x2 block of each covariance
        (full, tied, diag or spherical) for those two features: the marginal of the component.
        Data with a single feature is drawn as a histogram with the weighted component
        densities (probabilities for a discrete family) and their sum instead.
    n_std : sequence of float, default (1.0, 2.0)
        Mahalanobis radii of the ellipses drawn for each component whose family states its
        covariances ([`FamilyCovariances`][emkit.protocols.FamilyCovariances], e.g. the Gaussian).
    feature_names : sequence of str, optional
        Axis labels (default "feature 0", "feature 1", ...).
    point_size, alpha : float
        Marker size and opacity of the data points.

    Returns
    -------
    Axes
        With one scatter per non-empty component, one means marker set, and
        ``len(n_std) * n_components`` ``Ellipse`` patches for a Gaussian mixture.
    """
    model, params = _model_and_params(result_or_params, model)
    X = check_array(X, "X")
    n_features = X.shape[1]
    names = (
        list(feature_names)
        if feature_names is not None
        else [f"feature {j}" for j in range(n_features)]
    )
    if len(names) != n_features:
        raise ValueError(
            f"`feature_names` must have one name per column of `X` ({n_features}); got {len(names)}"
        )
    if ax is None:
        ax = _new_axes()
    else:
        require_matplotlib()
    if n_features == 1:
        return _plot_mixture_1d(X, model, params, ax, names[0])
    i, j = _check_pair(features, n_features)
    from matplotlib.patches import Ellipse

    n_components = len(params.weights)
    colors = _colors(n_components)
    labels = model.predict(X, params)
    for k in range(n_components):
        mask = labels == k
        if mask.any():
            ax.scatter(
                X[mask, i],
                X[mask, j],
                s=point_size,
                color=colors[k],
                alpha=alpha,
                linewidths=0,
                label=f"component {k} ({params.weights[k]:.2f})",
            )
    means = _component_means(params, model)
    ax.scatter(
        means[:, i],
        means[:, j],
        marker="X",
        s=120,
        c=colors,
        edgecolors="black",
        linewidths=1.0,
        zorder=3,
        label="means",
    )
    family = model.family
    if isinstance(family, FamilyCovariances):
        covariances = np.asarray(family.covariances(params.components))[:, [i, j]][:, :, [i, j]]
        for k in range(n_components):
            for radius in n_std:
                width, height, angle = _ellipse_geometry(covariances[k], float(radius))
                ax.add_patch(
                    Ellipse(
                        (float(means[k, i]), float(means[k, j])),
                        width,
                        height,
                        angle=angle,
                        fill=False,
                        edgecolor=colors[k],
                        linewidth=1.5 if radius <= 1 else 1.0,
                        linestyle="-" if radius <= 1 else "--",
                        zorder=2,
                    )
                )
        ax.autoscale_view()
    ax.set_xlabel(names[i])
    ax.set_ylabel(names[j])
    ax.legend(loc="best", fontsize="small")
    return ax


def _plot_mixture_1d(
    X: Array, model: FiniteMixture[Any, Any], params: MixtureParams[Any], ax: Axes, name: str
) -> Axes:
    x = X[:, 0]
    n_components = len(params.weights)
    colors = _colors(n_components)
    # Whole numbers only (counts, 0/1) are drawn as a probability per value, anything else as a
    # density: decided by the data, so a plugin family is drawn like a built-in one.
    discrete = bool(np.all(x == np.round(x)))
    if discrete:
        # Counts and binary values: one bar per integer, and the probability of each value.
        low, high = math.floor(float(x.min())), math.ceil(float(x.max()))
        grid = np.arange(low, high + 1, dtype=np.float64)
        ax.hist(x, bins=list(np.arange(low - 0.5, high + 1.5)), density=True, color="0.8")
        style = "o-"
    else:
        pad = 0.1 * (float(x.max() - x.min()) or 1.0)
        grid = np.linspace(float(x.min()) - pad, float(x.max()) + pad, _DENSITY_POINTS)
        ax.hist(x, bins="auto", density=True, color="0.8")
        style = "-"
    # joint_log_prob is log(pi_k p(x | k)); its exp is each component's share of the density.
    joint = np.exp(model.joint_log_prob(grid[:, None], params))
    for k in range(n_components):
        ax.plot(grid, joint[:, k], style, color=colors[k], ms=3, label=f"component {k}")
    ax.plot(grid, joint.sum(axis=1), style, color="black", ms=3, label="mixture")
    ax.set_xlabel(name)
    ax.set_ylabel("probability" if discrete else "density")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_history(result: Any, ax: Axes | None = None) -> Axes:
    """The EM objective of the best run after every iteration (iteration 0: the start).

    Parameters
    ----------
    result : FitResult or fitted emkit estimator
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
        With one line of ``result.n_iter + 1`` points.
    """
    fitted = _fitted_result(result)
    if fitted is None:
        raise TypeError(
            f"`result` must be a FitResult or a fitted emkit estimator; got {type(result).__name__}"
        )
    result = fitted
    if ax is None:
        ax = _new_axes()
    else:
        require_matplotlib()
    history = np.asarray(result.history)
    ax.plot(np.arange(history.shape[0]), history, "o-", ms=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("log-likelihood" if result.log_prior == 0.0 else "log-likelihood + log-prior")
    state = "converged" if result.converged else "stopped (not converged)"
    ax.set_title(f"{state} after {result.n_iter} iterations")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def _image_shape(n_features: int, shape: Sequence[int] | None) -> tuple[int, int]:
    if shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"cannot lay out {n_features} features as a square image; pass `shape` "
                "(rows, columns) with rows * columns == n_features"
            )
        return side, side
    dims = tuple(int(s) for s in shape)
    if len(dims) != 2 or dims[0] < 1 or dims[1] < 1 or dims[0] * dims[1] != n_features:
        raise ValueError(
            f"`shape` must be (rows, columns) with rows * columns == n_features "
            f"({n_features}); got {tuple(shape)!r}"
        )
    return dims[0], dims[1]


def plot_component_images(
    result_or_params: Any,
    shape: Sequence[int] | None = None,
    *,
    model: FiniteMixture[Any, Any] | None = None,
    fig: Figure | SubFigure | None = None,
    ncols: int | None = None,
    cmap: str = "gray_r",
) -> list[Axes]:
    """Each component's mean as a small image, titled with its index and weight.

    Parameters
    ----------
    result_or_params : FitResult, fitted emkit estimator, or MixtureParams
        For a Bernoulli mixture the means are pixel probabilities; any family works.
    shape : (rows, columns), optional
        Image shape; by default the features must form a square (64 -> 8x8).
    model : FiniteMixture, optional
        Used to read the means when only parameters are given (else ``means``/``mean``).
    fig : matplotlib Figure or SubFigure, optional
        Where to lay out the grid (a new figure by default).
    ncols : int, optional
        Images per row (default: up to 5).
    cmap : str, default "gray_r"
        Colour map; every image shares one colour scale, so images compare directly.

    Returns
    -------
    list of Axes
        One per component, each holding one image.
    """
    result = _fitted_result(result_or_params)
    if result is not None:
        model, params = _model_and_params(result, model)
    elif isinstance(result_or_params, MixtureParams):
        params = result_or_params
    else:
        raise TypeError(
            f"`result_or_params` must be {_ACCEPTED}; got {type(result_or_params).__name__}"
        )
    means = _component_means(params, model)
    n_components, n_features = means.shape
    rows, cols = _image_shape(n_features, shape)
    ncols = min(n_components, 5) if ncols is None else max(1, int(ncols))
    nrows = math.ceil(n_components / ncols)
    if fig is None:
        require_matplotlib()
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.6 * ncols, 1.8 * nrows))
    else:
        require_matplotlib()
    grid = fig.subplots(nrows, ncols, squeeze=False)
    low, high = float(means.min()), float(means.max())
    drawn: list[Axes] = []
    for index, ax in enumerate(grid.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= n_components:
            ax.set_axis_off()
            continue
        ax.imshow(means[index].reshape(rows, cols), cmap=cmap, vmin=low, vmax=high)
        ax.set_title(f"{index}: {params.weights[index]:.3f}", fontsize="small")
        drawn.append(ax)
    return drawn


def plot_selection(
    selection: Selection,
    criteria: Sequence[str] = ("bic", "aic"),
    ax: Axes | None = None,
) -> Axes:
    """Information criteria against the number of components, best candidate starred.

    Parameters
    ----------
    selection : Selection
        From [`emkit.select`][emkit.selection.select].
    criteria : sequence of {"bic", "aic", "icl"}, default ("bic", "aic")
        One line per criterion and per family setting (e.g. covariance type); solid BIC,
        dashed AIC, dotted ICL.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
        With ``len(criteria) * n_settings`` lines and a star on ``selection.best`` at its
        ``selection.criterion`` value.
    """
    if not isinstance(selection, Selection):
        raise TypeError(f"`selection` must be a Selection; got {type(selection).__name__}")
    chosen = list(criteria)
    if not chosen or any(c not in CRITERIA for c in chosen):
        raise ValueError(
            f"`criteria` must be a non-empty sequence of {', '.join(CRITERIA)}; got {criteria!r}"
        )
    if ax is None:
        ax = _new_axes()
    else:
        require_matplotlib()
    settings: dict[str, list[Any]] = {}
    for candidate in selection.candidates:
        settings.setdefault(candidate.label, []).append(candidate)
    colors = _colors(len(settings))
    for color, (label, candidates) in zip(colors, settings.items(), strict=True):
        ordered = sorted(candidates, key=lambda c: c.n_components)
        ks = [c.n_components for c in ordered]
        for criterion in chosen:
            ax.plot(
                ks,
                [c.score(criterion) for c in ordered],
                marker="o",
                ms=4,
                linestyle=_CRITERION_STYLES[criterion],
                color=color,
                label=f"{label} {criterion.upper()}",
            )
    best = selection.best
    ax.scatter(
        [best.n_components],
        [best.score(selection.criterion)],
        marker="*",
        s=250,
        color="gold",
        edgecolors="black",
        zorder=3,
        label=f"best by {selection.criterion.upper()}: {best.label}, K={best.n_components}",
    )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of components")
    ax.set_ylabel(
        f"{chosen[0].upper()} (lower is better)"
        if len(chosen) == 1
        else "criterion (lower is better)"
    )
    ax.legend(loc="best", fontsize="small")
    return ax


_ACCEPTED_HMM = "a FitResult of a HiddenMarkovModel, a fitted emkit HMM estimator or HMMParams"


def _hmm_and_params(
    result_or_params: Any, model: HiddenMarkovModel[Any, Any] | None
) -> tuple[HiddenMarkovModel[Any, Any], HMMParams[Any]]:
    result = _fitted_result(result_or_params)
    if result is not None:
        if not isinstance(result.model, HiddenMarkovModel):
            raise TypeError(
                "this figure shows hidden Markov models; the fit is of a "
                f"{type(result.model).__name__}"
            )
        return result.model, result.params
    if isinstance(result_or_params, HMMParams):
        if not isinstance(model, HiddenMarkovModel):
            raise TypeError(
                "`model` (a HiddenMarkovModel) is required with HMMParams; or pass the "
                "FitResult instead"
            )
        return model, result_or_params
    raise TypeError(
        f"`result_or_params` must be {_ACCEPTED_HMM}; got {type(result_or_params).__name__}"
    )


def _broken_at(values: Array, ends: Array) -> Array:
    """``values`` with a NaN after every sequence but the last, so a line does not join them."""
    return np.insert(values.astype(np.float64), ends[:-1], np.nan)


def plot_hmm_states(
    result_or_params: Any,
    X: Any,
    lengths: Any = None,
    model: HiddenMarkovModel[Any, Any] | None = None,
    ax: Axes | None = None,
    posterior_ax: Axes | None = None,
    *,
    feature: int = 0,
    feature_name: str | None = None,
    time: Any = None,
    point_size: float = 12.0,
) -> tuple[Axes, Axes | None]:
    """A hidden Markov model's states over time: the data coloured by decoded state, and the
    state posteriors.

    The upper panel draws one feature of the data against time as a thin grey trace (steps for
    whole numbers such as counts), a point per frame in the colour of its Viterbi state, and each
    state's emission mean as a dashed horizontal line. The lower panel stacks the state
    posteriors ``gamma_t(k) = p(z_t = k | x)`` of every frame (they sum to 1), in the same
    colours. Sequences are drawn one after another, with a dotted line at each boundary (up to
    100 sequences); the trace does not join them.

    Parameters
    ----------
    result_or_params : FitResult, fitted emkit HMM estimator, or HMMParams
        A fitted [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel]; with bare parameters,
        ``model`` is required.
    X : array-like of shape (n_samples, n_features)
        The sequences, one after another.
    lengths : int array-like of shape (n_sequences,), optional
        Their sizes (summing to n_samples); default one sequence.
    model : HiddenMarkovModel, optional
        The model of ``result_or_params`` when it holds parameters only.
    ax : matplotlib Axes, optional
        Where to draw the data. By default a new figure with two panels (data above, posteriors
        below, sharing the time axis).
    posterior_ax : matplotlib Axes, optional
        Where to draw the posteriors; when ``ax`` is given and this is not, no posteriors are
        drawn.
    feature : int, default 0
        The column of ``X`` drawn.
    feature_name : str, optional
        Its axis label (default "feature 0", ...).
    time : array-like of shape (n_samples,), optional
        Increasing x values of the frames (e.g. years); default ``0 .. n_samples - 1``.
    point_size : float, default 12.0
        Marker size of the data points.

    Returns
    -------
    ax : Axes
        With one point collection per state that has frames (legend "state k, mean m"), one
        dashed line per state with ``gid`` ``"state-mean-k"``, and the grey trace.
    posterior_ax : Axes or None
        With one filled area per state (``ax.collections``), y from 0 to 1.
    """
    model, params = _hmm_and_params(result_or_params, model)
    X = check_array(X, "X")
    n_samples, n_features = X.shape
    if not 0 <= int(feature) < n_features:
        raise ValueError(f"`feature` must be a column index in [0, {n_features}); got {feature!r}")
    feature = int(feature)
    sizes = np.asarray(
        model.default_lengths(n_samples) if lengths is None else lengths, dtype=np.intp
    )
    if sizes.ndim != 1 or (sizes < 1).any() or int(sizes.sum()) != n_samples:
        raise ValueError(
            f"`lengths` must be positive sequence sizes summing to the rows of X ({n_samples}); "
            f"got {sizes.tolist() if sizes.ndim == 1 and sizes.size <= 10 else sizes.shape}"
        )
    if time is None:
        t = np.arange(n_samples, dtype=np.float64)
    else:
        t = np.asarray(time, dtype=np.float64)
        if t.shape != (n_samples,):
            raise ValueError(
                f"`time` must have one value per row of X, shape ({n_samples},); got {t.shape}"
            )
    require_matplotlib()
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 5.5), layout="constrained")
        ax, posterior_ax = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.0])
    k = model.n_states
    colors = _colors(k)
    states = model.predict(X, params, sizes)
    means = model.component_means(params)
    x = X[:, feature]
    ends = np.cumsum(sizes)
    discrete = bool(np.all(x == np.round(x)))
    # Whole numbers (counts) read best as steps between the frames; other data as a line.
    ax.plot(
        _broken_at(t, ends),
        _broken_at(x, ends),
        color="0.65",
        linewidth=0.8,
        drawstyle="steps-mid" if discrete else "default",
        zorder=1,
    )
    for state in range(k):
        mask = states == state
        mean = float(means[state, feature])
        if mask.any():
            ax.scatter(
                t[mask],
                x[mask],
                s=point_size,
                color=colors[state],
                linewidths=0,
                zorder=3,
                label=f"state {state}, mean {mean:.3g}",
            )
        ax.axhline(mean, color=colors[state], linestyle="--", linewidth=1.2, zorder=2).set_gid(
            f"state-mean-{state}"
        )
    n_sequences = sizes.shape[0]
    if 1 < n_sequences <= _MAX_BOUNDARY_LINES:
        for end in ends[:-1]:
            # Halfway between the last frame of one sequence and the first of the next.
            middle = 0.5 * (t[end - 1] + t[end])
            for axes in (ax, posterior_ax):
                if axes is not None:
                    axes.axvline(middle, color="black", linestyle=":", linewidth=0.8, alpha=0.6)
    ax.set_ylabel(feature_name if feature_name is not None else f"feature {feature}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
    time_label = "time step" if time is None else "time"
    if n_sequences > 1 and time is None:
        time_label += " (sequences one after another)"
    if posterior_ax is None:
        ax.set_xlabel(time_label)
        return ax, None
    posteriors = model.responsibilities(X, params, sizes)
    posterior_ax.stackplot(
        t,
        posteriors.T,
        colors=colors,
        labels=[f"state {state}" for state in range(k)],
        linewidth=0,
    )
    posterior_ax.set_ylim(0.0, 1.0)
    posterior_ax.set_ylabel("state posterior")
    posterior_ax.set_xlabel(time_label)
    posterior_ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small"
    )
    return ax, posterior_ax
