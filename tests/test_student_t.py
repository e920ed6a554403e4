"""emkit.StudentTMixture: densities against scipy, the contract checks, the Gaussian limit,
robustness to gross outliers, estimated degrees of freedom, save/load, errors and float32."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emkit
from emkit.em import DECREASE_RTOL
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.student_t import StudentTMixture, StudentTParams, StudentTStats, solve_dof
from emkit.testing import check_model, check_recenter

#: Two evaluations of the same log-density by different formulas (scipy's and emkit's).
DENSITY_ATOL = 1e-10

#: Fixed ``nu = 1e6``: every latent scale is ``1 + O(1/nu)``, so the t fit differs from the
#: Gaussian's by about ``1e-6`` relative, amplified a little by the EM iterations.
GAUSSIAN_LIMIT_DOF = 1e6
GAUSSIAN_LIMIT_RTOL = 1e-4

#: The clusters' locations recovered by the t mixture despite 10% gross outliers: within this
#: distance of the truth (the clusters have unit-scale spread and 200 rows, so the standard
#: error of a location is about 0.07) ...
ROBUST_MEAN_ERROR_MAX = 0.5
#: ... while the Gaussian mixture's nearest component is at least this far from some cluster
#: (it spends a component, or inflated covariances, on the outliers).
GAUSSIAN_MEAN_ERROR_MIN = 2.0

#: Degrees of freedom of t(4) data estimated from 2 x 2,000 rows in 2-D: a loose named bound
#: (estimates of this size scatter by a few tenths; measured here: 4.76 and 3.71).
TRUE_DOF = 4.0
DOF_ESTIMATE_ATOL = 1.5

#: A parameter of a saved and loaded fit is the same float.
ROUND_TRIP_RTOL = 0.0

#: float32 and float64 fits of the same data: float32 rounding of the rows (~6e-8), amplified
#: by the EM iterations.
FLOAT32_RTOL = 1e-3

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def known_params(n_features: int = 2) -> StudentTParams:
    rng = np.random.default_rng(1)
    covs = []
    for k in range(3):
        a = rng.normal(size=(n_features, n_features))
        covs.append(a @ a.T + (k + 1) * np.eye(n_features))
    return StudentTParams(
        weights=np.array([0.2, 0.3, 0.5]),
        means=rng.normal(scale=5.0, size=(3, n_features)),
        covariances=np.array(covs),
        dof=np.array([1.5, 4.0, 30.0]),
    )


def t_data(n: int = 600, seed: int = 0) -> np.ndarray:
    X, _ = StudentTMixture(3).sample(known_params(), n, np.random.default_rng(seed))
    return X


def outlier_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three 2-D Gaussian clusters of 200 rows, plus 10% gross outliers uniform over a box ten
    times wider than the clusters' bounding box (same center)."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    covs = np.array(
        [[[1.0, 0.3], [0.3, 1.0]], [[1.0, -0.2], [-0.2, 0.6]], [[0.8, 0.0], [0.0, 1.2]]]
    )
    X = np.concatenate([rng.multivariate_normal(means[k], covs[k], 200) for k in range(3)])
    low, high = X.min(axis=0), X.max(axis=0)
    center, width = (low + high) / 2, 10 * (high - low)
    outliers = rng.uniform(center - width / 2, center + width / 2, size=(len(X) // 9, 2))
    return np.concatenate([X, outliers]), means


def worst_match(estimated: np.ndarray, truth: np.ndarray) -> float:
    """The largest distance between a true location and its matched estimate."""
    from scipy.optimize import linear_sum_assignment

    dist = np.linalg.norm(estimated[:, None, :] - truth[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(dist)
    return float(dist[rows, cols].max())


def quiet_fit(*args: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        return emkit.fit(*args, **kwargs)


# -- densities ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n_features", [1, 2, 4])
def test_log_density_agrees_with_scipy(n_features: int) -> None:
    params = known_params(n_features)
    X = np.random.default_rng(2).normal(scale=6.0, size=(80, n_features))
    model = StudentTMixture(3)
    ours = model.log_prob(X, params)
    for k in range(3):
        theirs = scipy.stats.multivariate_t(
            params.means[k], params.covariances[k], df=params.dof[k]
        ).logpdf(X)
        np.testing.assert_allclose(ours[:, k], theirs, rtol=0, atol=DENSITY_ATOL)
    mixture = np.log(
        sum(
            params.weights[k]
            * scipy.stats.multivariate_t(
                params.means[k], params.covariances[k], df=params.dof[k]
            ).pdf(X)
            for k in range(3)
        )
    )
    np.testing.assert_allclose(model.score_samples(X, params), mixture, atol=DENSITY_ATOL)
    resp = model.responsibilities(X, params)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=DENSITY_ATOL)
    np.testing.assert_array_equal(model.predict(X, params), resp.argmax(axis=1))


# -- the contract ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model",
    [StudentTMixture(3), StudentTMixture(3, dof=3.0), StudentTMixture(3, dof=[2.0, 5.0, 9.0])],
    ids=["estimated", "fixed", "per-component"],
)
def test_check_model(model: StudentTMixture) -> None:
    check_model(model, t_data())


def test_recenter_carries_the_dof_term() -> None:
    model = StudentTMixture(3)
    check_recenter(model, t_data(), model.init_params(t_data(), np.random.default_rng(0)))


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 10_000),
    n_components=st.integers(2, 4),
    n_features=st.integers(1, 3),
    fixed=st.sampled_from([None, 1.0, 6.0]),
    init=st.sampled_from(["random", "kmeans", "random_from_data"]),
)
def test_objective_never_decreases(
    seed: int, n_components: int, n_features: int, fixed: float | None, init: str
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 200))
    X = (
        rng.standard_t(df=rng.uniform(1.0, 10.0), size=(n, n_features))
        * rng.uniform(0.5, 3.0, size=n_features)
        + rng.integers(0, 3, size=n)[:, None] * 4.0
    )
    model = StudentTMixture(n_components, dof=fixed)
    result = quiet_fit(model, X, init=init, max_iter=40, tol=0.0, random_state=seed)
    history = np.asarray(result.history)
    allowed = DECREASE_RTOL[np.dtype(np.float64)] * (np.abs(history[:-1]) + result.n_samples)
    assert np.all(np.diff(history) >= -allowed), np.diff(history).min()


# -- what the model is for -----------------------------------------------------------------------
def test_large_fixed_dof_gives_the_gaussian_mixture() -> None:
    X, _ = outlier_data()
    X = X[:600]  # the clusters only
    rng = np.random.default_rng(3)
    gaussian = FiniteMixture(emkit.Gaussian("full"), 3)
    start = gaussian.init_params(X, rng)
    t_start = StudentTParams(
        weights=start.weights,
        means=start.components.means,
        covariances=start.components.covariances,
        dof=np.full(3, GAUSSIAN_LIMIT_DOF),
    )
    t_fit = emkit.fit(StudentTMixture(3, dof=GAUSSIAN_LIMIT_DOF), X, init=t_start, tol=1e-10)
    g_fit = emkit.fit(gaussian, X, init=start, tol=1e-10)
    np.testing.assert_allclose(t_fit.params.weights, g_fit.params.weights, rtol=GAUSSIAN_LIMIT_RTOL)
    np.testing.assert_allclose(
        t_fit.params.means, g_fit.params.components.means, rtol=GAUSSIAN_LIMIT_RTOL, atol=1e-6
    )
    np.testing.assert_allclose(
        t_fit.params.covariances,
        g_fit.params.components.covariances,
        rtol=GAUSSIAN_LIMIT_RTOL,
        atol=GAUSSIAN_LIMIT_RTOL,
    )
    assert t_fit.log_likelihood == pytest.approx(g_fit.log_likelihood, rel=GAUSSIAN_LIMIT_RTOL)


def test_outliers_do_not_break_the_t_mixture() -> None:
    X, means = outlier_data()
    t_fit = quiet_fit(StudentTMixture(3), X, init="random_from_data", n_init=10, random_state=0)
    g_fit = quiet_fit(
        FiniteMixture(emkit.Gaussian("full"), 3),
        X,
        init="random_from_data",
        n_init=10,
        random_state=0,
    )
    assert worst_match(t_fit.params.means, means) < ROBUST_MEAN_ERROR_MAX
    assert worst_match(g_fit.params.components.means, means) > GAUSSIAN_MEAN_ERROR_MIN


def test_outliers_from_the_same_good_start() -> None:
    # Even started next to the truth, the Gaussian M-step follows the outliers; the t one does not.
    X, means = outlier_data()
    covs = np.broadcast_to(np.eye(2), (3, 2, 2)).copy()
    t_start = StudentTParams(np.full(3, 1 / 3), means + 0.5, covs, np.full(3, 2.0))
    g_start = MixtureParams(np.full(3, 1 / 3), emkit.GaussianParams(means + 0.5, covs))
    t_fit = quiet_fit(StudentTMixture(3), X, init=t_start)
    g_fit = quiet_fit(FiniteMixture(emkit.Gaussian("full"), 3), X, init=g_start)
    assert worst_match(t_fit.params.means, means) < ROBUST_MEAN_ERROR_MAX
    assert worst_match(g_fit.params.components.means, means) > GAUSSIAN_MEAN_ERROR_MIN


def test_estimated_dof_of_t4_data() -> None:
    params = StudentTParams(
        weights=np.array([0.5, 0.5]),
        means=np.array([[0.0, 0.0], [12.0, 0.0]]),
        covariances=np.array([np.eye(2), [[1.0, 0.5], [0.5, 2.0]]]),
        dof=np.full(2, TRUE_DOF),
    )
    X, _ = StudentTMixture(2).sample(params, 4000, np.random.default_rng(5))
    fit = emkit.fit(StudentTMixture(2), X, random_state=0, tol=1e-8, max_iter=500)
    assert fit.converged
    np.testing.assert_allclose(fit.params.dof, TRUE_DOF, atol=DOF_ESTIMATE_ATOL)


def test_solve_dof_solves_its_equation() -> None:
    from scipy.special import digamma

    counts = np.array([100.0, 50.0, 10.0, 0.0])
    # Mean of E[log u - u]: well inside, near the Gaussian limit (-1), impossible (> -1), none.
    sums = counts * np.array([-1.2, -1.0005, -0.99, 0.0])
    dof = solve_dof(counts, sums, (0.5, 1000.0), previous=np.full(4, 7.0))
    nu = dof[0]
    assert np.log(nu / 2) - digamma(nu / 2) + 1 - 1.2 == pytest.approx(0.0, abs=1e-10)
    assert 0.5 < dof[1] <= 1000.0
    assert dof[2] == 1000.0  # no sign change: clipped at the upper bound
    assert dof[3] == 7.0  # an empty component keeps its value
    very_heavy = solve_dof(np.array([10.0]), np.array([-1e3]), (0.5, 1000.0), np.ones(1))
    assert very_heavy[0] == 0.5


def test_fixed_dof_stays_with_its_component() -> None:
    model = StudentTMixture(3, dof=[1.0, 5.0, 50.0])
    fit = quiet_fit(model, t_data(), random_state=0, order="canonical")
    assert sorted(fit.params.dof.tolist()) == [1.0, 5.0, 50.0]
    refit = quiet_fit(model, t_data(), init=fit.params, max_iter=3)
    np.testing.assert_array_equal(refit.params.dof, fit.params.dof)


# -- plumbing --------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path) -> None:
    for model in (StudentTMixture(3), StudentTMixture(3, dof=[2.0, 5.0, 9.0], reg_covar=1e-4)):
        fit = quiet_fit(model, t_data(), random_state=0)
        emkit.save(fit, tmp_path / "t.json")
        back = emkit.load(tmp_path / "t.json")
        assert back.model == model
        for name in ("weights", "means", "covariances", "dof"):
            np.testing.assert_allclose(
                getattr(back.params, name), getattr(fit.params, name), rtol=ROUND_TRIP_RTOL
            )


def test_sample_and_capabilities() -> None:
    model = StudentTMixture(3)
    params = known_params()
    X, labels = model.sample(params, 500, np.random.default_rng(0))
    assert X.shape == (500, 2)
    assert labels.shape == (500,)
    assert isinstance(model, emkit.protocols.Clustering)
    assert isinstance(model, emkit.protocols.Scoring)
    assert isinstance(model, emkit.protocols.Sampling)
    assert isinstance(model, emkit.protocols.ComponentSummary)
    assert isinstance(model, emkit.protocols.Diagnosing)
    assert isinstance(model, emkit.protocols.ChunkCost)
    assert model.n_parameters(2) == 2 + 6 + 9 + 3
    assert StudentTMixture(3, dof=4.0).n_parameters(2) == 2 + 6 + 9
    stats, _ = model.e_step(X, params)
    assert isinstance(stats, StudentTStats)


def test_float32_input() -> None:
    X = t_data()
    fit64 = quiet_fit(StudentTMixture(3), X, random_state=0, tol=1e-8)
    fit32 = quiet_fit(StudentTMixture(3), X.astype(np.float32), random_state=0, tol=1e-8)
    np.testing.assert_allclose(fit32.params.means, fit64.params.means, rtol=FLOAT32_RTOL)
    model = StudentTMixture(3)
    assert model.score_samples(X.astype(np.float32), fit32.params).dtype == np.float32
    assert model.responsibilities(X.astype(np.float32), fit32.params).dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": 0}, r"`n_components` must be >= 1; got 0"),
        ({"n_components": 2, "dof": -1.0}, r"`dof` must be > 0.0; got -1.0"),
        ({"n_components": 2, "dof": [1.0, 0.0]}, r"`dof` must be > 0; got 0.0 at index 1"),
        ({"n_components": 2, "dof": [1.0, 2.0, 3.0]}, r"`dof` as an array must have shape"),
        ({"n_components": 2, "dof_bounds": (5.0, 1.0)}, r"`dof_bounds` must have low < high"),
        ({"n_components": 2, "dof_bounds": 3.0}, r"`dof_bounds` must be a pair"),
        ({"n_components": 2, "reg_covar": -1.0}, r"`reg_covar` must be >= 0.0; got -1.0"),
        ({"n_components": 2, "weight_concentration": 0.5}, r"`weight_concentration` must be >= 1"),
    ],
)
def test_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StudentTMixture(**kwargs)


def test_bad_params() -> None:
    model = StudentTMixture(3)
    good = known_params()
    with pytest.raises(TypeError, match="must be StudentTParams"):
        model.validate_params("nope", 2)
    bad_weights = StudentTParams(np.array([0.5, 0.5, 0.5]), good.means, good.covariances, good.dof)
    with pytest.raises(ValueError, match=r"`params.weights` must be non-negative and sum to 1"):
        model.validate_params(bad_weights, 2)
    bad_dof = StudentTParams(good.weights, good.means, good.covariances, np.array([1.0, -1, 2]))
    with pytest.raises(ValueError, match=r"`params.dof` must be > 0; got -1.0 at index 1"):
        model.validate_params(bad_dof, 2)
    not_pd = good.covariances.copy()
    not_pd[1] = -np.eye(2)
    with pytest.raises(ValueError, match=r"component\(s\) \[1\] is not positive definite"):
        model.validate_params(StudentTParams(good.weights, good.means, not_pd, good.dof), 2)
    with pytest.raises(ValueError, match=r"`params.means` must have shape \(3, 3\)"):
        model.validate_params(good, 3)
    with pytest.raises(ValueError, match=r"`params.dof` must hold the model's fixed `dof`"):
        StudentTMixture(3, dof=4.0).validate_params(good, 2)
    with pytest.raises(ValueError, match="must contain only finite values"):
        emkit.fit(model, np.array([[0.0, np.nan]] * 10))
