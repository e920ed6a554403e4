"""Data sampled from known mixtures of each family is fitted back to its parameters.

With N rows, a component of weight pi holds about n = pi N of them, and the maximum-likelihood
estimates have standard errors: sqrt(pi (1 - pi) / N) for a weight, sd / sqrt(n) for a mean,
sqrt(p (1 - p) / n) for a Bernoulli probability, sqrt(lam / n) for a Poisson rate, and about
var * sqrt(2 / n) for a variance. The components below are well separated, so the fit is close
to the one with known labels, and every estimate must lie within RECOVERY_SE standard errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import emkit

#: Allowed distance from the truth in standard errors: 5 SE is exceeded with probability < 1e-6
#: per estimate for a normal estimator, so the tests are not flaky across the ~100 estimates.
RECOVERY_SE = 5.0

N_SAMPLES = 6000
WEIGHTS = np.array([0.2, 0.3, 0.5])


def _match(true_means: np.ndarray, fitted_means: np.ndarray) -> np.ndarray:
    """Order of fitted components that best matches the true ones (labels are arbitrary)."""
    cost = ((true_means[:, None, :] - fitted_means[None, :, :]) ** 2).sum(axis=2)
    return linear_sum_assignment(cost)[1]


def _fit(
    family: Any, params: emkit.MixtureParams[Any]
) -> tuple[emkit.MixtureParams[Any], np.ndarray]:
    model = emkit.FiniteMixture(family, len(params.weights))
    X, _ = model.sample(params, N_SAMPLES, np.random.default_rng(0))
    result = emkit.fit(model, X, n_init=3, random_state=1, tol=1e-8, max_iter=1000)
    order = _match(family.mean(params.components), family.mean(result.params.components))
    fitted = emkit.stats.take_components(result.params, order)
    weight_se = np.sqrt(WEIGHTS * (1 - WEIGHTS) / N_SAMPLES)
    assert np.all(np.abs(fitted.weights - params.weights) <= RECOVERY_SE * weight_se)
    return fitted, WEIGHTS * N_SAMPLES


def _marginal_variances(covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
    """Variance of each feature in each component, (K, D), for any covariance type."""
    if covariances.ndim == 3:
        diagonal = np.diagonal(covariances, axis1=1, axis2=2)
    elif covariances.ndim == 2:
        diagonal = covariances
    else:
        diagonal = covariances[:, None]
    return np.broadcast_to(diagonal, (n_components, n_features))


@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_gaussian_recovery(kind: str) -> None:
    means = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    full = np.array(
        [[[1.0, 0.3], [0.3, 0.5]], [[0.7, -0.2], [-0.2, 1.2]], [[2.0, 0.0], [0.0, 1.0]]]
    )
    covariances = {
        "full": full,
        "tied": full[:1],
        "diag": np.array([[1.0, 0.5], [0.7, 1.2], [2.0, 1.0]]),
        "spherical": np.array([0.5, 1.0, 2.0]),
    }[kind]
    truth = emkit.MixtureParams(WEIGHTS, emkit.GaussianParams(means, covariances))
    fitted, counts = _fit(emkit.Gaussian(kind), truth)
    got = fitted.components
    variances = _marginal_variances(covariances, n_components=3, n_features=2)
    mean_se = np.sqrt(variances / counts[:, None])
    assert np.all(np.abs(got.means - means) <= RECOVERY_SE * mean_se)
    # A tied covariance pools all rows; every other covariance uses its component's rows.
    n_eff = N_SAMPLES if kind == "tied" else counts.reshape((-1,) + (1,) * (covariances.ndim - 1))
    spread = np.sqrt(2.0 / n_eff) * np.maximum(np.abs(covariances), 0.3)
    assert np.all(np.abs(got.covariances - covariances) <= RECOVERY_SE * spread)


def test_bernoulli_recovery() -> None:
    rng = np.random.default_rng(2)
    probabilities = np.where(rng.random((3, 30)) < 0.5, 0.15, 0.85)
    truth = emkit.MixtureParams(WEIGHTS, emkit.MeanParams(probabilities))
    fitted, counts = _fit(emkit.Bernoulli(), truth)
    se = np.sqrt(probabilities * (1 - probabilities) / counts[:, None])
    assert np.all(np.abs(fitted.components.mean - probabilities) <= RECOVERY_SE * se)


def test_poisson_recovery() -> None:
    rates = np.array([[1.0, 10.0], [8.0, 2.0], [15.0, 15.0]])
    truth = emkit.MixtureParams(WEIGHTS, emkit.MeanParams(rates))
    fitted, counts = _fit(emkit.Poisson(), truth)
    se = np.sqrt(rates / counts[:, None])
    assert np.all(np.abs(fitted.components.mean - rates) <= RECOVERY_SE * se)
