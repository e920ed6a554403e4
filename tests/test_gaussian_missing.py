"""Exact missing values for the Gaussian family, every covariance type.

A NaN entry is missing at random. The family's ``log_prob`` must be the marginal density of each
row's observed entries, and the statistics of ``log_prob_with_stats`` the expected ones given
them (Ghahramani & Jordan 1994): the conditional mean of the missing coordinates in place of
``x`` and the conditional covariance added to the second moments. Everything here is checked
against plain per-row transcriptions of the textbook formulas (scipy's ``multivariate_normal``,
``Sigma_mo Sigma_oo^-1``), never against emkit's own arithmetic; data without NaN must take the
complete-data code untouched.

Full and tied covariance run on two engines (the private ``engine`` of
``emkit.families._gaussian_missing``): numpy, and compiled kernels when numba is installed. The
family-level tests run on both (the ``engine`` fixture: "auto" resolves to numba, or to numpy
with numba made to look uninstalled), and the engines are held to each other on random problems.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import emkit
from emkit.families import _gaussian_missing as gaussian_missing
from emkit.families._gaussian_kernels import kernel_for
from emkit.families._gaussian_missing import (
    engine_in_use,
    group_patterns,
    pattern_impute,
    pattern_log_prob_with_stats,
)
from emkit.families.gaussian import COVARIANCE_TYPES, Gaussian, GaussianParams, GaussianStats
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.stats import add
from tests.strategies import random_component_params

#: log_prob against scipy's logpdf of the observed coordinates (float64; values of order 10-100,
#: the expanded quadratic forms round at ~1e-13 of them).
LOGPDF_RTOL = 1e-10
LOGPDF_ATOL = 1e-10

#: Statistics and M-step against the per-row reference (same formulas, different arithmetic).
STATS_RTOL = 1e-9
STATS_ATOL = 1e-9

#: diag / spherical / tied against the full-covariance code on the same covariances.
EQUIVALENCE_RTOL = 1e-10
EQUIVALENCE_ATOL = 1e-10

#: The pattern path run on complete rows against the complete-data kernel.
PATH_AGREEMENT_RTOL = 1e-12
PATH_AGREEMENT_ATOL = 1e-11

#: Most an EM iteration may lower the observed-data log-likelihood: rounding of its sum.
MONOTONE_RTOL = 1e-10

#: float32 log-densities against float64 ones (single precision, values of order 10).
FLOAT32_RTOL = 1e-4
FLOAT32_ATOL = 1e-3

#: End to end: a fit on data with 10% of cells missing against the fit on the complete data
#: (in units of the complete fit's spread; parameters estimated from 3,000 rows).
RECOVERY_MEAN_ATOL = 0.15
RECOVERY_COV_RTOL = 0.15

#: The compiled engine against the numpy engine on the same float64 problem, relative to the
#: largest magnitude of each compared array (both evaluate the same formulas; only the order of
#: their sums differs).
ENGINE_RTOL = 1e-12

#: The same on float32 data: each engine rounds its own intermediate products (numpy's in
#: float32, the compiled kernels' in float64), so they agree to float32 precision only.
ENGINE_FLOAT32_RTOL = 1e-4

N_COMPONENTS = 3
N_FEATURES = 5

ENGINE_NAMES = ["numpy", "numba"]


def need(engine: str) -> str:
    """Skip a numba case where numba is not installed (under CI it always is: extra ``all``)."""
    if engine == "numba":
        pytest.importorskip("numba")
    return engine


@pytest.fixture(params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine the family's calls (engine "auto") resolve to in the test: numba where it is
    installed, or numpy with the compiled kernels made to look uninstalled (the fallback)."""
    name = need(request.param)
    if name == "numpy":
        monkeypatch.setattr(gaussian_missing, "_compiled", ImportError("hidden by the test"))
    assert engine_in_use("auto", N_FEATURES) == name
    return name


# -- data and references ------------------------------------------------------------------------
def gaussian_params(kind: str, rng: np.random.Generator, k: int, d: int) -> GaussianParams:
    params = random_component_params(Gaussian(kind), k, d, rng)
    assert isinstance(params, GaussianParams)
    return params


def with_missing(
    X: np.ndarray,
    rng: np.random.Generator,
    rate: float,
    n_single: int = 4,
    n_empty: int = 0,
) -> np.ndarray:
    """``X`` with cells missing at random, some rows with a single observed value and some with
    none (the first ``n_empty`` rows)."""
    n, d = X.shape
    missing = rng.random((n, d)) < rate
    # Exactly the first n_empty rows have nothing observed.
    single = rng.choice(np.arange(n_empty, n), size=n_single, replace=False)
    missing[single] = True
    missing[single, rng.integers(0, d, size=n_single)] = False
    empty = np.flatnonzero(missing.all(axis=1))
    missing[empty, rng.integers(0, d, size=empty.size)] = False
    missing[:n_empty] = True
    out = X.copy()
    out[missing] = np.nan
    return out


def data(kind: str, seed: int, n: int = 240, rate: float = 0.3, n_empty: int = 3) -> Any:
    rng = np.random.default_rng(seed)
    params = gaussian_params(kind, rng, N_COMPONENTS, N_FEATURES)
    X = rng.normal(size=(n, N_FEATURES)) * 3.0 + rng.normal(size=N_FEATURES)
    X = with_missing(X, rng, rate, n_empty=n_empty)
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=n) * rng.uniform(0.5, 2.0, size=(n, 1))
    return X, resp, params


def conditional(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[Any, Any]:
    """``x_hat = E[x | x_o]`` and ``C`` (in the missing block of a D x D zero matrix)."""
    o = ~np.isnan(x)
    m = ~o
    d = x.shape[0]
    C = np.zeros((d, d))
    if not m.any():
        return x.copy(), C
    if not o.any():
        return mean.copy(), cov.copy()
    gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)]).T  # Sigma_mo Sigma_oo^-1
    x_hat = x.copy()
    x_hat[m] = mean[m] + gain @ (x[o] - mean[o])
    C[np.ix_(m, m)] = cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)]
    return x_hat, C


def reduce_scatter(kind: str, scatter: np.ndarray) -> np.ndarray:
    """(K, D, D) second moments as the statistic of ``kind`` stores them."""
    if kind == "tied":
        return scatter.sum(axis=0, keepdims=True)
    if kind == "diag":
        return np.diagonal(scatter, axis1=1, axis2=2)
    if kind == "spherical":
        return np.trace(scatter, axis1=1, axis2=2)
    return scatter


def reference_moments(
    X: np.ndarray, resp: np.ndarray, means: np.ndarray, covs: np.ndarray, center: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``sum_n r_nk (x_hat - c_k)`` and ``sum_n r_nk [(x_hat - c_k)(x_hat - c_k)^T + C]``, one
    row at a time."""
    n, d = X.shape
    k_count = means.shape[0]
    center = np.broadcast_to(center, (k_count, d))
    sum_x = np.zeros((k_count, d))
    scatter = np.zeros((k_count, d, d))
    for i in range(n):
        for k in range(k_count):
            x_hat, C = conditional(X[i], means[k], covs[k])
            u = x_hat - center[k]
            sum_x[k] += resp[i, k] * u
            scatter[k] += resp[i, k] * (np.outer(u, u) + C)
    return sum_x, scatter


def reference_m_step(
    kind: str,
    X: np.ndarray,
    resp: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    reg_covar: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The complete-data M-step applied to the expected statistics, written out."""
    counts = resp.sum(axis=0)
    sum_x, _ = reference_moments(X, resp, means, covs, np.zeros(X.shape[1]))
    new_means = sum_x / counts[:, None]
    _, scatter = reference_moments(X, resp, means, covs, new_means)
    d = X.shape[1]
    if kind == "full":
        return new_means, scatter / counts[:, None, None] + reg_covar * np.eye(d)
    if kind == "tied":
        return new_means, scatter.sum(axis=0)[None] / counts.sum() + reg_covar * np.eye(d)
    variances = np.diagonal(scatter, axis1=1, axis2=2) / counts[:, None]
    if kind == "diag":
        return new_means, variances + reg_covar
    return new_means, variances.mean(axis=1) + reg_covar


# -- the family ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_log_prob_is_the_marginal_density_of_the_observed_entries(kind: str, engine: str) -> None:
    X, _, params = data(kind, seed=1)
    family = Gaussian(kind)
    covs = family.covariances(params)
    log_prob = family.log_prob(X, params)
    expected = np.zeros_like(log_prob)
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        for k in range(N_COMPONENTS):
            if o.any():
                dist = scipy.stats.multivariate_normal(params.means[k][o], covs[k][np.ix_(o, o)])
                expected[i, k] = dist.logpdf(x[o])
    assert np.isnan(X).all(axis=1).sum() == 3
    assert (np.isnan(X).sum(axis=1) == N_FEATURES - 1).sum() >= 4
    assert len(group_patterns(np.isnan(X)).groups) >= 3
    np.testing.assert_allclose(log_prob, expected, rtol=LOGPDF_RTOL, atol=LOGPDF_ATOL)
    # A row with nothing observed has no density: exactly 0, not a rounding of it.
    assert np.array_equal(log_prob[np.isnan(X).all(axis=1)], np.zeros((3, N_COMPONENTS)))
    fused, offset, _ = family.log_prob_with_stats(X, params)
    assert offset is None
    assert np.array_equal(fused, log_prob)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_statistics_are_the_conditional_moments(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=2)
    family = Gaussian(kind)
    _, _, stats_of = family.log_prob_with_stats(X, params)
    stats = stats_of(resp)
    assert isinstance(stats, GaussianStats)
    sum_x, scatter = reference_moments(
        X, resp, params.means, family.covariances(params), stats.center
    )
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(
        stats.sum_xx, reduce_scatter(kind, scatter), rtol=STATS_RTOL, atol=STATS_ATOL
    )


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
@pytest.mark.parametrize("reg_covar", [0.0, 1e-3])
def test_m_step_on_the_statistics_is_the_reference_m_step(
    kind: str, reg_covar: float, engine: str
) -> None:
    X, resp, params = data(kind, seed=3, n_empty=0)
    family = Gaussian(kind, reg_covar=reg_covar)
    _, _, stats_of = family.log_prob_with_stats(X, params)
    new = family.maximize(stats_of(resp), resp.sum(axis=0))
    means, covariances = reference_m_step(
        kind, X, resp, params.means, family.covariances(params), reg_covar
    )
    np.testing.assert_allclose(new.means, means, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(new.covariances, covariances, rtol=STATS_RTOL, atol=STATS_ATOL)


@pytest.mark.parametrize("kind", ["tied", "diag", "spherical"])
def test_special_covariances_give_what_the_general_formula_gives(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=4)
    family = Gaussian(kind)
    full_params = GaussianParams(params.means, family.covariances(params))
    log_prob, _, stats_of = family.log_prob_with_stats(X, params)
    full_log_prob, _, full_stats_of = Gaussian("full").log_prob_with_stats(X, full_params)
    np.testing.assert_allclose(
        log_prob, full_log_prob, rtol=EQUIVALENCE_RTOL, atol=EQUIVALENCE_ATOL
    )
    stats = stats_of(resp)
    general = full_stats_of(resp).recenter(stats, resp.sum(axis=0))
    np.testing.assert_allclose(
        stats.sum_x, general.sum_x, rtol=EQUIVALENCE_RTOL, atol=EQUIVALENCE_ATOL
    )
    np.testing.assert_allclose(
        stats.sum_xx,
        reduce_scatter(kind, general.sum_xx),
        rtol=EQUIVALENCE_RTOL,
        atol=EQUIVALENCE_ATOL,
    )


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_remote_components_are_evaluated_around_their_own_means(kind: str, engine: str) -> None:
    # Components 1e4 standard deviations apart: the complete-data kernel leaves the expanded
    # quadratic form for distances around each component's mean; so must the missing path.
    X, resp, params = data(kind, seed=5)
    means = params.means.copy()
    means[0] += 1e4
    params = GaussianParams(means, params.covariances)
    X[:40] += 1e4
    family = Gaussian(kind)
    assert not kernel_for(kind, means, params.precisions_cholesky, X.dtype, params).quadratic
    log_prob, _, stats_of = family.log_prob_with_stats(X, params)
    covs = family.covariances(params)
    for i in (0, 5, 40, 41, 200):
        o = ~np.isnan(X[i])
        for k in range(N_COMPONENTS):
            expected = 0.0
            if o.any():
                dist = scipy.stats.multivariate_normal(means[k][o], covs[k][np.ix_(o, o)])
                expected = dist.logpdf(X[i, o])
            assert log_prob[i, k] == pytest.approx(expected, rel=STATS_RTOL, abs=STATS_ATOL)
    stats = stats_of(resp)
    sum_x, scatter = reference_moments(X, resp, means, covs, stats.center)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(
        stats.sum_xx, reduce_scatter(kind, scatter), rtol=STATS_RTOL, atol=STATS_ATOL
    )


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_complete_data_takes_the_untouched_path(kind: str, engine: str) -> None:
    rng = np.random.default_rng(6)
    params = gaussian_params(kind, rng, N_COMPONENTS, N_FEATURES)
    X = rng.normal(size=(300, N_FEATURES)) * 3.0
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=300)
    family = Gaussian(kind)
    log_prob, _, stats_of = family.log_prob_with_stats(X.copy(), params)
    stats = stats_of(resp)
    # What the complete-data kernel gives, called directly.
    kernel = kernel_for(kind, params.means, params.precisions_cholesky, X.dtype, params)
    F = kernel.features(X)
    center, sum_x, sum_xx = kernel.stats(X, F, resp)
    assert np.array_equal(log_prob, kernel.log_prob(X, F))
    assert np.array_equal(family.log_prob(X, params), log_prob)
    assert np.array_equal(stats.center, center)
    assert np.array_equal(stats.sum_x, sum_x)
    assert np.array_equal(stats.sum_xx, sum_xx)
    if kind in ("full", "tied"):
        # The pattern routes, made to run on the same complete rows, agree with it.
        for route in routes(kernel):
            pattern_log_prob, pattern_stats_of = pattern_log_prob_with_stats(
                X,
                np.zeros(X.shape, dtype=bool),
                params.means,
                params.precisions_cholesky,
                route,
                budget=2 * N_FEATURES,
                engine=engine,
            )
            np.testing.assert_allclose(
                pattern_log_prob, log_prob, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL
            )
            got = GaussianStats(*pattern_stats_of(resp)).recenter(stats, resp.sum(axis=0))
            for a, b in ((got.sum_x, sum_x), (got.sum_xx, sum_xx)):
                np.testing.assert_allclose(
                    a, b, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL * np.abs(b).max()
                )


def routes(kernel: Any) -> list[Any]:
    """The kernel as it is (the expanded route: shared features) and as if it worked around
    each component's mean (the direct route, taken for remote components)."""
    assert kernel.quadratic
    return [kernel, attrs.evolve(kernel, quadratic=False)]


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_routes_and_memory_budgets_agree(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=7)
    kernel = kernel_for(kind, params.means, params.precisions_cholesky, X.dtype, params)
    results = [
        pattern_log_prob_with_stats(
            X,
            np.isnan(X),
            params.means,
            params.precisions_cholesky,
            route,
            budget=budget,
            engine=engine,
        )
        for route in routes(kernel)
        # Room for every component side by side and their corrections; for one at a time,
        # in slices of rows, with nothing kept.
        for budget in (2 * N_COMPONENTS * N_FEATURES, 1)
    ]
    first_log_prob, first_stats_of = results[0]
    first = GaussianStats(*first_stats_of(resp))
    for log_prob, stats_of in results[1:]:
        np.testing.assert_allclose(
            log_prob, first_log_prob, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL
        )
        stats = GaussianStats(*stats_of(resp)).recenter(first, resp.sum(axis=0))
        for a, b in ((stats.sum_x, first.sum_x), (stats.sum_xx, first.sum_xx)):
            np.testing.assert_allclose(
                a, b, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL * np.abs(b).max()
            )


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_chunks_with_and_without_missing_values_add_up(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=8, n_empty=0)
    complete_rows = ~np.isnan(X).any(axis=1)
    X = np.concatenate([X[~complete_rows], np.nan_to_num(X[complete_rows])])
    family = Gaussian(kind)
    n_with = int((~complete_rows).sum())
    parts = [slice(0, n_with), slice(n_with, None)]
    assert not np.isnan(X[parts[1]]).any()
    whole = family.log_prob_with_stats(X, params)[2](resp)
    split = [family.log_prob_with_stats(X[p], params)[2](resp[p]) for p in parts]
    summed = add(split[0], split[1])
    np.testing.assert_allclose(summed.sum_x, whole.sum_x, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(summed.sum_xx, whole.sum_xx, rtol=STATS_RTOL, atol=STATS_ATOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_float32_stays_float32(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=9)
    family = Gaussian(kind)
    X32 = X.astype(np.float32)
    log_prob, _, stats_of = family.log_prob_with_stats(X32, params)
    assert log_prob.dtype == np.float32
    assert family.log_prob(X32, params).dtype == np.float32
    assert family.impute(X32, resp, params).dtype == np.float32
    np.testing.assert_allclose(
        log_prob, family.log_prob(X, params), rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL
    )
    stats, stats64 = stats_of(resp), family.log_prob_with_stats(X, params)[2](resp)
    assert stats.sum_xx.dtype == np.float64
    scale = np.abs(stats64.sum_xx).max()
    np.testing.assert_allclose(stats.sum_xx, stats64.sum_xx, atol=FLOAT32_RTOL * scale)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_impute_fills_in_the_posterior_mean_of_the_missing_entries(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=10)
    resp = resp / resp.sum(axis=1, keepdims=True)
    family = Gaussian(kind)
    covs = family.covariances(params)
    imputed = family.impute(X, resp, params)
    expected = np.array(
        [
            sum(resp[i, k] * conditional(x, params.means[k], covs[k])[0] for k in range(3))
            for i, x in enumerate(X)
        ]
    )
    missing = np.isnan(X)
    assert not np.isnan(imputed).any()
    assert np.array_equal(imputed[~missing], X[~missing])
    np.testing.assert_allclose(imputed, expected, rtol=STATS_RTOL, atol=STATS_ATOL)
    complete = np.nan_to_num(X)
    filled = family.impute(complete, resp, params)
    assert filled is not complete
    assert np.array_equal(filled, complete)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_validate_data_takes_nan_and_refuses_infinity(kind: str) -> None:
    family = Gaussian(kind)
    assert family.handles_missing
    assert isinstance(family, emkit.protocols.MissingValues)
    assert isinstance(family, emkit.protocols.FamilyImputing)
    X = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, np.nan], [0.0, 1.0, 3.0]])
    assert family.validate_data(X) is X
    X[2, 1] = np.inf
    with pytest.raises(
        ValueError, match=r"`X` must contain only finite values.*inf.*row 2, column 1"
    ):
        family.validate_data(X)
    with pytest.raises(ValueError, match="cannot fill in missing values"):
        family.expected_stats(X[:2], np.ones((2, 2)) / 2, np.zeros((2, 3)))


# -- EM through the mixture -----------------------------------------------------------------------
def mixture_data(kind: str, seed: int, rate: float, n: int = 300) -> Any:
    """A mixture, data drawn from it with cells missing at random, and a start near (not at)
    its parameters (a start far away may collapse a component onto a few rows, which without
    ``reg_covar`` has no maximum)."""
    rng = np.random.default_rng(seed)
    model = FiniteMixture(Gaussian(kind, reg_covar=0.0), N_COMPONENTS)
    truth = gaussian_params(kind, rng, N_COMPONENTS, N_FEATURES)
    X, _ = model.sample(MixtureParams(np.full(N_COMPONENTS, 1.0 / N_COMPONENTS), truth), n, rng)
    X = with_missing(X, rng, rate)
    start = MixtureParams(
        rng.dirichlet(np.full(N_COMPONENTS, 10.0)),
        GaussianParams(
            truth.means + rng.normal(0.0, 0.5, truth.means.shape), 1.5 * truth.covariances
        ),
    )
    return model, X, start


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from(COVARIANCE_TYPES),
    seed=st.integers(0, 2**32 - 1),
    rate=st.floats(0.05, 0.5),
)
def test_em_never_lowers_the_observed_data_likelihood(
    engine_name: str, kind: str, seed: int, rate: float
) -> None:
    model, X, params = mixture_data(kind, seed, rate)
    assert len(group_patterns(np.isnan(X)).groups) >= 2
    with pytest.MonkeyPatch.context() as patch:
        if need(engine_name) == "numpy":
            patch.setattr(gaussian_missing, "_compiled", ImportError("hidden by the test"))
        assert engine_in_use("auto", N_FEATURES) == engine_name
        previous = -np.inf
        for _ in range(8):
            stats, log_likelihood = model.e_step(X, params)
            assert log_likelihood >= previous - MONOTONE_RTOL * abs(log_likelihood)
            previous = log_likelihood
            params = model.m_step(stats)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_em_with_a_prior_never_lowers_the_posterior(kind: str, engine: str) -> None:
    model, X, params = mixture_data(kind, seed=11, rate=0.3)
    family = Gaussian(kind, reg_covar=0.0, mean_weight=2.0, covariance_prior=0.5)
    model = FiniteMixture(family, N_COMPONENTS)
    previous = -np.inf
    for _ in range(8):
        stats, log_likelihood = model.e_step(X, params)
        objective = log_likelihood + model.log_prior(params)
        assert objective >= previous - MONOTONE_RTOL * abs(objective)
        previous = objective
        params = model.m_step(stats)


def test_mixture_e_step_of_observed_rows_matches_scipy(engine: str) -> None:
    model, X, params = mixture_data("full", seed=12, rate=0.3)
    _, log_likelihood = model.e_step(X, params)
    covs = model.family.covariances(params.components)
    expected = 0.0
    for x in X:
        o = ~np.isnan(x)
        densities = [
            params.weights[k]
            * scipy.stats.multivariate_normal(
                params.components.means[k][o], covs[k][np.ix_(o, o)]
            ).pdf(x[o])
            for k in range(N_COMPONENTS)
        ]
        expected += np.log(sum(densities))
    assert log_likelihood == pytest.approx(expected, rel=LOGPDF_RTOL)


def test_fit_with_missing_values_recovers_the_complete_data_fit(engine: str) -> None:
    # A well separated 3-component mixture, 10% of cells missing completely at random.
    rng = np.random.default_rng(13)
    means = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, 0.0, 3.0, -2.0], [0.0, 7.0, -3.0, 2.0]])
    a = rng.normal(size=(3, 4, 4)) * 0.5
    covs = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(4)
    truth = MixtureParams(np.array([0.3, 0.3, 0.4]), GaussianParams(means, covs))
    complete_model = FiniteMixture(Gaussian("full"), 3)
    X, _ = complete_model.sample(truth, 3000, rng)
    X_missing = with_missing(X, rng, 0.1, n_single=0)
    complete = emkit.fit(complete_model, X, random_state=0)
    try:
        model = FiniteMixture(Gaussian("full"), 3, missing="marginalise")
    except TypeError as exc:  # a mixture that takes missing values is still to come
        pytest.skip(f"FiniteMixture does not take missing values yet: {exc}")
    result = emkit.fit(model, X_missing, random_state=0)
    order = np.argsort(result.params.components.means[:, 0] + result.params.components.means[:, 1])
    reference = np.argsort(
        complete.params.components.means[:, 0] + complete.params.components.means[:, 1]
    )
    got, want = result.params.components, complete.params.components
    np.testing.assert_allclose(got.means[order], want.means[reference], atol=RECOVERY_MEAN_ATOL)
    np.testing.assert_allclose(
        got.covariances[order],
        want.covariances[reference],
        rtol=RECOVERY_COV_RTOL,
        atol=RECOVERY_COV_RTOL * np.abs(want.covariances).max(),
    )


# -- the machinery: patterns, cache, layouts ----------------------------------------------------
@pytest.mark.parametrize("n_features", [5, 50, 60, 70])
def test_rows_are_grouped_by_pattern(n_features: int) -> None:
    # Keys as floats up to 46 features, as one or two integer sorts up to 64, packed bytes beyond.
    rng = np.random.default_rng(14)
    missing = rng.random((300, n_features)) < 0.05
    missing[:20] = missing[20:40]  # repeated patterns
    missing[40] = True
    patterns = group_patterns(missing)
    assert np.array_equal(np.sort(patterns.order), np.arange(300))
    sorted_missing = missing[patterns.order]
    assert np.array_equal(np.sort(patterns.cells), np.flatnonzero(sorted_missing))
    assert np.array_equal(patterns.cell_rows, patterns.cells // n_features)
    assert np.array_equal(patterns.cell_columns, patterns.cells % n_features)
    assert not sorted_missing[: patterns.first].any()
    for group in patterns.groups:
        # A group's entries: the first missing entry of each of its rows, then the second...
        cell_rows = patterns.cell_rows[group.cells].reshape(group.n_missing, group.n_rows)
        assert (cell_rows == np.arange(group.rows.start, group.rows.stop)).all()
        rows = sorted_missing[group.rows]
        assert (rows.sum(axis=1) == group.n_missing).all()
        expected = np.zeros_like(rows)
        np.put_along_axis(expected, group.columns[group.row_pattern], True, axis=1)
        assert np.array_equal(rows, expected)
        starts = np.flatnonzero(np.diff(group.row_pattern, prepend=-1))
        assert np.array_equal(starts, group.pattern_starts)
    keys = [tuple(map(tuple, sorted_missing[g.rows][g.pattern_starts])) for g in patterns.groups]
    assert sum(len(set(k)) for k in keys) == sum(len(k) for k in keys)  # patterns distinct


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_factor_cache_gives_what_fresh_factors_give(
    kind: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of one pass share the parameters' cache: a second chunk finds some patterns in it
    # and adds others; the answers are those of chunks factorised afresh, with or without room.
    X, resp, params = data(kind, seed=15, n=400)
    family = Gaussian(kind)
    parts = [slice(0, 150), slice(150, 400)]

    def run(p: GaussianParams) -> list[tuple[np.ndarray, GaussianStats]]:
        out = []
        for part in parts:
            log_prob, _, stats_of = family.log_prob_with_stats(X[part], p)
            out.append((log_prob, stats_of(resp[part])))
        return out

    cached = run(params)
    monkeypatch.setattr(emkit.families._gaussian_missing, "FACTOR_CACHE_NUMBERS", 0)
    fresh = run(GaussianParams(params.means, params.covariances))
    for (a_log, a_stats), (b_log, b_stats) in zip(cached, fresh, strict=True):
        np.testing.assert_allclose(a_log, b_log, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL)
        np.testing.assert_allclose(a_stats.sum_xx, b_stats.sum_xx, rtol=PATH_AGREEMENT_RTOL)


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_threads_share_the_factor_cache(kind: str, engine: str) -> None:
    # Chunks evaluated in threads at once (as a threaded source runs them) read and fill one
    # parameter value's cache; each gets what it gets alone, without a cache.
    X, resp, params = data(kind, seed=22, n=800)
    family = Gaussian(kind)
    parts = [slice(start, start + 50) for start in range(0, 800, 50)]

    def chunk(part: slice, p: GaussianParams) -> tuple[np.ndarray, GaussianStats]:
        log_prob, _, stats_of = family.log_prob_with_stats(X[part], p)
        return log_prob, stats_of(resp[part])

    alone = [chunk(part, GaussianParams(params.means, params.covariances)) for part in parts]
    for _ in range(3):
        shared = GaussianParams(params.means, params.covariances)
        with ThreadPoolExecutor(max_workers=4) as pool:
            together = list(pool.map(chunk, parts, [shared] * len(parts)))
        for (a_log, a_stats), (b_log, b_stats) in zip(together, alone, strict=True):
            np.testing.assert_allclose(
                a_log, b_log, rtol=PATH_AGREEMENT_RTOL, atol=PATH_AGREEMENT_ATOL
            )
            np.testing.assert_allclose(a_stats.sum_xx, b_stats.sum_xx, rtol=PATH_AGREEMENT_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_memory_layout_and_chunks_without_complete_rows(kind: str, engine: str) -> None:
    X, resp, params = data(kind, seed=16, n_empty=0)
    X = X[np.isnan(X).any(axis=1)]  # every row misses something
    resp = resp[: X.shape[0]]
    family = Gaussian(kind)
    log_prob, _, stats_of = family.log_prob_with_stats(X, params)
    stats = stats_of(resp)
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    for other in (np.asfortranarray(X), wide[:, ::2]):
        other_log_prob, _, other_stats_of = family.log_prob_with_stats(other, params)
        np.testing.assert_allclose(other_log_prob, log_prob, rtol=PATH_AGREEMENT_RTOL)
        other_stats = other_stats_of(resp)
        np.testing.assert_allclose(other_stats.sum_xx, stats.sum_xx, rtol=PATH_AGREEMENT_RTOL)
        np.testing.assert_allclose(
            family.impute(other, resp, params), family.impute(X, resp, params)
        )
    covs = family.covariances(params)
    sum_x, scatter = reference_moments(X, resp, params.means, covs, stats.center)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(
        stats.sum_xx, reduce_scatter(kind, scatter), rtol=STATS_RTOL, atol=STATS_ATOL
    )


def test_wide_data_takes_the_direct_route() -> None:
    # More than 64 features: full covariance leaves the quadratic features (and patterns are
    # told apart by packed bytes, without the factor cache).
    rng = np.random.default_rng(17)
    d = 70
    a = rng.normal(size=(2, d, d)) / np.sqrt(d)
    params = GaussianParams(rng.normal(size=(2, d)), a @ np.swapaxes(a, 1, 2) + np.eye(d))
    X = with_missing(rng.normal(size=(60, d)), rng, 0.2, n_empty=2)
    resp = rng.dirichlet(np.ones(2), size=60)
    family = Gaussian("full")
    assert not kernel_for(
        "full", params.means, params.precisions_cholesky, X.dtype, params
    ).quadratic
    # Beyond 64 features a pattern is no longer one 64-bit mask: numpy runs whatever is asked.
    assert engine_in_use("numba", d) == "numpy"
    log_prob, _, stats_of = family.log_prob_with_stats(X, params)
    for i in (0, 3, 30):
        o = ~np.isnan(X[i])
        for k in range(2):
            expected = 0.0
            if o.any():
                cov = params.covariances[k][np.ix_(o, o)]
                expected = scipy.stats.multivariate_normal(params.means[k][o], cov).logpdf(X[i, o])
            assert log_prob[i, k] == pytest.approx(expected, rel=LOGPDF_RTOL, abs=LOGPDF_ATOL)
    stats = stats_of(resp)
    sum_x, scatter = reference_moments(X, resp, params.means, params.covariances, stats.center)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=STATS_RTOL, atol=STATS_ATOL)
    np.testing.assert_allclose(stats.sum_xx, scatter, rtol=STATS_RTOL, atol=STATS_ATOL)


@pytest.mark.parametrize("kind", ["full", "tied", "diag"])
def test_collapse_is_still_diagnosed(kind: str, engine: str) -> None:
    # A constant column with missing entries: its fitted variance settles at reg_covar / (1 - f)
    # (f its missing fraction: the conditional covariance carries reg_covar into the next
    # M-step), and the family still says the component has no spread there.
    model, X, params = mixture_data(kind, seed=18, rate=0.2)
    X[:, 1] = np.where(np.isnan(X[:, 1]), np.nan, 2.5)
    family = Gaussian(kind, reg_covar=1e-6)
    model = FiniteMixture(family, N_COMPONENTS)
    for _ in range(30):
        stats, _ = model.e_step(X, params)
        params = model.m_step(stats)
    variances = np.diagonal(family.covariances(params.components), axis1=1, axis2=2)[:, 1]
    assert (variances > family.reg_covar * (1 + 1e-3)).all()  # above what complete data gives
    messages = family.diagnose(params.components)
    assert len(messages) == 1
    assert "along feature(s) [1]" in messages[0]


# -- the compiled engine against the numpy engine -------------------------------------------------
def engine_problem(
    kind: str, seed: int, k: int, d: int, n: int, rate: float, dtype: type
) -> tuple[np.ndarray, np.ndarray, GaussianParams]:
    """Rows with cells missing at random, among them one complete row, one with a single
    observed value and one with none (so at least two missingness patterns besides complete
    rows), responsibilities not summing to 1 (row weights)."""
    rng = np.random.default_rng(seed)
    params = gaussian_params(kind, rng, k, d)
    X = rng.normal(size=(n, d)) * 3.0 + rng.normal(size=d)
    X = with_missing(X, rng, rate, n_single=1, n_empty=1)
    X[1] = np.nan  # row 0 has nothing observed, row 1 only its last value
    X[1, -1] = rng.normal()
    X[-1] = rng.normal(size=d)
    resp = rng.dirichlet(np.ones(k), size=n) * rng.uniform(0.5, 2.0, size=(n, 1))
    return X.astype(dtype), resp, params


def assert_engines_agree(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    assert got.shape == want.shape
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["full", "tied"]),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 4),
    d=st.integers(2, 7),
    n=st.integers(4, 60),
    rate=st.floats(0.05, 0.7),
    dtype=st.sampled_from([np.float64, np.float32]),
    direct=st.booleans(),
)
def test_compiled_and_numpy_engines_agree(
    kind: str, seed: int, k: int, d: int, n: int, rate: float, dtype: type, direct: bool
) -> None:
    need("numba")
    X, resp, params = engine_problem(kind, seed, k, d, n, rate, dtype)
    missing = np.isnan(X)
    patterns = group_patterns(missing)
    assert len(np.unique(patterns.row_pattern[patterns.first :])) >= 2
    assert missing.all(axis=1).any()
    assert (~missing).all(axis=1).any()
    kernel = kernel_for(kind, params.means, params.precisions_cholesky, X.dtype, params)
    route = attrs.evolve(kernel, quadratic=False) if direct else kernel
    if not kernel.quadratic:
        route = kernel  # a remote draw: the direct route either way
    rtol = ENGINE_RTOL if dtype == np.float64 else ENGINE_FLOAT32_RTOL
    budget = 2 * k * d

    def run(engine: str, owner: Any) -> tuple[np.ndarray, tuple[Any, ...], np.ndarray]:
        log_prob, stats_of = pattern_log_prob_with_stats(
            X,
            missing,
            params.means,
            params.precisions_cholesky,
            route,
            budget=budget,
            owner=owner,
            engine=engine,
        )
        imputed = pattern_impute(
            X,
            missing,
            resp,
            params.means,
            params.precisions_cholesky,
            budget=budget,
            owner=owner,
            engine=engine,
        )
        return log_prob, stats_of(resp), imputed

    log_prob, (center, sum_x, sum_xx), imputed = run("numpy", None)
    # Without a cache, then filling a fresh parameter value's cache, then reading it.
    owner = GaussianParams(params.means, params.covariances)
    for compiled_owner in (None, owner, owner):
        got_log_prob, (got_center, got_sum_x, got_sum_xx), got_imputed = run(
            "numba", compiled_owner
        )
        assert got_log_prob.dtype == log_prob.dtype == X.dtype
        assert got_imputed.dtype == X.dtype
        assert_engines_agree(got_log_prob, log_prob, rtol)
        # A row with nothing observed has log-density 0 exactly in both.
        assert np.array_equal(got_log_prob[missing.all(axis=1)], log_prob[missing.all(axis=1)])
        assert np.array_equal(got_center, center)
        assert_engines_agree(got_sum_x, sum_x, rtol)
        assert_engines_agree(got_sum_xx, sum_xx, rtol)
        assert_engines_agree(got_imputed, imputed, rtol)
        assert np.array_equal(got_imputed[~missing], X[~missing])


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_engines_agree_on_the_benchmark_shape(kind: str) -> None:
    # Many patterns of every size (16 features, 10% missing, 8 components), in float64.
    need("numba")
    rng = np.random.default_rng(19)
    k, d, n = 8, 16, 4000
    params = gaussian_params(kind, rng, k, d)
    X = with_missing(rng.normal(size=(n, d)) * 3.0, rng, 0.1, n_single=5, n_empty=2)
    resp = rng.dirichlet(np.ones(k), size=n)
    missing = np.isnan(X)
    assert len(np.unique(group_patterns(missing).row_pattern)) > 500
    kernel = kernel_for(kind, params.means, params.precisions_cholesky, X.dtype, params)
    results = {}
    for engine in ENGINE_NAMES:
        log_prob, stats_of = pattern_log_prob_with_stats(
            X,
            missing,
            params.means,
            params.precisions_cholesky,
            kernel,
            budget=2 * k * d,
            owner=params,
            engine=engine,
        )
        imputed = pattern_impute(
            X, missing, resp, params.means, params.precisions_cholesky, budget=1, engine=engine
        )
        results[engine] = (log_prob, *stats_of(resp)[1:], imputed)
    for got, want in zip(results["numba"], results["numpy"], strict=True):
        assert_engines_agree(got, want, ENGINE_RTOL)


def test_engine_argument_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    X, _, params = data("full", seed=20)
    kernel = kernel_for("full", params.means, params.precisions_cholesky, X.dtype, params)
    args = (X, np.isnan(X), params.means, params.precisions_cholesky, kernel)
    with pytest.raises(ValueError, match=r"`engine` must be one of .*'numba'.*got 'gpu'"):
        pattern_log_prob_with_stats(*args, budget=10, engine="gpu")
    with pytest.raises(ValueError, match="`engine` must be one of"):
        engine_in_use("fast")
    # Without numba: "auto" falls back to numpy, "numba" says how to get it.
    monkeypatch.setattr(gaussian_missing, "_compiled", ImportError("no module named numba"))
    assert engine_in_use("auto") == "numpy"
    with pytest.raises(ImportError, match=r"engine='numba' needs numba.*emkit\[fast\]"):
        pattern_log_prob_with_stats(*args, budget=10, engine="numba")
    log_prob, _ = pattern_log_prob_with_stats(*args, budget=10, engine="auto")
    assert np.isfinite(log_prob).all()


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
def test_a_singular_block_is_refused_by_both_engines(engine_name: str) -> None:
    # A precision factor whose first two rows agree but for 1e-9: Lambda_mm of the first two
    # features is [[3 + 1e-18, 3], [3, 3]], singular once rounded, for a row missing both.
    need(engine_name)
    rng = np.random.default_rng(21)
    d = 4
    U = np.array([[1e-9, 1, 1, 1], [0, 1, 1, 1], [0, 0, 2, 0.5], [0, 0, 0, 2]])
    means = rng.normal(size=(2, d))
    owner = GaussianParams(means, np.stack([np.eye(d), np.eye(d)]))  # caches the kernel only
    kernel = kernel_for("full", means, np.stack([U, U]), np.dtype(np.float64), owner)
    X = rng.normal(size=(6, d))
    X[2, :2] = np.nan
    with pytest.raises(ValueError, match=r"not positive definite.*increase `reg_covar`"):
        pattern_log_prob_with_stats(
            X,
            np.isnan(X),
            means,
            np.stack([U, U]),
            kernel,
            budget=10,
            engine=engine_name,
        )
