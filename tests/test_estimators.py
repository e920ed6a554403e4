"""The scikit-learn style estimators: agreement with scikit-learn, API conventions, every error."""

from __future__ import annotations

import inspect
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import emkit
from emkit.estimators import NotFittedError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

#: Parameters after fit versus scikit-learn from the same start: both run the same EM
#: iterations in float64, differing only in the order of floating-point operations (emkit
#: accumulates moments around a shift, scikit-learn around zero), a few ulps per iteration
#: that tens of iterations amplify to about 1e-11 on Old Faithful.
SKLEARN_PARAM_RTOL = 1e-8
SKLEARN_PARAM_ATOL = 1e-9

#: Log-likelihoods versus scikit-learn: the same parameters to the tolerance above.
SKLEARN_LOGLIK_RTOL = 1e-9

#: The same computation summed in another order (E-step sums versus score_samples).
SUMMATION_RTOL = 1e-12

#: Fits of equivalent data (integer weights versus repeated rows, warm start in two halves
#: versus one run): the same arithmetic up to summation order, over up to a hundred iterations.
EQUIVALENT_FIT_RTOL = 1e-9

#: Rows of a probability matrix sum to one up to rounding.
PROBABILITY_ATOL = 1e-12

#: Estimator construction for each family, with data in its domain.
FAMILIES = ("gaussian", "bernoulli", "poisson")


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return np.asarray(emkit.datasets.load_faithful().data, dtype=np.float64)


def family_data(kind: str, seed: int = 0, n: int = 300) -> np.ndarray:
    """Two well-separated clusters in the family's domain."""
    rng = np.random.default_rng(seed)
    half = n // 2
    if kind == "gaussian":
        return np.vstack([rng.normal(0.0, 1.0, (half, 3)), rng.normal(6.0, 1.0, (n - half, 3))])
    if kind == "bernoulli":
        p = np.vstack([np.full((half, 12), 0.9), np.full((n - half, 12), 0.1)])
        return (rng.random((n, 12)) < p).astype(np.float64)
    rates = np.vstack([np.full((half, 3), 2.0), np.full((n - half, 3), 15.0)])
    return rng.poisson(rates).astype(np.float64)


def make_estimator(kind: str, **params: Any) -> Any:
    cls = {
        "gaussian": emkit.GaussianMixture,
        "bernoulli": emkit.BernoulliMixture,
        "poisson": emkit.PoissonMixture,
    }[kind]
    return cls(**params)


def sklearn_start(X: np.ndarray, covariance_type: str) -> dict[str, Any]:
    """A fixed start off scikit-learn's optimum (so EM has real iterations left)."""
    ref = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    return {
        "weights_init": np.array([0.5, 0.3, 0.2]),
        "means_init": ref.means_ + np.array([0.4, -3.0]),
        "precisions_init": ref.precisions_,
    }


def assert_close(actual: Any, expected: Any, name: str) -> None:
    np.testing.assert_allclose(
        actual, expected, rtol=SKLEARN_PARAM_RTOL, atol=SKLEARN_PARAM_ATOL, err_msg=name
    )


# -- agreement with scikit-learn ---------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_parameters_as_sklearn_from_the_same_start(
    faithful: np.ndarray, covariance_type: str
) -> None:
    start = sklearn_start(faithful, covariance_type)
    options = {
        "n_components": 3,
        "covariance_type": covariance_type,
        "tol": 1e-6,
        "max_iter": 1000,
        **start,
    }
    ours = emkit.GaussianMixture(**options).fit(faithful)
    theirs = SklearnGaussianMixture(**options).fit(faithful)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.n_iter_ > 5  # real EM iterations, not a start at the optimum
    assert ours.converged_ == theirs.converged_ is True
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        ours_value, theirs_value = getattr(ours, name), getattr(theirs, name)
        assert ours_value.shape == theirs_value.shape, name
        assert_close(ours_value, theirs_value, name)
    np.testing.assert_allclose(
        ours.score_samples(faithful), theirs.score_samples(faithful), rtol=SKLEARN_LOGLIK_RTOL
    )
    np.testing.assert_allclose(ours.bic(faithful), theirs.bic(faithful), rtol=SKLEARN_LOGLIK_RTOL)
    np.testing.assert_allclose(ours.aic(faithful), theirs.aic(faithful), rtol=SKLEARN_LOGLIK_RTOL)
    np.testing.assert_array_equal(ours.predict(faithful), theirs.predict(faithful))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_is_at_the_returned_parameters(
    faithful: np.ndarray, covariance_type: str
) -> None:
    """Documented difference: scikit-learn's bound is one M-step older, so ours is higher by
    less than tol, and ours equals the training score."""
    start = sklearn_start(faithful, covariance_type)
    options = {"n_components": 3, "covariance_type": covariance_type, "tol": 1e-4, **start}
    ours = emkit.GaussianMixture(**options).fit(faithful)
    theirs = SklearnGaussianMixture(**options).fit(faithful)
    assert theirs.lower_bound_ <= ours.lower_bound_ < theirs.lower_bound_ + options["tol"]
    np.testing.assert_allclose(ours.lower_bound_, ours.score(faithful), rtol=SUMMATION_RTOL)
    assert ours.lower_bounds_.shape == (ours.n_iter_,)
    assert ours.lower_bounds_[-1] == ours.lower_bound_
    assert np.all(np.diff(ours.lower_bounds_) >= 0.0)  # EM never goes down
    # scikit-learn's history is ours shifted by one M-step.
    np.testing.assert_allclose(
        ours.lower_bounds_[:-1], theirs.lower_bounds_[1:], rtol=SKLEARN_LOGLIK_RTOL
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_zero_returns_the_start_like_sklearn(
    faithful: np.ndarray, covariance_type: str
) -> None:
    start = sklearn_start(faithful, covariance_type)
    options = {"n_components": 3, "covariance_type": covariance_type, "max_iter": 0, **start}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max_iter=0 asks for the start: no ConvergenceWarning
        ours = emkit.GaussianMixture(**options).fit(faithful)
    assert ours.n_iter_ == 0
    np.testing.assert_array_equal(ours.means_, start["means_init"])
    np.testing.assert_array_equal(ours.weights_, start["weights_init"])
    # emkit stores covariances, so the precisions come back through one inversion
    assert_close(ours.precisions_, start["precisions_init"], "precisions_init")
    inverse = (
        np.linalg.inv(ours.covariances_)
        if covariance_type in ("full", "tied")
        else 1.0 / ours.covariances_
    )
    assert_close(ours.precisions_, inverse, "precisions_")


def test_partial_start_replaces_only_the_given_part(faithful: np.ndarray) -> None:
    means = np.array([[2.0, 55.0], [4.5, 80.0]])
    ours = emkit.GaussianMixture(2, means_init=means, max_iter=0, random_state=0).fit(faithful)
    np.testing.assert_array_equal(ours.means_, means)
    # weights and covariances come from the k-means start of the data, as in scikit-learn
    default = emkit.GaussianMixture(2, max_iter=0, random_state=0).fit(faithful)
    np.testing.assert_array_equal(ours.weights_, default.weights_)
    np.testing.assert_array_equal(ours.covariances_, default.covariances_)


def test_parameters_and_defaults_match_sklearn() -> None:
    ours = inspect.signature(emkit.GaussianMixture.__init__).parameters
    theirs = inspect.signature(SklearnGaussianMixture.__init__).parameters
    # scikit-learn's parameters in its order, then emkit's own (missing values, opt-in).
    assert list(ours) == [*theirs, "missing"]
    assert ours["missing"].default == "error"
    for name in theirs:
        assert ours[name].default == theirs[name].default, name
        assert ours[name].kind == theirs[name].kind, name


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_n_parameters_match_sklearn(faithful: np.ndarray, covariance_type: str) -> None:
    ours = emkit.GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    theirs = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    ours.fit(faithful)
    theirs.fit(faithful)
    assert ours._n_parameters() == theirs._n_parameters()


# -- scikit-learn's estimator checks -----------------------------------------------------------
#: Checks that feed Gaussian random floats to BernoulliMixture, which accepts only 0 and 1:
#: its fit raises "`X` must contain only 0 and 1 ..." (a ValueError naming the value) instead of
#: running the API check. scikit-learn has no tag for binary input. The same API code is
#: checked on GaussianMixture, which passes every check.
BERNOULLI_DOMAIN_CHECKS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
)

#: Checks that feed non-integer floats to PoissonMixture, which accepts only counts: its fit
#: raises "`X` must contain only non-negative integer counts ...". The positive_only tag makes
#: scikit-learn shift the data to be >= 0 but not round it. The checks that use integer data
#: (the sample-weight shape checks) run and pass.
POISSON_DOMAIN_CHECKS = tuple(
    name
    for name in BERNOULLI_DOMAIN_CHECKS
    if name
    not in (
        "check_sample_weights_not_an_array",
        "check_sample_weights_not_overwritten",
        "check_sample_weights_pandas_series",
        "check_sample_weights_shape",
    )
)

DOMAIN_CHECKS = {
    "GaussianMixture": (),
    "BernoulliMixture": BERNOULLI_DOMAIN_CHECKS,
    "PoissonMixture": POISSON_DOMAIN_CHECKS,
}

DOMAIN_REASON = "random float data outside the family's support (0/1 or counts)"


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    return dict.fromkeys(DOMAIN_CHECKS[type(estimator).__name__], DOMAIN_REASON)


#: n_components at which scikit-learn's checks run. At the default, 1, most checks are trivial
#: (one component is the weighted mean and spread of the data); at 2 and 3 the seeding, k-means
#: and label switching come into play. The checks that fit tiny data sets (check_fit2d_1sample,
#: check_fit2d_1feature, check_fit1d, check_fit2d_predict1d, check_dont_overwrite_parameters,
#: check_methods_subset_invariance, check_methods_sample_order_invariance) set n_components to
#: 1 themselves, so no check gives a mixture fewer distinct rows than components.
CHECKED_N_COMPONENTS = (1, 2, 3)

ESTIMATORS = [
    estimator(n_components=n_components)
    for estimator in (emkit.GaussianMixture, emkit.BernoulliMixture, emkit.PoissonMixture)
    for n_components in CHECKED_N_COMPONENTS
]


def estimator_id(estimator: Any) -> str:
    return f"{type(estimator).__name__}-n_components={estimator.n_components}"


with warnings.catch_warnings():
    # scikit-learn notes that these classes do not inherit from its BaseEstimator: on purpose,
    # emkit implements the protocol without importing scikit-learn.
    warnings.filterwarnings("ignore", "Estimator .* does not inherit from", UserWarning)
    SKLEARN_CHECKS = parametrize_with_checks(
        ESTIMATORS, expected_failed_checks=expected_failed_checks
    )


# Some checks fit 2 or 3 components to a handful of distinct integer rows: a component then
# sits on one row, with no spread, and emkit says so. True, and beside the point of the checks.
@pytest.mark.filterwarnings("ignore::emkit.DegenerateComponentWarning")
@pytest.mark.filterwarnings("ignore:Estimator .* does not inherit from")
@SKLEARN_CHECKS
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if DOMAIN_CHECKS[type(e).__name__]],
    ids=estimator_id,
)
def test_skipped_checks_fail_only_for_the_data_domain(estimator: Any) -> None:
    """Each listed check fails, and only because of the support check, never for another reason."""
    results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert set(failed) == set(DOMAIN_CHECKS[type(estimator).__name__])
    for name, exc in failed.items():
        cause = exc if "must contain only" in str(exc) else exc.__cause__ or exc.__context__
        assert "must contain only" in str(cause), (name, exc)


# -- the estimator API -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", FAMILIES)
def test_fitted_attributes_and_methods(kind: str) -> None:
    X = family_data(kind)
    est = make_estimator(kind, n_components=2, random_state=0).fit(X)
    n, d = X.shape
    assert est.weights_.shape == (2,)
    assert est.means_.shape == (2, d)
    assert est.n_features_in_ == d
    assert est.converged_ is True
    assert isinstance(est.n_iter_, int)
    assert isinstance(est.result_, emkit.FitResult)
    assert not hasattr(est, "feature_names_in_")
    proba = est.predict_proba(X)
    assert proba.shape == (n, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0.0, atol=PROBABILITY_ATOL)
    np.testing.assert_array_equal(est.predict(X), np.argmax(proba, axis=1))
    # the two clusters are found
    labels = est.predict(X)
    assert len(set(labels[: n // 2])) == 1
    assert len(set(labels[n // 2 :])) == 1
    assert labels[0] != labels[-1]
    log_prob = est.score_samples(X)
    assert log_prob.shape == (n,)
    assert est.score(X) == pytest.approx(log_prob.mean(), rel=SUMMATION_RTOL)
    p = est._n_parameters()
    assert est.bic(X) == pytest.approx(-2 * log_prob.sum() + p * np.log(n), rel=SUMMATION_RTOL)
    assert est.aic(X) == pytest.approx(-2 * log_prob.sum() + 2 * p, rel=SUMMATION_RTOL)
    assert p == est.result_.model.n_parameters(d)


@pytest.mark.parametrize("kind", FAMILIES)
def test_fit_predict_equals_fit_then_predict(kind: str) -> None:
    X = family_data(kind)
    labels = make_estimator(kind, n_components=2, random_state=3).fit_predict(X)
    est = make_estimator(kind, n_components=2, random_state=3).fit(X)
    np.testing.assert_array_equal(labels, est.predict(X))


@pytest.mark.parametrize("kind", FAMILIES)
def test_sample(kind: str) -> None:
    est = make_estimator(kind, n_components=2, random_state=0).fit(family_data(kind))
    X, y = est.sample(500)
    assert X.shape == (500, est.n_features_in_)
    assert y.shape == (500,)
    assert set(np.unique(y)) <= {0, 1}
    X_again, y_again = est.sample(500)  # an int random_state repeats, as in scikit-learn
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    est.result_.model.validate_data(X)  # draws lie in the family's domain
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)


@pytest.mark.parametrize("init_params", emkit.INIT_METHODS)
@pytest.mark.parametrize("kind", FAMILIES)
def test_every_init_method_is_reproducible(kind: str, init_params: str) -> None:
    X = family_data(kind)
    first = make_estimator(kind, n_components=2, init_params=init_params, random_state=7).fit(X)
    second = make_estimator(kind, n_components=2, init_params=init_params, random_state=7).fit(X)
    np.testing.assert_array_equal(first.means_, second.means_)
    assert first.converged_


def test_n_init_keeps_the_best_run(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(4, n_init=4, init_params="random", random_state=0).fit(faithful)
    objectives = est.result_.restart_objectives
    assert objectives.shape == (4,)
    assert est.result_.objective == objectives.max()
    assert est.lower_bound_ * faithful.shape[0] == pytest.approx(
        objectives.max(), rel=SUMMATION_RTOL
    )


def test_convergence_warning_and_flag(faithful: np.ndarray) -> None:
    with pytest.warns(emkit.ConvergenceWarning, match=r"max_iter=2"):
        est = emkit.GaussianMixture(2, max_iter=2, tol=0.0, random_state=0).fit(faithful)
    assert est.converged_ is False
    assert est.result_.converged is False
    assert est.n_iter_ == 2


def test_params_api_clone_and_repr() -> None:
    est = emkit.GaussianMixture(3, covariance_type="diag", random_state=1)
    assert repr(est) == "GaussianMixture(covariance_type='diag', n_components=3, random_state=1)"
    assert repr(emkit.PoissonMixture()) == "PoissonMixture()"
    params = est.get_params()
    assert params["n_components"] == 3
    assert params["reg_covar"] == 1e-6
    copy = clone(est)
    assert copy is not est
    assert copy.get_params() == params
    assert est.set_params(n_components=4, tol=1e-5) is est
    assert est.n_components == 4
    assert est.tol == 1e-5
    with pytest.raises(ValueError, match="Invalid parameter 'n_clusters' for estimator"):
        est.set_params(n_clusters=2)
    assert "pseudo_count" in emkit.BernoulliMixture().get_params()
    assert {"prior_strength", "prior_rate", "weight_concentration"} <= set(
        emkit.PoissonMixture().get_params()
    )


def test_float32_input_is_accepted(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, random_state=0).fit(faithful.astype(np.float32))
    assert est.score_samples(faithful.astype(np.float32)).shape == (faithful.shape[0],)
    assert np.isfinite(est.lower_bound_)


def test_verbose_prints_progress(faithful: np.ndarray, capsys: pytest.CaptureFixture[str]) -> None:
    emkit.GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(faithful)
    err = capsys.readouterr().err
    assert "Initialization 0" in err
    assert re.search(r"Iteration 1\t time lapse [0-9.]+s\t ll change", err)
    assert "Initialization converged" in err
    emkit.GaussianMixture(2, random_state=0).fit(faithful)
    assert capsys.readouterr().err == ""
    with pytest.warns(emkit.ConvergenceWarning):
        emkit.GaussianMixture(2, verbose=1, max_iter=1, random_state=0).fit(faithful)
    err = capsys.readouterr().err
    assert "Initialization did not converge." in err
    assert "Iteration" not in err


# -- pandas ------------------------------------------------------------------------------------
def test_dataframes_and_feature_names(faithful: np.ndarray) -> None:
    frame = pd.DataFrame(faithful, columns=["eruptions", "waiting"])
    est = emkit.GaussianMixture(2, random_state=0).fit(frame)
    np.testing.assert_array_equal(est.feature_names_in_, ["eruptions", "waiting"])
    reference = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    np.testing.assert_array_equal(est.means_, reference.means_)
    np.testing.assert_array_equal(est.predict(frame), reference.predict(faithful))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.predict(frame[["waiting", "eruptions"]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- other"):
        est.predict(frame.rename(columns={"waiting": "other"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(faithful)
    est.fit(faithful)  # refitting on an array forgets the names
    assert not hasattr(est, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but GaussianMixture was fitted"):
        est.predict(frame)


@pytest.mark.parametrize("kind", FAMILIES)
def test_pandas_inputs_for_every_method(kind: str) -> None:
    X = family_data(kind)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    weights = pd.Series(np.ones(X.shape[0]))
    est = make_estimator(kind, n_components=2, random_state=0)
    est.fit(frame, sample_weight=weights, labels=pd.Series(np.full(X.shape[0], -1)))
    assert est.predict_proba(frame).shape == (X.shape[0], 2)
    assert np.isfinite(est.score(frame, sample_weight=weights))


def test_mixed_column_name_types_are_rejected(faithful: np.ndarray) -> None:
    frame = pd.DataFrame(faithful, columns=["eruptions", 1])
    with pytest.raises(TypeError, match="Feature names are only supported if all"):
        emkit.GaussianMixture().fit(frame)


# -- sample weights ----------------------------------------------------------------------------
def fixed_start(kind: str, X: np.ndarray) -> dict[str, Any]:
    """A deterministic start, so weighted and repeated data follow the same EM path."""
    if kind == "gaussian":
        return {
            "weights_init": np.array([0.5, 0.5]),
            "means_init": X[[0, -1]] + 0.5,
            "precisions_init": np.stack([np.eye(X.shape[1])] * 2),
        }
    means = np.clip(X[[0, -1]], 0.2, 0.8) if kind == "bernoulli" else X[[0, -1]] + 0.5
    return {"weights_init": np.array([0.5, 0.5]), "means_init": means}


@pytest.mark.parametrize("kind", FAMILIES)
def test_integer_weights_equal_repeated_rows(kind: str) -> None:
    X = family_data(kind, n=120)
    counts = np.random.default_rng(1).integers(0, 4, size=X.shape[0])
    start = fixed_start(kind, X)
    weighted = make_estimator(kind, n_components=2, **start).fit(X, sample_weight=counts)
    repeated = make_estimator(kind, n_components=2, **start).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=EQUIVALENT_FIT_RTOL)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=EQUIVALENT_FIT_RTOL)
    np.testing.assert_allclose(
        weighted.lower_bound_, repeated.lower_bound_, rtol=EQUIVALENT_FIT_RTOL
    )
    assert weighted.score(X, sample_weight=counts) == pytest.approx(
        weighted.score(np.repeat(X, counts, axis=0)), rel=SUMMATION_RTOL
    )


def test_sample_weight_errors(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, random_state=0)
    n = faithful.shape[0]
    with pytest.raises(ValueError, match="`sample_weight` is zero for every row"):
        est.fit(faithful, sample_weight=np.zeros(n))
    with pytest.raises(ValueError, match=r"`sample_weight` must be >= 0; found -1.0 at index 3"):
        est.fit(faithful, sample_weight=np.r_[np.ones(3), -1.0, np.ones(n - 4)])
    with pytest.raises(ValueError, match="one entry per row of X"):
        est.fit(faithful, sample_weight=np.ones(n - 1))
    est.fit(faithful)
    with pytest.raises(ValueError, match="one entry per row of X"):
        est.score(faithful, sample_weight=np.ones(3))


# -- partial labels (semi-supervised EM) -------------------------------------------------------
@pytest.mark.parametrize("kind", FAMILIES)
def test_fully_labelled_fit_is_the_complete_data_estimate(kind: str) -> None:
    """With every label known, responsibilities are the labels, so EM returns the per-group
    M-step: group fractions and (prior-smoothed) group means."""
    X = family_data(kind)
    labels = np.repeat([1, 0], X.shape[0] // 2)  # deliberately the reverse of row order
    est = make_estimator(kind, n_components=2, random_state=0).fit(X, labels=labels)
    for k in (0, 1):
        rows = X[labels == k]
        np.testing.assert_allclose(est.weights_[k], rows.shape[0] / X.shape[0])
        expected = rows.mean(axis=0)
        if kind == "bernoulli":
            c = est.pseudo_count
            expected = (rows.sum(axis=0) + c) / (rows.shape[0] + 2 * c)
        np.testing.assert_allclose(est.means_[k], expected, rtol=EQUIVALENT_FIT_RTOL)
    # Fixed responsibilities: the first M-step reaches the fixed point, the second confirms a
    # zero change, and scikit-learn's rule stops one M-step after that.
    assert est.n_iter_ <= 3


@pytest.mark.parametrize("kind", FAMILIES)
def test_partial_labels_name_the_components(kind: str) -> None:
    X = family_data(kind)
    n = X.shape[0]
    labels = np.full(n, -1)
    labels[:5] = 1  # a few rows of the first cluster are known to be component 1
    labels[-5:] = 0
    est = make_estimator(kind, n_components=2, random_state=0).fit(X, labels=labels)
    predicted = est.predict(X)
    assert np.all(predicted[: n // 2] == 1)
    assert np.all(predicted[n // 2 :] == 0)
    # the labelled rows keep their label's responsibility during EM: every labelled row's
    # E-step under the fitted parameters puts all of its weight on its label
    model, params = est.result_.model, est.result_.params
    stats, _ = model.e_step(X[:5], params, labels=labels[:5])
    np.testing.assert_allclose(stats.counts, [0.0, 5.0], rtol=0.0, atol=PROBABILITY_ATOL)


def test_all_unknown_labels_equal_no_labels(faithful: np.ndarray) -> None:
    unknown = np.full(faithful.shape[0], -1)
    with_labels = emkit.GaussianMixture(2, random_state=0).fit(faithful, labels=unknown)
    without = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    np.testing.assert_array_equal(with_labels.means_, without.means_)


def test_bad_labels(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, random_state=0)
    n = faithful.shape[0]
    with pytest.raises(ValueError, match=r"`labels` must be -1 \(unknown\) or a component"):
        est.fit(faithful, labels=np.full(n, 2))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(n_samples,\)"):
        est.fit(faithful, labels=np.zeros(3, dtype=int))
    with pytest.raises(TypeError):
        est.fit(faithful, None, np.zeros(n, dtype=int))  # labels is keyword-only


# -- warm start --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", FAMILIES)
def test_warm_start_continues_from_the_previous_fit(kind: str) -> None:
    X = family_data(kind)
    start = fixed_start(kind, X)
    cold = make_estimator(kind, n_components=2, max_iter=6, tol=0.0, **start)
    with pytest.warns(emkit.ConvergenceWarning):
        cold.fit(X)
    warm = make_estimator(kind, n_components=2, max_iter=3, tol=0.0, warm_start=True, **start)
    with pytest.warns(emkit.ConvergenceWarning):
        warm.fit(X)
    with pytest.warns(emkit.ConvergenceWarning):
        warm.fit(X)  # three more iterations from where the first fit stopped
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=EQUIVALENT_FIT_RTOL)
    np.testing.assert_allclose(warm.weights_, cold.weights_, rtol=EQUIVALENT_FIT_RTOL)


def test_warm_start_on_converged_fit_stops_at_once(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(faithful)
    first = est.lower_bound_
    est.fit(faithful)
    assert est.n_iter_ == 1  # scikit-learn's rule: the first change is measured against
    assert est.converged_  # the previous fit's bound, which is already within tol
    assert est.lower_bound_ >= first


def test_warm_start_restarts_when_the_model_changes(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(faithful)
    est.set_params(n_components=3).fit(faithful)
    assert est.weights_.shape == (3,)
    assert est.n_iter_ > 1


# -- errors ------------------------------------------------------------------------------------
BAD_PARAMS = [
    ("gaussian", {"n_components": 0}, ValueError, "`n_components` must be >= 1; got 0"),
    ("gaussian", {"n_components": 1.5}, TypeError, "`n_components` must be an integer"),
    ("gaussian", {"covariance_type": "box"}, ValueError, "`covariance_type` must be one of"),
    ("gaussian", {"tol": -1.0}, ValueError, "`tol` must be a finite number >= 0; got -1.0"),
    ("gaussian", {"tol": "small"}, TypeError, "`tol` must be a real number"),
    ("gaussian", {"reg_covar": -1e-3}, ValueError, "`reg_covar` must be >= 0.0; got -0.001"),
    ("gaussian", {"max_iter": -1}, ValueError, "`max_iter` must be >= 0; got -1"),
    ("gaussian", {"n_init": 0}, ValueError, "`n_init` must be >= 1; got 0"),
    ("gaussian", {"init_params": "best"}, ValueError, "`init_params` must be one of"),
    ("gaussian", {"warm_start": "yes"}, TypeError, "`warm_start` must be True or False"),
    ("gaussian", {"verbose": -1}, ValueError, "`verbose` must be >= 0; got -1"),
    ("gaussian", {"verbose_interval": 0}, ValueError, "`verbose_interval` must be >= 1"),
    ("gaussian", {"random_state": "seed"}, TypeError, "`random_state` must be None, an int"),
    ("gaussian", {"random_state": -3}, ValueError, "`random_state` must be a non-negative"),
    ("gaussian", {"weights_init": [0.5, 0.5, 0.5]}, ValueError, r"`weights_init` must have"),
    ("gaussian", {"weights_init": [0.7, 0.7]}, ValueError, "`weights_init` must sum to 1"),
    ("gaussian", {"weights_init": [1.5, -0.5]}, ValueError, r"`weights_init` must lie in"),
    ("gaussian", {"means_init": np.zeros((2, 5))}, ValueError, r"`means_init` must have shape"),
    ("gaussian", {"precisions_init": np.ones((2, 2))}, ValueError, "`precisions_init` must"),
    (
        "gaussian",
        {"precisions_init": np.stack([np.eye(2), -np.eye(2)])},
        ValueError,
        "`precisions_init` must hold positive-definite",
    ),
    (
        "gaussian",
        {"precisions_init": np.stack([np.eye(2), [[1.0, 2.0], [0.0, 1.0]]])},
        ValueError,
        "`precisions_init` must hold symmetric",
    ),
    (
        "gaussian",
        {"covariance_type": "diag", "precisions_init": np.array([[1.0, 1.0], [1.0, 0.0]])},
        ValueError,
        "`precisions_init` must be positive",
    ),
    ("bernoulli", {"means_init": np.full((2, 12), 1.5)}, ValueError, "`means_init`: Bernoulli"),
    ("bernoulli", {"pseudo_count": 0.0}, ValueError, "`pseudo_count` must be > 0"),
    ("bernoulli", {"weight_concentration": 0.5}, ValueError, "`weight_concentration` must be"),
    ("poisson", {"means_init": -np.ones((2, 3))}, ValueError, "`means_init`: Poisson rates"),
    ("poisson", {"prior_strength": -1.0}, ValueError, "`prior_strength` must be >= 0"),
    ("poisson", {"prior_rate": 0.0}, ValueError, "`prior_rate` must be > 0"),
]


@pytest.mark.parametrize(("kind", "params", "error", "message"), BAD_PARAMS)
def test_bad_parameters_are_reported_by_fit(
    kind: str, params: dict[str, Any], error: type[Exception], message: str
) -> None:
    params = {"n_components": 2, **params}
    est = make_estimator(kind, **params)  # constructing never validates (scikit-learn rule)
    X = family_data(kind)
    if kind == "gaussian":
        X = X[:, :2]
    with pytest.raises(error, match=message):
        est.fit(X)


@pytest.mark.parametrize("kind", FAMILIES)
def test_predict_before_fit(kind: str) -> None:
    est = make_estimator(kind)
    X = family_data(kind)
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            getattr(est, method)(X)
    with pytest.raises(NotFittedError):
        est.sample(3)
    # catchable as scikit-learn's error and as the base classes scikit-learn uses
    with pytest.raises(SklearnNotFittedError):
        est.predict(X)
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


def test_data_errors(faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        est.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"must not contain NaN or inf; found nan at row 1"):
        est.predict(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="Reshape your data"):
        est.predict(np.ones(4))
    sparse = scipy.sparse.csr_matrix(faithful)
    with pytest.raises(TypeError, match="sparse"):
        est.fit(sparse)
    with pytest.raises(ValueError, match="`n_components` must be <= the number of samples"):
        emkit.GaussianMixture(5).fit(faithful[:3])


def test_family_domain_errors() -> None:
    with pytest.raises(ValueError, match=r"only 0 and 1 for a Bernoulli mixture; found 2.0"):
        emkit.BernoulliMixture().fit(np.array([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match=r"non-negative integer counts .* found 1.5"):
        emkit.PoissonMixture().fit(np.array([[0.0, 1.0], [1.5, 0.0]]))
    with pytest.raises(ValueError, match=r"Negative values in data passed to PoissonMixture"):
        emkit.PoissonMixture().fit(np.array([[0.0, 1.0], [-1.0, 0.0]]))
    bernoulli = emkit.BernoulliMixture(random_state=0).fit(family_data("bernoulli"))
    with pytest.raises(ValueError, match="only 0 and 1"):
        bernoulli.predict(np.full((2, 12), 0.5))
