"""HiddenMarkovModel: the contract, an independent Baum-Welch, EM's laws, recovery and robustness.

The reference Baum-Welch below is written the textbook way (PRML 13.2 in log space): plain loops
over sequences and time steps with ``scipy.special.logsumexp`` and ``scipy.stats`` log-densities,
nothing shared with ``emkit.hmm``. Every test uses K >= 2 states and several sequences of
different lengths.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.special import logsumexp

import emkit
import emkit.stats
import emkit.testing
from emkit import HiddenMarkovModel, HMMParams

from .strategies import make_family, random_component_params

#: Iteration-by-iteration agreement of emkit's Baum-Welch with the reference (parameters and
#: objective).
AGREEMENT_RTOL = 1e-8
AGREEMENT_ATOL = 1e-8

#: Relative noise allowed in a step of the EM objective before it counts as a decrease.
DECREASE_RTOL = 1e-10

#: Additivity of statistics over a split between sequences, and invariance under relabelling.
ADDITIVITY_RTOL = 1e-9
RELABEL_ATOL = 1e-10

#: Viterbi's log-probability against brute-force enumeration of all paths.
VITERBI_ATOL = 1e-9

#: Recovered parameters must lie within this many standard errors of the truth.
RECOVERY_SE = 4.0

#: Absolute slack of an expected count that should be exactly zero.
COUNT_ATOL = 1e-12

#: Convergence threshold (per frame) of the recovery fits: tight, so that the estimate is the MLE.
RECOVERY_TOL = 1e-6

#: A weighted sequence against the same sequence repeated.
WEIGHT_RTOL = 1e-9

#: Iterations of the fits that compare two runs step by step.
N_ITER = 5

#: The outlier frame of the robustness test lies this many standard deviations out.
OUTLIER_SIGMAS = 60.0

HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LENGTHS = np.array([40, 73, 25, 110, 57])


def _load_custom_family() -> Any:
    path = Path(__file__).resolve().parents[1] / "examples" / "custom_family.py"
    spec = importlib.util.spec_from_file_location("_hmm_custom_family", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


LogNormal = _load_custom_family().LogNormal


# -- building problems -----------------------------------------------------------------------------
def chain(n_states: int, rng: np.random.Generator, stay: float = 0.8) -> tuple[Any, Any]:
    """A start distribution and a sticky transition matrix (rows sum to 1)."""
    startprob = rng.dirichlet(np.full(n_states, 2.0))
    off = rng.dirichlet(np.ones(n_states - 1), size=n_states) * (1.0 - stay)
    transmat = np.empty((n_states, n_states))
    for i in range(n_states):
        transmat[i] = np.insert(off[i], i, stay)
    return startprob, transmat


def emission_params(kind: str, n_states: int, n_features: int, rng: np.random.Generator) -> Any:
    if kind == "categorical":
        levels = 3
        probs = rng.dirichlet(np.ones(levels), size=(n_states, n_features))
        return emkit.MeanParams(probs.reshape(n_states, n_features * levels))
    if kind == "lognormal":
        m = rng.normal(0.0, 1.0, size=(n_states, n_features))
        v = rng.uniform(0.1, 0.5, size=(n_states, n_features))
        return emkit.MeanParams(np.hstack([m, v + m * m]))
    return random_component_params(make_family(kind), n_states, n_features, rng)


def family_of(kind: str) -> Any:
    if kind == "categorical":
        return emkit.Categorical(3)
    if kind == "lognormal":
        return LogNormal()
    return make_family(kind)


def problem(
    kind: str, n_states: int, n_features: int, lengths: Any, seed: int
) -> tuple[HiddenMarkovModel[Any, Any], HMMParams[Any], Any, Any]:
    """A model, its true parameters, and sequences of ``lengths`` drawn from it (X, states)."""
    rng = np.random.default_rng(seed)
    model = HiddenMarkovModel(family_of(kind), n_states)
    startprob, transmat = chain(n_states, rng)
    truth = HMMParams(startprob, transmat, emission_params(kind, n_states, n_features, rng))
    lengths = np.asarray(lengths)
    X, states = model.sample(truth, int(lengths.sum()), rng, lengths=lengths)
    return model, truth, X, states


def split_sequences(X: Any, lengths: Any) -> list[Any]:
    return np.split(X, np.cumsum(lengths)[:-1])


def quiet_fit(model: Any, X: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    """``emkit.fit`` that stops at ``max_iter`` on purpose (no ConvergenceWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return emkit.fit(model, X, **kwargs)


# -- the contract ----------------------------------------------------------------------------------
CONTRACT_KINDS = ("full", "tied", "diag", "spherical", "poisson", "bernoulli", "categorical")


@pytest.mark.parametrize("kind", [*CONTRACT_KINDS, "lognormal"])
def test_check_model_passes(kind: str) -> None:
    model, _, X, _ = problem(kind, 3, 2, LENGTHS, seed=1)
    emkit.testing.check_model(model, X, lengths=LENGTHS)


# -- an independent Baum-Welch ---------------------------------------------------------------------
def reference_log_emission(kind: str, X: Any, emission: Any) -> Any:
    """``log p(x_t | z_t = k)`` from scipy.stats, one state at a time."""
    if kind == "diag":
        sd = np.sqrt(emission.covariances)
        columns = [sps.norm.logpdf(X, emission.means[k], sd[k]).sum(axis=1) for k in range(len(sd))]
    else:
        columns = [sps.poisson.logpmf(X, rate).sum(axis=1) for rate in emission.mean]
    return np.stack(columns, axis=1)


def reference_baum_welch(
    kind: str, X: Any, lengths: Any, params: HMMParams[Any], reg_covar: float
) -> tuple[HMMParams[Any], float]:
    """One Baum-Welch iteration: the E-step log-likelihood at ``params`` and the new parameters."""
    K = params.startprob.shape[0]
    log_pi, log_A = np.log(params.startprob), np.log(params.transmat)
    starts, transitions = np.zeros(K), np.zeros((K, K))
    gammas, total = [], 0.0
    for x in split_sequences(X, lengths):
        log_b = reference_log_emission(kind, x, params.emission)
        T = x.shape[0]
        alpha, beta = np.empty((T, K)), np.zeros((T, K))
        alpha[0] = log_pi + log_b[0]
        for t in range(1, T):
            for j in range(K):
                alpha[t, j] = logsumexp(alpha[t - 1] + log_A[:, j]) + log_b[t, j]
        for t in range(T - 2, -1, -1):
            for i in range(K):
                beta[t, i] = logsumexp(log_A[i] + log_b[t + 1] + beta[t + 1])
        ll = logsumexp(alpha[T - 1])
        total += ll
        gamma = np.exp(alpha + beta - ll)
        gammas.append(gamma)
        starts += gamma[0]
        for t in range(T - 1):
            transitions += np.exp(
                alpha[t][:, None] + log_A + (log_b[t + 1] + beta[t + 1])[None, :] - ll
            )
    gamma = np.concatenate(gammas)
    counts = gamma.sum(axis=0)
    means = gamma.T @ X / counts[:, None]
    if kind == "diag":
        variances = np.stack([gamma[:, k] @ (X - means[k]) ** 2 for k in range(K)])
        emission: Any = emkit.GaussianParams(means, variances / counts[:, None] + reg_covar)
    else:
        emission = emkit.MeanParams(means)
    new = HMMParams(
        startprob=starts / starts.sum(),
        transmat=transitions / transitions.sum(axis=1, keepdims=True),
        emission=emission,
    )
    return new, total


def emission_arrays(kind: str, emission: Any) -> list[Any]:
    if kind == "diag":
        return [emission.means, emission.covariances]
    return [emission.mean]


@pytest.mark.parametrize("kind", ["diag", "poisson"])
def test_agrees_with_a_reference_baum_welch_iteration_by_iteration(kind: str) -> None:
    lengths = np.array([30, 17, 45, 8])
    model, _, X, _ = problem(kind, 3, 2, lengths, seed=7)
    rng = np.random.default_rng(99)
    startprob, transmat = chain(3, rng, stay=0.5)
    start = HMMParams(startprob, transmat, emission_params(kind, 3, 2, rng))
    reg_covar = model.emission.reg_covar if kind == "diag" else 0.0

    params, objectives = start, []
    for n_iter in range(1, N_ITER + 1):
        params, ll = reference_baum_welch(kind, X, lengths, params, reg_covar)
        objectives.append(ll)
        result = quiet_fit(
            model, X, lengths=lengths, init=start, order="start", max_iter=n_iter, tol=0.0
        )
        assert result.n_iter == n_iter
        np.testing.assert_allclose(
            result.history[:n_iter], objectives, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL
        )
        got = result.params
        for mine, theirs in zip(
            [got.startprob, got.transmat, *emission_arrays(kind, got.emission)],
            [params.startprob, params.transmat, *emission_arrays(kind, params.emission)],
            strict=True,
        ):
            np.testing.assert_allclose(mine, theirs, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    # The objective after the last M-step is the reference's E-step log-likelihood there.
    _, final_ll = reference_baum_welch(kind, X, lengths, params, reg_covar)
    np.testing.assert_allclose(result.history[-1], final_ll, rtol=AGREEMENT_RTOL)


# -- EM's laws (hypothesis) ------------------------------------------------------------------------
@st.composite
def hmm_problems(draw: st.DrawFn) -> tuple[Any, Any, Any, Any]:
    kind = draw(st.sampled_from(["diag", "full", "spherical", "poisson", "bernoulli"]))
    n_states = draw(st.integers(2, 3))
    n_features = draw(st.integers(1, 2))
    lengths = np.array(draw(st.lists(st.integers(2, 40), min_size=2, max_size=5)))
    seed = draw(st.integers(0, 2**31 - 1))
    model, truth, X, _ = problem(kind, n_states, n_features, lengths, seed)
    return model, truth, X, lengths


@HYPOTHESIS
@given(hmm_problems(), st.integers(0, 2**31 - 1))
def test_em_never_decreases_the_objective(case: Any, seed: int) -> None:
    model, truth, X, lengths = case
    rng = np.random.default_rng(seed)
    startprob, transmat = chain(model.n_states, rng, stay=0.5)
    kind = "full" if isinstance(model.emission, emkit.Gaussian) else None
    emission = (
        truth.emission
        if kind is None
        else attrs.evolve(truth.emission, means=truth.emission.means + rng.normal(size=1))
    )
    start = HMMParams(startprob, transmat, emission)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        warnings.simplefilter("error", emkit.LikelihoodDecreaseWarning)
        result = emkit.fit(model, X, lengths=lengths, init=start, max_iter=8, tol=0.0)
    steps = np.diff(result.history)
    assert np.all(steps >= -DECREASE_RTOL * np.abs(result.history[1:])), result.history


@HYPOTHESIS
@given(hmm_problems(), st.data())
def test_statistics_add_up_over_a_split_between_sequences(case: Any, data: st.DataObject) -> None:
    model, truth, X, lengths = case
    cut = data.draw(st.integers(1, lengths.shape[0] - 1))
    split = int(np.cumsum(lengths)[cut - 1])
    emkit.testing.check_additivity(model, X, truth, split=split, lengths=lengths)
    whole, ll = model.e_step(X, truth, lengths=lengths)
    first, ll_first = model.e_step(X[:split], truth, lengths=lengths[:cut])
    second, ll_second = model.e_step(X[split:], truth, lengths=lengths[cut:])
    np.testing.assert_allclose(ll_first + ll_second, ll, rtol=ADDITIVITY_RTOL)
    for name in ("starts", "transitions", "counts"):
        np.testing.assert_allclose(
            getattr(first, name) + getattr(second, name),
            getattr(whole, name),
            rtol=ADDITIVITY_RTOL,
            atol=ADDITIVITY_RTOL * lengths.sum(),
        )
    # Each sequence starts once: the expected starts sum to the number of sequences.
    np.testing.assert_allclose(whole.starts.sum(), lengths.shape[0], rtol=ADDITIVITY_RTOL)
    np.testing.assert_allclose(
        whole.transitions.sum(), lengths.sum() - lengths.shape[0], rtol=ADDITIVITY_RTOL
    )


@HYPOTHESIS
@given(hmm_problems(), st.randoms(use_true_random=False))
def test_relabelling_permutes_posteriors_and_keeps_the_likelihood(case: Any, rand: Any) -> None:
    model, truth, X, lengths = case
    order = np.array(rand.sample(range(model.n_states), model.n_states))
    relabelled = truth.relabel(order)
    np.testing.assert_allclose(
        model.responsibilities(X, relabelled, lengths),
        model.responsibilities(X, truth, lengths)[:, order],
        atol=RELABEL_ATOL,
    )
    np.testing.assert_allclose(
        model.log_likelihood(X, relabelled, lengths),
        model.log_likelihood(X, truth, lengths),
        rtol=RELABEL_ATOL,
    )
    states = model.predict(X, relabelled, lengths)
    np.testing.assert_array_equal(order[states], model.predict(X, truth, lengths))


# -- Viterbi against brute force -------------------------------------------------------------------
def brute_force_path(log_b: Any, log_pi: Any, log_A: Any) -> tuple[Any, float]:
    T, K = log_b.shape
    best, best_lp = None, -np.inf
    for path in itertools.product(range(K), repeat=T):
        lp = log_pi[path[0]] + log_b[0, path[0]]
        for t in range(1, T):
            lp += log_A[path[t - 1], path[t]] + log_b[t, path[t]]
        if lp > best_lp:
            best, best_lp = path, lp
    return np.array(best), float(best_lp)


@pytest.mark.parametrize("kind", ["diag", "poisson", "categorical"])
@pytest.mark.parametrize("n_states", [2, 3])
def test_viterbi_equals_brute_force_enumeration(kind: str, n_states: int) -> None:
    lengths = np.array([6, 1, 4, 5, 2])
    model, truth, X, _ = problem(kind, n_states, 2, lengths, seed=n_states)
    log_b = model.log_emission(X, truth)
    paths, total = [], 0.0
    for rows in split_sequences(np.arange(X.shape[0]), lengths):
        path, lp = brute_force_path(log_b[rows], np.log(truth.startprob), np.log(truth.transmat))
        paths.append(path)
        total += lp
    log_prob, states = model.decode(X, truth, lengths, algorithm="viterbi")
    np.testing.assert_array_equal(states, np.concatenate(paths))
    np.testing.assert_allclose(log_prob, total, atol=VITERBI_ATOL)
    np.testing.assert_array_equal(model.predict(X, truth, lengths), states)


def test_map_decoding_is_the_argmax_of_the_posteriors() -> None:
    model, truth, X, _ = problem("diag", 3, 2, LENGTHS, seed=3)
    log_prob, states = model.decode(X, truth, LENGTHS, algorithm="map")
    posteriors = model.responsibilities(X, truth, LENGTHS)
    np.testing.assert_array_equal(states, posteriors.argmax(axis=1))
    np.testing.assert_allclose(log_prob, model.log_likelihood(X, truth, LENGTHS).sum())
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)


# -- recovery of known HMMs ------------------------------------------------------------------------
def order_by_first_mean(model: Any, params: HMMParams[Any]) -> HMMParams[Any]:
    return params.relabel(np.argsort(model.component_means(params)[:, 0]))


def transition_standard_errors(model: Any, X: Any, lengths: Any, fitted: Any) -> Any:
    """Binomial standard errors of every row of ``transmat`` from the expected transitions."""
    stats, _ = model.e_step(X, fitted, lengths=lengths)
    leaving = stats.transitions.sum(axis=1, keepdims=True)
    A = fitted.transmat
    return np.sqrt(A * (1.0 - A) / leaving), stats.counts


def test_recovers_a_three_state_gaussian_hmm() -> None:
    K = 3
    lengths = np.array([800, 1200, 650, 1500, 900, 1100])
    model = HiddenMarkovModel(emkit.Gaussian("diag"), K)
    means = np.array([[-3.0, 0.0], [0.0, 2.0], [3.0, -1.0]])
    variances = np.array([[1.0, 0.5], [0.6, 1.2], [0.8, 0.8]])
    truth = HMMParams(
        np.array([0.5, 0.3, 0.2]),
        np.array([[0.90, 0.07, 0.03], [0.05, 0.85, 0.10], [0.10, 0.10, 0.80]]),
        emkit.GaussianParams(means, variances),
    )
    X, _ = model.sample(truth, int(lengths.sum()), np.random.default_rng(11), lengths=lengths)
    result = emkit.fit(
        model, X, lengths=lengths, n_init=3, random_state=0, tol=RECOVERY_TOL, max_iter=500
    )
    fitted = order_by_first_mean(model, result.params)
    se_A, counts = transition_standard_errors(model, X, lengths, fitted)
    assert np.all(np.abs(fitted.transmat - truth.transmat) <= RECOVERY_SE * se_A)
    se_means = np.sqrt(fitted.emission.covariances / counts[:, None])
    assert np.all(np.abs(fitted.emission.means - means) <= RECOVERY_SE * se_means)


def test_recovers_a_two_state_poisson_hmm() -> None:
    lengths = np.array([400, 700, 300, 900, 500])
    model = HiddenMarkovModel(emkit.Poisson(), 2)
    rates = np.array([[3.0], [12.0]])
    truth = HMMParams(
        np.array([0.6, 0.4]), np.array([[0.93, 0.07], [0.12, 0.88]]), emkit.MeanParams(rates)
    )
    X, _ = model.sample(truth, int(lengths.sum()), np.random.default_rng(5), lengths=lengths)
    result = emkit.fit(
        model, X, lengths=lengths, n_init=3, random_state=0, tol=RECOVERY_TOL, max_iter=500
    )
    fitted = order_by_first_mean(model, result.params)
    se_A, counts = transition_standard_errors(model, X, lengths, fitted)
    assert np.all(np.abs(fitted.transmat - truth.transmat) <= RECOVERY_SE * se_A)
    se_rates = np.sqrt(fitted.emission.mean / counts[:, None])
    assert np.all(np.abs(fitted.emission.mean - rates) <= RECOVERY_SE * se_rates)


# -- robustness ------------------------------------------------------------------------------------
def test_a_sixty_sigma_outlier_frame_is_harmless() -> None:
    lengths = np.array([5000, 300, 120])
    model, truth, X, _ = problem("diag", 3, 2, lengths, seed=4)
    sd = np.sqrt(truth.emission.covariances.max())
    X = X.copy()
    X[2500] = truth.emission.means.max(axis=0) + OUTLIER_SIGMAS * sd
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = model.log_likelihood(X, truth, lengths)
        posteriors = model.responsibilities(X, truth, lengths)
        _, states = model.decode(X, truth, lengths)
        result = emkit.fit(model, X, lengths=lengths, init=truth, max_iter=20, tol=1e-4)
    assert np.all(np.isfinite(ll))
    assert np.all(np.isfinite(posteriors))
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
    assert states.shape == (X.shape[0],)
    assert np.isfinite(result.log_likelihood)


def test_a_left_right_model_keeps_its_structural_zeros() -> None:
    K = 3
    model = HiddenMarkovModel(emkit.Gaussian("diag"), K, transmat_prior=2.0, startprob_prior=2.0)
    truth = HMMParams(
        np.array([1.0, 0.0, 0.0]),
        np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]]),
        emkit.GaussianParams(np.array([[0.0], [4.0], [8.0]]), np.ones((K, 1))),
    )
    lengths = np.array([60, 45, 80, 33])
    X, _ = model.sample(truth, int(lengths.sum()), np.random.default_rng(2), lengths=lengths)
    start = HMMParams(
        truth.startprob,
        np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]),
        emkit.GaussianParams(np.array([[1.0], [3.0], [6.0]]), np.full((K, 1), 2.0)),
    )
    result = quiet_fit(model, X, lengths=lengths, init=start, max_iter=30, tol=0.0)
    zeros = start.transmat == 0
    assert np.all(result.params.transmat[zeros] == 0.0)
    assert np.all(result.params.transmat[~zeros] > 0.0)
    np.testing.assert_array_equal(result.params.startprob, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(result.params.transmat.sum(axis=1), 1.0)


def brute_force_counts(log_b: Any, log_pi: Any, log_A: Any, labels: Any) -> tuple[Any, Any, float]:
    """Expected frames per state, expected transitions and ``log p(x, known states)`` by
    enumerating every path that agrees with ``labels`` (-1: unknown)."""
    T, K = log_b.shape
    paths, log_joint = [], []
    for path in itertools.product(range(K), repeat=T):
        if any(label >= 0 and label != state for label, state in zip(labels, path, strict=True)):
            continue
        lp = log_pi[path[0]] + log_b[0, path[0]]
        for t in range(1, T):
            lp += log_A[path[t - 1], path[t]] + log_b[t, path[t]]
        paths.append(path)
        log_joint.append(lp)
    total = logsumexp(log_joint)
    counts, transitions = np.zeros(K), np.zeros((K, K))
    for path, lp in zip(paths, log_joint, strict=True):
        p = np.exp(lp - total)
        counts += p * np.bincount(path, minlength=K)
        for t in range(1, T):
            transitions[path[t - 1], path[t]] += p
    return counts, transitions, float(total)


def test_known_states_fix_their_frames() -> None:
    lengths = np.array([5, 6, 4])
    model, truth, X, _ = problem("diag", 3, 2, lengths, seed=8)
    labels = np.full(X.shape[0], -1)
    labels[[0, 3, 6, 7, 14]] = [2, 0, 1, 1, 0]  # not necessarily the states that drew them
    stats, ll = model.e_step(X, truth, labels=labels, lengths=lengths)
    log_b = model.log_emission(X, truth)
    counts, transitions, total = np.zeros(3), np.zeros((3, 3)), 0.0
    for rows in split_sequences(np.arange(X.shape[0]), lengths):
        c, a, lp = brute_force_counts(
            log_b[rows], np.log(truth.startprob), np.log(truth.transmat), labels[rows]
        )
        counts, transitions, total = counts + c, transitions + a, total + lp
    np.testing.assert_allclose(stats.counts, counts, rtol=ADDITIVITY_RTOL)
    np.testing.assert_allclose(
        stats.transitions, transitions, rtol=ADDITIVITY_RTOL, atol=COUNT_ATOL
    )
    np.testing.assert_allclose(ll, total, rtol=ADDITIVITY_RTOL)
    # Semi-supervised EM runs from there and keeps the labelled states (order="auto" keeps the
    # user's states when labels are given).
    result = quiet_fit(model, X, lengths=lengths, labels=labels, init=truth, max_iter=3)
    assert np.isfinite(result.log_likelihood)


def test_a_sequence_weight_equals_repeating_the_sequence() -> None:
    model, truth, X, _ = problem("poisson", 2, 3, LENGTHS, seed=9)
    repeats = np.array([1, 3, 2, 1, 4])
    weights = np.repeat(repeats, LENGTHS).astype(float)
    pieces = split_sequences(X, LENGTHS)
    X_rep = np.concatenate([p for p, r in zip(pieces, repeats, strict=True) for _ in range(r)])
    lengths_rep = np.repeat(LENGTHS, repeats)
    weighted = quiet_fit(
        model, X, lengths=LENGTHS, sample_weight=weights, init=truth, max_iter=N_ITER, tol=0.0
    )
    repeated = quiet_fit(model, X_rep, lengths=lengths_rep, init=truth, max_iter=N_ITER, tol=0.0)
    np.testing.assert_allclose(weighted.history, repeated.history, rtol=WEIGHT_RTOL)
    np.testing.assert_allclose(weighted.params.transmat, repeated.params.transmat, rtol=WEIGHT_RTOL)
    np.testing.assert_allclose(
        weighted.params.emission.mean, repeated.params.emission.mean, rtol=WEIGHT_RTOL
    )
    assert weighted.n_samples == pytest.approx(lengths_rep.sum())


def test_a_weight_that_varies_inside_a_sequence_is_refused() -> None:
    model, truth, X, _ = problem("poisson", 2, 3, LENGTHS, seed=9)
    weights = np.ones(X.shape[0])
    weights[LENGTHS[0] + 5] = 2.0
    with pytest.raises(ValueError, match=r"sample_weight.*sequence 1"):
        emkit.fit(model, X, lengths=LENGTHS, sample_weight=weights, init=truth, max_iter=2)


def test_fixed_emissions_stay_fixed_when_only_st_is_updated() -> None:
    _, truth, X, _ = problem("diag", 3, 2, LENGTHS, seed=12)
    model = HiddenMarkovModel(emkit.Gaussian("diag"), 3, update="st", fixed=truth)
    rng = np.random.default_rng(1)
    startprob, transmat = chain(3, rng, stay=0.4)
    start = HMMParams(startprob, transmat, truth.emission)
    result = quiet_fit(model, X, lengths=LENGTHS, init=start, max_iter=N_ITER, tol=0.0)
    np.testing.assert_array_equal(result.params.emission.means, truth.emission.means)
    np.testing.assert_array_equal(result.params.emission.covariances, truth.emission.covariances)
    assert not np.allclose(result.params.transmat, transmat)
    # Only the chain's parameters are free: K - 1 + K (K - 1).
    assert model.n_parameters(2) == 2 + 6


def test_information_criteria_count_time_steps() -> None:
    model, truth, X, _ = problem("diag", 3, 2, LENGTHS, seed=13)
    result = quiet_fit(model, X, lengths=LENGTHS, init=truth, max_iter=N_ITER, tol=0.0)
    n_frames = int(LENGTHS.sum())
    assert result.n_samples == n_frames
    # startprob 2, transmat 6, means 6, diagonal variances 6.
    p = model.n_parameters(2)
    assert p == 2 + 6 + 6 + 6
    np.testing.assert_allclose(
        emkit.bic(result), -2.0 * result.log_likelihood + p * np.log(n_frames)
    )
    np.testing.assert_allclose(emkit.aic(result), -2.0 * result.log_likelihood + 2.0 * p)


# -- save and load ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["full", "diag", "poisson"])
def test_save_load_round_trip_is_bit_for_bit(kind: str, tmp_path: Path) -> None:
    model, truth, X, _ = problem(kind, 3, 2, LENGTHS, seed=14)
    result = quiet_fit(model, X, lengths=LENGTHS, init=truth, max_iter=N_ITER, tol=0.0)
    path = tmp_path / "hmm.json"
    emkit.save(result, path)
    loaded = emkit.load(path)
    params = getattr(loaded, "params", loaded)
    before = emkit.stats.leaves(result.params, "params")
    after = emkit.stats.leaves(params, "params")
    assert [name for name, _ in before] == [name for name, _ in after]
    for (name, a), (_, b) in zip(before, after, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
    loaded_model = getattr(loaded, "model", model)
    np.testing.assert_array_equal(
        loaded_model.log_likelihood(X, params, LENGTHS),
        model.log_likelihood(X, result.params, LENGTHS),
    )
