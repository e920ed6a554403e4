"""Starting strategies: the registry of names, and model-based hierarchical agglomeration.

The agglomeration is checked against independent implementations: scipy's Ward linkage (merge
order, partition at every K and merge heights) and a brute force written here that recomputes
the within-cluster sum of squares of every candidate partition from scratch (with weights,
which scipy has not), plus a five-point example whose merges are worked out by hand.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, linkage

import emkit
from emkit import init
from emkit.init import (
    HIERARCHICAL_MAX_ROWS,
    INIT_METHODS,
    agglomerate,
    hierarchical,
    init_methods,
    initial_responsibilities,
    register_init,
)
from tests.strategies import make_family, point_clouds

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

#: Merge costs agree with an independent computation to rounding (sums of a few dozen squares).
COST_RTOL = 1e-9


# -- independent implementations -----------------------------------------------------------------
def scipy_pairs(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scipy's Ward linkage as mclust pairs (smallest row index of each merged cluster, the
    smaller first), its costs (the increase of the sum of squares, height**2 / 2) and Z."""
    Z = linkage(X, method="ward")
    smallest = list(range(X.shape[0]))
    pairs = []
    for left, right in Z[:, :2].astype(int):
        a, b = sorted((smallest[left], smallest[right]))
        pairs.append((a, b))
        smallest.append(a)
    return np.array(pairs, dtype=np.intp).reshape(-1, 2), Z[:, 2] ** 2 / 2.0, Z


def within_ss(X: np.ndarray, w: np.ndarray, clusters: list[list[int]]) -> float:
    """The weighted within-cluster sum of squares of a partition, from scratch."""
    total = 0.0
    for members in clusters:
        rows, weights = X[members], w[members]
        mean = weights @ rows / weights.sum()
        total += float(weights @ ((rows - mean) ** 2).sum(axis=1))
    return total


def brute_force(X: np.ndarray, w: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Agglomeration by trying every pair at every stage and scoring each candidate partition
    by its whole within-cluster sum of squares: (pairs in mclust's convention, costs)."""
    clusters = [[i] for i in range(X.shape[0])]
    pairs, costs = [], []
    while len(clusters) > n_clusters:
        before = within_ss(X, w, clusters)
        best: tuple[float, int, int] | None = None
        for p, q in itertools.combinations(range(len(clusters)), 2):
            merged = [c for k, c in enumerate(clusters) if k not in (p, q)]
            merged.append(clusters[p] + clusters[q])
            increase = within_ss(X, w, merged) - before
            if best is None or increase < best[0]:
                best = (increase, p, q)
        assert best is not None
        increase, p, q = best
        pairs.append(sorted((min(clusters[p]), min(clusters[q]))))
        costs.append(increase)
        clusters[p] = sorted(clusters[p] + clusters[q])
        del clusters[q]
    return np.array(pairs, dtype=np.intp).reshape(-1, 2), np.array(costs)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label vectors make the same partition (labels may be numbered differently)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# -- the merge order ---------------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(X=point_clouds())
def test_merge_order_is_scipy_ward(X: np.ndarray) -> None:
    tree = agglomerate(X)
    pairs, costs, Z = scipy_pairs(X)
    np.testing.assert_array_equal(tree.pairs, pairs)
    np.testing.assert_allclose(tree.costs, costs, rtol=COST_RTOL, atol=COST_RTOL * costs.max())
    for k in range(1, X.shape[0] + 1):
        ours = agglomerate(X, k).labels
        assert same_partition(ours, fcluster(Z, k, criterion="maxclust")), k
        assert set(ours.tolist()) == set(range(k))


def test_merge_order_with_weights_is_the_brute_force() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(12, 2)) + np.repeat(rng.normal(0.0, 3.0, size=(3, 2)), 4, axis=0)
    w = rng.uniform(0.2, 6.0, size=12)
    pairs, costs = brute_force(X, w, 1)
    tree = agglomerate(X, 1, w)
    np.testing.assert_array_equal(tree.pairs, pairs)
    np.testing.assert_allclose(tree.costs, costs, rtol=COST_RTOL, atol=COST_RTOL * costs.max())
    # The weights matter: without them the merges come in another order.
    assert not np.array_equal(agglomerate(X).pairs, pairs)


def test_five_points_on_a_line_merge_as_worked_out_by_hand() -> None:
    # Values 15, 3, 0, 7, 1 (rows 0..4). Ward's cost n_a n_b / (n_a + n_b) (m_a - m_b)^2:
    # {0}+{1} costs 1/2 * 1 = 1/2 (rows 2, 4), the least of the neighbours (3-1: 2, 7-3: 8,
    # 15-7: 32); {0,1} (mean 1/2) + {3} costs 2/3 * (5/2)^2 = 25/6 < 8; {0,1,3} (mean 4/3) + {7}
    # costs 3/4 * (17/3)^2 = 289/12 < 32; then + {15}: 4/5 * (15 - 11/4)^2 = 2401/20.
    X = np.array([[15.0], [3.0], [0.0], [7.0], [1.0]])
    tree = agglomerate(X)
    np.testing.assert_array_equal(tree.pairs, [[2, 4], [1, 2], [1, 3], [0, 1]])
    np.testing.assert_allclose(tree.costs, [1 / 2, 25 / 6, 289 / 12, 2401 / 20], rtol=COST_RTOL)
    np.testing.assert_array_equal(agglomerate(X, 2).labels, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(agglomerate(X, 3).labels, [0, 1, 1, 2, 1])


def test_ward_is_not_single_linkage() -> None:
    # 0, 2 and 3.5 with weights 1, 1, 10: the closest pair is 2, 3.5 (1.5 apart) but merging
    # the heavy row costs 10/11 * 2.25 = 2.05 > 1/2 * 4 = 2 for the pair 0, 2.
    X = np.array([[0.0], [2.0], [3.5]])
    tree = agglomerate(X, 2, np.array([1.0, 1.0, 10.0]))
    np.testing.assert_array_equal(tree.pairs, [[0, 1]])
    np.testing.assert_array_equal(agglomerate(X, 2).pairs, [[1, 2]])


# -- the strategy: weights, order, sample bound ------------------------------------------------
def test_a_weighted_row_agglomerates_as_its_copies() -> None:
    # 0, 1 and 2.2 with K=2: unweighted {0, 1} merge (cost 0.5 < 0.72); 10 copies of 0 make
    # that merge cost 10/11 and {1, 2.2} merge instead.
    X = np.array([[2.2], [0.0], [1.0]])
    w = np.array([1.0, 10.0, 1.0])
    rng = np.random.default_rng(0)
    weighted = hierarchical(X, 2, rng, w)
    repeated = hierarchical(np.repeat(X, w.astype(int), axis=0), 2, rng)
    np.testing.assert_array_equal(np.repeat(weighted, w.astype(int)), repeated)
    assert weighted[0] == weighted[2] != weighted[1]
    assert hierarchical(X, 2, rng)[1] == hierarchical(X, 2, rng)[2]


@PROPERTY_SETTINGS
@given(
    X=point_clouds(min_rows=8, max_rows=40),
    max_rows=st.sampled_from([5, HIERARCHICAL_MAX_ROWS]),
    seed=st.integers(0, 2**32 - 1),
)
def test_weights_are_repeats_and_row_order_does_not_matter(
    X: np.ndarray, max_rows: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    w = rng.integers(0, 4, size=n)
    w[:2] = (0, 3)
    k = min(3, int(np.count_nonzero(w)))
    weighted = hierarchical(X, k, np.random.default_rng(seed), w.astype(float), max_rows)
    repeated = hierarchical(np.repeat(X, w, axis=0), k, np.random.default_rng(seed), None, max_rows)
    np.testing.assert_array_equal(np.repeat(weighted, w), repeated)
    order = rng.permutation(n)
    shuffled = hierarchical(X[order], k, np.random.default_rng(seed), w[order] * 1.0, max_rows)
    np.testing.assert_array_equal(shuffled, weighted[order])
    assert set(weighted[w > 0].tolist()) == set(range(k))


def test_large_data_agglomerate_a_bounded_sample_and_label_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = centers[rng.integers(0, 3, size=600)] + rng.normal(size=(600, 2))
    w = np.ones(600)
    w[7] = 1e6  # drawn by weight: this row is in every sample
    seen: list[np.ndarray] = []
    agglomerate_rows = init._agglomerate

    def recording(Xs: np.ndarray, weights: np.ndarray, n_clusters: int) -> Any:
        seen.append(weights)
        return agglomerate_rows(Xs, weights, n_clusters)

    monkeypatch.setattr(init, "_agglomerate", recording)
    monkeypatch.setattr(init, "HIERARCHICAL_MAX_ROWS", 50)
    resp = initial_responsibilities(X, 3, "hierarchical", np.random.default_rng(0), w)
    assert [s.shape[0] for s in seen] == [50]
    assert 1e6 in seen[0]
    labels = resp.argmax(axis=1)
    np.testing.assert_array_equal(resp, np.eye(3)[labels])
    # Every row is labelled, the three blobs are found, and the rows left out of the sample
    # joined the cluster of the nearest mean.
    truth = np.argmin(((X[:, None, :] - centers) ** 2).sum(axis=2), axis=1)
    assert same_partition(labels, truth)
    assert np.array_equal(hierarchical(X, 3, np.random.default_rng(0), w, max_rows=50), labels)
    # Below the bound no draw is made: every seed gives the same start.
    few = X[:40]
    starts = [hierarchical(few, 3, np.random.default_rng(s), max_rows=50) for s in range(3)]
    assert all(np.array_equal(s, starts[0]) for s in starts)


def test_sampled_rows_keep_their_agglomerated_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    # Uniform points: Ward's clusters are not the cells of their means, so rows of the sample
    # keep the cluster the agglomeration gave them, the others join the nearest mean.
    X = np.random.default_rng(8).random((300, 2))
    trees: list[tuple[np.ndarray, Any]] = []
    agglomerate_rows = init._agglomerate

    def recording(Xs: np.ndarray, weights: np.ndarray, n_clusters: int) -> Any:
        trees.append((Xs, agglomerate_rows(Xs, weights, n_clusters)))
        return trees[-1][1]

    monkeypatch.setattr(init, "_agglomerate", recording)
    labels = hierarchical(X, 6, np.random.default_rng(1), max_rows=60)
    (Xs, (tree, centers)), shift = trees[0], X.mean(axis=0)
    rows = np.argmin(((X[:, None, :] - (Xs + shift)) ** 2).sum(axis=2), axis=0)
    # The labels are numbered as the agglomeration's clusters, and ``centers`` are their means.
    np.testing.assert_array_equal(labels[rows], tree.labels)
    others = np.setdiff1d(np.arange(300), rows)
    nearest = np.argmin(((X[others, None, :] - (centers + shift)) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(labels[others], nearest)
    nearest_of_sample = np.argmin(((Xs[:, None, :] - centers) ** 2).sum(axis=2), axis=1)
    assert not np.array_equal(nearest_of_sample, tree.labels)  # the case this test is about


def test_hierarchical_errors() -> None:
    X = np.repeat(np.array([[0.0, 1.0], [2.0, 0.0], [5.0, 5.0]]), 3, axis=0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"only 3 distinct row\(s\).*n_components=4"):
        initial_responsibilities(X, 4, "hierarchical", rng)
    with pytest.raises(ValueError, match=r"`max_rows` must be >= 3; got 2"):
        hierarchical(X, 3, rng, max_rows=2)
    with pytest.raises(ValueError, match=r"`n_clusters` must be <= 9; got 10"):
        agglomerate(X, 10)
    with pytest.raises(ValueError, match=r"`n_clusters` must be >= 1; got 0"):
        agglomerate(X, 0)
    with pytest.raises(ValueError, match=r"`weights` must be > 0; found 0.0 at index 1"):
        agglomerate(X[:3], 1, np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match=r"one entry per row of X \(3\); got 2"):
        agglomerate(X[:3], 1, np.ones(2))


@pytest.mark.parametrize("kind", ["full", "bernoulli", "poisson"])
def test_fit_from_a_hierarchical_start(kind: str) -> None:
    rng = np.random.default_rng(2)
    model = emkit.FiniteMixture(make_family(kind), 3)
    labels = rng.integers(0, 3, size=300)
    if kind == "bernoulli":
        X = (rng.random((300, 8)) < np.array([0.1, 0.5, 0.9])[labels, None]).astype(float)
    elif kind == "poisson":
        X = rng.poisson(np.array([1.0, 6.0, 20.0])[labels, None], size=(300, 3)).astype(float)
    else:
        X = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[labels] + rng.normal(size=(300, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        result = emkit.fit(model, X, init="hierarchical", random_state=0)
        again = emkit.fit(model, X, init="hierarchical", random_state=1)
    assert np.isfinite(result.objective)
    # A start with no random choice: any seed reaches the same optimum.
    assert result.objective == pytest.approx(again.objective, rel=COST_RTOL)
    assert np.sort(result.params.weights).min() > 0.2


# -- the registry --------------------------------------------------------------------------------
@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An empty table of registered strategies, restored after the test."""
    table: dict[str, Any] = {}
    monkeypatch.setattr(init, "_REGISTERED", table)
    return table


def first_rows_first(
    X: np.ndarray, n_components: int, rng: np.random.Generator, weights: np.ndarray | None
) -> np.ndarray:
    """A plugin strategy: the first rows in the first component, the rest split by rank."""
    labels = np.minimum(np.arange(X.shape[0]) * n_components // X.shape[0], n_components - 1)
    return np.eye(n_components)[labels]


def test_a_registered_strategy_starts_a_fit(plugins: dict[str, Any]) -> None:
    calls: list[tuple[int, int, bool]] = []

    def by_first_column(
        X: np.ndarray, n_components: int, rng: np.random.Generator, weights: np.ndarray | None
    ) -> np.ndarray:
        calls.append((X.shape[0], n_components, weights is None))
        order = np.argsort(np.argsort(X[:, 0]))
        return np.eye(n_components)[order * n_components // X.shape[0]]

    assert register_init("by_first_column", by_first_column) is by_first_column
    assert init_methods() == (*INIT_METHODS, "by_first_column")
    assert "by_first_column" not in INIT_METHODS
    X = emkit.datasets.load_faithful().data
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    result = emkit.fit(model, X, init="by_first_column", random_state=0)
    assert calls[0] == (X.shape[0], 2, True)
    np.testing.assert_allclose(np.sort(result.params.weights), [0.356, 0.644], atol=0.01)
    start = model.init_params(X, np.random.default_rng(0), "by_first_column")
    assert start.components.means[0, 0] < start.components.means[1, 0]


def test_registering_again(plugins: dict[str, Any]) -> None:
    register_init("ranks", first_rows_first)
    register_init("ranks", first_rows_first)  # the same function (a cell run again): replaces

    def first_rows_first_2(*args: Any) -> np.ndarray:
        return first_rows_first(*args)

    with pytest.raises(ValueError, match=r"different function.*'ranks'.*first_rows_first_2"):
        register_init("ranks", first_rows_first_2)
    assert plugins["ranks"] is first_rows_first


@pytest.mark.parametrize(
    ("name", "function", "error", "message"),
    [
        ("kmeans", first_rows_first, ValueError, r"'kmeans' is a built-in"),
        ("Hierarchical", first_rows_first, ValueError, r"'Hierarchical' is a built-in"),
        ("", first_rows_first, ValueError, r"non-empty string.*got ''"),
        (" mine", first_rows_first, ValueError, r"surrounding spaces; got ' mine'"),
        (3, first_rows_first, TypeError, r"`name` must be a string; got 3"),
        ("mine", "not callable", TypeError, r"`function` must be callable; got 'not callable'"),
        ("mine", lambda X, k: X, TypeError, r"must accept \(X, n_components, rng, weights\)"),
    ],
)
def test_register_init_refuses(
    plugins: dict[str, Any], name: Any, function: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        register_init(name, function)
    assert plugins == {}


def test_a_model_level_name_is_refused_here_and_reserved(plugins: dict[str, Any]) -> None:
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match=r"`init` 'emEM' is a model-level strategy"):
        initial_responsibilities(X, 2, "emEM", np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"`name` 'emem' is a built-in initialisation"):
        register_init("emem", first_rows_first)


def test_an_unknown_name_lists_the_known_ones(plugins: dict[str, Any]) -> None:
    register_init("ranks", first_rows_first)
    X = np.arange(12.0).reshape(6, 2)
    listed = r"`init` must be one of .*'hierarchical', 'ranks', 'emEM'; got"
    with pytest.raises(ValueError, match=listed):
        initial_responsibilities(X, 2, "nope", np.random.default_rng(0))


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (lambda n, k: np.ones((n, k + 1)) / (k + 1), r"shape .* = \(6, 2\); got shape \(6, 3\)"),
        (lambda n, k: np.full((n, k), np.nan), r"finite, non-negative.*nan at row 0, component 0"),
        (lambda n, k: np.tile([1.5, -0.5], (n, 1)), r"-0.5 at row 0, component 1"),
        (lambda n, k: np.full((n, k), 0.4), r"rows sum to 1; row 0 sums to 0.8"),
    ],
)
def test_a_plugin_returning_bad_responsibilities_is_named(
    plugins: dict[str, Any], returned: Any, message: str
) -> None:
    def broken(X: np.ndarray, k: int, rng: np.random.Generator, w: Any) -> np.ndarray:
        return np.asarray(returned(X.shape[0], k))

    register_init("broken", broken)
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match=r"initialisation 'broken' \(.*broken\) must return"):
        initial_responsibilities(X, 2, "broken", np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        initial_responsibilities(X, 2, "broken", np.random.default_rng(0))


def test_the_plugin_table_is_left_clean() -> None:
    # Runs after the tests above (same module, file order): none of their names leaked.
    assert init_methods()[: len(INIT_METHODS)] == INIT_METHODS
    assert not {"ranks", "broken", "by_first_column"} & set(init_methods())
