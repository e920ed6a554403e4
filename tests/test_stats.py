"""Fieldwise arithmetic on statistics and parameters."""

from __future__ import annotations

import numpy as np
import pytest

import emkit
from emkit import stats
from emkit.families.gaussian import GaussianStats
from emkit.mixture import MixtureStats


def _stats(scale: float, center: float = 1.0) -> MixtureStats[GaussianStats]:
    return MixtureStats(
        counts=np.array([1.0, 2.0]) * scale,
        components=GaussianStats(
            center=np.full((2, 2), center),
            sum_x=np.ones((2, 2)) * scale,
            sum_xx=np.ones((2, 2, 2)) * scale,
        ),
    )


def test_add_sums_additive_fields_and_keeps_the_reference_point() -> None:
    total = stats.add(_stats(1.0), _stats(2.0))
    np.testing.assert_array_equal(total.counts, [3.0, 6.0])
    np.testing.assert_array_equal(total.components.sum_x, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(total.components.center, np.ones((2, 2)))


def test_add_refuses_statistics_around_different_reference_points() -> None:
    with pytest.raises(ValueError, match="different reference points"):
        stats.add(_stats(1.0, center=1.0), _stats(1.0, center=2.0))


def test_add_refuses_different_classes() -> None:
    with pytest.raises(TypeError, match="cannot add MixtureStats and GaussianStats"):
        stats.add(_stats(1.0), _stats(1.0).components)


def test_scale_zeros_and_sum_all() -> None:
    half = stats.scale(_stats(2.0), 0.5)
    np.testing.assert_array_equal(half.counts, [1.0, 2.0])
    np.testing.assert_array_equal(half.components.center, np.ones((2, 2)))
    zero = stats.zeros_like(_stats(5.0))
    assert not zero.counts.any()
    assert not zero.components.sum_xx.any()
    total = stats.sum_all([_stats(1.0), _stats(1.0), _stats(1.0)])
    np.testing.assert_array_equal(total.counts, [3.0, 6.0])


def test_take_components_reorders_per_component_fields_and_keeps_shared_ones() -> None:
    params = emkit.MixtureParams(
        np.array([0.2, 0.8]),
        emkit.GaussianParams(np.array([[0.0, 0.0], [5.0, 5.0]]), np.eye(2)[None] * 2.0),
    )
    swapped = stats.take_components(params, np.array([1, 0]))
    np.testing.assert_array_equal(swapped.weights, [0.8, 0.2])
    np.testing.assert_array_equal(swapped.components.means, [[5.0, 5.0], [0.0, 0.0]])
    # The tied covariance (leading axis of length 1) is shared, so it stays as it is, and the
    # derived precision factor is rebuilt from it.
    np.testing.assert_array_equal(swapped.components.covariances, params.components.covariances)
    np.testing.assert_allclose(
        swapped.components.precisions_cholesky, np.eye(2)[None] / np.sqrt(2.0)
    )


def test_parameters_are_immutable() -> None:
    params = emkit.MeanParams(np.ones((2, 2)))
    with pytest.raises(AttributeError):
        params.mean = np.zeros((2, 2))  # type: ignore[misc]
