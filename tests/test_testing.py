"""emkit.testing catches the mistakes a plugin author can make."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import emkit
from emkit.families.canonical import MeanParams, MeanStats
from emkit.testing import check_family, check_model

COUNTS = np.random.default_rng(0).poisson(4.0, size=(150, 3)).astype(float)


class _Wrapped:
    """Poisson through exactly the ExponentialFamily protocol; tests override one method."""

    inner = emkit.Poisson()

    def validate_data(self, X: np.ndarray) -> np.ndarray:
        return self.inner.validate_data(X)

    def validate_params(self, params: Any, n_components: int, n_features: int) -> MeanParams:
        return self.inner.validate_params(params, n_components, n_features)

    def log_prob(self, X: np.ndarray, params: MeanParams) -> np.ndarray:
        return self.inner.log_prob(X, params)

    def expected_stats(self, X: np.ndarray, resp: np.ndarray, center: np.ndarray) -> MeanStats:
        return self.inner.expected_stats(X, resp, center)

    def maximize(self, stats: MeanStats, counts: np.ndarray) -> MeanParams:
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


def test_builtin_poisson_passes() -> None:
    check_family(emkit.Poisson(), COUNTS)
    check_model(emkit.FiniteMixture(emkit.Poisson(), 2), COUNTS)


@pytest.mark.parametrize(
    ("family", "match"),
    [
        (_WrongShape(), r"log_prob must have shape \(n_samples, n_components\)"),
        (_AveragedStats(), r"additivity of e_step"),
        (_IgnoresOrder(), r"relabelled components change log_prob"),
        (_BiasedMStep(), r"maximize\(\) is not the complete-data optimum on hard labels"),
    ],
)
def test_broken_families_are_caught(family: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_family(family, COUNTS)
