"""emkit's HMM estimators against hmmlearn 0.3.3 from the same start, iteration by iteration."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from emkit.estimators.hmm import GaussianHMM, PoissonHMM

hmm = pytest.importorskip("hmmlearn.hmm")

AGREEMENT_ATOL = 1e-8
"""Parameters, log-likelihoods and monitor histories agree to this (absolute)."""

LENGTHS = [40, 75, 13, 120]
N_STATES = 3
N_FEATURES = 2
ITERATIONS = [1, 2, 3, 4, 5]

START = {
    "startprob_": np.array([0.5, 0.3, 0.2]),
    "transmat_": np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]]),
    "means_": np.array([[0.5, 0.0], [2.0, 2.0], [-1.0, 3.0]]),
}
COVARS = {
    "spherical": np.array([1.0, 2.0, 1.5]),
    "diag": np.array([[1.0, 2.0], [1.5, 1.0], [2.0, 2.0]]),
    "full": np.array(
        [[[1.0, 0.3], [0.3, 2.0]], [[2.0, -0.4], [-0.4, 1.0]], [[1.5, 0.0], [0.0, 1.5]]]
    ),
    "tied": np.array([[1.5, 0.3], [0.3, 1.0]]),
}


def _gaussian_data() -> np.ndarray:
    rng = np.random.default_rng(1)
    states = rng.integers(0, N_STATES, size=sum(LENGTHS))
    centres = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
    return centres[states] + rng.normal(size=(states.size, N_FEATURES))


def _poisson_data() -> np.ndarray:
    rng = np.random.default_rng(2)
    states = rng.integers(0, 2, size=sum(LENGTHS))
    return rng.poisson(np.array([[2.0, 5.0], [8.0, 1.0]])[states])


def _set(model: Any, values: dict[str, np.ndarray]) -> None:
    for name, value in values.items():
        setattr(model, name, value.copy())


def _fit_quietly(model: Any, X: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at small n_iter
        return model.fit(X, LENGTHS)


MAXIMUM_LIKELIHOOD = {"covars_prior": 0.0, "covars_weight": 0.0}
"""hmmlearn's Gaussian prior switched off."""

PRIORS = {
    "hmmlearn-defaults": {},
    "strong": {"means_prior": 0.5, "means_weight": 2.0, "covars_prior": 0.3, "covars_weight": 4.0},
}
"""hmmlearn's default prior (covars_prior=1e-2, covars_weight=1) and a strong one."""


def _gaussian_pair(
    covariance_type: str, n_iter: int, tol: float = 1e-2, prior: dict[str, float] | None = None
) -> tuple[Any, Any]:
    settings: dict[str, Any] = {"init_params": "", "n_iter": n_iter}
    settings.update(MAXIMUM_LIKELIHOOD if prior is None else prior)
    ours = GaussianHMM(N_STATES, covariance_type, tol=tol, **settings)
    theirs = hmm.GaussianHMM(N_STATES, covariance_type, tol=tol, **settings)
    for model in (ours, theirs):
        _set(model, START)
        model.covars_ = COVARS[covariance_type].copy()
    X = _gaussian_data()
    return _fit_quietly(ours, X), _fit_quietly(theirs, X)


def _assert_same(ours: Any, theirs: Any, names: tuple[str, ...]) -> None:
    for name in names:
        np.testing.assert_allclose(
            getattr(ours, name), getattr(theirs, name), rtol=0, atol=AGREEMENT_ATOL, err_msg=name
        )
    assert ours.monitor_.iter == theirs.monitor_.iter
    np.testing.assert_allclose(
        list(ours.monitor_.history), list(theirs.monitor_.history), rtol=0, atol=AGREEMENT_ATOL
    )


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
@pytest.mark.parametrize("n_iter", ITERATIONS)
def test_gaussian_iteration_by_iteration(covariance_type: str, n_iter: int) -> None:
    ours, theirs = _gaussian_pair(covariance_type, n_iter)
    names = ("startprob_", "transmat_", "means_")
    _assert_same(ours, theirs, names)
    if covariance_type == "spherical":
        # hmmlearn keeps spherical variances tiled as (K, D) after an M-step, and its covars_
        # getter then returns K * D matrices; its first column is the variance.
        theirs_covars = theirs._covars_[:, 0] if theirs._covars_.ndim == 2 else theirs._covars_
        np.testing.assert_allclose(ours._covars_, theirs_covars, rtol=0, atol=AGREEMENT_ATOL)
    else:
        np.testing.assert_allclose(ours.covars_, theirs.covars_, rtol=0, atol=AGREEMENT_ATOL)
    X = _gaussian_data()
    assert abs(ours.score(X, LENGTHS) - theirs.score(X, LENGTHS)) < AGREEMENT_ATOL


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_stopping_rule_to_convergence(covariance_type: str) -> None:
    # tol=1e-3 on the total log-likelihood: runs of 17 to 46 iterations on this data; the
    # same number of iterations means the stopping rule (lagged, absolute, signed) is hmmlearn's.
    ours, theirs = _gaussian_pair(covariance_type, n_iter=200, tol=1e-3)
    assert 5 < ours.monitor_.iter < 200
    _assert_same(ours, theirs, ("startprob_", "transmat_", "means_"))
    assert ours.converged_
    assert ours.monitor_.converged
    assert theirs.monitor_.converged


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
@pytest.mark.parametrize("prior", sorted(PRIORS))
@pytest.mark.parametrize("n_iter", [2, 200])
def test_gaussian_with_hmmlearns_prior(covariance_type: str, prior: str, n_iter: int) -> None:
    # The MAP M-step, and hmmlearn's stopping rule on the log-likelihood alone (not the
    # objective with the log-prior that emkit's driver increases): same iteration counts.
    ours, theirs = _gaussian_pair(covariance_type, n_iter, tol=1e-3, prior=PRIORS[prior])
    _assert_same(ours, theirs, ("startprob_", "transmat_", "means_"))
    theirs_covars = theirs._covars_[:, 0] if covariance_type == "spherical" else theirs.covars_
    ours_covars = ours._covars_ if covariance_type == "spherical" else ours.covars_
    np.testing.assert_allclose(ours_covars, theirs_covars, rtol=0, atol=AGREEMENT_ATOL)


def _poisson_pair(n_iter: int) -> tuple[Any, Any]:
    start = {
        "startprob_": np.array([0.6, 0.4]),
        "transmat_": np.array([[0.9, 0.1], [0.2, 0.8]]),
        "lambdas_": np.array([[3.0, 3.0], [6.0, 2.0]]),
    }
    ours = PoissonHMM(2, init_params="", n_iter=n_iter)
    theirs = hmm.PoissonHMM(2, init_params="", n_iter=n_iter)
    for model in (ours, theirs):
        _set(model, start)
    X = _poisson_data()
    return _fit_quietly(ours, X), _fit_quietly(theirs, X)


@pytest.mark.parametrize("n_iter", [*ITERATIONS, 100])
def test_poisson_iteration_by_iteration(n_iter: int) -> None:
    ours, theirs = _poisson_pair(n_iter)
    _assert_same(ours, theirs, ("startprob_", "transmat_", "lambdas_"))
    X = _poisson_data()
    assert abs(ours.score(X, LENGTHS) - theirs.score(X, LENGTHS)) < AGREEMENT_ATOL


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gaussian_using_the_fit(covariance_type: str) -> None:
    ours, theirs = _gaussian_pair(covariance_type, n_iter=5)
    X = _gaussian_data()
    ours_lp, ours_post = ours.score_samples(X, LENGTHS)
    theirs_lp, theirs_post = theirs.score_samples(X, LENGTHS)
    assert abs(ours_lp - theirs_lp) < AGREEMENT_ATOL
    np.testing.assert_allclose(ours_post, theirs_post, rtol=0, atol=AGREEMENT_ATOL)
    np.testing.assert_allclose(
        ours.predict_proba(X, LENGTHS), theirs.predict_proba(X, LENGTHS), atol=AGREEMENT_ATOL
    )
    viterbi_ours, viterbi_theirs = ours.decode(X, LENGTHS), theirs.decode(X, LENGTHS)
    assert abs(viterbi_ours[0] - viterbi_theirs[0]) < AGREEMENT_ATOL
    np.testing.assert_array_equal(viterbi_ours[1], viterbi_theirs[1])
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    # MAP decoding: the same states; the log-probability is log p(X) here, whereas hmmlearn
    # 0.3.3 returns the sum of the largest posteriors.
    map_ours = ours.decode(X, LENGTHS, algorithm="map")
    map_theirs = theirs.decode(X, LENGTHS, algorithm="map")
    np.testing.assert_array_equal(map_ours[1], map_theirs[1])
    assert abs(map_ours[0] - theirs.score(X, LENGTHS)) < AGREEMENT_ATOL
    assert abs(ours.bic(X, LENGTHS) - theirs.bic(X, LENGTHS)) < AGREEMENT_ATOL
    assert abs(ours.aic(X, LENGTHS) - theirs.aic(X, LENGTHS)) < AGREEMENT_ATOL
    np.testing.assert_allclose(
        ours.get_stationary_distribution(),
        theirs.get_stationary_distribution(),
        atol=AGREEMENT_ATOL,
    )


def test_poisson_using_the_fit() -> None:
    ours, theirs = _poisson_pair(n_iter=5)
    X = _poisson_data()
    np.testing.assert_allclose(
        ours.predict_proba(X, LENGTHS), theirs.predict_proba(X, LENGTHS), atol=AGREEMENT_ATOL
    )
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    assert abs(ours.bic(X, LENGTHS) - theirs.bic(X, LENGTHS)) < AGREEMENT_ATOL
    assert abs(ours.aic(X, LENGTHS) - theirs.aic(X, LENGTHS)) < AGREEMENT_ATOL


def test_parameters_set_by_hand_score_without_fit() -> None:
    # hmmlearn's way of building a model by hand: set the attributes, then score and decode.
    ours, theirs = GaussianHMM(N_STATES, "full"), hmm.GaussianHMM(N_STATES, "full")
    for model in (ours, theirs):
        _set(model, START)
        model.covars_ = COVARS["full"].copy()
    X = _gaussian_data()
    assert abs(ours.score(X, LENGTHS) - theirs.score(X, LENGTHS)) < AGREEMENT_ATOL
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_start_from_data_covariances_as_hmmlearn(covariance_type: str) -> None:
    # init_params="c" only: hmmlearn's start is the covariance of all frames plus min_covar.
    X = _gaussian_data()
    settings = {"init_params": "c", "n_iter": 1, "covars_prior": 0.0, "covars_weight": 0.0}
    ours = GaussianHMM(N_STATES, covariance_type, **settings)
    theirs = hmm.GaussianHMM(N_STATES, covariance_type, **settings)
    for model in (ours, theirs):
        _set(model, START)
    _fit_quietly(ours, X)
    _fit_quietly(theirs, X)
    _assert_same(ours, theirs, ("startprob_", "transmat_", "means_"))
