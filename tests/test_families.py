"""Each family's log-density against scipy.stats, and the Gaussian against the generic formulas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats

import emkit
from emkit.families.canonical import CanonicalFamily, MeanParams
from tests.strategies import random_component_params

#: scipy and emkit evaluate the same closed forms in different orders: agreement to a few ulps of
#: the magnitude of the log-density.
LOGPDF_RTOL = 1e-10

#: The generic canonical path goes through an explicit inverse and log-determinant of the
#: covariance: agreement limited by its condition number, ~1e-12 for the matrices drawn here.
ORACLE_RTOL = 1e-9

N_FEATURES = 3
N_COMPONENTS = 4


def _covariance_matrix(params: emkit.GaussianParams, k: int, n_features: int) -> np.ndarray:
    cov = params.covariances
    if cov.ndim == 3:
        return cov[0 if cov.shape[0] == 1 else k]
    if cov.ndim == 2:
        return np.diag(cov[k])
    return cov[k] * np.eye(n_features)


@pytest.mark.parametrize("covariance_type", emkit.COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_gaussian_log_prob_matches_scipy(covariance_type: str, offset: float) -> None:
    rng = np.random.default_rng(1)
    family = emkit.Gaussian(covariance_type)
    params = random_component_params(family, N_COMPONENTS, N_FEATURES, rng)
    params = emkit.GaussianParams(params.means + offset, params.covariances)
    X = rng.normal(0.0, 3.0, size=(50, N_FEATURES)) + offset
    got = family.log_prob(X, params)
    expected = np.column_stack(
        [
            scipy.stats.multivariate_normal(
                params.means[k], _covariance_matrix(params, k, N_FEATURES)
            ).logpdf(X)
            for k in range(N_COMPONENTS)
        ]
    )
    np.testing.assert_allclose(got, expected, rtol=LOGPDF_RTOL, atol=LOGPDF_RTOL)


def test_bernoulli_log_prob_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    family = emkit.Bernoulli()
    params = random_component_params(family, N_COMPONENTS, 6, rng)
    X = (rng.random((40, 6)) < 0.4).astype(float)
    expected = np.column_stack(
        [scipy.stats.bernoulli(params.mean[k]).logpmf(X).sum(axis=1) for k in range(N_COMPONENTS)]
    )
    np.testing.assert_allclose(family.log_prob(X, params), expected, rtol=LOGPDF_RTOL)


def test_poisson_log_prob_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    family = emkit.Poisson()
    params = random_component_params(family, N_COMPONENTS, 5, rng)
    X = rng.poisson(4.0, size=(40, 5)).astype(float)
    expected = np.column_stack(
        [scipy.stats.poisson(params.mean[k]).logpmf(X).sum(axis=1) for k in range(N_COMPONENTS)]
    )
    np.testing.assert_allclose(family.log_prob(X, params), expected, rtol=LOGPDF_RTOL)


def test_poisson_all_zero_column_is_finite_and_exact() -> None:
    X = np.column_stack([np.zeros(30), np.random.default_rng(4).poisson(2.0, 30)])
    result = emkit.fit(emkit.FiniteMixture(emkit.Poisson(), 2), X, random_state=0)
    rates = result.params.components.mean
    assert np.all(rates[:, 0] == 0.0)
    assert np.isfinite(result.log_likelihood)
    expected = scipy.stats.poisson(rates[0]).logpmf(X).sum(axis=1)
    np.testing.assert_allclose(
        emkit.Poisson().log_prob(X, result.params.components)[:, 0], expected, rtol=LOGPDF_RTOL
    )


def test_bernoulli_constant_columns_stay_inside_unit_interval() -> None:
    X = np.column_stack([np.zeros(40), np.ones(40), np.arange(40) % 2])
    result = emkit.fit(emkit.FiniteMixture(emkit.Bernoulli(), 2), X, random_state=0)
    p = result.params.components.mean
    assert np.all((p > 0.0) & (p < 1.0))
    assert np.isfinite(emkit.Bernoulli().log_prob(1.0 - X, result.params.components)).all()


# -- the generic canonical formulas as an oracle for the Gaussian ------------------------------


class CanonicalGaussian(CanonicalFamily):
    """Full-covariance Gaussian written with the four textbook ingredients.

    T(x) = (x, vec(x x^T)), mean parameters (E[x], E[x x^T]), eta = (Lambda mu, -vec(Lambda) / 2),
    A(eta) = mu^T Lambda mu / 2 - log|Lambda| / 2, log h(x) = -D log(2 pi) / 2.
    """

    def __init__(self, n_features: int) -> None:
        self.d = n_features

    def _split(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self.d
        mu = mean[:, :d]
        second = mean[:, d:].reshape(-1, d, d)
        return mu, second - np.einsum("kd,ke->kde", mu, mu)

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.einsum("nd,ne->nde", X, X).reshape(X.shape[0], -1)])

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        mu, cov = self._split(mean)
        precision = np.linalg.inv(cov)
        return np.hstack(
            [np.einsum("kde,ke->kd", precision, mu), -0.5 * precision.reshape(len(mu), -1)]
        )

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        d = self.d
        precision = -2.0 * natural[:, d:].reshape(-1, d, d)
        mu = np.linalg.solve(precision, natural[:, :d, None])[..., 0]
        return (
            0.5 * np.einsum("kd,kd->k", mu, natural[:, :d]) - 0.5 * np.linalg.slogdet(precision)[1]
        )

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.full(X.shape[0], -0.5 * self.d * np.log(2.0 * np.pi))

    def check_support(self, X: np.ndarray) -> None:
        return None

    def check_mean(self, mean: np.ndarray) -> None:
        return None

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        raise NotImplementedError


def _as_mean_params(params: emkit.GaussianParams) -> MeanParams:
    second = params.covariances + np.einsum("kd,ke->kde", params.means, params.means)
    return MeanParams(np.hstack([params.means, second.reshape(len(params.means), -1)]))


def test_gaussian_log_prob_matches_generic_canonical_formulas() -> None:
    rng = np.random.default_rng(5)
    fast = emkit.Gaussian("full")
    params = random_component_params(fast, N_COMPONENTS, N_FEATURES, rng)
    X = rng.normal(0.0, 3.0, size=(60, N_FEATURES))
    oracle = CanonicalGaussian(N_FEATURES)
    np.testing.assert_allclose(
        fast.log_prob(X, params), oracle.log_prob(X, _as_mean_params(params)), rtol=ORACLE_RTOL
    )


def test_gaussian_m_step_is_generic_moment_matching() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(0.0, 2.0, size=(80, N_FEATURES)) + 5.0
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=80)
    fast = emkit.FiniteMixture(emkit.Gaussian("full", reg_covar=0.0), N_COMPONENTS)
    got = fast.params_from_responsibilities(X, resp).components
    oracle = CanonicalGaussian(N_FEATURES)
    counts = resp.sum(axis=0)
    moments = oracle.maximize(oracle.expected_stats(X, resp, np.zeros(0)), counts)
    mu, cov = oracle._split(moments.mean)
    np.testing.assert_allclose(got.means, mu, rtol=ORACLE_RTOL)
    np.testing.assert_allclose(got.covariances, cov, rtol=ORACLE_RTOL, atol=ORACLE_RTOL)


# -- parameter counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (emkit.Gaussian("full"), 3 * 2 + 3 * 3),
        (emkit.Gaussian("tied"), 3 * 2 + 3),
        (emkit.Gaussian("diag"), 3 * 2 + 3 * 2),
        (emkit.Gaussian("spherical"), 3 * 2 + 3),
        (emkit.Bernoulli(), 3 * 2),
        (emkit.Poisson(), 3 * 2),
    ],
)
def test_n_parameters(family: Any, expected: int) -> None:
    """3 components on 2 features; the mixture adds K - 1 free weights."""
    assert family.n_parameters(3, 2) == expected
    assert emkit.FiniteMixture(family, 3).n_parameters(2) == expected + 2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_parameters_matches_scikit_learn() -> None:
    from sklearn.mixture import GaussianMixture

    X = np.random.default_rng(7).normal(size=(50, 4))
    for kind in emkit.COVARIANCE_TYPES:
        sk = GaussianMixture(3, covariance_type=kind, max_iter=2).fit(X)
        assert emkit.FiniteMixture(emkit.Gaussian(kind), 3).n_parameters(4) == sk._n_parameters()


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical", "bernoulli", "poisson"])
def test_builtin_families_pass_the_public_contract_checks(kind: str) -> None:
    from emkit.testing import check_family
    from tests.strategies import make_family

    family = make_family(kind)
    rng = np.random.default_rng(8)
    model = emkit.FiniteMixture(family, 3)
    X, _ = model.sample(
        emkit.MixtureParams(np.full(3, 1 / 3), random_component_params(family, 3, 3, rng)), 150, rng
    )
    check_family(family, X, n_components=3)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_gaussian_m_step_covariances_are_exactly_symmetric(covariance_type: str) -> None:
    # Nearly independent features: off-diagonal covariances are rounding-sized, so a product
    # that rounds (i, j) and (j, i) differently gives entries of opposite sign.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 5)) * [1.0, 1e3, 1e-3, 10.0, 1.0]
    gaussian = emkit.Gaussian(covariance_type, reg_covar=0.0)
    model = emkit.FiniteMixture(gaussian, 3)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    params = model.params_from_responsibilities(X, resp)
    covariances = params.components.covariances
    assert np.array_equal(covariances, np.swapaxes(covariances, -1, -2))


def test_gaussian_symmetry_check_is_relative_to_the_variances() -> None:
    gaussian = emkit.Gaussian("full")
    means = np.zeros((1, 2))
    rounding = np.array([[[4.0, 1e-17], [-1e-17, 9.0]]])
    gaussian.validate_params(emkit.GaussianParams(means, rounding), 1, 2)
    skewed = np.array([[[4.0, 1e-6], [-1e-6, 9.0]]])
    with pytest.raises(ValueError, match=r"must be symmetric matrices; matrix 0 differs"):
        gaussian.validate_params(emkit.GaussianParams(means, skewed), 1, 2)
