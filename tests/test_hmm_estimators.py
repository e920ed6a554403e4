"""The hmmlearn-style estimators GaussianHMM, PoissonHMM, CategoricalHMM and BernoulliHMM."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import emkit
from emkit.estimators import BernoulliHMM, CategoricalHMM, GaussianHMM, NotFittedError, PoissonHMM
from emkit.estimators.hmm import ConvergenceMonitor
from emkit.hmm.model import HMMParams

LENGTHS = [120, 300, 45, 235]
N_STATES = 2
TRANSMAT = np.array([[0.95, 0.05], [0.1, 0.9]])
STARTPROB = np.array([0.5, 0.5])
MEANS = np.array([[0.0, 0.0], [4.0, -2.0]])
RATES = np.array([[2.0, 6.0], [9.0, 1.0]])

RECOVERY_STANDARD_ERRORS = 4.0
"""A recovered parameter lies within this many (approximate) standard errors of the truth."""

ROUND_TRIP_ATOL = 1e-12
"""Saved and loaded estimators give the same numbers to this."""

PROBABILITY_ATOL = 1e-10
"""Rows of probabilities sum to 1 to this."""

MLE = {"covars_prior": 0.0, "covars_weight": 0.0}
"""hmmlearn's maximum-likelihood setting of the Gaussian prior (the default adds 1e-2 to every
variance's scatter)."""


def _sequences(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frames of a known 2-state HMM (Gaussian or Poisson emissions) and their states."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        family: Any = emkit.Gaussian("diag")
        emission: Any = emkit.GaussianParams(MEANS, np.ones((N_STATES, 2)))
    else:
        family, emission = emkit.Poisson(), emkit.MeanParams(RATES)
    model = emkit.HiddenMarkovModel(family, N_STATES)
    return model.sample(HMMParams(STARTPROB, TRANSMAT, emission), sum(LENGTHS), rng, LENGTHS)


def _quiet_fit(estimator: Any, X: np.ndarray, lengths: Any = LENGTHS) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return estimator.fit(X, lengths)


# -- parameters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "estimator",
    [
        GaussianHMM(3, "full", n_iter=7, tol=0.5, params="st", n_init=2),
        PoissonHMM(4, lambdas_prior=2.0, lambdas_weight=1.0),
        CategoricalHMM(2, n_features=5, emissionprob_prior=1.5),
        BernoulliHMM(3, algorithm="map"),
    ],
)
def test_get_set_params_and_clone(estimator: Any) -> None:
    params = estimator.get_params()
    copy = type(estimator)(**params)
    assert copy.get_params() == params
    assert repr(copy) == repr(estimator)
    copy.set_params(n_components=5, tol=1.0)
    assert copy.n_components == 5
    assert estimator.n_components != 5
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        copy.set_params(bogus=1)
    sklearn_base = pytest.importorskip("sklearn.base")
    assert sklearn_base.clone(estimator).get_params() == params


def test_defaults_that_differ_from_hmmlearn() -> None:
    # hmmlearn's n_iter=10 stops before convergence; emkit's is 100.
    assert GaussianHMM().n_iter == 100
    assert PoissonHMM().n_iter == 100
    assert GaussianHMM().covariance_type == "diag"
    assert repr(GaussianHMM(2)) == "GaussianHMM(n_components=2)"


# -- fitting ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_fitted_attributes(covariance_type: str) -> None:
    X, _ = _sequences("gaussian")
    model = _quiet_fit(GaussianHMM(N_STATES, covariance_type, random_state=0, **MLE), X)
    k, d = N_STATES, 2
    assert model.startprob_.shape == (k,)
    assert model.transmat_.shape == (k, k)
    assert model.means_.shape == (k, d)
    assert model.covars_.shape == (k, d, d)
    assert model.n_features_in_ == d
    assert model.n_features == d
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0, atol=PROBABILITY_ATOL)
    assert isinstance(model.monitor_, ConvergenceMonitor)
    assert len(model.monitor_.history) == model.monitor_.iter == model.n_iter_
    assert model.converged_
    assert model.monitor_.converged
    history = np.asarray(model.monitor_.history)
    assert (np.diff(history) > -1e-8 * np.abs(history[1:])).all()
    posteriors = model.predict_proba(X, LENGTHS)
    assert posteriors.shape == (X.shape[0], k)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, atol=PROBABILITY_ATOL)
    log_prob, post = model.score_samples(X, LENGTHS)
    assert log_prob == pytest.approx(model.score(X, LENGTHS))
    np.testing.assert_allclose(post, posteriors)
    assert model.predict(X, LENGTHS).shape == (X.shape[0],)
    assert model.get_stationary_distribution().shape == (k,)


def test_covars_setter_takes_the_types_shape() -> None:
    model = GaussianHMM(2, "tied")
    model.means_ = MEANS
    model.covars_ = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert model.covars_.shape == (2, 2, 2)
    np.testing.assert_array_equal(model.covars_[0], model.covars_[1])
    spherical = GaussianHMM(2, "spherical")
    spherical.means_ = MEANS
    spherical.covars_ = np.array([1.0, 3.0])
    np.testing.assert_array_equal(spherical.covars_[1], 3.0 * np.eye(2))
    with pytest.raises(ValueError, match="`covars_` must have shape"):
        GaussianHMM(2, "diag").covars_ = np.ones(2)
    with pytest.raises(ValueError, match="`covars_` must be positive"):
        GaussianHMM(2, "diag").covars_ = -np.ones((2, 2))


def test_recovers_a_known_gaussian_hmm() -> None:
    X, states = _sequences("gaussian", seed=3)
    model = _quiet_fit(GaussianHMM(N_STATES, "diag", random_state=0, n_init=2), X)  # prior on
    order = np.argsort(model.means_[:, 0])  # the state near (0, 0) first
    frames = np.bincount(states, minlength=N_STATES)
    # Standard error of a mean: sigma / sqrt(frames in the state), sigma = 1.
    np.testing.assert_array_less(
        np.abs(model.means_[order] - MEANS),
        np.broadcast_to(RECOVERY_STANDARD_ERRORS / np.sqrt(frames)[:, None], MEANS.shape),
    )
    transmat = model.transmat_[np.ix_(order, order)]
    # Standard error of a transition probability: sqrt(p (1 - p) / departures from its state).
    se = np.sqrt(TRANSMAT * (1 - TRANSMAT) / frames[:, None])
    np.testing.assert_array_less(np.abs(transmat - TRANSMAT), RECOVERY_STANDARD_ERRORS * se)


def test_recovers_a_known_poisson_hmm() -> None:
    X, states = _sequences("poisson", seed=4)
    model = _quiet_fit(PoissonHMM(N_STATES, random_state=0), X)
    order = np.argsort(model.lambdas_[:, 0])
    frames = np.bincount(states, minlength=N_STATES)
    # Standard error of a Poisson rate: sqrt(rate / frames).
    se = np.sqrt(RATES / frames[:, None])
    np.testing.assert_array_less(
        np.abs(model.lambdas_[order] - RATES), RECOVERY_STANDARD_ERRORS * se
    )
    transmat = model.transmat_[np.ix_(order, order)]
    se_t = np.sqrt(TRANSMAT * (1 - TRANSMAT) / frames[:, None])
    np.testing.assert_array_less(np.abs(transmat - TRANSMAT), RECOVERY_STANDARD_ERRORS * se_t)


def test_n_init_keeps_the_best_run() -> None:
    X, _ = _sequences("gaussian", seed=5)
    best = _quiet_fit(GaussianHMM(3, "full", random_state=0, n_init=4, **MLE), X)
    objectives = best.result_.restart_objectives
    assert len(objectives) == 4
    # Without a prior the objective is the log-likelihood, and the best run's is returned.
    assert best.score(X, LENGTHS) == pytest.approx(objectives.max(), rel=1e-12)
    assert best.result_.restart == int(np.argmax(objectives))
    assert 1 <= best.restarts_at_best_ <= 4


def test_params_leaves_parts_fixed() -> None:
    X, _ = _sequences("gaussian", seed=6)
    model = GaussianHMM(N_STATES, "diag", init_params="", params="mc", **MLE)
    model.startprob_, model.transmat_ = STARTPROB.copy(), TRANSMAT.copy()
    model.means_, model.covars_ = MEANS + 0.5, np.ones((2, 2))
    _quiet_fit(model, X)
    np.testing.assert_array_equal(model.startprob_, STARTPROB)
    np.testing.assert_array_equal(model.transmat_, TRANSMAT)
    assert np.abs(model.means_ - MEANS).max() < 0.3
    with pytest.raises(ValueError, match="`params` must name all of the emission letters"):
        GaussianHMM(2, params="stm").fit(X, LENGTHS)


def test_categorical_and_bernoulli() -> None:
    rng = np.random.default_rng(7)
    symbols = rng.integers(0, 4, size=(300, 1))
    cat = _quiet_fit(CategoricalHMM(2, random_state=0), symbols, [100, 150, 50])
    assert cat.n_features == 4
    assert cat.emissionprob_.shape == (2, 4)
    np.testing.assert_allclose(cat.emissionprob_.sum(axis=1), 1.0, atol=PROBABILITY_ATOL)
    sample, states = cat.sample(20, random_state=1)
    assert sample.shape == (20, 1)
    assert np.issubdtype(sample.dtype, np.integer)
    assert states.shape == (20,)
    with pytest.raises(ValueError, match="must have shape \\(n_samples, 1\\)"):
        cat.score(np.zeros((5, 2), dtype=int))
    with pytest.raises(ValueError, match="`emissionprob_prior` must be > 1"):
        CategoricalHMM(2, emissionprob_prior=1.0).fit(symbols)
    bits = rng.integers(0, 2, size=(300, 3))
    bern = _quiet_fit(BernoulliHMM(2, random_state=0), bits, [200, 100])
    assert bern.emissionprob_.shape == (2, 3)
    assert ((bern.emissionprob_ > 0) & (bern.emissionprob_ < 1)).all()


# -- sampling --------------------------------------------------------------------------------------
def test_sample_shapes_and_currstate() -> None:
    X, _ = _sequences("poisson")
    model = _quiet_fit(PoissonHMM(N_STATES, random_state=0), X)
    draws, states = model.sample(50, random_state=0)
    assert draws.shape == (50, 2)
    assert states.shape == (50,)
    again, _ = model.sample(50, random_state=0)
    np.testing.assert_array_equal(draws, again)
    _, started = model.sample(10, random_state=1, currstate=1)
    assert started[0] == 1
    with pytest.raises(ValueError, match="`currstate` must be a state"):
        model.sample(3, currstate=2)


# -- errors ----------------------------------------------------------------------------------------
def test_errors_name_the_argument() -> None:
    X, _ = _sequences("gaussian")
    model = GaussianHMM(N_STATES, **MLE)
    with pytest.raises(ValueError, match="`lengths` must sum to the number of rows of X"):
        model.fit(X, [100, 100])
    with pytest.raises(ValueError, match="`lengths` must hold sizes >= 1"):
        model.fit(X, [X.shape[0], 0])
    with pytest.raises(ValueError, match="`X` must be a 2-D array"):
        model.fit(X[:, 0])
    with pytest.raises(ValueError, match="`init_params` must be made of the letters"):
        GaussianHMM(2, init_params="stmx").fit(X)
    with pytest.raises(ValueError, match="algorithm"):
        GaussianHMM(2, algorithm="beam", **MLE).fit(X)
    with pytest.raises(ValueError, match="implementation"):
        GaussianHMM(2, implementation="fast", **MLE).fit(X)
    bad = GaussianHMM(2, init_params="", **MLE)
    bad.means_ = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`means_` must have shape"):
        bad.fit(X)
    bad = GaussianHMM(2, init_params="tmc", **MLE)
    bad.startprob_ = np.array([0.7, 0.7])
    with pytest.raises(ValueError, match="startprob"):
        bad.fit(X)
    with pytest.raises(ValueError, match="`X` must not contain NaN"):
        model.fit(np.where(np.arange(X.shape[0])[:, None] == 3, np.nan, X))
    with pytest.raises(ValueError, match="Negative values"):
        PoissonHMM(2).fit(-np.ones((10, 1)))
    with pytest.raises(NotFittedError):
        GaussianHMM(2).predict(X)
    fitted = _quiet_fit(GaussianHMM(N_STATES, random_state=0, **MLE), X)
    with pytest.raises(ValueError, match="X has 1 features, but GaussianHMM is expecting 2"):
        fitted.score(X[:, :1])
    with pytest.raises(ValueError, match="`lengths` must sum"):
        fitted.predict(X, [1, 2])


def test_float32_input_fits() -> None:
    X, _ = _sequences("gaussian")
    model = _quiet_fit(GaussianHMM(N_STATES, random_state=0, **MLE), X.astype(np.float32))
    assert np.isfinite(model.score(X.astype(np.float32), LENGTHS))


def test_verbose_prints_hmmlearns_lines(capsys: pytest.CaptureFixture[str]) -> None:
    X, _ = _sequences("gaussian")
    model = _quiet_fit(GaussianHMM(N_STATES, random_state=0, verbose=True, n_iter=4, **MLE), X)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == model.monitor_.iter
    assert lines[0].split()[0] == "1"
    assert float(lines[-1].split()[1]) == pytest.approx(model.monitor_.history[-1])


# -- save and load ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["gaussian", "poisson", "categorical"])
def test_save_load_round_trip(kind: str, tmp_path: Path) -> None:
    if kind == "categorical":
        X = np.random.default_rng(8).integers(0, 3, size=(700, 1))
        estimator: Any = CategoricalHMM(2, random_state=0)
    else:
        X, _ = _sequences(kind)
        estimator = (
            GaussianHMM(2, "full", random_state=0, **MLE)
            if kind == "gaussian"
            else PoissonHMM(2, random_state=0)
        )
    _quiet_fit(estimator, X)
    path = tmp_path / "hmm.json"
    emkit.save(estimator, path)
    loaded = emkit.load(path)
    assert type(loaded) is type(estimator)
    assert loaded.get_params().keys() == estimator.get_params().keys()
    assert loaded.score(X, LENGTHS) == pytest.approx(
        estimator.score(X, LENGTHS), abs=ROUND_TRIP_ATOL
    )
    np.testing.assert_array_equal(loaded.predict(X, LENGTHS), estimator.predict(X, LENGTHS))
    np.testing.assert_allclose(loaded.transmat_, estimator.transmat_, atol=ROUND_TRIP_ATOL)


def test_a_fit_that_kept_parameters_fixed_saves_and_loads(tmp_path: Path) -> None:
    X, _ = _sequences("poisson")
    estimator = PoissonHMM(N_STATES, random_state=0, params="st", init_params="st")
    estimator.lambdas_ = np.array([[1.5, 5.0], [8.0, 2.0]])
    _quiet_fit(estimator, X)
    np.testing.assert_array_equal(estimator.lambdas_, [[1.5, 5.0], [8.0, 2.0]])
    path = tmp_path / "fixed.json"
    emkit.save(estimator, path)
    loaded = emkit.load(path)
    np.testing.assert_array_equal(loaded.lambdas_, estimator.lambdas_)
    np.testing.assert_array_equal(loaded.transmat_, estimator.transmat_)
    fixed = loaded.result_.model.fixed
    assert fixed is not None
    np.testing.assert_array_equal(fixed.emission.mean, estimator.result_.model.fixed.emission.mean)
    assert loaded.score(X, LENGTHS) == estimator.score(X, LENGTHS)
    # The model's fixed values travel in the file: the plain model result loads too.
    emkit.save(estimator.result_, tmp_path / "result.json")
    result = emkit.load(tmp_path / "result.json")
    assert result.model.update == "st"
    np.testing.assert_array_equal(result.model.fixed.emission.mean, fixed.emission.mean)
