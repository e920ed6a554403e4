"""The Product family: independent blocks of columns, each with its own family.

Its log-density is checked against scipy's densities of every column, its E- and M-step against
the same family fitted on all columns at once (a diagonal Gaussian split into blocks is the same
model), and the whole family against emkit.testing's contract checks; then mixtures and hidden
Markov models of mixed data, saving, sampling and the errors of bad settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import emkit
from emkit.families import Bernoulli, Categorical, Gaussian, GaussianParams, MeanParams, Poisson
from emkit.families.canonical import CanonicalFamily, MeanStats
from emkit.families.product import Product, ProductParams, ProductStats
from emkit.growth import duplicate_component
from emkit.hmm import HiddenMarkovModel, HMMParams
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.protocols import ExponentialFamily, FamilyImputing, FusedEStep, MissingValues
from emkit.stats import add, take_components
from emkit.testing import check_family, check_model
from emkit.testing.trees import reference_paths

#: Sums of the same log-densities in another order (scipy per column, the family per block).
AGREEMENT_RTOL = 1e-10
#: Parameters fitted to simulated data lie within this many standard errors of the truth.
RECOVERY_SE = 5.0
#: Misclassified rows bias the recovered parameters: an allowance on top of the standard errors.
RECOVERY_BIAS_ATOL = 0.02
#: EM's objective may fall by rounding only (relative to its size).
MONOTONE_RTOL = 1e-12
#: Two EM schedules at their fixed points agree to this much log-likelihood per row.
FIXED_POINT_ATOL = 1e-3
#: Rows with the right most probable state after the HMM fit (states far apart).
HMM_ACCURACY = 0.95

K = 3
SEED = 11

#: Gaussian on columns (5, 0), Bernoulli on (1, 6), Poisson on (2,), a categorical of 3 levels on
#: column 4 and one of 2 levels on column 3: parts in no order, columns not adjacent.
MIXED = Product(
    (
        (Gaussian("diag"), (5, 0)),
        (Bernoulli(), (1, 6)),
        (Poisson(), (2,)),
        (Categorical((3, 2)), (4, 3)),
    )
)
N_FEATURES = 7


def mixed_params(rng: np.random.Generator, k: int = K, spread: float = 1.0) -> ProductParams:
    """Random component parameters of MIXED; ``spread`` moves the components apart."""
    means = rng.normal(0.0, 3.0 * spread, size=(k, 2))
    variances = rng.uniform(0.5, 2.0, size=(k, 2))
    probabilities = rng.uniform(0.1, 0.9, size=(k, 2))
    rates = rng.uniform(0.5, 6.0, size=(k, 1))
    levels = np.hstack([rng.dirichlet(np.ones(3), size=k), rng.dirichlet(np.ones(2), size=k)])
    return ProductParams(
        (
            GaussianParams(means, variances),
            MeanParams(probabilities),
            MeanParams(rates),
            MeanParams(levels),
        )
    )


def separated_params() -> tuple[np.ndarray, ProductParams]:
    """Weights and K = 3 well separated components of MIXED, for recovery."""
    weights = np.array([0.5, 0.3, 0.2])
    params = ProductParams(
        (
            GaussianParams(
                np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, -4.0]]),
                np.array([[1.0, 2.0], [0.5, 1.0], [1.5, 0.8]]),
            ),
            MeanParams(np.array([[0.2, 0.9], [0.7, 0.5], [0.4, 0.1]])),
            MeanParams(np.array([[1.0], [4.0], [9.0]])),
            MeanParams(
                np.array(
                    [
                        [0.7, 0.2, 0.1, 0.6, 0.4],
                        [0.1, 0.3, 0.6, 0.2, 0.8],
                        [0.3, 0.4, 0.3, 0.5, 0.5],
                    ]
                )
            ),
        )
    )
    return weights, params


def draw(params: ProductParams, weights: np.ndarray, n: int, seed: int) -> tuple[Any, Any]:
    model = FiniteMixture(MIXED, weights.shape[0])
    return model.sample(MixtureParams(weights, params), n, np.random.default_rng(seed))


def scipy_entry_log_prob(family: Product, X: np.ndarray, params: ProductParams) -> np.ndarray:
    """``log p(x_nd | theta_k)`` of every entry of X from scipy's densities, (n, K, D); 0 for a
    missing entry (its factor integrates to 1). Parts: diagonal Gaussian, Bernoulli, Poisson,
    Categorical."""
    n, k = X.shape[0], family.mean(params).shape[0]
    out = np.zeros((n, k, X.shape[1]))
    for (part, columns), value in zip(family.parts, params.parts, strict=True):
        offset = 0
        for i, column in enumerate(columns):
            x = X[:, column]
            seen = ~np.isnan(x)
            for c in range(k):
                if isinstance(part, Gaussian):
                    sd = np.sqrt(value.covariances[c, i])
                    logp = scipy.stats.norm.logpdf(x[seen], value.means[c, i], sd)
                elif isinstance(part, Bernoulli):
                    logp = scipy.stats.bernoulli.logpmf(x[seen], value.mean[c, i])
                elif isinstance(part, Poisson):
                    logp = scipy.stats.poisson.logpmf(x[seen], value.mean[c, i])
                else:
                    levels = part.levels(len(columns))[i]
                    one_hot = np.eye(levels)[x[seen].astype(int)]
                    probs = value.mean[c, offset : offset + levels]
                    logp = scipy.stats.multinomial.logpmf(one_hot, 1, probs)
                out[seen, c, column] = logp
            if isinstance(part, Categorical):
                offset += int(part.levels(len(columns))[i])
    return out


def scipy_log_prob(X: np.ndarray, params: ProductParams) -> np.ndarray:
    """``log p(x_n | theta_k)`` of MIXED from scipy's densities, column by column."""
    return scipy_entry_log_prob(MIXED, X, params).sum(axis=2)


def assert_close(got: Any, expected: Any, rtol: float = AGREEMENT_RTOL) -> None:
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    assert np.max(np.abs(np.asarray(got) - np.asarray(expected)), initial=0.0) <= rtol * scale


def arrays_of(tree: Any) -> list[np.ndarray]:
    """The arrays of a parameter tree in field order, into the parts of a ProductParams."""
    if isinstance(tree, tuple):
        return [a for item in tree for a in arrays_of(item)]
    if attrs.has(type(tree)):
        return [a for f in attrs.fields(type(tree)) for a in arrays_of(getattr(tree, f.name))]
    return [np.asarray(tree)]


def assert_trees_equal(a: Any, b: Any) -> None:
    left, right = arrays_of(a), arrays_of(b)
    assert len(left) == len(right)
    for x, y in zip(left, right, strict=True):
        assert np.array_equal(x, y)


def assert_trees_close(a: Any, b: Any) -> None:
    left, right = arrays_of(a), arrays_of(b)
    assert len(left) == len(right)
    for x, y in zip(left, right, strict=True):
        assert_close(x, y)


def _trees_hold_tuples() -> bool:
    """Whether emkit.stats walks tuple fields (the generic change the Product family needs for
    chunked statistics, saving and the contract checks)."""
    one = ProductStats((MeanStats(np.ones(1)),))
    total = add(one, one)
    return bool(np.array_equal(total.parts[0].sum_t, [2.0]))


needs_tuple_trees = pytest.mark.skipif(
    not _trees_hold_tuples(),
    reason="emkit.stats / emkit.io do not walk tuple fields yet (ProductParams.parts)",
)


@pytest.fixture(scope="module")
def mixed_data() -> tuple[np.ndarray, ProductParams]:
    rng = np.random.default_rng(SEED)
    params = mixed_params(rng)
    X, _ = draw(params, np.full(K, 1.0 / K), 400, SEED)
    return X, params


# -- the log-density ---------------------------------------------------------------------------
def test_is_an_exponential_family_with_a_fused_e_step() -> None:
    assert isinstance(MIXED, ExponentialFamily)
    assert isinstance(MIXED, FusedEStep)
    assert isinstance(MIXED, MissingValues)
    assert MIXED.n_features == N_FEATURES


def test_log_prob_is_the_sum_of_scipy_densities(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    expected = scipy_log_prob(X, params)
    assert_close(MIXED.log_prob(X, params), expected)
    log_p, offset, _ = MIXED.log_prob_with_stats(X, params)
    assert offset is not None  # the Poisson column's log(1 / x!)
    assert_close(log_p + offset[:, None], expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 4))
def test_log_prob_agrees_with_scipy_for_any_parameters(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    params = mixed_params(rng, k)
    X, _ = draw(params, rng.dirichlet(np.ones(k)), 30, seed)
    assert_close(MIXED.log_prob(X, params), scipy_log_prob(X, params))


def test_float32_stays_float32(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    log_p, _, _ = MIXED.log_prob_with_stats(X.astype(np.float32), params)
    assert log_p.dtype == np.float32


# -- the E- and M-step: the same as the parts' own -----------------------------------------------
def test_statistics_and_m_step_are_the_parts_own(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    resp = np.random.default_rng(1).dirichlet(np.ones(K), size=X.shape[0])
    counts = resp.sum(axis=0)
    _, _, stats_of = MIXED.log_prob_with_stats(X, params)
    fused = stats_of(resp.copy())
    assert isinstance(fused, ProductStats)
    center = MIXED.mean(params)
    plain = MIXED.expected_stats(X, resp, center)
    for index, (family, columns) in enumerate(MIXED.parts):
        cols = list(columns)
        own = family.maximize(family.expected_stats(X[:, cols], resp, center[:, cols]), counts)
        assert_trees_close(MIXED.maximize(fused, counts).parts[index], own)
        assert_trees_close(MIXED.maximize(plain, counts).parts[index], own)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_blocks_of_a_diagonal_gaussian_are_the_diagonal_gaussian() -> None:
    """A diagonal Gaussian split into blocks of columns is the same model: EM from the same start
    gives the same log-likelihoods and parameters."""
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0.0, 1.0, (150, 4)), rng.normal(3.0, 2.0, (150, 4))])
    weights = np.array([0.4, 0.6])
    means = np.array([[0.5, 0.0, -0.2, 0.1], [2.0, 3.5, 2.5, 3.0]])
    variances = np.array([[1.0, 2.0, 1.5, 0.5], [2.0, 1.0, 3.0, 4.0]])
    blocks = Product(((Gaussian("diag"), (2, 0)), (Gaussian("diag"), (3, 1))))
    whole = emkit.fit(
        FiniteMixture(Gaussian("diag"), 2),
        X,
        init=MixtureParams(weights, GaussianParams(means, variances)),
        max_iter=20,
        tol=0.0,
    )
    split = emkit.fit(
        FiniteMixture(blocks, 2),
        X,
        init=MixtureParams(
            weights,
            ProductParams(
                (
                    GaussianParams(means[:, [2, 0]], variances[:, [2, 0]]),
                    GaussianParams(means[:, [3, 1]], variances[:, [3, 1]]),
                )
            ),
        ),
        max_iter=20,
        tol=0.0,
    )
    assert_close(split.history, whole.history)
    assert_close(blocks.mean(split.params.components), whole.params.components.means)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_blocks_of_bernoulli_columns_are_the_bernoulli_family() -> None:
    rng = np.random.default_rng(SEED)
    X = (rng.random((200, 4)) < np.where(np.arange(200)[:, None] < 100, 0.2, 0.7)).astype(float)
    start = MixtureParams(np.array([0.5, 0.5]), MeanParams(rng.uniform(0.2, 0.8, (2, 4))))
    blocks = Product(((Bernoulli(), (0, 3)), (Bernoulli(), (1, 2))))
    whole = emkit.fit(FiniteMixture(Bernoulli(), 2), X, init=start, max_iter=15, tol=0.0)
    split_start = MixtureParams(
        start.weights,
        ProductParams(
            (
                MeanParams(start.components.mean[:, [0, 3]]),
                MeanParams(start.components.mean[:, [1, 2]]),
            )
        ),
    )
    split = emkit.fit(FiniteMixture(blocks, 2), X, init=split_start, max_iter=15, tol=0.0)
    assert_close(split.history, whole.history)


# -- the family's other methods ----------------------------------------------------------------
def test_n_parameters_is_the_sum_of_the_parts() -> None:
    per_component = 2 * 2 + 2 + 1 + (3 - 1) + (2 - 1)  # means and variances, p, rate, levels
    assert MIXED.n_parameters(K, N_FEATURES) == K * per_component
    assert FiniteMixture(MIXED, K).n_parameters(N_FEATURES) == K - 1 + K * per_component
    with pytest.raises(ValueError, match="has 6 column"):
        MIXED.n_parameters(K, 6)


def test_mean_puts_every_part_in_its_columns(mixed_data: tuple[np.ndarray, Any]) -> None:
    _, params = mixed_data
    gauss, bern, pois, cat = params.parts
    mean = MIXED.mean(params)
    assert mean.shape == (K, N_FEATURES)
    assert np.array_equal(mean[:, [5, 0]], gauss.means)
    assert np.array_equal(mean[:, [1, 6]], bern.mean)
    assert np.array_equal(mean[:, [2]], pois.mean)
    assert np.array_equal(mean[:, 4], np.argmax(cat.mean[:, :3], axis=1))
    assert np.array_equal(mean[:, 3], np.argmax(cat.mean[:, 3:], axis=1))


def test_sampling_composes_the_parts() -> None:
    weights, params = separated_params()
    X, labels = draw(params, weights, 3000, SEED)
    assert X.shape == (3000, N_FEATURES)
    assert X.dtype == np.float64
    MIXED.validate_data(X)
    assert set(np.unique(X[:, [1, 6]])) <= {0.0, 1.0}
    assert np.array_equal(X[:, 2], np.round(X[:, 2]))
    assert X[:, 2].min() >= 0
    assert set(np.unique(X[:, 4])) <= {0.0, 1.0, 2.0}
    assert set(np.unique(X[:, 3])) <= {0.0, 1.0}
    gauss, bern, pois, _ = params.parts
    for c in range(K):
        rows = X[labels == c]
        se = np.sqrt(gauss.covariances[c] / rows.shape[0])
        assert np.all(np.abs(rows[:, [5, 0]].mean(axis=0) - gauss.means[c]) <= RECOVERY_SE * se)
        se = np.sqrt(pois.mean[c, 0] / rows.shape[0])
        assert abs(rows[:, 2].mean() - pois.mean[c, 0]) <= RECOVERY_SE * se
        p = bern.mean[c]
        se = np.sqrt(p * (1 - p) / rows.shape[0])
        assert np.all(np.abs(rows[:, [1, 6]].mean(axis=0) - p) <= RECOVERY_SE * se)


def test_relabelling_permutes_every_part(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    order = np.array([2, 0, 1])
    permuted = take_components(params, order)
    assert isinstance(permuted, ProductParams)
    assert_close(MIXED.log_prob(X, permuted), MIXED.log_prob(X, params)[:, order])


def test_log_prior_is_the_sum_of_the_parts(mixed_data: tuple[np.ndarray, Any]) -> None:
    _, params = mixed_data
    expected = sum(
        family.log_prior(part) for (family, _), part in zip(MIXED.parts, params.parts, strict=True)
    )
    assert MIXED.log_prior(params) == pytest.approx(expected, rel=AGREEMENT_RTOL)
    assert MIXED.log_prior(params) != 0.0  # the Bernoulli and categorical priors


def test_diagnose_names_the_part_and_its_columns(mixed_data: tuple[np.ndarray, Any]) -> None:
    _, params = mixed_data
    gauss = params.parts[0]
    flat = GaussianParams(gauss.means, np.full_like(gauss.covariances, 1e-6))
    messages = MIXED.diagnose(ProductParams((flat, *params.parts[1:])))
    assert len(messages) == 1
    assert messages[0].startswith("part 0 (Gaussian, columns (5, 0)): Gaussian component(s)")
    assert MIXED.diagnose(params) == []


def test_recenter_moves_the_gaussian_part_only(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    resp = np.random.default_rng(2).dirichlet(np.ones(K), size=X.shape[0])
    other = mixed_params(np.random.default_rng(3))
    a = MIXED.log_prob_with_stats(X, params)[2](resp.copy())
    b = MIXED.log_prob_with_stats(X, other)[2](resp.copy())
    moved = a.recenter(b, resp.sum(axis=0))
    assert moved.parts[1] is a.parts[1]  # canonical sums hold no reference point
    assert np.array_equal(moved.parts[0].center, b.parts[0].center)
    counts = resp.sum(axis=0)
    assert_trees_equal(MIXED.maximize(moved, counts).parts[1:], MIXED.maximize(a, counts).parts[1:])
    assert_trees_close(MIXED.maximize(moved, counts).parts[0], MIXED.maximize(a, counts).parts[0])


def test_impute_without_missing_values_is_a_copy(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    resp = FiniteMixture(MIXED, K).responsibilities(X, MixtureParams(np.full(K, 1 / K), params))
    filled = MIXED.impute(X, resp, params)
    assert filled is not X
    assert np.array_equal(filled, X)


# -- in models -----------------------------------------------------------------------------------
def test_a_mixture_of_products_recovers_a_mixed_design() -> None:
    weights, truth = separated_params()
    n = 4000
    X, labels = draw(truth, weights, n, SEED)
    result = emkit.fit(FiniteMixture(MIXED, K), X, n_init=3, random_state=SEED)
    fitted = result.params
    # Match the fitted components to the true ones by the rows they claim.
    predicted = FiniteMixture(MIXED, K).predict(X, fitted)
    order = np.array([np.bincount(predicted[labels == c], minlength=K).argmax() for c in range(K)])
    assert sorted(order.tolist()) == list(range(K))
    fitted_weights = fitted.weights[order]
    found = take_components(fitted.components, order)
    counts = weights * n
    se = np.sqrt(weights * (1 - weights) / n)
    assert np.all(np.abs(fitted_weights - weights) <= RECOVERY_SE * se + RECOVERY_BIAS_ATOL)
    gauss, bern, pois, cat = truth.parts
    got_gauss, got_bern, got_pois, got_cat = found.parts
    se = np.sqrt(gauss.covariances / counts[:, None])
    assert np.all(np.abs(got_gauss.means - gauss.means) <= RECOVERY_SE * se + RECOVERY_BIAS_ATOL)
    for true, got in ((bern.mean, got_bern.mean), (cat.mean, got_cat.mean)):
        se = np.sqrt(true * (1 - true) / counts[:, None])
        assert np.all(np.abs(got - true) <= RECOVERY_SE * se + RECOVERY_BIAS_ATOL)
    se = np.sqrt(pois.mean / counts[:, None])
    assert np.all(np.abs(got_pois.mean - pois.mean) <= RECOVERY_SE * se + RECOVERY_BIAS_ATOL)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_a_hidden_markov_model_with_product_emissions_is_monotone() -> None:
    _, emission = separated_params()
    truth = HMMParams(
        startprob=np.array([0.6, 0.3, 0.1]),
        transmat=np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]]),
        emission=emission,
    )
    hmm = HiddenMarkovModel(MIXED, K)
    lengths = np.array([300, 200, 250])
    X, states = hmm.sample(truth, int(lengths.sum()), np.random.default_rng(SEED), lengths)
    result = emkit.fit(hmm, X, lengths=lengths, max_iter=40, tol=0.0, random_state=SEED)
    history = np.asarray(result.history)
    drops = history[:-1] - history[1:]
    assert np.all(drops <= MONOTONE_RTOL * np.abs(history[:-1]))
    decoded = hmm.predict(X, result.params, lengths)
    agreement = max(np.mean(np.asarray(order)[decoded] == states) for order in _permutations(K))
    assert agreement >= HMM_ACCURACY


def _permutations(k: int) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.permutations(range(k)))


@needs_tuple_trees
def test_contract_checks_of_continuous_and_discrete_products() -> None:
    rng = np.random.default_rng(SEED)
    continuous = Product(((Gaussian("full"), (0, 2)), (Gaussian("spherical"), (1,))))
    X = np.vstack([rng.normal(0.0, 1.0, (40, 3)), rng.normal(2.0, 1.5, (40, 3))])
    check_family(continuous, X, n_components=2)
    discrete = Product(((Poisson(), (1,)), (Bernoulli(), (0,)), (Categorical(3), (2,))))
    Y = np.column_stack(
        [rng.random(60) < 0.4, rng.poisson(2.0, 60), rng.integers(0, 3, 60)]
    ).astype(float)
    check_family(discrete, Y, n_components=2)


@needs_tuple_trees
def test_contract_checks_of_mixed_models(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, _ = mixed_data
    check_model(FiniteMixture(MIXED, 2), X)
    check_model(HiddenMarkovModel(MIXED, 2), X, lengths=[100, 150, 150])


@needs_tuple_trees
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_chunks_give_the_fit_of_one_array(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, _ = mixed_data
    model = FiniteMixture(MIXED, K)
    whole = emkit.fit(model, X, random_state=SEED, max_iter=10, tol=0.0)
    chunked = emkit.fit(model, X, random_state=SEED, max_iter=10, tol=0.0, chunk_size=37)
    assert_close(chunked.history, whole.history)


@needs_tuple_trees
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_incremental_em_moves_the_gaussian_part_and_never_decreases(
    mixed_data: tuple[np.ndarray, Any],
) -> None:
    X, _ = mixed_data
    model = FiniteMixture(MIXED, K)
    result = emkit.fit(
        model, X, schedule="incremental", chunk_size=50, max_iter=15, tol=0.0, random_state=SEED
    )
    history = np.asarray(result.history)
    assert np.all(history[:-1] - history[1:] <= MONOTONE_RTOL * np.abs(history[:-1]))
    batch = emkit.fit(model, X, max_iter=15, tol=0.0, random_state=SEED)
    # Both reach a fixed point of EM from the same start: the same log-likelihood to rounding
    # of convergence.
    assert abs(result.log_likelihood - batch.log_likelihood) <= FIXED_POINT_ATOL * X.shape[0]


@needs_tuple_trees
def test_selection_grows_products_from_fewer_components(
    mixed_data: tuple[np.ndarray, Any],
) -> None:
    X, _ = mixed_data
    selection = emkit.select(X, MIXED, [1, 2, 3], n_init=1, random_state=SEED)
    log_likelihoods = [c.result.log_likelihood for c in selection.candidates]
    assert np.all(np.diff(log_likelihoods) >= 0.0)
    assert [c.n_parameters for c in selection.candidates] == [
        FiniteMixture(MIXED, k).n_parameters(N_FEATURES) for k in (1, 2, 3)
    ]


def test_duplicating_a_component_grows_every_part(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, params = mixed_data
    start = MixtureParams(np.full(K, 1 / K), params)
    grown = duplicate_component(FiniteMixture(MIXED, K), X, start, 1)
    grown = FiniteMixture(MIXED, K + 1).validate_params(grown, N_FEATURES)
    assert_trees_equal(take_components(grown.components, np.arange(K)), params)
    # The new component K is a copy of component 1.
    copy = take_components(grown.components, np.array([K]))
    assert_trees_equal(copy, take_components(params, np.array([1])))


def test_the_contract_checks_see_reference_fields_inside_parts(
    mixed_data: tuple[np.ndarray, Any],
) -> None:
    X, params = mixed_data
    stats, _ = FiniteMixture(MIXED, K).e_step(X, MixtureParams(np.full(K, 1 / K), params))
    assert reference_paths(stats, "stats") == ["stats.components.parts[0].center"]


@needs_tuple_trees
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_save_and_load_round_trip(tmp_path: Path, mixed_data: tuple[np.ndarray, Any]) -> None:
    X, _ = mixed_data
    for model in (FiniteMixture(MIXED, K), HiddenMarkovModel(MIXED, 2)):
        result = emkit.fit(model, X, random_state=SEED, max_iter=5)
        path = tmp_path / "model.json"
        emkit.save(result, path)
        loaded = emkit.load(path)
        assert loaded.model == model
        assert_trees_equal(loaded.params, result.params)
        assert loaded.log_likelihood == result.log_likelihood


# -- missing values --------------------------------------------------------------------------
#: Discrete parts only (their families handle missing values); columns not adjacent.
DISCRETE = Product(((Bernoulli(), (1, 4)), (Poisson(), (0,)), (Categorical((3, 2)), (3, 2))))


def discrete_data(seed: int) -> tuple[np.ndarray, ProductParams, np.ndarray]:
    """Rows of DISCRETE from K random components, with 20% of the entries missing (rows with
    several missing entries, each column missing somewhere, no row entirely missing)."""
    rng = np.random.default_rng(seed)
    params = ProductParams(
        (
            MeanParams(rng.uniform(0.1, 0.9, (K, 2))),
            MeanParams(rng.uniform(0.5, 6.0, (K, 1))),
            MeanParams(
                np.hstack([rng.dirichlet(np.ones(3), size=K), rng.dirichlet(np.ones(2), size=K)])
            ),
        )
    )
    model = FiniteMixture(DISCRETE, K)
    X, _ = model.sample(MixtureParams(np.full(K, 1 / K), params), 300, rng)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.2] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
    return holes, params, X


def test_missing_entries_leave_the_log_density() -> None:
    assert DISCRETE.handles_missing
    holes, params, _ = discrete_data(SEED)
    assert np.isnan(holes).any(axis=0).all()
    assert (np.isnan(holes).sum(axis=1) >= 2).any()
    expected = scipy_entry_log_prob(DISCRETE, holes, params).sum(axis=2)
    assert_close(DISCRETE.log_prob(holes, params), expected)
    log_p, offset, _ = DISCRETE.log_prob_with_stats(holes, params)
    assert_close(log_p + (0.0 if offset is None else offset[:, None]), expected)


def test_missing_statistics_are_the_parts_own() -> None:
    holes, params, _ = discrete_data(SEED)
    resp = np.random.default_rng(4).dirichlet(np.ones(K), size=holes.shape[0])
    counts = resp.sum(axis=0)
    stats = DISCRETE.log_prob_with_stats(holes, params)[2](resp.copy())
    for index, (family, columns) in enumerate(DISCRETE.parts):
        assert isinstance(family, FusedEStep)
        own = family.log_prob_with_stats(holes[:, list(columns)], params.parts[index])[2]
        assert_trees_close(stats.parts[index], own(resp.copy()))
        assert_trees_close(
            DISCRETE.maximize(stats, counts).parts[index], family.maximize(own(resp.copy()), counts)
        )


def test_impute_fills_each_part_from_its_own_family() -> None:
    holes, params, _ = discrete_data(SEED)
    model = FiniteMixture(DISCRETE, K, missing="marginalise")
    mixture_params = MixtureParams(np.full(K, 1 / K), params)
    resp = model.responsibilities(holes, mixture_params)
    filled = DISCRETE.impute(holes, resp, params)
    assert not np.isnan(filled).any()
    seen = ~np.isnan(holes)
    assert np.array_equal(filled[seen], holes[seen])
    for index, (family, columns) in enumerate(DISCRETE.parts):
        cols = list(columns)
        assert isinstance(family, FamilyImputing)
        assert np.array_equal(
            filled[:, cols], family.impute(holes[:, cols], resp, params.parts[index])
        )
    assert np.array_equal(model.impute(holes, mixture_params), filled)


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_em_with_missing_values_never_decreases_the_observed_likelihood() -> None:
    holes, _, _ = discrete_data(SEED)
    model = FiniteMixture(DISCRETE, K, missing="marginalise")
    result = emkit.fit(model, holes, max_iter=30, tol=0.0, random_state=SEED)
    history = np.asarray(result.history)
    assert np.all(history[:-1] - history[1:] <= MONOTONE_RTOL * np.abs(history[:-1]))
    expected = scipy_entry_log_prob(DISCRETE, holes, result.params.components)
    log_joint = expected.sum(axis=2) + np.log(result.params.weights)
    assert result.log_likelihood == pytest.approx(
        float(scipy.special.logsumexp(log_joint, axis=1).sum()), rel=AGREEMENT_RTOL
    )


@attrs.frozen
class Exponential(CanonicalFamily):
    """Exponential components (a plugin's family) whose features are not declared independent:
    it does not handle missing values."""

    zero_base_measure = True

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return -1.0 / mean

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return np.asarray(np.sum(-np.log(-natural), axis=1))

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0])

    def check_support(self, X: np.ndarray) -> None:
        if (X < 0).any():
            raise ValueError("`X` must be >= 0 for an Exponential mixture")

    def check_mean(self, mean: np.ndarray) -> None:
        if (mean <= 0).any():
            raise ValueError("Exponential means must be > 0")

    def sample(
        self, params: MeanParams, component: int, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        return rng.exponential(params.mean[component], size=(n, params.mean.shape[1]))


def test_a_part_without_missing_values_makes_the_product_refuse_them() -> None:
    product = Product(((Exponential(), (0,)), (Bernoulli(), (1,))))
    assert Bernoulli().handles_missing
    assert not product.handles_missing
    X = np.array([[1.5, 0.0], [np.nan, 1.0], [0.2, np.nan], [3.0, 1.0]])
    with pytest.raises(ValueError, match="Product, a family that does not handle missing"):
        FiniteMixture(product, 2, missing="marginalise").validate_data(X)
    resp = np.full((4, 2), 0.5)
    params = ProductParams((MeanParams(np.ones((2, 1))), MeanParams(np.full((2, 1), 0.5))))
    with pytest.raises(TypeError, match=r"part 0 \(Exponential, columns \(0,\)\) has missing"):
        product.impute(X, resp, params)


@pytest.mark.skipif(
    not MIXED.handles_missing, reason="the Gaussian part does not handle missing values yet"
)
def test_missing_values_in_every_part_sum_the_observed_densities(
    mixed_data: tuple[np.ndarray, Any],
) -> None:
    X, params = mixed_data
    rng = np.random.default_rng(5)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.15] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
    expected = scipy_entry_log_prob(MIXED, holes, params).sum(axis=2)
    assert_close(MIXED.log_prob(holes, params), expected)
    log_p, offset, _ = MIXED.log_prob_with_stats(holes, params)
    assert_close(log_p + offset[:, None], expected)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parts", "error", "match"),
    [
        ((), ValueError, "non-empty sequence"),
        (((Gaussian(), (0, 1)), (Bernoulli(), (1, 2))), ValueError, "column 1 is in part 0"),
        (((Gaussian(), (0,)), (Bernoulli(), (2,))), ValueError, "column 1 is in no part"),
        (((Gaussian(), ()),), ValueError, "at least one column"),
        (((Gaussian(), (0, 0)),), ValueError, "names column 0 more than once"),
        (((Gaussian(), (-1,)),), ValueError, "must be >= 0"),
        (((Gaussian, (0,)),), TypeError, "family instance, e.g. Gaussian()"),
        ((("gaussian", (0,)),), TypeError, "must be an ExponentialFamily"),
        (((Gaussian(),),), ValueError, "(family, columns) pair"),
        (((Gaussian(), (0.5,)),), TypeError, "must be an integer"),
    ],
)
def test_bad_parts_are_refused(parts: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        Product(parts)


def test_bad_data_names_the_column_of_x_and_the_part(mixed_data: tuple[np.ndarray, Any]) -> None:
    X, _ = mixed_data
    bad = X.copy()
    bad[3, 6] = 2.0
    with pytest.raises(
        ValueError, match=r"row 3, column 6.*part 1 \(Bernoulli, columns \(1, 6\)\)"
    ):
        MIXED.validate_data(bad)
    with pytest.raises(ValueError, match="has 6 column"):
        MIXED.validate_data(X[:, :6])


def test_bad_params_name_the_part(mixed_data: tuple[np.ndarray, Any]) -> None:
    _, params = mixed_data
    with pytest.raises(TypeError, match="must be ProductParams"):
        MIXED.validate_params(params.parts[0], K, N_FEATURES)
    with pytest.raises(ValueError, match="one value per part"):
        MIXED.validate_params(ProductParams(params.parts[:3]), K, N_FEATURES)
    wrong = MeanParams(np.full((K, 2), 1.5))
    with pytest.raises(ValueError, match=r"part 1 \(Bernoulli, columns \(1, 6\)\): Bernoulli"):
        MIXED.validate_params(
            ProductParams((params.parts[0], wrong, *params.parts[2:])), K, N_FEATURES
        )
    valid = MIXED.validate_params(params, K, N_FEATURES)
    assert isinstance(valid, ProductParams)


def test_params_and_family_settings_are_attrs_values() -> None:
    assert [f.name for f in attrs.fields(Product) if f.init] == ["parts"]
    assert Product(((Gaussian("diag"), [1, 0]),)) == Product(((Gaussian("diag"), (1, 0)),))
    assert Product(((Poisson(), 0),)).parts[0][1] == (0,)
