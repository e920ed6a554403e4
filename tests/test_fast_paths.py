"""The optimised E-step against straightforward reference implementations.

emkit evaluates a chunk with a few large matrix products (quadratic features of the Gaussian,
natural parameters of canonical families), fuses the M-step statistics into the same pass,
splits chunks across threads and caches per-iteration constants. Each test here recomputes the
same quantity the obvious way, one component at a time with scipy.stats and explicit loops,
and asserts agreement: every optimisation must be invisible in the numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats
from scipy.special import logsumexp

import emkit
import emkit.families._gaussian_kernels as kernels
from emkit import _backend
from emkit.mixture import _row_blocks
from emkit.sources import ArraySource

#: float64 results of the optimised and the straightforward path differ only in the order of
#: roundings (sums split by chunk, triangle vs full products): agreement to 1e-10 relative.
SAME_RTOL = 1e-10

#: Data offset by 1e6 carry an absolute rounding of ~1e-10 in every coordinate (ulp(1e6)), which
#: both paths inherit differently when they subtract the means: 1e-8 relative on O(1) moments.
OFFSET_RTOL = 1e-8

#: float32 data (7 significant digits) through float32 products with float64 accumulation: the
#: issue requires fitted parameters to agree with float64 to 1e-4 relative.
FLOAT32_RTOL = 1e-4

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
N_FEATURES = 5
N_COMPONENTS = 3
N_ROWS = 2_500  # above two blocks of MIN_BLOCK_ROWS, so chunks are split across threads


def assert_close(actual: Any, desired: Any, rtol: float) -> None:
    """Norm-wise relative agreement: max |actual - desired| <= rtol * max |desired|."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape
    scale = max(float(np.max(np.abs(desired))), np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(actual - desired)))
    assert error <= rtol * scale, f"relative error {error / scale:.3e} > {rtol:g}"


# -- problems -------------------------------------------------------------------------------------


def gaussian_problem(
    covariance_type: str, offset: float = 0.0, seed: int = 0
) -> tuple[emkit.FiniteMixture[Any, Any], emkit.MixtureParams[Any], np.ndarray]:
    rng = np.random.default_rng(seed)
    k, d = N_COMPONENTS, N_FEATURES
    means = rng.normal(0.0, 2.0, (k, d)) + offset
    factors = rng.normal(0.0, 0.5, (k, d, d))
    full = factors @ np.swapaxes(factors, 1, 2) + 0.3 * np.eye(d)
    covariances = {
        "full": full,
        "tied": full[:1],
        "diag": rng.uniform(0.3, 2.0, (k, d)),
        "spherical": rng.uniform(0.3, 2.0, k),
    }[covariance_type]
    params = emkit.MixtureParams(
        rng.dirichlet(np.full(k, 3.0)), emkit.GaussianParams(means, covariances)
    )
    model = emkit.FiniteMixture(emkit.Gaussian(covariance_type), k)
    X, _ = model.sample(params, N_ROWS, rng)
    return model, params, X


def covariance_matrices(params: emkit.GaussianParams, covariance_type: str) -> np.ndarray:
    k, d = params.means.shape
    cov = params.covariances
    if covariance_type == "full":
        return np.asarray(cov)
    if covariance_type == "tied":
        return np.broadcast_to(cov[0], (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([c * np.eye(d) for c in cov])


def reference_log_prob(X: np.ndarray, params: emkit.GaussianParams, kind: str) -> np.ndarray:
    """One scipy.stats.multivariate_normal per component."""
    covs = covariance_matrices(params, kind)
    return np.stack(
        [
            scipy.stats.multivariate_normal(params.means[k], covs[k]).logpdf(X)
            for k in range(params.means.shape[0])
        ],
        axis=1,
    )


def reference_m_step(
    X: np.ndarray, resp: np.ndarray, kind: str, reg_covar: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, means, covariance matrices) by explicit loops over components."""
    k_count, d = resp.shape[1], X.shape[1]
    counts = resp.sum(axis=0)
    means = (resp.T @ X) / counts[:, None]
    covs = np.empty((k_count, d, d))
    for k in range(k_count):
        diff = X - means[k]
        covs[k] = (resp[:, k, None] * diff).T @ diff / counts[k]
    if kind == "tied":
        covs[:] = np.einsum("k,kde->de", counts, covs) / counts.sum()
    elif kind == "diag":
        covs = np.stack([np.diag(np.diag(c)) for c in covs])
    elif kind == "spherical":
        covs = np.stack([np.trace(c) / d * np.eye(d) for c in covs])
    return counts, means, covs + reg_covar * np.eye(d)


def reference_e_step(
    X: np.ndarray, params: emkit.MixtureParams[Any], kind: str
) -> tuple[np.ndarray, float]:
    log_joint = reference_log_prob(X, params.components, kind) + np.log(params.weights)
    log_norm = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - log_norm[:, None]), float(log_norm.sum())


def check_against_reference(
    model: Any, params: Any, X: np.ndarray, stats: Any, ll: float, kind: str, rtol: float
) -> None:
    X64 = np.asarray(X, dtype=np.float64)
    resp, ll_ref = reference_e_step(X64, params, kind)
    counts, means, covs = reference_m_step(X64, resp, kind, model.family.reg_covar)
    assert_close(stats.counts, counts, rtol)
    assert ll == pytest.approx(ll_ref, rel=rtol)
    new = model.m_step(stats)
    assert_close(new.components.means, means, rtol)
    assert_close(covariance_matrices(new.components, kind), covs, rtol)


# -- Gaussian --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_gaussian_log_prob_matches_per_component_scipy(kind: str, offset: float) -> None:
    model, params, X = gaussian_problem(kind, offset)
    actual = model.family.log_prob(X, params.components)
    assert_close(actual, reference_log_prob(X, params.components, kind), SAME_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_gaussian_e_step_matches_straightforward_em(kind: str, offset: float) -> None:
    model, params, X = gaussian_problem(kind, offset)
    stats, ll = model.e_step(X, params)
    rtol = SAME_RTOL if offset == 0.0 else OFFSET_RTOL
    check_against_reference(model, params, X, stats, ll, kind, rtol)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_gaussian_expected_stats_matches_explicit_loops(kind: str) -> None:
    model, params, X = gaussian_problem(kind, seed=3)
    resp = np.random.default_rng(4).dirichlet(np.ones(N_COMPONENTS), size=X.shape[0])
    center = params.components.means
    stats = emkit.stats.add(
        model.family.expected_stats(X[:1000], resp[:1000], center),
        model.family.expected_stats(X[1000:], resp[1000:], center),
    )
    new = model.family.maximize(stats, resp.sum(axis=0))
    _, means, covs = reference_m_step(X, resp, kind, model.family.reg_covar)
    assert_close(new.means, means, SAME_RTOL)
    assert_close(covariance_matrices(new, kind), covs, SAME_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
@pytest.mark.parametrize("chunk_size", [1, 97, 1024])
def test_chunked_pass_equals_one_e_step(kind: str, chunk_size: int) -> None:
    model, params, X = gaussian_problem(kind, seed=5)
    whole, ll_whole = model.e_step(X, params)
    chunked, ll_chunked = ArraySource(X, chunk_size=chunk_size).expectation(model, params)
    assert ll_chunked == pytest.approx(ll_whole, rel=SAME_RTOL)
    assert_close(chunked.counts, whole.counts, SAME_RTOL)
    a, b = model.m_step(chunked).components, model.m_step(whole).components
    assert_close(a.means, b.means, SAME_RTOL)
    assert_close(a.covariances, b.covariances, SAME_RTOL)


def test_stacked_factor_kernel_for_wide_data_matches_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Wider than QUADRATIC_MAX_FEATURES: (x - g) @ [U_1 ... U_K] and rank updates per component.
    monkeypatch.setattr(kernels, "QUADRATIC_MAX_FEATURES", 2)
    model, params, X = gaussian_problem("full", offset=1e6, seed=6)
    assert not kernels.kernel_for(
        "full", params.components.means, params.components.precisions_cholesky, X.dtype, object()
    ).quadratic
    assert_close(
        model.family.log_prob(X, params.components),
        reference_log_prob(X, params.components, "full"),
        SAME_RTOL,
    )
    stats, ll = model.e_step(X, params)
    check_against_reference(model, params, X, stats, ll, "full", OFFSET_RTOL)


def test_thin_component_switches_to_stacked_kernel_and_stays_exact() -> None:
    # A component collapsing onto a sliver (variance 1e-9 along one axis) far from the others
    # would lose digits in the expanded quadratic form; the kernel must notice and switch.
    model, params, X = gaussian_problem("full", seed=7)
    cov = params.components.covariances.copy()
    cov[0] = np.diag([1e-9, 1.0, 1.0, 1.0, 1.0])
    means = params.components.means.copy()
    means[0] += 50.0
    thin = emkit.MixtureParams(params.weights, emkit.GaussianParams(means, cov))
    kernel = kernels.kernel_for(
        "full", means, thin.components.precisions_cholesky, X.dtype, thin.components
    )
    assert not kernel.quadratic
    X = np.vstack([X, model.sample(thin, 500, np.random.default_rng(8))[0]])
    stats, ll = model.e_step(X, thin)
    check_against_reference(model, thin, X, stats, ll, "full", SAME_RTOL)


#: Tight components 2e5 apart: the expanded quadratic form would round to ~1e14 ulps of a
#: squared distance; the fallback around each component's own mean is exact to rounding.
REMOTE_SEPARATION = 1e5
REMOTE_SD = 1e-2

#: Rows stored at 1e5 carry ulp(1e5) ~ 1.5e-11 each, 1.5e-9 of the 1e-2 spread, so variances
#: computed two ways agree to a few 1e-9 relative: 1e-7 leaves room, 1e14 ulps of loss would not.
REMOTE_RTOL = 1e-7


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_remote_tight_components_fall_back_and_fit_exactly(kind: str) -> None:
    rng = np.random.default_rng(12)
    X = np.vstack(
        [rng.normal(c, REMOTE_SD, (300, 3)) for c in (-REMOTE_SEPARATION, REMOTE_SEPARATION)]
    )
    labels = np.repeat([0, 1], 300)
    model = emkit.FiniteMixture(emkit.Gaussian(kind, reg_covar=0.0), 2)
    start = model.params_from_responsibilities(X, np.eye(2)[labels])
    kernel = kernels.kernel_for(
        kind, start.components.means, start.components.precisions_cholesky, X.dtype, object()
    )
    assert not kernel.quadratic
    stats, ll = model.e_step(X, start)
    check_against_reference(model, start, X, stats, ll, kind, SAME_RTOL)
    # One EM step from the exact hard-label fit gives the per-cluster scatter to rounding.
    fitted = model.m_step(stats).components
    scatter = np.array([np.cov(X[labels == k].T, bias=True) for k in range(2)])
    expected = {
        "full": scatter,
        "tied": scatter.mean(axis=0, keepdims=True),
        "diag": np.diagonal(scatter, axis1=1, axis2=2),
        "spherical": np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1),
    }[kind]
    assert_close(fitted.covariances, expected, REMOTE_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_weights_and_labels_in_the_fused_pass(kind: str) -> None:
    model, params, X = gaussian_problem(kind, seed=9)
    rng = np.random.default_rng(10)
    weights = rng.uniform(0.0, 3.0, X.shape[0])
    labels = np.where(rng.random(X.shape[0]) < 0.3, rng.integers(0, N_COMPONENTS, X.shape[0]), -1)
    stats, ll = model.e_step(X, params, weights, labels)
    log_joint = reference_log_prob(X, params.components, kind) + np.log(params.weights)
    known = labels >= 0
    mask = np.ones_like(log_joint, dtype=bool)
    mask[known] = np.arange(N_COMPONENTS) == labels[known, None]
    log_joint = np.where(mask, log_joint, -np.inf)
    log_norm = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - log_norm[:, None]) * weights[:, None]
    assert ll == pytest.approx(float(weights @ log_norm), rel=SAME_RTOL)
    counts, means, covs = reference_m_step(X, resp, kind, model.family.reg_covar)
    assert_close(stats.counts, counts, SAME_RTOL)
    new = model.m_step(stats).components
    assert_close(new.means, means, SAME_RTOL)
    assert_close(covariance_matrices(new, kind), covs, SAME_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_float32_e_step_agrees_with_float64(kind: str) -> None:
    model, params, X = gaussian_problem(kind, offset=1e3, seed=11)
    X32 = X.astype(np.float32)
    stats32, ll32 = model.e_step(X32, params)
    stats64, ll64 = model.e_step(X32.astype(np.float64), params)
    assert ll32 == pytest.approx(ll64, rel=FLOAT32_RTOL)
    p32, p64 = model.m_step(stats32), model.m_step(stats64)
    assert_close(p32.weights, p64.weights, FLOAT32_RTOL)
    assert_close(p32.components.means, p64.components.means, FLOAT32_RTOL)
    assert_close(p32.components.covariances, p64.components.covariances, FLOAT32_RTOL)


def test_float32_log_prob_stays_float32() -> None:
    model, params, X = gaussian_problem("full")
    assert model.family.log_prob(X.astype(np.float32), params.components).dtype == np.float32


def test_kernel_is_built_once_per_parameters() -> None:
    model, params, X = gaussian_problem("full")
    first = kernels.kernel_for(
        "full",
        params.components.means,
        params.components.precisions_cholesky,
        X.dtype,
        params.components,
    )
    ArraySource(X, chunk_size=100).expectation(model, params)
    again = kernels.kernel_for(
        "full",
        params.components.means,
        params.components.precisions_cholesky,
        X.dtype,
        params.components,
    )
    assert again is first


# -- canonical families ---------------------------------------------------------------------------


def canonical_problem(
    family: Any, seed: int = 0
) -> tuple[emkit.FiniteMixture[Any, Any], emkit.MixtureParams[Any], np.ndarray]:
    rng = np.random.default_rng(seed)
    k, d = N_COMPONENTS, N_FEATURES
    if isinstance(family, emkit.Bernoulli):
        mean = rng.uniform(0.05, 0.95, (k, d))
    else:
        mean = rng.uniform(0.5, 12.0, (k, d))
    params = emkit.MixtureParams(rng.dirichlet(np.full(k, 3.0)), emkit.MeanParams(mean))
    model = emkit.FiniteMixture(family, k)
    X, _ = model.sample(params, N_ROWS, rng)
    return model, params, X


def canonical_reference_log_prob(X: np.ndarray, family: Any, mean: np.ndarray) -> np.ndarray:
    if isinstance(family, emkit.Bernoulli):
        dist = [scipy.stats.bernoulli(m) for m in mean]
    else:
        dist = [scipy.stats.poisson(m) for m in mean]
    return np.stack([d.logpmf(X).sum(axis=1) for d in dist], axis=1)


@pytest.mark.parametrize("family", [emkit.Bernoulli(), emkit.Poisson(prior_strength=0.5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_canonical_e_step_matches_scipy(family: Any, dtype: type) -> None:
    model, params, X = canonical_problem(family)
    X = X.astype(dtype)
    rtol = SAME_RTOL if dtype == np.float64 else FLOAT32_RTOL
    mean = params.components.mean
    ref = canonical_reference_log_prob(X.astype(np.float64), family, mean)
    assert_close(family.log_prob(X, params.components), ref, rtol)
    log_joint = ref + np.log(params.weights)
    log_norm = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - log_norm[:, None])
    stats, ll = ArraySource(X, chunk_size=700).expectation(model, params)
    assert ll == pytest.approx(float(log_norm.sum()), rel=rtol)
    assert_close(stats.counts, resp.sum(axis=0), rtol)
    assert_close(stats.components.sum_t, resp.T @ X.astype(np.float64), rtol)


def test_poisson_log_factorials_beyond_the_table_use_gammaln() -> None:
    X = np.array([[0.0, 3.0], [70_000.0, 2.0]])
    expected = -scipy.special.gammaln(X + 1.0).sum(axis=1)
    assert_close(emkit.Poisson().log_base_measure(X), expected, SAME_RTOL)
    assert_close(emkit.Poisson().log_base_measure(X[:1]), expected[:1], SAME_RTOL)


# -- threads and chunk sizes ----------------------------------------------------------------------


def test_row_blocks_cover_every_row_once() -> None:
    for n_rows, workers in [(10, 4), (5000, 2), (5000, 3), (2048, 2), (1, 1)]:
        blocks = _row_blocks(n_rows, workers)
        covered = np.concatenate([np.arange(n_rows)[b] for b in blocks])
        np.testing.assert_array_equal(covered, np.arange(n_rows))
        assert len(blocks) <= workers


def test_parallel_map_keeps_order_and_restores_blas_threads() -> None:
    before = _backend.worker_count()
    assert _backend.parallel_map(lambda i: i * i, list(range(7)), workers=2) == [
        i * i for i in range(7)
    ]
    assert _backend.worker_count() == before


def test_split_chunk_equals_serial_chunk() -> None:
    model, params, X = gaussian_problem("full", seed=12)
    parallel, ll_parallel = model.e_step(X, params)
    serial, ll_serial = ArraySource(X, chunk_size=N_ROWS // 2 - 1).expectation(model, params)
    assert ll_parallel == pytest.approx(ll_serial, rel=SAME_RTOL)
    assert_close(parallel.components.sum_xx, serial.components.sum_xx, SAME_RTOL)


def test_automatic_chunk_size_respects_the_budget() -> None:
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 16)
    rows = emkit.sources.chunk_rows_for(model, 32, 8, budget=2**20)
    assert 1 <= rows * model.bytes_per_row(32, 8) <= 2**20
