"""An integer sample weight is the same as repeating the row, from the first random draw on.

A row of weight ``w`` must start EM, and end it, where ``w`` copies of the row would, a row of
weight 0 where the data without it would, whatever the order of the rows (scikit-learn's
``check_sample_weight_equivalence_on_dense_data`` fits a shuffled, weighted copy of the data
against the repeated one). ``emkit.init`` therefore seeds on the distinct rows of positive
weight in a canonical order: the starts below are compared bit for bit, the fits to rounding.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.utils import shuffle
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

import emkit
from emkit import init
from emkit.init import INIT_METHODS, initial_responsibilities, kmeans, kmeans_plusplus
from emkit.sources import as_source
from tests.strategies import WeightedProblem, make_family, weighted_problems

#: Fits of weighted versus repeated data from the same start: the same EM iterations, the sums
#: over rows taken in another order (a row of weight 3 is one product, three copies are three
#: terms): a few ulps per iteration, which twenty iterations amplify to at most 1e-11 (measured
#: over 800 hypothesis examples).
WEIGHTED_FIT_RTOL = 1e-9

#: Absolute floor of that comparison, for parameters that are (nearly) zero.
WEIGHTED_FIT_ATOL = 1e-12

#: A Gaussian component whose smallest variance is below this fraction of the data's largest
#: variance has (almost) no spread in some direction: it sits on fewer than D + 1 distinct rows,
#: held up by reg_covar. Rounding in its moments is then amplified by the inverse of that
#: fraction (the condition number), in any fit of any data; such fits are left out.
MIN_RELATIVE_VARIANCE = 1e-4

#: scikit-learn's own tolerance in check_sample_weight_equivalence (assert_allclose_dense_sparse).
SKLEARN_CHECK_RTOL = 1e-7
SKLEARN_CHECK_ATOL = 1e-9

PROPERTY_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

#: Iterations of the EM fits compared here (with tol=0, so both sides run all of them).
FIT_ITERATIONS = 20

ESTIMATORS = {
    "gaussian": emkit.GaussianMixture,
    "bernoulli": emkit.BernoulliMixture,
    "poisson": emkit.PoissonMixture,
}


def _leaves(obj: Any) -> list[np.ndarray]:
    import attrs

    if attrs.has(type(obj)):
        return [leaf for f in attrs.fields(type(obj)) for leaf in _leaves(getattr(obj, f.name))]
    return [np.asarray(obj, dtype=float)]


def assert_params_close(a: Any, b: Any) -> None:
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=WEIGHTED_FIT_RTOL, atol=WEIGHTED_FIT_ATOL)


def well_conditioned(components: Any, X: np.ndarray) -> bool:
    """No Gaussian component has a variance below MIN_RELATIVE_VARIANCE of the data's largest."""
    covariances = getattr(components, "covariances", None)
    if covariances is None:
        return True
    variances = np.linalg.eigvalsh(covariances) if covariances.ndim == 3 else covariances
    return bool(variances.min() >= MIN_RELATIVE_VARIANCE * X.var(axis=0).max())


def seedable(case: WeightedProblem) -> None:
    """k-means++ needs as many distinct rows of positive weight as components."""
    assume(case.distinct_positive_rows >= case.n_components)


def family_data(kind: str, n_samples: int, n_features: int, rng: np.random.RandomState) -> Any:
    """scikit-learn's check data (uniform floats in [0, 1)) moved into the family's support."""
    X = rng.rand(n_samples, n_features)
    if kind == "bernoulli":
        return (X < 0.5).astype(np.float64)
    if kind == "poisson":
        return np.floor(8.0 * X)
    return X


# -- the starts, bit for bit -------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(case=weighted_problems(), seed=st.integers(0, 2**32 - 1))
def test_kmeans_plusplus_seeds_are_the_same_rows(case: WeightedProblem, seed: int) -> None:
    seedable(case)
    k = case.n_components
    weighted = kmeans_plusplus(
        case.x_weighted, k, np.random.default_rng(seed), case.weights_weighted
    )
    repeated = kmeans_plusplus(case.x_repeated, k, np.random.default_rng(seed))
    np.testing.assert_array_equal(case.x_weighted[weighted], case.x_repeated[repeated])
    assert (case.weights_weighted[weighted] > 0).all()


@PROPERTY_SETTINGS
@given(case=weighted_problems(), seed=st.integers(0, 2**32 - 1))
def test_kmeans_gives_every_copy_the_label_of_its_weighted_row(
    case: WeightedProblem, seed: int
) -> None:
    seedable(case)
    k = case.n_components
    weighted = kmeans(case.x_weighted, k, np.random.default_rng(seed), case.weights_weighted)
    repeated = kmeans(case.x_repeated, k, np.random.default_rng(seed))
    np.testing.assert_array_equal(case.per_row(weighted), repeated)
    used = np.unique(weighted[case.weights_weighted > 0])
    np.testing.assert_array_equal(used, np.arange(k))


@PROPERTY_SETTINGS
@given(
    case=weighted_problems(),
    method=st.sampled_from(INIT_METHODS),
    seed=st.integers(0, 2**32 - 1),
)
def test_initial_responsibilities_are_those_of_the_repeated_rows(
    case: WeightedProblem, method: str, seed: int
) -> None:
    seedable(case)
    k, X, w = case.n_components, case.x_weighted, case.weights_weighted
    weighted = initial_responsibilities(X, k, method, np.random.default_rng(seed), w)
    repeated = initial_responsibilities(case.x_repeated, k, method, np.random.default_rng(seed))
    np.testing.assert_array_equal(case.per_row(weighted), repeated)
    # A row of weight 0 is the same as no row at all.
    kept = w > 0
    dropped = initial_responsibilities(X[kept], k, method, np.random.default_rng(seed), w[kept])
    np.testing.assert_array_equal(weighted[kept], dropped)
    np.testing.assert_allclose(weighted.sum(axis=1), 1.0, rtol=0.0, atol=1e-12)


@PROPERTY_SETTINGS
@given(case=weighted_problems(), seed=st.integers(0, 2**32 - 1))
def test_start_does_not_depend_on_the_order_of_the_rows(case: WeightedProblem, seed: int) -> None:
    seedable(case)
    k, X = case.n_components, case.problem.X
    w = case.weights.astype(np.float64)
    for method in INIT_METHODS:
        ordered = initial_responsibilities(X, k, method, np.random.default_rng(seed), w)
        shuffled = initial_responsibilities(
            case.x_weighted, k, method, np.random.default_rng(seed), case.weights_weighted
        )
        np.testing.assert_array_equal(ordered[case.order], shuffled)


# -- the fits, to rounding ---------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(
    case=weighted_problems(),
    method=st.sampled_from(INIT_METHODS),
    seed=st.integers(0, 2**32 - 1),
)
def test_fit_with_weights_equals_fit_on_repeated_rows(
    case: WeightedProblem, method: str, seed: int
) -> None:
    seedable(case)
    model = case.problem.model
    kwargs: dict[str, Any] = {
        "init": method,
        "max_iter": FIT_ITERATIONS,
        "tol": 0.0,
        "random_state": seed,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        # A Gaussian component squeezed onto a few rows, with a variance within a few orders of
        # magnitude of reg_covar, can lose ~1e-7 nats in an iteration: reg_covar makes the
        # M-step a near-maximiser only. Both fits take the same steps; their sameness is tested.
        warnings.simplefilter("ignore", emkit.LikelihoodDecreaseWarning)
        weighted = emkit.fit(model, case.x_weighted, sample_weight=case.weights_weighted, **kwargs)
        repeated = emkit.fit(model, case.x_repeated, **kwargs)
    assert weighted.n_samples == repeated.n_samples
    assume(well_conditioned(repeated.params.components, case.x_repeated))
    assert_params_close(weighted.params, repeated.params)
    # The objective per unit of weight, after every iteration.
    np.testing.assert_allclose(
        weighted.history / weighted.n_samples,
        repeated.history / repeated.n_samples,
        rtol=WEIGHTED_FIT_RTOL,
        atol=WEIGHTED_FIT_RTOL,
    )


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
@pytest.mark.parametrize("n_components", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimator_fit_with_weights_equals_fit_on_repeated_rows(
    kind: str, n_components: int, seed: int
) -> None:
    rng = np.random.RandomState(seed)
    X = family_data(kind, 40, 4, rng)
    weights = rng.randint(0, 5, size=X.shape[0])
    X_weighted, w_weighted = shuffle(X, weights, random_state=seed)
    estimator = ESTIMATORS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        weighted = estimator(n_components, random_state=seed).fit(
            X_weighted, sample_weight=w_weighted
        )
        repeated = estimator(n_components, random_state=seed).fit(np.repeat(X, weights, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    assert_params_close(weighted.result_.params, repeated.result_.params)
    np.testing.assert_allclose(
        weighted.predict_proba(X),
        repeated.predict_proba(X),
        rtol=WEIGHTED_FIT_RTOL,
        atol=WEIGHTED_FIT_ATOL,
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("method", INIT_METHODS)
@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_sklearn_weight_check_passes_for_every_init_method(method: str, n_components: int) -> None:
    check_sample_weight_equivalence_on_dense_data(
        "GaussianMixture", emkit.GaussianMixture(n_components, init_params=method)
    )


@pytest.mark.parametrize("kind", ["bernoulli", "poisson"])
@pytest.mark.parametrize("method", INIT_METHODS)
@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_sklearn_weight_check_on_data_in_the_family_support(
    kind: str, method: str, n_components: int
) -> None:
    """scikit-learn's check, step by step, on 0/1 or count data (its own data are floats)."""
    rng = np.random.RandomState(42)
    n_samples = 15
    X = family_data(kind, n_samples, n_samples * 2, rng)
    rng.randint(0, 3, size=n_samples)  # the check's y, drawn to keep its random stream
    sw = rng.randint(0, 5, size=n_samples)
    X_repeated = X.repeat(repeats=sw, axis=0)
    X_weighted, sw = shuffle(X, sw, random_state=0)
    estimator = ESTIMATORS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        repeated = estimator(n_components, init_params=method, random_state=0).fit(X_repeated)
        weighted = estimator(n_components, init_params=method, random_state=0).fit(
            X_weighted, sample_weight=sw
        )
    for name in ("predict_proba", "predict"):
        np.testing.assert_allclose(
            getattr(repeated, name)(X),
            getattr(weighted, name)(X),
            rtol=SKLEARN_CHECK_RTOL,
            atol=SKLEARN_CHECK_ATOL,
        )


# -- the pieces ----------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(0, 40), st.integers(1, 4)),
    seed=st.integers(0, 2**32 - 1),
)
def test_canonical_groups_are_numpy_unique_rows(shape: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 3, size=shape).astype(np.float64)  # many ties in every column
    values[rng.random(shape) < 0.2] = -0.0
    X = values.copy()
    distinct = init._distinct_rows(X, None)
    unique, first, inverse = np.unique(values + 0.0, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(distinct.rows, unique)
    np.testing.assert_array_equal(distinct.group, inverse.reshape(-1))
    np.testing.assert_array_equal(distinct.first, first)
    np.testing.assert_array_equal(distinct.weight, np.bincount(inverse.reshape(-1)))
    np.testing.assert_array_equal(X, values)  # the caller's rows are left alone


def test_minus_zero_and_zero_are_one_row() -> None:
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, -0.0]])
    distinct = init._distinct_rows(X, np.array([1.0, 2.0, 0.0]))
    np.testing.assert_array_equal(distinct.rows, [[0.0, 1.0]])
    assert not np.signbit(distinct.rows).any()
    np.testing.assert_array_equal(distinct.weight, [3.0])
    np.testing.assert_array_equal(distinct.group, [0, 0, -1])


def test_inverse_cdf_never_draws_a_row_of_weight_zero() -> None:
    w = np.array([0.0, 2.0, 0.0, 0.0, 1.0, 0.0])
    extremes = np.array([0.0, np.nextafter(1.0, 0.0), 2.0 / 3.0, np.nextafter(2.0 / 3.0, 0.0)])
    drawn = init._inverse_cdf(np.cumsum(w), extremes)
    np.testing.assert_array_equal(drawn, [1, 4, 4, 1])
    many = init._inverse_cdf(np.cumsum(w), np.random.default_rng(0).random(10_000))
    assert set(many.tolist()) == {1, 4}
    assert abs(np.mean(many == 1) - 2.0 / 3.0) < 0.02


def test_empty_cluster_takes_the_farthest_row_of_a_cluster_that_keeps_one() -> None:
    labels = np.array([0, 0, 0, 1, 2])
    nearest = np.array([0.5, 3.0, 3.0, 0.0, 9.0])  # row 4 is alone in cluster 2: it stays
    init._fill_empty(labels, nearest, 4)
    np.testing.assert_array_equal(labels, [0, 3, 0, 1, 2])  # the first of the two farthest


def test_lloyd_repairs_an_empty_cluster_with_a_whole_weighted_row() -> None:
    # 21.0 stands for five copies. The third center attracts no row; the row farthest from its
    # center is 21.0, and all of its weight moves (moving one copy of five, as k-means on the
    # repeated rows used to, would leave four copies behind with 16.0).
    Xs = np.array([[0.0], [1.0], [16.0], [21.0]])
    w = np.array([1.0, 1.0, 1.0, 5.0])
    centers = np.array([[0.5], [18.0], [1000.0]])
    labels, centers = init._lloyd(Xs, w, centers, init.KMEANS_MAX_ITER, init.KMEANS_TOL)
    np.testing.assert_array_equal(labels, [0, 0, 1, 2])
    np.testing.assert_array_equal(centers, [[0.5], [16.0], [21.0]])


def test_random_responsibilities_are_drawn_once_per_distinct_row() -> None:
    X = np.array([[0.0, 1.0], [2.0, 2.0], [0.0, 1.0], [5.0, 5.0], [7.0, 7.0]])
    w = np.array([1.0, 2.0, 3.0, 0.0, 1.0])
    resp = initial_responsibilities(X, 3, "random", np.random.default_rng(0), w)
    np.testing.assert_array_equal(resp[0], resp[2])
    assert not np.array_equal(resp[0], resp[1])
    np.testing.assert_array_equal(resp[3], np.full(3, 1.0 / 3.0))  # weight 0: no say


@pytest.mark.parametrize("method", ["kmeans", "k-means++", "random_from_data"])
def test_start_follows_a_shift_and_a_scaling_of_the_data(method: str) -> None:
    X = emkit.datasets.load_faithful().data
    start = initial_responsibilities(X, 3, method, np.random.default_rng(0))
    for moved in (X + 1e8, 3.0 * X - 7.0):
        again = initial_responsibilities(moved, 3, method, np.random.default_rng(0))
        np.testing.assert_array_equal(again, start)


@pytest.mark.parametrize("method", INIT_METHODS)
def test_random_from_data_and_friends_use_a_weighted_sample(method: str) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 2)) + np.repeat([[0.0, 0.0], [8.0, 8.0]], 200, axis=0)
    w = rng.integers(0, 4, size=400).astype(np.float64)
    sample, sample_weight = as_source(X, w).init_sample(rng, 100)
    assert sample.shape == (100, 2)
    assert sample_weight is not None
    model = emkit.FiniteMixture(make_family("full"), 2)
    params = model.init_params(sample, rng, method, sample_weight)
    assert np.isfinite(params.weights).all()
    assert np.isfinite(params.components.means).all()


def test_random_from_data_draws_distinct_rows_by_weight() -> None:
    w = np.array([1.0, 1.0, 1.0, 97.0])
    draws = [init._draw_without_replacement(w, 2, np.random.default_rng(s)) for s in range(500)]
    assert all(len(set(d.tolist())) == 2 for d in draws)
    first = np.array([d[0] for d in draws])
    assert abs(np.mean(first == 3) - 0.97) < 0.03
    # Equal weights are a uniform draw: numpy's own, the rows emkit always drew for a seed.
    equal = init._draw_without_replacement(np.full(9, 2.0), 3, np.random.default_rng(5))
    np.testing.assert_array_equal(equal, np.random.default_rng(5).choice(9, 3, replace=False))


@pytest.mark.parametrize("method", INIT_METHODS)
def test_rows_of_weight_zero_are_not_samples(method: str) -> None:
    X = np.random.default_rng(0).normal(size=(6, 2))
    w = np.array([4.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"number of samples with positive weight \(1\); got 2"):
        initial_responsibilities(X, 2, method, np.random.default_rng(0), w)
    with pytest.raises(ValueError, match=r"number of samples with positive weight \(0\); got 1"):
        initial_responsibilities(X, 1, method, np.random.default_rng(0), np.zeros(6))
