"""The EM driver: determinism, restarts, history, callbacks, warnings, labels, priors, sampling."""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit.mixture import COLLAPSE_COUNT

#: Objectives that should be equal up to summation order.
SAME_RTOL = 1e-12


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return emkit.datasets.load_faithful().data


def test_same_seed_gives_identical_result(faithful: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 3)
    a = emkit.fit(model, faithful, n_init=3, random_state=7)
    b = emkit.fit(model, faithful, n_init=3, random_state=np.random.default_rng(7))
    assert np.array_equal(a.params.components.means, b.params.components.means)
    assert np.array_equal(a.history, b.history)
    c = emkit.fit(model, faithful, n_init=3, random_state=8)
    assert not np.array_equal(a.restart_objectives, c.restart_objectives)


def test_restarts_keep_the_best(faithful: np.ndarray) -> None:
    result = emkit.fit(emkit.FiniteMixture(emkit.Gaussian(), 4), faithful, n_init=5, random_state=0)
    assert result.restart_objectives.shape == (5,)
    assert result.objective == result.restart_objectives.max()
    assert result.restart == int(np.argmax(result.restart_objectives))


def test_result_reports_its_own_parameters(faithful: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    result = emkit.fit(model, faithful, random_state=0)
    assert result.converged
    assert result.history.shape == (result.n_iter + 1,)
    assert result.history[-1] == result.objective
    # The reported log-likelihood belongs to the returned parameters.
    np.testing.assert_allclose(
        model.score_samples(faithful, result.params).sum(), result.log_likelihood, rtol=SAME_RTOL
    )
    assert result.n_samples == faithful.shape[0]
    assert result.n_features == 2
    assert result.mean_log_likelihood == result.log_likelihood / 272


def test_callbacks_see_every_iteration_and_can_stop(faithful: np.ndarray) -> None:
    trace: list[emkit.IterationState[Any]] = []
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    result = emkit.fit(model, faithful, callbacks=[trace.append], random_state=0, tol=1e-8)
    assert [s.iteration for s in trace] == list(range(result.n_iter + 1))
    assert np.isnan(trace[0].change)
    np.testing.assert_array_equal([s.objective for s in trace], result.history)
    assert trace[-1].params is result.params
    # A teaching trace: the means move at every iteration.
    assert not np.array_equal(trace[0].params.components.means, trace[1].params.components.means)

    def stop_at_three(state: emkit.IterationState[Any]) -> bool:
        return state.iteration == 3

    stopped = emkit.fit(model, faithful, callbacks=[stop_at_three], random_state=0, tol=0.0)
    assert stopped.n_iter == 3
    assert not stopped.converged


def test_convergence_warning_when_max_iter_ends_the_fit(faithful: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 3)
    with pytest.warns(emkit.ConvergenceWarning, match=r"did not converge in max_iter=2"):
        result = emkit.fit(model, faithful, max_iter=2, random_state=0)
    assert not result.converged
    assert result.n_iter == 2


def test_max_iter_zero_evaluates_the_start(faithful: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    start = model.init_params(faithful, np.random.default_rng(0), "kmeans")
    result = emkit.fit(model, faithful, init=start, max_iter=0)
    assert result.n_iter == 0
    assert result.params is not None
    np.testing.assert_array_equal(result.params.components.means, start.components.means)


def test_init_callable(faithful: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)

    def from_extremes(X: np.ndarray, rng: np.random.Generator) -> emkit.MixtureParams[Any]:
        labels = (X[:, 0] > np.median(X[:, 0])).astype(int)
        return model.params_from_responsibilities(X, np.eye(2)[labels])

    result = emkit.fit(model, faithful, init=from_extremes)
    assert result.converged


@pytest.mark.parametrize("init", emkit.INIT_METHODS)
def test_every_init_method_finds_the_two_faithful_clusters(faithful: np.ndarray, init: str) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    # Random responsibilities start every component near the overall mean, where EM moves
    # slowly at first: a small tol keeps it from stopping on that plateau.
    result = emkit.fit(
        model, faithful, init=init, n_init=3, random_state=0, max_iter=2000, tol=1e-8
    )
    np.testing.assert_allclose(np.sort(result.params.weights), [0.356, 0.644], atol=0.01)


@attrs.frozen
class _ShrinkingMixture:
    """A deliberately wrong model: its M-step pulls the means towards the origin."""

    inner: emkit.FiniteMixture[Any, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def m_step(self, stats: Any) -> Any:
        params = self.inner.m_step(stats)
        components = emkit.GaussianParams(
            0.5 * params.components.means, params.components.covariances
        )
        return emkit.MixtureParams(params.weights, components)


@pytest.mark.filterwarnings("ignore::emkit.DegenerateComponentWarning")
def test_a_decrease_of_the_objective_is_reported_loudly(faithful: np.ndarray) -> None:
    model = _ShrinkingMixture(emkit.FiniteMixture(emkit.Gaussian(), 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        with pytest.warns(
            emkit.LikelihoodDecreaseWarning,
            match=r"objective of _ShrinkingMixture decreased.*m_step does not maximise",
        ):
            emkit.fit(model, faithful, max_iter=5, random_state=0)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Gaussian component")  # it also has no spread: reported too
def test_collapsed_component_is_reported() -> None:
    X = np.random.default_rng(0).normal(size=(200, 2))
    model = emkit.FiniteMixture(emkit.Gaussian(), 3)
    start = emkit.MixtureParams(
        np.array([0.5, 0.5 - 1e-12, 1e-12]),
        emkit.GaussianParams(
            np.array([[0.0, 0.0], [0.1, 0.0], [50.0, 50.0]]), np.stack([np.eye(2)] * 3)
        ),
    )
    with pytest.warns(
        emkit.DegenerateComponentWarning, match=r"component\(s\) \[2\] hold fewer than"
    ):
        result = emkit.fit(model, X, init=start, max_iter=5, tol=0.0)
    assert np.isfinite(result.params.components.means).all()
    assert np.isfinite(result.params.components.covariances).all()
    assert result.params.weights[2] < COLLAPSE_COUNT / 200


@pytest.mark.parametrize("kind", ["gaussian", "bernoulli", "poisson"])
def test_known_labels_fix_responsibilities(kind: str) -> None:
    rng = np.random.default_rng(3)
    if kind == "gaussian":
        family: Any = emkit.Gaussian()
        X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))])
    elif kind == "bernoulli":
        family = emkit.Bernoulli()
        X = np.vstack([rng.random((60, 6)) < 0.2, rng.random((60, 6)) < 0.8]).astype(float)
    else:
        family = emkit.Poisson()
        X = np.vstack([rng.poisson(1.0, (60, 3)), rng.poisson(8.0, (60, 3))]).astype(float)
    model = emkit.FiniteMixture(family, 2)
    labels = np.full(120, -1)
    labels[:5], labels[60:65] = 1, 0  # name the first cluster "1" and the second "0"
    result = emkit.fit(model, X, labels=labels, random_state=0)
    assert result.converged
    # The labelled rows pin the naming of the components for everyone else.
    assert np.mean(model.predict(X[:60], result.params) == 1) > 0.9
    assert np.mean(model.predict(X[60:], result.params) == 0) > 0.9
    stats, _ = model.e_step(X[:5], result.params, labels=labels[:5])
    np.testing.assert_array_equal(stats.counts, [0.0, 5.0])


def test_dirichlet_prior_on_the_weights() -> None:
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (95, 1)), rng.normal(8, 1, (5, 1))])
    alpha = 11.0
    model = emkit.FiniteMixture(emkit.Gaussian(), 2, weight_concentration=alpha)
    result = emkit.fit(model, X, random_state=0, tol=1e-10, max_iter=1000)
    stats, _ = model.e_step(X, result.params)
    expected = (stats.counts + alpha - 1) / (100 + 2 * (alpha - 1))
    np.testing.assert_allclose(result.params.weights, expected, rtol=1e-6)
    assert result.log_prior != 0.0
    assert result.objective == result.log_likelihood + result.log_prior
    # MAP weights are pulled towards 1/2 compared with maximum likelihood.
    ml = emkit.fit(emkit.FiniteMixture(emkit.Gaussian(), 2), X, random_state=0)
    assert result.params.weights.min() > ml.params.weights.min()


def test_sampling_returns_rows_and_their_components() -> None:
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 3)
    params = emkit.MixtureParams(
        np.array([0.2, 0.3, 0.5]),
        emkit.GaussianParams(np.array([[-10.0, 0], [0, 0], [10, 0]]), np.ones((3, 2))),
    )
    X, labels = model.sample(params, 20_000, np.random.default_rng(0))
    assert X.shape == (20_000, 2)
    # Proportions within 4 binomial standard errors of the weights (sd <= 0.0036 here).
    np.testing.assert_allclose(np.bincount(labels) / 20_000, params.weights, atol=0.015)
    for k in range(3):
        np.testing.assert_allclose(
            X[labels == k].mean(axis=0), params.components.means[k], atol=0.1
        )


#: float32 data carries ~7 significant digits; the fitted parameters keep about four of them.
FLOAT32_RTOL = 1e-4


def test_float32_data_fits_like_float64() -> None:
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 1, (300, 3)), rng.normal(5, 1, (300, 3))]).astype(np.float32)
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    r32 = emkit.fit(model, X, random_state=0)
    r64 = emkit.fit(model, X.astype(np.float64), random_state=0)
    np.testing.assert_allclose(
        r32.params.components.means, r64.params.components.means, rtol=FLOAT32_RTOL
    )


@pytest.mark.parametrize("kind", ["full", "tied", "diag"])
def test_constant_column_is_handled_and_reported(kind: str) -> None:
    # (A spherical variance pools every feature, so a constant column does not make it vanish.)
    rng = np.random.default_rng(6)
    X = np.column_stack([np.r_[rng.normal(0, 1, 100), rng.normal(6, 1, 100)], np.full(200, 3.0)])
    model = emkit.FiniteMixture(emkit.Gaussian(kind), 2)
    with pytest.warns(emkit.DegenerateComponentWarning, match=r"no spread.*reg_covar=1e-06 alone"):
        result = emkit.fit(model, X, random_state=0)
    assert np.isfinite(result.log_likelihood)
    np.testing.assert_allclose(result.params.components.means[:, 1], 3.0)


def test_duplicate_rows_fit_and_are_reported() -> None:
    X = np.repeat(np.random.default_rng(7).normal(size=(4, 2)), 25, axis=0)
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 4)
    with pytest.warns(emkit.DegenerateComponentWarning, match=r"component\(s\) \[0, 1, 2, 3\]"):
        result = emkit.fit(model, X, random_state=0)
    np.testing.assert_allclose(result.params.weights, 0.25)
