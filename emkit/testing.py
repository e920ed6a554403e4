"""Public contract checks for plugin authors: run them on a new family or model with pytest.

>>> import numpy as np, emkit
>>> from emkit.testing import check_family
>>> X = np.random.default_rng(0).poisson(3.0, size=(200, 2)).astype(float)
>>> check_family(emkit.Poisson(), X, n_components=2)

Each check raises ``AssertionError`` with a message that says which law is broken and by how
much. The laws are the ones EM relies on:

* shapes: ``log_prob`` is (n_samples, n_components), finite on data in the support;
  ``sample`` draws rows that pass ``validate_data``;
* additivity: the statistics of a row split add up to the statistics of all rows;
* relabelling: permuting the components permutes ``log_prob``'s columns and nothing else;
* M-step optimality: on hard labels, ``maximize`` beats any other parameters on the
  complete-data objective ``sum_n log p(x_n | theta_{z_n}) + log p(theta)``;
* monotone EM: on the model's own samples, EM never decreases the objective.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array
from emkit.em import DECREASE_RTOL, fit
from emkit.exceptions import ConvergenceWarning
from emkit.mixture import FiniteMixture
from emkit.protocols import ExponentialFamily, LatentVariableModel
from emkit.stats import add, scale, take_components

__all__ = [
    "ADDITIVITY_RTOL",
    "check_additivity",
    "check_family",
    "check_model",
    "check_monotone_em",
    "check_mstep_optimality",
    "check_relabelling",
    "check_shapes",
]

#: Statistics of a split vs the whole differ only by summation order: a few ulps of the total.
ADDITIVITY_RTOL = 1e-9

#: The M-step's objective may fall short of an alternative's only by rounding of the sums.
OPTIMALITY_RTOL = 1e-9

#: Factors by which every parameter is scaled to make nearby alternatives to the M-step's answer.
PERTURBATIONS = (0.9, 0.99, 0.999, 1.001, 1.01, 1.1)


def _leaves(obj: Any) -> list[Array]:
    import attrs

    if attrs.has(type(obj)):
        out: list[Array] = []
        for field in attrs.fields(type(obj)):
            out.extend(_leaves(getattr(obj, field.name)))
        return out
    return [np.asarray(obj, dtype=np.float64)]


def _assert_trees_close(a: Any, b: Any, rtol: float, what: str) -> None:
    for i, (x, y) in enumerate(zip(_leaves(a), _leaves(b), strict=True)):
        scale = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(y), initial=0.0)))
        worst = float(np.max(np.abs(x - y), initial=0.0))
        assert worst <= rtol * max(scale, 1.0), (
            f"{what}: field {i} differs by {worst:.3g} (allowed {rtol:g} x {max(scale, 1.0):.3g})"
        )


def check_shapes(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """``log_prob`` shape and finiteness; ``sample`` shape and support."""
    n_components = family.mean(params).shape[0]
    log_p = family.log_prob(X, params)
    assert log_p.shape == (X.shape[0], n_components), (
        f"log_prob must have shape (n_samples, n_components) = {(X.shape[0], n_components)}; "
        f"got {log_p.shape}"
    )
    assert np.isfinite(log_p).all(), "log_prob must be finite on data in the family's support"
    assert family.mean(params).shape == (n_components, X.shape[1]), (
        "mean(params) must have shape (n_components, n_features)"
    )
    draws = family.sample(params, 0, 7, np.random.default_rng(0))
    assert draws.shape == (7, X.shape[1]), f"sample must return (n, n_features); got {draws.shape}"
    family.validate_data(draws)


def check_additivity(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, split: int | None = None
) -> None:
    """``e_step`` on ``X[:split]`` plus ``e_step`` on ``X[split:]`` equals ``e_step`` on ``X``."""
    split = X.shape[0] // 3 if split is None else split
    whole, ll = model.e_step(X, params)
    first, ll1 = model.e_step(X[:split], params)
    second, ll2 = model.e_step(X[split:], params)
    _assert_trees_close(add(first, second), whole, ADDITIVITY_RTOL, "additivity of e_step")
    assert abs((ll1 + ll2) - ll) <= ADDITIVITY_RTOL * max(abs(ll), 1.0), (
        f"log-likelihoods of a split must add up: {ll1} + {ll2} != {ll}"
    )


def check_relabelling(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """Permuting the components permutes the columns of ``log_prob`` and nothing else."""
    n_components = family.mean(params).shape[0]
    order = np.roll(np.arange(n_components), 1)
    permuted = take_components(params, order)
    expected = family.log_prob(X, params)[:, order]
    got = family.log_prob(X, permuted)
    worst = float(np.max(np.abs(got - expected)))
    assert worst <= ADDITIVITY_RTOL * max(float(np.max(np.abs(expected))), 1.0), (
        f"relabelled components change log_prob by {worst:.3g}"
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
    """On hard labels, ``maximize`` is the best parameter value for the complete data."""
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
        assert target >= alternative - OPTIMALITY_RTOL * max(abs(target), 1.0), (
            "maximize() is not the complete-data optimum on hard labels: "
            f"{target} < {alternative} for other parameters"
        )


def check_monotone_em(
    model: LatentVariableModel[Any, Any], X: Array, max_iter: int = 30, random_state: int = 0
) -> None:
    """EM from a random start never decreases ``log-likelihood + log-prior``."""
    with warnings.catch_warnings():
        # tol=0 runs all max_iter iterations on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit(model, X, init="random", max_iter=max_iter, tol=0.0, random_state=random_state)
    history = np.asarray(result.history)
    rtol = DECREASE_RTOL[np.dtype(np.float64)]
    allowed = rtol * (np.abs(history[:-1]) + result.n_samples)
    drops = history[:-1] - history[1:]
    assert (drops <= allowed).all(), (
        f"EM decreased the objective by {float(drops.max()):.3g} at iteration "
        f"{int(np.argmax(drops)) + 1}"
    )


def check_model(model: LatentVariableModel[Any, Any], X: Any, random_state: int = 0) -> None:
    """Contract checks for any latent-variable model: additivity and monotone EM."""
    X = model.validate_data(check_array(X))
    params = model.init_params(X, np.random.default_rng(random_state), "random")
    check_additivity(model, X, params)
    check_monotone_em(model, X, random_state=random_state)


def check_family(
    family: ExponentialFamily[Any, Any], X: Any, n_components: int = 3, random_state: int = 0
) -> None:
    """Every contract check on an exponential family, with data ``X`` in its support.

    Parameters
    ----------
    family : ExponentialFamily
    X : array-like of shape (n_samples, n_features)
        At least ``3 * n_components`` rows in the family's support.
    n_components : int, default 3
    random_state : int, default 0
    """
    X = family.validate_data(check_array(X))
    rng = np.random.default_rng(random_state)
    model = FiniteMixture(family, n_components)
    params = model.init_params(X, rng, "random")
    check_shapes(family, X, params.components)
    check_additivity(model, X, params)
    check_relabelling(family, X, params.components)
    check_mstep_optimality(family, X, n_components, rng)
    check_monotone_em(model, X, random_state=random_state)
