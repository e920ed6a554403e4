"""Generalised EM: a model whose M-step is itself iterative, run by the driver's inner passes.

The model here is a Poisson mixture whose M-step does not jump to the closed form ``log(S / n)``
but takes one Newton step on the log-rates, as a GLM's IRLS does; the driver's inner passes
(latent posteriors held fixed) must then reach the closed-form M-step, so the fit equals
``FiniteMixture(Poisson())`` iteration by iteration. A model whose step overshoots must be
reined in by the halving, so the log-likelihood never decreases.
"""

from __future__ import annotations

import warnings
from typing import Any, final

import attrs
import numpy as np
import pytest

import emkit
from emkit._backend import Array, gammaln, logsumexp
from emkit.protocols import IterativeMStep
from emkit.schedules import BatchEM
from emkit.stats import NOT_ADDITIVE

#: The inner loop converged to the closed-form M-step: both fits agree to this, relative.
INNER_RTOL = 1e-9

#: Sources differ by the order of floating-point additions only.
SOURCE_RTOL = 1e-10

#: Relative change of the log-rates at which the inner iteration has converged.
INNER_TOL = 1e-13


@final
@attrs.frozen(eq=False)
class RateParams:
    weights: Array
    log_rates: Array  # (K, D)


@final
@attrs.frozen(eq=False)
class RateStats:
    counts: Array  # (K,)
    sums: Array  # (K, D): sum r x
    at: Array = attrs.field(metadata=NOT_ADDITIVE)  # the log-rates the step starts from


@final
@attrs.frozen
class NewtonPoissonMixture:
    """A Poisson mixture whose M-step is one (optionally stretched) Newton step on log-rates."""

    n_components: int
    max_inner_steps: int = 50
    stretch: float = 1.0  # > 1: the step overshoots, and the driver must halve it

    def validate_data(self, X: Array) -> Array:
        return X

    def init_params(self, X: Array, rng: Any, method: str, weights: Any = None) -> RateParams:
        start = emkit.FiniteMixture(emkit.Poisson(), self.n_components).init_params(X, rng, method)
        return RateParams(start.weights, np.log(start.components.mean))

    def validate_params(self, params: Any, n_features: int) -> RateParams:
        return params  # type: ignore[no-any-return]

    def _log_joint(self, X: Array, params: RateParams) -> Array:
        rates = np.exp(params.log_rates)
        log_pmf = X @ params.log_rates.T - rates.sum(axis=1) - gammaln(X + 1).sum(axis=1)[:, None]
        return log_pmf + np.log(params.weights)  # type: ignore[no-any-return]

    def inner_e_step(
        self,
        X: Array,
        outer: RateParams,
        current: RateParams,
        weights: Any = None,
        labels: Any = None,
        lengths: Any = None,
    ) -> tuple[RateStats, float]:
        log_joint = self._log_joint(X, outer)
        log_norm = logsumexp(log_joint, axis=1)
        resp = np.exp(log_joint - log_norm[:, None])
        bound = float(
            np.sum(resp * (self._log_joint(X, current) - (log_joint - log_norm[:, None])))
        )
        return RateStats(resp.sum(axis=0), resp.T @ X, current.log_rates), bound

    def e_step(
        self, X: Array, params: RateParams, weights: Any = None, labels: Any = None
    ) -> tuple[RateStats, float]:
        stats, _ = self.inner_e_step(X, params, params)
        return stats, float(np.sum(logsumexp(self._log_joint(X, params), axis=1)))

    def m_step(self, stats: RateStats) -> RateParams:
        # Newton on Q_k(eta) = S eta - n exp(eta): eta + (S - n e^eta) / (n e^eta).
        n = stats.counts[:, None]
        fitted = n * np.exp(stats.at)
        log_rates = stats.at + self.stretch * (stats.sums - fitted) / fitted
        return RateParams(stats.counts / stats.counts.sum(), log_rates)

    def inner_converged(self, previous: RateParams, current: RateParams) -> bool:
        change = np.abs(current.log_rates - previous.log_rates)
        return bool(change.max() <= INNER_TOL * (1.0 + np.abs(current.log_rates).max()))

    def log_prior(self, params: RateParams) -> float:
        return 0.0

    def n_parameters(self, n_features: int) -> int:
        return self.n_components - 1 + self.n_components * n_features


def _counts(seed: int = 0) -> Array:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, size=400)
    return rng.poisson(np.array([[2.0, 9.0], [11.0, 3.0]])[z]).astype(float)


def _start(X: Array) -> tuple[RateParams, Any]:
    mixture = emkit.FiniteMixture(emkit.Poisson(), 2)
    start = mixture.init_params(X, np.random.default_rng(3), "kmeans")
    return RateParams(start.weights, np.log(start.components.mean)), start


def test_the_toy_model_has_the_capability() -> None:
    assert isinstance(NewtonPoissonMixture(2), IterativeMStep)


def test_inner_passes_reach_the_closed_form_m_step_every_iteration() -> None:
    X = _counts()
    start, mixture_start = _start(X)
    mixture = emkit.FiniteMixture(emkit.Poisson(), 2)
    for n_iter in (1, 3, 8):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            newton = emkit.fit(NewtonPoissonMixture(2), X, init=start, max_iter=n_iter, tol=0.0)
            closed = emkit.fit(mixture, X, init=mixture_start, max_iter=n_iter, tol=0.0)
        np.testing.assert_allclose(
            np.exp(newton.params.log_rates), closed.params.components.mean, rtol=INNER_RTOL
        )
        np.testing.assert_allclose(newton.history, closed.history, rtol=INNER_RTOL)


def test_without_inner_passes_one_step_per_iteration_reaches_the_same_fixed_point() -> None:
    X = _counts()
    start, mixture_start = _start(X)
    one_step = emkit.fit(NewtonPoissonMixture(2, max_inner_steps=0), X, init=start, tol=1e-12,
                         max_iter=2000)  # fmt: skip
    closed = emkit.fit(emkit.FiniteMixture(emkit.Poisson(), 2), X, init=mixture_start, tol=1e-12,
                       max_iter=2000)  # fmt: skip
    assert one_step.log_likelihood == pytest.approx(closed.log_likelihood, rel=1e-9)
    assert np.all(np.diff(one_step.history) >= -1e-9)


def test_an_overshooting_step_is_halved_and_the_likelihood_never_decreases() -> None:
    X = _counts(1)
    start, mixture_start = _start(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", emkit.LikelihoodDecreaseWarning)
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        result = emkit.fit(NewtonPoissonMixture(2, stretch=3.5), X, init=start, max_iter=30,
                           tol=0.0)  # fmt: skip
    history = np.asarray(result.history)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1]))
    closed = emkit.fit(emkit.FiniteMixture(emkit.Poisson(), 2), X, init=mixture_start, tol=1e-12,
                       max_iter=500)  # fmt: skip
    assert result.log_likelihood == pytest.approx(closed.log_likelihood, rel=1e-6)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_inner_passes_run_on_every_source() -> None:
    da = pytest.importorskip("dask.array")
    X = _counts(2)
    start, _ = _start(X)
    model = NewtonPoissonMixture(2)
    reference = emkit.fit(model, X, init=start, max_iter=5, tol=0.0)
    for data, extra in [
        (X, {"chunk_size": 37}),
        ([X[:150], X[150:]], {}),
        (da.from_array(X, chunks=(90, 2)), {}),
    ]:
        result = emkit.fit(model, data, init=start, max_iter=5, tol=0.0, **extra)
        np.testing.assert_allclose(result.history, reference.history, rtol=SOURCE_RTOL)


def test_the_batch_schedule_counts_its_inner_passes() -> None:
    X = _counts()
    start, _ = _start(X)
    model = NewtonPoissonMixture(2)
    schedule = BatchEM(model, emkit.sources.ArraySource(X))
    stats, _ = schedule.start(start)
    schedule.iterate(stats, model.m_step)
    assert 2 <= schedule.inner_passes <= model.max_inner_steps
