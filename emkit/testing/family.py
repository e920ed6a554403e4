"""The checks an [`ExponentialFamily`][emkit.protocols.ExponentialFamily] must pass:
[`check_family`][emkit.testing.check_family].

The family's own laws (ingredients, prior, shapes, relabelling, M-step optimality) are here;
[`check_family`][emkit.testing.check_family] adds the normalisation check
(``emkit.testing.normalisation``) and the model checks (``emkit.testing.model``) on a finite mixture
of the family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array
from emkit.families.canonical import CanonicalFamily
from emkit.mixture import FiniteMixture
from emkit.protocols import ExponentialFamily
from emkit.stats import scale, take_components
from emkit.testing.missing import check_missing_row, handles_missing
from emkit.testing.model import (
    check_additivity,
    check_missing_values,
    check_monotone_em,
    check_recenter,
    check_sample_weight,
    check_statistics_type,
    checked_init,
    checked_iteration,
    require_rows,
    runs_recenter_check,
)
from emkit.testing.normalisation import check_normalisation
from emkit.testing.reporting import call_plugin
from emkit.testing.tolerances import ADDITIVITY_RTOL, OPTIMALITY_RTOL, PERTURBATIONS

__all__ = [
    "check_family",
    "check_ingredients",
    "check_mstep_optimality",
    "check_prior",
    "check_relabelling",
    "check_shapes",
]


def _expect_shape(got: Any, expected: tuple[int, ...], what: str, rule: str, hint: str) -> Array:
    arr = np.asarray(got)
    if arr.shape != expected:
        raise AssertionError(f"{what} must return {rule} = {expected}; got shape {arr.shape}{hint}")
    return arr


def check_ingredients(family: Any, X: Array, n_components: int = 3, random_state: int = 0) -> None:
    """The four ingredients of a [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily] have
    the documented shapes.

    ``sufficient_statistics(X)`` is (n_samples, n_stats); ``natural_parameters(mean)`` is
    (n_components, n_stats); ``log_partition(natural)`` is (n_components,);
    ``log_base_measure(X)`` is (n_samples,) and 0 when ``zero_base_measure`` is set. Families that
    are not a CanonicalFamily have no ingredients: nothing is checked.

    Parameters
    ----------
    family : CanonicalFamily
    X : array of shape (n_samples, n_features), in the family's support
    n_components : int, default 3
    random_state : int, default 0
        Draws the mean parameters the ingredients are evaluated at (averages of T(X) over
        random groups of rows).
    """
    if not isinstance(family, CanonicalFamily):
        return
    name = type(family).__name__
    n = X.shape[0]
    t = np.asarray(call_plugin(f"{name}.sufficient_statistics(X)", family.sufficient_statistics, X))
    if t.ndim != 2 or t.shape[0] != n:
        hint = (
            ": a 1-D array has no statistics axis; return X[:, None] or "
            "np.column_stack([...]) for one statistic per row"
            if t.ndim == 1
            else ""
        )
        raise AssertionError(
            f"{name}.sufficient_statistics(X) must return T(X) of shape (n_samples, n_stats) "
            f"= ({n}, n_stats), one row per sample; got shape {t.shape}{hint}"
        )
    if not np.isfinite(t).all():
        raise AssertionError(
            f"{name}.sufficient_statistics(X) is not finite on data in the support"
        )
    n_stats = t.shape[1]
    rng = np.random.default_rng(random_state)
    onehot = np.eye(n_components)[rng.integers(0, n_components, size=n)]
    sizes = onehot.sum(axis=0)
    overall = t.mean(axis=0)
    group_means = np.where(
        sizes[:, None] > 0, (onehot.T @ t) / np.maximum(sizes, 1.0)[:, None], overall
    )
    mean = 0.5 * group_means + 0.5 * overall
    with np.errstate(all="ignore"):
        natural = _expect_shape(
            call_plugin(f"{name}.natural_parameters(mean)", family.natural_parameters, mean),
            (n_components, n_stats),
            f"{name}.natural_parameters(mean)",
            "eta of shape (n_components, n_stats)",
            "",
        )
        log_partition = np.asarray(
            call_plugin(f"{name}.log_partition(natural)", family.log_partition, natural)
        )
        _expect_shape(
            log_partition,
            (n_components,),
            f"{name}.log_partition(natural)",
            "A(eta) of shape (n_components,)",
            ": one value per component (sum over the statistics without keepdims, or index [:, 0])"
            if log_partition.size == n_components
            else "",
        )
    log_h = np.asarray(call_plugin(f"{name}.log_base_measure(X)", family.log_base_measure, X))
    _expect_shape(
        log_h,
        (n,),
        f"{name}.log_base_measure(X)",
        "log h(x) of shape (n_samples,)",
        ": one value per row (sum over the features without keepdims)" if log_h.size == n else "",
    )
    if not np.isfinite(log_h).all():
        row = int(np.flatnonzero(~np.isfinite(log_h))[0])
        raise AssertionError(
            f"{name}.log_base_measure(X) is {log_h[row]} at row {row}, a point in the support"
        )
    if family.zero_base_measure and np.any(log_h != 0):
        row = int(np.flatnonzero(log_h != 0)[0])
        raise AssertionError(
            f"{name} sets zero_base_measure = True, but log_base_measure(X) is {log_h[row]!r} at "
            "row {row}: the E-step skips log h(x), so every log-likelihood (and BIC) is wrong; "
            "set zero_base_measure = False"
        )


def check_prior(family: Any, n_features: int) -> None:
    """A [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily]'s conjugate prior
    ``prior() = (tau, m0)`` is proper.

    ``tau`` (pseudo-observations) is finite and ``>= 0``; when ``tau > 0``, ``m0`` broadcast to
    (1, n_stats) passes ``check_mean`` and gives finite natural parameters and log-partition.
    Families that are not a CanonicalFamily have no ``(tau, m0)``: nothing is checked.

    Parameters
    ----------
    family : CanonicalFamily
    n_features : int
    """
    if not isinstance(family, CanonicalFamily):
        return
    name = type(family).__name__
    tau, m0 = call_plugin(f"{name}.prior()", family.prior)
    if not (math.isfinite(float(tau)) and float(tau) >= 0.0):
        raise AssertionError(
            f"the conjugate prior's strength tau={tau!r} of {name} must be a finite number >= 0 "
            "(a count of pseudo-observations; 0 means no prior)"
        )
    if float(tau) == 0.0:
        return
    n_stats = np.asarray(family.sufficient_statistics(np.zeros((1, n_features)))).shape[1]
    try:
        row = np.array(np.broadcast_to(np.asarray(m0, dtype=np.float64), (1, n_stats)))
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"the conjugate prior's mean m0={m0!r} of {name} must broadcast to (1, n_stats) = "
            f"{(1, n_stats)}: {exc}"
        ) from exc
    shown = np.asarray(m0).tolist()
    try:
        family.check_mean(row)
    except ValueError as exc:
        raise AssertionError(
            f"the conjugate prior's mean m0={shown} lies outside the mean space of {name}: "
            f"{exc}. prior() must return (tau, m0) with m0 a valid mean parameter E[T(x)], the "
            "mean of the pseudo-observations"
        ) from exc
    with np.errstate(all="ignore"):
        natural = np.asarray(family.natural_parameters(row))
        log_partition = np.asarray(family.log_partition(natural))
    if not (np.isfinite(natural).all() and np.isfinite(log_partition).all()):
        raise AssertionError(
            f"the conjugate prior's mean m0={shown} lies outside the mean space of {name}: its "
            f"natural parameters are {natural.tolist()} and log-partition "
            f"{log_partition.tolist()} (they must be finite); choose m0 inside the mean space, "
            "not on its boundary"
        )


def check_shapes(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """``log_prob``, ``mean`` and ``sample`` have the documented shapes; ``log_prob`` is finite
    on the data and on the family's own samples, which lie in its support.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features), in the family's support
    params : component parameters of ``family``
    """
    name = type(family).__name__
    means = np.asarray(call_plugin(f"{name}.mean(params)", family.mean, params))
    if means.ndim != 2 or means.shape[1] != X.shape[1]:
        raise AssertionError(
            f"{name}.mean(params) must return shape (n_components, n_features) = "
            f"(n_components, {X.shape[1]}); got shape {means.shape}"
        )
    n_components = means.shape[0]
    log_p = np.asarray(call_plugin(f"{name}.log_prob(X, params)", family.log_prob, X, params))
    if log_p.shape != (X.shape[0], n_components):
        raise AssertionError(
            f"{name}.log_prob must return shape (n_samples, n_components) = "
            f"{(X.shape[0], n_components)}; got shape {log_p.shape}"
        )
    if not np.isfinite(log_p).all():
        row, k = (int(i) for i in np.argwhere(~np.isfinite(log_p))[0])
        raise AssertionError(
            f"{name}.log_prob must be finite on data in the family's support; it is "
            f"{log_p[row, k]} at row {row}, component {k}"
        )
    rng = np.random.default_rng(0)
    for k in sorted({0, n_components - 1}):
        draws = np.asarray(call_plugin(f"{name}.sample", family.sample, params, k, 7, rng))
        if draws.shape != (7, X.shape[1]):
            raise AssertionError(
                f"{name}.sample(params, {k}, 7, rng) must return (n, n_features) = "
                f"{(7, X.shape[1])}; got shape {draws.shape}"
            )
        try:
            family.validate_data(draws)
        except ValueError as exc:
            raise AssertionError(
                f"{name}.sample drew rows of component {k} that validate_data rejects: {exc}"
            ) from exc
        log_q = np.asarray(family.log_prob(draws, params))[:, k]
        if not np.isfinite(log_q).all():
            raise AssertionError(
                f"{name}.log_prob of component {k} is {log_q[~np.isfinite(log_q)][0]} at a "
                f"point drawn from component {k} by sample(): the two disagree about the support"
            )


# -- the remaining family laws -------------------------------------------------------------------


def check_relabelling(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """Permuting the components permutes the columns of ``log_prob`` and nothing else.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features)
    params : component parameters of ``family``
    """
    n_components = family.mean(params).shape[0]
    order = np.roll(np.arange(n_components), 1)
    permuted = take_components(params, order)
    expected = family.log_prob(X, params)[:, order]
    got = family.log_prob(X, permuted)
    worst = float(np.max(np.abs(got - expected)))
    if not worst <= ADDITIVITY_RTOL * max(float(np.max(np.abs(expected))), 1.0):
        raise AssertionError(
            f"relabelled components change {type(family).__name__}.log_prob by {worst:.3g}: "
            "a parameter field mixes components, or is not indexed by component along axis 0 "
            "(emkit.stats.take_components reorders axis 0 of every field of length n_components)"
        )


def _complete_data_objective(
    family: ExponentialFamily[Any, Any], X: Array, labels: Array, params: Any
) -> float:
    log_p = family.log_prob(X, params)
    return float(log_p[np.arange(X.shape[0]), labels].sum() + family.log_prior(params))


def check_mstep_optimality(
    family: ExponentialFamily[Any, Any],
    X: Array,
    n_components: int,
    rng: np.random.Generator | None = None,
) -> None:
    """On hard labels, ``maximize`` is the best parameter value for the complete data.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features)
    n_components : int
    rng : numpy Generator, optional
        Draws the labels and the alternatives (default: seed 0).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    model = FiniteMixture(family, n_components)
    labels = rng.permutation(np.arange(X.shape[0]) % n_components)
    hard = np.eye(n_components)[labels]
    best = model.params_from_responsibilities(X, hard).components
    target = _complete_data_objective(family, X, labels, best)
    alternatives = [
        model.params_from_responsibilities(X, 0.5 * soft + 0.5 * hard).components
        for soft in (rng.dirichlet(np.ones(n_components), size=X.shape[0]) for _ in range(4))
    ]
    # Small moves around the M-step's answer catch an M-step that is merely close to the optimum.
    for factor in PERTURBATIONS:
        try:
            alternatives.append(
                family.validate_params(scale(best, factor), n_components, X.shape[1])
            )
        except ValueError:
            continue  # the move left the parameter space
    for other in alternatives:
        alternative = _complete_data_objective(family, X, labels, other)
        if not target >= alternative - OPTIMALITY_RTOL * max(abs(target), 1.0):
            raise AssertionError(
                f"{type(family).__name__}.maximize() is not the complete-data optimum on hard "
                f"labels: {target} < {alternative} for other parameters (a wrong eta(mean), "
                "A(eta) or prior, or an M-step that is not moment matching)"
            )


def _check_family_stats_type(
    family: ExponentialFamily[Any, Any], X: Array, n_components: int, rng: np.random.Generator
) -> None:
    name = type(family).__name__
    resp = rng.dirichlet(np.ones(n_components), size=X.shape[0])
    center = (resp.T @ X) / resp.sum(axis=0)[:, None]
    stats = call_plugin(
        f"{name}.expected_stats(X, resp, center)", family.expected_stats, X, resp, center
    )
    check_statistics_type(stats, f"{name}.expected_stats")


def check_family(
    family: ExponentialFamily[Any, Any], X: Any, n_components: int = 3, random_state: int = 0
) -> None:
    """Every contract check on an exponential family, with data ``X`` in its support.

    Runs, in order: [`check_ingredients`][emkit.testing.check_ingredients] and
    [`check_prior`][emkit.testing.check_prior] (CanonicalFamily only), the statistics type of
    ``expected_stats``, [`check_parameters`][emkit.testing.check_parameters] on ``init_params``,
    [`check_shapes`][emkit.testing.check_shapes], the statistics of one ``e_step`` and
    [`check_parameters`][emkit.testing.check_parameters] on one ``m_step``,
    [`check_normalisation`][emkit.testing.check_normalisation],
    [`check_additivity`][emkit.testing.check_additivity],
    [`check_sample_weight`][emkit.testing.check_sample_weight],
    [`check_recenter`][emkit.testing.check_recenter] (statistics that can move their reference
    point), [`check_relabelling`][emkit.testing.check_relabelling],
    [`check_mstep_optimality`][emkit.testing.check_mstep_optimality] and
    [`check_monotone_em`][emkit.testing.check_monotone_em]; for a family that handles missing
    values also [`check_missing_row`][emkit.testing.check_missing_row] and
    [`check_missing_values`][emkit.testing.check_missing_values] on its mixture.

    Parameters
    ----------
    family : ExponentialFamily
    X : array-like of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` (6) rows in the family's support; ``3 * n_components`` or
        more make the M-step checks meaningful.
    n_components : int, default 3
    random_state : int, default 0

    Raises
    ------
    AssertionError
        A law is broken; the message names the method at fault.
    ValueError
        ``X`` has too few rows, or lies outside the family's support.
    """
    X = family.validate_data(check_array(X))
    require_rows(X, "check_family")
    rng = np.random.default_rng(random_state)
    check_ingredients(family, X, n_components, random_state)
    check_prior(family, X.shape[1])
    _check_family_stats_type(family, X, n_components, rng)
    model = FiniteMixture(family, n_components)
    params = checked_init(model, X, rng)
    # Checked first: a mixture that calls the family with NaN relies on it.
    if handles_missing(family):
        check_missing_row(family, params.components, X.shape[1])
    check_shapes(family, X, params.components)
    params, stats = checked_iteration(model, X, params)
    check_normalisation(family, X, n_components, random_state)
    check_additivity(model, X, params)
    check_sample_weight(model, X, params)
    if runs_recenter_check(stats):
        check_recenter(model, X, params)
    check_relabelling(family, X, params.components)
    check_mstep_optimality(family, X, n_components, rng)
    check_monotone_em(model, X, random_state=random_state)
    if handles_missing(family):
        marginalising = FiniteMixture(family, n_components, missing="marginalise")
        check_missing_values(marginalising, X, random_state=random_state)
