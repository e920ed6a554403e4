"""Model-level starting strategies, and the canonical order of a fit's components.

The strategies of [`emkit.init`][emkit.init] turn a data sample into responsibilities without
looking at the model's likelihood. The strategies here need the model and the driver: they run
EM themselves to choose where the fitted run starts.

``"emEM"`` ([`ShortRuns`][emkit.starts.ShortRuns]; Biernacki, Celeux & Govaert 2003)
    Many cheap, short EM runs from random starts (by default 20 runs of 5 iterations from
    k-means++ seeds); the one that ends with the highest objective is the start of the long
    run. A poor random start usually shows within a few iterations,
    so the short runs spend a little EM on many starts instead of a whole run on one.
    ``emkit.fit(model, X, init="emEM")`` uses the default settings,
    ``init=ShortRuns(n_runs=20)`` others. The short runs are run by
    [`emkit.fit`][emkit.em.fit]'s own loop (same schedule, same guards, no callbacks); their
    iterations are counted in [`FitResult.n_start_iter`][emkit.em.FitResult].

**Canonical order.** EM's answer is defined up to a renumbering of the components (label
switching), so two fits of one model, or two restarts of one fit, can hold the same components
in different orders. [`canonical_order`][emkit.starts.canonical_order] fixes one order: by
decreasing mixing weight, and components whose weights agree within
[`ORDER_WEIGHT_ATOL`][emkit.starts.ORDER_WEIGHT_ATOL] by increasing first coordinate of their
mean. It applies to any model with the
[`ComponentSummary`][emkit.protocols.ComponentSummary] capability
([`FiniteMixture`][emkit.mixture.FiniteMixture] has it); [`emkit.fit`][emkit.em.fit]
puts every run in this order unless the components are tied to the user's start or labels (its
``order`` argument).

**Collapsed runs.** A run that ends with a component of weight below ``COLLAPSE_COUNT`` rows
([`collapsed`][emkit.starts.collapsed]) is listed in
[`FitResult.collapsed_restarts`][emkit.em.FitResult], whether or not it won.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_float, check_int
from emkit.init import MODEL_START_NAMES, init_methods
from emkit.mixture import COLLAPSE_COUNT
from emkit.protocols import ComponentSummary

__all__ = [
    "MODEL_STARTS",
    "ORDER_WEIGHT_ATOL",
    "ShortRuns",
    "canonical_order",
    "collapsed",
    "component_summary",
    "model_start",
    "run_short_runs",
    "start_names",
]

P = TypeVar("P")

ORDER_WEIGHT_ATOL = 1e-6
"""Mixing weights closer than this count as equal in
[`canonical_order`][emkit.starts.canonical_order] (the first coordinate of the means then
decides): far above rounding (about 1e-15), far below the weight differences a user could read."""


def _n_runs(value: Any) -> int:
    return check_int(value, "ShortRuns.n_runs", minimum=1)


def _n_iter(value: Any) -> int:
    return check_int(value, "ShortRuns.n_iter", minimum=1)


def _tolerance(value: Any) -> float:
    return check_float(value, "ShortRuns.tol", minimum=0.0)


def _start_name(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`ShortRuns.start` must be an init method name; got {value!r}")
    if value in MODEL_START_NAMES:
        raise ValueError(
            f"`ShortRuns.start` must be a data-driven init method (e.g. 'random_from_data'), "
            f"not a model-level strategy; got {value!r}"
        )
    return value


@final
@attrs.frozen
class ShortRuns:
    """Settings of emEM: ``n_runs`` short EM runs, then a long run from the best of them.

    Biernacki, Celeux & Govaert (2003, *Computational Statistics & Data Analysis* 41, 561-575)
    compare strategies of this kind on Gaussian mixtures and recommend many short runs (from a
    few to a few dozen) of a few iterations from random starts, the best of which is run to
    convergence. The defaults were chosen by measurement, 40 seeds on each of three problems
    with local optima (six unequal clusters on a grid; Old Faithful, diagonal, K=3; four
    overlapping clusters in 5-D), counting single fits that reach the best of 50 k-means
    starts (``emEM`` / one ``random_from_data`` start):

    * 20 short runs of 5 iterations from k-means++ seeds: 1.0 / 0.2, 0.9 / 0.03, 0.88 / 0.35,
      for about 100 short iterations (the cost of a few long runs);
    * 10 runs of 10 iterations stopped at a change of 1e-2 per row (most stop after two or
      three): 1.0, 0.45, 0.68, so a loose ``tol`` stops them before their basins show;
    * short runs from random rows ("random_from_data", the random starts of Biernacki et al.):
      0.55, 0.45, 0.45; from random responsibilities ("random"): 0.0, 0.28, 0.03, since every
      component starts near the overall mean and a few iterations cannot separate them.

    Parameters
    ----------
    n_runs : int, default 20
        Number of short runs (>= 1), each from its own random start.
    n_iter : int, default 5
        EM iterations of a short run (>= 1). All short runs then cost the same and are compared
        after the same number of steps.
    tol : float, default 0.0
        A short run stops early once its objective changes by less than ``tol`` per unit of
        data weight in one iteration (0: never; see above for why a loose tolerance is not the
        default).
    start : str, default "k-means++"
        How each short run starts: any init method name of the model (for mixtures, one of
        [`init_methods`][emkit.init.init_methods]); k-means++ seeding is random, and spreads
        the starting means over the data.
    """

    n_runs: int = attrs.field(default=20, converter=_n_runs)
    n_iter: int = attrs.field(default=5, converter=_n_iter)
    tol: float = attrs.field(default=0.0, converter=_tolerance)
    start: str = attrs.field(default="k-means++", converter=_start_name)


MODEL_STARTS: dict[str, ShortRuns] = {"emEM": ShortRuns()}
"""The model-level strategies that [`emkit.fit`][emkit.em.fit]'s ``init`` accepts by name
([`MODEL_START_NAMES`][emkit.init.MODEL_START_NAMES]), with their settings (``"emEM"``:
[`ShortRuns`][emkit.starts.ShortRuns] with its defaults)."""


def start_names() -> tuple[str, ...]:
    """Every name [`emkit.fit`][emkit.em.fit]'s ``init`` accepts for a finite mixture.

    Returns
    -------
    names : tuple of str
        The starting responsibilities of [`init_methods`][emkit.init.init_methods] (built-in and
        registered), then the model-level strategies.
    """
    return init_methods() + tuple(MODEL_STARTS)


def model_start(init: Any) -> ShortRuns | None:
    """The model-level strategy ``init`` names or is, or ``None`` for anything else."""
    if isinstance(init, ShortRuns):
        return init
    if isinstance(init, str):
        return MODEL_STARTS.get(init)
    return None


def run_short_runs(
    settings: ShortRuns,
    draw: Callable[[str, np.random.Generator], P],
    run: Callable[[P], tuple[P, float, int]],
    rng: np.random.Generator,
) -> tuple[P, int]:
    """emEM's first stage: the end of the best of ``settings.n_runs`` short runs.

    Parameters
    ----------
    settings : ShortRuns
    draw : callable
        ``draw(method, rng) -> params``: a start by an init method name.
    run : callable
        ``run(params) -> (params, objective, n_iter)``: one short EM run (the driver's loop
        with ``settings.n_iter`` and ``settings.tol``).
    rng : numpy.random.Generator
        Each short run gets a child of it (``rng.spawn``), so the result depends on the seed
        only.

    Returns
    -------
    params : P
        Where the best short run ended (highest objective; the first of equal ones).
    n_iter : int
        The EM iterations all short runs took together.
    """
    best: P | None = None
    best_objective, total = -math.inf, 0
    for child in rng.spawn(settings.n_runs):
        params, objective, n_iter = run(draw(settings.start, child))
        total += n_iter
        if best is None or objective > best_objective:
            best, best_objective = params, objective
    assert best is not None  # n_runs >= 1
    return best, total


# -- components: order and collapse ----------------------------------------------------------------
def component_summary(model: Any, params: Any) -> tuple[Array, Array] | None:
    """``(weights, means)`` of a model's components, or ``None`` for a model without them.

    Parameters
    ----------
    model : LatentVariableModel
    params : parameters of ``model``

    Returns
    -------
    (weights, means) : arrays of shapes (n_components,) and (n_components, n_features), or None
    """
    if isinstance(model, ComponentSummary):
        return (
            np.asarray(model.component_weights(params)),
            np.asarray(model.component_means(params)),
        )
    return None


def canonical_order(model: Any, params: Any) -> Array | None:
    """The permutation that puts a model's components in the canonical order.

    By decreasing mixing weight; components whose weights agree within
    [`ORDER_WEIGHT_ATOL`][emkit.starts.ORDER_WEIGHT_ATOL] by increasing first coordinate of their
    mean (then by their current position). Apply it with
    [`emkit.stats.take_components`][emkit.stats.take_components].

    Parameters
    ----------
    model : LatentVariableModel
    params : parameters of ``model``

    Returns
    -------
    order : int array of shape (n_components,), or None
        Entry ``k`` is the current index of the component that becomes component ``k``;
        ``None`` for a model without a [`component_summary`][emkit.starts.component_summary] or
        with one component.
    """
    summary = component_summary(model, params)
    if summary is None:
        return None
    weights, means = summary
    k = weights.shape[0]
    if k < 2:
        return None
    first = means[:, 0] if means.ndim == 2 and means.shape[1] > 0 else np.zeros(k)
    order = np.lexsort((first, -weights))
    # Runs of weights equal within the tolerance: the first coordinate of the mean decides.
    breaks = np.flatnonzero(np.abs(np.diff(weights[order])) > ORDER_WEIGHT_ATOL) + 1
    groups = [group[np.argsort(first[group], kind="stable")] for group in np.split(order, breaks)]
    return np.concatenate(groups)


def collapsed(model: Any, params: Any, total_weight: float) -> bool:
    """Whether some component of a fit holds less than ``COLLAPSE_COUNT`` rows' worth of weight.

    Parameters
    ----------
    model : LatentVariableModel
    params : parameters of ``model``
    total_weight : float
        Total weight of the data (the number of rows without weights).

    Returns
    -------
    bool
        ``min_k weight_k * total_weight < COLLAPSE_COUNT`` (one row, as
        [`FiniteMixture.diagnose`][emkit.mixture.FiniteMixture.diagnose] reports); False for a
        model without a [`component_summary`][emkit.starts.component_summary].
    """
    summary = component_summary(model, params)
    if summary is None:
        return False
    weights = summary[0]
    return bool(weights.size and float(weights.min()) * total_weight < COLLAPSE_COUNT)
