"""Compiled (numba) kernels of the forward-backward and Viterbi passes, one sequence at a time.

This module imports numba at import time; [`emkit.hmm.lattice`][emkit.hmm.lattice] imports it
lazily and only when the compiled engine is asked for (numba is the optional ``fast`` extra). The
kernels do in a compiled loop over the steps of every sequence what the numpy engine does with
numpy calls vectorised across sequences and segments, with the same numerics:

* the caller shifts the emissions by their row maximum (0 for an all ``-inf`` row), ``e_t = E_t -
  shift_t``, and exponentiates them, ``b_t = exp(e_t)``, with numpy (whose vectorised ``exp`` is
  several times faster than a scalar one per element); the kernels add the shifts back to the
  log-likelihood;
* the forward vector is the scaled one, ``alpha_t = (alpha_{t-1} A) * b_t / c_t``; a step whose
  normaliser falls below ``TINY`` is redone in log space, and one whose log normaliser is
  ``-inf`` makes the sequence impossible; the normalisers are multiplied into a running product
  whose logarithm is taken only when it falls below ``FLUSH`` (every few hundred steps), not one
  logarithm per step;
* the backward vector is normalised by its sum, with the same log-space rescue;
* ``xi_t(i, j) = alpha_t(i) A_ij b_{t+1}(j) beta_{t+1}(j) / n_t`` summed over ``t`` without a
  (T, K, K) array: the kernel adds ``alpha_t(i) w_j / n_t`` with ``w = b_{t+1} beta_{t+1}`` and
  multiplies by ``A`` once at the end; ``n_t = alpha_t . (A w)`` comes with the backward step
  (``A w`` is the unnormalised ``beta_t``), and a pair whose ``n_t`` underflows is summed in log
  space instead.

Errors are not raised inside the kernels: a kernel that meets an impossible sequence stops and
returns its index and the step, and the caller raises the ValueError.
"""

from __future__ import annotations

import math

import numba  # type: ignore[import-untyped,import-not-found,unused-ignore]
import numpy as np

from emkit._backend import Array

# the numpy engine's threshold (emkit.hmm.lattice._TINY), repeated here to keep this module
# free of imports from lattice (which imports this one)
TINY = 1e-150

# the running product of the forward normalisers (each in [TINY, 1]) is turned into a logarithm
# when it falls below this, so it never underflows (FLUSH * TINY = 1e-250)
FLUSH = 1e-100

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _safe_log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -math.inf


@_jit
def _normalise_log(v: Array, out: Array) -> float:
    """``out = exp(v) / sum(exp(v))``; returns the log normaliser (``-inf``, out = 0, if dead)."""
    K = v.size
    m = -math.inf
    for k in range(K):
        if v[k] > m:
            m = v[k]
    if not math.isfinite(m):
        for k in range(K):
            out[k] = 0.0
        return -math.inf
    s = 0.0
    for k in range(K):
        out[k] = math.exp(v[k] - m)
        s += out[k]
    for k in range(K):
        out[k] /= s
    return m + math.log(s)


@_jit
def _forward(
    e: Array, b: Array, shift: Array, pi: Array, A: Array, start: int, n: int, alpha: Array
) -> tuple[float, int]:
    """Scaled forward pass of the sequence in rows ``start .. start + n - 1`` into ``alpha``
    (rows of the same index; ``alpha`` may be one row, reused, when only the total is needed).

    Returns ``log p(x)`` and -1, or ``-inf`` and the first step with probability 0.
    """
    K = A.shape[0]
    pred = np.empty(K)
    v = np.empty(K)
    total = 0.0
    prod = 1.0  # product of the normalisers c_t since the last flush, in [FLUSH * TINY, 1]
    keep = alpha.shape[0] > 1
    prev = 0
    for t in range(start, start + n):
        row = t if keep else 0
        if t == start:
            for k in range(K):
                pred[k] = pi[k]
        else:
            for j in range(K):
                pred[j] = 0.0
            for i in range(K):
                a = alpha[prev, i]
                if a != 0.0:
                    for j in range(K):
                        pred[j] += a * A[i, j]
        c = 0.0
        for k in range(K):
            x = pred[k] * b[t, k]
            alpha[row, k] = x
            c += x
        total += shift[t]
        if c < TINY:
            for k in range(K):
                v[k] = _safe_log(pred[k]) + e[t, k]
            log_c = _normalise_log(v, alpha[row])
            if log_c == -math.inf:
                return -math.inf, t - start
            total += log_c
        else:
            r = 1.0 / c
            for k in range(K):
                alpha[row, k] *= r
            prod *= c
            if prod < FLUSH:
                total += math.log(prod)
                prod = 1.0
        prev = row
    return total + math.log(prod), -1


@_jit
def forward_backward(
    e: Array,
    b: Array,
    shift: Array,
    pi: Array,
    A: Array,
    logA: Array,
    lengths: Array,
    weights: Array,
) -> tuple[Array, Array, Array, Array, Array]:
    """Posteriors of all sequences: ``(gamma (T, K), starts (K,), transitions (K, K), log_lik
    (n_seq,), error (2,))``; ``error`` is ``(sequence, step)`` of an impossible sequence or
    ``(-1, -1)``."""
    T, K = e.shape
    n_seq = lengths.size
    gamma = np.empty((T, K))  # holds alpha until the backward sweep overwrites it with gamma
    starts = np.zeros(K)
    counts = np.zeros((K, K))  # sum_t alpha_t(i) w_j / n_t, times A at the end
    extra = np.zeros((K, K))  # xi of the pairs summed in log space (already includes A)
    ll = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    v = np.empty(K)
    w = np.empty(K)
    u = np.empty(K)
    beta = np.empty(K)
    beta_next = np.empty(K)
    lxi = np.empty((K, K))
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        ws = weights[s]
        total, dead = _forward(e, b, shift, pi, A, start, n, gamma)
        if dead >= 0:
            error[0] = s
            error[1] = dead
            return gamma, starts, counts, ll, error
        ll[s] = total

        # backward sweep; gamma_t overwrites alpha_t once the pair (t, t + 1) is counted
        last = start + n - 1
        for k in range(K):
            beta_next[k] = 1.0 / K
        for t in range(last, start - 1, -1):
            if t < last:
                # w = b_{t+1} beta_{t+1}; u = A w is the unnormalised beta_t, and
                # n_t = alpha_t . u the normaliser of xi_t
                for j in range(K):
                    w[j] = b[t + 1, j] * beta_next[j]
                z = 0.0
                nt = 0.0
                for i in range(K):
                    acc = 0.0
                    for j in range(K):
                        acc += A[i, j] * w[j]
                    u[i] = acc
                    z += acc
                    nt += gamma[t, i] * acc
                if nt >= TINY:
                    scale = ws / nt
                    for i in range(K):
                        a = gamma[t, i] * scale
                        if a != 0.0:
                            for j in range(K):
                                counts[i, j] += a * w[j]
                else:
                    # log xi_t(i, j) = log alpha_t(i) + log A_ij + e_{t+1}(j) + log beta_{t+1}(j)
                    top = -math.inf
                    for j in range(K):
                        v[j] = e[t + 1, j] + _safe_log(beta_next[j])
                    for i in range(K):
                        la = _safe_log(gamma[t, i])
                        for j in range(K):
                            lxi[i, j] = la + logA[i, j] + v[j]
                            if lxi[i, j] > top:
                                top = lxi[i, j]
                    if math.isfinite(top):
                        tot = 0.0
                        for i in range(K):
                            for j in range(K):
                                lxi[i, j] = math.exp(lxi[i, j] - top)
                                tot += lxi[i, j]
                        for i in range(K):
                            for j in range(K):
                                extra[i, j] += ws * lxi[i, j] / tot
                if z >= TINY:
                    r = 1.0 / z
                    for i in range(K):
                        beta[i] = u[i] * r
                else:
                    # beta_t(i) ∝ sum_j exp(log A_ij + e_{t+1}(j) + log beta_{t+1}(j)), in log space
                    for j in range(K):
                        v[j] = e[t + 1, j] + _safe_log(beta_next[j])
                    for i in range(K):
                        top = -math.inf
                        for j in range(K):
                            if logA[i, j] + v[j] > top:
                                top = logA[i, j] + v[j]
                        if math.isfinite(top):
                            acc = 0.0
                            for j in range(K):
                                acc += math.exp(logA[i, j] + v[j] - top)
                            u[i] = top + math.log(acc)
                        else:
                            u[i] = -math.inf
                    _normalise_log(u, beta)
            else:
                for k in range(K):
                    beta[k] = beta_next[k]
            # gamma_t ∝ alpha_t * beta_t, in log space if the product underflows
            g = 0.0
            for k in range(K):
                u[k] = gamma[t, k] * beta[k]
                g += u[k]
            if g < TINY:
                for k in range(K):
                    u[k] = _safe_log(gamma[t, k]) + _safe_log(beta[k])
                _normalise_log(u, gamma[t])
            else:
                r = 1.0 / g
                for k in range(K):
                    gamma[t, k] = u[k] * r
            for k in range(K):
                beta_next[k] = beta[k]
        for k in range(K):
            starts[k] += ws * gamma[start, k]
        start += n
    for i in range(K):
        for j in range(K):
            counts[i, j] = A[i, j] * counts[i, j] + extra[i, j]
    return gamma, starts, counts, ll, error


@_jit
def log_likelihood(
    e: Array, b: Array, shift: Array, pi: Array, A: Array, lengths: Array
) -> tuple[Array, Array]:
    """``log p(x_s)`` of every sequence by the forward pass alone, and ``error`` (2,)."""
    K = e.shape[1]
    n_seq = lengths.size
    ll = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    alpha = np.empty((1, K))
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        total, dead = _forward(e, b, shift, pi, A, start, n, alpha)
        if dead >= 0:
            error[0] = s
            error[1] = dead
            return ll, error
        ll[s] = total
        start += n
    return ll, error


@_jit
def viterbi(
    e: Array, shift: Array, logpi: Array, logA: Array, lengths: Array
) -> tuple[Array, Array, Array]:
    """Best paths ``(states (T,), log_prob (n_seq,), error (2,))``; ties to the lower index."""
    T, K = e.shape
    n_seq = lengths.size
    states = np.zeros(T, dtype=np.intp)
    log_prob = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    back = np.empty((T, K), dtype=np.int32)
    delta = np.empty(K)
    nxt = np.empty(K)
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        offset = 0.0  # the shifts (row maxima of E and of delta) taken out of delta so far
        for t in range(start, start + n):
            if t == start:
                for k in range(K):
                    nxt[k] = logpi[k] + e[t, k]
                    back[t, k] = 0
            else:
                for j in range(K):
                    best = delta[0] + logA[0, j]
                    arg = 0
                    for i in range(1, K):
                        cand = delta[i] + logA[i, j]
                        if cand > best:
                            best = cand
                            arg = i
                    back[t, j] = arg
                    nxt[j] = best + e[t, j]
            top = nxt[0]
            for k in range(1, K):
                if nxt[k] > top:
                    top = nxt[k]
            if not math.isfinite(top):
                error[0] = s
                error[1] = t - start
                return states, log_prob, error
            for k in range(K):
                delta[k] = nxt[k] - top
            offset += shift[t] + top
        last = start + n - 1
        # delta's maximum is 0 after the shift; the first state reaching it wins ties
        arg = 0
        for k in range(1, K):
            if delta[k] > delta[arg]:
                arg = k
        log_prob[s] = offset + delta[arg]
        states[last] = arg
        for t in range(last, start, -1):
            states[t - 1] = back[t, states[t]]
        start += n
    return states, log_prob, error
