"""The forward-backward and Viterbi engine against independent, deliberately naive references.

References: a textbook per-step scaled forward-backward (Rabiner 1989, Bishop 13.2) run sequence
by sequence, the same in log space, brute-force enumeration of all K^T paths for short sequences,
and hmmlearn's C++ kernels.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from emkit.hmm import lattice
from emkit.hmm.lattice import (
    Posteriors,
    engine_in_use,
    forward_backward,
    log_likelihood,
    segment_length_for,
    viterbi,
)

AGREEMENT_RTOL = 1e-10  # relative agreement of probabilities and log-likelihoods
AGREEMENT_ATOL = 1e-12  # absolute floor for probabilities that are (near) zero
PROPERTY_RTOL = 1e-9  # sums checked on random problems (hypothesis)
ENGINE_RTOL = 1e-12  # the numpy and numba engines agree to rounding
ENGINE_ATOL = 1e-14  # absolute floor for probabilities that are (near) zero in both engines

ENGINE_NAMES = ["numpy", "numba"]


def need(engine):
    """Skip a numba case where numba is not installed (under CI it always is: extra ``all``)."""
    if engine == "numba":
        pytest.importorskip("numba")
    return engine


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    return need(request.param)


# -- references ------------------------------------------------------------------------------------


def _split(lengths):
    ends = np.cumsum(lengths)
    return [slice(e - n, e) for n, e in zip(lengths, ends, strict=True)]


def scaled_reference(log_emission, startprob, transmat, lengths, weights=None):
    """Rabiner's scaled forward-backward, one sequence and one step at a time."""
    B = np.exp(log_emission)
    T, K = B.shape
    weights = np.ones(len(lengths)) if weights is None else weights
    gamma = np.zeros((T, K))
    starts = np.zeros(K)
    trans = np.zeros((K, K))
    ll = np.zeros(len(lengths))
    for s, sl in enumerate(_split(lengths)):
        b = B[sl]
        n = b.shape[0]
        alpha = np.zeros((n, K))
        c = np.zeros(n)
        for t in range(n):
            a = startprob * b[t] if t == 0 else (alpha[t - 1] @ transmat) * b[t]
            c[t] = a.sum()
            alpha[t] = a / c[t]
        beta = np.ones((n, K))
        for t in range(n - 2, -1, -1):
            beta[t] = transmat @ (b[t + 1] * beta[t + 1]) / c[t + 1]
        g = alpha * beta
        gamma[sl] = g / g.sum(axis=1, keepdims=True)
        starts += weights[s] * gamma[sl][0]
        for t in range(n - 1):
            xi = alpha[t][:, None] * transmat * (b[t + 1] * beta[t + 1])[None, :] / c[t + 1]
            trans += weights[s] * xi
        ll[s] = np.log(c).sum()
    return gamma, starts, trans, ll


def log_reference(log_emission, startprob, transmat, lengths):
    """Forward-backward in log space, one sequence and one step at a time."""
    lse = scipy.special.logsumexp
    with np.errstate(divide="ignore"):
        logA, logpi = np.log(transmat), np.log(startprob)
    T, K = log_emission.shape
    gamma = np.zeros((T, K))
    trans = np.zeros((K, K))
    ll = np.zeros(len(lengths))
    for s, sl in enumerate(_split(lengths)):
        e = log_emission[sl]
        n = e.shape[0]
        la = np.zeros((n, K))
        la[0] = logpi + e[0]
        for t in range(1, n):
            la[t] = lse(la[t - 1][:, None] + logA, axis=0) + e[t]
        lb = np.zeros((n, K))
        for t in range(n - 2, -1, -1):
            lb[t] = lse(logA + (e[t + 1] + lb[t + 1])[None, :], axis=1)
        ll[s] = lse(la[-1])
        gamma[sl] = np.exp(la + lb - ll[s])
        for t in range(n - 1):
            trans += np.exp(la[t][:, None] + logA + (e[t + 1] + lb[t + 1])[None, :] - ll[s])
    return gamma, trans, ll


def viterbi_reference(log_emission, startprob, transmat, lengths):
    with np.errstate(divide="ignore"):
        logA, logpi = np.log(transmat), np.log(startprob)
    paths, scores = [], []
    for sl in _split(lengths):
        e = log_emission[sl]
        n, K = e.shape
        delta = logpi + e[0]
        back = np.zeros((n, K), dtype=int)
        for t in range(1, n):
            cand = delta[:, None] + logA
            back[t] = cand.argmax(axis=0)
            delta = cand.max(axis=0) + e[t]
        path = [int(delta.argmax())]
        for t in range(n - 1, 0, -1):
            path.append(int(back[t, path[-1]]))
        paths.extend(path[::-1])
        scores.append(delta.max())
    return np.array(paths), np.array(scores)


def brute_force(log_emission, startprob, transmat, lengths, weights=None):
    """Enumerate all K^n paths of every (short) sequence."""
    with np.errstate(divide="ignore"):
        logA, logpi = np.log(transmat), np.log(startprob)
    T, K = log_emission.shape
    weights = np.ones(len(lengths)) if weights is None else weights
    gamma = np.zeros((T, K))
    starts = np.zeros(K)
    trans = np.zeros((K, K))
    ll = np.zeros(len(lengths))
    best_paths, best_scores = [], []
    for s, sl in enumerate(_split(lengths)):
        e = log_emission[sl]
        n = e.shape[0]
        paths = np.array(list(itertools.product(range(K), repeat=n)))
        score = logpi[paths[:, 0]] + e[np.arange(n), paths].sum(axis=1)
        score += logA[paths[:, :-1], paths[:, 1:]].sum(axis=1)
        ll[s] = scipy.special.logsumexp(score)
        post = np.exp(score - ll[s])
        for t in range(n):
            np.add.at(gamma[sl][t], paths[:, t], post)
            if t < n - 1:
                np.add.at(trans, (paths[:, t], paths[:, t + 1]), weights[s] * post)
        starts += weights[s] * gamma[sl][0]
        best_paths.extend(paths[score.argmax()])
        best_scores.append(score.max())
    return gamma, starts, trans, ll, np.array(best_paths), np.array(best_scores)


# -- random problems -------------------------------------------------------------------------------


def random_problem(rng, K, lengths, scale=2.0):
    T = int(np.sum(lengths))
    log_emission = scale * rng.standard_normal((T, K)) - 1.0
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    return log_emission, startprob, transmat, np.asarray(lengths)


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)


def assert_posteriors_equal(post: Posteriors, gamma, starts, trans, ll):
    assert post.state.dtype == np.float64
    assert_close(post.state, gamma)
    assert_close(post.starts, starts)
    assert_close(post.transitions, trans)
    assert_close(post.log_likelihood, ll)


# -- agreement -------------------------------------------------------------------------------------


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brute_force_agreement(K, seed, engine):
    rng = np.random.default_rng(seed)
    lengths = [5, 1, 7, 3]
    E, pi, A, lengths = random_problem(rng, K, lengths)
    weights = rng.uniform(0.5, 2.0, size=len(lengths))
    gamma, starts, trans, ll, path, score = brute_force(E, pi, A, lengths, weights)
    for L in (1, 2, 3, None):
        post = forward_backward(E, pi, A, lengths, weights, segment_length=L, engine=engine)
        assert_posteriors_equal(post, gamma, starts, trans, ll)
        assert_close(log_likelihood(E, pi, A, lengths, segment_length=L, engine=engine), ll)
        states, log_prob = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
        assert states.dtype == np.intp
        np.testing.assert_array_equal(states, path)
        assert_close(log_prob, score)


@pytest.mark.parametrize("K", [2, 3, 5])
def test_scaled_reference_agreement(K, engine):
    rng = np.random.default_rng(10 + K)
    E, pi, A, lengths = random_problem(rng, K, [5, 1, 17, 3, 40])
    weights = rng.uniform(0.0, 3.0, size=lengths.size)
    gamma, starts, trans, ll = scaled_reference(E, pi, A, lengths, weights)
    post = forward_backward(E, pi, A, lengths, weights, engine=engine)
    assert_posteriors_equal(post, gamma, starts, trans, ll)
    path, score = viterbi_reference(E, pi, A, lengths)
    states, log_prob = viterbi(E, pi, A, lengths, engine=engine)
    np.testing.assert_array_equal(states, path)
    assert_close(log_prob, score)


def test_single_step_sequences(engine):
    rng = np.random.default_rng(3)
    E, pi, A, lengths = random_problem(rng, 3, [1, 1, 4, 1])
    gamma, starts, trans, ll = scaled_reference(E, pi, A, lengths)
    assert_posteriors_equal(
        forward_backward(E, pi, A, lengths, engine=engine), gamma, starts, trans, ll
    )
    only_ones = np.ones(3, dtype=int)
    post = forward_backward(E[:3], pi, A, only_ones, engine=engine)
    np.testing.assert_array_equal(post.transitions, np.zeros((3, 3)))
    assert_close(post.starts, post.state.sum(axis=0))


def test_weights_equal_repeated_sequences(engine):
    rng = np.random.default_rng(4)
    E, pi, A, lengths = random_problem(rng, 3, [6, 2, 9])
    weighted = forward_backward(E, pi, A, lengths, np.array([2.0, 1.0, 3.0]), engine=engine)
    parts = np.split(E, np.cumsum(lengths)[:-1])
    repeated = [0, 0, 1, 2, 2, 2]
    E_rep = np.concatenate([parts[i] for i in repeated])
    plain = forward_backward(E_rep, pi, A, lengths[repeated], engine=engine)
    assert_close(weighted.starts, plain.starts)
    assert_close(weighted.transitions, plain.transitions)
    assert_close(weighted.log_likelihood, plain.log_likelihood[[0, 2, 3]])


def test_float32_input(engine):
    rng = np.random.default_rng(5)
    E, pi, A, lengths = random_problem(rng, 3, [8, 5])
    E32 = E.astype(np.float32)
    post = forward_backward(E32, pi, A, lengths, engine=engine)
    ref = forward_backward(E32.astype(np.float64), pi, A, lengths, engine=engine)
    assert post.state.dtype == np.float64
    assert_close(post.state, ref.state)
    assert_close(post.log_likelihood, ref.log_likelihood)


# -- segmentation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_segmentation_does_not_change_the_answer(seed, engine):
    rng = np.random.default_rng(20 + seed)
    lengths = [500, 437, 3, 64]
    E, pi, A, lengths = random_problem(rng, 4, lengths)
    weights = rng.uniform(0.5, 2.0, size=lengths.size)
    whole = forward_backward(
        E, pi, A, lengths, weights, segment_length=int(lengths.max()), engine=engine
    )
    path, score = viterbi(E, pi, A, lengths, segment_length=int(lengths.max()), engine=engine)
    gamma, starts, trans, ll = scaled_reference(E, pi, A, lengths, weights)
    assert_posteriors_equal(whole, gamma, starts, trans, ll)
    for L in (1, 2, 3, 7, 64, 437, None):
        post = forward_backward(E, pi, A, lengths, weights, segment_length=L, engine=engine)
        assert_posteriors_equal(post, whole.state, whole.starts, whole.transitions, ll)
        assert_close(log_likelihood(E, pi, A, lengths, segment_length=L, engine=engine), ll)
        states, log_prob = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
        np.testing.assert_array_equal(states, path)
        assert_close(log_prob, score)


def test_default_segment_length():
    # wide chunks run unsegmented: sum(lengths) * K >= UNSEGMENTED_MIN_WORK * max(lengths)
    assert lattice.UNSEGMENTED_MIN_WORK == 512
    assert segment_length_for(np.full(1000, 1000)) == 1000
    assert segment_length_for(np.full(111, 1000), n_states=8) == 1000
    assert segment_length_for(np.full(64, 3000), n_states=8) == 3000
    # narrow ones are cut into about sqrt(T) steps (at least 64)
    assert segment_length_for(np.full(111, 1000), n_states=4) == 334
    assert segment_length_for(np.full(4, 4096), n_states=4) == 128
    assert segment_length_for(np.array([10**6])) == 1000
    assert segment_length_for(np.array([10**6]), n_states=2) == 1000
    assert segment_length_for(np.array([5, 1, 17])) == 17
    assert segment_length_for(np.array([100, 10_000])) == 101
    assert segment_length_for(np.array([1])) == 1


# -- robustness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("L", [None, 50, 1])
def test_outlier_frame_does_not_underflow(L, engine):
    rng = np.random.default_rng(6)
    E, pi, A, lengths = random_problem(rng, 3, [700, 300])
    E[350] = -1800.0 + rng.standard_normal(3)  # a 60-sigma frame, improbable under every state
    E[360] = [-1800.0, 0.0, -2500.0]  # and one that only the middle state explains
    gamma, trans, ll = log_reference(E, pi, A, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = forward_backward(E, pi, A, lengths, segment_length=L, engine=engine)
        score = log_likelihood(E, pi, A, lengths, segment_length=L, engine=engine)
        states, _ = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
    assert np.all(np.isfinite(post.log_likelihood))
    assert_close(post.log_likelihood, ll)
    assert_close(score, ll)
    assert_close(post.state, gamma)
    assert_close(post.transitions, trans)
    assert states[360] == 1


def test_surprising_frame_needs_log_space(engine):
    """The prediction puts ~1e-200 on the only state that explains a frame."""
    K = 2
    A = np.array([[1.0 - 1e-200, 1e-200], [0.5, 0.5]])
    pi = np.array([1.0, 0.0])
    E = np.zeros((6, K))
    E[3] = [-800.0, 0.0]
    lengths = np.array([6])
    gamma, trans, ll = log_reference(E, pi, A, lengths)
    for L in (None, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            post = forward_backward(E, pi, A, lengths, segment_length=L, engine=engine)
        assert_close(post.log_likelihood, ll)
        assert_close(post.state, gamma)
        assert_close(post.transitions, trans)


@pytest.mark.parametrize("L", [None, 4, 1])
def test_structural_zeros_left_right(L, engine):
    rng = np.random.default_rng(7)
    K = 3
    A = np.array([[0.7, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 1.0]])
    pi = np.array([1.0, 0.0, 0.0])
    E, _, _, lengths = random_problem(rng, K, [12, 9, 20])
    gamma, trans, ll = log_reference(E, pi, A, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = forward_backward(E, pi, A, lengths, segment_length=L, engine=engine)
        states, log_prob = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
    assert np.all(post.transitions[A == 0] == 0.0)
    assert np.all(post.starts[1:] == 0.0)
    assert_close(post.state, gamma)
    assert_close(post.transitions, trans)
    assert_close(post.log_likelihood, ll)
    path, score = viterbi_reference(E, pi, A, lengths)
    np.testing.assert_array_equal(states, path)
    assert_close(log_prob, score)
    assert np.all(np.diff(states[:12]) >= 0)


@pytest.mark.parametrize("L", [None, 3])
def test_minus_inf_emissions_fix_the_state(L, engine):
    rng = np.random.default_rng(8)
    E, pi, A, lengths = random_problem(rng, 3, [10, 15])
    E[4, [0, 2]] = -np.inf  # state 1 known at step 4
    E[10, [1, 2]] = -np.inf  # state 0 known at the first step of the second sequence
    E[17] = [-np.inf, -np.inf, -5.0]
    gamma, trans, ll = log_reference(E, pi, A, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = forward_backward(E, pi, A, lengths, segment_length=L, engine=engine)
        states, log_prob = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
    np.testing.assert_array_equal(post.state[4], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(post.state[10], [1.0, 0.0, 0.0])
    assert_close(post.state, gamma)
    assert_close(post.transitions, trans)
    assert_close(post.log_likelihood, ll)
    path, score = viterbi_reference(E, pi, A, lengths)
    np.testing.assert_array_equal(states, path)
    assert_close(log_prob, score)


@pytest.mark.parametrize("L", [None, 2, 5])
@pytest.mark.parametrize("function", [forward_backward, log_likelihood, viterbi])
def test_impossible_sequence_raises(function, L, engine):
    A = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    pi = np.array([1.0, 0.0, 0.0])
    E = np.zeros((20, 3))
    lengths = np.array([8, 12])
    E[8 + 6] = [0.0, -np.inf, -np.inf]  # state 0 at step 6 of sequence 1
    E[8 + 7] = [-np.inf, 0.0, -np.inf]  # state 1 at step 7: fine so far ...
    E[8 + 8] = [0.0, -np.inf, -np.inf]  # ... but state 1 cannot go back to 0 at step 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"sequence 1 .*step 8"):
            function(E, pi, A, lengths, segment_length=L, engine=engine)


def test_impossible_start_raises(engine):
    A = np.full((2, 2), 0.5)
    E = np.zeros((5, 2))
    E[2] = [-np.inf, 0.0]
    with pytest.raises(ValueError, match=r"sequence 1 .*step 0"):
        forward_backward(E, np.array([1.0, 0.0]), A, np.array([2, 3]), engine=engine)


# -- hmmlearn as a second oracle -------------------------------------------------------------------


@pytest.mark.parametrize("K", [2, 4])
def test_hmmlearn_kernels_agree(K, engine):
    pytest.importorskip("hmmlearn")
    from hmmlearn import _hmmc

    rng = np.random.default_rng(30 + K)
    E, pi, A, lengths = random_problem(rng, K, [50, 7, 120, 1])
    post = forward_backward(E, pi, A, lengths, segment_length=16, engine=engine)
    gamma_all, trans = [], np.zeros((K, K))
    lls = []
    for sl in _split(lengths):
        frameprob = np.exp(E[sl])
        ll, fwd, scaling = _hmmc.forward_scaling(pi, A, frameprob)
        bwd = _hmmc.backward_scaling(pi, A, frameprob, scaling)
        gamma = fwd * bwd
        gamma_all.append(gamma / gamma.sum(axis=1, keepdims=True))
        if frameprob.shape[0] > 1:
            trans += _hmmc.compute_scaling_xi_sum(fwd, A, bwd, frameprob)
        lls.append(ll)
    assert_close(post.state, np.concatenate(gamma_all))
    assert_close(post.transitions, trans)
    assert_close(post.log_likelihood, np.array(lls))
    states, log_prob = viterbi(E, pi, A, lengths, segment_length=16, engine=engine)
    decoded = [_hmmc.viterbi(pi, A, E[sl]) for sl in _split(lengths)]
    np.testing.assert_array_equal(states, np.concatenate([path for _, path in decoded]))
    assert_close(log_prob, np.array([score for score, _ in decoded]))


# -- properties ------------------------------------------------------------------------------------


@st.composite
def problems(draw):
    K = draw(st.integers(2, 3))
    lengths = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    E, pi, A, lengths = random_problem(rng, K, lengths, scale=draw(st.floats(0.1, 30.0)))
    weights = rng.uniform(0.0, 3.0, size=lengths.size)
    L = draw(st.one_of(st.none(), st.integers(1, 6)))
    return E, pi, A, lengths, weights, L


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@settings(max_examples=50, deadline=None)
@given(problems())
def test_properties(engine, problem):
    need(engine)
    E, pi, A, lengths, weights, L = problem
    post = forward_backward(E, pi, A, lengths, weights, segment_length=L, engine=engine)
    np.testing.assert_allclose(post.state.sum(axis=1), 1.0, rtol=PROPERTY_RTOL)
    np.testing.assert_allclose(
        post.transitions.sum(), np.sum(weights * (lengths - 1)), rtol=PROPERTY_RTOL
    )
    np.testing.assert_allclose(post.starts.sum(), weights.sum(), rtol=PROPERTY_RTOL)
    _, _, _, ll, _, score = brute_force(E, pi, A, lengths, weights)
    np.testing.assert_allclose(post.log_likelihood, ll, rtol=PROPERTY_RTOL)
    _, log_prob = viterbi(E, pi, A, lengths, segment_length=L, engine=engine)
    np.testing.assert_allclose(log_prob, score, rtol=PROPERTY_RTOL)


# -- the two engines -------------------------------------------------------------------------------


@st.composite
def hard_problems(draw):
    """Random problems with what makes the engines take their rescue paths."""
    K = draw(st.integers(2, 4))
    lengths = np.asarray(draw(st.lists(st.integers(1, 40), min_size=1, max_size=5)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    E, pi, A, lengths = random_problem(rng, K, lengths, scale=draw(st.floats(0.1, 30.0)))
    T = E.shape[0]
    if draw(st.booleans()):  # -inf emissions: some states ruled out at some steps
        E[rng.random((T, K)) < 0.2] = -np.inf
    if draw(st.booleans()):  # 60-sigma outliers that every state explains badly
        rows = rng.random(T) < 0.1
        E[rows] = -1800.0 + rng.standard_normal((int(rows.sum()), K))
    if draw(st.booleans()):  # structural zeros in A and pi (the diagonal stays positive)
        A = A * ((rng.random((K, K)) < 0.6) | np.eye(K, dtype=bool))
        A /= A.sum(axis=1, keepdims=True)
        pi = pi * (rng.random(K) < 0.6)
        pi[rng.integers(K)] += 0.5
        pi /= pi.sum()
    if draw(st.booleans()):  # surprising frames: only a state that A reaches with ~1e-200
        rare = rng.integers(K)
        A[:, rare] = np.where(np.arange(K) == rare, A[:, rare], 1e-200)
        A /= A.sum(axis=1, keepdims=True)
        rows = rng.random(T) < 0.1
        E[rows] = -800.0
        E[rows, rare] = 0.0
    weights = rng.uniform(0.0, 3.0, size=lengths.size)
    L = draw(st.one_of(st.none(), st.integers(1, 9)))
    return E, pi, A, lengths, weights, L


def outcome(function, *args, **kwargs):
    """The result of a call, or the message of the ValueError it raised."""
    try:
        return function(*args, **kwargs)
    except ValueError as exc:
        return str(exc)


def assert_engines_agree(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=ENGINE_RTOL, atol=ENGINE_ATOL)


@settings(max_examples=150, deadline=None)
@given(hard_problems())
def test_engines_agree(problem):
    need("numba")
    E, pi, A, lengths, weights, L = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = outcome(forward_backward, E, pi, A, lengths, weights, L, engine="numpy")
        got = outcome(forward_backward, E, pi, A, lengths, weights, L, engine="numba")
        ref_ll = outcome(log_likelihood, E, pi, A, lengths, L, engine="numpy")
        got_ll = outcome(log_likelihood, E, pi, A, lengths, L, engine="numba")
        ref_v = outcome(viterbi, E, pi, A, lengths, L, engine="numpy")
        got_v = outcome(viterbi, E, pi, A, lengths, L, engine="numba")
    # an impossible sequence: the same error from both engines. (The scaled forward pass can
    # also call a sequence impossible whose probability is below about exp(-745) times that of
    # its best path at some step, where the linear-space emissions underflow: both engines do,
    # while Viterbi, in log space, still finds a path; so each function is compared on its own.)
    for ours, theirs in ((got, ref), (got_ll, ref_ll), (got_v, ref_v)):
        assert isinstance(ours, str) == isinstance(theirs, str)
        if isinstance(theirs, str):
            assert theirs.startswith("sequence ")
            assert ours == theirs
    if not isinstance(ref, str):
        assert isinstance(got, Posteriors)
        assert got.state.dtype == np.float64
        assert got.state.shape == ref.state.shape
        assert_engines_agree(got.state, ref.state)
        assert_engines_agree(got.starts, ref.starts)
        assert_engines_agree(got.transitions, ref.transitions)
        assert_engines_agree(got.log_likelihood, ref.log_likelihood)
        assert_engines_agree(got_ll, ref.log_likelihood)
    if not isinstance(ref_ll, str):
        assert_engines_agree(got_ll, ref_ll)
    if not isinstance(ref_v, str):
        np.testing.assert_array_equal(got_v[0], ref_v[0])
        assert got_v[0].dtype == np.intp
        assert_engines_agree(got_v[1], ref_v[1])


def test_engines_agree_on_a_long_sequence():
    need("numba")
    rng = np.random.default_rng(40)
    E, pi, A, lengths = random_problem(rng, 4, [20_000, 3_000, 1])
    E[5000] = -1800.0 + rng.standard_normal(4)
    ref = forward_backward(E, pi, A, lengths, engine="numpy")
    got = forward_backward(E, pi, A, lengths, engine="numba")
    assert_engines_agree(got.state, ref.state)
    assert_engines_agree(got.transitions, ref.transitions)
    assert_engines_agree(got.log_likelihood, ref.log_likelihood)
    path, score = viterbi(E, pi, A, lengths, engine="numpy")
    states, log_prob = viterbi(E, pi, A, lengths, engine="numba")
    np.testing.assert_array_equal(states, path)
    assert_engines_agree(log_prob, score)


def test_engine_selection(monkeypatch):
    rng = np.random.default_rng(41)
    E, pi, A, lengths = random_problem(rng, 2, [4, 3])
    for function in (forward_backward, log_likelihood, viterbi):
        with pytest.raises(ValueError, match=r"`engine` must be one of .*got 'fortran'"):
            function(E, pi, A, lengths, engine="fortran")
    assert engine_in_use("numpy") == "numpy"
    try:
        import numba  # noqa: F401
    except ImportError:
        assert engine_in_use() == "numpy"
    else:
        assert engine_in_use() == "numba"
    # without numba: "auto" falls back to numpy, "numba" says how to install it
    monkeypatch.setattr(lattice, "_compiled", ImportError("No module named 'numba'"))
    assert engine_in_use() == "numpy"
    ref = forward_backward(E, pi, A, lengths, engine="numpy")
    auto = forward_backward(E, pi, A, lengths)
    np.testing.assert_array_equal(auto.state, ref.state)
    for function in (forward_backward, log_likelihood, viterbi):
        with pytest.raises(ImportError, match=r"pip install 'emkit\[fast\]'"):
            function(E, pi, A, lengths, engine="numba")


# -- a state far below the best, needed later ------------------------------------------------------


def test_a_state_that_underflows_and_is_needed_later_is_redone_in_log_space(engine):
    """A left-right chain: at step 1 state 0 is e^-1000 below state 1, at step 2 only state 0
    can emit, and state 1 cannot go back. The scaled recursions lose state 0 at step 1; the
    sequence is possible all the same (its only paths stay in state 0) and is redone exactly."""
    startprob = np.array([1.0, 0.0])
    transmat = np.array([[0.5, 0.5], [0.0, 1.0]])
    hard = np.array([[0.0, -np.inf], [-1000.0, 0.0], [0.0, -np.inf], [0.0, 0.0]])
    easy = np.zeros((3, 2))
    log_emission = np.vstack([easy, hard, easy[:2]])
    lengths = np.array([3, 4, 2])
    weights = np.array([1.0, 2.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = forward_backward(log_emission, startprob, transmat, lengths, weights, engine=engine)
        ll = lattice.log_likelihood(log_emission, startprob, transmat, lengths, engine=engine)
        path, _ = viterbi(log_emission, startprob, transmat, lengths, engine=engine)
    gamma, starts, trans, ref_ll, best, _ = brute_force(
        log_emission, startprob, transmat, lengths, weights
    )
    np.testing.assert_allclose(post.log_likelihood, ref_ll, rtol=AGREEMENT_RTOL)
    np.testing.assert_allclose(ll, ref_ll, rtol=AGREEMENT_RTOL)
    np.testing.assert_allclose(post.state, gamma, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    np.testing.assert_allclose(post.starts, starts, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    np.testing.assert_allclose(post.transitions, trans, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    np.testing.assert_array_equal(path[3:6], [0, 0, 0])
    np.testing.assert_array_equal(path, best)
    # Truly impossible sequences are still reported.
    blocked = np.array([[0.0, -np.inf], [-np.inf, 0.0], [0.0, -np.inf]])
    with pytest.raises(ValueError, match="sequence 0 is impossible"):
        forward_backward(blocked, startprob, transmat, np.array([3]), engine=engine)
