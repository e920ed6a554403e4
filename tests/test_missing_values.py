"""Missing values (NaN, missing at random) through every layer: families, mixtures, HMMs,
sources, online EM, the estimators and the contract checks.

The Gaussian family's conditional-moment statistics have their own per-row reference in
tests/test_gaussian_missing.py; here every family is checked through the mixture and the data
layers, against scipy's densities on each row's observed entries.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import emkit
from emkit._backend import Array
from emkit.exceptions import ConvergenceWarning
from emkit.families import Categorical, MeanParams
from emkit.hmm.lattice import log_likelihood as lattice_log_likelihood
from emkit.hmm.model import HiddenMarkovModel
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.online import fit_incremental, fit_online
from emkit.sources import ChunkSource, MemmapSource
from emkit.testing import check_family, check_missing_row, check_model, with_missing
from tests.plugin_models import StudentTMixture, student_t_data

#: Densities of observed entries agree with scipy's to rounding of sums of a few logs.
DENSITY_ATOL = 1e-10

#: Fits from different sources of the same rows agree to this relative tolerance (the same
#: per-row terms added in a different order: rounding, not amplified by a contracting EM map).
SOURCE_RTOL = 1e-10
SOURCE_ATOL = 1e-12

#: Statistics equal a per-row reference up to rounding of a few hundred products.
STATS_RTOL = 1e-12

#: EM may "decrease" the objective by rounding only: relative to its size.
MONOTONE_RTOL = 1e-10

#: Iterations of the fits compared across sources.
N_ITER = 12

#: Recovery: a fitted rate lies within this many standard errors of the truth.
RECOVERY_SE = 4.0

#: Every family the missing-value path covers, by a short name.
KINDS = ("bernoulli", "poisson", "categorical", "full", "tied", "diag", "spherical")
CANONICAL_KINDS = ("bernoulli", "poisson", "categorical")
LEVELS = (3, 2, 4)


def family_of(kind: str) -> Any:
    if kind == "bernoulli":
        return emkit.Bernoulli()
    if kind == "poisson":
        return emkit.Poisson()
    if kind == "categorical":
        return Categorical(LEVELS)
    return emkit.Gaussian(kind)


def draw(kind: str, n: int, rng: np.random.Generator, k: int = 3) -> tuple[Array, Array]:
    """``(X, z)``: rows of a well-separated ``k``-component mixture of the named family."""
    z = rng.integers(0, k, n)
    if kind == "bernoulli":
        p = rng.uniform(0.05, 0.95, (k, 6))
        return (rng.random((n, 6)) < p[z]).astype(float), z
    if kind == "poisson":
        rates = rng.uniform(0.5, 9.0, (k, 4))
        return rng.poisson(rates[z]).astype(float), z
    if kind == "categorical":
        probs = [rng.dirichlet(np.ones(levels), k) for levels in LEVELS]
        columns = [(rng.random(n)[:, None] > np.cumsum(p[z], axis=1)).sum(axis=1) for p in probs]
        return np.column_stack(columns).astype(float), z
    centres = rng.normal(0.0, 4.0, (k, 3))
    return centres[z] + rng.normal(size=(n, 3)) @ rng.normal(0.0, 0.7, (3, 3)), z


def random_params(kind: str, k: int, d: int, rng: np.random.Generator) -> MixtureParams[Any]:
    weights = rng.dirichlet(np.full(k, 3.0))
    if kind == "bernoulli":
        return MixtureParams(weights, MeanParams(rng.uniform(0.05, 0.95, (k, d))))
    if kind == "poisson":
        return MixtureParams(weights, MeanParams(rng.uniform(0.5, 9.0, (k, d))))
    if kind == "categorical":
        return MixtureParams(
            weights, MeanParams(np.hstack([rng.dirichlet(np.ones(n), k) for n in LEVELS]))
        )
    means = rng.normal(0.0, 3.0, (k, d))
    factors = rng.normal(0.0, 0.7, (k, d, d))
    full = factors @ np.swapaxes(factors, 1, 2) + 0.4 * np.eye(d)
    covariances: Array = {
        "full": full,
        "tied": full[:1],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.trace(full, axis1=1, axis2=2) / d,
    }[kind]
    return MixtureParams(weights, emkit.GaussianParams(means, covariances))


def component_log_density(kind: str, params: MixtureParams[Any], row: Array, k: int) -> float:
    """scipy's log-density of a row's observed entries under component ``k``."""
    observed = ~np.isnan(row)
    x = row[observed]
    if not observed.any():
        return 0.0  # every entry integrated out
    if kind in CANONICAL_KINDS:
        mean = params.components.mean[k]
        if kind == "bernoulli":
            return float(sps.bernoulli.logpmf(x, mean[observed]).sum())
        if kind == "poisson":
            return float(sps.poisson.logpmf(x, mean[observed]).sum())
        starts = np.concatenate(([0], np.cumsum(LEVELS)[:-1]))
        total = 0.0
        for d in np.flatnonzero(observed):
            p = mean[starts[d] : starts[d] + LEVELS[d]]
            one_hot = np.eye(LEVELS[d])[int(row[d])]
            total += float(sps.multinomial.logpmf(one_hot, 1, p))
        return total
    comps = params.components
    d = row.shape[0]
    cov = np.asarray(comps.covariances)
    full = {
        "full": lambda: cov[k],
        "tied": lambda: cov[0],
        "diag": lambda: np.diag(cov[k]),
        "spherical": lambda: cov[k] * np.eye(d),
    }[kind]()
    marginal = full[np.ix_(observed, observed)]
    return float(sps.multivariate_normal.logpdf(x, comps.means[k][observed], marginal))


def missing_model(kind: str, k: int = 3) -> FiniteMixture[Any, Any]:
    return FiniteMixture(family_of(kind), k, missing="marginalise")


def holes(X: Array, rng: np.random.Generator, fraction: float = 0.25) -> Array:
    return with_missing(X, rng, fraction)


# -- the observed-data likelihood -----------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_log_likelihood_is_the_observed_data_likelihood(kind: str) -> None:
    rng = np.random.default_rng(1)
    X, _ = draw(kind, 120, rng)
    X = holes(X, rng)
    model = missing_model(kind)
    params = random_params(kind, 3, X.shape[1], rng)
    reference = np.array(
        [
            logsumexp(
                [
                    np.log(params.weights[k]) + component_log_density(kind, params, row, k)
                    for k in range(3)
                ]
            )
            for row in X
        ]
    )
    np.testing.assert_allclose(model.score_samples(X, params), reference, atol=DENSITY_ATOL)
    _, log_likelihood = model.e_step(X, params)
    assert log_likelihood == pytest.approx(reference.sum(), abs=DENSITY_ATOL * X.shape[0])


@pytest.mark.parametrize("kind", CANONICAL_KINDS)
def test_statistics_fill_missing_entries_with_the_component_means(kind: str) -> None:
    # E[T(x_d) | x_obs, z = k] = mu_kd for independent features: the per-row reference.
    rng = np.random.default_rng(2)
    X, _ = draw(kind, 90, rng)
    X = holes(X, rng)
    family = family_of(kind)
    params = random_params(kind, 3, X.shape[1], rng)
    resp = np.exp(
        FiniteMixture(family, 3, missing="marginalise")._log_responsibilities(X, params)[0]
    )
    _, _, stats_of = family.log_prob_with_stats(X, params.components)
    mean = params.components.mean
    feature_of = family.feature_of_stats(X.shape[1])
    reference = np.zeros_like(mean)
    for n, row in enumerate(X):
        filled = np.where(np.isnan(row), 0.0, row)
        t = family.sufficient_statistics(filled[None])[0]
        missing = np.isnan(row)[feature_of]
        for k in range(3):
            reference[k] += resp[n, k] * np.where(missing, mean[k], t)
    np.testing.assert_allclose(stats_of(resp).sum_t, reference, rtol=STATS_RTOL)


@pytest.mark.parametrize("kind", KINDS)
def test_complete_data_takes_the_complete_data_path_bit_for_bit(kind: str) -> None:
    rng = np.random.default_rng(3)
    X, _ = draw(kind, 400, rng)
    fits = [
        emkit.fit(FiniteMixture(family_of(kind), 3, missing=missing), X, random_state=0)
        for missing in ("error", "marginalise")
    ]
    assert np.array_equal(fits[0].history, fits[1].history)
    assert np.array_equal(fits[0].params.weights, fits[1].params.weights)
    first, second = (leaves(fit.params.components) for fit in fits)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)


def leaves(components: Any) -> list[Array]:
    if isinstance(components, MeanParams):
        return [components.mean]
    return [components.means, components.covariances]


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**31 - 1),
    fraction=st.floats(0.05, 0.6),
    k=st.integers(2, 4),
)
def test_em_never_decreases_the_observed_data_objective(
    kind: str, seed: int, fraction: float, k: int
) -> None:
    rng = np.random.default_rng(seed)
    X, _ = draw(kind, 150, rng, k=k)
    X = holes(X, rng, fraction)
    model = missing_model(kind, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        result = emkit.fit(model, X, init="random", max_iter=25, tol=0.0, random_state=seed)
    history = np.asarray(result.history)
    assert np.isfinite(history).all()
    drops = history[:-1] - history[1:]
    assert (drops <= MONOTONE_RTOL * (np.abs(history[:-1]) + X.shape[0])).all(), drops.max()


# -- every source, online and incremental EM -------------------------------------------------------
@pytest.mark.parametrize("kind", ["poisson", "categorical", "full", "diag"])
def test_every_source_gives_the_array_fit_with_missing_values(kind: str, tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(4)
    X, _ = draw(kind, 2000, rng)
    X = holes(X, rng)
    model = missing_model(kind)
    start = model.init_params(X, np.random.default_rng(0))

    def run(data: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return emkit.fit(model, data, init=start, max_iter=N_ITER, tol=0.0, **kwargs)

    reference = run(X)
    np.save(tmp_path / "X.npy", X)
    for result in (
        run(X, chunk_size=333),
        run(np.split(X, [1, 700, 701, 1500])),
        run(tmp_path / "X.npy", chunk_size=450),
        run(MemmapSource(tmp_path / "X.npy", chunk_size=999)),
        run(ChunkSource(lambda: iter(np.split(X, [500, 1000])))),
        run(da.from_array(X, chunks=600)),
    ):
        np.testing.assert_allclose(result.history, reference.history, rtol=SOURCE_RTOL)
        for a, b in zip(
            leaves(result.params.components), leaves(reference.params.components), strict=True
        ):
            np.testing.assert_allclose(a, b, rtol=SOURCE_RTOL, atol=SOURCE_ATOL)


@pytest.mark.parametrize("kind", ["poisson", "full"])
def test_incremental_and_online_em_take_missing_values(kind: str) -> None:
    rng = np.random.default_rng(5)
    X, _ = draw(kind, 3000, rng)
    X = holes(X, rng)
    model = missing_model(kind)
    start = model.init_params(X, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        arrays = fit_incremental(model, X, init=start, max_sweeps=4, tol=0.0, chunk_size=500)
        chunks = fit_incremental(
            model, np.split(X, [500, 1000, 1500, 2000, 2500]), init=start, max_sweeps=4, tol=0.0
        )
        batch = emkit.fit(model, X, init=start, max_iter=300, tol=1e-10)
    np.testing.assert_allclose(arrays.history, chunks.history, rtol=SOURCE_RTOL)
    online = fit_online(model, np.split(X, 30), init=start, random_state=0)
    assert np.isfinite(online.history).all()
    # Online EM with a decreasing step ends near the batch fixed point.
    online_ll = float(model.e_step(X, online.params)[1])
    assert online_ll > batch.log_likelihood - 0.01 * abs(batch.log_likelihood)


# -- refusals ----------------------------------------------------------------------------------
def test_an_entirely_missing_row_is_refused_by_name() -> None:
    X, _ = draw("poisson", 50, np.random.default_rng(6))
    X[[3, 17]] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) 3, 17 \(2 in all\) are entirely missing"):
        emkit.fit(missing_model("poisson"), X)


def test_infinities_stay_errors_with_missing_values() -> None:
    X, _ = draw("full", 50, np.random.default_rng(7))
    X[4, 1] = np.nan
    X[9, 2] = np.inf
    with pytest.raises(ValueError, match=r"only finite values; found inf at row 9, column 2"):
        emkit.fit(missing_model("full"), X)


def test_missing_values_are_opt_in() -> None:
    X, _ = draw("bernoulli", 50, np.random.default_rng(8))
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"found nan at row 4, column 1.*missing='marginalise'"):
        emkit.fit(FiniteMixture(emkit.Bernoulli(), 2), X)
    with pytest.raises(ValueError, match="must be one of 'error', 'marginalise'"):
        FiniteMixture(emkit.Bernoulli(), 2, missing="ignore")


def test_a_model_without_the_capability_refuses_nan_on_every_source(tmp_path: Path) -> None:
    X, _, _ = student_t_data(n_samples=300)
    X[40, 0] = np.nan
    message = r"found nan at row 40, column 0 \(StudentTMixture does not handle missing"
    with pytest.raises(ValueError, match=message):
        emkit.fit(StudentTMixture(2), X)
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match=r"found nan at row 40, column 0"):
        emkit.fit(StudentTMixture(2), tmp_path / "X.npy")


# -- hidden Markov models --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["poisson", "categorical", "diag"])
def test_a_missing_frame_has_emission_probability_one(kind: str) -> None:
    rng = np.random.default_rng(9)
    X, _ = draw(kind, 160, rng, k=2)
    X = holes(X, rng)
    X[[5, 6, 40, 99]] = np.nan  # whole frames missing, two in a row
    lengths = np.array([60, 45, 55])
    model = HiddenMarkovModel(family_of(kind), 2, missing="marginalise")
    mixture_params = random_params(kind, 2, X.shape[1], rng)
    params = emkit.HMMParams(
        startprob=np.array([0.3, 0.7]),
        transmat=np.array([[0.8, 0.2], [0.35, 0.65]]),
        emission=mixture_params.components,
    )
    log_emission = np.array(
        [[component_log_density(kind, mixture_params, row, k) for k in range(2)] for row in X]
    )
    assert (log_emission[[5, 6, 40, 99]] == 0.0).all()
    reference = lattice_log_likelihood(log_emission, params.startprob, params.transmat, lengths)
    np.testing.assert_allclose(
        model.log_likelihood(X, params, lengths), reference, atol=DENSITY_ATOL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = emkit.fit(model, X, lengths=lengths, max_iter=20, tol=0.0, random_state=0)
        chunked = emkit.fit(
            model, X, lengths=lengths, max_iter=20, tol=0.0, random_state=0, chunk_size=70
        )
    history = np.asarray(result.history)
    assert (np.diff(history) >= -MONOTONE_RTOL * np.abs(history[1:])).all()
    np.testing.assert_allclose(chunked.history, result.history, rtol=SOURCE_RTOL)
    imputed = model.impute(X, result.params, lengths)
    assert not np.isnan(imputed).any()
    observed = ~np.isnan(X)
    assert np.array_equal(imputed[observed], X[observed])


# -- impute --------------------------------------------------------------------------------------
def test_impute_is_the_posterior_mean_of_the_missing_entries() -> None:
    rng = np.random.default_rng(10)
    X, _ = draw("poisson", 200, rng)
    X = holes(X, rng)
    model = missing_model("poisson")
    params = random_params("poisson", 3, X.shape[1], rng)
    resp = model.responsibilities(X, params)
    expected = resp @ params.components.mean
    imputed = model.impute(X, params)
    missing = np.isnan(X)
    np.testing.assert_allclose(imputed[missing], expected[missing], rtol=STATS_RTOL)
    assert np.array_equal(imputed[~missing], X[~missing])


def test_impute_puts_the_most_probable_level() -> None:
    rng = np.random.default_rng(11)
    X, _ = draw("categorical", 200, rng)
    X = holes(X, rng)
    model = missing_model("categorical")
    params = random_params("categorical", 3, X.shape[1], rng)
    resp = model.responsibilities(X, params)
    imputed = model.impute(X, params)
    starts = np.concatenate(([0], np.cumsum(LEVELS)[:-1]))
    for n, d in np.argwhere(np.isnan(X)):
        p = resp[n] @ params.components.mean[:, starts[d] : starts[d] + LEVELS[d]]
        assert imputed[n, d] == np.argmax(p)


# -- recovery under MCAR ---------------------------------------------------------------------------
def test_rates_are_recovered_from_data_missing_completely_at_random() -> None:
    rng = np.random.default_rng(12)
    n = 6000
    rates = np.array([[1.0, 6.0, 2.0], [7.0, 1.5, 9.0]])
    z = rng.integers(0, 2, n)
    X = holes(rng.poisson(rates[z]).astype(float), rng, 0.35)
    model = missing_model("poisson", 2)
    result = emkit.fit(model, X, n_init=3, random_state=0, tol=1e-8)
    fitted = result.params.components.mean
    fitted = fitted[np.argsort(fitted[:, 0])]
    # Standard error of a rate from the observed entries of its component.
    observed_per_cell = n * 0.5 * 0.65
    se = np.sqrt(rates / observed_per_cell)
    assert (np.abs(fitted - rates) < RECOVERY_SE * se).all(), (fitted, rates)


# -- the estimators --------------------------------------------------------------------------------
ESTIMATORS = {
    "GaussianMixture": (lambda **kw: emkit.GaussianMixture(3, **kw), "full"),
    "BernoulliMixture": (lambda **kw: emkit.BernoulliMixture(3, **kw), "bernoulli"),
    "PoissonMixture": (lambda **kw: emkit.PoissonMixture(3, **kw), "poisson"),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimators_take_missing_values_when_asked(name: str) -> None:
    make, kind = ESTIMATORS[name]
    rng = np.random.default_rng(13)
    X, _ = draw(kind, 600, rng)
    X = holes(X, rng)
    with pytest.raises(ValueError, match=r"NaN.*missing='marginalise'"):
        make(random_state=0).fit(X)
    estimator = make(random_state=0, missing="marginalise").fit(X)
    model, params = estimator.result_.model, estimator.result_.params
    assert model.missing == "marginalise"
    np.testing.assert_array_equal(estimator.predict(X), model.predict(X, params))
    np.testing.assert_allclose(estimator.predict_proba(X), model.responsibilities(X, params))
    np.testing.assert_allclose(estimator.score_samples(X), model.score_samples(X, params))
    imputed = estimator.impute(X)
    np.testing.assert_allclose(imputed, model.impute(X, params))
    assert not np.isnan(imputed).any()
    assert estimator.__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="impute needs missing='marginalise'"):
        make(random_state=0).fit(np.where(np.isnan(X), 0.0, X)).impute(X)


def test_estimators_read_pandas_missing_values() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(14)
    X, _ = draw("poisson", 300, rng)
    X = holes(X, rng)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).astype("Int64")
    assert frame.isna().to_numpy().sum() == np.isnan(X).sum()
    from_frame = emkit.PoissonMixture(3, missing="marginalise", random_state=0).fit(frame)
    from_array = emkit.PoissonMixture(3, missing="marginalise", random_state=0).fit(X)
    np.testing.assert_array_equal(from_frame.means_, from_array.means_)


def test_categorical_mixture_takes_missing_answers() -> None:
    rng = np.random.default_rng(15)
    X, _ = draw("categorical", 400, rng)
    # Words sorted as their codes, so the learned levels are the codes in order.
    words = np.array(["a-red", "b-green", "c-blue", "d-grey"], dtype=object)
    answers = words[X.astype(int)].astype(object)
    codes = holes(X, rng)
    missing = np.isnan(codes)
    answers[missing] = None
    with pytest.raises(ValueError, match=r"missing value None.*unless missing='marginalise'"):
        emkit.CategoricalMixture(3, random_state=0).fit(answers)
    estimator = emkit.CategoricalMixture(3, missing="marginalise", random_state=0).fit(answers)
    assert [list(c) for c in estimator.categories_] == [list(words[:n]) for n in LEVELS]
    model = FiniteMixture(Categorical(LEVELS), 3, missing="marginalise")
    params = estimator.result_.params
    np.testing.assert_allclose(estimator.score_samples(answers), model.score_samples(codes, params))
    np.testing.assert_array_equal(estimator.predict(answers), model.predict(codes, params))
    imputed = estimator.impute(answers)
    np.testing.assert_array_equal(imputed, words[model.impute(codes, params).astype(int)])
    assert (imputed[~missing] == answers[~missing]).all()


@pytest.mark.parametrize("name", ["GaussianHMM", "PoissonHMM"])
def test_hmm_estimators_take_missing_frames(name: str) -> None:
    rng = np.random.default_rng(16)
    kind = "diag" if name == "GaussianHMM" else "poisson"
    X, _ = draw(kind, 300, rng, k=2)
    X = holes(X, rng)
    X[[10, 11, 12]] = np.nan
    lengths = [100, 120, 80]
    make = getattr(emkit, name)
    with pytest.raises(ValueError, match=r"NaN.*missing='marginalise'"):
        make(2, random_state=0).fit(X, lengths)
    extra = {"covariance_type": "diag"} if name == "GaussianHMM" else {}
    estimator = make(2, random_state=0, missing="marginalise", **extra).fit(X, lengths)
    assert np.isfinite(estimator.score(X, lengths))
    assert estimator.predict(X, lengths).shape == (300,)
    imputed = estimator.impute(X, lengths)
    assert not np.isnan(imputed).any()


# -- the contract checks ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_contract_checks_run_with_missing_values(kind: str) -> None:
    rng = np.random.default_rng(17)
    X, _ = draw(kind, 240, rng)
    check_family(family_of(kind), X, n_components=2)
    check_model(HiddenMarkovModel(family_of(kind), 2, missing="marginalise"), X, lengths=[80] * 3)


class _ZeroFilledPoisson:
    """A planted defect: missing counts read as 0 instead of being integrated out."""

    handles_missing = True

    def log_prob(self, X: Array, params: MeanParams) -> Array:
        return emkit.Poisson().log_prob(np.nan_to_num(X, nan=0.0), params)


def test_the_missing_row_check_catches_missing_values_read_as_zero() -> None:
    family: Any = _ZeroFilledPoisson()
    params = MeanParams(np.array([[1.0, 2.0], [3.0, 5.0]]))
    with pytest.raises(AssertionError, match=r"every entry missing is .* not 0"):
        check_missing_row(family, params, 2)
    check_missing_row(emkit.Poisson(), params, 2)


def test_selection_keeps_missing_values_in_every_candidate() -> None:
    rng = np.random.default_rng(18)
    X, _ = draw("poisson", 600, rng, k=2)
    X = holes(X, rng)
    with pytest.raises(ValueError, match="missing='marginalise'"):
        emkit.select(X, emkit.Poisson(), n_components=range(1, 3), random_state=0)
    selection = emkit.select(
        X, emkit.Poisson(), n_components=range(1, 4), missing="marginalise", random_state=0
    )
    for candidate in selection.candidates:
        assert candidate.result.model.missing == "marginalise"
    assert selection.best.n_components == 2
    logs = [c.result.log_likelihood for c in selection.candidates]
    assert logs == sorted(logs)  # grown candidates never fit worse with more components


# -- tables ------------------------------------------------------------------------------------
def test_tables_read_missing_cells_only_when_asked(tmp_path: Path) -> None:
    from emkit.tables import DataFileError, parse_table, read_data

    text = "a,b\n1,2\n,3\nNA,4\n5,nan\n"
    with pytest.raises(DataFileError, match=r"line 3, column 1 \('a'\): an empty cell.*--missing"):
        parse_table(text, "t.csv")
    table = parse_table(text, "t.csv", missing=True)
    np.testing.assert_array_equal(table.data, [[1, 2], [np.nan, 3], [np.nan, 4], [5, np.nan]])
    with pytest.raises(DataFileError, match=r"line 3, column 2 \('b'\): 'inf' is not a finite"):
        parse_table("a,b\n1,2\n3,inf\n", "t.csv", missing=True)
    # One column: a blank line between values is an empty cell (a time step is not lost);
    # comments and trailing blank lines are not.
    series = parse_table("y\n1\n\n3\n# note\nNA\n4\n\n", "s.csv", missing=True)
    np.testing.assert_array_equal(series.data.ravel(), [1, np.nan, 3, np.nan, 4])
    np.testing.assert_array_equal(series.lines, [2, 3, 4, 6, 7])
    assert parse_table("y\n1\n\n3\n", "s.csv").data.ravel().tolist() == [1, 3]
    X = np.array([[1.0, np.nan], [2.0, 3.0]])
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(DataFileError, match=r"row 0, column 1 holds nan.*--missing"):
        read_data(str(tmp_path / "x.npy"))
    np.testing.assert_array_equal(read_data(str(tmp_path / "x.npy"), missing=True).data, X)


def test_models_without_missing_values_say_so_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emkit import cli

    rng = np.random.default_rng(19)
    X = rng.normal(size=(40, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"RegressionMixture does not take missing values"):
        emkit.RegressionMixture(2).fit(X, np.arange(40.0))
    path = tmp_path / "r.csv"
    path.write_text("x,y\n1,2\n,3\n2,4\n3,5.5\n4,8\n5,9\n", encoding="utf-8")
    args = ["fit", str(path), "--model", "regression", "--target", "y", "-k", "2"]
    assert cli.main([*args, "--missing", "marginalise"]) != 0
    assert "does not apply to --model regression" in capsys.readouterr().err


def test_integer_categories_keep_their_type_with_missing_cells() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": np.arange(40.0) % 7, "k": pd.Categorical([10, 20, 30, None] * 10)})
    fitted = emkit.MixedMixture(2, missing="marginalise", random_state=0).fit(frame)
    assert fitted.categories_["k"].dtype == np.int64
    drawn, _ = fitted.sample(5)
    assert drawn["k"].dtype == frame["k"].dtype
    assert set(drawn["k"]) <= {10, 20, 30}
