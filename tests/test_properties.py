"""The laws EM stands on, as hypothesis properties over every family."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import emkit
from emkit.em import DECREASE_RTOL
from emkit.stats import add, take_components
from tests.strategies import FAMILY_KINDS, Problem, problems

#: Two evaluations of the same sums in a different order (split rows, permuted components, repeated
#: rows) agree to rounding, amplified a little by EM iterations.
REORDER_RTOL = 1e-8

#: The closed-form MLE and emkit's M-step compute the same moments by different formulas.
MLE_RTOL = 1e-9

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _leaves(obj: Any) -> list[np.ndarray]:
    import attrs

    if attrs.has(type(obj)):
        return [leaf for f in attrs.fields(type(obj)) for leaf in _leaves(getattr(obj, f.name))]
    return [np.asarray(obj, dtype=float)]


def assert_trees_close(a: Any, b: Any, rtol: float) -> None:
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        scale = max(1.0, float(np.max(np.abs(y), initial=0.0)))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale)


def _quiet_fit(*args: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        return emkit.fit(*args, **kwargs)


@PROPERTY_SETTINGS
@given(problem=problems(), init=st.sampled_from(["random", "kmeans", "k-means++"]))
def test_log_likelihood_never_decreases(problem: Problem, init: str) -> None:
    # Seeding by distinct rows needs K of them (binary data with one feature has only two).
    assume(init == "random" or len(np.unique(problem.X, axis=0)) >= problem.model.n_components)
    result = _quiet_fit(
        problem.model, problem.X, init=init, max_iter=40, tol=0.0, random_state=problem.seed
    )
    history = result.history
    allowed = DECREASE_RTOL[np.dtype(np.float64)] * (np.abs(history[:-1]) + result.n_samples)
    assert np.all(np.diff(history) >= -allowed), np.diff(history).min()


@PROPERTY_SETTINGS
@given(problem=problems(), data=st.data())
def test_statistics_of_a_split_sum_to_the_whole(problem: Problem, data: st.DataObject) -> None:
    n = problem.X.shape[0]
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    rows = np.random.default_rng(problem.seed).permutation(n)
    first, second = rows[mask], rows[~mask]
    whole, ll = problem.model.e_step(problem.X, problem.params)
    parts = [problem.model.e_step(problem.X[idx], problem.params) for idx in (first, second)]
    assert_trees_close(add(parts[0][0], parts[1][0]), whole, REORDER_RTOL)
    np.testing.assert_allclose(parts[0][1] + parts[1][1], ll, rtol=REORDER_RTOL)


@PROPERTY_SETTINGS
@given(problem=problems(), data=st.data())
def test_relabelling_components_changes_nothing_else(problem: Problem, data: st.DataObject) -> None:
    k = problem.model.n_components
    order = np.asarray(data.draw(st.permutations(range(k))))
    permuted_start = take_components(problem.params, order)
    kwargs: dict[str, Any] = {"max_iter": 15, "tol": 0.0}
    result = _quiet_fit(problem.model, problem.X, init=problem.params, **kwargs)
    relabelled = _quiet_fit(problem.model, problem.X, init=permuted_start, **kwargs)
    assert_trees_close(relabelled.params, take_components(result.params, order), REORDER_RTOL)
    np.testing.assert_allclose(relabelled.history, result.history, rtol=REORDER_RTOL)
    np.testing.assert_allclose(
        problem.model.responsibilities(problem.X, relabelled.params),
        problem.model.responsibilities(problem.X, result.params)[:, order],
        rtol=REORDER_RTOL,
        atol=REORDER_RTOL,
    )


def _closed_form_mle(family: Any, X: np.ndarray, labels: np.ndarray, k: int) -> Any:
    groups = [X[labels == j] for j in range(k)]
    if isinstance(family, emkit.Bernoulli):
        c = family.pseudo_count
        return emkit.MeanParams(np.array([(g.sum(0) + c) / (len(g) + 2 * c) for g in groups]))
    if isinstance(family, emkit.Poisson):
        return emkit.MeanParams(np.array([g.mean(axis=0) for g in groups]))
    reg, d = family.reg_covar, X.shape[1]
    means = np.array([g.mean(axis=0) for g in groups])
    scatter = np.array([np.cov(g, rowvar=False, bias=True).reshape(d, d) for g in groups])
    kind = family.covariance_type
    if kind == "full":
        covariances = scatter + reg * np.eye(d)
    elif kind == "tied":
        sizes = np.array([len(g) for g in groups])
        covariances = (np.tensordot(sizes, scatter, axes=1) / len(X) + reg * np.eye(d))[None]
    elif kind == "diag":
        covariances = np.diagonal(scatter, axis1=1, axis2=2) + reg
    else:
        covariances = np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1) + reg
    return emkit.GaussianParams(means, covariances)


@PROPERTY_SETTINGS
@given(problem=problems(min_rows=40))
def test_m_step_on_hard_labels_is_the_closed_form_mle(problem: Problem) -> None:
    k = problem.model.n_components
    rng = np.random.default_rng(problem.seed)
    labels = rng.permutation(np.arange(problem.X.shape[0]) % k)  # every component non-empty
    got = problem.model.params_from_responsibilities(problem.X, np.eye(k)[labels])
    expected = _closed_form_mle(problem.model.family, problem.X, labels, k)
    np.testing.assert_allclose(got.weights, np.bincount(labels) / len(labels), rtol=MLE_RTOL)
    assert_trees_close(got.components, expected, MLE_RTOL)


@PROPERTY_SETTINGS
@given(problem=problems(max_rows=60), data=st.data())
def test_integer_sample_weights_equal_repeated_rows(problem: Problem, data: st.DataObject) -> None:
    n = problem.X.shape[0]
    weights = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    if weights.sum() < 3 * problem.model.n_components:
        weights = weights + 1
    repeated = np.repeat(problem.X, weights, axis=0)
    stats_w, ll_w = problem.model.e_step(problem.X, problem.params, weights.astype(float))
    stats_r, ll_r = problem.model.e_step(repeated, problem.params)
    assert_trees_close(stats_w, stats_r, REORDER_RTOL)
    np.testing.assert_allclose(ll_w, ll_r, rtol=REORDER_RTOL)
    kwargs: dict[str, Any] = {"init": problem.params, "max_iter": 10, "tol": 0.0}
    weighted = _quiet_fit(problem.model, problem.X, sample_weight=weights, **kwargs)
    plain = _quiet_fit(problem.model, repeated, **kwargs)
    assert_trees_close(weighted.params, plain.params, REORDER_RTOL)
    assert weighted.n_samples == plain.n_samples


@settings(max_examples=10, deadline=None)
@given(kind=st.sampled_from(FAMILY_KINDS), chunk=st.integers(1, 50))
def test_chunk_size_does_not_change_the_fit(kind: str, chunk: int) -> None:
    from tests.strategies import make_family, random_params

    rng = np.random.default_rng(chunk)
    model = emkit.FiniteMixture(make_family(kind), 2)
    params = random_params(model, 2, rng)
    X, _ = model.sample(params, 90, rng)
    whole = _quiet_fit(model, X, init=params, max_iter=10, tol=0.0)
    chunked = _quiet_fit(model, X, init=params, max_iter=10, tol=0.0, chunk_size=chunk)
    assert_trees_close(chunked.params, whole.params, REORDER_RTOL)
