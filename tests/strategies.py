"""Hypothesis strategies: mixture problems of every family, with data sampled from the model.

Hypothesis chooses the shapes, the family and a seed; numpy draws the arrays from the seed. That
keeps shrinking meaningful (smaller K, D, n) while the data stay realistic draws of a mixture.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from hypothesis import strategies as st

import emkit
from emkit._backend import Array

#: Every family the core ships, by a short name (Gaussians by covariance type).
FAMILY_KINDS = ("full", "tied", "diag", "spherical", "bernoulli", "poisson")


def make_family(kind: str) -> Any:
    if kind == "bernoulli":
        return emkit.Bernoulli()
    if kind == "poisson":
        return emkit.Poisson()
    return emkit.Gaussian(kind)


def random_component_params(
    family: Any, n_components: int, n_features: int, rng: np.random.Generator
) -> Any:
    """Component parameters well inside the parameter space of ``family``."""
    k, d = n_components, n_features
    if isinstance(family, emkit.Bernoulli):
        return emkit.MeanParams(rng.uniform(0.05, 0.95, size=(k, d)))
    if isinstance(family, emkit.Poisson):
        return emkit.MeanParams(rng.uniform(0.5, 12.0, size=(k, d)))
    means = rng.normal(0.0, 4.0, size=(k, d))
    kind = family.covariance_type
    if kind in ("full", "tied"):
        m = 1 if kind == "tied" else k
        factors = rng.normal(0.0, 0.7, size=(m, d, d))
        covariances = factors @ np.swapaxes(factors, 1, 2) + 0.3 * np.eye(d)
    elif kind == "diag":
        covariances = rng.uniform(0.3, 2.0, size=(k, d))
    else:
        covariances = rng.uniform(0.3, 2.0, size=k)
    return emkit.GaussianParams(means, covariances)


def random_params(
    model: emkit.FiniteMixture[Any, Any], n_features: int, rng: np.random.Generator
) -> emkit.MixtureParams[Any]:
    weights = rng.dirichlet(np.full(model.n_components, 3.0))
    return emkit.MixtureParams(
        weights, random_component_params(model.family, model.n_components, n_features, rng)
    )


@attrs.frozen(eq=False)
class Problem:
    """A mixture model, true parameters, and data drawn from them."""

    model: emkit.FiniteMixture[Any, Any]
    params: emkit.MixtureParams[Any]
    X: Array
    labels: Array
    seed: int


@st.composite
def problems(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = FAMILY_KINDS,
    max_components: int = 3,
    max_features: int = 3,
    min_rows: int = 30,
    max_rows: int = 120,
) -> Problem:
    kind = draw(st.sampled_from(kinds))
    n_components = draw(st.integers(1, max_components))
    n_features = draw(st.integers(1, max_features))
    n = draw(st.integers(min_rows, max_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    model = emkit.FiniteMixture(make_family(kind), n_components)
    params = random_params(model, n_features, rng)
    X, labels = model.sample(params, n, rng)
    return Problem(model, params, X, labels, seed)


@attrs.frozen(eq=False)
class WeightedProblem:
    """A mixture problem whose rows carry integer weights (zeros and repeats among them).

    The same data three ways: the rows shuffled with their weights (``x_weighted``,
    ``weights_weighted``), every row repeated by its weight (``x_repeated``; rows of weight 0
    dropped), and the permutation between them (``order``: row ``i`` of ``x_weighted`` is row
    ``order[i]`` of ``problem.X``).
    """

    problem: Problem
    weights: Array
    order: Array

    @property
    def n_components(self) -> int:
        return int(self.problem.model.n_components)

    @property
    def x_weighted(self) -> Array:
        return self.problem.X[self.order]

    @property
    def weights_weighted(self) -> Array:
        return self.weights[self.order].astype(np.float64)

    @property
    def x_repeated(self) -> Array:
        return np.repeat(self.problem.X, self.weights, axis=0)

    def per_row(self, of_weighted: Array) -> Array:
        """Values per row of ``x_weighted`` rearranged as the rows of ``x_repeated``."""
        by_row = np.empty_like(of_weighted)
        by_row[self.order] = of_weighted
        return np.repeat(by_row, self.weights, axis=0)

    @property
    def distinct_positive_rows(self) -> int:
        return int(np.unique(self.problem.X[self.weights > 0], axis=0).shape[0])


@st.composite
def weighted_problems(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = FAMILY_KINDS,
    n_components: tuple[int, ...] = (2, 3),
    min_rows: int = 12,
    max_rows: int = 60,
    max_weight: int = 4,
) -> WeightedProblem:
    """Data of a mixture of ``n_components`` with weights 0..max_weight, at least one of them 0
    and one above 1, shuffled."""
    kind = draw(st.sampled_from(kinds))
    k = draw(st.sampled_from(n_components))
    n_features = draw(st.integers(1, 3))
    n = draw(st.integers(min_rows, max_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    model = emkit.FiniteMixture(make_family(kind), k)
    params = random_params(model, n_features, rng)
    X, labels = model.sample(params, n, rng)
    weights = rng.integers(0, max_weight + 1, size=n)
    weights[:2] = (0, max_weight)
    order = rng.permutation(n)
    return WeightedProblem(Problem(model, params, X, labels, seed), weights, order)


@st.composite
def point_clouds(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 30, max_features: int = 4
) -> Array:
    """Rows of a few Gaussian blobs in 1..max_features dimensions (continuous: no tied
    distances, so every agglomeration has one merge order)."""
    n = draw(st.integers(min_rows, max_rows))
    n_features = draw(st.integers(1, max_features))
    n_blobs = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centers = rng.normal(0.0, 5.0, size=(n_blobs, n_features))
    spread = rng.uniform(0.3, 2.0, size=n_blobs)
    blob = rng.integers(0, n_blobs, size=n)
    return np.asarray(centers[blob] + spread[blob, None] * rng.normal(size=(n, n_features)))
