"""RegressionMixture: mixtures of Gaussian, Poisson and logistic regressions (with concomitant
variables and groups) against independent references, recovery of known mixtures, generalised
EM's inner steps, save/load and errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emkit
import emkit.protocols
from emkit.em import DECREASE_RTOL
from emkit.exceptions import ConvergenceWarning
from emkit.regression import RegressionMixture, RegressionParams, RegressionStats
from emkit.stats import add, take_components
from emkit.testing import check_model

#: The model's Gaussian EM and the straightforward loop agree per iteration (parameters).
LOOP_RTOL = 1e-8
#: The fixed point of emkit.fit and scipy's maximiser of Q agree (relative, coefficients).
FIXED_POINT_RTOL = 1e-8
#: EM iterations to reach a fixed point (tol=0: all are run).
FIXED_POINT_ITER = 600
#: Gradient of the log-likelihood at the fixed point, per observation (central differences).
STATIONARY_ATOL = 1e-6
#: Step of the central differences.
DIFF_STEP = 1e-5
#: A recovered coefficient lies within this many standard errors of the truth.
N_STANDARD_ERRORS = 4.0
#: Groups of size 1 and no groups give the same fit.
GROUPS_OF_ONE_RTOL = 1e-10
#: A saved and loaded parameter is the same float.
ROUND_TRIP_RTOL = 0.0
#: Incremental EM reaches batch EM's fixed point.
INCREMENTAL_RTOL = 1e-5
#: The inner bound at the E-step's parameters is the log-likelihood.
BOUND_RTOL = 1e-12

TRUE_COEF = np.array([[1.0, 2.0, -1.0], [-1.0, -1.0, 0.5]])


def quiet_fit(*args: object, **kwargs: object) -> emkit.FitResult[RegressionParams]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return emkit.fit(*args, **kwargs)  # type: ignore[arg-type]


def synthetic(
    family: str,
    n: int = 300,
    seed: int = 0,
    concomitant: bool = False,
    group_size: int = 1,
    coef: np.ndarray = TRUE_COEF,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (x1, x2, [w], y) of a two-component regression mixture, and the components."""
    rng = np.random.default_rng(seed)
    n_groups = n // group_size
    x = rng.uniform(-2.0, 2.0, (n, 2))
    w = np.repeat(rng.standard_normal(n_groups), group_size)
    if concomitant:
        pi1 = scipy.special.expit(0.3 + 1.5 * w[::group_size])
    else:
        pi1 = np.full(n_groups, 0.4)
    z = np.repeat((rng.random(n_groups) < pi1).astype(int), group_size)
    eta = coef[z, 0] + np.einsum("np,np->n", x, coef[z, 1:])
    if family == "gaussian":
        y = eta + np.where(z == 0, 0.5, 1.0) * rng.standard_normal(n)
    elif family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = (rng.random(n) < scipy.special.expit(eta)).astype(float)
    columns = [x, w[:, None]] if concomitant else [x]
    return np.column_stack([*columns, y]), z


# -- the contract ----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
@pytest.mark.parametrize("concomitant", [False, True])
def test_check_model(family: str, concomitant: bool) -> None:
    model = RegressionMixture(2, family, n_concomitant=int(concomitant))
    X, _ = synthetic(family, concomitant=concomitant)
    check_model(model, X)


@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
@pytest.mark.parametrize("concomitant", [False, True])
def test_check_model_with_groups(family: str, concomitant: bool) -> None:
    model = RegressionMixture(2, family, n_concomitant=int(concomitant))
    X, _ = synthetic(family, concomitant=concomitant, group_size=3)
    check_model(model, X, lengths=np.full(100, 3))


def test_shared_scale_check_model() -> None:
    X, _ = synthetic("gaussian")
    check_model(RegressionMixture(2, shared_scale=True), X)


def test_capabilities() -> None:
    model = RegressionMixture(2)
    for capability in (
        emkit.protocols.RowBlocks,
        emkit.protocols.Clustering,
        emkit.protocols.Scoring,
        emkit.protocols.Sampling,
        emkit.protocols.ComponentSummary,
        emkit.protocols.Diagnosing,
    ):
        assert isinstance(model, capability)
    assert model.default_lengths(10) is None
    iterative = getattr(emkit.protocols, "IterativeMStep", None)
    if iterative is not None:
        assert isinstance(model, iterative)


def test_n_parameters() -> None:
    # 3 columns: 2 covariates and y; K = 3.
    assert RegressionMixture(3).n_parameters(3) == 2 + 9 + 3
    assert RegressionMixture(3, shared_scale=True).n_parameters(3) == 2 + 9 + 1
    assert RegressionMixture(3, "poisson").n_parameters(3) == 2 + 9
    # 1 covariate, 1 concomitant variable: gating (K - 1) x 2.
    assert RegressionMixture(3, "bernoulli", n_concomitant=1).n_parameters(3) == 4 + 6


# -- against a straightforward EM loop (Gaussian) --------------------------------------------------
def reference_gaussian_em(
    X: np.ndarray, weights: np.ndarray, coef: np.ndarray, sd: np.ndarray, n_iter: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Textbook EM for a mixture of linear regressions (flexmix's, with ML variances)."""
    A = np.column_stack([np.ones(len(X)), X[:, :-1]])
    y = X[:, -1]
    out = []
    for _ in range(n_iter):
        dens = np.stack(
            [
                weights[k]
                * np.exp(-0.5 * ((y - A @ coef[k]) / sd[k]) ** 2)
                / (np.sqrt(2 * np.pi) * sd[k])
                for k in range(len(weights))
            ],
            axis=1,
        )
        r = dens / dens.sum(axis=1, keepdims=True)
        weights = r.mean(axis=0)
        coef = np.stack(
            [
                np.linalg.lstsq(A * np.sqrt(r[:, [k]]), y * np.sqrt(r[:, k]), rcond=None)[0]
                for k in range(len(weights))
            ]
        )
        sd = np.sqrt(
            np.array([np.sum(r[:, k] * (y - A @ coef[k]) ** 2) / r[:, k].sum() for k in range(2)])
        )
        out.append((weights, coef, sd))
    return out


def test_gaussian_em_agrees_with_a_straightforward_loop() -> None:
    X, _ = synthetic("gaussian")
    model = RegressionMixture(2)
    params = RegressionParams(
        weights=np.array([0.5, 0.5]),
        coef=np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]),
        scale=np.array([1.0, 2.0]),
        gating=np.zeros((2, 1)),
    )
    expected = reference_gaussian_em(X, params.weights, params.coef, params.scale, 30)
    for weights, coef, sd in expected:
        params = model.m_step(model.e_step(X, params)[0])
        np.testing.assert_allclose(params.weights, weights, rtol=LOOP_RTOL)
        np.testing.assert_allclose(params.coef, coef, rtol=LOOP_RTOL)
        np.testing.assert_allclose(params.scale, sd, rtol=LOOP_RTOL)
    start = RegressionParams(
        weights=np.array([0.5, 0.5]),
        coef=np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]),
        scale=np.array([1.0, 2.0]),
        gating=np.zeros((2, 1)),
    )
    fitted = quiet_fit(model, X, init=start, max_iter=30, tol=0.0)
    np.testing.assert_allclose(fitted.params.coef, expected[-1][1], rtol=LOOP_RTOL)


# -- fixed points of GLM components against scipy's maximiser of Q ---------------------------------
def q_maximiser(family: str, X: np.ndarray, resp: np.ndarray, start: np.ndarray) -> np.ndarray:
    """argmax_beta sum_n r_nk log p(y_n | x_n, beta) per component, by scipy.optimize.minimize."""
    A = np.column_stack([np.ones(len(X)), X[:, :-1]])
    y = X[:, -1]
    out = []
    for k in range(resp.shape[1]):
        r = resp[:, k]

        def negative(beta: np.ndarray, r: np.ndarray = r) -> tuple[float, np.ndarray]:
            eta = A @ beta
            if family == "poisson":
                mu = np.exp(eta)
                value = np.sum(r * (y * eta - mu))
            else:
                mu = scipy.special.expit(eta)
                value = np.sum(r * (y * eta - np.logaddexp(0.0, eta)))
            return -value, -(A.T @ (r * (y - mu)))

        def hessian(beta: np.ndarray, r: np.ndarray = r) -> np.ndarray:
            mu = np.exp(A @ beta) if family == "poisson" else scipy.special.expit(A @ beta)
            v = mu if family == "poisson" else mu * (1.0 - mu)
            return (A * (r * v)[:, None]).T @ A

        solution = scipy.optimize.minimize(
            negative,
            start[k] + 0.1,
            jac=True,
            hess=hessian,
            method="trust-exact",
            options={"gtol": 1e-11},
        )
        out.append(solution.x)
    return np.array(out)


@pytest.mark.parametrize("family", ["poisson", "bernoulli"])
def test_glm_fixed_point_is_the_argmax_of_q(family: str) -> None:
    X, _ = synthetic(family, n=400)
    model = RegressionMixture(2, family)
    fitted = quiet_fit(model, X, random_state=0, tol=0.0, max_iter=FIXED_POINT_ITER)
    params = fitted.params
    resp = model.responsibilities(X, params)
    expected = q_maximiser(family, X, resp, params.coef)
    np.testing.assert_allclose(params.coef, expected, rtol=FIXED_POINT_RTOL)
    np.testing.assert_allclose(params.weights, resp.mean(axis=0), rtol=FIXED_POINT_RTOL)

    # The log-likelihood is stationary in every coefficient.
    def log_likelihood(coef: np.ndarray) -> float:
        moved = RegressionParams(params.weights, coef, params.scale, params.gating)
        return float(model.score_samples(X, moved).sum())

    for index in np.ndindex(params.coef.shape):
        step = np.zeros_like(params.coef)
        step[index] = DIFF_STEP
        slope = (log_likelihood(params.coef + step) - log_likelihood(params.coef - step)) / (
            2 * DIFF_STEP
        )
        assert abs(slope) / len(X) < STATIONARY_ATOL


def test_concomitant_fixed_point_is_the_argmax_of_q() -> None:
    X, _ = synthetic("gaussian", n=400, concomitant=True)
    model = RegressionMixture(2, n_concomitant=1)
    fitted = quiet_fit(model, X, random_state=0, tol=0.0, max_iter=FIXED_POINT_ITER, n_init=3)
    params = fitted.params
    resp = model.responsibilities(X, params)
    C = np.column_stack([np.ones(len(X)), X[:, 2]])

    def negative(gamma1: np.ndarray) -> tuple[float, np.ndarray]:
        scores = np.column_stack([np.zeros(len(X)), C @ gamma1])
        log_pi = scores - scipy.special.logsumexp(scores, axis=1)[:, None]
        return -float(np.sum(resp * log_pi)), -(C.T @ (resp[:, 1] - np.exp(log_pi[:, 1])))

    def hessian(gamma1: np.ndarray) -> np.ndarray:
        pi = scipy.special.expit(C @ gamma1)
        return (C * (pi * (1.0 - pi))[:, None]).T @ C

    # The fit's gating relative to its component 0 (the softmax is the same).
    gating = params.gating - params.gating[0]
    solution = scipy.optimize.minimize(
        negative,
        gating[1] + 0.1,
        jac=True,
        hess=hessian,
        method="trust-exact",
        options={"gtol": 1e-11},
    )
    np.testing.assert_allclose(gating[1], solution.x, rtol=FIXED_POINT_RTOL)
    # The true gating slope is 1.5 for the component of slope 2 in x1.
    sign = 1.0 if params.coef[1, 1] < params.coef[0, 1] else -1.0
    assert abs(sign * gating[1, 1] - 1.5) < 1.0


# -- recovery of known mixtures --------------------------------------------------------------------
def standard_errors(
    model: RegressionMixture, X: np.ndarray, params: RegressionParams
) -> np.ndarray:
    """Complete-data standard errors of the coefficients at the fit (K, P + 1)."""
    stats = model.e_step(X, params)[0]
    cov = np.linalg.inv(stats.ata)
    if model.family == "gaussian":
        cov = cov * (params.scale**2)[:, None, None]
    return np.sqrt(np.diagonal(cov, axis1=1, axis2=2))


@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
def test_recovers_a_known_mixture(family: str) -> None:
    n = 3000 if family == "bernoulli" else 1500
    coef = TRUE_COEF * (3.0 if family == "bernoulli" else 1.0)
    X, z = synthetic(family, n=n, seed=1, coef=coef)
    model = RegressionMixture(2, family)
    params = quiet_fit(model, X, random_state=0, n_init=3, tol=1e-8, max_iter=300).params
    order = np.argsort(-params.coef[:, 1])  # the true first component has the larger slope
    fitted = params.coef[order]
    errors = standard_errors(model, X, params)[order]
    assert np.all(np.abs(fitted - coef) < N_STANDARD_ERRORS * errors), (fitted, errors)
    share = np.mean(z == 0)
    assert abs(params.weights[order][0] - share) < 0.05
    if family == "gaussian":
        np.testing.assert_allclose(params.scale[order], [0.5, 1.0], rtol=0.15)


@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
def test_recovers_a_known_mixture_with_groups(family: str) -> None:
    coef = TRUE_COEF * (3.0 if family == "bernoulli" else 1.0)
    X, z = synthetic(family, n=900, seed=2, group_size=3, coef=coef)
    model = RegressionMixture(2, family)
    lengths = np.full(300, 3)
    params = quiet_fit(model, X, lengths=lengths, random_state=0, n_init=3, tol=1e-10).params
    order = np.argsort(-params.coef[:, 1])
    errors = standard_errors(model, X, params)[order]
    assert np.all(np.abs(params.coef[order] - coef) < N_STANDARD_ERRORS * errors)
    labels = model.predict(X, params, lengths=lengths)
    assert np.all(labels.reshape(300, 3) == labels.reshape(300, 3)[:, :1])
    assert max(np.mean(labels == z), np.mean(labels != z)) > 0.95


@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
def test_groups_of_one_equal_the_ungrouped_fit(family: str) -> None:
    X, _ = synthetic(family, concomitant=True, group_size=3)
    model = RegressionMixture(2, family, n_concomitant=1)
    start = model.init_params(X, np.random.default_rng(0), "random")
    plain = quiet_fit(model, X, init=start, max_iter=20, tol=0.0)
    grouped = quiet_fit(model, X, init=start, max_iter=20, tol=0.0, lengths=np.ones(len(X), int))
    for name in ("weights", "coef", "scale", "gating"):
        np.testing.assert_allclose(
            getattr(grouped.params, name), getattr(plain.params, name), rtol=GROUPS_OF_ONE_RTOL
        )
    np.testing.assert_allclose(grouped.history, plain.history, rtol=GROUPS_OF_ONE_RTOL)
    scores = model.score_samples(X, plain.params, lengths=np.full(100, 3))
    total = model.e_step(X, plain.params, lengths=np.full(100, 3))[1]
    np.testing.assert_allclose(scores.sum(), total, rtol=BOUND_RTOL)


# -- generalised EM: the inner steps ---------------------------------------------------------------
@pytest.mark.parametrize("family", ["gaussian", "poisson", "bernoulli"])
def test_inner_bound(family: str) -> None:
    X, _ = synthetic(family, concomitant=True, group_size=3)
    lengths = np.full(100, 3)
    model = RegressionMixture(2, family, n_concomitant=1)
    outer = model.init_params(X, np.random.default_rng(1), "random")
    stats, log_likelihood = model.e_step(X, outer, lengths=lengths)
    _, bound = model.inner_e_step(X, outer, outer, lengths=lengths)
    assert bound == log_likelihood
    # Inner Newton steps on the bound: F never falls below the log-likelihood at the start and
    # stays below the log-likelihood of the candidate (Jensen); the inner loop converges.
    candidate, best = model.m_step(stats), log_likelihood
    for _ in range(model.max_inner_steps):
        stats_c, bound_c = model.inner_e_step(X, outer, candidate, lengths=lengths)
        ll_c = model.e_step(X, candidate, lengths=lengths)[1]
        assert bound_c <= ll_c + BOUND_RTOL * abs(ll_c)
        assert bound_c >= best - DECREASE_RTOL[np.dtype(np.float64)] * abs(best)
        best = bound_c
        previous, candidate = candidate, model.m_step(stats_c)
        if model.inner_converged(previous, candidate):
            break
    assert model.inner_converged(previous, candidate)


def test_relabelled_statistics_give_relabelled_parameters() -> None:
    X, _ = synthetic("bernoulli", concomitant=True)
    model = RegressionMixture(3, "bernoulli", n_concomitant=1)
    params = model.init_params(X, np.random.default_rng(0), "random")
    stats = model.e_step(X, params)[0]
    order = np.array([2, 0, 1])
    moved = model.m_step(take_components(stats, order))
    expected = take_components(model.m_step(stats), order)
    np.testing.assert_allclose(moved.coef, expected.coef, rtol=1e-10)
    np.testing.assert_allclose(
        model.responsibilities(X, moved), model.responsibilities(X, expected), rtol=1e-10
    )


def test_recentered_statistics_add() -> None:
    X, _ = synthetic("poisson", concomitant=True)
    model = RegressionMixture(2, "poisson", n_concomitant=1)
    params = model.init_params(X, np.random.default_rng(0), "random")
    first = model.e_step(X[:150], params)[0]
    second = model.e_step(X[150:], model.m_step(first))[0]
    assert isinstance(add(first.recenter(second), second), RegressionStats)


@pytest.mark.parametrize("family", ["gaussian", "poisson"])
def test_incremental_em_reaches_the_batch_fixed_point(family: str) -> None:
    X, _ = synthetic(family, n=400)
    model = RegressionMixture(2, family)
    batch = quiet_fit(model, X, random_state=0, tol=1e-12, max_iter=2000)
    incremental = quiet_fit(
        model,
        X,
        init=batch.params,
        schedule="incremental",
        chunk_size=100,
        tol=1e-12,
        max_iter=200,
    )
    np.testing.assert_allclose(incremental.params.coef, batch.params.coef, rtol=INCREMENTAL_RTOL)


@pytest.mark.skipif(
    not hasattr(emkit.protocols, "IterativeMStep"),
    reason="the driver's inner M-steps (emkit.protocols.IterativeMStep) are not there yet",
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["gaussian", "poisson", "bernoulli"]),
    concomitant=st.booleans(),
    seed=st.integers(0, 2**16),
    n_components=st.integers(2, 3),
)
def test_em_is_monotone(family: str, concomitant: bool, seed: int, n_components: int) -> None:
    X, _ = synthetic(family, n=120, seed=seed, concomitant=concomitant, group_size=2)
    model = RegressionMixture(n_components, family, n_concomitant=int(concomitant))
    result = quiet_fit(
        model, X, init="random", random_state=seed, max_iter=25, tol=0.0, lengths=np.full(60, 2)
    )
    history = np.asarray(result.history)
    allowed = DECREASE_RTOL[np.dtype(np.float64)] * (np.abs(history[:-1]) + len(X))
    assert np.all(history[:-1] - history[1:] <= allowed)


# -- plumbing --------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path) -> None:
    X, _ = synthetic("bernoulli", concomitant=True)
    model = RegressionMixture(2, "bernoulli", n_concomitant=1, inner_tol=1e-9)
    fit = quiet_fit(model, X, random_state=0, max_iter=20)
    emkit.save(fit, tmp_path / "r.json")
    back = emkit.load(tmp_path / "r.json")
    assert back.model == model
    for name in ("weights", "coef", "scale", "gating"):
        np.testing.assert_allclose(
            getattr(back.params, name), getattr(fit.params, name), rtol=ROUND_TRIP_RTOL
        )


def test_sampling() -> None:
    model = RegressionMixture(2, "poisson", n_concomitant=1)
    params = RegressionParams(
        weights=np.array([0.5, 0.5]),
        coef=np.array([[0.5, 1.0], [1.0, -0.5]]),
        scale=np.ones(2),
        gating=np.array([[0.0, 0.0], [0.2, 3.0]]),
    )
    X, labels = model.sample(params, 2000, np.random.default_rng(0))
    assert X.shape == (2000, 3)
    model.validate_data(X)
    # The gating favours component 1 where the concomitant variable is large.
    assert labels[X[:, 1] > 1].mean() > 0.9
    assert labels[X[:, 1] < -1].mean() < 0.1
    mean = model.mean_response(X[:, :-1], params)
    assert mean.shape == (2000,)
    assert np.all(mean > 0)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"found -1\.0 at row 1"):
        RegressionMixture(2, "poisson").validate_data(np.array([[0.0, 1.0], [1.0, -1.0]]))
    with pytest.raises(ValueError, match=r"found 0\.5 at row 0"):
        RegressionMixture(2, "bernoulli").validate_data(np.array([[0.0, 0.5], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="`family` must be one of"):
        RegressionMixture(2, "gamma")
    with pytest.raises(ValueError, match="shared_scale"):
        RegressionMixture(2, "poisson", shared_scale=True)
    with pytest.raises(ValueError, match="weight_concentration"):
        RegressionMixture(2, n_concomitant=1, weight_concentration=2.0)
    with pytest.raises(ValueError, match="at least n_concomitant \\+ 1 = 3 columns"):
        RegressionMixture(2, n_concomitant=2).validate_data(np.ones((4, 2)))
    X, _ = synthetic("gaussian", concomitant=True)
    model = RegressionMixture(2, n_concomitant=1)
    params = model.init_params(X, np.random.default_rng(0), "random")
    with pytest.raises(ValueError, match="concomitant variables must be the same"):
        model.e_step(X, params, lengths=np.full(100, 3))
