"""The contract made explicit: capabilities are Protocols, and the driver guards every iteration.

A plugin author's model is trusted with nothing the driver can check: an M-step that returns
NaN, weights that do not sum to 1 or an objective that stops being finite ends the fit with a
ModelError naming the model class, the step, the iteration and the parameter field.
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit import protocols
from emkit.families.canonical import settings_key
from emkit.mixture import FiniteMixture, MixtureParams

#: Objectives that should be equal up to summation order.
SAME_RTOL = 1e-12


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return emkit.datasets.load_faithful().data


@attrs.frozen
class Wrapped:
    """A model that delegates to a mixture, with one step replaced (a plugin author's slip)."""

    inner: FiniteMixture[Any, Any]
    broken_at: int = 2

    def validate_data(self, X: Any) -> Any:
        return self.inner.validate_data(X)

    def init_params(self, X: Any, rng: Any, method: str, weights: Any = None) -> Any:
        return self.inner.init_params(X, rng, method, weights)

    def validate_params(self, params: Any, n_features: int) -> Any:
        return self.inner.validate_params(params, n_features)

    def e_step(self, X: Any, params: Any, weights: Any = None, labels: Any = None) -> Any:
        return self.inner.e_step(X, params, weights, labels)

    def m_step(self, stats: Any) -> Any:
        return self.inner.m_step(stats)

    def log_prior(self, params: Any) -> float:
        return self.inner.log_prior(params)

    def n_parameters(self, n_features: int) -> int:
        return self.inner.n_parameters(n_features)


class CountingMStep:
    """Counts M-steps so that a wrapper can break the n-th one."""

    def __init__(self) -> None:
        self.calls = 0


@attrs.frozen
class NanMeans(Wrapped):
    counter: CountingMStep = attrs.field(factory=CountingMStep, eq=False)

    def m_step(self, stats: Any) -> Any:
        params = self.inner.m_step(stats)
        self.counter.calls += 1
        if self.counter.calls < self.broken_at:
            return params
        means = params.components.means.copy()
        means[1, 0] = np.nan
        components = attrs.evolve(params.components, means=means)
        return MixtureParams(params.weights, components)


@attrs.frozen
class DoubleWeights(Wrapped):
    def m_step(self, stats: Any) -> Any:
        params = self.inner.m_step(stats)
        return MixtureParams(2.0 * params.weights, params.components)


@attrs.frozen
class NanLikelihood(Wrapped):
    def e_step(self, X: Any, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, _ = self.inner.e_step(X, params, weights, labels)
        return stats, float("nan")


def gaussian_mixture() -> FiniteMixture[Any, Any]:
    return FiniteMixture(emkit.Gaussian(), 2)


def test_a_nan_m_step_stops_the_fit_naming_model_iteration_and_field(
    faithful: np.ndarray,
) -> None:
    model = NanMeans(gaussian_mixture(), broken_at=2)
    with pytest.raises(emkit.ModelError) as info:
        emkit.fit(model, faithful, random_state=0)
    message = str(info.value)
    assert "NanMeans.m_step returned a non-finite parameter at iteration 2 (restart 0)" in message
    assert "`params.components.means` holds nan at index (1, 0)" in message


@attrs.frozen
class NanStart(Wrapped):
    def init_params(self, X: Any, rng: Any, method: str, weights: Any = None) -> Any:
        params = self.inner.init_params(X, rng, method, weights)
        return MixtureParams(np.full_like(params.weights, np.nan), params.components)


def test_a_nan_start_is_reported_as_the_initialisation(faithful: np.ndarray) -> None:
    with pytest.raises(emkit.ModelError, match=r"NanStart.init_params returned a non-finite"):
        emkit.fit(NanStart(gaussian_mixture()), faithful, random_state=0)


def test_weights_summing_to_two_are_refused_naming_the_m_step(faithful: np.ndarray) -> None:
    with pytest.raises(emkit.ModelError) as info:
        emkit.fit(DoubleWeights(gaussian_mixture()), faithful, random_state=0)
    message = str(info.value)
    assert (
        "DoubleWeights.m_step returned parameters that DoubleWeights.validate_params refuses"
        in (message)
    )
    assert "at iteration 1" in message
    assert "must be non-negative and sum to 1" in message


def test_a_non_finite_objective_names_the_e_step(faithful: np.ndarray) -> None:
    with pytest.raises(emkit.ModelError) as info:
        emkit.fit(NanLikelihood(gaussian_mixture()), faithful, random_state=0)
    message = str(info.value)
    assert "objective of NanLikelihood is not finite at the start (restart 0)" in message
    assert "NanLikelihood.e_step returned nan although every parameter is finite" in message


def test_guards_protect_online_and_incremental_em(faithful: np.ndarray) -> None:
    with pytest.raises(emkit.ModelError, match=r"m_step returned parameters .* at iteration 1"):
        emkit.fit_incremental(DoubleWeights(gaussian_mixture()), faithful, chunk_size=100)
    with pytest.raises(emkit.ModelError, match=r"DoubleWeights.m_step .* at batch 1"):
        emkit.fit_online(DoubleWeights(gaussian_mixture()), [faithful[:100], faithful[100:]])


def test_a_model_error_is_a_value_error_for_callers_that_catch_bad_input() -> None:
    assert issubclass(emkit.ModelError, ValueError)


# -- stopping rules ---------------------------------------------------------------------------
def test_the_lagged_rule_takes_one_more_m_step(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    start = model.init_params(faithful, np.random.default_rng(0), "kmeans")
    plain = emkit.fit(model, faithful, init=start, tol=1e-4)
    lagged = emkit.fit(model, faithful, init=start, tol=1e-4, stopping="lagged")
    assert plain.converged
    assert lagged.converged
    assert lagged.n_iter == plain.n_iter + 1
    np.testing.assert_array_equal(lagged.history[:-1], plain.history)


def test_a_warm_start_is_compared_with_the_previous_objective(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    first = emkit.fit(model, faithful, random_state=0, stopping="lagged")
    again = emkit.fit(
        model,
        faithful,
        init=first.params,
        stopping="lagged",
        previous_objective=first.objective / first.n_samples,
    )
    assert again.n_iter == 1
    assert again.converged


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"stopping": "early"}, ValueError, "`stopping` must be one of 'change', 'lagged'"),
        ({"schedule": "stochastic"}, ValueError, "`schedule` must be one of"),
        ({"previous_objective": 1.0}, ValueError, 'applies only to stopping="lagged"'),
    ],
)
def test_driver_options_are_checked(
    faithful: np.ndarray, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        emkit.fit(gaussian_mixture(), faithful, **options)


def test_incremental_schedule_through_fit_equals_fit_incremental(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    start = model.init_params(faithful, np.random.default_rng(1), "kmeans")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = emkit.fit(
            model, faithful, init=start, schedule="incremental", chunk_size=50, max_iter=4
        )
        b = emkit.fit_incremental(model, faithful, init=start, chunk_size=50, max_sweeps=4)
    np.testing.assert_array_equal(a.history, b.history)
    assert a.log_likelihood == b.log_likelihood


# -- capabilities -------------------------------------------------------------------------------
def test_built_ins_declare_their_capabilities(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    for capability in (
        protocols.LatentVariableModel,
        protocols.ChunkCost,
        protocols.Diagnosing,
        protocols.Components,
        protocols.Clustering,
        protocols.Scoring,
        protocols.Sampling,
    ):
        assert isinstance(model, capability), capability.__name__
    for family in (emkit.Gaussian("diag"), emkit.Bernoulli(), emkit.Poisson()):
        assert isinstance(family, protocols.ExponentialFamily)
        assert isinstance(family, protocols.FusedEStep)
        assert isinstance(family, protocols.FamilyChunkCost)
    assert isinstance(emkit.Gaussian(), protocols.FamilyDiagnosing)
    params = model.init_params(faithful, np.random.default_rng(0), "kmeans")
    stats, _ = model.e_step(faithful, params)
    assert isinstance(stats, protocols.Recenterable)
    assert isinstance(stats.components, protocols.RecenterableComponents)
    for source in (
        emkit.ArraySource(faithful),
        emkit.ChunkSource([faithful[:100], faithful[100:]]),
    ):
        assert isinstance(source, protocols.DataSource)


@attrs.frozen
class MinimalFamily:
    """A family with only the protocol's methods: every optional capability falls back."""

    inner: emkit.Poisson = attrs.field(factory=emkit.Poisson)

    def validate_data(self, X: Any) -> Any:
        return self.inner.validate_data(X)

    def validate_params(self, params: Any, n_components: int, n_features: int) -> Any:
        return self.inner.validate_params(params, n_components, n_features)

    def log_prob(self, X: Any, params: Any) -> Any:
        return self.inner.log_prob(X, params)

    def expected_stats(self, X: Any, resp: Any, center: Any) -> Any:
        return self.inner.expected_stats(X, resp, center)

    def maximize(self, stats: Any, counts: Any) -> Any:
        return self.inner.maximize(stats, counts)

    def log_prior(self, params: Any) -> float:
        return 0.0

    def mean(self, params: Any) -> Any:
        return params.mean

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return self.inner.n_parameters(n_components, n_features)

    def sample(self, params: Any, component: int, n: int, rng: Any) -> Any:
        return self.inner.sample(params, component, n, rng)


def test_a_family_without_optional_capabilities_fits_like_one_with_them() -> None:
    family = MinimalFamily()
    assert isinstance(family, protocols.ExponentialFamily)
    for capability in (
        protocols.FusedEStep,
        protocols.FamilyChunkCost,
        protocols.FamilyDiagnosing,
    ):
        assert not isinstance(family, capability)
    X = np.random.default_rng(0).poisson([2.0, 9.0], size=(400, 2)).astype(float)
    start = FiniteMixture(emkit.Poisson(), 2).init_params(X, np.random.default_rng(0), "kmeans")
    plain = emkit.fit(FiniteMixture(family, 2), X, init=start)
    fused = emkit.fit(FiniteMixture(emkit.Poisson(), 2), X, init=start)
    np.testing.assert_allclose(plain.log_likelihood, fused.log_likelihood, rtol=SAME_RTOL)
    np.testing.assert_allclose(
        plain.params.components.mean, fused.params.components.mean, rtol=1e-10
    )


# -- family settings that are arrays or tuples -------------------------------------------------
@attrs.frozen
class OffsetPoisson(emkit.CanonicalFamily):
    """A Poisson family with an array setting and a tuple setting (used only in its key)."""

    exposure: np.ndarray = attrs.field(
        factory=lambda: np.ones(2), eq=attrs.cmp_using(eq=np.array_equal)
    )
    tags: tuple[str, ...] = ("a", "b")

    def sufficient_statistics(self, X: Any) -> Any:
        return X

    def natural_parameters(self, mean: Any) -> Any:
        return np.log(np.maximum(mean, np.finfo(float).tiny))

    def log_partition(self, natural: Any) -> Any:
        return np.exp(natural).sum(axis=1)

    def log_base_measure(self, X: Any) -> Any:
        return emkit.Poisson().log_base_measure(X)

    def check_support(self, X: Any) -> None:
        emkit.Poisson().check_support(X)

    def check_mean(self, mean: Any) -> None:
        emkit.Poisson().check_mean(mean)

    def sample(self, params: Any, component: int, n: int, rng: Any) -> Any:
        return emkit.Poisson().sample(params, component, n, rng)


def test_a_family_with_array_and_tuple_settings_fits() -> None:
    X = np.random.default_rng(1).poisson([2.0, 9.0], size=(300, 2)).astype(float)
    family = OffsetPoisson(np.array([1.0, 2.0]), ("x", "y"))
    with pytest.raises(TypeError, match="unhashable"):
        hash(family)  # why the natural-parameter cache keys on settings_key instead
    result = emkit.fit(FiniteMixture(family, 2), X, random_state=0)
    reference = emkit.fit(FiniteMixture(emkit.Poisson(), 2), X, random_state=0)
    np.testing.assert_allclose(result.log_likelihood, reference.log_likelihood, rtol=SAME_RTOL)


def test_settings_keys_tell_settings_apart() -> None:
    a = OffsetPoisson(np.array([1.0, 2.0]), ("x",))
    assert settings_key(a) == settings_key(OffsetPoisson(np.array([1.0, 2.0]), ("x",)))
    assert settings_key(a) != settings_key(OffsetPoisson(np.array([1.0, 3.0]), ("x",)))
    assert settings_key(a) != settings_key(OffsetPoisson(np.array([1.0, 2.0]), ("y",)))
    assert settings_key(a) != settings_key(OffsetPoisson(np.array([1.0, 2.0], np.float32), ("x",)))
    hash(settings_key(a))


def test_the_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    assert emkit.__version__ == version("emkit")


# -- known labels name the components ----------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_known_labels_renumber_the_start(faithful: np.ndarray, seed: int) -> None:
    """A few labelled rows decide which component is which, whatever the seed's start."""
    model = gaussian_mixture()
    order = np.argsort(faithful[:, 0])
    labels = np.full(faithful.shape[0], -1)
    labels[order[:4]] = 1  # short eruptions are component 1
    labels[order[-4:]] = 0
    result = emkit.fit(model, faithful, labels=labels, random_state=seed)
    short, long_ = result.params.components.means[:, 0]
    assert short > long_, "component 0 must be the long eruptions the labels name"
    chunks = [(faithful[i : i + 50], None, labels[i : i + 50]) for i in range(0, 272, 50)]
    streamed = emkit.fit(model, chunks, random_state=seed)
    np.testing.assert_allclose(
        streamed.params.components.means, result.params.components.means, rtol=1e-9
    )


def test_sources_say_whether_they_carry_labels(faithful: np.ndarray) -> None:
    labels = np.full(faithful.shape[0], -1)
    assert not emkit.ArraySource(faithful).has_labels
    assert emkit.ArraySource(faithful, labels=labels).has_labels
    assert not emkit.ChunkSource([faithful]).has_labels
    assert emkit.ChunkSource([(faithful, None, labels)]).has_labels


def test_given_starting_parameters_are_not_renumbered(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    start = model.init_params(faithful, np.random.default_rng(0), "kmeans")
    labels = np.full(faithful.shape[0], -1)
    result = emkit.fit(model, faithful, init=start, labels=labels, max_iter=0)
    np.testing.assert_array_equal(result.params.weights, start.weights)


def test_warnings_point_at_the_users_line(faithful: np.ndarray) -> None:
    model = gaussian_mixture()
    for call in (
        lambda: emkit.fit(model, faithful, max_iter=1, tol=0.0, random_state=0),
        lambda: emkit.fit_incremental(model, faithful, max_sweeps=1, tol=0.0, random_state=0),
        lambda: emkit.GaussianMixture(2, max_iter=1, random_state=0).fit(faithful),
    ):
        with pytest.warns(emkit.ConvergenceWarning) as caught:
            call()
        assert caught[0].filename == __file__
