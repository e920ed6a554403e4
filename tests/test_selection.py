"""Information criteria and the selection helper."""

from __future__ import annotations

import numpy as np
import pytest

import emkit
from emkit.selection import classification_entropy

#: Hand computation and library agree up to rounding.
SAME_RTOL = 1e-12


@pytest.fixture(scope="module")
def three_clusters() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(c, 0.5, size=(150, 2)) for c in ([0, 0], [5, 0], [0, 5])])


def test_criteria_by_hand(three_clusters: np.ndarray) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 3)
    result = emkit.fit(model, three_clusters, random_state=0)
    p = 2 + 3 * 2 * 2  # weights + means + variances
    n = three_clusters.shape[0]
    ll = result.log_likelihood
    np.testing.assert_allclose(emkit.bic(result), -2 * ll + p * np.log(n), rtol=SAME_RTOL)
    np.testing.assert_allclose(emkit.aic(result), -2 * ll + 2 * p, rtol=SAME_RTOL)
    resp = model.responsibilities(three_clusters, result.params)
    entropy = -np.sum(resp * np.log(np.maximum(resp, 1e-300)))
    np.testing.assert_allclose(classification_entropy(result, three_clusters), entropy, rtol=1e-9)
    assert emkit.icl(result, three_clusters) >= emkit.bic(result)


def test_bic_uses_the_weighted_number_of_samples(three_clusters: np.ndarray) -> None:
    weights = np.full(three_clusters.shape[0], 2.0)
    result = emkit.fit(
        emkit.FiniteMixture(emkit.Gaussian(), 3),
        three_clusters,
        sample_weight=weights,
        random_state=0,
    )
    assert result.n_samples == 2 * three_clusters.shape[0]


def test_select_finds_three_clusters_and_tabulates(three_clusters: np.ndarray) -> None:
    selection = emkit.select(
        three_clusters,
        n_components=range(1, 6),
        covariance_types=("full", "spherical"),
        random_state=0,
    )
    assert len(selection.candidates) == 10
    assert selection.best.n_components == 3
    table = selection.table()
    assert table.count("\n") == 10
    best_rows = [line for line in table.splitlines() if line.startswith("*")]
    assert len(best_rows) == 1
    assert " 3 " in best_rows[0]
    for criterion in ("aic", "icl"):
        other = emkit.selection.Selection(selection.candidates, criterion)
        assert other.best.n_components == 3


def test_select_other_families() -> None:
    data = emkit.datasets.load_earthquakes().data
    selection = emkit.select(
        data, emkit.Poisson(), n_components=range(1, 5), n_init=3, random_state=0
    )
    # Zucchini & MacDonald: the earthquake counts are overdispersed; a single Poisson is worst.
    scores = [c.bic for c in selection.candidates]
    assert scores[0] == max(scores)
    assert selection.best.n_components in (2, 3)


def test_select_rejects_bad_arguments(three_clusters: np.ndarray) -> None:
    with pytest.raises(
        ValueError, match=r"`criterion` must be one of 'bic', 'aic', 'icl'; got 'r2'"
    ):
        emkit.select(three_clusters, criterion="r2")
    with pytest.raises(ValueError, match=r"`covariance_types` applies only to a Gaussian family"):
        emkit.select(three_clusters, emkit.Poisson(), covariance_types=("full",))
    with pytest.raises(ValueError, match=r"`covariance_types` must be one of"):
        emkit.select(three_clusters, covariance_types=("round",))
    with pytest.raises(ValueError, match=r"`n_components` must name at least one"):
        emkit.select(three_clusters, n_components=[])
