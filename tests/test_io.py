"""Save and load: exact round trips, a safe format, and a clear error for every broken file."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, final

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import emkit
from emkit import io, registry
from emkit.estimators import NotFittedError
from emkit.families import CanonicalFamily, MeanParams
from emkit.io.fields import array as read_array
from emkit.io.writing import encode_array

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return np.asarray(emkit.datasets.load_faithful().data, dtype=np.float64)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return np.asarray(emkit.datasets.load_digits().data, dtype=np.float64)


@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    return np.asarray(emkit.datasets.load_earthquakes().data, dtype=np.float64)


@pytest.fixture
def clean_registry() -> Any:
    """Only emkit's own classes, whatever other tests registered; undone afterwards."""
    with registry.isolated(builtins_only=True):
        yield


FITTED_ATTRIBUTES = (
    "weights_",
    "means_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "n_features_in_",
)
GAUSSIAN_ATTRIBUTES = ("covariances_", "precisions_", "precisions_cholesky_")


def assert_same_estimator(loaded: Any, saved: Any, X: np.ndarray) -> None:
    """Bit-for-bit the same fitted estimator: attributes, parameters and every prediction."""
    assert type(loaded) is type(saved)
    names = FITTED_ATTRIBUTES
    if isinstance(saved, emkit.GaussianMixture):
        names += GAUSSIAN_ATTRIBUTES
    for name in names:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(saved, name), err_msg=name)
        assert np.asarray(getattr(loaded, name)).dtype == np.asarray(getattr(saved, name)).dtype
    assert_same_result(loaded.result_, saved.result_)
    assert repr(loaded) == repr(saved)
    np.testing.assert_array_equal(loaded.predict(X), saved.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), saved.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), saved.score_samples(X))
    assert loaded.bic(X) == saved.bic(X)
    np.testing.assert_array_equal(loaded.sample(20)[0], saved.sample(20)[0])


def assert_same_tree(loaded: Any, saved: Any, where: str = "params") -> None:
    """Two parameter trees of the same classes whose arrays agree bit for bit."""
    assert type(loaded) is type(saved), where
    for field in attrs.fields(type(saved)):
        ours, theirs = getattr(loaded, field.name), getattr(saved, field.name)
        path = f"{where}.{field.name}"
        if attrs.has(type(theirs)):
            assert_same_tree(ours, theirs, path)
        elif isinstance(theirs, np.ndarray):
            assert ours.dtype == theirs.dtype, path
            assert ours.shape == theirs.shape, path
            assert ours.tobytes() == theirs.tobytes(), path
        else:
            assert type(ours) is type(theirs), path
            assert ours == theirs, path


def assert_same_result(loaded: emkit.FitResult[Any], saved: emkit.FitResult[Any]) -> None:
    assert loaded.model == saved.model
    assert_same_tree(loaded.params, saved.params)
    for name in ("log_likelihood", "log_prior", "n_iter", "converged", "n_samples", "n_features"):
        assert getattr(loaded, name) == getattr(saved, name), name
    assert loaded.restart == saved.restart
    np.testing.assert_array_equal(loaded.history, saved.history)
    np.testing.assert_array_equal(loaded.restart_objectives, saved.restart_objectives)


def result_of(model: Any, params: Any, n_features: int, log_likelihood: float = -1.5) -> Any:
    """A FitResult of given parameters, as a driver would return it."""
    return emkit.FitResult(
        model=model,
        params=params,
        log_likelihood=log_likelihood,
        log_prior=0.0,
        history=np.array([log_likelihood]),
        n_iter=0,
        converged=False,
        n_samples=10.0,
        n_features=n_features,
        restart=0,
        restart_objectives=np.array([log_likelihood]),
    )


# -- exact round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_estimator_round_trip(
    tmp_path: Path, faithful: np.ndarray, covariance_type: str
) -> None:
    est = emkit.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(faithful)
    path = tmp_path / "model.json"
    emkit.save(est, path)
    assert_same_estimator(emkit.load(path), est, faithful)


def test_bernoulli_and_poisson_round_trip(
    tmp_path: Path, digits: np.ndarray, counts: np.ndarray
) -> None:
    bernoulli = emkit.BernoulliMixture(
        10, pseudo_count=0.5, weight_concentration=2.0, random_state=0
    ).fit(digits)
    emkit.save(bernoulli, tmp_path / "b.json")
    assert_same_estimator(emkit.load(tmp_path / "b.json"), bernoulli, digits)
    poisson = emkit.PoissonMixture(2, prior_strength=1.0, prior_rate=20.0, random_state=0)
    poisson.fit(counts)
    emkit.save(poisson, str(tmp_path / "p.json"))  # a str path works too
    assert_same_estimator(emkit.load(str(tmp_path / "p.json")), poisson, counts)


def test_initial_values_and_feature_names_round_trip(tmp_path: Path, faithful: np.ndarray) -> None:
    import pandas as pd

    frame = pd.DataFrame(faithful, columns=["eruptions", "waiting"])
    est = emkit.GaussianMixture(
        2,
        covariance_type="diag",
        weights_init=np.array([0.25, 0.75], dtype=np.float32),
        means_init=np.array([[2.0, 55.0], [4.5, 80.0]]),
        precisions_init=np.ones((2, 2)),
        random_state=3,
        tol=1e-5,
    ).fit(frame)
    emkit.save(est, tmp_path / "m.json")
    loaded = emkit.load(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.feature_names_in_, ["eruptions", "waiting"])
    assert loaded.weights_init.dtype == np.float32
    np.testing.assert_array_equal(loaded.weights_init, est.weights_init)
    np.testing.assert_array_equal(loaded.means_init, est.means_init)
    assert loaded.random_state == 3
    assert loaded.tol == 1e-5
    assert_same_estimator(loaded, est, frame)  # type: ignore[arg-type]
    # the loaded estimator refits to the same answer
    np.testing.assert_array_equal(loaded.fit(frame).means_, est.means_)


def test_list_valued_estimator_parameters_come_back_as_arrays(
    tmp_path: Path, faithful: np.ndarray
) -> None:
    est = emkit.GaussianMixture(2, weights_init=[1, 3], random_state=0)
    est.set_params(weights_init=[0.25, 0.75]).fit(faithful)
    emkit.save(est, tmp_path / "m.json")
    loaded = emkit.load(tmp_path / "m.json")
    assert loaded.weights_init.dtype == np.float64
    np.testing.assert_array_equal(loaded.weights_init, [0.25, 0.75])


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical", "bernoulli", "poisson"])
def test_fit_result_round_trip(
    tmp_path: Path, kind: str, faithful: np.ndarray, digits: np.ndarray, counts: np.ndarray
) -> None:
    if kind == "bernoulli":
        family, X = emkit.Bernoulli(pseudo_count=0.1), digits
    elif kind == "poisson":
        family, X = emkit.Poisson(), counts
    else:
        family, X = emkit.Gaussian(kind, reg_covar=1e-4), faithful
    model = emkit.FiniteMixture(family, 3, weight_concentration=1.5)
    result = emkit.fit(model, X, n_init=2, random_state=0)
    emkit.save(result, tmp_path / "r.json")
    loaded = emkit.load(tmp_path / "r.json")
    assert isinstance(loaded, emkit.FitResult)
    assert_same_result(loaded, result)
    np.testing.assert_array_equal(
        loaded.model.score_samples(X, loaded.params), result.model.score_samples(X, result.params)
    )


FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
POSITIVE_FLOATS = st.floats(min_value=5e-324, max_value=1e300, allow_subnormal=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    means=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3)), elements=FINITE_FLOATS
    ),
    variance=POSITIVE_FLOATS,
    raw_weights=st.lists(st.floats(0.01, 100.0), min_size=4, max_size=4),
    log_likelihood=FINITE_FLOATS,
)
def test_every_float64_round_trips_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    means: np.ndarray,
    variance: float,
    raw_weights: list[float],
    log_likelihood: float,
) -> None:
    """Extreme, subnormal and negative-zero values come back bit for bit."""
    k, d = means.shape
    weights = np.asarray(raw_weights[:k])
    weights = weights / weights.sum()
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), k)
    params = emkit.MixtureParams(weights, emkit.GaussianParams(means, np.full((k, d), variance)))
    result = attrs.evolve(result_of(model, params, d, log_likelihood), log_prior=-0.0)
    path = tmp_path_factory.mktemp("prop") / "r.json"
    emkit.save(result, path)
    loaded = emkit.load(path)
    assert_same_result(loaded, result)
    # exactness at the bit level, signed zeros included
    assert loaded.params.components.means.tobytes() == means.tobytes()
    assert loaded.params.weights.tobytes() == weights.tobytes()
    assert np.signbit(loaded.log_prior)


ARRAY_DTYPES = ["float64", "float32", "bool", "int8", "int32", "int64", "uint8", "uint64"]


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from(ARRAY_DTYPES),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)
def test_arrays_of_every_supported_dtype_round_trip(
    data: st.DataObject, dtype: str, shape: tuple[int, ...]
) -> None:
    """Every value of float32/float64 (finite), bool and integer arrays, extremes included."""
    elements = (
        st.floats(allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8)
        if dtype.startswith("float")
        else None
    )
    values = data.draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))
    encoded = json.loads(json.dumps(encode_array(values, "x"), allow_nan=False))
    assert encoded["dtype"] == dtype
    decoded = read_array(encoded, "x", ndim=None)
    assert decoded.dtype == values.dtype
    assert decoded.shape == values.shape
    assert decoded.tobytes() == values.tobytes()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"dtype": "uint8", "shape": [2], "data": [1, 300]},
            r"`x.data` holds a value outside the range of uint8",
        ),
        (
            {"dtype": "int64", "shape": [1], "data": [1.5]},
            r"`x.data` must be a flat list of integers for dtype int64",
        ),
        (
            {"dtype": "bool", "shape": [1], "data": [1]},
            r"`x.data` must be a flat list of booleans for dtype bool",
        ),
        (
            {"dtype": "float32", "shape": [1], "data": [1e39]},
            r"`x` must hold only finite values of float32",
        ),
        (
            {"dtype": "complex128", "shape": [1], "data": [1.0]},
            r"`x.dtype` must be one of float64, float32, bool, int8, .*; got 'complex128'",
        ),
        ({"dtype": "float64", "shape": [-1], "data": []}, r"`x.shape` must be a list of non-n"),
    ],
)
def test_malformed_arrays_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_array(spec, "x", ndim=None)


def test_unsupported_arrays_are_not_saved() -> None:
    with pytest.raises(TypeError, match=r"cannot save `x`: arrays of dtype complex128 are not"):
        encode_array(np.zeros(2, dtype=complex), "x")


# -- the file ----------------------------------------------------------------------------------
def test_file_layout(tmp_path: Path, faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, covariance_type="tied", random_state=0).fit(faithful)
    emkit.save(est, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == "emkit-model"
    assert doc["version"] == io.FORMAT_VERSION == 2
    assert doc["kind"] == "estimator"
    assert doc["model"] == {
        "type": "FiniteMixture",
        "settings": {
            "family": {
                "type": "Gaussian",
                "settings": {"covariance_type": "tied", "reg_covar": 1e-6},
            },
            "n_components": 2,
            "weight_concentration": 1.0,
        },
    }
    params = doc["params"]
    assert params["type"] == "MixtureParams"
    assert sorted(params["fields"]) == ["components", "weights"]
    assert params["fields"]["weights"]["shape"] == [2]
    components = params["fields"]["components"]
    assert components["type"] == "GaussianParams"
    # the derived precisions_cholesky (init=False) is not written
    assert sorted(components["fields"]) == ["covariances", "means"]
    assert components["fields"]["covariances"]["shape"] == [1, 2, 2]
    assert doc["estimator"]["type"] == "GaussianMixture"
    assert doc["estimator"]["params"]["covariance_type"] == "tied"
    assert doc["estimator"]["feature_names_in"] is None
    assert "NaN" not in (tmp_path / "m.json").read_text()


def test_save_errors(tmp_path: Path, faithful: np.ndarray) -> None:
    with pytest.raises(NotFittedError):
        emkit.save(emkit.GaussianMixture(), tmp_path / "m.json")
    with pytest.raises(
        TypeError,
        match=r"`fitted` must be an emkit.FitResult or a fitted estimator of a registered class "
        r"\(BernoulliHMM, BernoulliMixture, CategoricalHMM, CategoricalMixture, GaussianHMM, "
        r"GaussianMixture, MixedMixture, PoissonHMM, PoissonMixture, RegressionMixture\); got dict",
    ):
        emkit.save({"weights": [1.0]}, tmp_path / "m.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        emkit.save(emkit.GaussianMixture().fit(faithful), tmp_path / "missing" / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_unserialisable_random_state_is_saved_as_none(tmp_path: Path, faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(random_state=np.random.default_rng(0)).fit(faithful)
    with pytest.warns(UserWarning, match="cannot be saved; the loaded estimator gets") as caught:
        emkit.save(est, tmp_path / "m.json")
    assert caught[0].filename == __file__  # the warning points at the caller's line
    assert emkit.load(tmp_path / "m.json").random_state is None


def test_failed_save_keeps_the_existing_file(tmp_path: Path, faithful: np.ndarray) -> None:
    path = tmp_path / "m.json"
    good = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    emkit.save(good, path)
    before = path.read_bytes()
    broken = attrs.evolve(good.result_, log_likelihood=float("nan"))
    with pytest.raises(ValueError, match=r"cannot save `fit.log_likelihood`: it holds nan"):
        emkit.save(broken, path)
    inf_means = attrs.evolve(
        good.result_.params,
        components=emkit.GaussianParams(
            np.array([[np.inf, 0.0], [0.0, 0.0]]), good.result_.params.components.covariances
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"cannot save `params.fields.components.fields.means.data`: it holds inf",
    ):
        emkit.save(attrs.evolve(good.result_, params=inf_means), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary left


def test_interrupted_write_keeps_the_existing_file(
    tmp_path: Path, faithful: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.json"
    emkit.save(emkit.GaussianMixture(2, random_state=0).fit(faithful), path)
    before = path.read_bytes()

    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        emkit.save(emkit.GaussianMixture(3, random_state=0).fit(faithful), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


# -- broken files ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_doc(faithful: np.ndarray) -> dict[str, Any]:
    est = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    return io.to_dict(est)


@pytest.fixture(scope="module")
def saved_diag_doc(faithful: np.ndarray) -> dict[str, Any]:
    return io.to_dict(emkit.fit(emkit.FiniteMixture(emkit.Gaussian("diag"), 2), faithful))


def edited(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with the dotted ``path`` set to ``value`` (or deleted)."""
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


DELETE = object()
P = "params.fields"
C = "params.fields.components.fields"
F = "model.settings.family"

#: (edit, expected message) for a saved full-covariance GaussianMixture of two components.
BROKEN = [
    (
        f"{P}.weights.data",
        [0.6, 0.6],
        r"invalid `params`: `params.weights` must be non-negative and sum to 1; got \[0.6, 0.6\]",
    ),
    (
        f"{P}.weights.data",
        [1.5, -0.5],
        r"invalid `params`: `params.weights` must be non-negative and sum to 1; got \[1.5, -0.5\]",
    ),
    (f"{P}.weights.shape", [1, 2], r"`params.weights` must be a 1-D array; got 2-D"),
    (f"{P}.weights", 0.5, r"invalid `params`: `params.weights` must be a 1-D array; got 0-D"),
    (f"{P}.weights", [0.5], r"`params.fields.weights` must be an array \{dtype, shape, data\}, a"),
    (f"{C}.means.shape", [4], r"invalid `params`: `params.means` must"),
    (
        f"{C}.means.shape",
        [1, 4],
        r"`params.means` must have shape \(n_components, n_features\) = \(2, 2\); got \(1, 4\)",
    ),
    (
        f"{C}.covariances.data",
        [1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0],
        r"invalid `params.fields.components` \(GaussianParams\): covariance of component\(s\) "
        r"\[1\] is not positive definite",
    ),
    (
        f"{C}.covariances.data",
        [1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
        r"`params.covariances` must be symmetric",
    ),
    (
        f"{C}.covariances.data",
        [1.0, 0.0],
        rf"`{C}.covariances.data` must hold prod\(shape\) = 8 values",
    ),
    (f"{C}.covariances.dtype", "int8", rf"`{C}.covariances.data` must be a flat list of integ"),
    (f"{C}.covariances.dtype", "object", rf"`{C}.covariances.dtype` must be one of float64, "),
    (f"{C}.means.data", [1, 2, "x", 4], rf"`{C}.means.data` must be a flat list of numbers"),
    (f"{C}.extra", {}, r"unknown field\(s\) \['extra'\] in `params.fields.components.fields`"),
    (f"{C}.means", DELETE, r"missing field\(s\) \['means'\] in `params.fields.components.fie"),
    (
        f"{C}.precisions_cholesky",
        {"dtype": "float64", "shape": [0], "data": []},
        r"unknown field\(s\) \['precisions_cholesky'\] in `params.fields.components.fields`; "
        r"expected \['covariances', 'means'\]",
    ),
    ("params.fields.components.type", "MeanParams", r"unknown field\(s\) \['covariances', 'me"),
    (
        "params.fields.components.type",
        "os.system",
        r"`params.fields.components.type`: unknown parameter 'os.system'; registered: Gaussian",
    ),
    (
        "params.type",
        "GaussianParams",
        r"unknown field\(s\) \['components', 'weights'\] in `params.fields`",
    ),
    ("params.type", 3, r"`params.type` must be a string; got 3"),
    (
        "params",
        {"type": "MeanParams", "fields": {"mean": {"dtype": "float64", "shape": [0], "data": []}}},
        r"`params.type` must be 'MixtureParams' for a FiniteMixture; got 'MeanParams'",
    ),
    ("params.values", {}, r"unknown field\(s\) \['values'\] in `params`"),
    ("params", [], r"`params` must be a JSON object; got list"),
    ("version", 999, r"format version 999 by a newer emkit; this emkit reads versions up to 2"),
    ("version", 0, r"`version` must be >= 1; got 0"),
    ("version", "2", r"`version` must be an integer; got '2'"),
    ("version", DELETE, r"missing field `version`"),
    ("format", "other", r"not an emkit model file \(`format` must be 'emkit-model'"),
    ("kind", "pickle", r"`kind` must be one of 'fit_result', 'estimator'; got 'pickle'"),
    ("emkit_version", DELETE, None),  # informational only
    ("comment", "hi", r"unknown field\(s\) \['comment'\] in `the document`"),
    (
        f"{F}.type",
        "os.system",
        rf"`{F}.type`: unknown family or model 'os.system'; registered families: Bernoulli, "
        r"Categorical, Gaussian, Poisson, Product; registered models: FiniteMixture",
    ),
    (f"{F}.type", "gaussian", None),  # names are looked up in any case
    (f"{F}.type", None, rf"`{F}.type` must be a string; got None"),
    (
        f"{F}.settings.covariance_type",
        "box",
        rf"invalid `{F}` \(Gaussian\): `covariance_type` must be one of",
    ),
    (f"{F}.settings.shape", 3, rf"unknown field\(s\) \['shape'\] in `{F}.settings`"),
    (f"{F}.settings.reg_covar", DELETE, rf"missing field\(s\) \['reg_covar'\] in `{F}.settings`"),
    (f"{F}.settings.reg_covar", [1], rf"invalid `{F}` \(Gaussian\): `reg_covar` must be a real"),
    (
        f"{F}.settings.reg_covar",
        {"value": 1},
        rf"`{F}.settings.reg_covar` must be a JSON scalar, a list, an array .* got an object "
        r"with keys \['value'\]",
    ),
    (f"{F}.settings.reg_covar", {"tuple": 1}, rf"`{F}.settings.reg_covar.tuple` must be a list"),
    (f"{F}.settings.reg_covar", {"tuple": [], "x": 1}, r"unknown field\(s\) \['x'\] in `model"),
    (f"{F}.kind", "family", rf"unknown field\(s\) \['kind'\] in `{F}`"),
    (
        "model.type",
        "HiddenMarkov",
        r"`model.type`: unknown model 'HiddenMarkov'; registered: FiniteMixture",
    ),
    ("model.type", "Gaussian", r"`model.type`: unknown model 'Gaussian'"),
    (
        "model.settings.n_components",
        3,
        r"invalid `params`: `params.weights` must have shape \(n_components,\) = \(3,\)",
    ),
    ("model.settings.n_components", 0, r"invalid `model` \(FiniteMixture\): `n_components` must"),
    ("model.settings.weight_concentration", 0.5, r"`weight_concentration` must be >= 1.0; got 0.5"),
    ("model.settings", [], r"`model.settings` must be a JSON object; got list"),
    ("model", [], r"`model` must be a JSON object; got list"),
    ("fit.n_features", 3, r"`params.means` must have shape .* = \(2, 3\)"),
    ("fit.n_iter", 10_000, r"`fit.history` must have n_iter \+ 1 = 10001 entries"),
    ("fit.restart", 5, r"`fit.restart` must index `fit.restart_objectives` \(length 1\); got 5"),
    ("fit.converged", "yes", r"`fit.converged` must be true or false; got 'yes'"),
    ("fit.n_samples", -1.0, r"`fit.n_samples` must be > 0; got -1.0"),
    ("fit.log_likelihood", None, r"`fit.log_likelihood` must be a number; got None"),
    ("fit.restart", DELETE, r"missing field\(s\) \['restart'\] in `fit`"),
    ("fit", DELETE, r"missing field\(s\) \['fit'\] in `the document`"),
    ("estimator.type", "Pipeline", r"`estimator.type`: unknown estimator 'Pipeline'"),
    ("estimator.class", "GaussianMixture", r"unknown field\(s\) \['class'\] in `estimator`"),
    ("estimator.params.n_clusters", 2, r"unknown field\(s\) \['n_clusters'\] in `estimator."),
    ("estimator.params.tol", DELETE, r"missing field\(s\) \['tol'\] in `estimator.params`"),
    (
        "estimator.params.covariance_type",
        "diag",
        r"`estimator.params` describe .*'diag'.*, but `model` holds .*'full'",
    ),
    ("estimator.params.n_components", 0, r"invalid `estimator.params`: `n_components` must be"),
    ("estimator.params.tol", [1], r"`estimator.params.tol` must be a scalar or an array"),
    ("estimator.params.tol", -1.0, r"invalid `estimator.params`: `tol` must be a finite"),
    ("estimator.params.random_state", "x", r"invalid `estimator.params`: `random_state` must"),
    ("estimator.feature_names_in", ["a"], r"must name n_features = 2 features; got 1"),
    ("estimator.feature_names_in", [1, 2], r"must be null or a list of strings"),
    ("estimator", DELETE, r"missing field\(s\) \['estimator'\] in `the document`"),
]


@pytest.mark.usefixtures("clean_registry")  # error messages list the registered names
@pytest.mark.parametrize(("where", "value", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_hand_edited_files_are_refused(
    tmp_path: Path, saved_doc: dict[str, Any], where: str, value: Any, message: str | None
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(edited(saved_doc, where, value)))
    if message is None:  # an edit that is allowed
        assert isinstance(emkit.load(path), emkit.GaussianMixture)
        return
    with pytest.raises(ValueError, match=message) as info:
        emkit.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_negative_variance_is_refused(tmp_path: Path, saved_diag_doc: dict[str, Any]) -> None:
    doc = edited(saved_diag_doc, f"{C}.covariances.data", [0.1, -0.2, 3.0, 4.0])
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        ValueError,
        match=r"model.json: invalid `params.fields.components` \(GaussianParams\): variance of",
    ):
        emkit.load(path)


def test_bernoulli_probability_outside_the_unit_interval(
    tmp_path: Path, digits: np.ndarray
) -> None:
    result = emkit.fit(emkit.FiniteMixture(emkit.Bernoulli(), 2), digits, random_state=0)
    doc = io.to_dict(result)
    data = doc["params"]["fields"]["components"]["fields"]["mean"]["data"]
    data[5] = 1.5
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"must lie strictly inside \(0, 1\); found 1.5"):
        emkit.load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_files_are_refused(
    tmp_path: Path, saved_doc: dict[str, Any], keep: float
) -> None:
    text = json.dumps(saved_doc, indent=1)
    path = tmp_path / "model.json"
    path.write_text(text[: int(len(text) * keep)])
    with pytest.raises(ValueError, match=r"model.json: not valid JSON .* truncated or corrupted"):
        emkit.load(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"not valid JSON"),
        (b"\x80\x81\xfe binary", r"not an emkit model file \(not UTF-8 text"),
        (b"[1, 2, 3]", r"`the document` must be a JSON object; got list"),
        (b'{"format": "emkit-model", "version": NaN}', r"holds NaN, which is never a valid"),
        (b'{"format": "emkit-model", "version": Infinity}', r"holds Infinity"),
        (b"[" * 100_000 + b"]" * 100_000, r"not an emkit model file \(nested too deeply\)"),
    ],
)
def test_corrupted_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        emkit.load(path)


def test_nan_inside_parameters_is_refused(tmp_path: Path, saved_doc: dict[str, Any]) -> None:
    text = json.dumps(saved_doc)
    first = saved_doc["params"]["fields"]["components"]["fields"]["means"]["data"][0]
    path = tmp_path / "model.json"
    path.write_text(text.replace(repr(first), "NaN", 1))
    with pytest.raises(ValueError, match="holds NaN"):
        emkit.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        emkit.load(tmp_path / "nothing.json")


def test_loading_never_pickles(saved_doc: dict[str, Any], tmp_path: Path) -> None:
    """The reader knows only JSON; a pickle payload is just an invalid file."""
    import pickle

    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(saved_doc))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"model\.json: "):
            emkit.load(path)


# -- plugin families ---------------------------------------------------------------------------
@attrs.frozen
class ExponentialBase(CanonicalFamily):
    """Exponential features: T(x) = x, eta = -1 / mean, A = -sum log(-eta), h = 1."""

    prior_strength: float = 0.0

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return -1.0 / mean

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return np.asarray(-np.sum(np.log(-natural), axis=1))

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0])

    def check_support(self, X: np.ndarray) -> None:
        if (X < 0).any():
            raise ValueError("`X` must be non-negative for an Exponential mixture")

    def check_mean(self, mean: np.ndarray) -> None:
        if (mean <= 0).any():
            raise ValueError("Exponential means `params.mean` must be > 0")

    def sample(self, params: MeanParams, component: int, n: int, rng: Any) -> np.ndarray:
        scale = params.mean[component]
        return np.asarray(rng.exponential(scale, size=(n, scale.shape[0])))


@final
@attrs.frozen
class Exponential(ExponentialBase):
    """The plugin guide's family."""


#: Settings that hold arrays compare by value and stay out of the hash.
ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


@final
@attrs.frozen
class RichExponential(ExponentialBase):
    """An Exponential whose settings hold every kind of value the format keeps.

    ``prior_mean`` (a float32 array) is the conjugate prior's mean; ``clip`` (a tuple) bounds the
    means before taking ``-1 / mean``; the others are carried along unchanged.
    """

    prior_mean: np.ndarray = attrs.field(factory=lambda: np.ones(2), eq=ARRAY_EQ, hash=False)
    clip: tuple[float, float] = (1e-12, 1e12)
    feature_ids: np.ndarray = attrs.field(factory=lambda: np.zeros(0), eq=ARRAY_EQ, hash=False)
    labels: list[str] = attrs.field(factory=list, hash=False)
    reference: Any = None
    nested: tuple[Any, ...] = attrs.field(default=(), eq=False, hash=False)

    def prior(self) -> tuple[float, Any]:
        return self.prior_strength, self.prior_mean

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return -1.0 / np.clip(mean, *self.clip)


def exponential_data(n: int = 400) -> np.ndarray:
    return np.random.default_rng(0).exponential([[1.0, 5.0]], size=(n, 2))


def rich_family() -> RichExponential:
    return RichExponential(
        prior_strength=2.0,
        prior_mean=np.array([1.5, 4.0], dtype=np.float32),
        clip=(1e-9, 1e9),
        feature_ids=np.array([[7, -3]], dtype=np.int64),
        labels=["short", "long"],
        reference=emkit.Gaussian("diag", reg_covar=1e-3),
        nested=(1, (2.5, "x"), [True, None], np.zeros(0, dtype=np.float32)),
    )


@pytest.mark.usefixtures("clean_registry")
def test_plugin_family_round_trips_once_registered(tmp_path: Path) -> None:
    X = exponential_data()
    result = emkit.fit(emkit.FiniteMixture(Exponential(), 2), X, random_state=0)
    with pytest.raises(
        TypeError,
        match=r"cannot save `model.settings.family`: family tests.test_io.Exponential is not "
        r"registered; call emkit.registry.register_family\(Exponential\)",
    ):
        emkit.save(result, tmp_path / "r.json")
    assert io.register_family(Exponential) is Exponential  # still importable from emkit.io
    assert io.registered_families() == (
        "Bernoulli",
        "Categorical",
        "Exponential",
        "Gaussian",
        "Poisson",
        "Product",
    )
    emkit.save(result, tmp_path / "r.json")
    assert_same_result(emkit.load(tmp_path / "r.json"), result)
    # a process that has not registered the family refuses the file
    message = (
        r"`model.settings.family.type`: unknown family or model 'Exponential'; "
        r"registered families: Bernoulli, Categorical, Gaussian, Poisson, Product; "
        r".*register_family"
    )
    with registry.isolated(builtins_only=True), pytest.raises(ValueError, match=message):
        emkit.load(tmp_path / "r.json")


@pytest.mark.usefixtures("clean_registry")
def test_every_kind_of_setting_round_trips(tmp_path: Path) -> None:
    X = exponential_data()
    family = rich_family()
    registry.register_family(RichExponential)
    result = emkit.fit(emkit.FiniteMixture(family, 2), X, random_state=0)
    emkit.save(result, tmp_path / "r.json")
    settings_doc = json.loads((tmp_path / "r.json").read_text())["model"]["settings"]["family"]
    assert settings_doc["type"] == "RichExponential"
    assert settings_doc["settings"]["clip"] == {"tuple": [1e-9, 1e9]}
    assert settings_doc["settings"]["labels"] == ["short", "long"]
    assert settings_doc["settings"]["reference"] == {
        "type": "Gaussian",
        "settings": {"covariance_type": "diag", "reg_covar": 1e-3},
    }
    loaded = emkit.load(tmp_path / "r.json")
    assert_same_result(loaded, result)
    again = loaded.model.family
    assert again.prior_mean.dtype == np.float32
    assert again.prior_mean.tobytes() == family.prior_mean.tobytes()
    assert again.feature_ids.dtype == np.int64
    assert again.feature_ids.shape == (1, 2)
    assert type(again.clip) is tuple
    assert type(again.labels) is list
    assert again.reference == emkit.Gaussian("diag", reg_covar=1e-3)
    assert type(again.nested) is tuple
    assert again.nested[:3] == (1, (2.5, "x"), [True, None])
    assert again.nested[3].dtype == np.float32
    assert again.nested[3].shape == (0,)
    np.testing.assert_array_equal(
        loaded.model.score_samples(X, loaded.params), result.model.score_samples(X, result.params)
    )


@pytest.mark.usefixtures("clean_registry")
def test_settings_the_format_cannot_hold_are_refused(tmp_path: Path) -> None:
    registry.register_family(RichExponential)
    params = emkit.MixtureParams(np.array([1.0]), MeanParams(np.array([[1.0, 2.0]])))

    def save(**changes: Any) -> None:
        family = attrs.evolve(rich_family(), **changes)
        emkit.save(result_of(emkit.FiniteMixture(family, 1), params, 2), tmp_path / "r.json")

    with pytest.raises(
        TypeError,
        match=r"cannot save `model.settings.family.settings.labels\[1\]` of RichExponential: a "
        r"dict is not a setting the format can represent \(settings hold JSON scalars, numpy",
    ):
        save(labels=["a", {"b": 1}])
    with pytest.raises(
        TypeError,
        match=r"cannot save `model.settings.family.settings.reference`: family "
        r"tests.test_io.Exponential is not registered; call emkit.registry.register_family",
    ):
        save(reference=Exponential())
    with pytest.raises(TypeError, match=r"`model.settings.family.settings.feature_ids`: arrays"):
        save(feature_ids=np.array(["a"]))
    with pytest.raises(
        ValueError,
        match=r"cannot save `model.settings.family.settings.clip.tuple`: it holds inf",
    ):
        save(clip=(0.0, float("inf")))
    assert not (tmp_path / "r.json").exists()


@pytest.mark.usefixtures("clean_registry")
def test_a_nested_name_must_resolve_to_its_class(tmp_path: Path) -> None:
    """A model registered under a family's name could not be told apart on loading."""

    @attrs.frozen
    class Gaussian:  # a model that shares its name with the Gaussian family
        n_components: int = 1

    registry.register_model(Gaussian, MeanParams)
    registry.register_family(RichExponential)
    family = attrs.evolve(rich_family(), reference=Gaussian())
    params = emkit.MixtureParams(np.array([1.0]), MeanParams(np.array([[1.0, 2.0]])))
    with pytest.raises(TypeError, match=r"Gaussian is registered as 'Gaussian', a name that load"):
        emkit.save(result_of(emkit.FiniteMixture(family, 1), params, 2), tmp_path / "r.json")


# -- plugin models -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regression() -> ModuleType:
    """examples/regression_mixture.py, the model of the plugin guide, imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "regression_mixture", EXAMPLES / "regression_mixture.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("clean_registry")
def test_plugin_model_round_trips_once_registered(tmp_path: Path, regression: ModuleType) -> None:
    X, _, _ = regression.two_lines()
    model = regression.LineMixture(n_components=2, min_variance=1e-4)
    result = emkit.fit(model, X, n_init=3, tol=1e-6, max_iter=300, random_state=0)
    path = tmp_path / "lines.json"
    with pytest.raises(
        TypeError,
        match=r"cannot save `model`: model regression_mixture.LineMixture is not "
        r"registered; call emkit.registry.register_model\(LineMixture, <its parameter",
    ):
        emkit.save(result, path)
    registry.register_model(regression.LineMixture, regression.LineParams)
    emkit.save(result, path)
    doc = json.loads(path.read_text())
    assert doc["model"] == {
        "type": "LineMixture",
        "settings": {"n_components": 2, "min_variance": 1e-4},
    }
    assert doc["params"]["type"] == "LineParams"
    assert sorted(doc["params"]["fields"]) == ["coefs", "variances", "weights"]
    loaded = emkit.load(path)
    assert_same_result(loaded, result)
    np.testing.assert_array_equal(
        loaded.model.predict(X, loaded.params), model.predict(X, result.params)
    )
    # the model's own validate_params judges the file
    doc["params"]["fields"]["variances"]["data"][1] = -1.0
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"lines.json: invalid `params`: `params.variances` must"):
        emkit.load(path)
    doc["params"]["fields"]["coefs"]["shape"] = [4]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"`params.coefs` must have shape \(2, 2\); got \(4,\)"):
        emkit.load(path)


@pytest.mark.usefixtures("clean_registry")
def test_unregistered_parameter_classes_are_refused(tmp_path: Path, regression: ModuleType) -> None:
    @attrs.frozen
    class Offsets:
        shift: Any

    registry.register_model(regression.LineMixture, regression.LineParams)
    params = regression.LineParams(np.array([1.0]), Offsets(np.zeros(2)), np.ones(1))
    result = result_of(regression.LineMixture(1), params, 2)
    with pytest.raises(
        TypeError,
        match=r"cannot save `params.fields.coefs`: the parameter class tests.test_io.*Offsets is "
        r"not registered; register it with its family or model",
    ):
        emkit.save(result, tmp_path / "r.json")
    wrong = result_of(regression.LineMixture(1), MeanParams(np.ones((1, 2))), 2)
    with pytest.raises(
        TypeError,
        match=r"the parameters of a LineMixture must be LineParams; got MeanParams",
    ):
        emkit.save(wrong, tmp_path / "r.json")
    text_field = regression.LineParams(np.array([1.0]), "coefs", np.ones(1))
    with pytest.raises(TypeError, match=r"`params.fields.coefs`: parameter fields hold arrays"):
        emkit.save(result_of(regression.LineMixture(1), text_field, 2), tmp_path / "r.json")


@pytest.mark.usefixtures("clean_registry")
def test_nested_and_scalar_parameter_fields_round_trip(tmp_path: Path) -> None:
    """Parameter trees of any depth, with float and integer fields and float32 arrays."""

    @attrs.frozen(eq=False)
    class Inner:
        scale: float
        steps: int
        values: np.ndarray

    @attrs.frozen(eq=False)
    class Outer:
        inner: Inner
        offset: np.ndarray

    @attrs.frozen
    class Toy:
        size: int = 2

        def validate_params(self, params: Any, n_features: int) -> Any:
            if params.inner.values.shape != (self.size,):
                raise ValueError(f"`params.inner.values` must have shape ({self.size},)")
            return params

    registry.register_model(Toy, Outer)
    with pytest.raises(TypeError, match=r"`params.fields.inner`: the parameter class .*Inner"):
        emkit.save(result_of(Toy(), Outer(Inner(0.1, 3, np.ones(2)), np.ones(1)), 1), tmp_path)
    assert registry.register_params(Inner) is Inner  # a parameter class of its own
    params = Outer(Inner(0.1, 3, np.array([1.0, -0.0], dtype=np.float32)), np.array([[5e-324]]))
    emkit.save(result_of(Toy(), params, 1), tmp_path / "toy.json")
    loaded = emkit.load(tmp_path / "toy.json")
    assert_same_tree(loaded.params, params)
    assert loaded.model == Toy()
    doc = json.loads((tmp_path / "toy.json").read_text())
    doc["params"]["fields"]["inner"]["fields"]["values"]["shape"] = [1]
    doc["params"]["fields"]["inner"]["fields"]["values"]["data"] = [1.0]
    (tmp_path / "toy.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"invalid `params`: `params.inner.values` must have"):
        emkit.load(tmp_path / "toy.json")
    doc["params"]["fields"]["inner"]["fields"]["steps"] = True
    (tmp_path / "toy.json").write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=r"`params.fields.inner.fields.steps` must be an array \{dtype, shape"
    ):
        emkit.load(tmp_path / "toy.json")


@pytest.mark.usefixtures("clean_registry")
def test_unregistered_estimators_are_refused(tmp_path: Path, faithful: np.ndarray) -> None:
    class MyMixture(emkit.GaussianMixture):
        pass

    est = MyMixture(2, random_state=0).fit(faithful)
    with pytest.raises(TypeError, match=r"a fitted estimator of a registered class .* got MyMix"):
        emkit.save(est, tmp_path / "m.json")
    registry.register_estimator(MyMixture)
    emkit.save(est, tmp_path / "m.json")
    assert_same_estimator(emkit.load(tmp_path / "m.json"), est, faithful)


# -- files of format version 1 -----------------------------------------------------------------
# Written by emkit's version-1 writer (emkit 0.1.0, before format version 2): a FitResult of a
# full-covariance Gaussian mixture (40 rows of Old Faithful, 3 iterations), a diagonal
# GaussianMixture fitted on a DataFrame, and a PoissonMixture.
V1_GAUSSIAN_RESULT = """
{"format": "emkit-model", "version": 1, "emkit_version": "0.1.0", "kind": "fit_result", "model":
{"type": "FiniteMixture", "n_components": 2, "weight_concentration": 1.5, "family": {"name":
"Gaussian", "attrs": {"covariance_type": "full", "reg_covar": 1e-06}}}, "params": {"weights":
{"dtype": "float64", "shape": [2], "data": [0.6222496553274497, 0.37775034467255025]},
"components": {"means": {"dtype": "float64", "shape": [2, 2], "data": [4.103883156255478,
79.22876392242996, 1.949437305176634, 53.39765572653885]}, "covariances": {"dtype": "float64",
"shape": [2, 2, 2], "data": [0.2612046236783186, 1.5915708863169424, 1.5915708863169424,
31.78461065794608, 0.08995414657395248, 0.35382444290211446, 0.35382444290211446,
20.917514968838137]}}}, "fit": {"log_likelihood": -166.02049750453983, "log_prior":
0.21074382730944263, "history": {"dtype": "float64", "shape": [4], "data": [-168.34582562470882,
-166.69137532154335, -165.827291461204, -165.8097536772304]}, "n_iter": 3, "converged": true,
"n_samples": 40.0, "n_features": 2, "restart": 0, "restart_objectives": {"dtype": "float64",
"shape": [1], "data": [-165.8097536772304]}}}
"""

V1_GAUSSIAN_ESTIMATOR = """
{"format": "emkit-model", "version": 1, "emkit_version": "0.1.0", "kind": "estimator", "model":
{"type": "FiniteMixture", "n_components": 2, "weight_concentration": 1.0, "family": {"name":
"Gaussian", "attrs": {"covariance_type": "diag", "reg_covar": 1e-06}}}, "params": {"weights":
{"dtype": "float64", "shape": [2], "data": [0.625011954755313, 0.374988045244687]}, "components":
{"means": {"dtype": "float64", "shape": [2, 2], "data": [4.104571844103608, 79.23947414552397,
1.9499782394557403, 53.4000526802306]}, "covariances": {"dtype": "float64", "shape": [2, 2],
"data": [0.26027893997690393, 31.554947960273385, 0.09032257279618591, 20.909424676595652]}}},
"fit": {"log_likelihood": -171.06029971586548, "log_prior": 0.0, "history": {"dtype": "float64",
"shape": [4], "data": [-175.26138593596357, -171.4874519508993, -171.06037895535786,
-171.06029971586548]}, "n_iter": 3, "converged": false, "n_samples": 40.0, "n_features": 2,
"restart": 0, "restart_objectives": {"dtype": "float64", "shape": [1], "data":
[-171.06029971586548]}}, "estimator": {"class": "GaussianMixture", "params": {"covariance_type":
"diag", "init_params": "kmeans", "max_iter": 3, "means_init": null, "n_components": 2, "n_init": 1,
"precisions_init": null, "random_state": 1, "reg_covar": 1e-06, "tol": 0.001, "verbose": 0,
"verbose_interval": 10, "warm_start": false, "weights_init": {"dtype": "float64", "shape": [2],
"data": [0.5, 0.5]}}, "feature_names_in": ["eruptions", "waiting"]}}
"""

V1_POISSON_ESTIMATOR = """
{"format": "emkit-model", "version": 1, "emkit_version": "0.1.0", "kind": "estimator", "model":
{"type": "FiniteMixture", "n_components": 2, "weight_concentration": 1.0, "family": {"name":
"Poisson", "attrs": {"prior_strength": 0.0, "prior_rate": 1.0}}}, "params": {"weights": {"dtype":
"float64", "shape": [2], "data": [0.45061057840559926, 0.5493894215944006]}, "components": {"mean":
{"dtype": "float64", "shape": [2, 1], "data": [26.89137202730556, 16.349902170644995]}}}, "fit":
{"log_likelihood": -68.46481772864624, "log_prior": 0.0, "history": {"dtype": "float64", "shape":
[3], "data": [-68.79937532605224, -68.5729800443211, -68.46481772864624]}, "n_iter": 2,
"converged": false, "n_samples": 20.0, "n_features": 1, "restart": 0, "restart_objectives":
{"dtype": "float64", "shape": [1], "data": [-68.46481772864624]}}, "estimator": {"class":
"PoissonMixture", "params": {"init_params": "kmeans", "max_iter": 2, "means_init": null,
"n_components": 2, "n_init": 1, "prior_rate": 1.0, "prior_strength": 0.0, "random_state": 0, "tol":
0.001, "verbose": 0, "verbose_interval": 10, "warm_start": false, "weight_concentration": 1.0,
"weights_init": null}, "feature_names_in": null}}
"""


def v1_arrays(doc: dict[str, Any]) -> dict[str, np.ndarray]:
    """The parameter arrays of a version-1 document, by field name."""
    params = doc["params"]
    found = {"weights": params["weights"], **params["components"]}
    return {
        name: np.array(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"])
        for name, spec in found.items()
    }


def test_version_1_fit_result_loads(tmp_path: Path, faithful: np.ndarray) -> None:
    path = tmp_path / "v1.json"
    path.write_text(V1_GAUSSIAN_RESULT)
    loaded = emkit.load(path)
    assert isinstance(loaded, emkit.FitResult)
    assert loaded.model == emkit.FiniteMixture(emkit.Gaussian("full"), 2, weight_concentration=1.5)
    arrays = v1_arrays(json.loads(V1_GAUSSIAN_RESULT))
    assert loaded.params.weights.tobytes() == arrays["weights"].tobytes()
    assert loaded.params.components.means.tobytes() == arrays["means"].tobytes()
    assert loaded.params.components.covariances.tobytes() == arrays["covariances"].tobytes()
    assert loaded.log_likelihood == -166.02049750453983
    assert (loaded.n_iter, loaded.converged, loaded.n_samples) == (3, True, 40.0)
    assert loaded.history.shape == (4,)
    assert np.isfinite(loaded.model.score_samples(faithful, loaded.params)).all()
    # saved again, it is a version-2 file with the same content
    emkit.save(loaded, tmp_path / "v2.json")
    assert json.loads((tmp_path / "v2.json").read_text())["version"] == 2
    assert_same_result(emkit.load(tmp_path / "v2.json"), loaded)


@pytest.mark.parametrize("which", ["gaussian", "poisson"])
def test_version_1_estimators_load(
    tmp_path: Path, faithful: np.ndarray, counts: np.ndarray, which: str
) -> None:
    import pandas as pd

    X: Any = counts
    text = V1_GAUSSIAN_ESTIMATOR if which == "gaussian" else V1_POISSON_ESTIMATOR
    path = tmp_path / "v1.json"
    path.write_text(text)
    loaded = emkit.load(path)
    arrays = v1_arrays(json.loads(text))
    assert loaded.weights_.tobytes() == arrays["weights"].tobytes()
    if which == "gaussian":
        assert isinstance(loaded, emkit.GaussianMixture)
        assert loaded.covariance_type == "diag"
        assert loaded.max_iter == 3
        assert loaded.random_state == 1
        np.testing.assert_array_equal(loaded.weights_init, [0.5, 0.5])
        np.testing.assert_array_equal(loaded.feature_names_in_, ["eruptions", "waiting"])
        assert loaded.means_.tobytes() == arrays["means"].tobytes()
        assert loaded.covariances_.tobytes() == arrays["covariances"].tobytes()
        X = pd.DataFrame(faithful, columns=["eruptions", "waiting"])
    else:
        assert isinstance(loaded, emkit.PoissonMixture)
        assert not hasattr(loaded, "feature_names_in_")
        assert loaded.means_.tobytes() == arrays["mean"].tobytes()
    assert loaded.predict(X).shape == (X.shape[0],)
    emkit.save(loaded, tmp_path / "v2.json")
    assert_same_estimator(emkit.load(tmp_path / "v2.json"), loaded, X)


V1_BROKEN = [
    ("model.family.name", "os.system", r"`model.family.name`: unknown family 'os.system'"),
    ("model.family.name", 3, r"`model.family.name`: a family name must be a string; got 3"),
    ("model.family.attrs.reg_covar", [1], r"`model.family.attrs.reg_covar` must be a scalar"),
    ("model.family.attrs", DELETE, r"missing field `model.family.attrs`"),
    ("model.family.attrs.shape", 3, r"unknown field\(s\) \['shape'\] in `model.settings.fam"),
    ("model.type", "HiddenMarkov", r"`model.type` must be 'FiniteMixture'; got 'HiddenMarkov'"),
    ("model.n_components", DELETE, r"missing field `model.n_components`"),
    ("model.n_components", 0, r"`n_components` must be >= 1; got 0"),
    ("params.components", DELETE, r"missing field\(s\) \['components'\] in `params`"),
    ("params.weights.data", [0.6, 0.6], r"`params.weights` must be non-negative and sum to 1"),
    ("params.components.means.shape", [4], r"invalid `params`: `params.means` must"),
    ("estimator.class", DELETE, r"missing field\(s\) \['type'\] in `estimator`"),
    ("estimator.class", "Pipeline", r"`estimator.type`: unknown estimator 'Pipeline'"),
]


@pytest.mark.usefixtures("clean_registry")
@pytest.mark.parametrize(("where", "value", "message"), V1_BROKEN, ids=[b[0] for b in V1_BROKEN])
def test_broken_version_1_files_are_refused(
    tmp_path: Path, where: str, value: Any, message: str
) -> None:
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(edited(json.loads(V1_GAUSSIAN_ESTIMATOR), where, value)))
    with pytest.raises(ValueError, match=message) as info:
        emkit.load(path)
    assert str(info.value).startswith(f"{path}: ")
