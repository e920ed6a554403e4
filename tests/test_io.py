"""Save and load: exact round trips, a safe format, and a clear error for every broken file."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any, final

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import emkit
from emkit import io
from emkit.estimators import NotFittedError
from emkit.families import CanonicalFamily, MeanParams

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return np.asarray(emkit.datasets.load_faithful().data, dtype=np.float64)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return np.asarray(emkit.datasets.load_digits().data, dtype=np.float64)


@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    return np.asarray(emkit.datasets.load_earthquakes().data, dtype=np.float64)


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


def assert_same_result(loaded: emkit.FitResult[Any], saved: emkit.FitResult[Any]) -> None:
    assert loaded.model == saved.model
    np.testing.assert_array_equal(loaded.params.weights, saved.params.weights)
    for field in attrs.fields(type(saved.params.components)):
        ours = getattr(loaded.params.components, field.name)
        theirs = getattr(saved.params.components, field.name)
        np.testing.assert_array_equal(ours, theirs, err_msg=field.name)
        assert ours.dtype == theirs.dtype
        assert ours.shape == theirs.shape
    for name in ("log_likelihood", "log_prior", "n_iter", "converged", "n_samples", "n_features"):
        assert getattr(loaded, name) == getattr(saved, name), name
    assert loaded.restart == saved.restart
    np.testing.assert_array_equal(loaded.history, saved.history)
    np.testing.assert_array_equal(loaded.restart_objectives, saved.restart_objectives)


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
    result = emkit.FitResult(
        model=model,
        params=params,
        log_likelihood=log_likelihood,
        log_prior=-0.0,
        history=np.array([log_likelihood]),
        n_iter=0,
        converged=False,
        n_samples=7.5,
        n_features=d,
        restart=0,
        restart_objectives=np.array([log_likelihood]),
    )
    path = tmp_path_factory.mktemp("prop") / "r.json"
    emkit.save(result, path)
    loaded = emkit.load(path)
    assert_same_result(loaded, result)
    # exactness at the bit level, signed zeros included
    assert loaded.params.components.means.tobytes() == means.tobytes()
    assert loaded.params.weights.tobytes() == weights.tobytes()
    assert np.signbit(loaded.log_prior)


def test_float32_arrays_keep_their_dtype() -> None:
    values = np.array([0.1, 1e-30, 3.4e38, -0.0], dtype=np.float32)
    encoded = io._encode_array(values)
    assert encoded["dtype"] == "float32"
    decoded = io._array(json.loads(json.dumps(encoded)), "x", ndim=1)
    assert decoded.dtype == np.float32
    assert decoded.tobytes() == values.tobytes()


# -- the file ----------------------------------------------------------------------------------
def test_file_layout(tmp_path: Path, faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(2, covariance_type="tied", random_state=0).fit(faithful)
    emkit.save(est, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == "emkit-model"
    assert doc["version"] == io.FORMAT_VERSION
    assert doc["kind"] == "estimator"
    assert doc["model"]["family"] == {
        "name": "Gaussian",
        "attrs": {"covariance_type": "tied", "reg_covar": 1e-6},
    }
    assert doc["model"]["n_components"] == 2
    assert doc["params"]["components"]["covariances"]["shape"] == [1, 2, 2]
    assert doc["estimator"]["class"] == "GaussianMixture"
    assert doc["estimator"]["params"]["covariance_type"] == "tied"
    assert doc["estimator"]["feature_names_in"] is None
    assert "NaN" not in (tmp_path / "m.json").read_text()


def test_save_errors(tmp_path: Path, faithful: np.ndarray) -> None:
    with pytest.raises(NotFittedError):
        emkit.save(emkit.GaussianMixture(), tmp_path / "m.json")
    with pytest.raises(TypeError, match="must be a fitted GaussianMixture"):
        emkit.save({"weights": [1.0]}, tmp_path / "m.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        emkit.save(emkit.GaussianMixture().fit(faithful), tmp_path / "missing" / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_unserialisable_random_state_is_saved_as_none(tmp_path: Path, faithful: np.ndarray) -> None:
    est = emkit.GaussianMixture(random_state=np.random.default_rng(0)).fit(faithful)
    with pytest.warns(UserWarning, match="cannot be saved; the loaded estimator gets"):
        emkit.save(est, tmp_path / "m.json")
    assert emkit.load(tmp_path / "m.json").random_state is None


def test_failed_save_keeps_the_existing_file(tmp_path: Path, faithful: np.ndarray) -> None:
    path = tmp_path / "m.json"
    good = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    emkit.save(good, path)
    before = path.read_bytes()
    broken = attrs.evolve(good.result_, log_likelihood=float("nan"))
    with pytest.raises(ValueError, match=r"cannot save `fit.log_likelihood`: it holds nan"):
        emkit.save(broken, path)
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

#: (edit, expected message) for a saved full-covariance GaussianMixture of two components.
BROKEN = [
    ("params.weights.data", [0.6, 0.6], r"`params.weights` must sum to 1; got 1.2"),
    ("params.weights.data", [1.5, -0.5], r"`params.weights` must be >= 0; got \[1.5, -0.5\]"),
    ("params.weights.shape", [1, 2], r"`params.weights` must be 1-D; got shape \(1, 2\)"),
    ("params.components.means.shape", [4], r"invalid `params.components`: `params.means` must"),
    (
        "params.components.means.shape",
        [1, 4],
        r"`params.means` must have shape \(n_components, n_features\) = \(2, 2\); got \(1, 4\)",
    ),
    (
        "params.components.covariances.data",
        [1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0],
        r"covariance of component\(s\) \[1\] is not positive definite",
    ),
    (
        "params.components.covariances.data",
        [1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
        r"`params.covariances` must be symmetric",
    ),
    (
        "params.components.covariances.data",
        [1.0, 0.0],
        r"`params.components.covariances.data` must hold prod\(shape\) = 8 values",
    ),
    ("params.components.covariances.dtype", "int8", r"`params.components.covariances.dtype`"),
    ("params.components.means.data", [1, 2, "x", 4], r"`params.components.means.data` must be"),
    ("params.components.extra", {}, r"unknown field\(s\) \['extra'\] in `params.components`"),
    ("params.components.means", DELETE, r"missing field\(s\) \['means'\] in `params.comp"),
    ("version", 999, r"format version 999 by a newer emkit; this emkit reads versions up to 1"),
    ("version", "1", r"`version` must be an integer; got '1'"),
    ("version", DELETE, r"missing field `version`"),
    ("format", "other", r"not an emkit model file \(`format` must be 'emkit-model'"),
    ("kind", "pickle", r"`kind` must be one of 'fit_result', 'estimator'; got 'pickle'"),
    ("model.family.name", "os.system", r"unknown family 'os.system' in `model.family.name`"),
    ("model.family.attrs.covariance_type", "box", r"`covariance_type` must be one of"),
    ("model.family.attrs.shape", 3, r"unknown field\(s\) \['shape'\] in `model.family.attrs`"),
    ("model.family.attrs.reg_covar", DELETE, r"missing field\(s\) \['reg_covar'\]"),
    ("model.family.attrs.reg_covar", [1], r"`model.family.attrs.reg_covar` must be a scalar"),
    ("model.type", "HiddenMarkov", r"`model.type` must be 'FiniteMixture'"),
    ("model.n_components", 3, r"`params.weights` must have shape \(n_components,\) = \(3,\)"),
    ("model.n_components", 0, r"`model.n_components` must be >= 1; got 0"),
    ("model.weight_concentration", 0.5, r"`weight_concentration` must be >= 1.0; got 0.5"),
    ("model", [], r"`model` must be a JSON object; got list"),
    ("fit.n_features", 3, r"`params.means` must have shape .* = \(2, 3\)"),
    ("fit.n_iter", 10_000, r"`fit.history` must have n_iter \+ 1 = 10001 entries"),
    ("fit.restart", 5, r"`fit.restart` must index `fit.restart_objectives` \(length 1\); got 5"),
    ("fit.converged", "yes", r"`fit.converged` must be true or false; got 'yes'"),
    ("fit.n_samples", -1.0, r"`fit.n_samples` must be > 0; got -1.0"),
    ("fit.log_likelihood", None, r"`fit.log_likelihood` must be a number; got None"),
    ("fit", DELETE, r"missing field `fit`"),
    ("estimator.class", "Pipeline", r"`estimator.class`: unknown estimator 'Pipeline'"),
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
]


@pytest.mark.parametrize(("where", "value", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_hand_edited_files_are_refused(
    tmp_path: Path, saved_doc: dict[str, Any], where: str, value: Any, message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(edited(saved_doc, where, value)))
    with pytest.raises(ValueError, match=message) as info:
        emkit.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_negative_variance_is_refused(tmp_path: Path, saved_diag_doc: dict[str, Any]) -> None:
    doc = edited(saved_diag_doc, "params.components.covariances.data", [0.1, -0.2, 3.0, 4.0])
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=r"model.json: invalid `params.components`: .*variance of component"
    ):
        emkit.load(path)


def test_bernoulli_probability_outside_the_unit_interval(
    tmp_path: Path, digits: np.ndarray
) -> None:
    result = emkit.fit(emkit.FiniteMixture(emkit.Bernoulli(), 2), digits, random_state=0)
    doc = io.to_dict(result)
    data = doc["params"]["components"]["mean"]["data"]
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
    ],
)
def test_corrupted_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        emkit.load(path)


def test_nan_inside_parameters_is_refused(tmp_path: Path, saved_doc: dict[str, Any]) -> None:
    text = json.dumps(saved_doc)
    first = saved_doc["params"]["components"]["means"]["data"][0]
    path = tmp_path / "model.json"
    path.write_text(text.replace(repr(first), "NaN", 1))
    with pytest.raises(ValueError, match="holds NaN"):
        emkit.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        emkit.load(tmp_path / "nothing.json")


# -- plugin families ---------------------------------------------------------------------------
@final
@attrs.frozen
class Exponential(CanonicalFamily):
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


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the built-in families, whatever other modules registered; restored afterwards."""
    builtin = {name: io._FAMILIES[name] for name in ("Bernoulli", "Gaussian", "Poisson")}
    monkeypatch.setattr(io, "_FAMILIES", builtin)


@pytest.mark.usefixtures("clean_registry")
def test_plugin_family_round_trips_once_registered(tmp_path: Path) -> None:
    X = np.random.default_rng(0).exponential([[1.0, 5.0]], size=(400, 2))
    result = emkit.fit(emkit.FiniteMixture(Exponential(), 2), X, random_state=0)
    with pytest.raises(TypeError, match=r"family Exponential is not registered"):
        emkit.save(result, tmp_path / "r.json")
    assert io.register_family(Exponential) is Exponential
    assert io.registered_families() == ("Bernoulli", "Exponential", "Gaussian", "Poisson")
    emkit.save(result, tmp_path / "r.json")
    assert_same_result(emkit.load(tmp_path / "r.json"), result)
    # a process that has not registered the family refuses the file
    del io._FAMILIES["Exponential"]
    with pytest.raises(ValueError, match=r"unknown family 'Exponential'.*register_family"):
        emkit.load(tmp_path / "r.json")


@pytest.mark.usefixtures("clean_registry")
def test_register_family_errors() -> None:
    with pytest.raises(TypeError, match="`cls` must be an attrs class"):
        io.register_family(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`params_cls` is required"):
        io.register_family(attrs.frozen(type("Plain", (), {})))
    with pytest.raises(TypeError, match="`params_cls` must be an attrs class"):
        io.register_family(Exponential, dict)
    clash = attrs.frozen(type("Gaussian", (Exponential.__mro__[1],), {}))
    with pytest.raises(ValueError, match="a different family class is already registered"):
        io.register_family(clash)
    io.register_family(emkit.Gaussian, emkit.GaussianParams)  # registering again is harmless


def test_loading_never_pickles(saved_doc: dict[str, Any], tmp_path: Path) -> None:
    """The reader knows only JSON; a pickle payload is just an invalid file."""
    import pickle

    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(saved_doc))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"model\.json: "):
            emkit.load(path)
