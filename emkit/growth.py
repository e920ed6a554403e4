"""Growing a mixture by one component: split a component of a K-component fit into two.

A mixture with K + 1 components contains every K-component mixture (give two components the same
parameters), so at its best the larger model fits at least as well. EM from an arbitrary start
need not find that out; a start *grown* from the K-component fit does. Two ways to grow, both
generic for a [`FiniteMixture`][emkit.mixture.FiniteMixture] of any family (plugins included),
because they only build responsibilities with K + 1 columns and let the model's
[`params_from_responsibilities`][emkit.mixture.FiniteMixture.params_from_responsibilities] (one
M-step) make the parameters:

* [`split_component`][emkit.growth.split_component] divides the rows a component is responsible
  for into two groups (along the principal axis of its responsibility-weighted rows, refined by
  weighted 2-means), each group becoming a component. EM from there usually climbs above the
  K-component fit, but nothing guarantees that the start itself is not below it.
* [`copy_component`][emkit.growth.copy_component] gives both halves half of the component's
  responsibilities: the start is one EM step from the K-component fit with that component
  copied, so its log-likelihood is *never below* the K-component fit's (EM never decreases it;
  up to floating-point noise and a Gaussian's ``reg_covar``). EM from an exact copy stays a copy:
  this is the witness that the larger model fits at least as well, not a better fit.

[`worst_component`][emkit.growth.worst_component] picks the component to split: the one whose
split start raises the log-likelihood most.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_int
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.stats import init_fields

__all__ = [
    "SPLIT_MAX_ITER",
    "copy_component",
    "duplicate_component",
    "split_component",
    "split_gains",
    "worst_component",
]

#: Weighted 2-means (Lloyd) iterations that refine the principal-axis division of a component.
SPLIT_MAX_ITER = 20


def _check(model: Any, params: Any, component: int | None = None) -> FiniteMixture[Any, Any]:
    if not isinstance(model, FiniteMixture):
        raise TypeError(
            f"`model` must be a FiniteMixture to grow a component; got {type(model).__name__}"
        )
    if not isinstance(params, MixtureParams):
        raise TypeError(f"`params` must be MixtureParams; got {type(params).__name__}")
    if component is not None and not 0 <= component < model.n_components:
        raise ValueError(
            f"`component` must be in 0..{model.n_components - 1} (n_components="
            f"{model.n_components}); got {component}"
        )
    return model


def _grown_params(
    model: FiniteMixture[Any, Any],
    X: Array,
    resp: Array,
    component: int,
    share: Array,
    weights: Array | None,
) -> MixtureParams[Any]:
    """Parameters of K + 1 components: column ``component`` of ``resp`` split by ``share``.

    The row's responsibility ``r_nc`` goes ``share_n`` to component ``component`` and
    ``1 - share_n`` to a new last component; the other columns are kept.
    """
    r = resp[:, component]
    grown = np.concatenate([resp, (r * (1.0 - share))[:, None]], axis=1)
    grown[:, component] = r * share
    larger = attrs.evolve(model, n_components=model.n_components + 1)
    return larger.params_from_responsibilities(X, grown, weights)


def _two_groups(X: Array, w: Array, rng: np.random.Generator) -> Array:
    """Which of two groups each row belongs to (bool (n,)): 2-means weighted by ``w``.

    Starts from the sign of the projection on the principal axis of the ``w``-weighted rows
    (deterministic), then runs weighted Lloyd iterations. Rows of zero weight are assigned to
    the nearer center like the others. When the weighted rows have no spread (one distinct row),
    the division is random, drawn from ``rng``.
    """
    total = w.sum()
    X = np.asarray(X, dtype=np.float64)
    center = (w @ X) / total
    Y = X - center
    cov = (Y * w[:, None]).T @ Y / total
    values, vectors = np.linalg.eigh(cov)
    if not values[-1] > 0.0:
        return np.asarray(rng.random(X.shape[0]) < 0.5)
    side = Y @ vectors[:, -1] > 0.0
    for _ in range(SPLIT_MAX_ITER):
        wa, wb = w @ side, w @ ~side
        if wa <= 0.0 or wb <= 0.0:
            break
        a = (w * side) @ Y / wa
        b = (w * ~side) @ Y / wb
        # ||y - a||^2 < ||y - b||^2  <=>  2 y.(b - a) < ||b||^2 - ||a||^2
        new = 2.0 * (Y @ (b - a)) < b @ b - a @ a
        if np.array_equal(new, side):
            break
        side = new
    return np.asarray(side)


def split_component(
    model: FiniteMixture[Any, Any],
    X: Array,
    params: MixtureParams[Any],
    component: int,
    rng: np.random.Generator,
    weights: Array | None = None,
) -> MixtureParams[Any]:
    """Starting parameters with K + 1 components: ``component`` divided into two.

    The rows are weighted by their responsibility ``r_nc`` for the component (times the row
    weight) and divided into two groups by weighted 2-means in data space, started from the
    sign of the projection on the principal axis of those weighted rows. Each group's
    responsibilities ``r_nc`` become one component (the first keeps index ``component``, the
    second is appended last); the other components keep their responsibilities. One M-step
    ([`params_from_responsibilities`][emkit.mixture.FiniteMixture.params_from_responsibilities])
    makes the parameters, so the other components are one EM step from ``params`` (the same,
    when ``params`` is a converged fit).

    The start's log-likelihood may be below that of ``params``; EM from it usually climbs above
    (see [`copy_component`][emkit.growth.copy_component] for a start that is never below).

    Parameters
    ----------
    model : FiniteMixture
        The model of ``params`` (K components).
    X : array of shape (n_samples, n_features)
        Rows (all of the data, or a sample of it).
    params : MixtureParams
        K components, e.g. a fit of ``model``.
    component : int
        Which component to divide, in ``0..K-1``.
    rng : numpy.random.Generator
        Used only when the component's rows have no spread (a random division).
    weights : array of shape (n_samples,), optional
        Row weights.

    Returns
    -------
    params : MixtureParams
        K + 1 components, valid for ``FiniteMixture(model.family, K + 1)``.
    """
    model = _check(model, params, check_int(component, "component", minimum=0))
    X = model.validate_data(X)
    resp = model.responsibilities(X, params)
    w = resp[:, component] if weights is None else resp[:, component] * weights
    if not w.sum() > 0.0:
        raise ValueError(
            f"component {component} holds no weight on these rows (sum of responsibilities "
            f"{w.sum():g}); it cannot be divided"
        )
    side = _two_groups(X, w, rng)
    return _grown_params(model, X, resp, component, side.astype(np.float64), weights)


def copy_component(
    model: FiniteMixture[Any, Any],
    X: Array,
    params: MixtureParams[Any],
    component: int,
    weights: Array | None = None,
) -> MixtureParams[Any]:
    """Starting parameters with K + 1 components: ``component`` given twice, at half weight.

    Both copies get half of the component's responsibilities, then one M-step makes the
    parameters: the result is one EM step from ``params`` with ``component`` copied. The
    mixture density of two identical components at half weight is the K-component density, so
    on the rows ``X`` (when they are all of the data) its log-likelihood is that of one EM step
    from ``params``: **never below** ``params``' own (EM never decreases it; up to
    floating-point noise, and up to the ``reg_covar`` added to a Gaussian's maximising
    covariances). EM started exactly at a copy keeps the two copies identical.

    Parameters
    ----------
    model : FiniteMixture
        The model of ``params`` (K components).
    X : array of shape (n_samples, n_features)
    params : MixtureParams
        K components.
    component : int
        Which component to copy, in ``0..K-1``.
    weights : array of shape (n_samples,), optional
        Row weights.

    Returns
    -------
    params : MixtureParams
        K + 1 components, valid for ``FiniteMixture(model.family, K + 1)``.
    """
    model = _check(model, params, check_int(component, "component", minimum=0))
    X = model.validate_data(X)
    resp = model.responsibilities(X, params)
    half = np.full(X.shape[0], 0.5)
    return _grown_params(model, X, resp, component, half, weights)


def split_gains(
    model: FiniteMixture[Any, Any],
    X: Array,
    params: MixtureParams[Any],
    rng: np.random.Generator,
    weights: Array | None = None,
) -> tuple[Array, list[MixtureParams[Any]]]:
    """The log-likelihood gain of splitting each component, and the split starts.

    Every component ``k`` is divided by [`split_component`][emkit.growth.split_component]; its
    gain is ``log p(X | split start) - log p(X | params)`` on the rows ``X``. Costs K M-steps
    and K + 1 passes over ``X``.

    Parameters
    ----------
    model : FiniteMixture
    X : array of shape (n_samples, n_features)
    params : MixtureParams
        K components.
    rng : numpy.random.Generator
    weights : array of shape (n_samples,), optional

    Returns
    -------
    gains : array of shape (n_components,)
        Weighted log-likelihood gain of each split start (may be negative; ``-inf`` for a
        component that holds no weight on ``X``, whose start is then its copy).
    starts : list of MixtureParams
        The K + 1-component start of each split, in component order.
    """
    model = _check(model, params)
    X = model.validate_data(X)
    larger = attrs.evolve(model, n_components=model.n_components + 1)

    def log_likelihood(m: FiniteMixture[Any, Any], p: MixtureParams[Any]) -> float:
        rows = m.score_samples(X, p)
        return float(rows.sum() if weights is None else weights @ rows)

    base = log_likelihood(model, params)
    gains = np.full(model.n_components, -np.inf)
    starts = []
    for k in range(model.n_components):
        try:
            start = split_component(model, X, params, k, rng, weights)
        except ValueError:  # the component holds no weight on these rows: copy it instead
            starts.append(copy_component(model, X, params, k, weights))
            continue
        starts.append(start)
        gains[k] = log_likelihood(larger, start) - base
    return gains, starts


def worst_component(
    model: FiniteMixture[Any, Any],
    X: Array,
    params: MixtureParams[Any],
    weights: Array | None = None,
) -> int:
    """The component that contributes most to the misfit: the one whose split gains most.

    The criterion is measured, not guessed: every component is divided by
    [`split_component`][emkit.growth.split_component] and the component whose split start
    raises the log-likelihood of ``X`` most is returned (ties: the lowest index). For a
    Gaussian that is typically a component stretched over two clusters; for any family it is
    where one more component helps most at once. Deterministic (the random division of
    [`split_component`][emkit.growth.split_component] is used only for a component without
    spread, from a fixed seed here).

    Parameters
    ----------
    model : FiniteMixture
    X : array of shape (n_samples, n_features)
    params : MixtureParams
        K components.
    weights : array of shape (n_samples,), optional

    Returns
    -------
    component : int
        In ``0..K-1``.
    """
    gains, _ = split_gains(model, X, params, np.random.default_rng(0), weights)
    return int(np.argmax(gains))


def duplicate_component(
    model: FiniteMixture[Any, Any],
    X: Array,
    params: MixtureParams[Any],
    component: int,
    weights: Array | None = None,
) -> MixtureParams[Any]:
    """``params`` with ``component`` given twice at half its weight, and no EM step: K + 1
    components with **exactly** the K-component mixture density.

    Unlike [`copy_component`][emkit.growth.copy_component] (one M-step after the copy, which a
    prior on the components moves), the log-likelihood of the result is that of ``params`` on
    any data, up to rounding. The new component is appended last. Which arrays hold one entry
    per component and which are shared (a tied covariance) is read off the shapes of the
    K + 1-component parameters the family's own M-step makes, so every family works.

    Parameters
    ----------
    model : FiniteMixture
        The model of ``params`` (K components).
    X : array of shape (n_samples, n_features)
        Rows from which the shapes of K + 1-component parameters are made (any sample).
    params : MixtureParams
        K components.
    component : int
        Which component to duplicate, in ``0..K-1``.
    weights : array of shape (n_samples,), optional
        Row weights.

    Returns
    -------
    params : MixtureParams
        K + 1 components, valid for ``FiniteMixture(model.family, K + 1)``.
    """
    shapes = copy_component(model, X, params, component, weights)
    k = model.n_components

    def duplicated(old: Any, like: Any) -> Any:
        if attrs.has(type(old)):
            return attrs.evolve(
                old,
                **{
                    f.name: duplicated(getattr(old, f.name), getattr(like, f.name))
                    for f in init_fields(old)
                },
            )
        if isinstance(old, tuple):  # one value per part (a product family)
            return tuple(duplicated(o, n) for o, n in zip(old, like, strict=True))
        if (
            isinstance(old, np.ndarray)
            and old.ndim > 0
            and old.shape[0] == k
            and isinstance(like, np.ndarray)
            and like.ndim == old.ndim
            and like.shape[0] == k + 1
        ):
            return np.concatenate([old, old[component : component + 1]], axis=0)
        return old  # shared by all components (or not an array)

    grown = duplicated(params, shapes)
    halves = np.array(grown.weights, dtype=float, copy=True)
    halves[[component, k]] = params.weights[component] / 2.0
    return attrs.evolve(grown, weights=halves)
