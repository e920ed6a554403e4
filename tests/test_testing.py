"""emkit.testing catches the mistakes a plugin author makes, with messages that say what is wrong.

Every check is shown failing on a deliberately broken family or model (the test asserts on the
message), and passing on emkit's own families and on plugin models.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import math
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import scipy.stats

import emkit
from emkit.families.canonical import CanonicalFamily, MeanParams, MeanStats
from emkit.testing import (
    MIN_PIECE_ROWS,
    MIN_PIECES,
    MIN_SPLIT_ROWS,
    check_additivity,
    check_family,
    check_ingredients,
    check_model,
    check_normalisation,
    check_prior,
    check_recenter,
    check_sample_weight,
    check_statistics_type,
)
from tests.plugin_models import StudentTMixture, StudentTParams, StudentTStats, student_t_data
from tests.strategies import FAMILY_KINDS, make_family, random_component_params

ROOT = Path(__file__).resolve().parent.parent

#: Student-t log-densities against scipy's: both are a few float64 operations from the inputs.
LOGPDF_ATOL = 1e-10

#: Recentered sums vs sums recomputed around the new reference: rounding of the shift only.
RECENTER_RTOL = 1e-9

COUNTS = np.random.default_rng(0).poisson(4.0, size=(150, 3)).astype(float)
BINARY = (np.random.default_rng(1).random((150, 3)) < 0.3).astype(float)
NORMAL = np.random.default_rng(2).normal(1.0, 1.0, size=(150, 3))
WAITING = np.random.default_rng(3).exponential(2.0, size=(150, 3))
LOG_2PI = math.log(2.0 * math.pi)


def _load_example(name: str) -> Any:
    """A module of examples/ (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"_example_{name}", ROOT / "examples" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


custom_family = _load_example("custom_family")
regression_mixture = _load_example("regression_mixture")
Exponential = custom_family.Exponential
LineMixture = regression_mixture.LineMixture


# -- plugin families written by hand ---------------------------------------------------------------
@attrs.frozen
class UnitGaussian(CanonicalFamily):
    """N(mu, I) on D features: T(x) = x, eta = mu, A(eta) = |eta|^2 / 2,
    log h(x) = -|x|^2 / 2 - (D / 2) log(2 pi). Continuous, with a non-zero log h(x)."""

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return mean

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return 0.5 * np.sum(natural**2, axis=1)

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(X**2, axis=1) - 0.5 * X.shape[1] * LOG_2PI

    def check_support(self, X: np.ndarray) -> None:
        if not np.isfinite(X).all():
            raise ValueError("`X` must be finite")

    def check_mean(self, mean: np.ndarray) -> None:
        if not np.isfinite(mean).all():
            raise ValueError("`params.mean` must be finite")

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        mean = params.mean[component]
        return mean + rng.standard_normal((n, mean.shape[0]))


# -- mistake 1: a log-partition off by a constant --------------------------------------------------
@attrs.frozen
class OffsetPartitionPoisson(emkit.Poisson):
    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return super().log_partition(natural) + 1.0  # wrong: A(eta) + 1


@attrs.frozen
class OffsetPartitionExponential(Exponential):
    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return -np.sum(np.log(-natural), axis=1) - 0.5  # wrong: A(eta) - 0.5


# -- mistake 2: a forgotten log h(x) ---------------------------------------------------------------
@attrs.frozen
class NoFactorialPoisson(emkit.Poisson):
    zero_base_measure = True  # wrong: log h(x) = -log(x!) is not zero

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0])


@attrs.frozen
class FlagOnlyPoisson(emkit.Poisson):
    zero_base_measure = True  # wrong: log_base_measure is right, but the E-step now skips it


@attrs.frozen
class NoTwoPiGaussian(UnitGaussian):
    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(X**2, axis=1)  # wrong: the -(D/2) log(2 pi) is missing


@attrs.frozen
class TwoPiOnceGaussian(UnitGaussian):
    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(X**2, axis=1) - 0.5 * LOG_2PI  # wrong: once, not once per feature


@attrs.frozen
class FirstFeaturePartitionPoisson(emkit.Poisson):
    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return np.exp(natural[:, 0])  # wrong: only the first feature's rate


@attrs.frozen
class ThreeFeatureGaussian(UnitGaussian):
    """Accepts only 3 columns: the normalisation check must fall back to Monte Carlo on X."""

    offset: float = 0.0

    def check_support(self, X: np.ndarray) -> None:
        if X.shape[1] != 3:
            raise ValueError(f"`X` must have 3 columns; got {X.shape[1]}")
        super().check_support(X)

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return super().log_partition(natural) + self.offset


# -- mistake 3: a conjugate prior whose mean lies outside the mean space ---------------------------
@attrs.frozen
class OutsidePriorBernoulli(emkit.Bernoulli):
    def prior(self) -> tuple[float, float]:
        return 0.02, 1.5  # wrong: a probability of 1.5


@attrs.frozen
class NegativePriorPoisson(emkit.Poisson):
    def prior(self) -> tuple[float, float]:
        return 1.0, -2.0  # wrong: a negative rate


@attrs.frozen
class BoundaryPriorBernoulli(emkit.Bernoulli):
    def prior(self) -> tuple[float, Any]:
        return 1.0, np.array([0.5, 0.5, 1.0])  # wrong: a probability of exactly 1 for feature 2


@attrs.frozen
class NegativeStrengthPoisson(emkit.Poisson):
    def prior(self) -> tuple[float, float]:
        return -1.0, 2.0  # wrong: -1 pseudo-observations


# -- ingredient shapes -----------------------------------------------------------------------------
@attrs.frozen
class FlatStatisticsPoisson(emkit.Poisson):
    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X.sum(axis=1)  # wrong: (n,), not (n, n_stats)


@attrs.frozen
class ColumnPartitionPoisson(emkit.Poisson):
    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return np.sum(np.exp(natural), axis=1, keepdims=True)  # wrong: (K, 1)


@attrs.frozen
class ColumnBaseMeasurePoisson(emkit.Poisson):
    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return super().log_base_measure(X)[:, None]  # wrong: (n, 1)


@attrs.frozen
class TransposedNaturalPoisson(emkit.Poisson):
    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return super().natural_parameters(mean).T  # wrong: (n_stats, K)


# -- families through exactly the ExponentialFamily protocol ---------------------------------------
class _Wrapped:
    """Poisson through exactly the ExponentialFamily protocol; tests override one method."""

    inner = emkit.Poisson()

    def validate_data(self, X: np.ndarray) -> np.ndarray:
        return self.inner.validate_data(X)

    def validate_params(self, params: Any, n_components: int, n_features: int) -> MeanParams:
        return self.inner.validate_params(params, n_components, n_features)

    def log_prob(self, X: np.ndarray, params: MeanParams) -> np.ndarray:
        return self.inner.log_prob(X, params)

    def expected_stats(self, X: np.ndarray, resp: np.ndarray, center: np.ndarray) -> Any:
        return self.inner.expected_stats(X, resp, center)

    def maximize(self, stats: Any, counts: np.ndarray) -> MeanParams:
        return self.inner.maximize(stats, counts)

    def log_prior(self, params: MeanParams) -> float:
        return self.inner.log_prior(params)

    def mean(self, params: MeanParams) -> np.ndarray:
        return self.inner.mean(params)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return self.inner.n_parameters(n_components, n_features)

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        return self.inner.sample(params, component, n, rng)


class _BiasedMStep(_Wrapped):
    def maximize(self, stats: MeanStats, counts: np.ndarray) -> MeanParams:
        return MeanParams(self.inner.maximize(stats, counts).mean * 1.3)


class _AveragedStats(_Wrapped):
    def expected_stats(self, X: np.ndarray, resp: np.ndarray, center: np.ndarray) -> MeanStats:
        # A classic plugin bug: averaging over the chunk instead of summing.
        return MeanStats(resp.T @ X / len(X))


class _WrongShape(_Wrapped):
    def log_prob(self, X: np.ndarray, params: MeanParams) -> np.ndarray:
        return self.inner.log_prob(X, params).T


class _IgnoresOrder(_Wrapped):
    def log_prob(self, X: np.ndarray, params: MeanParams) -> np.ndarray:
        return self.inner.log_prob(X, MeanParams(np.sort(params.mean, axis=0)))


class _TupleStats(_Wrapped):
    def expected_stats(self, X: np.ndarray, resp: np.ndarray, center: np.ndarray) -> Any:
        return (resp.T @ X,)  # wrong: a tuple

    def maximize(self, stats: Any, counts: np.ndarray) -> MeanParams:
        return self.inner.maximize(MeanStats(stats[0]), counts)


class _NaNMStep(_Wrapped):
    def maximize(self, stats: MeanStats, counts: np.ndarray) -> MeanParams:
        mean = self.inner.maximize(stats, counts).mean.copy()
        # Stands for any slip that makes NaN: 0/0 for an empty component, sqrt of a negative.
        mean[1, 2] = np.nan
        return MeanParams(mean)


class _SampleOutsideSupport(_Wrapped):
    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        return rng.normal(params.mean[component], 1.0, size=(n, params.mean.shape[1]))


# -- models through exactly the LatentVariableModel protocol ---------------------------------------
class _Delegating:
    """A Poisson mixture through the LatentVariableModel protocol; tests override a method."""

    def __init__(self, n_components: int = 2) -> None:
        self.inner = emkit.FiniteMixture(emkit.Poisson(), n_components)

    def validate_data(self, X: np.ndarray) -> np.ndarray:
        return self.inner.validate_data(X)

    def init_params(
        self, X: np.ndarray, rng: Any, method: str = "kmeans", weights: Any = None
    ) -> Any:
        return self.inner.init_params(X, rng, method, weights)

    def validate_params(self, params: Any, n_features: int) -> Any:
        return self.inner.validate_params(params, n_features)

    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        return self.inner.e_step(X, params, weights, labels)

    def m_step(self, stats: Any) -> Any:
        return self.inner.m_step(stats)

    def log_prior(self, params: Any) -> float:
        return self.inner.log_prior(params)

    def n_parameters(self, n_features: int) -> int:
        return self.inner.n_parameters(n_features)


class IgnoresWeights(_Delegating):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        return self.inner.e_step(X, params, None, labels)  # wrong: weights dropped


class WeightsInLikelihoodOnly(_Delegating):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, _ = self.inner.e_step(X, params, None, labels)  # wrong: unweighted statistics
        return stats, self.inner.e_step(X, params, weights, labels)[1]


class NormalisedWeights(_Delegating):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        if weights is not None:
            weights = weights / weights.mean()  # wrong: weights are not counts any more
        return self.inner.e_step(X, params, weights, labels)


class UnnormalisedMixingWeights(_Delegating):
    def m_step(self, stats: Any) -> Any:
        params = self.inner.m_step(stats)
        return attrs.evolve(params, weights=stats.counts)  # wrong: counts, not proportions


@dataclasses.dataclass(frozen=True)
class PlainStats:
    counts: np.ndarray
    sum_t: np.ndarray


class DataclassStats(_Delegating):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, ll = self.inner.e_step(X, params, weights, labels)
        return PlainStats(stats.counts, stats.components.sum_t), ll  # wrong: a dataclass

    def m_step(self, stats: Any) -> Any:
        return self.inner.m_step(emkit.MixtureStats(stats.counts, MeanStats(stats.sum_t)))


class TupleStats(DataclassStats):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, ll = self.inner.e_step(X, params, weights, labels)
        return (stats.counts, stats.components.sum_t), ll  # wrong: a tuple

    def m_step(self, stats: Any) -> Any:
        return self.inner.m_step(emkit.MixtureStats(stats[0], MeanStats(stats[1])))


@attrs.frozen(eq=False)
class NestedListStats:
    counts: np.ndarray
    parts: list[np.ndarray]  # a tuple field would be fine: emkit.stats walks tuples


class NestedList(DataclassStats):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, ll = self.inner.e_step(X, params, weights, labels)
        return NestedListStats(stats.counts, [stats.components.sum_t, stats.counts]), ll

    def m_step(self, stats: Any) -> Any:
        return self.inner.m_step(emkit.MixtureStats(stats.counts, MeanStats(stats.parts[0])))


class ChunkMeanStudentT(StudentTMixture):
    """Accumulates around the mean of each chunk: statistics of two chunks cannot be added."""

    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, ll = super().e_step(X, params, weights, labels)
        reference = np.broadcast_to(X.mean(axis=0), stats.reference.shape)  # wrong: from the rows
        return stats.recenter(attrs.evolve(stats, reference=np.array(reference))), ll


class IgnoresWeightsStudentT(StudentTMixture):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        return super().e_step(X, params, None, labels)  # wrong: weights dropped


@attrs.frozen(eq=False)
class HalfRecenteredStats(StudentTStats):
    def recenter(self, like: Any) -> Any:
        d = self.reference - like.reference
        w = self.scale_sums
        # wrong: the second moments are not moved
        return attrs.evolve(self, reference=like.reference, sum_x=self.sum_x + w[:, None] * d)


class HalfRecenteredStudentT(StudentTMixture):
    def e_step(self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None) -> Any:
        stats, ll = super().e_step(X, params, weights, labels)
        return HalfRecenteredStats(
            *(getattr(stats, f.name) for f in attrs.fields(StudentTStats))
        ), ll


# -- the built-in families and the plugin models pass ----------------------------------------------
def _sampled(kind: str, n: int = 150, n_features: int = 3, seed: int = 8) -> tuple[Any, np.ndarray]:
    family = make_family(kind)
    rng = np.random.default_rng(seed)
    truth = emkit.MixtureParams(
        np.full(3, 1 / 3), random_component_params(family, 3, n_features, rng)
    )
    X, _ = emkit.FiniteMixture(family, 3).sample(truth, n, rng)
    return family, X


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_builtin_families_pass(kind: str) -> None:
    family, X = _sampled(kind)
    check_family(family, X, n_components=3)
    check_model(emkit.FiniteMixture(family, 2), X)


@pytest.mark.parametrize(
    "family",
    [
        emkit.Poisson(prior_strength=2.0, prior_rate=3.0),
        emkit.Bernoulli(pseudo_count=1.0),
        emkit.Gaussian("diag", reg_covar=1e-3),
    ],
    ids=["poisson-prior", "bernoulli-prior", "gaussian-reg"],
)
def test_builtin_families_with_priors_pass(family: Any) -> None:
    X = {emkit.Poisson: COUNTS, emkit.Bernoulli: BINARY, emkit.Gaussian: NORMAL}[type(family)]
    check_family(family, X, n_components=2)


@pytest.mark.parametrize(
    ("family", "X"),
    [
        (Exponential(), WAITING),
        (Exponential(prior_strength=2.0, prior_mean=5.0), WAITING),
        (UnitGaussian(), NORMAL),
        (ThreeFeatureGaussian(), NORMAL),
    ],
    ids=["exponential", "exponential-prior", "unit-gaussian", "three-feature-gaussian"],
)
def test_plugin_families_pass(family: Any, X: np.ndarray) -> None:
    check_family(family, X, n_components=2)


def test_plugin_models_pass() -> None:
    X, _, _ = student_t_data()
    check_model(StudentTMixture(3), X)
    check_model(StudentTMixture(2, dof=1.5), X)
    lines, _, _ = regression_mixture.two_lines()
    check_model(LineMixture(2), lines)
    check_model(LineMixture(3), lines)
    check_model(emkit.FiniteMixture(emkit.Poisson(), 2), COUNTS)


# -- mistake 1: log-partition off by a constant ----------------------------------------------------
def test_log_partition_off_by_a_constant_is_caught() -> None:
    with pytest.raises(
        AssertionError,
        match=r"component 0 of OffsetPartitionPoisson sums to 0\.36788 instead of 1 .*"
        r"log-partition A\(eta\) is off by a constant",
    ):
        check_family(OffsetPartitionPoisson(), COUNTS)
    with pytest.raises(AssertionError, match=r"OffsetPartitionExponential integrates to 1\.6487"):
        check_family(OffsetPartitionExponential(), WAITING)


def test_nothing_else_sees_a_constant_offset() -> None:
    # The M-step and every other law are blind to it: only the normalisation check fails.
    good = emkit.fit(emkit.FiniteMixture(emkit.Poisson(), 2), COUNTS, random_state=0)
    bad = emkit.fit(emkit.FiniteMixture(OffsetPartitionPoisson(), 2), COUNTS, random_state=0)
    np.testing.assert_allclose(bad.params.components.mean, good.params.components.mean)
    # A(eta) + 1 takes 1 from every row's log-density.
    assert bad.log_likelihood == pytest.approx(good.log_likelihood - len(COUNTS))


# -- mistake 2: a forgotten log h(x) ---------------------------------------------------------------
def test_forgotten_log_base_measure_is_caught() -> None:
    # The parameters come out identical; the log-likelihood (and BIC against other families)
    # does not.
    good = emkit.fit(emkit.FiniteMixture(emkit.Poisson(), 2), COUNTS, random_state=0)
    bad = emkit.fit(emkit.FiniteMixture(NoFactorialPoisson(), 2), COUNTS, random_state=0)
    np.testing.assert_allclose(bad.params.components.mean, good.params.components.mean)
    assert bad.log_likelihood > good.log_likelihood + 100.0
    with pytest.raises(AssertionError, match=r"NoFactorialPoisson sums to .* instead of 1"):
        check_normalisation(NoFactorialPoisson(), COUNTS)
    with pytest.raises(AssertionError, match=r"sums to .* missing \(log_base_measure"):
        check_family(NoFactorialPoisson(), COUNTS)


def test_zero_base_measure_flag_on_a_non_zero_log_h_is_caught() -> None:
    with pytest.raises(AssertionError, match=r"FlagOnlyPoisson sets zero_base_measure = True"):
        check_family(FlagOnlyPoisson(), COUNTS)


def test_missing_gaussian_constant_is_caught_by_quadrature() -> None:
    with pytest.raises(
        AssertionError,
        match=r"component 0 of NoTwoPiGaussian integrates to 2\.5066 instead of 1 on 1 feature"
        r"\(s\) \(scipy\.integrate\.quad",
    ):
        check_normalisation(NoTwoPiGaussian(), NORMAL)


def test_constant_counted_once_instead_of_per_feature_is_caught_on_several_features() -> None:
    # One feature is right, so only the multi-feature Monte Carlo check sees it: (2 pi)^1.
    with pytest.raises(
        AssertionError,
        match=r"TwoPiOnceGaussian integrates to 6\.[23]\d* instead of 1 on 3 feature\(s\) "
        r"\(importance sampling",
    ):
        check_normalisation(TwoPiOnceGaussian(), NORMAL)
    # The discrete analogue: the grid over three features sees the missing rates.
    with pytest.raises(
        AssertionError, match=r"FirstFeaturePartitionPoisson sums to .* \(sum over a grid"
    ):
        check_normalisation(FirstFeaturePartitionPoisson(), COUNTS)


def test_family_that_refuses_one_column_is_checked_by_monte_carlo() -> None:
    check_normalisation(ThreeFeatureGaussian(), NORMAL)
    with pytest.raises(
        AssertionError,
        match=r"ThreeFeatureGaussian integrates to 0\.49\d* instead of 1 on 3 feature\(s\) "
        r"\(importance sampling",
    ):
        check_normalisation(ThreeFeatureGaussian(offset=0.7), NORMAL)


def test_large_discrete_grids_are_checked_by_importance_sampling() -> None:
    @attrs.frozen
    class ThreeFeaturePoisson(OffsetPartitionPoisson):
        offset: float = 1.0

        def check_support(self, X: np.ndarray) -> None:
            if X.shape[1] != 3:
                raise ValueError(f"`X` must have 3 columns; got {X.shape[1]}")
            super().check_support(X)

        def log_partition(self, natural: np.ndarray) -> np.ndarray:
            return emkit.Poisson.log_partition(self, natural) + self.offset

    check_normalisation(ThreeFeaturePoisson(offset=0.0), COUNTS, max_grid_points=100)
    with pytest.raises(
        AssertionError,
        match=r"ThreeFeaturePoisson sums to 0\.3[5-8]\d* instead of 1 on 3 feature\(s\) "
        r"\(importance sampling over 3 discrete features",
    ):
        check_normalisation(ThreeFeaturePoisson(), COUNTS, max_grid_points=100)


def test_bounded_support_is_integrated_from_its_boundary() -> None:
    # The exponential density jumps at 0; the quadrature starts there.
    check_normalisation(Exponential(), WAITING[:, :1])
    check_normalisation(Exponential(), WAITING)


@attrs.frozen
class FarSamples(ThreeFeatureGaussian):
    shift: float = 40.0

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        return super().sample(params, component, n, rng) + self.shift  # wrong: shifted draws

    def check_support(self, X: np.ndarray) -> None:
        UnitGaussian.check_support(self, X)


def test_sample_far_from_log_prob_is_reported_as_such() -> None:
    with pytest.raises(
        AssertionError,
        match=r"FarSamples\.sample\(\) and log_prob of component 0 disagree: only .* of the "
        r"density's mass lies between the 0\.01 and 0\.99 quantiles",
    ):
        check_normalisation(FarSamples(), NORMAL)

    @attrs.frozen
    class FarSamplesThreeFeatures(FarSamples):
        def check_support(self, X: np.ndarray) -> None:
            ThreeFeatureGaussian.check_support(self, X)

    with pytest.raises(
        AssertionError,
        match=r"FarSamplesThreeFeatures\.sample\(\) and log_prob of component 0 disagree: "
        r"importance weights .* effective sample size",
    ):
        check_normalisation(FarSamplesThreeFeatures(), NORMAL)


@attrs.frozen
class Multinomial(CanonicalFamily):
    """Counts of ``trials`` draws over the features: a support that is not a product of
    per-feature sets (the counts of a row add up to ``trials``)."""

    trials: int = 10
    offset: float = 0.0

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(mean, np.finfo(float).tiny) / self.trials)

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        # trials * log(sum_d exp(eta_d)), 0 for probabilities that add up to 1.
        return self.trials * scipy.special.logsumexp(natural, axis=1) + self.offset

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return scipy.special.gammaln(self.trials + 1.0) - scipy.special.gammaln(X + 1.0).sum(1)

    def check_support(self, X: np.ndarray) -> None:
        if (X < 0).any() or (np.round(X) != X).any() or (X.sum(axis=1) != self.trials).any():
            raise ValueError(f"rows of `X` must be counts adding up to {self.trials}")

    def check_mean(self, mean: np.ndarray) -> None:
        if (mean < 0).any() or not np.allclose(mean.sum(axis=1), self.trials):
            raise ValueError(f"`params.mean` must be >= 0 and add up to {self.trials}")

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        p = params.mean[component] / self.trials
        return rng.multinomial(self.trials, p / p.sum(), size=n).astype(float)


MULTINOMIAL = np.random.default_rng(4).multinomial(10, [0.2, 0.3, 0.5], size=150).astype(float)


def test_support_that_is_not_a_product_is_tested_row_by_row() -> None:
    check_normalisation(Multinomial(), MULTINOMIAL)
    with pytest.raises(AssertionError, match=r"Multinomial sums to 0\.[56]\d* instead of 1 on 3"):
        check_normalisation(Multinomial(offset=0.5), MULTINOMIAL)
    check_normalisation(Multinomial(trials=3), MULTINOMIAL * 0 + [1.0, 1.0, 1.0])


# -- mistake 3: a conjugate prior outside the mean space -------------------------------------------
@pytest.mark.parametrize(
    ("family", "X", "match"),
    [
        (
            OutsidePriorBernoulli(),
            BINARY,
            r"the conjugate prior's mean m0=1\.5 lies outside the mean space of "
            r"OutsidePriorBernoulli: Bernoulli probabilities",
        ),
        (
            NegativePriorPoisson(),
            COUNTS,
            r"m0=-2\.0 lies outside the mean space of NegativePriorPoisson: Poisson rates",
        ),
        (
            BoundaryPriorBernoulli(),
            BINARY,
            r"m0=\[0\.5, 0\.5, 1\.0\] lies outside the mean space of BoundaryPriorBernoulli",
        ),
        (NegativeStrengthPoisson(), COUNTS, r"strength tau=-1\.0 of NegativeStrengthPoisson"),
    ],
    ids=["bernoulli-above-1", "poisson-negative", "bernoulli-boundary", "negative-tau"],
)
def test_prior_outside_the_mean_space_is_caught(family: Any, X: np.ndarray, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_prior(family, X.shape[1])
    with pytest.raises(AssertionError, match=match):
        check_family(family, X)


# -- mistake 4: an E-step that ignores sample weights ----------------------------------------------
@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            IgnoresWeights(),
            r"IgnoresWeights\.e_step ignores or mis-applies `weights`: .* `stats\.counts` differs",
        ),
        (
            WeightsInLikelihoodOnly(),
            r"WeightsInLikelihoodOnly\.e_step ignores or mis-applies `weights`: .*`stats\.counts`",
        ),
        (NormalisedWeights(), r"NormalisedWeights\.e_step ignores or mis-applies `weights`"),
        (
            IgnoresWeightsStudentT(3),
            r"IgnoresWeightsStudentT\.e_step ignores or mis-applies `weights`",
        ),
    ],
    ids=["dropped", "likelihood-only", "normalised", "student-t"],
)
def test_ignored_sample_weights_are_caught(model: Any, match: str) -> None:
    X = student_t_data()[0] if isinstance(model, StudentTMixture) else COUNTS
    with pytest.raises(AssertionError, match=match):
        check_model(model, X)


def test_sample_weight_check_compares_the_log_likelihood_too() -> None:
    class StatsOnly(_Delegating):
        def e_step(
            self, X: np.ndarray, params: Any, weights: Any = None, labels: Any = None
        ) -> Any:
            stats, _ = self.inner.e_step(X, params, weights, labels)
            return stats, self.inner.e_step(X, params, None, labels)[1]  # wrong: unweighted

    params = StatsOnly().init_params(COUNTS, np.random.default_rng(0), "random")
    with pytest.raises(AssertionError, match=r"the log-likelihood with integer row weights is"):
        check_sample_weight(StatsOnly(), COUNTS, params)


# -- ingredient shapes, named before numpy can complain --------------------------------------------
@pytest.mark.parametrize(
    ("family", "match"),
    [
        (
            FlatStatisticsPoisson(),
            r"FlatStatisticsPoisson\.sufficient_statistics\(X\) must return T\(X\) of shape "
            r"\(n_samples, n_stats\) = \(150, n_stats\), one row per sample; got shape \(150,\)",
        ),
        (
            ColumnPartitionPoisson(),
            r"ColumnPartitionPoisson\.log_partition\(natural\) must return A\(eta\) of shape "
            r"\(n_components,\) = \(3,\); got shape \(3, 1\)",
        ),
        (
            ColumnBaseMeasurePoisson(),
            r"ColumnBaseMeasurePoisson\.log_base_measure\(X\) must return log h\(x\) of shape "
            r"\(n_samples,\) = \(150,\); got shape \(150, 1\)",
        ),
    ],
    ids=["statistics-1d", "partition-column", "base-measure-column"],
)
def test_ingredient_shapes_are_named(family: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_ingredients(family, COUNTS, n_components=3)
    with pytest.raises(AssertionError, match=match):
        check_family(family, COUNTS)


def test_transposed_natural_parameters_are_caught() -> None:
    # With as many statistics as components the shape is right; with 2 components it is not.
    with pytest.raises(
        AssertionError,
        match=r"natural_parameters\(mean\) must return eta of shape \(n_components, n_stats\) "
        r"= \(2, 3\); got shape \(3, 2\)",
    ):
        check_family(TransposedNaturalPoisson(), COUNTS, n_components=2)


def test_family_shapes_are_named() -> None:
    with pytest.raises(
        AssertionError,
        match=r"_WrongShape\.log_prob must return shape \(n_samples, n_components\) = "
        r"\(150, 3\); got shape \(3, 150\)",
    ):
        check_family(_WrongShape(), COUNTS)
    with pytest.raises(
        AssertionError, match=r"_SampleOutsideSupport\.sample drew rows of component 0"
    ):
        check_family(_SampleOutsideSupport(), COUNTS)


# -- statistics type -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            DataclassStats(),
            r"DataclassStats\.e_step must return .* frozen attrs class .* got an "
            r"instance of the dataclass PlainStats \(decorate it with @attrs\.frozen",
        ),
        (
            TupleStats(),
            r"TupleStats\.e_step must return .* frozen attrs class .* got a tuple of "
            r"2 items",
        ),
        (
            NestedList(),
            r"NestedList\.e_step returned statistics whose field `stats\.parts` is a "
            r"list of 2 items",
        ),
    ],
    ids=["dataclass", "tuple", "nested-list"],
)
def test_statistics_that_are_not_attrs_are_caught(model: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_model(model, COUNTS)


def test_family_statistics_that_are_not_attrs_are_caught() -> None:
    with pytest.raises(
        AssertionError,
        match=r"_TupleStats\.expected_stats must return .* got a tuple of 1 item; .*emkit\.stats "
        r"adds statistics field by field",
    ):
        check_family(_TupleStats(), COUNTS)


@pytest.mark.parametrize(
    ("stats", "match"),
    [
        ({"counts": np.ones(2)}, r"got a dict with keys \['counts'\]"),
        ([np.ones(2)], r"got a list of 1 item"),
        (np.ones(2), r"got a bare numpy array of shape \(2,\)"),
    ],
)
def test_statistics_type_names_what_it_got(stats: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_statistics_type(stats, "MyModel.e_step")
    check_statistics_type(MeanStats(np.ones(2)), "MyModel.e_step")


# -- fields named by path, the M-step checked before additivity ------------------------------------
def test_additivity_names_the_field() -> None:
    with pytest.raises(
        AssertionError,
        match=r"additivity of FiniteMixture\(_AveragedStats\)\.e_step over 3 pieces of 37, 38, "
        r"75 rows: `stats\.components\.sum_t` differs by .* at index \(\d, \d\) .*not means",
    ):
        check_family(_AveragedStats(), COUNTS)


def test_nan_mstep_is_reported_as_an_mstep_problem() -> None:
    with pytest.raises(
        AssertionError,
        match=r"FiniteMixture\(_NaNMStep\)\.init_params\(X, rng, 'random'\) returned a "
        r"non-finite parameter: `params\.components\.mean` is nan at index \(1, 2\)",
    ):
        check_family(_NaNMStep(), COUNTS)
    with pytest.raises(AssertionError, match=r"returned a non-finite parameter: `params\."):
        check_model(emkit.FiniteMixture(_NaNMStep(), 3), COUNTS)


def test_nan_after_an_e_step_is_reported_before_additivity() -> None:
    class NaNAfterEStep(_Delegating):
        def m_step(self, stats: Any) -> Any:
            params = self.inner.m_step(stats)
            # wrong: a component's rates from a count that was never floored
            mean = params.components.mean.copy()
            with np.errstate(invalid="ignore", divide="ignore"):
                mean[0] = stats.components.sum_t[0] * 0.0 / (stats.counts[0] * 0.0)
            return attrs.evolve(params, components=MeanParams(mean))

    with pytest.raises(
        AssertionError,
        match=r"NaNAfterEStep\.m_step returned a non-finite parameter: `params\.components\.mean` "
        r"is nan at index \(0, 0\) \(3 non-finite entries\)",
    ):
        check_model(NaNAfterEStep(), COUNTS)


def test_mstep_rejected_by_validate_params_is_reported() -> None:
    with pytest.raises(
        AssertionError,
        match=r"UnnormalisedMixingWeights\.validate_params rejects the parameters returned by "
        r"UnnormalisedMixingWeights\.m_step: `params\.weights` must be non-negative and sum to 1",
    ):
        check_model(UnnormalisedMixingWeights(), COUNTS)


def test_reference_taken_from_the_rows_is_caught() -> None:
    X, _, _ = student_t_data()
    with pytest.raises(
        AssertionError,
        match=r"additivity of ChunkMeanStudentT\.e_step: the statistics of 3 pieces .* cannot be "
        r"added: .*must depend on the parameters only",
    ):
        check_model(ChunkMeanStudentT(3), X)


# -- the split -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_rows", [1, 2, MIN_SPLIT_ROWS - 1])
def test_too_few_rows_are_refused(n_rows: int) -> None:
    with pytest.raises(ValueError, match=rf"check_model needs at least {MIN_SPLIT_ROWS} rows"):
        check_model(emkit.FiniteMixture(emkit.Poisson(), 1), COUNTS[:n_rows])
    with pytest.raises(ValueError, match=rf"check_family needs at least {MIN_SPLIT_ROWS} rows"):
        check_family(emkit.Poisson(), COUNTS[:n_rows], n_components=1)


def test_the_split_has_enough_rows_in_every_piece() -> None:
    from emkit.testing.model import row_pieces

    for n_rows in range(MIN_SPLIT_ROWS, 60):
        pieces = row_pieces(n_rows)
        sizes = [p.stop - p.start for p in pieces]
        assert len(pieces) >= MIN_PIECES
        assert min(sizes) >= MIN_PIECE_ROWS
        assert pieces[0].start == 0
        assert pieces[-1].stop == n_rows
        assert all(a.stop == b.start for a, b in itertools.pairwise(pieces))


def test_a_six_row_split_still_catches_averaged_statistics() -> None:
    model = emkit.FiniteMixture(_AveragedStats(), 2)
    params = model.init_params(COUNTS[:6], np.random.default_rng(0), "random")
    with pytest.raises(AssertionError, match=r"3 pieces of 2, 2, 2 rows"):
        check_additivity(model, COUNTS[:6], params)


# -- the other laws still fail where they should ---------------------------------------------------
@pytest.mark.parametrize(
    ("family", "match"),
    [
        (_IgnoresOrder(), r"relabelled components change _IgnoresOrder\.log_prob"),
        (_BiasedMStep(), r"_BiasedMStep\.maximize\(\) is not the complete-data optimum on hard"),
    ],
)
def test_broken_families_are_caught(family: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_family(family, COUNTS)


# -- the Student-t plugin model --------------------------------------------------------------------
def test_student_t_log_density_matches_scipy() -> None:
    X, _, truth = student_t_data()
    for dof in (1.0, 4.0, 30.0):
        model = StudentTMixture(3, dof=dof)
        expected = np.column_stack(
            [
                scipy.stats.multivariate_t(truth.means[k], truth.covariances[k], df=dof).logpdf(X)
                for k in range(3)
            ]
        )
        got = model.score_samples(X, truth)
        np.testing.assert_allclose(
            got, scipy.special.logsumexp(expected + np.log(truth.weights), axis=1), atol=LOGPDF_ATOL
        )


def test_student_t_recenter_moves_the_sums_exactly() -> None:
    X, _, truth = student_t_data()
    model = StudentTMixture(3)
    stats, _ = model.e_step(X, truth)
    other = np.array([[1.0, -2.0], [5.0, 0.0], [0.0, 6.0]])
    moved = stats.recenter(attrs.evolve(stats, reference=other))
    # The same responsibilities and scales, accumulated around `other` directly.
    log_joint, scales, _ = model._log_joint(X, truth)
    resp = np.exp(log_joint - scipy.special.logsumexp(log_joint, axis=1)[:, None])
    direct = model._stats(resp, scales, X[:, None, :] - other[None], other)
    for field in ("sum_x", "sum_xx", "counts", "scale_sums"):
        np.testing.assert_allclose(
            getattr(moved, field), getattr(direct, field), rtol=RECENTER_RTOL, atol=RECENTER_RTOL
        )
    if hasattr(emkit.protocols, "Recenterable"):
        assert isinstance(stats, emkit.protocols.Recenterable)


def test_student_t_recovers_its_truth() -> None:
    X, labels, truth = student_t_data(n_samples=1500)
    result = emkit.fit(StudentTMixture(3), X, n_init=3, tol=1e-8, max_iter=500, random_state=0)
    order = [int(np.argmin(np.linalg.norm(result.params.means - m, axis=1))) for m in truth.means]
    # 1500 heavy-tailed draws: locations within 0.2, weights within 0.05.
    np.testing.assert_allclose(result.params.means[order], truth.means, atol=0.2)
    np.testing.assert_allclose(result.params.weights[order], truth.weights, atol=0.05)
    assert np.mean(StudentTMixture(3).predict(X, result.params) == np.array(order)[labels]) > 0.9


def test_student_t_validates_its_parameters() -> None:
    model = StudentTMixture(2)
    good = StudentTParams(np.array([0.5, 0.5]), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    model.validate_params(good, 2)
    with pytest.raises(ValueError, match="positive definite"):
        model.validate_params(attrs.evolve(good, covariances=-good.covariances), 2)
    with pytest.raises(ValueError, match=r"`params.means` must have shape \(2, 3\)"):
        model.validate_params(good, 3)


def test_broken_recenter_is_caught() -> None:
    X, _, _ = student_t_data()
    with pytest.raises(
        AssertionError,
        match=r"HalfRecenteredStudentT\.m_step of statistics moved by HalfRecenteredStats\."
        r"recenter differs .*`params\.covariances` differs",
    ):
        check_model(HalfRecenteredStudentT(3), X)
    params = StudentTMixture(3).init_params(X, np.random.default_rng(0), "random")
    check_recenter(StudentTMixture(3), X, params)


# -- the regression example's recentering ----------------------------------------------------------
def test_regression_recenter_equals_sums_around_the_new_reference() -> None:
    X, _, _ = regression_mixture.two_lines()
    model = LineMixture(2)
    rng = np.random.default_rng(0)
    resp = rng.dirichlet(np.ones(2), size=len(X))
    old = np.array([[0.0, 1.0], [10.0, 0.0]])
    new = np.array([[1.5, 1.8], [14.0, -0.8]])
    moved = model._stats(X, resp, old).recenter(model._stats(X, resp, new))
    direct = model._stats(X, resp, new)
    for field in ("counts", "ata", "ate", "ete"):
        np.testing.assert_allclose(
            getattr(moved, field), getattr(direct, field), rtol=RECENTER_RTOL, atol=RECENTER_RTOL
        )
    np.testing.assert_array_equal(moved.reference, new)
