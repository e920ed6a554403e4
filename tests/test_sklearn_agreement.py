"""From identical starting parameters, emkit's EM follows scikit-learn's GaussianMixture exactly.

Both implement the same updates (including ``reg_covar`` on the diagonal and spherical variance as
the mean of the diagonal), so after many iterations the parameters agree to rounding. On data
offset by 1e6, scikit-learn's diag/tied/spherical formulas (``E[x^2] - mu^2`` on raw data) lose
about twelve digits, so emkit on the offset data is compared with scikit-learn on the centred data
(EM is translation-equivariant): that is the accuracy a user should get.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

import emkit

#: Relative agreement of parameters after N_ITER iterations on centred data: both libraries
#: evaluate the same formulas in a different order, and EM contracts such differences.
SKLEARN_RTOL = 1e-9

#: On data offset by 1e6, storing x + 1e6 in float64 costs ~1e6 * eps = 2e-10 absolute per
#: coordinate before any arithmetic; parameters agree to that absolute scale (relative to the
#: spread of the data, which is O(1) here).
OFFSET_ATOL = 1e-7

N_ITER = 60
N_COMPONENTS = 3
OFFSET = 1e6


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    shear = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    return np.concatenate(
        [
            rng.normal(0.0, 1.0, (200, 3)),
            rng.normal(3.0, 0.6, (150, 3)) @ shear,
            rng.normal(-3.0, 1.5, (120, 3)),
        ]
    )


def _sklearn_precisions(kind: str, covariances: np.ndarray) -> np.ndarray:
    if kind == "full":
        return np.linalg.inv(covariances)
    if kind == "tied":
        return np.linalg.inv(covariances[0])
    return 1.0 / covariances


def _fit_both(kind: str, offset: float) -> tuple[emkit.FitResult, GaussianMixture]:
    X = _data()
    model = emkit.FiniteMixture(emkit.Gaussian(kind), N_COMPONENTS)
    start = model.init_params(X, np.random.default_rng(1), "kmeans")
    sk = GaussianMixture(
        N_COMPONENTS,
        covariance_type=kind,
        max_iter=N_ITER,
        tol=0.0,
        weights_init=start.weights,
        means_init=start.components.means,
        precisions_init=_sklearn_precisions(kind, start.components.covariances),
    )
    shifted = emkit.MixtureParams(
        start.weights,
        emkit.GaussianParams(start.components.means + offset, start.components.covariances),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both stop at max_iter on purpose (tol=0)
        sk.fit(X)
        # scikit-learn's n_iter iterations are n_iter E-steps and M-steps; so are emkit's.
        result = emkit.fit(model, X + offset, init=shifted, max_iter=N_ITER, tol=0.0)
    return result, sk


@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_same_parameters_as_scikit_learn(kind: str) -> None:
    result, sk = _fit_both(kind, 0.0)
    got = result.params.components
    np.testing.assert_allclose(result.params.weights, sk.weights_, rtol=SKLEARN_RTOL)
    np.testing.assert_allclose(got.means, sk.means_, rtol=SKLEARN_RTOL)
    np.testing.assert_allclose(
        got.covariances.reshape(sk.covariances_.shape), sk.covariances_, rtol=SKLEARN_RTOL
    )
    np.testing.assert_allclose(
        got.precisions_cholesky.reshape(sk.precisions_cholesky_.shape),
        sk.precisions_cholesky_,
        rtol=SKLEARN_RTOL,
    )
    # emkit reports the log-likelihood of the returned parameters; scikit-learn's score does too.
    np.testing.assert_allclose(result.mean_log_likelihood, sk.score(_data()), rtol=SKLEARN_RTOL)


@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_offset_data_fits_as_well_as_centred_data(kind: str) -> None:
    result, sk = _fit_both(kind, OFFSET)
    got = result.params.components
    np.testing.assert_allclose(result.params.weights, sk.weights_, atol=OFFSET_ATOL)
    np.testing.assert_allclose(got.means - OFFSET, sk.means_, atol=OFFSET_ATOL)
    np.testing.assert_allclose(
        got.covariances.reshape(sk.covariances_.shape), sk.covariances_, atol=OFFSET_ATOL
    )
