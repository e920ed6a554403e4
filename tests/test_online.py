"""Online EM (Cappé & Moulines) and incremental EM (Neal & Hinton)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import emkit
from emkit._backend import Array
from emkit.families.gaussian import GaussianStats
from emkit.online import (
    OnlineSettings,
    fit_incremental,
    fit_online,
    online_step,
    start_online,
)
from emkit.sources import as_source
from emkit.stats import recenter, scale

from .test_sources import assert_same_params, leaves

#: Two passes of online EM over well-separated data end this close to batch EM, in nats per
#: sample of the full-data log-likelihood: the stochastic-approximation noise left after ~100
#: steps of size ~(t + 2)^-0.6 is a few 1e-4 nats here, well below this bound.
ONLINE_NATS = 2e-3

#: Relative agreement of parameters that follow the same arithmetic in a different order.
EXACT_RTOL = 1e-10

#: The full-data objective may fall by this much per unit weight between sweeps (rounding).
MONOTONE_NATS = 1e-10

#: Incremental and batch EM, both run to a per-sample change below 1e-10, reach the same fixed
#: point: objectives agree to this many nats per sample ...
FIXED_POINT_NATS = 1e-7

#: ... and the parameters to this relative tolerance (near a fixed point the parameters converge
#: like the square root of the objective).
FIXED_POINT_RTOL = 1e-3

N_ROWS = 40_000
BATCH_ROWS = 800


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Tiny matrix solves are slower with a multi-threaded BLAS on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def separated(name: str, n: int = N_ROWS, seed: int = 0) -> tuple[Any, Array]:
    """A well-separated 3-component mixture of the named family (with priors) and its data."""
    rng = np.random.default_rng(seed)
    z = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    if name == "bernoulli":
        probs = np.full((3, 12), 0.1)
        for k in range(3):
            probs[k, 4 * k : 4 * k + 4] = 0.9
        X = (rng.random((n, 12)) < probs[z]).astype(float)
        family: Any = emkit.Bernoulli(pseudo_count=1.0)
    elif name == "poisson":
        rates = np.array([[1.0, 12.0, 3.0], [12.0, 1.0, 6.0], [5.0, 5.0, 20.0]])
        X = rng.poisson(rates[z]).astype(float)
        family = emkit.Poisson(prior_strength=2.0, prior_rate=4.0)
    else:
        centres = np.array([[0.0, 0.0], [9.0, 0.0], [0.0, 9.0]])
        X = centres[z] + rng.normal(size=(n, 2)) @ np.array([[1.0, 0.4], [0.0, 0.8]])
        family = emkit.Gaussian(name)
    return emkit.FiniteMixture(family, 3, weight_concentration=2.0), X


FAMILY_NAMES = ("full", "diag", "bernoulli", "poisson")


def batches(X: Array, passes: int, seed: int) -> Iterator[Array]:
    """``passes`` shuffled passes over ``X`` in mini-batches (a one-shot generator)."""
    rng = np.random.default_rng(seed)
    for _ in range(passes):
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], BATCH_ROWS):
            yield X[order[start : start + BATCH_ROWS]]


# -- online EM ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_two_passes_of_online_em_come_close_to_batch_em(name: str) -> None:
    model, X = separated(name)
    batch = emkit.fit(model, X, random_state=0, tol=1e-6, max_iter=500)
    online = fit_online(model, batches(X, passes=2, seed=1), random_state=0)
    assert online.n_batches == 2 * N_ROWS // BATCH_ROWS
    assert online.n_samples == 2 * N_ROWS
    online_ll = model.score_samples(X, online.params).mean()
    assert abs(online_ll - batch.mean_log_likelihood) < ONLINE_NATS
    assert np.isfinite(online.history).all()


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_polyak_averaging_also_comes_close(name: str) -> None:
    model, X = separated(name, seed=4)
    batch = emkit.fit(model, X, random_state=0, tol=1e-6, max_iter=500)
    online = fit_online(model, batches(X, 2, seed=2), random_state=0, average_after=20, kappa=0.7)
    assert online.state.n_averaged == online.n_batches - 20 + 1
    online_ll = model.score_samples(X, online.params).mean()
    assert abs(online_ll - batch.mean_log_likelihood) < ONLINE_NATS


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_warmup_over_the_whole_stream_is_one_batch_em_step(name: str) -> None:
    """Exact averaging of per-sample statistics, rescaled by N: priors weigh as in batch EM."""
    model, X = separated(name, n=4000)
    start = model.init_params(X[:500], np.random.default_rng(0), "random_from_data")
    stream = list(batches(X, passes=1, seed=0))
    online = fit_online(model, stream, init=start, warmup=len(stream))
    stats, _ = model.e_step(X, start)
    assert_close(online.params, model.m_step(stats))
    declared = fit_online(model, stream, init=start, warmup=len(stream), n_samples=500)
    assert_close(declared.params, model.m_step(scale(stats, 500 / X.shape[0])))


def assert_close(a: Any, b: Any) -> None:
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=EXACT_RTOL, atol=1e-13)


def test_parameters_stay_put_during_the_warmup() -> None:
    model, X = separated("full", n=2000)
    state = start_online(model, X[:200], random_state=0, settings=OnlineSettings(warmup=3))
    first = state
    for start in (0, 200):
        state = online_step(model, state, X[start : start + 200])
        assert state.params is first.params
    state = online_step(model, state, X[400:600])
    assert state.params is not first.params
    assert state.n_batches == 3


def test_online_step_returns_a_new_state() -> None:
    model, X = separated("poisson", n=1000)
    state = start_online(model, X[:100], random_state=0)
    after = online_step(model, state, X[:100])
    again = online_step(model, state, X[:100])
    assert state.n_batches == 0
    assert state.stats is None
    assert after.n_batches == 1
    assert after.n_seen == 100
    assert_close(after.params, again.params)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        after.n_batches = 5  # type: ignore[misc]


def test_weighted_batches_count_their_weight() -> None:
    model, X = separated("diag", n=2000)
    start = model.init_params(X, np.random.default_rng(0), "kmeans")
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    stream = [(X[:1000], weights[:1000]), (X[1000:], weights[1000:])]
    online = fit_online(model, stream, init=start, warmup=2)
    stats, _ = model.e_step(X, start, weights)
    assert online.n_samples == pytest.approx(weights.sum(), rel=1e-12)
    assert_close(online.params, model.m_step(stats))


def test_polyak_average_is_the_mean_of_the_iterates() -> None:
    model, X = separated("bernoulli", n=3000)
    iterates: list[Any] = []
    result = fit_online(
        model,
        batches(X, 1, seed=0),
        random_state=0,
        average_after=2,
        callbacks=[lambda s: iterates.append(s.params)],
    )
    expected = np.mean([p.weights for p in iterates[1:]], axis=0)
    np.testing.assert_allclose(result.params.weights, expected, rtol=EXACT_RTOL)


def test_callback_stops_the_stream() -> None:
    model, X = separated("poisson", n=4000)
    result = fit_online(
        model, batches(X, 1, seed=0), random_state=0, callbacks=[lambda s: s.n_batches == 2]
    )
    assert result.n_batches == 2


def test_gaussian_far_from_the_origin_fits_online() -> None:
    model, X = separated("full", n=20_000)
    near = fit_online(model, batches(X, 1, seed=3), random_state=0)
    far = fit_online(model, batches(X + 1e6, 1, seed=3), random_state=0)
    np.testing.assert_allclose(
        far.params.components.means - 1e6, near.params.components.means, atol=1e-6
    )
    np.testing.assert_allclose(
        far.params.components.covariances, near.params.components.covariances, rtol=1e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kappa": 0.5}, r"`kappa` must be > 0\.5; got 0\.5"),
        ({"kappa": 1.5}, r"`kappa` must be <= 1\.0; got 1\.5"),
        ({"warmup": 0}, r"`warmup` must be >= 1; got 0"),
        ({"offset": -1.0}, r"`offset` must be >= 0\.0"),
        ({"n_samples": 0}, r"`n_samples` must be > 0\.0"),
        ({"average_after": -2}, r"`average_after` must be >= 0"),
    ],
)
def test_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    model, X = separated("poisson", n=100)
    with pytest.raises(ValueError, match=message):
        fit_online(model, [X], **kwargs)


def test_bad_batches_are_refused() -> None:
    model, X = separated("bernoulli", n=400)
    with pytest.raises(ValueError, match="at least one mini-batch"):
        fit_online(model, iter([]))
    with pytest.raises(ValueError, match="12 columns like the batches before"):
        fit_online(model, [X[:200], X[200:, :5]], random_state=0)
    bad = X[200:].copy()
    bad[3, 3] = 0.5
    with pytest.raises(ValueError, match="only 0 and 1"):
        fit_online(model, [X[:200], bad], random_state=0)


# -- recentering -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_recentered_gaussian_statistics_equal_direct_sums(kind: str) -> None:
    rng = np.random.default_rng(0)
    family = emkit.Gaussian(kind)
    X = rng.normal(size=(300, 3)) * 2.0 + 50.0
    resp = rng.dirichlet(np.ones(4), size=300)
    counts = resp.sum(axis=0)
    centre_a, centre_b = rng.normal(50.0, 3.0, (4, 3)), rng.normal(50.0, 3.0, (4, 3))
    at_a = emkit.MixtureStats(counts, family.expected_stats(X, resp, centre_a))
    at_b = emkit.MixtureStats(counts, family.expected_stats(X, resp, centre_b))
    moved = recenter(at_a, at_b)
    np.testing.assert_array_equal(moved.components.center, at_b.components.center)
    np.testing.assert_allclose(moved.components.sum_x, at_b.components.sum_x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(moved.components.sum_xx, at_b.components.sum_xx, rtol=1e-9)


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_recentering_between_shared_and_per_component_points(kind: str) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2)) + 30.0
    resp = rng.dirichlet(np.ones(3), size=200)
    counts = resp.sum(axis=0)

    def around(center: Array) -> emkit.MixtureStats[Any]:
        c = np.broadcast_to(center, (3, 2))
        sum_x = np.stack([resp[:, k] @ (X - c[k]) for k in range(3)])
        full = np.stack([(X - c[k]).T @ ((X - c[k]) * resp[:, k, None]) for k in range(3)])
        sum_xx = {
            "full": full,
            "tied": full.sum(axis=0, keepdims=True),
            "diag": np.diagonal(full, axis1=1, axis2=2),
            "spherical": np.trace(full, axis1=1, axis2=2),
        }[kind]
        return emkit.MixtureStats(counts, GaussianStats(center, sum_x, sum_xx))

    shared, own = around(np.array([[29.0, 31.0]])), around(rng.normal(30.0, 1.0, (3, 2)))
    for source, target in ((shared, own), (own, shared), (own, around(rng.normal(30, 1, (3, 2))))):
        moved = recenter(source, target)
        np.testing.assert_allclose(moved.components.sum_x, target.components.sum_x, atol=1e-9)
        np.testing.assert_allclose(moved.components.sum_xx, target.components.sum_xx, rtol=1e-9)


def test_statistics_without_reference_points_pass_through() -> None:
    stats = emkit.MixtureStats(np.ones(2), emkit.families.canonical.MeanStats(np.ones((2, 3))))
    assert recenter(stats, stats) is stats


def test_unknown_reference_points_are_refused() -> None:
    @attrs.frozen(eq=False)
    class Odd:
        center: Array = attrs.field(metadata=emkit.stats.NOT_ADDITIVE)
        total: Array

    with pytest.raises(
        TypeError, match="cannot combine Odd statistics computed at different parameters"
    ):
        recenter(Odd(np.zeros(1), np.ones(1)), Odd(np.ones(1), np.ones(1)))


# -- incremental EM ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_incremental_em_climbs_to_the_batch_fixed_point(name: str) -> None:
    model, X = separated(name, n=6000, seed=2)
    start = model.init_params(X, np.random.default_rng(5), "random_from_data")
    source = as_source(X)
    objectives: list[float] = []

    def full_objective(state: emkit.IterationState[Any]) -> None:
        _, log_likelihood = source.expectation(model, state.params)
        objectives.append(log_likelihood + model.log_prior(state.params))

    result = fit_incremental(
        model,
        X,
        init=start,
        chunk_size=750,
        tol=1e-10,
        max_sweeps=200,
        callbacks=[full_objective],
    )
    assert result.converged
    assert len(objectives) == result.n_iter + 1
    assert np.diff(objectives).min() > -MONOTONE_NATS * X.shape[0]
    batch = emkit.fit(model, X, init=start, tol=1e-10, max_iter=2000)
    assert abs(result.objective - batch.objective) / X.shape[0] < FIXED_POINT_NATS
    for a, b in zip(leaves(result.params), leaves(batch.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=FIXED_POINT_RTOL, atol=FIXED_POINT_RTOL)


def test_incremental_em_is_the_same_on_every_source(tmp_path: Path) -> None:
    model, X = separated("full", n=3000, seed=6)
    start = model.init_params(X, np.random.default_rng(0), "random_from_data")
    np.save(tmp_path / "X.npy", X)
    kwargs: dict[str, Any] = {"init": start, "max_sweeps": 4, "tol": 0.0}
    reference = fit_incremental(model, X, chunk_size=500, **kwargs)
    for data, chunk_size in (
        (np.split(X, 6), None),
        (tmp_path / "X.npy", 500),
    ):
        result = fit_incremental(model, data, chunk_size=chunk_size, **kwargs)
        assert_same_params(result.params, reference.params)
        np.testing.assert_allclose(result.history, reference.history, rtol=EXACT_RTOL)


def test_one_block_incremental_em_is_batch_em() -> None:
    model, X = separated("poisson", n=2000)
    start = model.init_params(X, np.random.default_rng(0), "random_from_data")
    incremental = fit_incremental(model, X, init=start, max_sweeps=5, tol=0.0)
    # Five sweeps end with an M-step on the statistics of the fifth: batch EM's sixth iterate.
    with pytest.warns(emkit.ConvergenceWarning):
        batch = emkit.fit(model, X, init=start, max_iter=6, tol=0.0)
    assert_close(incremental.params, batch.params)


def test_incremental_em_checks_its_arguments() -> None:
    model, X = separated("poisson", n=100)
    with pytest.raises(ValueError, match="`max_sweeps` must be >= 0"):
        fit_incremental(model, X, max_sweeps=-1)
    with pytest.raises(TypeError, match="`callbacks` must hold callables"):
        fit_incremental(model, X, callbacks=[3])  # type: ignore[list-item]


# -- partial_fit of the estimators -------------------------------------------------------------
def estimator_for(name: str) -> Any:
    if name == "bernoulli":
        return emkit.BernoulliMixture(n_components=3, random_state=0)
    if name == "poisson":
        return emkit.PoissonMixture(n_components=3, random_state=0)
    return emkit.GaussianMixture(n_components=3, covariance_type=name, random_state=0)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_partial_fit_comes_close_to_fit(name: str) -> None:
    _, X = separated(name)
    # Several starts: from one, batch EM on the Bernoulli data can stop on a plateau early.
    batch = estimator_for(name).set_params(n_init=5).fit(X)
    online = estimator_for(name)
    for part in batches(X, passes=2, seed=1):
        online.partial_fit(part)
    assert online.n_iter_ == 2 * N_ROWS // BATCH_ROWS
    assert not online.converged_
    assert abs(online.score(X) - batch.score(X)) < ONLINE_NATS
    assert online.lower_bounds_.shape == (online.n_iter_,)


def test_partial_fit_is_online_step() -> None:
    _, X = separated("full", n=3000)
    estimator = estimator_for("full")
    model = estimator.build_model()
    state = start_online(model, X[:500], random_state=0)
    for start in range(0, 3000, 500):
        estimator.partial_fit(X[start : start + 500])
        state = online_step(model, state, X[start : start + 500])
    assert_close(estimator.result_.params, state.params)
    np.testing.assert_allclose(estimator.means_, state.params.components.means, rtol=EXACT_RTOL)
    assert estimator.lower_bound_ == pytest.approx(
        state.log_likelihood + model.log_prior(state.params) / state.n_seen, rel=EXACT_RTOL
    )


def test_partial_fit_continues_from_fit_and_restarts_after_refit() -> None:
    _, X = separated("poisson", n=4000)
    estimator = estimator_for("poisson").fit(X)
    fitted_means = estimator.means_.copy()
    estimator.partial_fit(X[:400], sample_weight=np.ones(400))
    assert estimator.n_iter_ == 1
    # One batch from the fitted start moves the rates by batch noise only.
    np.testing.assert_allclose(estimator.means_, fitted_means, rtol=0.2)
    estimator.partial_fit(X[400:800])
    assert estimator.n_iter_ == 2
    estimator.fit(X)
    estimator.partial_fit(X[800:1200])
    assert estimator.n_iter_ == 1
    with pytest.raises(ValueError, match="X has 2 features, but PoissonMixture is expecting 3"):
        estimator.partial_fit(X[:10, :2])
