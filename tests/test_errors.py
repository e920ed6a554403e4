"""Bad input gets a clear ValueError/TypeError naming the argument, the rule and the value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import emkit

X_GOOD = np.random.default_rng(0).normal(size=(30, 2))
GAUSSIAN2 = emkit.FiniteMixture(emkit.Gaussian(), 2)


def _fit(X: Any = X_GOOD, model: Any = GAUSSIAN2, **kwargs: Any) -> Any:
    return emkit.fit(model, X, **kwargs)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (
            np.array([[1.0, np.nan], [2.0, 3.0]]),
            ValueError,
            r"`X` must contain only finite.*nan at row 0, column 1",
        ),
        (
            np.array([[1.0, 2.0], [np.inf, 3.0]]),
            ValueError,
            r"finite values; found inf at row 1, column 0",
        ),
        (np.arange(5.0), ValueError, r"`X` must be a 2-D array; got 1-D.*reshape\(-1, 1\)"),
        (np.zeros((2, 2, 2)), ValueError, r"`X` must be a 2-D array; got 3-D"),
        (np.zeros((0, 2)), ValueError, r"`X` must have at least 1 row"),
        (np.zeros((5, 0)), ValueError, r"`X` must have at least one column"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, r"`X` must be numeric; got dtype <U1"),
        (np.array([[1, "x"]], dtype=object), TypeError, r"`X` must be numeric.*'x'"),
        ([[1.0, 2.0], [3.0]], ValueError, r"`X` must be a rectangular numeric array"),
        (np.array([[1 + 2j, 0]]), TypeError, r"`X` must be real"),
    ],
)
def test_bad_data(X: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _fit(X)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: emkit.FiniteMixture(emkit.Gaussian(), 0),
            ValueError,
            r"`n_components` must be >= 1; got 0",
        ),
        (
            lambda: emkit.FiniteMixture(emkit.Gaussian(), 2.5),
            TypeError,
            r"`n_components` must be an integer; got 2.5",
        ),
        (
            lambda: emkit.Gaussian("banana"),
            ValueError,
            r"`covariance_type` must be one of 'full', 'tied', 'diag', 'spherical'; got 'banana'",
        ),
        (
            lambda: emkit.Gaussian(reg_covar=-1e-3),
            ValueError,
            r"`reg_covar` must be >= 0.0; got -0.001",
        ),
        (
            lambda: emkit.Gaussian(reg_covar=float("nan")),
            ValueError,
            r"`reg_covar` must be finite; got nan",
        ),
        (
            lambda: emkit.Bernoulli(pseudo_count=0.0),
            ValueError,
            r"`pseudo_count` must be > 0.0; got 0.0",
        ),
        (
            lambda: emkit.Poisson(prior_strength=-1),
            ValueError,
            r"`prior_strength` must be >= 0.0; got -1",
        ),
        (
            lambda: emkit.FiniteMixture(emkit.Poisson(), 2, weight_concentration=0.5),
            ValueError,
            r"`weight_concentration` must be >= 1.0; got 0.5",
        ),
    ],
)
def test_bad_model_settings(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tol": -1e-3}, ValueError, r"`tol` must be >= 0.0; got -0.001"),
        ({"tol": "small"}, TypeError, r"`tol` must be a real number; got 'small'"),
        ({"max_iter": -1}, ValueError, r"`max_iter` must be >= 0; got -1"),
        ({"n_init": 0}, ValueError, r"`n_init` must be >= 1; got 0"),
        (
            {"init": "kmeans--"},
            ValueError,
            r"`init` must be one of 'kmeans', 'k-means\+\+', 'random', 'random_from_data', "
            r"'hierarchical', 'emEM'; got 'kmeans--'",
        ),
        ({"random_state": "seed"}, TypeError, r"`random_state` must be None, an int seed"),
        ({"random_state": -3}, ValueError, r"`random_state` must be a non-negative seed; got -3"),
        (
            {"sample_weight": np.ones(29)},
            ValueError,
            r"`sample_weight` must have one entry per row of X \(30\); got 29",
        ),
        (
            {"sample_weight": -np.ones(30)},
            ValueError,
            r"`sample_weight` must be >= 0; found -1.0 at index 0",
        ),
        (
            {"sample_weight": np.zeros(30)},
            ValueError,
            r"`sample_weight` must have at least one positive entry",
        ),
        (
            {"sample_weight": np.full(30, np.nan)},
            ValueError,
            r"`sample_weight` must contain only finite values",
        ),
        (
            {"labels": np.full(30, 5)},
            ValueError,
            r"`labels` must be -1 \(unknown\) or a component index 0..1; found 5 at index 0",
        ),
        (
            {"labels": np.full(29, -1)},
            ValueError,
            r"`labels` must have shape \(n_samples,\) = \(30,\); got \(29,\)",
        ),
        ({"labels": np.full(30, 0.5)}, TypeError, r"`labels` must be integers"),
        ({"callbacks": [3]}, TypeError, r"`callbacks` must hold callables; got 3"),
        ({"chunk_size": 0}, ValueError, r"`chunk_size` must be >= 1; got 0"),
    ],
)
def test_bad_fit_options(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _fit(**kwargs)


def test_more_components_than_samples() -> None:
    with pytest.raises(
        ValueError, match=r"`n_components` must be <= the number of samples \(3\); got 5"
    ):
        _fit(X_GOOD[:3], emkit.FiniteMixture(emkit.Gaussian(), 5))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data"])
def test_fewer_distinct_points_than_components(init: str) -> None:
    X = np.repeat([[0.0, 1.0], [2.0, 3.0]], 10, axis=0)
    with pytest.raises(
        ValueError, match=r"only 2 distinct row\(s\).*n_components=3; reduce n_components"
    ):
        _fit(X, emkit.FiniteMixture(emkit.Gaussian(), 3), init=init)


def test_bernoulli_rejects_non_binary_values() -> None:
    X = np.zeros((20, 4))
    X[17, 3] = 2.0
    with pytest.raises(
        ValueError, match=r"only 0 and 1 for a Bernoulli mixture; found 2.0 at row 17, column 3"
    ):
        _fit(X, emkit.FiniteMixture(emkit.Bernoulli(), 2))


@pytest.mark.parametrize(("value", "shown"), [(-1.0, "-1.0"), (2.5, "2.5")])
def test_poisson_rejects_negative_or_fractional_counts(value: float, shown: str) -> None:
    X = np.ones((20, 2))
    X[4, 1] = value
    with pytest.raises(
        ValueError,
        match=rf"integer counts for a Poisson mixture; found {shown} at row 4, column 1",
    ):
        _fit(X, emkit.FiniteMixture(emkit.Poisson(), 2))


def _gaussian_start(**changes: Any) -> emkit.MixtureParams[Any]:
    values: dict[str, Any] = {
        "weights": np.array([0.5, 0.5]),
        "means": np.zeros((2, 2)),
        "covariances": np.stack([np.eye(2), np.eye(2)]),
    }
    values.update(changes)
    components = emkit.GaussianParams.__new__(emkit.GaussianParams)
    object.__setattr__(components, "means", values["means"])
    object.__setattr__(components, "covariances", values["covariances"])
    return emkit.MixtureParams(values["weights"], components)


@pytest.mark.parametrize(
    ("start", "error", "match"),
    [
        (
            _gaussian_start(weights=np.array([0.5, 0.7])),
            ValueError,
            r"`params.weights` must be non-negative and sum to 1; got \[0.5, 0.7\]",
        ),
        (
            _gaussian_start(weights=np.array([1.0])),
            ValueError,
            r"`params.weights` must have shape \(n_components,\) = \(2,\); got \(1,\)",
        ),
        (
            _gaussian_start(weights=np.array([1.5, -0.5])),
            ValueError,
            r"must be non-negative and sum to 1",
        ),
        (
            _gaussian_start(means=np.zeros((3, 2))),
            ValueError,
            r"`params.means` must have shape \(n_components, n_features\) = \(2, 2\); got \(3, 2\)",
        ),
        (
            _gaussian_start(covariances=np.ones((2, 2))),
            ValueError,
            r"`params.covariances` must be a 3-D array",
        ),
        (
            _gaussian_start(covariances=np.stack([np.eye(2), -np.eye(2)])),
            ValueError,
            r"covariance of component\(s\) \[1\] is not positive definite",
        ),
        (
            _gaussian_start(covariances=np.stack([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])),
            ValueError,
            r"must be symmetric",
        ),
        (
            _gaussian_start(means=np.array([[0.0, np.nan], [0.0, 0.0]])),
            ValueError,
            r"`params.means` must contain only finite values",
        ),
        (
            emkit.MixtureParams(np.array([0.5, 0.5]), emkit.MeanParams(np.ones((2, 2)))),
            TypeError,
            r"must be GaussianParams; got MeanParams",
        ),
        ({"weights": [0.5, 0.5]}, TypeError, r"initial parameters must be MixtureParams; got dict"),
    ],
)
def test_malformed_initial_parameters(start: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _fit(init=start)


@pytest.mark.parametrize(
    ("family", "mean", "match"),
    [
        (
            emkit.Bernoulli(),
            [[0.0, 0.5], [0.5, 0.5]],
            r"strictly inside \(0, 1\); found 0.0 at component 0, feature 0",
        ),
        (emkit.Bernoulli(), [[0.5, 0.5], [0.5, 1.2]], r"found 1.2 at component 1, feature 1"),
        (
            emkit.Poisson(),
            [[1.0, -2.0], [1.0, 1.0]],
            r"rates `params.mean` must be >= 0; found -2.0 at component 0, feature 1",
        ),
        (
            emkit.Poisson(),
            [[1.0, 2.0]],
            r"`params.mean` must have shape \(n_components, n_stats\) = \(2, 2\); got \(1, 2\)",
        ),
    ],
)
def test_malformed_canonical_parameters(family: Any, mean: Any, match: str) -> None:
    X = np.ones((10, 2))
    start = emkit.MixtureParams(np.array([0.5, 0.5]), emkit.MeanParams(np.array(mean)))
    with pytest.raises(ValueError, match=match):
        _fit(X, emkit.FiniteMixture(family, 2), init=start)


def test_n_init_with_fixed_start() -> None:
    model = GAUSSIAN2
    start = model.init_params(X_GOOD, np.random.default_rng(0), "kmeans")
    with pytest.raises(
        ValueError, match=r"`n_init` must be 1 when `init` holds starting parameters; got n_init=3"
    ):
        _fit(init=start, n_init=3)


def test_collapse_without_regularisation_is_reported_with_advice() -> None:
    X = np.vstack([np.zeros((5, 2)), np.random.default_rng(1).normal(size=(40, 2))])
    model = emkit.FiniteMixture(emkit.Gaussian(reg_covar=0.0), 2)
    labels = np.r_[np.zeros(5, dtype=int), np.ones(40, dtype=int)]
    with pytest.raises(ValueError, match=r"degenerate Gaussian.*increase `reg_covar` \(now 0\)"):
        model.params_from_responsibilities(X, np.eye(2)[labels])


def test_counts_where_every_rate_is_zero_stay_finite() -> None:
    X = np.column_stack([np.zeros(20), np.arange(20) % 3])
    model = emkit.FiniteMixture(emkit.Poisson(), 2)
    result = emkit.fit(model, X, random_state=0)
    # The fitted rates of column 0 are exactly 0, so a count there has probability 0; the clamped
    # natural parameter log(tiny) ~ -708 keeps its log-probability finite instead of NaN.
    log_p = model.score_samples(np.array([[1.0, 0.0]]), result.params)
    assert np.isfinite(log_p).all()
    assert log_p[0] < -700
