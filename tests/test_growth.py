"""Growing a mixture by one component: split_component, copy_component, worst_component."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import emkit
from emkit.growth import (
    copy_component,
    duplicate_component,
    split_component,
    split_gains,
    worst_component,
)
from tests.strategies import make_family, random_params

#: A copy start is one EM step from the parameters: its log-likelihood may lie below theirs by
#: floating-point noise only (per unit of |log-likelihood| + rows), and by what a Gaussian's
#: reg_covar (1e-6 on the covariances) moves.
COPY_RTOL = 1e-7
#: A duplicated component leaves the mixture density as it was: per-row log-densities agree to
#: rounding (splitting a weight in two halves and summing them back in logsumexp).
DUPLICATE_ATOL = 1e-12

#: The three-cluster data is separated by 8 standard deviations: splitting the component that
#: covers two of them and running EM reaches the three-component optimum to this precision
#: (per row).
OPTIMUM_ATOL_PER_ROW = 1e-3

#: EM stopped by tol=1e-10 is a fixed point up to its slow linear convergence: one more step moves
#: the means of this problem by a few 1e-6.
FIXED_POINT_ATOL = 1e-4

KINDS = ("full", "tied", "diag", "spherical", "bernoulli", "poisson")


def _load_custom_family() -> Any:
    path = Path(__file__).resolve().parents[1] / "examples" / "custom_family.py"
    spec = importlib.util.spec_from_file_location("_growth_custom_family", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


Exponential = _load_custom_family().Exponential


def _family(kind: str) -> Any:
    return Exponential() if kind == "exponential" else make_family(kind)


def _problem(kind: str, n_components: int = 2, n: int = 300, seed: int = 0) -> Any:
    """A model, its true parameters and rows drawn from them (three features)."""
    rng = np.random.default_rng(seed)
    model = emkit.FiniteMixture(_family(kind), n_components)
    if kind == "exponential":
        params = emkit.MixtureParams(
            rng.dirichlet(np.full(n_components, 3.0)),
            emkit.MeanParams(rng.uniform(0.5, 8.0, size=(n_components, 3))),
        )
    else:
        params = random_params(model, 3, rng)
    X, _ = model.sample(params, n, rng)
    return model, params, X


def _log_likelihood(model: Any, X: np.ndarray, params: Any) -> float:
    return float(model.score_samples(X, params).sum())


@pytest.mark.parametrize("kind", [*KINDS, "exponential"])
@pytest.mark.parametrize("n_components", [1, 3])
def test_split_and_copy_make_valid_parameters_with_one_more_component(
    kind: str, n_components: int
) -> None:
    model, _, X = _problem(kind, n_components)
    fitted = emkit.fit(model, X, random_state=0).params
    larger = emkit.FiniteMixture(model.family, n_components + 1)
    for component in range(n_components):
        for grown in (
            split_component(model, X, fitted, component, np.random.default_rng(0)),
            copy_component(model, X, fitted, component),
        ):
            checked = larger.validate_params(grown, X.shape[1])
            assert checked.weights.shape == (n_components + 1,)
            # EM runs from it.
            result = emkit.fit(larger, X, init=grown, max_iter=3, tol=1e9)
            assert np.isfinite(result.log_likelihood)


@pytest.mark.parametrize("kind", [*KINDS, "exponential"])
def test_a_copy_is_never_below_the_parameters_it_grows(kind: str) -> None:
    # From any parameters, not only a fit: the copy is one EM step from them.
    model, params, X = _problem(kind, 3, seed=1)
    larger = emkit.FiniteMixture(model.family, 4)
    start = model.init_params(X, np.random.default_rng(0), "random")
    for candidate in (params, start):
        before = _log_likelihood(model, X, candidate)
        for component in range(3):
            after = _log_likelihood(larger, X, copy_component(model, X, candidate, component))
            assert after >= before - COPY_RTOL * (abs(before) + X.shape[0])


def test_a_split_keeps_the_other_components_of_a_converged_fit() -> None:
    model, _, X = _problem("diag", 3, seed=2)
    fitted = emkit.fit(model, X, random_state=0, tol=1e-10, max_iter=1000).params
    grown = split_component(model, X, fitted, 1, np.random.default_rng(0))
    for k in (0, 2):
        np.testing.assert_allclose(
            grown.components.means[k], fitted.components.means[k], atol=FIXED_POINT_ATOL
        )
    # The two halves share the split component's weight.
    np.testing.assert_allclose(
        grown.weights[1] + grown.weights[3], fitted.weights[1], atol=FIXED_POINT_ATOL
    )


@pytest.fixture(scope="module")
def three_clusters() -> np.ndarray:
    rng = np.random.default_rng(3)
    centers = ([0.0, 0.0], [8.0, 0.0], [0.0, 8.0])
    return np.vstack([rng.normal(c, 1.0, size=(200, 2)) for c in centers])


def test_the_worst_component_is_the_one_over_two_clusters(three_clusters: np.ndarray) -> None:
    # Two components: one on a single cluster, one stretched over the other two.
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 2)
    labels = np.repeat([0, 1, 1], 200)
    resp = np.eye(2)[labels]
    params = model.params_from_responsibilities(three_clusters, resp)
    assert worst_component(model, three_clusters, params) == 1
    # Swapping the two components moves the answer with them.
    swapped = model.params_from_responsibilities(three_clusters, resp[:, ::-1])
    assert worst_component(model, three_clusters, swapped) == 0
    gains, starts = split_gains(model, three_clusters, params, np.random.default_rng(0))
    assert gains[1] > gains[0]
    assert len(starts) == 2
    # EM from the split of the worst component reaches the three-cluster optimum.
    larger = emkit.FiniteMixture(model.family, 3)
    grown = emkit.fit(larger, three_clusters, init=starts[1])
    best = emkit.fit(larger, three_clusters, n_init=5, random_state=0)
    assert grown.log_likelihood >= best.log_likelihood - OPTIMUM_ATOL_PER_ROW * 600


def test_a_component_without_spread_is_divided_at_random() -> None:
    X = np.vstack([np.zeros((30, 2)), np.full((30, 2), 5.0)])
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 2)
    params = model.params_from_responsibilities(X, np.eye(2)[np.repeat([0, 1], 30)])
    grown = split_component(model, X, params, 0, np.random.default_rng(0))
    assert grown.weights.shape == (3,)
    assert 0.0 < grown.weights[0] < 0.5
    assert 0.0 < grown.weights[2] < 0.5


def test_growth_rejects_bad_arguments(three_clusters: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    params = emkit.fit(model, three_clusters, random_state=0).params
    rng = np.random.default_rng(0)
    with pytest.raises(
        ValueError, match=r"`component` must be in 0\.\.1 \(n_components=2\); got 2"
    ):
        split_component(model, three_clusters, params, 2, rng)
    with pytest.raises(ValueError, match=r"`component` must be >= 0; got -1"):
        copy_component(model, three_clusters, params, -1)
    with pytest.raises(TypeError, match=r"`model` must be a FiniteMixture .*; got str"):
        split_component("model", three_clusters, params, 0, rng)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"`params` must be MixtureParams; got tuple"):
        copy_component(model, three_clusters, (1, 2), 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [*KINDS, "exponential"])
@pytest.mark.parametrize("n_components", [1, 3])
def test_a_duplicate_has_exactly_the_density_it_grows(kind: str, n_components: int) -> None:
    model, params, X = _problem(kind, n_components, seed=2)
    larger = emkit.FiniteMixture(model.family, n_components + 1)
    for component in range(n_components):
        grown = larger.validate_params(duplicate_component(model, X, params, component), X.shape[1])
        half = params.weights[component] / 2
        np.testing.assert_allclose(grown.weights[[component, -1]], [half, half], rtol=1e-15)
        before, after = model.score_samples(X, params), larger.score_samples(X, grown)
        np.testing.assert_allclose(after, before, rtol=0, atol=DUPLICATE_ATOL)
